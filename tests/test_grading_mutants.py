"""Tests written for the mutants of bplib/grading that survived the rest of the
suite (docs/testing.md, "Mutation testing"). Each pins one exact behaviour of
the grader: a message, a threshold, a colour, a branch."""

import gc
import json
import re
import types
import warnings

import numpy as np
import pytest

from bplib.gradcheck import numerical_gradient

from bplib.grading import trials, verdict
from bplib.grading.exercises import lesson01
from bplib.grading.trials import Opaque
from bplib.grading.verdict import CheckResult, NbgraderResult

# --------------------------------------------------------------------------
# verdict.py: how a result shows itself
# --------------------------------------------------------------------------


def _result(status, feedback):
    return CheckResult("relu_backward", status == "passed", 1.0 if status == "passed" else 0.0,
                       feedback, status)


@pytest.mark.parametrize("status, colour, background", [
    ("passed", "#2e7d32", "#e8f5e9"),
    ("failed", "#c62828", "#ffebee"),
    ("not attempted", "#616161", "#f5f5f5"),
])
def test_the_html_result_has_its_statuss_colours(status, colour, background):
    html = _result(status, "head line\nfirst <b>\nsecond")._repr_html_()
    assert html == (f'<div style="border-left:5px solid {colour};background:{background};'
                    f'padding:6px 10px;font-family:sans-serif">'
                    f'<b style="color:{colour}">head line</b>'
                    f'<pre style="margin:4px 0 0 0;white-space:pre-wrap;background:none">'
                    f'first &lt;b&gt;\nsecond</pre></div>')


def test_a_one_line_result_has_no_pre_block():
    html = _result("passed", "relu_backward: all 5 trials passed.")._repr_html_()
    assert html.endswith('<b style="color:#2e7d32">relu_backward: all 5 trials passed.</b></div>')
    assert "<pre" not in html


@pytest.mark.parametrize("score, points, shown", [(0.5, 3, 1.5), (1 / 3, 2, 0.666667),
                                                  (1.0, 2, 2.0)])
def test_nbgrader_points_are_the_score_times_the_points_to_6_decimals(score, points, shown):
    made = NbgraderResult.of(CheckResult("x", False, score, "f", "failed"), points)
    assert made.points == shown and repr(made) == repr(shown)


# --------------------------------------------------------------------------
# verdict.py: small helpers
# --------------------------------------------------------------------------


def test_leaves_are_the_arrays_and_numbers_inside_dicts_lists_and_tuples():
    a, b = np.ones(2), np.zeros((2, 2))
    leaves = verdict._leaves({"W": a, "rest": [3, (2.5, b)], "name": "x", "none": None})
    assert len(leaves) == 4
    assert leaves[0] is a and leaves[1] == 3 and leaves[2] == 2.5 and leaves[3] is b
    assert verdict._leaves(["text", None, object()]) == []


@pytest.mark.parametrize("value, described", [
    (None, "None"),
    (np.zeros((2, 3)), "an array of shape (2, 3) and dtype float64"),
    ((1, 2), "a tuple of 2 items"),
    ([1], "a list of 1 items"),
    ({}, "a dict of 0 items"),
    (Opaque("Net"), "an object of type Net"),
    (3, "an int"),
    (3.0, "a float"),
    ("s", "a str"),
    (True, "a bool"),
])
def test_describe(value, described):
    assert verdict._describe(value) == described


@pytest.mark.parametrize("have, want, hint", [
    ((3, 2), (2, 3), " (it looks transposed)"),
    ((1, 3), (3,), " (drop keepdims=True: the result should have no leading axis of length 1)"),
    ((3, 1), (3,), " (drop the trailing axis of length 1: it should be a vector of shape (3,))"),
    ((4,), (3,), " (did you sum over the wrong axis?)"),
    ((3,), (2, 3), " (an axis is missing: did you sum or index away an axis?)"),
    ((2, 3), (3,), ""),
    ((2, 3), (2, 4), ""),
    ((3, 2), (3, 2, 1), " (an axis is missing: did you sum or index away an axis?)"),
])
def test_shape_hints(have, want, hint):
    assert verdict._shape_hint(have, want) == hint


# --------------------------------------------------------------------------
# verdict.py: the hints for an exception
# --------------------------------------------------------------------------

_MATMUL_HINT = ("The sizes of a matrix product don't match: in A @ B, A's last axis must have "
                "B's first axis's length, and (N, D) @ (D, M) gives (N, M). Write each array's "
                "shape beside the line that raised, then transpose or swap the operands so that "
                "the inner sizes meet.")
_BROADCAST_HINT = ("Two arrays' shapes don't line up. A sum over axis=1 of an (N, C) array has "
                   "shape (N,); keep it as (N, 1) with keepdims=True (or [:, None]) so that it "
                   "broadcasts across each row.")
_TRUTH_HINT = ("You used an array in an `if` (e.g. `if z > 0:`). Work element-wise instead: "
               "`z > 0` is a boolean mask, and np.where chooses per element.")
_BATCH_HINT = "This trial has a batch of one sample: avoid squeeze() and shapes that assume N > 1."


class _Trial:
    def __init__(self, label):
        self.label = label


def _hints(exercise_id, type_, message, label="a trial"):
    return verdict._error_hints(verdict.EXERCISES[exercise_id],
                                {"type": type_, "message": message}, _Trial(label))


@pytest.mark.parametrize("message", ["matmul: Input operand 1 has a mismatch in its core "
                                     "dimension 0", "shapes (2,3) and (2,3) not aligned"])
def test_a_matmul_error_gets_the_shapes_hint(message):
    assert _hints("relu_backward", "ValueError", message) == [_MATMUL_HINT]
    assert _hints("dense_backward", "ValueError", message) == [
        _MATMUL_HINT + " Here: X (N, D), W (D, M), b (M,), dZ (N, M)."]


def test_a_broadcast_error_gets_the_keepdims_hint():
    message = "operands could not be broadcast together with shapes (4,3) (4,)"
    assert _hints("relu_backward", "ValueError", message) == [_BROADCAST_HINT]


def test_an_array_in_an_if_gets_the_mask_hint():
    message = ("The truth value of an array with more than one element is ambiguous. "
               "Use a.any() or a.all()")
    assert _hints("relu_backward", "ValueError", message) == [_TRUTH_HINT]


def test_an_unrelated_error_gets_no_hint():
    assert _hints("relu_backward", "ValueError", "math domain error") == []
    assert _hints("relu_backward", "ZeroDivisionError", "division by zero") == []


@pytest.mark.parametrize("type_", ["IndexError", "ValueError", "AxisError"])
def test_an_error_on_a_batch_of_one_gets_the_squeeze_hint(type_):
    assert _hints("relu_backward", type_, "bad", "batch size 1") == [_BATCH_HINT]
    assert _hints("relu_backward", type_, "bad", "batch size 5") == []
    assert _hints("relu_backward", "TypeError", "bad", "batch size 1") == []


def test_an_exercises_own_error_hints_match_the_message_or_the_type():
    recursion, radd, _ = [hint for _, hint in verdict.EXERCISES["value"].error_hints]
    assert _hints("value", "RecursionError", "maximum recursion depth exceeded") == [recursion]
    assert _hints("value", "TypeError", "unsupported operand type(s) for +") == [radd]
    assert _hints("value", "TypeError", "RecursionError") == [recursion]  # the message too


def test_something_not_callable_is_told_to_pass_the_function_or_class_itself():
    assert _hints("relu_backward", "NotCallable", "got int") == [
        'Pass the function itself, e.g. check("relu_backward", relu_backward), without '
        "calling it."]
    assert _hints("value", "NotCallable", "got Value") == [
        'Pass the class itself, e.g. check("value", Value), without calling it.']


# --------------------------------------------------------------------------
# verdict.py: the texts of the feedback
# --------------------------------------------------------------------------


@pytest.mark.parametrize("value, shown", [
    (np.array([1.23456789, 2.0]), "[1.2346 2.    ]"),                       # precision 4
    (np.arange(30.0) / 7, "[0.     0.1429 0.2857 ... 3.8571 4.     4.1429]"),  # > 24: 3 a side
    (np.arange(24.0)[:3], "[0. 1. 2.]"),
    (np.array([1e-10, 1.0]), "[1.e-10 1.e+00]"),                           # small not hidden
    (np.ones((2, 40)) / 3, "[[0.3333 0.3333 0.3333 ... 0.3333 0.3333 0.3333]\n"
                           " [0.3333 0.3333 0.3333 ... 0.3333 0.3333 0.3333]]"),
    (1.0 / 3, "0.333333"),
    ([1, 2], "[1, 2]"), ((1,), "(1,)"), ({"a": 1}, "{'a': 1}"),
    ("abc", "str"), (3, "int"),
])
def test_show(value, shown):
    assert verdict._show(value) == shown


