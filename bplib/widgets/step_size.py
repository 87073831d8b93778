"""How the step size h decides the accuracy of a finite-difference derivative.

``step_size_explorer()`` shows, for a function and a point picked from a
dropdown and a step h picked on a logarithmic slider, the true derivative,
the forward difference ``(f(x + h) - f(x)) / h`` and the central difference
``(f(x + h) - f(x - h)) / (2h)``, and how far each is from the truth. Its plot
draws both errors against h on log-log axes: the truncation error shrinks
with h (slope 1 for forward, slope 2 for central differences) until
floating-point round-off, which grows like 1/h, takes over.

The arithmetic lives in ``step_size_report`` and ``predicted_best_h``, which
the widget calls and which work without any widget.
"""

import ipywidgets as widgets
import numpy as np

from bplib import functional as F
from bplib.widgets.common import Explorer, figure_png, plot_image

# Unit round-off of float64: the largest relative error of one rounding.
UNIT_ROUNDOFF = np.finfo(np.float64).eps / 2


def _sigmoid_derivatives(x):
    s = F.sigmoid(x)
    return (s, s * (1 - s), s * (1 - s) * (1 - 2 * s),
            s * (1 - s) * (1 - 6 * s + 6 * s * s))


# name -> (f, [f', f'', f'''] as functions, the point x)
FUNCTIONS = {
    "sin(x) at x = 1": (np.sin, (np.cos, lambda x: -np.sin(x), lambda x: -np.cos(x)), 1.0),
    "exp(x) at x = 1": (np.exp, (np.exp, np.exp, np.exp), 1.0),
    "x**3 at x = 2": (lambda x: x ** 3,
                      (lambda x: 3 * x ** 2, lambda x: 6 * x, lambda x: 6.0 + 0 * x), 2.0),
    "sigmoid(x) at x = 0.5": (F.sigmoid,
                              tuple(lambda x, k=k: _sigmoid_derivatives(x)[k]
                                    for k in (1, 2, 3)), 0.5),
}


def difference_quotients(f, x, h):
    """Forward and central difference estimates of f'(x).

    f: a numpy-aware function; x: a float; h: a step, float or array.
    Returns (forward, central), each shaped like h.
    """
    h = np.asarray(h, dtype=float)
    f_plus, f_minus = f(x + h), f(x - h)
    forward = (f_plus - f(x)) / h
    central = (f_plus - f_minus) / (2 * h)
    return forward, central


def step_size_report(function, h):
    """Both estimates of the derivative and their errors at step h.

    function: a key of FUNCTIONS; h: a float or an array of steps.
    Returns a dict with the point ``x``, the ``true`` derivative, the
    ``forward`` and ``central`` estimates and their absolute errors
    ``forward_error`` and ``central_error`` (each shaped like h).
    """
    f, (df, _, _), x = FUNCTIONS[function]
    forward, central = difference_quotients(f, x, h)
    true = float(df(x))
    return {"function": function, "x": x, "h": h, "true": true,
            "forward": forward, "central": central,
            "forward_error": np.abs(forward - true),
            "central_error": np.abs(central - true)}


def predicted_best_h(function):
    """The step sizes that minimise the model error of each difference.

    Truncation error (from Taylor's theorem) plus round-off error (each f
    value is off by up to u |f(x)|, u = 1.1e-16, and the difference divides
    that by h):

        forward: E(h) = h |f''| / 2   + 2 u |f| / h   ->  h* = 2 sqrt(u |f| / |f''|)
        central: E(h) = h^2 |f'''| / 6 + u |f| / h     ->  h* = (3 u |f| / |f'''|)^(1/3)

    Returns (h_forward, h_central): about 1e-8 and 1e-5 for ordinary f.
    """
    f, (_, d2, d3), x = FUNCTIONS[function]
    size = abs(float(f(x)))
    h_forward = 2 * np.sqrt(UNIT_ROUNDOFF * size / abs(float(d2(x))))
    h_central = (3 * UNIT_ROUNDOFF * size / abs(float(d3(x)))) ** (1 / 3)
    return float(h_forward), float(h_central)


