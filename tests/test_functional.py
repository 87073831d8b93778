"""Tests of bplib.functional: every backward against numerical gradients and
against HIPS autograd, shapes and dtypes, no mutation, and numerical stability.

The autograd forwards below are written again from the formulas, without
calling bplib, so that a mistake shared by a bplib forward and its backward
cannot pass unnoticed.
"""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

from bplib import functional as F
from bplib.gradcheck import numerical_gradient

SEEDS = [0, 1, 2]
# No two dimensions equal, so a transposed or misplaced axis cannot go unseen;
# the second one has batch size 1.
SHAPES = [dict(N=5, D=3, M=4, C=7), dict(N=1, D=6, M=2, C=3)]
SHAPE_IDS = ["N5", "N1"]

RTOL = 1e-7      # bplib vs autograd: both exact up to rounding
NUM_RTOL = 1e-6  # bplib vs central differences (error about h**2 = 1e-10)


def assert_close_to_numerical(analytic, numerical):
    """Central differences agree to ~1e-9 relative to the gradient's scale."""
    scale = max(np.max(np.abs(numerical), initial=0.0), 1.0)
    np.testing.assert_allclose(analytic, numerical, rtol=NUM_RTOL,
                               atol=1e-8 * scale)


def away_from_zero(rng, shape, margin=1e-2):
    """Standard normals pushed at least ``margin`` away from 0 (for ReLU)."""
    z = rng.standard_normal(shape)
    return np.where(z >= 0, z + margin, z - margin)


# --------------------------------------------------------------------------
# Independent forwards in autograd.numpy
# --------------------------------------------------------------------------

def ag_dense(X, W, b):
    return anp.dot(X, W) + b


def ag_relu(z):
    return anp.where(z > 0, z, 0.0 * z)


def ag_sigmoid(z):
    # sigmoid(z) = (1 + tanh(z / 2)) / 2: a different formula from bplib's.
    return 0.5 * (1.0 + anp.tanh(0.5 * z))


def ag_tanh(z):
    e2 = anp.exp(2.0 * z)  # moderate inputs only
    return (e2 - 1.0) / (e2 + 1.0)


def ag_softmax(z):
    e = anp.exp(z)  # moderate inputs only
    return e / anp.sum(e, axis=1, keepdims=True)


def ag_mse(y_pred, y_true):
    return anp.sum((y_pred - y_true) ** 2) / y_pred.size


def ag_bce(p, y):
    return -anp.sum(y * anp.log(p) + (1.0 - y) * anp.log(1.0 - p)) / p.size


def ag_bce_logits(z, y):
    p = 1.0 / (1.0 + anp.exp(-z))
    return ag_bce(p, y)


def one_hot(y, c):
    return np.eye(c)[y]


def ag_softmax_ce(logits, y):
    return -anp.sum(one_hot(y, logits.shape[1]) * anp.log(ag_softmax(logits))) / len(y)


def ag_cross_entropy(probs, y):
    return -anp.sum(one_hot(y, probs.shape[1]) * anp.log(probs)) / len(y)


# --------------------------------------------------------------------------
# Element-wise and layer backward functions: forward(*inputs) -> array,
# backward(*inputs, dout) -> tuple of gradients, one per input.
# --------------------------------------------------------------------------

def _dense_inputs(rng, s):
    return [rng.standard_normal((s["N"], s["D"])),
            rng.standard_normal((s["D"], s["M"])),
            rng.standard_normal(s["M"])]


OPS = {
    "dense": dict(
        inputs=_dense_inputs,
        forward=F.dense,
        backward=F.dense_backward,
        autograd=ag_dense,
    ),
    "relu": dict(
        inputs=lambda rng, s: [away_from_zero(rng, (s["N"], s["M"]))],
        forward=F.relu,
        backward=lambda z, dout: (F.relu_backward(z, dout),),
        autograd=ag_relu,
    ),
    "sigmoid": dict(
        inputs=lambda rng, s: [2.0 * rng.standard_normal((s["N"], s["M"]))],
        forward=F.sigmoid,
        backward=lambda z, dout: (F.sigmoid_backward(z, dout),),
        autograd=ag_sigmoid,
    ),
    "tanh": dict(
        inputs=lambda rng, s: [rng.standard_normal((s["N"], s["M"]))],
        forward=F.tanh,
        backward=lambda z, dout: (F.tanh_backward(z, dout),),
        autograd=ag_tanh,
    ),
    "softmax": dict(
        inputs=lambda rng, s: [2.0 * rng.standard_normal((s["N"], s["C"]))],
        forward=F.softmax,
        backward=lambda z, dout: (F.softmax_backward(z, dout),),
        autograd=ag_softmax,
    ),
}


