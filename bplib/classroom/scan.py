"""Static scan of a student's code for uses of bplib's reference implementations.

The student's cells are parsed with ``ast`` (after IPython's own transform of
magics) and every expression that names something in bplib is resolved to the
real object, in the grader's process, following ``import ... as`` aliases,
assignments (``G = F``), ``getattr(F, "name")``, ``vars(F)[...]``,
``importlib.import_module(...)``, ``sys.modules[...]`` and code in strings
(``exec("...")``). Objects are compared by identity, so a re-export (such as
``bplib.widgets.neuron.neuron_backward``) is the same reference as its
original.

What is forbidden is listed in ``bplib.classroom.catalogue``.

A use costs exercise E when it is (A) reachable from the student's
definition of the function E's check cell names (its body, the helpers it
calls, an assignment such as ``relu_backward = reference("relu_backward")``),
or (B) E's own reference, used anywhere. Other uses are reported as notes.
A forbidden object that the released notebook itself uses is sanctioned for
rule B and the notes (the instructor gave it), never for rule A.
"""

import ast
import builtins
import re
import types
from dataclasses import dataclass, field

from bplib.classroom.catalogue import (EVERY, AnyMember, catalogue, module_path, normalize,
                                       parse_cell)

_DOTTED = re.compile(r"^bplib(\.[A-Za-z_]\w*)+$")


@dataclass(frozen=True)
class Use:
    """One use of a forbidden object in the code."""

    name: str            # canonical name, e.g. bplib.functional.relu_backward
    gives: frozenset     # exercise ids it hands over (EVERY: all of them)
    cell: int            # index of the cell in the assembled notebook
    line: int
    student: bool        # in the student's code (not the instructor's)

    def where(self):
        return f"{self.name} (line {self.line})"


_CHAIN = (ast.Name, ast.Attribute, ast.Subscript)
_SPECIAL_CALLS = {("builtins", ("attr", "getattr")), ("builtins", ("attr", "vars")),
                  ("builtins", ("attr", "__import__")),
                  ("importlib", ("attr", "import_module"))}


def _parents(tree):
    parents = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    return parents


def _docstrings(tree):
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(body[0].value)
    return found


