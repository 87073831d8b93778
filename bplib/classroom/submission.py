"""Grading one submitted notebook: read, match, assemble, scan, run, judge.

The student's functions run in the submission's kernel through a *harness*
cell that calls ``bplib.grading.run_trials(exercise_id, fn, seed)`` and
prints the portable records between two markers made from a random nonce;
the grader reads them back and calls ``bplib.grading.grade`` in its own
process, so nothing the notebook does to numpy, ``check`` or its own output
can change a verdict. The seed is drawn by the grader and never appears in
the student's notebook before the harness runs.
"""

import asyncio
import json
import re
import secrets
import warnings
from pathlib import Path
from time import monotonic

from bplib.classroom import assemble as asm
from bplib.classroom import run, scan

MAX_NOTEBOOK_BYTES = 50_000_000

GRADED, TIMEOUT, KERNEL_DIED = "graded", "timeout", "kernel-died"
INVALID, UNMATCHED, GRADER_ERROR = "invalid-notebook", "unmatched", "grader-error"
STATUSES = (GRADED, TIMEOUT, KERNEL_DIED, INVALID, UNMATCHED, GRADER_ERROR)

_HARNESS = '''\
def _bplib_harness_{nonce}():
    import builtins, json, sys
    from bplib.grading import run_trials
    try:
        fn = builtins.eval({expression!r}, builtins.globals())
    except BaseException as exc:
        payload = {{"error": "%s: %s" % (builtins.type(exc).__name__, exc)}}
    else:
        payload = {{"records": run_trials({exercise!r}, fn, {seed!r})}}
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


def harness_factory(seed):
    """A function making the harness cell of a check, and the markers it prints."""
    nonce = secrets.token_hex(16)
    begin, end = f"<<<bplib-records-{nonce}>>>", f"<<<end-{nonce}>>>"

    def harness(check):
        return _HARNESS.format(nonce=nonce, expression=check.expression,
                               exercise=check.exercise_id, seed=seed, begin=begin, end=end)

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


def _empty_record(student, notebook, path, status, message, released=None):
    exercises = []
    if released is not None:
        for check in released.checks:
            exercises.append({"exercise": check.exercise_id, "points": 0.0,
                              "max_points": check.points, "status": "not run", "score": 0.0,
                              "feedback": f"{check.exercise_id}: not graded ({message}).",
                              "flagged": [], "trials": []})
    return {"student": student, "notebook": notebook, "submission": str(path),
            "status": status, "message": message, "flags": [], "exercises": exercises,
            "total": 0.0, "max": released.max_points if released else 0.0,
            "cell_errors": [], "notes": [], "timing": {}}


async def grade_notebook(path, student, release, **options):
    """Grade one notebook file; returns its record (a JSON-able dict). Never raises
    because of the submission: a failure of the grader itself is a record too."""
    try:
        return await _grade_notebook(path, student, release, **options)
    except Exception as exc:  # a bug of ours must not stop the batch
        import traceback
        record = _empty_record(student, Path(path).name, path, GRADER_ERROR,
                               f"the grader failed: {type(exc).__name__}: {exc}")
        record["traceback"] = traceback.format_exc()[-4000:]
        return record


async def _grade_notebook(path, student, release, *, seed, cell_timeout, total_timeout,
                          kernel_name="python3", sanctioned_cache=None):
    started = monotonic()
    path = Path(path)
    by_name = next((r for r in release if r.name == path.name), None)
    if by_name is None and len(release) == 1:
        by_name = release[0]  # an unreadable file can only be an answer to that one
    try:
        nb = read_notebook(path)
    except Unreadable as exc:
        return _empty_record(student, by_name.name if by_name else path.name, path, INVALID,
                             str(exc), by_name)
    released = asm.match_release(path.name, nb, release)
    if released is None:
        return _empty_record(student, path.name, path, UNMATCHED,
                             "no released notebook matches it (by file name or by its cells)")

    harness, pattern = harness_factory(seed)
    assembly = asm.assemble(released, nb, harness)
    cells = assembly.cells
    checks = [(c.exercise_id, c.expression, i) for i, c in enumerate(cells)
              if c.kind == "harness"]
    if sanctioned_cache is not None and released.name in sanctioned_cache:
        sanctioned = sanctioned_cache[released.name]
    else:
        sanctioned = scan.sanctioned_names(c.source for c in released.nb.cells
                                           if c.cell_type == "code")
        if sanctioned_cache is not None:
            sanctioned_cache[released.name] = sanctioned
    found = scan.scan([(c.source, c.kind == "student" and c.edited) for c in cells], checks,
                      sanctioned)

    def skip(index, outcomes):
        cell = cells[index]
        if cell.kind != "replay":
            return False
        return any(outcomes[i].status in ("timeout", "not run") or
                   (outcomes[i].status == "error" and outcomes[i].ename != "NameError")
                   for i, c in enumerate(cells[:index])
                   if c.kind == "harness" and c.released_index == cell.released_index)

    execution = await run.execute([(c.kind, c.source) for c in cells],
                                  cell_timeout=cell_timeout, total_timeout=total_timeout,
                                  kernel_name=kernel_name, skip=skip)
    t_grade = monotonic()
    loop = asyncio.get_running_loop()
    exercises = await loop.run_in_executor(None, _judge_all, cells, execution, pattern, seed,
                                           released, found, cell_timeout)
    grade_seconds = monotonic() - t_grade

    record = _empty_record(student, released.name, path, GRADED, "", released)
    record["exercises"] = exercises
    record["total"] = round(sum(e["points"] for e in exercises), 4)
    record["flags"] = found.flags()
    record["notes"] = [f"cell {_student_cell(cells, u.cell)}: uses {u.where()}"
                       for u in found.notes]
    record["cell_errors"] = _cell_errors(cells, execution, cell_timeout)
    if found.unparsable:
        record["cell_errors"] += [{"cell": _student_cell(cells, i), "code": _first_line(
            cells[i].source), "error": "SyntaxError: this cell is not valid Python"}
            for i in found.unparsable if not any(
                e["cell"] == _student_cell(cells, i) for e in record["cell_errors"])]
    if assembly.restored:
        record["flags"].append(f"restored-cells:{len(assembly.restored)}")
    if assembly.edited_locked or assembly.dropped:
        record["flags"].append(
            f"edited-locked-cells:{len(assembly.edited_locked) + len(assembly.dropped)}")
    if assembly.deleted_locked:
        record["flags"].append(f"deleted-locked-cells:{len(assembly.deleted_locked)}")
    timed_out = [o for o in execution.outcomes if o.status == "timeout"]
    if execution.status == "kernel-died":
        record["status"] = KERNEL_DIED
        record["message"] = _death_message(cells, execution)
    elif execution.status == "timeout" or timed_out:
        record["status"] = TIMEOUT
        record["message"] = execution.message or _timeout_message(cells, execution,
                                                                  cell_timeout)
    elif execution.status == "grader-error":
        record["status"] = GRADER_ERROR
        record["message"] = f"the grader could not run the notebook: {execution.message}"
    kinds = {}
    for cell, outcome in zip(cells, execution.outcomes):
        key = {"student": "cells", "instructor": "cells"}.get(cell.kind, cell.kind)
        kinds[key] = kinds.get(key, 0.0) + outcome.seconds
    record["timing"] = {"kernel_start": round(execution.kernel_seconds, 3),
                        "cells": round(kinds.get("cells", 0.0), 3),
                        "run_trials": round(kinds.get("harness", 0.0), 3),
                        "check_cells": round(kinds.get("replay", 0.0), 3),
                        "grading": round(grade_seconds, 3),
                        "total": round(monotonic() - started, 3)}
    return record


def _student_cell(cells, index):
    """How to name a cell of the run notebook to the student (1-based, theirs)."""
    cell = cells[index]
    if cell.student_index is not None:
        return cell.student_index + 1
    return None


def _judge_all(cells, execution, pattern, seed, released, found, cell_timeout):
    from bplib.grading import grade

    points = {c.exercise_id: c.points for c in released.checks}
    results = []
    for index, cell in enumerate(cells):
        if cell.kind != "harness":
            continue
        exercise = cell.exercise_id
        outcome = execution.outcomes[index]
        entry = {"exercise": exercise, "points": 0.0, "max_points": points[exercise],
                 "status": "", "score": 0.0, "feedback": "", "flagged": [], "trials": []}
        payload, problem = _parse_payload(outcome.stdout, pattern)
        if outcome.status == "timeout":
            entry["status"] = "timeout"
            entry["feedback"] = (f"{exercise}: your function ran longer than {cell_timeout:g} s "
                                 "on the grader's inputs and was stopped (an infinite loop?).")
        elif outcome.status == "not run":
            entry["status"] = "not run"
            entry["feedback"] = f"{exercise}: not graded: the notebook stopped before its check."
        elif outcome.status == "error" and payload is None:
            entry["status"] = "error"
            why = "the kernel died" if outcome.ename == "DeadKernel" else \
                f"{outcome.ename}: {outcome.evalue}"
            entry["feedback"] = f"{exercise}: could not be graded ({why})."
        elif payload is None:
            entry["status"] = "error"
            entry["feedback"] = f"{exercise}: could not be graded ({problem})."
        elif "error" in payload:
            entry["status"] = "missing"
            entry["feedback"] = (f"{exercise}: `{cell.expression}` does not exist when the check "
                                 f"runs ({payload['error']}). Did its cell run without errors?")
        else:
            result = grade(exercise, payload["records"], seed)
            entry.update(status=result.status, score=float(result.score),
                         feedback=result.feedback,
                         trials=result.to_dict()["trials"],
                         points=round(points[exercise] * float(result.score), 4))
        uses = found.zeroed.get(exercise)
        if uses:
            entry["check_status"], entry["status"] = entry["status"], "uses-reference"
            entry["points"] = 0.0
            first = {}
            for u in uses:
                first.setdefault(u.name, f"{u.name}, cell {_student_cell(cells, u.cell) or '?'} "
                                         f"line {u.line}")
            where = "; ".join(first.values())
            entry["flagged"] = [u.name for u in uses]
            entry["feedback"] = (f"{exercise}: 0 points: your code uses bplib's reference "
                                 f"implementation ({where}). Write your own.\n"
                                 f"(Without that, the check said: {entry['feedback']})")
        results.append(entry)
    return results


def _cell_errors(cells, execution, cell_timeout):
    errors = []
    for cell, outcome in zip(cells, execution.outcomes):
        if outcome.status not in ("error", "timeout") or cell.kind in ("harness", "replay"):
            continue
        if outcome.status == "timeout":
            text = f"ran longer than {cell_timeout:g} s and was interrupted"
        elif outcome.ename == "DeadKernel":
            text = "the kernel died while this cell ran"
        else:
            text = f"{outcome.ename}: {outcome.evalue}"[:500]
        errors.append({"cell": cell.student_index + 1 if cell.student_index is not None
                       else None, "code": _first_line(cell.source), "error": text,
                       "yours": cell.kind == "student"})
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


def _timeout_message(cells, execution, cell_timeout):
    slow = [i for i, o in enumerate(execution.outcomes) if o.status == "timeout"]
    return "; ".join(f"{_where(cells, i)} ran longer than {cell_timeout:g} s and was interrupted"
                     for i in slow)
