"""The grader against a zoo of hand-written student implementations.

Every correct implementation (tests/grading_zoo.py: CORRECT), whatever its
style, must pass every seed with score 1.0; every buggy one (BUGGY) must fail
every seed, and its feedback must name the bug with the right hint.
"""

import numpy as np
import pytest

from bplib.grading import EXERCISES, check, make_trials
from grading_zoo import BUGGY, CORRECT

SEEDS = [None, *range(10)]

CORRECT_CASES = [pytest.param(exercise_id, fn, id=f"{exercise_id}-{name}")
                 for exercise_id, impls in CORRECT.items() for name, fn in impls]
BUGGY_CASES = [pytest.param(exercise_id, fn, phrase, id=f"{exercise_id}-{name}")
               for exercise_id, impls in BUGGY.items() for name, fn, phrase in impls]


def test_the_zoo_covers_every_exercise():
    assert set(CORRECT) == set(EXERCISES) == set(BUGGY)
    for exercise_id in EXERCISES:
        assert len(CORRECT[exercise_id]) >= 2, exercise_id
        assert len(BUGGY[exercise_id]) >= 3, exercise_id


@pytest.mark.parametrize("exercise_id, fn", CORRECT_CASES)
def test_a_correct_implementation_passes_every_seed(exercise_id, fn):
    failures = {}
    for seed in SEEDS:
        result = check(exercise_id, fn, seed=seed)
        if not (result.passed and result.score == 1.0 and result.status == "passed"):
            failures[seed] = result.feedback
        else:
            assert "all" in result.feedback and "trials passed" in result.feedback
    assert not failures, "\n\n".join(f"seed {s}:\n{fb}" for s, fb in failures.items())


@pytest.mark.parametrize("exercise_id, fn, phrase", BUGGY_CASES)
def test_a_buggy_implementation_fails_every_seed_with_the_right_hint(exercise_id, fn, phrase):
    problems = {}
    for seed in SEEDS:
        result = check(exercise_id, fn, seed=seed)
        if result.passed or result.status != "failed" or not 0.0 <= result.score < 1.0:
            problems[seed] = f"was not failed (score {result.score}):\n{result.feedback}"
        elif phrase not in result.feedback or "could not be graded" in result.feedback:
            problems[seed] = f"feedback lacks {phrase!r}:\n{result.feedback}"
    assert not problems, "\n\n".join(f"seed {s}: {p}" for s, p in problems.items())


MISTAKES = [pytest.param(exercise_id, hint, mistake, id=f"{exercise_id}-{k}")
            for exercise_id, exercise in EXERCISES.items()
            for k, (hint, mistake) in enumerate(exercise.mistakes)]


@pytest.mark.parametrize("exercise_id, hint, mistake", MISTAKES)
def test_every_known_mistake_graded_as_an_answer_gets_its_own_hint(exercise_id, hint, mistake):
    """On every seed: a trial exposes it, and no other mistake (listed before it,
    with the same outputs there) takes its place."""
    missing = [seed for seed in SEEDS
               if "Hint: " + hint not in check(exercise_id, mistake, seed=seed).feedback]
    assert not missing, f"not recognised on seeds {missing}"


def test_every_known_mistake_is_recognised_in_some_zoo_bug():
    """Each mistake's hint reaches a student: some buggy zoo implementation, written
    independently of the mistake's own, gets it (seed None). Otherwise nothing notices
    when a mistake's implementation drifts away from the bug its hint describes."""
    uncovered = []
    for exercise_id, exercise in EXERCISES.items():
        feedbacks = [check(exercise_id, fn, seed=None).feedback
                     for _, fn, _ in BUGGY.get(exercise_id, [])]
        uncovered += [(exercise_id, hint) for hint, _ in exercise.mistakes
                      if not any("Hint: " + hint in feedback for feedback in feedbacks)]
    assert uncovered == []


def _buggy(exercise_id, name):
    return next(fn for n, fn, _ in BUGGY[exercise_id] if n == name)


def test_the_score_is_the_fraction_of_trials_passed():
    # The one-dimensional loop passes exactly the one-dimensional trial.
    n = len(make_trials("relu_backward"))
    result = check("relu_backward", _buggy("relu_backward", "one_dimensional_loop"))
    assert result.score == pytest.approx(1 / n)
    assert result.feedback.startswith(f"relu_backward: 1 of {n} trials passed.")


def test_the_one_dimensional_hint_names_the_passing_trial():
    result = check("sigmoid_backward", _buggy("sigmoid_backward", "one_dimensional_loop"))
    assert "passed the one-dimensional trial" in result.feedback
    assert "math.exp(-z[i])" in result.feedback  # the student's failing line is quoted


def test_the_one_dimensional_hint_only_when_only_one_dimensional_inputs_work():
    """A bug that breaks only the large-input trial is not a 1-d-only bug.

    Grader bug: _summarise appends _ONE_DIMENSIONAL_HINT whenever any
    passing trial is labelled one-dimensional, so an overflow (trials 1-4
    pass, only the large-input trial fails) is told "Your code handles
    one-dimensional inputs only".
    """
    offenders = []
    for exercise_id, impls in BUGGY.items():
        for name, fn, phrase in impls:
            if phrase == "one-dimensional":
                continue
            feedback = check(exercise_id, fn).feedback
            if "one-dimensional inputs only" in feedback:
                offenders.append(f"{exercise_id}-{name}:\n{feedback}")
    assert not offenders, "\n\n".join(offenders)


