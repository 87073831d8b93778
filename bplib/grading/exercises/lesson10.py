"""Lesson 10, the four equations and deep networks: deep_backprop, and the
batch-normalisation challenge, batchnorm_backward."""

from functools import partial

import numpy as np

from bplib import functional as F
from bplib.grading.exercises.common import (EVERY_TRIAL, Exercise, Requirement, Trial,
                                            numerical_backward, numerical_parameter_gradients)

# --------------------------------------------------------------------------
# deep_backprop: the L-layer backward pass
# --------------------------------------------------------------------------


def deep_backprop(X, y, params):
    """Loss and gradients of an L-layer ReLU network with softmax cross-entropy.

    X (N, D_0); y (N,) integer labels; params [(W_1, b_1), ..., (W_L, b_L)] with
    W_l (D_{l-1}, D_l) and b_l (D_l,), L >= 1. ReLU after every layer but the
    last; the loss is the mean softmax cross-entropy of the last layer's
    output. Returns (loss, grads), grads [(dW_l, db_l)] in the order of params.
    """
    A, cache = X, []
    for l, (W, b) in enumerate(params):
        Z = A @ W + b
        cache.append((A, Z))
        A = Z if l == len(params) - 1 else F.relu(Z)
    loss, dZ = F.softmax_cross_entropy(A, y)
    grads = [None] * len(params)
    for l in reversed(range(len(params))):
        A_prev, Z = cache[l]
        if l < len(params) - 1:
            dZ = F.relu_backward(Z, dZ)
        W = params[l][0]
        grads[l] = (A_prev.T @ dZ, dZ.sum(axis=0))
        dZ = dZ @ W.T
    return loss, grads


def _deep_params(rng, sizes):
    params = []
    for d_in, d_out in zip(sizes[:-1], sizes[1:]):
        W = rng.standard_normal((d_in, d_out)) / np.sqrt(d_in) * 1.5
        b = rng.standard_normal(d_out) * 0.5
        params.append((W, b))
    return params


def _deep_trials(rng):
    trials = []
    for label, n, sizes in [("L=1 (no hidden layer): N=6, sizes 3-4", 6, (3, 4)),
                            ("L=2: N=5, sizes 3-5-4", 5, (3, 5, 4)),
                            ("L=4: N=6, sizes 3-4-5-3-4", 6, (3, 4, 5, 3, 4)),
                            ("batch size 1, L=3: sizes 2-4-3-3", 1, (2, 4, 3, 3))]:
        X = rng.standard_normal((n, sizes[0]))
        trials.append(Trial(label, (X, rng.integers(0, sizes[-1], size=n),
                                    _deep_params(rng, sizes))))
    X = rng.standard_normal((6, 3))
    params = _deep_params(rng, (3, 5, 4))
    W, b = params[-1]
    params[-1] = (W, b + np.array([1000.0, -1000.0, 0.0, 0.0]))  # logits of about +-1000
    trials.append(Trial("logits of +-1000, L=2", (X, rng.integers(0, 4, size=6), params),
                        stability=True))
    return trials


def _as_dict(params):
    return {f"{name}{l + 1}": value for l, pair in enumerate(params)
            for name, value in zip(("W", "b"), pair)}


