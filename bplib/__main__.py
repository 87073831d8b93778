"""The ``bplib`` command: maintainers' and instructors' tools.

    bplib execute NOTEBOOK...   run notebooks top to bottom, saving outputs
    bplib generate              write exercises/ from solutions/
"""

import argparse
import sys
from pathlib import Path


def execute_notebooks(paths, timeout=120):
    """Run each notebook in a fresh kernel and save it with its outputs.

    Executed from the notebook's own folder, as JupyterLab and nbval do.
    """
    import nbformat
    from nbclient import NotebookClient

    for path in map(Path, paths):
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute()
        nbformat.write(nb, path)
        print(f"executed {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bplib", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("execute", help="run notebooks and save their outputs")
    run.add_argument("notebooks", nargs="+")
    run.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    args = parser.parse_args(argv)
    if args.command == "execute":
        execute_notebooks(args.notebooks, args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
