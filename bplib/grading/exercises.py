"""The exercises: signatures, reference answers, trials and known mistakes.

Each exercise says how to make its trials from a random generator (so a
seed reproduces them anywhere), which reference function gives the right
answer, which forward computation a numerical gradient checks it against,
and which common mistakes to recognise. A mistake is a function of the
trial's arguments returning what a specific wrong implementation returns;
when a student's output matches it, the feedback names the mistake.
"""

from dataclasses import dataclass, field

import numpy as np

from bplib import functional as F
from bplib import models
from bplib.gradcheck import numerical_gradient, relative_error


@dataclass
class Trial:
    """One call of the student's function.

    label: what is special about it, shown in feedback
    args: the positional arguments (fresh copies are passed each time)
    stability: True when it exists to test extreme inputs
    """

    label: str
    args: tuple
    stability: bool = False


@dataclass
class Exercise:
    """Everything the grader knows about one exercise."""

    id: str
    signature: str
    description: str
    lesson: str
    arg_names: tuple
    output_names: tuple        # names of the outputs, in return order
    reference: object          # callable with the exercise's signature
    make_trials: object        # rng -> list of Trial
    numerical: object = None   # (args) -> same structure as the reference
    mistakes: list = field(default_factory=list)  # [(hint, fn(args) -> output)]


# --------------------------------------------------------------------------
# Helpers for trials
# --------------------------------------------------------------------------

def _away_from_zero(rng, shape, low=0.1, high=2.0):
    """Random numbers of both signs with |value| in [low, high]: no kinks."""
    magnitude = rng.uniform(low, high, size=shape)
    return magnitude * rng.choice([-1.0, 1.0], size=shape)


def _both_signs(rng, shape):
    """Like _away_from_zero but guaranteed to contain both signs."""
    z = _away_from_zero(rng, shape)
    flat = z.reshape(-1)
    if flat.size >= 2:
        flat[0], flat[-1] = abs(flat[0]), -abs(flat[-1])
    return z


def _backward_numerical(forward, n_inputs):
    """Numerical gradients of sum(forward(inputs) * dout) for each input.

    Builds the ``numerical`` function of an exercise whose arguments are the
    forward inputs followed by the upstream gradient.
    """
    def numerical(args):
        inputs, dout = list(args[:n_inputs]), args[n_inputs]
        grads = []
        for k in range(n_inputs):
            def scalar(v, k=k):
                trial_inputs = list(inputs)
                trial_inputs[k] = v
                return np.sum(forward(*trial_inputs) * dout)
            grads.append(numerical_gradient(scalar, inputs[k]))
        return grads[0] if n_inputs == 1 else tuple(grads)
    return numerical


def _loss_numerical(loss_fn):
    """Numerical gradient of a loss(pred, target) -> (loss, grad) w.r.t. pred."""
    def numerical(args):
        pred, target = args
        return loss_fn(pred, target)[0], numerical_gradient(
            lambda v: loss_fn(v, target)[0], pred)
    return numerical


def _params_numerical(backprop):
    """Numerical gradient of a network's loss w.r.t. each parameter."""
    def numerical(args):
        X, y, params = args
        loss = backprop(X, y, params)[0]
        grads = {}
        for name, value in params.items():
            def loss_of(v, name=name):
                return backprop(X, y, {**params, name: v})[0]
            g = numerical_gradient(loss_of, np.asarray(value, dtype=float))
            grads[name] = float(g) if np.ndim(value) == 0 else g
        return loss, grads
    return numerical


# --------------------------------------------------------------------------
# numerical_gradient
# --------------------------------------------------------------------------

class SmoothFunction:
    """f(x) = sum(sin(A * x) + B * x**2): smooth, with a known gradient."""

    def __init__(self, rng, shape):
        self.A = rng.uniform(0.5, 1.5, size=shape)
        self.B = rng.standard_normal(shape)

    def __call__(self, x):
        return float(np.sum(np.sin(self.A * x) + self.B * x ** 2))

    def gradient(self, x):
        return self.A * np.cos(self.A * x) + 2 * self.B * x


