"""The instructor's released notebooks, and the notebook a submission runs as.

A released exercise notebook gives the checks (``check("exercise_id", expr)``
in its grading cells, with their points: nbgrader ``grade`` cells, or cells
where a check call is a statement of its own) and the cells that are locked.
A cell that merely uses a check (``if check(...).passed:``) is ordinary code. A
submission is matched to its released notebook by file name, else by the
nbgrader grade ids (or cell ids) it shares with one. The notebook that runs
is built from the released one, cell by cell in the released order:

* a locked cell (nbgrader ``locked``) runs as released, whatever the student
  did to it;
* a check cell becomes one *harness* cell per exercise (the grader's call to
  ``run_trials`` on the public default trials, for the feedback page: the
  scores come from the clean run), followed by the released check cell itself
  when it is more than bare ``check(...)`` calls, so that later cells still
  find the variables it defines;
* a solution cell or another unlocked cell runs as the student wrote it; a
  missing one is restored from the release (before the student's extra cells
  that precede its place, which may be the student's replacement for it),
  except a solution cell whose functions the student defines elsewhere;
* the student's own extra cells run after the cell they follow, and the
  student's copies of locked and check cells are dropped.

Cells are matched by nbformat cell id, then by nbgrader grade id, then by an
identical source.
"""

import ast
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from bplib.grading.cells import check_calls


@dataclass
class Check:
    exercise_id: str
    expression: str   # what the released check cell passes as the function
    points: float
    cell_index: int   # index of the check cell in the released notebook


@dataclass
class Released:
    path: Path
    nb: object
    checks: list = field(default_factory=list)
    check_cells: set = field(default_factory=set)  # released cell indices

    @property
    def name(self):
        return self.path.name

    @property
    def max_points(self):
        return sum(c.points for c in self.checks)

    def grade_ids(self):
        return {_grade_id(c) for c in self.nb.cells} - {None}

    def cell_ids(self):
        return {c.get("id") for c in self.nb.cells} - {None}


