"""The reference backprop: one pure function per operation, forward and backward.

Conventions, the same across the whole course:

* float64 arrays, batch first: ``X`` has shape ``(N, D)``, one row per sample.
* A dense layer computes ``Z = X @ W + b`` with ``W`` of shape ``(D_in, D_out)``
  and ``b`` of shape ``(D_out,)``.
* A backward function takes the forward inputs and the upstream gradient
  ``dout = dL/d(output)`` and returns ``dL/d(input)`` for every input, each
  shaped exactly like that input.
* A loss is a mean over the batch and returns ``(loss, gradient)``.
* Nothing modifies its arguments.
* Nothing overflows: sigmoid, softmax and the cross-entropies are written so
  that inputs in the thousands give finite, correct values and no warnings.
"""

import numpy as np


# --------------------------------------------------------------------------
# Dense (affine) layer
# --------------------------------------------------------------------------

def dense(X, W, b):
    """Affine map ``Z = X @ W + b``.

    X: (N, D_in), W: (D_in, D_out), b: (D_out,)  ->  Z: (N, D_out)
    """
    return X @ W + b


def dense_backward(X, W, b, dZ, *, input_grad=True):
    """Gradients of ``Z = X @ W + b``.

    Each sample n contributes ``dW[i, j] += X[n, i] * dZ[n, j]``, so summing
    over the batch gives the shape-matching formulas

        dX = dZ @ W.T        (N, D_out) @ (D_out, D_in)  -> (N, D_in)
        dW = X.T @ dZ        (D_in, N)  @ (N, D_out)     -> (D_in, D_out)
        db = dZ.sum(axis=0)  (N, D_out) summed over rows -> (D_out,)

    The same bias is added to every row, so its gradient sums dZ over the rows.

    X: (N, D_in), W: (D_in, D_out), b: (D_out,), dZ: (N, D_out)
    Returns (dX, dW, db). With ``input_grad=False`` dX is None: the first
    layer of a network needs no gradient for its input, and skipping it saves
    a whole matrix product.
    """
    dX = dZ @ W.T if input_grad else None
    dW = X.T @ dZ
    db = dZ.sum(axis=0)
    return dX, dW, db


# --------------------------------------------------------------------------
# Element-wise activations. Their backward is dout times the local slope.
# --------------------------------------------------------------------------

def relu(z):
    """ReLU, ``max(0, z)`` element-wise, any shape."""
    return np.maximum(z, 0.0)


def relu_backward(z, dout):
    """dL/dz for ``relu(z)``: the slope is 1 where ``z > 0`` and 0 elsewhere.

    At ``z == 0`` ReLU has a kink; like every library we take the slope 0 there.
    z, dout: the same shape  ->  dz: that shape
    """
    return dout * (z > 0)


def sigmoid(z):
    """Logistic sigmoid ``1 / (1 + exp(-z))`` element-wise, without overflow.

    ``exp(-z)`` overflows for z below about -709. Writing it with
    ``e = exp(-|z|)``, which is always in (0, 1], gives

        sigmoid(z) = 1 / (1 + e)   for z >= 0
        sigmoid(z) = e / (1 + e)   for z <  0
    """
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0, e) / (1.0 + e)


def sigmoid_backward(z, dout):
    """dL/dz for ``sigmoid(z)``, z being the pre-activation.

    The slope is usually written in terms of the *output* s = sigmoid(z):
    sigmoid'(z) = s * (1 - s). It is still a derivative with respect to z.
    For large z, though, s rounds to 1.0 and 1 - s to 0, losing the tiny
    true slope; with e = exp(-|z|) the same quantity is e / (1 + e)**2,
    exact in both tails (sigmoid' is even) and free of overflow.
    z, dout: the same shape  ->  dz: that shape
    """
    e = np.exp(-np.abs(z))
    return dout * e / (1.0 + e) ** 2


def tanh(z):
    """Hyperbolic tangent element-wise (numpy's is already stable)."""
    return np.tanh(z)


