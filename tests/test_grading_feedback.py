"""What check() says, and its limits: the time limit, the student's printing,
helpers not written yet, the smallest failing trial, shape errors, nbgrader's
scoring, every threshold pinned from both sides, and the grader bugs of
issue 16 (each test here fails on one of them)."""

import threading
import time

import numpy as np
import pytest

from bplib import functional as F
from bplib.gradcheck import AGREE, WRONG
from bplib.grading import EXERCISES, check, grade, make_trials, reference, run_trials
from bplib.grading import verdict

# --------------------------------------------------------------------------
# The time limit
# --------------------------------------------------------------------------


def test_an_infinite_loop_is_stopped_at_the_time_limit_and_named():
    # A new function object on every run: a timed-out one is remembered and not run again.
    def _forever(z, dout):
        while True:
            pass

    started = time.monotonic()
    result = check("relu_backward", _forever, timeout=0.5)
    elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 1.5
    assert not result.passed and result.score == 0.0
    assert "did not return within 0.5 s: an infinite loop?" in result.feedback
    assert "while True:" in result.feedback  # where it was stopped


def test_a_function_that_timed_out_is_not_run_again():
    def relu_backward(z, dout):
        while True:
            pass

    check("relu_backward", relu_backward, timeout=0.3)
    started = time.monotonic()
    again = check("relu_backward", relu_backward, timeout=0.3)
    assert time.monotonic() - started < 0.2
    assert "did not return within 0.3 s when it was checked before" in again.feedback
    # a fixed function (a new object) is checked as usual
    assert check("relu_backward", lambda z, dout: dout * (z > 0), timeout=0.3).passed


def test_except_exception_does_not_swallow_the_time_limit():
    def relu_backward(z, dout):
        while True:
            try:
                time.sleep(0.01)
            except Exception:
                pass

    result = check("relu_backward", relu_backward, timeout=0.3)
    assert "did not return within 0.3 s" in result.feedback


def test_the_time_limit_works_off_the_main_thread_too():
    def _forever_in_a_thread(z, dout):
        while True:
            pass

    results = {}
    thread = threading.Thread(target=lambda: results.update(
        r=check("relu_backward", _forever_in_a_thread, timeout=0.4)))
    started = time.monotonic()
    thread.start()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - started < 1.5
    assert "did not return within 0.4 s" in results["r"].feedback


def test_the_default_time_limit_and_an_exercises_own():
    assert verdict.time_limit_of("relu_backward") == verdict.DEFAULT_TIMEOUT == 5.0
    assert verdict.time_limit_of("digits_network") == 10.0
    assert verdict.time_limit_of("relu_backward", 2.0) == 2.0


def test_a_slow_but_finishing_function_is_not_stopped():
    def relu_backward(z, dout):
        time.sleep(0.02)
        return dout * (z > 0)

    assert check("relu_backward", relu_backward, timeout=2.0).passed


def test_a_timeout_record_survives_the_process_split():
    import json
    records = json.loads(json.dumps(run_trials("relu_backward", _forever_for_json, timeout=0.2)))
    result = grade("relu_backward", records)
    assert "did not return within 0.2 s" in result.feedback
    assert "the check stopped at its time limit" not in result.feedback.split("\n")[1]


def _forever_for_json(z, dout):
    while True:
        pass


# --------------------------------------------------------------------------
# Printing, helpers not written yet, the smallest failing trial, shapes
# --------------------------------------------------------------------------

def test_what_the_function_printed_is_shown_bounded():
    def relu_backward(z, dout):
        print("z has shape", z.shape)
        return dout * (z >= 0)

    feedback = check("relu_backward", relu_backward).feedback
    assert "Your code printed" in feedback and "|   z has shape" not in feedback
    assert "| z has shape (" in feedback

    def loud(z, dout):
        print("x" * 100_000)
        return dout * (z > 0)

    feedback = check("relu_backward", loud).feedback
    assert "100,001 characters in all" in feedback and len(feedback) < 2000


def test_a_helper_still_raising_not_implemented_is_named():
    def sigmoid(z):
        raise NotImplementedError()

    def sigmoid_backward(z, dout):
        s = sigmoid(z)
        return dout * s * (1 - s)

    result = check("sigmoid_backward", sigmoid_backward)
    assert result.status == "failed" and "not attempted" not in result.feedback
    assert "`sigmoid` raised NotImplementedError at line" in result.feedback
    assert "raise NotImplementedError()" in result.feedback
    assert "`sigmoid`, which your code calls, is not written yet" in result.feedback