def _local_names(fn):
    """Parameters and names assigned in a function (not declared global)."""
    names, declared_global = set(), set()
    args = fn.args
    for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
        if a is not None:
            names.add(a.arg)
    for node in ast.walk(fn):
        if isinstance(node, ast.Global):
            declared_global.update(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and node is not fn:
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names - declared_global


class _Resolver:
    """Paths of expressions under an alias environment {name: {path}}."""

    def __init__(self, env, local=frozenset()):
        self.env, self.local = env, local

    def paths(self, node):
        if isinstance(node, ast.Name):
            if node.id in self.local:
                return set()
            if node.id in self.env:
                return set(self.env[node.id])
            return {("builtins", ("attr", node.id))} if hasattr(builtins, node.id) else set()
        if isinstance(node, ast.Attribute):
            return {p + (("attr", node.attr),) for p in self.paths(node.value)}
        if isinstance(node, ast.Subscript):
            key = node.slice
            step = ("item", key.value) if isinstance(key, ast.Constant) else ("any",)
            return {p + (step,) for p in self.paths(node.value)}
        if isinstance(node, ast.Call):
            return self._call_paths(node)
        return set()

    def _call_paths(self, node):
        funcs = self.paths(node.func) & _SPECIAL_CALLS
        if not funcs or not node.args:
            return set()
        first = node.args[0]
        found = set()
        for func in funcs:
            name = func[-1][1]
            if name in ("getattr", "vars"):
                if name == "vars":
                    step = ("attr", "__dict__")
                elif len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
                    step = ("attr", node.args[1].value)
                else:
                    step = ("any",)
                found |= {p + (step,) for p in self.paths(first)}
            elif isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(module_path(first.value))
                if name == "__import__":
                    found.add(module_path(first.value.split(".")[0]))
        return found


# --------------------------------------------------------------------------
# The scan
# --------------------------------------------------------------------------

@dataclass
class _Binding:
    position: tuple      # (cell, statement)
    node: ast.AST        # FunctionDef / ClassDef / value expression / import
    env: dict            # the aliases when it was evaluated (None: a function, at call time)
    cell: int
    student: bool
    tree: ast.AST
    paths: frozenset = frozenset()  # the aliases it bound the name to


@dataclass
class ScanResult:
    zeroed: dict = field(default_factory=dict)   # exercise id -> [Use]
    notes: list = field(default_factory=list)    # other forbidden uses [Use]
    unparsable: list = field(default_factory=list)  # student cells that are not Python

    def flags(self):
        flags = [f"uses-reference:{e}" for e in sorted(self.zeroed)]
        flags += sorted({f"imports-reference:{u.name}" for u in self.notes})
        return flags


class Scanner:
    """Walks the assembled notebook's cells in execution order."""

    def __init__(self):
        self.cat = catalogue()
        self.env = {}
        self.bindings = {}        # name -> [_Binding] in order
        self.snapshots = {}       # cell index -> env before the cell
        self.uses = []            # every forbidden use found at statement time
        self.functions = []       # (def node, cell, student, tree) for later, with the final env
        self.unparsable = []
        self._tree_cache = {}     # id(tree) -> (tree, parents, docstrings)

    # ---- reporting uses ----

    def _uses_in(self, tree_or_node, resolver, cell, student, tree, code_string=False):
        """Forbidden uses in a node, reported at maximal reference chains.

        An import inside a code string (exec("from bplib... import x")) counts
        as a use of what it imports, since the string is the student's code."""
        parents = self._parents_of(tree)
        docstrings = self._docstrings_of(tree)
        found = []
        for node in ast.walk(tree_or_node):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and node not in docstrings and "bplib" in node.value:
                found += self._uses_in_string(node, resolver, cell, student)
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for path in self._import_paths(node):
                    found += self._report(path, node, cell, student, None,
                                          is_import=not code_string)
                continue
            if not isinstance(node, _CHAIN + (ast.Call,)):
                continue
            if isinstance(node, ast.Call) and not (resolver.paths(node.func) & _SPECIAL_CALLS):
                continue
            if isinstance(node, _CHAIN) and not isinstance(getattr(node, "ctx", None), ast.Load):
                continue
            parent = parents.get(node)
            if isinstance(parent, (ast.Attribute, ast.Subscript)) and parent.value is node:
                continue  # the parent names something more specific
            if isinstance(parent, ast.Call) and node in parent.args[:1] \
                    and resolver.paths(parent.func) & _SPECIAL_CALLS:
                continue  # getattr(F, "x"): the call is the chain
            for path in resolver.paths(node):
                found += self._report(path, node, cell, student, parent)
        return found

    def _uses_in_string(self, node, resolver, cell, student):
        text = node.value
        if _DOTTED.match(text.strip()):
            return self._report(module_path(text.strip()), node, cell, student, None)
        tree = parse_cell(text)
        if tree is None:
            return []
        inner = self._uses_in(tree, _Resolver(self.env), cell, student, tree, code_string=True)
        return [Use(u.name, u.gives, cell, node.lineno, student) for u in inner]

    def _report(self, path, node, cell, student, parent, is_import=False):
        """The deepest forbidden object along a path, as a Use (or nothing)."""
        path = normalize(path)
        best = None
        for end in range(1, len(path) + 1):
            obj = self.cat.resolve(path[:end])
            if obj is None:
                break
            if isinstance(obj, AnyMember):
                members = self.cat.forbidden_members(obj.container)
                if members:
                    names = sorted({n for n, _ in members})
                    gives = frozenset().union(*(g for _, g in members))
                    best = (f"{names[0].rsplit('.', 1)[0]}.* (dynamic access)", gives)
                break
            hit = self.cat.lookup(obj)
            if hit:
                best = hit
                if obj is self.cat.reference_fn and isinstance(parent, ast.Call) \
                        and parent.func is node:
                    args = parent.args
                    if args and isinstance(args[0], ast.Constant) and \
                            args[0].value in self.cat.exercises:
                        best = (f"bplib.grading.reference({args[0].value!r})",
                                frozenset({args[0].value}))
        if best is None:
            return []
        name, gives = best
        if is_import:
            gives = frozenset()  # importing is not using; the uses of the name count
        return [Use(name, gives, cell, getattr(node, "lineno", 0), student)]

    def _import_paths(self, node):
        if isinstance(node, ast.Import):
            return [module_path(a.name) for a in node.names]
        if node.level or not node.module:
            return []
        base = module_path(node.module)
        return [base if a.name == "*" else base + (("attr", a.name),) for a in node.names]

    def _parents_of(self, tree):
        key = id(tree)
        if key not in self._tree_cache:
            self._tree_cache[key] = (tree, _parents(tree), _docstrings(tree))
        return self._tree_cache[key][1]

    def _docstrings_of(self, tree):
        self._parents_of(tree)
        return self._tree_cache[id(tree)][2]

    # ---- walking statements in order ----

    def add_cell(self, index, source, student):
        self.snapshots[index] = dict(self.env)
        tree = parse_cell(source)
        if tree is None:
            if student:
                self.unparsable.append(index)
            return
        for k, stmt in enumerate(tree.body):
            self._statement(stmt, (index, k), index, student, tree)

    def _statement(self, stmt, position, cell, student, tree):
        resolver = _Resolver(self.env)
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for expr in getattr(stmt, "decorator_list", []):
                self.uses += self._uses_in(expr, resolver, cell, student, tree)
            self.functions.append((stmt, cell, student, tree))
            self._bind(stmt.name, set(), _Binding(position, stmt, None, cell, student, tree))
            return
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            self.uses += self._uses_in(stmt, resolver, cell, student, tree)
            self._import(stmt, position, cell, student, tree)
            return
        if isinstance(stmt, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith,
                             ast.Try)) or type(stmt).__name__ == "TryStar":
            heads = [getattr(stmt, a) for a in ("test", "iter") if hasattr(stmt, a)]
            heads += [item.context_expr for item in getattr(stmt, "items", [])]
            for head in heads:
                self.uses += self._uses_in(head, resolver, cell, student, tree)
            for target in _stored_names(stmt, shallow=True):
                self._bind(target, set(), _Binding(position, stmt, dict(self.env), cell,
                                                   student, tree))
            for body in ("body", "orelse", "finalbody"):
                for inner in getattr(stmt, body, []):
                    self._statement(inner, position, cell, student, tree)
            for handler in getattr(stmt, "handlers", []):
                for inner in handler.body:
                    self._statement(inner, position, cell, student, tree)
            return
        self.uses += self._uses_in(stmt, resolver, cell, student, tree)
        value = getattr(stmt, "value", None)
        targets = getattr(stmt, "targets", None) or [getattr(stmt, "target", None)]
        snapshot = dict(self.env)
        handled = set()
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and value is not None:
            for target in targets:
                pairs = [(target, value)]
                if isinstance(target, (ast.Tuple, ast.List)) and \
                        isinstance(value, (ast.Tuple, ast.List)) and \
                        len(target.elts) == len(value.elts):
                    pairs = list(zip(target.elts, value.elts))
                for t, v in pairs:
                    if isinstance(t, ast.Name):
                        self._bind(t.id, resolver.paths(v),
                                   _Binding(position, v, snapshot, cell, student, tree))
                        handled.add(t.id)
        if isinstance(stmt, ast.Delete):
            for name in _stored_names(stmt):
                self.env.pop(name, None)
            return
        for name in _stored_names(stmt) - handled:
            self._bind(name, set(), _Binding(position, stmt, snapshot, cell, student, tree),
                       keep=isinstance(stmt, ast.AugAssign))

    def _import(self, stmt, position, cell, student, tree):
        snapshot = dict(self.env)
        binding = _Binding(position, stmt, snapshot, cell, student, tree)
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    self._bind(alias.asname, {module_path(alias.name)}, binding)
                else:
                    top = alias.name.split(".")[0]
                    self._bind(top, {(top,)}, binding)
            return
        if stmt.level or not stmt.module:
            for alias in stmt.names:
                self._bind(alias.asname or alias.name, set(), binding)
            return
        base = module_path(stmt.module)
        for alias in stmt.names:
            if alias.name != "*":
                self._bind(alias.asname or alias.name, {base + (("attr", alias.name),)}, binding)
                continue
            module = self.cat.resolve(base)
            if isinstance(module, types.ModuleType):
                names = getattr(module, "__all__", None) or \
                    [n for n in vars(module) if not n.startswith("_")]
                for name in names:
                    self._bind(name, {base + (("attr", name),)}, binding)

    def _bind(self, name, paths, binding, keep=False):
        binding = _Binding(binding.position, binding.node, binding.env, binding.cell,
                           binding.student, binding.tree, frozenset(paths))
        if keep and name in self.env:
            self.env[name] = set(self.env[name]) | set(paths)
        else:
            self.env[name] = set(paths)
        self.bindings.setdefault(name, []).append(binding)

    # ---- judging ----

    def _function_uses(self, fn, cell, student, tree, env):
        local = _local_names(fn) if not isinstance(fn, ast.ClassDef) else set()
        resolver = _Resolver(env, frozenset(local))
        uses = []
        for part in fn.body:
            uses += self._uses_in(part, resolver, cell, student, tree)
        names = _loaded_names(fn) - local
        return uses, names

    def closure_uses(self, expression, position):
        """Forbidden uses in the student's code reachable from an expression
        evaluated at ``position`` (the check's place in the notebook)."""
        env = self.snapshots.get(position[0], self.env)
        tree = parse_cell(expression)
        pending = _loaded_names(tree) if tree is not None else set()
        seen, uses = set(), []
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            earlier = [b for b in self.bindings.get(name, []) if b.position < position]
            if not earlier:
                continue
            binding = earlier[-1]
            node = binding.node
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found, names = self._function_uses(node, binding.cell, binding.student,
                                                   binding.tree, env)
            else:
                found = self._uses_in(node, _Resolver(binding.env), binding.cell,
                                      binding.student, binding.tree)
                names = _loaded_names(node) if not isinstance(node, (ast.Import,
                                                                     ast.ImportFrom)) else set()
            for path in binding.paths:  # e.g. a star import rebinding the name
                found += self._report(path, node, binding.cell, binding.student, None)
            uses += found
            pending |= names - seen
        return [u for u in uses if u.student]

    def all_uses(self):
        """Every forbidden use, function bodies resolved with the final aliases."""
        uses = list(self.uses)
        for fn, cell, student, tree in self.functions:
            uses += self._function_uses(fn, cell, student, tree, self.env)[0]
        return uses


