"""Tests of bplib.nn: layers, losses, Network gradients, training and checks."""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

from bplib import nn
from bplib.datasets import make_circles, make_regression_1d, make_spiral, make_xor
from bplib.gradcheck import numerical_gradient

SEEDS = [0, 1, 2]
RTOL = 1e-7


# --------------------------------------------------------------------------
# Independent autograd forwards (no bplib inside)
# --------------------------------------------------------------------------

AG_ACT = {
    "relu": lambda z: anp.where(z > 0, z, 0.0 * z),
    "sigmoid": lambda z: 0.5 * (1.0 + anp.tanh(0.5 * z)),
    "tanh": anp.tanh,
}


def ag_softmax(z):
    e = anp.exp(z)
    return e / anp.sum(e, axis=1, keepdims=True)


def ag_loss(kind, out, y):
    n = out.shape[0]
    if kind in ("softmax", "probs"):
        p = ag_softmax(out) if kind == "softmax" else out
        return -anp.sum(np.eye(out.shape[1])[y] * anp.log(p)) / n
    if kind in ("sigmoid", "sigmoid-probs"):
        p = AG_ACT["sigmoid"](out) if kind == "sigmoid" else out
        t = y.reshape(out.shape)
        return -anp.sum(t * anp.log(p) + (1 - t) * anp.log(1 - p)) / n
    return anp.sum((out - y.reshape(out.shape)) ** 2) / out.size  # linear


def ag_network_loss(params, X, y, n_dense, activation, kind, final=None):
    """Dense layers at indices 0, 2, 4, ... with an activation between them
    (and ``final`` after the last one, for the unfused output layers)."""
    A = X
    for k in range(n_dense):
        A = anp.dot(A, params[f"{2 * k}.W"]) + params[f"{2 * k}.b"]
        if k < n_dense - 1:
            A = AG_ACT[activation](A)
    if final == "softmax":
        A = ag_softmax(A)
    elif final == "sigmoid":
        A = AG_ACT["sigmoid"](A)
    return ag_loss(kind, A, y)


# --------------------------------------------------------------------------
# Networks under test. Shapes: N samples, D inputs, hidden 4 and 6, C = 7.
# --------------------------------------------------------------------------

D_IN, H1, H2, C = 3, 4, 6, 7


def make_case(config, seed, n):
    net, X, y, spec = _make_case(config, seed, n)
    # Random biases: with zero biases a sample whose ReLUs are all off puts
    # the next pre-activation exactly on the kink, where central differences
    # see half the slope.
    rng = np.random.default_rng(200 + seed)
    for k, v in net.parameters().items():
        if k.endswith(".b"):
            v[...] = 0.5 * rng.standard_normal(v.shape)
    return net, X, y, spec


def _make_case(config, seed, n):
    rng = np.random.default_rng(100 + seed)
    X = rng.standard_normal((n, D_IN))
    if config in ("relu-softmax", "tanh-softmax", "sigmoid-softmax"):
        act = config.split("-")[0]
        net = nn.mlp_network([D_IN, H1, H2, C], activation=act, output="softmax", seed=seed)
        return net, X, rng.integers(0, C, size=n), dict(activation=act, kind="softmax")
    if config in ("tanh-sigmoid", "relu-sigmoid"):
        act = config.split("-")[0]
        net = nn.mlp_network([D_IN, H1, H2, 1], activation=act, output="sigmoid", seed=seed)
        return net, X, rng.integers(0, 2, size=n), dict(activation=act, kind="sigmoid")
    if config == "sigmoid-linear":
        net = nn.mlp_network([D_IN, H1, H2, 2], activation="sigmoid", output="linear",
                     seed=seed)
        return (net, X, rng.standard_normal((n, 2)),
                dict(activation="sigmoid", kind="linear"))
    if config == "softmax-layer":
        r = np.random.default_rng(seed)
        net = nn.Network([nn.Dense(D_IN, H1, rng=r), nn.Tanh(),
                          nn.Dense(H1, C, rng=r), nn.Softmax()], nn.CrossEntropy())
        return (net, X, rng.integers(0, C, size=n),
                dict(activation="tanh", kind="probs", final="softmax"))
    if config == "sigmoid-layer":
        r = np.random.default_rng(seed)
        net = nn.Network([nn.Dense(D_IN, H1, rng=r), nn.ReLU(),
                          nn.Dense(H1, 1, rng=r), nn.Sigmoid()],
                         nn.BinaryCrossEntropy())
        return (net, X, rng.integers(0, 2, size=n),
                dict(activation="relu", kind="sigmoid-probs", final="sigmoid"))
    raise AssertionError(config)


