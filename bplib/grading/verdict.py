"""The grader's side of a check: compare recorded outputs with the reference.

``grade`` needs only the exercise id, the seed and the portable records made
by ``trials.call_student``; it regenerates the trials from the seed, computes
the reference answers and numerical gradients itself, and never looks at the
student's code. That is what lets classroom grading run the student's
functions in one process and judge them in another.
"""

import copy
import functools
import html
import os
from dataclasses import dataclass, field

import numpy as np

from bplib.gradcheck import AGREE, WRONG, relative_error
from bplib.grading.exercises import EXERCISE_LIST
from bplib.grading.trials import (CheckTimeout, Opaque, _describe_exception, call_student,
                                  from_portable, not_callable_record, remember_timeout,
                                  time_limit, timed_out_before, timeout_record)

EXERCISES = {exercise.id: exercise for exercise in EXERCISE_LIST}
DEFAULT_SEED = 2024
REFERENCE_TOLERANCE = 1e-6  # relative error allowed against the reference answer
NEGLIGIBLE = 1e-12          # absolute differences below this are rounding, not mistakes
# The gradient-check line applies lesson 11's rule of thumb (bplib.gradcheck):
# below AGREE the gradients agree; above WRONG they are wrong; between, look closer.
GRADCHECK_AGREE, GRADCHECK_WRONG = AGREE, WRONG
DEFAULT_TIMEOUT = 5.0       # seconds a check may spend in the student's code
MAX_SHOWN_OUTPUT = 600      # characters of the student's printing shown in feedback
MAX_SHOWN_LINES = 12        # and lines


def _exercise(exercise_id):
    try:
        return EXERCISES[exercise_id]
    except (KeyError, TypeError):
        valid = ", ".join(EXERCISES)
        raise ValueError(f"unknown exercise id {exercise_id!r}; valid ids are: {valid}") from None


def reference(exercise_id):
    """The reference implementation of an exercise, with its signature."""
    return _exercise(exercise_id).reference


def make_trials(exercise_id, seed=None):
    """The trials of an exercise for a seed (None: the fixed default seed).

    Fresh objects on every call (copies of trials made once per seed: a check
    makes them twice, and a graph of 2,100 nodes takes a while to draw)."""
    exercise = _exercise(exercise_id)
    seed = DEFAULT_SEED if seed is None else seed
    key = (exercise_id, seed)
    if key not in _trials:
        if len(_trials) >= 64:
            _trials.clear()
        _trials[key] = exercise.make_trials(np.random.default_rng(seed))
    return copy.deepcopy(_trials[key])


_trials = {}  # (exercise id, seed) -> the trials, as first made


def time_limit_of(exercise_id, timeout=None):
    """The time limit of a check in seconds: ``timeout``, else the exercise's own,
    else DEFAULT_TIMEOUT."""
    exercise = _exercise(exercise_id)
    return timeout if timeout is not None else (exercise.timeout or DEFAULT_TIMEOUT)


def run_trials(exercise_id, fn, seed=None, *, timeout=None):
    """Call ``fn`` on every trial; return the portable records (student side).

    The calls share one time limit (``time_limit_of``); when it is up, the
    trial that was running gets a Timeout record and the rest are not run, and
    the same function object is not run again by later checks (it would hang
    again): they get a Timeout record at once.
    """
    exercise = _exercise(exercise_id)
    if not callable(fn):
        return [not_callable_record(fn)]
    limit = time_limit_of(exercise_id, timeout)
    trials = make_trials(exercise_id, seed)
    if (before := timed_out_before(fn)) is not None and before >= limit:
        return [timeout_record(before, before=True)]
    target = fn if exercise.drive is None else functools.partial(exercise.drive, fn)
    records = []
    try:
        with time_limit(limit):
            for trial in trials:
                records.append(call_student(target, trial.args, exercise.arg_names))
    except CheckTimeout as exc:
        if len(records) < len(trials):  # (not the timer going off just as the last one ended)
            remember_timeout(fn, limit)
            records.append(timeout_record(limit, _describe_exception(exc)["where"]))
    return records


