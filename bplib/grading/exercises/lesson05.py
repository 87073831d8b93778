"""Lesson 5, a layer of neurons: dense_backward and the Dense layer object."""

from functools import partial

import numpy as np

from bplib import functional as F
from bplib.grading.exercises.common import (EVERY_TRIAL, Exercise, Requirement, Trial,
                                            numerical_backward)


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


def _dense_variant(X, W, b, dZ, *, dX=None, dW=None, db=None):
    """A wrong dense backward: the right answer with some parts replaced."""
    right = F.dense_backward(X, W, b, dZ)
    parts = [part(X, W, b, dZ) if part else default
             for part, default in zip((dX, dW, db), right)]
    return tuple(parts)


_TRANSPOSE_HINT = ("{name} looks transposed. Match shapes: dW must have W's shape (D, M), "
                   "and X.T @ dZ is (D, N) @ (N, M).")


def _dense_clears_dZ(X, W, b, dZ):
    out = F.dense_backward(X, W, b, dZ)
    dZ.fill(0.0)  # "done with it": but the caller still needs dZ
    return out


DENSE_BACKWARD = Exercise(
    id="dense_backward", signature="dense_backward(X, W, b, dZ)",
    description=("dense_backward(X, W, b, dZ) -> (dX, dW, db), the gradients of Z = X @ W + b "
                 "given dZ = dL/dZ. X (N, D), W (D, M), b (M,), dZ (N, M); N = 1 too. dX, dW, db "
                 "have the shapes of X, W, b. Arguments unchanged."),
    lesson=5, notebook="05_layer_of_neurons", arg_names=("X", "W", "b", "dZ"),
    output_names=("dX", "dW", "db"), reference=F.dense_backward,
    make_trials=_dense_trials, numerical=partial(numerical_backward, _dense_forward, 3),
    requirements=[
        Requirement("a batch of one sample, N = 1", ("batch size 1",),
                    partial(_dense_variant, db=lambda X, W, b, dZ: dZ.squeeze().sum(axis=0))),
        Requirement("dX, dW, db have the shapes of X, W, b", EVERY_TRIAL,
                    partial(_dense_variant, db=lambda X, W, b, dZ: dZ.sum(axis=0, keepdims=True))),
        Requirement("arguments unchanged", EVERY_TRIAL, _dense_clears_dZ),
    ],
    shapes="X (N, D), W (D, M), b (M,), dZ (N, M)",
    debug_hint=("Write each array's shape beside each line: dW must come out (D, M) and "
                "dX (N, D). Then compare with the numerical gradient of "
                "np.sum((X @ W + b) * dZ) on a tiny X, W, b."),
    mistakes=[
        (_TRANSPOSE_HINT.format(name="dW"),
         partial(_dense_variant, dW=lambda X, W, b, dZ: dZ.T @ X)),
        ("db has shape (1, M): the bias is a vector of shape (M,), so sum with "
         "dZ.sum(axis=0), without keepdims=True.",
         partial(_dense_variant, db=lambda X, W, b, dZ: dZ.sum(axis=0, keepdims=True))),
        ("db is summed over the wrong axis: the bias is added to every row (sample), so sum "
         "dZ over the rows, axis=0.",
         partial(_dense_variant, db=lambda X, W, b, dZ: dZ.sum(axis=1))),
        ("db is the mean of dZ's rows, N times too small: the bias receives the SUM of its "
         "per-sample gradients (the 1/N is already inside dZ).",
         partial(_dense_variant, db=lambda X, W, b, dZ: dZ.mean(axis=0))),
        ("dW and db are both divided by N: the 1/N of the mean loss is already inside dZ, "
         "so dW = X.T @ dZ and db = dZ summed over the rows, with no further division.",
         partial(_dense_variant, dW=lambda X, W, b, dZ: X.T @ dZ / len(X),
                 db=lambda X, W, b, dZ: dZ.mean(axis=0))),
        ("dW is divided by N: the 1/N of the mean loss is already inside dZ; dW = X.T @ dZ.",
         partial(_dense_variant, dW=lambda X, W, b, dZ: X.T @ dZ / len(X))),
        ("dX looks transposed: dX must have X's shape (N, D), and dZ @ W.T is "
         "(N, M) @ (M, D).", partial(_dense_variant, dX=lambda X, W, b, dZ: W @ dZ.T)),
        ("Your gradients have the wrong sign.",
         lambda X, W, b, dZ: tuple(-g for g in F.dense_backward(X, W, b, dZ))),
    ])


