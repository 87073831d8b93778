"""The references are right: checked against HIPS autograd and hand-worked values,
not against themselves (test_grading.py grades each reference with its own check,
which cannot catch a wrong reference)."""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

from bplib.grading import EXERCISES, make_trials, reference
from bplib.grading.exercises import lesson02

SEEDS = [None, 0, 1, 2]


def _close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def _backward_by_autograd(forward, inputs, dout, k):
    """d sum(forward(inputs) * dout) / d inputs[k], by autograd."""
    def scalar(v):
        args = list(inputs)
        args[k] = v
        return anp.sum(forward(*args) * dout)
    return grad(scalar)(inputs[k])


def _elu(z, alpha=1.0):
    return anp.where(z > 0, z, alpha * (anp.exp(anp.minimum(z, 0.0)) - 1))


def _gelu(z):
    return 0.5 * z * (1 + anp.tanh(anp.sqrt(2 / anp.pi) * (z + 0.044715 * z ** 3)))


@pytest.mark.parametrize("seed", SEEDS)
def test_elu_and_gelu_backward_agree_with_autograd(seed):
    for trial in make_trials("elu_backward", seed):
        z, dout, *alpha = trial.args
        _close(reference("elu_backward")(z, dout, *alpha),
               _backward_by_autograd(lambda v: _elu(v, *alpha), [z], dout, 0))
    for trial in make_trials("gelu_backward", seed):
        z, dout = trial.args
        if trial.stability:  # autograd's tanh derivative overflows (cosh) out there
            z = z[np.abs(z) < 20]
            dout = dout[np.abs(trial.args[0]) < 20]
        _close(reference("gelu_backward")(z, dout), _backward_by_autograd(_gelu, [z], dout, 0))


def _batchnorm(x, gamma, beta, eps=1e-5):
    mean = anp.mean(x, axis=0)
    var = anp.mean((x - mean) ** 2, axis=0)
    return gamma * (x - mean) / anp.sqrt(var + eps) + beta


@pytest.mark.parametrize("seed", SEEDS)
def test_batchnorm_backward_agrees_with_autograd(seed):
    for trial in make_trials("batchnorm_backward", seed):
        x, gamma, beta, dout, *eps = trial.args
        got = reference("batchnorm_backward")(x, gamma, beta, dout, *eps)
        forward = lambda x, g, b: _batchnorm(x, g, b, *eps)  # noqa: E731
        for k in range(3):
            _close(got[k], _backward_by_autograd(forward, [x, gamma, beta], dout, k))


def _deep_loss(flat, X, y, sizes):
    A, k = X, 0
    for l, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = anp.reshape(flat[k:k + d_in * d_out], (d_in, d_out))
        k += d_in * d_out
        b = flat[k:k + d_out]
        k += d_out
        Z = anp.dot(A, W) + b
        A = Z if l == len(sizes) - 2 else anp.maximum(Z, 0.0)
    m = anp.max(A, axis=1, keepdims=True)
    log_p = A - m - anp.log(anp.sum(anp.exp(A - m), axis=1, keepdims=True))
    return -anp.mean(log_p[anp.arange(len(y)), y])


@pytest.mark.parametrize("seed", SEEDS)
def test_deep_backprop_agrees_with_autograd(seed):
    for trial in make_trials("deep_backprop", seed):
        X, y, params = trial.args
        sizes = [params[0][0].shape[0]] + [W.shape[1] for W, _ in params]
        flat = np.concatenate([np.concatenate([W.ravel(), b]) for W, b in params])
        loss, grads = reference("deep_backprop")(X, y, params)
        assert isinstance(loss, float)
        assert loss == pytest.approx(float(_deep_loss(flat, X, y, sizes)), rel=1e-12)
        mine = np.concatenate([np.concatenate([dW.ravel(), db]) for dW, db in grads])
        _close(mine, grad(_deep_loss)(flat, X, y, sizes))