def test_show_shortens_to_the_limit():
    text = repr(list(range(200)))
    assert verdict._show(list(range(200))) == text[:300] + " ..."
    assert verdict._show(list(range(200)), limit=10) == "[0, 1, 2,  ..."
    assert verdict._show([1, 2], limit=6) == "[1, 2]"  # exactly the limit: whole


def test_show_prints_24_elements_whole():
    assert "..." not in verdict._show(np.arange(24.0))
    assert "..." in verdict._show(np.arange(25.0))


class _Args:
    def __init__(self, *args):
        self.args = args


def test_first_difference_shows_the_inputs_both_values_and_the_first_wrong_element():
    z = np.array([[1.0, 2.0], [3.0, 4.0]])
    text = verdict._first_difference("dz", z, np.array([[1.0, 2.0], [3.5, 4.0]]),
                                     _Args(z, 2.5), ["z", "k"])
    assert text == ("  inputs:\n"
                    "    z = [[1. 2.]\n       [3. 4.]]\n"
                    "    k = 2.5\n"
                    "  expected dz = [[1. 2.]\n       [3. 4.]]\n"
                    "  yours    dz = [[1.  2. ]\n       [3.5 4. ]]\n"
                    "  first difference: dz[1, 0] is 3.5, expected 3")


def test_first_difference_of_a_number():
    text = verdict._first_difference("loss", 2.0, 2.5, _Args(np.ones(2)), ["z"])
    assert text == ("  inputs:\n    z = [1. 1.]\n  expected loss = 2.\n  yours    loss = 2.5\n"
                    "  first difference: loss is 2.5, expected 2")


def test_first_difference_shows_an_integer_number_as_the_integer_returned():
    text = verdict._first_difference("loss", 2.0, np.asarray(7), _Args(np.ones(2)), ["z"])
    assert text == ("  inputs:\n    z = [1. 1.]\n  expected loss = 2.\n  yours    loss = 7\n"
                    "  first difference: loss is 7, expected 2")


def test_first_difference_skips_elements_within_the_tolerance():
    # scale 1 + 1.5 = 2.5: a difference of 2e-6 is within 1e-6 * 2.5, 3e-6 is not
    want = np.array([1.0, 1.0, 1.0])
    text = verdict._first_difference("d", want, np.array([1 + 2e-6, 1 + 3e-6, 1.5]),
                                     _Args(), [])
    assert text.endswith("first difference: d[1] is 1, expected 1")
    text = verdict._first_difference("d", want, np.array([1 + 2e-6, 1.0, 1.5]), _Args(), [])
    assert text.endswith("first difference: d[2] is 1.5, expected 1")
    # below NEGLIGIBLE (1e-12) is rounding, whatever the scale
    text = verdict._first_difference("d", np.zeros(3), np.array([9e-13, 2e-12, 0.0]),
                                     _Args(), [])
    assert text.endswith("first difference: d[1] is 2e-12, expected 0")


@pytest.mark.parametrize("where, at", [
    (None, ""), ({}, ""),
    ({"line": 3, "code": "return z"}, " at line 3: return z"),
    ({"line": 3, "code": ""}, " at line 3"),
    ({"line": 3}, " at line 3"),
    ({"line": None, "code": ""}, ""),
])
def test_located(where, at):
    assert verdict._located(where) == at


_RULE = " (lesson 11's rule of thumb)."


@pytest.mark.parametrize("errors, n, line", [
    ([], 3, ""),
    ([1e-9], 1, "below 1e-07 in every trial: the gradients agree" + _RULE),
    ([1e-9, 2e-9], 3, "below 1e-07 in the 2 trials with a gradient check (of 3): the gradients "
                      "agree" + _RULE),
    ([9.9e-8, 1e-9], 2, "below 1e-07 in every trial: the gradients agree" + _RULE),
    ([1e-7], 1, "largest relative error against central differences 1.0e-07, between 1e-07 "
                "and 1e-02: look closer" + _RULE),
    ([1e-9, 1e-2], 2, "largest relative error against central differences 1.0e-02, between "
                      "1e-07 and 1e-02: look closer" + _RULE),
    ([0.5, 1e-9], 2, "largest relative error against central differences 5.0e-01, above "
                     "1e-02: wrong" + _RULE),
    ([1.1e-2], 1, "largest relative error against central differences 1.1e-02, above "
                  "1e-02: wrong" + _RULE),
])
def test_gradcheck_line(errors, n, line):
    text = verdict.gradcheck_line(errors, n)
    if not errors:
        assert text == ""
    elif "below" in line:
        assert text == "\nGradient check: relative error against central differences " + line
    else:
        assert text == "\nGradient check: " + line


def test_an_error_record_without_a_message_gets_the_hints_of_its_type():
    recursion = verdict.EXERCISES["value"].error_hints[0][1]
    assert verdict._error_hints(verdict.EXERCISES["value"], {"type": "RecursionError"},
                                _Trial("a trial")) == [recursion]


def test_describe_says_a_before_a_capital_vowel_too():
    assert verdict._describe(type("Xform", (), {})()) == "a Xform"
    assert verdict._describe(type("Opaque2", (), {})()) == "a Opaque2"


def test_a_mistake_that_overflows_is_still_recognised():
    import dataclasses

    def overflowing(z, dout):  # exp(1000) overflows to inf; the result is finite
        return dout / (1.0 + np.exp(-z))

    exercise = dataclasses.replace(verdict.EXERCISES["relu_backward"],
                                   mistakes=[("it overflows", overflowing)])
    z, dout = np.array([-1000.0, 1.0]), np.array([2.0, 3.0])
    with np.errstate(over="ignore"):
        have = overflowing(z, dout)
    name = exercise.output_names[0]
    trial = _Args(z, dout)
    assert verdict._recognise_mistake(exercise, trial, [(name, None, have)]) == \
        "Hint: it overflows"
    assert verdict._recognise_mistake(exercise, trial, [(name, None, have + 1.0)]) is None


def test_show_wraps_arrays_at_88_characters():
    assert verdict._show(np.arange(12.0) / 3) == (
        "[0.     0.3333 0.6667 1.     1.3333 1.6667 2.     2.3333 2.6667 3.     3.3333 3.6667]")
    # 89 characters on one line: wrapped
    assert verdict._show(np.full(11, -1 / 3)) == "[" + " ".join(["-0.3333"] * 10) + "\n -0.3333]"
    assert verdict._show(np.full(10, -1 / 3)) == "[" + " ".join(["-0.3333"] * 10) + "]"


def test_first_difference_counts_a_difference_equal_to_negligible_as_rounding():
    text = verdict._first_difference("d", np.zeros(2), np.array([1e-12, 3e-12]), _Args(), [])
    assert text.endswith("first difference: d[1] is 3e-12, expected 0")


def test_error_of_two_empty_arrays_is_zero():
    assert verdict._error(np.zeros(0), np.zeros(0)) == 0.0


def _dense_backward_with_mistake(mistake, seed):
    """dense_backward knowing one mistake, "dX doubled"; a trial; and a function
    pairing outputs with their names, as _recognise_mistake takes them."""
    import dataclasses

    exercise = dataclasses.replace(verdict.EXERCISES["dense_backward"],
                                   mistakes=[("dX doubled", mistake)])
    rng = np.random.default_rng(seed)
    trial = _Args(rng.normal(size=(3, 2)), rng.normal(size=(2, 4)), rng.normal(size=4),
                  rng.normal(size=(3, 4)))

    def pairs(*outputs):
        return [(name, None, have) for name, have in zip(exercise.output_names, outputs)]

    return exercise, trial, pairs


def test_a_mistake_matches_only_if_every_output_matches():
    from bplib import functional as F

    def doubled_dx(X, W, b, dZ):
        dX, dW, db = F.dense_backward(X, W, b, dZ)
        return 2 * dX, dW, db

    exercise, trial, pairs = _dense_backward_with_mistake(doubled_dx, 0)
    dX, dW, db = doubled_dx(*trial.args)
    assert verdict._recognise_mistake(exercise, trial, pairs(dX, dW, db)) == "Hint: dX doubled"
    assert verdict._recognise_mistake(exercise, trial, pairs(dX, dW + 1.0, db)) is None
    assert verdict._recognise_mistake(exercise, trial, pairs(dX, dW.T, db)) is None


