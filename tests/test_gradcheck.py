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
    result = gc.check_gradient(lambda v: np.sum(C * v ** 2), x, 2 * C * x)
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
# check_gradient: kinks and failures
# --------------------------------------------------------------------------

def _relu_sum(G):
    return lambda z: np.sum(F.relu(z) * G)


def test_gradient_check_passes_a_correct_gradient():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    result = gc.check_gradient(lambda v: np.sum(np.tanh(v) ** 2), x,
                               2 * np.tanh(x) * (1 - np.tanh(x) ** 2))
    assert result.passed
    assert result.error < 1e-8
    assert result.checked.all() and not result.kinks.any()
    assert "ok" in str(result)


def test_gradient_check_fails_a_wrong_gradient():
    x = np.random.default_rng(1).standard_normal(5)
    result = gc.check_gradient(lambda v: np.sum(np.exp(v)), x, 2 * np.exp(x))
    assert not result.passed
    assert result.error == pytest.approx(1 / 3, rel=1e-6)
    assert "MISMATCH" in str(result)


def test_a_passing_check_prints_its_bound_and_a_failing_one_its_error():
    """Round-off digits differ between machines, so a notebook that printed a
    passing check's error would not reproduce its output on another one."""
    x = np.random.default_rng(2).standard_normal(4)
    good = gc.check_gradient(lambda v: np.sum(v ** 3), x, 3 * x ** 2, name="dx", tol=1e-8)
    assert str(good) == "dx: relative error below 1e-08 (4 coordinates) ok"
    bad = gc.check_gradient(lambda v: np.sum(np.exp(v)), x, 2 * np.exp(x), name="dx")
    assert str(bad) == "dx: relative error 3.3e-01, above 1e-06 (4 coordinates) MISMATCH"


def test_describe_error():
    assert gc.describe_error(3.7e-11, 1e-8) == "relative error below 1e-08"
    assert gc.describe_error(0.0, 1e-12) == "relative error below 1e-12"
    assert gc.describe_error(2.5e-3, 1e-6) == "relative error 2.5e-03, above 1e-06"
    assert gc.describe_error(1e-6, 1e-6) == "relative error 1.0e-06"


def test_gradient_check_rejects_a_wrongly_shaped_gradient():
    with pytest.raises(ValueError, match="shape"):
        gc.check_gradient(lambda v: np.sum(v), np.ones((2, 3)), np.ones((3, 2)))


def test_kink_within_h_is_flagged_and_left_out():
    # z[1] lies 3e-7 from ReLU's kink: closer than h = 1e-5, and than h / 10.
    z = np.array([0.8, 3e-7, -0.5, 1.3])
    G = np.array([1.0, 2.0, -1.5, 0.5])
    f = _relu_sum(G)
    analytic = F.relu_backward(z, G)
    # Compared anyway, the kink coordinate is badly off (a mix of both slopes) ...
    forced = gc.check_gradient(f, z, analytic, kink_tol=None)
    assert not forced.passed
    assert forced.error > 1e-3
    assert forced.numerical[1] == pytest.approx(2.0 * (1e-5 + 3e-7) / 2e-5, rel=1e-6)
    np.testing.assert_array_equal(forced.checked, True)
    # ... flagged, it is left out and the rest matches.
    result = gc.check_gradient(f, z, analytic)
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
    assert gc.check_gradient(_relu_sum(G), z, correct).passed
    wrong = correct.copy()
    wrong[1] = 5.0
    assert not gc.check_gradient(_relu_sum(G), z, wrong).passed


def test_kink_does_not_hide_a_wrong_gradient_elsewhere():
    z = np.array([0.8, 3e-7, -0.5, 1.3])
    G = np.array([1.0, 2.0, -1.5, 0.5])
    wrong = F.relu_backward(z, G)
    wrong[3] *= -1
    result = gc.check_gradient(_relu_sum(G), z, wrong)
    assert result.kinks[1] and not result.kinks[3]
    assert not result.passed


