"""The small models of the lessons, written out with the functional layer.

Each backprop function here is a whole network's forward and backward pass
in a dozen lines: the reference answer to an exercise, and a worked example
of composing ``bplib.functional``. Parameters travel in a dict and are never
modified; gradients come back in a dict with the same keys and shapes.
"""

import numpy as np

from bplib import functional as F


# --------------------------------------------------------------------------
# One ReLU neuron: y = max(0, x . w + b)
# --------------------------------------------------------------------------

def neuron_forward(x, w, b):
    """Output of one ReLU neuron. x, w: (D,), b: float  ->  float"""
    return max(float(np.dot(x, w) + b), 0.0)


def neuron_backward(x, w, b, dy):
    """Gradients of one ReLU neuron ``y = max(0, x . w + b)``.

    With s = x . w + b, the chain rule gives dL/ds = dy * [s > 0] and then
    dL/dx = dL/ds * w, dL/dw = dL/ds * x, dL/db = dL/ds.
    x, w: (D,), b, dy: floats  ->  (dx (D,), dw (D,), db float)
    """
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    ds = dy if np.dot(x, w) + b > 0 else 0.0
    return ds * w, ds * x, float(ds)


# --------------------------------------------------------------------------
# Two-layer ReLU classifier: Dense -> ReLU -> Dense -> softmax cross-entropy
# --------------------------------------------------------------------------

def init_mlp_params(n_in, n_hidden, n_classes, *, seed=0):
    """He-initialised parameters for ``mlp_backprop``."""
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.standard_normal((n_in, n_hidden)) * np.sqrt(2.0 / n_in),
        "b1": np.zeros(n_hidden),
        "W2": rng.standard_normal((n_hidden, n_classes)) * np.sqrt(1.0 / n_hidden),
        "b2": np.zeros(n_classes),
    }


def mlp_forward(X, params):
    """Class scores (N, C) of the two-layer ReLU network."""
    H = F.relu(F.dense(X, params["W1"], params["b1"]))
    return F.dense(H, params["W2"], params["b2"])


def mlp_backprop(X, y, params):
    """Loss and gradients of the two-layer ReLU classifier.

    X (N, D) -> Z1 = X W1 + b1 (N, H) -> H = relu(Z1) -> Z2 = H W2 + b2 (N, C)
    -> L = softmax cross-entropy of Z2 against integer labels y (N,).
    params: {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}
    Returns (loss, grads) with grads shaped like params.
    """
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    Z1 = F.dense(X, W1, b1)
    H = F.relu(Z1)
    Z2 = F.dense(H, W2, b2)
    loss, dZ2 = F.softmax_cross_entropy(Z2, y)
    dH, dW2, db2 = F.dense_backward(H, W2, b2, dZ2)
    dZ1 = F.relu_backward(Z1, dH)
    _, dW1, db1 = F.dense_backward(X, W1, b1, dZ1, input_grad=False)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


# --------------------------------------------------------------------------
# The article's sigmoid network: Dense -> sigmoid -> Dense(1) -> sigmoid -> BCE
# --------------------------------------------------------------------------

def init_sigmoid_net_params(n_in=2, n_hidden=3, *, seed=0):
    """Xavier-initialised parameters for ``sigmoid_net_backprop``.

    W2 is a vector (H,) and b2 a float: the network has a single output.
    """
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.standard_normal((n_in, n_hidden)) * np.sqrt(1.0 / n_in),
        "b1": np.zeros(n_hidden),
        "W2": rng.standard_normal(n_hidden) * np.sqrt(1.0 / n_hidden),
        "b2": 0.0,
    }


def sigmoid_net_forward(X, params):
    """P(class 1) for each row of X: shape (N,)."""
    H = F.sigmoid(F.dense(X, params["W1"], params["b1"]))
    return F.sigmoid(H @ params["W2"] + params["b2"])


def sigmoid_net_backprop(X, y, params):
    """Loss and gradients of the article's two-layer sigmoid network.

    X (N, D) -> Z1 = X W1 + b1 (N, H) -> H = sigmoid(Z1)
    -> z2 = H W2 + b2 (N,) -> p = sigmoid(z2) -> L = mean BCE(p, y).

    The output sigmoid and the cross-entropy are differentiated together
    (from the logits), which gives dL/dz2 = (p - y) / N without ever dividing
    by p (1 - p): the article's dL/dY = (Y - Y_T) / (Y (1 - Y)) / N is
    correct but divides by zero once the network is confident.
    params: {"W1": (D, H), "b1": (H,), "W2": (H,), "b2": float}
    Returns (loss, grads) with grads shaped like params (b2 a float).
    """
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    Z1 = F.dense(X, W1, b1)
    H = F.sigmoid(Z1)
    z2 = H @ W2 + b2
    loss, dz2 = F.binary_cross_entropy_with_logits(z2, y)
    dW2 = H.T @ dz2
    db2 = float(dz2.sum())
    dH = np.outer(dz2, W2)
    dZ1 = F.sigmoid_backward(Z1, dH)
    _, dW1, db1 = F.dense_backward(X, W1, b1, dZ1, input_grad=False)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


# --------------------------------------------------------------------------
# The article's 1-1-1 network: one sigmoid unit per layer, squared error
# --------------------------------------------------------------------------

def tiny_net_backprop(x, y_true, params):
    """Loss and gradients of the 1-1-1 sigmoid network with squared error.

    On a batch of N scalar inputs (every quantity below has shape (N,)):

        z1 = w1 x + b1,  h = sigmoid(z1),  z2 = w2 h + b2,  y = sigmoid(z2),
        L = mean over the batch of 1/2 (y - y_true)**2.

    Backwards, with the 1/N of the mean inside the deltas:

        delta2 = dL/dz2 = (y - y_true) y (1 - y) / N
        delta1 = dL/dz1 = delta2 w2 h (1 - h)
        dL/dw2 = sum(delta2 h),  dL/db2 = sum(delta2),
        dL/dw1 = sum(delta1 x),  dL/db1 = sum(delta1).

    Each weight is shared by the whole batch, so its gradient sums the
    samples' contributions. The slopes y (1 - y) and h (1 - h) are taken from
    ``F.sigmoid_backward`` at z2 and z1, which keeps them exact in the tails.
    x, y_true: (N,); params: {"w1", "b1", "w2", "b2"}, floats; not modified.
    Returns (loss, grads): a float, and a dict of floats with params' keys.
    """
    x = np.asarray(x, dtype=float)
    w1, b1, w2, b2 = (float(params[name]) for name in ("w1", "b1", "w2", "b2"))
    z1 = w1 * x + b1
    h = F.sigmoid(z1)
    z2 = w2 * h + b2
    y = F.sigmoid(z2)
    mse, dy = F.mse_loss(y, np.asarray(y_true, dtype=float))
    loss, dy = 0.5 * mse, 0.5 * dy      # L = mean of 1/2 (y - y_true)^2: dy = (y - y_true) / N
    delta2 = F.sigmoid_backward(z2, dy)
    delta1 = F.sigmoid_backward(z1, delta2 * w2)
    return loss, {"w1": float(delta1 @ x), "b1": float(delta1.sum()),
                  "w2": float(delta2 @ h), "b2": float(delta2.sum())}