def check(exercise_id, fn, *, seed=None, timeout=None):
    """Check a student's implementation of an exercise against the reference.

    Runs several trials with inputs drawn from ``seed`` (a fixed default when
    None, so a notebook's report is the same on every run) and returns a
    CheckResult with .passed, .score (the fraction of trials passed) and
    .feedback. ``timeout`` limits the seconds spent in ``fn`` (default: the
    exercise's, else DEFAULT_TIMEOUT). Never raises because of ``fn``;
    raises ValueError for an unknown exercise id.

    Under nbgrader (NBGRADER_EXECUTION set) the feedback is printed and the
    result displays as the points earned, which nbgrader reads as the score.
    """
    exercise = _exercise(exercise_id)
    result = grade(exercise_id, run_trials(exercise_id, fn, seed, timeout=timeout), seed=seed)
    if os.environ.get("NBGRADER_EXECUTION"):
        print(result.feedback)
        return NbgraderResult.of(result, exercise.points)
    return result


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------

@dataclass
class TrialVerdict:
    label: str
    passed: bool
    problems: list = field(default_factory=list)
    hints: list = field(default_factory=list)
    gradcheck_error: float = None
    not_attempted: bool = False
    score: float = None        # None: 1.0 when passed, else 0.0; set by assessed exercises
    notes: list = field(default_factory=list)  # said even when it passed (an accuracy)
    stdout: str = ""           # the start of what the student's code printed
    stdout_chars: int = 0
    detail: str = ""           # the first differing value, for "no known mistake matches"
    size: int = 0              # how many numbers the trial's inputs hold

    @property
    def points(self):
        return (1.0 if self.passed else 0.0) if self.score is None else self.score


@dataclass
class CheckResult:
    """The outcome of one check. Renders as text and as HTML in a notebook."""

    exercise_id: str
    passed: bool
    score: float
    feedback: str
    status: str  # "passed", "failed" or "not attempted"
    trials: list = field(default_factory=list, repr=False)

    def __str__(self):
        return self.feedback

    def __repr__(self):
        return self.feedback

    def _repr_pretty_(self, printer, cycle):
        printer.text(self.feedback)

    def _repr_html_(self):
        colour = {"passed": "#2e7d32", "failed": "#c62828"}.get(self.status, "#616161")
        background = {"passed": "#e8f5e9", "failed": "#ffebee"}.get(self.status, "#f5f5f5")
        head, _, body = self.feedback.partition("\n")
        body_html = (f'<pre style="margin:4px 0 0 0;white-space:pre-wrap;background:none">'
                     f"{html.escape(body)}</pre>") if body else ""
        return (f'<div style="border-left:5px solid {colour};background:{background};'
                f'padding:6px 10px;font-family:sans-serif">'
                f'<b style="color:{colour}">{html.escape(head)}</b>{body_html}</div>')

    def to_dict(self):
        return {"exercise_id": self.exercise_id, "passed": self.passed, "score": self.score,
                "status": self.status, "feedback": self.feedback,
                "trials": [vars(t) for t in self.trials]}


class NbgraderResult(CheckResult):
    """A CheckResult that displays as the points earned, for nbgrader.

    nbgrader scores a grade cell by its displayed result: text/plain that
    parses as a float is the points. So this result's text is that number
    alone (the feedback is printed by ``check``), and it has no HTML.
    """

    points: float = 0.0

    @classmethod
    def of(cls, result, points):
        made = cls(**{name: getattr(result, name) for name in
                      ("exercise_id", "passed", "score", "feedback", "status", "trials")})
        made.points = float(round(result.score * points, 6))
        return made

    def __repr__(self):
        return repr(self.points)

    def _repr_pretty_(self, printer, cycle):
        printer.text(repr(self.points))

    def _repr_html_(self):
        return None


# --------------------------------------------------------------------------
# Judging
# --------------------------------------------------------------------------

def grade(exercise_id, records, seed=None):
    """Judge portable records against the reference (grader side)."""
    exercise = _exercise(exercise_id)
    trials = make_trials(exercise_id, seed)
    # The records come from the student's process: any of them may be malformed.
    stopped = isinstance(records, list) and any(_timed_out(r) for r in records)
    verdicts = []
    for k, trial in enumerate(trials):
        try:
            record = records[k] if k < len(records) else None
            if record is None and stopped:
                verdict = TrialVerdict(trial.label, False, ["was not run: the check stopped at "
                                                            "its time limit"])
            else:
                verdict = _judge(exercise, trial, record)
        except Exception as exc:  # the grader's own safety net
            verdict = TrialVerdict(trial.label, False,
                                   [f"could not be graded ({type(exc).__name__}: {exc})"])
        verdicts.append(verdict)
    return _summarise(exercise, verdicts)