def _op_case(name, seed, shape):
    op = OPS[name]
    rng = np.random.default_rng(seed)
    inputs = op["inputs"](rng, shape)
    G = rng.standard_normal(np.shape(op["forward"](*inputs)))
    return op, inputs, G


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(OPS))
def test_op_backward_matches_autograd(name, seed, shape):
    op, inputs, G = _op_case(name, seed, shape)
    grads = op["backward"](*inputs, G)
    assert len(grads) == len(inputs)
    for k, g in enumerate(grads):
        def scalar(v, k=k):
            args = list(inputs)
            args[k] = v
            return anp.sum(op["autograd"](*args) * G)
        np.testing.assert_allclose(g, grad(scalar)(inputs[k]), rtol=RTOL,
                                   atol=1e-13, err_msg=f"{name} input {k}")


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(OPS))
def test_op_backward_matches_numerical_gradient(name, seed, shape):
    op, inputs, G = _op_case(name, seed, shape)
    grads = op["backward"](*inputs, G)
    for k, g in enumerate(grads):
        def scalar(v, k=k):
            args = list(inputs)
            args[k] = v
            return np.sum(op["forward"](*args) * G)
        assert_close_to_numerical(g, numerical_gradient(scalar, inputs[k]))


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("name", list(OPS))
def test_op_backward_shapes_dtypes_and_no_mutation(name, shape):
    op, inputs, G = _op_case(name, 0, shape)
    before = [a.copy() for a in inputs]
    G_before = G.copy()
    out = op["forward"](*inputs)
    grads = op["backward"](*inputs, G)
    assert out.dtype == np.float64
    for a, g in zip(inputs, grads):
        assert g.shape == a.shape
        assert g.dtype == np.float64
    for a, b in zip(inputs, before):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(G, G_before)


def test_dense_shapes_and_bias_gradient_is_a_vector():
    rng = np.random.default_rng(0)
    X, W, b = _dense_inputs(rng, SHAPES[0])
    Z = F.dense(X, W, b)
    assert Z.shape == (5, 4)
    dX, dW, db = F.dense_backward(X, W, b, np.ones_like(Z))
    assert (dX.shape, dW.shape, db.shape) == ((5, 3), (3, 4), (4,))
    # With dZ all ones every bias gradient is the batch size.
    np.testing.assert_array_equal(db, np.full(4, 5.0))


def test_dense_backward_without_input_grad():
    rng = np.random.default_rng(1)
    X, W, b = _dense_inputs(rng, SHAPES[0])
    dZ = rng.standard_normal((5, 4))
    dX, dW, db = F.dense_backward(X, W, b, dZ, input_grad=False)
    assert dX is None
    _, dW_full, db_full = F.dense_backward(X, W, b, dZ)
    np.testing.assert_array_equal(dW, dW_full)
    np.testing.assert_array_equal(db, db_full)


def test_relu_backward_takes_slope_zero_at_the_kink():
    z = np.array([[-1.0, 0.0, 2.0]])
    np.testing.assert_array_equal(F.relu(z), [[0.0, 0.0, 2.0]])
    np.testing.assert_array_equal(F.relu_backward(z, np.full((1, 3), 3.0)),
                                  [[0.0, 0.0, 3.0]])


# --------------------------------------------------------------------------
# Losses: loss(pred, target) -> (float, gradient with respect to pred)
# --------------------------------------------------------------------------

def _probs(rng, shape):
    return rng.uniform(0.1, 0.9, size=shape)


def _labels(rng, n, c):
    return rng.integers(0, c, size=n)