@pytest.mark.parametrize("exercise_id, name, hint", [
    ("relu_backward", "in_place", "dout.copy()"),
    ("dense_backward", "dW_transposed", "X.T @ dZ is (D, N) @ (N, M)"),
    ("dense_backward", "db_keepdims", "dZ.sum(axis=0), without keepdims=True"),
    ("mlp_backprop", "dW1_transposed", "(it looks transposed)"),
    ("softmax_cross_entropy", "naive_exp_overflow", "Subtract each row's maximum"),
    ("sigmoid_backward", "naive_exp_overflow", "e = np.exp(-np.abs(z))"),
    ("tiny_net_backprop", "no_hidden_derivative", "delta1 = delta2 * w2 * h * (1 - h)"),
    ("tiny_net_backprop", "slope_of_activation", "y * (1 - y) and h * (1 - h)"),
    ("tiny_net_backprop", "half_loss_but_factor_2", "dL/dy = (y - y_true) / N"),
    ("relative_error", "elementwise_ratio", "max|a - b| / (max|a| + max|b|)"),
    ("relative_error", "divides_by_max_a", "SUM max|a| + max|b|"),
])
def test_the_hint_is_actionable(exercise_id, name, hint):
    assert hint in check(exercise_id, _buggy(exercise_id, name)).feedback


def test_a_bug_is_reported_with_its_first_failing_trial():
    result = check("neuron_backward", _buggy("neuron_backward", "no_relu"))
    # Only the inactive neuron shows the missing ReLU: it is the first failure.
    assert "First failure, trial 3 (an inactive neuron" in result.feedback
    # ... and the neuron exactly on its kink, where the slope is 0 too.
    n = len(make_trials("neuron_backward"))
    assert result.feedback.count("Also failed") == 1
    assert f"Also failed: trial {n} (s = x . w + b exactly 0" in result.feedback


def test_sum_instead_of_mean_passes_only_the_batch_of_one():
    # With N = 1 a sum is the mean; every larger batch shows the factor N.
    n = len(make_trials("tiny_net_backprop"))
    result = check("tiny_net_backprop", _buggy("tiny_net_backprop", "sum_not_mean"))
    assert result.feedback.startswith(f"tiny_net_backprop: 1 of {n} trials passed.")
    assert "batch size 1" not in result.feedback


@pytest.mark.parametrize("name, problem", [("nan_for_all_zeros", "error contains NaN"),
                                           ("raises_for_all_zeros", "raised ZeroDivisionError")])
def test_zero_over_zero_for_all_zero_arrays_is_explained(name, problem):
    # Only the all-zeros trial fails, and its label says what to return there.
    n = len(make_trials("relative_error"))
    result = check("relative_error", _buggy("relative_error", name))
    assert result.feedback.startswith(f"relative_error: {n - 1} of {n} trials passed.")
    assert f"First failure, trial {n} (a and b all zeros" in result.feedback
    assert "defined as 0.0" in result.feedback and "0 / 0" in result.feedback
    assert problem in result.feedback


def test_a_correct_implementation_that_prints_and_warns_still_passes(capsys):
    import warnings

    def noisy(z, dout):
        print("debugging", z.shape)
        warnings.warn("a student's own warning")
        return dout * (z > 0)

    result = check("relu_backward", noisy)
    assert result.passed and result.score == 1.0
    assert capsys.readouterr().out == ""


# --------------------------------------------------------------------------
# Numerical edge cases the grader must not hold against a correct answer
# --------------------------------------------------------------------------

def test_answers_that_differ_only_below_underflow_pass():
    """Where the right answer is all zeros, an answer of denormals is right too.

    A purely relative error, max|a - b| / (max|a| + max|b|), calls two answers
    that are both zero to 300 digits "100% different" (s * (1 - s) gives
    exactly 0 where e / (1 + e)**2 keeps 1e-300); differences below
    verdict.NEGLIGIBLE are rounding, not mistakes. The inactive neuron's
    gradients are exactly zero, so this answer fails if that rule is removed.
    """
    from bplib.grading import reference

    def neuron_backward_with_denormals(x, w, b, dy):
        dx, dw, db = reference("neuron_backward")(x, w, b, dy)
        return dx + 1e-300, dw - 1e-300, db + 1e-300

    result = check("neuron_backward", neuron_backward_with_denormals)
    assert result.passed, result.feedback


def test_an_underflow_warning_is_not_held_against_the_student():
    """Grader bug: "underflow encountered in divide" matches the "divide"
    filter of numpy warnings meant for division by zero."""
    def relu_backward(z, dout):
        nothing = np.float64(1e-300) / np.float64(1e300)  # underflows to 0.0
        return dout * (z > 0) + nothing

    result = check("relu_backward", relu_backward)
    assert result.passed, result.feedback