def test_a_mistake_without_an_output_is_compared_there_with_the_reference():
    from bplib import functional as F

    def doubled_dx_no_dw(X, W, b, dZ):  # a mistake that returns no dW at all
        dX, _, db = F.dense_backward(X, W, b, dZ)
        return 2 * dX, None, db

    exercise, trial, pairs = _dense_backward_with_mistake(doubled_dx_no_dw, 1)
    dX, dW, db = F.dense_backward(*trial.args)
    # the student's dW is the reference's, which is what the mistake is taken to give
    assert verdict._recognise_mistake(exercise, trial, pairs(2 * dX, dW, db)) == \
        "Hint: dX doubled"
    assert verdict._recognise_mistake(exercise, trial, pairs(2 * dX, dW + 1.0, db)) is None


def test_a_finite_answer_never_matches_a_mistake_that_gives_inf():
    """Grader bug: inf - inf made the error NaN, and NaN > tolerance is False, so a
    finite dW "matched" a mistake whose dW is inf (with a RuntimeWarning, which
    nbgrader counts as a failed cell)."""
    from bplib import functional as F

    def doubled_dx_infinite_dw(X, W, b, dZ):
        dX, dW, db = F.dense_backward(X, W, b, dZ)
        return 2 * dX, np.full(dW.shape, np.inf), db

    exercise, trial, pairs = _dense_backward_with_mistake(doubled_dx_infinite_dw, 2)
    dX, dW, db = F.dense_backward(*trial.args)
    assert verdict._recognise_mistake(exercise, trial, pairs(2 * dX, dW, db)) is None


def _relu_with_mistake(mistake):
    import dataclasses
    return dataclasses.replace(verdict.EXERCISES["relu_backward"],
                               mistakes=[("the mistake", mistake)])


def test_a_mistake_that_raises_is_passed_over_for_the_next():
    import dataclasses

    def raises(z, dout):
        raise ZeroDivisionError

    exercise = dataclasses.replace(verdict.EXERCISES["relu_backward"], mistakes=[
        ("raises", raises), ("doubled", lambda z, dout: 2 * dout * (z > 0))])
    trial = _Args(np.array([1.0, -1.0]), np.array([3.0, 3.0]))
    name = exercise.output_names[0]
    assert verdict._recognise_mistake(exercise, trial, [(name, None, np.array([6.0, 0.0]))]) \
        == "Hint: doubled"


def test_a_mistake_matches_at_exactly_the_reference_tolerance():
    # relative error max|a - b| / (max|a| + max|b|) = 1 / 1e6: exactly REFERENCE_TOLERANCE
    exercise = _relu_with_mistake(lambda z, dout: np.full_like(z, 499999.5))
    trial = _Args(np.array([1.0]), np.array([1.0]))  # the reference gives [1.0]
    name = exercise.output_names[0]
    assert verdict.REFERENCE_TOLERANCE == 1e-6
    assert verdict._recognise_mistake(exercise, trial, [(name, None, np.array([500000.5]))]) \
        == "Hint: the mistake"
    assert verdict._recognise_mistake(exercise, trial, [(name, None, np.array([500000.75]))]) \
        is None


def test_a_mistake_within_the_reference_tolerance_of_the_reference_is_no_mistake():
    exercise = _relu_with_mistake(lambda z, dout: dout - 1.0)
    name = exercise.output_names[0]
    # the mistake is exactly REFERENCE_TOLERANCE from the reference: right, on this trial
    trial = _Args(np.array([1.0]), np.array([500000.5]))
    assert verdict._recognise_mistake(exercise, trial, [(name, None, np.array([499999.5]))]) \
        is None
    # a little further, and it is a mistake the student made
    trial = _Args(np.array([1.0]), np.array([500000.25]))
    assert verdict._recognise_mistake(exercise, trial, [(name, None, np.array([499999.25]))]) \
        == "Hint: the mistake"


# --------------------------------------------------------------------------
# verdict.py: the problems of one output (_judge_output), word for word
# --------------------------------------------------------------------------

def _first_problems(feedback):
    return [line[4:] for line in feedback.splitlines() if line.startswith("  - ")]


def _relu(z, dout):
    return dout * (z > 0)


@pytest.mark.parametrize("answer, problem", [
    (lambda z, dout: _relu(z, dout).astype(int),
     "dz has an integer dtype; expected float64 (did you build it with np.zeros_like of an "
     "integer array?)"),
    (lambda z, dout: _relu(z, dout).astype(np.uint8),
     "dz has an integer dtype; expected float64 (did you build it with np.zeros_like of an "
     "integer array?)"),
    (lambda z, dout: _relu(z, dout) > 0,
     "dz has a bool dtype; expected float64 (convert it with .astype(float))"),
    (lambda z, dout: _relu(z, dout).astype(int if z.ndim == 1 else float),  # a vector
     "dz has an integer dtype; expected float64 (did you build it with np.zeros_like of an "
     "integer array?)"),
    (lambda z, dout: _relu(z, dout).astype(np.float32),
     "dz has dtype float32; expected float64, the course's precision"),
    (lambda z, dout: _relu(z, dout).T,
     "dz has shape (7, 5); expected (5, 7) (it looks transposed)"),
])
def test_the_problem_with_an_outputs_dtype_or_shape_is_said_exactly(answer, problem):
    result = verdict.check("relu_backward", answer)
    assert not result.passed
    assert _first_problems(result.feedback) == [problem]


def test_an_overflow_without_an_exercises_own_hint_gets_the_general_one():
    def relu_backward(z, dout):
        return np.where(np.abs(z) > 500, np.nan, _relu(z, dout))

    feedback = verdict.check("relu_backward", relu_backward).feedback
    assert "  - dz contains NaN" in feedback
    assert ("Hint: Large inputs overflowed somewhere: an exp of a big number is inf, and "
            "inf / inf is NaN. Use the numerically stable form.") in feedback


def test_an_overflow_gets_the_exercises_own_hint_when_it_has_one():
    def sigmoid_backward(z, dout):
        s = 1 / (1 + np.exp(-z))
        return dout * s * (1 - s) * np.where(np.abs(z) > 500, np.inf, 1.0)

    exercise = verdict.EXERCISES["sigmoid_backward"]
    feedback = verdict.check("sigmoid_backward", sigmoid_backward).feedback
    assert "Hint: " + exercise.overflow_hint in feedback.splitlines()
    assert "Large inputs overflowed somewhere" not in feedback


def test_a_difference_of_exactly_negligible_is_rounding():
    assert verdict.NEGLIGIBLE == 1e-12
    assert verdict._error(np.array([1e-12, 0.0]), np.zeros(2)) == 0.0
    assert verdict._error(np.array([2e-12, 0.0]), np.zeros(2)) == 1.0


def test_an_output_that_is_not_an_array_is_told_the_shape_expected():
    result = verdict.check("relu_backward", lambda z, dout: _relu(z, dout).astype(complex))
    assert _first_problems(result.feedback) == [
        "dz is an object of type complex array (complex128); expected a numpy array of shape "
        "(5, 7)"]


# --------------------------------------------------------------------------
# verdict.py: what the student's code printed (_printed)
# --------------------------------------------------------------------------

def _printing(stdout, chars=None):
    return verdict.TrialVerdict("t", True, stdout=stdout,
                                stdout_chars=len(stdout) if chars is None else chars)


@pytest.mark.parametrize("stdout, shown", [
    ("hello\n", "  | hello"),
    ("MAX\n", "  | MAX"),                # only newlines are stripped
    ("a \n\n\n", "  | a "),              # trailing newlines dropped, nothing else
    ("\nx\n", "  | \n  | x"),           # a leading empty line kept
    ("".join(f"{k}\n" for k in range(12)), "\n".join(f"  | {k}" for k in range(12))),
    ("x" * 600, "  | " + "x" * 600),
])
def test_printing_is_shown_whole_when_it_fits(stdout, shown):
    assert verdict._printed(_printing(stdout)) == [f'Your code printed (trial "t"):\n{shown}']


@pytest.mark.parametrize("stdout, chars, shown", [
    ("".join(f"{k}\n" for k in range(13)), None, "\n".join(f"  | {k}" for k in range(12))),
    ("x" * 601, None, "  | " + "x" * 600),
    ("x" * 2000, 5000, "  | " + "x" * 600),  # the record keeps 2,000 of the 5,000
])
def test_printing_that_is_cut_says_how_much_there_was(stdout, chars, shown):
    total = len(stdout) if chars is None else chars
    assert verdict._printed(_printing(stdout, chars)) == [
        f'Your code printed (trial "t"):\n{shown}\n  | ... ({total:,} characters in all)']