LOSSES = {
    "mse": dict(
        inputs=lambda rng, s: [rng.standard_normal((s["N"], s["M"])),
                               rng.standard_normal((s["N"], s["M"]))],
        loss=F.mse_loss, autograd=ag_mse),
    "binary_cross_entropy": dict(
        inputs=lambda rng, s: [_probs(rng, (s["N"], s["M"])),
                               rng.integers(0, 2, size=(s["N"], s["M"])).astype(float)],
        loss=F.binary_cross_entropy, autograd=ag_bce),
    "binary_cross_entropy_soft_targets": dict(
        inputs=lambda rng, s: [_probs(rng, (s["N"], s["M"])),
                               rng.uniform(size=(s["N"], s["M"]))],
        loss=F.binary_cross_entropy, autograd=ag_bce),
    "binary_cross_entropy_with_logits": dict(
        inputs=lambda rng, s: [3.0 * rng.standard_normal((s["N"], s["M"])),
                               rng.integers(0, 2, size=(s["N"], s["M"])).astype(float)],
        loss=F.binary_cross_entropy_with_logits, autograd=ag_bce_logits),
    "softmax_cross_entropy": dict(
        inputs=lambda rng, s: [3.0 * rng.standard_normal((s["N"], s["C"])),
                               _labels(rng, s["N"], s["C"])],
        loss=F.softmax_cross_entropy, autograd=ag_softmax_ce),
    "cross_entropy": dict(
        inputs=lambda rng, s: [F.softmax(rng.standard_normal((s["N"], s["C"]))),
                               _labels(rng, s["N"], s["C"])],
        loss=F.cross_entropy, autograd=ag_cross_entropy),
}


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_value_and_gradient_match_autograd(name, seed, shape):
    case = LOSSES[name]
    pred, target = case["inputs"](np.random.default_rng(seed), shape)
    loss, dpred = case["loss"](pred, target)
    assert loss == pytest.approx(float(case["autograd"](pred, target)), rel=1e-12)
    expected = grad(case["autograd"])(pred, target)
    np.testing.assert_allclose(dpred, expected, rtol=RTOL, atol=1e-14)


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_gradient_matches_numerical_gradient(name, seed, shape):
    case = LOSSES[name]
    pred, target = case["inputs"](np.random.default_rng(seed), shape)
    _, dpred = case["loss"](pred, target)
    numerical = numerical_gradient(lambda v: case["loss"](v, target)[0], pred)
    assert_close_to_numerical(dpred, numerical)


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_types_shapes_and_no_mutation(name):
    case = LOSSES[name]
    pred, target = case["inputs"](np.random.default_rng(3), SHAPES[0])
    pred_before, target_before = pred.copy(), target.copy()
    loss, dpred = case["loss"](pred, target)
    assert type(loss) is float
    assert dpred.shape == pred.shape
    assert dpred.dtype == np.float64
    np.testing.assert_array_equal(pred, pred_before)
    np.testing.assert_array_equal(target, target_before)


def test_losses_are_means_over_the_batch():
    """Repeating the batch twice leaves the loss and gradient sum unchanged."""
    rng = np.random.default_rng(4)
    logits, y = 2.0 * rng.standard_normal((5, 7)), rng.integers(0, 7, size=5)
    loss, d = F.softmax_cross_entropy(logits, y)
    loss2, d2 = F.softmax_cross_entropy(np.vstack([logits, logits]),
                                        np.concatenate([y, y]))
    assert loss2 == pytest.approx(loss, rel=1e-14)
    np.testing.assert_allclose(d2[:5] * 2, d, rtol=1e-14)


def test_softmax_cross_entropy_known_value():
    logits = np.zeros((2, 4))
    loss, d = F.softmax_cross_entropy(logits, np.array([0, 3]))
    assert loss == pytest.approx(np.log(4.0), rel=1e-14)
    np.testing.assert_allclose(d, [[-0.375, 0.125, 0.125, 0.125],
                                   [0.125, 0.125, 0.125, -0.375]])


