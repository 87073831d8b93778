"""The course's notebooks: exercises generated from solutions, and runnable.

Lessons and solutions are re-run and compared with their stored outputs by
nbval (see pyproject.toml); here we check what nbval cannot: that exercises/
is exactly what `bplib generate` makes from solutions/, that every exercise
notebook runs top to bottom with every check saying "not attempted yet", and
that no solution leaks into an exercise.
"""

import ast
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from bplib.__main__ import main as bplib_main
from bplib.notebooks import (BEGIN, END, annotate, exercise_points, generate_exercises,
                             strip_solutions)

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
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    generate_exercises(tmp_path / "solutions", tmp_path / "exercises")
    for committed in EXERCISES:
        fresh = tmp_path / "exercises" / committed.name
        assert nbformat.read(fresh, as_version=4) == nbformat.read(committed, as_version=4), (
            f"exercises/{committed.name} is out of date: run `bplib generate`")


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_solution_carries_its_nbgrader_metadata(path):
    nb = nbformat.read(path, as_version=4)
    stored = [dict(c.metadata) for c in nb.cells]
    annotate(nb, path.stem)
    assert stored == [dict(c.metadata) for c in nb.cells], (
        f"solutions/{path.name} has stale nbgrader metadata: run `bplib generate`")
    grade_ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells]
    assert len(set(grade_ids)) == len(grade_ids)
    for cell in nb.cells:
        meta = cell.metadata["nbgrader"]
        assert meta["solution"] == (BEGIN in cell.source)
        assert cell.metadata["deletable"] is False
        if meta["solution"]:  # the student's cell: editable, not deletable
            assert not meta["locked"] and "editable" not in cell.metadata
        else:  # everything else: locked in nbgrader and in JupyterLab
            assert meta["locked"] and cell.metadata["editable"] is False
        if meta["grade"]:
            exercise_id = meta["grade_id"].removeprefix("check_")
            assert cell.source.startswith(f'check("{exercise_id}", ')
            assert meta["points"] == exercise_points(exercise_id)


def test_annotate_refuses_a_cell_with_two_checks():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        'check("relu_backward", relu_backward)\ncheck("tanh_backward", tanh_backward)')])
    with pytest.raises(ValueError, match="exactly one check"):
        annotate(nb, "06_activations")


def test_generate_never_overwrites_a_changed_exercise_without_force(tmp_path, capsys):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    shutil.copy(ROOT / "solutions" / "03_single_neuron.ipynb", solutions)
    target = exercises / "03_single_neuron.ipynb"
    folders = ["--solutions", str(solutions), "--exercises", str(exercises)]

    def generate(*extra):
        assert bplib_main(["generate", *folders, *extra]) == 0
        return capsys.readouterr().out

    def edit(path, text):
        nb = nbformat.read(path, as_version=4)
        nb.cells[0].source += text
        nbformat.write(nb, path)

    assert generate() == f"wrote {target}\n"
    assert generate() == f"unchanged {target}\n"
    edit(solutions / target.name, "\n\nA maintainer's new sentence.")
    assert generate() == f"wrote {target}\n"  # untouched since generated: regenerated
    assert "A maintainer's new sentence." in target.read_text()

    edit(target, "\n\nA student's notes.")
    edit(solutions / target.name, "\n\nAnother sentence.")
    students_work = target.read_bytes()
    output = generate()
    assert output.startswith(f"skipped {target}: it was changed since it was generated")
    assert "--force" in output
    assert target.read_bytes() == students_work
    assert generate("--force") == f"wrote {target}\n"
    assert "A student's notes." not in target.read_text()

    # the same hand edit in the solution and in the exercise: nothing would be lost
    edit(target, "\n\nA renamed function.")
    edit(solutions / target.name, "\n\nA renamed function.")
    assert generate() == f"wrote {target}\n"
    assert generate() == f"unchanged {target}\n"


_HEADING = re.compile(r"^#+ (?:Challenge e|E)xercise (\d+) \(([\d.]+) points?\): `(\w+)`", re.MULTILINE)


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_exercises_are_numbered_with_points_a_stuck_ladder_and_answers(path):
    """Each exercise: "Exercise k (n points)", then three collapsed hints; easiest first."""
    cells = nbformat.read(path, as_version=4).cells
    checked = [c.metadata["nbgrader"]["grade_id"].removeprefix("check_") for c in cells
               if c.metadata["nbgrader"]["grade"]]
    headings = [(i, m) for i, c in enumerate(cells) if c.cell_type == "markdown"
                for m in _HEADING.finditer(c.source)]
    assert [m.group(3) for _, m in headings] == checked
    assert [int(m.group(1)) for _, m in headings] == list(range(1, len(checked) + 1))
    points = [float(m.group(2)) for _, m in headings]
    assert points == [exercise_points(exercise_id) for exercise_id in checked]
    assert points == sorted(points), "exercises go from the easiest (fewest points) to the hardest"
    for i, _ in headings:
        ladder = cells[i + 1]
        assert ladder.cell_type == "markdown" and ladder.source.startswith("**Stuck?**")
        assert [m.group(1) for m in re.finditer(r"<details><summary>Hint (\d)", ladder.source)] == \
               ["1", "2", "3"]
        assert ladder.source.count("</details>") == 3
    for cell in cells:
        if cell.cell_type == "markdown" and "Check yourself" in cell.source:
            questions = re.findall(r"^\*\*\d+\.\*\*", cell.source, re.MULTILINE)
            assert questions and cell.source.count("<summary>Answer</summary>") == len(questions)


@pytest.mark.parametrize("path", SOLUTIONS + EXERCISES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_link_of_an_exercise_notebook_resolves(path):
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            for link in re.findall(r"\]\(([^)#\s]+)", cell.source):
                if "://" not in link:
                    assert (path.parent / link).exists(), f"{path.name} links to {link}"


@pytest.mark.parametrize("path", [p for p in SOLUTIONS if int(p.name[:2]) >= 6], ids=lambda p: p.stem)
def test_exercise_docstrings_state_no_backward_formula(path):
    """From lesson 6 on the student derives: no `dX = ...` line in an answer cell's docstrings."""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code" or BEGIN not in cell.source:
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(node):
                formula = re.search(r"\bd\w*\s*=.*", ast.get_docstring(node))
                assert formula is None, f"{node.name}'s docstring gives a formula: {formula.group()}"


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
