"""Layer objects, losses and a small sequential network with its training loop.

Built on ``bplib.functional`` the way ``torch.nn`` is built on
``torch.nn.functional``. A layer holds its parameters and nothing else:

    out, cache = layer.forward(x)            # cache: what backward will need
    dx, grads = layer.backward(cache, dout)  # grads: {parameter name: gradient}

Every backward here, like every backward function of ``bplib.functional``,
takes what the forward pass kept first and the upstream gradient last:
``F.relu_backward(z, dout)``, ``ReLU().backward(z, dout)``,
``Network.backward(caches, dout)``.

Results are returned, never left on the object, so a layer can be used on two
batches at once and a network can be copied by copying its layers.
"""

import copy
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from bplib import functional as F


# --------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------

class Dense:
    """Fully connected layer ``Z = X @ W + b``; W (n_in, n_out), b (n_out,).

    Weights start as random normals scaled by sqrt(gain / n_in), so that the
    variance of the pre-activations does not grow or shrink with the width
    (gain 2 suits ReLU, He et al. 2015; gain 1 suits sigmoid and tanh,
    Glorot and Bengio 2010). Biases start at zero.
    """

    def __init__(self, n_in, n_out, *, rng=None, gain=2.0):
        rng = np.random.default_rng(rng)
        self.params = {
            "W": rng.standard_normal((n_in, n_out)) * np.sqrt(gain / n_in),
            "b": np.zeros(n_out),
        }

    def forward(self, X):
        return F.dense(X, self.params["W"], self.params["b"]), X

    def backward(self, X, dZ, *, input_grad=True):
        dX, dW, db = F.dense_backward(X, self.params["W"], self.params["b"],
                                      dZ, input_grad=input_grad)
        return dX, {"W": dW, "b": db}

    def __repr__(self):
        n_in, n_out = self.params["W"].shape
        return f"Dense({n_in}, {n_out})"


class _Activation:
    """An element-wise function with no parameters; its cache is its input z."""

    params = MappingProxyType({})  # read-only: shared by every activation layer

    def __repr__(self):
        return f"{type(self).__name__}()"


class ReLU(_Activation):
    def forward(self, z):
        return F.relu(z), z

    def backward(self, z, dout, *, input_grad=True):
        return F.relu_backward(z, dout), {}


class Sigmoid(_Activation):
    def forward(self, z):
        return F.sigmoid(z), z

    def backward(self, z, dout, *, input_grad=True):
        return F.sigmoid_backward(z, dout), {}


class Tanh(_Activation):
    def forward(self, z):
        return F.tanh(z), z

    def backward(self, z, dout, *, input_grad=True):
        return F.tanh_backward(z, dout), {}


class Softmax(_Activation):
    """Row-wise softmax as a layer of its own (pair it with ``CrossEntropy``).

    Its backward is the vector-Jacobian product; ``SoftmaxCrossEntropy`` on
    the logits is the faster and more stable way to end a classifier.
    """

    def forward(self, z):
        return F.softmax(z), z

    def backward(self, z, dout, *, input_grad=True):
        return F.softmax_backward(z, dout), {}


# --------------------------------------------------------------------------
# Losses: loss(out, y) -> (mean loss, dL/dout); predict(out) -> predictions
# --------------------------------------------------------------------------

class SoftmaxCrossEntropy:
    """Softmax and cross-entropy fused, on logits (N, C), integer labels (N,)."""

    def validate_targets(self, y):
        pass  # softmax_cross_entropy checks its labels on every call

    def __call__(self, logits, y):
        return F.softmax_cross_entropy(logits, y)

    def probabilities(self, logits):
        return F.softmax(logits)

    def predict(self, logits):
        return logits.argmax(axis=1)


class CrossEntropy(SoftmaxCrossEntropy):
    """Cross-entropy of probabilities (N, C) from a ``Softmax`` layer."""

    def __call__(self, probs, y):
        return F.cross_entropy(probs, y)

    def probabilities(self, probs):
        return probs


class BinaryCrossEntropyWithLogits:
    """Binary cross-entropy on logits of shape (N, 1) against labels (N,)."""

    def validate_targets(self, y):
        if not np.isin(y, (0, 1)).all():
            raise ValueError(f"binary labels must be 0 or 1, got values {np.unique(y)[:10]}")

    def __call__(self, z, y):
        return F.binary_cross_entropy_with_logits(z, y.reshape(z.shape))

    def probabilities(self, z):
        return F.sigmoid(z[:, 0])

    def predict(self, z):
        return (z[:, 0] > 0).astype(int)