def tanh_backward(z, dout):
    """dL/dz for ``tanh(z)``: tanh'(z) = 1 - tanh(z)**2.

    As with the sigmoid, 1 - t**2 rounds to 0 once |z| > 19 although the true
    slope is not 0; with e = exp(-2|z|) the same slope is 4e / (1 + e)**2,
    exact in both tails.
    z, dout: the same shape  ->  dz: that shape
    """
    e = np.exp(-2.0 * np.abs(z))
    return dout * 4.0 * e / (1.0 + e) ** 2


# --------------------------------------------------------------------------
# Softmax
# --------------------------------------------------------------------------

def logsumexp(z):
    """``log(sum(exp(z), axis=1))`` for z of shape (N, C), without overflow.

    Subtracting the row maximum m changes nothing mathematically,
    log sum exp(z) = m + log sum exp(z - m), and every exp is then <= 1.
    Returns shape (N,).
    """
    m = z.max(axis=1, keepdims=True)  # (N, 1)
    return m[:, 0] + np.log(np.exp(z - m).sum(axis=1))


def log_softmax(z):
    """Row-wise ``log(softmax(z))`` for z (N, C), stable for logits of +-1000."""
    return z - logsumexp(z)[:, None]


def softmax(z):
    """Row-wise softmax ``p[n, i] = exp(z[n, i]) / sum_j exp(z[n, j])``.

    z: (N, C)  ->  p: (N, C), each row positive and summing to 1.
    The row maximum is subtracted first so no exp can overflow.
    """
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_jacobian(z_row):
    """The full Jacobian of softmax for one sample, for teaching and checking.

    J[i, j] = dp_i / dz_j = p_i * (delta_ij - p_j),  i.e.  diag(p) - p p^T.
    z_row: (C,)  ->  J: (C, C)
    """
    p = softmax(np.asarray(z_row, dtype=float)[None, :])[0]
    return np.diag(p) - np.outer(p, p)


def softmax_backward(z, dout):
    """dL/dz for row-wise ``softmax(z)``: a vector-Jacobian product.

    For each row, dz = J^T dout with J = diag(p) - p p^T, what reverse mode
    always computes (lesson 2). This J is symmetric, so J^T dout = J dout too.

        dz_j = p_j * (dout_j - sum_i dout_i p_i)

    which costs O(C) per row instead of building the C x C Jacobian.
    z, dout: (N, C)  ->  dz: (N, C)
    """
    p = softmax(z)
    return p * (dout - (dout * p).sum(axis=1, keepdims=True))


# --------------------------------------------------------------------------
# Losses: each returns (mean loss, gradient of that mean w.r.t. its input)
# --------------------------------------------------------------------------

def _check_same_shape(pred, target, names):
    if np.shape(pred) != np.shape(target):
        raise ValueError(f"{names[0]} and {names[1]} must have the same shape (broadcasting "
                         f"them would compare every pair), got {np.shape(pred)} and "
                         f"{np.shape(target)}")


def mse_loss(y_pred, y_true):
    """Mean squared error over all elements, and its gradient.

    L = mean((y_pred - y_true)**2),  dL/dy_pred = 2 (y_pred - y_true) / size
    y_pred, y_true: the same shape  ->  (float, array shaped like y_pred)
    """
    _check_same_shape(y_pred, y_true, ("y_pred", "y_true"))
    diff = y_pred - y_true
    return float(np.mean(diff * diff)), 2.0 * diff / diff.size


def binary_cross_entropy(p, y, *, eps=1e-12):
    """Mean binary cross-entropy of probabilities ``p`` against targets ``y``.

    L = mean(-(y log p + (1 - y) log(1 - p)))
    dL/dp = (p - y) / (p (1 - p)) / size

    p is clipped to [eps, 1 - eps] so that a saturated prediction gives a
    large but finite loss instead of log(0). When you have the logits, use
    ``binary_cross_entropy_with_logits``: it needs no clipping at all.
    p, y: the same shape, p in [0, 1]  ->  (float, array shaped like p)
    """
    _check_same_shape(p, y, ("p", "y"))
    p_safe = np.clip(p, eps, 1.0 - eps)
    loss = -np.mean(y * np.log(p_safe) + (1.0 - y) * np.log1p(-p_safe))
    return float(loss), (p_safe - y) / (p_safe * (1.0 - p_safe)) / np.size(p)


