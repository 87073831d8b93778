"""The course's notebooks: exercises generated from solutions, and runnable.

Lessons and solutions are re-run and compared with their stored outputs by
nbval (see pyproject.toml); here we check what nbval cannot: that exercises/
is exactly what `bplib generate` makes from solutions/, that every exercise
notebook runs top to bottom with every check saying "not attempted yet", and
that no solution leaks into an exercise.
"""

import shutil
from pathlib import Path

import nbformat
import pytest

from bplib.notebooks import BEGIN, END, generate_exercises, strip_solutions

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_strip_solutions_keeps_indentation_and_the_rest():
    source = ("def f(x):\n    \"\"\"Doc.\"\"\"\n    " + BEGIN + "\n    y = x + 1\n"
              "    return y\n    " + END + "\n\nprint(f)")
    stubbed, count = strip_solutions(source)
    assert count == 1
    assert stubbed == ("def f(x):\n    \"\"\"Doc.\"\"\"\n    # YOUR CODE HERE\n"
                       "    raise NotImplementedError()\n\nprint(f)")


def test_strip_solutions_rejects_unbalanced_markers():
    with pytest.raises(ValueError, match="unbalanced"):
        strip_solutions(BEGIN + "\nx = 1\n")


def test_every_solution_has_an_exercise_and_a_lesson():
    assert SOLUTIONS, "no solution notebooks found"
    assert [p.name for p in SOLUTIONS] == [p.name for p in EXERCISES]
    lesson_names = {p.name for p in LESSONS}
    assert all(p.name in lesson_names for p in SOLUTIONS)


def test_exercises_are_up_to_date(tmp_path):
    generate_exercises(ROOT / "solutions", tmp_path)
    for committed in EXERCISES:
        fresh = tmp_path / committed.name
        assert nbformat.read(fresh, as_version=4) == nbformat.read(committed, as_version=4), (
            f"exercises/{committed.name} is out of date: run `bplib generate`")


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_exercise_has_no_solution_and_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        assert BEGIN not in cell.source and END not in cell.source
        if cell.cell_type == "code":
            assert cell.outputs == []
    stubs = [c for c in nb.cells
             if c.cell_type == "code" and "raise NotImplementedError()" in c.source]
    assert stubs and all(c.metadata["nbgrader"]["solution"] for c in stubs)


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_exercise_runs_and_every_check_is_not_attempted(path, tmp_path):
    from nbclient import NotebookClient

    copy = tmp_path / path.name  # never touch the committed file
    shutil.copy(path, copy)
    nb = nbformat.read(copy, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    check_cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert check_cells
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", cell.source
    for cell in check_cells:
        text = "".join(o.get("data", {}).get("text/plain", "") for o in cell.outputs)
        assert "not attempted yet" in text, cell.source


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_has_goals_summary_and_questions(path):
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells
                     if c.cell_type == "markdown").lower()
    for part in ("learning goals", "summary", "check yourself"):
        assert part in text, f"{path.name} has no '{part}' section"