class BinaryCrossEntropy(BinaryCrossEntropyWithLogits):
    """Binary cross-entropy of probabilities (N, 1) from a ``Sigmoid`` layer."""

    def __call__(self, p, y):
        return F.binary_cross_entropy(p, y.reshape(p.shape))

    def probabilities(self, p):
        return p[:, 0]

    def predict(self, p):
        return (p[:, 0] > 0.5).astype(int)


class MSELoss:
    """Mean squared error for regression; y shaped like the output or (N,)."""

    def validate_targets(self, y):
        if not np.issubdtype(np.asarray(y).dtype, np.number):
            raise ValueError(f"regression targets must be numbers, got dtype {y.dtype}")

    def __call__(self, y_pred, y):
        return F.mse_loss(y_pred, y.reshape(y_pred.shape))

    def probabilities(self, y_pred):
        raise TypeError("a regression network outputs values, not probabilities")

    def predict(self, y_pred):
        return y_pred[:, 0] if y_pred.shape[1] == 1 else y_pred


# --------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------

@dataclass
class History:
    """What ``Network.fit`` recorded, one entry per epoch.

    loss: mean training loss over the epoch's batches
    accuracy: training accuracy after the epoch (classifiers only, else empty)
    snapshots: (epoch, parameters) pairs, taken every ``snapshot_every`` epochs
    """

    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    snapshots: list = field(default_factory=list)


class Network:
    """A stack of layers ending in a loss.

    >>> rng = np.random.default_rng(0)
    >>> net = Network([Dense(2, 64, rng=rng), ReLU(), Dense(64, 3, rng=rng)],
    ...               SoftmaxCrossEntropy())
    """

    def __init__(self, layers, loss):
        self.layers = list(layers)
        self.loss = loss

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Network([{inner}], {type(self.loss).__name__}())"

    # -- parameters, named "layer index.parameter name", e.g. "0.W" ---------

    def parameters(self):
        """A dict of every parameter array (the live arrays, not copies)."""
        return {f"{i}.{name}": value
                for i, layer in enumerate(self.layers)
                for name, value in layer.params.items()}

    def with_parameters(self, params):
        """A copy of this network with the given parameters (copied, not shared).

        params: a dict with some or all of the keys of ``parameters()``, each
        value shaped like the parameter it replaces.
        """
        own = self.parameters()
        clone = Network(copy.deepcopy(self.layers), self.loss)
        for key, value in params.items():
            if key not in own:
                raise KeyError(f"this network has no parameter {key!r}; "
                               f"its parameters are {list(own)}")
            value = np.array(value, dtype=float)
            if value.shape != own[key].shape:
                raise ValueError(f"parameter {key!r} must have shape {own[key].shape}, "
                                 f"got {value.shape}")
            i, name = key.split(".")
            clone.layers[int(i)].params[name] = value
        return clone

    # -- forward and backward ----------------------------------------------

    def forward(self, X):
        """Run every layer. Returns (output, caches), one cache per layer."""
        caches = []
        out = X
        for layer in self.layers:
            out, cache = layer.forward(out)
            caches.append(cache)
        return out, caches

    def backward(self, caches, dout):
        """Backpropagate dL/d(output) through every layer, last to first.

        Returns a dict of gradients with the keys of ``parameters()``. The
        first layer's input gradient is not needed and is not computed.
        """
        grads = {}
        for i in range(len(self.layers) - 1, -1, -1):
            dout, layer_grads = self.layers[i].backward(caches[i], dout,
                                                        input_grad=i > 0)
            for name, g in layer_grads.items():
                grads[f"{i}.{name}"] = g
        return grads

    def loss_and_gradients(self, X, y):
        """One forward and one backward pass: (mean loss, gradients dict)."""
        out, caches = self.forward(X)
        loss, dout = self.loss(out, y)
        return loss, self.backward(caches, dout)

    # -- using a trained network -------------------------------------------

    def output(self, X):
        return self.forward(np.asarray(X, dtype=float))[0]

    def predict(self, X):
        """Predicted labels (classifiers) or values (regression) for X."""
        return self.loss.predict(self.output(X))

    def predict_proba(self, X):
        """Class probabilities: (N, C) for softmax, (N,) of P(1) for binary."""
        return self.loss.probabilities(self.output(X))

    def accuracy(self, X, y):
        return float(np.mean(self.predict(X) == np.asarray(y)))

    # -- training ----------------------------------------------------------

    def fit(self, X, y, *, epochs, lr, batch_size=None, momentum=0.0, seed=0,
            snapshot_every=None):
        """Train with (mini-batch) gradient descent, optionally with momentum.

        batch_size None uses the whole set every step (full-batch descent);
        otherwise each epoch visits the samples in a fresh order drawn from
        ``seed``. Updates the network's parameters in place and returns the
        History of loss, accuracy and parameter snapshots.
        """
        X, y = _validate_training_data(X, y)
        self.loss.validate_targets(y)
        if epochs < 0 or lr <= 0 or not 0 <= momentum < 1:
            raise ValueError("expected epochs >= 0, lr > 0 and 0 <= momentum < 1, "
                             f"got {epochs}, {lr} and {momentum}")
        if batch_size is not None and (int(batch_size) != batch_size or batch_size < 1):
            raise ValueError(f"batch_size must be None or a positive integer, got {batch_size}")
        rng = np.random.default_rng(seed)
        optimizer = SGD(lr, momentum)
        params = self.parameters()
        classifier = not isinstance(self.loss, MSELoss)
        history = History()
        n = len(X)
        batch_size = n if batch_size is None else int(batch_size)
        for epoch in range(1, epochs + 1):
            order = np.arange(n) if batch_size >= n else rng.permutation(n)
            losses = []
            for start in range(0, n, batch_size):
                batch = order[start:start + batch_size]
                Xb, yb = (X, y) if batch_size >= n else (X[batch], y[batch])
                loss, grads = self.loss_and_gradients(Xb, yb)
                optimizer.step(params, grads)
                losses.append(loss)
            history.loss.append(float(np.mean(losses)))
            if classifier:
                history.accuracy.append(self.accuracy(X, y))
            if snapshot_every and epoch % snapshot_every == 0:
                history.snapshots.append(
                    (epoch, {k: v.copy() for k, v in params.items()}))
        return history


