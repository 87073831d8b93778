"""Plots used throughout the course, with one colour scheme for the classes.

Every function draws on a given matplotlib Axes (or makes one) and returns
it, so lessons can lay plots out side by side.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

# Class k is always drawn in CLASS_COLORS[k], in every lesson.
CLASS_COLORS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3"]


def _axes(ax, figsize=(5, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_data(X, y, ax=None, *, title="Training data"):
    """Scatter 2-D points coloured by integer class label."""
    ax = _axes(ax)
    for k in np.unique(y):
        ax.scatter(*X[y == k].T, s=12, color=CLASS_COLORS[k % len(CLASS_COLORS)],
                   edgecolor="white", linewidth=0.3, label=f"class {k}")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    return ax


def plot_history(history, axes=None, *, title=""):
    """Training loss (and accuracy, if recorded) against epoch.

    history: a ``bplib.nn.History`` or a dict with "loss" and "accuracy" lists.
    axes: one Axes, or two for loss and accuracy side by side.
    Returns the axes used.
    """
    loss = history["loss"] if isinstance(history, dict) else history.loss
    accuracy = history.get("accuracy", []) if isinstance(history, dict) else history.accuracy
    n_plots = 2 if len(accuracy) else 1
    if axes is None:
        _, axes = plt.subplots(1, n_plots, figsize=(5 * n_plots, 3.5))
    axes = np.atleast_1d(axes)
    epochs = np.arange(1, len(loss) + 1)
    axes[0].plot(epochs, loss, color="#4c72b0")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("training loss")
    axes[0].set_title(f"{title} loss".strip())
    if n_plots == 2:
        axes[1].plot(epochs, accuracy, color="#55a868")
        axes[1].set_xlabel("epoch")
        axes[1].set_ylabel("training accuracy")
        axes[1].set_ylim(0, 1.02)
        axes[1].set_title(f"{title} accuracy".strip())
    return axes


def plot_decision_regions(predict_proba, X, y, ax=None, *, title="Decision regions",
                          resolution=150, show_points=True, margin=0.1):
    """Shade the plane by the model's prediction, with the data on top.

    predict_proba: callable mapping points (M, 2) to P(class 1) of shape
    (M,) for a binary model, or to class probabilities (M, C).
    A binary model is shown as a continuous P(class 1) map with its 0.5
    contour; a multi-class model as regions of its most probable class,
    paler where it is less sure.
    """
    ax = _axes(ax)
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = margin * (hi - lo)
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    probs = np.asarray(predict_proba(np.column_stack([gx.ravel(), gy.ravel()])))
    if probs.ndim == 1:
        cmap = ListedColormap(_blend(CLASS_COLORS[0], CLASS_COLORS[1], 256))
        mesh = ax.pcolormesh(gx, gy, probs.reshape(gx.shape), cmap=cmap,
                             vmin=0, vmax=1, alpha=0.55, shading="auto")
        ax.contour(gx, gy, probs.reshape(gx.shape), levels=[0.5], colors="k",
                   linewidths=1)
        ax.figure.colorbar(mesh, ax=ax, label="P(class 1)")
    else:
        n_classes = probs.shape[1]
        cmap = ListedColormap(CLASS_COLORS[:n_classes])
        winner = probs.argmax(axis=1).reshape(gx.shape)
        ax.pcolormesh(gx, gy, winner, cmap=cmap, vmin=-0.5, vmax=n_classes - 0.5,
                      alpha=0.35, shading="auto")
    if show_points:
        plot_data(X, y, ax=ax, title=title)
    ax.set_title(title)
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    return ax


def _blend(c0, c1, n):
    from matplotlib.colors import to_rgb
    a, b = np.array(to_rgb(c0)), np.array(to_rgb(c1))
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) * a + t * b


def plot_gradcheck_errors(results, ax=None, *, tol=None,
                          title="Gradient check: relative error per array"):
    """Bar chart of relative errors (log scale) from gradient checks.

    results: a dict name -> GradCheckResult, or a list of them.
    A dashed line marks the tolerance.
    """
    ax = _axes(ax, figsize=(6, 3.5))
    items = list(results.values()) if isinstance(results, dict) else list(results)
    names = [r.name for r in items]
    errors = [max(r.error, 1e-16) for r in items]
    colors = ["#55a868" if r.passed else "#c44e52" for r in items]
    ax.bar(names, errors, color=colors)
    ax.set_yscale("log")
    ax.set_ylim(1e-16, 1)
    tol = tol if tol is not None else (items[0].tol if items else None)
    if tol is not None:
        ax.axhline(tol, color="k", linestyle="--", linewidth=1, label=f"tolerance {tol:g}")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_ylabel("relative error")
    ax.set_title(title)
    return ax