CONFIGS = ["relu-softmax", "tanh-softmax", "sigmoid-softmax", "tanh-sigmoid",
           "relu-sigmoid", "sigmoid-linear", "softmax-layer", "sigmoid-layer"]


def _n_dense(net):
    return sum(isinstance(layer, nn.Dense) for layer in net.layers)


@pytest.mark.parametrize("n", [5, 1], ids=["N5", "N1"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("config", CONFIGS)
def test_network_gradients_match_autograd(config, seed, n):
    net, X, y, spec = make_case(config, seed, n)
    params = net.parameters()
    loss, grads = net.loss_and_gradients(X, y)

    def f(p):
        return ag_network_loss(p, X, y, _n_dense(net), **spec)

    assert loss == pytest.approx(float(f(params)), rel=1e-12)
    expected = grad(f)(params)
    assert set(grads) == set(params)
    for k in params:
        np.testing.assert_allclose(grads[k], expected[k], rtol=RTOL, atol=1e-14,
                                   err_msg=k)


@pytest.mark.parametrize("n", [5, 1], ids=["N5", "N1"])
@pytest.mark.parametrize("config", CONFIGS)
def test_network_gradients_match_numerical_gradient(config, n):
    net, X, y, _ = make_case(config, 0, n)
    params = net.parameters()
    _, grads = net.loss_and_gradients(X, y)
    for k, value in params.items():
        numerical = numerical_gradient(
            lambda v, k=k: net.with_parameters({k: v}).loss_and_gradients(X, y)[0],
            value)
        np.testing.assert_allclose(grads[k], numerical, rtol=1e-6, atol=1e-9,
                                   err_msg=k)


@pytest.mark.parametrize("config", CONFIGS)
def test_network_gradients_shapes_dtypes_and_no_mutation(config):
    net, X, y, _ = make_case(config, 0, 5)
    params = net.parameters()
    before = {k: v.copy() for k, v in params.items()}
    X0, y0 = X.copy(), y.copy()
    loss, grads = net.loss_and_gradients(X, y)
    assert isinstance(loss, float)
    for k, v in params.items():
        assert grads[k].shape == v.shape
        assert grads[k].dtype == np.float64
        np.testing.assert_array_equal(v, before[k])
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


# --------------------------------------------------------------------------
# Layers on their own
# --------------------------------------------------------------------------

@pytest.mark.parametrize("n", [5, 1], ids=["N5", "N1"])
@pytest.mark.parametrize("seed", SEEDS)
def test_dense_layer_forward_and_backward(seed, n):
    rng = np.random.default_rng(seed)
    layer = nn.Dense(3, 4, rng=seed)
    layer.params["b"] = rng.standard_normal(4)
    X, dZ = rng.standard_normal((n, 3)), rng.standard_normal((n, 4))
    Z, cache = layer.forward(X)
    W, b = layer.params["W"], layer.params["b"]
    np.testing.assert_allclose(Z, X @ W + b, rtol=1e-15)
    dX, g = layer.backward(cache, dZ)
    assert set(g) == {"W", "b"}
    assert (dX.shape, g["W"].shape, g["b"].shape) == ((n, 3), (3, 4), (4,))

    def f(X, W, b):
        return anp.sum((anp.dot(X, W) + b) * dZ)

    np.testing.assert_allclose(dX, grad(f, 0)(X, W, b), rtol=RTOL)
    np.testing.assert_allclose(g["W"], grad(f, 1)(X, W, b), rtol=RTOL)
    np.testing.assert_allclose(g["b"], grad(f, 2)(X, W, b), rtol=RTOL)

    def with_param(name, value):
        clone = nn.Dense(3, 4)
        clone.params = {**layer.params, name: value}
        return clone

    num_X = numerical_gradient(lambda v: np.sum(layer.forward(v)[0] * dZ), X)
    num_W = numerical_gradient(lambda v: np.sum(with_param("W", v).forward(X)[0] * dZ), W)
    num_b = numerical_gradient(lambda v: np.sum(with_param("b", v).forward(X)[0] * dZ), b)
    for analytic, numerical in [(dX, num_X), (g["W"], num_W), (g["b"], num_b)]:
        np.testing.assert_allclose(analytic, numerical, rtol=1e-6, atol=1e-9)

    dX_none, g2 = layer.backward(cache, dZ, input_grad=False)
    assert dX_none is None
    np.testing.assert_array_equal(g2["W"], g["W"])


@pytest.mark.parametrize("n", [5, 1], ids=["N5", "N1"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("layer_cls,act", [(nn.ReLU, "relu"), (nn.Sigmoid, "sigmoid"),
                                           (nn.Tanh, "tanh"), (nn.Softmax, "softmax")])
def test_activation_layers_forward_and_backward(layer_cls, act, seed, n):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 7))
    z = np.where(z >= 0, z + 1e-2, z - 1e-2)  # away from ReLU's kink
    dout = rng.standard_normal((n, 7))
    z0, dout0 = z.copy(), dout.copy()
    layer = layer_cls()
    ag = ag_softmax if act == "softmax" else AG_ACT[act]
    out, cache = layer.forward(z)
    np.testing.assert_allclose(out, ag(z), rtol=1e-12, atol=1e-15)
    dz, g = layer.backward(cache, dout)
    assert g == {} and layer.params == {}
    assert dz.shape == z.shape and dz.dtype == np.float64
    np.testing.assert_allclose(dz, grad(lambda v: anp.sum(ag(v) * dout))(z),
                               rtol=RTOL, atol=1e-15)
    numerical = numerical_gradient(lambda v: np.sum(layer.forward(v)[0] * dout), z)
    np.testing.assert_allclose(dz, numerical, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(z, z0)
    np.testing.assert_array_equal(dout, dout0)


def test_layers_keep_no_state_between_batches():
    """Two forwards, then the two backwards: each uses its own cache."""
    rng = np.random.default_rng(0)
    net = nn.mlp_network([3, 4, 7], seed=0)
    Xa, Xb = rng.standard_normal((5, 3)), rng.standard_normal((2, 3))
    ya, yb = rng.integers(0, 7, size=5), rng.integers(0, 7, size=2)
    _, ga = net.loss_and_gradients(Xa, ya)
    _, gb = net.loss_and_gradients(Xb, yb)
    out_a, caches_a = net.forward(Xa)
    out_b, caches_b = net.forward(Xb)
    ga2 = net.backward(caches_a, net.loss(out_a, ya)[1])
    gb2 = net.backward(caches_b, net.loss(out_b, yb)[1])
    for k in ga:
        np.testing.assert_array_equal(ga2[k], ga[k])
        np.testing.assert_array_equal(gb2[k], gb[k])


def test_dense_initialisation_scale_and_seeding():
    layer = nn.Dense(2000, 50, rng=0, gain=2.0)
    assert layer.params["W"].shape == (2000, 50)
    assert layer.params["W"].std() == pytest.approx(np.sqrt(2 / 2000), rel=0.03)
    np.testing.assert_array_equal(layer.params["b"], np.zeros(50))
    assert nn.Dense(2000, 50, rng=0, gain=1.0).params["W"].std() == pytest.approx(
        np.sqrt(1 / 2000), rel=0.03)
    # mlp_network: He (gain 2) before ReLUs, gain 1 for the output layer.
    net = nn.mlp_network([1000, 2000, 10], seed=0)
    assert net.parameters()["0.W"].std() == pytest.approx(np.sqrt(2 / 1000), rel=0.03)
    assert net.parameters()["2.W"].std() == pytest.approx(np.sqrt(1 / 2000), rel=0.03)
    tanh_net = nn.mlp_network([1000, 20, 10], activation="tanh", seed=0)
    assert tanh_net.parameters()["0.W"].std() == pytest.approx(np.sqrt(1 / 1000),
                                                               rel=0.03)
    np.testing.assert_array_equal(nn.Dense(3, 4, rng=5).params["W"],
                                  nn.Dense(3, 4, rng=5).params["W"])


def test_mlp_structure_and_parameter_names():
    net = nn.mlp_network([2, 64, 32, 3], activation="tanh", seed=0)
    assert [type(layer) for layer in net.layers] == [
        nn.Dense, nn.Tanh, nn.Dense, nn.Tanh, nn.Dense]
    assert isinstance(net.loss, nn.SoftmaxCrossEntropy)
    assert list(net.parameters()) == ["0.W", "0.b", "2.W", "2.b", "4.W", "4.b"]
    assert net.parameters()["2.W"].shape == (64, 32)
    assert repr(net) == ("Network([Dense(2, 64), Tanh(), Dense(64, 32), Tanh(), "
                         "Dense(32, 3)], SoftmaxCrossEntropy())")
    assert isinstance(nn.mlp_network([2, 1], output="sigmoid").loss,
                      nn.BinaryCrossEntropyWithLogits)
    assert isinstance(nn.mlp_network([1, 1], output="linear").loss, nn.MSELoss)
    same = nn.mlp_network([2, 64, 32, 3], activation="tanh", seed=0).parameters()
    for k, v in net.parameters().items():
        np.testing.assert_array_equal(v, same[k])


@pytest.mark.parametrize("kwargs", [dict(sizes=[2]), dict(sizes=[2, 3], activation="elu"),
                                    dict(sizes=[2, 3], output="softplus")])
def test_mlp_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="sizes needs|activation must be one of"):
        nn.mlp_network(**kwargs)


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------

def test_learns_the_spiral():
    X, y = make_spiral()
    net = nn.mlp_network([2, 64, 3], seed=0)
    history = net.fit(X, y, epochs=100, lr=0.5, momentum=0.9)
    assert net.accuracy(X, y) >= 0.97
    assert history.accuracy[-1] == net.accuracy(X, y)
    assert history.loss[-1] < 0.1 * history.loss[0]


def test_learns_the_spiral_with_mini_batches():
    X, y = make_spiral()
    net = nn.mlp_network([2, 64, 3], seed=0)
    net.fit(X, y, epochs=30, lr=0.1, momentum=0.9, batch_size=32, seed=0)
    assert net.accuracy(X, y) >= 0.95


@pytest.mark.parametrize("batch_size", [None, 16], ids=["full-batch", "mini-batch"])
def test_learns_xor(batch_size):
    X, y = make_xor(400, seed=0, spread=0.1)  # Bayes accuracy about 0.99
    net = nn.mlp_network([2, 8, 1], activation="tanh", output="sigmoid", seed=0)
    epochs, lr = (200, 1.0) if batch_size is None else (10, 0.1)
    net.fit(X, y, epochs=epochs, lr=lr, momentum=0.9, batch_size=batch_size)
    assert net.accuracy(X, y) >= 0.97
    X_test, y_test = make_xor(400, seed=1, spread=0.1)
    assert net.accuracy(X_test, y_test) >= 0.96


@pytest.mark.parametrize("batch_size", [None, 20], ids=["full-batch", "mini-batch"])
def test_learns_circles(batch_size):
    X, y = make_circles(400, seed=0)
    net = nn.mlp_network([2, 8, 1], activation="tanh", output="sigmoid", seed=0)
    epochs, lr = (200, 1.0) if batch_size is None else (20, 0.1)
    net.fit(X, y, epochs=epochs, lr=lr, momentum=0.9, batch_size=batch_size)
    assert net.accuracy(X, y) >= 0.98


def test_regression_fits_a_curve():
    X, y = make_regression_1d(200, seed=0, noise=0.1)
    net = nn.mlp_network([1, 16, 1], activation="tanh", output="linear", seed=0)
    history = net.fit(X, y, epochs=300, lr=0.2, momentum=0.9, snapshot_every=299)
    residual = np.mean((net.predict(X) - y) ** 2)
    assert residual < 0.02  # noise variance 0.01
    assert history.accuracy == []
    # The last epoch's loss is the loss before its update: at epoch 299's parameters.
    (epoch, params), = history.snapshots
    before_last = net.with_parameters(params)
    assert epoch == 299
    assert history.loss[-1] == pytest.approx(before_last.loss(before_last.output(X), y)[0],
                                             rel=1e-12)


def _toy():
    rng = np.random.default_rng(9)
    return rng.standard_normal((6, 3)), rng.integers(0, 4, size=6)


def test_momentum_zero_is_plain_gradient_descent():
    X, y = _toy()
    net = nn.mlp_network([3, 5, 4], seed=1)
    p0 = {k: v.copy() for k, v in net.parameters().items()}
    loss0, g0 = net.loss_and_gradients(X, y)
    history = net.fit(X, y, epochs=1, lr=0.3)
    for k, v in net.parameters().items():
        np.testing.assert_allclose(v, p0[k] - 0.3 * g0[k], rtol=1e-14, atol=1e-15)
    assert history.loss == [loss0]


def test_momentum_two_steps_by_hand():
    X, y = _toy()
    net = nn.mlp_network([3, 5, 4], seed=1)
    lr, m = 0.3, 0.8
    p0 = {k: v.copy() for k, v in net.parameters().items()}
    _, g1 = net.loss_and_gradients(X, y)
    v1 = {k: -lr * g1[k] for k in p0}
    p1 = {k: p0[k] + v1[k] for k in p0}
    _, g2 = net.with_parameters(p1).loss_and_gradients(X, y)
    p2 = {k: p1[k] + m * v1[k] - lr * g2[k] for k in p0}
    net.fit(X, y, epochs=2, lr=lr, momentum=m)
    for k, v in net.parameters().items():
        np.testing.assert_allclose(v, p2[k], rtol=1e-13, atol=1e-15)


def test_sgd_updates_in_place_and_keeps_velocity():
    params = {"a": np.array([1.0, 2.0])}
    arr = params["a"]
    opt = nn.SGD(0.5, momentum=0.5)
    opt.step(params, {"a": np.array([1.0, -1.0])})
    assert params["a"] is arr
    np.testing.assert_allclose(arr, [0.5, 2.5])
    opt.step(params, {"a": np.array([1.0, -1.0])})  # v = 0.5 * v - 0.5 * g
    np.testing.assert_allclose(arr, [-0.25, 3.25])
    plain = {"a": np.array([1.0, 2.0])}
    plain_sgd = nn.SGD(0.5)  # momentum 0 by default: two plain steps
    plain_sgd.step(plain, {"a": np.array([1.0, -1.0])})
    np.testing.assert_allclose(plain["a"], [0.5, 2.5])
    plain_sgd.step(plain, {"a": np.array([1.0, -1.0])})
    np.testing.assert_allclose(plain["a"], [0.0, 3.0])


def test_mini_batches_visit_every_sample_once_per_epoch_in_a_new_order():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((60, 2)), np.arange(60) % 3  # distinct rows
    net = nn.mlp_network([2, 8, 3], seed=0)
    batches = []
    original = net.forward

    def recording(Xb):
        if len(Xb) < len(X):  # a training batch, not the accuracy pass over all of X
            batches.append(Xb.copy())
        return original(Xb)

    net.forward = recording
    net.fit(X, y, epochs=2, lr=0.1, batch_size=25, seed=0)
    assert [len(b) for b in batches] == [25, 25, 10] * 2
    row = {tuple(x): i for i, x in enumerate(X)}
    epochs = [[row[tuple(x)] for b in batches[e * 3:(e + 1) * 3] for x in b]
              for e in range(2)]
    for order in epochs:
        assert sorted(order) == list(range(60))
    assert epochs[0] != epochs[1]
    assert epochs[0] != list(range(60))


def test_fit_is_deterministic_for_a_seed():
    X, y = make_spiral(30)

    def train(seed):
        net = nn.mlp_network([2, 16, 3], seed=0)
        net.fit(X, y, epochs=5, lr=0.2, momentum=0.9, batch_size=16, seed=seed)
        return net.parameters()

    a, b, c = train(1), train(1), train(2)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert any(not np.array_equal(a[k], c[k]) for k in a)


class _RecordingLoss(nn.SoftmaxCrossEntropy):
    """Softmax cross-entropy that remembers every loss it returns."""

    def __init__(self):
        self.values = []

    def __call__(self, logits, y):
        loss, dlogits = super().__call__(logits, y)
        self.values.append(loss)
        return loss, dlogits


def test_history_loss_is_the_mean_over_the_epochs_batches():
    """With mini-batches the recorded loss is the epoch's mean, not the last
    batch's (batches of 25, 25 and 10 samples, weighted equally)."""
    X, y = make_spiral(20)  # 60 samples
    net = nn.mlp_network([2, 8, 3], seed=0)
    net.loss = _RecordingLoss()
    history = net.fit(X, y, epochs=2, lr=0.5, momentum=0.5, batch_size=25)
    assert len(net.loss.values) == 6
    epochs = [net.loss.values[:3], net.loss.values[3:]]
    assert history.loss == pytest.approx([np.mean(e) for e in epochs], rel=1e-15)
    assert all(history.loss[k] != epochs[k][-1] for k in range(2))


def test_history_lengths_and_snapshots():
    X, y = make_spiral(20)
    net = nn.mlp_network([2, 8, 3], seed=0)
    history = net.fit(X, y, epochs=10, lr=0.5, momentum=0.5, snapshot_every=3)
    assert len(history.loss) == len(history.accuracy) == 10
    assert all(isinstance(v, float) for v in history.loss + history.accuracy)
    assert [epoch for epoch, _ in history.snapshots] == [3, 6, 9]
    live = net.parameters()
    for _, snap in history.snapshots:
        assert set(snap) == set(live)
        assert all(snap[k] is not live[k] for k in snap)
    assert history.snapshots[0][1]["0.W"].shape == (2, 8)
    # Snapshots differ from one another: they are copies, not one array.
    assert not np.array_equal(history.snapshots[0][1]["0.W"],
                              history.snapshots[-1][1]["0.W"])
    empty = nn.mlp_network([2, 8, 3]).fit(X, y, epochs=0, lr=0.1)
    assert (empty.loss, empty.accuracy, empty.snapshots) == ([], [], [])


def test_snapshot_equals_the_parameters_at_that_epoch():
    X, y = make_spiral(20)
    a = nn.mlp_network([2, 8, 3], seed=0)
    history = a.fit(X, y, epochs=6, lr=0.5, momentum=0.5, snapshot_every=3)
    b = nn.mlp_network([2, 8, 3], seed=0)
    b.fit(X, y, epochs=3, lr=0.5, momentum=0.5)
    for k, v in b.parameters().items():
        np.testing.assert_array_equal(history.snapshots[0][1][k], v)
    for k, v in a.parameters().items():
        np.testing.assert_array_equal(history.snapshots[1][1][k], v)


# --------------------------------------------------------------------------
# Using a network
# --------------------------------------------------------------------------

def test_predict_and_predict_proba_shapes():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 3))
    softmax_net = nn.mlp_network([3, 4, 7], seed=0)
    p = softmax_net.predict_proba(X)
    assert p.shape == (5, 7)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-14)
    labels = softmax_net.predict(X)
    assert labels.shape == (5,) and np.issubdtype(labels.dtype, np.integer)
    np.testing.assert_array_equal(labels, p.argmax(axis=1))

    binary = nn.mlp_network([3, 4, 1], output="sigmoid", seed=0)
    p = binary.predict_proba(X)
    assert p.shape == (5,) and np.all((p > 0) & (p < 1))
    np.testing.assert_array_equal(binary.predict(X), (p > 0.5).astype(int))

    manual = nn.Network([nn.Dense(3, 1, rng=0), nn.Sigmoid()], nn.BinaryCrossEntropy())
    p = manual.predict_proba(X)
    assert p.shape == (5,)
    np.testing.assert_array_equal(manual.predict(X), (p > 0.5).astype(int))

    regression = nn.mlp_network([3, 4, 1], output="linear", seed=0)
    assert regression.predict(X).shape == (5,)
    assert nn.mlp_network([3, 4, 2], output="linear").predict(X).shape == (5, 2)
    with pytest.raises(TypeError,
                       match="^a regression network outputs values, not probabilities$"):
        regression.predict_proba(X)

    assert softmax_net.predict(X[:1]).shape == (1,)
    assert softmax_net.predict(X.tolist()).shape == (5,)