def _numerical_gradient_trials(rng):
    shapes = [("one-dimensional x of shape (5,)", (5,)), ("x of shape (3, 4)", (3, 4)),
              ("x of shape (2, 3, 4)", (2, 3, 4)), ("x a 0-d array", ())]
    trials = []
    for label, shape in shapes:
        x = rng.standard_normal(shape)
        trials.append(Trial(label, (SmoothFunction(rng, shape), x)))
    x = rng.standard_normal((4, 2))
    trials.append(Trial("x of shape (4, 2) with h=1e-4",
                        (SmoothFunction(rng, (4, 2)), x, 1e-4)))
    return trials


def _forward_difference(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    f0 = f(x)
    for i in range(x.size):
        shifted = x.copy()
        shifted.flat[i] += h
        grad.flat[i] = (f(shifted) - f0) / h
    return grad


def _numerical_gradient_exact(args):
    """The exact gradient of the trial's function, for the gradient check."""
    f, x = args[0], args[1]
    return f.gradient(x)


# --------------------------------------------------------------------------
# neuron_backward
# --------------------------------------------------------------------------

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
    return trials


def _neuron_forward_vectorised(x, w, b):
    return F.relu(np.dot(x, w) + b)


def _neuron_numerical(args):
    x, w, b, dy = args
    return (numerical_gradient(lambda v: _neuron_forward_vectorised(v, w, b) * dy, x),
            numerical_gradient(lambda v: _neuron_forward_vectorised(x, v, b) * dy, w),
            float(numerical_gradient(lambda v: _neuron_forward_vectorised(x, w, v) * dy,
                                     np.array(b))))


def _neuron_no_relu(x, w, b, dy):
    return dy * np.asarray(w, float), dy * np.asarray(x, float), float(dy)


def _neuron_swapped(x, w, b, dy):
    dx, dw, db = models.neuron_backward(x, w, b, dy)
    return dw, dx, db


def _neuron_ignores_dy(x, w, b, dy):
    return models.neuron_backward(x, w, b, 1.0)


# --------------------------------------------------------------------------
# Element-wise activations
# --------------------------------------------------------------------------

def _elementwise_trials(rng, *, stable_scale=1000.0):
    trials = []
    for label, shape in [("z of shape (5, 7)", (5, 7)), ("batch size 1, z of shape (1, 6)", (1, 6)),
                         ("one-dimensional z of shape (9,)", (9,)),
                         ("z of shape (4, 3, 2)", (4, 3, 2))]:
        trials.append(Trial(label, (_both_signs(rng, shape), rng.standard_normal(shape))))
    z = _both_signs(rng, (3, 5))
    z[1:] *= stable_scale  # huge rows, and one ordinary row that still checks values
    trials.append(Trial(f"large inputs, |z| up to {2 * stable_scale:g}",
                        (z, rng.standard_normal(z.shape)), stability=True))
    return trials


# --------------------------------------------------------------------------
# softmax_backward
# --------------------------------------------------------------------------

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


# --------------------------------------------------------------------------
# dense_backward
# --------------------------------------------------------------------------

def _dense_trials(rng):
    trials = []
    for label, (n, d, m) in [("X (5, 3), W (3, 4)", (5, 3, 4)),
                             ("batch size 1: X (1, 6), W (6, 2)", (1, 6, 2)),
                             ("X (7, 2), W (2, 5)", (7, 2, 5)),
                             ("X (4, 8), W (8, 3)", (4, 8, 3))]:
        trials.append(Trial(label, (rng.standard_normal((n, d)), rng.standard_normal((d, m)),
                                    rng.standard_normal(m), rng.standard_normal((n, m)))))
    return trials


def _dense_forward(X, W, b):
    return X @ W + b


def _dense_variant(dX=None, dW=None, db=None):
    """A wrong dense backward: the right answer with some parts replaced."""
    def variant(X, W, b, dZ):
        right = F.dense_backward(X, W, b, dZ)
        parts = [part(X, W, b, dZ) if part else default
                 for part, default in zip((dX, dW, db), right)]
        return tuple(parts)
    return variant


# --------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------

def _mse_trials(rng):
    trials = []
    for label, shape in [("y of shape (6,)", (6,)), ("y of shape (5, 3)", (5, 3)),
                         ("batch size 1, y of shape (1, 4)", (1, 4)),
                         ("y of shape (2, 7)", (2, 7))]:
        trials.append(Trial(label, (rng.standard_normal(shape), rng.standard_normal(shape))))
    return trials


def _bce_trials(rng):
    trials = []
    for label, shape in [("p of shape (8,)", (8,)), ("p of shape (4, 3)", (4, 3)),
                         ("batch size 1, p of shape (1,)", (1,)), ("p of shape (2, 5)", (2, 5))]:
        y = rng.integers(0, 2, size=shape).astype(float)
        trials.append(Trial(label, (rng.uniform(0.05, 0.95, size=shape), y)))
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    p = np.array([1e-9, 1 - 1e-9, 1 - 1e-9, 1e-9, 0.5, 0.3])
    trials.append(Trial("p within 1e-9 of 0 and 1", (p, y), stability=True))
    return trials


def _bce_loss(p, y):
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


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


# --------------------------------------------------------------------------
# Whole networks
# --------------------------------------------------------------------------

def _network_trials(rng, init, n_outputs):
    """Trials for a two-layer network: (X, y, params) with varied sizes."""
    trials = []
    for label, (n, d, h) in [("N=5, D=3, H=4", (5, 3, 4)), ("batch size 1: N=1, D=2, H=6", (1, 2, 6)),
                             ("N=7, D=4, H=3", (7, 4, 3))]:
        params = init(rng, d, h)
        X = rng.standard_normal((n, d))
        y = rng.integers(0, n_outputs, size=n)
        trials.append(Trial(label, (X, y, params)))
    return trials


def _mlp_init(rng, d, h, c=5):
    return {"W1": rng.standard_normal((d, h)), "b1": rng.standard_normal(h) * 0.5,
            "W2": rng.standard_normal((h, c)), "b2": rng.standard_normal(c) * 0.5}


def _scales(X, scale, loss_scale):
    """The factors a wrong network applies to dlogits and to the loss ("N": batch size)."""
    factor = len(X) if scale == "N" else scale
    return factor, (factor if loss_scale is None else loss_scale)


def _mlp_variant(relu_grad=F.relu_backward, scale=1.0, loss_scale=None):
    """A wrong mlp_backprop: the reference with one step replaced.

    scale multiplies dlogits ("N" stands for the batch size); loss_scale
    multiplies the loss (by default the same factor).
    """
    def variant(X, y, params):
        W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
        Z1 = X @ W1 + b1
        H = F.relu(Z1)
        loss, dZ2 = F.softmax_cross_entropy(H @ W2 + b2, y)
        factor, loss_factor = _scales(X, scale, loss_scale)
        dZ2 = dZ2 * factor
        dH, dW2, db2 = F.dense_backward(H, W2, b2, dZ2)
        _, dW1, db1 = F.dense_backward(X, W1, b1, relu_grad(Z1, dH))
        return loss * loss_factor, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    return variant


def _sigmoid_net_init(rng, d, h):
    return {"W1": rng.standard_normal((d, h)), "b1": rng.standard_normal(h) * 0.5,
            "W2": rng.standard_normal(h), "b2": float(rng.standard_normal())}


def _sigmoid_net_variant(hidden_grad=F.sigmoid_backward, scale=1.0, loss_scale=None):
    """A wrong sigmoid_net_backprop, like _mlp_variant."""
    def variant(X, y, params):
        W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
        Z1 = X @ W1 + b1
        H = F.sigmoid(Z1)
        loss, dz2 = F.binary_cross_entropy_with_logits(H @ W2 + b2, y)
        factor, loss_factor = _scales(X, scale, loss_scale)
        dz2 = dz2 * factor
        dZ1 = hidden_grad(Z1, np.outer(dz2, W2))
        return loss * loss_factor, {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0),
                              "W2": H.T @ dz2, "b2": float(dz2.sum())}
    return variant


