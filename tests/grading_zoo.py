"""A zoo of student implementations for every graded exercise.

Written by hand, the way students write them, without calling the reference:
CORRECT[exercise id] lists (name, fn) pairs that must pass every seed, and
BUGGY[exercise id] lists (name, fn, phrase) triples that must fail every seed
with feedback containing ``phrase`` (a distinctive part of the right hint).
"""

import math

import numpy as np


# --------------------------------------------------------------------------
# Helpers a student would write in their own notebook
# --------------------------------------------------------------------------

def _stable_sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softmax_rows(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _log_softmax_rows(z):
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


# ==========================================================================
# numerical_gradient(f, x, h=1e-5)
# ==========================================================================

def ng_copy_per_coordinate(f, x, h=1e-5):
    x = np.asarray(x, dtype=float)
    grad = np.zeros_like(x)
    for i in range(x.size):
        x_plus, x_minus = x.copy(), x.copy()
        x_plus.flat[i] += h
        x_minus.flat[i] -= h
        grad.flat[i] = (f(x_plus) - f(x_minus)) / (2 * h)
    return grad


def ng_ndindex_restore(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    grad = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        f_plus = f(x)
        x[idx] = old - h
        f_minus = f(x)
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def ng_nditer_readwrite(f, x, h=1e-5):
    # Perturbs the caller's x in place and restores each entry exactly.
    grad = np.zeros_like(x, dtype=float)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        idx = it.multi_index
        old = float(x[idx])
        x[idx] = old + h
        fp = f(x)
        x[idx] = old - h
        fm = f(x)
        x[idx] = old
        grad[idx] = (fp - fm) / (2 * h)
        it.iternext()
    return grad


def ng_forward_difference(f, x, h=1e-5):
    x = np.asarray(x, dtype=float)
    grad = np.zeros_like(x)
    fx = f(x)
    for i in range(x.size):
        x_plus = x.copy()
        x_plus.flat[i] += h
        grad.flat[i] = (f(x_plus) - fx) / h
    return grad


def ng_forgets_to_restore(f, x, h=1e-5):
    grad = np.zeros_like(x, dtype=float)
    for i in range(x.size):
        x.flat[i] += h
        fp = f(x)
        x.flat[i] -= 2 * h
        fm = f(x)
        grad.flat[i] = (fp - fm) / (2 * h)
    return grad


def ng_divides_by_h(f, x, h=1e-5):
    x = np.asarray(x, dtype=float)
    grad = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = h
        grad.flat[i] = (f(x + e) - f(x - e)) / h
    return grad


def ng_flipped_difference(f, x, h=1e-5):
    x = np.asarray(x, dtype=float)
    grad = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = h
        grad.flat[i] = (f(x - e) - f(x + e)) / (2 * h)
    return grad


def ng_half_steps_over_2h(f, x, h=1e-5):
    x = np.asarray(x, dtype=float)
    grad = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = h / 2
        grad.flat[i] = (f(x + e) - f(x - e)) / (2 * h)
    return grad


def ng_perturbs_flattened_copy(f, x, h=1e-5):
    # flatten() copies: the perturbations land in flat, and f only ever sees x.
    flat = x.flatten()
    grad = np.zeros(flat.size)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        fp = f(x)
        flat[i] = old - h
        fm = f(x)
        flat[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad.reshape(np.shape(x))


# ==========================================================================
# neuron_backward(x, w, b, dy) -> (dx, dw, db)
# ==========================================================================

def neuron_vectorised(x, w, b, dy):
    s = np.dot(x, w) + b
    ds = dy * float(s > 0)
    return ds * w, ds * x, ds


def neuron_loops(x, w, b, dy):
    s = b
    for i in range(len(x)):
        s += x[i] * w[i]
    dx = np.zeros(len(x))
    dw = np.zeros(len(w))
    db = 0.0
    if s > 0:
        for i in range(len(x)):
            dx[i] = w[i] * dy
            dw[i] = x[i] * dy
        db = dy
    return dx, dw, db


def neuron_np_where(x, w, b, dy):
    # db comes back as a 0-d array from np.where: still "a single number".
    ds = np.where(x @ w + b > 0, dy, 0.0)
    return ds * w, ds * x, ds


def neuron_no_relu(x, w, b, dy):
    return dy * w, dy * x, dy


def neuron_swapped(x, w, b, dy):
    ds = dy if x @ w + b > 0 else 0.0
    return ds * x, ds * w, ds


def neuron_ignores_dy(x, w, b, dy):
    on = 1.0 if x @ w + b > 0 else 0.0
    return on * w, on * x, on


def neuron_slope_one_at_zero(x, w, b, dy):
    s = x @ w + b
    ds = dy if s >= 0 else 0.0
    return ds * w, ds * x, ds


def neuron_db_array(x, w, b, dy):
    ds = dy if x @ w + b > 0 else 0.0
    return ds * w, ds * x, np.array([ds])


# ==========================================================================
# relu_backward(z, dout)
# ==========================================================================

def relu_mask(z, dout):
    return dout * (z > 0)


def relu_where(z, dout):
    return np.where(z > 0, dout, 0.0)


def relu_copy_assign(z, dout):
    dz = dout.copy()
    dz[z <= 0] = 0
    return dz


def relu_heaviside(z, dout):
    return np.heaviside(z, 0.0) * dout


def relu_ndindex_loop(z, dout):
    dz = np.zeros(z.shape)
    for idx in np.ndindex(z.shape):
        if z[idx] > 0:
            dz[idx] = dout[idx]
    return dz


def relu_output_times_dout(z, dout):
    return np.maximum(z, 0) * dout


def relu_masks_by_dout(z, dout):
    return np.where(dout > 0, dout, 0.0)


def relu_slope_only(z, dout):
    return (z > 0).astype(float)


def relu_returns_dout(z, dout):
    return dout.copy()


def relu_in_place(z, dout):
    dout[z <= 0] = 0
    return dout


def relu_1d_loop(z, dout):
    dz = np.zeros_like(dout)
    for i in range(len(z)):
        if z[i] > 0:
            dz[i] = dout[i]
    return dz


def relu_slope_one_at_zero(z, dout):
    return dout * (z >= 0)


def relu_wrong_sign(z, dout):
    return -dout * (z > 0)


# ==========================================================================
# sigmoid_backward(z, dout)
# ==========================================================================

def sigmoid_stable_where(z, dout):
    s = _stable_sigmoid(z)
    return dout * s * (1 - s)


def sigmoid_via_tanh(z, dout):
    s = 0.5 * (1.0 + np.tanh(0.5 * z))
    return dout * s * (1.0 - s)


def sigmoid_symmetric_exp(z, dout):
    e = np.exp(-np.abs(z))  # sigma'(z) is even: e / (1 + e)**2 for either sign
    return dout * e / (1.0 + e) ** 2


def sigmoid_naive_exp(z, dout):
    s = 1.0 / (1.0 + np.exp(-z))
    return dout * s * (1 - s)


def sigmoid_slope_of_output_on_input(z, dout):
    return dout * z * (1 - z)


def sigmoid_forgot_slope(z, dout):
    return dout * _stable_sigmoid(z)


def sigmoid_in_place(z, dout):
    s = _stable_sigmoid(z)
    dout *= s * (1 - s)
    return dout


def sigmoid_1d_math_loop(z, dout):
    dz = np.zeros(len(z))
    for i in range(len(z)):
        s = 1.0 / (1.0 + math.exp(-z[i]))
        dz[i] = dout[i] * s * (1 - s)
    return dz


def sigmoid_wrong_sign(z, dout):
    s = _stable_sigmoid(z)
    return dout * s * (s - 1)


def sigmoid_returns_dout(z, dout):
    dz = dout.copy()  # s * (1 - s) never applied
    return dz


def sigmoid_slope_only(z, dout):
    s = _stable_sigmoid(z)
    return s * (1 - s)


# ==========================================================================
# tanh_backward(z, dout)
# ==========================================================================

def tanh_formula(z, dout):
    t = np.tanh(z)
    return dout * (1 - t ** 2)


def tanh_factored(z, dout):
    t = np.tanh(z)
    return (1.0 - t) * (1.0 + t) * dout


def tanh_via_sigmoid(z, dout):
    s = _stable_sigmoid(2 * z)  # tanh(z) = 2 sigmoid(2z) - 1
    return 4.0 * s * (1.0 - s) * dout


def tanh_slope_of_output_on_input(z, dout):
    return (1 - z ** 2) * dout


def tanh_forgot_slope(z, dout):
    return np.tanh(z) * dout


def tanh_plus_sign(z, dout):
    return (1 + np.tanh(z) ** 2) * dout


def tanh_sech_squared_cosh(z, dout):
    return dout / np.cosh(z) ** 2  # cosh overflows beyond |z| ~ 710


def tanh_1d_math_loop(z, dout):
    out = np.empty(len(z))
    for i in range(len(z)):
        out[i] = (1 - math.tanh(z[i]) ** 2) * dout[i]
    return out


def tanh_in_place(z, dout):
    dout *= 1 - np.tanh(z) ** 2
    return dout


def tanh_returns_dout(z, dout):
    return np.array(dout, dtype=float)


def tanh_slope_only(z, dout):
    t = np.tanh(z)
    return 1 - t ** 2


# ==========================================================================
# softmax_backward(z, dout), z of shape (N, C)
# ==========================================================================

def softmax_jvp(z, dout):
    p = _softmax_rows(z)
    return p * (dout - np.sum(dout * p, axis=1, keepdims=True))


def softmax_full_jacobian_loop(z, dout):
    dz = np.zeros(z.shape)
    for n in range(z.shape[0]):
        row = z[n] - np.max(z[n])
        p = np.exp(row) / np.sum(np.exp(row))
        J = np.diag(p) - np.outer(p, p)
        dz[n] = J.T @ dout[n]
    return dz


def softmax_einsum_jacobian(z, dout):
    p = _softmax_rows(z)
    C = z.shape[1]
    J = np.einsum("ni,ij->nij", p, np.eye(C)) - np.einsum("ni,nj->nij", p, p)
    return np.einsum("nij,ni->nj", J, dout)


def softmax_diagonal_only(z, dout):
    p = _softmax_rows(z)
    return dout * p * (1 - p)


def softmax_sum_axis0(z, dout):
    p = _softmax_rows(z)
    return p * (dout - (dout * p).sum(axis=0, keepdims=True))


def softmax_naive_exp(z, dout):
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    return p * (dout - (dout * p).sum(axis=1, keepdims=True))


def softmax_global_max(z, dout):
    e = np.exp(z - z.max())  # the maximum of the whole batch, not of each row
    p = e / e.sum(axis=1, keepdims=True)
    return p * (dout - (dout * p).sum(axis=1, keepdims=True))


def softmax_wrong_sign(z, dout):
    p = _softmax_rows(z)
    return p * ((dout * p).sum(axis=1, keepdims=True) - dout)


def softmax_in_place(z, dout):
    p = _softmax_rows(z)
    dout -= (dout * p).sum(axis=1, keepdims=True)
    dout *= p
    return dout


def softmax_returns_p(z, dout):
    return _softmax_rows(z)


# ==========================================================================
# dense_backward(X, W, b, dZ) -> (dX, dW, db)
# ==========================================================================

def dense_matrix(X, W, b, dZ):
    return dZ @ W.T, X.T @ dZ, dZ.sum(axis=0)


def dense_per_sample_loop(X, W, b, dZ):
    dX = np.zeros(X.shape)
    dW = np.zeros(W.shape)
    db = np.zeros(b.shape)
    for n in range(X.shape[0]):
        dX[n] = W @ dZ[n]
        dW += np.outer(X[n], dZ[n])
        db += dZ[n]
    return dX, dW, db


def dense_einsum(X, W, b, dZ):
    return (np.einsum("nm,dm->nd", dZ, W), np.einsum("nd,nm->dm", X, dZ),
            np.einsum("nm->m", dZ))


def dense_dW_transposed(X, W, b, dZ):
    return dZ @ W.T, dZ.T @ X, dZ.sum(axis=0)


def dense_db_keepdims(X, W, b, dZ):
    return dZ @ W.T, X.T @ dZ, dZ.sum(axis=0, keepdims=True)


def dense_db_wrong_axis(X, W, b, dZ):
    return dZ @ W.T, X.T @ dZ, dZ.sum(axis=1)


def dense_db_mean(X, W, b, dZ):
    return dZ @ W.T, X.T @ dZ, dZ.mean(axis=0)


def dense_dW_over_N(X, W, b, dZ):
    return dZ @ W.T, X.T @ dZ / X.shape[0], dZ.sum(axis=0)


def dense_dW_and_db_over_N(X, W, b, dZ):
    N = X.shape[0]
    return dZ @ W.T, X.T @ dZ / N, dZ.sum(axis=0) / N


def dense_dX_transposed(X, W, b, dZ):
    return W @ dZ.T, X.T @ dZ, dZ.sum(axis=0)


def dense_wrong_sign(X, W, b, dZ):
    return -(dZ @ W.T), -(X.T @ dZ), -dZ.sum(axis=0)


def dense_db_accumulates_into_dZ(X, W, b, dZ):
    db = dZ[0]  # a view: the += below writes into the caller's dZ
    for n in range(1, len(dZ)):
        db += dZ[n]
    return dZ @ W.T, X.T @ dZ, db


# ==========================================================================
# mse_loss(y_pred, y_true) -> (loss, dy_pred)
# ==========================================================================

def mse_vectorised(y_pred, y_true):
    diff = y_pred - y_true
    return np.mean(diff ** 2), 2 * diff / diff.size


def mse_loop(y_pred, y_true):
    flat_p, flat_t = y_pred.ravel(), y_true.ravel()
    n = flat_p.size
    total = 0.0
    grad = np.zeros(n)
    for i in range(n):
        d = flat_p[i] - flat_t[i]
        total += d * d
        grad[i] = 2.0 * d / n
    return total / n, grad.reshape(y_pred.shape)


def mse_numpy_ufuncs(y_pred, y_true):
    diff = np.subtract(y_pred, y_true)
    return float(np.square(diff).sum() / np.size(diff)), np.multiply(2.0 / np.size(diff), diff)


def mse_no_factor_2(y_pred, y_true):
    diff = y_pred - y_true
    return np.mean(diff ** 2), diff / diff.size


def mse_no_mean_in_grad(y_pred, y_true):
    diff = y_pred - y_true
    return np.mean(diff ** 2), 2 * diff


def mse_divides_by_rows(y_pred, y_true):
    diff = y_pred - y_true
    return np.mean(diff ** 2), 2 * diff / len(diff)


def mse_wrong_sign(y_pred, y_true):
    diff = y_true - y_pred
    return np.mean(diff ** 2), 2 * diff / diff.size


def mse_half_squared_error(y_pred, y_true):
    diff = y_pred - y_true
    return 0.5 * np.mean(diff ** 2), diff / diff.size


def mse_loss_keepdims(y_pred, y_true):
    diff = y_pred - y_true
    return np.mean(diff ** 2, keepdims=True).reshape(1), 2 * diff / diff.size


# ==========================================================================
# binary_cross_entropy(p, y) -> (loss, dp)
# ==========================================================================

def bce_clipped(p, y):
    q = np.clip(p, 1e-12, 1 - 1e-12)
    loss = -np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))
    return loss, (q - y) / (q * (1 - q)) / q.size


def bce_where_two_terms(p, y):
    p = np.clip(p, 1e-12, 1 - 1e-12)
    n = np.size(p)
    loss = np.sum(np.where(y == 1, -np.log(p), -np.log1p(-p))) / n
    dp = -(y / p - (1 - y) / (1 - p)) / n
    return float(loss), dp


def bce_loop(p, y):
    fp, fy = np.clip(p, 1e-12, 1 - 1e-12).ravel(), y.ravel()
    n = fp.size
    total, grad = 0.0, np.zeros(n)
    for i in range(n):
        if fy[i] == 1:
            total -= math.log(fp[i])
            grad[i] = -1.0 / fp[i] / n
        else:
            total -= math.log(1.0 - fp[i])
            grad[i] = 1.0 / (1.0 - fp[i]) / n
    return total / n, grad.reshape(p.shape)


def bce_logit_gradient(p, y):
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    return loss, (p - y) / p.size


def bce_no_mean_in_grad(p, y):
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    return loss, (p - y) / (p * (1 - p))


def bce_wrong_sign(p, y):
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    return loss, (y / p - (1 - y) / (1 - p)) / p.size


def bce_only_first_term(p, y):
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    return loss, -y / p / p.size


def bce_sum_not_mean(p, y):
    loss = -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))
    return loss, (p - y) / (p * (1 - p))