def test_accuracy():
    net = nn.mlp_network([3, 4, 7], seed=0)
    X = np.random.default_rng(1).standard_normal((8, 3))
    labels = net.predict(X)
    assert net.accuracy(X, labels) == 1.0
    wrong = (labels + 1) % 7
    wrong[:2] = labels[:2]
    assert net.accuracy(X, wrong) == 0.25


def test_with_parameters_copies_and_replaces():
    X = np.random.default_rng(2).standard_normal((5, 3))
    net = nn.mlp_network([3, 4, 7], seed=0)
    out = net.output(X)
    clone = net.with_parameters({})
    for k, v in clone.parameters().items():
        assert v is not net.parameters()[k]
        np.testing.assert_array_equal(v, net.parameters()[k])
    clone.parameters()["0.W"][...] = 0.0
    np.testing.assert_array_equal(net.output(X), out)
    changed = net.with_parameters({"2.b": np.ones(7)})
    np.testing.assert_allclose(changed.output(X), out + 1.0, rtol=1e-14)
    np.testing.assert_array_equal(net.output(X), out)


def test_with_parameters_does_not_alias_the_original():
    """Regression: with_parameters used to keep the arrays it was given
    (``np.asarray`` does not copy float64), so the "copy"
    ``net.with_parameters(net.parameters())`` shared every weight with net
    and training it trained the original too."""
    X, y = make_spiral(20)
    net = nn.mlp_network([2, 8, 3], seed=0)
    before = {k: v.copy() for k, v in net.parameters().items()}
    clone = net.with_parameters(net.parameters())
    clone.fit(X, y, epochs=3, lr=0.5)
    for k, v in net.parameters().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


