"""Maintainers' notebook tools: make exercises from solutions, run notebooks.

Solutions are the source of truth. In a solution notebook, the student's
part of a code cell sits between two marker lines:

    ### BEGIN SOLUTION
    return dout * (z > 0)
    ### END SOLUTION

Every cell also carries nbgrader metadata, so solutions/ is an nbgrader
source folder as it is: a cell with markers is a solution cell; a cell whose
own statement is ``check("id", fn)`` is an autograded grade cell worth
``EXERCISES[id].points``; every other cell is locked. ``annotate`` computes
that metadata (it is never written by hand) and ``bplib generate`` stores it.

``generate_exercise`` does what ``nbgrader generate_assignment`` does: it
replaces each solution block with ``# YOUR CODE HERE`` and
``raise NotImplementedError()`` at the same indentation and clears outputs,
keeping the metadata, so the two give the same cells.
"""

import ast
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from bplib.grading.cells import check_calls

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
_BLOCK = re.compile(r"^([ \t]*)" + re.escape(BEGIN) + r"[ \t]*\n.*?^[ \t]*"
                    + re.escape(END) + r"[ \t]*$", re.DOTALL | re.MULTILINE)


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


def annotate(nb, stem):
    """Set every cell's nbgrader metadata (and JupyterLab's locks) in place.

    Also writes each exercise's points into its heading (``## Exercise 2
    (1 point): `sigmoid_backward```), from the same ``EXERCISES[id].points``.

    A cell with solution markers is the student's (``solution``; it may be
    edited, not deleted); a code cell whose own statement is one
    ``check("id", fn)`` is an autograded test (``grade``, worth that
    exercise's points); every other cell is read-only (``locked``). Grade ids
    name what a cell holds, so they survive inserting cells. Raises
    ValueError for a cell that checks several exercises (nbgrader scores a
    cell by its one displayed value) or mixes a check with a solution.
    """
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _HEADING.sub(_heading_with_points, cell.source)
        cell.metadata.pop("nbgrader", None)
        cell.metadata.pop("editable", None)
        cell.metadata.pop("deletable", None)
        cell.metadata.pop("execution", None)  # run timestamps, if any
        solution = cell.cell_type == "code" and BEGIN in cell.source
        checked = ([exercise_id for exercise_id, _ in check_calls(cell.source, top_level_only=True)]
                   if cell.cell_type == "code" else [])
        if solution and checked or len(checked) > 1:
            raise ValueError(f"{stem}: a grading cell must hold exactly one check and no "
                             f"solution; split this cell:\n{cell.source}")
        if solution:
            names = sorted(_defined_names(cell.source))
            grade_id = "solution_" + ("_".join(names) if names else cell.id)
            cell.metadata["nbgrader"] = _new_nbgrader_metadata(grade_id, solution=True)
            cell.metadata["deletable"] = False
        else:
            if checked:
                cell.metadata["nbgrader"] = _new_nbgrader_metadata(
                    f"check_{checked[0]}", grade=True, points=exercise_points(checked[0]))
            else:
                cell.metadata["nbgrader"] = _new_nbgrader_metadata(f"cell_{cell.id}")
            cell.metadata["editable"] = False
            cell.metadata["deletable"] = False
    nb.metadata.pop("widgets", None)
    return nb


# "## Exercise 2: `sigmoid_backward` ..." or "## Exercise 2 (1 point): `sigmoid_backward` ..."
_HEADING = re.compile(r"^(#+ (?:Challenge e|E)xercise \d+)(?: \([\d.]+ points?\))?(: `(\w+)`)",
                      re.MULTILINE)


def _heading_with_points(match):
    """An exercise's heading, stating the points its check is worth."""
    from bplib.grading import EXERCISES

    if match.group(3) not in EXERCISES:
        return match.group(0)
    points = exercise_points(match.group(3))
    shown = f"{points:g} point" + ("" if points == 1 else "s")
    return f"{match.group(1)} ({shown}){match.group(2)}"


def exercise_points(exercise_id):
    """The points an exercise's check cell is worth: ``EXERCISES[id].points``, the one source."""
    from bplib.grading import EXERCISES

    return EXERCISES[exercise_id].points


def _defined_names(source):
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def _new_nbgrader_metadata(grade_id, *, solution=False, grade=False, points=0):
    meta = {"grade_id": grade_id, "schema_version": 3, "solution": solution,
            "grade": grade, "locked": not solution, "task": False}
    if grade:
        meta["points"] = points
    return meta


def exercise_from(solution_nb, stem):
    """The student's version of a solution notebook (a new notebook)."""
    nb = annotate(nbformat.from_dict(json.loads(json.dumps(solution_nb))), stem)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.source, _ = strip_solutions(cell.source)
    nb.metadata["bplib"] = {"generated": _fingerprint(nb)}
    nbformat.validate(nb)
    return nb


def _fingerprint(nb):
    """A hash of a notebook's cells (types and sources): what a student changes."""
    cells = [[cell.cell_type, cell.source] for cell in nb.cells]
    return hashlib.sha256(json.dumps(cells).encode()).hexdigest()[:16]


def generate_exercise(solution_path, exercise_path):
    """Write the student's version of one solution notebook (always)."""
    nb = exercise_from(nbformat.read(solution_path, as_version=4), Path(solution_path).stem)
    Path(exercise_path).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, exercise_path)


@dataclass(frozen=True)
class Generated:
    """What ``generate_exercises`` did with one exercise notebook."""

    path: Path
    action: str  # "wrote", "unchanged" or "skipped" (an exercise); "annotated" (a solution)
    reason: str = ""

    def __str__(self):
        return f"{self.action} {self.path}" + (f": {self.reason}" if self.reason else "")


def generate_exercises(solutions_dir="solutions", exercises_dir="exercises", force=False):
    """Regenerate every exercise notebook; returns a Generated record per notebook.

    Also stores the computed nbgrader metadata in each solution notebook. An
    existing exercise notebook is overwritten only when it is still what the
    last generation wrote (its cells match the fingerprint stored in it) or
    already has the cells it would get: one that somebody changed otherwise
    is skipped unless ``force``.
    """
    done = []
    for solution in sorted(Path(solutions_dir).glob("*.ipynb")):
        source = nbformat.read(solution, as_version=4)
        annotated = annotate(nbformat.from_dict(json.loads(json.dumps(source))), solution.stem)
        if annotated != source:
            nbformat.write(annotated, solution)
            done.append(Generated(solution, "annotated", "its nbgrader metadata and points were "
                                                         "out of date"))
        target = Path(exercises_dir) / solution.name
        fresh = exercise_from(annotated, solution.stem)
        old = _read_or_none(target)
        if old == fresh:
            done.append(Generated(target, "unchanged"))
            continue
        changed_by_hand = (old is not None
                           and old.metadata.get("bplib", {}).get("generated") != _fingerprint(old)
                           and _fingerprint(old) != _fingerprint(fresh))
        if changed_by_hand and not force:
            done.append(Generated(target, "skipped", "it was changed since it was generated "
                                  "(somebody's work?); use --force to overwrite it"))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(fresh, target)
        done.append(Generated(target, "wrote"))
    return done


def _read_or_none(path):
    try:
        return nbformat.read(path, as_version=4)
    except FileNotFoundError:
        return None
    except Exception:  # unreadable: treat as somebody's file, never overwrite silently
        return nbformat.v4.new_notebook()


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