def bce_divides_by_rows(p, y):
    q = np.clip(p, 1e-12, 1 - 1e-12)
    loss = -np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))
    return loss, (q - y) / (q * (1 - q)) / len(q)


def bce_clips_at_1e_7(p, y):
    eps = 1e-7
    q = np.clip(p, eps, 1 - eps)
    loss = -np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))
    return loss, (q - y) / (q * (1 - q)) / q.size


# ==========================================================================
# softmax_cross_entropy(logits, y) -> (loss, dlogits)
# ==========================================================================

def ce_log_softmax_onehot(logits, y):
    n, c = logits.shape
    log_p = _log_softmax_rows(logits)
    onehot = np.eye(c)[y]
    return -np.sum(onehot * log_p) / n, (np.exp(log_p) - onehot) / n


def ce_per_sample_loop(logits, y):
    n, c = logits.shape
    loss = 0.0
    grad = np.zeros((n, c))
    for i in range(n):
        row = logits[i]
        m = row.max()
        lse = m + math.log(np.sum(np.exp(row - m)))
        loss += lse - row[y[i]]
        grad[i] = np.exp(row - lse)
        grad[i, y[i]] -= 1.0
    return loss / n, grad / n


def ce_take_along_axis(logits, y):
    n = len(logits)
    shifted = logits - logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=1))
    picked = np.take_along_axis(shifted, y[:, None], axis=1)[:, 0]
    p = np.exp(shifted - lse[:, None])
    p[np.arange(n), y] -= 1
    return float(np.mean(lse - picked)), p / n


def ce_no_mean_in_grad(logits, y):
    n, c = logits.shape
    log_p = _log_softmax_rows(logits)
    dl = np.exp(log_p)
    dl[np.arange(n), y] -= 1
    return -log_p[np.arange(n), y].mean(), dl


def ce_wrong_sign(logits, y):
    n, c = logits.shape
    log_p = _log_softmax_rows(logits)
    return -log_p[np.arange(n), y].mean(), (np.eye(c)[y] - np.exp(log_p)) / n


def ce_forgot_onehot(logits, y):
    n = len(logits)
    log_p = _log_softmax_rows(logits)
    return -log_p[np.arange(n), y].mean(), np.exp(log_p) / n


def ce_mean_over_all_entries(logits, y):
    n, c = logits.shape
    log_p = _log_softmax_rows(logits)
    onehot = np.eye(c)[y]
    return -np.mean(onehot * log_p), (np.exp(log_p) - onehot) / (n * c)


def ce_naive_exp(logits, y):
    n, c = logits.shape
    e = np.exp(logits)
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(n), y]))
    p[np.arange(n), y] -= 1
    return loss, p / n


def ce_log_of_softmax(logits, y):
    n, c = logits.shape
    p = _softmax_rows(logits)  # stable, but log(p) of an underflowed p is -inf
    loss = -np.mean(np.log(p[np.arange(n), y]))
    grad = p.copy()
    grad[np.arange(n), y] -= 1
    return loss, grad / n


def ce_shifts_logits_in_place(logits, y):
    n, c = logits.shape
    logits -= logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    grad = np.exp(log_p)
    grad[np.arange(n), y] -= 1
    return -log_p[np.arange(n), y].mean(), grad / n


def ce_clips_probabilities(logits, y):
    n = len(logits)
    p = _softmax_rows(logits)
    loss = -np.mean(np.log(np.clip(p[np.arange(n), y], 1e-7, 1.0)))  # avoids log(0)
    grad = p.copy()
    grad[np.arange(n), y] -= 1
    return loss, grad / n


# ==========================================================================
# mlp_backprop(X, y, params) -> (loss, grads)
# ==========================================================================

def mlp_vectorised(X, y, params):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    n = X.shape[0]
    Z1 = X @ W1 + b1
    H = np.maximum(Z1, 0)
    Z2 = H @ W2 + b2
    log_p = _log_softmax_rows(Z2)
    loss = -log_p[np.arange(n), y].mean()
    dZ2 = np.exp(log_p)
    dZ2[np.arange(n), y] -= 1
    dZ2 /= n
    dH = dZ2 @ W2.T
    dZ1 = dH * (Z1 > 0)
    return loss, {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": H.T @ dZ2,
                  "b2": dZ2.sum(axis=0)}


def mlp_einsum_onehot_where(X, y, params):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    n, c = X.shape[0], W2.shape[1]
    Z1 = np.einsum("nd,dh->nh", X, W1) + b1
    H = np.where(Z1 > 0, Z1, 0.0)
    Z2 = np.einsum("nh,hc->nc", H, W2) + b2
    P = _softmax_rows(Z2)
    Y = np.eye(c)[y]
    loss = float(-np.sum(Y * _log_softmax_rows(Z2)) / n)
    dZ2 = (P - Y) / n
    dZ1 = np.where(Z1 > 0, np.einsum("nc,hc->nh", dZ2, W2), 0.0)
    return loss, {"W1": np.einsum("nd,nh->dh", X, dZ1), "b1": np.einsum("nh->h", dZ1),
                  "W2": np.einsum("nh,nc->hc", H, dZ2), "b2": np.einsum("nc->c", dZ2)}