@pytest.mark.parametrize("loss_fn", [F.softmax_cross_entropy, F.cross_entropy])
@pytest.mark.parametrize("bad_y", [
    np.array([0.0, 1.0, 2.0]),        # float labels
    np.array([0, 1, 4]),              # out of range
    np.array([0, -1, 2]),             # negative
    np.array([[0], [1], [2]]),        # wrong shape
    np.array([0, 1]),                 # wrong length
], ids=["float", "too-large", "negative", "2-d", "short"])
def test_class_losses_reject_bad_labels(loss_fn, bad_y):
    probs = F.softmax(np.random.default_rng(0).standard_normal((3, 4)))
    with pytest.raises(ValueError, match="label"):
        loss_fn(probs, bad_y)


def test_class_losses_accept_every_integer_label_dtype():
    """The chapter's spiral labels are uint8; any integer dtype must do."""
    rng = np.random.default_rng(5)
    logits, y = rng.standard_normal((6, 4)), rng.integers(0, 4, size=6)
    expected = F.softmax_cross_entropy(logits, y)
    for dtype in (np.uint8, np.int32, np.uint64):
        loss, d = F.softmax_cross_entropy(logits, y.astype(dtype))
        assert loss == expected[0]
        np.testing.assert_array_equal(d, expected[1])
        assert F.cross_entropy(F.softmax(logits), y.astype(dtype))[0] == pytest.approx(
            expected[0], rel=1e-12)


@pytest.mark.parametrize("loss_fn, name", [(F.softmax_cross_entropy, "logits"),
                                           (F.cross_entropy, "probs")])
@pytest.mark.parametrize("shape", [(4,), (1, 3, 4), ()])
def test_class_losses_say_scores_must_be_one_row_per_sample(loss_fn, name, shape):
    """A single sample's scores squeezed to (C,) once met a TypeError from inside."""
    with pytest.raises(ValueError) as error:
        loss_fn(np.full(shape, 0.25), np.array([1]))
    assert str(error.value) == \
        f"expected {name} of shape (N, C), one row per sample, got shape {shape}"


def test_bad_label_message_names_the_allowed_range_and_the_values():
    with pytest.raises(ValueError, match=r"0\.\.3, got values from -2 to 1"):
        F.softmax_cross_entropy(np.zeros((3, 4)), np.array([0, -2, 1]))


@pytest.mark.parametrize("loss_fn", [F.mse_loss, F.binary_cross_entropy,
                                     F.binary_cross_entropy_with_logits])
def test_elementwise_losses_reject_mismatched_shapes(loss_fn):
    """Regression: predictions (N, 1) against targets (N,) used to broadcast
    to (N, N), averaging the loss over N*N wrong pairs and returning an
    (N, N) gradient for an (N, 1) input, without a word."""
    pred = np.full((5, 1), 0.5)
    target = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="same shape"):
        loss_fn(pred, target)


@pytest.mark.parametrize("loss_fn,names", [(F.mse_loss, "y_pred and y_true"),
                                           (F.binary_cross_entropy, "p and y"),
                                           (F.binary_cross_entropy_with_logits, "z and y")])
def test_mismatched_shapes_message_names_both_arguments_and_shapes(loss_fn, names):
    with pytest.raises(ValueError) as error:
        loss_fn(np.full((5, 1), 0.5), np.zeros(5))
    assert str(error.value) == (f"{names} must have the same shape (broadcasting them would "
                                "compare every pair), got (5, 1) and (5,)")


