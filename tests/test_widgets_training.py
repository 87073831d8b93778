"""Tests of the training replay: its pure helper, then the widget driven by its controls."""

import re

import matplotlib
import numpy as np
import pytest

from bplib import nn
from bplib.datasets import make_circles, make_spiral
from bplib.widgets.training import snapshot_summary, training_replay

matplotlib.use("Agg")


def readout_numbers(widget):
    """The numbers shown in the readout, by their data-key."""
    pairs = re.findall(r'data-key="(\w+)">(\d+(?:\.\d+)?)<', widget.readout.value)
    return {key: float(value) for key, value in pairs}


@pytest.fixture(scope="module")
def trained():
    """A small spiral classifier trained for 60 epochs, a snapshot every 10."""
    X, y = make_spiral(n_per_class=40)
    net = nn.mlp_network([2, 16, 3], seed=1)
    history = net.fit(X, y, epochs=60, lr=1.0, snapshot_every=10)
    return net, history, X, y


# -- the pure function -------------------------------------------------------

def test_summary_uses_the_snapshot_parameters(trained):
    net, history, X, y = trained
    for index, (epoch, params) in enumerate(history.snapshots):
        s = snapshot_summary(net, history, X, y, index)
        assert s["epoch"] == epoch
        for key, value in s["network"].parameters().items():
            np.testing.assert_array_equal(value, params[key])
        # the accuracy after epoch e is what fit recorded for epoch e
        assert s["accuracy"] == pytest.approx(history.accuracy[epoch - 1])
        expected_loss, _ = net.with_parameters(params).loss(
            net.with_parameters(params).output(X), y)
        assert s["loss"] == pytest.approx(expected_loss)


def test_summary_leaves_the_trained_network_alone(trained):
    net, history, X, y = trained
    before = {k: v.copy() for k, v in net.parameters().items()}
    snapshot_summary(net, history, X, y, 0)
    for key, value in net.parameters().items():
        np.testing.assert_array_equal(value, before[key])


def test_last_snapshot_is_the_trained_network(trained):
    net, history, X, y = trained
    s = snapshot_summary(net, history, X, y, -1)
    assert s["epoch"] == 60
    assert s["accuracy"] == pytest.approx(net.accuracy(X, y))


def test_training_makes_progress_between_first_and_last_snapshot(trained):
    net, history, X, y = trained
    first = snapshot_summary(net, history, X, y, 0)
    last = snapshot_summary(net, history, X, y, -1)
    assert last["loss"] < first["loss"]


def test_summary_rejects_missing_or_bad_snapshots(trained):
    net, history, X, y = trained
    with pytest.raises(ValueError):
        snapshot_summary(net, nn.History(), X, y, 0)
    with pytest.raises(IndexError):
        snapshot_summary(net, history, X, y, len(history.snapshots))


# -- the widget ----------------------------------------------------------------

def test_widget_starts_at_the_first_snapshot(trained):
    net, history, X, y = trained
    w = training_replay(net, history, X, y, plot=False)
    shown = readout_numbers(w)
    expected = snapshot_summary(net, history, X, y, 0)
    assert shown["snapshot"] == 1
    assert shown["epoch"] == 10
    assert shown["loss"] == pytest.approx(expected["loss"], abs=5e-5)
    assert shown["accuracy"] == pytest.approx(expected["accuracy"], abs=5e-5)
    assert w.controls["snapshot"].max == len(history.snapshots) - 1


def test_moving_the_slider_shows_that_snapshot(trained):
    net, history, X, y = trained
    w = training_replay(net, history, X, y, plot=False)
    for index in [3, 5, 0, 2]:
        w.controls["snapshot"].value = index
        shown = readout_numbers(w)
        epoch = history.snapshots[index][0]
        assert shown["snapshot"] == index + 1
        assert shown["epoch"] == epoch
        assert shown["accuracy"] == pytest.approx(history.accuracy[epoch - 1], abs=5e-5)
        expected = snapshot_summary(net, history, X, y, index)
        assert shown["loss"] == pytest.approx(expected["loss"], abs=5e-5)


def test_play_button_drives_the_slider(trained):
    net, history, X, y = trained
    w = training_replay(net, history, X, y, plot=False)
    w.controls["play"].value = 4
    assert w.controls["snapshot"].value == 4
    assert readout_numbers(w)["epoch"] == history.snapshots[4][0]


def test_widget_with_plot_draws_and_closes_its_figures():
    X, y = make_circles(200)
    net = nn.mlp_network([2, 8, 1], activation="tanh", output="sigmoid", seed=0)
    history = net.fit(X, y, epochs=4, lr=1.0, snapshot_every=2)
    w = training_replay(net, history, X, y, resolution=20)
    first_image = bytes(w.image.value)
    assert first_image.startswith(b"\x89PNG")
    w.controls["snapshot"].value = 1
    assert readout_numbers(w)["epoch"] == 4
    assert bytes(w.image.value).startswith(b"\x89PNG") and bytes(w.image.value) != first_image
    assert not matplotlib.pyplot.get_fignums()


def test_widget_without_plot_has_no_image_but_still_updates(trained):
    net, history, X, y = trained
    w = training_replay(net, history, X, y, plot=False)
    before = w.readout.value
    w.controls["snapshot"].value = 2
    assert w.image is None and w.readout.value != before


def test_widget_needs_snapshots():
    X, y = make_circles(20)
    net = nn.mlp_network([2, 4, 1], output="sigmoid")
    history = net.fit(X, y, epochs=2, lr=0.1)
    with pytest.raises(ValueError):
        training_replay(net, history, X, y)