def mlp_per_sample_loop(X, y, params):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    n = len(X)
    grads = {k: np.zeros_like(v, dtype=float) for k, v in params.items()}
    loss = 0.0
    for i in range(n):
        z1 = X[i] @ W1 + b1
        h = np.maximum(z1, 0)
        z2 = h @ W2 + b2
        m = z2.max()
        lse = m + np.log(np.exp(z2 - m).sum())
        loss += (lse - z2[y[i]]) / n
        dz2 = np.exp(z2 - lse)
        dz2[y[i]] -= 1
        dz2 /= n
        grads["W2"] += np.outer(h, dz2)
        grads["b2"] += dz2
        dz1 = (W2 @ dz2) * (z1 > 0)
        grads["W1"] += np.outer(X[i], dz1)
        grads["b1"] += dz1
    return loss, grads


def _mlp_parts(X, y, params):
    """Forward pass and dZ2 shared by the buggy networks below."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    n = len(X)
    Z1 = X @ W1 + b1
    H = np.maximum(Z1, 0)
    log_p = _log_softmax_rows(H @ W2 + b2)
    loss = -log_p[np.arange(n), y].mean()
    dZ2 = np.exp(log_p)
    dZ2[np.arange(n), y] -= 1
    return Z1, H, loss, dZ2 / n


def mlp_no_relu_derivative(X, y, params):
    Z1, H, loss, dZ2 = _mlp_parts(X, y, params)
    dZ1 = dZ2 @ params["W2"].T
    return loss, {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": H.T @ dZ2,
                  "b2": dZ2.sum(axis=0)}


def mlp_no_mean(X, y, params):
    Z1, H, loss, dZ2 = _mlp_parts(X, y, params)
    n = len(X)
    loss, dZ2 = loss * n, dZ2 * n  # sums over the batch instead of means
    dZ1 = (dZ2 @ params["W2"].T) * (Z1 > 0)
    return loss, {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": H.T @ dZ2,
                  "b2": dZ2.sum(axis=0)}


def mlp_wrong_sign(X, y, params):
    Z1, H, loss, dZ2 = _mlp_parts(X, y, params)
    dZ2 = -dZ2
    dZ1 = (dZ2 @ params["W2"].T) * (Z1 > 0)
    return -loss, {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": H.T @ dZ2,
                   "b2": dZ2.sum(axis=0)}


def mlp_dW1_transposed(X, y, params):
    Z1, H, loss, dZ2 = _mlp_parts(X, y, params)
    dZ1 = (dZ2 @ params["W2"].T) * (Z1 > 0)
    return loss, {"W1": dZ1.T @ X, "b1": dZ1.sum(axis=0), "W2": H.T @ dZ2,
                  "b2": dZ2.sum(axis=0)}


def mlp_b1_keepdims(X, y, params):
    Z1, H, loss, dZ2 = _mlp_parts(X, y, params)
    dZ1 = (dZ2 @ params["W2"].T) * (Z1 > 0)
    return loss, {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0, keepdims=True), "W2": H.T @ dZ2,
                  "b2": dZ2.sum(axis=0)}


def mlp_updates_params(X, y, params):
    loss, grads = mlp_vectorised(X, y, params)
    for key in params:  # a gradient-descent step inside the backward pass
        params[key] -= 0.1 * grads[key]
    return loss, grads


def mlp_wrong_keys(X, y, params):
    loss, grads = mlp_vectorised(X, y, params)
    return loss, {"d" + key: value for key, value in grads.items()}


def mlp_grads_not_over_N(X, y, params):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    n = X.shape[0]
    Z1 = X @ W1 + b1
    H = np.maximum(Z1, 0)
    log_p = _log_softmax_rows(H @ W2 + b2)
    loss = -log_p[np.arange(n), y].mean()
    dZ2 = np.exp(log_p)
    dZ2[np.arange(n), y] -= 1  # the mean's 1/n stops at the loss
    dZ1 = (dZ2 @ W2.T) * (Z1 > 0)
    return loss, {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": H.T @ dZ2,
                  "b2": dZ2.sum(axis=0)}


# ==========================================================================
# sigmoid_net_backprop(X, y, params) -> (loss, grads)
# ==========================================================================

def signet_from_logits(X, y, params):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    n = len(X)
    Z1 = X @ W1 + b1
    H = _stable_sigmoid(Z1)
    z2 = H @ W2 + b2
    p = _stable_sigmoid(z2)
    loss = np.mean(np.maximum(z2, 0) - y * z2 + np.log1p(np.exp(-np.abs(z2))))
    dz2 = (p - y) / n
    dZ1 = np.outer(dz2, W2) * H * (1 - H)
    return loss, {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": H.T @ dz2,
                  "b2": float(np.sum(dz2))}


def signet_through_probabilities(X, y, params):
    # The article's route: dL/dp, then the output sigmoid's slope.
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    n = len(X)
    H = 1.0 / (1.0 + np.exp(-(X @ W1 + b1)))
    p = 1.0 / (1.0 + np.exp(-(H @ W2 + b2)))
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    dp = (p - y) / (p * (1 - p)) / n
    dz2 = dp * p * (1 - p)
    dH = dz2[:, None] * W2[None, :]
    dZ1 = dH * H * (1 - H)
    return float(loss), {"W1": X.T @ dZ1, "b1": np.sum(dZ1, axis=0), "W2": dz2 @ H,
                         "b2": dz2.sum()}


def signet_per_sample_loop(X, y, params):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    n = len(X)
    gW1, gb1, gW2, gb2 = np.zeros(W1.shape), np.zeros(b1.shape), np.zeros(W2.shape), 0.0
    loss = 0.0
    for i in range(n):
        h = _stable_sigmoid(X[i] @ W1 + b1)
        z = h @ W2 + b2
        p = float(_stable_sigmoid(z))
        loss += (max(z, 0.0) - y[i] * z + math.log1p(math.exp(-abs(z)))) / n
        dz = (p - y[i]) / n
        gW2 += dz * h
        gb2 += dz
        dz1 = dz * W2 * h * (1 - h)
        gW1 += np.outer(X[i], dz1)
        gb1 += dz1
    return loss, {"W1": gW1, "b1": gb1, "W2": gW2, "b2": gb2}


def _signet_parts(X, y, params):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    Z1 = X @ W1 + b1
    H = _stable_sigmoid(Z1)
    z2 = H @ W2 + b2
    loss = np.mean(np.maximum(z2, 0) - y * z2 + np.log1p(np.exp(-np.abs(z2))))
    return Z1, H, loss, (_stable_sigmoid(z2) - y) / len(X)


def _signet_grads(X, H, dz2, dZ1):
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": H.T @ dz2, "b2": float(dz2.sum())}


def signet_no_hidden_derivative(X, y, params):
    Z1, H, loss, dz2 = _signet_parts(X, y, params)
    return loss, _signet_grads(X, H, dz2, np.outer(dz2, params["W2"]))


def signet_slope_at_output(X, y, params):
    Z1, H, loss, dz2 = _signet_parts(X, y, params)
    s = _stable_sigmoid(H)  # sigmoid of the output H, where sigmoid(Z1) belongs
    return loss, _signet_grads(X, H, dz2, np.outer(dz2, params["W2"]) * s * (1 - s))


def signet_output_formula_on_input(X, y, params):
    Z1, H, loss, dz2 = _signet_parts(X, y, params)
    return loss, _signet_grads(X, H, dz2, np.outer(dz2, params["W2"]) * Z1 * (1 - Z1))


def signet_no_mean(X, y, params):
    Z1, H, loss, dz2 = _signet_parts(X, y, params)
    n = len(X)
    dz2 = dz2 * n
    return loss * n, _signet_grads(X, H, dz2, np.outer(dz2, params["W2"]) * H * (1 - H))


def signet_wrong_sign(X, y, params):
    Z1, H, loss, dz2 = _signet_parts(X, y, params)
    dz2 = -dz2
    return -loss, _signet_grads(X, H, dz2, np.outer(dz2, params["W2"]) * H * (1 - H))


def signet_b1_keepdims(X, y, params):
    Z1, H, loss, dz2 = _signet_parts(X, y, params)
    grads = _signet_grads(X, H, dz2, np.outer(dz2, params["W2"]) * H * (1 - H))
    dZ1 = np.outer(dz2, params["W2"]) * H * (1 - H)
    grads["b1"] = dZ1.sum(axis=0, keepdims=True)
    return loss, grads


def signet_updates_W1(X, y, params):
    loss, grads = signet_from_logits(X, y, params)
    params["W1"] -= 0.5 * grads["W1"]
    return loss, grads


def signet_grads_not_over_N(X, y, params):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    Z1 = X @ W1 + b1
    H = _stable_sigmoid(Z1)
    z2 = H @ W2 + b2
    loss = np.mean(np.maximum(z2, 0) - y * z2 + np.log1p(np.exp(-np.abs(z2))))
    dz2 = _stable_sigmoid(z2) - y  # the mean's 1/n stops at the loss
    dZ1 = np.outer(dz2, W2) * H * (1 - H)
    return loss, {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": H.T @ dz2,
                  "b2": float(np.sum(dz2))}


# ==========================================================================
# tiny_net_backprop(x, y_true, params) -> (loss, grads)
# ==========================================================================

def tiny_deltas(x, y_true, params):
    w1, b1, w2, b2 = params["w1"], params["b1"], params["w2"], params["b2"]
    n = len(x)
    h = _stable_sigmoid(w1 * x + b1)
    y = _stable_sigmoid(w2 * h + b2)
    loss = np.mean(0.5 * (y - y_true) ** 2)
    delta2 = (y - y_true) * y * (1 - y) / n
    delta1 = delta2 * w2 * h * (1 - h)
    return float(loss), {"w1": float(np.dot(delta1, x)), "b1": float(delta1.sum()),
                         "w2": float(np.dot(delta2, h)), "b2": float(delta2.sum())}


def tiny_per_sample_loop(x, y_true, params):
    # The lesson's scalar backprop, once per sample, averaged over the batch.
    w1, b1, w2, b2 = params["w1"], params["b1"], params["w2"], params["b2"]
    n = len(x)
    loss = 0.0
    grads = {"w1": 0.0, "b1": 0.0, "w2": 0.0, "b2": 0.0}
    for xi, ti in zip(x, y_true):
        z1 = w1 * xi + b1
        h = 1 / (1 + math.exp(-z1)) if z1 >= 0 else math.exp(z1) / (1 + math.exp(z1))
        z2 = w2 * h + b2
        y = 1 / (1 + math.exp(-z2)) if z2 >= 0 else math.exp(z2) / (1 + math.exp(z2))
        loss += 0.5 * (y - ti) ** 2 / n
        d2 = (y - ti) * y * (1 - y)
        d1 = d2 * w2 * h * (1 - h)
        grads["w2"] += d2 * h / n
        grads["b2"] += d2 / n
        grads["w1"] += d1 * xi / n
        grads["b1"] += d1 / n
    return loss, grads


def tiny_chain_factors(x, y_true, params):
    # The lesson's table of local derivatives, multiplied per sample, then averaged.
    z1 = params["w1"] * x + params["b1"]
    h = _stable_sigmoid(z1)
    z2 = params["w2"] * h + params["b2"]
    y = _stable_sigmoid(z2)
    dL_dy, dy_dz2 = y - y_true, y * (1 - y)
    dz2_dh, dh_dz1 = params["w2"], h * (1 - h)
    per_sample = {"w2": dL_dy * dy_dz2 * h, "b2": dL_dy * dy_dz2,
                  "w1": dL_dy * dy_dz2 * dz2_dh * dh_dz1 * x,
                  "b1": dL_dy * dy_dz2 * dz2_dh * dh_dz1}
    return np.mean((y - y_true) ** 2) / 2, {k: v.mean() for k, v in per_sample.items()}


def _tiny_forward(x, params):
    h = _stable_sigmoid(params["w1"] * x + params["b1"])
    return h, _stable_sigmoid(params["w2"] * h + params["b2"])


def _tiny_grads(x, h, delta2, delta1):
    return {"w1": float(np.sum(delta1 * x)), "b1": float(np.sum(delta1)),
            "w2": float(np.sum(delta2 * h)), "b2": float(np.sum(delta2))}


def tiny_no_hidden_derivative(x, y_true, params):
    h, y = _tiny_forward(x, params)
    delta2 = (y - y_true) * y * (1 - y) / len(x)
    return np.mean(0.5 * (y - y_true) ** 2), _tiny_grads(x, h, delta2, delta2 * params["w2"])


def tiny_slope_of_activation(x, y_true, params):
    # A helper written for the input z, called with the activations.
    def dsigmoid(z):
        s = _stable_sigmoid(z)
        return s * (1 - s)
    h, y = _tiny_forward(x, params)
    delta2 = (y - y_true) * dsigmoid(y) / len(x)
    delta1 = delta2 * params["w2"] * dsigmoid(h)
    return np.mean(0.5 * (y - y_true) ** 2), _tiny_grads(x, h, delta2, delta1)


def tiny_output_formula_on_z(x, y_true, params):
    # A helper written for the output s, called with the pre-activations.
    def dsigmoid(s):
        return s * (1 - s)
    z1 = params["w1"] * x + params["b1"]
    h = _stable_sigmoid(z1)
    z2 = params["w2"] * h + params["b2"]
    y = _stable_sigmoid(z2)
    delta2 = (y - y_true) * dsigmoid(z2) / len(x)
    delta1 = delta2 * params["w2"] * dsigmoid(z1)
    return np.mean(0.5 * (y - y_true) ** 2), _tiny_grads(x, h, delta2, delta1)


def tiny_hidden_slope_on_z1_only(x, y_true, params):
    z1 = params["w1"] * x + params["b1"]
    h, y = _tiny_forward(x, params)
    delta2 = (y - y_true) * y * (1 - y) / len(x)
    delta1 = delta2 * params["w2"] * z1 * (1 - z1)
    return np.mean(0.5 * (y - y_true) ** 2), _tiny_grads(x, h, delta2, delta1)


def tiny_no_half(x, y_true, params):
    h, y = _tiny_forward(x, params)
    loss = np.mean((y - y_true) ** 2)
    delta2 = 2 * (y - y_true) * y * (1 - y) / len(x)
    return loss, _tiny_grads(x, h, delta2, delta2 * params["w2"] * h * (1 - h))


def tiny_half_loss_but_factor_2(x, y_true, params):
    h, y = _tiny_forward(x, params)
    loss = 0.5 * np.mean((y - y_true) ** 2)
    delta2 = 2 * (y - y_true) / len(x) * y * (1 - y)  # d/dy of (y - t)^2, not of half of it
    return loss, _tiny_grads(x, h, delta2, delta2 * params["w2"] * h * (1 - h))


def tiny_sum_not_mean(x, y_true, params):
    h, y = _tiny_forward(x, params)
    loss = np.sum(0.5 * (y - y_true) ** 2)
    delta2 = (y - y_true) * y * (1 - y)
    return loss, _tiny_grads(x, h, delta2, delta2 * params["w2"] * h * (1 - h))


def tiny_wrong_sign(x, y_true, params):
    h, y = _tiny_forward(x, params)
    delta2 = (y_true - y) * y * (1 - y) / len(x)
    return (np.mean(0.5 * (y - y_true) ** 2),
            _tiny_grads(x, h, delta2, delta2 * params["w2"] * h * (1 - h)))


def tiny_dw1_without_w2(x, y_true, params):
    # Each gradient written out as its own product; dL/dw1 lost a factor.
    h, y = _tiny_forward(x, params)
    n = len(x)
    common = (y - y_true) * y * (1 - y) / n
    return np.mean(0.5 * (y - y_true) ** 2), {
        "w1": float(np.sum(common * h * (1 - h) * x)),
        "b1": float(np.sum(common * params["w2"] * h * (1 - h))),
        "w2": float(np.sum(common * h)), "b2": float(np.sum(common))}


def tiny_per_sample_grads(x, y_true, params):
    # Forgets to sum over the batch: a gradient per sample.
    h, y = _tiny_forward(x, params)
    delta2 = (y - y_true) * y * (1 - y) / len(x)
    delta1 = delta2 * params["w2"] * h * (1 - h)
    return np.mean(0.5 * (y - y_true) ** 2), {"w1": delta1 * x, "b1": delta1,
                                              "w2": delta2 * h, "b2": delta2}


def tiny_updates_params(x, y_true, params):
    loss, grads = tiny_deltas(x, y_true, params)
    for key in params:  # a gradient-descent step inside the backward pass
        params[key] -= 0.5 * grads[key]
    return loss, grads


def tiny_no_output_derivative(x, y_true, params):
    h, y = _tiny_forward(x, params)
    delta2 = (y - y_true) / len(x)
    delta1 = delta2 * params["w2"] * h * (1 - h)
    return np.mean(0.5 * (y - y_true) ** 2), _tiny_grads(x, h, delta2, delta1)


def tiny_delta1_without_w2(x, y_true, params):
    h, y = _tiny_forward(x, params)
    delta2 = (y - y_true) * y * (1 - y) / len(x)
    delta1 = delta2 * h * (1 - h)
    return np.mean(0.5 * (y - y_true) ** 2), _tiny_grads(x, h, delta2, delta1)


def tiny_grads_not_over_N(x, y_true, params):
    h, y = _tiny_forward(x, params)
    loss = np.mean(0.5 * (y - y_true) ** 2)
    delta2 = (y - y_true) * y * (1 - y)  # the mean's 1/N stops at the loss
    return loss, _tiny_grads(x, h, delta2, delta2 * params["w2"] * h * (1 - h))


# ==========================================================================
# relative_error(a, b) -> error
# ==========================================================================

def relerr_vectorised(a, b):
    scale = np.max(np.abs(a)) + np.max(np.abs(b))
    if scale == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / scale)


def relerr_loop(a, b):
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    diff = size_a = size_b = 0.0
    for ai, bi in zip(a, b):
        diff = max(diff, abs(ai - bi))
        size_a = max(size_a, abs(ai))
        size_b = max(size_b, abs(bi))
    return diff / (size_a + size_b) if size_a + size_b > 0 else 0.0


def relerr_inf_norm(a, b):
    # The max-norm of the flattened arrays; the floor only matters for all zeros (0 / tiny = 0).
    norm = lambda v: np.linalg.norm(np.ravel(v), ord=np.inf)
    return norm(a - b) / max(norm(a) + norm(b), np.finfo(float).tiny)


def relerr_elementwise(a, b):
    return np.max(np.abs(a - b) / np.maximum(np.abs(a), np.abs(b)))


def relerr_elementwise_eps(a, b):
    # The popular per-entry version with a floor in the denominator.
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def relerr_no_abs(a, b):
    return float(np.max(a - b) / (np.max(a) + np.max(b)))


def relerr_abs_only_on_top(a, b):
    return np.max(np.abs(a - b)) / (a.max() + b.max())


def relerr_max_a_only(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(a))


def relerr_mean(a, b):
    return np.mean(np.abs(a - b)) / (np.mean(np.abs(a)) + np.mean(np.abs(b)))


def relerr_nan_for_zeros(a, b):
    return np.max(np.abs(a - b)) / (np.max(np.abs(a)) + np.max(np.abs(b)))


def relerr_raises_for_zeros(a, b):
    return float(np.abs(a - b).max()) / (float(np.abs(a).max()) + float(np.abs(b).max()))


def relerr_absolute(a, b):
    return np.max(np.abs(a - b))


# ==========================================================================
# The tables
# ==========================================================================

CORRECT = {
    "numerical_gradient": [("copy_per_coordinate", ng_copy_per_coordinate),
                           ("ndindex_restore", ng_ndindex_restore),
                           ("nditer_perturb_caller_x_and_restore", ng_nditer_readwrite)],
    "neuron_backward": [("vectorised", neuron_vectorised), ("loops", neuron_loops),
                        ("np_where_0d_db", neuron_np_where)],
    "relu_backward": [("mask", relu_mask), ("np_where", relu_where),
                      ("copy_and_assign", relu_copy_assign), ("heaviside", relu_heaviside),
                      ("ndindex_loop", relu_ndindex_loop)],
    "sigmoid_backward": [("stable_where", sigmoid_stable_where), ("via_tanh", sigmoid_via_tanh),
                         ("symmetric_exp", sigmoid_symmetric_exp)],
    "tanh_backward": [("formula", tanh_formula), ("factored", tanh_factored),
                      ("via_stable_sigmoid", tanh_via_sigmoid)],
    "softmax_backward": [("jvp", softmax_jvp), ("full_jacobian_loop", softmax_full_jacobian_loop),
                         ("einsum_jacobian", softmax_einsum_jacobian)],
    "dense_backward": [("matrix", dense_matrix), ("per_sample_loop", dense_per_sample_loop),
                       ("einsum", dense_einsum)],
    "mse_loss": [("vectorised", mse_vectorised), ("loop", mse_loop),
                 ("numpy_ufuncs", mse_numpy_ufuncs)],
    "binary_cross_entropy": [("clipped", bce_clipped), ("where_two_terms", bce_where_two_terms),
                             ("loop", bce_loop)],
    "softmax_cross_entropy": [("log_softmax_onehot", ce_log_softmax_onehot),
                              ("per_sample_loop", ce_per_sample_loop),
                              ("take_along_axis", ce_take_along_axis)],
    "mlp_backprop": [("vectorised", mlp_vectorised), ("einsum_onehot_where", mlp_einsum_onehot_where),
                     ("per_sample_loop", mlp_per_sample_loop)],
    "sigmoid_net_backprop": [("from_logits", signet_from_logits),
                             ("through_probabilities", signet_through_probabilities),
                             ("per_sample_loop", signet_per_sample_loop)],
    "tiny_net_backprop": [("deltas", tiny_deltas), ("per_sample_loop", tiny_per_sample_loop),
                          ("chain_factors_mean", tiny_chain_factors)],
    "relative_error": [("vectorised", relerr_vectorised), ("loop", relerr_loop),
                       ("inf_norm_with_floor", relerr_inf_norm)],
}

BUGGY = {
    "numerical_gradient": [
        ("forward_difference", ng_forward_difference, "forward difference"),
        ("forgets_to_restore_x", ng_forgets_to_restore, "in place"),
        ("divides_by_h", ng_divides_by_h, "twice too large"),
        ("flipped_difference", ng_flipped_difference, "wrong sign"),
        ("half_steps", ng_half_steps_over_2h, "half the right size"),
        ("perturbs_flattened_copy", ng_perturbs_flattened_copy, "all zeros"),
    ],
    "neuron_backward": [
        ("no_relu", neuron_no_relu, "not zero when the neuron is off"),
        ("dx_dw_swapped", neuron_swapped, "swapped dx and dw"),
        ("ignores_dy", neuron_ignores_dy, "upstream gradient dy"),
        ("db_is_an_array", neuron_db_array, "single number"),
        ("slope_one_at_zero", neuron_slope_one_at_zero, "kink is taken as 0"),
    ],
    "relu_backward": [
        ("output_times_dout", relu_output_times_dout, "activation's output"),
        ("mask_from_dout", relu_masks_by_dout, "sign of dout"),
        ("slope_only", relu_slope_only, "slope alone"),
        ("missing_derivative", relu_returns_dout, "derivative is missing"),
        ("in_place", relu_in_place, "in place"),
        ("one_dimensional_loop", relu_1d_loop, "one-dimensional"),
        ("wrong_sign", relu_wrong_sign, "wrong sign"),
        ("slope_one_at_zero", relu_slope_one_at_zero, "slope at its kink is taken as 0"),
    ],
    "sigmoid_backward": [
        ("naive_exp_overflow", sigmoid_naive_exp, "overflow"),
        ("output_slope_on_input", sigmoid_slope_of_output_on_input, "OUTPUT"),
        ("forgot_slope", sigmoid_forgot_slope, "not s"),
        ("in_place", sigmoid_in_place, "in place"),
        ("one_dimensional_loop", sigmoid_1d_math_loop, "one-dimensional"),
        ("wrong_sign", sigmoid_wrong_sign, "wrong sign"),
        ("returns_dout_unchanged", sigmoid_returns_dout, "returned dout unchanged"),
        ("slope_only", sigmoid_slope_only, "slope alone"),
    ],
    "tanh_backward": [
        ("output_slope_on_input", tanh_slope_of_output_on_input, "OUTPUT"),
        ("forgot_slope", tanh_forgot_slope, "slope of tanh is 1 - tanh(z)**2"),
        ("plus_sign", tanh_plus_sign, "1 + tanh(z)**2"),
        ("cosh_overflow", tanh_sech_squared_cosh, "overflow"),
        ("one_dimensional_loop", tanh_1d_math_loop, "one-dimensional"),
        ("in_place", tanh_in_place, "in place"),
        ("returns_dout_unchanged", tanh_returns_dout, "returned dout unchanged"),
        ("slope_only", tanh_slope_only, "slope alone"),
    ],
    "softmax_backward": [
        ("diagonal_only", softmax_diagonal_only, "only the diagonal"),
        ("sum_over_axis0", softmax_sum_axis0, "wrong axis"),
        ("naive_exp_overflow", softmax_naive_exp, "overflow"),
        ("global_max", softmax_global_max, "each row's maximum"),
        ("wrong_sign", softmax_wrong_sign, "wrong sign"),
        ("in_place", softmax_in_place, "in place"),
        ("returns_softmax", softmax_returns_p, "returned the softmax itself"),
    ],
    "dense_backward": [
        ("dW_transposed", dense_dW_transposed, "dW looks transposed"),
        ("db_keepdims", dense_db_keepdims, "keepdims"),
        ("db_wrong_axis", dense_db_wrong_axis, "wrong axis"),
        ("db_mean", dense_db_mean, "N times too small"),
        ("dW_extra_1_over_N", dense_dW_over_N, "divided by N"),
        ("dW_and_db_over_N", dense_dW_and_db_over_N, "dW and db are both divided by N"),
        ("dX_transposed", dense_dX_transposed, "dX looks transposed"),
        ("wrong_sign", dense_wrong_sign, "wrong sign"),
        ("db_view_of_dZ_in_place", dense_db_accumulates_into_dZ, "in place"),
    ],
    "mse_loss": [
        ("no_factor_2", mse_no_factor_2, "factor 2"),
        ("missing_1_over_size", mse_no_mean_in_grad, "1/size"),
        ("divides_by_rows", mse_divides_by_rows, "ALL elements"),
        ("wrong_sign", mse_wrong_sign, "wrong sign"),
        ("half_squared_error", mse_half_squared_error, "without the 1/2"),
        ("loss_keepdims", mse_loss_keepdims, "single number"),
    ],
    "binary_cross_entropy": [
        ("logit_gradient", bce_logit_gradient, "LOGIT"),
        ("missing_1_over_N", bce_no_mean_in_grad, "1/N"),
        ("wrong_sign", bce_wrong_sign, "wrong sign"),
        ("only_first_term", bce_only_first_term, "(1 - y) log(1 - p) term"),
        ("sum_not_mean", bce_sum_not_mean, "sum, not a mean"),
        ("divides_by_rows", bce_divides_by_rows, "ALL elements"),
        ("clips_at_1e_7", bce_clips_at_1e_7, "clipped p to [1e-7"),
    ],
    "softmax_cross_entropy": [
        ("missing_1_over_N", ce_no_mean_in_grad, "1/N"),
        ("wrong_sign", ce_wrong_sign, "wrong sign"),
        ("forgot_onehot", ce_forgot_onehot, "subtract 1"),
        ("mean_over_all_entries", ce_mean_over_all_entries, "N * C"),
        ("naive_exp_overflow", ce_naive_exp, "overflow"),
        ("log_of_softmax", ce_log_of_softmax, "logsumexp"),
        ("shifts_logits_in_place", ce_shifts_logits_in_place, "in place"),
        ("clips_probabilities", ce_clips_probabilities, "clipped the probabilities at 1e-7"),
    ],
    "mlp_backprop": [
        ("no_relu_derivative", mlp_no_relu_derivative, "derivative is missing"),
        ("missing_1_over_N", mlp_no_mean, "N times too large"),
        ("wrong_sign", mlp_wrong_sign, "wrong sign"),
        ("dW1_transposed", mlp_dW1_transposed, "transposed"),
        ("b1_keepdims", mlp_b1_keepdims, "keepdims"),
        ("updates_params_in_place", mlp_updates_params, "in place"),
        ("wrong_keys", mlp_wrong_keys, "missing ['W1', 'W2', 'b1', 'b2']"),
        ("grads_not_over_N", mlp_grads_not_over_N, "loss is right but your gradients"),
    ],
    "sigmoid_net_backprop": [
        ("no_hidden_derivative", signet_no_hidden_derivative, "derivative is missing"),
        ("slope_at_output_H", signet_slope_at_output, "instead of its input Z1"),
        ("output_formula_on_Z1", signet_output_formula_on_input, "Z1 * (1 - Z1)"),
        ("missing_1_over_N", signet_no_mean, "N times too large"),
        ("wrong_sign", signet_wrong_sign, "wrong sign"),
        ("b1_keepdims", signet_b1_keepdims, "keepdims"),
        ("updates_W1_in_place", signet_updates_W1, "in place"),
        ("grads_not_over_N", signet_grads_not_over_N, "loss is right but your gradients"),
    ],
    "tiny_net_backprop": [
        ("no_hidden_derivative", tiny_no_hidden_derivative, "h * (1 - h) is missing"),
        ("slope_of_activation", tiny_slope_of_activation, "one sigmoid too many"),
        ("output_formula_on_z", tiny_output_formula_on_z, "z * (1 - z)"),
        ("output_formula_on_z1_only", tiny_hidden_slope_on_z1_only, "z * (1 - z)"),
        ("no_half", tiny_no_half, "twice too large"),
        ("half_loss_but_factor_2", tiny_half_loss_but_factor_2, "loss is right but your "
         "gradients are twice too large"),
        ("sum_not_mean", tiny_sum_not_mean, "N times too large"),
        ("wrong_sign", tiny_wrong_sign, "wrong sign"),
        ("dw1_without_w2", tiny_dw1_without_w2, "missing the factor w2"),
        ("per_sample_grads", tiny_per_sample_grads, "single number"),
        ("updates_params_in_place", tiny_updates_params, "in place"),
        ("no_output_derivative", tiny_no_output_derivative, "ignore the output sigmoid"),
        ("delta1_without_w2", tiny_delta1_without_w2, "dL/dw1 and dL/db1 are missing"),
        ("grads_not_over_N", tiny_grads_not_over_N, "loss is right but your gradients are N "
         "times too large"),
    ],
    "relative_error": [
        ("elementwise_ratio", relerr_elementwise, "entry by entry"),
        ("elementwise_with_eps", relerr_elementwise_eps, "entry by entry"),
        ("no_abs", relerr_no_abs, "absolute value is missing"),
        ("abs_only_on_top", relerr_abs_only_on_top, "absolute value is missing"),
        ("divides_by_max_a", relerr_max_a_only, "SUM"),
        ("mean_not_max", relerr_mean, "mean where the formula takes the maximum"),
        ("nan_for_all_zeros", relerr_nan_for_zeros, "the error is defined as 0.0 there"),
        ("raises_for_all_zeros", relerr_raises_for_zeros, "the error is defined as 0.0 there"),
        ("absolute_difference", relerr_absolute, "scale of the gradients"),
    ],
}


# ==========================================================================
# The exercises added with issue 10
# ==========================================================================

# --- value: a class Value -------------------------------------------------

class ValueMicrograd:
    """micrograd's style: _prev and a closure per node (new nodes of the same class);
    micrograd's recursive topological sort would fail the deep chain, so this one
    builds the order with a stack."""

    def __init__(self, data, _children=()):
        self.data = float(data)
        self.grad = 0.0
        self._prev = set(_children)
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, ValueMicrograd) else type(self)(other)
        out = type(self)(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, ValueMicrograd) else type(self)(other)
        out = type(self)(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, k):
        out = type(self)(self.data ** k, (self,))

        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = _backward
        return out

    def exp(self):
        out = type(self)(math.exp(self.data), (self,))

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = type(self)(t, (self,))

        def _backward():
            self.grad += (1 - t * t) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = type(self)(self.data if self.data > 0 else 0.0, (self,))

        def _backward():
            self.grad += (out.data > 0) * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        return self * other ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return other + (-self)

    def __rtruediv__(self, other):
        return other * self ** -1

    def backward(self):
        topo, visited, stack = [], set(), [(self, iter(self._prev))]
        visited.add(self)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                topo.append(node)
                stack.pop()
            elif child not in visited:
                visited.add(child)
                stack.append((child, iter(child._prev)))
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()


class ValueOpsTable:
    """Local derivatives as data: each node keeps (parent, local gradient) pairs,
    and backward sorts nodes by creation number (children are always older)."""

    counter = 0

    def __init__(self, data, parents=()):
        self.data = float(data)
        self.grad = 0.0
        self.parents = parents  # ((node, d self / d node), ...)
        ValueOpsTable.counter += 1
        self.number = ValueOpsTable.counter

    @staticmethod
    def lift(x):
        return x if isinstance(x, ValueOpsTable) else ValueOpsTable(x)

    def __add__(self, o):
        o = self.lift(o)
        return ValueOpsTable(self.data + o.data, ((self, 1.0), (o, 1.0)))

    __radd__ = __add__

    def __mul__(self, o):
        o = self.lift(o)
        return ValueOpsTable(self.data * o.data, ((self, o.data), (o, self.data)))

    __rmul__ = __mul__

    def __sub__(self, o):
        o = self.lift(o)
        return ValueOpsTable(self.data - o.data, ((self, 1.0), (o, -1.0)))

    def __rsub__(self, o):
        return self.lift(o) - self

    def __truediv__(self, o):
        o = self.lift(o)
        return ValueOpsTable(self.data / o.data,
                             ((self, 1.0 / o.data), (o, -self.data / o.data ** 2)))

    def __rtruediv__(self, o):
        return self.lift(o) / self

    def __pow__(self, k):
        return ValueOpsTable(self.data ** k, ((self, k * self.data ** (k - 1)),))

    def __neg__(self):
        return ValueOpsTable(-self.data, ((self, -1.0),))

    def tanh(self):
        t = math.tanh(self.data)
        return ValueOpsTable(t, ((self, 1.0 - t * t),))

    def exp(self):
        e = math.exp(self.data)
        return ValueOpsTable(e, ((self, e),))

    def relu(self):
        return ValueOpsTable(max(self.data, 0.0), ((self, 1.0 if self.data > 0 else 0.0),))

    def backward(self):
        nodes, stack, seen = [], [self], {id(self)}
        while stack:
            node = stack.pop()
            nodes.append(node)
            for parent, _ in node.parents:
                if id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append(parent)
        self.grad = 1.0
        for node in sorted(nodes, key=lambda n: -n.number):
            for parent, local in node.parents:
                parent.grad += local * node.grad


class ValueRecursiveSort(ValueMicrograd):
    """micrograd's recursive build_topo: fails past Python's recursion limit."""

    def backward(self):
        topo, visited = [], set()

        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)
        build_topo(self)
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()


class ValueAssigns(ValueMicrograd):
    """self.grad = ... instead of += in __mul__ and __add__."""

    def __add__(self, other):
        other = other if isinstance(other, ValueMicrograd) else ValueAssigns(other)
        out = ValueAssigns(self.data + other.data, (self, other))

        def _backward():
            self.grad = out.grad
            other.grad = out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, ValueMicrograd) else ValueAssigns(other)
        out = ValueAssigns(self.data * other.data, (self, other))

        def _backward():
            self.grad = other.data * out.grad
            other.grad = self.data * out.grad
        out._backward = _backward
        return out


class ValueNoRadd(ValueMicrograd):
    """Forgot __radd__ and friends: 2.0 + a fails."""

    __radd__ = __rmul__ = __rsub__ = __rtruediv__ = None


class ValueTanhOfInput(ValueMicrograd):
    def tanh(self):
        out = type(self)(math.tanh(self.data), (self,))

        def _backward():
            self.grad += (1 - self.data ** 2) * out.grad
        out._backward = _backward
        return out


class ValueRsubSwapped(ValueMicrograd):
    def __rsub__(self, other):
        return self - other


class ValueRtruedivSwapped(ValueMicrograd):
    def __rtruediv__(self, other):
        return self * other ** -1


class ValuePowWithoutK(ValueMicrograd):
    def __pow__(self, k):
        out = type(self)(self.data ** k, (self,))

        def _backward():
            self.grad += self.data ** (k - 1) * out.grad
        out._backward = _backward
        return out


class ValueMulOwnData(ValueMicrograd):
    def __mul__(self, other):
        other = other if isinstance(other, ValueMicrograd) else type(self)(other)
        out = type(self)(self.data * other.data, (self, other))

        def _backward():
            self.grad += self.data * out.grad
            other.grad += other.data * out.grad
        out._backward = _backward
        return out


class ValueNoOrder(ValueMicrograd):
    """Calls a node's backward, then its children's, recursively: a node shared by
    two paths passes its gradient on before it has received all of it."""

    def __init__(self, data, _children=()):
        super().__init__(data, _children)
        self._children = _children

    def backward(self):
        self.grad = 1.0

        def visit(node):
            node._backward()
            for child in node._children:
                visit(child)
        visit(self)


# --- dense_layer: a class Dense --------------------------------------------

class DenseCS231n:
    """CS231n's style: forward returns the output and caches (X, W, b)."""

    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, X):
        self.cache = (X, self.W, self.b)
        return X.dot(self.W) + self.b

    def backward(self, dZ):
        X, W, b = self.cache
        self.dW = X.T.dot(dZ)
        self.db = np.sum(dZ, axis=0)
        return dZ.dot(W.T)


