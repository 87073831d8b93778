"""A batch: find the submissions, grade them N at a time, write as they finish.

Submissions are graded by student (one student's notebooks one after the
other), ``jobs`` students at a time, each notebook in its own kernel, all
driven by one asyncio event loop in a background thread. Each student's
results are written the moment they are graded, and a student whose results
file already exists is skipped (unless ``force``), so an interrupted batch
resumes where it stopped, with the seed it started with.
"""

import asyncio
import json
import secrets
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic

from bplib.classroom import report
from bplib.classroom.assemble import load_release
from bplib.classroom.submission import GRADED, INVALID, grade_notebook


class BatchError(Exception):
    """A problem with the command's arguments (no release, no submissions)."""


@dataclass
class Student:
    student: str
    notebooks: list = field(default_factory=list)  # paths
    problems: list = field(default_factory=list)   # (path, message): folders without notebooks


def _notebooks_in(folder):
    return sorted(p for p in Path(folder).rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts and p.is_file())


def discover(paths, release, student=None):
    """The students of the SUBMISSION arguments, in order.

    A notebook is one student's: the file stem is the student id, unless the
    file has a released notebook's name, when its folder's name is. A folder
    holds a student's notebooks (those with released names: the folder's
    name is the student id), students' notebooks (other names: one student
    each) and students' folders (the subfolder's name is the student id).
    With ``student``, every argument is that student's.
    """
    released_names = {r.name for r in release}
    students = {}

    def add(sid, path=None, problem=None):
        entry = students.setdefault(sid, Student(sid))
        if problem:
            entry.problems.append((path, problem))
        elif path not in entry.notebooks:
            entry.notebooks.append(path)

    for arg in paths:
        path = Path(arg)
        if student is not None:
            if path.is_dir():
                found = _notebooks_in(path)
                for nb in found:
                    add(student, nb)
                if not found:
                    add(student, path, "no notebook (.ipynb) in this folder")
            else:
                add(student, path)
        elif path.is_dir():
            folder_id = path.resolve().name
            for child in sorted(path.iterdir()):
                if child.name.startswith(".") or child.name == "__pycache__":
                    continue
                if child.is_dir():
                    found = _notebooks_in(child)
                    for nb in found:
                        add(child.name, nb)
                    if not found:
                        add(child.name, child, "no notebook (.ipynb) in this folder")
                elif child.suffix == ".ipynb":
                    add(folder_id if child.name in released_names else child.stem, child)
        elif path.name in released_names:
            add(path.resolve().parent.name, path)
        else:
            add(path.stem, path)  # even if it does not exist: it gets its row
    return list(students.values())


@dataclass
class BatchResult:
    records: list          # every record now in the output folder
    this_run: list         # the records of the students named on the command line
    graded: int = 0        # students graded now
    skipped: int = 0       # students skipped (already graded)
    seed: int = None
    seconds: float = 0.0

    @property
    def exit_status(self):
        return 0 if all(r["status"] == GRADED for r in self.this_run) else 1


class Progress:
    """A line on stderr: submissions done, time running, failures."""

    def __init__(self, total, stream=None):
        self.total, self.done, self.failed = total, 0, 0
        self.stream = stream or sys.stderr
        self.started = monotonic()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, records=(), skipped=False):
        self.done += 1
        self.failed += sum(r["status"] != GRADED for r in records)
        seconds = int(monotonic() - self.started)
        line = (f"bplib grade: {self.done}/{self.total} submissions done, "
                f"{seconds // 60}:{seconds % 60:02d} elapsed, {self.failed} could not be graded")
        if skipped:
            line += " (already graded)"
        self.stream.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
        self.stream.flush()

    def finish(self):
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _invalid_folder(student, path, message):
    return {"student": student, "notebook": Path(path).name, "submission": str(path),
            "status": INVALID, "message": message, "flags": [], "exercises": [],
            "total": 0.0, "max": 0.0, "cell_errors": [], "notes": [], "timing": {}}


def run_batch(paths, *, release_dir="exercises", out="grades", jobs=2, cell_timeout=60,
              total_timeout=600, seed=None, force=False, student=None, kernel_name="python3",
              progress_stream=None):
    """Grade submissions; returns a BatchResult. Raises BatchError for bad arguments."""
    started = monotonic()
    release = load_release(release_dir)
    if not release:
        raise BatchError(f"no released exercise notebook with checks in {release_dir}/")
    students = discover(paths, release, student)
    if not students:
        raise BatchError("no submissions found")
    out = Path(out)
    (out / "results").mkdir(parents=True, exist_ok=True)

    existing = {}
    for path in sorted((out / "results").glob("*.json")):
        found = report.read_student(path)
        if found:
            existing[report.safe_name(found[0])] = found
    if seed is None:
        seed = _previous_seed(out, existing) if not force else None
    if seed is None:
        seed = secrets.randbelow(2**32)

    todo, results = [], {name: records for name, (_, records, _) in existing.items()}
    progress = Progress(len(students), progress_stream)
    skipped = 0
    for entry in students:
        if not force and report.safe_name(entry.student) in existing:
            skipped += 1
            progress.update(existing[report.safe_name(entry.student)][1], skipped=True)
        else:
            todo.append(entry)

    state = {"last_write": 0.0}

    def write_all(final=False):
        if final or monotonic() - state["last_write"] > 2.0:
            all_records = [r for records in results.values() for r in records]
            report.write_batch(out, all_records, release, seed, release_dir)
            state["last_write"] = monotonic()

    async def grade_student(entry, semaphore, sanctioned):
        async with semaphore:
            records = [_invalid_folder(entry.student, path, message)
                       for path, message in entry.problems]
            for path in entry.notebooks:
                records.append(await grade_notebook(
                    path, entry.student, release, seed=seed, cell_timeout=cell_timeout,
                    total_timeout=total_timeout, kernel_name=kernel_name,
                    sanctioned_cache=sanctioned))
            for record in records:
                record["seed"] = seed
            report.write_student(out, entry.student, records, seed)
            results[report.safe_name(entry.student)] = records
            progress.update(records)
            write_all()

    async def main():
        semaphore, sanctioned = asyncio.Semaphore(max(1, jobs)), {}
        await asyncio.gather(*(grade_student(e, semaphore, sanctioned) for e in todo))

    try:
        _run_in_thread(main)
    finally:
        write_all(final=True)
        progress.finish()
    named = {report.safe_name(e.student) for e in students}
    this_run = [r for name in named for r in results.get(name, [])]
    return BatchResult(records=[r for rs in results.values() for r in rs], this_run=this_run,
                       graded=len(todo), skipped=skipped, seed=seed,
                       seconds=monotonic() - started)


def _previous_seed(out, existing):
    try:
        return json.loads((out / "results.json").read_text())["seed"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    seeds = {seed for _, _, seed in existing.values() if seed is not None}
    return seeds.pop() if len(seeds) == 1 else None


def _run_in_thread(make_coroutine):
    """Run a coroutine in its own thread's event loop; Ctrl-C cancels it cleanly.

    (nbclient installs signal handlers when it runs in the main thread; in a
    thread it does not, so the kernels are stopped by our cancellation.)
    """
    holder, errors = {}, []

    def target():
        async def wrapper():
            holder["loop"] = asyncio.get_running_loop()
            holder["task"] = asyncio.current_task()
            await make_coroutine()
        try:
            asyncio.run(wrapper())
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target, name="bplib-grade", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.2)
    except KeyboardInterrupt:
        if "loop" in holder:
            holder["loop"].call_soon_threadsafe(holder["task"].cancel)
        thread.join(30)
        raise
    if errors:
        raise errors[0]
