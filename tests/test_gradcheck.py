"""Tests of bplib.gradcheck: numerical gradients, relative error, kinks,
sparse checks, check_backward and whole-network checks."""

import numpy as np
import pytest

from bplib import functional as F
from bplib import gradcheck as gc
from bplib import nn
from bplib.datasets import make_xor


# --------------------------------------------------------------------------
# numerical_gradient
# --------------------------------------------------------------------------

def test_numerical_gradient_of_a_known_function():
    x = np.array([0.5, -1.0, 2.0])
    g = gc.numerical_gradient(lambda v: np.sum(v ** 3) + v[0] * v[1], x)
    np.testing.assert_allclose(g, 3 * x ** 2 + np.array([x[1], x[0], 0.0]),
                               rtol=1e-9)


@pytest.mark.parametrize("shape", [(), (4,), (2, 3, 4)], ids=["0-d", "1-d", "3-d"])
def test_numerical_gradient_any_shape(shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    C = rng.standard_normal(shape)
    g = gc.numerical_gradient(lambda v: np.sum(C * np.sin(v)), x)
    assert g.shape == np.shape(x)
    np.testing.assert_allclose(g, C * np.cos(x), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("layout", ["fortran", "transposed", "strided"])
def test_numerical_gradient_of_non_c_ordered_arrays(layout):
    """Regression: x.reshape(-1) is a copy, not a view, for these layouts,
    and perturbing that copy left f's input unchanged (a zero gradient)."""
    rng = np.random.default_rng(5)
    base = rng.standard_normal((4, 6))
    x = {"fortran": np.asfortranarray(base[:, :3]), "transposed": base.T,
         "strided": base[:, ::2]}[layout]
    C = rng.standard_normal(x.shape)
    g = gc.numerical_gradient(lambda v: np.sum(C * v ** 2), x)
    np.testing.assert_allclose(g, 2 * C * x, rtol=1e-8, atol=1e-10)
    result = gc.gradient_check(lambda v: np.sum(C * v ** 2), x, 2 * C * x)
    assert result.passed and result.checked.all()


def test_numerical_gradient_does_not_modify_x_and_restores_each_entry():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    x_before = x.copy()
    seen = []

    def f(v):
        # Exactly one entry differs from x at every call: earlier ones restored.
        seen.append(int(np.sum(v != x_before)))
        return np.sum(v ** 2)

    gc.numerical_gradient(f, x)
    np.testing.assert_array_equal(x, x_before)
    assert seen == [1] * 8


def test_numerical_gradient_accepts_integer_input_and_lists():
    g = gc.numerical_gradient(lambda v: np.sum(v ** 2), [1, 2, 3])
    np.testing.assert_allclose(g, [2.0, 4.0, 6.0], rtol=1e-9)
    assert g.dtype == np.float64


def test_central_difference_is_second_order():
    """Halving h cuts the error about fourfold (error O(h**2))."""
    x = np.array([0.7])
    exact = np.cos(0.7)
    e1 = abs(gc.numerical_gradient(lambda v: np.sin(v[0]), x, h=1e-2)[0] - exact)
    e2 = abs(gc.numerical_gradient(lambda v: np.sin(v[0]), x, h=5e-3)[0] - exact)
    assert 3.5 < e1 / e2 < 4.5


# --------------------------------------------------------------------------
# relative_error
# --------------------------------------------------------------------------

def test_relative_error_semantics():
    a = np.array([1.0, -2.0, 3.0])
    assert gc.relative_error(a, a) == 0.0
    assert gc.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    # max|a - b| / (max|a| + max|b|)
    b = a + np.array([0.0, 0.0, 0.6])
    assert gc.relative_error(a, b) == pytest.approx(0.6 / (3.0 + 3.6))
    # Scale-free and symmetric.
    assert gc.relative_error(1e-8 * a, 1e-8 * b) == pytest.approx(
        gc.relative_error(a, b), rel=1e-12)
    assert gc.relative_error(b, a) == gc.relative_error(a, b)
    # Opposite signs: the largest possible error.
    assert gc.relative_error(a, -a) == pytest.approx(1.0)
    assert type(gc.relative_error(a, b)) is float


# --------------------------------------------------------------------------
# gradient_check: kinks and failures
# --------------------------------------------------------------------------

def _relu_sum(G):
    return lambda z: np.sum(F.relu(z) * G)


def test_gradient_check_passes_a_correct_gradient():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    result = gc.gradient_check(lambda v: np.sum(np.tanh(v) ** 2), x,
                               2 * np.tanh(x) * (1 - np.tanh(x) ** 2))
    assert result.passed
    assert result.error < 1e-8
    assert result.checked.all() and not result.kinks.any()
    assert "ok" in str(result)


def test_gradient_check_fails_a_wrong_gradient():
    x = np.random.default_rng(1).standard_normal(5)
    result = gc.gradient_check(lambda v: np.sum(np.exp(v)), x, 2 * np.exp(x))
    assert not result.passed
    assert result.error == pytest.approx(1 / 3, rel=1e-6)
    assert "MISMATCH" in str(result)


def test_a_passing_check_prints_its_bound_and_a_failing_one_its_error():
    """Round-off digits differ between machines, so a notebook that printed a
    passing check's error would not reproduce its output on another one."""
    x = np.random.default_rng(2).standard_normal(4)
    good = gc.gradient_check(lambda v: np.sum(v ** 3), x, 3 * x ** 2, name="dx", tol=1e-8)
    assert str(good) == "dx: relative error below 1e-08 (4 coordinates) ok"
    bad = gc.gradient_check(lambda v: np.sum(np.exp(v)), x, 2 * np.exp(x), name="dx")
    assert str(bad) == "dx: relative error 3.3e-01, above 1e-06 (4 coordinates) MISMATCH"


def test_describe_error():
    assert gc.describe_error(3.7e-11, 1e-8) == "relative error below 1e-08"
    assert gc.describe_error(0.0, 1e-12) == "relative error below 1e-12"
    assert gc.describe_error(2.5e-3, 1e-6) == "relative error 2.5e-03, above 1e-06"
    assert gc.describe_error(1e-6, 1e-6) == "relative error 1.0e-06"


def test_gradient_check_rejects_a_wrongly_shaped_gradient():
    with pytest.raises(ValueError, match="shape"):
        gc.gradient_check(lambda v: np.sum(v), np.ones((2, 3)), np.ones((3, 2)))


def test_kink_within_h_is_flagged_and_left_out():
    # z[1] lies 3e-7 from ReLU's kink: closer than h = 1e-5, and than h / 10.
    z = np.array([0.8, 3e-7, -0.5, 1.3])
    G = np.array([1.0, 2.0, -1.5, 0.5])
    f = _relu_sum(G)
    analytic = F.relu_backward(z, G)
    # Compared anyway, the kink coordinate is badly off (a mix of both slopes) ...
    forced = gc.gradient_check(f, z, analytic, kink_tol=None)
    assert not forced.passed
    assert forced.error > 1e-3
    assert forced.numerical[1] == pytest.approx(2.0 * (1e-5 + 3e-7) / 2e-5, rel=1e-6)
    np.testing.assert_array_equal(forced.checked, True)
    # ... flagged, it is left out and the rest matches.
    result = gc.gradient_check(f, z, analytic)
    np.testing.assert_array_equal(result.kinks, [False, True, False, False])
    np.testing.assert_array_equal(result.checked, [True, False, True, True])
    assert result.passed and result.error < 1e-9
    assert "1 at a kink left out" in str(result)


@pytest.mark.parametrize("distance", [3e-6, 3e-7, 0.0, -3e-7, -3e-6])
def test_relu_near_its_kink_correct_passes_and_wrong_fails(distance):
    """Whatever the checker does near a kink (re-measure, leave out), a
    correct ReLU gradient passes and a wrong one fails."""
    z = np.array([0.8, distance, -0.5, 1.3])
    G = np.array([1.0, 2.0, -1.5, 0.5])
    correct = F.relu_backward(z, G)
    assert gc.gradient_check(_relu_sum(G), z, correct).passed
    wrong = correct.copy()
    wrong[1] = 5.0
    assert not gc.gradient_check(_relu_sum(G), z, wrong).passed


def test_kink_does_not_hide_a_wrong_gradient_elsewhere():
    z = np.array([0.8, 3e-7, -0.5, 1.3])
    G = np.array([1.0, 2.0, -1.5, 0.5])
    wrong = F.relu_backward(z, G)
    wrong[3] *= -1
    result = gc.gradient_check(_relu_sum(G), z, wrong)
    assert result.kinks[1] and not result.kinks[3]
    assert not result.passed


def test_wrong_gradient_at_a_kink_is_not_excused():
    """At a real kink only a gradient equal to one of the one-sided slopes
    is excused; any other value there is compared and fails."""
    z = np.array([0.8, 3e-6, -0.5, 1.3])
    G = np.array([1.0, 2.0, -1.5, 0.5])
    wrong = F.relu_backward(z, G)
    wrong[1] = 5.0  # the slopes on the two sides are 2 and 0
    result = gc.gradient_check(_relu_sum(G), z, wrong)
    assert not result.kinks[1] and result.checked[1]
    assert not result.passed
    # z[1] > 0: the slope of the far side (0) is wrong too. Only the
    # one-sided difference that does not straddle the kink is clean (2 here;
    # the other one, 0.6, mixes both slopes), so 0 is not excused.
    other_side = F.relu_backward(z, G)
    other_side[1] = 0.0
    assert not gc.gradient_check(_relu_sum(G), z, other_side).passed
    # Exactly at the kink, slope 0 (bplib's choice) and slope 1 are both fine.
    at_kink = np.array([0.8, 0.0, -0.5, 1.3])
    for slope in (0.0, 1.0):
        analytic = np.where(at_kink > 0, 1.0, 0.0) * G
        analytic[1] = slope * G[1]
        result = gc.gradient_check(_relu_sum(G), at_kink, analytic)
        assert result.kinks[1] and result.passed


def test_wrong_gradient_at_a_stationary_point_is_not_hidden_as_a_kink():
    """Regression: where the true gradient is ~0 a smooth function looks like
    a kink. For f(x) = sum(x**2) at x = [0, 1, 2] the one-sided slopes at
    x0 = 0 are +h and -h, 200% apart; x0 used to be left out as a kink, so
    an analytic gradient wrong there (1 instead of 0) passed."""
    x = np.array([0.0, 1.0, 2.0])
    wrong = np.array([1.0, 2.0, 4.0])
    result = gc.gradient_check(lambda v: np.sum(v ** 2), x, wrong)
    assert not result.passed


def test_network_check_near_a_minimum_still_catches_a_wrong_gradient():
    """Regression (the same bug, in practice): a tanh network has no kinks,
    yet near a minimum of its loss (overlapping XOR blobs, so the minimum is
    finite) every entry of the first layer's gradient, small next to h times
    the curvature, used to be left out as a kink, and a first-layer gradient
    three times too large passed."""
    X, y = make_xor(100, seed=0, spread=0.15)
    net = nn.mlp([2, 4, 1], activation="tanh", output="sigmoid", seed=0)
    net.fit(X, y, epochs=500, lr=1.0, momentum=0.9)
    params = net.parameters()
    _, grads = net.loss_and_gradients(X, y)
    grads["0.W"] = 3.0 * grads["0.W"]

    def loss_fn(p):
        return net.with_parameters(p).loss_and_gradients(X, y)[0]

    results = gc.check_parameter_gradients(loss_fn, params, grads)
    assert not results["0.W"].passed


def test_sparse_check_compares_only_the_requested_coordinates():
    x = np.random.default_rng(2).standard_normal((4, 5))
    perturbed = set()

    def f(v):
        moved = np.flatnonzero(v != x)
        assert len(moved) <= 1  # one coordinate at a time
        perturbed.update(moved.tolist())
        return np.sum(v ** 3)

    wrong = 3 * x ** 2
    wrong.flat[7] += 1.0  # wrong, but not among the checked coordinates
    result = gc.gradient_check(f, x, wrong, coords=[0, 3, 12])
    assert result.checked.sum() == 3
    np.testing.assert_array_equal(np.flatnonzero(result.checked), [0, 3, 12])
    assert result.passed
    # f was evaluated along the requested coordinates only.
    assert perturbed == {0, 3, 12}
    assert np.isnan(result.numerical.flat[7])
    # ... and a sparse check that includes the wrong coordinate fails.
    assert not gc.gradient_check(f, x, wrong, coords=[7]).passed


def test_check_parameter_gradients_with_num_checks():
    rng = np.random.default_rng(3)
    params = {"A": rng.standard_normal((6, 7)), "c": rng.standard_normal(3)}

    def loss_fn(p):
        return np.sum(p["A"] ** 2) + np.sum(np.sin(p["c"]))

    grads = {"A": 2 * params["A"], "c": np.cos(params["c"])}
    results = gc.check_parameter_gradients(loss_fn, params, grads, num_checks=5)
    assert results["A"].checked.sum() == 5
    assert results["c"].checked.sum() == 3  # fewer entries than num_checks
    assert all(r.passed for r in results.values())
    # The sample depends on the seed only.
    again = gc.check_parameter_gradients(loss_fn, params, grads, num_checks=5)
    np.testing.assert_array_equal(again["A"].checked, results["A"].checked)


# --------------------------------------------------------------------------
# check_backward
# --------------------------------------------------------------------------

def _dense_inputs(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((5, 3)), rng.standard_normal((3, 4)),
            rng.standard_normal(4)]


def test_check_backward_passes_a_correct_backward():
    inputs = _dense_inputs()
    before = [a.copy() for a in inputs]
    results = gc.check_backward(F.dense, F.dense_backward, inputs,
                                names=["X", "W", "b"])
    assert [r.name for r in results] == ["X", "W", "b"]
    assert all(r.passed for r in results)
    assert max(r.error for r in results) < 1e-8
    for a, b in zip(inputs, before):
        np.testing.assert_array_equal(a, b)


def test_check_backward_single_input():
    z = np.random.default_rng(1).standard_normal((5, 7))
    (result,) = gc.check_backward(F.softmax, F.softmax_backward, [z])
    assert result.passed


@pytest.mark.parametrize("bug", ["missing transpose", "factor 2", "bias mean",
                                 "swapped"])
def test_check_backward_catches_a_buggy_backward(bug):
    # Square W, so the missing transpose still has the right shape.
    rng = np.random.default_rng(4)
    inputs = [rng.standard_normal((5, 3)), rng.standard_normal((3, 3)),
              rng.standard_normal(3)]

    def buggy(X, W, b, dZ):
        dX, dW, db = F.dense_backward(X, W, b, dZ)
        if bug == "missing transpose":
            dX = dZ @ W
        elif bug == "factor 2":
            dW = 2 * dW
        elif bug == "bias mean":
            db = dZ.mean(axis=0)
        else:
            dW = dW.T
        return dX, dW, db

    results = gc.check_backward(F.dense, buggy, inputs)
    assert not all(r.passed for r in results)


def test_check_backward_catches_a_buggy_activation_backward():
    z = np.random.default_rng(5).standard_normal((5, 4))
    (result,) = gc.check_backward(F.sigmoid, lambda z, d: d * F.sigmoid(z), [z])
    assert not result.passed


def test_check_backward_rejects_a_backward_that_returns_too_few_gradients():
    """Regression: the returned gradients used to be zipped with the inputs,
    so a backward that forgot db had db silently not checked, and passed."""
    def forgets_db(X, W, b, dZ):
        return dZ @ W.T, X.T @ dZ

    with pytest.raises(ValueError, match="gradients"):
        gc.check_backward(F.dense, forgets_db, _dense_inputs())


# --------------------------------------------------------------------------
# check_network_gradients
# --------------------------------------------------------------------------

@pytest.mark.parametrize("activation,output", [("relu", "softmax"),
                                               ("tanh", "sigmoid"),
                                               ("sigmoid", "linear")])
def test_check_network_gradients_passes_on_a_small_network(activation, output):
    rng = np.random.default_rng(6)
    X = rng.standard_normal((5, 3))
    d_out = 1 if output != "softmax" else 4
    y = (rng.integers(0, d_out, size=5) if output == "softmax"
         else rng.integers(0, 2, size=5) if output == "sigmoid"
         else rng.standard_normal(5))
    net = nn.mlp([3, 6, 2, d_out], activation=activation, output=output, seed=1)
    before = {k: v.copy() for k, v in net.parameters().items()}
    results = gc.check_network_gradients(net, X, y)
    assert set(results) == set(net.parameters())
    for name, r in results.items():
        assert r.passed, str(r)
        assert r.checked.sum() >= r.checked.size - 1
    for k, v in net.parameters().items():
        np.testing.assert_array_equal(v, before[k])


def test_check_network_gradients_sparse():
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((5, 3)), rng.integers(0, 4, size=5)
    net = nn.mlp([3, 6, 4], output="softmax", seed=2)
    results = gc.check_network_gradients(net, X, y, num_checks=4)
    assert results["0.W"].checked.sum() <= 4
    assert results["0.W"].checked.sum() >= 3  # at most one kink
    assert all(r.passed for r in results.values())


def test_check_network_gradients_detects_a_broken_layer():
    class BrokenReLU(nn.ReLU):
        def backward(self, dout, z, *, input_grad=True):
            return dout * (z >= -0.5), {}  # wrong mask

    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((5, 3)), rng.integers(0, 4, size=5)
    good = nn.mlp([3, 6, 4], seed=3)
    broken = nn.Network([good.layers[0], BrokenReLU(), good.layers[2]], good.loss)
    results = gc.check_network_gradients(broken, X, y)
    assert not results["0.W"].passed
    assert results["2.W"].passed  # layers after the bug are still right