def _validate_training_data(X, y):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim != 2 or len(y) != len(X):
        raise ValueError("expected X of shape (N, D) and y with N entries, "
                         f"got X {X.shape} and y {y.shape}")
    return X, y


class SGD:
    """Stochastic gradient descent with (heavy-ball) momentum.

        v <- momentum * v - lr * grad
        p <- p + v

    With momentum 0 this is plain gradient descent, p <- p - lr * grad.
    Momentum lets steps that keep pointing the same way build up speed and
    lets steps that flip sign cancel, which damps the zig-zag across a narrow
    valley. The optimizer owns the velocities and updates the parameter
    arrays it is given in place: that is its job.
    """

    def __init__(self, lr, momentum=0.0):
        self.lr = lr
        self.momentum = momentum
        self.velocity = {}

    def step(self, params, grads):
        for name, g in grads.items():
            if self.momentum:
                v = self.velocity.get(name)
                v = -self.lr * g if v is None else self.momentum * v - self.lr * g
                self.velocity[name] = v
                params[name] += v
            else:
                params[name] -= self.lr * g


def mlp_network(sizes, *, activation="relu", output="softmax", seed=0):
    """Build a multi-layer perceptron.

    sizes: [D_in, H_1, ..., D_out], e.g. [2, 64, 3]
    activation: "relu", "sigmoid" or "tanh" between the dense layers
    output: "softmax" (softmax cross-entropy), "sigmoid" (binary
    cross-entropy on logits; D_out must be 1) or "linear" (mean squared error)
    """
    hidden = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}
    losses = {"softmax": SoftmaxCrossEntropy,
              "sigmoid": BinaryCrossEntropyWithLogits,
              "linear": MSELoss}
    if activation not in hidden or output not in losses:
        raise ValueError(f"activation must be one of {sorted(hidden)} and "
                         f"output one of {sorted(losses)}")
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least input and output sizes, got {sizes}")
    rng = np.random.default_rng(seed)
    gain = 2.0 if activation == "relu" else 1.0
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        layers.append(Dense(n_in, n_out, rng=rng, gain=1.0 if last else gain))
        if not last:
            layers.append(hidden[activation]())
    return Network(layers, losses[output]())
