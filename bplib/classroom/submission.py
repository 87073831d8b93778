"""Grading one submitted notebook, as a pipeline of steps (``STEPS``).

Each step reads and extends a ``Job``; a step that can go no further (an
unreadable or unmatched file) sets ``job.record`` and the pipeline stops:

1. ``match_and_assemble``: read the file, find its released notebook, build
   the cells that run (``assemble``);
2. ``scan_code``: the static scan for bplib's reference implementations;
3. ``execute``: run the cells in a fresh kernel;
4. ``judge``: grade each check's trial records in the grader's process;
5. ``summarise``: the notebook's record (points, status, flags, errors, timing).

The scores come from a *clean run* (``clean_run``): a fresh interpreter that
loads only the notebook's answer cells, where bplib's reference cannot be
imported or read, calls the student's functions on trial inputs made here
from the secret seed and passed in as data, and sends back portable records
that ``bplib.grading.grade`` judges in the grader's own process. Nothing else
in the notebook runs there, so nothing it does to numpy, ``check``, the
grader or its own output can change a verdict, and the seed never enters a
process the student's code runs in. The whole notebook also runs, in a
kernel of its own, for the feedback page: there a *harness* cell in place of
each check calls ``run_trials`` on the public default trials.
"""

import ast
import asyncio
import inspect
import json
import re
import secrets
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic

from bplib.classroom import assemble as asm
from bplib.classroom import clean_run, kernel, scan
from bplib.classroom import sandbox as sandboxes
from bplib.classroom.records import (GRADED, GRADER_ERROR, INVALID, KERNEL_DIED, TIMEOUT,
                                     UNMATCHED, CellError, ExerciseRecord, NotebookRecord)
from bplib.grading.cells import parse_cell

MAX_NOTEBOOK_BYTES = 50_000_000

_HARNESS = '''\
def _bplib_harness_{nonce}():
    import builtins, json, sys
    from bplib.grading import run_trials
    try:
        fn = builtins.eval({expression!r}, builtins.globals())
    except BaseException as exc:
        payload = {{"error": "%s: %s" % (builtins.type(exc).__name__, exc)}}
    else:
        payload = {{"records": run_trials({exercise!r}, fn)}}
    sys.stdout.write("\\n{begin}" + json.dumps(payload) + "{end}\\n")
    sys.stdout.flush()
try:
    _bplib_harness_{nonce}()
finally:
    del _bplib_harness_{nonce}
'''


class Unreadable(Exception):
    pass


