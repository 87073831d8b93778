"""Training replay: watch a network's decision regions form, epoch by epoch.

``Network.fit(..., snapshot_every=k)`` keeps a copy of the parameters every
k epochs in ``History.snapshots``. This explorer puts those snapshots on a
slider (with a play button): for the chosen snapshot it rebuilds the network
with that snapshot's parameters, shades the plane by its prediction with the
training points on top, and shows the epoch and the training loss and
accuracy of exactly those parameters.
"""


import ipywidgets as widgets
import numpy as np

from bplib.plotting import plot_decision_regions
from bplib.widgets.common import Explorer, figure_png, plot_image


def snapshot_summary(network, history, X, y, index):
    """The network at snapshot ``index`` of ``history``, and how well it does.

    network: the ``Network`` that was trained (only its layers and loss are
    used; its current parameters are replaced by the snapshot's).
    history: a ``History`` with snapshots, a list of (epoch, parameters).
    X, y: the data to measure loss and accuracy on (the training set).
    index: which snapshot, 0 .. len(history.snapshots) - 1 (negative counts
    from the end, as in a list).

    The loss and accuracy are computed for the snapshot's own parameters, so
    they describe the network as it stood at the end of that epoch. (The
    accuracy equals ``history.accuracy[epoch - 1]``; ``history.loss`` holds the
    mean loss *during* each epoch, measured before that epoch's update.)
    Returns a dict with "epoch" (int), "loss" (float), "accuracy" (float in
    [0, 1]) and "network" (a new Network with the snapshot's parameters).
    """
    snapshots = history.snapshots
    if not snapshots:
        raise ValueError("history has no snapshots: train with "
                         "fit(..., snapshot_every=k) to record some")
    if not -len(snapshots) <= index < len(snapshots):
        raise IndexError(f"snapshot index {index} out of range for "
                         f"{len(snapshots)} snapshots")
    epoch, params = snapshots[index]
    net = network.with_parameters(params)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    out = net.output(X)
    loss, _ = net.loss(out, y)
    accuracy = float(np.mean(net.loss.predict(out) == y))
    return {"epoch": int(epoch), "loss": float(loss), "accuracy": accuracy,
            "network": net}


def _readout_html(summary, index, n_snapshots):
    """One line of numbers, each in a <span> tagged with a data-key."""
    return (
        "<div style='font-family:monospace'>"
        f'snapshot <span data-key="snapshot">{index + 1}</span> of {n_snapshots}: '
        f'epoch <span data-key="epoch">{summary["epoch"]}</span>, '
        f'training loss <span data-key="loss">{summary["loss"]:.4f}</span>, '
        f'training accuracy <span data-key="accuracy">{summary["accuracy"]:.4f}</span>'
        "</div>")


def training_replay(network, history, X, y, *, resolution=100, plot=True):
    """A slider over training snapshots showing the decision regions at each.

    network: the trained ``Network``; history: what its ``fit`` returned,
    recorded with ``snapshot_every`` (you may also put an epoch-0 snapshot of
    the initial parameters first); X, y: the 2-D training data to show.

    Press play (or drag the slider) to replay training: at first the class
    boundaries are nearly straight, then they bend around the data.
    The readout gives the epoch and the loss and accuracy of the network with
    that snapshot's parameters on (X, y).

    Returns an ``Explorer`` whose ``controls`` are "snapshot" (the IntSlider
    of the snapshot index) and "play" (the Play button driving it).
    ``resolution`` is the grid size of the decision-region plot; with
    ``plot=False`` no figure is drawn.
    """
    n_snapshots = len(history.snapshots)
    if n_snapshots == 0:
        raise ValueError("history has no snapshots: train with "
                         "fit(..., snapshot_every=k) to record some")
    slider = widgets.IntSlider(value=0, min=0, max=n_snapshots - 1, step=1,
                               description="snapshot", continuous_update=True,
                               layout=widgets.Layout(width="420px"))
    play = widgets.Play(value=0, min=0, max=n_snapshots - 1, step=1,
                        interval=400, description="replay training")
    # A link in Python (not jslink) so the play button works in tests too.
    widgets.link((play, "value"), (slider, "value"))
    controls = {"snapshot": slider, "play": play}
    readout = widgets.HTML()
    dpi, figsize = 100, (5.5, 4.5)
    image = plot_image(plot)
    if image is not None:  # its own pixel size; without a width it fills the cell
        image.width = int(figsize[0] * dpi)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)

    def update(change=None):
        index = slider.value
        summary = snapshot_summary(network, history, X, y, index)
        readout.value = _readout_html(summary, index, n_snapshots)
        if image is not None:
            title = f"Epoch {summary['epoch']}: training accuracy {summary['accuracy']:.1%}"
            image.value = figure_png(
                lambda fig: plot_decision_regions(summary["network"].predict_proba, X, y,
                                                  ax=fig.subplots(), resolution=resolution,
                                                  title=title),
                figsize, dpi=dpi)

    # The play button moves the slider (linked above): watching the slider alone
    # draws each snapshot once.
    return Explorer("Training replay", [widgets.HBox([play, slider])], controls=controls,
                    readout=readout, image=image, update=update, watch=[slider])
