"""What every exercise module shares: trials, requirements, the Exercise entry.

An exercise says how to make its trials from a random generator (so a seed
reproduces them anywhere), which reference gives the right answer, which
forward computation a numerical gradient checks it against, which
requirements its text states (each enforced by named trials), and which
common mistakes to recognise. A mistake is an implementation with the
exercise's signature that is wrong in one specific way; when a student's
output matches what it returns, the feedback names the mistake.
"""

from dataclasses import dataclass, field

import numpy as np

from bplib.gradcheck import numerical_gradient

EVERY_TRIAL = "every trial"  # a requirement's trials: all of them


@dataclass
class Trial:
    """One call of the student's function.

    label: what is special about it, shown in feedback
    args: the positional arguments (fresh copies are passed each time)
    stability: True when it exists to test extreme inputs (no numerical gradient)
    gradcheck: False where central differences are not the truth (an input on
        a kink, a deliberately large step h): no gradient check there
    secret: what the grader needs and the student's function never sees
        (held-out test data)
    """

    label: str
    args: tuple
    stability: bool = False
    gradcheck: bool = True
    secret: object = None


@dataclass
class Requirement:
    """A sentence of the exercise's text and the trials that enforce it.

    text: the requirement as the notebook states it
    trials: labels of the trials that fail an answer breaking it (a label
        matches when it starts with one of these), or EVERY_TRIAL
    violation: a plausible answer, right but for breaking this requirement
        (the tests check that the named trials fail it and every other trial
        passes it)
    also_fails: labels (prefixes) of other trials the violation may fail too,
        because it breaks a second requirement they enforce, or because a
        random trial happens to exercise this one
    """

    text: str
    trials: tuple
    violation: object = None
    also_fails: tuple = ()

    def enforced_by(self, trial):
        return self.trials == EVERY_TRIAL or trial.label.startswith(tuple(self.trials))


@dataclass
class Exercise:
    """Everything the grader knows about one exercise."""

    id: str
    signature: str
    description: str           # the contract, as the notebook states it
    lesson: int                # the lesson number (its exercise notebook)
    notebook: str              # the lesson's notebook stem, e.g. "06_activations"
    arg_names: tuple
    output_names: tuple        # names of the outputs, in return order
    reference: object          # callable (or class) with the exercise's signature
    make_trials: object        # rng -> list of Trial
    # (args) -> same structure as the reference, with central-difference gradients
    # for the gradient outputs and None for the others (a loss is not a gradient)
    numerical: object = None
    mistakes: list = field(default_factory=list)  # [(hint, implementation)]
    requirements: list = field(default_factory=list)  # [Requirement]
    points: int = 1            # what its check cell is worth (nbgrader points)
    # How a trial calls an implementation: drive(impl, *args) -> plain outputs.
    # None calls impl(*args); a class exercise (Value, Dense) drives the object.
    drive: object = None
    timeout: float = None      # seconds; None: the grader's default
    shapes: str = ""           # the shapes of its arguments, for shape hints
    debug_hint: str = ""       # what to try when no known mistake matches
    one_dimensional_hint: str = None  # replaces the generic "loops over len(z)" hint
    overflow_hint: str = None  # shown when numpy warns of an overflow
    error_hints: list = field(default_factory=list)  # [(text in the error, hint)]
    # Judging other than against the reference: assess(trial, outputs) ->
    # (score 0..1, problems, notes) for exercises scored by a measure (accuracy).
    assess: object = None

    # expected_key(args) -> a hashable key: the reference's answers are kept, for
    # exercises whose reference is slow to run (a graph of 2,100 Values)
    expected_key: object = None
    _expected: dict = field(default_factory=dict, repr=False, compare=False)

    def run(self, implementation, args):
        """What ``implementation`` returns on a trial's arguments."""
        if self.drive is None:
            return implementation(*args)
        return self.drive(implementation, *args)

    def expected(self, trial):
        """The reference's answer to a trial (never modified by the grader)."""
        if self.expected_key is None:
            return self.run(self.reference, trial.args)
        key = self.expected_key(trial.args)
        if key not in self._expected:
            if len(self._expected) >= 256:
                self._expected.clear()
            self._expected[key] = self.run(self.reference, trial.args)
        return self._expected[key]


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------