class DenseEinsum:
    def __init__(self, W, b):
        self.W = W
        self.b = b
        self.dW = np.zeros_like(W)
        self.db = np.zeros_like(b)

    def forward(self, X):
        self.inputs = X.copy()
        return np.einsum("nd,dm->nm", X, self.W) + self.b

    def backward(self, dZ):
        self.dW = np.einsum("nd,nm->dm", self.inputs, dZ)
        self.db = np.einsum("nm->m", dZ)
        return np.einsum("nm,dm->nd", dZ, self.W)


class DenseAccumulates(DenseEinsum):
    def backward(self, dZ):
        self.dW += self.inputs.T @ dZ
        self.db += dZ.sum(axis=0)
        return dZ @ self.W.T


class DenseStaleX:
    def __init__(self, W, b):
        self.W, self.b, self.X = W, b, None

    def forward(self, X):
        if self.X is None:
            self.X = X
        return X @ self.W + self.b

    def backward(self, dZ):
        self.dW = self.X.T @ dZ
        self.db = dZ.sum(axis=0)
        return dZ @ self.W.T


class DenseDWTransposed(DenseCS231n):
    def backward(self, dZ):
        dX = super().backward(dZ)
        self.dW = dZ.T @ self.cache[0]
        return dX


class DenseDbMean(DenseCS231n):
    def backward(self, dZ):
        dX = super().backward(dZ)
        self.db = dZ.mean(axis=0)
        return dX


