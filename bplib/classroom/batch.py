"""A batch: find the submissions, grade them N at a time, write as they finish.

Submissions are graded by student (one student's notebooks one after the
other), ``jobs`` students at a time, each notebook in its own kernel, all
driven by one asyncio event loop in a background thread. Each student's
results are written the moment they are graded, with the hash of every file
they submitted; a student whose files are unchanged since is skipped (unless
``force``), so an interrupted batch resumes where it stopped, with the seed
it started with, and a resubmitted file is regraded.

Every student gets one record per released notebook: the one file graded for
it (of two files answering the same notebook, the one with the released
name, else the newest; the others are flagged ``duplicate:<file>``), or a
``missing`` record at 0 points.
"""

import asyncio
import hashlib
import json
import re
import secrets
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic

from bplib.classroom import report
from bplib.classroom.assemble import load_release, match_release
from bplib.classroom.records import GRADED, MISSING, NotebookRecord
from bplib.classroom.submission import Unreadable, grade_notebook, read_notebook


class BatchError(Exception):
    """A problem with the command's arguments (no release, no submissions)."""


@dataclass
class Student:
    student: str
    notebooks: list = field(default_factory=list)  # paths
    problems: list = field(default_factory=list)   # (path, message): folders without notebooks


# Learning platforms' download names: Canvas's flat files and Moodle's folders
_CANVAS = re.compile(r"^(?P<student>[^_]+)_(?:late_)?\d+_\d+_(?P<name>.+\.ipynb)$")
_MOODLE = re.compile(r"^(?P<student>.+)_\d+_assignsubmission_file_?$")


def submitted_name(path):
    """The file name a student gave a notebook (without Canvas's prefix)."""
    canvas = _CANVAS.match(Path(path).name)
    return canvas["name"] if canvas else Path(path).name


def _folder_student(name):
    """The student of a folder: its name (without Moodle's suffix)."""
    moodle = _MOODLE.match(name)
    return moodle["student"] if moodle else name


def ignored(path):
    """Operating systems' and Jupyter's copies: macOS's __MACOSX/ and ._ files,
    Jupyter's checkpoints."""
    path = Path(path)
    return any(part in ("__MACOSX", ".ipynb_checkpoints") for part in path.parts) or \
        path.name.startswith("._") or path.name.endswith("-checkpoint.ipynb")


def _notebooks_in(folder):
    return sorted(p for p in Path(folder).rglob("*.ipynb")
                  if not ignored(p.relative_to(folder)) and p.is_file())


def discover(paths, release, student=None):
    """The students of the SUBMISSION arguments, in order.

    A notebook is one student's: the file stem is the student id, unless the
    file has a released notebook's name, when its folder's name is, or a
    Canvas download name (``name_[late_]<digits>_<digits>_<file>``), when
    ``name`` is. A folder holds a student's notebooks (those with released
    names: the folder's name is the student id), students' notebooks (other
    names: one student each) and students' folders (the subfolder's name is
    the student id, without Moodle's ``_<digits>_assignsubmission_file_``).
    With ``student``, every argument is that student's. macOS's and
    Jupyter's copies (``__MACOSX/``, ``._*``, checkpoints) are ignored.
    """
    released_names = {r.name for r in release}
    students = {}

    def add(sid, path=None, problem=None):
        entry = students.setdefault(sid, Student(sid))
        if problem:
            entry.problems.append((path, problem))
        elif path not in entry.notebooks:
            entry.notebooks.append(path)

    def file_student(path, folder_id):
        canvas = _CANVAS.match(path.name)
        if canvas:
            return canvas["student"]
        return folder_id if path.name in released_names else path.stem

    for arg in paths:
        path = Path(arg)
        if student is not None:
            if path.is_dir():
                found = _notebooks_in(path)
                for nb in found:
                    add(student, nb)
                if not found:
                    add(student, path, "no notebook (.ipynb) in this folder")
            elif not ignored(path):
                add(student, path)
        elif path.is_dir():
            folder_id = _folder_student(path.resolve().name)
            for child in sorted(path.iterdir()):
                if child.name.startswith(".") or child.name == "__pycache__" or \
                        ignored(child):
                    continue
                if child.is_dir():
                    sid = _folder_student(child.name)
                    found = _notebooks_in(child)
                    for nb in found:
                        add(sid, nb)
                    if not found:
                        add(sid, child, "no notebook (.ipynb) in this folder")
                elif child.suffix == ".ipynb":
                    add(file_student(child, folder_id), child)
        elif not ignored(path):  # a file, even if it does not exist: it gets its row
            add(file_student(path, _folder_student(path.resolve().parent.name)), path)
    return list(students.values())


