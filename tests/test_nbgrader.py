"""The course in real nbgrader courses: solutions/ is an nbgrader source folder.

nbgrader's own command line (in subprocesses, with a throwaway HOME and
Jupyter folders) releases every solution notebook, which must give exactly
exercises/; then, in a second course, it releases one notebook, autogrades a
correct, a blank and a partly right submission, exports the grades and
validates. nbgrader scores a check cell by the number it displays, so the
scores must be bplib's own: full points, 0, and each exercise's points times
the fraction of its trials passed.
"""

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from bplib.notebooks import BEGIN, END, exercise_points

pytest.importorskip("nbgrader", reason="nbgrader is in the test extra")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "06_activations.ipynb"
ASSIGNMENT = "ps1"

# relu_backward for one-dimensional inputs only: right on the 1-D trials, an
# error ("truth value of an array") on the others, so it earns a fraction.
ONE_DIMENSIONAL_RELU = '''def relu_backward(z, dout):
    return np.array([d if v > 0 else 0.0 for v, d in zip(z, dout)])'''


def _solved(cell_source):
    """A solution cell's code without its marker lines."""
    return "\n".join(line for line in cell_source.splitlines()
                     if line.strip() not in (BEGIN, END))


def _start(course, *args):
    """Start nbgrader's command line in the course, with a throwaway HOME and Jupyter folders."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NBGRADER")}
    home = course / "_home"
    env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               IPYTHONDIR=str(home / "ipython"), MPLBACKEND="Agg",
               PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""))
    return subprocess.Popen([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process):
    """Wait for an nbgrader command; returns its stdout and its log (stderr)."""
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, f"{' '.join(process.args[2:])} failed:\n{stdout}{stderr}"
    return stdout, stderr


def _new_course(root):
    root.mkdir()
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'bplib'\n"
        f"c.CourseDirectory.root = {str(root)!r}\n")
    return root


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course released, submitted (correct, blank, partial), autograded, exported, validated.

    Commands that do not depend on each other run at the same time: releasing every solution
    notebook (in a second course) with releasing the graded one, validating with autograding.
    """
    tmp = tmp_path_factory.mktemp("nbgrader")
    course, everything = _new_course(tmp / "course"), _new_course(tmp / "all")
    source = course / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    solution = nbformat.read(ROOT / "solutions" / NOTEBOOK, as_version=4)
    nbformat.write(solution, source / NOTEBOOK)
    shutil.copytree(ROOT / "solutions", everything / "source" / "all")
    release_all = _start(everything, "generate_assignment", "all")
    _, generate_log = _finish(_start(course, "generate_assignment", ASSIGNMENT))
    _finish(release_all)
    released = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)

    solutions = {c.metadata["nbgrader"]["grade_id"]: _solved(c.source) for c in solution.cells
                 if c.metadata["nbgrader"]["solution"]}
    submissions = {"blank": {}, "correct": solutions,
                   "partial": {"solution_relu_backward": ONE_DIMENSIONAL_RELU}}
    for student, answers in submissions.items():
        nb = nbformat.from_dict(released)
        for cell in nb.cells:
            cell.source = answers.get(cell.metadata["nbgrader"]["grade_id"], cell.source)
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / NOTEBOOK)
    # validate copies: nbgrader validate runs a notebook where it lies
    validated = {}
    for student in ("correct", "blank"):
        validated[student] = tmp / "validate" / student / NOTEBOOK
        validated[student].parent.mkdir(parents=True)
        shutil.copy(course / "submitted" / student / ASSIGNMENT / NOTEBOOK, validated[student])
    validate = _start(course, "validate", str(validated["correct"]), str(validated["blank"]))
    _, autograde_log = _finish(_start(course, "autograde", ASSIGNMENT, "--create"))
    _finish(_start(course, "export"))
    validate_output, _ = _finish(validate)
    with open(course / "grades.csv", newline="") as f:
        grades = {row["student_id"]: row for row in csv.DictReader(f)}
    return {"root": course, "all": everything, "logs": {"generate": generate_log,
            "autograde": autograde_log}, "grades": grades, "solution": solution,
            "validate": validate_output}


def _cell_scores(course, student):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course['root'] / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(Path(NOTEBOOK).stem, ASSIGNMENT, student)
        return {grade.name: (grade.score, grade.max_score) for grade in notebook.grades}


@pytest.mark.parametrize("name", [p.name for p in sorted((ROOT / "solutions").glob("*.ipynb"))])
def test_nbgrader_releases_exactly_the_exercise_notebooks(course, name):
    released = nbformat.read(course["all"] / "release" / "all" / name, as_version=4)
    exercise = nbformat.read(ROOT / "exercises" / name, as_version=4)
    assert [(c.cell_type, c.source) for c in released.cells] == \
           [(c.cell_type, c.source) for c in exercise.cells]
    for ours, theirs in zip(exercise.cells, released.cells):
        meta = {k: v for k, v in theirs.metadata["nbgrader"].items()
                if k not in ("checksum", "cell_type")}
        assert ours.metadata["nbgrader"] == meta
        for lock in ("editable", "deletable"):
            assert ours.metadata.get(lock, True) == theirs.metadata.get(lock, True), ours.source


def test_autograde_gives_full_points_zero_and_the_fraction_passed(course):
    from bplib.grading import check

    checks = [c.metadata["nbgrader"]["grade_id"] for c in course["solution"].cells
              if c.metadata["nbgrader"]["grade"]]
    maximum = sum(exercise_points(grade_id.removeprefix("check_")) for grade_id in checks)
    assert maximum > 0
    grades = course["grades"]
    assert float(grades["correct"]["max_score"]) == pytest.approx(maximum)
    assert float(grades["correct"]["score"]) == pytest.approx(maximum)
    assert float(grades["blank"]["score"]) == 0.0
    assert all(score == maximum_of_cell for score, maximum_of_cell
               in _cell_scores(course, "correct").values())

    namespace = {}
    exec("import numpy as np\n" + ONE_DIMENSIONAL_RELU, namespace)
    fraction = check("relu_backward", namespace["relu_backward"]).score
    assert 0 < fraction < 1
    relu_points = exercise_points("relu_backward")
    scores = _cell_scores(course, "partial")
    assert scores["check_relu_backward"][0] == pytest.approx(fraction * relu_points, abs=0.01)
    assert all(score == 0 for name, (score, _) in scores.items()
               if name.startswith("check_") and name != "check_relu_backward")
    assert 0 < float(grades["partial"]["score"]) < maximum


def test_autograde_reads_every_score_as_a_number(course):
    log = course["logs"]["autograde"]
    assert "cannot be converted to a float" not in log
    assert "treating other output as full credit" not in log


def test_validate_passes_correct_work_and_fails_blank_work(course):
    verdicts = re.findall(r"Success! Your notebook passes all the tests\.|VALIDATION FAILED",
                          course["validate"])
    assert verdicts == ["Success! Your notebook passes all the tests.", "VALIDATION FAILED"]