def test_wrong_gradient_at_a_kink_is_not_excused():
    """At a real kink only a gradient equal to one of the one-sided slopes
    is excused; any other value there is compared and fails."""
    z = np.array([0.8, 3e-6, -0.5, 1.3])
    G = np.array([1.0, 2.0, -1.5, 0.5])
    wrong = F.relu_backward(z, G)
    wrong[1] = 5.0  # the slopes on the two sides are 2 and 0
    result = gc.check_gradient(_relu_sum(G), z, wrong)
    assert not result.kinks[1] and result.checked[1]
    assert not result.passed
    # z[1] > 0: the slope of the far side (0) is wrong too. Only the
    # one-sided difference that does not straddle the kink is clean (2 here;
    # the other one, 0.6, mixes both slopes), so 0 is not excused.
    other_side = F.relu_backward(z, G)
    other_side[1] = 0.0
    assert not gc.check_gradient(_relu_sum(G), z, other_side).passed
    # Exactly at the kink, slope 0 (bplib's choice) and slope 1 are both fine.
    at_kink = np.array([0.8, 0.0, -0.5, 1.3])
    for slope in (0.0, 1.0):
        analytic = np.where(at_kink > 0, 1.0, 0.0) * G
        analytic[1] = slope * G[1]
        result = gc.check_gradient(_relu_sum(G), at_kink, analytic)
        assert result.kinks[1] and result.passed


def test_wrong_gradient_at_a_stationary_point_is_not_hidden_as_a_kink():
    """Regression: where the true gradient is ~0 a smooth function looks like
    a kink. For f(x) = sum(x**2) at x = [0, 1, 2] the one-sided slopes at
    x0 = 0 are +h and -h, 200% apart; x0 used to be left out as a kink, so
    an analytic gradient wrong there (1 instead of 0) passed."""
    x = np.array([0.0, 1.0, 2.0])
    wrong = np.array([1.0, 2.0, 4.0])
    result = gc.check_gradient(lambda v: np.sum(v ** 2), x, wrong)
    assert not result.passed


def test_network_check_near_a_minimum_still_catches_a_wrong_gradient():
    """Regression (the same bug, in practice): a tanh network has no kinks,
    yet near a minimum of its loss (overlapping XOR blobs, so the minimum is
    finite) every entry of the first layer's gradient, small next to h times
    the curvature, used to be left out as a kink, and a first-layer gradient
    three times too large passed."""
    X, y = make_xor(100, seed=0, spread=0.15)
    net = nn.mlp_network([2, 4, 1], activation="tanh", output="sigmoid", seed=0)
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
    result = gc.check_gradient(f, x, wrong, coords=[0, 3, 12])
    assert result.checked.sum() == 3
    np.testing.assert_array_equal(np.flatnonzero(result.checked), [0, 3, 12])
    assert result.passed
    # f was evaluated along the requested coordinates only.
    assert perturbed == {0, 3, 12}
    assert np.isnan(result.numerical.flat[7])
    # ... and a sparse check that includes the wrong coordinate fails.
    assert not gc.check_gradient(f, x, wrong, coords=[7]).passed


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
    net = nn.mlp_network([3, 6, 2, d_out], activation=activation, output=output, seed=1)
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
    net = nn.mlp_network([3, 6, 4], output="softmax", seed=2)
    results = gc.check_network_gradients(net, X, y, num_checks=4)
    for r in results.values():
        # num_checks distinct coordinates measured (4, or all of a smaller
        # parameter), each either compared or left out at a kink.
        assert (r.checked | r.kinks).sum() == min(4, r.checked.size)
        assert r.passed
    assert results["0.W"].checked.sum() >= 3  # at most one kink here


def test_check_network_gradients_detects_a_broken_layer():
    class BrokenReLU(nn.ReLU):
        def backward(self, z, dout, *, input_grad=True):
            return dout * (z >= -0.5), {}  # wrong mask

    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((5, 3)), rng.integers(0, 4, size=5)
    good = nn.mlp_network([3, 6, 4], seed=3)
    broken = nn.Network([good.layers[0], BrokenReLU(), good.layers[2]], good.loss)
    results = gc.check_network_gradients(broken, X, y)
    assert not results["0.W"].passed
    assert results["2.W"].passed  # layers after the bug are still right


# --------------------------------------------------------------------------
# The checker's thresholds, pinned from both sides
# --------------------------------------------------------------------------

def _linear(c):
    """f(v) = sum(c * v): central differences are exact up to round-off."""
    return lambda v: np.sum(c * v)


@pytest.mark.parametrize("error,passed", [(0.99e-6, True), (1.01e-6, False)])
def test_gradient_check_tolerance_is_pinned(error, passed):
    """The default tol is 1e-6: a gradient off by a relative error just
    below it passes, just above it fails (and is not excused as a kink)."""
    c = np.array([1.5, -2.0, 0.25, 3.0])
    x = np.array([0.3, -1.2, 2.0, 0.7])
    delta = 2 * error / (1 - error)  # relative_error(c (1 + delta), c) = error
    result = gc.check_gradient(_linear(c), x, c * (1 + delta))
    assert result.error == pytest.approx(error, rel=1e-4)
    assert result.passed is passed
    assert not result.kinks.any()