def test_the_smallest_failing_trial_is_shown_when_no_mistake_matches():
    def relu_backward(z, dout):
        return dout * (z > 0) * 1.5

    feedback = check("relu_backward", relu_backward).feedback
    assert "No common mistake matches. The smallest failing trial" in feedback
    # the batch of one, (1, 6): fewer numbers than any other failing trial
    assert feedback.split("smallest failing trial")[1].startswith(", 2 (batch size 1")
    for part in ("inputs:", "z = [", "expected dz = [", "yours    dz = [",
                 "first difference: dz["):
        assert part in feedback


def test_a_matrix_shape_error_gets_a_hint_about_shapes():
    def dense_backward(X, W, b, dZ):
        return W @ dZ, X.T @ dZ, dZ.sum(axis=0)  # W @ dZ: (D, M) @ (N, M)

    feedback = check("dense_backward", dense_backward).feedback
    assert "The sizes of a matrix product don't match" in feedback
    assert "Here: X (N, D), W (D, M), b (M,), dZ (N, M)." in feedback


def test_hints_are_the_exercises_own():
    def relative_error(a, b):
        return 1.5 * float(np.max(np.abs(a - b)) / (np.max(np.abs(a)) + np.max(np.abs(b))))

    feedback = check("relative_error", relative_error).feedback
    assert "No common mistake matches" in feedback and "numerical_gradient" not in feedback

    def numerical_gradient(f, x, h=1e-5):
        x = np.array(x, dtype=float)
        grad = np.zeros_like(x)
        for i in range(len(x)):
            old = x[i]
            x[i] = old + h
            f_plus = f(x)
            x[i] = old - h
            grad[i] = (f_plus - f(x)) / (2 * h)
            x[i] = old
        return grad

    feedback = check("numerical_gradient", numerical_gradient).feedback
    assert "np.ndindex(x.shape)" in feedback and "instead of loops" not in feedback
    for exercise in EXERCISES.values():
        for hint, _ in exercise.mistakes:
            assert "from-scratch chapter" not in hint, exercise.id


# --------------------------------------------------------------------------
# nbgrader scores the displayed result
# --------------------------------------------------------------------------

def _displayed(result):
    """What Jupyter puts in the execute_result's data for ``result``."""
    from IPython.core.interactiveshell import InteractiveShell
    data, _ = InteractiveShell.instance().display_formatter.format(result)
    return data


def _nbgrader_grade(data, points):
    """nbgrader's own determine_grade on a grade cell with this output."""
    import nbformat
    from nbgrader.utils import determine_grade
    cell = nbformat.v4.new_code_cell("check(...)")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "points": points,
                                 "grade_id": "x", "locked": True, "schema_version": 3}
    cell.outputs = [nbformat.v4.new_output("execute_result", data=data, execution_count=1)]
    return determine_grade(cell)


@pytest.mark.parametrize("mode", ["autograde", "validate"])
def test_under_nbgrader_check_prints_and_shows_the_points(monkeypatch, capsys, mode):
    monkeypatch.setenv("NBGRADER_EXECUTION", mode)

    def stub(z, dout):
        raise NotImplementedError

    def half_right(z, dout):
        if z.ndim > 2:
            return dout
        return dout * (z > 0)

    n = len(make_trials("relu_backward"))
    for fn, points in [(F.relu_backward, 1.0), (stub, 0.0), (half_right, (n - 1) / n)]:
        result = check("relu_backward", fn)
        printed = capsys.readouterr()
        assert printed.err == ""
        assert printed.out == result.feedback + "\n"
        data = _displayed(result)
        assert set(data) == {"text/plain"}
        assert float(data["text/plain"]) == pytest.approx(points)
        assert _nbgrader_grade(data, 1) == (pytest.approx(points), 1.0)
        assert result.passed == (points == 1.0)  # `if check(...).passed:` still works


def test_nbgrader_points_are_the_exercises(monkeypatch, capsys):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    result = check("digits_network", lambda X, y: [(np.zeros((64, 10)), np.zeros(10))])
    assert float(repr(result)) == 0.0
    assert EXERCISES["digits_network"].points == 2


