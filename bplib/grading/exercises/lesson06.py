"""Lesson 6, activations: relu, sigmoid, tanh, ELU and GELU backward."""

from functools import partial

import numpy as np

from bplib import functional as F
from bplib.grading.exercises.common import (EVERY_TRIAL, Exercise, Requirement, Trial,
                                            away_from_zero, both_signs, numerical_backward)


def _elementwise_trials(rng):
    """z of several shapes (both signs, away from 0), and a large-input trial."""
    trials = []
    for label, shape in [("z of shape (5, 7)", (5, 7)),
                         ("batch size 1, z of shape (1, 6)", (1, 6)),
                         ("one-dimensional z of shape (9,)", (9,)),
                         ("z of shape (4, 3, 2)", (4, 3, 2))]:
        trials.append(Trial(label, (both_signs(rng, shape), rng.standard_normal(shape))))
    z = both_signs(rng, (3, 5))
    z[1:] *= 500.0  # huge rows, and one ordinary row that still checks values
    z[1, 0], z[2, -1] = 1000.0, -1000.0
    trials.append(Trial("large inputs, |z| up to 1000", (z, rng.standard_normal(z.shape)),
                        stability=True))
    return trials


def _relu_trials(rng):
    trials = _elementwise_trials(rng)
    z = both_signs(rng, (4, 6))
    z[rng.random(z.shape) < 0.4] = 0.0
    z[0, 0] = z[-1, -1] = 0.0
    dout = away_from_zero(rng, z.shape, low=0.5)
    trials.append(Trial("z with entries exactly 0 (the kink)", (z, dout), gradcheck=False))
    return trials


# Every trial but the one-dimensional one: what a loop over len(z) gets wrong.
_MORE_THAN_ONE_AXIS = ("z of shape", "batch size 1", "large inputs")


def _vectors_only(backward, z, dout, *args):
    """A right answer for one-dimensional z only: a loop over len(z)."""
    dz = np.zeros(len(z))
    for i in range(len(z)):
        dz[i] = backward(z[i:i + 1], dout[i:i + 1], *args)[0]
    return dz


def _overwrites_dout(backward, z, dout, *args):
    """The right values, written into the caller's dout."""
    dout[...] = backward(z, dout, *args)
    return dout


def _float32(backward, z, dout, *args):
    return backward(z, dout, *args).astype(np.float32)


def _elementwise_requirements(backward, more_than_one_axis=_MORE_THAN_ONE_AXIS):
    return [
        Requirement("z and dout have any (the same) shape", more_than_one_axis,
                    partial(_vectors_only, backward)),
        Requirement("dz is a float64 array shaped like z", EVERY_TRIAL,
                    partial(_float32, backward)),
        Requirement("arguments unchanged", EVERY_TRIAL, partial(_overwrites_dout, backward)),
    ]


_STABLE = "finite, with no overflow warning, for |z| up to 1000"


RELU_BACKWARD = Exercise(
    id="relu_backward", signature="relu_backward(z, dout)",
    description=("relu_backward(z, dout) -> dz for relu(z) = max(0, z) element-wise. z: the "
                 "pre-activations, any shape; dout: dL/d relu(z), the same shape. Returns "
                 "dz = dL/dz, a new float64 array shaped like z. ReLU's slope at z = 0 is "
                 "taken as 0. Arguments unchanged."),
    lesson=6, notebook="06_activations", arg_names=("z", "dout"), output_names=("dz",),
    reference=F.relu_backward, make_trials=_relu_trials,
    numerical=partial(numerical_backward, F.relu, 1),
    requirements=[
        Requirement("the slope at z = 0 is 0", ("z with entries exactly 0",),
                    lambda z, dout: dout * (z >= 0)),
        *_elementwise_requirements(F.relu_backward,
                                   _MORE_THAN_ONE_AXIS + ("z with entries exactly 0",)),
    ],
    mistakes=[
        ("You multiplied dout by relu(z), the activation's output, where its slope "
         "(1 where z > 0, else 0) belongs.", lambda z, dout: F.relu(z) * dout),
        ("You masked by the sign of dout; the mask comes from the input: keep dout where z > 0.",
         lambda z, dout: dout * (dout > 0)),
        ("You returned the slope alone: multiply it by the upstream gradient dout.",
         lambda z, dout: (z > 0).astype(float)),
        ("You returned dout unchanged: zero it where z <= 0 (the activation's derivative is "
         "missing).", lambda z, dout: dout.astype(float)),
        ("Your gradient has the wrong sign.", lambda z, dout: -F.relu_backward(z, dout)),
        ("At z = 0 exactly you passed dout through (z >= 0): ReLU's slope at its kink is "
         "taken as 0 here, so keep dout only where z > 0.", lambda z, dout: dout * (z >= 0)),
    ])

