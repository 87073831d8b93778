"""Every trial is what its label says, and its flags are honoured.

A trial's label is what a student reads in the feedback ("z of shape (5, 7)",
"batch size 1", "z with entries exactly 0 (the kink)"), and its flags tell
the grader what to leave out: no gradient check on a trial with
stability=True (extreme inputs) or gradcheck=False (central differences are
not the truth there: a kink, a large step h). A trial generator that drifts
from its label tests something other than what its feedback claims, and a
wrong flag either hides a gradient check or fails the reference. So, for
every exercise and seed:

- grading the reference reports a gradient-check error exactly on the trials
  whose flags allow one, and there it agrees with central differences (below
  AGREE); where gradcheck=False they really disagree, so the flag is needed;
- the flags follow the label: stability on extreme inputs, gradcheck=False
  on a kink, a large step h or variances near eps;
- every statement of a label that this file can read (shapes, N, D, H, L,
  layer sizes, name=value parameters, "exactly 0", "batch size 1",
  "one-dimensional", "0-d", "differences about 1e-2", ...) holds for the trial's
  arguments;
- the trials are the ones recorded in tests/data/trials.json, so that they change
  only on purpose (a regrade after an upgrade gives the same score).

One kind of statement per checker: a regular expression finds it in the
label, an assertion compares it with the arguments. A name in a label that is
one of the exercise's ``arg_names`` means that argument.
"""

import re

import numpy as np
import pytest

from bplib.gradcheck import AGREE, relative_error
from bplib.grading import EXERCISES, check, make_trials, reference
from bplib.grading.exercises import Trial
from bplib.grading.exercises.lesson02 import parse
from bplib.grading.verdict import _flatten as flatten
from trial_fingerprints import SEEDS, canonical, fingerprints, recorded  # the tests' seeds

CASES = [pytest.param(exercise_id, seed, id=f"{exercise_id}-{seed}")
         for exercise_id in EXERCISES for seed in SEEDS]

# digits_network trains a network on every check and has no numerical gradient.
GRADED = [pytest.param(exercise_id, seed, id=f"{exercise_id}-{seed}")
          for exercise_id in EXERCISES if exercise_id != "digits_network" for seed in SEEDS]

WITH_NUMERICAL = [exercise_id for exercise_id, exercise in EXERCISES.items()
                  if exercise.numerical is not None]

# What a label says when a trial exists for extreme inputs (stability=True) ...
EXTREME_INPUTS = ("large inputs", "logits of +-1000", "p within 1e-9 of 0 and 1",
                  "p exactly 0 and 1")
# ... and when central differences are not the truth there (gradcheck=False).
NOT_THE_TRUTH = ("(the kink)", "with h=", "variance near eps")


def where(exercise_id, seed, trial):
    """How an assertion message names a trial."""
    return f"{exercise_id}, seed {seed}, trial {trial.label!r}"


# --------------------------------------------------------------------------
# Flags
# --------------------------------------------------------------------------

@pytest.mark.parametrize("exercise_id, seed", GRADED)
def test_the_reference_is_gradient_checked_exactly_where_the_flags_allow(exercise_id, seed):
    exercise = EXERCISES[exercise_id]
    trials = make_trials(exercise_id, seed)
    result = check(exercise_id, reference(exercise_id), seed=seed)
    assert [v.label for v in result.trials] == [t.label for t in trials]
    for trial, verdict in zip(trials, result.trials):
        at = where(exercise_id, seed, trial)
        assert verdict.passed, at
        if exercise.numerical is None or trial.stability or not trial.gradcheck:
            assert verdict.gradcheck_error is None, at
        else:
            assert isinstance(verdict.gradcheck_error, float), at
            assert verdict.gradcheck_error < AGREE, f"{at}: {verdict.gradcheck_error:.1e}"