class DenseUpdatesW(DenseCS231n):
    def backward(self, dZ):
        dX = super().backward(dZ)
        self.W -= 0.1 * self.dW
        return dX


class DenseDXTransposed(DenseCS231n):
    def backward(self, dZ):
        super().backward(dZ)
        return self.W @ dZ.T


class DenseDbKeepdims(DenseCS231n):
    def backward(self, dZ):
        dX = super().backward(dZ)
        self.db = dZ.sum(axis=0, keepdims=True)
        return dX


class DenseNoBias(DenseCS231n):
    def forward(self, X):
        self.cache = (X, self.W, self.b)
        return X @ self.W


# --- elu_backward -----------------------------------------------------------

def elu_where_minimum(z, dout, alpha=1.0):
    return dout * np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0.0)))


def elu_mask_assign(z, dout, alpha=1.0):
    slope = np.ones_like(z)
    negative = z <= 0
    slope[negative] = alpha * np.exp(z[negative])
    return dout * slope


def elu_output_plus_alpha(z, dout, alpha=1.0):
    # for z <= 0 the slope alpha exp(z) is ELU(z) + alpha
    out = np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0)))
    return dout * np.where(z > 0, 1.0, out + alpha)


def elu_naive_exp(z, dout, alpha=1.0):
    return dout * np.where(z > 0, 1.0, alpha * np.exp(z))


