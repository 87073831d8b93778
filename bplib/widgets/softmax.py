"""Softmax explorer: logits in, probabilities, cross-entropy and its gradient out.

Move three logits (and a temperature) and watch what softmax makes of them:
the probabilities as bars, the cross-entropy loss of the chosen true class,
and the gradient of that loss with respect to the logits, which for softmax
followed by cross-entropy is simply ``(p - onehot(true class)) / T``.
"""

import html

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from bplib import functional as F
from bplib.plotting import CLASS_COLORS
from bplib.widgets.common import Explorer, figure_png, plot_image

N_CLASSES = 3


def softmax_summary(logits, true_class, temperature=1.0):
    """Probabilities, loss and gradient for one sample's logits.

    logits: C numbers z; true_class: an integer in 0..C-1; temperature T > 0.
    The probabilities are p = softmax(z / T), the loss is the cross-entropy
    L = -log p[true_class], and the gradient with respect to the logits is

        dL/dz = (p - onehot(true_class)) / T

    (the fused softmax cross-entropy gradient p - onehot, times the 1/T that
    the chain rule picks up from dividing the logits by T).
    Returns a dict with "probabilities" (C,), "loss" (float), "onehot" (C,)
    and "gradient" (C,).
    """
    z = np.asarray(logits, dtype=float)
    if z.ndim != 1:
        raise ValueError(f"expected a 1-D array of logits, got shape {z.shape}")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    scaled = z[None, :] / temperature
    loss, dscaled = F.softmax_cross_entropy(scaled, np.array([int(true_class)]))
    onehot = np.zeros(z.size)
    onehot[int(true_class)] = 1.0
    return {
        "probabilities": F.softmax(scaled)[0],
        "loss": loss,
        "onehot": onehot,
        "gradient": dscaled[0] / temperature,
    }


def _fmt(value):
    """Four decimals, and never "-0.0000" (rounding first, then adding 0.0)."""
    return f"{round(float(value), 4) + 0.0:.4f}"


def _readout_html(logits, summary, true_class, temperature):
    """An HTML table of the numbers; each number sits in a tagged <span>."""
    def cell(key, value):
        return f'<td style="text-align:right"><span data-key="{key}">{_fmt(value)}</span></td>'

    rows = []
    for k in range(len(logits)):
        mark = " (true)" if k == true_class else ""
        colour = CLASS_COLORS[k % len(CLASS_COLORS)]
        rows.append(
            f'<tr><td><b style="color:{colour}">class {k}{html.escape(mark)}</b></td>'
            + cell(f"logit-{k}", logits[k])
            + cell(f"prob-{k}", summary["probabilities"][k])
            + cell(f"grad-{k}", summary["gradient"][k])
            + "</tr>")
    header = ("<tr><th></th><th>logit z</th><th>probability p</th>"
              "<th>dL/dz = (p - onehot) / T</th></tr>")
    return (
        "<div style='font-family:monospace'>"
        f"<table>{header}{''.join(rows)}</table>"
        f'<p>temperature T = <span data-key="temperature">{_fmt(temperature)}</span>, '
        f'cross-entropy loss L = -log p[{true_class}] = '
        f'<span data-key="loss">{_fmt(summary["loss"])}</span>, '
        f'sum of gradient = <span data-key="grad-sum">{_fmt(summary["gradient"].sum())}</span></p>'
        "</div>")


def plot_softmax_summary(summary, true_class, axes=None):
    """Bar plots of the probabilities and of the gradient dL/dz, side by side."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(8, 3))
    n = len(summary["probabilities"])
    classes = np.arange(n)
    colours = [CLASS_COLORS[k % len(CLASS_COLORS)] for k in classes]
    edges = ["black" if k == true_class else "none" for k in classes]
    ax_p, ax_g = axes
    ax_p.bar(classes, summary["probabilities"], color=colours, edgecolor=edges,
             linewidth=2)
    ax_p.set_ylim(0, 1)
    ax_p.set_xticks(classes, [f"class {k}" for k in classes])
    ax_p.set_ylabel("probability p")
    ax_p.set_title(f"softmax probabilities (true class {true_class} outlined)", fontsize=10)
    ax_g.bar(classes, summary["gradient"], color=colours, edgecolor=edges,
             linewidth=2)
    ax_g.axhline(0, color="black", linewidth=0.8)
    limit = max(1.0, float(np.abs(summary["gradient"]).max()))
    ax_g.set_ylim(-limit, limit)
    ax_g.set_xticks(classes, [f"class {k}" for k in classes])
    ax_g.set_ylabel("dL/dz")
    ax_g.set_title(f"gradient of L = {summary['loss']:.3f} w.r.t. the logits", fontsize=10)
    return axes


def _render_png(summary, true_class):
    """The two bar plots as PNG bytes."""
    return figure_png(lambda fig: plot_softmax_summary(summary, true_class, fig.subplots(1, 2)),
                      (8, 3))


def softmax_explorer(logits=(2.0, 1.0, 0.1), true_class=0, temperature=1.0,
                     *, plot=True):
    """Sliders for three logits, a true-class dropdown and a temperature slider.

    Shows the softmax probabilities (bar plot), the cross-entropy loss of the
    true class and its gradient with respect to the logits, p - onehot (divided
    by T when the temperature is not 1). Try: make all logits equal (every
    probability 1/3, loss ln 3 = 1.0986); add the same number to every logit
    (nothing changes); push the true class's logit far below the others (the
    loss grows without bound, the gradient tends to -1 on the true class);
    lower the temperature (the probabilities sharpen towards the largest logit).

    Returns an ``Explorer`` whose ``controls`` are "z0", "z1", "z2" (logit
    sliders), "true_class" (a Dropdown) and "temperature"; ``plot=False``
    skips drawing.
    """
    sliders = {
        f"z{k}": widgets.FloatSlider(value=float(logits[k]), min=-10.0, max=10.0,
                                     step=0.1, description=f"logit z{k}",
                                     continuous_update=True)
        for k in range(N_CLASSES)
    }
    controls = dict(sliders)
    controls["true_class"] = widgets.Dropdown(
        options=[(f"class {k}", k) for k in range(N_CLASSES)], value=int(true_class),
        description="true class")
    controls["temperature"] = widgets.FloatLogSlider(
        value=float(temperature), base=10, min=-1, max=1, step=0.05,
        description="temperature T", style={"description_width": "initial"})
    readout = widgets.HTML()
    image = plot_image(plot)

    def update(change=None):
        z = np.array([controls[f"z{k}"].value for k in range(N_CLASSES)])
        k_true = controls["true_class"].value
        t = controls["temperature"].value
        summary = softmax_summary(z, k_true, t)
        readout.value = _readout_html(z, summary, k_true, t)
        if image is not None:
            image.value = _render_png(summary, k_true)

    layout = [*sliders.values(), controls["true_class"], controls["temperature"]]
    return Explorer("Softmax explorer", layout, controls=controls, readout=readout,
                    image=image, update=update)