def test_nothing_printed_shows_nothing():
    assert verdict._printed(None) == [] and verdict._printed(_printing("")) == []


# --------------------------------------------------------------------------
# verdict.py: a returned value's structure (_pair_outputs), word for word
# --------------------------------------------------------------------------

def _reference_then(exercise_id, change):
    def answer(*args):
        loss, grads = verdict.reference(exercise_id)(*args)
        return loss, change(grads)
    return answer


def _without(key):
    return lambda grads: {k: v for k, v in grads.items() if k != key}


@pytest.mark.parametrize("exercise_id, answer, problem", [
    ("relu_backward", lambda z, dout: None,
     "returned None: did you forget the `return` statement?"),
    ("mlp_backprop", _reference_then("mlp_backprop", _without("b2")),
     "grads has keys ['W1', 'W2', 'b1']; expected exactly ['W1', 'W2', 'b1', 'b2'] "
     "(missing ['b2'])"),
    ("mlp_backprop", _reference_then("mlp_backprop", lambda g: {**g, "W3": g["W2"]}),
     "grads has keys ['W1', 'W2', 'W3', 'b1', 'b2']; expected exactly "
     "['W1', 'W2', 'b1', 'b2'] (unexpected ['W3'])"),
    ("mlp_backprop", _reference_then("mlp_backprop", lambda g: {**_without("b2")(g), "W3": 1}),
     "grads has keys ['W1', 'W2', 'W3', 'b1']; expected exactly ['W1', 'W2', 'b1', 'b2'] "
     "(missing ['b2']) (unexpected ['W3'])"),
    ("mlp_backprop", _reference_then("mlp_backprop", lambda g: list(g.values())),
     "grads is a list of 4 items; expected a dict with keys ['W1', 'W2', 'b1', 'b2']"),
    ("deep_backprop", _reference_then("deep_backprop", lambda g: g + g),
     "grads is a list of 2 items; expected a list of 1 (dW, db) pairs, one per layer"),
    ("deep_backprop", _reference_then("deep_backprop", lambda g: {"x": 1}),
     "grads is a dict of 1 items; expected a list of 1 (dW, db) pairs, one per layer"),
    ("deep_backprop", _reference_then("deep_backprop", lambda g: [pair[0] for pair in g]),
     "grads[0] is an array of shape (3, 4) and dtype float64; expected a pair (dW, db)"),
    ("deep_backprop", _reference_then("deep_backprop",
                                      lambda g: [(*pair, pair[1]) for pair in g]),
     "grads[0] is a tuple of 3 items; expected a pair (dW, db)"),
])
def test_a_structure_problem_is_said_exactly(exercise_id, answer, problem):
    result = verdict.check(exercise_id, answer)
    assert not result.passed
    assert _first_problems(result.feedback) == [problem]


# --------------------------------------------------------------------------
# verdict.py: judging a record (_judge), whatever the record holds
# --------------------------------------------------------------------------

def _relu_records(change=lambda record: record):
    trials = verdict.make_trials("relu_backward")
    return [change(verdict.call_student(_relu, t.args, ("z", "dout"))) for t in trials]


def test_a_trial_without_a_record_was_not_run():
    records = _relu_records()
    result = verdict.grade("relu_backward", records[:-1])
    label = verdict.make_trials("relu_backward")[-1].label
    assert result.feedback.splitlines()[1:3] == [
        f"First failure, trial {len(records)} ({label}):", "  - was not run"]


def test_a_record_with_only_its_outputs_is_judged_as_one_that_printed_nothing():
    result = verdict.grade("relu_backward",
                           _relu_records(lambda r: {"outputs": r["outputs"]}))
    assert result.passed and "printed" not in result.feedback
    # a record that says it printed, without the text, shows the count only
    result = verdict.grade("relu_backward", _relu_records(
        lambda r: {"outputs": r["outputs"], "stdout_chars": 3}))
    assert result.feedback.endswith('printed (trial "z of shape (5, 7)"):\n  | \n'
                                    '  | ... (3 characters in all)')


@pytest.mark.parametrize("error, problem", [
    ({"type": "NotImplementedError", "message": "", "where": None}, "not attempted yet"),
    ({"type": "NotImplementedError", "message": "not yet", "entry": False, "library": False,
      "where": {"line": 3, "code": "raise NotImplementedError('not yet')",
                "function": "<module>"}},
     "raised NotImplementedError: not yet at line 3: raise NotImplementedError('not yet')"),
    ({"type": "NotImplementedError", "message": "", "entry": False, "library": False,
      "where": {"line": 7, "code": "raise NotImplementedError", "function": "helper"}},
     "`helper` raised NotImplementedError at line 7: raise NotImplementedError"),
    ({"type": "NotImplementedError", "message": "", "entry": False, "library": False,
      "where": {"line": 7, "code": "raise NotImplementedError"}},
     "raised NotImplementedError:  at line 7: raise NotImplementedError"),
])
def test_a_not_implemented_error_is_told_by_where_it_was_raised(error, problem):
    records = _relu_records()
    records[0] = {**records[0], "outputs": None, "error": error}  # the first trial only
    assert _first_problems(verdict.grade("relu_backward", records).feedback) == [problem]
    everywhere = verdict.grade("relu_backward", [records[0]] * len(records))
    assert everywhere.status == ("not attempted" if problem == "not attempted yet" else "failed")


def test_a_helper_not_written_yet_gets_its_hint_word_for_word():
    records = _relu_records()
    records[0] = {**records[0], "outputs": None, "error": {
        "type": "NotImplementedError", "message": "", "entry": False, "library": False,
        "where": {"line": 7, "code": "raise NotImplementedError", "function": "helper"}}}
    assert "Hint: `helper`, which your code calls, is not written yet: write it, run its " \
           "cell, then run this check again." in verdict.grade("relu_backward", records).feedback


def test_a_timeout_record_says_its_own_message_and_where():
    records = _relu_records()
    records[0] = {**records[0], "outputs": None, "error": {
        "type": "Timeout", "message": "did not return within 5 s: an infinite loop?",
        "where": {"line": 4, "code": "while True: pass", "function": "relu_backward"}}}
    assert _first_problems(verdict.grade("relu_backward", records).feedback) == [
        "did not return within 5 s: an infinite loop? at line 4: while True: pass"]


def test_every_modified_argument_is_named():
    def relu_backward(z, dout):
        dz = dout * (z > 0)
        z += 1.0
        dout *= 2.0
        return dz

    assert "  - modified its argument `z`, `dout` in place" in \
        verdict.check("relu_backward", relu_backward).feedback


def test_modifying_params_gets_the_params_hint_word_for_word():
    def mlp_backprop(X, y, params):
        loss, grads = verdict.reference("mlp_backprop")(X, y, params)
        params["W1"] -= 0.0 * grads["W1"] + 1.0
        return loss, grads

    feedback = verdict.check("mlp_backprop", mlp_backprop).feedback
    assert ("Hint: Never change an argument: the caller still needs it. Don't change params or "
            "the arrays inside it (e.g. `params['W1'] -= ...` or `params['w1'] = ...`): compute "
            "new values; `params.copy()` copies the dict, not the arrays.") in feedback


def test_modifying_x_in_numerical_gradient_gets_its_own_hint_word_for_word():
    def numerical_gradient(f, x, h=1e-5):
        grad = np.zeros_like(x)
        for i in range(x.size):
            x.flat[i] += h  # never put back
            up = f(x)
            x.flat[i] -= 2 * h
            grad.flat[i] = (up - f(x)) / (2 * h)
        return grad

    assert ("Hint: Never change an argument: the caller still needs it. Perturb a copy, or "
            "save old = x[i] and restore x[i] = old after the two evaluations.") in \
        verdict.check("numerical_gradient", numerical_gradient).feedback


def test_a_class_that_modifies_its_arrays_gets_the_class_hint_word_for_word():
    Dense = verdict.reference("dense_layer")

    class Sloppy(Dense):
        def backward(self, dZ):
            dX = super().backward(dZ)
            self.W -= 0.0 * self.dW + 1.0  # an update in place, in backward
            return dX

    assert ("Hint: Never change an argument: the caller still needs it. Keep the arrays your "
            "object is given as they are; store new ones.") in \
        verdict.check("dense_layer", Sloppy).feedback


