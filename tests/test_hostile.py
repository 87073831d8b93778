"""Hostile submissions graded by `bplib grade --sandbox bwrap --memory 1G`.

One batch holds an honest submission and one submission per attack (see
hostile_fixtures.py): reaching the reference by names built at run time, by
eval, through sys.modules, or by patching the grader's trial runner from a
cell of its own; talking to a listener on the host's loopback; reading
another student's files and --out; writing into another student's folder
and into the release; allocating 8 GiB; starting 300 processes. The test
looks from outside at what each gained and what it left behind.
"""

import csv
import json
import os
import secrets
import socket
import threading
from pathlib import Path

import pytest

import classroom_fixtures as fx
import hostile_fixtures as hx
from bplib.__main__ import main
from bplib.classroom import sandbox as sb

SEED = 734512918


class Listener:
    """A TCP listener on the host's loopback that records whatever reaches it."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(8)
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.received, self.connections = [], 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.socket.accept()
            except OSError:
                continue
            self.connections += 1
            with conn:
                conn.settimeout(1)
                try:
                    self.received.append(conn.recv(1000))
                except OSError:
                    pass

    def close(self):
        self.running = False
        self.thread.join()
        self.socket.close()


def _tree(folder):
    return {p: p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def _sleepers():
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                args = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if args[:2] == [b"sleep", str(hx.SLEEP_SECONDS).encode()]:
                found.append(int(entry.name))
    return found


def _cgroups():
    """This process's cages' cgroups (other graders may run on the machine)."""
    return sorted(str(p) for root in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory",
                                      "/sys/fs/cgroup")
                  for p in Path(root).rglob(f"bplib-{os.getpid()}-*") if p.is_dir())


def _cages():
    import tempfile
    return sorted(Path(tempfile.gettempdir()).glob(f"bplib-cage-{os.getpid()}-*"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if not sb.bwrap_works():
        pytest.skip("bubblewrap (bwrap) unavailable")
    root = tmp_path_factory.mktemp("hostile")
    release = fx.make_release(root)
    token = secrets.token_hex(8)
    other = root / "class" / "zed_other"       # another student's folder
    other.mkdir(parents=True)
    fx.write(fx.solved(release), other / fx.NAME)
    other_secret = other / "secret.txt"
    other_secret.write_text(f"OTHER-SECRET-{token}")
    out = root / "grades"
    out.mkdir()
    out_secret = out / "planted.txt"
    out_secret.write_text(f"OUT-SECRET-{token}")
    listener = Listener()
    cages_before, cgroups_before = _cages(), _cgroups()
    try:
        expected = hx.make(release, root / "class", port=listener.port,
                           other_secret=other_secret, out_secret=out_secret,
                           other_folder=other, release=release, seed_text=str(SEED))
        release_before, other_before = _tree(release), _tree(other)
        status = main(["grade", str(root / "class"), "--release", str(release),
                       "--out", str(out), "--jobs", "2", "--timeout", "20", "--seed", str(SEED),
                       "--sandbox", "bwrap", "--memory", "1G"])
    finally:
        listener.close()
    with open(out / "gradebook.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    results = json.loads((out / "results.json").read_text())
    return {"root": root, "out": out, "status": status, "rows": rows, "expected": expected,
            "results": {r["student"]: r for r in results["submissions"]},
            "sandbox": results.get("sandbox"), "token": token, "listener": listener,
            "release": release, "other": other, "release_before": release_before,
            "other_before": other_before, "cages_before": cages_before,
            "cgroups_before": cgroups_before}


STUDENTS = ["honest", "import_pieces", "eval_pieces", "vars_sys_modules", "patcher", "network",
            "reader", "writer", "seed_hunter", "memory_hog", "forker"]


@pytest.mark.parametrize("student", STUDENTS)
def test_points_flags_and_status(graded, student):
    row, expected = graded["rows"][student], graded["expected"][student]
    if expected["status"]:
        assert row["status"] == expected["status"], row["message"]
    for exercise, points in expected["points"].items():
        assert float(row[exercise]) == points, (exercise, row)
    flags = set(filter(None, row["flags"].split(";")))
    assert expected["flags"] <= flags, flags
    if not expected["flags"]:
        assert not any(f.startswith("uses-reference") for f in flags), flags


def test_the_batch_ran_in_bwrap_with_the_memory_asked_for(graded):
    assert graded["sandbox"]["kind"] == "bwrap" and graded["sandbox"]["memory"] == 2**30
    assert graded["rows"]["zed_other"]["total"] == "3"


def test_the_reference_routes_are_explained_to_the_student(graded):
    exercises = {e["exercise"]: e for e in graded["results"]["import_pieces"]["exercises"]}
    entry = exercises["relu_backward"]
    assert entry["status"] == "uses-reference" and entry["points"] == 0
    assert "bplib.grading.reference" in entry["feedback"]
    patched = {e["exercise"]: e for e in graded["results"]["patcher"]["exercises"]}
    assert patched["relu_backward"]["status"] == "uses-reference"
    assert "passes in your notebook" in patched["relu_backward"]["feedback"]


def test_the_loopback_listener_receives_nothing(graded):
    assert graded["listener"].connections == 0 and graded["listener"].received == []


def test_planted_secrets_appear_nowhere_in_the_outputs(graded):
    token = graded["token"]
    for path, data in _tree(graded["out"]).items():
        if path.name == "planted.txt":
            continue
        assert token.encode() not in data, path


def test_the_seed_is_nowhere_the_students_code_runs(graded):
    record = graded["results"]["seed_hunter"]
    assert "FOUND-THE-SEED" not in json.dumps(record)
    assert record["total"] == 3  # the clean run did not find it either
    assert graded["results"]["honest"]["seed"] == SEED


def test_nothing_is_written_into_another_folder_or_the_release(graded):
    assert _tree(graded["release"]) == graded["release_before"]
    assert _tree(graded["other"]) == graded["other_before"]


def test_the_memory_hog_gets_a_clear_message_and_the_others_are_graded(graded):
    record = graded["results"]["memory_hog"]
    said = json.dumps(record["cell_errors"]) + record["message"]
    assert "MemoryError" in said or "memory" in record["message"]
    assert all(graded["rows"][s]["status"] == "graded" for s in STUDENTS
               if s != "memory_hog")


def test_processes_are_limited_and_none_is_left(graded):
    assert not _sleepers()
    assert _cgroups() == graded["cgroups_before"]
    assert _cages() == graded["cages_before"]


def test_every_submission_but_the_memory_hog_was_graded(graded):
    failed = [s for s, r in graded["rows"].items() if r["status"] != "graded"]
    assert set(failed) <= {"memory_hog"}
    assert graded["status"] == (1 if failed else 0)


def test_without_bwrap_the_clean_run_still_keeps_the_reference_out(tmp_path):
    """--sandbox none: no walls, but the scores still come from the clean run."""
    from bplib.classroom import sandbox as sandboxes

    release = fx.make_release(tmp_path / "course")
    listener = Listener()
    try:
        expected = hx.make(release, tmp_path / "class", port=listener.port,
                           other_secret=tmp_path / "x", out_secret=tmp_path / "y",
                           other_folder=tmp_path / "z", release=release, seed_text="1")
    finally:
        listener.close()
    kept = ["honest", "import_pieces", "vars_sys_modules", "patcher"]
    for path in (tmp_path / "class").glob("*.ipynb"):
        if path.stem not in kept:
            path.unlink()
    out = tmp_path / "grades"
    with sandboxes.using(sandboxes.choose("none")):
        main(["grade", str(tmp_path / "class"), "--release", str(release), "--out", str(out),
              "--jobs", "2", "--timeout", "20", "--sandbox", "none"])
    with open(out / "gradebook.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    for student in kept:
        for exercise, points in expected[student]["points"].items():
            assert float(rows[student][exercise]) == points, (student, exercise)
        assert expected[student]["flags"] <= set(rows[student]["flags"].split(";")) - {""}