def test_sgd_momentum_step_by_hand():
    params, grads = {"w": np.array([1.0])}, {"w": np.array([2.0])}
    velocity = {"w": np.array([0.5])}
    new_params, new_velocity = reference("sgd_momentum_step")(params, grads, velocity, 0.1, 0.9)
    _close(new_velocity["w"], [0.25])   # 0.9 * 0.5 - 0.1 * 2
    _close(new_params["w"], [1.25])     # 1 + 0.25
    assert params["w"][0] == 1.0 and velocity["w"][0] == 0.5


def _graph_by_autograd(graph):
    """Every node's value, and d(last node)/d(leaf) for each leaf, by autograd."""
    leaves, ops = graph
    functions = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
                 "/": lambda a, b: a / b, "**": lambda a, k: a ** k, "neg": lambda a: -a,
                 "tanh": anp.tanh, "exp": anp.exp, "relu": lambda a: anp.maximum(a, 0.0)}

    def out(x):
        values = [x[i] for i in range(len(leaves))]
        for op in ops:
            operands = [values[o[1]] if isinstance(o, tuple) else o for o in op[1:]]
            values.append(functions[op[0]](*operands))
        return values[-1]
    return grad(out)(np.array(leaves, dtype=float))


@pytest.mark.parametrize("seed", SEEDS)
def test_the_value_reference_agrees_with_autograd(seed):
    for trial in make_trials("value", seed):
        graph = trial.args[0]
        data, grads = lesson02.drive_value(reference("value"), graph)
        graph = lesson02.parse(graph)
        _close(data, lesson02.evaluate(graph))
        n_leaves = len(graph[0])
        _close(grads[:n_leaves], _graph_by_autograd(graph))
        assert grads[-1] == 1.0


def test_the_value_reference_by_hand():
    a = reference("value")(3.0)
    b = (a + 1.0) * a
    b.backward()
    assert (b.data, a.grad) == (12.0, 7.0)  # d/da (a + 1) a = 2a + 1, from two paths


def test_the_dense_layer_reference_agrees_with_dense_backward():
    from bplib import functional as F
    for trial in make_trials("dense_layer"):
        W, b, pairs = trial.args
        outputs = EXERCISES["dense_layer"].expected(trial)
        for k, (X, dZ) in enumerate(pairs):
            Z, dX, dW, db = outputs[4 * k: 4 * k + 4]
            _close(Z, X @ W + b)
            for mine, right in zip((dX, dW, db), F.dense_backward(X, W, b, dZ)):
                _close(mine, right)


# --------------------------------------------------------------------------
# Known values of the existing exercises' references
# --------------------------------------------------------------------------

def test_known_values_of_the_references():
    ref = reference
    _close(ref("relu_backward")(np.array([-1.0, 0.0, 2.0]), np.array([5.0, 6.0, 7.0])),
           [0.0, 0.0, 7.0])
    _close(ref("sigmoid_backward")(np.array([0.0]), np.array([2.0])), [0.5])   # 2 * 1/4
    _close(ref("tanh_backward")(np.array([0.0]), np.array([3.0])), [3.0])
    dx, dw, db = ref("neuron_backward")(np.array([1.0, -2.0, 3.0]),
                                        np.array([-3.0, -1.0, 2.0]), 1.0, 1.0)
    _close(dx, [-3.0, -1.0, 2.0]), _close(dw, [1.0, -2.0, 3.0])
    assert db == 1.0
    loss, dp = ref("mse_loss")(np.array([1.0, 3.0]), np.array([0.0, 0.0]))
    assert loss == 5.0
    _close(dp, [1.0, 3.0])  # 2 (p - t) / 2
    loss, dz = ref("softmax_cross_entropy")(np.zeros((2, 2)), np.array([0, 1]))
    assert loss == pytest.approx(np.log(2.0))
    _close(dz, [[-0.25, 0.25], [0.25, -0.25]])  # (1/2 - onehot) / 2
    loss, dp = ref("binary_cross_entropy")(np.array([0.5, 0.5]), np.array([1.0, 0.0]))
    assert loss == pytest.approx(np.log(2.0))
    _close(dp, [-1.0, 1.0])  # (p - y) / (p (1 - p)) / 2
    assert ref("relative_error")(np.array([1.0, -2.0]), np.array([1.0, -1.0])) == \
        pytest.approx(1 / 3)
    assert ref("relative_error")(np.zeros(3), np.zeros(3)) == 0.0
    _close(ref("numerical_gradient")(lambda v: float(np.sum(v ** 2)), np.array([1.0, -2.0])),
           [2.0, -4.0])
    dX, dW, db = ref("dense_backward")(np.array([[1.0, 2.0]]), np.eye(2), np.zeros(2),
                                       np.array([[3.0, 4.0]]))
    _close(dX, [[3.0, 4.0]]), _close(dW, [[3.0, 4.0], [6.0, 8.0]]), _close(db, [3.0, 4.0])