def binary_cross_entropy_with_logits(z, y):
    """Mean binary cross-entropy of ``sigmoid(z)`` against ``y``, from logits.

    With p = sigmoid(z), -log p = softplus(-z) and -log(1 - p) = softplus(z),
    and softplus(a) = log(1 + exp(a)) = max(a, 0) + log1p(exp(-|a|)) never
    overflows. The sigmoid's slope cancels the 1 / (p (1 - p)) of the loss:

    L = mean(max(z, 0) - y z + log1p(exp(-|z|))),  dL/dz = (sigmoid(z) - y) / size
    z, y: the same shape  ->  (float, array shaped like z)
    """
    _check_same_shape(z, y, ("z", "y"))
    loss = np.mean(np.maximum(z, 0.0) - y * z + np.log1p(np.exp(-np.abs(z))))
    return float(loss), (sigmoid(z) - y) / np.size(z)


def _check_labels(y, scores, name):
    """y as an array, after checking that ``scores`` (logits or probabilities) is
    (N, C) and that y holds N integer class labels in 0..C-1."""
    if np.ndim(scores) != 2:
        raise ValueError(f"expected {name} of shape (N, C), one row per sample, "
                         f"got shape {np.shape(scores)}")
    n, c = np.shape(scores)
    y = np.asarray(y)
    if y.shape != (n,) or y.dtype.kind not in "iu":  # signed or unsigned integers
        raise ValueError(f"expected integer class labels of shape ({n},), "
                         f"got dtype {y.dtype} and shape {y.shape}")
    if y.min() < 0 or y.max() >= c:
        raise ValueError(f"class labels must lie in 0..{c - 1}, "
                         f"got values from {y.min()} to {y.max()}")
    return y


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy of ``softmax(logits)`` against integer labels.

    L = mean_n( -log softmax(logits)[n, y_n] ) = mean_n( logsumexp(z_n) - z_n[y_n] )
    dL/dlogits = (softmax(logits) - onehot(y)) / N

    The combined gradient is why softmax and cross-entropy are almost always
    fused: the Jacobian of softmax and the 1/p of the log cancel exactly.
    logits: (N, C), y: (N,) integers in 0..C-1  ->  (float, (N, C))
    """
    y = _check_labels(y, logits, "logits")
    N = len(logits)
    rows = np.arange(N)
    shifted = logits - logits.max(axis=1, keepdims=True)  # every exp is now <= 1
    exps = np.exp(shifted)
    sums = exps.sum(axis=1, keepdims=True)
    loss = np.mean(np.log(sums[:, 0]) - shifted[rows, y])  # logsumexp(z_n) - z_n[y_n]
    dlogits = exps / sums                                   # softmax(logits)
    dlogits[rows, y] -= 1                                   # softmax - onehot(y)
    return float(loss), dlogits / N


def cross_entropy(probs, y, *, eps=1e-12):
    """Mean cross-entropy of given probabilities against integer labels.

    The unfused form that follows a separate Softmax layer:
    L = mean_n(-log probs[n, y_n]),  dL/dprobs[n, y_n] = -1 / (N probs[n, y_n]),
    zero elsewhere. Probabilities are clipped at eps so log(0) cannot occur;
    prefer ``softmax_cross_entropy`` on logits, which needs no clipping.
    probs: (N, C), y: (N,)  ->  (float, (N, C))
    """
    y = _check_labels(y, probs, "probs")
    N = len(probs)
    rows = np.arange(N)
    picked = np.maximum(probs[rows, y], eps)  # probs[n, y_n], never 0
    dprobs = np.zeros(probs.shape)
    dprobs[rows, y] = -1.0 / (N * picked)
    return float(-np.log(picked).mean()), dprobs