def test_an_error_equal_to_tol_passes():
    """The pass boundary is inclusive: with tol=0 an exact gradient passes."""
    x = np.array([1.0, 2.0])
    result = gc.check_gradient(lambda v: np.sum(v), x, np.ones(2), h=2.0 ** -10, tol=0.0)
    assert result.error == 0.0 and result.passed
    assert not gc.check_gradient(lambda v: np.sum(v), x, np.array([1.0, 1.5]),
                                 h=2.0 ** -10, tol=0.0).passed
    ok = gc.GradCheckResult("x", np.ones(1), np.ones(1), 1e-6, 1e-6,
                            np.ones(1, dtype=bool), np.zeros(1, dtype=bool))
    assert ok.passed and str(ok) == "x: relative error 1.0e-06 (1 coordinate) ok"


def test_a_coordinate_that_disagrees_is_measured_again_with_a_smaller_step():
    """sin(400 v) curves so fast that central differences with h = 1e-5 are
    off by a relative 1.3e-6 (the O(h**2) error, no kink): measured again with
    h / 10 the correct gradient passes, and nothing is called a kink."""
    x = np.array([0.3, 0.7, 1.1])
    f = lambda v: np.sum(np.sin(400 * v))  # noqa: E731
    analytic = 400 * np.cos(400 * x)
    raw = gc.check_gradient(f, x, analytic, kink_tol=None)
    assert not raw.passed and raw.error > 1e-6
    result = gc.check_gradient(f, x, analytic)
    assert result.passed and result.error < 1e-7
    assert not result.kinks.any() and result.checked.all()


@pytest.mark.parametrize("scale", [1.0, 1e-7, 1e7])
def test_kinks_are_found_whatever_the_scale_of_the_gradient(scale):
    """The first comparison is relative (tol times the gradient's scale): a
    correct ReLU gradient of any scale with an input near its kink passes,
    the kink left out, and a wrong one of that scale fails."""
    z = np.array([0.8, 3e-7, -0.5, 1.3])
    G = scale * np.array([1.0, 2.0, -1.5, 0.5])
    correct = F.relu_backward(z, G)
    result = gc.check_gradient(_relu_sum(G), z, correct)
    assert result.passed
    np.testing.assert_array_equal(result.kinks, [False, True, False, False])
    wrong = correct.copy()
    wrong[0] *= 1.01
    assert not gc.check_gradient(_relu_sum(G), z, wrong).passed


def test_a_smooth_function_slightly_wrong_is_not_excused_as_a_kink():
    """A gradient 0.05% off equals the one-sided slopes to within kink_tol,
    but those slopes agree with each other (no kink): it fails."""
    x = np.array([0.5, -1.0, 1.5])
    result = gc.check_gradient(lambda v: np.sum(np.exp(v)), x, np.exp(x) * (1 + 5e-4))
    assert not result.passed
    assert not result.kinks.any()


def _jump(r):
    """v0**2 + (a line whose slope jumps from 1 to 1 + r at v1 = 0)."""
    return lambda v: v[0] ** 2 + np.where(v[1] > 0, (1 + r) * v[1], v[1])


# At v1 = 1e-7 with h / 10 = 1e-6 the one-sided slopes are 1 + r and 1 + 0.1 r:
# they differ by 0.9 r, a kink when 0.9 r > kink_tol (1 + r), r > R_KINK.
R_KINK = 1e-3 / (0.9 - 1e-3)


@pytest.mark.parametrize("r,kink", [(1.01 * R_KINK, True), (0.99 * R_KINK, False)])
def test_how_far_apart_the_one_sided_slopes_must_be_to_count_as_a_kink(r, kink):
    x = np.array([0.5, 1e-7])
    result = gc.check_gradient(_jump(r), x, np.array([1.0, 1 + r]))
    assert result.kinks[1] is np.bool_(kink)
    assert result.passed is kink  # not a kink: compared, and the mixed slope fails