# --------------------------------------------------------------------------
# dense_layer: the layer object (the from-scratch chapter's and CS231n's)
# --------------------------------------------------------------------------

class Dense:
    """A dense layer Z = X @ W + b that keeps what its backward pass needs.

    W (D_in, D_out), b (D_out,). forward(X) keeps X; backward(dZ) stores
    dW and db (shaped like W and b) and returns dX (shaped like X).
    """

    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, X):
        self.X = X
        return X @ self.W + self.b

    def backward(self, dZ):
        self.dW = self.X.T @ dZ
        self.db = dZ.sum(axis=0)
        return dZ @ self.W.T


_PAIR = ("Z", "dX", ".dW", ".db")
_DENSE_OUTPUTS = _PAIR + tuple(f"{name} (2nd pair)" for name in _PAIR)


def drive_dense(layer_class, W, b, pairs):
    """Build one layer and run forward(X) then backward(dZ) for each (X, dZ) in turn.

    Returns Z, dX, .dW and .db of every pair, in order (copies, so that a
    layer that later reuses its arrays cannot change what was recorded).
    """
    layer = layer_class(W, b)
    outputs = []
    for X, dZ in pairs:
        Z = layer.forward(X)
        dX = layer.backward(dZ)
        for value in (Z, dX, layer.dW, layer.db):
            outputs.append(value.copy() if isinstance(value, np.ndarray) else value)
    return tuple(outputs)


def _dense_layer_trials(rng):
    trials = []
    for label, (d, m), (n1, n2) in [
            ("W (3, 4), X (5, 3) then X (2, 3)", (3, 4), (5, 2)),
            ("batch size 1 then 6: W (6, 2)", (6, 2), (1, 6)),
            ("W (2, 5), two batches X (7, 2)", (2, 5), (7, 7)),
            ("W (4, 3), X (3, 4) then X (8, 4)", (4, 3), (3, 8))]:
        pairs = [(rng.standard_normal((n, d)), rng.standard_normal((n, m))) for n in (n1, n2)]
        trials.append(Trial(label, (rng.standard_normal((d, m)), rng.standard_normal(m), pairs)))
    return trials


class _Accumulates(Dense):
    def backward(self, dZ):
        dW, db = self.X.T @ dZ, dZ.sum(axis=0)
        self.dW = getattr(self, "dW", 0.0) + dW
        self.db = getattr(self, "db", 0.0) + db
        return dZ @ self.W.T


class _KeepsFirstX(Dense):
    def forward(self, X):
        if not hasattr(self, "X"):
            self.X = X
        return X @ self.W + self.b


class _DbKeepdims(Dense):
    def backward(self, dZ):
        dX = super().backward(dZ)
        self.db = dZ.sum(axis=0, keepdims=True)
        return dX


class _SqueezesDZ(Dense):
    def backward(self, dZ):
        dZ = dZ.squeeze()
        self.dW = self.X.T @ dZ.reshape(len(self.X), -1)
        self.db = dZ.sum(axis=0)
        return dZ.reshape(len(self.X), -1) @ self.W.T


class _StepsW(Dense):
    def backward(self, dZ):
        dX = super().backward(dZ)
        self.W -= 0.01 * self.dW  # a training step inside backward
        return dX


