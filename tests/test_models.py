"""Tests of bplib.models: the lessons' hand-written networks."""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

from bplib import models, nn
from bplib.gradcheck import check_parameter_gradients, numerical_gradient

SEEDS = [0, 1, 2]
SHAPES = [dict(N=5, D=3, H=4, C=7), dict(N=1, D=6, H=2, C=3)]
SHAPE_IDS = ["N5", "N1"]
RTOL = 1e-7


def assert_matches_numerical(analytic, numerical, err_msg=""):
    np.testing.assert_allclose(analytic, numerical, rtol=1e-6, atol=1e-9,
                               err_msg=err_msg)


def randomised(params, seed):
    """The initial parameters with random biases (zero biases are a kink
    risk for ReLU and leave the bias paths untested)."""
    rng = np.random.default_rng(1000 + seed)
    out = dict(params)
    for k in ("b1", "b2"):
        out[k] = (0.5 * rng.standard_normal(np.shape(params[k])) if np.ndim(params[k])
                  else float(0.5 * rng.standard_normal()))
    return out


# --------------------------------------------------------------------------
# One ReLU neuron
# --------------------------------------------------------------------------

def test_neuron_matches_the_chapter_example():
    x, w, b = [1.0, -2.0, 3.0], [-3.0, -1.0, 2.0], 1.0
    assert models.neuron_forward(x, w, b) == 6.0
    dx, dw, db = models.neuron_backward(x, w, b, 1.0)
    np.testing.assert_array_equal(dx, [-3.0, -1.0, 2.0])
    np.testing.assert_array_equal(dw, [1.0, -2.0, 3.0])
    assert db == 1.0 and isinstance(db, float)


def test_neuron_off_passes_no_gradient():
    x, w, b = np.array([1.0, 2.0]), np.array([-1.0, -1.0]), 0.5
    assert models.neuron_forward(x, w, b) == 0.0
    dx, dw, db = models.neuron_backward(x, w, b, 3.0)
    np.testing.assert_array_equal(dx, [0.0, 0.0])
    np.testing.assert_array_equal(dw, [0.0, 0.0])
    assert db == 0.0


