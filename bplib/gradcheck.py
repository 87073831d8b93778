"""Gradient checking: compare an analytic gradient with a numerical one.

The central difference

    df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h)

has error O(h^2) for a smooth f (the forward difference has O(h)), and in
float64 with h = 1e-5 a correct backward typically agrees to a relative error
around 1e-9 or better. It costs two evaluations of f per coordinate, which is
why we check gradients with it but never train with it.

A *kink* (ReLU at 0) breaks the rule: when an input lies closer than h to the
kink, the two evaluations straddle it and the central difference mixes two
slopes. So ``check_gradient`` measures every coordinate that disagrees a
second time, with a ten times smaller step, which no longer straddles a kink
that is not extremely close. If it still disagrees, it compares the one-sided
slopes (f(x+h) - f(x)) / h and (f(x) - f(x-h)) / h: they agree to O(h) on a
smooth function and differ by the size of the jump across a kink. The
coordinate is left out only when they disagree AND the analytic gradient
equals one of them (the slope on the input's own side of the kink), so a
correct gradient is not failed at a kink and a wrong one is not excused.
"""

from dataclasses import dataclass, field

import numpy as np

DEFAULT_H = 1e-5

# The course's one rule of thumb for reading a relative error between a float64
# backward and central differences with h = DEFAULT_H (lesson 11 derives it):
# below AGREE the gradients agree; from AGREE to WRONG, look closer (a kink, or a
# bug in a small part of the gradient); above WRONG the gradient is wrong.
AGREE = 1e-7
WRONG = 1e-2


def numerical_gradient(f, x, h=DEFAULT_H):
    """Central-difference gradient of a scalar function ``f`` at ``x``.

    f: callable taking an array shaped like x and returning a number.
    x: float array of any shape; it is perturbed one entry at a time on a
    private copy, so the caller's array is never changed.
    Returns an array shaped like x.
    """
    return _central_differences(f, x, h, range(np.size(x)))


def _central_differences(f, x, h, coords):
    """Central differences at the given flat indices (NaN elsewhere)."""
    x = np.array(x, dtype=float, order="C")  # a private C-ordered copy we may perturb
    grad = np.full(x.shape, np.nan)
    flat = x.reshape(-1)  # a view of the C-ordered copy: writing to it perturbs x
    for i in coords:
        old = flat[i]
        flat[i] = old + h
        f_plus = float(f(x))
        flat[i] = old - h
        f_minus = float(f(x))
        flat[i] = old
        grad.flat[i] = (f_plus - f_minus) / (2 * h)
    return grad


def _probe(f, x, i, h):
    """The central difference and the two one-sided slopes of f along x_i."""
    x = np.array(x, dtype=float, order="C")
    flat = x.reshape(-1)
    old = flat[i]
    f0 = float(f(x))
    flat[i] = old + h
    f_plus = float(f(x))
    flat[i] = old - h
    f_minus = float(f(x))
    return (f_plus - f_minus) / (2 * h), (f_plus - f0) / h, (f0 - f_minus) / h