def plot_step_size_errors(function, h=None, ax=None, *, hs=None):
    """Log-log plot of both errors against h, with h marked if given."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.8))
    hs = np.logspace(-15, 0, 151) if hs is None else hs
    report = step_size_report(function, hs)
    tiny = 1e-18  # an exact estimate has error 0, which a log axis cannot show
    ax.loglog(hs, np.maximum(report["forward_error"], tiny), color="#4c72b0",
              label="forward difference")
    ax.loglog(hs, np.maximum(report["central_error"], tiny), color="#dd8452",
              label="central difference")
    if h is not None:
        here = step_size_report(function, h)
        ax.axvline(h, color="0.4", linestyle=":", linewidth=1)
        for kind, color in (("forward", "#4c72b0"), ("central", "#dd8452")):
            ax.plot([h], [max(here[f"{kind}_error"], tiny)], "o", color=color,
                    markersize=7, markeredgecolor="k")
    ax.set_ylim(1e-13, 10)
    ax.set_xlabel("step size h")
    ax.set_ylabel("|estimate - true derivative|")
    ax.set_title(f"Finite-difference error, {function}")
    ax.legend(loc="lower right", fontsize=8)
    return ax


def _format(value):
    return f"{value:.10f}" if abs(value) < 1e3 else f"{value:.6e}"


def _readout_html(report):
    h_fwd, h_cen = predicted_best_h(report["function"])
    rows = [
        ("true derivative", _format(report["true"]), ""),
        ("forward difference", _format(float(report["forward"])),
         f"{float(report['forward_error']):.2e}"),
        ("central difference", _format(float(report["central"])),
         f"{float(report['central_error']):.2e}"),
    ]
    body = "".join(f"<tr><td>{name}</td><td style='text-align:right'><code>{value}</code></td>"
                   f"<td style='text-align:right'><code>{error}</code></td></tr>"
                   for name, value, error in rows)
    return (f"<b>{report['function']}</b>, h = {float(report['h']):.3g}"
            "<table><tr><th></th><th>value</th><th>error</th></tr>"
            f"{body}</table>"
            f"<small>Best h in theory: about {h_fwd:.0e} (forward), "
            f"{h_cen:.0e} (central).</small>")


def _render_png(function, h):
    """The error plot as PNG bytes."""
    return figure_png(lambda fig: plot_step_size_errors(function, h, fig.subplots()), (6, 3.8))


def step_size_explorer(function="sin(x) at x = 1", h=1e-5, *, plot=True):
    """A dropdown of functions and a log slider for h, with live errors.

    Shows the true derivative, the forward and central difference estimates
    and their errors (in ``readout``), and the error curves against h with
    the current h marked (a PNG in ``image``, an ``ipywidgets.Image``).
    Try h = 1e-1, 1e-5, 1e-8 and 1e-13: the forward error is smallest near
    1e-8, the central error near 1e-5, and both grow again below that.

    Returns an ``Explorer`` whose ``controls`` are "function" (a Dropdown)
    and "h" (a FloatLogSlider); ``plot=False`` skips drawing.
    """
    controls = {
        "function": widgets.Dropdown(options=list(FUNCTIONS), value=function,
                                     description="function"),
        "h": widgets.FloatLogSlider(value=h, base=10, min=-15, max=0, step=0.25,
                                    description="step h", readout_format=".1e",
                                    continuous_update=False),
    }
    readout = widgets.HTML()
    image = plot_image(plot)

    def update(change=None):
        name, step = controls["function"].value, controls["h"].value
        readout.value = _readout_html(step_size_report(name, step))
        if image is not None:
            image.value = _render_png(name, step)

    return Explorer("Step-size explorer", [widgets.HBox(list(controls.values()))],
                    controls=controls, readout=readout, image=image, update=update)
