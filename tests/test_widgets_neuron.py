"""Tests for bplib.widgets.neuron: the pure helper, then the widget."""

import re

import numpy as np
import pytest

from bplib.gradcheck import numerical_gradient, relative_error
from bplib.models import neuron_forward
from bplib.widgets.neuron import (CHAPTER_B, CHAPTER_W, CHAPTER_X,
                                  neuron_explorer, neuron_report)


def readout_values(widget):
    """The readout's <code> cells parsed: s, y, dx, dw, db."""
    cells = re.findall(r"<code>([^<]*)</code>", widget.readout.value)
    parsed = [np.array([float(v) for v in c.strip("[]").split(",")])
              if c.startswith("[") else float(c) for c in cells]
    return dict(zip(["s", "y", "dx", "dw", "db"], parsed))


def test_chapter_neuron():
    report = neuron_report(CHAPTER_X, CHAPTER_W, CHAPTER_B)
    assert report["s"] == report["y"] == 6.0
    assert report["active"]
    np.testing.assert_array_equal(report["dx"], [-3.0, -1.0, 2.0])
    np.testing.assert_array_equal(report["dw"], [1.0, -2.0, 3.0])
    assert report["db"] == 1.0


def test_report_matches_numerical_gradients():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal(3), rng.standard_normal(3), 2.0
    report = neuron_report(x, w, b)
    assert report["active"]
    assert relative_error(report["dw"], numerical_gradient(
        lambda v: neuron_forward(x, v, b), w)) < 1e-8
    assert relative_error(report["dx"], numerical_gradient(
        lambda v: neuron_forward(v, w, b), x)) < 1e-8


def test_inactive_neuron_has_zero_gradients():
    report = neuron_report(CHAPTER_X, CHAPTER_W, -20.0)
    assert not report["active"] and report["y"] == 0.0
    assert not report["dx"].any() and not report["dw"].any() and report["db"] == 0


def test_widget_has_the_promised_parts():
    widget = neuron_explorer()
    assert set(widget.controls) == {"x0", "x1", "x2", "w0", "w1", "w2", "b"}
    assert callable(widget.update)
    assert "Neuron explorer" in repr(widget)


def test_initial_readout_is_the_chapter_neuron():
    values = readout_values(neuron_explorer(plot=False))
    assert values["s"] == values["y"] == 6.0
    np.testing.assert_allclose(values["dx"], [-3, -1, 2])
    np.testing.assert_allclose(values["dw"], [1, -2, 3])
    assert values["db"] == 1.0
    assert "<b>on</b>" in neuron_explorer(plot=False).readout.value


def test_moving_a_weight_updates_output_and_input_gradient():
    widget = neuron_explorer(plot=False)
    widget.controls["w0"].value = 0.5  # s = 0.5 + 2 + 6 + 1
    values = readout_values(widget)
    assert values["s"] == values["y"] == pytest.approx(9.5)
    np.testing.assert_allclose(values["dx"], [0.5, -1, 2])
    np.testing.assert_allclose(values["dw"], [1, -2, 3])  # dw = x: unchanged


def test_moving_an_input_updates_the_weight_gradient():
    widget = neuron_explorer(plot=False)
    widget.controls["x2"].value = 1.0  # s = -3 + 2 + 2 + 1
    values = readout_values(widget)
    assert values["y"] == pytest.approx(2.0)
    np.testing.assert_allclose(values["dw"], [1, -2, 1])


def test_readout_agrees_with_the_pure_function_anywhere():
    widget = neuron_explorer(plot=False)
    settings = {"x0": 0.7, "x1": -1.3, "x2": 2.2, "w0": 1.1, "w1": 0.4,
                "w2": -0.6, "b": 0.9}
    for name, value in settings.items():
        widget.controls[name].value = value
    report = neuron_report([0.7, -1.3, 2.2], [1.1, 0.4, -0.6], 0.9)
    values = readout_values(widget)
    assert values["s"] == pytest.approx(report["s"], abs=5e-4)
    np.testing.assert_allclose(values["dx"], report["dx"], atol=5e-4)
    np.testing.assert_allclose(values["dw"], report["dw"], atol=5e-4)


def test_relu_off_zeroes_every_gradient_and_says_so():
    widget = neuron_explorer(plot=False)
    widget.controls["b"].value = -5.0
    widget.controls["w2"].value = -1.0  # s = -3 + 2 - 3 - 5 = -9
    values = readout_values(widget)
    assert values["s"] == pytest.approx(-9.0)
    assert values["y"] == 0.0 and values["db"] == 0.0
    assert not values["dx"].any() and not values["dw"].any()
    assert "<b>off</b>" in widget.readout.value
    assert "-0.000" not in widget.readout.value
    widget.controls["b"].value = 5.0  # s = 1: back on
    assert readout_values(widget)["db"] == 1.0


def test_plot_is_a_png_that_follows_the_controls():
    widget = neuron_explorer()
    before = bytes(widget.image.value)
    assert before.startswith(b"\x89PNG")
    widget.controls["b"].value = -4.0
    after = bytes(widget.image.value)
    assert after.startswith(b"\x89PNG") and after != before


def test_plot_can_be_skipped():
    widget = neuron_explorer(plot=False)
    assert widget.image is None
    widget.controls["x0"].value = 2.0  # s = -6 + 2 + 6 + 1
    assert readout_values(widget)["y"] == pytest.approx(3.0)
