"""Tests for bplib.widgets.step_size: the pure helpers, then the widget."""

import re

import numpy as np
import pytest

from bplib.widgets.step_size import (FUNCTIONS, difference_quotients,
                                     predicted_best_h, step_size_explorer,
                                     step_size_report)


def readout_numbers(widget):
    """The numbers in the readout's <code> cells, in order, as floats:
    true derivative, forward estimate, forward error, central estimate,
    central error."""
    cells = re.findall(r"<code>([^<]*)</code>", widget.readout.value)
    return [float(c) for c in cells if c]


def test_cubic_differences_by_hand():
    # f(x) = x**3 at x = 2, h = 0.1: f(2.1) = 9.261, f(1.9) = 6.859, f(2) = 8.
    report = step_size_report("x**3 at x = 2", 0.1)
    assert report["true"] == pytest.approx(12.0)
    assert report["forward"] == pytest.approx(12.61)
    assert report["central"] == pytest.approx(12.01)
    # For a cubic the central error is exactly f'''(x) h^2 / 6 = h^2.
    assert report["central_error"] == pytest.approx(0.01)


def test_difference_quotients_accept_arrays_of_steps():
    hs = np.array([1e-1, 1e-2, 1e-3])
    forward, central = difference_quotients(np.sin, 1.0, hs)
    assert forward.shape == central.shape == (3,)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_truncation_orders(name):
    # Where truncation dominates, a 10x smaller h gives a 10x smaller forward
    # error (O(h)) and a 100x smaller central error (O(h^2)).
    big, small = step_size_report(name, 1e-3), step_size_report(name, 1e-4)
    assert big["forward_error"] / small["forward_error"] == pytest.approx(10, rel=0.05)
    assert big["central_error"] / small["central_error"] == pytest.approx(100, rel=0.05)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_round_off_wins_for_tiny_steps(name):
    tiny, best = step_size_report(name, 1e-13), step_size_report(name, 1e-5)
    assert tiny["central_error"] > 100 * best["central_error"]


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_predicted_best_steps(name):
    h_forward, h_central = predicted_best_h(name)
    assert 1e-9 < h_forward < 1e-7
    assert 1e-6 < h_central < 1e-4
    # And the central difference is far more accurate at its best step.
    assert (step_size_report(name, h_central)["central_error"]
            < 1e-3 * step_size_report(name, h_central)["forward_error"])


def test_widget_has_the_promised_parts():
    widget = step_size_explorer()
    assert set(widget.controls) == {"function", "h"}
    assert widget.controls["h"].value == pytest.approx(1e-5)
    assert callable(widget.update)
    assert "Step-size explorer" in repr(widget)


def test_readout_matches_the_pure_function():
    widget = step_size_explorer(plot=False)
    true, fwd, fwd_err, cen, cen_err = readout_numbers(widget)
    report = step_size_report("sin(x) at x = 1", 1e-5)
    assert true == pytest.approx(np.cos(1.0), abs=1e-10)
    assert fwd == pytest.approx(report["forward"], abs=1e-10)
    assert cen == pytest.approx(report["central"], abs=1e-10)
    assert fwd_err == pytest.approx(report["forward_error"], rel=0.01)
    assert cen_err == pytest.approx(report["central_error"], rel=0.01)


def test_moving_the_slider_updates_the_errors():
    widget = step_size_explorer(plot=False)
    before = readout_numbers(widget)
    widget.controls["h"].value = 1e-2
    after = readout_numbers(widget)
    report = step_size_report("sin(x) at x = 1", 1e-2)
    assert after[0] == before[0]  # the true derivative does not depend on h
    assert after[2] == pytest.approx(report["forward_error"], rel=0.01)
    assert after[4] == pytest.approx(report["central_error"], rel=0.01)
    assert after[2] > 100 * before[2]  # forward error ~ h: 1000x bigger step
    assert "h = 0.01" in widget.readout.value


def test_changing_the_function_updates_the_true_derivative():
    widget = step_size_explorer(plot=False)
    widget.controls["function"].value = "exp(x) at x = 1"
    assert readout_numbers(widget)[0] == pytest.approx(np.e, abs=1e-9)
    widget.controls["function"].value = "x**3 at x = 2"
    assert readout_numbers(widget)[0] == pytest.approx(12.0)
    assert "x**3 at x = 2" in widget.readout.value


def test_plot_is_a_png_that_follows_the_controls():
    widget = step_size_explorer()
    before = bytes(widget.image.value)
    assert before.startswith(b"\x89PNG")
    widget.controls["h"].value = 1e-9
    after = bytes(widget.image.value)
    assert after.startswith(b"\x89PNG") and after != before


def test_plot_can_be_skipped():
    widget = step_size_explorer(plot=False)
    assert widget.image is None
    widget.controls["h"].value = 1e-3
    assert readout_numbers(widget)[2] == pytest.approx(
        step_size_report("sin(x) at x = 1", 1e-3)["forward_error"], rel=0.01)