def gradient_pairs(exercise, trial):
    """(reference, central differences) for each gradient a trial's answer holds, by
    the grader's names for them ("dW", "grads['W1']"): every output but the loss."""
    want = flatten(exercise.output_names, exercise.expected(trial))
    numerical = flatten(exercise.output_names, exercise.numerical(trial.args))
    assert set(numerical) == set(want) - {"loss"}, f"{exercise.id}, trial {trial.label!r}"
    return [(np.asarray(want[name], dtype=float), np.asarray(numerical[name], dtype=float))
            for name in sorted(numerical)]


@pytest.mark.parametrize("exercise_id", WITH_NUMERICAL)
def test_central_differences_give_every_gradient_where_gradcheck_is_on(exercise_id):
    """An exercise's ``numerical`` has the reference's structure: a finite array
    shaped like each gradient, and None for a loss. (Grading alone cannot tell: a
    NaN error is never the largest, and the gradient check would still "agree".)"""
    exercise = EXERCISES[exercise_id]
    for seed in SEEDS:
        for trial in make_trials(exercise_id, seed):
            if not trial.gradcheck or trial.stability:
                continue
            for want, numerical in gradient_pairs(exercise, trial):
                assert numerical.shape == want.shape, where(exercise_id, seed, trial)
                assert np.all(np.isfinite(numerical)), where(exercise_id, seed, trial)


@pytest.mark.parametrize("exercise_id", WITH_NUMERICAL)
def test_central_differences_are_not_the_truth_where_gradcheck_is_off(exercise_id):
    """The flag is needed: there the reference disagrees with central
    differences, on most seeds (the inputs are random, and batchnorm's
    "variance near eps" trial agrees to 7e-8 on seed 4)."""
    exercise = EXERCISES[exercise_id]
    errors = {}  # label -> the reference's error against central differences, per seed
    for seed in SEEDS:
        for trial in make_trials(exercise_id, seed):
            if trial.gradcheck or trial.stability:
                continue
            pairs = gradient_pairs(exercise, trial)
            errors.setdefault(trial.label, []).append(
                max(relative_error(a, b) for a, b in pairs))
    for label, per_seed in errors.items():
        disagree = sum(error >= AGREE for error in per_seed)
        assert disagree > len(SEEDS) / 2, f"{exercise_id}, trial {label!r}: {per_seed}"


@pytest.mark.parametrize("exercise_id, seed", CASES)
def test_the_flags_follow_the_label(exercise_id, seed):
    for trial in make_trials(exercise_id, seed):
        at = where(exercise_id, seed, trial)
        assert trial.stability == any(s in trial.label for s in EXTREME_INPUTS), at
        assert trial.gradcheck == (not any(s in trial.label for s in NOT_THE_TRUTH)), at


# --------------------------------------------------------------------------
# What the names in a label stand for
# --------------------------------------------------------------------------

def arguments(exercise, trial):
    """The trial's arguments by name (a default left out is missing)."""
    return dict(zip(exercise.arg_names, trial.args))


def named_arrays(exercise, trial, name):
    """The arrays a name in a label stands for.

    An argument's name means that argument (a dict argument: its arrays);
    "y" means y_pred and y_true (arguments named y_...); "X" of dense_layer
    means the batches X of its list of (X, dZ) pairs (how lesson 5's drive
    uses it); "parameter" means the arrays of params; None ("shape (3, 4)")
    means every array argument.
    """
    args = arguments(exercise, trial)
    if name is None:
        return [a for a in trial.args if isinstance(a, np.ndarray)]
    if name == "parameter":
        name = "params"
    if name in args:
        value = args[name]
        return list(value.values()) if isinstance(value, dict) else [value]
    if name == "X" and "pairs" in args:
        return [X for X, _ in args["pairs"]]
    prefixed = [value for key, value in args.items() if key.startswith(name + "_")]
    assert prefixed, f"{exercise.id}: the label {trial.label!r} names {name!r}, no argument"
    return prefixed