SIGMOID_BACKWARD = Exercise(
    id="sigmoid_backward", signature="sigmoid_backward(z, dout)",
    description=("sigmoid_backward(z, dout) -> dz for s = sigmoid(z) = 1 / (1 + exp(-z)) "
                 "element-wise. z: the pre-activations, any shape; dout: dL/ds, the same "
                 "shape. Returns dz = dL/dz, a new float64 array shaped like z; " + _STABLE
                 + ". Arguments unchanged."),
    lesson=6, notebook="06_activations", arg_names=("z", "dout"), output_names=("dz",),
    reference=F.sigmoid_backward, make_trials=_elementwise_trials,
    numerical=partial(numerical_backward, F.sigmoid, 1),
    requirements=[
        Requirement(_STABLE, ("large inputs",),
                    lambda z, dout: dout * np.exp(-z) / (1 + np.exp(-z)) ** 2),
        *_elementwise_requirements(F.sigmoid_backward),
    ],
    overflow_hint=("np.exp(-z) overflows for z below about -709. Use the stable form: with "
                   "e = np.exp(-np.abs(z)), sigmoid is 1 / (1 + e) where z >= 0 and "
                   "e / (1 + e) where z < 0 (or call bplib's stable sigmoid)."),
    mistakes=[
        ("You used z * (1 - z), the slope written for the sigmoid's OUTPUT, on its input z. "
         "Compute s = sigmoid(z) first, then s * (1 - s) * dout.",
         lambda z, dout: z * (1 - z) * dout),
        ("You returned sigmoid(z) * dout: the slope of the sigmoid is s * (1 - s), not s.",
         lambda z, dout: F.sigmoid(z) * dout),
        ("You returned dout unchanged: the activation's derivative s * (1 - s) is missing.",
         lambda z, dout: dout.astype(float)),
        ("You returned the slope alone: multiply it by the upstream gradient dout.",
         lambda z, dout: F.sigmoid_backward(z, np.ones_like(dout))),
        ("Your gradient has the wrong sign: the slope is s * (1 - s), which is positive.",
         lambda z, dout: -F.sigmoid_backward(z, dout)),
    ])

TANH_BACKWARD = Exercise(
    id="tanh_backward", signature="tanh_backward(z, dout)",
    description=("tanh_backward(z, dout) -> dz for t = tanh(z) element-wise. z: the "
                 "pre-activations, any shape; dout: dL/dt, the same shape. Returns dz = dL/dz, "
                 "a new float64 array shaped like z; " + _STABLE + ". Arguments unchanged."),
    lesson=6, notebook="06_activations", arg_names=("z", "dout"), output_names=("dz",),
    reference=F.tanh_backward, make_trials=_elementwise_trials,
    numerical=partial(numerical_backward, F.tanh, 1),
    requirements=[
        Requirement(_STABLE, ("large inputs",), lambda z, dout: dout / np.cosh(z) ** 2),
        *_elementwise_requirements(F.tanh_backward),
    ],
    mistakes=[
        ("You used 1 - z**2, the slope written for tanh's OUTPUT, on its input z: compute "
         "t = np.tanh(z) first, then (1 - t**2) * dout.", lambda z, dout: (1 - z ** 2) * dout),
        ("You returned tanh(z) * dout: the slope of tanh is 1 - tanh(z)**2.",
         lambda z, dout: np.tanh(z) * dout),
        ("You returned dout unchanged: the activation's derivative 1 - tanh(z)**2 is missing.",
         lambda z, dout: dout.astype(float)),
        ("You used 1 + tanh(z)**2: the derivative of tanh is 1 - tanh(z)**2.",
         lambda z, dout: (1 + np.tanh(z) ** 2) * dout),
        ("You returned the slope alone: multiply it by the upstream gradient dout.",
         lambda z, dout: 1 - np.tanh(z) ** 2),
    ])


# --------------------------------------------------------------------------
# elu_backward: an activation the lesson does not derive
# --------------------------------------------------------------------------

def elu(z, alpha=1.0):
    """ELU(z) = z for z > 0, alpha (exp(z) - 1) for z <= 0; no overflow for large z."""
    return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0)))


def elu_backward(z, dout, alpha=1.0):
    """dL/dz for ELU; z and dout of any (the same) shape, alpha a float.

    The slope is 1 for z > 0 and alpha exp(z) for z <= 0 (exp of min(z, 0),
    so that a large positive z never reaches exp).
    """
    return dout * np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0.0)))