@pytest.mark.parametrize("key", ["1.W", "0.X", "7.W"],
                         ids=["activation-layer", "unknown-name", "no-such-layer"])
def test_with_parameters_rejects_names_the_network_does_not_have(key):
    """Bug: an unknown name is not rejected. "1.W" (layer 1 is a ReLU) is
    written into ``_Activation.params``, a dict shared by every activation
    layer of the process: afterwards every new network reports a parameter
    "1.W" that has no gradient. "0.X" silently adds a parameter to the
    clone; "7.W" fails with a bare IndexError."""
    shared = getattr(nn._Activation, "params", None)
    try:
        net = nn.mlp_network([2, 3, 2], seed=0)
        with pytest.raises(KeyError, match=f"no parameter '{key}'"):
            net.with_parameters({key: np.ones(3)})
        assert nn.ReLU().params == {} and nn.Sigmoid().params == {}
        assert list(nn.mlp_network([2, 3, 2]).parameters()) == ["0.W", "0.b", "2.W", "2.b"]
    finally:
        if isinstance(shared, dict):
            shared.clear()  # undo the pollution for the tests that follow


def test_with_parameters_rejects_a_wrong_shape():
    """Bug: a parameter of the wrong shape is accepted, and fails only later,
    inside a matrix product, with numpy's message instead of the name."""
    net = nn.mlp_network([2, 3, 2], seed=0)
    with pytest.raises(ValueError, match="0.W"):
        net.with_parameters({"0.W": np.ones((3, 2))})


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------