def _loaded_names(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx,
                                                                                   ast.Load)}


def _stored_names(stmt, shallow=False):
    names = set()
    nodes = [stmt]
    if shallow:  # a compound statement's own targets (for x in ..., with ... as x)
        nodes = [getattr(stmt, "target", None)] + [i.optional_vars for i in
                                                    getattr(stmt, "items", [])]
        nodes = [n for n in nodes if n is not None]
    for node in nodes:
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
                names.add(n.id)
            elif isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name):
                names.add(n.target.id)
    return names


def sanctioned_names(sources):
    """Names of the forbidden objects the released notebook itself uses."""
    scanner = Scanner()
    for index, source in enumerate(sources):
        scanner.add_cell(index, source, True)
    return {u.name for u in scanner.all_uses()}


def scan(cells, checks, sanctioned=frozenset()):
    """Scan an assembled notebook.

    cells: [(source, is_student)] in execution order.
    checks: [(exercise id, expression, cell index of the check)].
    Returns a ScanResult: the exercises that score zero, with the uses that
    cost them, and notes about other forbidden uses.
    """
    scanner = Scanner()
    for index, (source, student) in enumerate(cells):
        scanner.add_cell(index, source, student)
    result = ScanResult(unparsable=list(scanner.unparsable))
    student_uses = [u for u in scanner.all_uses() if u.student]
    for exercise, expression, cell in checks:
        reached = scanner.closure_uses(expression, (cell, -1))
        given = [u for u in student_uses if u.name not in sanctioned
                 and (exercise in u.gives or EVERY in u.gives)]
        costly = _unique(reached + given)
        if costly:
            result.zeroed[exercise] = costly
    costly_names = {u.name for uses in result.zeroed.values() for u in uses}
    result.notes = _unique(u for u in student_uses if u.name not in sanctioned
                           and u.name not in costly_names)
    return result


def _unique(uses):
    seen, out = set(), []
    for use in uses:
        key = (use.name, use.cell, use.line)
        if key not in seen:
            seen.add(key)
            out.append(use)
    return out