# --------------------------------------------------------------------------
# tiny_net_backprop: the 1-1-1 sigmoid network with squared error
# --------------------------------------------------------------------------

def _tiny_net_trials(rng):
    """Batches of N scalar inputs of both signs, targets in (0, 1).

    N = 2 is left out on purpose: there "sum instead of mean" (N times too
    large) and "the 1/2 dropped" (twice too large) give the same answer.
    |w2| stays away from 1 so that a missing factor w2 shows clearly.
    """
    trials = []
    for label, n in [("a batch of N=5 inputs", 5), ("batch size 1: N=1", 1),
                     ("a batch of N=8 inputs", 8), ("a batch of N=3 inputs", 3)]:
        w1, sign = _away_from_zero(rng, 1, low=0.3, high=2.0)[0], rng.choice([-1.0, 1.0])
        w2 = sign * rng.uniform(1.25, 2.5) ** rng.choice([-1.0, 1.0])  # |w2|: 0.4-0.8 or 1.25-2.5
        params = {"w1": float(w1), "b1": float(rng.uniform(-1.0, 1.0)),
                  "w2": float(w2), "b2": float(rng.uniform(-1.0, 1.0))}
        x = _both_signs(rng, n) if n > 1 else _away_from_zero(rng, 1)
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


def _tiny_net_variant(output_slope=_sigmoid_slope, hidden_slope=_sigmoid_slope,
                      w2_in_w1=True, w2_in_b1=True, scale=1.0, loss_scale=None):
    """A wrong tiny_net_backprop: the right steps with some replaced.

    The slopes are functions of (z, s = sigmoid(z)); w2_in_w1 / w2_in_b1 say
    whether dL/dw1 / dL/db1 keep the factor w2; scale multiplies every
    gradient ("N" for the batch size) and loss_scale the loss (by default the
    same factor).
    """
    def variant(x, y_true, params):
        w1, b1, w2, b2 = (params[k] for k in ("w1", "b1", "w2", "b2"))
        z1 = w1 * x + b1
        h = F.sigmoid(z1)
        z2 = w2 * h + b2
        y = F.sigmoid(z2)
        factor, loss_factor = _scales(x, scale, loss_scale)
        loss = float(np.mean(0.5 * (y - y_true) ** 2)) * loss_factor
        delta2 = factor * (y - y_true) / len(x) * output_slope(z2, y)
        through_h = delta2 * hidden_slope(z1, h)
        delta1 = through_h * w2
        return loss, {"w1": float(np.sum((delta1 if w2_in_w1 else through_h) * x)),
                      "b1": float(np.sum(delta1 if w2_in_b1 else through_h)),
                      "w2": float(np.sum(delta2 * h)), "b2": float(np.sum(delta2))}
    return variant