_BAD_SHAPES = r"^expected X of shape \(N, D\) and y with N entries"


@pytest.mark.parametrize("X,y,match", [
    (np.zeros(6), np.zeros(6, dtype=int), _BAD_SHAPES + r", got X \(6,\)"),   # X 1-d
    (np.zeros((6, 2)), np.zeros(5, dtype=int), _BAD_SHAPES),                 # lengths differ
    (np.zeros((6, 2)), np.zeros(6), "integer"),                         # float labels
    (np.zeros((6, 2)), np.array([0, 1, 2, 3, 0, 1]), "0..2"),           # out of range
    (np.zeros((6, 2)), np.array([0, 1, 2, -1, 0, 1]), "0..2"),          # negative
], ids=["X-1d", "mismatched-y", "float-labels", "label-too-large", "label-negative"])
def test_fit_rejects_bad_input_with_a_clear_error(X, y, match):
    net = nn.mlp_network([2, 4, 3], seed=0)
    before = {k: v.copy() for k, v in net.parameters().items()}
    with pytest.raises(ValueError, match=match):
        net.fit(X, y, epochs=1, lr=0.1)
    for k, v in net.parameters().items():
        np.testing.assert_array_equal(v, before[k])


@pytest.mark.parametrize("kwargs", [
    dict(lr=0.0), dict(lr=-1.0), dict(lr=0.1, momentum=1.0),
    dict(lr=0.1, momentum=-0.1), dict(lr=0.1, epochs=-1)])
