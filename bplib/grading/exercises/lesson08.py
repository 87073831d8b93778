"""Lesson 8, a binary classifier: binary_cross_entropy, sigmoid_net_backprop."""

from functools import partial

import numpy as np

from bplib import functional as F
from bplib import models
from bplib.grading.exercises.common import (EVERY_TRIAL, Exercise, Requirement, Trial,
                                            network_trials, numerical_loss, numerical_network,
                                            scales)


def _bce_trials(rng):
    trials = []
    for label, shape in [("p of shape (8,)", (8,)), ("p of shape (4, 3)", (4, 3)),
                         ("batch size 1, p of shape (1,)", (1,)), ("p of shape (2, 5)", (2, 5))]:
        y = rng.integers(0, 2, size=shape).astype(float)
        trials.append(Trial(label, (rng.uniform(0.05, 0.95, size=shape), y)))
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    p = np.array([1e-9, 1 - 1e-9, 1 - 1e-9, 1e-9, 0.5, 0.3])
    trials.append(Trial("p within 1e-9 of 0 and 1", (p, y), stability=True))
    y = rng.integers(0, 2, size=8).astype(float)
    p = np.where(rng.random(8) < 0.5, y, 1.0 - y)  # exactly right or exactly wrong
    p[:2], y[:2] = [0.0, 1.0], [1.0, 0.0]
    trials.append(Trial("p exactly 0 and 1 (clipped)", (p, y), stability=True))
    return trials


def _bce_loss(p, y):
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _sigmoid_net_init(rng, d, h):
    return {"W1": rng.standard_normal((d, h)), "b1": rng.standard_normal(h) * 0.5,
            "W2": rng.standard_normal(h), "b2": float(rng.standard_normal())}