def test_without_nbgrader_check_shows_the_feedback(monkeypatch, capsys):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    result = check("relu_backward", F.relu_backward)
    assert capsys.readouterr().out == ""
    data = _displayed(result)
    assert data["text/plain"] == result.feedback and "text/html" in data


def test_nbgrader_validate_fails_a_blank_notebooks_check(monkeypatch, capsys):
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")

    def stub(*args):
        raise NotImplementedError()

    for exercise_id in EXERCISES:
        score, max_score = _nbgrader_grade(_displayed(check(exercise_id, stub)),
                                           EXERCISES[exercise_id].points)
        assert score == 0.0 and max_score == EXERCISES[exercise_id].points  # score < max: fails


# --------------------------------------------------------------------------
# Thresholds, pinned from both sides
# --------------------------------------------------------------------------

def _scaled(factor):
    """relu_backward's right answer times ``factor``: relative error (factor - 1) / 2
    against the reference and against central differences alike."""
    return lambda z, dout: F.relu_backward(z, dout) * factor


def test_the_grader_thresholds_are_the_documented_ones():
    assert verdict.REFERENCE_TOLERANCE == 1e-6
    assert verdict.NEGLIGIBLE == 1e-12
    assert (verdict.GRADCHECK_AGREE, verdict.GRADCHECK_WRONG) == (AGREE, WRONG) == (1e-7, 1e-2)


def test_the_reference_tolerance_just_inside_passes_and_just_outside_fails():
    assert check("relu_backward", _scaled(1 + 2 * 0.9e-6)).passed
    outside = check("relu_backward", _scaled(1 + 2 * 1.1e-6))
    assert not outside.passed and "values differ from the reference" in outside.feedback


def test_negligible_differences_just_inside_pass_and_just_outside_fail():
    zeros, tiny = np.zeros(3), np.full(3, 0.9e-12)
    assert verdict._error(tiny, zeros) == 0.0
    assert verdict._error(np.full(3, 1.1e-12), zeros) == 1.0
    # through check: the inactive neuron's gradients are all exactly 0
    def off_by(amount):
        def neuron_backward(x, w, b, dy):
            dx, dw, db = reference("neuron_backward")(x, w, b, dy)
            return dx + amount, dw + amount, db + amount
        return neuron_backward

    n_trials = len(make_trials("neuron_backward"))
    assert check("neuron_backward", off_by(1e-15)).passed  # issue 16: shortcut removed
    result = check("neuron_backward", off_by(2e-12))
    assert "an inactive neuron" in result.feedback and result.score < 1
    assert result.score == pytest.approx((n_trials - 2) / n_trials)  # inactive and kink trials


def test_the_gradient_check_line_just_inside_agree_and_just_outside():
    inside = check("relu_backward", _scaled(1 + 2 * 0.9 * AGREE)).feedback
    assert "below 1e-07 in every trial but" not in inside
    # (not the large-input trial nor the one on the kink)
    assert ("relative error against central differences below 1e-07 in the 4 trials with a "
            "gradient check (of 6): the gradients agree (lesson 11's rule of thumb)") in inside
    outside = check("relu_backward", _scaled(1 + 2 * 1.1 * AGREE)).feedback
    assert "the gradients agree" not in outside
    assert "between 1e-07 and 1e-02: look closer" in outside


def test_the_gradient_check_line_reports_the_largest_error():
    line = verdict.gradcheck_line([1e-10, 1e-3, 1e-11], 3)  # issue 16: min, or the last one
    assert "1.0e-03" in line and "agree" not in line
    assert "above 1e-02: wrong" in verdict.gradcheck_line([1e-10, 0.5], 2)
    assert "look closer" in verdict.gradcheck_line([0.9 * WRONG], 1)  # WRONG, both sides
    assert "above 1e-02: wrong" in verdict.gradcheck_line([1.1 * WRONG], 1)
    assert "in every trial" in verdict.gradcheck_line([1e-10, 1e-9], 2)
    assert "in the 2 trials with a gradient check (of 3)" in verdict.gradcheck_line([1e-9] * 2, 3)
    assert verdict.gradcheck_line([], 3) == ""


def test_the_largest_gradient_error_of_one_trial_counts_not_its_last_output():
    # dX (the first output) is off within the reference tolerance but beyond AGREE;
    # dW and db (the later outputs) are exact.
    def dense_backward(X, W, b, dZ):
        dX, dW, db = F.dense_backward(X, W, b, dZ)
        return dX * (1 + 1e-6), dW, db

    result = check("dense_backward", dense_backward)
    assert result.passed and "the gradients agree" not in result.feedback
    assert "look closer" in result.feedback