@pytest.mark.parametrize("seed", SEEDS + [3, 4, 5])
def test_neuron_backward_matches_autograd_and_numerical(seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(4), rng.standard_normal(4)
    b, dy = float(rng.standard_normal()), float(rng.standard_normal())
    s = x @ w + b
    if abs(s) < 1e-3:
        b += 0.1  # keep clear of the kink
    x0, w0 = x.copy(), w.copy()
    dx, dw, db = models.neuron_backward(x, w, b, dy)

    def f(x, w, b):
        return dy * anp.maximum(anp.dot(x, w) + b, 0.0)

    np.testing.assert_allclose(dx, grad(f, 0)(x, w, b), rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(dw, grad(f, 1)(x, w, b), rtol=RTOL, atol=1e-15)
    assert db == pytest.approx(grad(f, 2)(x, w, b), rel=RTOL, abs=1e-15)

    def g(x, w, b):
        return dy * models.neuron_forward(x, w, b)

    assert_matches_numerical(dx, numerical_gradient(lambda v: g(v, w, b), x))
    assert_matches_numerical(dw, numerical_gradient(lambda v: g(x, v, b), w))
    assert_matches_numerical(db, numerical_gradient(lambda v: g(x, w, float(v)), b))
    assert dx.shape == dw.shape == (4,)
    assert dx.dtype == dw.dtype == np.float64
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)


# --------------------------------------------------------------------------
# Two-layer ReLU classifier
# --------------------------------------------------------------------------

def ag_mlp_loss(p, X, y):
    H = anp.maximum(anp.dot(X, p["W1"]) + p["b1"], 0.0)
    Z = anp.dot(H, p["W2"]) + p["b2"]
    Z = Z - anp.max(Z, axis=1, keepdims=True)
    log_p = Z - anp.log(anp.sum(anp.exp(Z), axis=1, keepdims=True))
    return -anp.sum(np.eye(Z.shape[1])[y] * log_p) / len(y)


def _mlp_case(seed, s):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((s["N"], s["D"]))
    y = rng.integers(0, s["C"], size=s["N"])
    params = randomised(models.init_mlp_params(s["D"], s["H"], s["C"], seed=seed), seed)
    return X, y, params


def test_mlp_backprop_shapes_and_no_mutation():
    X, y, params = _mlp_case(0, SHAPES[0])
    before = {k: v.copy() for k, v in params.items()}
    X0 = X.copy()
    loss, grads = models.mlp_backprop(X, y, params)
    assert isinstance(loss, float)
    assert set(grads) == {"W1", "b1", "W2", "b2"}
    for k, v in params.items():
        assert grads[k].shape == v.shape and grads[k].dtype == np.float64
        np.testing.assert_array_equal(v, before[k])
    np.testing.assert_array_equal(X, X0)
    assert models.mlp_forward(X, params).shape == (5, 7)


def test_mlp_backprop_agrees_with_the_network_class():
    X, y, params = _mlp_case(1, SHAPES[0])
    net = nn.mlp_network([3, 4, 7], seed=0).with_parameters(
        {"0.W": params["W1"], "0.b": params["b1"],
         "2.W": params["W2"], "2.b": params["b2"]})
    loss, grads = models.mlp_backprop(X, y, params)
    net_loss, net_grads = net.loss_and_gradients(X, y)
    assert net_loss == pytest.approx(loss, rel=1e-14)
    for mine, theirs in [("W1", "0.W"), ("b1", "0.b"), ("W2", "2.W"), ("b2", "2.b")]:
        np.testing.assert_allclose(grads[mine], net_grads[theirs], rtol=1e-14)


def test_init_mlp_params():
    p = models.init_mlp_params(500, 40, 3, seed=0)
    assert p["W1"].shape == (500, 40) and p["W2"].shape == (40, 3)
    np.testing.assert_array_equal(p["b1"], np.zeros(40))
    np.testing.assert_array_equal(p["b2"], np.zeros(3))
    assert p["W1"].std() == pytest.approx(np.sqrt(2 / 500), rel=0.05)
    q = models.init_mlp_params(500, 40, 3, seed=0)
    np.testing.assert_array_equal(p["W1"], q["W1"])


# --------------------------------------------------------------------------
# The article's sigmoid network
# --------------------------------------------------------------------------

def ag_sigmoid(z):
    return 0.5 * (1.0 + anp.tanh(0.5 * z))


def ag_sigmoid_net_loss(p, X, y):
    H = ag_sigmoid(anp.dot(X, p["W1"]) + p["b1"])
    out = ag_sigmoid(anp.dot(H, p["W2"]) + p["b2"])
    return -anp.mean(y * anp.log(out) + (1 - y) * anp.log(1 - out))


def _sigmoid_case(seed, s):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((s["N"], s["D"]))
    y = rng.integers(0, 2, size=s["N"]).astype(float)
    params = randomised(models.init_sigmoid_net_params(s["D"], s["H"], seed=seed), seed)
    return X, y, params


def test_sigmoid_net_shapes_types_and_no_mutation():
    X, y, params = _sigmoid_case(0, SHAPES[0])
    before = {k: np.copy(v) for k, v in params.items()}
    X0, y0 = X.copy(), y.copy()
    loss, grads = models.sigmoid_net_backprop(X, y, params)
    assert isinstance(loss, float)
    assert grads["W1"].shape == (3, 4) and grads["b1"].shape == (4,)
    assert grads["W2"].shape == (4,)
    assert type(grads["b2"]) is float
    for k in ("W1", "b1", "W2"):
        assert grads[k].dtype == np.float64
        np.testing.assert_array_equal(params[k], before[k])
    assert params["b2"] == before["b2"]
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    p = models.sigmoid_net_forward(X, params)
    assert p.shape == (5,) and np.all((p > 0) & (p < 1))


def test_init_sigmoid_net_params():
    p = models.init_sigmoid_net_params(seed=0)
    assert p["W1"].shape == (2, 3) and p["b1"].shape == (3,)
    assert p["W2"].shape == (3,) and p["b2"] == 0.0


def test_sigmoid_net_confident_and_wrong_is_finite():
    """A saturated output that is wrong: large loss, finite gradient."""
    X = np.array([[1.0, 1.0], [-1.0, 2.0]])
    params = {"W1": np.full((2, 3), 50.0), "b1": np.zeros(3),
              "W2": np.full(3, 400.0), "b2": 0.0}
    y = np.array([0.0, 0.0])  # the net says 1 with certainty
    loss, grads = models.sigmoid_net_backprop(X, y, params)
    assert np.isfinite(loss) and loss > 500
    for g in grads.values():
        assert np.all(np.isfinite(g))
    assert grads["b2"] == pytest.approx(1.0)  # mean of (p - y) = 1


def test_parameter_check_of_the_sigmoid_net_handles_the_float_bias():
    X, y, params = _sigmoid_case(1, SHAPES[0])
    _, grads = models.sigmoid_net_backprop(X, y, params)
    results = check_parameter_gradients(
        lambda p: models.sigmoid_net_backprop(X, y, p)[0], params, grads)
    assert set(results) == {"W1", "b1", "W2", "b2"}
    assert results["b2"].analytic.shape == ()
    assert all(r.passed for r in results.values())
    wrong = {**grads, "b2": grads["b2"] + 0.1}
    assert not check_parameter_gradients(
        lambda p: models.sigmoid_net_backprop(X, y, p)[0], params, wrong)["b2"].passed


# --------------------------------------------------------------------------
# Both networks against autograd and against central differences
# --------------------------------------------------------------------------

NETWORKS = {  # name: (backprop, independent autograd loss, case builder)
    "mlp": (models.mlp_backprop, ag_mlp_loss, _mlp_case),
    "sigmoid_net": (models.sigmoid_net_backprop, ag_sigmoid_net_loss, _sigmoid_case),
}


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(NETWORKS))
def test_network_backprop_matches_autograd(name, seed, shape):
    backprop, ag_loss, make_case = NETWORKS[name]
    X, y, params = make_case(seed, shape)
    loss, grads = backprop(X, y, params)
    assert loss == pytest.approx(float(ag_loss(params, X, y)), rel=1e-12)
    expected = grad(ag_loss)(params, X, y)
    for k in params:
        np.testing.assert_allclose(grads[k], expected[k], rtol=RTOL, atol=1e-14,
                                   err_msg=k)


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(NETWORKS))
def test_network_backprop_matches_numerical(name, seed, shape):
    backprop, _, make_case = NETWORKS[name]
    X, y, params = make_case(seed, shape)
    _, grads = backprop(X, y, params)
    for k, v in params.items():
        numerical = numerical_gradient(lambda a, k=k: backprop(X, y, {**params, k: a})[0], v)
        assert_matches_numerical(grads[k], numerical, k)