def _read_nbgrader_metadata(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _grade_id(cell):
    return _read_nbgrader_metadata(cell).get("grade_id")


def load_released(path):
    """A released exercise notebook and its checks."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    released = Released(path, nb)
    seen = set()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        meta = _read_nbgrader_metadata(cell)
        # a grading cell (nbgrader), or a cell whose own statement is a check
        checks = check_calls(cell.source, top_level_only=not meta.get("grade"))
        if not checks:
            continue
        released.check_cells.add(index)
        points = meta.get("points") if meta.get("grade") else None
        each = float(points) / len(checks) if points else 1.0
        for exercise_id, expression in checks:
            if exercise_id not in seen:
                seen.add(exercise_id)
                released.checks.append(Check(exercise_id, expression, each, index))
    return released


def load_release(directory):
    """Every released notebook of a directory that has at least one check."""
    found = []
    for path in sorted(Path(directory).glob("*.ipynb")):
        released = load_released(path)
        if released.checks:
            found.append(released)
    return found


def match_release(name, nb, release):
    """The released notebook a submission answers, or None.

    By file name first; else the most shared nbgrader grade ids; else the
    most shared cell ids.
    """
    for released in release:
        if released.name == name:
            return released
    if nb is None:
        return None
    grade_ids = {_grade_id(c) for c in nb.cells} - {None}
    cell_ids = {c.get("id") for c in nb.cells} - {None}
    for key, ids in ((Released.grade_ids, grade_ids), (Released.cell_ids, cell_ids)):
        scored = [(len(key(r) & ids), r) for r in release]
        best = max(scored, key=lambda pair: pair[0], default=(0, None))
        if best[0] > 0:
            return best[1]
    return None


# --------------------------------------------------------------------------
# Building the notebook that runs
# --------------------------------------------------------------------------

@dataclass
class Cell:
    """One cell of the notebook that runs."""

    kind: str           # "student", "instructor", "harness" or "replay"
    source: str
    student_index: int = None   # 0-based index in the student's notebook
    released_index: int = None
    exercise_id: str = None     # harness cells
    expression: str = None      # harness cells
    edited: bool = False        # a student cell whose code differs from the release


@dataclass
class Assembly:
    cells: list
    restored: list = field(default_factory=list)       # released indices restored
    dropped: list = field(default_factory=list)        # student indices dropped
    edited_locked: list = field(default_factory=list)  # student indices of edited locked cells
    deleted_locked: list = field(default_factory=list)  # released locked cells not submitted
    replaced: list = field(default_factory=list)  # solution cells deleted, rewritten elsewhere


def _match(released_cells, student_cells):
    """{student index: released index}: by id, then grade id, then source."""
    matched, taken = {}, set()
    by_id = {c.get("id"): i for i, c in enumerate(released_cells) if c.get("id")}
    by_grade_id = {_grade_id(c): i for i, c in enumerate(released_cells) if _grade_id(c)}
    by_source = {}
    for i, c in enumerate(released_cells):
        by_source.setdefault((c.cell_type, c.source), []).append(i)
    passes = (lambda c: by_id.get(c.get("id")),
              lambda c: by_grade_id.get(_grade_id(c)),
              lambda c: next((i for i in by_source.get((c.cell_type, c.source), [])
                              if i not in taken), None))
    for find in passes:
        for s, cell in enumerate(student_cells):
            if s in matched:
                continue
            r = find(cell)
            if r is not None and r not in taken and \
                    released_cells[r].cell_type == cell.cell_type:
                matched[s] = r
                taken.add(r)
    return matched


def _defined(source):
    """Names a cell binds at its top level (def, class, assignment, import)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _only_checks(source):
    """True when a cell is nothing but calls of ``check(...)`` whose results are
    not kept: running it again after its harness cell would change nothing a
    later cell sees, only take time."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return bool(tree.body) and all(
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name) and node.value.func.id == "check"
        for node in tree.body)


def assemble(released, student_nb, harness):
    """The cells to run for a submission.

    ``harness(check)`` returns the source of the harness cell of a check.
    """
    released_cells = released.nb.cells
    student_cells = student_nb.cells if student_nb is not None else []
    matched = _match(released_cells, student_cells)
    student_of = {r: s for s, r in matched.items()}
    # student cells that were not matched follow the last matched cell before them
    anchored, anchor = {}, None
    for s, cell in enumerate(student_cells):
        if s in matched:
            anchor = matched[s]
        elif cell.cell_type == "code":
            anchored.setdefault(anchor, []).append(s)

    out = Assembly(cells=[])
    student_defines = set()
    for cell in student_cells:
        if cell.cell_type == "code":
            student_defines |= _defined(cell.source)
    checks_by_cell = {}
    for check in released.checks:
        checks_by_cell.setdefault(check.cell_index, []).append(check)

    pending = []  # the student's extra cells, waiting for the next cell that is not restored

    def flush():
        for s in pending:
            cell = student_cells[s]
            meta = _read_nbgrader_metadata(cell)
            if meta.get("grade") or meta.get("locked"):
                out.dropped.append(s)  # a copy of a check or locked cell
            elif cell.source.strip():
                out.cells.append(Cell("student", cell.source, student_index=s, edited=True))
        pending.clear()

    pending.extend(anchored.get(None, []))
    for r, rcell in enumerate(released_cells):
        s = student_of.get(r)
        if rcell.cell_type != "code":
            pass
        elif r in released.check_cells:
            flush()
            if s is None:
                out.deleted_locked.append(r)
            elif student_cells[s].source != rcell.source:
                out.edited_locked.append(s)
            for check in checks_by_cell.get(r, []):
                out.cells.append(Cell("harness", harness(check), released_index=r,
                                      exercise_id=check.exercise_id,
                                      expression=check.expression))
            if not _only_checks(rcell.source):  # it leaves something later cells may use
                out.cells.append(Cell("replay", rcell.source, released_index=r))
        elif _read_nbgrader_metadata(rcell).get("locked"):
            flush()
            if s is None:
                out.deleted_locked.append(r)
            elif student_cells[s].source != rcell.source:
                out.edited_locked.append(s)
            out.cells.append(Cell("instructor", rcell.source, released_index=r))
        elif s is not None:
            flush()
            source = student_cells[s].source
            out.cells.append(Cell("student", source, student_index=s, released_index=r,
                                  edited=source != rcell.source))
        elif _read_nbgrader_metadata(rcell).get("solution") and \
                _defined(rcell.source) <= student_defines:
            out.replaced.append(r)  # the student deleted it but wrote its functions elsewhere
        else:
            # restored, before the student's extra cells above it: one of them may be
            # the student's own replacement of this cell
            out.restored.append(r)
            out.cells.append(Cell("instructor", rcell.source, released_index=r))
        pending.extend(anchored.get(r, []))
    flush()
    return out