def test_only_the_first_trial_off_still_shows_in_the_gradient_check_line():
    first = make_trials("dense_backward")[0].args[0]

    def dense_backward(X, W, b, dZ):
        dX, dW, db = F.dense_backward(X, W, b, dZ)
        return (dX * (1 + 1e-6) if X.shape == first.shape else dX), dW, db

    assert "look closer" in check("dense_backward", dense_backward).feedback


def test_a_relative_error_answer_15_percent_low_fails_its_small_error_trial():
    # issue 16: with NEGLIGIBLE 1e-6 (or the tolerance x10) this passed
    result = check("relative_error", lambda a, b: 0.85 * reference("relative_error")(a, b))
    assert not result.passed
    labels = [t.label for t in make_trials("relative_error")]
    failed = {v.label for v in result.trials if not v.passed}
    assert any("1e-5" in label for label in failed), failed
    assert len(failed) == len(labels) - 1  # all but the all-zeros trial (0.85 * 0 = 0)


# --------------------------------------------------------------------------
# Issue 16's surviving verdict.py mutants, and the code it showed wrong
# --------------------------------------------------------------------------

def test_extra_dict_keys_are_refused():
    def mlp_backprop(X, y, params):
        loss, grads = reference("mlp_backprop")(X, y, params)
        return loss, {**grads, "W3": np.zeros(2)}

    result = check("mlp_backprop", mlp_backprop)
    assert not result.passed and "(unexpected ['W3'])" in result.feedback


def test_a_right_answer_that_modifies_its_argument_gets_the_mutation_message_only():
    def neuron_backward(x, w, b, dy):
        out = reference("neuron_backward")(x.copy(), w, b, dy)
        x += 1.0
        return out

    feedback = check("neuron_backward", neuron_backward).feedback
    assert "modified its argument `x` in place" in feedback
    assert "not zero when the neuron is off" not in feedback  # a mistake equal to the reference
    assert "No common mistake matches" not in feedback
    for line in feedback.splitlines():
        assert not line.startswith("Hint:") or "Never change an argument" in line


def test_no_common_mistake_is_never_said_beside_a_specific_hint():
    import sys
    sys.path.insert(0, "tests")
    from grading_zoo import BUGGY
    offenders = []
    for exercise_id, impls in BUGGY.items():
        if exercise_id == "digits_network":
            continue
        for name, fn, _ in impls:
            feedback = check(exercise_id, fn).feedback
            hints = [line for line in feedback.splitlines() if line.startswith("Hint:")]
            if "No common mistake matches" in feedback and len(hints) > 1:
                offenders.append(f"{exercise_id}-{name}")
    assert not offenders


def test_the_generic_advice_only_when_no_known_mistake_matches():
    feedback = check("relu_backward", lambda z, dout: -F.relu_backward(z, dout)).feedback
    assert "wrong sign" in feedback
    assert "No common mistake matches" not in feedback
    assert "compute each step of your answer" not in feedback


def test_an_error_location_is_printed_with_its_code_line():
    def relu_backward(z, dout):
        mask = z > 0
        return dout[mask.nonexistent]

    feedback = check("relu_backward", relu_backward).feedback
    assert "at line " in feedback and ": return dout[mask.nonexistent]" in feedback


def test_the_time_limit_restores_an_earlier_alarm():
    import signal

    def handler(signum, frame):
        raise AssertionError("the earlier alarm went off during the check")

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 30.0)
    try:
        assert check("relu_backward", F.relu_backward).passed
        check("relu_backward", _forever_again, timeout=0.2)
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 25.0 < remaining <= 30.0
        assert signal.getsignal(signal.SIGALRM) is handler
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _forever_again(z, dout):
    while True:
        pass


def test_a_not_implemented_error_from_a_library_is_an_error_not_a_stub():
    import datetime

    def relu_backward(z, dout):
        datetime.tzinfo().utcoffset(None)  # the standard library raises NotImplementedError
        return dout * (z > 0)

    feedback = check("relu_backward", relu_backward).feedback
    assert "not attempted" not in feedback and "not written yet" not in feedback
    assert "raised NotImplementedError: a tzinfo subclass must implement utcoffset()" in feedback
    assert "datetime.tzinfo().utcoffset(None)" in feedback  # the student's line