def relative_error(a, b):
    """Relative error of two arrays: ``max|a - b| / (max|a| + max|b|)``.

    A single number, scale-free, and robust to entries that are tiny or zero
    (an element-wise ratio would blow up on those). How to read it in float64
    with h = DEFAULT_H, the course's one rule of thumb: below AGREE (1e-7)
    the gradients agree; from AGREE to WRONG (1e-2), look closer (a kink, or
    a bug in a small part of the gradient); above WRONG the gradient is wrong.
    Returns 0.0 when both arrays are all zeros.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    scale = np.max(np.abs(a), initial=0.0) + np.max(np.abs(b), initial=0.0)
    if scale == 0.0:
        return 0.0
    return float(np.max(np.abs(a - b)) / scale)


def describe_error(error, tol):
    """A relative error as the course prints it, measured against tol.

    Below tol only the bound is printed, "relative error below 1e-08": the
    digits of a round-off-sized error change from one machine (and one BLAS)
    to the next, and a notebook that printed them would not reproduce its own
    output elsewhere. From tol up the value itself is the news,
    "relative error 3.3e-01, above 1e-06".
    """
    if error < tol:
        return f"relative error below {tol:.0e}"
    return f"relative error {error:.1e}" + (f", above {tol:.0e}" if error > tol else "")


@dataclass
class GradCheckResult:
    """What a gradient check found, for one array of inputs or parameters.

    analytic, numerical: the two gradients (same shape)
    error: relative_error over the coordinates checked
    checked: boolean mask of the coordinates that were compared
    kinks: boolean mask of coordinates left out because f has a kink there
    """

    name: str
    analytic: np.ndarray
    numerical: np.ndarray
    error: float
    tol: float
    checked: np.ndarray
    kinks: np.ndarray = field(repr=False)

    @property
    def passed(self):
        return self.error <= self.tol

    def __str__(self):
        verdict = "ok" if self.passed else "MISMATCH"
        skipped = int(self.kinks.sum())
        note = f", {skipped} at a kink left out" if skipped else ""
        n = int(self.checked.sum())
        return (f"{self.name}: {describe_error(self.error, self.tol)} "
                f"({n} coordinate{'' if n == 1 else 's'}{note}) {verdict}")


def check_gradient(f, x, analytic, *, name="x", h=DEFAULT_H, tol=1e-6,
                   coords=None, kink_tol=1e-3):
    """Compare ``analytic`` with the numerical gradient of scalar f at x.

    f: callable, array shaped like x -> number
    x: the point (any shape; not modified)
    analytic: the gradient to check, shaped like x
    coords: optional flat indices to check (a sparse check); all by default
    kink_tol: how far apart (relative) the one-sided slopes must be to count
    as a kink, which is left out when the analytic gradient equals one of
    them. None gives the raw comparison: every coordinate measured once with
    step h, nothing re-measured, nothing left out.
    Returns a GradCheckResult.
    """
    x = np.asarray(x, dtype=float)
    analytic = np.asarray(analytic, dtype=float)
    if analytic.shape != x.shape:
        raise ValueError(f"{name}: analytic gradient has shape "
                         f"{analytic.shape}, expected {x.shape}")
    coords = np.arange(x.size) if coords is None else np.asarray(coords, dtype=int).reshape(-1)
    numerical = _central_differences(f, x, h, coords)
    checked = np.zeros(x.shape, dtype=bool)
    checked.flat[coords] = True
    kinks = np.zeros(x.shape, dtype=bool)
    scale = (np.max(np.abs(analytic.flat[coords]), initial=0.0)
             + np.max(np.abs(numerical.flat[coords]), initial=0.0))
    for i in coords if kink_tol is not None else ():
        a = analytic.flat[i]
        if abs(a - numerical.flat[i]) <= tol * scale:
            continue
        central, right, left = _probe(f, x, i, h / 10)  # measure again, closer
        numerical.flat[i] = central
        if abs(a - central) <= tol * scale:
            continue
        slope = max(abs(right), abs(left), 1e-12)
        if abs(right - left) > kink_tol * slope and \
                min(abs(a - right), abs(a - left)) <= kink_tol * slope:
            kinks.flat[i] = True
    checked &= ~kinks
    error = relative_error(analytic[checked], numerical[checked])
    return GradCheckResult(name, analytic, numerical, error, tol, checked, kinks)


def check_backward(forward, backward, inputs, *, seed=0, h=DEFAULT_H, tol=1e-6,
                   names=None):
    """Check a backward function against the forward it differentiates.

    forward(*inputs) returns an array out; backward(*inputs, dout) returns the
    gradient for each input (a tuple when there are several). We pick a random
    upstream gradient G shaped like out and check backward against the
    numerical gradient of the scalar L = sum(forward(*inputs) * G), whose
    gradient is exactly what backward must return for dout = G.
    Returns a list of GradCheckResult, one per input.
    """
    inputs = [np.asarray(a, dtype=float) for a in inputs]
    names = names or [f"input {k}" for k in range(len(inputs))]
    G = np.random.default_rng(seed).standard_normal(np.shape(forward(*inputs)))
    grads = backward(*inputs, G)
    if len(inputs) == 1 and not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) != len(inputs):
        raise ValueError(f"backward returned {len(grads)} gradients for {len(inputs)} "
                         "inputs: it must return one gradient per input, in order")
    results = []
    for k, (name, grad) in enumerate(zip(names, grads)):
        def scalar(value, k=k):
            args = list(inputs)
            args[k] = value
            return np.sum(forward(*args) * G)
        results.append(check_gradient(scalar, inputs[k], grad, name=name,
                                      h=h, tol=tol))
    return results


def check_parameter_gradients(loss_fn, params, grads, *, num_checks=None,
                              seed=0, h=DEFAULT_H, tol=1e-6):
    """Check the gradients of a scalar loss with respect to named parameters.

    loss_fn(params) -> number, for a dict of arrays (it must not keep them).
    params, grads: dicts with the same keys and shapes.
    num_checks: None checks every coordinate; an integer checks that many
    distinct coordinates per parameter, sampled with ``seed`` (a sparse check,
    for networks too large to check every weight: the cost is two loss
    evaluations per coordinate). A parameter with at most num_checks entries
    is checked whole and draws nothing from the sample, so the coordinates
    drawn for one parameter do not depend on the smaller ones before it.
    Returns a dict name -> GradCheckResult.
    """
    rng = np.random.default_rng(seed)
    results = {}
    for name, value in params.items():
        value = np.asarray(value, dtype=float)

        def loss_of(v, name=name):
            return loss_fn({**params, name: v})

        coords = None
        if num_checks is not None and num_checks < value.size:
            coords = rng.choice(value.size, size=num_checks, replace=False)
        results[name] = check_gradient(loss_of, value, grads[name], name=name,
                                       h=h, tol=tol, coords=coords)
    return results


def check_network_gradients(net, X, y, *, num_checks=None, seed=0,
                            h=DEFAULT_H, tol=1e-6):
    """Check a ``Network``'s backprop against numerical gradients.

    Every parameter of every layer is checked (or ``num_checks`` sampled
    coordinates of each). Returns a dict "layer index.parameter" -> result.
    """
    params = net.parameters()
    _, grads = net.loss_and_gradients(X, y)

    def loss_fn(p):
        return net.with_parameters(p).loss_and_gradients(X, y)[0]

    return check_parameter_gradients(loss_fn, params, grads,
                                     num_checks=num_checks, seed=seed, h=h,
                                     tol=tol)