def _as_pairs(named):
    return [(named[f"W{l + 1}"], named[f"b{l + 1}"]) for l in range(len(named) // 2)]


def _deep_loss(X, y, params):
    """The forward pass alone: the loss that deep_backprop differentiates."""
    A = X
    for l, (W, b) in enumerate(params):
        Z = A @ W + b
        A = Z if l == len(params) - 1 else np.maximum(Z, 0.0)
    m = A.max(axis=1, keepdims=True)
    log_p = A - m - np.log(np.exp(A - m).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y].mean())


def _deep_numerical(args):
    """(None, grads): deep_backprop's central-difference gradients."""
    X, y, params = args
    grads = numerical_parameter_gradients(lambda named: _deep_loss(X, y, _as_pairs(named)),
                                          _as_dict(params))
    return None, _as_pairs(grads)


def _deep_variant(X, y, params, *, relu_last=False, scale=1.0, reverse=False, db_keepdims=False,
                  hidden_always=False):
    """A wrong deep_backprop: the reference with one step changed.

    relu_last: ReLU on the last layer too; scale: a factor on every gradient;
    reverse: grads in backward order; db_keepdims: db of shape (1, D_l);
    hidden_always: a ReLU after layer 1 even when L = 1.
    """
    L = len(params)
    A, cache = X, []
    for l, (W, b) in enumerate(params):
        Z = A @ W + b
        cache.append((A, Z))
        relu = l < L - 1 or relu_last or (hidden_always and l == 0)
        A = F.relu(Z) if relu else Z
    loss, dZ = F.softmax_cross_entropy(A, y)
    dZ = dZ * scale
    grads = []
    for l in reversed(range(L)):
        A_prev, Z = cache[l]
        if l < L - 1 or relu_last or (hidden_always and l == 0):
            dZ = dZ * (Z > 0)
        db = dZ.sum(axis=0, keepdims=db_keepdims)
        grads.append((A_prev.T @ dZ, db))
        dZ = dZ @ params[l][0].T
    return loss, (grads if reverse else grads[::-1])


def _deep_naive_softmax(X, y, params):
    A = X
    for l, (W, b) in enumerate(params):
        Z = A @ W + b
        A = Z if l == len(params) - 1 else np.maximum(Z, 0.0)
    e = np.exp(A)
    p = e / e.sum(axis=1, keepdims=True)
    loss = float(-np.mean(np.log(p[np.arange(len(y)), y])))
    return loss, deep_backprop(X, y, params)[1]


def _deep_steps_params(X, y, params):
    loss, grads = deep_backprop(X, y, params)
    for (W, b), (dW, db) in zip(params, grads):
        W -= 0.1 * dW
        b -= 0.1 * db
    return loss, grads


DEEP_BACKPROP = Exercise(
    id="deep_backprop", signature="deep_backprop(X, y, params)",
    description=("deep_backprop(X, y, params) -> (loss, grads) for an L-layer network. "
                 "params is a list of (W, b) pairs, W_l (D_{l-1}, D_l) and b_l (D_l,), L >= 1 "
                 "(L = 1 too); Z_l = A_{l-1} @ W_l + b_l with A_0 = X (N, D_0), and ReLU after "
                 "every layer but the last. loss is the mean over the N samples (N = 1 too) of "
                 "the softmax cross-entropy of Z_L with integer labels y (N,), a float; grads is "
                 "a list of (dW, db) pairs in the order and shapes of params. Finite and "
                 "correct, with no warnings, for logits of +-1000. params unchanged."),
    lesson=10, notebook="10_four_equations", arg_names=("X", "y", "params"),
    output_names=("loss", "grads"), reference=deep_backprop, make_trials=_deep_trials,
    numerical=_deep_numerical,
    requirements=[
        Requirement("L = 1 too: no ReLU when the only layer is the last",
                    ("L=1",), partial(_deep_variant, hidden_always=True)),
        Requirement("grads in the order of params",
                    ("L=2", "L=4", "batch size 1", "logits of +-1000"),
                    partial(_deep_variant, reverse=True)),
        Requirement("finite and correct, with no warnings, for logits of +-1000",
                    ("logits of +-1000",), _deep_naive_softmax),
        Requirement("a batch of one sample, N = 1", ("batch size 1",),
                    lambda X, y, params: deep_backprop(X.squeeze(), y, params)),
        Requirement("loss is a float", EVERY_TRIAL,
                    lambda X, y, params: (np.array([deep_backprop(X, y, params)[0]]),
                                          deep_backprop(X, y, params)[1])),
        Requirement("params unchanged", EVERY_TRIAL, _deep_steps_params),
    ],
    overflow_hint=("np.exp of logits of 1000 overflows: subtract each row's maximum from the "
                   "last layer's output before the softmax, and take the log-probabilities as "
                   "Z - logsumexp(Z)."),
    mistakes=[
        ("Your grads are in backward order, last layer first: the list you build while going "
         "backward must be reversed (or filled by index) so that grads[l] goes with params[l].",
         partial(_deep_variant, reverse=True)),
        # (ReLU after the only layer of L = 1 gives the same outputs as this one.)
        ("You applied ReLU after the last layer too: the last layer's output Z_L goes "
         "straight into the softmax. With a single layer (L = 1) there is no hidden layer "
         "and no ReLU at all: the only layer is the last.",
         partial(_deep_variant, relu_last=True)),
        ("Your loss and gradients are N times too large: the loss is a mean over the batch, "
         "so dZ_L = (softmax - onehot) / N.",
         lambda X, y, params: (len(X) * deep_backprop(X, y, params)[0],
                               _deep_variant(X, y, params, scale=len(X))[1])),
        ("Your loss is right but your gradients are N times too large: dZ_L = "
         "(softmax - onehot) / N carries the 1/N of the mean.",
         lambda X, y, params: (deep_backprop(X, y, params)[0],
                               _deep_variant(X, y, params, scale=len(X))[1])),
        ("Each db has shape (1, D_l): sum dZ over the batch with dZ.sum(axis=0), without "
         "keepdims.", partial(_deep_variant, db_keepdims=True)),
        ("Your gradients have the wrong sign.", partial(_deep_variant, scale=-1.0)),
    ],
    shapes="X (N, D_0), W_l (D_{l-1}, D_l), b_l (D_l,), y (N,)",
    debug_hint=("Test L = 1 first (a single softmax layer: dW = X.T @ dZ), then L = 2; "
                "compare each dW_l with bplib-free central differences of the loss."))


# --------------------------------------------------------------------------
# batchnorm_backward: the challenge
# --------------------------------------------------------------------------

def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Training-mode batch normalisation over axis 0 of x (N, D)."""
    mean = x.mean(axis=0)
    var = x.var(axis=0)  # biased: the mean of squared deviations
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def batchnorm_backward(x, gamma, beta, dout, eps=1e-5):
    """Gradients (dx, dgamma, dbeta) of training-mode batch normalisation.

    x (N, D), gamma and beta (D,), dout (N, D). With xhat = (x - mean) /
    sqrt(var + eps) and dxhat = dout * gamma, the paths through the mean and
    the variance add up to
        dx = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / sqrt(var + eps),
    the means over the batch (axis 0).
    """
    mean = x.mean(axis=0)
    inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)
    xhat = (x - mean) * inv_std
    dxhat = dout * gamma
    dx = inv_std * (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def _batchnorm_trials(rng):
    trials = []
    for label, (n, d) in [("x (8, 3)", (8, 3)), ("x (4, 5)", (4, 5)), ("x (16, 2)", (16, 2))]:
        x = rng.standard_normal((n, d)) * rng.uniform(0.5, 3.0, size=d) + rng.standard_normal(d)
        trials.append(Trial(label, (x, rng.uniform(0.5, 2.0, size=d), rng.standard_normal(d),
                                    rng.standard_normal((n, d)))))
    x = rng.standard_normal((6, 3)) * np.array([1.0, 3e-3, 1e-2])  # variances near eps
    # central differences with h = 1e-5 are too coarse for features this narrow
    trials.append(Trial("features of variance near eps, x (6, 3)",
                        (x, rng.uniform(0.5, 2.0, size=3), rng.standard_normal(3),
                         rng.standard_normal((6, 3))), gradcheck=False))
    x = rng.standard_normal((5, 4))
    trials.append(Trial("eps=0.1, x (5, 4)", (x, rng.uniform(0.5, 2.0, size=4),
                                              rng.standard_normal(4),
                                              rng.standard_normal((5, 4)), 0.1)))
    return trials


def _batchnorm_numerical(args):
    x, gamma, beta, dout, *rest = args
    return numerical_backward(lambda *a: batchnorm_forward(*a, *rest), 3, (x, gamma, beta, dout))


def _batchnorm_variant(x, gamma, beta, dout, eps=1e-5, *, mean_path=True, var_path=True,
                       eps_outside=False, ddof=0, dgamma_xhat=True, use_eps=True):
    eps = eps if use_eps else 1e-5
    mean = x.mean(axis=0)
    std = np.sqrt(x.var(axis=0, ddof=ddof) + (0.0 if eps_outside else eps))
    std = std + eps if eps_outside else std
    xhat = (x - mean) / std
    dxhat = dout * gamma
    dx = dxhat.copy()
    if mean_path:
        dx = dx - dxhat.mean(axis=0)
    if var_path:
        dx = dx - xhat * (dxhat * xhat).mean(axis=0)
    dgamma = (dout * xhat).sum(axis=0) if dgamma_xhat else dout.sum(axis=0)
    return dx / std, dgamma, dout.sum(axis=0)


def _batchnorm_centres_x_in_place(x, gamma, beta, dout, eps=1e-5):
    out = batchnorm_backward(x.copy(), gamma, beta, dout, eps)
    x -= x.mean(axis=0)  # centring in place: batch normalisation does not care, the caller does
    return out


BATCHNORM_BACKWARD = Exercise(
    id="batchnorm_backward", signature="batchnorm_backward(x, gamma, beta, dout, eps=1e-5)",
    description=("batchnorm_backward(x, gamma, beta, dout, eps=1e-5) -> (dx, dgamma, dbeta) for "
                 "training-mode batch normalisation over axis 0 of x (N, D): mean and biased "
                 "variance var over the batch, xhat = (x - mean) / sqrt(var + eps), "
                 "out = gamma xhat + beta, with gamma and beta of shape (D,) and dout = dL/dout "
                 "of shape (N, D). dx, dgamma, dbeta have the shapes of x, gamma, beta. "
                 "Arguments unchanged."),
    lesson=10, notebook="10_four_equations",
    arg_names=("x", "gamma", "beta", "dout", "eps"), output_names=("dx", "dgamma", "dbeta"),
    reference=batchnorm_backward, make_trials=_batchnorm_trials, numerical=_batchnorm_numerical,
    requirements=[
        Requirement("eps is added to the variance (default 1e-5)", ("eps=0.1",),
                    partial(_batchnorm_variant, use_eps=False)),
        Requirement("xhat = (x - mean) / sqrt(var + eps), eps inside the root",
                    EVERY_TRIAL, partial(_batchnorm_variant, eps_outside=True)),
        Requirement("the biased variance (divided by N)", EVERY_TRIAL,
                    partial(_batchnorm_variant, ddof=1)),
        Requirement("arguments unchanged", EVERY_TRIAL, _batchnorm_centres_x_in_place),
    ],
    mistakes=[
        ("Your dx treats the mean and the variance as constants: both depend on every x in "
         "the batch, so dx gets two more terms, one through the mean and one through the "
         "variance.", partial(_batchnorm_variant, mean_path=False, var_path=False)),
        ("Your dx misses the path through the variance: var depends on x, which adds a term "
         "proportional to xhat (dxhat * xhat averaged over the batch).",
         partial(_batchnorm_variant, var_path=False)),
        ("Your dx misses the path through the mean: mean depends on every x, which subtracts "
         "the batch average of dxhat.", partial(_batchnorm_variant, mean_path=False)),
        ("You used the unbiased variance (ddof=1, dividing by N - 1): training-mode batch "
         "normalisation divides by N (np.var's default).", partial(_batchnorm_variant, ddof=1)),
        ("dgamma is dout summed over the batch, like dbeta: out = gamma xhat + beta, so "
         "dgamma = sum over the batch of dout * xhat.",
         partial(_batchnorm_variant, dgamma_xhat=False)),
        ("You added eps outside the square root: xhat = (x - mean) / sqrt(var + eps).",
         partial(_batchnorm_variant, eps_outside=True)),
    ],
    shapes="x (N, D), gamma (D,), beta (D,), dout (N, D)",
    debug_hint=("Draw the graph x -> mean -> x - mean -> var -> 1/sqrt(var + eps) -> xhat -> "
                "out and go back through it one node at a time; check dx against central "
                "differences of np.sum(batchnorm(x) * dout) on x of shape (3, 2)."))
