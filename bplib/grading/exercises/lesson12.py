"""Lesson 12, the capstone: train a network on scikit-learn's 8x8 digits.

The student's train(X_train, y_train) returns parameters; the grader keeps
the test digits (a trial's ``secret``), runs the ReLU network on them itself
and scores the accuracy. Nothing the student's code returns is trusted
beyond plain arrays: the forward pass is the grader's own.
"""

import numpy as np

from bplib.grading.exercises.common import EVERY_TRIAL, Exercise, Requirement, Trial
from bplib.grading.exercises.lesson10 import deep_backprop

N_TRAIN = 1297          # of the 1,797 digits; the other 500 are the test set
FULL_MARKS = 0.95       # test accuracy for full marks
NO_MARKS = 0.85         # and below which there are none (linear in between)
TIME_LIMIT = 10.0       # seconds train may take


def load_digits():
    """The 1,797 digits as X (1797, 64) float64 pixels in [0, 1] and y (1797,) ints."""
    from sklearn.datasets import load_digits as sklearn_digits

    data = sklearn_digits()
    return data.data / 16.0, data.target.astype(np.int64)


def train(X_train, y_train):
    """The reference: a 64-64-10 ReLU network, 20 epochs of mini-batch SGD with momentum."""
    rng = np.random.default_rng(0)
    sizes = (X_train.shape[1], 64, 10)
    params = [(rng.standard_normal((d_in, d_out)) * np.sqrt(2.0 / d_in), np.zeros(d_out))
              for d_in, d_out in zip(sizes[:-1], sizes[1:])]
    velocity = [(np.zeros_like(W), np.zeros_like(b)) for W, b in params]
    lr, mu, batch = 0.1, 0.9, 64
    for epoch in range(20):
        order = rng.permutation(len(X_train))
        for start in range(0, len(order), batch):
            rows = order[start:start + batch]
            _, grads = deep_backprop(X_train[rows], y_train[rows], params)
            velocity = [(mu * vW - lr * dW, mu * vb - lr * db)
                        for (vW, vb), (dW, db) in zip(velocity, grads)]
            params = [(W + vW, b + vb) for (W, b), (vW, vb) in zip(params, velocity)]
    return params


def _digits_trials(rng):
    X, y = load_digits()
    order = rng.permutation(len(X))
    train_rows, test_rows = order[:N_TRAIN], order[N_TRAIN:]
    return [Trial(f"train on {N_TRAIN:,} digits, tested on {len(test_rows)} others",
                  (X[train_rows], y[train_rows]), secret=(X[test_rows], y[test_rows]))]


def predict(params, X):
    """The class with the largest logit of the ReLU network ``params`` (as in deep_backprop)."""
    A = X
    for l, (W, b) in enumerate(params):
        Z = A @ W + b
        A = Z if l == len(params) - 1 else np.maximum(Z, 0.0)
    return A.argmax(axis=1)


def _params_problem(params, n_in, n_classes):
    """What is wrong with a returned value's structure, or None."""
    if not isinstance(params, (list, tuple)) or not params:
        return "train must return a non-empty list of (W, b) pairs"
    d = n_in
    for l, pair in enumerate(params):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            return f"params[{l}] is not a pair (W, b)"
        W, b = pair
        if not (isinstance(W, np.ndarray) and isinstance(b, np.ndarray)) \
                or W.dtype.kind != "f" or b.dtype.kind != "f":
            return f"params[{l}]: W and b must be float arrays"
        if W.ndim != 2 or W.shape[0] != d or b.shape != (W.shape[1],):
            return (f"params[{l}]: W has shape {W.shape} and b {b.shape}; expected W "
                    f"({d}, D) and b (D,)")
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
            return f"params[{l}] contains NaN or inf"
        d = W.shape[1]
    if d != n_classes:
        return f"the last layer has {d} outputs; expected {n_classes}, one per digit"
    return None


def assess(trial, params):
    """(score, problems, notes) of the parameters train returned on this trial."""
    X_test, y_test = trial.secret
    problem = _params_problem(params, trial.args[0].shape[1], 10)
    if problem:
        return 0.0, [problem], []
    accuracy = float(np.mean(predict(params, X_test) == y_test))
    score = float(np.clip((accuracy - NO_MARKS) / (FULL_MARKS - NO_MARKS), 0.0, 1.0))
    note = (f"test accuracy {accuracy:.1%} on {len(y_test)} digits train never saw "
            f"(full marks from {FULL_MARKS:.0%}, none below {NO_MARKS:.0%})")
    problems = [] if score == 1.0 else [f"test accuracy {accuracy:.1%} is below "
                                        f"{FULL_MARKS:.0%}"]
    return score, problems, [note]


DIGITS_NETWORK = Exercise(
    id="digits_network", signature="train(X_train, y_train)",
    description=("check(\"digits_network\", train) for a function train(X_train, y_train) -> "
                 f"params: X_train ({N_TRAIN}, 64) float64 pixel values in [0, 1] and y_train "
                 f"({N_TRAIN},) integer labels 0..9, {N_TRAIN:,} of scikit-learn's 1,797 8x8 "
                 "digits. It trains a ReLU network with your own functions and returns params, "
                 "a list of (W, b) pairs as in deep_backprop (W_1 of shape (64, D_1), the last "
                 "layer with 10 outputs). The check predicts the other 500 digits, which train "
                 "never sees, with the class of the largest output: full marks at 95% test "
                 "accuracy or more, partial credit from 85%. train must return within "
                 f"{TIME_LIMIT:g} s (aim for under 2 s)."),
    lesson=12, notebook="12_handwritten_digits", arg_names=("X_train", "y_train"),
    output_names=("params",),
    reference=train, make_trials=_digits_trials, assess=assess, timeout=TIME_LIMIT, points=2,
    requirements=[
        Requirement("params: a list of (W, b) pairs, the last layer with 10 outputs",
                    EVERY_TRIAL, lambda X_train, y_train: train(X_train, y_train)[:-1]),
        Requirement("95% test accuracy for full marks", EVERY_TRIAL,
                    lambda X_train, y_train: [(np.zeros((64, 10)), np.zeros(10))]),
    ],
    debug_hint=("Watch the training loss fall and the training accuracy rise; if they do not, "
                "check deep_backprop first, then try a smaller learning rate."))