def batches(exercise, trial):
    """The batches a trial's samples come in: the X of each (X, dZ) pair of
    dense_layer, else its first argument (samples on axis 0)."""
    args = arguments(exercise, trial)
    if "pairs" in args:
        return [X for X, _ in args["pairs"]]
    return [trial.args[0]]


def sizes(exercise, trial):
    """What N, D, H and L stand for in an exercise's labels: each the list of
    numbers of the arguments that must all equal the stated value."""
    args = arguments(exercise, trial)
    params = args.get("params")
    if "X" in args and isinstance(params, dict):  # a two-layer network, X (N, D)
        W1, W2 = params["W1"], params["W2"]
        return {"N": [len(args["X"]), len(args["y"])], "D": [args["X"].shape[1], W1.shape[0]],
                "H": [W1.shape[1], len(W2)]}
    if "X" in args and isinstance(params, list):  # deep_backprop's (W, b) pairs
        return {"N": [len(args["X"]), len(args["y"])], "L": [len(params)]}
    if "w" in args:  # the neuron: x and w of shape (D,)
        return {"D": [len(args["x"]), len(args["w"])]}
    if "y_true" in args and "x" in args:  # the tiny network: N scalar inputs
        return {"N": [len(args["x"]), len(args["y_true"])]}
    return {}


def deep_logits(X, params):
    """The last layer's output of deep_backprop's ReLU network."""
    A = X
    for l, (W, b) in enumerate(params):
        Z = A @ W + b
        A = Z if l == len(params) - 1 else np.maximum(Z, 0.0)
    return A


# --------------------------------------------------------------------------
# Checkers: one per kind of statement
# --------------------------------------------------------------------------

SHAPE = re.compile(r"(?:\b(\w+) of )?\b(\w+) \((\d+(?:, \d+)*,?)\)")


def check_shapes(exercise, trial):
    """"z of shape (5, 7)", "X (5, 3), W (3, 4)", "shape (1,)", "X (5, 3) then
    X (2, 3)": the arrays the name stands for have that shape (several
    mentions of one name: its arrays in order)."""
    stated = {}
    for match in SHAPE.finditer(trial.label):
        name = match[1] if match[2] == "shape" else match[2]
        stated.setdefault(name, []).append(
            tuple(int(n) for n in match[3].replace(",", " ").split()))
    for name, shapes in stated.items():
        have = [np.shape(a) for a in named_arrays(exercise, trial, name)]
        if len(shapes) == 1:
            assert have and all(s == shapes[0] for s in have), f"{name}: {have}"
        else:
            assert have == shapes, f"{name}: {have}"


def check_dimensions(exercise, trial):
    """"one-dimensional z", "x a 0-d array", "0-d arrays": the number of axes."""
    for match in re.finditer(r"\bone-dimensional (\w+)", trial.label):
        assert all(np.ndim(a) == 1 for a in named_arrays(exercise, trial, match[1])), match[0]
    for match in re.finditer(r"\b(?:(\w+) a )?0-d array", trial.label):
        arrays = named_arrays(exercise, trial, match[1])
        assert arrays and all(np.ndim(a) == 0 for a in arrays), match[0]


def check_batch_sizes(exercise, trial):
    """"batch size 1", "batch size 1 then 6", "two batches": rows of the batches."""
    match = re.search(r"\bbatch size (\d+)(?: then (\d+))?", trial.label)
    if match:
        rows = [len(X) for X in batches(exercise, trial)]
        stated = [int(n) for n in match.groups() if n is not None]
        assert rows[:len(stated)] == stated, f"{match[0]}: {rows}"
    if "two batches" in trial.label:
        assert len(batches(exercise, trial)) == 2


NUMBER = r"-?\d+(?:\.\d+)?(?:e-?\d+)?"
VALUE = re.compile(rf"\b(\w+)=({NUMBER}|\[{NUMBER}(?:,{NUMBER})*\])")