def _timed_out(record):
    error = record.get("error") if isinstance(record, dict) else None
    return isinstance(error, dict) and error.get("type") == "Timeout"


def _judge(exercise, trial, record):
    if record is None:
        return TrialVerdict(trial.label, False, ["was not run"])
    verdict = TrialVerdict(trial.label, True, stdout=str(record.get("stdout", "")),
                           stdout_chars=int(record.get("stdout_chars", 0)))
    error = record.get("error")
    if error:
        verdict.passed = False
        where = error.get("where")
        if error["type"] == "NotImplementedError" and error.get("entry", True):
            verdict.problems.append("not attempted yet")
            verdict.not_attempted = True
            return verdict
        helper = (where or {}).get("function")
        if error["type"] == "NotImplementedError" and helper not in (None, "<module>") \
                and not error.get("library"):
            verdict.problems.append(f"`{helper}` raised NotImplementedError at line "
                                    f"{where['line']}: {where['code']}")
            verdict.hints.append(f"`{helper}`, which your code calls, is not written yet: "
                                 "write it, run its cell, then run this check again.")
            return verdict
        if error["type"] == "Timeout":
            at = _located(where)
            verdict.problems.append(f"{error['message']}{at}")
            return verdict
        verdict.problems.append(f"raised {error['type']}: {error['message']}{_located(where)}")
        verdict.hints.extend(_error_hints(exercise, error, trial))
        return verdict

    got = from_portable(record["outputs"])
    if exercise.assess is not None:
        verdict.score, problems, verdict.notes = exercise.assess(trial, got)
        verdict.passed = verdict.score == 1.0
        verdict.problems.extend(problems)
        return verdict

    expected = exercise.expected(trial)
    try:
        pairs = _pair_outputs(exercise.output_names, expected, got)
    except StructureProblem as problem:
        verdict.passed = False
        verdict.problems.append(str(problem))
        return verdict

    numerical = None
    if exercise.numerical is not None and not trial.stability and trial.gradcheck:
        numerical = _flatten(exercise.output_names, exercise.numerical(trial.args))
    for name, want, have in pairs:
        _judge_output(exercise, verdict, name, want, have, numerical, trial)

    if record.get("changed"):
        names = ", ".join(f"`{n}`" for n in record["changed"])
        verdict.passed = False
        verdict.problems.append(f"modified its argument {names} in place")
        first = record["changed"][0]
        if first == "params":
            how = ("Don't change params or the arrays inside it (e.g. `params['W1'] -= ...` "
                   "or `params['w1'] = ...`): compute new values; `params.copy()` copies "
                   "the dict, not the arrays.")
        elif exercise.id == "numerical_gradient":
            how = ("Perturb a copy, or save old = x[i] and restore x[i] = old after the two "
                   "evaluations.")
        elif exercise.drive is not None:
            how = "Keep the arrays your object is given as they are; store new ones."
        else:
            how = f"Compute a new array, or work on a copy (`{first}.copy()`)."
        verdict.hints.append("Never change an argument: the caller still needs it. " + how)
    unstable = [w for w in record.get("warnings", []) if "overflow encountered" in w
                or "invalid value" in w or "divide by zero" in w]
    if unstable:
        verdict.passed = False
        verdict.problems.append("numpy warned: " + "; ".join(unstable))
        verdict.hints.append(exercise.overflow_hint or _UNSTABLE_HINT)
    if not verdict.passed:
        hint = _recognise_mistake(exercise, trial, pairs)
        if hint:
            verdict.hints.insert(0, hint)
        elif verdict.detail:
            verdict.size = sum(int(np.size(a)) for a in _leaves(trial.args))
    return verdict


def _located(where):
    """" at line N: code" for an error's location in the student's code."""
    if where and where.get("code"):
        return f" at line {where['line']}: {where['code']}"
    if where and where.get("line"):
        return f" at line {where['line']}"
    return ""


