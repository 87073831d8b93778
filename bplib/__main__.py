"""The ``bplib`` command: tools for maintainers and instructors.

    bplib generate [--solutions DIR] [--exercises DIR]   write exercises/ from solutions/
    bplib execute NOTEBOOK...                           run notebooks, saving their outputs
"""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bplib", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="write exercise notebooks from solutions")
    generate.add_argument("--solutions", default="solutions")
    generate.add_argument("--exercises", default="exercises")
    execute = commands.add_parser("execute", help="run notebooks and save their outputs")
    execute.add_argument("notebooks", nargs="+")
    execute.add_argument("--timeout", type=int, default=120, help="seconds per cell")
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