class _DenseLayerVariant(Dense):
    """A wrong layer: the reference with some of Z, dX, dW, db computed otherwise,
    by the functions in ``parts`` (a subclass's, made by _dense_layer_variant)."""

    parts = {}

    def forward(self, X):
        self.X = X
        return self.parts.get("Z", lambda X, W, b: X @ W + b)(X, self.W, self.b)

    def backward(self, dZ):
        X, W = self.X, self.W
        self.dW = self.parts.get("dW", lambda X, W, dZ: X.T @ dZ)(X, W, dZ)
        self.db = self.parts.get("db", lambda X, W, dZ: dZ.sum(axis=0))(X, W, dZ)
        return self.parts.get("dX", lambda X, W, dZ: dZ @ W.T)(X, W, dZ)


def _dense_layer_variant(**parts):
    return type("Variant", (_DenseLayerVariant,), {"parts": parts})


DENSE_LAYER = Exercise(
    id="dense_layer", signature="Dense(W, b)",
    description=("check(\"dense_layer\", Dense) for a class Dense: Dense(W, b) keeps W "
                 "(D_in, D_out) and b (D_out,). .forward(X) takes X (N, D_in) (N = 1 too), "
                 "returns Z = X @ W + b (N, D_out) and keeps what backward needs. "
                 ".backward(dZ) takes dZ = dL/dZ (N, D_out), returns dX = dL/dX shaped like X, "
                 "and stores .dW and .db, the gradients of that pair, shaped like W and b. One "
                 "layer object may serve several forward/backward pairs in turn. W, b, X and "
                 "dZ are left unchanged."),
    lesson=5, notebook="05_layer_of_neurons", arg_names=("W", "b", "pairs"),
    output_names=_DENSE_OUTPUTS, reference=Dense, make_trials=_dense_layer_trials,
    drive=drive_dense,
    requirements=[
        Requirement("several forward/backward pairs in turn: .dW and .db are those of the "
                    "latest pair", EVERY_TRIAL, _Accumulates),
        Requirement("backward uses the X of the latest forward", EVERY_TRIAL, _KeepsFirstX),
        Requirement(".dW and .db shaped like W and b", EVERY_TRIAL, _DbKeepdims),
        Requirement("a batch of one sample, N = 1", ("batch size 1",), _SqueezesDZ),
        Requirement("W, b, X and dZ unchanged", EVERY_TRIAL, _StepsW),
    ],
    mistakes=[
        ("Your .dW and .db add up over the pairs: each backward must store the gradients of "
         "its own pair, self.dW = ..., not self.dW += ....", _Accumulates),
        # (A layer that keeps the first X raises on the first trial, whose second batch has
        # another size: the hint for that error, not a known mistake, tells the student.)
        (_TRANSPOSE_HINT.format(name=".dW"),
         _dense_layer_variant(dW=lambda X, W, dZ: dZ.T @ X)),
        ("dX looks transposed: dX must have X's shape (N, D_in), and dZ @ W.T is "
         "(N, D_out) @ (D_out, D_in).", _dense_layer_variant(dX=lambda X, W, dZ: W @ dZ.T)),
        (".db has shape (1, D_out): sum with dZ.sum(axis=0), without keepdims=True.",
         _DbKeepdims),
        (".db is the mean of dZ's rows, N times too small: the bias receives the SUM of its "
         "per-sample gradients.", _dense_layer_variant(db=lambda X, W, dZ: dZ.mean(axis=0))),
        ("forward forgot the bias: Z = X @ W + b.",
         _dense_layer_variant(Z=lambda X, W, b: X @ W)),
    ],
    shapes="W (D_in, D_out), b (D_out,), X (N, D_in), dZ (N, D_out)",
    error_hints=[("mismatch in its core dimension",
                  "If forward and backward worked on the first pair: backward must use the X "
                  "of the latest forward, so keep it on every call (self.X = X).")],
    debug_hint=("Run your layer by hand: layer = Dense(W, b); Z = layer.forward(X); "
                "dX = layer.backward(dZ); then compare layer.dW, layer.db and dX with "
                "dense_backward's results, and repeat with a second X of another batch size."))