@pytest.mark.parametrize("d,excused", [(1.98e-3, True), (2.02e-3, False)])
def test_how_close_to_a_one_sided_slope_a_gradient_must_be_at_a_kink(d, excused):
    """At z = 3e-7 (G = 2) the one-sided slopes are 2 and 0.6: a gradient
    within kink_tol * 2 = 2e-3 of 2 is excused, one further away is not."""
    z = np.array([0.8, 3e-7])
    G = np.array([1.0, 2.0])
    analytic = np.array([1.0, 2.0 + d])
    result = gc.check_gradient(_relu_sum(G), z, analytic)
    assert result.kinks[1] is np.bool_(excused)
    assert result.passed is excused


@pytest.mark.parametrize("error,passed", [(0.99e-6, True), (1.01e-6, False)])
def test_check_backward_tolerance_is_pinned(error, passed):
    """check_backward's default tol is 1e-6 too: a dW off by a relative
    error just below it passes, just above it fails; dX and db pass."""
    delta = 2 * error / (1 - error)

    def slightly_off(X, W, b, dZ):
        dX, dW, db = F.dense_backward(X, W, b, dZ)
        return dX, dW * (1 + delta), db

    results = gc.check_backward(F.dense, slightly_off, _dense_inputs())
    assert [r.passed for r in results] == [True, passed, True]
    assert results[1].error == pytest.approx(error, rel=1e-4)


def test_check_backward_fails_a_backward_1e_5_off():
    def off(X, W, b, dZ):
        dX, dW, db = F.dense_backward(X, W, b, dZ)
        return dX * (1 + 1e-5), dW, db

    results = gc.check_backward(F.dense, off, _dense_inputs())
    assert [r.passed for r in results] == [False, True, True]


def test_check_backward_accepts_a_list_of_gradients():
    def as_list(X, W, b, dZ):
        return list(F.dense_backward(X, W, b, dZ))

    results = gc.check_backward(F.dense, as_list, _dense_inputs())
    assert len(results) == 3 and all(r.passed for r in results)


def test_sparse_checks_draw_distinct_coordinates():
    rng = np.random.default_rng(3)
    params = {"A": rng.standard_normal((3, 4)), "c": rng.standard_normal(30)}
    grads = {"A": 2 * params["A"], "c": 2 * params["c"]}

    def loss_fn(p):
        return np.sum(p["A"] ** 2) + np.sum(p["c"] ** 2)

    for num_checks in (11, 12, 25):
        results = gc.check_parameter_gradients(loss_fn, params, grads,
                                               num_checks=num_checks)
        assert results["A"].checked.sum() == min(num_checks, 12)
        assert results["c"].checked.sum() == num_checks


def test_a_parameter_checked_whole_draws_nothing_from_the_sample():
    """The coordinates sampled for one parameter do not depend on smaller
    parameters before it, which are checked whole (num_checks >= size)."""
    rng = np.random.default_rng(4)
    big = rng.standard_normal(40)

    def loss_fn(p):
        return sum(np.sum(v ** 2) for v in p.values())

    alone = gc.check_parameter_gradients(loss_fn, {"big": big}, {"big": 2 * big},
                                         num_checks=5, seed=1)
    for small_size in (5, 3):
        small = rng.standard_normal(small_size)
        after = gc.check_parameter_gradients(
            loss_fn, {"small": small, "big": big}, {"small": 2 * small, "big": 2 * big},
            num_checks=5, seed=1)
        assert after["small"].checked.all()
        np.testing.assert_array_equal(after["big"].checked, alone["big"].checked)


def test_a_coordinate_that_passes_when_measured_again_is_not_examined_for_a_kink():
    """sin(400 v) where tan(400 v) = 3.5: the one-sided slopes with h / 10
    differ by 1.4e-3 of the slope and the gradient lies between them, so it
    would look like a kink; but the second measurement already agrees."""
    x = (np.arctan(3.5) + np.pi * np.arange(3)) / 400
    f = lambda v: np.sum(np.sin(400 * v))  # noqa: E731
    analytic = 400 * np.cos(400 * x)
    assert not gc.check_gradient(f, x, analytic, kink_tol=None).passed
    result = gc.check_gradient(f, x, analytic)
    assert result.passed and not result.kinks.any()


def _leaky(v):
    """Slope 1 for v > 0 and 3 for v < 0: the larger slope is on the left."""
    return np.sum(np.where(v > 0, v, 3 * v))


