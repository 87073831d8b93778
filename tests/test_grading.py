"""The grader's contract: bplib.grading.check, reference, EXERCISES, make_trials,
run_trials and grade.

check(exercise_id, fn, *, seed=None) never raises because of fn: whatever fn
does (raise, return nonsense, print a novel, modify its arguments) becomes a
failing CheckResult with feedback. Only an unknown exercise id raises, a
ValueError listing the valid ids.

Speed is measured, not asserted: benchmarks/bench_checks.py prints the median
and the worst check() time per exercise.
"""

import ast
import collections
import copy
import inspect
import json
import sys

import numpy as np
import pytest

from bplib import functional as F
from bplib.grading import (DEFAULT_SEED, EXERCISES, CheckResult, check, grade, make_trials,
                           reference, run_trials)
from bplib.grading.trials import MAX_STDOUT, from_portable, to_portable
from grading_zoo import BUGGY

IDS = list(EXERCISES)
SEEDS = [None, *range(10)]
# Exercises whose check calls the student's function on the trial's arguments and
# compares what it returns with the reference's (not a class driven by the grader,
# not a trained network scored by its accuracy).
FUNCTION_IDS = [i for i in IDS if EXERCISES[i].drive is None and EXERCISES[i].assess is None]


def _first_buggy(exercise_id):
    return BUGGY[exercise_id][0][1]


def _verdict(result):
    return result.passed, result.score, result.status, result.feedback


def _map_outputs(value, leaf):
    """Apply ``leaf`` to every array or number of a reference-shaped output."""
    if isinstance(value, (tuple, list)):
        return type(value)(_map_outputs(v, leaf) for v in value)
    if isinstance(value, dict):
        return {k: _map_outputs(v, leaf) for k, v in value.items()}
    return leaf(value)


def _reference_then(exercise_id, leaf):
    """A student's function: the reference's answer with ``leaf`` applied."""
    ref = reference(exercise_id)

    def fn(*args):
        return _map_outputs(ref(*args), leaf)
    return fn


# --------------------------------------------------------------------------
# Exercise ids, the table and the references
# --------------------------------------------------------------------------

EXPECTED_SIGNATURES = {
    "numerical_gradient": "numerical_gradient(f, x, h=1e-5)",
    "neuron_backward": "neuron_backward(x, w, b, dy)",
    "relu_backward": "relu_backward(z, dout)",
    "sigmoid_backward": "sigmoid_backward(z, dout)",
    "tanh_backward": "tanh_backward(z, dout)",
    "softmax_backward": "softmax_backward(z, dout)",
    "dense_backward": "dense_backward(X, W, b, dZ)",
    "mse_loss": "mse_loss(y_pred, y_true)",
    "binary_cross_entropy": "binary_cross_entropy(p, y)",
    "softmax_cross_entropy": "softmax_cross_entropy(logits, y)",
    "mlp_backprop": "mlp_backprop(X, y, params)",
    "sigmoid_net_backprop": "sigmoid_net_backprop(X, y, params)",
    "tiny_net_backprop": "tiny_net_backprop(x, y_true, params)",
    "relative_error": "relative_error(a, b)",
    "value": "Value(data)",
    "dense_layer": "Dense(W, b)",
    "elu_backward": "elu_backward(z, dout, alpha=1.0)",
    "gelu_backward": "gelu_backward(z, dout)",
    "sgd_momentum_step": "sgd_momentum_step(params, grads, velocity, lr, mu)",
    "deep_backprop": "deep_backprop(X, y, params)",
    "batchnorm_backward": "batchnorm_backward(x, gamma, beta, dout, eps=1e-5)",
    "digits_network": "train(X_train, y_train)",
}


def test_the_exercise_ids_and_signatures_are_the_documented_ones():
    assert {k: v.signature for k, v in EXERCISES.items()} == EXPECTED_SIGNATURES


