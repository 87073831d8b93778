"""The clean run: the student's answer cells, alone, where the reference cannot be reached.

The scores come from here, not from the notebook's kernel. For each
submission a fresh interpreter, in a cage of its own (``sandbox``: it shares
no writable folder with the notebook's kernel), runs:

1. the released notebook's own import statements (the course's setup, so that
   ``np`` and ``F`` mean what the lessons say; imports that fail are skipped);
2. the student's answer cells only: the cells at the released solution cells
   (nbgrader ``solution``), and the student's extra cells that define a name
   those use (a helper, or an answer moved to a cell of its own). Nothing
   else of the notebook runs there, so top-level patching elsewhere changes
   nothing;
3. for each check, the student's function on the trial inputs, which the
   grader made from the secret seed and passes in as data (``to_data``): the
   seed never enters this process. ``trials.call_student`` records outputs,
   errors, modified arguments and numpy warnings, which are judged here by
   ``grade`` as before.

What the clean interpreter can import of bplib is a folder built here
(``build_env``): ``bplib.grading.trials`` (the student-side half),
``bplib.datasets``, ``bplib.plotting``, the forward functions of
``bplib.functional`` and ``bplib.gradcheck.describe_error``, the ones the
course allows, and a ``check`` that checks nothing (``.passed`` is False).
Every other public name of those modules is an ``Unavailable`` stand-in
that raises ``ReferenceUnavailable`` when used; the other modules
(``bplib.nn``, ``bplib.models``, the grading package, ...) do not exist
there, and under bwrap the real package's folder is not in its file view.
An exercise whose function needs them fails there, scores 0 and is flagged
``uses-reference:<exercise>``.
"""

import ast
import asyncio
import inspect
import json
import os
import re
import signal
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic

# The student-side program of a clean run. It imports the trials module (the
# student-side half) and decodes the trials before any student code runs. A
# cell is stopped after the time limit by SIGALRM raising KeyboardInterrupt; a
# check by the trials module's own time_limit, which records a Timeout as
# run_trials does in a notebook.
HARNESS = r'''
import builtins, json, linecache, signal, sys

job_path, out_path = sys.argv[1], sys.argv[2]
with open(job_path) as f:
    job = json.load(f)
sys.path[:0] = [job["clean_dir"]]
sys.path += [p for p in job["site"] if p not in sys.path]

from bplib.grading.trials import (CheckTimeout, call_student, from_data,
                                  not_callable_record, time_limit, timeout_record)

out = open(out_path, "a", encoding="utf-8")


def emit(obj):
    out.write(json.dumps(obj) + "\n")
    out.flush()


def describe(exc):
    try:
        message = str(exc)[:500]
    except Exception:
        message = ""
    name = getattr(exc, "name", None)
    return {"type": type(exc).__name__, "message": message,
            "name": name if isinstance(name, str) else None}


def alarm(signum, frame):
    raise KeyboardInterrupt("time limit")


signal.signal(signal.SIGALRM, alarm)
limit = max(1, int(job["timeout"]))
trials = [[from_data(t) for t in check["trials"]] for check in job["checks"]]
namespace = {"__name__": "__main__", "__builtins__": builtins}
for source in job["preamble"]:
    try:
        exec(compile(source, "<the course's setup>", "exec"), namespace)
    except BaseException:
        pass


def run_cell(index, source):
    filename = "<cell %d>" % index
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    signal.alarm(limit)
    try:
        exec(compile(source, filename, "exec"), namespace)
    except KeyboardInterrupt:
        emit({"cell": index, "timeout": True})
    except BaseException as exc:
        emit({"cell": index, "error": describe(exc)})
    finally:
        signal.alarm(0)


def run_check(check, inputs):
    exercise = check["exercise"]
    emit({"start": exercise})
    try:
        fn = eval(check["expression"], namespace)
    except BaseException as exc:
        emit({"exercise": exercise, "missing": describe(exc)})
        return
    if not callable(fn):
        emit({"exercise": exercise, "records": [not_callable_record(fn)]})
        return
    target = fn
    if check.get("drive"):
        scope = {"__name__": "bplib_drive"}
        exec(check["drive"], scope)
        drive = scope[check["drive_name"]]
        target = lambda *args: drive(fn, *args)
    records = []
    try:
        with time_limit(check["limit"]):
            for args in inputs:
                records.append(call_student(target, args, check["arg_names"]))
    except (CheckTimeout, KeyboardInterrupt):
        if len(records) < len(inputs):
            records.append(timeout_record(check["limit"]))
    emit({"exercise": exercise, "records": records})


# In the notebook's order: a check runs once the answer cells above it have run.
for step in job["steps"]:
    if step[0] == "cell":
        run_cell(step[1], step[2])
    else:
        run_check(job["checks"][step[1]], trials[step[1]])
'''