def check_values(exercise, trial):
    """"alpha=0.5", "lr=0.1, mu=0.9", "h=1e-2", "x=[1,-2,3]", "N=5, D=3, H=4",
    "L=2": an argument of that name equals the value; N, D, H, L are the sizes
    of the arguments (see ``sizes``)."""
    args, known = arguments(exercise, trial), sizes(exercise, trial)
    for name, text in VALUE.findall(trial.label):
        value = np.array([float(v) for v in text.strip("[]").split(",")])
        if not text.startswith("["):
            value = value[0]
        if name in known:
            assert all(n == value for n in known[name]), f"{name}={text}: {known[name]}"
        else:
            assert name in args, f"{name}={text} names no argument"
            assert np.shape(args[name]) == np.shape(value), f"{name}={text}: {args[name]}"
            assert np.all(args[name] == value), f"{name}={text}: {args[name]}"


def check_layer_sizes(exercise, trial):
    """"sizes 3-4-5-3-4": X has 3 features and layer l maps sizes[l-1] to sizes[l]."""
    match = re.search(r"\bsizes (\d+(?:-\d+)+)", trial.label)
    if match:
        stated = [int(n) for n in match[1].split("-")]
        args = arguments(exercise, trial)
        assert args["X"].shape[1] == stated[0], match[0]
        assert [W.shape for W, _ in args["params"]] == list(zip(stated[:-1], stated[1:])), match[0]
        assert [b.shape for _, b in args["params"]] == [(n,) for n in stated[1:]], match[0]


def check_exact_values(exercise, trial):
    """"z with entries exactly 0", "s = x . w + b exactly 0", "b = -a",
    "a and b all zeros", "velocity all zeros", "p exactly 0 and 1",
    "p within 1e-9 of 0 and 1", "1e-15 in a where b is exactly 0"."""
    label = trial.label
    for match in re.finditer(r"\b(\w+) with entries exactly 0\b", label):
        for z in named_arrays(exercise, trial, match[1]):
            assert np.any(z == 0.0), match[0]
    if "s = x . w + b exactly 0" in label:
        args = arguments(exercise, trial)
        assert args["x"] @ args["w"] + args["b"] == 0.0
    for match in re.finditer(r"\b(\w+) = -(\w+)\b", label):
        [left], [right] = (named_arrays(exercise, trial, n) for n in match.groups())
        assert np.array_equal(left, -right), match[0]
    for match in re.finditer(r"\b(\w+(?: and \w+)*) all zeros\b", label):
        for name in match[1].split(" and "):
            for a in named_arrays(exercise, trial, name):
                assert np.all(a == 0.0), match[0]
    for match in re.finditer(r"\b(\w+) exactly 0 and 1\b", label):
        [p] = named_arrays(exercise, trial, match[1])
        assert np.any(p == 0.0) and np.any(p == 1.0), match[0]
    for match in re.finditer(r"\b(\w+) within ([\d.e-]+) of 0 and 1\b", label):
        [p], gap = named_arrays(exercise, trial, match[1]), float(match[2])
        assert np.any((p > 0.0) & (p <= gap)), match[0]
        assert np.any((p < 1.0) & (p >= 1.0 - gap)), match[0]
    for match in re.finditer(rf"\b({NUMBER}) in (\w+) where (\w+) is exactly 0\b", label):
        size = float(match[1])
        [a], [b] = (named_arrays(exercise, trial, n) for n in match.groups()[1:])
        assert np.any(b == 0.0), match[0]
        assert np.all((size <= np.abs(a[b == 0.0])) & (np.abs(a[b == 0.0]) < 10 * size)), match[0]


def check_sizes_about(exercise, trial):
    """"differences about 1e-2": max|a - b| / max|a| within a factor 10 of it;
    "entries about 1e-8": the largest entry in size within a factor 10 of it."""
    match = re.search(rf"\bdifferences about ({NUMBER})", trial.label)
    if match:
        a, b = trial.args[:2]
        ratio = np.max(np.abs(a - b)) / np.max(np.abs(a))
        assert float(match[1]) / 10 < ratio < float(match[1]) * 10, (match[0], ratio)
    match = re.search(rf"\bentries about ({NUMBER})", trial.label)
    if match:
        for array in named_arrays(exercise, trial, None):
            biggest = np.max(np.abs(array))
            assert float(match[1]) / 10 < biggest < float(match[1]) * 10, (match[0], biggest)