def _leaves(value):
    """The arrays and numbers inside a trial's arguments."""
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _leaves(v)]
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    return [value] if isinstance(value, (np.ndarray, int, float)) else []


class StructureProblem(Exception):
    pass


def _describe(value):
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (tuple, list, dict)):
        return f"a {type(value).__name__} of {len(value)} items"
    if isinstance(value, Opaque):
        return f"an object of type {value.type_name}"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _pair_outputs(names, expected, got):
    """Match the student's return value to the reference's, output by output.

    Returns [(name, expected value, student value)]; raises StructureProblem
    with a sentence a student can act on when the structure differs.
    """
    if got is None:
        raise StructureProblem("returned None: did you forget the `return` statement?")
    if len(names) == 1:
        return [_pair_leaf(names[0], expected, got)]
    wanted = "(" + ", ".join(names) + ")"
    if not isinstance(got, (tuple, list)):
        raise StructureProblem(f"returned {_describe(got)}; expected a tuple {wanted}")
    if len(got) != len(names):
        raise StructureProblem(f"returned {len(got)} values; expected {len(names)}: {wanted}")
    pairs = []
    for name, want, have in zip(names, expected, got):
        if isinstance(want, dict):
            if not isinstance(have, dict):
                raise StructureProblem(f"{name} is {_describe(have)}; expected a dict with keys "
                                       f"{sorted(want)}")
            missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
            if missing or extra:
                raise StructureProblem(
                    f"{name} has keys {sorted(have)}; expected exactly {sorted(want)}"
                    + (f" (missing {missing})" if missing else "")
                    + (f" (unexpected {extra})" if extra else ""))
            pairs.extend(_pair_leaf(f"{name}['{key}']", want[key], have[key]) for key in want)
        elif isinstance(want, list):  # a list of (dW, db) pairs, one per layer
            if not isinstance(have, (list, tuple)) or len(have) != len(want):
                raise StructureProblem(f"{name} is {_describe(have)}; expected a list of "
                                       f"{len(want)} (dW, db) pairs, one per layer")
            for l, (want_pair, have_pair) in enumerate(zip(want, have)):
                if not isinstance(have_pair, (list, tuple)) or len(have_pair) != 2:
                    raise StructureProblem(f"{name}[{l}] is {_describe(have_pair)}; expected a "
                                           "pair (dW, db)")
                pairs.extend(_pair_leaf(f"{part}{l + 1}", w, h) for part, w, h
                             in zip(("dW", "db"), want_pair, have_pair))
        else:
            pairs.append(_pair_leaf(name, want, have))
    return pairs


def _pair_leaf(name, want, have):
    if isinstance(have, list) and not isinstance(want, list):
        raise StructureProblem(f"{name} is a Python list; return a numpy array")
    if np.ndim(want) == 0 and not isinstance(want, np.ndarray):  # a number is expected
        if isinstance(have, np.ndarray) and have.ndim > 0:
            raise StructureProblem(f"{name} must be a single number; got an array of shape "
                                   f"{have.shape} (use float(...) or .item())")
        if not isinstance(have, (int, float, np.ndarray)) or isinstance(have, bool):
            raise StructureProblem(f"{name} must be a number; got {_describe(have)}")
        return name, float(want), np.asarray(have)
    if not isinstance(have, np.ndarray):
        raise StructureProblem(f"{name} is {_describe(have)}; expected a numpy array of shape "
                               f"{np.shape(want)}")
    return name, np.asarray(want, dtype=float), have


def _flatten(names, value):
    """A reference-structured value as {output name: array}."""
    values = (value,) if len(names) == 1 else value
    flat = {}
    for name, v in zip(names, values):
        if isinstance(v, dict):
            flat.update({f"{name}['{k}']": vv for k, vv in v.items()})
        elif isinstance(v, list):
            flat.update({f"{part}{l + 1}": vv for l, pair in enumerate(v)
                         for part, vv in zip(("dW", "db"), pair)})
        elif v is not None:
            flat[name] = v
    return flat


