"""Lesson 4, a tiny network: tiny_net_backprop."""

from functools import partial

import numpy as np

from bplib import functional as F
from bplib import models
from bplib.grading.exercises.common import (EVERY_TRIAL, Exercise, Requirement, Trial,
                                            away_from_zero, both_signs, numerical_network, scales)


def _tiny_net_trials(rng):
    """Batches of N scalar inputs of both signs, targets in (0, 1).

    N = 2 is left out on purpose: there "sum instead of mean" (N times too
    large) and "the 1/2 dropped" (twice too large) give the same answer.
    |w2| stays away from 1 so that a missing factor w2 shows clearly.
    """
    trials = []
    for label, n in [("a batch of N=5 inputs", 5), ("batch size 1: N=1", 1),
                     ("a batch of N=8 inputs", 8), ("a batch of N=3 inputs", 3)]:
        w1, sign = away_from_zero(rng, 1, low=0.3, high=2.0)[0], rng.choice([-1.0, 1.0])
        w2 = sign * rng.uniform(1.25, 2.5) ** rng.choice([-1.0, 1.0])  # |w2|: 0.4-0.8 or 1.25-2.5
        params = {"w1": float(w1), "b1": float(rng.uniform(-1.0, 1.0)),
                  "w2": float(w2), "b2": float(rng.uniform(-1.0, 1.0))}
        x = both_signs(rng, n)  # for n = 1, one number of either sign
        trials.append(Trial(label, (x * 1.5, rng.uniform(0.05, 0.95, size=n), params)))
    return trials


def _sigmoid_slope(z, s):
    return s * (1.0 - s)


def _slope_of_output(z, s):
    """The sigmoid's slope taken at its output s, as if s were the input."""
    return F.sigmoid_backward(s, np.ones_like(s))


def _output_formula_on_input(z, s):
    """s (1 - s) written with the input z in place of the output s."""
    return z * (1.0 - z)


def _tiny_net_variant(x, y_true, params, *, output_slope=_sigmoid_slope,
                      hidden_slope=_sigmoid_slope, w2_in_w1=True, w2_in_b1=True, scale=1.0,
                      loss_scale=None):
    """A wrong tiny_net_backprop: the right steps with some replaced.

    The slopes are functions of (z, s = sigmoid(z)); w2_in_w1 / w2_in_b1 say
    whether dL/dw1 / dL/db1 keep the factor w2; scale multiplies every
    gradient ("N" for the batch size) and loss_scale the loss (by default the
    same factor).
    """
    w1, b1, w2, b2 = (params[k] for k in ("w1", "b1", "w2", "b2"))
    z1 = w1 * x + b1
    h = F.sigmoid(z1)
    z2 = w2 * h + b2
    y = F.sigmoid(z2)
    factor, loss_factor = scales(x, scale, loss_scale)
    loss = float(np.mean(0.5 * (y - y_true) ** 2)) * loss_factor
    delta2 = factor * (y - y_true) / len(x) * output_slope(z2, y)
    through_h = delta2 * hidden_slope(z1, h)
    delta1 = through_h * w2
    return loss, {"w1": float(np.sum((delta1 if w2_in_w1 else through_h) * x)),
                  "b1": float(np.sum(delta1 if w2_in_b1 else through_h)),
                  "w2": float(np.sum(delta2 * h)), "b2": float(np.sum(delta2))}


def _tiny_grads_as_arrays(x, y_true, params):
    loss, grads = models.tiny_net_backprop(x, y_true, params)
    return loss, {name: np.array([g]) for name, g in grads.items()}


def _tiny_steps_params(x, y_true, params):
    loss, grads = models.tiny_net_backprop(x, y_true, params)
    params["w1"] -= 0.1 * grads["w1"]
    return loss, grads