def _released_for(path, release):
    """The released notebook a file answers (by name, else by its cells), or None."""
    name = submitted_name(path)
    by_name = next((r for r in release if r.name == name), None)
    if by_name is not None:
        return by_name
    try:
        nb = read_notebook(path)
    except Unreadable:
        return release[0] if len(release) == 1 else None
    return match_release(name, nb, release)


def plan(entry, release):
    """[(path, released notebook or None, [duplicate paths])] for a student's files:
    one file per released notebook (its released name first, else the newest)."""
    by_release, unmatched = {}, []
    for path in entry.notebooks:
        released = _released_for(path, release)
        if released is None:
            unmatched.append((path, None, []))
        else:
            by_release.setdefault(released.name, (released, []))[1].append(path)

    chosen = []
    for released in release:
        if released.name in by_release:
            paths = sorted(by_release[released.name][1], reverse=True,
                           key=lambda path: _preference(path, released.name))
            chosen.append((paths[0], released, paths[1:]))
    return chosen + unmatched


def _preference(path, released_name):
    try:
        mtime = Path(path).stat().st_mtime
    except OSError:
        mtime = float("-inf")
    return (submitted_name(path) == released_name, mtime, str(path))


def _fingerprint(entry):
    """{file: sha256 of its bytes} of everything a student submitted: when it changes,
    the student is regraded."""
    files = {}
    for path in map(Path, entry.notebooks):
        try:
            files[str(path.resolve())] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:  # it gets an invalid-notebook record
            files[str(path.resolve())] = ""
    return files


@dataclass
class BatchResult:
    records: list          # every NotebookRecord now in the output folder
    this_run: list         # the records of the students named on the command line
    graded: int = 0        # students graded now
    skipped: int = 0       # students skipped (already graded, files unchanged)
    seed: int = None
    seconds: float = 0.0

    @property
    def exit_status(self):
        return 0 if all(r.status in (GRADED, MISSING) for r in self.this_run) else 1


class Progress:
    """A line on stderr: submissions done, time running, failures."""

    def __init__(self, total, stream=None):
        self.total, self.done, self.failed = total, 0, 0
        self.stream = stream or sys.stderr
        self.started = monotonic()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, records=(), skipped=False):
        self.done += 1
        self.failed += sum(r.status not in (GRADED, MISSING) for r in records)
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


async def grade_student(entry, release, **options):
    """A student's records: one per released notebook, then one per unmatched file."""
    records = []
    for path, released, duplicates in plan(entry, release):
        record = await grade_notebook(path, entry.student, release, released=released,
                                      **options)
        record.flags += [f"duplicate:{Path(d).name}" for d in duplicates]
        records.append(record)
    submitted = {r.notebook for r in records}
    why = "; ".join(f"{Path(path).name}: {message}" for path, message in entry.problems)
    for released in release:
        if released.name not in submitted:
            records.append(NotebookRecord.new(
                entry.student, released.name, "", MISSING,
                f"not submitted ({why})" if why else "not submitted", released,
                exercise_status="not submitted"))
    order = {r.name: i for i, r in enumerate(release)}
    return sorted(records, key=lambda r: order.get(r.notebook, len(order)))


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
            existing[report.safe_name(found.student)] = found
    if seed is None:
        seed = _previous_seed(out, existing) if not force else None
    if seed is None:
        seed = secrets.randbelow(2**32)

    todo, results = [], {name: found.records for name, found in existing.items()}
    progress = Progress(len(students), progress_stream)
    skipped = 0
    for entry in students:
        before = existing.get(report.safe_name(entry.student))
        files = _fingerprint(entry)
        if not force and before is not None and before.files == files:
            skipped += 1
            progress.update(before.records, skipped=True)
        else:
            todo.append((entry, files))

    state = {"last_write": 0.0}

    def write_all(final=False):
        if final or monotonic() - state["last_write"] > 2.0:
            all_records = [r for records in results.values() for r in records]
            report.write_batch(out, all_records, release, seed, release_dir)
            state["last_write"] = monotonic()

    async def grade(entry, files, semaphore, sanctioned):
        async with semaphore:
            records = await grade_student(
                entry, release, seed=seed, cell_timeout=cell_timeout,
                total_timeout=total_timeout, kernel_name=kernel_name,
                sanctioned_cache=sanctioned)
            for record in records:
                record.seed = seed
            report.write_student(out, entry.student, records, seed, files)
            results[report.safe_name(entry.student)] = records
            progress.update(records)
            write_all()

    async def main():
        semaphore, sanctioned = asyncio.Semaphore(max(1, jobs)), {}
        await asyncio.gather(*(grade(e, f, semaphore, sanctioned) for e, f in todo))

    try:
        run_in_thread(main)
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
    seeds = {found.seed for found in existing.values() if found.seed is not None}
    return seeds.pop() if len(seeds) == 1 else None


def run_in_thread(make_coroutine):
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
