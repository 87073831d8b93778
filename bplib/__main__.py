"""The ``bplib`` command.

    bplib lab [JUPYTERLAB OPTION...]                     open the course in JupyterLab
    bplib generate [--solutions DIR] [--exercises DIR]   write exercises/ from solutions/
    bplib execute NOTEBOOK...                           run notebooks, saving their outputs
    bplib grade SUBMISSION... [--out DIR] [--jobs N]    grade students' notebooks (see
                                                        docs/gradescope.md for Gradescope)
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

START_HERE = "notebooks/00_start_here.ipynb"


def course_root():
    """The folder holding notebooks/: the checkout bplib is installed from, or here."""
    checkout = Path(__file__).resolve().parent.parent
    return checkout if (checkout / "notebooks").is_dir() else Path.cwd()


def open_course(extra_args):
    """Start JupyterLab on the course, opened at the start-here lesson."""
    root = course_root()
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root}",
               START_HERE, *extra_args]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra_args:
        # Containers and CI machines run everything as root; JupyterLab refuses
        # to start there unless told that this is intended.
        print("bplib lab: running as root, so starting JupyterLab with --allow-root")
        command.append("--allow-root")
    return subprocess.call(command, cwd=root)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bplib", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("lab", help="open the course in JupyterLab", add_help=False)
    generate = commands.add_parser("generate", help="write exercise notebooks from solutions")
    generate.add_argument("--solutions", default="solutions")
    generate.add_argument("--exercises", default="exercises")
    execute = commands.add_parser("execute", help="run notebooks and save their outputs")
    execute.add_argument("notebooks", nargs="+")
    execute.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    _add_grade_parser(commands)
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["lab"]:  # every other argument goes to JupyterLab unchanged
        return open_course(argv[1:])
    args = parser.parse_args(argv)

    if args.command == "grade":
        return _grade(args)

    from bplib import notebooks

    if args.command == "generate":
        for path in notebooks.generate_exercises(args.solutions, args.exercises):
            print(f"wrote {path}")
    elif args.command == "execute":
        for path in args.notebooks:
            notebooks.execute_notebook(path, args.timeout)
            print(f"executed {path}")
    return 0


def _add_grade_parser(commands):
    grade = commands.add_parser(
        "grade", help="grade submitted exercise notebooks in fresh kernels",
        description="Grade submitted notebooks against the released exercises. Writes "
                    "gradebook.csv, results.json, results/<student>.json (Gradescope format) "
                    "and feedback/<student>.html into --out; students already graded there "
                    "are skipped (use --force to regrade). Exit status 0 when every "
                    "submission was graded, whatever the scores; 1 when any could not be.")
    grade.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                       help="a notebook, or a folder of notebooks or of students' folders")
    grade.add_argument("--release", default="exercises",
                       help="folder of the released exercise notebooks (default: exercises)")
    grade.add_argument("--out", default="grades", help="output folder (default: grades)")
    grade.add_argument("--jobs", type=int, default=2,
                       help="submissions graded at a time, one kernel each (default: 2)")
    grade.add_argument("--timeout", type=float, default=60,
                       help="seconds allowed per cell (default: 60)")
    grade.add_argument("--notebook-timeout", type=float, default=None,
                       help="seconds allowed per notebook (default: 10 x --timeout, "
                            "at least 120)")
    grade.add_argument("--seed", type=int, default=None,
                       help="seed of the grading trials (default: random per batch, recorded "
                            "in results.json and reused when a batch resumes)")
    grade.add_argument("--force", action="store_true",
                       help="regrade students whose results already exist")
    grade.add_argument("--student", default=None,
                       help="treat every SUBMISSION as this one student's (e.g. in Gradescope)")
    grade.add_argument("--kernel", default="python3", help="Jupyter kernel (default: python3)")


def _grade(args):
    from bplib.classroom import BatchError, run_batch

    if args.jobs < 1 or args.timeout <= 0:
        print("bplib grade: --jobs and --timeout must be positive", file=sys.stderr)
        return 2
    notebook_timeout = args.notebook_timeout or max(120.0, 10 * args.timeout)
    try:
        result = run_batch(args.submissions, release_dir=args.release, out=args.out,
                           jobs=args.jobs, cell_timeout=args.timeout,
                           total_timeout=notebook_timeout, seed=args.seed, force=args.force,
                           student=args.student, kernel_name=args.kernel)
    except BatchError as exc:
        print(f"bplib grade: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nbplib grade: interrupted; run the same command again to resume "
              f"(results so far are in {args.out}/)", file=sys.stderr)
        return 130
    failed = [r for r in result.this_run if r["status"] != "graded"]
    print(f"graded {result.graded} students ({result.skipped} already graded) in "
          f"{result.seconds:.0f} s, seed {result.seed}; {len(failed)} submissions could not be "
          f"graded; wrote {args.out}/gradebook.csv")
    for record in failed:
        print(f"  {record['student']} / {record['notebook']}: {record['status']}: "
              f"{record['message']}")
    return result.exit_status


if __name__ == "__main__":
    sys.exit(main())