# --------------------------------------------------------------------------
# Softmax: Jacobian, Jacobian-vector product, probabilities
# --------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_jacobian_equals_numerical_jacobian(seed):
    z = 2.0 * np.random.default_rng(seed).standard_normal(7)
    J = F.softmax_jacobian(z)
    assert J.shape == (7, 7)
    numerical = np.stack([
        numerical_gradient(lambda v, i=i: F.softmax(v[None, :])[0, i], z)
        for i in range(7)])  # row i: d p_i / d z
    np.testing.assert_allclose(J, numerical, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(J, J.T, rtol=0, atol=1e-17)
    np.testing.assert_allclose(J.sum(axis=0), 0.0, atol=1e-15)


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_backward_is_jacobian_transpose_times_dout_per_row(seed):
    rng = np.random.default_rng(seed)
    z, dout = 2.0 * rng.standard_normal((5, 7)), rng.standard_normal((5, 7))
    dz = F.softmax_backward(z, dout)
    expected = np.stack([F.softmax_jacobian(z[n]).T @ dout[n] for n in range(5)])
    np.testing.assert_allclose(dz, expected, rtol=1e-12, atol=1e-15)


def test_softmax_rows_are_probabilities_and_shift_invariant():
    z = np.random.default_rng(5).standard_normal((5, 7))
    p = F.softmax(z)
    assert np.all(p > 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(F.softmax(z + 123.0), p, rtol=1e-12)
    np.testing.assert_allclose(F.log_softmax(z), np.log(p), rtol=1e-12)
    np.testing.assert_allclose(F.logsumexp(z), np.log(np.exp(z).sum(axis=1)),
                               rtol=1e-14)


# --------------------------------------------------------------------------
# Stability with extreme inputs (warnings are errors in this suite)
# --------------------------------------------------------------------------

def test_sigmoid_saturates_exactly_without_overflow():
    z = np.array([-5000.0, -1000.0, -800.0, 0.0, 800.0, 1000.0, 5000.0])
    s = F.sigmoid(z)
    np.testing.assert_array_equal(s, [0.0, 0.0, 0.0, 0.5, 1.0, 1.0, 1.0])
    # The true slopes are below 1e-300, i.e. 0 in float64 (0.25 at z = 0).
    np.testing.assert_array_equal(F.sigmoid_backward(z, np.ones_like(z)),
                                  [0.0, 0.0, 0.0, 0.25, 0.0, 0.0, 0.0])


def test_sigmoid_is_accurate_in_both_tails():
    z = np.array([-30.0, -10.0, 10.0, 30.0])
    expected = np.exp(np.minimum(z, 0)) / (1.0 + np.exp(-np.abs(z)))
    np.testing.assert_allclose(F.sigmoid(z), expected, rtol=1e-15)
    assert F.sigmoid(-30.0) == pytest.approx(np.exp(-30.0), rel=1e-12)


def test_sigmoid_backward_is_accurate_in_both_tails():
    """Regression: computed as s (1 - s), the slope was right at z = -40
    (4.2e-18) but exactly 0 at z = +40, where s rounds to 1.0. sigmoid' is
    even: e / (1 + e)**2 with e = exp(-|z|) in both tails."""
    z = np.array([-40.0, -20.0, 20.0, 40.0])
    e = np.exp(-np.abs(z))
    np.testing.assert_allclose(F.sigmoid_backward(z, np.ones_like(z)),
                               e / (1.0 + e) ** 2, rtol=1e-12)


def test_tanh_extremes():
    z = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    np.testing.assert_array_equal(F.tanh(z), [-1.0, -1.0, 0.0, 1.0, 1.0])
    # At |z| = 1000 the true slope, 4 exp(-2000), is 0 in float64.
    dz = F.tanh_backward(z, np.ones_like(z))
    assert np.all(np.isfinite(dz)) and np.all(dz >= 0)
    assert (dz[0], dz[2], dz[4]) == (0.0, 1.0, 0.0)


def test_tanh_backward_is_accurate_in_the_tails():
    """Bug (the tanh twin of the sigmoid one): 1 - tanh(z)**2 is exactly 0
    once tanh(z) rounds to +-1 (|z| > 19), while the true slope
    4 e / (1 + e)**2 with e = exp(-2|z|) is 1.7e-17 at |z| = 20 and 1.5e-43
    at |z| = 50, well inside float64."""
    z = np.array([-50.0, -20.0, -5.0, 5.0, 20.0, 50.0])
    e = np.exp(-2.0 * np.abs(z))
    np.testing.assert_allclose(F.tanh_backward(z, np.ones_like(z)),
                               4.0 * e / (1.0 + e) ** 2, rtol=1e-11)


def test_row_wise_functions_shift_each_row_by_its_own_maximum():
    """Rows 2000 apart: shifted by the largest logit of the whole batch, the
    second row's exps would all underflow to 0 and its log to -inf."""
    z = np.array([[1000.0, 999.0], [-1000.0, -1001.0]])
    row = np.log1p(np.exp(-1.0))  # logsumexp([0, -1])
    np.testing.assert_allclose(F.logsumexp(z), [1000.0 + row, -1000.0 + row], rtol=1e-15)
    np.testing.assert_allclose(F.log_softmax(z), [[-row, -1 - row]] * 2, atol=1e-12)
    p = 1 / (1 + np.exp(-1.0))
    np.testing.assert_allclose(F.softmax(z), [[p, 1 - p]] * 2, rtol=1e-15)
    loss, d = F.softmax_cross_entropy(z, np.array([0, 1]))
    assert loss == pytest.approx((row + 1 + row) / 2, rel=1e-14)


def test_float32_and_integer_inputs_give_float64_results():
    z32 = np.array([-2.0, 0.0, 3.0], dtype=np.float32)
    assert F.sigmoid(z32).dtype == np.float64
    np.testing.assert_allclose(F.sigmoid(z32), F.sigmoid(z32.astype(float)), rtol=1e-15)
    assert F.softmax_jacobian(z32).dtype == np.float64
    assert F.softmax_jacobian([1, 2, 3]).dtype == np.float64


def test_softmax_and_log_softmax_with_huge_logits():
    z = np.array([[1000.0, -1000.0, 0.0], [1000.0, 1000.0, 1000.0]])
    p = F.softmax(z)
    np.testing.assert_allclose(p, [[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]],
                               rtol=1e-15)
    logp = F.log_softmax(z)
    assert np.all(np.isfinite(logp))
    np.testing.assert_allclose(logp, [[0.0, -2000.0, -1000.0],
                                      [-np.log(3)] * 3], rtol=1e-15, atol=1e-12)
    np.testing.assert_allclose(F.logsumexp(z), [1000.0, 1000.0 + np.log(3)],
                               rtol=1e-15)
    np.testing.assert_allclose(F.softmax(-z), [[0.0, 1.0, 0.0], [1 / 3] * 3],
                               rtol=1e-15)
    dz = F.softmax_backward(z, np.ones_like(z))
    np.testing.assert_array_equal(np.isfinite(dz), True)


def test_softmax_cross_entropy_with_huge_logits():
    loss, d = F.softmax_cross_entropy(np.array([[1000.0, -1000.0, 0.0]]),
                                      np.array([1]))
    assert loss == pytest.approx(2000.0, rel=1e-15)
    np.testing.assert_allclose(d, [[1.0, -1.0, 0.0]], atol=1e-300)
    loss, d = F.softmax_cross_entropy(np.array([[1000.0, -1000.0, 0.0]]),
                                      np.array([0]))
    assert loss == 0.0 and np.copysign(1.0, loss) == 1.0  # 0, not -0 (lesson 7 prints it)
    np.testing.assert_array_equal(d, np.zeros((1, 3)))


def test_binary_cross_entropy_with_saturated_probabilities_is_finite():
    p = np.array([0.0, 1.0, 0.0, 1.0])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    loss, d = F.binary_cross_entropy(p, y)
    assert np.isfinite(loss) and np.all(np.isfinite(d))
    # Two right (loss ~0) and two wrong (loss -log(1e-12) each), averaged.
    assert loss == pytest.approx(2 * -np.log(1e-12) / 4, rel=1e-5)
    # Right answers: tiny push; wrong answers: a huge push the right way.
    assert abs(d[0]) < 1 and abs(d[1]) < 1
    assert d[2] < -1e10 and d[3] > 1e10


def test_binary_cross_entropy_with_logits_is_exact_at_extremes():
    z = np.array([1000.0, -1000.0, 1000.0, -1000.0])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    loss, d = F.binary_cross_entropy_with_logits(z, y)
    assert loss == 2000.0 / 4
    np.testing.assert_array_equal(d, np.array([0.0, 0.0, 1.0, -1.0]) / 4)
    loss, d = F.binary_cross_entropy_with_logits(np.array([0.0]), np.array([1.0]))
    assert loss == pytest.approx(np.log(2.0), rel=1e-15)
    np.testing.assert_allclose(d, [-0.5])


# --------------------------------------------------------------------------
# Memory layout and ownership of results
# --------------------------------------------------------------------------

def _other_layouts(a):
    """The values of a C-contiguous array as a Fortran-ordered array and as a
    strided view (every other column of a wider array)."""
    wide = np.zeros((a.shape[0], 2 * a.shape[1]))
    wide[:, ::2] = a
    return {"F": np.asfortranarray(a), "strided": wide[:, ::2]}


ROW_WISE = {
    "softmax": lambda z, d, y: F.softmax(z),
    "log_softmax": lambda z, d, y: F.log_softmax(z),
    "logsumexp": lambda z, d, y: F.logsumexp(z),
    "softmax_backward": lambda z, d, y: F.softmax_backward(z, d),
    "softmax_cross_entropy": lambda z, d, y: F.softmax_cross_entropy(z, y)[1],
    "cross_entropy": lambda z, d, y: F.cross_entropy(F.softmax(z), y)[1],
    # z as the layer's input X and d as its dZ, with W (C, C) and b (C,)
    "dense_backward": lambda z, d, y: np.concatenate(
        [g.ravel() for g in F.dense_backward(z, np.eye(z.shape[1]) + 0.5,
                                             np.zeros(z.shape[1]), d)]),
}


@pytest.mark.parametrize("name", list(ROW_WISE))
@pytest.mark.parametrize("shape", [(5, 3), (4, 50), (1, 7)])
def test_row_wise_functions_give_the_same_result_for_every_memory_layout(name, shape):
    """The row reductions and the label indexing read arrays by position, so a
    transposed or sliced input must give what its contiguous copy gives (up to
    the order in which the sums add)."""
    rng = np.random.default_rng(6)
    z = 3.0 * rng.standard_normal(shape)
    dout = rng.standard_normal(shape)
    y = rng.integers(0, shape[1], size=shape[0])
    expected = ROW_WISE[name](z, dout, y)
    zs, douts = _other_layouts(z), _other_layouts(dout)
    for layout in zs:
        np.testing.assert_allclose(ROW_WISE[name](zs[layout], douts[layout], y), expected,
                                   rtol=1e-14, atol=1e-15, err_msg=layout)


def test_results_are_the_callers_own_arrays():
    """What a function returns must be the caller's own array to change at
    will: changing it changes nothing the next call returns."""
    rng = np.random.default_rng(8)
    X, W, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), np.zeros(2)
    dZ = rng.standard_normal((4, 2))
    logits, y = rng.standard_normal((4, 2)), np.array([0, 1, 1, 0])
    first = [F.dense_backward(X, W, b, dZ)[2], F.softmax(logits),
             F.logsumexp(logits), F.softmax_cross_entropy(logits, y)[1]]
    expected = [a.copy() for a in first]
    for a in first:
        a += 100.0  # scribble over every result
    again = [F.dense_backward(X, W, b, dZ)[2], F.softmax(logits),
             F.logsumexp(logits), F.softmax_cross_entropy(logits, y)[1]]
    for a, e in zip(again, expected):
        np.testing.assert_array_equal(a, e)


# --------------------------------------------------------------------------
# Inputs the lessons pass: integer arrays, lists, probabilities of exactly 0
# --------------------------------------------------------------------------

def test_dense_accepts_integer_arrays():
    X = np.array([[1, 2], [3, -4]])
    W = np.array([[2, 0, 1], [1, -1, 3]])
    Z = F.dense(X, W, np.array([0.5, 0.0, -1.0]))
    assert Z.dtype == np.float64
    np.testing.assert_array_equal(Z, [[4.5, -2.0, 6.0], [2.5, 4.0, -10.0]])


def test_sigmoid_accepts_a_list():
    np.testing.assert_array_equal(F.sigmoid([0.0, 1000.0, -1000.0]), [0.5, 1.0, 0.0])


def test_cross_entropy_clips_a_zero_probability_at_eps():
    """A probability of exactly 0 on the true class gives the large but
    finite loss -log(eps), not infinity, and a finite gradient."""
    probs = np.array([[0.0, 1.0], [0.5, 0.5]])
    loss, d = F.cross_entropy(probs, np.array([0, 1]))
    assert loss == pytest.approx((-np.log(1e-12) - np.log(0.5)) / 2, rel=1e-14)
    np.testing.assert_allclose(d, [[-1.0 / (2 * 1e-12), 0.0], [0.0, -1.0]], rtol=1e-14)
    loss, _ = F.cross_entropy(probs, np.array([0, 1]), eps=1e-3)
    assert loss == pytest.approx((-np.log(1e-3) - np.log(0.5)) / 2, rel=1e-14)
