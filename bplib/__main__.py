"""bplib: a Jupyter course on backpropagation, and its tools.

Students: "bplib lab" copies the course into a folder of your own (./bplib-course)
and opens it in JupyterLab; "bplib update" brings in new lessons, keeping your work;
"bplib progress" shows which of your exercises pass.
Instructors: "bplib grade" grades a class's notebooks; "bplib gradescope" packs the
same grader for Gradescope.
Maintainers: "bplib generate" and "bplib execute" make the exercise notebooks and
the notebooks' stored outputs.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

import bplib
from bplib import workspace

LAB_DESCRIPTION = f"""\
Open the course in JupyterLab, in a workspace of your own.

The first run copies the course (lessons, exercises, solutions) into a workspace,
./{workspace.DEFAULT_WORKSPACE} unless --workspace says otherwise, and opens lesson 0 there.
Later runs reopen the same workspace (the one holding the current folder, or
./{workspace.DEFAULT_WORKSPACE}). Your work there is never overwritten: --update brings in
new and changed lessons, and a notebook you have edited is left alone, with the
new version written beside it. In a git checkout the course is copied from the
checkout; "--workspace ." at the top of the checkout opens the checkout itself.

Every option not listed here goes to JupyterLab unchanged (e.g. --no-browser,
--port=8890); JupyterLab's own options follow."""