def test_not_attempted_anywhere_is_one_line_and_keeps_every_trial():
    records = _relu_records(lambda r: {**r, "outputs": None, "error": {
        "type": "NotImplementedError", "message": "", "where": None}})
    result = verdict.grade("relu_backward", records)
    assert (result.exercise_id, result.passed, result.score, result.status) == \
        ("relu_backward", False, 0.0, "not attempted")
    assert result.feedback == ("relu_backward: not attempted yet. Write your code in place of "
                               "`raise NotImplementedError`, run that cell, then run this one "
                               "again.")
    assert [t.label for t in result.trials] == \
        [t.label for t in verdict.make_trials("relu_backward")]


# --------------------------------------------------------------------------
# verdict.py: the feedback of a whole check (_summarise), line for line
# --------------------------------------------------------------------------

_T = verdict.TrialVerdict
_RELU = verdict.EXERCISES["relu_backward"]


def test_a_pass_keeps_its_trials_and_says_its_notes_and_printing_on_lines_of_their_own():
    verdicts = [_T("a", True, notes=["held-out accuracy 0.970"]),
                _T("b", True, stdout="hi\n", stdout_chars=3)]
    result = verdict._summarise(_RELU, verdicts)
    assert result.trials == verdicts
    assert result.feedback.split("\n") == [
        "relu_backward: all 2 trials passed.", "Held-out accuracy 0.970.",
        'Your code printed (trial "b"):', "  | hi"]


def test_a_failure_says_its_hints_once_each_with_one_hint_prefix():
    verdicts = [_T("a", True),
                _T("b", False, ["wrong"], hints=["Hint: a known mistake", "plain advice",
                                                 "plain advice"]),
                _T("c", False, ["wrong too"]), _T("d", False, ["wrong again"])]
    assert verdict._summarise(_RELU, verdicts).feedback.split("\n") == [
        "relu_backward: 1 of 4 trials passed.", "First failure, trial 2 (b):", "  - wrong",
        "Hint: a known mistake", "Hint: plain advice", "Also failed: trial 3 (c), 4 (d)."]


def test_with_no_known_mistake_the_smallest_trial_with_a_detail_is_shown():
    verdicts = [_T("big", False, ["off"], detail="  the detail of big", size=50),
                _T("tiny", False, ["raised"], size=1),               # no detail: not shown
                _T("hinted", False, ["off"], hints=["x"], detail="  hinted's", size=2),
                _T("mid", False, ["off"], detail="  the detail of mid", size=10)]
    lines = verdict._summarise(_RELU, verdicts).feedback.split("\n")
    assert lines[-3:] == [
        "No common mistake matches. The smallest failing trial, 4 (mid):",
        "  the detail of mid",
        "Hint: compute each step of your answer on a tiny input by hand and compare, to find "
        "the first one that is off."]


def test_an_exercises_own_debugging_hint_replaces_the_general_one():
    import dataclasses

    exercise = dataclasses.replace(_RELU, debug_hint="print z first.")
    feedback = verdict._summarise(exercise, [_T("a", False, ["off"], detail="  d", size=1)])
    assert feedback.feedback.split("\n")[-1] == "Hint: print z first."


def test_something_not_callable_gets_one_record_of_the_usual_shape():
    right = verdict.call_student(_relu, verdict.make_trials("relu_backward")[0].args,
                                 ("z", "dout"))
    (record,) = verdict.run_trials("relu_backward", np.zeros(3))
    assert record == {"outputs": None, "changed": [], "warnings": [], "stdout": "",
                      "stdout_chars": 0, "error": {"type": "NotCallable", "where": None,
                                                   "message": "got ndarray"}}
    assert record.keys() == right.keys()


def test_a_time_limit_that_goes_off_after_the_last_trial_changes_nothing(monkeypatch):
    import contextlib

    @contextlib.contextmanager
    def late_alarm(seconds):  # the timer fires just as the last call returned
        yield
        raise verdict.CheckTimeout()

    def relu_backward(z, dout):
        return _relu(z, dout)

    monkeypatch.setattr(verdict, "time_limit", late_alarm)
    records = verdict.run_trials("relu_backward", relu_backward)
    assert len(records) == len(verdict.make_trials("relu_backward"))
    assert all(r["error"] is None for r in records)
    assert verdict.timed_out_before(relu_backward) is None


@pytest.mark.parametrize("warnings, problem", [
    (["RuntimeWarning: invalid value encountered in divide"],
     "numpy warned: RuntimeWarning: invalid value encountered in divide"),
    (["RuntimeWarning: divide by zero encountered in log"],
     "numpy warned: RuntimeWarning: divide by zero encountered in log"),
    (["RuntimeWarning: overflow encountered in exp", "RuntimeWarning: invalid value encountered "
      "in multiply"], "numpy warned: RuntimeWarning: overflow encountered in exp; "
                      "RuntimeWarning: invalid value encountered in multiply"),
])
def test_each_kind_of_numpy_warning_is_a_problem(warnings, problem):
    records = _relu_records()
    records[0] = {**records[0], "warnings": warnings}
    assert _first_problems(verdict.grade("relu_backward", records).feedback) == [problem]


@pytest.mark.parametrize("compute, warning", [
    (lambda x: np.exp(x * 1000.0), "RuntimeWarning: overflow encountered in exp"),
    (lambda x: x / 0.0, "RuntimeWarning: divide by zero encountered in divide"),
    (lambda x: (x - x) / 0.0, "RuntimeWarning: invalid value encountered in divide"),
])
def test_numpy_warnings_are_caught_even_when_the_students_notebook_silenced_them(compute,
                                                                                   warning):
    """An answer cell may have run np.seterr(all="ignore"): the grader turns each kind of
    warning that signals instability back on around the student's call."""
    with np.errstate(all="ignore"):
        record = trials.call_student(compute, (np.array([1.0]),), ("x",))
    assert record["warnings"] == [warning]


def test_underflow_is_no_warning_even_when_the_students_notebook_turned_every_one_on():
    """exp(-1000) is 0, harmlessly: np.seterr(all="warn") in an answer cell does not make
    it a problem."""
    with np.errstate(all="warn"):
        record = trials.call_student(lambda x: np.exp(-1000.0 * x), (np.array([1.0]),), ("x",))
    assert record["warnings"] == [] and record["outputs"] is not None


def test_a_record_the_grader_cannot_read_fails_its_own_trial_only():
    """Records come from the student's process and may be malformed: the grader's safety
    net fails that trial, under its label, and judges the others."""
    records = _relu_records()
    records[1] = {**records[1], "error": "not a dict"}
    result = verdict.grade("relu_backward", records)
    labels = [t.label for t in verdict.make_trials("relu_backward")]
    assert [t.label for t in result.trials] == labels
    assert [t.passed for t in result.trials] == [k != 1 for k in range(len(labels))]
    assert result.trials[1].problems == [
        "could not be graded (AttributeError: 'str' object has no attribute 'get')"]


@pytest.mark.parametrize("records", [None, {"0": {}}, "records", [None, "x", 7, []]])
def test_records_that_are_not_a_list_of_records_fail_every_trial_without_a_crash(records):
    result = verdict.grade("relu_backward", records)
    assert result.status == "failed" and result.score == 0.0
    assert len(result.trials) == len(verdict.make_trials("relu_backward"))
    assert all(t.problems[0].startswith(("could not be graded (", "was not run"))
               for t in result.trials)


def test_the_first_twenty_kinds_of_warning_are_kept():
    def noisy(x):
        for k in range(25):
            warnings.warn(f"warning {k:02d}")
        return x

    record = trials.call_student(noisy, (np.array([1.0]),), ("x",))
    assert record["warnings"] == [f"UserWarning: warning {k:02d}" for k in range(20)]


def test_a_recognised_mistake_is_the_first_hint():
    hint, mistake = _RELU.mistakes[0]
    trials = verdict.make_trials("relu_backward")
    records = [verdict.call_student(mistake, t.args, ("z", "dout")) for t in trials]
    records[0]["warnings"] = ["RuntimeWarning: overflow encountered in exp"]
    hints = [line for line in verdict.grade("relu_backward", records).feedback.splitlines()
             if line.startswith("Hint:")]
    assert hints[:2] == ["Hint: " + hint, "Hint: " + verdict._UNSTABLE_HINT]


def test_an_error_of_exactly_the_reference_tolerance_passes():
    trial = _Args(np.array([1.0]), np.array([500000.5]))
    for have, passed in ((499999.5, True), (499999.25, False)):
        judged = _T("t", True)
        verdict._judge_output(_RELU, judged, "dz", np.array([500000.5]), np.array([have]),
                              None, trial)
        assert judged.passed is passed


