"""Lesson 1, three ways to a gradient: numerical_gradient."""

import numpy as np

from bplib.gradcheck import numerical_gradient
from bplib.grading import trials
from bplib.grading.exercises.common import EVERY_TRIAL, Exercise, Requirement, Trial


class SmoothFunction(trials.SmoothFunction):
    """The trials module's smooth function, drawn at random, with its exact gradient
    (which stays here, with the grader: the student-side class has none)."""

    def __init__(self, rng, shape):
        super().__init__(rng.uniform(0.5, 1.5, size=shape), rng.standard_normal(shape))

    def gradient(self, x):
        return self.A * np.cos(self.A * x) + 2 * self.B * x


def _numerical_gradient_trials(rng):
    shapes = [("one-dimensional x of shape (5,)", (5,)), ("x of shape (3, 4)", (3, 4)),
              ("x of shape (2, 3, 4)", (2, 3, 4)), ("x a 0-d array", ())]
    trials = []
    for label, shape in shapes:
        x = rng.standard_normal(shape)
        trials.append(Trial(label, (SmoothFunction(rng, shape), x)))
    # A large step, so that an answer ignoring h (always 1e-5) is off by far more
    # than the grader's tolerance; central differences are not the truth here.
    x = rng.standard_normal((4, 2))
    trials.append(Trial("x of shape (4, 2) with h=1e-2",
                        (SmoothFunction(rng, (4, 2)), x, 1e-2), gradcheck=False))
    return trials


def _forward_difference(f, x, h):
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    f0 = f(x)
    for i in range(x.size):
        shifted = x.copy()
        shifted.flat[i] += h
        grad.flat[i] = (f(shifted) - f0) / h
    return grad


def _one_dimensional_loop(f, x, h=1e-5):
    """Right for vectors only: loops over len(x) and indexes x[i]."""
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for i in range(len(x)):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def _perturbs_the_callers_x(f, x, h=1e-5):
    """Right values on the trials' separable functions, but x is left shifted by -h."""
    grad = np.zeros_like(x, dtype=float)
    for i in range(x.size):
        x.flat[i] += h
        f_plus = f(x)
        x.flat[i] -= 2 * h
        f_minus = f(x)
        grad.flat[i] = (f_plus - f_minus) / (2 * h)
    return grad


def _ignores_h(f, x, h=1e-5):
    return numerical_gradient(f, x)


def _numerical_gradient_exact(args):
    """The exact gradient of the trial's function, for the gradient check."""
    f, x = args[0], args[1]
    return f.gradient(x)


NUMERICAL_GRADIENT = Exercise(
    id="numerical_gradient", signature="numerical_gradient(f, x, h=1e-5)",
    description=("numerical_gradient(f, x, h=1e-5) -> grad. f takes an array shaped like x and "
                 "returns a number; x is a float array of any shape (a 0-d array too). "
                 "grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2h) for every index i, where "
                 "e_i is 1 at index i and 0 elsewhere: a float64 array shaped like x. "
                 "x must be unchanged after the call."),
    lesson=1, notebook="01_three_ways_to_a_gradient", arg_names=("f", "x", "h"),
    output_names=("grad",), reference=numerical_gradient,
    make_trials=_numerical_gradient_trials, numerical=_numerical_gradient_exact,
    requirements=[
        Requirement("x may have any shape, a 0-d array too",
                    ("x of shape (", "x a 0-d array"),
                    _one_dimensional_loop),
        Requirement("x must be unchanged after the call", EVERY_TRIAL, _perturbs_the_callers_x),
        Requirement("h is the step", ("x of shape (4, 2) with h=",), _ignores_h),
    ],
    one_dimensional_hint=("Your code handles one-dimensional x only: it passed the "
                          "one-dimensional trial and failed on x with more (or no) axes. Loop "
                          "over every index of x, e.g. `for i in np.ndindex(x.shape):`, "
                          "not over range(len(x))."),
    debug_hint=("Try f(x) = np.sum(x ** 2), whose gradient is 2 x, on a small x of shape "
                "(2, 3), and compare your result entry by entry."),
    mistakes=[
        ("You used the forward difference (f(x + h) - f(x)) / h. The central difference "
         "(f(x + h) - f(x - h)) / (2h) is far more accurate: its error shrinks like h**2.",
         lambda f, x, h=1e-5: _forward_difference(f, x, h)),
        ("Your gradient is twice too large: the two evaluations are 2h apart, so divide by 2h.",
         lambda f, x, h=1e-5: 2 * numerical_gradient(f, x, h)),
        ("Your gradient is half the right size: divide the difference by 2h, not 4h "
         "(or perturb by +h and -h, not +h/2 and -h/2).",
         lambda f, x, h=1e-5: 0.5 * numerical_gradient(f, x, h)),
        ("Your gradient has the wrong sign: compute f(x + h) - f(x - h), in that order.",
         lambda f, x, h=1e-5: -numerical_gradient(f, x, h)),
        ("Your gradient is all zeros: the perturbations never reached f. x.flatten() and "
         "x.ravel() of some arrays are copies; perturb x itself (x[idx] for idx in "
         "np.ndindex(x.shape), or the view x.reshape(-1) of a contiguous copy).",
         lambda f, x, h=1e-5: np.zeros(np.shape(x))),
    ])