@pytest.mark.parametrize("d,excused", [(2.5e-3, True), (3.5e-3, False)])
def test_at_a_kink_closeness_is_measured_against_the_larger_one_sided_slope(d, excused):
    """z = -3e-7: the clean slope is the left one, 3, and the right one mixes
    both sides (1.6). A gradient within kink_tol * 3 = 3e-3 of 3 is excused."""
    z = np.array([-3e-7])
    result = gc.check_gradient(_leaky, z, np.array([3.0 + d]))
    assert result.kinks[0] is np.bool_(excused)
    assert result.passed is excused
    assert gc.check_gradient(_leaky, z, np.array([3.0])).kinks[0]


def test_checks_with_nothing_to_compare():
    """No coordinate requested, or every one at a kink: nothing disagrees."""
    x = np.array([0.5, -1.0])
    empty = gc.check_gradient(lambda v: np.sum(v ** 2), x, 2 * x, coords=[])
    assert empty.passed and empty.error == 0.0 and not empty.checked.any()
    assert gc.relative_error(np.array([]), np.array([])) == 0.0
    at_kink = gc.check_gradient(_relu_sum(np.ones(1)), np.array([3e-7]), np.ones(1))
    assert at_kink.kinks.all() and at_kink.passed and at_kink.error == 0.0


def test_coords_may_be_given_in_any_shape():
    x = np.random.default_rng(4).standard_normal((3, 4))
    result = gc.check_gradient(lambda v: np.sum(v ** 3), x, 3 * x ** 2,
                               coords=np.array([[0, 5], [7, 11]]))
    np.testing.assert_array_equal(np.flatnonzero(result.checked), [0, 5, 7, 11])
    assert result.passed


def test_result_name_and_dtypes():
    result = gc.check_gradient(lambda v: np.sum(v), np.zeros(3, dtype=int), [1, 1, 1])
    assert result.name == "x" and str(result).startswith("x: ")
    assert result.analytic.dtype == np.float64 and result.numerical.dtype == np.float64


def test_relative_error_converts_to_float_before_taking_absolute_values():
    """np.abs of the int8 value -128 is -128 (it overflows): the inputs are
    converted to float64 first, whatever their dtype."""
    a = np.array([-128, 1], dtype=np.int8)
    b = np.array([-127.0, 1.0])
    assert gc.relative_error(a, b) == 1.0 / 255.0
    assert gc.relative_error(b, a) == 1.0 / 255.0


def test_a_kink_in_a_non_c_ordered_array_is_found():
    """The one-sided slopes are measured on a private C-ordered copy too."""
    z = np.asfortranarray(np.array([[0.8, 3e-7], [-0.5, 1.3]]))
    G = np.array([[1.0, 2.0], [-1.5, 0.5]])
    result = gc.check_gradient(_relu_sum(G), z, F.relu_backward(z, G))
    np.testing.assert_array_equal(result.kinks, [[False, True], [False, False]])
    assert result.passed


def test_check_backward_passes_h_and_tol_on_and_draws_dout_from_seed():
    z = np.random.default_rng(5).standard_normal((4, 3))
    (default,) = gc.check_backward(F.sigmoid, F.sigmoid_backward, [z])
    assert default.passed and default.tol == 1e-6
    (coarse,) = gc.check_backward(F.sigmoid, F.sigmoid_backward, [z], h=0.3)
    assert not coarse.passed  # O(h**2) error of central differences with h = 0.3
    (strict,) = gc.check_backward(F.sigmoid, F.sigmoid_backward, [z], tol=1e-13)
    assert strict.tol == 1e-13 and not strict.passed
    (again,) = gc.check_backward(F.sigmoid, F.sigmoid_backward, [z], seed=0)
    assert again.error == default.error
    np.testing.assert_array_equal(again.analytic, default.analytic)
    (other,) = gc.check_backward(F.sigmoid, F.sigmoid_backward, [z], seed=1)
    assert not np.array_equal(other.analytic, default.analytic)


def test_check_backward_computes_in_float64_whatever_the_inputs():
    z32 = np.random.default_rng(6).standard_normal((4, 3)).astype(np.float32)
    (result,) = gc.check_backward(F.softmax, F.softmax_backward, [z32], tol=1e-9)
    assert result.passed and result.analytic.dtype == np.float64


def test_check_backward_says_what_it_expected():
    def forgets_db(X, W, b, dZ):
        return dZ @ W.T, X.T @ dZ

    with pytest.raises(ValueError, match=r"^backward returned 2 gradients for 3 inputs: it "
                                         r"must return one gradient per input, in order$"):
        gc.check_backward(F.dense, forgets_db, _dense_inputs())