def test_fit_rejects_bad_hyperparameters(kwargs):
    X, y = make_spiral(5)
    kwargs = {"epochs": 1, **kwargs}
    with pytest.raises(ValueError,
                       match=r"^expected epochs >= 0, lr > 0 and 0 <= momentum < 1, got"):
        nn.mlp_network([2, 4, 3]).fit(X, y, **kwargs)


@pytest.mark.parametrize("batch_size", [0, -1])
def test_fit_rejects_a_batch_size_below_one(batch_size):
    """Bug: batch_size=0 fails with range()'s "arg 3 must not be zero", and
    batch_size=-1 (full batch in some libraries) trains nothing: the epoch
    loop is empty, the loss is the mean of no batches (NaN, with numpy's
    "Mean of empty slice" warning) and the network is left as it was."""
    X, y = make_spiral(5)
    with pytest.raises(ValueError, match="batch_size"):
        nn.mlp_network([2, 4, 3]).fit(X, y, epochs=1, lr=0.1, batch_size=batch_size)


def test_regression_network_rejects_targets_that_are_not_numbers():
    X = np.zeros((3, 1))
    net = nn.mlp_network([1, 4, 1], output="linear")
    with pytest.raises(ValueError, match="regression targets must be numbers, got dtype <U1"):
        net.fit(X, np.array(["a", "b", "c"]), epochs=1, lr=0.1)
    net.fit(X, np.array([1, 2, 3]), epochs=1, lr=0.1)  # integer targets are numbers