@pytest.mark.parametrize("bad_id", ["relu", "Relu_Backward", "", None, 3, ("relu_backward",),
                                    ["relu_backward"]],
                         ids=["typo", "case", "empty", "None", "int", "tuple", "list"])
def test_an_unknown_exercise_id_raises_a_value_error_listing_the_valid_ids(bad_id):
    calls = [lambda: check(bad_id, F.relu_backward), lambda: check(bad_id, None),
             lambda: reference(bad_id), lambda: make_trials(bad_id),
             lambda: run_trials(bad_id, F.relu_backward), lambda: grade(bad_id, [])]
    for call in calls:
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == (f"unknown exercise id {bad_id!r}; valid ids are: "
                                   + ", ".join(IDS))


@pytest.mark.parametrize("exercise_id", IDS)
def test_every_exercise_is_described(exercise_id):
    exercise = EXERCISES[exercise_id]
    assert exercise.id == exercise_id
    assert isinstance(exercise.description, str) and len(exercise.description) > 20
    if exercise_id in FUNCTION_IDS:
        assert exercise.signature.startswith(exercise_id + "(")
    assert isinstance(exercise.points, int) and exercise.points >= 1
    assert exercise.notebook.startswith(f"{exercise.lesson:02d}_")


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_reference_passes_its_own_check_on_every_seed(exercise_id):
    failures = {}
    for seed in SEEDS:
        result = check(exercise_id, reference(exercise_id), seed=seed)
        assert isinstance(result, CheckResult) and result.exercise_id == exercise_id
        if not (result.passed and result.score == 1.0 and result.status == "passed"):
            failures[seed] = result.feedback
    assert not failures, "\n\n".join(f"seed {s}:\n{fb}" for s, fb in failures.items())


def _parse_signature(signature):
    node = ast.parse(f"def {signature}: pass").body[0]
    names = [a.arg for a in node.args.args]
    defaults = [ast.literal_eval(d) for d in node.args.defaults]
    return node.name, names, dict(zip(names[len(names) - len(defaults):], defaults))