def elu_forgets_alpha(z, dout, alpha=1.0):
    return dout * np.where(z > 0, 1.0, np.exp(np.minimum(z, 0.0)))


def elu_slope_is_activation(z, dout, alpha=1.0):
    return dout * np.where(z > 0, 1.0, alpha * np.expm1(np.minimum(z, 0.0)))


def elu_relu_like(z, dout, alpha=1.0):
    return dout * (z > 0)


def elu_exp_everywhere(z, dout, alpha=1.0):
    return dout * alpha * np.exp(z)


def elu_slope_only(z, dout, alpha=1.0):
    return np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0.0)))


def elu_sides_swapped(z, dout, alpha=1.0):
    slope = np.ones_like(z)
    slope[z > 0] = alpha * np.exp(z[z > 0])  # the two sides swapped
    return dout * slope


def elu_wrong_sign(z, dout, alpha=1.0):
    return -dout * np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0.0)))


# --- gelu_backward ------------------------------------------------------------

C_GELU = math.sqrt(2 / math.pi)


def gelu_product_rule(z, dout):
    u = C_GELU * (z + 0.044715 * z ** 3)
    t = np.tanh(u)
    du = C_GELU * (1 + 3 * 0.044715 * z ** 2)
    return dout * (0.5 * (1 + t) + 0.5 * z * (1 - t ** 2) * du)


def gelu_expanded(z, dout):
    t = np.tanh(0.7978845608028654 * (z + 0.044715 * z * z * z))
    sech2 = 1.0 - t * t
    return dout * (0.5 + 0.5 * t + (0.3989422804014327 * z + 0.0535161 * z ** 3) * sech2)