def test_binary_network_rejects_labels_out_of_range():
    """Regression: a sigmoid-output network used to train silently on labels
    {0, 1, 2}, pushing the logits of the 2s towards +infinity."""
    X, _ = make_xor(40)
    net = nn.mlp_network([2, 4, 1], activation="tanh", output="sigmoid")
    before = {k: v.copy() for k, v in net.parameters().items()}
    for bad in (np.arange(40) % 3, np.where(np.arange(40) % 2, 1, -1),
                np.full(40, 0.5)):
        with pytest.raises(ValueError, match="0 or 1"):
            net.fit(X, bad, epochs=1, lr=0.1)
    for k, v in net.parameters().items():
        np.testing.assert_array_equal(v, before[k])
    net.fit(X, (np.arange(40) % 2).astype(float), epochs=1, lr=0.1)  # 0.0/1.0 is fine


# --------------------------------------------------------------------------
# Defaults and details the lessons rely on
# --------------------------------------------------------------------------

def test_defaults_dense_gain_2_and_mlp_seed_0():
    assert nn.Dense(2000, 50, rng=0).params["W"].std() == pytest.approx(np.sqrt(2 / 2000),
                                                                     rel=0.03)
    for k, v in nn.mlp_network([3, 5, 2]).parameters().items():
        np.testing.assert_array_equal(v, nn.mlp_network([3, 5, 2], seed=0).parameters()[k])


