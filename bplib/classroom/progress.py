"""A student's own progress: ``bplib progress [DIR]``.

The self-study counterpart of ``nbgrader validate`` and ``otter check``: every
exercise notebook in DIR (by default the exercises of the student's
workspace) is graded exactly as ``bplib grade`` grades it, in a fresh kernel
of its own, against the course's released notebook, on trials drawn from a
fresh seed, and the result is one table:

    notebook         exercise          result          points
    06_activations   relu_backward     passed          1 / 1
    06_activations   sigmoid_backward  failed          0 / 1
    06_activations   tanh_backward     not attempted   0 / 1
    total                                              1 / 3
"""

import asyncio
import secrets
from pathlib import Path

from bplib.classroom.assemble import load_release
from bplib.classroom.batch import ignored, run_in_thread
from bplib.classroom.records import GRADED
from bplib.classroom.submission import grade_notebook

RESULTS = {"passed": "passed", "not attempted": "not attempted"}  # anything else: failed


class ProgressError(Exception):
    """Nothing to look at: no exercise notebooks in the folder."""


def default_dir():
    """The student's workspace exercises, else the course's exercises folder."""
    from bplib.workspace import default_exercises_dir

    try:
        return default_exercises_dir()
    except FileNotFoundError:  # no course anywhere: the exercises folder here
        return Path("exercises")


def _course_release():
    """The course's own released exercises (pristine), or None."""
    from bplib.workspace import course_dir

    try:
        folder = course_dir() / "exercises"
    except FileNotFoundError:
        return None
    return folder if folder.is_dir() else None


def progress(directory=None, *, release_dir=None, jobs=2, cell_timeout=60, seed=None):
    """The NotebookRecords of every exercise notebook in a folder, in name order.

    ``release_dir``: the released notebooks the checks come from (default:
    the course's exercises, else the folder itself).
    """
    directory = Path(directory) if directory is not None else default_dir()
    release = load_release(release_dir or _course_release() or directory)
    if not any((directory / r.name).is_file() for r in release):
        release = load_release(directory)  # a folder of exercises the course does not have
    released = {r.name: r for r in release}
    paths = [p for p in sorted(directory.glob("*.ipynb"))
             if p.name in released and not ignored(p)]
    if not paths:
        raise ProgressError(f"no exercise notebook (with checks) in {directory}/")
    seed = secrets.randbelow(2**32) if seed is None else seed
    records = {}

    async def grade(path, semaphore):
        async with semaphore:
            records[path] = await grade_notebook(
                path, "you", release, released=released[path.name], seed=seed,
                cell_timeout=cell_timeout, total_timeout=max(120.0, 10 * cell_timeout))

    async def main():
        semaphore = asyncio.Semaphore(max(1, jobs))
        await asyncio.gather(*(grade(p, semaphore) for p in paths))

    run_in_thread(main)
    return [records[p] for p in paths]


def result_of(entry):
    """passed, failed or not attempted (failed says why when the check had no verdict:
    "failed (timeout)")."""
    if entry.status in RESULTS:
        return RESULTS[entry.status]
    return "failed" if entry.status == "failed" else f"failed ({entry.status})"


def table(records):
    """The student's table: notebook, exercise, result, points; then the total and
    what kept a notebook from being graded completely."""
    rows = [("notebook", "exercise", "result", "points")]
    for record in records:
        for entry in record.exercises:
            rows.append((Path(record.notebook).stem, entry.exercise, result_of(entry),
                         f"{entry.points:g} / {entry.max_points:g}"))
    total = sum(r.total for r in records)
    maximum = sum(r.max_points for r in records)
    rows.append(("total", "", "", f"{total:g} / {maximum:g}"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " +
             row[3] for row in rows]
    lines += [f"{Path(r.notebook).stem}: {r.status}: {r.message}" for r in records
              if r.status != GRADED]
    passed = sum(e.status == "passed" for r in records for e in r.exercises)
    count = sum(len(r.exercises) for r in records)
    lines.append(f"{passed} of {count} exercises passed.")
    return "\n".join(lines)