def build_parser():
    """The ``bplib`` command line: one subcommand per job."""
    parser = argparse.ArgumentParser(prog="bplib", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"bplib {bplib.__version__}",
                        help="print bplib's version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.lab_parser = _add_lab_parser(commands)
    update = commands.add_parser(
        "update", help="bring new and changed lessons into your workspace, keeping your work",
        description="Bring the installed bplib's new and changed lessons, exercises and "
                    "solutions into your workspace. A notebook you have edited is left alone "
                    "and the new version is written beside it; running a notebook does not "
                    "count as editing it.")
    update.add_argument("--workspace", metavar="DIR", default=None,
                        help="your workspace (default: the one holding the current folder, "
                             f"or ./{workspace.DEFAULT_WORKSPACE})")
    generate = commands.add_parser(
        "generate", help="write exercise notebooks from solution notebooks (maintainers)",
        description="Write each exercise notebook from its solution notebook, as nbgrader's "
                    "generate_assignment would: the code between '### BEGIN SOLUTION' and "
                    "'### END SOLUTION' becomes '# YOUR CODE HERE', outputs are cleared, and "
                    "nbgrader metadata marks the solution, check and locked cells. An exercise "
                    "notebook somebody changed is skipped unless --force.")
    generate.add_argument("--solutions", default="solutions", metavar="DIR",
                          help="folder of solution notebooks (default: solutions)")
    generate.add_argument("--exercises", default="exercises", metavar="DIR",
                          help="folder the exercise notebooks are written to (default: exercises)")
    generate.add_argument("--force", action="store_true",
                          help="overwrite exercise notebooks changed since they were generated")
    execute = commands.add_parser(
        "execute", help="run notebooks and save their outputs in them (maintainers)",
        description="Run each notebook top to bottom in a fresh kernel and save it with its "
                    "new outputs, as the lessons and solutions are committed (the tests "
                    "re-run them and compare the outputs).")
    execute.add_argument("notebooks", nargs="+", metavar="NOTEBOOK", help="a notebook to run")
    execute.add_argument("--timeout", type=int, default=120,
                         help="seconds allowed per cell (default: 120)")
    _add_grade_parser(commands)
    _add_gradescope_parser(commands)
    _add_progress_parser(commands)
    return parser


def _add_lab_parser(commands):
    """bplib lab's own options; main hands every other option to JupyterLab."""
    lab = commands.add_parser(
        "lab", help="open the course in JupyterLab, in a workspace of your own",
        description=LAB_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False, allow_abbrev=False,
        usage="bplib lab [--workspace DIR] [--update] [JUPYTERLAB OPTION...]")
    lab.add_argument("-h", "--help", action="store_true",
                     help="show this help, then JupyterLab's options")
    lab.add_argument("--workspace", metavar="DIR", default=None,
                     help=f"your copy of the course (default: ./{workspace.DEFAULT_WORKSPACE}; "
                          "made on the first run)")
    lab.add_argument("--update", action="store_true",
                     help="first bring in new and changed lessons (as bplib update does)")
    return lab


def main(argv=None):
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        parser.print_help()
        return 0
    if argv[0] == "lab":  # options bplib lab does not know go to JupyterLab unchanged
        args, jupyterlab_options = parser.lab_parser.parse_known_args(argv[1:])
        if args.help:
            return _lab_help(parser.lab_parser)
        return _lab(args, jupyterlab_options)
    args = parser.parse_args(argv)

    if args.command == "grade":
        return _grade(args)
    if args.command == "gradescope":
        return _gradescope(args)
    if args.command == "progress":
        return _progress(args)
    if args.command == "update":
        return _update(args)

    from bplib import notebooks

    if args.command == "generate":
        for record in notebooks.generate_exercises(args.solutions, args.exercises,
                                                   force=args.force):
            print(record)
    elif args.command == "execute":
        for path in args.notebooks:
            notebooks.execute_notebook(path, args.timeout)
            print(f"executed {path}")
    return 0


def _lab_help(lab):
    lab.print_help()
    print("\nJupyterLab's options:\n", flush=True)
    if not _has_jupyterlab():
        print(_NO_JUPYTERLAB)
        return 0
    return subprocess.call([sys.executable, "-m", "jupyterlab", "--help"])


_NO_JUPYTERLAB = ("JupyterLab is not installed: install bplib with its lab extra, "
                  "e.g. pip install 'bplib[lab]' (or '.[lab]' in a checkout)")


def _has_jupyterlab():
    from importlib.util import find_spec
    return find_spec("jupyterlab") is not None


def _course():
    """The course to copy from, or None after saying why there is none."""
    try:
        return workspace.course_dir()
    except FileNotFoundError as exc:
        print(f"bplib: {exc}", file=sys.stderr)
        return None


def _workspace_folder(option):
    if option:
        return Path(option).expanduser().resolve()
    return workspace.find_workspace() or Path.cwd() / workspace.DEFAULT_WORKSPACE


def _print_update(report):
    for line in report.lines():
        print(f"  {line}")
    print(f"bplib: {report.workspace} is up to date with bplib {bplib.__version__}: "
          f"{len(report.added)} added, {len(report.updated)} updated, "
          f"{len(report.kept)} kept as you edited them (new versions beside them)")


def _update(args):
    course = _course()
    if course is None:
        return 1
    folder = _workspace_folder(args.workspace)
    if folder == course:
        print(f"bplib update: {folder} is the course itself, not a workspace", file=sys.stderr)
        return 2
    if not (folder / workspace.MANIFEST).is_file():
        print(f"bplib update: {folder} is not a workspace yet; bplib lab makes it",
              file=sys.stderr)
        return 2
    try:
        _print_update(workspace.update_workspace(folder, course))
    except ValueError as exc:
        print(f"bplib update: {exc}", file=sys.stderr)
        return 2
    return 0


def _lab(args, jupyterlab_options):
    """Make or update the workspace, then start JupyterLab there at lesson 0."""
    if not _has_jupyterlab():
        print(f"bplib lab: {_NO_JUPYTERLAB}", file=sys.stderr)
        return 1
    course = _course()
    if course is None:
        return 1
    folder = _workspace_folder(args.workspace)
    if folder == course:
        print(f"bplib lab: opening the course itself, {folder}, not a workspace: "
              f"your edits change the course")
    elif not (folder / workspace.MANIFEST).is_file():
        try:
            report = workspace.update_workspace(folder, course)
        except ValueError as exc:
            print(f"bplib lab: {exc}", file=sys.stderr)
            return 2
        counts = ", ".join(f"{sum(p.startswith(folder_name + '/') for p in report.added)} {word}"
                           for folder_name, word in zip(workspace.COURSE_FOLDERS,
                                                        ("lessons", "exercises", "solutions")))
        where = (f"from {folder.parent} or " if folder.name == workspace.DEFAULT_WORKSPACE
                 else "") + "from inside it"
        print(f"bplib lab: copied the course ({counts}) into your workspace\n\n"
              f"    {folder}\n\n"
              f"Your work is saved there. To come back to it, run bplib lab {where},\n"
              f"or bplib lab --workspace {folder}. bplib update brings in new lessons\n"
              f"without touching your work.\n")
        for line in report.lines()[len(report.added):]:
            print(f"  {line}")
    elif args.update:
        _print_update(workspace.update_workspace(folder, course))
    else:
        print(f"bplib lab: opening your workspace {folder}")
        if workspace.pending_update(folder, course):
            print(f"bplib lab: bplib {bplib.__version__} has new or changed lessons; "
                  f"bplib update brings them in (your edits are kept)")
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder}",
               workspace.START_HERE, *jupyterlab_options]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in jupyterlab_options:
        # Containers and CI machines run everything as root; JupyterLab refuses
        # to start there unless told that this is intended.
        print("bplib lab: running as root, so starting JupyterLab with --allow-root")
        command.append("--allow-root")
    sys.stdout.flush()
    return _run_jupyterlab(command, folder)


def _run_jupyterlab(command, folder):
    """Run JupyterLab until it stops. Ctrl-C reaches it too, and it decides (it asks first)."""
    process = subprocess.Popen(command, cwd=folder)
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            pass


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
    grade.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto",
                       help="where students' code runs: bwrap (bubblewrap: no network, a "
                            "private view of the files, limits), none (with your rights: "
                            "only in a throwaway container), or auto: bwrap when installed, "
                            "else none with a warning (default: auto; see docs/security.md)")
    grade.add_argument("--memory", default="2G",
                       help="memory allowed per submission's process, e.g. 512M or 1G "
                            "(default: 2G)")


