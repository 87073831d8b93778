"""Lesson 7, softmax and cross-entropy: softmax_backward, mse_loss, softmax_cross_entropy."""

from functools import partial

import numpy as np

from bplib import functional as F
from bplib.grading.exercises.common import (EVERY_TRIAL, Exercise, Requirement, Trial,
                                            numerical_backward, numerical_loss)


def _softmax_trials(rng):
    trials = [Trial(f"z of shape {shape}", (rng.standard_normal(shape) * 2,
                                            rng.standard_normal(shape)))
              for shape in [(5, 7), (1, 4), (6, 3)]]
    z = rng.standard_normal((4, 5)) * 2 + np.array([[1000.0], [-1000.0], [1000.0], [-1000.0]])
    trials.append(Trial("logits of +-1000", (z, rng.standard_normal(z.shape)),
                        stability=True))
    return trials


def _softmax_diagonal_only(z, dout):
    p = F.softmax(z)
    return dout * p * (1 - p)


def _softmax_wrong_axis(z, dout):
    p = F.softmax(z)
    return p * (dout - (dout * p).sum(axis=0, keepdims=True))


def _mse_trials(rng):
    trials = []
    for label, shape in [("y of shape (6,)", (6,)), ("y of shape (5, 3)", (5, 3)),
                         ("batch size 1, y of shape (1, 4)", (1, 4)),
                         ("y of shape (2, 7)", (2, 7))]:
        trials.append(Trial(label, (rng.standard_normal(shape), rng.standard_normal(shape))))
    return trials


def _ce_trials(rng):
    trials = []
    for label, (n, c) in [("logits (5, 7)", (5, 7)), ("batch size 1, logits (1, 4)", (1, 4)),
                          ("logits (6, 3)", (6, 3)), ("logits (3, 2)", (3, 2))]:
        trials.append(Trial(label, (rng.standard_normal((n, c)) * 2,
                                    rng.integers(0, c, size=n))))
    trials.append(Trial("logits of +-1000", (rng.standard_normal((4, 5)) * 1000,
                                             rng.integers(0, 5, size=4)), stability=True))
    return trials


def _onehot(y, c):
    return np.eye(c)[y]


def _softmax_naive(z, dout):
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    return p * (dout - (dout * p).sum(axis=1, keepdims=True))


def _softmax_into_dout(z, dout):
    dout[...] = F.softmax_backward(z, dout)
    return dout


SOFTMAX_BACKWARD = Exercise(
    id="softmax_backward", signature="softmax_backward(z, dout)",
    description=("softmax_backward(z, dout) -> dz for p = softmax(z) taken row by row: z (N, C) "
                 "holds the logits of N samples (N = 1 too), dout = dL/dp has z's shape. Returns "
                 "dz = dL/dz, a new float64 array shaped like z; finite, with no overflow "
                 "warning, for logits of +-1000. Arguments unchanged."),
    lesson=7, notebook="07_softmax_cross_entropy", arg_names=("z", "dout"), output_names=("dz",),
    reference=F.softmax_backward, make_trials=_softmax_trials,
    numerical=partial(numerical_backward, F.softmax, 1),
    requirements=[
        Requirement("finite, with no overflow warning, for logits of +-1000",
                    ("logits of +-1000",),
                    _softmax_naive),
        Requirement("a batch of one sample, z (1, C)", ("z of shape (1, 4)",),
                    lambda z, dout: F.softmax_backward(z.squeeze(), dout.squeeze())),
        Requirement("arguments unchanged", EVERY_TRIAL, _softmax_into_dout),
    ],
    shapes="z (N, C) and dout (N, C)",
    overflow_hint=("np.exp(z) overflows for logits of 1000. Subtract each row's maximum "
                   "before exponentiating: softmax is unchanged and every exp is <= 1."),
    mistakes=[
        ("You used only the diagonal of the softmax Jacobian, p * (1 - p). Every output "
         "depends on every logit of its row: dz = p * (dout - sum(dout * p, axis=1)).",
         _softmax_diagonal_only),
        ("You summed over the wrong axis: the sum in p * (dout - sum(dout * p)) runs over "
         "the classes of each row, axis=1 (with keepdims=True).", _softmax_wrong_axis),
        ("Your gradient has the wrong sign.", lambda z, dout: -F.softmax_backward(z, dout)),
        ("You returned the softmax itself: multiply by the Jacobian's action on dout instead.",
         lambda z, dout: F.softmax(z)),
    ])

def _mse_in_place(y_pred, y_true):
    y_pred -= y_true  # y_pred now holds the difference
    return float(np.mean(y_pred ** 2)), 2 * y_pred / y_pred.size