def test_values_that_differ_are_said_with_and_without_a_gradient_check():
    judged = _T("t", True)  # a trial without a gradient check
    verdict._judge_output(_RELU, judged, "dz", np.array([1.0, 2.0]), np.array([2.0, 4.0]), None,
                          _Args(np.ones(2), np.array([1.0, 2.0])))
    assert judged.problems == ["dz: values differ from the reference (relative error 3.3e-01)"]

    def mlp_backprop(X, y, params):
        loss, grads = verdict.reference("mlp_backprop")(X, y, params)
        return loss, {**grads, "W1": 2 * grads["W1"]}

    (problem,) = _first_problems(verdict.check("mlp_backprop", mlp_backprop).feedback)
    assert problem.startswith("grads['W1']: values differ from the reference (relative error "
                              "3.3e-01); gradient check against central differences: relative "
                              "error ")


@pytest.mark.parametrize("exercise_id", ["mse_loss", "mlp_backprop", "deep_backprop"])
def test_the_gradient_check_covers_the_gradients_not_the_loss(exercise_id):
    """A loss is compared with the reference only: a loss 1e-6 off (within the
    reference tolerance, beyond AGREE) with exact gradients still "agrees", and a
    wrong loss is not said to fail a gradient check."""
    def off_by(factor):
        def answer(*args):
            loss, grads = verdict.reference(exercise_id)(*args)
            return loss * factor, grads
        return answer

    inside = verdict.check(exercise_id, off_by(1 + 1e-6))
    assert inside.passed and "the gradients agree" in inside.feedback
    (problem,) = _first_problems(verdict.check(exercise_id, off_by(2.0)).feedback)
    assert problem == "loss: values differ from the reference (relative error 3.3e-01)"


def test_the_printing_shown_is_the_first_failures_else_the_first_there_is():
    printed = [_T("a", True, stdout="one\n", stdout_chars=4),
               _T("b", False, ["off"], stdout="two\n", stdout_chars=4),
               _T("c", False, ["off"])]
    assert verdict._summarise(_RELU, printed).feedback.endswith('(trial "b"):\n  | two')
    printed[1] = _T("b", False, ["off"])
    assert verdict._summarise(_RELU, printed).feedback.endswith('(trial "a"):\n  | one')


def test_trials_after_a_timeout_were_not_run_because_of_it():
    stopped = verdict.timeout_record(5.0)
    result = verdict.grade("relu_backward", [stopped])
    assert [v.problems for v in result.trials[1:]] == \
        [["was not run: the check stopped at its time limit"]] * (len(result.trials) - 1)
    assert [v.label for v in result.trials] == \
        [t.label for t in verdict.make_trials("relu_backward")]
    result = verdict.grade("relu_backward", _relu_records()[:1])  # short, with no timeout
    assert result.trials[1].problems == ["was not run"]


# --------------------------------------------------------------------------
# trials.py: the student's side
# --------------------------------------------------------------------------


def test_printing_is_kept_up_to_max_stdout_across_several_writes():
    out = trials._BoundedWriter()
    out.write("a" * (trials.MAX_STDOUT - 10))
    out.write("b" * 100)
    out.write("c")
    assert out.getvalue() == "a" * (trials.MAX_STDOUT - 10) + "b" * 10
    assert out.size == trials.MAX_STDOUT + 91


class _Thing:
    """A class exercise's answer, driven like the clean run drives one."""

    def __init__(self, x):
        self.x = x

    def go(self):
        if self.x == "helper":
            return (lambda: _not_written_yet())()
        if self.x == "none":
            return None
        raise NotImplementedError


def _not_written_yet():
    raise NotImplementedError


def _driven(x):
    """call_student's error for _Thing(x) driven by a drive_ function that, as in a
    clean run, is compiled from source outside bplib and called through a lambda."""
    scope = {}
    exec("def drive_thing(cls, x):\n    return cls(x).go().data\n", scope)
    drive = scope["drive_thing"]
    return trials.call_student(lambda *args: drive(_Thing, *args), (x,), ("x",))["error"]


def test_a_drivers_frames_and_its_lambda_are_the_graders_not_the_students():
    error = _driven("raise")  # raised by the method the driver called: an entry
    assert error["where"] == {"line": error["where"]["line"], "code": "raise NotImplementedError",
                              "function": "go"}
    assert (error["entry"], error["library"]) == (True, False)

    error = _driven("none")  # raised in the driver itself: no line of the student's
    assert (error["where"], error["entry"], error["library"]) == (None, True, True)

    error = _driven("helper")  # raised in a helper the student's own lambda called
    assert error["where"]["function"] == "_not_written_yet"
    assert (error["entry"], error["library"]) == (False, False)


def test_a_timeout_record_word_for_word():
    where = {"line": 3, "code": "while True: pass", "function": "relu_backward"}
    assert trials.timeout_record(2.5, where) == {
        "outputs": None, "changed": [], "warnings": [], "stdout": "", "stdout_chars": 0,
        "error": {"type": "Timeout", "message": "did not return within 2.5 s: an infinite loop?",
                  "where": where, "entry": True, "seconds": 2.5}}
    assert trials.timeout_record(2.5, before=True)["error"]["message"] == (
        "did not return within 2.5 s when it was checked before: an infinite loop? Fix it and "
        "run its cell again (that makes a new function), then run this check again.")


class _NoWeakReferences:
    __slots__ = ()

    def __call__(self, z, dout):
        return dout * (z > 0)


def test_a_timeout_is_remembered_for_a_callable_without_weak_references():
    fn, other = _NoWeakReferences(), _NoWeakReferences()
    trials.remember_timeout(fn, 3.0)
    assert (trials.timed_out_before(fn), trials.timed_out_before(other)) == (3.0, None)


def test_a_smooth_functions_value_and_its_exact_gradient():
    A, B, x = np.array([1.0, 2.0]), np.array([0.5, -3.0]), np.array([0.25, 0.5])
    f = trials.SmoothFunction(A, B)
    assert f(x) == float(np.sin(0.25) + 0.5 * 0.25 ** 2 + np.sin(1.0) - 3.0 * 0.5 ** 2)
    g = lesson01.SmoothFunction(np.random.default_rng(0), (3, 2))
    x = np.random.default_rng(1).standard_normal((3, 2))
    np.testing.assert_allclose(g.gradient(x), numerical_gradient(g, x), rtol=1e-7, atol=1e-9)


def test_trial_inputs_travel_as_json_and_come_back_the_same():
    """What the classroom grader sends a clean run: every kind of trial input,
    through JSON text, back to equal values of the same types."""
    import json

    smooth = lesson01.SmoothFunction(np.random.default_rng(0), (2, 3))
    inputs = (np.arange(6.0).reshape(2, 3), np.array([1, 2], dtype=np.int64), np.float64(2.5),
              3, 0.5, None, "relu", [np.ones(2), ("a", 1.0)],
              {"W": np.eye(2), "lr": 0.1, "name": "layer 1", "f": smooth},
              smooth)
    back = trials.from_data(json.loads(json.dumps(trials.to_data(inputs))))
    assert type(back) is tuple and len(back) == len(inputs)
    array, ints, scalar, integer, number, none, text, listed, params, function = back
    assert array.dtype == np.float64 and np.array_equal(array, inputs[0])
    assert ints.dtype == np.int64 and np.array_equal(ints, [1, 2])
    assert scalar == 2.5 and integer == 3 and number == 0.5 and none is None
    assert text == "relu" and type(text) is str
    assert type(listed) is list and np.array_equal(listed[0], np.ones(2))
    assert listed[1] == ("a", 1.0)
    assert list(params) == ["W", "lr", "name", "f"] and np.array_equal(params["W"], np.eye(2))
    assert params["lr"] == 0.1 and params["name"] == "layer 1"
    assert type(params["f"]) is trials.SmoothFunction
    assert type(function) is trials.SmoothFunction
    assert np.array_equal(function.A, smooth.A) and np.array_equal(function.B, smooth.B)
    x = np.random.default_rng(1).standard_normal((2, 3))
    assert function(x) == smooth(x)


def test_containers_are_encoded_with_their_kind_and_length():
    assert trials.to_data(("a", ["b"], {1: "c"})) == {
        "kind": "tuple", "length": 3, "items": [
            {"kind": "str", "value": "a"},
            {"kind": "list", "length": 1, "items": [{"kind": "str", "value": "b"}]},
            {"kind": "dict", "items": [["1", {"kind": "str", "value": "c"}]]}]}


def test_a_trial_input_that_cannot_travel_is_a_type_error():
    with pytest.raises(TypeError) as error:
        trials.to_data([object()])
    assert str(error.value) == "a trial input of type object cannot be sent as data"


