"""Lesson 11, gradient checking: relative_error."""

import numpy as np

from bplib.gradcheck import relative_error
from bplib.grading.exercises.common import EVERY_TRIAL, Exercise, Requirement, Trial, both_signs


def _gradient_pair(rng, shape, size_of_difference):
    """An 'analytic' gradient a and a 'numerical' b = a + noise, both of ``shape``.

    a's largest entry in size is negative, and so is the largest difference
    a - b, so that an absolute value left out anywhere changes the answer.
    """
    size = int(np.prod(shape))
    a = both_signs(rng, size)
    biggest = np.argmax(np.abs(a))
    a[biggest] = -abs(a[biggest]) - 0.5
    d = size_of_difference * both_signs(rng, size)
    largest = np.argmax(np.abs(d))
    d[largest] = abs(d[largest]) * 1.5
    return a.reshape(shape), (a + d).reshape(shape)  # 0-d arrays too, for shape ()


def _relative_error_trials(rng):
    """Gradient-like pairs of every rank, tiny entries, a tiny scale, opposite and zero arrays.

    The differences are large enough (1e-5 of the entries at least) that a wrong
    formula misses the right error by far more than the grader's NEGLIGIBLE.
    """
    trials = []
    a, b = _gradient_pair(rng, (3, 4), 1e-2)
    trials.append(Trial("shape (3, 4), differences about 1e-2", (a, b)))
    a, b = _gradient_pair(rng, (2, 3, 4), 1e-5)
    trials.append(Trial("shape (2, 3, 4), differences about 1e-5", (a, b)))
    a, b = _gradient_pair(rng, (), 1e-3)
    trials.append(Trial("0-d arrays (single numbers)", (a, b)))
    a, b = _gradient_pair(rng, (1,), 1e-3)
    trials.append(Trial("shape (1,)", (a, b)))
    a, b = _gradient_pair(rng, (4, 3), 1e-4)
    a[:, 2] = rng.uniform(1.0, 3.0, size=4) * 1e-15  # a saturated unit: noise in a ...
    b[:, 2] = 0.0                                      # ... and exactly 0 in b
    trials.append(Trial("tiny entries: 1e-15 in a where b is exactly 0", (a, b)))
    a, b = _gradient_pair(rng, (6,), 1e-3)
    trials.append(Trial("entries about 1e-8 (the error is scale-free)", (a * 1e-8, b * 1e-8)))
    for sign, which in ((-1.0, "negative"), (1.0, "positive")):
        # the largest entry in size is of one sign, so that max(a - b) (or max(b - a),
        # for the other sign) is not max|a - b|
        a = both_signs(rng, (2, 5))
        a[1, 2] = 2.5 * sign
        trials.append(Trial(f"b = -a (the error is 1), the largest entry {which}", (a, -a)))
    trials.append(Trial("a and b all zeros: max|a| + max|b| = 0, and the error is defined as 0.0 "
                        "there (the formula gives 0 / 0, nan)", (np.zeros(5), np.zeros(5))))
    return trials


def _max_abs(v):
    return np.max(np.abs(v))


def _relerr_rows_first(a, b):
    """The maxima taken row by row: needs a first axis (len of a 0-d array raises)."""
    def biggest(v):
        return max(np.max(np.abs(v[i])) for i in range(len(v)))
    scale = biggest(a) + biggest(b)
    return float(biggest(a - b) / scale) if scale else 0.0


def _relerr_in_place(a, b):
    error = relative_error(a, b)
    np.abs(a, out=a)
    return error


RELATIVE_ERROR = Exercise(
    id="relative_error", signature="relative_error(a, b)",
    description=("relative_error(a, b) -> error = max|a - b| / (max|a| + max|b|), the maxima over "
                 "all entries, for two float arrays of the same (any) shape, 0-d arrays too; a "
                 "float, for arrays of any scale (entries of 1e-8 too); 0.0 when both are all "
                 "zeros (where the formula gives 0 / 0). Arguments unchanged."),
    lesson=11, notebook="11_gradient_checking", arg_names=("a", "b"), output_names=("error",),
    reference=relative_error, make_trials=_relative_error_trials, numerical=None,
    requirements=[
        Requirement("0.0 when both are all zeros", ("a and b all zeros",),
                    lambda a, b: float(_max_abs(a - b) / (_max_abs(a) + _max_abs(b)))),
        Requirement("any shape, 0-d arrays too", ("0-d arrays",),
                    _relerr_rows_first),
        Requirement("arrays of any scale, entries of 1e-8 too", ("entries about 1e-8",),
                    lambda a, b: _max_abs(a - b) / max(_max_abs(a) + _max_abs(b), 1e-6)),
        Requirement("error is a float", EVERY_TRIAL,
                    lambda a, b: np.array([relative_error(a, b)])),
        Requirement("arguments unchanged", ("shape (", "0-d", "tiny", "entries about", "b = -a"),
                    _relerr_in_place),
    ],
    debug_hint=("Work a tiny case by hand: a = [1, -2], b = [1, -1] gives "
                "max|a - b| = 1, max|a| + max|b| = 3, so the error is 1/3."),
    overflow_hint=("0 / 0: when both arrays are all zeros, max|a| + max|b| is 0. They are "
                   "equal, so return 0.0 for that case before dividing."),
    mistakes=[
        *[("You compared entry by entry (the worst |a_i - b_i| / max(|a_i|, |b_i|) or "
           "similar). That blows up on entries that are tiny or zero in both arrays, which are "
           "noise: compare every difference with the size of the whole arrays, "
           "max|a - b| / (max|a| + max|b|).", fn)
          for fn in (lambda a, b: np.max(np.abs(a - b) / np.maximum(np.abs(a), np.abs(b))),
                     lambda a, b: np.max(np.abs(a - b) / (np.abs(a) + np.abs(b))),
                     lambda a, b: np.max(np.abs(a - b)
                                         / np.maximum(1e-8, np.abs(a) + np.abs(b))))],
        *[("An absolute value is missing: the formula takes the largest SIZE of each array, "
           "max|a - b|, max|a| and max|b|; negative entries count by their size.", fn)
          for fn in (lambda a, b: np.max(a - b) / (np.max(a) + np.max(b)),
                     lambda a, b: _max_abs(a - b) / (np.max(a) + np.max(b)),
                     lambda a, b: np.max(a - b) / (_max_abs(a) + _max_abs(b)),
                     lambda a, b: np.max(b - a) / (_max_abs(a) + _max_abs(b)))],
        *[("Your denominator is the size of one array only: divide by the SUM "
           "max|a| + max|b|, which makes the error symmetric in a and b and at most 1.", fn)
          for fn in (lambda a, b: _max_abs(a - b) / _max_abs(a),
                     lambda a, b: _max_abs(a - b) / _max_abs(b),
                     lambda a, b: _max_abs(a - b) / max(_max_abs(a), _max_abs(b)))],
        *[("You took a mean where the formula takes the maximum: the error is the WORST "
           "difference, max|a - b|, over max|a| + max|b|. A mean hides one wrong entry among "
           "many right ones.", fn)
          for fn in (lambda a, b: np.mean(np.abs(a - b)) / (_max_abs(a) + _max_abs(b)),
                     lambda a, b: np.mean(np.abs(a - b))
                     / (np.mean(np.abs(a)) + np.mean(np.abs(b))))],
        ("You returned the absolute difference max|a - b|: divide it by max|a| + max|b| so "
         "that the error does not depend on the scale of the gradients.",
         lambda a, b: _max_abs(a - b)),
    ])