def _judge_output(exercise, verdict, name, want, have, numerical, trial):
    """Add the problems of one output to the verdict."""
    if have.dtype.kind not in "fiu" or have.dtype.kind in "iu" and np.ndim(want) > 0:
        kind = "an integer" if have.dtype.kind in "iu" else f"a {have.dtype}"
        why = ("did you build it with np.zeros_like of an integer array?"
               if have.dtype.kind in "iu" else "convert it with .astype(float)")
        verdict.passed = False
        verdict.problems.append(f"{name} has {kind} dtype; expected float64 ({why})")
        return
    if have.dtype != np.float64 and np.ndim(want) > 0:
        verdict.passed = False
        verdict.problems.append(f"{name} has dtype {have.dtype}; expected float64, the "
                                "course's precision")
        return
    if np.shape(have) != np.shape(want):
        verdict.passed = False
        verdict.problems.append(f"{name} has shape {np.shape(have)}; expected {np.shape(want)}"
                                f"{_shape_hint(np.shape(have), np.shape(want))}")
        return
    if not np.all(np.isfinite(have)):
        verdict.passed = False
        bad = "NaN" if np.any(np.isnan(have)) else "inf"
        verdict.problems.append(f"{name} contains {bad}")
        if trial.stability:
            verdict.hints.append(exercise.overflow_hint or (
                "Large inputs overflowed somewhere: an exp of a big number is inf, and "
                "inf / inf is NaN. Use the numerically stable form."))
        return
    error = _error(have, want)
    if numerical is not None and name in numerical:
        grad_error = relative_error(have, numerical[name])
        verdict.gradcheck_error = max(verdict.gradcheck_error or 0.0, grad_error)
    else:
        grad_error = None
    if error > REFERENCE_TOLERANCE:
        verdict.passed = False
        check = ("" if grad_error is None else
                 f"; gradient check against central differences: relative error {grad_error:.1e}")
        verdict.problems.append(f"{name}: values differ from the reference (relative error "
                                f"{error:.1e}){check}")
        if not verdict.detail:
            verdict.detail = _first_difference(name, want, have, trial, exercise.arg_names)


def _show(value, limit=300):
    """An array or number as a short text (at most ``limit`` characters)."""
    if isinstance(value, np.ndarray):
        text = np.array2string(value, precision=4, threshold=24, edgeitems=3,
                               max_line_width=88, suppress_small=False)
    elif isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, (list, tuple, dict)):
        text = repr(value)
    else:
        text = type(value).__name__
    return text if len(text) <= limit else text[:limit] + " ..."


def _first_difference(name, want, have, trial, arg_names):
    """The trial's inputs, the expected and the student's value, and the first
    element that differs: what a student needs to reproduce the failure."""
    want, have = np.asarray(want, dtype=float), np.asarray(have)  # have: shown as returned
    scale = np.max(np.abs(want), initial=0.0) + np.max(np.abs(have), initial=0.0)
    wrong = np.abs(have - want) > max(REFERENCE_TOLERANCE * scale, NEGLIGIBLE)
    index = np.unravel_index(int(np.argmax(wrong)), want.shape) if want.ndim else ()
    at = f"{name}[{', '.join(map(str, index))}]" if want.ndim else name
    lines = ["  inputs:"]
    lines += [f"    {arg} = {_show(value)}".replace("\n", "\n      ")
              for arg, value in zip(arg_names, trial.args)]
    lines.append(f"  expected {name} = {_show(want)}".replace("\n", "\n      "))
    lines.append(f"  yours    {name} = {_show(have)}".replace("\n", "\n      "))
    lines.append(f"  first difference: {at} is {float(have[index]):.6g}, expected "
                 f"{float(want[index]):.6g}")
    return "\n".join(lines)


def _error(have, want):
    """Relative error, treating differences below NEGLIGIBLE as zero.

    (s * (1 - s) is exactly 0 where the reference's sigmoid slope is 1e-44:
    both are right.)
    """
    if np.max(np.abs(np.asarray(have, float) - want), initial=0.0) <= NEGLIGIBLE:
        return 0.0
    return relative_error(have, want)