# --------------------------------------------------------------------------
# The exercise modules' trial helpers: what their docstrings promise
# --------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(), (1,), (6,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("size_of_difference", [1e-2, 1e-5])
def test_a_gradient_pair_has_its_largest_entry_and_difference_negative(shape, size_of_difference):
    from bplib.grading.exercises.lesson11 import _gradient_pair

    for seed in range(20):
        a, b = _gradient_pair(np.random.default_rng(seed), shape, size_of_difference)
        assert a.shape == b.shape == shape
        a, d = a.reshape(-1), (a - b).reshape(-1)
        assert a[np.argmax(np.abs(a))] < 0 and d[np.argmax(np.abs(d))] < 0
        assert size_of_difference / 10 < np.max(np.abs(d)) < size_of_difference * 10


def test_numerical_backward_gives_one_array_for_one_input_else_a_tuple():
    from bplib.grading.exercises.common import numerical_backward

    x, y, dout = np.array([1.0, -2.0]), np.array([0.5, 3.0]), np.array([1.0, 2.0])
    dx = numerical_backward(np.sin, 1, (x, dout))
    assert isinstance(dx, np.ndarray) and np.allclose(dx, np.cos(x) * dout)
    dx, dy = numerical_backward(np.multiply, 2, (x, y, dout))
    assert np.allclose(dx, y * dout) and np.allclose(dy, x * dout)


def test_a_layer_whose_backward_returns_nothing_is_told_dx_is_none():
    """The class exercise's driver copies what the student's methods return (arrays
    only: a None has nothing to copy)."""
    class Dense(verdict.reference("dense_layer")):
        def backward(self, dZ):
            super().backward(dZ)  # dX computed, not returned

    (problem,) = _first_problems(verdict.check("dense_layer", Dense).feedback)
    assert problem == "dX is None; expected a numpy array of shape (5, 3)"



# --------------------------------------------------------------------------
# lesson02: how a Value class is driven (_build_and_backward), word for word
# --------------------------------------------------------------------------

def _value_problem(value_class):
    (problem,) = _first_problems(verdict.check("value", value_class).feedback)
    return problem


def test_driving_a_value_class_leaves_the_garbage_collector_as_it_was():
    from bplib.grading.exercises.lesson02 import drive_value

    graph = ([1.0, 2.0], "v2 = v0 * v1")
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            drive_value(verdict.reference("value"), graph)
            assert gc.isenabled() is enabled
    finally:
        gc.enable()


def test_a_value_that_keeps_an_int_is_told_data_must_be_a_float():
    class Value(verdict.reference("value")):
        def __init__(self, data, *args, **kwargs):
            super().__init__(data, *args, **kwargs)
            self.data = data

    assert _value_problem(Value) == ("raised TypeError: Value(2).data is 2 of type int: it "
                                     "must be a float (float(data))")


def test_a_value_whose_grad_does_not_start_at_zero_is_told_so():
    class Value(verdict.reference("value")):
        def __init__(self, data, *args, **kwargs):
            super().__init__(data, *args, **kwargs)
            self.grad = 1.0

    assert re.fullmatch(r"raised ValueError: Value\(-?\d\.\d+\)\.grad is 1\.0 before "
                        r"backward: it must start at 0\.0", _value_problem(Value))


def test_an_operation_must_return_something_with_data_and_grad():
    reference_value = verdict.reference("value")

    class Value(reference_value):
        def __add__(self, other):
            return types.SimpleNamespace(data=super().__add__(other).data)  # no grad

    assert _value_problem(Value) == ("raised TypeError: v2 = v0 + v0 returned "
                                     "SimpleNamespace, not a Value")

    class Value(reference_value):
        def __add__(self, other):
            out = super().__add__(other)
            out.__class__ = reference_value  # the same node, of another class
            return out

    assert verdict.check("value", Value).passed  # it has data and grad: a Value


# --------------------------------------------------------------------------
# lesson12: how the digits network is scored
# --------------------------------------------------------------------------

def _digits_trial(rows=40):
    """A digits trial with a small held-out set (the grader's own structure)."""
    from bplib.grading.exercises.common import Trial
    rng = np.random.default_rng(3)
    X, y = rng.random((rows, 64)), rng.integers(0, 10, size=rows)
    return Trial("digits", (X, y), secret=(X, y))


def _pairs(*sizes, value=0.1):
    return [(np.full((d_in, d_out), value), np.zeros(d_out))
            for d_in, d_out in zip(sizes[:-1], sizes[1:])]


@pytest.mark.parametrize("params, problem", [
    ([], "train must return a non-empty list of (W, b) pairs"),
    ({"W": 1}, "train must return a non-empty list of (W, b) pairs"),
    ([(np.zeros((64, 10)),)], "params[0] is not a pair (W, b)"),
    ([(np.zeros((64, 10)), np.zeros(10), 0)], "params[0] is not a pair (W, b)"),
    ([(np.zeros((64, 10)).tolist(), np.zeros(10))], "params[0]: W and b must be float arrays"),
    ([(np.zeros((64, 10)), [0.0] * 10)], "params[0]: W and b must be float arrays"),
    ([(np.zeros((64, 10), dtype=int), np.zeros(10))], "params[0]: W and b must be float arrays"),
    ([(np.zeros((64, 10)), np.zeros(10, dtype=int))], "params[0]: W and b must be float arrays"),
    ([(np.zeros(64), np.zeros(10))], "params[0]: W has shape (64,) and b (10,); expected W "
                                     "(64, D) and b (D,)"),
    ([(np.zeros((63, 10)), np.zeros(10))], "params[0]: W has shape (63, 10) and b (10,); "
                                           "expected W (64, D) and b (D,)"),
    ([(np.zeros((64, 10)), np.zeros(9))], "params[0]: W has shape (64, 10) and b (9,); "
                                          "expected W (64, D) and b (D,)"),
    (_pairs(64, 8) + [(np.zeros((7, 10)), np.zeros(10))],
     "params[1]: W has shape (7, 10) and b (10,); expected W (8, D) and b (D,)"),
    ([(np.full((64, 10), np.nan), np.zeros(10))], "params[0] contains NaN or inf"),
    ([(np.zeros((64, 10)), np.full(10, np.inf))], "params[0] contains NaN or inf"),
    (_pairs(64, 8, 9), "the last layer has 9 outputs; expected 10, one per digit"),
])
def test_every_structure_problem_of_the_digits_params_word_for_word(params, problem):
    from bplib.grading.exercises.lesson12 import assess
    assert assess(_digits_trial(), params) == (0.0, [problem], [])


def test_the_digits_score_is_full_from_95_percent_and_none_below_85(monkeypatch):
    from bplib.grading.exercises import lesson12

    trial = _digits_trial(rows=200)
    _, y = trial.secret
    params = [(np.zeros((64, 10)), np.zeros(10))]
    for right, score, problems in [(200, 1.0, []), (190, 1.0, []),
                                   (180, 0.5, ["test accuracy 90.0% is below 95%"]),
                                   (170, 0.0, ["test accuracy 85.0% is below 95%"]),
                                   (100, 0.0, ["test accuracy 50.0% is below 95%"])]:
        guesses = np.where(np.arange(200) < right, y, (y + 1) % 10)
        monkeypatch.setattr(lesson12, "predict", lambda params, X, guesses=guesses: guesses)
        result = lesson12.assess(trial, params)
        assert result[0] == pytest.approx(score, abs=1e-12) and result[1] == problems
        assert result[2] == [f"test accuracy {right / 200:.1%} on 200 digits train never saw "
                             "(full marks from 95%, none below 85%)"]


def test_predict_takes_relu_after_every_layer_but_the_last():
    from bplib.grading.exercises.lesson12 import predict

    X = np.array([[1.0, 0.0]])
    hidden = (np.array([[1.0, -1.0], [0.0, 0.0]]), np.zeros(2))  # ReLU(1, -1) = (1, 0)
    last = (np.array([[-2.0, -1.0], [0.0, 5.0]]), np.zeros(2))    # from (1, 0): (-2, -1)
    assert predict([hidden, last], X).tolist() == [1]  # ReLU there would tie them at 0;
    # without the hidden ReLU, (1, -1) would give (-2, -6)
    one_layer = (np.array([[-2.0, -1.0], [0.0, 0.0]]), np.array([0.0, 0.5]))
    assert predict([one_layer], X).tolist() == [1]     # (-2, -0.5): no ReLU at all


def test_the_digits_are_pixels_in_0_1_and_integer_labels():
    from bplib.grading.exercises.lesson12 import load_digits

    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert X.min() == 0.0 and X.max() == 1.0
    assert y.dtype == np.int64 and sorted(set(y.tolist())) == list(range(10))