def _elu_trials(rng):
    trials = _elementwise_trials(rng)
    for label, alpha, shape in [("alpha=0.5, z of shape (6, 4)", 0.5, (6, 4)),
                                ("alpha=2.0, z of shape (3, 5)", 2.0, (3, 5))]:
        trials.append(Trial(label, (both_signs(rng, shape), rng.standard_normal(shape), alpha)))
    return trials


def _elu_numerical(args):
    z, dout, *rest = args
    return numerical_backward(lambda v: elu(v, *rest), 1, (z, dout))


def _elu_variant(slope_below, z, dout, alpha=1.0, *, slope_above=lambda z, alpha: 1.0):
    """A wrong elu_backward: dout times the given slopes for z <= 0 and z > 0."""
    below = slope_below(np.minimum(z, 0.0), alpha)  # exp of z <= 0 cannot overflow
    return dout * np.where(z > 0, slope_above(z, alpha), below)


ELU_BACKWARD = Exercise(
    id="elu_backward", signature="elu_backward(z, dout, alpha=1.0)",
    description=("elu_backward(z, dout, alpha=1.0) -> dz for ELU(z) = z where z > 0 and "
                 "alpha (exp(z) - 1) where z <= 0, element-wise. z: the pre-activations, any "
                 "shape; dout: dL/d ELU(z), the same shape; alpha: a positive float. Returns "
                 "dz = dL/dz, a new float64 array shaped like z; " + _STABLE
                 + ". Arguments unchanged."),
    lesson=6, notebook="06_activations", arg_names=("z", "dout", "alpha"), output_names=("dz",),
    reference=elu_backward, make_trials=_elu_trials, numerical=_elu_numerical,
    requirements=[
        Requirement(_STABLE, ("large inputs",),
                    lambda z, dout, alpha=1.0: dout * np.where(z > 0, 1.0, alpha * np.exp(z))),
        Requirement("alpha is ELU's parameter (default 1.0)", ("alpha=",),
                    lambda z, dout, alpha=1.0: elu_backward(z, dout)),
        *_elementwise_requirements(elu_backward, _MORE_THAN_ONE_AXIS + ("alpha=",)),
    ],
    mistakes=[
        ("Your slope for z <= 0 is ELU(z) = alpha (exp(z) - 1), the activation itself: "
         "differentiate it (d/dz of exp(z) - 1 is exp(z)).",
         partial(_elu_variant, lambda z, alpha: alpha * np.expm1(z))),
        ("Your slope for z <= 0 lacks the factor alpha: d/dz alpha (exp(z) - 1) = alpha exp(z).",
         partial(_elu_variant, lambda z, alpha: np.exp(z))),
        ("You used the slope of the negative side, alpha exp(z), for every z: for z > 0, ELU(z) "
         "= z and its slope is 1.",
         partial(_elu_variant, lambda z, alpha: alpha * np.exp(z),
                 slope_above=lambda z, alpha: alpha * np.exp(np.minimum(z, 700.0)))),
        ("You returned the slope alone: multiply it by the upstream gradient dout.",
         lambda z, dout, alpha=1.0: elu_backward(z, np.ones_like(dout), alpha)),
        ("Your gradient is 0 for z <= 0, as for ReLU: ELU keeps a slope alpha exp(z) there.",
         partial(_elu_variant, lambda z, alpha: 0.0 * z)),
        ("You swapped the two sides: the slope is 1 where z > 0 and alpha exp(z) where z <= 0.",
         lambda z, dout, alpha=1.0: dout * np.where(z > 0, alpha * np.exp(np.minimum(z, 700.0)),
                                                    1.0)),
        ("Your gradient has the wrong sign.",
         lambda z, dout, alpha=1.0: -elu_backward(z, dout, alpha)),
    ],
    overflow_hint=("np.exp(z) overflows for z above about 709, even where np.where then "
                   "picks the other branch: np.where evaluates both. Take exp of "
                   "np.minimum(z, 0), which is all the z <= 0 branch needs."),
    debug_hint=("Compare with the numerical gradient of np.sum(elu(z) * dout) on a tiny z "
                "with both signs, for alpha = 1 and for alpha = 2."))


# --------------------------------------------------------------------------
# gelu_backward: GELU in its tanh form
# --------------------------------------------------------------------------

_GELU_C = np.sqrt(2.0 / np.pi)
_GELU_A = 0.044715


def gelu(z):
    """GELU, tanh form: 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))."""
    return 0.5 * z * (1.0 + np.tanh(_GELU_C * (z + _GELU_A * z ** 3)))


