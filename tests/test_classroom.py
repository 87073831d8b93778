"""Classroom batch grading: `bplib grade` end to end, and its parts.

One batch of real submissions (made from a tiny solution notebook, see
classroom_fixtures.py) is graded once per test session with two kernels at a
time and short time limits; the end-to-end tests read what it wrote. The
static scan, the cell matching and the discovery of submissions are also
tested on their own, without kernels.
"""

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

import classroom_fixtures as fx
from bplib.__main__ import main
from bplib.classroom import discover, run_batch
from bplib.classroom.assemble import assemble, load_release, match_release
from bplib.classroom.report import COLUMNS_AFTER, COLUMNS_BEFORE
from bplib.classroom.scan import scan
from bplib.classroom.submission import Unreadable, harness_factory, read_notebook

SEED = 20240611


def _hashes(folder):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    release = fx.make_release(root)
    subs = root / "submissions"
    expected = fx.make_submissions(release, subs)
    before = _hashes(subs)
    out = root / "grades"
    status = main(["grade", str(subs), "--release", str(release), "--out", str(out),
                   "--jobs", "2", "--timeout", "3", "--seed", str(SEED)])
    with open(out / "gradebook.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    return {"root": root, "release": release, "subs": subs, "out": out, "status": status,
            "expected": expected, "before": before, "rows": rows}


STUDENTS = ["full", "unattempted", "partial", "deleted_checks", "edited_checks",
            "monkeypatch", "fake_check", "reference", "infinite_loop", "killed_kernel",
            "input_exit", "folder_student", "corrupted", "empty"]


# --------------------------------------------------------------------------
# End to end
# --------------------------------------------------------------------------

@pytest.mark.parametrize("student", STUDENTS)
def test_every_score_status_and_flag(batch, student):
    row, expected = batch["rows"][student], batch["expected"][student]
    assert row["status"] == expected["status"], row["message"]
    for exercise, points in expected["points"].items():
        assert float(row[exercise]) == points, (exercise, row)
    assert float(row["total"]) == sum(expected["points"].values())
    assert float(row["max"]) == 3
    flags = set(filter(None, row["flags"].split(";")))
    assert expected["flags"] <= flags
    if not any(f.startswith("uses-reference") for f in expected["flags"]):
        assert not any(f.startswith("uses-reference") for f in flags)


def test_gradebook_has_one_row_per_submission_and_the_columns(batch):
    with open(batch["out"] / "gradebook.csv", newline="") as f:
        header = next(csv.reader(f))
    assert header == COLUMNS_BEFORE + list(fx.EXERCISES) + COLUMNS_AFTER
    assert header[:2] == ["student", "notebook"]
    assert header[-5:] == ["total", "max", "status", "flags", "message"]
    assert sorted(batch["rows"]) == sorted(STUDENTS)
    assert {row["notebook"] for row in batch["rows"].values()} == {fx.NAME}


def test_messages_say_what_went_wrong(batch):
    rows = batch["rows"]
    assert rows["empty"]["message"] == "the file is empty"
    assert "invalid JSON" in rows["corrupted"]["message"]
    assert "longer than 3 s" in rows["infinite_loop"]["message"]
    assert "kernel died" in rows["killed_kernel"]["message"]
    assert rows["full"]["message"] == ""


def test_exit_status_is_nonzero_when_a_submission_could_not_be_graded(batch):
    assert batch["status"] == 1


def test_submissions_are_never_written(batch):
    assert _hashes(batch["subs"]) == batch["before"]


def test_results_json_has_the_seed_and_every_check_in_detail(batch):
    results = json.loads((batch["out"] / "results.json").read_text())
    assert results["seed"] == SEED
    assert results["exercises"] == list(fx.EXERCISES)
    by_student = {r["student"]: r for r in results["submissions"]}
    assert set(by_student) == set(STUDENTS)
    partial = {e["exercise"]: e for e in by_student["partial"]["exercises"]}
    assert partial["sigmoid_backward"]["status"] == "failed"
    assert "z * (1 - z)" in partial["sigmoid_backward"]["feedback"]  # the mistake's hint
    assert len(partial["sigmoid_backward"]["trials"]) >= 3
    assert partial["relu_backward"]["status"] == "passed"
    unattempted = by_student["unattempted"]["exercises"]
    assert {e["status"] for e in unattempted} == {"not attempted"}
    reference = {e["exercise"]: e for e in by_student["reference"]["exercises"]}
    assert reference["relu_backward"]["status"] == "uses-reference"
    assert reference["relu_backward"]["check_status"] == "passed"  # it would have passed
    assert "bplib.grading.reference" in reference["relu_backward"]["feedback"]
    assert "bplib.functional.tanh_backward" in reference["tanh_backward"]["feedback"]
    errors = by_student["input_exit"]["cell_errors"]
    assert any("StdinNotImplementedError" in e["error"] for e in errors)
    assert any("SystemExit" in e["error"] for e in errors)
    timing = by_student["full"]["timing"]
    assert set(timing) >= {"kernel_start", "cells", "run_trials", "grading", "total"}


