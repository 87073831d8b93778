"""Benchmark: how long `bplib grade` takes for a class, and where the time goes.

Run from the repository root (it needs solutions/ and exercises/):

    python benchmarks/bench_grading.py                 # 100 submissions, --jobs 2
    python benchmarks/bench_grading.py --count 10      # a smoke test

It copies a solution notebook (default solutions/06_activations.ipynb) as
COUNT students' submissions, every fourth one with a wrong function (each
checked function is wrapped to return its result negated), grades them all
against exercises/ with ``bplib.classroom.run_batch`` exactly as
``bplib grade SUBMISSIONS --jobs N`` does, checks every score, and reports
the wall-clock time and, summed over the submissions, the time in each
phase: starting the kernel, running the notebook's cells (the student's and
the lesson's), ``run_trials`` in the kernel (the harness cells), the
released check cells run again for the cells after them, ``grade`` in the
grader, and the rest (reading, matching, the static scan, stopping the
kernel). Phases of different submissions overlap, ``--jobs`` at a time, so
the sums exceed the wall-clock time.
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

from bplib.classroom import run_batch  # noqa: E402
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--notebook", default="06_activations.ipynb")
    parser.add_argument("--keep", action="store_true", help="keep the output folder")
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
        started = time.perf_counter()
        with open(os.devnull, "w") as quiet:
            result = run_batch([submissions], release_dir=release.parent, out=out,
                               jobs=args.jobs, cell_timeout=60, total_timeout=600, seed=1,
                               progress_stream=quiet)
        wall = time.perf_counter() - started
        records = result.records
        assert len(records) == args.count and all(r["status"] == "graded" for r in records)
        for r in records:
            want = 0 if r["student"].endswith("_wrong") else released.max_points
            assert r["total"] == want, (r["student"], r["total"], r["message"])
        phases = ("kernel_start", "cells", "run_trials", "check_cells", "grading")
        sums = {p: sum(r["timing"][p] for r in records) for p in phases}
        total = sum(r["timing"]["total"] for r in records)
        sums["other (read, scan, stop kernel)"] = total - sum(sums.values())
        print(f"\nwall clock: {wall:.1f} s for {args.count} submissions "
              f"({wall / args.count:.2f} s each; target for 100: under 180 s)")
        print(f"summed over submissions: {total:.1f} s "
              f"({total / args.count:.2f} s per submission)")
        for phase, seconds in sums.items():
            print(f"  {phase:32s} {seconds:7.1f} s  {100 * seconds / total:5.1f} %  "
                  f"{seconds / args.count:6.3f} s each")
        if args.keep:
            print(f"\noutput kept in {out}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
