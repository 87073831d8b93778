"""What a notebook cell is: its Python syntax tree, and the checks it calls.

One home for reading cells, used by the maintainers' exercise generator
(``bplib.notebooks``), the classroom grader's release loader
(``bplib.classroom.assemble``) and its static scan (``bplib.classroom.scan``).
"""

import ast
import re

_CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([a-z_]+)["']\s*,\s*([A-Za-z_][\w.]*)""")


def parse_cell(source):
    """The module AST of a cell's code (IPython syntax allowed), or None."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        source = TransformerManager().transform_cell(source)
    except Exception:  # IPython missing or confused: drop magics and shell escapes ourselves
        source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                           for line in source.splitlines())
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def check_calls(source, top_level_only=False):
    """[(exercise id, expression)] of the ``check("id", fn)`` calls in a cell.

    With ``top_level_only``, only a call that is a statement of its own or the
    value of an assignment counts (``check(...)``, ``r = check(...)``), not one
    used inside other code (``if check(...).passed:``): those top-level calls
    are what makes a cell a grading cell.
    """
    from bplib.grading import EXERCISES

    try:
        tree = ast.parse(source)
    except SyntaxError:  # e.g. a student's broken cell: fall back to the text
        return [(m.group(1), m.group(2)) for m in _CHECK_CALL.finditer(source)
                if m.group(1) in EXERCISES and not (top_level_only and m.start() and
                                                    source[m.start() - 1] != "\n")]
    if top_level_only:
        nodes = [stmt.value for stmt in tree.body
                 if isinstance(stmt, (ast.Expr, ast.Assign, ast.AnnAssign))]
    else:
        nodes = list(ast.walk(tree))
    found = []
    for node in nodes:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "check" and len(node.args) >= 2 \
                and isinstance(node.args[0], ast.Constant) and node.args[0].value in EXERCISES:
            found.append((node.args[0].value, ast.unparse(node.args[1])))
    found.sort(key=lambda pair: source.find(pair[0]))
    return found