def read_notebook(path):
    """The notebook at path (never written), or raise Unreadable with a reason."""
    import nbformat

    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            raise Unreadable(f"the file is too large ({size / 1e6:.0f} MB)")
        data = path.read_bytes()
    except OSError as exc:
        raise Unreadable(f"could not read the file ({exc.strerror or exc})") from None
    if not data.strip():
        raise Unreadable("the file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unreadable("not a notebook (the file is not UTF-8 text)") from None
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise Unreadable(f"not a notebook (invalid JSON: {exc})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells", raw.get("worksheets")),
                                                   list):
        raise Unreadable("not a notebook (no list of cells)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)
        for cell in nb.cells:
            if cell.get("cell_type") not in ("code", "markdown", "raw") or \
                    not isinstance(cell.get("source"), str):
                raise ValueError("a cell has no type or no source")
            cell.setdefault("metadata", {})
    except Exception as exc:
        raise Unreadable(f"not a valid notebook ({type(exc).__name__}: {exc})") from None
    return nb


def harness_factory():
    """A function making the harness cell of a check, and the markers it prints.

    The harness runs the public default trials: no seed ever enters the kernel."""
    nonce = secrets.token_hex(16)
    begin, end = f"<<<bplib-records-{nonce}>>>", f"<<<end-{nonce}>>>"

    def harness(check):
        return _HARNESS.format(nonce=nonce, expression=check.expression,
                               exercise=check.exercise_id, begin=begin, end=end)

    pattern = re.compile(re.escape(begin) + r"(.*?)" + re.escape(end), re.DOTALL)
    return harness, pattern


def _parse_payload(stdout, pattern):
    found = pattern.findall(stdout)
    if len(found) != 1:
        return None, ("the grader's output was missing" if not found else
                      "the grader's output appeared more than once (was it tampered with?)")
    try:
        payload = json.loads(found[0])
    except ValueError:
        return None, "the grader's output was not readable"
    if not isinstance(payload, dict) or not (isinstance(payload.get("records"), list)
                                             or isinstance(payload.get("error"), str)):
        return None, "the grader's output was not readable"
    return payload, None


def _first_line(source):
    for line in source.splitlines():
        if line.strip():
            return line.strip()[:80]
    return ""


@dataclass
class Job:
    """One notebook on its way through the steps: what each step reads and adds."""

    path: Path
    student: str
    release: list
    seed: int
    cell_timeout: float
    total_timeout: float
    kernel_name: str = "python3"
    sanctioned_cache: dict = None   # released notebook name -> names it may use
    released: object = None         # match_and_assemble (or given by the batch)
    nb: object = None
    assembly: object = None
    pattern: object = None          # the harness markers
    found: object = None            # scan_code: a scan.ScanResult
    execution: object = None        # execute: a kernel.Execution (the notebook's kernel)
    clean: object = None            # execute: a clean_run result (where the scores come from)
    exercises: list = None          # judge: ExerciseRecord per check
    record: NotebookRecord = None   # summarise, or a step that ends grading early
    timing: dict = field(default_factory=dict)
    started: float = field(default_factory=monotonic)

    @property
    def cells(self):
        return self.assembly.cells


async def grade_notebook(path, student, release, *, released=None, **options):
    """Grade one notebook file; returns its NotebookRecord. Never raises because
    of the submission: a failure of the grader itself is a record too.

    ``released`` is the released notebook it answers, when the caller knows
    (else it is matched by file name, then by cell ids).
    """
    job = Job(Path(path), student, release, released=released, **options)
    try:
        for step in STEPS:
            done = step(job)
            if inspect.isawaitable(done):
                await done
            if job.record is not None:
                break  # summarised, or a step could go no further
        return job.record
    except Exception as exc:  # a bug of ours must not stop the batch
        import traceback
        record = NotebookRecord.new(student, job.released.name if job.released else
                                    Path(path).name, path, GRADER_ERROR,
                                    f"the grader failed: {type(exc).__name__}: {exc}",
                                    job.released)
        record.traceback = traceback.format_exc()[-4000:]
        return record


# --------------------------------------------------------------------------
# The steps
# --------------------------------------------------------------------------

def match_and_assemble(job):
    """Read the file, find its released notebook, build the cells that run."""
    by_name = job.released or next((r for r in job.release if r.name == job.path.name), None)
    if by_name is None and len(job.release) == 1:
        by_name = job.release[0]  # an unreadable file can only be an answer to that one
    try:
        job.nb = read_notebook(job.path)
    except Unreadable as exc:
        job.record = NotebookRecord.new(job.student, by_name.name if by_name else job.path.name,
                                        job.path, INVALID, str(exc), by_name)
        return
    job.released = job.released or asm.match_release(job.path.name, job.nb, job.release)
    if job.released is None:
        job.record = NotebookRecord.new(
            job.student, job.path.name, job.path, UNMATCHED,
            "no released notebook matches it (by file name or by its cells)")
        return
    harness, job.pattern = harness_factory()
    job.assembly = asm.assemble(job.released, job.nb, harness)


def scan_code(job):
    """The static scan of the code that runs for bplib's reference implementations."""
    cache, name = job.sanctioned_cache, job.released.name
    if cache is not None and name in cache:
        sanctioned = cache[name]
    else:
        sanctioned = scan.sanctioned_names(c.source for c in job.released.nb.cells
                                           if c.cell_type == "code")
        if cache is not None:
            cache[name] = sanctioned
    checks = [(c.exercise_id, c.expression, i) for i, c in enumerate(job.cells)
              if c.kind == "harness"]
    job.found = scan.scan([(c.source, c.kind == "student" and c.edited) for c in job.cells],
                          checks, sanctioned)


async def execute(job):
    """Run the cells in a fresh kernel (a check cell is skipped when its harness could
    not call the student's function), and, at the same time, the answer cells and
    the checks on the secret seed's trials in a clean run (``clean_run``), both in
    cages of the batch's sandbox. The kernel's harness cells run the public
    default trials: the secret seed never enters the kernel."""
    cells = job.cells
    checks = [(c.exercise_id, c.expression, i) for i, c in enumerate(cells)
              if c.kind == "harness"]
    sandbox = sandboxes.current()

    def skip(index, outcomes):
        cell = cells[index]
        if cell.kind != "replay":
            return False
        return any(outcomes[i].status in ("timeout", "not run") or
                   (outcomes[i].status == "error" and outcomes[i].ename != "NameError")
                   for i, c in enumerate(cells[:index])
                   if c.kind == "harness" and c.released_index == cell.released_index)

    job.execution, job.clean = await asyncio.gather(
        kernel.execute([(c.kind, c.source) for c in cells],
                    cell_timeout=job.cell_timeout, total_timeout=job.total_timeout,
                    kernel_name=job.kernel_name, skip=skip, sandbox=sandbox, ahead=True),
        clean_run.run(cells, job.released, checks, job.seed, sandbox=sandbox,
                      cell_timeout=job.cell_timeout, total_timeout=job.total_timeout))


async def judge(job):
    """Grade each check's trial records here, in the grader's own process."""
    started = monotonic()
    loop = asyncio.get_running_loop()
    job.exercises = await loop.run_in_executor(None, _judge_all, job)
    job.timing["grading"] = monotonic() - started


def summarise(job):
    """The notebook's record: points, status and message, flags, errors, timing."""
    cells, execution, found, assembly = job.cells, job.execution, job.found, job.assembly
    record = NotebookRecord.new(job.student, job.released.name, job.path, GRADED)
    record.exercises = job.exercises
    record.flags = found.flags()
    record.notes = [f"cell {_student_cell(cells, u.cell)}: uses {u.where()}"
                    for u in found.notes]
    record.cell_errors = _cell_errors(job)
    reported = {e.cell for e in record.cell_errors}
    record.cell_errors += [CellError(_student_cell(cells, i), _first_line(cells[i].source),
                                     "SyntaxError: this cell is not valid Python")
                           for i in found.unparsable if _student_cell(cells, i) not in reported]
    if assembly.restored:
        record.flags.append(f"restored-cells:{len(assembly.restored)}")
    if assembly.edited_locked or assembly.dropped:
        record.flags.append(
            f"edited-locked-cells:{len(assembly.edited_locked) + len(assembly.dropped)}")
    if assembly.deleted_locked:
        record.flags.append(f"deleted-locked-cells:{len(assembly.deleted_locked)}")
    timed_out = [o for o in execution.outcomes if o.status == "timeout"]
    if execution.status == "kernel-died":
        record.status, record.message = KERNEL_DIED, _death_message(cells, execution)
    elif execution.status == "timeout" or timed_out:
        record.status = TIMEOUT
        record.message = execution.message or _timeout_message(job)
    elif execution.status == "grader-error":
        record.status = GRADER_ERROR
        record.message = f"the grader could not run the notebook: {execution.message}"
    seconds = {}
    for cell, outcome in zip(cells, execution.outcomes):
        key = {"student": "cells", "instructor": "cells"}.get(cell.kind, cell.kind)
        seconds[key] = seconds.get(key, 0.0) + outcome.seconds
    record.timing = {"kernel_start": round(execution.kernel_seconds, 3),
                     "cells": round(seconds.get("cells", 0.0), 3),
                     "run_trials": round(seconds.get("harness", 0.0), 3),
                     "check_cells": round(seconds.get("replay", 0.0), 3),
                     "clean_run": round(job.clean.seconds, 3),
                     "grading": round(job.timing.get("grading", 0.0), 3),
                     "total": round(monotonic() - job.started, 3)}
    job.record = record


STEPS = (match_and_assemble, scan_code, execute, judge, summarise)


# --------------------------------------------------------------------------
# Helpers of the steps
# --------------------------------------------------------------------------

def _student_cell(cells, index):
    """How to name a cell of the run notebook to the student (1-based, theirs)."""
    cell = cells[index]
    if cell.student_index is not None:
        return cell.student_index + 1
    return None


def _judge_all(job):
    from bplib.grading import grade

    cells, found = job.cells, job.found
    points = {c.exercise_id: c.points for c in job.released.checks}
    results = []
    for index, cell in enumerate(cells):
        if cell.kind != "harness":
            continue
        exercise = cell.exercise_id
        entry = ExerciseRecord(exercise, points[exercise], status="")
        payload = job.clean.payloads.get(exercise)  # the scores come from the clean run
        if payload is None:
            entry.status = "timeout" if job.clean.status == "timeout" else "error"
            why = job.clean.message or "it stopped before this check"
            entry.feedback = (f"{exercise}: could not be graded: the run of your answer cells "
                              f"stopped before its check ({why}).")
        elif "missing" in payload:
            error = payload["missing"] if isinstance(payload["missing"], dict) else {}
            entry.status = "missing"
            entry.feedback = (f"{exercise}: `{cell.expression}` does not exist when your "
                              f"answer cells have run ({error.get('type')}: "
                              f"{error.get('message')}). Did its cell run without errors?")
        else:
            result = grade(exercise, payload["records"], job.seed)
            entry.status, entry.score = result.status, float(result.score)
            entry.feedback, entry.trials = result.feedback, result.to_dict()["trials"]
            entry.points = round(points[exercise] * float(result.score), 4)
        if exercise not in found.zeroed:
            use = _reference_use(job, exercise, index, entry)
            if use is not None:
                found.zeroed[exercise] = [use]
        uses = found.zeroed.get(exercise)
        if uses:
            in_notebook = _kernel_verdict(job, index)  # what the notebook's check says
            entry.check_status = in_notebook.status if in_notebook else entry.status
            entry.status = "uses-reference"
            entry.points = 0.0
            first = {}
            for u in uses:
                first.setdefault(u.name, f"{u.name}, cell {_student_cell(cells, u.cell) or '?'} "
                                         f"line {u.line}")
            where = "; ".join(first.values())
            entry.flagged = [u.name for u in uses]
            entry.feedback = (f"{exercise}: 0 points: your code uses bplib's reference "
                              f"implementation ({where}). Write your own.\n"
                              f"(Without that, the check said: {entry.feedback})")
        results.append(entry)
    return results


def _reference_use(job, exercise, index, entry):
    """A scan.Use when the clean run shows that the exercise's function needed bplib's
    reference: an error for a name it lacks there, or a function that passes the
    public trials in the notebook's kernel but is absent, not attempted or failing
    in every trial on its own (the notebook patched the grader or the check)."""
    evidence = clean_run.reference_evidence(job.clean, exercise)
    if evidence is not None:
        cell, error = evidence
        name = error.get("message", "").split(" is not available")[0] \
            if error.get("type") == "ReferenceUnavailable" else \
            f"bplib, missing where answers are graded ({error.get('type')}: " \
            f"{error.get('message', '')[:120]})"
        line = (error.get("where") or {}).get("line") or 0
        return scan.Use(name, frozenset({exercise}), index if cell is None else cell, line, True)
    if entry.status == "passed":
        return None
    failed_alone = entry.status in ("missing", "not attempted") or (
        entry.status == "failed" and entry.score == 0.0)
    in_notebook = _kernel_verdict(job, index) if failed_alone else None
    if in_notebook is not None and in_notebook.passed:
        return scan.Use("bplib's reference, reached outside your answer cells (your function "
                        "passes in your notebook but not on its own)",
                        frozenset({exercise}), index, 0, True)
    return None


def _kernel_verdict(job, index):
    """The check's verdict on the public default trials that the harness cell at
    ``index`` ran in the notebook's kernel (a CheckResult), or None."""
    from bplib.grading import grade

    payload, _ = _parse_payload(job.execution.outcomes[index].stdout, job.pattern)
    if not payload or "records" not in payload:
        return None
    return grade(job.cells[index].exercise_id, payload["records"])


def _cell_errors(job):
    errors = []
    for index, (cell, outcome) in enumerate(zip(job.cells, job.execution.outcomes)):
        if outcome.status not in ("error", "timeout") or cell.kind in ("harness", "replay"):
            continue
        if outcome.status == "timeout":
            text = f"ran longer than {job.cell_timeout:g} s and was interrupted"
            culprits = _stuck_functions(job, index)
            if culprits:
                text = f"{_your_functions(culprits)} did not return within " \
                       f"{job.cell_timeout:g} s; the cell was interrupted"
        elif outcome.ename == "DeadKernel":
            text = "the kernel died while this cell ran"
        else:
            text = f"{outcome.ename}: {outcome.evalue}"[:500]
        errors.append(CellError(_student_cell(job.cells, index), _first_line(cell.source), text,
                                cell.kind == "student"))
    return errors


def _where(cells, index):
    cell = cells[index]
    if cell.kind == "harness":
        return f"the check of {cell.exercise_id}"
    if cell.student_index is not None:
        return f"cell {cell.student_index + 1} (`{_first_line(cell.source)}`)"
    return f"a cell of the released notebook (`{_first_line(cell.source)}`)"


def _death_message(cells, execution):
    for index, outcome in enumerate(execution.outcomes):
        if outcome.ename == "DeadKernel":
            return (f"the kernel died while running {_where(cells, index)} (os.kill, os._exit, "
                    "a crash or running out of memory)")
    return "the kernel died"


def _student_functions(cells):
    """Names of the functions the student's cells define."""
    names = set()
    for cell in cells:
        if cell.kind == "student":
            tree = parse_cell(cell.source)
            names |= {n.name for n in (tree.body if tree else ())
                      if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    return names


def _stuck_functions(job, index):
    """The student's functions that a cell which timed out was running.

    Those it names whose own check timed out too, else every one of the
    student's functions it names; none for a cell that is the student's own
    definitions (its own top-level code did not stop).
    """
    cells, outcomes = job.cells, job.execution.outcomes
    cell = cells[index]
    if cell.kind == "harness":
        return [cell.expression]
    tree = parse_cell(cell.source)
    if tree is None:
        return []
    defined_here = {n.name for n in tree.body
                    if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    theirs = sorted(used & _student_functions(cells) - defined_here)
    stuck = {c.expression for c, o in zip(cells, outcomes)
             if c.kind == "harness" and o.status == "timeout"}
    return [name for name in theirs if name in stuck] or theirs


def _your_functions(names):
    listed = ", ".join(f"`{n}`" for n in names)
    return f"your function {listed}" if len(names) == 1 else f"one of your functions {listed}"


def _timeout_message(job):
    """What did not stop: the student's function, if a function was running, once."""
    parts, named = [], set()
    for index, outcome in enumerate(job.execution.outcomes):
        if outcome.status != "timeout":
            continue
        cell, culprits = job.cells[index], _stuck_functions(job, index)
        if culprits and set(culprits) <= named:
            continue  # called again by a later cell: already said
        named |= set(culprits)
        if culprits and cell.kind == "harness":
            parts.append(f"{_your_functions(culprits)} did not return within "
                         f"{job.cell_timeout:g} s on the grader's inputs (the check of "
                         f"{cell.exercise_id})")
        elif culprits:
            parts.append(f"{_your_functions(culprits)} did not return within "
                         f"{job.cell_timeout:g} s, called by {_where(job.cells, index)}")
        else:
            parts.append(f"{_where(job.cells, index)} ran longer than "
                         f"{job.cell_timeout:g} s and was interrupted")
    return "; ".join(parts)
