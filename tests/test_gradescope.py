"""`bplib gradescope`: the autograder zip, run as Gradescope runs it.

The zip is built from the tiny release of classroom_fixtures.py, unpacked into
a temporary autograder root (``source/`` and ``run_autograder``, as Gradescope
lays it out), and ``run_autograder`` is run on several uploads with this
virtualenv's Python standing in for the one setup.sh installs. The wheel in the
zip is installed on its own, offline, to show that setup.sh can install it.
"""

import io
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

import classroom_fixtures as fx
from bplib.__main__ import main

STEM = Path(fx.NAME).stem

# Gradescope's results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/)
NUMBER = (int, float)
TOP_LEVEL = {"score": NUMBER, "execution_time": NUMBER, "output": str, "output_format": str,
             "test_output_format": str, "test_name_format": str, "visibility": str,
             "stdout_visibility": str, "extra_data": dict, "tests": list, "leaderboard": list}
PER_TEST = {"score": NUMBER, "max_score": NUMBER, "status": str, "name": str,
            "name_format": str, "number": str, "output": str, "output_format": str,
            "tags": list, "visibility": str, "extra_data": dict}
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}


def validate_results(text):
    """Gradescope's format, strictly: known keys of the right types, valid values."""
    def no_nan(value):
        raise AssertionError(f"{value} is not JSON")

    data = json.loads(text, parse_constant=no_nan)
    assert isinstance(data, dict) and set(data) <= set(TOP_LEVEL), set(data) - set(TOP_LEVEL)
    for key, value in data.items():
        assert isinstance(value, TOP_LEVEL[key]) and not isinstance(value, bool), key
    assert "score" in data or all("score" in t for t in data["tests"])
    assert data.get("visibility", "visible") in VISIBILITIES
    assert data.get("output_format", "text") in FORMATS
    for test in data.get("tests", []):
        assert set(test) <= set(PER_TEST), set(test) - set(PER_TEST)
        for key, value in test.items():
            assert isinstance(value, PER_TEST[key]) and not isinstance(value, bool), key
        assert {"name", "score", "max_score", "output", "status"} <= set(test)
        assert test["status"] in ("passed", "failed")
        assert 0 <= test["score"] <= test["max_score"]
        assert test.get("visibility", "visible") in VISIBILITIES
    if data.get("tests"):
        assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
    return data


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("gradescope")
    release = fx.make_release(root)
    out = root / "autograder.zip"
    assert main(["gradescope", str(release), "--out", str(out), "--timeout", "10"]) == 0
    return {"release": release, "zip": out, "root": root}