def test_full_batch_training_takes_the_samples_in_their_order():
    """One full-batch epoch is exactly one step of loss_and_gradients on X."""
    rng = np.random.default_rng(10)
    X, y = rng.standard_normal((64, 3)), rng.integers(0, 4, size=64)
    for batch_size in (None, 64, 100):
        net = nn.mlp_network([3, 5, 4], seed=1)
        p0 = {k: v.copy() for k, v in net.parameters().items()}
        loss0, g0 = net.loss_and_gradients(X, y)
        history = net.fit(X, y, epochs=1, lr=0.3, batch_size=batch_size)
        assert history.loss == [loss0]
        for k, v in net.parameters().items():
            np.testing.assert_array_equal(v, p0[k] - 0.3 * g0[k])


def test_batch_size_one_is_allowed():
    X, y = make_spiral(4)
    history = nn.mlp_network([2, 4, 3], seed=0).fit(X, y, epochs=2, lr=0.1, batch_size=1)
    assert len(history.loss) == 2


class _SpyDense(nn.Dense):
    """A Dense layer that records the input_grad it is asked for."""

    def backward(self, X, dZ, *, input_grad=True):
        self.asked = input_grad
        return super().backward(X, dZ, input_grad=input_grad)


def test_only_the_first_layer_skips_its_input_gradient():
    """And two Dense layers in a row (a linear network) backpropagate."""
    r = np.random.default_rng(0)
    layers = [_SpyDense(3, 4, rng=r), _SpyDense(4, 5, rng=r), nn.Tanh(), _SpyDense(5, 2, rng=r)]
    net = nn.Network(layers, nn.SoftmaxCrossEntropy())
    X, y = r.standard_normal((6, 3)), r.integers(0, 2, size=6)
    _, grads = net.loss_and_gradients(X, y)
    assert [layers[i].asked for i in (0, 1, 3)] == [False, True, True]
    assert grads["0.W"].shape == (3, 4)


def test_binary_predictions_are_integers_and_0_5_is_class_0():
    """A probability of exactly 0.5 (logit 0) is class 0, from logits or
    from probabilities alike."""
    X = np.zeros((2, 3))
    for net in (nn.Network([nn.Dense(3, 1, rng=0)], nn.BinaryCrossEntropyWithLogits()),
                nn.Network([nn.Dense(3, 1, rng=0), nn.Sigmoid()], nn.BinaryCrossEntropy())):
        assert net.predict_proba(X).tolist() == [0.5, 0.5]
        labels = net.predict(X)
        assert labels.tolist() == [0, 0] and np.issubdtype(labels.dtype, np.integer)


def test_binary_label_message_lists_up_to_ten_distinct_values():
    X = np.zeros((12, 2))
    net = nn.mlp_network([2, 3, 1], output="sigmoid")
    with pytest.raises(ValueError, match=r"^binary labels must be 0 or 1, "
                                         r"got values \[0 1 2 3 4 5 6 7 8 9\]$"):
        net.fit(X, np.arange(12), epochs=1, lr=0.1)


def test_with_parameters_stores_float64_copies():
    net = nn.mlp_network([2, 3, 2], seed=0)
    clone = net.with_parameters({"0.b": [1, 2, 3]})
    assert clone.parameters()["0.b"].dtype == np.float64
    np.testing.assert_array_equal(clone.parameters()["0.b"], [1.0, 2.0, 3.0])