def gelu_via_sigmoid(z, dout):
    # 0.5 (1 + tanh(u)) = sigmoid(2u), and 1 - tanh(u)^2 = 4 s (1 - s)
    u = C_GELU * (z + 0.044715 * z ** 3)
    s = _stable_sigmoid(2 * u)
    return dout * (s + z * 2 * s * (1 - s) * C_GELU * (1 + 3 * 0.044715 * z ** 2))


def gelu_cosh_overflow(z, dout):
    u = C_GELU * (z + 0.044715 * z ** 3)
    return dout * (0.5 * (1 + np.tanh(u))
                   + 0.5 * z * C_GELU * (1 + 3 * 0.044715 * z ** 2) / np.cosh(u) ** 2)


def gelu_no_product_rule(z, dout):
    return dout * 0.5 * (1 + np.tanh(C_GELU * (z + 0.044715 * z ** 3)))


def gelu_no_inner_derivative(z, dout):
    t = np.tanh(C_GELU * (z + 0.044715 * z ** 3))
    return dout * (0.5 * (1 + t) + 0.5 * z * (1 - t ** 2) * C_GELU)


def gelu_exact_erf(z, dout):
    Phi = 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))
    phi = np.exp(-0.5 * np.minimum(z ** 2, 1e4)) / math.sqrt(2 * math.pi)
    return dout * (Phi + z * phi)


def gelu_without_sqrt_2_over_pi(z, dout):
    u = z + 0.044715 * z ** 3  # the constant sqrt(2/pi) of u left out
    t = np.tanh(u)
    return dout * (0.5 * (1 + t) + 0.5 * z * (1 - t ** 2) * (1 + 3 * 0.044715 * z ** 2))


def gelu_value_times_dout(z, dout):
    return dout * 0.5 * z * (1 + np.tanh(C_GELU * (z + 0.044715 * z ** 3)))


def gelu_slope_only(z, dout):
    u = C_GELU * (z + 0.044715 * z ** 3)
    t = np.tanh(u)
    return 0.5 * (1 + t) + 0.5 * z * (1 - t ** 2) * C_GELU * (1 + 3 * 0.044715 * z ** 2)


def gelu_wrong_sign(z, dout):
    t = np.tanh(C_GELU * (z + 0.044715 * z ** 3))
    du = C_GELU * (1 + 3 * 0.044715 * z ** 2)
    return -dout * (0.5 * (1 + t) + 0.5 * z * (1 - t ** 2) * du)


# --- sgd_momentum_step --------------------------------------------------------

def momentum_comprehension(params, grads, velocity, lr, mu):
    v = {k: mu * velocity[k] - lr * grads[k] for k in params}
    return {k: params[k] + v[k] for k in params}, v


def momentum_loop_copies(params, grads, velocity, lr, mu):
    new_params, new_velocity = {}, {}
    for name, p in params.items():
        v = velocity[name].copy()
        v *= mu
        v -= lr * grads[name]
        new_velocity[name] = v
        new_params[name] = p.copy() + v
    return new_params, new_velocity


def momentum_in_place(params, grads, velocity, lr, mu):
    for k in params:
        velocity[k] *= mu
        velocity[k] -= lr * grads[k]
        params[k] += velocity[k]
    return params, velocity


def momentum_old_velocity(params, grads, velocity, lr, mu):
    new_v = {k: mu * velocity[k] - lr * grads[k] for k in params}
    return {k: params[k] + velocity[k] for k in params}, new_v


def momentum_plus_gradient(params, grads, velocity, lr, mu):
    v = {k: mu * velocity[k] + lr * grads[k] for k in params}
    return {k: params[k] + v[k] for k in params}, v


def momentum_swapped_outputs(params, grads, velocity, lr, mu):
    v = {k: mu * velocity[k] - lr * grads[k] for k in params}
    return v, {k: params[k] + v[k] for k in params}


def momentum_no_lr(params, grads, velocity, lr, mu):
    v = {k: mu * velocity[k] - grads[k] for k in params}
    return {k: params[k] + v[k] for k in params}, v


def momentum_forgets_velocity(params, grads, velocity, lr, mu):
    v = {k: -lr * grads[k] for k in params}
    return {k: params[k] + v[k] for k in params}, v


def momentum_mu_on_gradient(params, grads, velocity, lr, mu):
    v = {k: mu * (velocity[k] - lr * grads[k]) for k in params}
    return {k: params[k] + v[k] for k in params}, v


# --- deep_backprop --------------------------------------------------------------

def deep_loop_cache(X, y, params):
    N = X.shape[0]
    activations, pre = [X], []
    for l, (W, b) in enumerate(params):
        Z = activations[-1] @ W + b
        pre.append(Z)
        activations.append(Z if l == len(params) - 1 else np.maximum(Z, 0))
    logits = activations[-1]
    log_p = _log_softmax_rows(logits)
    loss = -log_p[np.arange(N), y].mean()
    dZ = np.exp(log_p)
    dZ[np.arange(N), y] -= 1
    dZ /= N
    grads = [None] * len(params)
    for l in range(len(params) - 1, -1, -1):
        grads[l] = (activations[l].T @ dZ, dZ.sum(axis=0))
        if l > 0:
            dZ = (dZ @ params[l][0].T) * (pre[l - 1] > 0)
    return float(loss), grads


def deep_recursive(X, y, params):
    """Each layer's backward through recursion on the rest of the network."""
    N, C = len(y), params[-1][0].shape[1]
    onehot = np.eye(C)[y]

    def go(A, layers):
        W, b = layers[0]
        Z = A @ W + b
        if len(layers) == 1:
            m = Z.max(axis=1, keepdims=True)
            lse = m[:, 0] + np.log(np.exp(Z - m).sum(axis=1))
            loss = np.mean(lse - (Z * onehot).sum(axis=1))
            dZ = (np.exp(Z - m) / np.exp(Z - m).sum(axis=1, keepdims=True) - onehot) / N
            return loss, dZ @ W.T, [(A.T @ dZ, dZ.sum(axis=0))]
        H = np.where(Z > 0, Z, 0.0)
        loss, dH, rest = go(H, layers[1:])
        dZ = dH * (H > 0)
        return loss, dZ @ W.T, [(A.T @ dZ, dZ.sum(axis=0))] + rest

    loss, _, grads = go(X, list(params))
    return float(loss), grads


def deep_reversed_grads(X, y, params):
    loss, grads = deep_loop_cache(X, y, params)
    return loss, grads[::-1]


def deep_relu_on_last(X, y, params):
    N = len(y)
    A, cache = X, []
    for W, b in params:
        Z = A @ W + b
        cache.append((A, Z))
        A = np.maximum(Z, 0)
    log_p = _log_softmax_rows(A)
    loss = -log_p[np.arange(N), y].mean()
    dA = np.exp(log_p)
    dA[np.arange(N), y] -= 1
    dA /= N
    grads = []
    for (A_prev, Z), (W, b) in zip(reversed(cache), reversed(params)):
        dZ = dA * (Z > 0)
        grads.insert(0, (A_prev.T @ dZ, dZ.sum(axis=0)))
        dA = dZ @ W.T
    return float(loss), grads


def deep_no_mean(X, y, params):
    loss, grads = deep_loop_cache(X, y, params)
    return loss * len(y), [(dW * len(y), db * len(y)) for dW, db in grads]


def deep_naive_softmax(X, y, params):
    A = X
    for l, (W, b) in enumerate(params):
        A = A @ W + b if l == len(params) - 1 else np.maximum(A @ W + b, 0)
    p = np.exp(A) / np.exp(A).sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(len(y)), y]))), deep_loop_cache(X, y, params)[1]


def deep_updates_params(X, y, params):
    loss, grads = deep_loop_cache(X, y, params)
    for (W, b), (dW, db) in zip(params, grads):
        W -= 0.5 * dW
    return loss, grads


def deep_grads_not_over_N(X, y, params):
    N = X.shape[0]
    activations, pre = [X], []
    for l, (W, b) in enumerate(params):
        Z = activations[-1] @ W + b
        pre.append(Z)
        activations.append(Z if l == len(params) - 1 else np.maximum(Z, 0))
    log_p = _log_softmax_rows(activations[-1])
    loss = -log_p[np.arange(N), y].mean()
    dZ = np.exp(log_p)
    dZ[np.arange(N), y] -= 1  # the mean's 1/N stops at the loss
    grads = [None] * len(params)
    for l in range(len(params) - 1, -1, -1):
        grads[l] = (activations[l].T @ dZ, dZ.sum(axis=0))
        if l > 0:
            dZ = (dZ @ params[l][0].T) * (pre[l - 1] > 0)
    return float(loss), grads


def deep_db_keepdims(X, y, params):
    N = len(y)
    A, cache = X, []
    for l, (W, b) in enumerate(params):
        Z = A @ W + b
        cache.append((A, Z))
        A = Z if l == len(params) - 1 else np.maximum(Z, 0)
    P = _softmax_rows(A)
    loss = -np.mean(_log_softmax_rows(A)[np.arange(N), y])
    dZ = (P - np.eye(P.shape[1])[y]) / N
    grads = []
    for l in range(len(params) - 1, -1, -1):
        A_prev, Z = cache[l]
        grads.insert(0, (A_prev.T @ dZ, np.sum(dZ, axis=0, keepdims=True)))
        if l > 0:
            dZ = (dZ @ params[l][0].T) * (cache[l - 1][1] > 0)
    return float(loss), grads


def deep_wrong_sign(X, y, params):
    N = len(y)
    A, cache = X, []
    for l, (W, b) in enumerate(params):
        Z = A @ W + b
        cache.append((A, Z))
        A = Z if l == len(params) - 1 else np.maximum(Z, 0)
    log_p = _log_softmax_rows(A)
    loss = -log_p[np.arange(N), y].mean()
    dZ = (np.eye(A.shape[1])[y] - np.exp(log_p)) / N  # the gradient of the log-likelihood
    grads = []
    for l in range(len(params) - 1, -1, -1):
        A_prev, Z = cache[l]
        grads.insert(0, (A_prev.T @ dZ, dZ.sum(axis=0)))
        if l > 0:
            dZ = (dZ @ params[l][0].T) * (cache[l - 1][1] > 0)
    return float(loss), grads


# --- batchnorm_backward -----------------------------------------------------------

def bn_graph_steps(x, gamma, beta, dout, eps=1e-5):
    """Node by node through the computational graph (Kratzert's staged version)."""
    N = x.shape[0]
    mu = x.mean(axis=0)
    xmu = x - mu
    sq = xmu ** 2
    var = sq.mean(axis=0)
    sqrtvar = np.sqrt(var + eps)
    ivar = 1.0 / sqrtvar
    xhat = xmu * ivar
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    divar = (dxhat * xmu).sum(axis=0)
    dxmu1 = dxhat * ivar
    dsqrtvar = -divar / sqrtvar ** 2
    dvar = 0.5 * dsqrtvar / sqrtvar
    dsq = np.ones_like(sq) * dvar / N
    dxmu2 = 2 * xmu * dsq
    dx1 = dxmu1 + dxmu2
    dmu = -dx1.sum(axis=0)
    dx2 = np.ones_like(x) * dmu / N
    return dx1 + dx2, dgamma, dbeta