def away_from_zero(rng, shape, low=0.1, high=2.0):
    """Random numbers of both signs with |value| in [low, high]: no kinks."""
    magnitude = rng.uniform(low, high, size=shape)
    return magnitude * rng.choice([-1.0, 1.0], size=shape)


def both_signs(rng, shape):
    """Like away_from_zero but guaranteed to contain both signs."""
    z = away_from_zero(rng, shape)
    flat = z.reshape(-1)
    if flat.size >= 2:
        flat[0], flat[-1] = abs(flat[0]), -abs(flat[-1])
    return z


# --------------------------------------------------------------------------
# Numerical gradients, from bplib.gradcheck
# --------------------------------------------------------------------------

def numerical_backward(forward, n_inputs, args):
    """Central-difference gradients for a backward exercise's trial arguments
    (inputs..., dout): its ``numerical`` is ``partial(numerical_backward, forward,
    n_inputs)``.

    Each input's gradient is the central-difference gradient of the scalar
    sum(forward(inputs) * dout), which is exactly what a backward function
    must return for that upstream gradient. One array for one input, else a tuple.
    """
    inputs, dout = list(args[:n_inputs]), args[n_inputs]
    grads = []
    for k in range(n_inputs):
        def scalar(v, k=k):
            trial_inputs = list(inputs)
            trial_inputs[k] = v
            return np.sum(forward(*trial_inputs) * dout)
        grads.append(numerical_gradient(scalar, np.asarray(inputs[k], dtype=float)))
    return grads[0] if n_inputs == 1 else tuple(grads)


def numerical_loss(loss, args):
    """(None, dpred) for a loss exercise's trial arguments (pred, target), from the
    scalar loss(pred, target): its ``numerical`` is ``partial(numerical_loss, loss)``.
    The loss itself is left to the comparison with the reference."""
    pred, target = args
    return None, numerical_backward(lambda v: loss(v, target), 1, (pred, 1.0))


def numerical_parameter_gradients(loss_of_params, params):
    """Central-difference gradients of a scalar loss for each entry of a dict
    of parameters (arrays or floats; a float's gradient is a float)."""
    grads = {}
    for name, value in params.items():
        def loss_of(v, name=name):
            return loss_of_params({**params, name: v})
        g = numerical_gradient(loss_of, np.asarray(value, dtype=float))
        grads[name] = float(g) if np.ndim(value) == 0 else g
    return grads


def numerical_network(backprop, args):
    """(None, grads) for a network exercise's trial arguments (X, y, params), with
    backprop(X, y, params) -> (loss, grads): its ``numerical`` is
    ``partial(numerical_network, backprop)``."""
    X, y, params = args
    return None, numerical_parameter_gradients(lambda p: backprop(X, y, p)[0], params)


def scales(X, scale, loss_scale):
    """The factors a wrong network applies to its gradients and to its loss
    ("N" stands for the batch size; loss_scale None: the same factor)."""
    factor = len(X) if scale == "N" else scale
    return factor, (factor if loss_scale is None else loss_scale)


def network_trials(rng, init, n_outputs):
    """Trials for a two-layer network: (X, y, params) with varied sizes."""
    trials = []
    for label, (n, d, h) in [("N=5, D=3, H=4", (5, 3, 4)),
                             ("batch size 1: N=1, D=2, H=6", (1, 2, 6)),
                             ("N=7, D=4, H=3", (7, 4, 3))]:
        params = init(rng, d, h)
        X = rng.standard_normal((n, d))
        y = rng.integers(0, n_outputs, size=n)
        trials.append(Trial(label, (X, y, params)))
    return trials