def run_autograder(built, tmp_path, files):
    """Unpack the zip as Gradescope does, upload ``files`` ({relative path: bytes}),
    run run_autograder; returns results.json's text."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(built["zip"]) as z:
        z.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    for name, data in files.items():
        path = root / "submission" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "submission").mkdir(exist_ok=True)
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), BPLIB_PYTHON=sys.executable)
    done = subprocess.run([str(root / "run_autograder")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return (root / "results" / "results.json").read_text()


def notebook_bytes(nb):
    return nbformat.writes(nb).encode()


def test_the_zip_has_setup_and_run_autograder_at_its_top_level(built):
    with zipfile.ZipFile(built["zip"]) as z:
        names = set(z.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
        setup = z.read("setup.sh").decode()
        run = z.read("run_autograder").decode()
        settings = json.loads(z.read("settings.json"))
        requirements = z.read("requirements.txt").decode().split()
    (wheel,) = [n for n in names if n.endswith(".whl")]
    assert {"setup.sh", "run_autograder", "requirements.txt", "settings.json", wheel,
            f"release/{fx.NAME}"} == names
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    assert setup.startswith("#!/usr/bin/env bash") and run.startswith("#!/usr/bin/env bash")
    # bplib from the zip itself, never from the network; its dependencies from PyPI
    assert f"pip\" install --no-index --no-deps ./{wheel}" in setup
    assert "pip\" install -r requirements.txt" in setup
    assert "ipykernel install --sys-prefix --name python3" in setup
    assert {r.split(">=")[0] for r in requirements} >= {"numpy", "nbclient", "ipykernel"}
    assert "AUTOGRADER_ROOT:-/autograder" in run and "results/results.json" in run
    # a secret seed drawn when the zip was made, the time limits given
    assert isinstance(settings["seed"], int) and settings["timeout"] == 10
    assert settings["release"] == [fx.NAME]


def test_the_zip_holds_an_installable_bplib(built, tmp_path):
    with zipfile.ZipFile(built["zip"]) as z:
        (wheel,) = [n for n in z.namelist() if n.endswith(".whl")]
        z.extract(wheel, tmp_path)
    target = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-deps",
                           "--disable-pip-version-check", "--target", str(target),
                           str(tmp_path / wheel)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    probe = ("import bplib, bplib.classroom.gradescope, bplib.grading;"
             "print(bplib.__file__, bplib.__version__)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(target)),
                          timeout=120)
    assert done.returncode == 0, done.stderr
    import bplib
    assert done.stdout.split() == [str(target / "bplib" / "__init__.py"), bplib.__version__]
    assert (target / "bin" / "bplib").exists()  # the entry point


def test_a_correct_submission_scores_full_points(built, tmp_path):
    data = validate_results(run_autograder(built, tmp_path, {
        fx.NAME: notebook_bytes(fx.solved(built["release"]))}))
    assert data["score"] == 3
    assert [(t["name"], t["score"], t["status"]) for t in data["tests"]] == [
        (f"{STEM}: {e}", 1, "passed") for e in fx.EXERCISES]
    assert data["output"].startswith(f"{fx.NAME}: 3 / 3 points")
    assert isinstance(data["execution_time"], int)
    assert data["extra_data"]["bplib"]["sandbox"]["kind"] in ("bwrap", "none")  # auto


def test_a_blank_submission_scores_zero(built, tmp_path):
    blank = (built["release"] / fx.NAME).read_bytes()
    data = validate_results(run_autograder(built, tmp_path, {fx.NAME: blank}))
    assert data["score"] == 0 and len(data["tests"]) == 3
    assert all(t["status"] == "failed" and "not attempted" in t["output"]
               for t in data["tests"])


def test_a_duplicate_upload_is_graded_once(built, tmp_path):
    blank = (built["release"] / fx.NAME).read_bytes()
    data = validate_results(run_autograder(built, tmp_path, {
        fx.NAME: notebook_bytes(fx.solved(built["release"])),
        "06_activations-Copy1.ipynb": blank}))
    assert data["score"] == 3 and len(data["tests"]) == 3  # not 6 of 3
    assert "not 06_activations-Copy1.ipynb" in data["output"]
    (record,) = data["extra_data"]["bplib"]["records"]
    assert record["flags"] == ["duplicate:06_activations-Copy1.ipynb"]


def test_a_zip_made_on_macos_is_graded_without_its_junk(built, tmp_path):
    data = validate_results(run_autograder(built, tmp_path, {
        f"homework/{fx.NAME}": notebook_bytes(
            fx.solved(built["release"], wrong=("relu_backward",))),
        f"__MACOSX/homework/._{fx.NAME}": b"\x00\x05\x16\x07Mac OS X        ",
        f"homework/._{fx.NAME}": b"\x00\x05\x16\x07Mac OS X        ",
        "homework/.ipynb_checkpoints/06_activations-checkpoint.ipynb": b"{}"}))
    assert data["score"] == 2
    assert [t["status"] for t in data["tests"]] == ["failed", "passed", "passed"]
    assert "invalid" not in data["output"]


def test_nothing_uploaded_is_a_zero_with_a_reason(built, tmp_path):
    data = validate_results(run_autograder(built, tmp_path, {}))
    assert data["score"] == 0 and len(data["tests"]) == 3
    assert "missing: not submitted" in data["output"]


def test_run_autograder_always_leaves_a_results_file(built, tmp_path):
    root = tmp_path / "autograder"
    with zipfile.ZipFile(built["zip"]) as z:
        z.extractall(root / "source")
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), BPLIB_PYTHON="false")  # no Python
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    data = validate_results((root / "results" / "results.json").read_text())
    assert data["score"] == 0 and "could not run" in data["output"]
    # Python runs, but the zip lost its settings: the reason is in the output
    (root / "source" / "settings.json").unlink()
    from bplib.classroom.gradescope import run_autograder as run
    data = validate_results(json.dumps(run(root)))
    assert data["score"] == 0 and "FileNotFoundError" in data["output"]


def test_a_missing_release_is_a_usage_error(tmp_path, capsys):
    assert main(["gradescope", str(tmp_path), "--out", str(tmp_path / "a.zip")]) == 2
    assert "no released exercise notebook" in capsys.readouterr().err
    assert not (tmp_path / "a.zip").exists()


def test_the_wheel_never_carries_the_course_solutions(tmp_path, monkeypatch):
    # A bplib installed from a wheel holds the course, solutions included, in bplib/course/.
    # The autograder's wheel runs next to students' code, so it must leave that folder out.
    import bplib
    from bplib.classroom import gradescope

    package = tmp_path / "bplib"
    shutil.copytree(Path(bplib.__file__).parent, package,
                    ignore=shutil.ignore_patterns("__pycache__", "course"))
    (package / "course" / "solutions").mkdir(parents=True)
    (package / "course" / "solutions" / "06_activations.ipynb").write_text("the answers")
    monkeypatch.setattr(bplib, "__file__", str(package / "__init__.py"))

    name, data = gradescope.bplib_wheel()
    with zipfile.ZipFile(io.BytesIO(data)) as wheel:
        names = wheel.namelist()
    assert "bplib/grading/__init__.py" in names
    assert not [n for n in names if n.startswith("bplib/course/")]
