"""Benchmark: how long `bplib grade` takes for a class, and where the time goes.

Run from the repository root (it needs solutions/ and exercises/):

    python benchmarks/bench_grading.py                 # 100 submissions, --jobs 2
    python benchmarks/bench_grading.py --count 10      # a smoke test
    python benchmarks/bench_grading.py --sandbox both  # the sandbox's cost: none, then bwrap

It copies a solution notebook (default solutions/06_activations.ipynb) as
COUNT students' submissions, every fourth one with a wrong function (each
checked function is wrapped to return its result negated), grades them all
against exercises/ with ``bplib.classroom.run_batch`` exactly as
``bplib grade SUBMISSIONS --jobs N`` does, checks every score, and reports
the wall-clock time and, summed over the submissions, the time in each
phase: waiting for the kernel to start (it is launched and made ready while
earlier submissions run), running the notebook's cells (the student's and
the lesson's), ``run_trials`` in the kernel (the harness cells), the
released check cells run again for the cells after them (only those that
do more than call ``check``), ``grade`` in the grader, and the rest
(reading, matching, the static scan, stopping the kernel). Phases of different submissions overlap, ``--jobs`` at a time, so
the sums exceed the wall-clock time. The clean run of the student's answer
cells (where the scores come from) runs at the same time as the notebook's
kernel; its time is reported on its own line.

``--sandbox`` chooses where the students' code runs (``auto``, ``bwrap``,
``none``, or ``both``: the batch twice, without and with bubblewrap, and the
difference per submission: the sandbox's cost; target under 0.3 s).
Targets: 100 submissions in 60 s or less with ``--jobs 2`` on 2 cores, with
the sandbox and the clean run, and starting kernels under 25 % of the
summed time.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bplib.classroom import clean_run, run_batch  # noqa: E402
from bplib.classroom import sandbox as sandboxes  # noqa: E402
from bplib.classroom.assemble import load_released  # noqa: E402


def make_submissions(solution, release, folder, count):
    """COUNT copies of the solution, every fourth with every function wrong."""
    released = load_released(release)
    names = [c.expression for c in released.checks]
    nb = nbformat.read(solution, as_version=4)
    wrong = nbformat.from_dict(nb)
    for name in names:  # wrapped in the cell that defines it, so wrong when checked
        cell = next(c for c in wrong.cells if f"def {name}(" in c.source)
        cell.source += (f"\n\n_right_{name} = {name}\n\n\ndef {name}(*args):\n"
                        f"    return -_right_{name}(*args)")
    wrong_ones = set(range(3, count, 4))
    for k in range(count):
        suffix = "_wrong" if k in wrong_ones else ""
        nbformat.write(wrong if k in wrong_ones else nb,
                       Path(folder) / f"student_{k:03d}{suffix}.ipynb")
    return released, wrong_ones


def grade_all(args, kind, release, released, submissions, out):
    """Grade every submission in one sandbox; print and return (wall, summed seconds)."""
    clean_seconds = []
    original = clean_run.run

    async def timed(*a, **k):  # the clean run's own time, per submission
        result = await original(*a, **k)
        clean_seconds.append(result.seconds)
        return result

    sandbox = sandboxes.choose(kind)
    clean_run.run = timed
    started = time.perf_counter()
    try:
        with open(os.devnull, "w") as quiet, sandboxes.using(sandbox):
            result = run_batch([submissions], release_dir=release.parent, out=out,
                               jobs=args.jobs, cell_timeout=60, total_timeout=600, seed=1,
                               progress_stream=quiet)
    finally:
        clean_run.run = original
    wall = time.perf_counter() - started
    records = [r if isinstance(r, dict) else r.to_json() for r in result.records]
    records = [r for r in records if r["status"] != "missing"]
    assert len(records) == args.count, [r["status"] for r in records]
    for r in records:
        assert r["status"] == "graded", (r["student"], r["status"], r["message"])
        want = 0 if r["student"].endswith("_wrong") else released.max_points
        assert r["total"] == want, (r["student"], r["total"], r["message"])
    phases = ("kernel_start", "cells", "run_trials", "check_cells", "grading")
    sums = {p: sum(r["timing"][p] for r in records) for p in phases}
    total = sum(r["timing"]["total"] for r in records)
    sums["other (read, scan, stop kernel)"] = total - sum(sums.values())
    print(f"\n--sandbox {sandbox.kind}: wall clock {wall:.1f} s for {args.count} submissions "
          f"({wall / args.count:.2f} s each; target for 100: 60 s or less)")
    print(f"summed over submissions: {total:.1f} s ({total / args.count:.2f} s per submission)")
    for phase, seconds in sums.items():
        print(f"  {phase:32s} {seconds:7.1f} s  {100 * seconds / total:5.1f} %  "
              f"{seconds / args.count:6.3f} s each")
    clean = sum(clean_seconds)
    print(f"  {'clean run (alongside the kernel)':32s} {clean:7.1f} s  "
          f"{100 * clean / total:5.1f} %  {clean / args.count:6.3f} s each")
    return wall, total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--notebook", default="06_activations.ipynb")
    parser.add_argument("--keep", action="store_true", help="keep the output folder")
    parser.add_argument("--sandbox", default="auto", choices=("auto", "bwrap", "none", "both"))
    args = parser.parse_args(argv)

    solution = ROOT / "solutions" / args.notebook
    release = ROOT / "exercises" / args.notebook
    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        submissions, out = work / "submissions", work / "grades"
        submissions.mkdir()
        released, wrong_ones = make_submissions(solution, release, submissions, args.count)
        print(f"grading {args.count} copies of solutions/{args.notebook} "
              f"({len(wrong_ones)} wrong) with --jobs {args.jobs} on {os.cpu_count()} CPUs",
              flush=True)
        kinds = ("none", "bwrap") if args.sandbox == "both" else (args.sandbox,)
        measured = {}
        for kind in kinds:
            measured[kind] = grade_all(args, kind, release, released, submissions,
                                       out / kind)
        if len(measured) == 2:
            (wall0, sum0), (wall1, sum1) = measured["none"], measured["bwrap"]
            print(f"\nthe sandbox's cost: {(sum1 - sum0) / args.count:+.3f} s per submission "
                  f"summed, {(wall1 - wall0) / args.count:+.3f} s per submission of wall clock "
                  "(target: under 0.3 s)")
        if args.keep:
            print(f"\noutput kept in {out}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