# Stand-ins for the names of bplib the clean run does not have.
UNAVAILABLE = '''"""Stand-ins for bplib's reference implementations, absent from a clean run."""


class ReferenceUnavailable(ImportError):
    """bplib's reference implementations are not available where answers are graded."""


class Unavailable:
    """Any use of this name raises ReferenceUnavailable."""

    def __init__(self, name):
        object.__setattr__(self, "_bplib_name", name)

    def _fail(self, *args, **kwargs):
        raise ReferenceUnavailable(
            object.__getattribute__(self, "_bplib_name") + " is not available where your "
            "answers are graded (bplib's reference implementation): write your own")

    __call__ = __getattr__ = __getitem__ = __iter__ = __len__ = __bool__ = _fail
    __add__ = __radd__ = __mul__ = __rmul__ = __matmul__ = __rmatmul__ = _fail
'''

REFERENCE_ERRORS = ("ReferenceUnavailable", "ModuleNotFoundError", "ImportError",
                    "AttributeError", "FileNotFoundError", "PermissionError", "NameError")


# --------------------------------------------------------------------------
# What runs: the course's imports and the answer cells
# --------------------------------------------------------------------------

def plain_python(source):
    """A cell's code as plain Python (IPython magics and shell escapes dropped)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(source)
    except Exception:
        return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                         for line in source.splitlines())


def _tree(source):
    try:
        return ast.parse(plain_python(source))
    except (SyntaxError, ValueError):
        return None


def _defines(tree):
    names = set()
    for node in tree.body if tree else []:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _loads(tree):
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} if tree else set()


def _solution(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return isinstance(meta, dict) and bool(meta.get("solution"))


def answer_cells(cells, released, expressions=()):
    """[(index, plain source)] of the assembled cells that run in the clean run.

    The cells at released solution cells (the student's, or the release's
    own where the student deleted one; when the release marks none, at every
    released cell that is neither locked nor a check), and,
    to a fixed point, the student's extra cells defining a name that those
    cells or the checks' expressions use.
    """
    released_cells = released.nb.cells
    marked = any(_solution(c) for c in released_cells)

    def is_answer_place(r):
        if r is None or r in released.check_cells:
            return False
        cell = released_cells[r]
        if marked:
            return _solution(cell)
        meta = cell.get("metadata", {}).get("nbgrader", {})
        return not (isinstance(meta, dict) and meta.get("locked"))

    # the student's cells, and the release's own answer cells restored in place of deleted ones
    mine = [(i, c) for i, c in enumerate(cells) if c.kind in ("student", "instructor")]
    trees = {i: _tree(c.source) for i, c in mine}
    chosen = {i for i, c in mine if is_answer_place(c.released_index)}
    extra = {i for i, c in mine if c.kind == "student" and c.released_index is None}
    wanted = set().union(*(_loads(trees[i]) for i in chosen)) | \
        {n for e in expressions for n in _loads(_tree(e))}
    while True:
        more = {i for i in extra - chosen if _defines(trees[i]) & wanted}
        if not more:
            break
        chosen |= more
        wanted |= set().union(*(_loads(trees[i]) for i in more))
    return [(i, plain_python(cells[i].source)) for i in sorted(chosen)]


def preamble(released, used=None):
    """The import statements of the released notebook's cells that are not answers
    (only those binding a name in ``used``, when given: matplotlib is slow to import)."""
    found = []
    for cell in released.nb.cells:
        if cell.cell_type != "code" or _solution(cell):
            continue
        tree = _tree(cell.source)
        for node in tree.body if tree else []:
            if isinstance(node, (ast.Import, ast.ImportFrom)) and (
                    used is None or _defines(ast.Module(body=[node], type_ignores=[])) & used):
                found.append(ast.unparse(node))
    return list(dict.fromkeys(found))


# --------------------------------------------------------------------------
# The clean interpreter's bplib
# --------------------------------------------------------------------------

def _stub_lines(module, keep):
    """Unavailable stand-ins for the public names of a real module not in ``keep``."""
    names = sorted(n for n in vars(module) if not n.startswith("_") and n not in keep
                   and not isinstance(vars(module)[n], type(sys)))
    return [f'{n} = Unavailable("{module.__name__}.{n}")' for n in names]


def _functional_source():
    """bplib.functional's allowed functions (the forward ones), copied, and stand-ins."""
    from bplib import functional
    from bplib.classroom.catalogue import catalogue

    cat = catalogue()
    kept, sources = set(), []
    for name, value in vars(functional).items():
        if inspect.isfunction(value) and value.__module__ == functional.__name__ \
                and cat.lookup(value) is None:
            kept.add(name)
            sources.append(inspect.getsource(value))
    header = ('"""bplib.functional in a clean run: its forward functions only."""\n\n'
              "import numpy as np\n\nfrom bplib._unavailable import Unavailable\n\n")
    return header + "\n\n".join(sources) + "\n\n" + "\n".join(_stub_lines(functional, kept)) + "\n"


