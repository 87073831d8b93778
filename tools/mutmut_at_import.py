"""Run the mutants that ``mutmut run`` cannot judge: those of functions called at import.

mutmut 3 imports the package once, then forks a worker per mutant and switches the
mutant on in it (``MUTANT_UNDER_TEST``). A function that only runs while a module
is imported has run by then, unmutated: the grader's exercise modules call factories
at import (``_tiny_net_variant(scale="N")`` builds a wrong implementation once, and
the tests call what it built). mutmut reports every such mutant "survived" after
running whichever test happened to trigger the import.

This script finds those functions (the ones ``import bplib.grading`` calls), and runs
each of their mutants in a fresh pytest process started with ``MUTANT_UNDER_TEST``
set, so that the import itself runs the mutant, against the whole test selection of
``[tool.mutmut]``, with ``-x``. It writes each result into mutmut's own records in
``mutants/``, where ``mutmut results`` and ``mutmut show`` find it. Run it after
``mutmut run`` (which creates ``mutants/`` and would mark these mutants again):

    .venv/bin/mutmut run "bplib.grading.exercises.*"
    .venv/bin/python tools/mutmut_at_import.py            # every import-time mutant
    .venv/bin/python tools/mutmut_at_import.py lesson04   # those whose name has "lesson04"
"""

import argparse
import json
import os
import subprocess
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
PACKAGE = "bplib.grading"
KILLED, SURVIVED, TIMEOUT = 1, 0, 36  # mutmut's exit codes for these statuses


@dataclass
class Outcome:
    mutant: str
    exit_code: int      # in mutmut's meaning: KILLED, SURVIVED or TIMEOUT
    seconds: float


def import_time_functions(package=PACKAGE):
    """{(module, mutmut's name of the function)} of the module-level functions and
    methods that importing ``package`` calls, found by profiling the import."""
    script = f"""
import inspect, json, sys
called = set()
def profile(frame, event, arg):
    code = frame.f_code  # a function's (not a class body's, nor code made by exec)
    function = code.co_flags & inspect.CO_NEWLOCALS and code.co_filename.endswith(".py")
    if event == "call" and function:
        name = frame.f_globals.get("__name__", "")
        if name.startswith({package!r}):
            called.add((name, code.co_qualname))
sys.setprofile(profile)
import {package}
sys.setprofile(None)
print(json.dumps(sorted(called)))
"""
    found = subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout
    names = set()
    for module, qualname in json.loads(found):
        parts = qualname.split(".")
        if "<locals>" in parts or parts[-1].startswith("<"):
            continue  # a nested function is mutated with the function around it
        if len(parts) == 1:
            names.add((module, f"x_{parts[0]}"))
        elif len(parts) == 2:
            names.add((module, f"x\u01c1{parts[0]}\u01c1{parts[1]}"))
    return names


def meta_path(module):
    return MUTANTS / (module.replace(".", "/") + ".py.meta")


def mutants_of(functions, only=None):
    """mutant name -> module, for every mutant of those functions mutmut generated."""
    found = {}
    for module, function in sorted(functions):
        path = meta_path(module)
        if not path.exists():
            sys.exit(f"{path} is missing: run `mutmut run` first")
        for name in json.loads(path.read_text())["exit_code_by_key"]:
            function_of_mutant = name.rsplit("__mutmut_", 1)[0].rsplit(".", 1)[-1]
            if function_of_mutant == function and (only is None or only in name):
                found[name] = module
    return found


def test_selection():
    """[tool.mutmut]'s test files, the grader's first: a kill comes sooner."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    return sorted(config["pytest_add_cli_args_test_selection"], key=lambda f: "grading" not in f)


def exercises_of(module):
    """The ids of the exercises a lesson module defines (None: any module else)."""
    lesson = module.rsplit(".", 1)[-1]
    if not lesson.startswith("lesson"):
        return None
    script = (f"from bplib.grading import EXERCISES; print(' '.join(e.id for e in "
              f"EXERCISES.values() if e.lesson == {int(lesson[len('lesson'):])}))")
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.split()


def pytest_exit_code(mutant, arguments, timeout):
    """pytest's exit code in a fresh process in mutants/ with ``mutant`` switched
    on (None: it ran out of time)."""
    env = {**os.environ, "MUTANT_UNDER_TEST": mutant}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly",
               "-p", "no:cacheprovider", "--tb=no", "--no-header", *arguments]
    try:
        code = subprocess.run(command, cwd=MUTANTS, env=env, capture_output=True,
                              timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        return None
    if code not in (0, 1, 2):  # 2: an error while importing or collecting, a kill too
        raise RuntimeError(f"pytest exited with {code} for {mutant}: check the set-up")
    return code


def run_tests(mutant, tests, timeout, exercise_ids=None):
    """Kill ``mutant`` if the tests can: first those named after its module's
    exercises (quick), then, if they all pass, every test."""
    start = time.monotonic()
    code = 0
    if exercise_ids:
        code = pytest_exit_code(mutant, [*tests, "-k", " or ".join(exercise_ids)], timeout)
    if code == 0:
        code = pytest_exit_code(mutant, tests, timeout)
    exit_code = TIMEOUT if code is None else SURVIVED if code == 0 else KILLED
    return Outcome(mutant, exit_code, time.monotonic() - start)


def record(outcome, module):
    """Write one result into mutmut's record of the module, as `mutmut run` would."""
    path = meta_path(module)
    meta = json.loads(path.read_text())
    meta["exit_code_by_key"][outcome.mutant] = outcome.exit_code
    meta.setdefault("durations_by_key", {})[outcome.mutant] = outcome.seconds
    path.write_text(json.dumps(meta, indent=4))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("only", nargs="?", help="run only mutants whose name contains this")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once (default 2)")
    args = parser.parse_args(argv)

    tests = test_selection()
    baseline = run_tests("", tests, timeout=None)
    if baseline.exit_code != SURVIVED:
        sys.exit("the tests fail in mutants/ without any mutant: run `mutmut run` first")
    timeout = 10 * baseline.seconds + 30
    mutants = mutants_of(import_time_functions(), args.only)
    print(f"{len(mutants)} mutants of functions called at import; the tests take "
          f"{baseline.seconds:.0f} s without a mutant")
    counts = {KILLED: 0, SURVIVED: 0, TIMEOUT: 0}
    ids = {module: exercises_of(module) for module in set(mutants.values())}
    with ThreadPoolExecutor(args.jobs) as pool:
        for outcome in pool.map(lambda m: run_tests(m, tests, timeout, ids[mutants[m]]),
                                mutants):
            record(outcome, mutants[outcome.mutant])
            counts[outcome.exit_code] += 1
            if outcome.exit_code == SURVIVED:
                print(f"survived: {outcome.mutant}", flush=True)
    print(f"killed {counts[KILLED]}, timed out {counts[TIMEOUT]}, survived {counts[SURVIVED]}")


if __name__ == "__main__":
    main()