def _softmax(z):
    e = anp.exp(z - anp.max(z, axis=1, keepdims=True))
    return e / anp.sum(e, axis=1, keepdims=True)


def test_the_network_references_agree_with_autograd():
    def mlp_loss(p, X, y):
        H = anp.maximum(anp.dot(X, p["W1"]) + p["b1"], 0.0)
        logp = anp.log(_softmax(anp.dot(H, p["W2"]) + p["b2"]))
        return -anp.mean(logp[anp.arange(len(y)), y])

    def tiny_loss(p, x, t):
        s = lambda z: 1 / (1 + anp.exp(-z))  # noqa: E731
        y = s(p["w2"] * s(p["w1"] * x + p["b1"]) + p["b2"])
        return anp.mean(0.5 * (y - t) ** 2)

    for exercise_id, loss_fn in [("mlp_backprop", mlp_loss), ("tiny_net_backprop", tiny_loss)]:
        for trial in make_trials(exercise_id):
            first, second, params = trial.args
            loss, grads = reference(exercise_id)(first, second, params)
            assert loss == pytest.approx(float(loss_fn(params, first, second)), rel=1e-12)
            for name, g in grad(loss_fn)(params, first, second).items():
                _close(grads[name], g)
    for trial in make_trials("softmax_backward"):
        z, dout = trial.args
        if not trial.stability:
            _close(reference("softmax_backward")(z, dout),
                   _backward_by_autograd(_softmax, [z], dout, 0))


def test_the_digits_reference_trains_as_its_docstring_says():
    """A 64-64-10 ReLU network (He initialisation, zero biases, generator seeded 0),
    20 epochs of shuffled mini-batches of 64, SGD with momentum (lr 0.1, mu 0.9):
    written again here from deep_backprop and sgd_momentum_step, the lesson 9
    reference, on the first 300 training digits."""
    from bplib.grading.exercises.lesson09 import sgd_momentum_step
    from bplib.grading.exercises.lesson10 import deep_backprop
    from bplib.grading.exercises.lesson12 import train

    X, y = make_trials("digits_network")[0].args
    X, y = X[:300], y[:300]
    rng = np.random.default_rng(0)
    sizes = (64, 64, 10)
    params = {}
    for l, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        params[f"W{l}"] = rng.standard_normal((d_in, d_out)) * np.sqrt(2.0 / d_in)
        params[f"b{l}"] = np.zeros(d_out)
    velocity = {name: np.zeros_like(value) for name, value in params.items()}
    for epoch in range(20):
        order = rng.permutation(len(X))
        for start in range(0, len(X), 64):
            rows = order[start:start + 64]
            pairs = [(params["W0"], params["b0"]), (params["W1"], params["b1"])]
            _, grads = deep_backprop(X[rows], y[rows], pairs)
            grads = {"W0": grads[0][0], "b0": grads[0][1], "W1": grads[1][0], "b1": grads[1][1]}
            params, velocity = sgd_momentum_step(params, grads, velocity, 0.1, 0.9)
    trained = train(X, y)
    for l, (W, b) in enumerate(trained):
        assert W.dtype == b.dtype == np.float64
        np.testing.assert_allclose(W, params[f"W{l}"], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(b, params[f"b{l}"], rtol=1e-10, atol=1e-12)