def _gradcheck_source():
    from bplib import gradcheck
    return ('"""bplib.gradcheck in a clean run: describe_error only."""\n\n'
            "from bplib._unavailable import Unavailable\n\n\n"
            + inspect.getsource(gradcheck.describe_error) + "\n\n"
            + "\n".join(_stub_lines(gradcheck, {"describe_error"})) + "\n")


def _package_source():
    import bplib
    stubs = [f'{n} = Unavailable("bplib.{n}")' for n in sorted(_module_names())
             if n not in ("datasets", "plotting", "functional", "gradcheck", "grading")]
    return ('"""bplib in a clean run: datasets, plotting, the forward functions of functional, '
            'describe_error and the grading trials module; no reference implementations."""\n\n'
            "from bplib._unavailable import Unavailable\n\n"
            f"__version__ = {getattr(bplib, '__version__', '0')!r}\n"
            + "\n".join(stubs) + "\n")


def _module_names():
    import bplib
    root = Path(bplib.__file__).parent
    return {p.stem for p in root.glob("*.py") if p.stem != "__init__"} | \
        {p.name for p in root.iterdir() if (p / "__init__.py").exists()}


GRADING = '''"""bplib.grading in a clean run: the trials module, and a check that checks nothing."""

from bplib._unavailable import Unavailable


class NotChecked:
    """What check() returns in a clean run: there is no reference to check against."""

    passed, score, status = False, 0.0, "not checked"
    feedback = "not checked: this is the grader's clean run of your answer cells"


def check(exercise_id, fn, *, seed=None, timeout=None):
    return NotChecked()


'''


def _grading_source():
    import bplib.grading as grading
    return GRADING + "\n".join(_stub_lines(grading, {"check"})) + "\n"


_ENV_FILES = None


def env_files():
    """{relative path: text} of the clean interpreter's bplib (made once)."""
    global _ENV_FILES
    if _ENV_FILES is None:
        import bplib
        root = Path(bplib.__file__).parent
        _ENV_FILES = {
            "bplib/__init__.py": _package_source(),
            "bplib/_unavailable.py": UNAVAILABLE,
            "bplib/functional.py": _functional_source(),
            "bplib/gradcheck.py": _gradcheck_source(),
            "bplib/datasets.py": (root / "datasets.py").read_text(),
            "bplib/plotting.py": (root / "plotting.py").read_text(),
            "bplib/grading/__init__.py": _grading_source(),
            "bplib/grading/trials.py": (root / "grading" / "trials.py").read_text(),
            "clean_harness.py": HARNESS,
        }
    return _ENV_FILES