def check_extremes(exercise, trial):
    """"|z| up to 1000": the largest |z| is exactly 1000. "logits of +-1000":
    the logits reach 500 or more on both sides."""
    for match in re.finditer(r"\|(\w+)\| up to (\d+)", trial.label):
        [z] = named_arrays(exercise, trial, match[1])
        assert np.max(np.abs(z)) == float(match[2]), match[0]
    if "logits of +-1000" in trial.label:
        args = arguments(exercise, trial)
        if "params" in args:
            logits = deep_logits(args["X"], args["params"])
        else:
            logits = args.get("logits", args.get("z"))
        assert logits.max() >= 500 and logits.min() <= -500, (logits.min(), logits.max())


def check_neurons(exercise, trial):
    """"an active neuron (s > 0)", "an inactive neuron (s < 0)": the sign of
    s = x . w + b."""
    match = re.search(r"\ban (in)?active neuron\b", trial.label)
    if match:
        args = arguments(exercise, trial)
        s = args["x"] @ args["w"] + args["b"]
        assert (s < 0) if match[1] else (s > 0), f"{match[0]}: s = {s}"


def check_graphs(exercise, trial):
    """value's graphs: "4 leaves", "a chain 2,100 nodes deep" (operations) and "25
    random operations" (then one "+" for each node nobody used but the first)."""
    if exercise.id != "value":
        return
    leaf_values, ops = parse(trial.args[0])
    match = re.search(r"\b(\d+) leaves\b", trial.label)
    if match:
        assert len(leaf_values) == int(match[1]), match[0]
    match = re.search(r"\ba chain ([\d,]+) nodes deep\b", trial.label)
    if match:
        assert len(ops) == int(match[1].replace(",", "")), f"{match[0]}: {len(ops)}"
    match = re.search(r"\b(\d+) random operations\b", trial.label)
    if match:
        assert len(ops) >= int(match[1]), f"{match[0]}: {len(ops)} operations in all"
        random, sums = ops[:int(match[1])], ops[int(match[1]):]
        used = {x[1] for op in random for x in op[1:] if isinstance(x, tuple)}
        unused = len(leaf_values) + len(random) - len(used)
        assert len(sums) == unused - 1 and all(op[0] == "+" for op in sums), match[0]


def check_digits(exercise, trial):
    """"train on 1,297 digits, tested on 500 others": the rows of X_train and
    y_train, and of the held-out test set."""
    match = re.search(r"\btrain on ([\d,]+) digits, tested on (\d+) others\b", trial.label)
    if match:
        X_train, y_train = trial.args
        X_test, y_test = trial.secret
        assert len(X_train) == len(y_train) == int(match[1].replace(",", "")), match[0]
        assert len(X_test) == len(y_test) == int(match[2]), match[0]


CHECKERS = [check_shapes, check_dimensions, check_batch_sizes, check_values, check_layer_sizes,
            check_exact_values, check_sizes_about, check_extremes, check_neurons, check_graphs,
            check_digits]


@pytest.mark.parametrize("exercise_id, seed", CASES)
def test_labels_tell_the_truth(exercise_id, seed):
    exercise = EXERCISES[exercise_id]
    for trial in make_trials(exercise_id, seed):
        at = where(exercise_id, seed, trial)
        for checker in CHECKERS:
            try:
                checker(exercise, trial)
            except AssertionError as error:
                raise AssertionError(f"{at}: {checker.__name__}: {error}") from None


# --------------------------------------------------------------------------
# The checkers can fail
# --------------------------------------------------------------------------

