"""Lesson 9, a multi-class network: mlp_backprop and SGD with momentum."""

from functools import partial

import numpy as np

from bplib import functional as F
from bplib import models
from bplib.grading.exercises.common import (EVERY_TRIAL, Exercise, Requirement, Trial,
                                            network_trials, numerical_network, scales)


def _random_mlp_params(rng, d, h, c=5):
    return {"W1": rng.standard_normal((d, h)), "b1": rng.standard_normal(h) * 0.5,
            "W2": rng.standard_normal((h, c)), "b2": rng.standard_normal(c) * 0.5}


def _mlp_variant(X, y, params, *, relu_grad=F.relu_backward, scale=1.0, loss_scale=None,
                 db1_keepdims=False):
    """A wrong mlp_backprop: the reference with one step replaced.

    scale multiplies dlogits ("N" stands for the batch size); loss_scale
    multiplies the loss (by default the same factor); db1_keepdims returns
    db1 of shape (1, H).
    """
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    Z1 = X @ W1 + b1
    H = F.relu(Z1)
    loss, dZ2 = F.softmax_cross_entropy(H @ W2 + b2, y)
    factor, loss_factor = scales(X, scale, loss_scale)
    dZ2 = dZ2 * factor
    dH, dW2, db2 = F.dense_backward(H, W2, b2, dZ2)
    _, dW1, db1 = F.dense_backward(X, W1, b1, relu_grad(Z1, dH))
    if db1_keepdims:
        db1 = db1[None, :]
    return loss * loss_factor, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def _mlp_steps_params(X, y, params):
    loss, grads = models.mlp_backprop(X, y, params)
    for name in params:
        params[name] -= 0.1 * grads[name]
    return loss, grads


MLP_BACKPROP = Exercise(
    id="mlp_backprop", signature="mlp_backprop(X, y, params)",
    description=("mlp_backprop(X, y, params) -> (loss, grads) for X (N, D) -> Dense(W1 (D, H), "
                 "b1 (H,)) -> ReLU -> Dense(W2 (H, C), b2 (C,)) -> logits (N, C), and loss = the "
                 "mean over the N samples of the softmax cross-entropy with integer labels "
                 "y (N,), a float. N = 1 too. grads has params' keys and shapes. params "
                 "unchanged."),
    lesson=9, notebook="09_multiclass_network", arg_names=("X", "y", "params"),
    output_names=("loss", "grads"), reference=models.mlp_backprop,
    make_trials=lambda rng: network_trials(rng, _random_mlp_params, 5),
    numerical=partial(numerical_network, models.mlp_backprop),
    requirements=[
        Requirement("a batch of one sample, N = 1", ("batch size 1",),
                    lambda X, y, params: models.mlp_backprop(X.squeeze(), y, params)),
        Requirement("grads has params' keys and shapes", EVERY_TRIAL,
                    partial(_mlp_variant, db1_keepdims=True)),
        Requirement("params unchanged", EVERY_TRIAL, _mlp_steps_params),
    ],
    shapes="X (N, D), W1 (D, H), b1 (H,), W2 (H, C), b2 (C,), y (N,)",
    mistakes=[
        ("grads of W1 and b1 ignore the ReLU: multiply dH by its slope (Z1 > 0) before the "
         "first layer's backward (the activation's derivative is missing).",
         partial(_mlp_variant, relu_grad=lambda z, dout: dout)),
        ("Your loss and gradients are N times too large: the loss is a mean, so "
         "dlogits = (softmax - onehot) / N.", partial(_mlp_variant, scale="N")),
        ("Your loss is right but your gradients are N times too large: the loss is a mean, "
         "so dlogits = (softmax - onehot) / N carries the 1/N too.",
         partial(_mlp_variant, scale="N", loss_scale=1.0)),
        ("Your gradients have the wrong sign.", partial(_mlp_variant, scale=-1.0)),
    ])


# --------------------------------------------------------------------------
# sgd_momentum_step
# --------------------------------------------------------------------------

def sgd_momentum_step(params, grads, velocity, lr, mu):
    """One step of SGD with momentum, on dicts name -> array with the same keys.

    v' = mu v - lr g;  p' = p + v'.  Returns (new_params, new_velocity), new
    dicts of new arrays; the arguments are left untouched.
    """
    new_velocity = {name: mu * velocity[name] - lr * grads[name] for name in params}
    new_params = {name: params[name] + new_velocity[name] for name in params}
    return new_params, new_velocity