TINY_NET_BACKPROP = Exercise(
    id="tiny_net_backprop", signature="tiny_net_backprop(x, y_true, params)",
    description=("(loss, grads) of the 1-1-1 sigmoid network on a batch x (N,): "
                 "z1 = w1 x + b1, h = sigmoid(z1), z2 = w2 h + b2, y = sigmoid(z2), "
                 "loss = mean over the batch of 1/2 (y - y_true)**2 with y_true (N,) in "
                 "(0, 1); params and grads are dicts of four floats w1, b1, w2, b2; params "
                 "unchanged."),
    lesson=4, notebook="04_tiny_network", arg_names=("x", "y_true", "params"),
    output_names=("loss", "grads"), reference=models.tiny_net_backprop,
    make_trials=_tiny_net_trials, numerical=partial(numerical_network, models.tiny_net_backprop),
    requirements=[
        Requirement("the loss is a mean over the batch", ("a batch of N=",),
                    partial(_tiny_net_variant, scale="N")),
        Requirement("grads are four floats", EVERY_TRIAL, _tiny_grads_as_arrays),
        Requirement("params unchanged", EVERY_TRIAL, _tiny_steps_params),
    ],
    shapes="x (N,), y_true (N,), params a dict of four floats",
    mistakes=[
        ("grads of w1 and b1 ignore the hidden sigmoid: delta1 = delta2 * w2 * h * (1 - h) "
         "(the activation's derivative h * (1 - h) is missing).",
         partial(_tiny_net_variant, hidden_slope=lambda z, s: 1.0)),
        ("Your gradients ignore the output sigmoid: delta2 = (y - y_true) * y * (1 - y) / N "
         "(the activation's derivative y * (1 - y) is missing).",
         partial(_tiny_net_variant, output_slope=lambda z, s: 1.0)),
        *[("You applied the sigmoid's slope to its output instead of its input: the slope "
           "at z is s * (1 - s) with s = sigmoid(z) the output you already have, i.e. "
           "y * (1 - y) and h * (1 - h). Taking the sigmoid of y or h again is one sigmoid "
           "too many.", partial(_tiny_net_variant, **slopes))
          for slopes in ({"output_slope": _slope_of_output, "hidden_slope": _slope_of_output},
                         {"output_slope": _slope_of_output},
                         {"hidden_slope": _slope_of_output})],
        *[("You used z * (1 - z), the slope written for the sigmoid's OUTPUT, on its input "
           "z: the slopes are y * (1 - y) and h * (1 - h), computed from the outputs "
           "y = sigmoid(z2) and h = sigmoid(z1).", partial(_tiny_net_variant, **slopes))
          for slopes in ({"output_slope": _output_formula_on_input,
                          "hidden_slope": _output_formula_on_input},
                         {"output_slope": _output_formula_on_input},
                         {"hidden_slope": _output_formula_on_input})],
        ("dL/dw1 and dL/db1 are missing the factor w2 = dz2/dh: going back through "
         "z2 = w2 h + b2 multiplies by w2, so delta1 = delta2 * w2 * h * (1 - h).",
         partial(_tiny_net_variant, w2_in_w1=False, w2_in_b1=False)),
        ("dL/dw1 is missing the factor w2 = dz2/dh: dL/dw1 = sum(delta1 * x) with "
         "delta1 = delta2 * w2 * h * (1 - h), the same delta1 as dL/db1.",
         partial(_tiny_net_variant, w2_in_w1=False)),
        ("Your loss and gradients are twice too large: you dropped the factor 1/2 of "
         "L = mean of 1/2 (y - y_true)**2, which is there to cancel the 2 of the square.",
         partial(_tiny_net_variant, scale=2.0)),
        ("Your loss is right but your gradients are twice too large: the 1/2 of the loss "
         "cancels the 2 of the square, so dL/dy = (y - y_true) / N.",
         partial(_tiny_net_variant, scale=2.0, loss_scale=1.0)),
        ("Your loss and gradients are N times too large: the loss is a MEAN over the batch, "
         "so divide the sum by N (and dL/dy = (y - y_true) / N).",
         partial(_tiny_net_variant, scale="N")),
        ("Your loss is right but your gradients are N times too large: the loss is a mean, "
         "so each sample's dL/dy = (y - y_true) / N carries the 1/N too.",
         partial(_tiny_net_variant, scale="N", loss_scale=1.0)),
        ("Your gradients have the wrong sign: dL/dy = (y - y_true) / N, the output minus "
         "the target.", partial(_tiny_net_variant, scale=-1.0, loss_scale=1.0)),
    ])