MSE_LOSS = Exercise(
    id="mse_loss", signature="mse_loss(y_pred, y_true)",
    description=("mse_loss(y_pred, y_true) -> (loss, dy_pred). y_pred and y_true have the same "
                 "(any) shape; loss = mean over all elements of (y_pred - y_true)**2, a float; "
                 "dy_pred = dL/dy_pred, a float64 array shaped like y_pred. Arguments unchanged."),
    lesson=7, notebook="07_softmax_cross_entropy", arg_names=("y_pred", "y_true"),
    output_names=("loss", "dy_pred"), reference=F.mse_loss, make_trials=_mse_trials,
    numerical=partial(numerical_loss, lambda p, t: F.mse_loss(p, t)[0]),
    requirements=[
        Requirement("the mean runs over all elements", ("y of shape (5, 3)", "batch size 1",
                                                        "y of shape (2, 7)"),
                    lambda p, t: (float(np.mean((p - t) ** 2)), 2 * (p - t) / len(p))),
        Requirement("loss is a float", EVERY_TRIAL,
                    lambda p, t: (np.array([F.mse_loss(p, t)[0]]), F.mse_loss(p, t)[1])),
        Requirement("arguments unchanged", EVERY_TRIAL, _mse_in_place),
    ],
    shapes="y_pred and y_true of the same shape",
    mistakes=[
        ("dy_pred is half the right size: d/du of u**2 is 2u, so the factor 2 belongs in "
         "the gradient.", lambda p, t: (F.mse_loss(p, t)[0], (p - t) / p.size)),
        ("dy_pred is missing the 1/size of the mean: divide by the number of elements.",
         lambda p, t: (F.mse_loss(p, t)[0], 2 * (p - t))),
        ("dy_pred divides by the number of rows; the loss is a mean over ALL elements "
         "(y_pred.size).", lambda p, t: (F.mse_loss(p, t)[0], 2 * (p - t) / len(p))),
        ("dy_pred has the wrong sign: it is 2 (y_pred - y_true) / size.",
         lambda p, t: (F.mse_loss(p, t)[0], -F.mse_loss(p, t)[1])),
        ("Your loss and gradient are those of half the squared error; this exercise's loss "
         "is mean((y_pred - y_true)**2), without the 1/2.",
         lambda p, t: (F.mse_loss(p, t)[0] / 2, F.mse_loss(p, t)[1] / 2)),
    ])

def _ce_naive(logits, y):
    e = np.exp(logits)
    p = e / e.sum(axis=1, keepdims=True)
    n = len(y)
    return float(-np.mean(np.log(p[np.arange(n), y]))), (p - _onehot(y, p.shape[1])) / n


def _ce_squeezes(logits, y):
    z = logits.squeeze()  # (C,) for a single sample: axis=1 no longer exists
    z = z - z.max(axis=1, keepdims=True)
    return F.softmax_cross_entropy(z, y)


def _ce_shifts_logits_in_place(logits, y):
    logits -= logits.max(axis=1, keepdims=True)  # softmax is unchanged, the caller's array is not
    return F.softmax_cross_entropy(logits, y)


SOFTMAX_CROSS_ENTROPY = Exercise(
    id="softmax_cross_entropy", signature="softmax_cross_entropy(logits, y)",
    description=("softmax_cross_entropy(logits, y) -> (loss, dlogits). logits (N, C) (N = 1 too), "
                 "y (N,) integer labels in 0..C-1; loss = mean over the N samples of "
                 "-log softmax(logits)[n, y[n]], a float; dlogits = dL/dlogits, shaped like "
                 "logits. Finite and correct, with no warnings, for logits of +-1000. Arguments "
                 "unchanged."),
    lesson=7, notebook="07_softmax_cross_entropy", arg_names=("logits", "y"),
    output_names=("loss", "dlogits"), reference=F.softmax_cross_entropy,
    make_trials=_ce_trials, numerical=partial(
        numerical_loss,
        lambda z, y: F.softmax_cross_entropy(z, y)[0]),
    requirements=[
        Requirement("finite and correct, with no warnings, for logits of +-1000",
                    ("logits of +-1000",), _ce_naive),
        Requirement("a batch of one sample, logits (1, C)", ("batch size 1",), _ce_squeezes),
        Requirement("loss is a float", EVERY_TRIAL,
                    lambda z, y: (np.array([F.softmax_cross_entropy(z, y)[0]]),
                                  F.softmax_cross_entropy(z, y)[1])),
        Requirement("arguments unchanged", EVERY_TRIAL, _ce_shifts_logits_in_place),
    ],
    shapes="logits (N, C), y (N,)",
    overflow_hint=("With logits of +-1000, np.exp(logits) overflows, and softmax "
                   "probabilities underflow to 0 so that log(0) = -inf. Subtract each row's "
                   "maximum first, and compute the log-probabilities as z - logsumexp(z) "
                   "instead of log(softmax(z))."),
    mistakes=[
        ("dlogits is missing the 1/N of the mean over the batch: (softmax(z) - onehot(y)) / N.",
         lambda z, y: (F.softmax_cross_entropy(z, y)[0],
                       F.softmax(z) - _onehot(y, z.shape[1]))),
        ("dlogits has the wrong sign: it is (p - onehot(y)) / N.",
         lambda z, y: (F.softmax_cross_entropy(z, y)[0],
                       -F.softmax_cross_entropy(z, y)[1])),
        ("dlogits is softmax(z) / N: subtract 1 at each row's true class.",
         lambda z, y: (F.softmax_cross_entropy(z, y)[0], F.softmax(z) / len(z))),
        ("You clipped the probabilities at 1e-7. With logits of +-1000 the true class's "
         "probability is far below that, so the loss comes "
         "out wrong. Compute it as logsumexp(z) - z[y], which needs no clipping.",
         lambda z, y: (float(np.mean(-np.log(np.clip(F.softmax(z)[np.arange(len(y)), y],
                                                     1e-7, 1.0)))),
                       F.softmax_cross_entropy(z, y)[1])),
        ("You divided by N * C: the loss is a mean over the N samples, not over all entries.",
         lambda z, y: (F.softmax_cross_entropy(z, y)[0] / z.shape[1],
                       F.softmax_cross_entropy(z, y)[1] / z.shape[1])),
    ])
