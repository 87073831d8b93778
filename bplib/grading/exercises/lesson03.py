"""Lesson 3, a single neuron: neuron_backward."""

from functools import partial

import numpy as np

from bplib import functional as F
from bplib import models
from bplib.grading.exercises.common import (EVERY_TRIAL, Exercise, Requirement, Trial,
                                            numerical_backward)


def _neuron_trials(rng):
    trials = [Trial("the chapter's neuron x=[1,-2,3], w=[-3,-1,2], b=1, dy=1",
                    (np.array([1.0, -2.0, 3.0]), np.array([-3.0, -1.0, 2.0]), 1.0, 1.0))]
    for label, sign, d in [("an active neuron (s > 0), D=5", 1, 5),
                           ("an inactive neuron (s < 0), D=4", -1, 4),
                           ("D=1", 1, 1), ("an active neuron, D=7", 1, 7)]:
        x, w = rng.standard_normal(d), rng.standard_normal(d)
        s = float(x @ w)
        b = sign * rng.uniform(0.5, 1.5) - s  # puts s = x.w + b well away from 0
        trials.append(Trial(label, (x, w, float(b), float(rng.uniform(0.5, 2.0)))))
    # Small integers, so that s = x . w + b is exactly 0: ReLU's slope there is 0.
    x, w = rng.integers(-3, 4, size=4).astype(float), rng.integers(-3, 4, size=4).astype(float)
    w[0] = 2.0  # dw = dy * x and dx = dy * w are not all zero if the slope were 1
    trials.append(Trial("s = x . w + b exactly 0 (the kink), D=4",
                        (x, w, float(-(x @ w)), float(rng.uniform(0.5, 2.0))), gradcheck=False))
    return trials


def _neuron_forward_vectorised(x, w, b):
    return F.relu(np.dot(x, w) + b)


def _neuron_numerical(args):
    dx, dw, db = numerical_backward(_neuron_forward_vectorised, 3, args)
    return dx, dw, float(db)


def _slope_one_at_zero(x, w, b, dy):
    x, w = np.asarray(x, float), np.asarray(w, float)
    ds = dy if x @ w + b >= 0 else 0.0
    return ds * w, ds * x, float(ds)


def _db_an_array(x, w, b, dy):
    dx, dw, db = models.neuron_backward(x, w, b, dy)
    return dx, dw, np.array([db])


def _squeezes(x, w, b, dy):
    dx, dw, db = models.neuron_backward(x, w, b, dy)
    return dx.squeeze(), dw.squeeze(), db


def _modifies_x(x, w, b, dy):
    out = models.neuron_backward(x.copy(), w, b, dy)
    x += 1.0  # in place
    return out


def _neuron_no_relu(x, w, b, dy):
    return dy * np.asarray(w, float), dy * np.asarray(x, float), float(dy)


def _neuron_swapped(x, w, b, dy):
    dx, dw, db = models.neuron_backward(x, w, b, dy)
    return dw, dx, db


def _neuron_ignores_dy(x, w, b, dy):
    return models.neuron_backward(x, w, b, 1.0)


NEURON_BACKWARD = Exercise(
    id="neuron_backward", signature="neuron_backward(x, w, b, dy)",
    description=("neuron_backward(x, w, b, dy) -> (dx, dw, db), the gradients of one ReLU neuron "
                 "y = max(0, s), s = x . w + b, given dy = dL/dy. x and w have shape (D,) "
                 "(D = 1 too), b and dy are floats; dx and dw have shape (D,) and db is a "
                 "float. The ReLU's slope is 1 where s > 0 and 0 where s <= 0 (at s = 0 too). "
                 "Arguments unchanged."),
    lesson=3, notebook="03_single_neuron", arg_names=("x", "w", "b", "dy"),
    output_names=("dx", "dw", "db"), reference=models.neuron_backward,
    make_trials=_neuron_trials, numerical=_neuron_numerical,
    requirements=[
        Requirement("the slope is 0 where s < 0", ("an inactive neuron",), _neuron_no_relu,
                    also_fails=("s = x . w + b exactly 0",)),  # no slope of 0 at s = 0 either
        Requirement("the slope is 0 at s = 0", ("s = x . w + b exactly 0",), _slope_one_at_zero),
        Requirement("db is a float", EVERY_TRIAL, _db_an_array),
        Requirement("x and w have shape (D,), D = 1 too", ("D=1",), _squeezes),
        Requirement("arguments unchanged", EVERY_TRIAL, _modifies_x),
    ],
    shapes="x (D,), w (D,), b and dy floats",
    debug_hint=("Work the chapter's neuron by hand (x = [1, -2, 3], w = [-3, -1, 2], b = 1, "
                "dy = 1: s = 6, dw = x) and compare each of dx, dw, db with yours."),
    mistakes=[  # the kink first: an answer without any ReLU also matches it there
        ("At s = 0 exactly your neuron passes the gradient (s >= 0): the ReLU's slope at its "
         "kink is taken as 0, so use s > 0.", _slope_one_at_zero),
        ("Your gradients are not zero when the neuron is off (x . w + b < 0). ReLU's slope is "
         "0 there, so every gradient must be multiplied by [x . w + b > 0].", _neuron_no_relu),
        ("You swapped dx and dw: d(x . w)/dx = w and d(x . w)/dw = x.", _neuron_swapped),
        ("You left out the upstream gradient dy: multiply by it (the chain rule).",
         _neuron_ignores_dy),
    ])