def broken(exercise_id, label, *args):
    """A trial of ``exercise_id`` that does not match ``label``."""
    return EXERCISES[exercise_id], Trial(label, args)


@pytest.mark.parametrize("checker, exercise_id, label, args", [
    (check_shapes, "relu_backward", "z of shape (5, 7)", (np.zeros((5, 6)), np.zeros((5, 6)))),
    (check_shapes, "relative_error", "shape (3, 4)", (np.zeros((3, 4)), np.zeros(4))),
    (check_dimensions, "relu_backward", "one-dimensional z of shape (9,)",
     (np.zeros((9, 1)), np.zeros((9, 1)))),
    (check_dimensions, "relative_error", "0-d arrays", (np.zeros(1), np.zeros(()))),
    (check_batch_sizes, "mse_loss", "batch size 1, y of shape (1, 4)",
     (np.zeros((2, 4)), np.zeros((2, 4)))),
    (check_values, "elu_backward", "alpha=0.5", (np.ones(3), np.ones(3), 1.0)),
    (check_values, "neuron_backward", "x=[1,-2,3], D=3", (np.array([1.0, 2.0, 3.0]),
                                                           np.ones(3), 0.0, 1.0)),
    (check_values, "neuron_backward", "D=4", (np.ones(3), np.ones(3), 0.0, 1.0)),
    (check_exact_values, "relu_backward", "z with entries exactly 0 (the kink)",
     (np.ones((2, 2)), np.ones((2, 2)))),
    (check_exact_values, "neuron_backward", "s = x . w + b exactly 0 (the kink), D=1",
     (np.ones(1), np.ones(1), 0.0, 1.0)),
    (check_sizes_about, "relative_error", "shape (2,), differences about 1e-2",
     (np.ones(2), np.ones(2) + 0.5)),
    (check_sizes_about, "relative_error", "entries about 1e-8", (np.ones(2), np.ones(2))),
    (check_extremes, "sigmoid_backward", "large inputs, |z| up to 1000",
     (np.full((2, 2), 999.0), np.ones((2, 2)))),
    (check_neurons, "neuron_backward", "an inactive neuron (s < 0), D=1",
     (np.ones(1), np.ones(1), 0.5, 1.0)),
])
def test_a_checker_fails_a_trial_unlike_its_label(checker, exercise_id, label, args):
    exercise, trial = broken(exercise_id, label, *args)
    with pytest.raises(AssertionError):
        checker(exercise, trial)


# --------------------------------------------------------------------------
# The trials change only on purpose
# --------------------------------------------------------------------------

@pytest.mark.parametrize("exercise_id", EXERCISES)
def test_the_trials_are_the_ones_recorded(exercise_id):
    """Each trial of every seed is the one recorded: its label, flags, arguments and
    held-out data. A deliberate change is recorded again (tests/trial_fingerprints.py)."""
    want = recorded()[exercise_id]
    for seed in SEEDS:
        have = fingerprints(exercise_id, seed)
        changed = [trial.label for trial, a, b in
                   zip(make_trials(exercise_id, seed), have, want[str(seed)]) if a != b]
        assert have == want[str(seed)], (
            f"{exercise_id}, seed {seed}: the trials changed ({changed or 'their number'}). "
            "If on purpose, run `python tests/trial_fingerprints.py` and say so in the "
            "release notes: a regrade would give other scores.")


def test_every_exercise_and_only_they_have_recorded_trials():
    assert list(recorded()) == list(EXERCISES)


def test_a_fingerprint_ignores_the_last_bits_of_a_number_and_nothing_more():
    x = np.array([0.1234567890123])
    assert canonical(x * (1 + 1e-15)) == canonical(x)
    assert canonical(x * (1 + 1e-11)) != canonical(x)
    assert canonical(x.reshape(1, 1)) != canonical(x)
    assert canonical(np.int64(3)) == canonical(3) != canonical(4)  # whatever numpy's repr
    assert canonical(Trial("a", (x,))) != canonical(Trial("a", (x,), gradcheck=False))