# --------------------------------------------------------------------------
# relative_error
# --------------------------------------------------------------------------

def _gradient_pair(rng, shape, size_of_difference):
    """An 'analytic' gradient a and a 'numerical' b = a + noise, both of ``shape``.

    a's largest entry in size is negative, and so is the largest difference
    a - b, so that an absolute value left out anywhere changes the answer.
    """
    size = int(np.prod(shape))
    a = _both_signs(rng, size)
    biggest = np.argmax(np.abs(a))
    a[biggest] = -abs(a[biggest]) - 0.5
    d = size_of_difference * _both_signs(rng, size)
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
    a = _both_signs(rng, (2, 5))
    trials.append(Trial("b = -a (the error is 1)", (a, -a)))
    trials.append(Trial("a and b all zeros: max|a| + max|b| = 0, and the error is defined as 0.0 "
                        "there (the formula gives 0 / 0, nan)", (np.zeros(5), np.zeros(5))))
    return trials


def _max_abs(v):
    return np.max(np.abs(v))


# --------------------------------------------------------------------------
# The table of exercises
# --------------------------------------------------------------------------

_TRANSPOSE_HINT = ("{name} looks transposed. Match shapes: dW must have W's shape (D, M), "
                   "and X.T @ dZ is (D, N) @ (N, M).")