def build_env(folder):
    """Write the clean interpreter's files into folder; returns it."""
    folder = Path(folder)
    for relative, text in env_files().items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def site_dirs():
    """Where third-party packages (numpy, matplotlib) are, without bplib's own folder."""
    import bplib
    package_parent = str(Path(bplib.__file__).resolve().parent.parent)
    paths = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    paths += [p for p in sys.path if p and ("site-packages" in p or "dist-packages" in p)]
    return [p for p in dict.fromkeys(paths)
            if os.path.isdir(p) and os.path.realpath(p) != package_parent]


# --------------------------------------------------------------------------
# Trials as data
# --------------------------------------------------------------------------

_TRIALS = {}


def trial_data(exercise_id, seed):
    """The trial inputs of an exercise for a seed, as data (cached per batch)."""
    key = (exercise_id, seed)
    if key not in _TRIALS:
        from bplib.grading import make_trials
        from bplib.grading.trials import to_data
        _TRIALS[key] = [to_data(tuple(t.args)) for t in make_trials(exercise_id, seed)]
        if len(_TRIALS) > 256:
            _TRIALS.pop(next(iter(_TRIALS)))
    return _TRIALS[key]


def _drive(exercise):
    """How a class exercise's trials drive the student's class, as source code:
    the drive function and the module-level definitions it uses (never the
    exercise's reference), in their module's order."""
    drive = getattr(exercise, "drive", None)
    if drive is None:
        return {}
    module = inspect.getmodule(drive)
    source = inspect.getsource(module)
    tree = ast.parse(source)
    reference = getattr(exercise.reference, "__name__", None)
    binds = {}
    for node in tree.body:
        for name in _defines(ast.Module(body=[node], type_ignores=[])):
            binds.setdefault(name, node)
    wanted, chosen = [drive.__name__], set()
    while wanted:
        name = wanted.pop()
        node = binds.get(name)
        if node is None or id(node) in chosen or name == reference:
            continue
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bplib"):
            continue
        chosen.add(id(node))
        wanted += list(_loads(node))
    kept = [ast.get_source_segment(source, n) for n in tree.body if id(n) in chosen]
    return {"drive": "\n\n".join(kept) + "\n", "drive_name": drive.__name__}


# --------------------------------------------------------------------------
# Running it
# --------------------------------------------------------------------------

@dataclass
class CleanRun:
    """What the clean run said, per exercise and per answer cell."""

    payloads: dict = field(default_factory=dict)   # exercise -> {"records": [...]} or {"missing"}
    cell_errors: dict = field(default_factory=dict)  # cell index -> error dict (or timeout)
    started: list = field(default_factory=list)    # exercises whose trials began
    status: str = "completed"  # "completed", "timeout" or "died"
    message: str = ""
    seconds: float = 0.0
    cells: list = field(default_factory=list)      # [(index, source)] that ran