def _shape_hint(have, want):
    if len(have) == 2 and have == want[::-1]:
        return " (it looks transposed)"
    if have == (1,) + tuple(want):
        return " (drop keepdims=True: the result should have no leading axis of length 1)"
    if have == tuple(want) + (1,):
        return f" (drop the trailing axis of length 1: it should be a vector of shape {want})"
    if len(have) == len(want) == 1:
        return " (did you sum over the wrong axis?)"
    if len(have) < len(want):
        return " (an axis is missing: did you sum or index away an axis?)"
    return ""


_UNSTABLE_HINT = "Your code is numerically unstable for these inputs (an overflow or 0 / 0)."


_ONE_DIMENSIONAL_HINT = ("Your code handles one-dimensional inputs only: it passed the "
                         "one-dimensional trial and failed on inputs with more axes. Use "
                         "whole-array numpy operations instead of loops over len(z).")

_MATMUL_ERRORS = ("matmul: Input operand", "not aligned", "mismatch in its core dimension")


def _error_hints(exercise, error, trial):
    hints = []
    message = error.get("message", "")
    for text, hint in exercise.error_hints:
        if text in message or text == error["type"]:
            hints.append(hint)
    if "truth value of an array" in message:
        hints.append("You used an array in an `if` (e.g. `if z > 0:`). Work element-wise "
                     "instead: `z > 0` is a boolean mask, and np.where chooses per element.")
    if any(text in message for text in _MATMUL_ERRORS):
        shapes = f" Here: {exercise.shapes}." if exercise.shapes else ""
        hints.append("The sizes of a matrix product don't match: in A @ B, A's last axis must "
                     "have B's first axis's length, and (N, D) @ (D, M) gives (N, M). Write "
                     "each array's shape beside the line that raised, then transpose or swap "
                     f"the operands so that the inner sizes meet.{shapes}")
    elif "could not be broadcast" in message:
        hints.append("Two arrays' shapes don't line up. A sum over axis=1 of an (N, C) array "
                     "has shape (N,); keep it as (N, 1) with keepdims=True (or [:, None]) so "
                     "that it broadcasts across each row.")
    if error["type"] in ("IndexError", "ValueError", "AxisError") \
            and "batch size 1" in trial.label:
        hints.append("This trial has a batch of one sample: avoid squeeze() and shapes that "
                     "assume N > 1.")
    if error["type"] == "NotCallable":
        what = "class" if exercise.drive is not None else "function"
        hints.append(f"Pass the {what} itself, e.g. check(\"{exercise.id}\", "
                     f"{exercise.signature.split('(')[0]}), without calling it.")
    return hints


def _recognise_mistake(exercise, trial, pairs):
    """The hint of a known mistake whose output the student's output matches.

    A mistake matches when every output of the student's equals the mistake's
    (within the tolerance) and the mistake's differs from the reference on
    this trial: a mistake that is right here says nothing about the student.
    """
    expected = _flatten(exercise.output_names, exercise.expected(trial))
    got = {name: have for name, _, have in pairs}
    for hint, wrong in exercise.mistakes:
        try:
            with np.errstate(all="ignore"):
                variant = _flatten(exercise.output_names, exercise.run(wrong, trial.args))
        except Exception:
            continue
        differs = False
        matches = True
        for name, have in got.items():
            want_wrong = np.asarray(variant.get(name, expected.get(name)), dtype=float)
            if want_wrong.shape != np.shape(have) or not np.all(np.isfinite(have)) \
                    or not np.all(np.isfinite(want_wrong)):  # a finite answer is not inf
                matches = False
                break
            if _error(have, want_wrong) > REFERENCE_TOLERANCE:
                matches = False
                break
            if want_wrong.shape != np.shape(expected[name]) or \
                    _error(want_wrong, expected[name]) > REFERENCE_TOLERANCE:
                differs = True
        if matches and differs:
            return "Hint: " + hint
    return None