@pytest.mark.parametrize("exercise_id", FUNCTION_IDS)
def test_the_reference_has_the_exercises_signature(exercise_id):
    exercise = EXERCISES[exercise_id]
    name, names, defaults = _parse_signature(exercise.signature)
    assert name == exercise_id
    assert tuple(names) == tuple(exercise.arg_names)
    params = list(inspect.signature(reference(exercise_id)).parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert [p.name for p in positional] == names
    for p in positional:
        assert p.default == defaults.get(p.name, inspect.Parameter.empty), p.name
    for p in params[len(positional):]:  # only optional keyword-only extras
        assert p.kind == p.KEYWORD_ONLY and p.default is not inspect.Parameter.empty, p.name


@pytest.mark.parametrize("exercise_id", IDS)
def test_every_trial_calls_the_reference_with_the_signature(exercise_id):
    exercise = EXERCISES[exercise_id]
    _, names, defaults = _parse_signature(exercise.signature)
    trials = make_trials(exercise_id)
    assert len(trials) >= (1 if exercise.assess else 3)
    for trial in trials:
        assert isinstance(trial.label, str) and trial.label
        if exercise_id in FUNCTION_IDS:
            assert len(names) - len(defaults) <= len(trial.args) <= len(names)
        assert len(trial.args) <= len(exercise.arg_names)
        out = exercise.expected(trial)  # and warning-free (filterwarnings=error)
        n_out = len(exercise.output_names)
        if n_out > 1:
            assert isinstance(out, tuple) and len(out) == n_out


def test_check_takes_the_seed_and_the_time_limit_by_keyword_only():
    params = inspect.signature(check).parameters
    assert list(params) == ["exercise_id", "fn", "seed", "timeout"]
    for name in ("seed", "timeout"):
        assert params[name].kind == inspect.Parameter.KEYWORD_ONLY
        assert params[name].default is None
    with pytest.raises(TypeError):
        check("relu_backward", F.relu_backward, 3)


# --------------------------------------------------------------------------
# Determinism
# --------------------------------------------------------------------------

def _same_value(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and np.array_equal(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(
            _same_value(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same_value, a, b))
    if callable(a):  # numerical_gradient's function: compare its coefficients
        return type(a) is type(b) and _same_value(vars(a), vars(b))
    return type(a) is type(b) and a == b


def _same_trials(t1, t2):
    return len(t1) == len(t2) and all(
        a.label == b.label and a.stability == b.stability and _same_value(a.args, b.args)
        for a, b in zip(t1, t2))


@pytest.mark.parametrize("exercise_id", IDS)
def test_trials_depend_on_the_seed_only(exercise_id):
    assert _same_trials(make_trials(exercise_id, 3), make_trials(exercise_id, 3))
    assert _same_trials(make_trials(exercise_id), make_trials(exercise_id, DEFAULT_SEED))
    assert _same_trials(make_trials(exercise_id, None), make_trials(exercise_id, DEFAULT_SEED))
    a, b = make_trials(exercise_id, 0), make_trials(exercise_id, 1)
    assert [t.label for t in a] == [t.label for t in b]
    assert not _same_trials(a, b)
    # Most trials are random: a fixed worked example or edge case may repeat.
    differing = sum(not _same_value(x.args, y.args) for x, y in zip(a, b))
    assert differing >= len(a) - 1


def _raises_with_a_line(*args):
    raise ValueError("deliberately broken")


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_same_seed_gives_the_same_verdict_and_feedback(exercise_id):
    for fn in (reference(exercise_id), _first_buggy(exercise_id), _raises_with_a_line):
        for seed in (None, 5):
            first = check(exercise_id, fn, seed=seed)
            assert _verdict(check(exercise_id, fn, seed=seed)) == _verdict(first)
        assert _verdict(check(exercise_id, fn)) == _verdict(
            check(exercise_id, fn, seed=DEFAULT_SEED))


# --------------------------------------------------------------------------
# Hostile functions: always a failing CheckResult, never an exception
# --------------------------------------------------------------------------

def _raise_value_error(*args):
    raise ValueError("shapes (3,) and (4,) not aligned")


def _divide_by_zero(*args):
    return 1 / 0


def _exit(*args):
    sys.exit(3)


def _raise_key_error(*args):
    return {}["W1"]


def _return_nothing(*args):
    pass


def _generator(*args):
    yield args


HOSTILE = [
    ("raises_ValueError", _raise_value_error, "raised ValueError: shapes (3,) and (4,) not aligned"),
    ("raises_ZeroDivisionError", _divide_by_zero, "raised ZeroDivisionError"),
    ("raises_SystemExit", _exit, "raised SystemExit"),
    ("raises_KeyError", _raise_key_error, "raised KeyError"),
    ("returns_None", _return_nothing, "did you forget the `return` statement?"),
    ("returns_str", lambda *a: "the gradient", "str"),
    ("returns_int", lambda *a: 42, "int"),
    ("returns_dict", lambda *a: {"grad": 1.0}, "dict"),
    ("returns_list_of_numbers", lambda *a: [1.0] * 5, ("Python list", "returned 5 values")),
    ("returns_tuple_of_wrong_length", lambda *a: (np.zeros(2),) * 7,
     ("tuple of 7 items", "returned 7 values")),
    ("returns_object", lambda *a: object(), "object"),
    ("returns_a_function", lambda *a: F.relu, "function"),
    ("returns_generator", _generator, "generator"),
    ("returns_string_array", lambda *a: np.array(["a", "b"]), "ndarray"),
]


def _hostile_cases():
    for exercise_id in IDS:
        for name, fn, phrase in HOSTILE:
            if exercise_id in FUNCTION_IDS or name.startswith("raises"):
                yield pytest.param(exercise_id, fn, phrase, id=f"{exercise_id}-{name}")


@pytest.mark.parametrize("exercise_id, fn, phrase", list(_hostile_cases()))
def test_a_hostile_function_gets_a_failing_result(exercise_id, fn, phrase, capsys):
    result = check(exercise_id, fn)
    assert isinstance(result, CheckResult)
    assert (result.passed, result.score, result.status) == (False, 0.0, "failed")
    assert result.feedback.startswith(f"{exercise_id}: 0 of ")
    assert "\n  - " in result.feedback  # at least one stated problem
    phrases = (phrase,) if isinstance(phrase, str) else phrase
    assert any(p in result.feedback for p in phrases), result.feedback
    assert "could not be graded" not in result.feedback  # the grader's own safety net
    assert capsys.readouterr().out == ""


def test_the_line_that_raised_is_quoted():
    result = check("relu_backward", _raise_value_error)
    assert 'raise ValueError("shapes (3,) and (4,) not aligned")' in result.feedback


@pytest.mark.parametrize("exercise_id", IDS)
def test_not_implemented_yet_is_not_attempted(exercise_id):
    def stub(*args):
        raise NotImplementedError

    result = check(exercise_id, stub)
    assert (result.passed, result.score, result.status) == (False, 0.0, "not attempted")
    assert f"{exercise_id}: not attempted yet" in result.feedback
    assert "raise NotImplementedError" in result.feedback


def test_a_partly_implemented_function_is_failed_not_unattempted():
    def relu_backward(z, dout):
        if z.ndim > 1:
            raise NotImplementedError("only vectors so far")
        return dout * (z > 0)

    result = check("relu_backward", relu_backward)
    assert result.status == "failed" and 0 < result.score < 1
    assert "not attempted yet" in result.feedback


@pytest.mark.parametrize("value, name", [(float("nan"), "NaN"), (float("inf"), "inf"),
                                         (-float("inf"), "inf")], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("exercise_id", FUNCTION_IDS)
def test_non_finite_outputs_fail(exercise_id, value, name):
    def leaf(v):
        return np.full(np.shape(v), value) if isinstance(v, np.ndarray) else value

    result = check(exercise_id, _reference_then(exercise_id, leaf))
    assert not result.passed and result.score == 0.0 and result.status == "failed"
    assert f"contains {name}" in result.feedback


def _has_an_array_output(exercise_id):
    """Whether the reference returns an array anywhere (some return only floats)."""
    arrays = []
    _map_outputs(reference(exercise_id)(*make_trials(exercise_id)[0].args),
                 lambda v: arrays.append(isinstance(v, np.ndarray)))
    return any(arrays)


ARRAY_OUTPUT_IDS = [i for i in FUNCTION_IDS if _has_an_array_output(i)]


@pytest.mark.parametrize("exercise_id", ARRAY_OUTPUT_IDS)
def test_wrong_shapes_fail(exercise_id):
    def leaf(v):
        return v[..., None] if isinstance(v, np.ndarray) else v

    result = check(exercise_id, _reference_then(exercise_id, leaf))
    assert not result.passed and result.score == 0.0
    assert "has shape" in result.feedback and "expected" in result.feedback


@pytest.mark.parametrize("exercise_id", ARRAY_OUTPUT_IDS)
def test_python_lists_instead_of_arrays_fail(exercise_id):
    def leaf(v):
        return v.tolist() if isinstance(v, np.ndarray) else v

    result = check(exercise_id, _reference_then(exercise_id, leaf))
    assert not result.passed and result.score == 0.0
    assert "Python list; return a numpy array" in result.feedback


@pytest.mark.parametrize("exercise_id",
                         [i for i in FUNCTION_IDS if len(EXERCISES[i].output_names) > 1])
def test_a_tuple_of_the_wrong_length_fails(exercise_id):
    ref = reference(exercise_id)
    n = len(EXERCISES[exercise_id].output_names)
    result = check(exercise_id, lambda *args: ref(*args)[:-1])
    assert not result.passed
    assert f"returned {n - 1} values; expected {n}" in result.feedback


@pytest.mark.parametrize("exercise_id, fn, phrase", [
    ("relu_backward", lambda z, d: (d * (z > 0)).astype(np.float32), "float32"),
    ("relu_backward", lambda z, d: (d * (z > 0)).astype(int), "an integer dtype"),
    ("relu_backward", lambda z, d: (d * (z > 0)).astype(complex), "complex"),
    ("relu_backward", lambda z, d: (d * (z > 0),), "tuple of 1 items"),
    ("relu_backward", lambda z, d: (d * (z > 0)).ravel(), "has shape"),
    ("relu_backward", lambda z: z, "takes 1 positional argument"),
    ("dense_backward", lambda X, W, b, dZ: F.dense_backward(X, W, b, dZ)[1],
     "expected a tuple (dX, dW, db)"),
    ("mse_loss", lambda p, t: (np.full(p.shape, F.mse_loss(p, t)[0]), F.mse_loss(p, t)[1]),
     "loss must be a single number"),
    ("mse_loss", lambda p, t: ("0.5", F.mse_loss(p, t)[1]), "loss must be a number"),
    ("neuron_backward", lambda x, w, b, dy: (w, x, True), "db must be a number; got a bool"),
    ("mlp_backprop", lambda X, y, p: F.relu(X), "expected a tuple (loss, grads)"),
    ("mlp_backprop", lambda X, y, p: (1.0, list(p.values())), "expected a dict with keys"),
    ("mlp_backprop", lambda X, y, p: (1.0, {k: v for k, v in p.items() if k != "b2"}),
     "missing ['b2']"),
], ids=["float32", "int_dtype", "complex", "one_tuple", "flattened", "wrong_arity",
        "one_array_for_three", "loss_array", "loss_str", "db_bool", "not_a_tuple",
        "grads_list", "grads_missing_key"])
def test_wrong_types_and_shapes_are_explained(exercise_id, fn, phrase):
    result = check(exercise_id, fn)
    assert not result.passed and result.score < 1.0 and result.status == "failed"
    assert phrase in result.feedback, result.feedback


@pytest.mark.parametrize("not_a_function", [None, 42, "relu_backward", np.zeros(3),
                                            F.relu_backward(np.ones(2), np.ones(2))],
                         ids=["None", "int", "str", "array", "called_result"])
@pytest.mark.parametrize("exercise_id", ["relu_backward", "mlp_backprop"])
def test_something_not_callable_gets_a_failing_result(exercise_id, not_a_function):
    result = check(exercise_id, not_a_function)
    assert (result.passed, result.score, result.status) == (False, 0.0, "failed")
    assert "Pass the function itself" in result.feedback


def test_a_huge_print_does_not_flood_stdout(capsys):
    def loud(z, dout):
        print("x" * 10 ** 6)
        return dout * (z > 0)

    def loud_and_broken(z, dout):
        print("y" * 10 ** 6)
        raise RuntimeError("after printing")

    assert check("relu_backward", loud).passed
    broken = check("relu_backward", loud_and_broken)
    assert not broken.passed and len(broken.feedback) < 5000
    captured = capsys.readouterr()
    assert len(captured.out) + len(captured.err) < 1000
    for record in run_trials("relu_backward", loud):
        assert len(record["stdout"]) <= MAX_STDOUT
        assert record["stdout_chars"] == 10 ** 6 + 1


def test_a_long_exception_message_is_shortened():
    def relu_backward(z, dout):
        raise ValueError("z" * 100_000)

    result = check("relu_backward", relu_backward)
    assert not result.passed and len(result.feedback) < 2000


def test_an_exception_that_cannot_be_printed_still_gives_a_result():
    """Grader bug: trials._describe_exception calls str(exc) outside any
    try, so an exception whose __str__ raises escapes from check()."""
    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no message for you")

    def relu_backward(z, dout):
        raise Unprintable()

    result = check("relu_backward", relu_backward)
    assert not result.passed and "Unprintable" in result.feedback


def test_keyboard_interrupt_is_not_swallowed():
    # Deliberate: Ctrl-C must still stop a student's endless loop.
    def relu_backward(z, dout):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        check("relu_backward", relu_backward)


def test_grade_survives_missing_and_malformed_records():
    n = len(make_trials("relu_backward"))
    result = grade("relu_backward", [])
    assert not result.passed and result.score == 0.0 and "was not run" in result.feedback
    result = grade("relu_backward", ["junk", {"outputs": {"kind": "array"}}, None])
    assert not result.passed and result.score == 0.0
    assert result.feedback.startswith(f"relu_backward: 0 of {n} trials passed.")


# --------------------------------------------------------------------------
# Answers in an acceptable form other than the reference's
# --------------------------------------------------------------------------

def test_a_list_instead_of_a_tuple_of_outputs_passes():
    result = check("dense_backward", lambda X, W, b, dZ: list(F.dense_backward(X, W, b, dZ)))
    assert result.passed, result.feedback


def test_a_python_float_or_int_for_a_number_passes():
    def neuron_backward(x, w, b, dy):
        on = x @ w + b > 0
        return (dy * w if on else np.zeros(len(w)), dy * x if on else np.zeros(len(x)),
                float(dy) if on else 0)

    assert check("neuron_backward", neuron_backward).passed


def test_an_ordered_dict_of_gradients_passes():
    def mlp_backprop(X, y, params):
        loss, grads = reference("mlp_backprop")(X, y, params)
        return loss, collections.OrderedDict(sorted(grads.items()))

    assert check("mlp_backprop", mlp_backprop).passed


def test_a_named_tuple_of_outputs_passes():
    """A namedtuple is a tuple. Grader bug: trials.to_portable records its
    kind as the class name ("Grads"), which from_portable does not know, so
    the student reads "returned an object of type unknown"."""
    Grads = collections.namedtuple("Grads", "dX dW db")
    result = check("dense_backward", lambda X, W, b, dZ: Grads(*F.dense_backward(X, W, b, dZ)))
    assert result.passed, result.feedback


def test_a_zero_dimensional_array_for_a_number_passes():
    """_pair_leaf accepts a 0-d array where a number is expected. Grader bug:
    trials.to_portable stores np.ascontiguousarray(value), which has at least
    one dimension, so a 0-d array comes back with shape (1,): "loss must be a
    single number; got an array of shape (1,)". (The same bug fails every
    numerical_gradient on its 0-d trial, the reference included.)"""
    def mse_loss(y_pred, y_true):
        loss, grad = F.mse_loss(y_pred, y_true)
        return np.asarray(loss), grad

    result = check("mse_loss", mse_loss)
    assert result.passed, result.feedback


def test_a_boolean_array_is_not_called_an_integer_array():
    """Grader bug (misleading wording): for a bool array _judge_output adds
    "(did you build it with np.zeros_like of an integer array?)"."""
    result = check("relu_backward", lambda z, dout: z > 0)
    assert not result.passed
    assert "bool" in result.feedback
    assert "integer array" not in result.feedback


# --------------------------------------------------------------------------
# Modified arguments
# --------------------------------------------------------------------------

def _array_arguments():
    cases = []
    for exercise_id, exercise in EXERCISES.items():
        if exercise_id not in FUNCTION_IDS:
            continue
        args = make_trials(exercise_id)[0].args
        for index, (name, value) in enumerate(zip(exercise.arg_names, args)):
            if isinstance(value, (np.ndarray, dict)):
                cases.append(pytest.param(exercise_id, index, name, id=f"{exercise_id}-{name}"))
    return cases


ARRAY_ARGUMENTS = _array_arguments()
_FIRST_ARRAY_ARGUMENT = {}
for _case in ARRAY_ARGUMENTS:
    _FIRST_ARRAY_ARGUMENT.setdefault(_case.values[0], _case.values[1])


def test_every_exercise_has_an_array_argument_to_protect():
    assert {case.values[0] for case in ARRAY_ARGUMENTS} == set(FUNCTION_IDS)
    assert {case.id for case in ARRAY_ARGUMENTS} >= {
        "numerical_gradient-x", "neuron_backward-x", "neuron_backward-w", "dense_backward-dZ",
        "softmax_cross_entropy-y", "mlp_backprop-params", "sigmoid_net_backprop-params",
        "tiny_net_backprop-params", "relative_error-a", "relative_error-b"}


def _modifies(exercise_id, index):
    """The right answer, but it then changes argument ``index`` in place."""
    ref = reference(exercise_id)

    def fn(*args):
        out = ref(*copy.deepcopy(args))
        arg = args[index]
        if isinstance(arg, dict):
            key = "W1" if "W1" in arg else next(iter(arg))
            arg[key] += 1  # an array in place; a float (tiny_net_backprop) rebound in the dict
        else:
            arg += 1  # in place, for float and integer arrays alike
        return out
    return fn


@pytest.mark.parametrize("exercise_id, index, name", ARRAY_ARGUMENTS)
def test_modifying_an_argument_in_place_fails(exercise_id, index, name):
    result = check(exercise_id, _modifies(exercise_id, index))
    assert not result.passed and result.score == 0.0 and result.status == "failed"
    assert f"modified its argument `{name}` in place" in result.feedback
    assert "values differ" not in result.feedback  # the answer itself was right


@pytest.mark.parametrize("change", ["add_key", "delete_key", "rebind_array", "rebind_b2"])
@pytest.mark.parametrize("exercise_id", ["mlp_backprop", "sigmoid_net_backprop"])
def test_changing_the_params_dict_fails(exercise_id, change):
    ref = reference(exercise_id)

    def fn(X, y, params):
        out = ref(X, y, copy.deepcopy(params))
        if change == "add_key":
            params["lr"] = 0.1
        elif change == "delete_key":
            del params["b1"]
        elif change == "rebind_array":
            params["W2"] = params["W2"] - 0.1 * out[1]["W2"]
        else:
            params["b2"] = params["b2"] - 0.1 * out[1]["b2"]
        return out

    result = check(exercise_id, fn)
    assert not result.passed
    assert "modified its argument `params` in place" in result.feedback


@pytest.mark.parametrize("exercise_id", ["mlp_backprop", "sigmoid_net_backprop"])
def test_rebinding_params_to_equal_copies_is_not_a_modification(exercise_id):
    ref = reference(exercise_id)

    def fn(X, y, params):
        for key in list(params):
            params[key] = copy.copy(params[key])
        return ref(X, y, params)

    assert check(exercise_id, fn).passed


def test_the_in_place_hint_speaks_of_the_exercises_own_arguments():
    """Grader bug (misleading hint): the in-place hint always says "Compute a
    new array (e.g. `dout * (z > 0)`) or work on a copy (`dout.copy()`)",
    also where there is no dout: in numerical_gradient (where the fix is to
    restore x[i] or perturb a copy), the losses and the networks."""
    offenders = []
    for case in ARRAY_ARGUMENTS:
        exercise_id, index, name = case.values
        if "dout" in EXERCISES[exercise_id].arg_names:
            continue
        feedback = check(exercise_id, _modifies(exercise_id, index)).feedback
        if "dout" in feedback:
            offenders.append(case.id)
    assert not offenders, offenders


# --------------------------------------------------------------------------
# Text and HTML
# --------------------------------------------------------------------------

def test_a_passing_result_reads_as_a_pass_in_text_and_html():
    result = check("relu_backward", F.relu_backward)
    n = len(make_trials("relu_backward"))
    assert str(result) == repr(result) == result.feedback
    assert result.feedback.startswith(f"relu_backward: all {n} trials passed.")
    assert "Gradient check" in result.feedback
    html = result._repr_html_()
    assert f"relu_backward: all {n} trials passed." in html
    assert "#2e7d32" in html  # green


def test_a_failing_result_is_escaped_in_html():
    def relu_backward(z, dout):
        raise ValueError("<script>alert('x')</script> & <b>bold</b>")

    result = check("relu_backward", relu_backward)
    assert "<script>alert('x')</script>" in str(result)
    html = result._repr_html_()
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;" in html and "&amp;" in html
    assert f"relu_backward: 0 of {len(make_trials('relu_backward'))} trials passed." in html
    assert "#c62828" in html  # red


def test_a_not_attempted_result_in_html():
    def relu_backward(z, dout):
        raise NotImplementedError

    html = check("relu_backward", relu_backward)._repr_html_()
    assert "relu_backward: not attempted yet." in html
    assert "#616161" in html  # neither green nor red
    assert "#2e7d32" not in html and "#c62828" not in html


def test_a_result_converts_to_json():
    result = check("dense_backward", _first_buggy("dense_backward"))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["exercise_id"] == "dense_backward"
    assert (data["passed"], data["score"], data["status"]) == (False, result.score, "failed")
    assert data["feedback"] == result.feedback
    assert len(data["trials"]) == len(make_trials("dense_backward"))


# --------------------------------------------------------------------------
# The process split: run_trials on the student's side, grade on the grader's
# --------------------------------------------------------------------------

def _nan_everywhere(exercise_id):
    return _reference_then(exercise_id, lambda v: np.full(np.shape(v), np.nan)
                           if isinstance(v, np.ndarray) else float("nan"))


@pytest.mark.parametrize("exercise_id", FUNCTION_IDS)
def test_grading_json_records_gives_the_same_verdict_as_check(exercise_id):
    fns = {"reference": reference(exercise_id), "buggy": _first_buggy(exercise_id),
           "raises": _raises_with_a_line, "nan": _nan_everywhere(exercise_id),
           "modifies": _modifies(exercise_id, _FIRST_ARRAY_ARGUMENT[exercise_id]),
           "not_callable": 42}
    for name, fn in fns.items():
        for seed in (None, 7):
            records = json.loads(json.dumps(run_trials(exercise_id, fn, seed)))
            split = grade(exercise_id, records, seed=seed)
            assert _verdict(split) == _verdict(check(exercise_id, fn, seed=seed)), name
    assert check(exercise_id, fns["reference"]).passed


def test_grading_with_another_seed_than_the_records_does_not_pass_a_right_answer_blindly():
    # The grader regenerates the trials from its own seed: records made for
    # another seed are answers to other questions.
    records = run_trials("dense_backward", F.dense_backward, seed=1)
    assert not grade("dense_backward", records, seed=2).passed
    assert grade("dense_backward", records, seed=1).passed


@pytest.mark.parametrize("value", [
    np.arange(6.0).reshape(2, 3),
    np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    np.arange(10.0)[::3],
    np.arange(4, dtype=np.int32),
    np.zeros((0, 3)),
    np.array(2.5),
    np.float64(1.5), 1.5, 7, True, None, "text",
    (np.ones(2), {"W": np.eye(2), "b": 0.5}),
    [1, 2.0],
], ids=["2d", "fortran", "strided", "int32", "empty", "0d", "float64", "float", "int", "bool",
        "None", "str", "nested", "list"])
def test_portable_values_survive_json(value):
    back = from_portable(json.loads(json.dumps(to_portable(value))))
    if isinstance(value, str):
        assert type(back).__name__ == "Opaque" and back.type_name == "str"
    else:
        assert _same_value(back, value), (back, value)


def test_changing_the_trials_one_got_does_not_change_the_next_ones():
    trials = make_trials("relu_backward", 3)
    trials[0].args[0][...] = 0.0
    trials[0].args = ()
    again = make_trials("relu_backward", 3)
    assert again[0].args and np.any(again[0].args[0] != 0.0)