def gelu_backward(z, dout):
    """dL/dz for the tanh-form GELU; z and dout of any (the same) shape.

    With u = c (z + a z^3) and t = tanh(u), the product and chain rules give
    d gelu/dz = 0.5 (1 + t) + 0.5 z (1 - t^2) c (1 + 3 a z^2); every factor
    stays finite for |z| up to 1000 (t is exactly +-1 there, and 1 - t^2 = 0).
    """
    t = np.tanh(_GELU_C * (z + _GELU_A * z ** 3))
    slope = 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * _GELU_C * (1.0 + 3 * _GELU_A * z * z)
    return dout * slope


def _gelu_variant(z, dout, *, du_dz, c_in_u=_GELU_C):
    """A wrong gelu_backward: u = c_in_u (z + 0.044715 z^3), and du_dz(z) for the
    chain rule's factor du/dz."""
    t = np.tanh(c_in_u * (z + _GELU_A * z ** 3))
    return dout * (0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * du_dz(z))


def _gelu_erf(z, dout):
    """The derivative of the exact GELU, z Phi(z): Phi(z) + z phi(z)."""
    from math import erf
    phi = np.exp(-0.5 * np.minimum(z * z, 1e4)) / np.sqrt(2 * np.pi)
    Phi = 0.5 * (1.0 + np.vectorize(erf)(z / np.sqrt(2.0)))
    return dout * (Phi + z * phi)


GELU_BACKWARD = Exercise(
    id="gelu_backward", signature="gelu_backward(z, dout)",
    description=("gelu_backward(z, dout) -> dz for GELU in its tanh form, gelu(z) = 0.5 z "
                 "(1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))), element-wise. z: the "
                 "pre-activations, any shape; dout: dL/d gelu(z), the same shape. Returns "
                 "dz = dL/dz, a new float64 array shaped like z; finite, with no warnings, for "
                 "|z| up to 1000. Arguments unchanged."),
    lesson=6, notebook="06_activations", arg_names=("z", "dout"), output_names=("dz",),
    reference=gelu_backward, make_trials=_elementwise_trials,
    numerical=partial(numerical_backward, gelu, 1),
    requirements=[
        Requirement("finite, with no warnings, for |z| up to 1000", ("large inputs",),
                    lambda z, dout: dout * (0.5 * (1.0 + np.tanh(_GELU_C * (z + _GELU_A * z ** 3)))
                                            + 0.5 * z * _GELU_C * (1.0 + 3 * _GELU_A * z * z)
                                            / np.cosh(_GELU_C * (z + _GELU_A * z ** 3)) ** 2)),
        *_elementwise_requirements(gelu_backward),
    ],
    mistakes=[
        ("You differentiated only the factor z: gelu(z) = 0.5 z (1 + tanh(u)) is a PRODUCT "
         "of z and (1 + tanh(u)), which depends on z too, so the product rule gives a second "
         "term, 0.5 z (1 - tanh(u)^2) du/dz.",
         partial(_gelu_variant, du_dz=lambda z: 0.0 * z)),
        *[("You left out the inner derivative du/dz = sqrt(2/pi) (1 + 3 * 0.044715 z^2) of "
           "u = sqrt(2/pi) (z + 0.044715 z^3), or part of it: the chain rule multiplies by "
           "all of it.", partial(_gelu_variant, du_dz=du_dz))
          for du_dz in (lambda z: 1.0, lambda z: _GELU_C + 0.0 * z)],
        *[("Your slope misses the factor sqrt(2/pi) of u = sqrt(2/pi) (z + 0.044715 z^3): it "
           "is in tanh(u) and in du/dz = sqrt(2/pi) (1 + 3 * 0.044715 z^2).",
           partial(_gelu_variant, c_in_u=c_in_u, du_dz=lambda z: 1.0 + 3 * _GELU_A * z * z))
          for c_in_u in (_GELU_C, 1.0)],
        ("You differentiated the exact GELU, z Phi(z) with the normal CDF Phi. This exercise's "
         "GELU is the tanh form: differentiate 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))).",
         _gelu_erf),
        ("You returned gelu(z) * dout: multiply dout by GELU's slope, not by its value.",
         lambda z, dout: gelu(z) * dout),
        ("You returned the slope alone: multiply it by the upstream gradient dout.",
         lambda z, dout: gelu_backward(z, np.ones_like(dout))),
        ("Your gradient has the wrong sign.", lambda z, dout: -gelu_backward(z, dout)),
    ],
    overflow_hint=("cosh(u) or exp(2u) overflows for |z| in the hundreds (u grows like z^3): "
                   "write the slope with t = np.tanh(u), using 1 - t**2 for sech(u)**2; "
                   "tanh never overflows."),
    debug_hint=("Compare with the numerical gradient of np.sum(gelu(z) * dout) on a tiny z; "
                "then check the two terms of the product rule one at a time."))