def _tanh_net_case():
    rng = np.random.default_rng(9)
    X, y = rng.standard_normal((5, 3)), rng.integers(0, 2, size=5)
    return nn.mlp_network([3, 6, 1], activation="tanh", output="sigmoid", seed=4), X, y


def test_check_network_gradients_passes_its_arguments_on():
    net, X, y = _tanh_net_case()
    default = gc.check_network_gradients(net, X, y, num_checks=3)
    assert list(default) == list(net.parameters())
    assert all(r.name == k and r.passed and r.tol == 1e-6 for k, r in default.items())
    same = gc.check_network_gradients(net, X, y, num_checks=3, seed=0)
    other = gc.check_network_gradients(net, X, y, num_checks=3, seed=3)
    np.testing.assert_array_equal(same["0.W"].checked, default["0.W"].checked)
    assert not np.array_equal(other["0.W"].checked, default["0.W"].checked)
    coarse = gc.check_network_gradients(net, X, y, h=0.3)
    assert not all(r.passed for r in coarse.values())
    strict = gc.check_network_gradients(net, X, y, tol=1e-14)
    assert all(r.tol == 1e-14 for r in strict.values())
    assert not all(r.passed for r in strict.values())


def test_check_parameter_gradients_passes_its_arguments_on():
    net, X, y = _tanh_net_case()
    params = net.parameters()
    _, grads = net.loss_and_gradients(X, y)

    def loss_fn(p):
        return net.with_parameters(p).loss_and_gradients(X, y)[0]

    default = gc.check_parameter_gradients(loss_fn, params, grads, num_checks=3)
    assert all(r.name == k and r.passed for k, r in default.items())
    same = gc.check_parameter_gradients(loss_fn, params, grads, num_checks=3, seed=0)
    np.testing.assert_array_equal(same["0.W"].checked, default["0.W"].checked)
    coarse = gc.check_parameter_gradients(loss_fn, params, grads, h=0.3)
    assert not all(r.passed for r in coarse.values())
    strict = gc.check_parameter_gradients(loss_fn, params, grads, tol=1e-14)
    assert all(r.tol == 1e-14 for r in strict.values())


# ReLU exactly at its kink, probed with h / 10: the one-sided slopes are exactly
# 1 (right) and 0 (left), and the central difference exactly 0.5. These pin the
# three comparisons of the kink test at equality.

def test_a_re_measurement_equal_to_the_gradient_at_tol_0_agrees():
    """f has an extra slope beyond 5e-6, so the first measurement (h = 1e-5)
    is off; the second (h / 10) gives exactly 0.5, the analytic value: with
    tol = 0 that agrees, and the coordinate is not examined for a kink (with
    kink_tol = 0.6 it would be left out as one)."""
    def f(v):
        return np.sum(F.relu(v) + np.maximum(v - 5e-6, 0.0))

    result = gc.check_gradient(f, np.zeros(1), np.array([0.5]), tol=0.0, kink_tol=0.6)
    assert result.numerical[0] == 0.5
    assert result.passed and result.checked[0] and not result.kinks[0]


def test_slopes_exactly_kink_tol_apart_are_not_a_kink():
    at_kink = np.zeros(1)
    result = gc.check_gradient(_relu_sum(np.ones(1)), at_kink, np.zeros(1), kink_tol=1.0)
    assert not result.kinks[0] and not result.passed
    result = gc.check_gradient(_relu_sum(np.ones(1)), at_kink, np.zeros(1), kink_tol=0.99)
    assert result.kinks[0] and result.passed


def test_a_gradient_exactly_kink_tol_from_a_slope_is_excused():
    at_kink = np.zeros(1)
    result = gc.check_gradient(_relu_sum(np.ones(1)), at_kink, np.array([0.25]), kink_tol=0.25)
    assert result.kinks[0] and result.passed
    result = gc.check_gradient(_relu_sum(np.ones(1)), at_kink, np.array([0.26]), kink_tol=0.25)
    assert not result.kinks[0] and not result.passed


@pytest.mark.parametrize("off,excused", [(5e-3, True), (2e-2, False)])
def test_slopes_below_1e_12_are_compared_on_the_scale_of_1e_12(off, excused):
    """One-sided slopes smaller than 1e-12 are round-off-sized: closeness to
    them is measured against kink_tol * 1e-12, not against their own size."""
    G = np.array([1e-13])
    z = np.array([3e-7])
    result = gc.check_gradient(_relu_sum(G), z, G * (1 + off))
    assert result.kinks[0] is np.bool_(excused)
    assert result.passed is excused
