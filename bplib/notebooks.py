"""Maintainers' notebook tools: make exercises from solutions, run notebooks.

Solutions are the source of truth. In a solution notebook, the student's
part of a code cell sits between two marker lines:

    ### BEGIN SOLUTION
    return dout * (z > 0)
    ### END SOLUTION

``generate_exercise`` replaces each such block with ``# YOUR CODE HERE`` and
``raise NotImplementedError()`` at the same indentation, clears outputs, and
adds nbgrader cell metadata (solution cells, locked grading cells) so an
nbgrader course can adopt the notebooks unchanged.
"""

import ast
import re
from pathlib import Path

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
_BLOCK = re.compile(r"^([ \t]*)" + re.escape(BEGIN) + r"[ \t]*\n.*?^[ \t]*"
                    + re.escape(END) + r"[ \t]*$", re.DOTALL | re.MULTILINE)
_CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([a-z_]+)["']\s*,\s*([A-Za-z_][\w.]*)""")


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


def strip_solutions(source):
    """Replace every solution block in a cell's source with a stub.

    Raises ValueError when a BEGIN marker has no matching END (or vice versa).
    """
    stubbed, count = _BLOCK.subn(
        lambda m: f"{m.group(1)}# YOUR CODE HERE\n{m.group(1)}raise NotImplementedError()",
        source)
    if source.count(BEGIN) != count or source.count(END) != count:
        raise ValueError("unbalanced ### BEGIN SOLUTION / ### END SOLUTION markers in:\n"
                         + source)
    return stubbed, count


def generate_exercise(solution_path, exercise_path):
    """Write the student's version of one solution notebook."""
    nb = nbformat.read(solution_path, as_version=4)
    stem = Path(solution_path).stem
    for index, cell in enumerate(nb.cells):
        cell.metadata.pop("nbgrader", None)
        cell.metadata.pop("execution", None)  # run timestamps, if any
        if cell.cell_type != "code":
            continue
        cell.outputs = []
        cell.execution_count = None
        source, count = strip_solutions(cell.source)
        cell.source = source
        checked = [exercise_id for exercise_id, _ in check_calls(source, top_level_only=True)]
        if count:
            cell.metadata["nbgrader"] = _nbgrader(f"{stem}_solution_{index}", solution=True)
        elif checked:
            cell.metadata["nbgrader"] = _nbgrader(f"check_{'_'.join(checked)}", grade=True,
                                                  points=len(checked))
    nb.metadata.pop("widgets", None)
    Path(exercise_path).parent.mkdir(parents=True, exist_ok=True)
    nbformat.validate(nb)
    nbformat.write(nb, exercise_path)


def _nbgrader(grade_id, *, solution=False, grade=False, points=0):
    meta = {"grade_id": grade_id, "schema_version": 3, "solution": solution,
            "grade": grade, "locked": not solution, "task": False}
    if grade:
        meta["points"] = points
    return meta


def generate_exercises(solutions_dir="solutions", exercises_dir="exercises"):
    """Regenerate every exercise notebook; returns the paths written."""
    written = []
    for solution in sorted(Path(solutions_dir).glob("*.ipynb")):
        target = Path(exercises_dir) / solution.name
        generate_exercise(solution, target)
        written.append(target)
    return written


def execute_notebook(path, timeout=120):
    """Run a notebook top to bottom in a fresh kernel and save its outputs.

    Runs in the notebook's own folder, as JupyterLab and nbval do.
    """
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(nb, path)
