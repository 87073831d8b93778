"""One ReLU neuron, forward and backward, live.

``neuron_explorer()`` has a slider for each input x0..x2, each weight w0..w2
and the bias b of the neuron ``y = max(0, x . w + b)``. It shows the
pre-activation s = x . w + b, the output y and every gradient of y:

    dy/dx = [s > 0] * w,   dy/dw = [s > 0] * x,   dy/db = [s > 0]

and says so when the ReLU is off (s <= 0): then the output is 0 and every
gradient is 0, so gradient descent cannot change this neuron on this input.
The plot shows the terms x_i w_i and b that add up to s, and where s lands
on the ReLU.

The arithmetic lives in ``neuron_report`` (built on
``bplib.models.neuron_backward``), which works without any widget.
"""

import ipywidgets as widgets
import numpy as np

from bplib.models import neuron_backward, neuron_forward
from bplib.widgets.common import Explorer, figure_png, plot_image

# The neuron of the from-scratch chapter.
CHAPTER_X = (1.0, -2.0, 3.0)
CHAPTER_W = (-3.0, -1.0, 2.0)
CHAPTER_B = 1.0


def neuron_report(x, w, b):
    """Forward and backward pass of one ReLU neuron, with dL/dy = 1.

    x, w: sequences of 3 (or D) floats; b: float.
    Returns a dict: ``s`` (pre-activation x . w + b), ``y`` (output),
    ``active`` (s > 0), ``dx``, ``dw`` (arrays like x) and ``db`` (float),
    the gradients of y with respect to each input and parameter.
    """
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    s = float(np.dot(x, w) + b)
    dx, dw, db = neuron_backward(x, w, b, 1.0)
    return {"x": x, "w": w, "b": float(b), "s": s, "y": neuron_forward(x, w, b),
            "active": s > 0, "dx": dx, "dw": dw, "db": db}


def plot_neuron(report, axes=None):
    """Two panels: the terms adding up to s, and s on the ReLU curve."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(8, 3))
    ax_sum, ax_relu = axes
    terms = list(report["x"] * report["w"]) + [report["b"]]
    names = [f"x{i}·w{i}" for i in range(len(report["x"]))] + ["b", "s"]
    colors = ["#4c72b0" if t >= 0 else "#c44e52" for t in terms]
    ax_sum.bar(names, terms + [report["s"]], color=colors + ["0.3"])
    ax_sum.axhline(0, color="k", linewidth=0.8)
    ax_sum.set_ylabel("value")
    ax_sum.set_title("Forward: the terms that add up to s")

    reach = max(8.0, abs(report["s"]) * 1.15)
    s_grid = np.linspace(-reach, reach, 201)
    ax_relu.plot(s_grid, np.maximum(s_grid, 0), color="0.5", label="y = max(0, s)")
    state = "on: slope 1" if report["active"] else "off: slope 0"
    ax_relu.plot([report["s"]], [report["y"]], "o", markersize=8,
                 color="#55a868" if report["active"] else "#c44e52",
                 label=f"this neuron (ReLU {state})")
    ax_relu.set_xlabel("pre-activation s = x · w + b")
    ax_relu.set_ylabel("output y")
    ax_relu.set_title(f"ReLU: y = max(0, {report['s'] + 0.0:.2f}) = {report['y'] + 0.0:.2f}")
    ax_relu.legend(loc="upper left", fontsize=8)
    return axes


def _vector(values):
    return "[" + ", ".join(f"{v + 0.0:.3f}" for v in values) + "]"


def _readout_html(report):
    if report["active"]:
        note = ("The ReLU is <b>on</b> (s &gt; 0): its slope is 1, so the "
                "gradients pass straight through.")
    else:
        note = ("<span style='color:#c44e52'>The ReLU is <b>off</b> (s &le; 0): "
                "its slope is 0, so the output is 0 and <b>every gradient is "
                "zero</b>. Gradient descent cannot move this neuron on this "
                "input.</span>")
    rows = [("s = x · w + b", f"{report['s'] + 0.0:.3f}"),
            ("y = max(0, s)", f"{report['y'] + 0.0:.3f}"),
            ("dy/dx = [s > 0] w", _vector(report["dx"])),
            ("dy/dw = [s > 0] x", _vector(report["dw"])),
            ("dy/db = [s > 0]", f"{report['db'] + 0.0:.3f}")]
    body = "".join(f"<tr><td>{name}</td><td><code>{value}</code></td></tr>"
                   for name, value in rows)
    return f"<table>{body}</table><p>{note}</p>"


def _render_png(report):
    """The two panels as PNG bytes."""
    return figure_png(lambda fig: plot_neuron(report, fig.subplots(1, 2)), (8, 3))


def neuron_explorer(x=CHAPTER_X, w=CHAPTER_W, b=CHAPTER_B, *, plot=True):
    """Sliders for x (3), w (3) and b, with the output and gradients live.

    Starts at the chapter's neuron (output 6.0). Try: change w0 (only dy/dx0
    follows it), change x2 (dy/dw2 follows it), lower b until s < 0 (every
    gradient drops to zero).

    Returns an ``Explorer`` whose ``controls`` are "x0".."x2", "w0".."w2"
    and "b" (FloatSliders) and whose ``readout`` shows s, y, dx, dw and db;
    ``plot=False`` skips drawing.
    """
    def slider(name, value):
        return widgets.FloatSlider(value=value, min=-5.0, max=5.0, step=0.1,
                                   description=name, readout_format=".1f",
                                   continuous_update=False)

    controls = {f"x{i}": slider(f"x{i}", v) for i, v in enumerate(x)}
    controls.update({f"w{i}": slider(f"w{i}", v) for i, v in enumerate(w)})
    controls["b"] = slider("b", b)
    readout = widgets.HTML()
    image = plot_image(plot)
    n = len(x)

    def update(change=None):
        report = neuron_report([controls[f"x{i}"].value for i in range(n)],
                               [controls[f"w{i}"].value for i in range(n)],
                               controls["b"].value)
        readout.value = _readout_html(report)
        if image is not None:
            image.value = _render_png(report)

    columns = widgets.HBox([
        widgets.VBox([controls[f"x{i}"] for i in range(n)]),
        widgets.VBox([controls[f"w{i}"] for i in range(n)]),
        widgets.VBox([controls["b"]]),
    ])
    return Explorer("Neuron explorer", [columns], controls=controls, readout=readout,
                    image=image, update=update)