def _grade(args):
    from bplib.classroom import BatchError, run_batch
    from bplib.classroom import sandbox as sandboxes

    if args.jobs < 1 or args.timeout <= 0:
        print("bplib grade: --jobs and --timeout must be positive", file=sys.stderr)
        return 2
    notebook_timeout = args.notebook_timeout or max(120.0, 10 * args.timeout)
    try:
        sandbox = sandboxes.choose(args.sandbox, args.memory,
                                   hidden=[args.out, *sandboxes.folders_of(args.submissions)])
    except sandboxes.SandboxError as exc:
        print(f"bplib grade: {exc}", file=sys.stderr)
        return 2
    if sandbox.warning:
        print(f"bplib grade: warning: {sandbox.warning}", file=sys.stderr)
    try:
        with sandboxes.using(sandbox):
            result = run_batch(args.submissions, release_dir=args.release, out=args.out,
                               jobs=args.jobs, cell_timeout=args.timeout,
                               total_timeout=notebook_timeout, seed=args.seed,
                               force=args.force, student=args.student, kernel_name=args.kernel)
        sandboxes.record(args.out, sandbox)
    except BatchError as exc:
        print(f"bplib grade: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nbplib grade: interrupted; run the same command again to resume "
              f"(results so far are in {args.out}/)", file=sys.stderr)
        return 130
    failed = [r for r in result.this_run if r.status not in ("graded", "missing")]
    print(f"graded {result.graded} students ({result.skipped} already graded) in "
          f"{result.seconds:.0f} s, seed {result.seed}; {len(failed)} submissions could not be "
          f"graded; wrote {args.out}/gradebook.csv")
    for record in failed:
        print(f"  {record.student} / {record.notebook}: {record.status}: {record.message}")
    return result.exit_status


def _add_gradescope_parser(commands):
    gradescope = commands.add_parser(
        "gradescope", help="write the Gradescope autograder zip of a release (instructors)",
        description="Write the autograder zip of a Gradescope programming assignment: "
                    "upload it as it is. It grades each submission with bplib grade's own "
                    "grader, on trials drawn from a secret seed drawn now and kept in the zip, "
                    "and installs the bplib that made it (see docs/gradescope.md).")
    gradescope.add_argument("release", metavar="RELEASE_DIR",
                            help="folder of the released exercise notebooks to grade")
    gradescope.add_argument("--out", default="autograder.zip",
                            help="the zip to write (default: autograder.zip)")
    gradescope.add_argument("--timeout", type=float, default=60,
                            help="seconds allowed per cell (default: 60)")
    gradescope.add_argument("--seed", type=int, default=None,
                            help="seed of the grading trials (default: a random secret one)")


def _gradescope(args):
    from bplib.classroom.gradescope import GradescopeError, build_autograder

    if args.timeout <= 0:
        print("bplib gradescope: --timeout must be positive", file=sys.stderr)
        return 2
    try:
        release, _ = build_autograder(args.release, args.out, seed=args.seed,
                                      cell_timeout=args.timeout,
                                      notebook_timeout=max(120.0, 10 * args.timeout))
    except GradescopeError as exc:
        print(f"bplib gradescope: {exc}", file=sys.stderr)
        return 2
    points = sum(r.max_points for r in release)
    notebooks = f"{len(release)} notebook" + ("s" if len(release) > 1 else "")
    print(f"wrote {args.out}: {notebooks}, {points:g} points. Upload it as the autograder of a "
          "Gradescope programming assignment.")
    return 0


def _add_progress_parser(commands):
    progress = commands.add_parser(
        "progress", help="grade your own exercises and print a table of what passed",
        description="Grade every exercise notebook in DIR as bplib grade does (each in a "
                    "fresh kernel, on fresh trials) and print a table: notebook, exercise, "
                    "passed / failed / not attempted, points, and the total. Save your "
                    "notebooks first: it reads the files.")
    progress.add_argument("directory", nargs="?", default=None, metavar="DIR",
                          help="folder of your exercise notebooks (default: your workspace's "
                               "exercises, else the course's)")
    progress.add_argument("--release", default=None, metavar="DIR",
                          help="folder of the released exercise notebooks the checks come "
                               "from (default: the course's exercises)")
    progress.add_argument("--timeout", type=float, default=60,
                          help="seconds allowed per cell (default: 60)")
    progress.add_argument("--jobs", type=int, default=2,
                          help="notebooks graded at a time, one kernel each (default: 2)")


def _progress(args):
    from bplib.classroom.progress import ProgressError, progress, table

    if args.jobs < 1 or args.timeout <= 0:
        print("bplib progress: --jobs and --timeout must be positive", file=sys.stderr)
        return 2
    try:
        records = progress(args.directory, release_dir=args.release, jobs=args.jobs,
                           cell_timeout=args.timeout)
    except ProgressError as exc:
        print(f"bplib progress: {exc}", file=sys.stderr)
        return 2
    print(table(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