def _momentum_trials(rng):
    def arrays(shapes):
        return {name: rng.standard_normal(shape) for name, shape in shapes.items()}

    trials = []
    for label, shapes, lr, mu, first in [
            ("a two-layer network's params, lr=0.1, mu=0.9",
             {"W1": (3, 4), "b1": (4,), "W2": (4, 2), "b2": (2,)}, 0.1, 0.9, False),
            ("the first step: velocity all zeros", {"W": (2, 3), "b": (3,)}, 0.5, 0.9, True),
            ("mu=0: plain gradient descent", {"W": (4, 2), "b": (2,)}, 0.05, 0.0, False),
            ("one parameter of shape (5,), lr=0.01, mu=0.5", {"w": (5,)}, 0.01, 0.5, False)]:
        params, grads = arrays(shapes), arrays(shapes)
        velocity = ({k: np.zeros(s) for k, s in shapes.items()} if first else arrays(shapes))
        trials.append(Trial(label, (params, grads, velocity, lr, mu)))
    return trials


def _momentum_variant(velocity_rule, params, grads, velocity, lr, mu, *,
                      position_rule=lambda p, v_old, v_new: p + v_new):
    """A wrong sgd_momentum_step: the new velocity by ``velocity_rule(v, g, lr, mu)``,
    the new params by ``position_rule(p, v_old, v_new)``."""
    new_velocity = {k: velocity_rule(velocity[k], grads[k], lr, mu) for k in params}
    return ({k: position_rule(params[k], velocity[k], new_velocity[k]) for k in params},
            new_velocity)


def _momentum_in_place(params, grads, velocity, lr, mu):
    for name in params:
        velocity[name] *= mu
        velocity[name] -= lr * grads[name]
        params[name] += velocity[name]
    return params, velocity


SGD_MOMENTUM_STEP = Exercise(
    id="sgd_momentum_step", signature="sgd_momentum_step(params, grads, velocity, lr, mu)",
    description=("sgd_momentum_step(params, grads, velocity, lr, mu) -> (new_params, "
                 "new_velocity). params, grads and velocity are dicts name -> array with the "
                 "same keys and shapes; lr and mu are floats. v' = mu v - lr g; p' = p + v', "
                 "for every name. Returns two new dicts of new arrays with the same keys; the "
                 "arguments are left untouched."),
    lesson=9, notebook="09_multiclass_network",
    arg_names=("params", "grads", "velocity", "lr", "mu"),
    output_names=("new_params", "new_velocity"), reference=sgd_momentum_step,
    make_trials=_momentum_trials,
    requirements=[
        Requirement("returns new arrays; the arguments are left untouched", EVERY_TRIAL,
                    _momentum_in_place),
        Requirement("new dicts with the same keys", EVERY_TRIAL,
                    lambda params, grads, velocity, lr, mu: tuple(
                        list(d.values()) for d in sgd_momentum_step(params, grads, velocity,
                                                                     lr, mu))),
    ],
    mistakes=[
        ("You moved params with the OLD velocity: p' = p + v' uses the velocity you just "
         "computed.", partial(_momentum_variant, lambda v, g, lr, mu: mu * v - lr * g,
                              position_rule=lambda p, v_old, v_new: p + v_old)),
        ("Your step has the wrong sign: v' = mu v - lr g moves downhill, against the gradient.",
         partial(_momentum_variant, lambda v, g, lr, mu: mu * v + lr * g)),
        ("Your velocity ignores the learning rate: v' = mu v - lr g.",
         partial(_momentum_variant, lambda v, g, lr, mu: mu * v - g)),
        ("Your velocity forgets the old velocity: v' = mu v - lr g keeps mu times the last one.",
         partial(_momentum_variant, lambda v, g, lr, mu: -lr * g)),
        ("You multiplied the gradient by mu as well: v' = mu v - lr g.",
         partial(_momentum_variant, lambda v, g, lr, mu: mu * (v - lr * g))),
        ("You returned (new_velocity, new_params): the parameters come first.",
         lambda *args: sgd_momentum_step(*args)[::-1]),
    ],
    debug_hint=("Take one parameter, p = 1, g = 2, v = 0.5, lr = 0.1, mu = 0.9, by hand: "
                "v' = 0.45 - 0.2 = 0.25 and p' = 1.25."))