def _sigmoid_net_variant(X, y, params, *, hidden_grad=F.sigmoid_backward, scale=1.0,
                         loss_scale=None):
    """A wrong sigmoid_net_backprop, like _mlp_variant."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    Z1 = X @ W1 + b1
    H = F.sigmoid(Z1)
    loss, dz2 = F.binary_cross_entropy_with_logits(H @ W2 + b2, y)
    factor, loss_factor = scales(X, scale, loss_scale)
    dz2 = dz2 * factor
    dZ1 = hidden_grad(Z1, np.outer(dz2, W2))
    return loss * loss_factor, {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0),
                          "W2": H.T @ dz2, "b2": float(dz2.sum())}


def _bce_unclipped(p, y):
    return _bce_loss(p, y), (p - y) / (p * (1 - p)) / p.size


def _bce_clips_in_place(p, y):
    np.clip(p, 1e-12, 1 - 1e-12, out=p)
    return F.binary_cross_entropy(p, y)


BINARY_CROSS_ENTROPY = Exercise(
    id="binary_cross_entropy", signature="binary_cross_entropy(p, y)",
    description=("binary_cross_entropy(p, y) -> (loss, dp). p: probabilities of class 1, any "
                 "shape; y: labels 0 or 1, p's shape. p is first clipped to [1e-12, 1 - 1e-12], "
                 "so that p exactly 0 or 1 gives finite values. loss = mean over all elements of "
                 "-(y log p + (1 - y) log(1 - p)), a float; dp = dL/dp, shaped like p. "
                 "Arguments unchanged."),
    lesson=8, notebook="08_binary_classifier", arg_names=("p", "y"), output_names=("loss", "dp"),
    reference=F.binary_cross_entropy, make_trials=_bce_trials,
    numerical=partial(numerical_loss, _bce_loss),
    requirements=[
        Requirement("p is clipped to [1e-12, 1 - 1e-12]: finite for p exactly 0 or 1",
                    ("p exactly 0 and 1",), _bce_unclipped),
        Requirement("the mean runs over all elements", ("p of shape (4, 3)", "p of shape (2, 5)"),
                    lambda p, y: (F.binary_cross_entropy(p, y)[0],
                                  F.binary_cross_entropy(p, y)[1] * p.size / len(p))),
        Requirement("loss is a float", EVERY_TRIAL,
                    lambda p, y: (np.array([F.binary_cross_entropy(p, y)[0]]),
                                  F.binary_cross_entropy(p, y)[1])),
        Requirement("arguments unchanged", ("p exactly 0 and 1",), _bce_clips_in_place),
    ],
    shapes="p and y of the same shape",
    overflow_hint=("log(p) or 1 / p overflowed: clip p to [1e-12, 1 - 1e-12] before "
                   "taking logs and dividing."),
    mistakes=[
        ("dp is the gradient with respect to the LOGIT z, (p - y) / N. This function takes "
         "probabilities p: dL/dp = (p - y) / (p (1 - p)) / N.",
         lambda p, y: (_bce_loss(p, y), (p - y) / p.size)),
        ("dp is missing the 1/N of the mean.",
         lambda p, y: (_bce_loss(p, y), (p - y) / (p * (1 - p)))),
        ("dp has the wrong sign: d(-log p)/dp = -1/p.",
         lambda p, y: (_bce_loss(p, y), -(p - y) / (p * (1 - p)) / p.size)),
        ("dp only differentiates the y log p term; the (1 - y) log(1 - p) term contributes "
         "(1 - y) / (1 - p).", lambda p, y: (_bce_loss(p, y), -y / p / p.size)),
        ("Your loss is a sum, not a mean: divide by the number of elements.",
         lambda p, y: (_bce_loss(p, y) * p.size, (p - y) / (p * (1 - p)))),
        ("dp divides by the number of rows, len(p); the mean runs over ALL elements, so "
         "divide by p.size.",
         lambda p, y: (_bce_loss(p, y), (p - y) / (p * (1 - p)) / len(p))),
        ("You clipped p to [1e-7, 1 - 1e-7]: that changes the answer for p closer to 0 or 1 "
         "than 1e-7. Clip much closer (eps = 1e-12) so that only log(0) is avoided.",
         lambda p, y: F.binary_cross_entropy(p, y, eps=1e-7)),
    ])

def _signet_b2_array(X, y, params):
    loss, grads = models.sigmoid_net_backprop(X, y, params)
    return loss, {**grads, "b2": np.array([grads["b2"]])}


def _signet_steps_W1(X, y, params):
    loss, grads = models.sigmoid_net_backprop(X, y, params)
    params["W1"] -= 0.1 * grads["W1"]
    return loss, grads


SIGMOID_NET_BACKPROP = Exercise(
    id="sigmoid_net_backprop", signature="sigmoid_net_backprop(X, y, params)",
    description=("sigmoid_net_backprop(X, y, params) -> (loss, grads) for X (N, D) -> "
                 "Dense(W1 (D, H), b1 (H,)) -> sigmoid -> Dense(W2 (H,), b2 a float) -> sigmoid "
                 "-> p (N,), and loss = the mean binary cross-entropy of p against y (N,) in "
                 "{0, 1}, a float. grads has params' keys and shapes (b2 a float). params "
                 "unchanged."),
    lesson=8, notebook="08_binary_classifier", arg_names=("X", "y", "params"),
    output_names=("loss", "grads"), reference=models.sigmoid_net_backprop,
    make_trials=lambda rng: network_trials(rng, _sigmoid_net_init, 2),
    numerical=partial(numerical_network, models.sigmoid_net_backprop),
    requirements=[
        Requirement("grads has params' keys and shapes, b2 a float", EVERY_TRIAL,
                    _signet_b2_array),
        Requirement("params unchanged", EVERY_TRIAL, _signet_steps_W1),
    ],
    shapes="X (N, D), W1 (D, H), b1 (H,), W2 (H,), b2 a float, y (N,)",
    mistakes=[
        ("grads of W1 and b1 ignore the hidden sigmoid: multiply dH by s * (1 - s) with "
         "s = sigmoid(Z1) (the activation's derivative is missing).",
         partial(_sigmoid_net_variant, hidden_grad=lambda z, dout: dout)),
        ("You applied the sigmoid's slope to its output H instead of its input Z1: "
         "s * (1 - s) with s = sigmoid(Z1) is H * (1 - H).",
         partial(_sigmoid_net_variant,
                 hidden_grad=lambda z, dout: F.sigmoid_backward(F.sigmoid(z), dout))),
        ("You used H * (1 - H) evaluated at Z1, i.e. Z1 * (1 - Z1): the slope must be "
         "computed from the sigmoid's output H = sigmoid(Z1).",
         partial(_sigmoid_net_variant, hidden_grad=lambda z, dout: z * (1 - z) * dout)),
        ("Your loss and gradients are N times too large: the loss is a mean, so "
         "dL/dz2 = (p - y) / N.", partial(_sigmoid_net_variant, scale="N")),
        ("Your loss is right but your gradients are N times too large: the loss is a mean, "
         "so dL/dz2 = (p - y) / N carries the 1/N too.",
         partial(_sigmoid_net_variant, scale="N", loss_scale=1.0)),
        ("Your gradients have the wrong sign.", partial(_sigmoid_net_variant, scale=-1.0)),
    ])