def gradcheck_line(errors, n_trials):
    """The feedback's line on the gradient check: lesson 11's rule of thumb.

    errors: the largest relative error of each trial that had a gradient
    check. Says "agree" only when the LARGEST is below AGREE, and counts the
    trials it covers; prints a bound, never the raw error, below AGREE
    (round-off differs between machines, and notebooks store this text).
    """
    if not errors:
        return ""
    worst = max(errors)
    which = ("in every trial" if len(errors) == n_trials else
             f"in the {len(errors)} trials with a gradient check (of {n_trials})")
    if worst < GRADCHECK_AGREE:
        return (f"\nGradient check: relative error against central differences below "
                f"{GRADCHECK_AGREE:.0e} {which}: the gradients agree (lesson 11's rule of "
                "thumb).")
    verdict = ("above {0:.0e}: wrong" if worst > GRADCHECK_WRONG else
               "between {1:.0e} and {0:.0e}: look closer").format(GRADCHECK_WRONG,
                                                                    GRADCHECK_AGREE)
    return (f"\nGradient check: largest relative error against central differences "
            f"{worst:.1e}, {verdict} (lesson 11's rule of thumb).")


def _summarise(exercise, verdicts):
    n = len(verdicts)  # at least 1: every exercise has trials
    n_passed = sum(v.passed for v in verdicts)
    if all(v.not_attempted for v in verdicts):
        return CheckResult(exercise.id, False, 0.0,
                           f"{exercise.id}: not attempted yet. Write your code in place of "
                           "`raise NotImplementedError`, run that cell, then run this one again.",
                           "not attempted", verdicts)
    grad_errors = [v.gradcheck_error for v in verdicts if v.gradcheck_error is not None]
    notes = [f"{note[0].upper()}{note[1:]}." for v in verdicts for note in v.notes]
    if n_passed == n:
        lines = [f"{exercise.id}: all {n} trials passed.{gradcheck_line(grad_errors, n)}",
                 *notes]
        lines.extend(_printed(next((v for v in verdicts if v.stdout_chars), None)))
        return CheckResult(exercise.id, True, 1.0, "\n".join(lines), "passed", verdicts)
    lines = [f"{exercise.id}: {n_passed} of {n} trials passed.", *notes]
    first = next(v for v in verdicts if not v.passed)
    passed = [v for v in verdicts if v.passed]
    if passed and all("one-dimensional" in v.label for v in passed):
        first.hints.append(exercise.one_dimensional_hint or _ONE_DIMENSIONAL_HINT)
    lines.append(f"First failure, trial {verdicts.index(first) + 1} ({first.label}):")
    lines.extend(f"  - {problem}" for problem in first.problems)
    for hint in dict.fromkeys(first.hints):  # unique, in order
        lines.append(hint if hint.startswith("Hint:") else f"Hint: {hint}")
    others = [f"{i + 1} ({v.label})" for i, v in enumerate(verdicts)
              if not v.passed and v is not first]
    if others:
        lines.append("Also failed: trial " + ", ".join(others) + ".")
    if not first.hints and first.detail:
        # No known mistake: show the smallest failing trial, to reproduce by hand.
        smallest = min((v for v in verdicts if v.detail and not v.hints),
                       key=lambda v: v.size)
        lines.append(f"No common mistake matches. The smallest failing trial, "
                     f"{verdicts.index(smallest) + 1} ({smallest.label}):")
        lines.append(smallest.detail)
        lines.append("Hint: " + (exercise.debug_hint or
                                 "compute each step of your answer on a tiny input by hand "
                                 "and compare, to find the first one that is off."))
    lines.extend(_printed(first if first.stdout_chars else
                          next((v for v in verdicts if v.stdout_chars), None)))
    score = sum(v.points for v in verdicts) / n
    return CheckResult(exercise.id, False, score, "\n".join(lines), "failed", verdicts)


def _printed(verdict):
    """The start of what the student's code printed in a trial, as feedback lines:
    at most MAX_SHOWN_OUTPUT characters and MAX_SHOWN_LINES lines, and the
    total when some of it is left out."""
    if verdict is None or not verdict.stdout_chars:
        return []
    kept = verdict.stdout[:MAX_SHOWN_OUTPUT]
    lines = kept.rstrip("\n").split("\n")
    cut = verdict.stdout_chars > len(kept) or len(lines) > MAX_SHOWN_LINES
    shown = "\n".join("  | " + line for line in lines[:MAX_SHOWN_LINES])
    tail = f"\n  | ... ({verdict.stdout_chars:,} characters in all)" if cut else ""
    return [f"Your code printed (trial \"{verdict.label}\"):\n{shown}{tail}"]
