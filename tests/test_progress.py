"""`bplib progress`: a student's own table, graded as the grader grades.

Run on the tiny notebook of classroom_fixtures.py: its solution (every
exercise passed), its released exercise (nothing attempted yet) and a copy
with one mistake.
"""

import pytest

import classroom_fixtures as fx
from bplib.__main__ import main
from bplib.classroom.progress import ProgressError, progress, table


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    release = fx.make_release(root)
    return {"root": root, "release": release, "solutions": root / "solutions"}


def _rows(output):
    """{exercise: (result, points)} of the table's exercise lines."""
    rows = {}
    for line in output.splitlines():
        parts = line.split()
        if parts and parts[0] == fx.NAME.removesuffix(".ipynb"):
            rows[parts[1]] = (" ".join(parts[2:-3]), " ".join(parts[-3:]))
    return rows


def test_the_solutions_pass_every_exercise(course, capsys):
    assert main(["progress", str(course["solutions"]), "--release",
                 str(course["release"])]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["notebook", "exercise", "result", "points"]
    assert _rows(out) == {e: ("passed", "1 / 1") for e in fx.EXERCISES}
    assert out.splitlines()[-2].split() == ["total", "3", "/", "3"]
    assert out.splitlines()[-1] == "3 of 3 exercises passed."


def test_the_exercises_are_not_attempted(course, capsys):
    # the released folder is its own release when none is given and the course has none
    assert main(["progress", str(course["release"]), "--release",
                 str(course["release"])]) == 0
    out = capsys.readouterr().out
    assert _rows(out) == {e: ("not attempted", "0 / 1") for e in fx.EXERCISES}
    assert out.splitlines()[-2].split() == ["total", "0", "/", "3"]


def test_a_mistake_fails_and_a_hostile_check_changes_nothing(course, tmp_path):
    nb = fx.solved(course["release"], wrong=("sigmoid_backward",))
    fx.check_cell(nb, "sigmoid_backward").source = "print('all checks passed')"
    fx.write(nb, tmp_path / fx.NAME)
    (tmp_path / "notes.ipynb").write_text("{}")  # not an exercise: not in the table
    records = progress(tmp_path, release_dir=course["release"], seed=3, cell_timeout=20)
    assert [r.notebook for r in records] == [fx.NAME]
    output = table(records)
    assert _rows(output) == {"relu_backward": ("passed", "1 / 1"),
                             "sigmoid_backward": ("failed", "0 / 1"),
                             "tanh_backward": ("passed", "1 / 1")}
    assert output.endswith("2 of 3 exercises passed.")


def test_a_folder_without_exercises_says_so(course, tmp_path, capsys):
    with pytest.raises(ProgressError, match="no exercise notebook"):
        progress(tmp_path, release_dir=course["release"])
    assert main(["progress", str(tmp_path), "--release", str(course["release"])]) == 2
    assert "no exercise notebook" in capsys.readouterr().err