def test_gradescope_results_have_the_autograder_shape(batch):
    for student in STUDENTS:
        data = json.loads((batch["out"] / "results" / f"{student}.json").read_text())
        assert isinstance(data["score"], (int, float)) and isinstance(data["output"], str)
        assert len(data["tests"]) == 3
        for test in data["tests"]:
            assert set(test) >= {"name", "score", "max_score", "output", "status"}
            assert test["status"] in ("passed", "failed")
            assert 0 <= test["score"] <= test["max_score"] == 1
        assert data["score"] == sum(t["score"] for t in data["tests"])
        assert data["score"] == float(batch["rows"][student]["total"])
    partial = json.loads((batch["out"] / "results" / "partial.json").read_text())
    assert [t["status"] for t in partial["tests"]] == ["passed", "failed", "passed"]
    stem = Path(fx.NAME).stem  # always "<notebook stem>: <exercise id>"
    assert [t["name"] for t in partial["tests"]] == [f"{stem}: {e}" for e in fx.EXERCISES]


def test_feedback_pages_are_readable_html(batch):
    pages = sorted(p.stem for p in (batch["out"] / "feedback").glob("*.html"))
    assert pages == sorted(STUDENTS)
    page = (batch["out"] / "feedback" / "partial.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "sigmoid_backward" in page and "Hint:" in page and "2 / 3" in page
    page = (batch["out"] / "feedback" / "killed_kernel.html").read_text()
    assert "kernel-died" in page and "the kernel died" in page
    page = (batch["out"] / "feedback" / "fake_check.html").read_text()
    assert "<script" not in page


def test_a_second_run_resumes_and_regrades_only_what_is_missing(batch, tmp_path):
    out = batch["out"]
    kept = (out / "results" / "full.json").read_bytes()
    (out / "results" / "partial.json").unlink()
    with open(tmp_path / "progress.txt", "w") as stream:
        result = run_batch([batch["subs"]], release_dir=batch["release"], out=out, jobs=2,
                           cell_timeout=3, total_timeout=60, progress_stream=stream)
    assert (result.graded, result.skipped) == (1, len(STUDENTS) - 1)
    assert result.seed == SEED  # resumed with the batch's seed
    assert (out / "results" / "full.json").read_bytes() == kept
    assert (out / "results" / "partial.json").exists()
    progress = (tmp_path / "progress.txt").read_text().splitlines()
    assert progress[-1].startswith(f"bplib grade: {len(STUDENTS)}/{len(STUDENTS)} "
                                   "submissions done, 0:")
    assert progress[-1].endswith("4 could not be graded")
    with open(out / "gradebook.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == len(STUDENTS)


def test_python_m_bplib_grade_exits_0_when_everything_was_graded(batch, tmp_path):
    out = tmp_path / "grades"
    done = subprocess.run(
        [sys.executable, "-m", "bplib", "grade", str(batch["subs"] / "full.ipynb"),
         "--release", str(batch["release"]), "--out", str(out), "--jobs", "2"],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1/1 submissions done" in done.stderr and "0 could not be graded" in done.stderr
    with open(out / "gradebook.csv", newline="") as f:
        row = next(csv.DictReader(f))
    assert (row["student"], row["total"], row["status"]) == ("full", "3", "graded")
    seed = json.loads((out / "results.json").read_text())["seed"]
    assert isinstance(seed, int)  # drawn at random and recorded


def test_a_missing_release_is_a_usage_error(tmp_path, capsys):
    assert main(["grade", str(tmp_path), "--release", str(tmp_path / "nothing")]) == 2
    assert "no released exercise notebook" in capsys.readouterr().err


# --------------------------------------------------------------------------
# A real class: two released notebooks, learning platforms' downloads
# --------------------------------------------------------------------------

CLASS = ["Jane Doe", "dup", "looper", "newest", "smithjohn"]


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    release = fx.make_two_notebook_release(root)
    subs = root / "downloads"
    expected = fx.make_class(release, subs)
    out = root / "grades"
    status = main(["grade", str(subs), "--release", str(release), "--out", str(out),
                   "--jobs", "2", "--timeout", "3", "--seed", str(SEED)])
    return {"release": release, "subs": subs, "out": out, "status": status,
            "expected": expected}


def _csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_a_class_has_one_row_per_student_and_released_notebook(klass):
    rows = {(r["student"], r["notebook"]): r for r in _csv(klass["out"] / "gradebook.csv")}
    assert sorted(rows) == sorted((s, n) for s in CLASS for n in (fx.NAME, fx.NAME2))
    for (student, notebook), row in rows.items():
        points = klass["expected"][student].get(notebook)
        if points is None:  # not submitted: missing, 0 of its points
            assert (row["status"], row["total"], row["message"]) == (
                "missing", "0", "not submitted"), row
        else:
            assert float(row["total"]) == points, row
        assert float(row["max"]) == (3 if notebook == fx.NAME else 1)
    assert rows[("looper", fx.NAME)]["status"] == "timeout"
    assert klass["status"] == 1  # the looper's notebook could not be graded completely


def test_learning_platforms_download_names_map_to_the_student(klass):
    rows = _csv(klass["out"] / "gradebook.csv")
    smith = {r["notebook"]: r for r in rows if r["student"] == "smithjohn"}
    assert [smith[n]["status"] for n in (fx.NAME, fx.NAME2)] == ["graded", "graded"]
    assert float(smith[fx.NAME2]["relative_error"]) == 1
    jane = {r["notebook"]: r for r in rows if r["student"] == "Jane Doe"}
    assert float(jane[fx.NAME]["sigmoid_backward"]) == 0 and jane[fx.NAME2]["status"] == \
        "missing"


def test_a_duplicate_is_graded_once_and_named_never_summed(klass):
    rows = {(r["student"], r["notebook"]): r for r in _csv(klass["out"] / "gradebook.csv")}
    dup = rows[("dup", fx.NAME)]
    assert dup["total"] == "3"  # the file with the released name, not the newer blank copy
    assert dup["flags"].split(";") == ["duplicate:06_activations-Copy1.ipynb"]
    newest = rows[("newest", fx.NAME)]
    assert newest["total"] == "3"  # neither has the released name: the newest
    assert newest["flags"].split(";") == ["duplicate:first try.ipynb"]
    results = json.loads((klass["out"] / "results.json").read_text())
    graded = {(r["student"], r["notebook"]): r for r in results["submissions"]}
    assert graded[("newest", fx.NAME)]["submission"].endswith("second try.ipynb")
    page = (klass["out"] / "feedback" / "dup.html").read_text()
    assert "Total: <b>3</b> of 4 points" in page and "06_activations-Copy1.ipynb" in page


def test_macos_and_jupyter_copies_are_ignored(klass):
    rows = _csv(klass["out"] / "gradebook.csv")
    assert {r["student"] for r in rows} == set(CLASS)
    assert not any("._" in r["flags"] or "checkpoint" in r["flags"] or
                   r["status"] == "invalid-notebook" for r in rows)


def test_students_csv_has_a_row_per_student_with_every_notebook(klass):
    rows = _csv(klass["out"] / "students.csv")
    with open(klass["out"] / "students.csv", newline="") as f:
        header = next(csv.reader(f))
    assert header == ["student", fx.NAME, fx.NAME2, "total", "max", "flags"]
    by = {r["student"]: r for r in rows}
    assert sorted(by) == sorted(CLASS)
    for student, points in klass["expected"].items():
        row = by[student]
        assert [float(row[n]) for n in (fx.NAME, fx.NAME2)] == [
            points.get(fx.NAME, 0), points.get(fx.NAME2, 0)]
        assert float(row["total"]) == sum(points.values()) and row["max"] == "4"
    assert by["smithjohn"]["flags"] == ""
    assert by["Jane Doe"]["flags"] == f"missing:{fx.NAME2}"
    assert set(by["dup"]["flags"].split(";")) == {"duplicate:06_activations-Copy1.ipynb",
                                                   f"missing:{fx.NAME2}"}


def test_gradescope_test_names_are_notebook_stem_and_exercise(klass):
    for student in CLASS:
        data = json.loads((klass["out"] / "results" / f"{fx.safe(student)}.json").read_text())
        assert [t["name"] for t in data["tests"]] == [
            f"06_activations: {e}" for e in fx.EXERCISES] + [
            "11_gradient_checking: relative_error"]
        assert sum(t["max_score"] for t in data["tests"]) == 4


def test_a_timeout_names_the_students_function_not_the_course_cell(klass):
    results = json.loads((klass["out"] / "results.json").read_text())
    looper = next(r for r in results["submissions"]
                  if (r["student"], r["notebook"]) == ("looper", fx.NAME))
    assert looper["message"] == ("your function `relu_backward` did not return within 3 s on "
                                 "the grader's inputs (the check of relu_backward)")
    relu = next(e for e in looper["exercises"] if e["exercise"] == "relu_backward")
    assert relu["points"] == 0 and "did not return within 3 s" in relu["feedback"]
    # the course's demo cell called it again: the error names the function, too
    (demo,) = looper["cell_errors"]
    assert demo["cell"] is None and demo["code"].startswith("if check(")
    assert demo["error"].startswith("your function `relu_backward` did not return within 3 s")


def test_running_again_regrades_exactly_the_changed_submissions(klass, tmp_path):
    out, subs = klass["out"], klass["subs"]
    jane = subs / "Jane Doe_4242_assignsubmission_file_" / fx.NAME
    fx.write(fx.solved(klass["release"]), jane)  # she fixed sigmoid_backward and resubmitted
    kept = (out / "results" / "smithjohn.json").read_bytes()
    with open(tmp_path / "progress.txt", "w") as stream:
        result = run_batch([subs], release_dir=klass["release"], out=out, jobs=2,
                           cell_timeout=3, total_timeout=60, progress_stream=stream)
    assert (result.graded, result.skipped) == (1, len(CLASS) - 1)
    assert result.seed == SEED
    assert (out / "results" / "smithjohn.json").read_bytes() == kept
    rows = {(r["student"], r["notebook"]): r for r in _csv(out / "gradebook.csv")}
    assert rows[("Jane Doe", fx.NAME)]["total"] == "3"
    # --force regrades what is unchanged
    with open(tmp_path / "progress.txt", "w") as stream:
        result = run_batch([subs / "Jane Doe_4242_assignsubmission_file_"],
                           release_dir=klass["release"], out=out, cell_timeout=3,
                           total_timeout=60, force=True, progress_stream=stream)
    assert (result.graded, result.skipped) == (1, 0)


# --------------------------------------------------------------------------
# A kernel that ignores interrupts: the per-notebook limit kills it
# --------------------------------------------------------------------------

def _run_coroutine(make_coroutine):
    """asyncio.run in a thread of its own, as the batch grader does: the main
    thread may already run an event loop (Playwright's, in the browser tests)."""
    import asyncio
    import threading

    result = {}
    thread = threading.Thread(target=lambda: result.update(value=asyncio.run(make_coroutine())))
    thread.start()
    thread.join()
    return result["value"]


def test_the_notebook_time_limit_kills_a_kernel_that_ignores_interrupts():
    from time import monotonic

    from bplib.classroom.kernel import execute

    cells = [("student", "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                         "while True:\n    pass"), ("harness", "print('never')")]
    started = monotonic()
    result = _run_coroutine(lambda: execute(cells, cell_timeout=30, total_timeout=4))
    assert result.status == "timeout" and "whole notebook" in result.message
    assert [o.status for o in result.outcomes] == ["timeout", "not run"]
    assert monotonic() - started < 25


def test_a_grading_kernel_starts_without_debugpy_or_a_history_database():
    import sys

    from bplib.classroom.kernel import lean_command

    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    lean = lean_command(argv)
    assert lean[:2] == [sys.executable, "-c"] and "ipykernel_launcher" not in lean
    assert lean[3:] == ["-f", "{connection_file}", "--HistoryManager.enabled=False"]
    for other in ([sys.executable, "-m", "other_kernel", "-f", "x"], ["R", "--slave", "-f", "x"]):
        assert lean_command(other) == other  # only ipykernel's own command is changed


def test_a_lean_kernel_runs_cells_as_a_plain_one_does():
    from bplib.classroom.kernel import execute

    probe = ("import sys\nip = get_ipython()\n"
             "print(sys.modules.get('debugpy') is None, ip.history_manager.enabled,"
             " type(ip).__name__)")
    local = "open('mine.py', 'w').write('x = 41')\nimport mine\nprint(mine.x + 1)"
    result = _run_coroutine(lambda: execute(
        [("harness", probe), ("harness", local), ("student", "1 / 0")],
        cell_timeout=30, total_timeout=60))
    assert [o.stdout for o in result.outcomes[:2]] == ["True False ZMQInteractiveShell\n",
                                                     "42\n"]
    assert (result.outcomes[2].status, result.outcomes[2].ename) == ("error", "ZeroDivisionError")


def test_kernels_started_ahead_are_ready_used_once_and_shut_down(monkeypatch):
    import asyncio

    from jupyter_client.manager import KernelManager

    from bplib.classroom import kernel

    managers, clients = [], []
    made = kernel._kernel_manager
    monkeypatch.setattr(kernel, "_kernel_manager",
                        lambda *a: managers.append(made(*a)) or managers[-1])
    client = KernelManager.client
    monkeypatch.setattr(KernelManager, "client",
                        lambda self, **kw: clients.append(client(self, **kw)) or clients[-1])
    cells = [("harness", "print('shared' in globals())\nshared = 1")]

    async def batch():
        runs = [await kernel.execute(cells, cell_timeout=30, total_timeout=60, ahead=True)
                for _ in range(3)]
        await asyncio.sleep(0)
        return runs

    runs = _run_coroutine(batch)
    # a fresh kernel each time: nothing of the one before it
    assert [r.outcomes[0].stdout for r in runs] == ["False\n"] * 3
    # three kernels used and one launched ahead for a fourth; each has exactly one
    # client, made ready when it was launched (none made again when it was used)
    assert len(managers) == 4 and len(clients) == 4
    assert all(c.parent is m for c, m in zip(clients, managers))
    # when the batch's loop ended, every kernel was gone, the unused one too
    assert not any(m.has_kernel for m in managers)


# --------------------------------------------------------------------------
# The notebook that runs
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def release(tmp_path_factory):
    directory = fx.make_release(tmp_path_factory.mktemp("release"))
    return load_release(directory)


def _kinds(assembly):
    return [(c.kind, c.exercise_id or c.source.splitlines()[0][:24]) for c in assembly.cells]


def test_the_release_gives_checks_points_and_expressions(release):
    (released,) = release
    assert released.name == fx.NAME
    assert [(c.exercise_id, c.expression, c.points) for c in released.checks] == [
        (e, e, 1.0) for e in fx.EXERCISES]
    assert released.max_points == 3
    demo = next(i for i, c in enumerate(released.nb.cells) if c.source.startswith("if check("))
    assert demo not in released.check_cells  # it uses a check; it is not a check cell


def test_check_cells_are_the_instructors_and_student_code_keeps_its_place(release):
    (released,) = release
    nb = fx.solved(released.path.parent)
    fx.check_cell(nb, "relu_backward").source = "print('all checks passed')"
    extra = new_code_cell("helper = 1")
    nb.cells.insert(nb.cells.index(fx.cell_defining(nb, "tanh_backward")), extra)
    nb.cells.remove(fx.check_cell(nb, "tanh_backward"))
    harness, _ = harness_factory()
    assembly = assemble(released, nb, harness)
    kinds = _kinds(assembly)
    # the release locks every cell but the solutions (the set-up and the demo cell too);
    # its check cells are bare check(...) calls, so they are not run again after their harness
    assert [k for k, _ in kinds] == ["instructor", "student", "harness",
                                     "instructor", "student", "harness", "student",
                                     "student", "harness"]
    assert kinds[2] == ("harness", "relu_backward")
    assert kinds[6] == ("student", "helper = 1")
    assert len(assembly.edited_locked) == 1 and len(assembly.deleted_locked) == 1
    assert "run_trials('relu_backward', fn)" in assembly.cells[2].source


@pytest.mark.parametrize("source, replayed", [
    ('check("relu_backward", relu_backward)', False),
    ('check("relu_backward", relu_backward)\ncheck("relu_backward", relu_backward)', False),
    ('result = check("relu_backward", relu_backward)', True),   # binds a name
    ('check("relu_backward", relu_backward)\nprint("done")', True),
    ('check("relu_backward", relu_backward).passed', True),
    ('print(check("relu_backward", relu_backward))', True),
])
def test_a_check_cell_runs_again_after_its_harness_only_when_it_does_more_than_check(
        release, source, replayed):
    (released,) = release
    cell = fx.check_cell(released.nb, "relu_backward")
    kept = cell.source
    cell.source = source
    try:
        assembly = assemble(released, fx.solved(released.path.parent), harness_factory()[0])
    finally:
        cell.source = kept
    kinds = [c.kind for c in assembly.cells]
    at = kinds.index("harness")
    assert (kinds[at + 1] == "replay") is replayed
    if replayed:
        assert assembly.cells[at + 1].source == source


def test_cells_match_by_grade_id_when_ids_changed_and_missing_cells_are_restored(release):
    (released,) = release
    nb = fx.solved(released.path.parent)
    for k, cell in enumerate(nb.cells):
        cell["id"] = f"new{k}"
    relu = fx.cell_defining(nb, "relu_backward")
    nb.cells.remove(relu)           # the student deleted the cell ...
    nb.cells.insert(0, relu)        # ... and wrote the function at the top instead
    relu.metadata = {}
    nb.cells.remove(fx.cell_defining(nb, "sigmoid_backward"))
    extra = new_code_cell("def tanh_backward(z, dout):\n    return dout * (1 - np.tanh(z)**2)")
    at = nb.cells.index(fx.cell_defining(nb, "tanh_backward"))
    nb.cells[at] = extra  # a new cell in place of the solution cell
    assembly = assemble(released, nb, harness_factory()[0])
    sources = [c.source for c in assembly.cells]
    restored = [released.nb.cells[r].source for r in assembly.restored]
    # sigmoid's stub is back; relu's and tanh's are not: the student wrote them elsewhere
    assert len(restored) == 1 and "def sigmoid_backward" in restored[0]
    assert len(assembly.replaced) == 2
    assert sources[0] == relu.source and extra.source in sources
    assert not any("NotImplementedError" in s and "relu" in s for s in sources)
    assert [c.kind for c in assembly.cells].count("harness") == 3
    assert match_release("renamed.ipynb", nb, release) is released


def test_submissions_are_found_by_student(tmp_path, release):
    (tmp_path / "class" / "alice").mkdir(parents=True)
    (tmp_path / "class" / "alice" / fx.NAME).write_text("{}")
    (tmp_path / "class" / "bob.ipynb").write_text("{}")
    (tmp_path / "class" / "carol").mkdir()
    (tmp_path / "class" / "notes.txt").write_text("")
    (tmp_path / "dave").mkdir()
    (tmp_path / "dave" / fx.NAME).write_text("{}")
    found = {s.student: ([p.name for p in s.notebooks], s.problems)
             for s in discover([tmp_path / "class", tmp_path / "dave" / fx.NAME,
                                tmp_path / "missing.ipynb"], release)}
    assert found["alice"] == ([fx.NAME], [])
    assert found["bob"] == (["bob.ipynb"], [])
    assert found["carol"][0] == [] and "no notebook" in found["carol"][1][0][1]
    assert found["dave"] == ([fx.NAME], [])
    assert found["missing"] == (["missing.ipynb"], [])
    (only,) = discover([tmp_path / "class"], release, student="submission")
    assert only.student == "submission" and len(only.notebooks) == 2


def test_download_names_and_junk(tmp_path, release):
    folder = tmp_path / "downloads"
    for name in [f"smithjohn_12345_6789001_{fx.NAME}", f"doejane_late_1_2_{fx.NAME}",
                 "ada_lovelace_1.ipynb", f"._{fx.NAME}", "x-checkpoint.ipynb",
                 f"Grace Hopper_77_assignsubmission_file_/{fx.NAME}",
                 f"Grace Hopper_77_assignsubmission_file_/._{fx.NAME}",
                 f"__MACOSX/Grace Hopper_77_assignsubmission_file_/._{fx.NAME}",
                 f"alan/.ipynb_checkpoints/{fx.NAME}", f"alan/{fx.NAME}"]:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("{}")
    found = {s.student: sorted(p.name for p in s.notebooks) for s in discover([folder], release)}
    assert found == {"smithjohn": [f"smithjohn_12345_6789001_{fx.NAME}"],
                     "doejane": [f"doejane_late_1_2_{fx.NAME}"],
                     "ada_lovelace_1": ["ada_lovelace_1.ipynb"],  # not Canvas's pattern
                     "Grace Hopper": [fx.NAME], "alan": [fx.NAME]}
    (only,) = discover([folder / f"doejane_late_1_2_{fx.NAME}", folder / f"._{fx.NAME}"],
                       release)
    assert only.student == "doejane"


@pytest.mark.parametrize("content, reason", [
    (b"", "the file is empty"), (b"   \n", "the file is empty"),
    (b"\xff\xfe\x00", "not UTF-8"), (b"[1, 2]", "no list of cells"),
    (b'{"cells": 3}', "no list of cells"), (b'{"cells": [', "invalid JSON"),
    (b'{"cells": [{"cell_type": "code"}], "nbformat": 4, "nbformat_minor": 5, '
     b'"metadata": {}}', "not a valid notebook")])
def test_unreadable_files_say_why(tmp_path, content, reason):
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    with pytest.raises(Unreadable, match=reason):
        read_notebook(path)


def test_the_nonce_and_markers_differ_for_every_submission():
    first, second = harness_factory(), harness_factory()
    assert first[1].pattern != second[1].pattern


# --------------------------------------------------------------------------
# The static scan for reference implementations
# --------------------------------------------------------------------------

_SETUP = "import numpy as np\nfrom bplib.grading import check\nfrom bplib import functional as F"
_OWN = "def relu_backward(z, dout):\n    return dout * (z > 0)\n"

SCAN_CASES = {
    "own code": (_OWN, set()),
    "forward functions are allowed": (
        "def relu_backward(z, dout):\n    p = F.softmax(z) + F.relu(z)\n"
        "    return dout * (z > 0)\n", set()),
    "reference()": ("from bplib.grading import reference\n"
                    "relu_backward = reference('relu_backward')\n", {"relu_backward"}),
    "functional backward": ("def relu_backward(z, dout):\n    return F.relu_backward(z, dout)\n",
                            {"relu_backward"}),
    "import as, then an alias": ("import bplib.functional as G\nr = G.relu_backward\n"
                                 "def relu_backward(z, dout):\n    return r(z, dout)\n",
                                 {"relu_backward"}),
    "through a helper": ("def helper(z, d):\n    return F.relu_backward(z, d)\n\n"
                         "def relu_backward(z, dout):\n    return helper(z, dout)\n",
                         {"relu_backward"}),
    "getattr with a string": ("g = getattr(F, 'relu_backward')\n" + _OWN.replace(
        "dout * (z > 0)", "g(z, dout)"), {"relu_backward"}),
    "getattr with a computed name": (
        "def relu_backward(z, dout):\n    return getattr(F, 'relu_' + 'backward')(z, dout)\n",
        {"relu_backward", "tanh_backward"}),
    "vars()": ("def relu_backward(z, dout):\n    return vars(F)['relu_backward'](z, dout)\n",
               {"relu_backward"}),
    "sys.modules": ("import sys\ndef relu_backward(z, dout):\n"
                    "    return sys.modules['bplib.functional'].relu_backward(z, dout)\n",
                    {"relu_backward"}),
    "__import__": ("def relu_backward(z, dout):\n    return __import__('bplib.functional')"
                   ".functional.relu_backward(z, dout)\n", {"relu_backward"}),
    "exec of a string": ("exec('from bplib.functional import relu_backward')\n",
                         {"relu_backward"}),
    "star import after the def": (_OWN + "from bplib.functional import *\n",
                                  {"relu_backward", "tanh_backward"}),
    "bplib.nn layer": ("import bplib.nn as nn\ndef relu_backward(z, dout):\n"
                       "    return nn.ReLU().backward(z, dout)[0]\n", {"relu_backward"}),
    "EXERCISES[...].reference": ("from bplib.grading import EXERCISES\n"
                                 "relu_backward = EXERCISES['relu_backward'].reference\n",
                                 {"relu_backward"}),
    "numerical gradient": ("from bplib.gradcheck import numerical_gradient\n"
                           "def relu_backward(z, dout):\n    return numerical_gradient("
                           "lambda x: np.sum(np.maximum(x, 0) * dout), z)\n",
                           {"relu_backward"}),
    "a private numerical-gradient helper": (
        "import bplib.gradcheck as gc\n"
        "def relu_backward(z, dout):\n    return gc._central_differences("
        "lambda x: np.sum(np.maximum(x, 0) * dout), z, 1e-5, range(z.size))\n",
        {"relu_backward"}),
    "a numerical-gradient helper of an exercise module": (
        "from bplib.grading.exercises.common import numerical_backward\n"
        "def relu_backward(z, dout):\n"
        "    return numerical_backward(lambda z: np.maximum(z, 0), 1, (z, dout))\n",
        {"relu_backward"}),
    "calling the reference to compare": (
        _OWN + "print(F.relu_backward(np.ones(2), np.ones(2)))\n", {"relu_backward"}),
    "wording an error with describe_error is fine": (
        "from bplib.gradcheck import describe_error\n" + _OWN
        + "print(describe_error(1e-12, 1e-8))\n", set()),
    "magics are fine": ("%timeit 1\n" + _OWN, set()),
    "a local variable named F": ("def relu_backward(z, dout):\n    F = 1.0\n"
                                 "    return F * dout * (z > 0)\n", set()),
    "unused import of bplib.nn": ("import bplib.nn\n" + _OWN, set()),
}


@pytest.mark.parametrize("case", SCAN_CASES, ids=list(SCAN_CASES))
def test_the_scan_finds_uses_of_the_reference(case):
    code, zeroed = SCAN_CASES[case]
    tanh_stub = "def tanh_backward(z, dout):\n    raise NotImplementedError()"
    cells = [(_SETUP, False), (tanh_stub, False), (code, True),
             ("check('relu_backward', relu_backward)", False)]
    result = scan(cells, [("relu_backward", "relu_backward", 3),
                          ("tanh_backward", "tanh_backward", 3)])
    assert set(result.zeroed) == zeroed
    if case == "unused import of bplib.nn":
        assert result.flags() == ["imports-reference:bplib.nn"]
    elif not zeroed:
        assert result.flags() == [], case


def test_the_instructors_own_uses_are_not_the_students():
    cells = [(_SETUP + "\nfrom bplib.gradcheck import numerical_gradient", False), (_OWN, True),
             ("print(F.relu_backward(np.ones(2), np.ones(2)))", False)]
    result = scan(cells, [("relu_backward", "relu_backward", 2)])
    assert result.zeroed == {} and result.notes == []
    # what the released notebook imports for the students is no note either
    student_setup = [(cells[0][0], True), (_OWN, True)]
    sanctioned = {"bplib.gradcheck.numerical_gradient"}
    assert scan(student_setup, [("relu_backward", "relu_backward", 2)], sanctioned).notes == []


def test_unparsable_cells_are_reported():
    result = scan([("def relu_backward(z, dout)\n    return z", True)], [])
    assert result.unparsable == [0]


def test_the_real_exercises_can_be_graded_when_they_exist():
    """Every committed exercise notebook's checks name known exercises."""
    root = Path(__file__).resolve().parent.parent / "exercises"
    for released in load_release(root):
        assert released.checks, released.name
        nb = nbformat.read(released.path, as_version=4)
        assert match_release(released.name, nb, [released]) is released


def test_a_failure_of_the_grader_itself_is_a_row_not_a_crash(release, tmp_path, monkeypatch):
    from bplib.classroom import submission

    (released,) = release
    path = fx.write(fx.solved(released.path.parent), tmp_path / "x.ipynb")

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(submission.scan, "scan", broken)
    record = _run_coroutine(lambda: submission.grade_notebook(
        path, "x", release, seed=1, cell_timeout=5, total_timeout=10))
    assert record.status == "grader-error" and "a bug" in record.message
    assert "RuntimeError: a bug" in record.traceback


def test_an_answer_that_is_not_a_function_scores_0_and_is_told_so(release, tmp_path):
    from bplib.classroom import submission

    (released,) = release
    nb = fx.solved(released.path.parent)
    fx.cell_defining(nb, "relu_backward").source = "relu_backward = 3"
    path = fx.write(nb, tmp_path / "x.ipynb")
    record = _run_coroutine(lambda: submission.grade_notebook(
        path, "x", release, seed=1, cell_timeout=20, total_timeout=60))
    relu = next(e for e in record.exercises if e.exercise == "relu_backward")
    assert (relu.status, relu.points) == ("failed", 0.0)
    assert "raised NotCallable: got int" in relu.feedback
    assert all(e.status == "passed" for e in record.exercises if e is not relu)