async def run(cells, released, checks, seed, *, sandbox, cell_timeout, total_timeout):
    """Run the answer cells of assembled ``cells`` and the ``checks`` ([(exercise id,
    expression, index of its harness cell)]) in a clean interpreter, in the
    notebook's order; returns a CleanRun."""
    from bplib.grading import EXERCISES
    from bplib.grading.verdict import time_limit_of

    started = monotonic()
    result = CleanRun()
    result.cells = answer_cells(cells, released, [e for _, e, _ in checks])
    cage = sandbox.cage(total_timeout)
    try:
        clean_dir = build_env(cage.runtime / "clean")
        used = set().union(*(_loads(_tree(source)) for _, source in result.cells)) | \
            {n for _, e, _ in checks for n in _loads(_tree(e))}
        steps = [("cell", i, source) for i, source in result.cells]
        steps += [("check", k, index) for k, (_, _, index) in enumerate(checks)]
        steps.sort(key=lambda step: (step[1] if step[0] == "cell" else step[2], step[0]))
        job = {"clean_dir": str(clean_dir), "site": site_dirs(), "timeout": cell_timeout,
               "preamble": preamble(released, used), "steps": [s[:3] for s in steps],
               "checks": [{"exercise": ex, "expression": expr,
                           "arg_names": list(EXERCISES[ex].arg_names),
                           "limit": min(cell_timeout, time_limit_of(ex)),
                           "trials": trial_data(ex, seed), **_drive(EXERCISES[ex])}
                          for ex, expr, _ in checks]}
        job_path, out_path = cage.runtime / "job.json", cage.runtime / "out.jsonl"
        job_path.write_text(json.dumps(job))
        argv = cage.command([sys.executable, "-I", "-S", "-B", str(clean_dir / "clean_harness.py"),
                             str(job_path), str(out_path)], reference_visible=False)
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, cwd=str(cage.home), env=cage.env(),
            start_new_session=True)
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), total_timeout)
        except asyncio.TimeoutError:
            result.status = "timeout"
            result.message = f"stopped after {total_timeout:g} s"
            _kill(process)
            await process.wait()
            stderr = b""
        except asyncio.CancelledError:
            _kill(process)
            raise
        if result.status == "completed" and process.returncode != 0:
            result.status = "died"
            tail = (stderr or b"").decode(errors="replace").strip().splitlines()[-1:]
            result.message = f"it stopped (exit status {process.returncode})" + \
                (f": {tail[0][:300]}" if tail else "")
        _read(out_path, result)
    finally:
        await cage.aclose()
    result.seconds = monotonic() - started
    return result


def _kill(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        try:
            process.kill()
        except ProcessLookupError:
            pass


def _read(path, result):
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return
    for line in lines:
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if not isinstance(item, dict):
            continue
        if "cell" in item and isinstance(item["cell"], int):
            result.cell_errors.setdefault(item["cell"], item.get("error") or {"type": "Timeout"})
        elif isinstance(item.get("start"), str):
            result.started.append(item["start"])
        elif isinstance(item.get("exercise"), str) and item["exercise"] not in result.payloads:
            if isinstance(item.get("records"), list) or "missing" in item:
                result.payloads[item["exercise"]] = item


# --------------------------------------------------------------------------
# Did it need the reference?
# --------------------------------------------------------------------------

_NAME_ERROR = re.compile(r"name '([^']+)' is not defined")


def _bplib_names(sources):
    """Names the answer cells bind by importing from bplib."""
    names = set()
    for source in sources:
        tree = _tree(source)
        for node in ast.walk(tree) if tree else []:
            if isinstance(node, ast.Import):
                names |= {(a.asname or a.name).split(".")[0] for a in node.names
                          if a.name.split(".")[0] == "bplib"}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bplib"):
                names |= {a.asname or a.name for a in node.names}
    return names


def needs_reference(error, bound):
    """True when an error (type, message[, name]) says code wanted bplib's reference."""
    if not isinstance(error, dict):
        return False
    kind, message = error.get("type", ""), error.get("message", "") or ""
    if kind == "ReferenceUnavailable":
        return True
    if kind == "NameError":
        match = _NAME_ERROR.search(message)
        return bool(match and match.group(1) in bound)
    return kind in REFERENCE_ERRORS and "bplib" in message


def reference_evidence(clean, exercise):
    """(cell index or None, error) showing that an exercise's function needed
    bplib's reference in the clean run, or None."""
    bound = _bplib_names(s for _, s in clean.cells)
    payload = clean.payloads.get(exercise, {})
    for record in payload.get("records") or []:
        if isinstance(record, dict) and needs_reference(record.get("error"), bound):
            return None, record["error"]
    if "missing" in payload or all(
            isinstance(r, dict) and r.get("error") for r in payload.get("records") or [{}]):
        for index, error in clean.cell_errors.items():
            if needs_reference(error, bound):
                return index, error
        if needs_reference(payload.get("missing"), bound):
            return None, payload["missing"]
    return None
