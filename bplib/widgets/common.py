"""What the lessons' explorers share: how they are assembled and how they draw."""

import io

import ipywidgets as widgets
from matplotlib.figure import Figure


class Explorer(widgets.VBox):
    """Controls, an HTML readout and an optional plot, kept up to date.

    Attributes, so that tests can drive an explorer without a browser:
    ``controls`` (a dict name -> control widget), ``readout`` (the HTML
    widget), ``image`` (the plot, an ``ipywidgets.Image``, or None) and
    ``update()``, which every control's change calls (or those in ``watch``)
    and which has already run once when the explorer is made.

    Its plain-text form says what it is: that text is what a saved notebook
    shows where widgets cannot render (on GitHub, without a kernel).
    """

    def __init__(self, name, layout, *, controls, readout, image, update, watch=None):
        super().__init__(list(layout) + [readout] + ([image] if image is not None else []))
        self.explorer_name = name
        self.controls, self.readout, self.image, self.update = controls, readout, image, update
        for control in (controls.values() if watch is None else watch):
            control.observe(update, names="value")
        update()

    def __repr__(self):
        return (f"{self.explorer_name} (interactive: run the notebook to use it; "
                "the static figure shows the same)")


def plot_image(enabled):
    """The Image widget an explorer draws into, or None when plotting is off."""
    return widgets.Image(format="png") if enabled else None


def figure_png(draw, figsize, dpi=90):
    """PNG bytes of a figure drawn by ``draw(fig)``, made without pyplot.

    Explorers show their plots as an ``ipywidgets.Image`` rather than
    displaying a figure into an ``Output`` widget: figures stay inside an
    Output widget only when the frontend routes them there, and a plain
    notebook runner such as nbval puts them in the cell's own outputs. A
    pyplot-free ``Figure`` also leaves no global state behind.
    """
    fig = Figure(figsize=figsize)
    draw(fig)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