def bn_compact(x, gamma, beta, dout, eps=1e-5):
    N = len(x)
    xhat = (x - x.mean(0)) / np.sqrt(x.var(0) + eps)
    dxhat = dout * gamma
    dx = (N * dxhat - dxhat.sum(0) - xhat * (dxhat * xhat).sum(0)) / (N * np.sqrt(x.var(0) + eps))
    return dx, (dout * xhat).sum(0), dout.sum(0)


def bn_constant_statistics(x, gamma, beta, dout, eps=1e-5):
    std = np.sqrt(x.var(0) + eps)
    xhat = (x - x.mean(0)) / std
    return dout * gamma / std, (dout * xhat).sum(0), dout.sum(0)


def bn_no_variance_path(x, gamma, beta, dout, eps=1e-5):
    std = np.sqrt(x.var(0) + eps)
    xhat = (x - x.mean(0)) / std
    dxhat = dout * gamma
    return (dxhat - dxhat.mean(0)) / std, (dout * xhat).sum(0), dout.sum(0)


def bn_unbiased_variance(x, gamma, beta, dout, eps=1e-5):
    std = np.sqrt(x.var(0, ddof=1) + eps)
    xhat = (x - x.mean(0)) / std
    dxhat = dout * gamma
    dx = (dxhat - dxhat.mean(0) - xhat * (dxhat * xhat).mean(0)) / std
    return dx, (dout * xhat).sum(0), dout.sum(0)


def bn_dgamma_without_xhat(x, gamma, beta, dout, eps=1e-5):
    dx, _, dbeta = bn_compact(x, gamma, beta, dout, eps)
    return dx, dout.sum(0), dbeta


def bn_no_mean_path(x, gamma, beta, dout, eps=1e-5):
    std = np.sqrt(x.var(0) + eps)
    xhat = (x - x.mean(0)) / std
    dxhat = dout * gamma
    return (dxhat - xhat * (dxhat * xhat).mean(0)) / std, (dout * xhat).sum(0), dout.sum(0)


def bn_eps_outside_sqrt(x, gamma, beta, dout, eps=1e-5):
    N = len(x)
    std = np.sqrt(x.var(0)) + eps
    xhat = (x - x.mean(0)) / std
    dxhat = dout * gamma
    dx = (N * dxhat - dxhat.sum(0) - xhat * (dxhat * xhat).sum(0)) / (N * std)
    return dx, (dout * xhat).sum(0), dout.sum(0)


# --- digits_network -----------------------------------------------------------------

def digits_full_batch(X_train, y_train):
    """Large batches of 256 with momentum on a 64-32-10 network."""
    rng = np.random.default_rng(1)
    params = [(rng.standard_normal((64, 32)) * np.sqrt(2 / 64), np.zeros(32)),
              (rng.standard_normal((32, 10)) * np.sqrt(2 / 32), np.zeros(10))]
    velocity = [(0.0, 0.0), (0.0, 0.0)]
    for step in range(150):
        rows = rng.choice(len(X_train), size=256, replace=False)
        _, grads = deep_loop_cache(X_train[rows], y_train[rows], params)
        velocity = [(0.9 * vW - 0.5 * dW, 0.9 * vb - 0.5 * db)
                    for (vW, vb), (dW, db) in zip(velocity, grads)]
        params = [(W + vW, b + vb) for (W, b), (vW, vb) in zip(params, velocity)]
    return params


def digits_minibatch_deep(X_train, y_train):
    """Three layers, mini-batches of 32, plain SGD."""
    rng = np.random.default_rng(2)
    sizes = [64, 48, 32, 10]
    params = [(rng.standard_normal((a, b)) * np.sqrt(2 / a), np.zeros(b))
              for a, b in zip(sizes[:-1], sizes[1:])]
    for epoch in range(15):
        order = rng.permutation(len(X_train))
        for start in range(0, len(order), 32):
            rows = order[start:start + 32]
            _, grads = deep_recursive(X_train[rows], y_train[rows], params)
            params = [(W - 0.3 * dW, b - 0.3 * db) for (W, b), (dW, db) in zip(params, grads)]
    return params


def digits_undertrained(X_train, y_train):
    """Too few steps with too small a learning rate: partial credit at best."""
    rng = np.random.default_rng(3)
    params = [(rng.standard_normal((64, 10)) * 0.01, np.zeros(10))]
    for step in range(3):
        _, grads = deep_loop_cache(X_train, y_train, params)
        params = [(W - 0.05 * dW, b - 0.05 * db) for (W, b), (dW, db) in zip(params, grads)]
    return params


def digits_untrained(X_train, y_train):
    rng = np.random.default_rng(4)
    return [(rng.standard_normal((64, 10)), np.zeros(10))]


def digits_wrong_output_size(X_train, y_train):
    return [(np.zeros((64, 9)), np.zeros(9))]


CORRECT.update({
    "value": [("micrograd_closures_iterative_topo", ValueMicrograd),
              ("local_gradients_as_data", ValueOpsTable)],
    "dense_layer": [("cs231n_cache", DenseCS231n), ("einsum_copies_X", DenseEinsum)],
    "elu_backward": [("where_minimum", elu_where_minimum), ("mask_assign", elu_mask_assign),
                     ("output_plus_alpha", elu_output_plus_alpha)],
    "gelu_backward": [("product_rule", gelu_product_rule), ("expanded", gelu_expanded),
                      ("via_sigmoid", gelu_via_sigmoid)],
    "sgd_momentum_step": [("comprehension", momentum_comprehension),
                          ("loop_copies", momentum_loop_copies)],
    "deep_backprop": [("loop_cache", deep_loop_cache), ("recursive", deep_recursive)],
    "batchnorm_backward": [("graph_steps", bn_graph_steps), ("compact", bn_compact)],
    "digits_network": [("full_batch_momentum", digits_full_batch),
                       ("minibatch_three_layers", digits_minibatch_deep)],
})

BUGGY.update({
    "value": [
        ("recursive_topological_sort", ValueRecursiveSort, "recursion"),
        ("grad_assigned_not_accumulated", ValueAssigns, "accumulate"),
        ("no_radd", ValueNoRadd, "__radd__"),
        ("tanh_slope_of_input", ValueTanhOfInput, "OUTPUT's data"),
        ("rsub_swapped", ValueRsubSwapped, "other - self"),
        ("rtruediv_swapped", ValueRtruedivSwapped, "other / self"),
        ("pow_without_k", ValuePowWithoutK, "misses the factor k"),
        ("mul_own_data", ValueMulOwnData, "d(a * b)/da = b"),
        ("no_topological_order", ValueNoOrder, "reverse topological order"),
    ],
    "dense_layer": [
        ("accumulates_gradients", DenseAccumulates, "not self.dW +="),
        ("keeps_first_X", DenseStaleX, "latest forward"),
        ("dW_transposed", DenseDWTransposed, "looks transposed"),
        ("db_mean", DenseDbMean, "SUM"),
        ("updates_W_in_backward", DenseUpdatesW, "in place"),
        ("dX_transposed", DenseDXTransposed, "dX looks transposed"),
        ("db_keepdims", DenseDbKeepdims, "without keepdims=True"),
        ("forward_without_bias", DenseNoBias, "forgot the bias"),
    ],
    "elu_backward": [
        ("naive_exp_overflow", elu_naive_exp, "np.minimum(z, 0)"),
        ("forgets_alpha", elu_forgets_alpha, "lacks the factor alpha"),
        ("slope_is_the_activation", elu_slope_is_activation, "the activation itself"),
        ("relu_slope", elu_relu_like, "as for ReLU"),
        ("exp_slope_everywhere", elu_exp_everywhere, "for every z"),
        ("slope_only", elu_slope_only, "slope alone"),
        ("sides_swapped", elu_sides_swapped, "swapped the two sides"),
        ("wrong_sign", elu_wrong_sign, "wrong sign"),
    ],
    "gelu_backward": [
        ("cosh_overflow", gelu_cosh_overflow, "tanh never overflows"),
        ("no_product_rule", gelu_no_product_rule, "product rule"),
        ("no_inner_derivative", gelu_no_inner_derivative, "inner derivative"),
        ("exact_erf_gelu", gelu_exact_erf, "tanh form"),
        ("without_sqrt_2_over_pi", gelu_without_sqrt_2_over_pi, "factor sqrt(2/pi)"),
        ("value_times_dout", gelu_value_times_dout, "not by its value"),
        ("slope_only", gelu_slope_only, "slope alone"),
        ("wrong_sign", gelu_wrong_sign, "wrong sign"),
    ],
    "sgd_momentum_step": [
        ("in_place", momentum_in_place, "in place"),
        ("old_velocity", momentum_old_velocity, "OLD velocity"),
        ("plus_gradient", momentum_plus_gradient, "wrong sign"),
        ("swapped_outputs", momentum_swapped_outputs, "parameters come first"),
        ("no_learning_rate", momentum_no_lr, "ignores the learning rate"),
        ("forgets_old_velocity", momentum_forgets_velocity, "forgets the old velocity"),
        ("mu_on_gradient", momentum_mu_on_gradient, "by mu as well"),
    ],
    "deep_backprop": [
        ("grads_in_backward_order", deep_reversed_grads, "backward order"),
        ("relu_on_last_layer", deep_relu_on_last, "last layer too"),
        ("no_mean", deep_no_mean, "N times too large"),
        ("naive_softmax_overflow", deep_naive_softmax, "overflow"),
        ("updates_params_in_place", deep_updates_params, "in place"),
        ("grads_not_over_N", deep_grads_not_over_N, "loss is right but your gradients"),
        ("db_keepdims", deep_db_keepdims, "without keepdims"),
        ("wrong_sign", deep_wrong_sign, "wrong sign"),
    ],
    "batchnorm_backward": [
        ("constant_mean_and_variance", bn_constant_statistics, "as constants"),
        ("no_variance_path", bn_no_variance_path, "through the variance"),
        ("unbiased_variance", bn_unbiased_variance, "unbiased"),
        ("dgamma_without_xhat", bn_dgamma_without_xhat, "dout * xhat"),
        ("no_mean_path", bn_no_mean_path, "path through the mean"),
        ("eps_outside_sqrt", bn_eps_outside_sqrt, "outside the square root"),
    ],
    "digits_network": [
        ("undertrained", digits_undertrained, "below 95%"),
        ("untrained", digits_untrained, "below 95%"),
        ("nine_outputs", digits_wrong_output_size, "one per digit"),
    ],
})
