"""The ``bplib`` command.

    bplib lab [JUPYTERLAB OPTION...]                     open the course in JupyterLab
    bplib generate [--solutions DIR] [--exercises DIR]   write exercises/ from solutions/
    bplib execute NOTEBOOK...                           run notebooks, saving their outputs
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
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["lab"]:  # every other argument goes to JupyterLab unchanged
        return open_course(argv[1:])
    args = parser.parse_args(argv)

    from bplib import notebooks

    if args.command == "generate":
        for path in notebooks.generate_exercises(args.solutions, args.exercises):
            print(f"wrote {path}")
    elif args.command == "execute":
        for path in args.notebooks:
            notebooks.execute_notebook(path, args.timeout)
            print(f"executed {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