EXERCISE_LIST = [
    Exercise(
        id="numerical_gradient", signature="numerical_gradient(f, x, h=1e-5)",
        description=("Central-difference gradient of a scalar function f at x, for x of any "
                     "shape; x must be unchanged after the call."),
        lesson="01_three_ways_to_a_gradient", arg_names=("f", "x", "h"),
        output_names=("grad",), reference=numerical_gradient,
        make_trials=_numerical_gradient_trials, numerical=_numerical_gradient_exact,
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
        ]),
    Exercise(
        id="neuron_backward", signature="neuron_backward(x, w, b, dy)",
        description=("Gradients (dx, dw, db) of one ReLU neuron y = max(0, x . w + b); "
                     "x, w of shape (D,), b and dy floats, db a float."),
        lesson="03_single_neuron", arg_names=("x", "w", "b", "dy"),
        output_names=("dx", "dw", "db"), reference=models.neuron_backward,
        make_trials=_neuron_trials, numerical=_neuron_numerical,
        mistakes=[
            ("Your gradients are not zero when the neuron is off (x . w + b < 0). ReLU's slope is "
             "0 there, so every gradient must be multiplied by [x . w + b > 0].", _neuron_no_relu),
            ("You swapped dx and dw: d(x . w)/dx = w and d(x . w)/dw = x.", _neuron_swapped),
            ("You left out the upstream gradient dy: multiply by it (the chain rule).",
             _neuron_ignores_dy),
        ]),
    Exercise(
        id="relu_backward", signature="relu_backward(z, dout)",
        description="dL/dz for relu(z) = max(0, z) element-wise; z and dout of any (same) shape.",
        lesson="06_activations", arg_names=("z", "dout"), output_names=("dz",),
        reference=F.relu_backward, make_trials=_elementwise_trials,
        numerical=_backward_numerical(F.relu, 1),
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
        ]),
    Exercise(
        id="sigmoid_backward", signature="sigmoid_backward(z, dout)",
        description=("dL/dz for s = sigmoid(z) element-wise, z being the pre-activation; "
                     "no overflow for |z| in the thousands."),
        lesson="06_activations", arg_names=("z", "dout"), output_names=("dz",),
        reference=F.sigmoid_backward, make_trials=_elementwise_trials,
        numerical=_backward_numerical(F.sigmoid, 1),
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
        ]),
    Exercise(
        id="tanh_backward", signature="tanh_backward(z, dout)",
        description="dL/dz for tanh(z) element-wise: tanh'(z) = 1 - tanh(z)**2.",
        lesson="06_activations", arg_names=("z", "dout"), output_names=("dz",),
        reference=F.tanh_backward, make_trials=_elementwise_trials,
        numerical=_backward_numerical(F.tanh, 1),
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
        ]),
    Exercise(
        id="softmax_backward", signature="softmax_backward(z, dout)",
        description=("dL/dz for the row-wise softmax of z (N, C), a Jacobian-vector product; "
                     "stable for entries of +-1000."),
        lesson="07_softmax_cross_entropy", arg_names=("z", "dout"), output_names=("dz",),
        reference=F.softmax_backward, make_trials=_softmax_trials,
        numerical=_backward_numerical(F.softmax, 1),
        mistakes=[
            ("You used only the diagonal of the softmax Jacobian, p * (1 - p). Every output "
             "depends on every logit of its row: dz = p * (dout - sum(dout * p, axis=1)).",
             _softmax_diagonal_only),
            ("You summed over the wrong axis: the sum in p * (dout - sum(dout * p)) runs over "
             "the classes of each row, axis=1 (with keepdims=True).", _softmax_wrong_axis),
            ("Your gradient has the wrong sign.", lambda z, dout: -F.softmax_backward(z, dout)),
            ("You returned the softmax itself: multiply by the Jacobian's action on dout instead.",
             lambda z, dout: F.softmax(z)),
        ]),
    Exercise(
        id="dense_backward", signature="dense_backward(X, W, b, dZ)",
        description=("Gradients (dX, dW, db) of Z = X @ W + b with X (N, D), W (D, M), "
                     "b (M,), dZ (N, M)."),
        lesson="05_layer_of_neurons", arg_names=("X", "W", "b", "dZ"),
        output_names=("dX", "dW", "db"), reference=F.dense_backward,
        make_trials=_dense_trials, numerical=_backward_numerical(_dense_forward, 3),
        mistakes=[
            (_TRANSPOSE_HINT.format(name="dW"),
             _dense_variant(dW=lambda X, W, b, dZ: dZ.T @ X)),
            ("db has shape (1, M): the bias is a vector of shape (M,), so sum with "
             "dZ.sum(axis=0), without keepdims=True.",
             _dense_variant(db=lambda X, W, b, dZ: dZ.sum(axis=0, keepdims=True))),
            ("db is summed over the wrong axis: the bias is added to every row (sample), so sum "
             "dZ over the rows, axis=0.", _dense_variant(db=lambda X, W, b, dZ: dZ.sum(axis=1))),
            ("db is the mean of dZ's rows, N times too small: the bias receives the SUM of its "
             "per-sample gradients (the 1/N is already inside dZ).",
             _dense_variant(db=lambda X, W, b, dZ: dZ.mean(axis=0))),
            ("dW is divided by N: the 1/N of the mean loss is already inside dZ; dW = X.T @ dZ.",
             _dense_variant(dW=lambda X, W, b, dZ: X.T @ dZ / len(X))),
            ("dX looks transposed: dX must have X's shape (N, D), and dZ @ W.T is "
             "(N, M) @ (M, D).", _dense_variant(dX=lambda X, W, b, dZ: W @ dZ.T)),
            ("Your gradients have the wrong sign.",
             lambda X, W, b, dZ: tuple(-g for g in F.dense_backward(X, W, b, dZ))),
        ]),
    Exercise(
        id="mse_loss", signature="mse_loss(y_pred, y_true)",
        description=("(loss, dy_pred) for loss = mean over all elements of "
                     "(y_pred - y_true)**2."),
        lesson="07_softmax_cross_entropy", arg_names=("y_pred", "y_true"),
        output_names=("loss", "dy_pred"), reference=F.mse_loss, make_trials=_mse_trials,
        numerical=_loss_numerical(F.mse_loss),
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
        ]),
    Exercise(
        id="binary_cross_entropy", signature="binary_cross_entropy(p, y)",
        description=("(loss, dp) for loss = mean over all elements of "
                     "-(y log p + (1 - y) log(1 - p)); safe for p near 0 and 1."),
        lesson="08_binary_classifier", arg_names=("p", "y"), output_names=("loss", "dp"),
        reference=F.binary_cross_entropy, make_trials=_bce_trials,
        numerical=_loss_numerical(lambda p, y: (_bce_loss(p, y), None)),
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
        ]),
    Exercise(
        id="softmax_cross_entropy", signature="softmax_cross_entropy(logits, y)",
        description=("(loss, dlogits) for loss = mean of -log softmax(logits)[i, y_i] with "
                     "integer labels y (N,); correct for logits of +-1000."),
        lesson="07_softmax_cross_entropy", arg_names=("logits", "y"),
        output_names=("loss", "dlogits"), reference=F.softmax_cross_entropy,
        make_trials=_ce_trials, numerical=_loss_numerical(F.softmax_cross_entropy),
        mistakes=[
            ("dlogits is missing the 1/N of the mean over the batch: (softmax(z) - onehot(y)) / N.",
             lambda z, y: (F.softmax_cross_entropy(z, y)[0],
                           F.softmax(z) - _onehot(y, z.shape[1]))),
            ("dlogits has the wrong sign: it is (p - onehot(y)) / N.",
             lambda z, y: (F.softmax_cross_entropy(z, y)[0],
                           -F.softmax_cross_entropy(z, y)[1])),
            ("dlogits is softmax(z) / N: subtract 1 at each row's true class.",
             lambda z, y: (F.softmax_cross_entropy(z, y)[0], F.softmax(z) / len(z))),
            ("You clipped the probabilities at 1e-7 (as the from-scratch chapter does). With "
             "logits of +-1000 the true class's probability is far below that, so the loss comes "
             "out wrong. Compute it as logsumexp(z) - z[y], which needs no clipping.",
             lambda z, y: (float(np.mean(-np.log(np.clip(F.softmax(z)[np.arange(len(y)), y],
                                                         1e-7, 1.0)))),
                           F.softmax_cross_entropy(z, y)[1])),
            ("You divided by N * C: the loss is a mean over the N samples, not over all entries.",
             lambda z, y: (F.softmax_cross_entropy(z, y)[0] / z.shape[1],
                           F.softmax_cross_entropy(z, y)[1] / z.shape[1])),
        ]),
    Exercise(
        id="mlp_backprop", signature="mlp_backprop(X, y, params)",
        description=("(loss, grads) for X -> Dense(W1 (D, H), b1 (H,)) -> ReLU -> "
                     "Dense(W2 (H, C), b2 (C,)) -> softmax cross-entropy with integer labels; "
                     "grads has params' keys and shapes; params unchanged."),
        lesson="09_multiclass_network", arg_names=("X", "y", "params"),
        output_names=("loss", "grads"), reference=models.mlp_backprop,
        make_trials=lambda rng: _network_trials(rng, _mlp_init, 5),
        numerical=_params_numerical(models.mlp_backprop),
        mistakes=[
            ("grads of W1 and b1 ignore the ReLU: multiply dH by its slope (Z1 > 0) before the "
             "first layer's backward (the activation's derivative is missing).",
             _mlp_variant(relu_grad=lambda z, dout: dout)),
            ("Your loss and gradients are N times too large: the loss is a mean, so "
             "dlogits = (softmax - onehot) / N.", _mlp_variant(scale="N")),
            ("Your loss is right but your gradients are N times too large: the loss is a mean, "
             "so dlogits = (softmax - onehot) / N carries the 1/N too.",
             _mlp_variant(scale="N", loss_scale=1.0)),
            ("Your gradients have the wrong sign.", _mlp_variant(scale=-1.0)),
        ]),
    Exercise(
        id="sigmoid_net_backprop", signature="sigmoid_net_backprop(X, y, params)",
        description=("(loss, grads) for X -> Dense(W1 (D, H), b1 (H,)) -> sigmoid -> "
                     "Dense(W2 (H,), b2 float) -> sigmoid -> binary cross-entropy against y (N,) "
                     "in {0, 1}; grads has params' keys and shapes (b2 a float)."),
        lesson="08_binary_classifier", arg_names=("X", "y", "params"),
        output_names=("loss", "grads"), reference=models.sigmoid_net_backprop,
        make_trials=lambda rng: _network_trials(rng, _sigmoid_net_init, 2),
        numerical=_params_numerical(models.sigmoid_net_backprop),
        mistakes=[
            ("grads of W1 and b1 ignore the hidden sigmoid: multiply dH by s * (1 - s) with "
             "s = sigmoid(Z1) (the activation's derivative is missing).",
             _sigmoid_net_variant(hidden_grad=lambda z, dout: dout)),
            ("You applied the sigmoid's slope to its output H instead of its input Z1: "
             "s * (1 - s) with s = sigmoid(Z1) is H * (1 - H).",
             _sigmoid_net_variant(hidden_grad=lambda z, dout: F.sigmoid_backward(F.sigmoid(z), dout))),
            ("You used H * (1 - H) evaluated at Z1, i.e. Z1 * (1 - Z1): the slope must be "
             "computed from the sigmoid's output H = sigmoid(Z1).",
             _sigmoid_net_variant(hidden_grad=lambda z, dout: z * (1 - z) * dout)),
            ("Your loss and gradients are N times too large: the loss is a mean, so "
             "dL/dz2 = (p - y) / N.", _sigmoid_net_variant(scale="N")),
            ("Your loss is right but your gradients are N times too large: the loss is a mean, "
             "so dL/dz2 = (p - y) / N carries the 1/N too.",
             _sigmoid_net_variant(scale="N", loss_scale=1.0)),
            ("Your gradients have the wrong sign.", _sigmoid_net_variant(scale=-1.0)),
        ]),
    Exercise(
        id="tiny_net_backprop", signature="tiny_net_backprop(x, y_true, params)",
        description=("(loss, grads) of the 1-1-1 sigmoid network on a batch x (N,): "
                     "z1 = w1 x + b1, h = sigmoid(z1), z2 = w2 h + b2, y = sigmoid(z2), "
                     "loss = mean over the batch of 1/2 (y - y_true)**2 with y_true (N,) in "
                     "(0, 1); params and grads are dicts of four floats w1, b1, w2, b2; params "
                     "unchanged."),
        lesson="04_tiny_network", arg_names=("x", "y_true", "params"),
        output_names=("loss", "grads"), reference=models.tiny_net_backprop,
        make_trials=_tiny_net_trials, numerical=_params_numerical(models.tiny_net_backprop),
        mistakes=[
            ("grads of w1 and b1 ignore the hidden sigmoid: delta1 = delta2 * w2 * h * (1 - h) "
             "(the activation's derivative h * (1 - h) is missing).",
             _tiny_net_variant(hidden_slope=lambda z, s: 1.0)),
            ("Your gradients ignore the output sigmoid: delta2 = (y - y_true) * y * (1 - y) / N "
             "(the activation's derivative y * (1 - y) is missing).",
             _tiny_net_variant(output_slope=lambda z, s: 1.0)),
            *[("You applied the sigmoid's slope to its output instead of its input: the slope "
               "at z is s * (1 - s) with s = sigmoid(z) the output you already have, i.e. "
               "y * (1 - y) and h * (1 - h). Taking the sigmoid of y or h again is one sigmoid "
               "too many.", _tiny_net_variant(**slopes))
              for slopes in ({"output_slope": _slope_of_output, "hidden_slope": _slope_of_output},
                             {"output_slope": _slope_of_output},
                             {"hidden_slope": _slope_of_output})],
            *[("You used z * (1 - z), the slope written for the sigmoid's OUTPUT, on its input "
               "z: the slopes are y * (1 - y) and h * (1 - h), computed from the outputs "
               "y = sigmoid(z2) and h = sigmoid(z1).", _tiny_net_variant(**slopes))
              for slopes in ({"output_slope": _output_formula_on_input,
                              "hidden_slope": _output_formula_on_input},
                             {"output_slope": _output_formula_on_input},
                             {"hidden_slope": _output_formula_on_input})],
            ("dL/dw1 and dL/db1 are missing the factor w2 = dz2/dh: going back through "
             "z2 = w2 h + b2 multiplies by w2, so delta1 = delta2 * w2 * h * (1 - h).",
             _tiny_net_variant(w2_in_w1=False, w2_in_b1=False)),
            ("dL/dw1 is missing the factor w2 = dz2/dh: dL/dw1 = sum(delta1 * x) with "
             "delta1 = delta2 * w2 * h * (1 - h), the same delta1 as dL/db1.",
             _tiny_net_variant(w2_in_w1=False)),
            ("Your loss and gradients are twice too large: you dropped the factor 1/2 of "
             "L = mean of 1/2 (y - y_true)**2, which is there to cancel the 2 of the square.",
             _tiny_net_variant(scale=2.0)),
            ("Your loss is right but your gradients are twice too large: the 1/2 of the loss "
             "cancels the 2 of the square, so dL/dy = (y - y_true) / N.",
             _tiny_net_variant(scale=2.0, loss_scale=1.0)),
            ("Your loss and gradients are N times too large: the loss is a MEAN over the batch, "
             "so divide the sum by N (and dL/dy = (y - y_true) / N).",
             _tiny_net_variant(scale="N")),
            ("Your loss is right but your gradients are N times too large: the loss is a mean, "
             "so each sample's dL/dy = (y - y_true) / N carries the 1/N too.",
             _tiny_net_variant(scale="N", loss_scale=1.0)),
            ("Your gradients have the wrong sign: dL/dy = (y - y_true) / N, the output minus "
             "the target.", _tiny_net_variant(scale=-1.0, loss_scale=1.0)),
        ]),
    Exercise(
        id="relative_error", signature="relative_error(a, b)",
        description=("The relative error max|a - b| / (max|a| + max|b|) of two arrays of the same "
                     "(any) shape, as a float; 0.0 when both are all zeros."),
        lesson="11_gradient_checking", arg_names=("a", "b"), output_names=("error",),
        reference=relative_error, make_trials=_relative_error_trials, numerical=None,
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
        ]),
]