def test_a_value_graph_reads_as_numbered_lines_and_parses_back():
    from bplib.grading.exercises.lesson02 import parse, program

    ops = [("+", ("v", 0), ("v", 1)), ("*", ("v", 2), 2.5), ("tanh", ("v", 3)),
           ("neg", ("v", 0)), ("**", ("v", 1), 2), ("-", 1.5, ("v", 4))]
    graph = program([2.0, 3.0], ops)
    assert graph == ([2.0, 3.0], "v2 = v0 + v1\nv3 = v2 * 2.5\nv4 = v3.tanh()\nv5 = -v0\n"
                                 "v6 = v1 ** 2\nv7 = 1.5 - v4")
    assert parse(graph) == ([2.0, 3.0], tuple(ops))


@pytest.mark.parametrize("shape", [(2,), (1, 2), (2, 1), (5,), (3, 4)])
def test_both_signs_keeps_its_promises(shape):
    """Random numbers away from 0 (|z| in [0.1, 2]) with both signs, in the shape asked."""
    from bplib.grading.exercises.common import both_signs

    for seed in range(30):
        z = both_signs(np.random.default_rng(seed), shape)
        assert z.shape == shape and np.any(z > 0) and np.any(z < 0)
        assert np.all((0.1 <= np.abs(z)) & (np.abs(z) <= 2.0))


def _error_of(fn, *args):
    return trials.call_student(fn, args, ("x",) * len(args))["error"]


@pytest.mark.parametrize("length, message", [(300, "m" * 300), (301, "m" * 300 + "...")])
def test_an_error_message_is_cut_after_300_characters(length, message):
    def fn(x):
        raise ValueError("m" * length)

    assert _error_of(fn, 1.0)["message"] == message


def test_an_unprintable_error_is_named_by_its_type():
    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no")

    def fn(x):
        raise Unprintable()

    assert _error_of(fn, 1.0)["message"] == "<unprintable Unprintable>"


def test_a_line_without_source_is_quoted_as_empty():
    """A function compiled from a string has no source line to quote."""
    scope = {}
    exec(compile("def fn(x):\n    raise ValueError('no source')\n", "<answer>", "exec"), scope)
    where = _error_of(scope["fn"], 1.0)["where"]
    assert where == {"line": 2, "code": "", "function": "fn"}


def test_a_record_of_an_unknown_kind_comes_back_opaque():
    """A record from another process that names no known kind (nor a type)."""
    assert trials.from_portable({"kind": "something new"}).type_name == "unknown"
    assert trials.from_portable({"kind": "other", "type": "Model"}).type_name == "Model"


def test_returned_containers_are_followed_four_levels_deep():
    """An array inside four nested lists is still an array; a fifth list is not opened."""
    record = trials.to_portable([[[[np.ones(2)]]]])
    for _ in range(4):
        record = record["items"][0]
    assert record["kind"] == "array" and record["shape"] == [2]
    record = trials.to_portable([[[[[np.ones(2)]]]]])
    for _ in range(4):
        record = record["items"][0]
    assert record == {"kind": "other", "type": "list"}


def test_returned_dicts_are_followed_four_levels_deep():
    record = trials.to_portable({"a": {"b": {"c": {"d": np.ones(2)}}}})
    for _ in range(4):
        record = record["items"][0][1]
    assert record["kind"] == "array" and record["shape"] == [2]
    record = trials.to_portable({"a": {"b": {"c": {"d": {"e": np.ones(2)}}}}})
    for _ in range(4):
        record = record["items"][0][1]
    assert record == {"kind": "other", "type": "dict"}


def test_a_long_container_sends_its_first_items_and_keeps_its_length():
    back = trials.from_portable(trials.to_portable(tuple(range(25))))
    assert back[:trials.MAX_ITEMS] == tuple(range(20)) and len(back) == 25
    assert all(isinstance(item, Opaque) and item.type_name == "not sent"
               for item in back[20:])
    back = trials.from_portable(trials.to_portable({f"k{i}": i for i in range(25)}))
    assert back == {f"k{i}": i for i in range(20)}

    def relu_backward(z, dout):
        return tuple(range(25))

    (problem,) = _first_problems(verdict.check("relu_backward", relu_backward).feedback)
    assert problem == "dz is a tuple of 25 items; expected a numpy array of shape (5, 7)"


def test_numbers_travel_as_numbers_and_nan_and_inf_as_text_strict_json_has_neither():
    assert trials.to_portable(1.5) == {"kind": "float", "value": 1.5, "type": "float"}
    for number in (float("nan"), np.inf, -np.float64(np.inf)):
        record = trials.to_portable(number)
        assert isinstance(record["value"], str)
        json.dumps(record, allow_nan=False)
        back = trials.from_portable(record)
        assert np.isnan(back) if np.isnan(number) else back == number


def test_an_argument_holding_nan_is_the_same_as_its_copy():
    """trials._same compares an argument with its copy taken before the call."""
    before = {"z": np.array([1.0, np.nan]), "n": [float("nan")]}
    assert trials._same(before, {"z": np.array([1.0, np.nan]), "n": [float("nan")]})
    assert not trials._same(before, {"z": np.array([1.0, np.nan], dtype=np.float32),
                                     "n": [float("nan")]})
    assert not trials._same(before["z"], list(before["z"]))


def test_a_complex_array_is_named_and_cannot_be_a_trial_input():
    value = np.array([1.0 + 2.0j])
    assert trials.to_portable(value) == {"kind": "other", "type": "complex array (complex128)"}
    assert trials.from_portable(trials.to_portable(value)).type_name == \
        "complex array (complex128)"
    with pytest.raises(TypeError) as error:
        trials.to_data(value)
    assert str(error.value) == "a trial input of type ndarray cannot be sent as data"


def test_an_integer_beyond_2_to_the_53_travels_as_a_float():
    """JSON readers keep integers exactly only up to 2**53."""
    assert trials.to_portable(2**53 - 1) == {"kind": "int", "value": 2**53 - 1}
    assert trials.to_portable(-(2**53 - 1)) == {"kind": "int", "value": -(2**53 - 1)}
    assert trials.to_portable(2**53) == {"kind": "float", "value": 2.0**53, "type": "int"}
    assert trials.from_portable(trials.to_portable(np.int64(2**60))) == 2.0**60


def test_the_overwriting_mistake_is_the_reference_with_overwriting_mul():
    """The known mistake "a gradient overwritten" (its multiplication's backward
    assigns where it should add) keeps the reference's local derivatives: alone, with
    an upstream gradient of 5, it agrees with the reference; with a used twice, the
    path handled last wins (-6 where the reference sums -6 + -6)."""
    from bplib.grading.exercises.lesson02 import _MulOverwrites

    a, b = _MulOverwrites(3.0), _MulOverwrites(-2.0)
    ((a * b) * 5.0).backward()
    assert (a.grad, b.grad) == (-10.0, 15.0)
    a, b = _MulOverwrites(3.0), _MulOverwrites(-2.0)
    (a * b * a).backward()
    assert (a.grad, b.grad) == (-6.0, 9.0)


@pytest.mark.parametrize("name", ["constant_mean_and_variance", "no_variance_path",
                                  "unbiased_variance", "dgamma_without_xhat", "no_mean_path",
                                  "eps_outside_sqrt"])
def test_batchnorm_mistakes_take_the_trials_eps(name):
    """A known mistake of batchnorm_backward uses the trial's eps, as the student's code
    does: a student's bug gets its hint on the eps=0.1 trial too, not only where eps is
    the default."""
    from grading_zoo import BUGGY

    (fn, phrase), = [(fn, phrase) for n, fn, phrase in BUGGY["batchnorm_backward"] if n == name]
    result = verdict.check("batchnorm_backward", fn)
    (trial,) = [t for t in result.trials if t.label.startswith("eps=0.1")]
    assert not trial.passed and any(phrase in hint for hint in trial.hints), trial


def test_the_own_data_mistake_still_accumulates():
    """The known mistake "a * b's backward is off" (each factor's gradient from its own
    data) is wrong in that one way only: with a used twice, both paths add up
    (3 + 3 * -6 = -15), as they do in the reference."""
    (own_data,) = [mistake for hint, mistake in verdict.EXERCISES["value"].mistakes
                   if hint.startswith("a * b's backward is off")]
    a, b = own_data(3.0), own_data(-2.0)
    (a * b * a).backward()
    assert (a.grad, b.grad) == (-15.0, 12.0)
