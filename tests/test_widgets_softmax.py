"""Tests of the softmax explorer: its pure helper, then the widget driven by its controls."""

import re

import numpy as np
import pytest

from bplib import functional as F
from bplib.gradcheck import numerical_gradient
from bplib.widgets.softmax import softmax_explorer, softmax_summary


def readout_numbers(widget):
    """The numbers shown in the readout, by their data-key."""
    pairs = re.findall(r'data-key="([\w-]+)">(-?\d+\.\d+)<', widget.readout.value)
    return {key: float(value) for key, value in pairs}


# -- the pure function -------------------------------------------------------

def test_equal_logits_give_uniform_probabilities_and_ln3():
    s = softmax_summary([0.7, 0.7, 0.7], true_class=2)
    np.testing.assert_allclose(s["probabilities"], [1 / 3] * 3)
    assert s["loss"] == pytest.approx(np.log(3))
    np.testing.assert_allclose(s["gradient"], [1 / 3, 1 / 3, -2 / 3])


def test_summary_matches_the_definitions():
    z = np.array([2.0, -1.0, 0.5])
    s = softmax_summary(z, true_class=1)
    p = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(s["probabilities"], p)
    assert s["loss"] == pytest.approx(-np.log(p[1]))
    np.testing.assert_allclose(s["gradient"], p - [0, 1, 0])
    np.testing.assert_array_equal(s["onehot"], [0, 1, 0])


@pytest.mark.parametrize("temperature", [0.3, 1.0, 4.0])
def test_gradient_is_numerically_right_at_any_temperature(temperature):
    z = np.array([1.5, -0.5, 3.0])
    s = softmax_summary(z, true_class=0, temperature=temperature)
    numeric = numerical_gradient(
        lambda v: softmax_summary(v, 0, temperature)["loss"], z)
    np.testing.assert_allclose(s["gradient"], numeric, atol=1e-8)


def test_huge_logits_stay_finite():
    s = softmax_summary([1000.0, 0.0, -1000.0], true_class=2)
    assert np.all(np.isfinite(s["probabilities"]))
    assert s["loss"] == pytest.approx(2000.0)


def test_summary_rejects_bad_input():
    with pytest.raises(ValueError):
        softmax_summary([[1.0, 2.0, 3.0]], 0)
    with pytest.raises(ValueError):
        softmax_summary([1.0, 2.0, 3.0], 0, temperature=0.0)


# -- the widget ---------------------------------------------------------------

def test_widget_has_controls_readout_and_initial_numbers():
    w = softmax_explorer(plot=False)
    assert set(w.controls) == {"z0", "z1", "z2", "true_class", "temperature"}
    shown = readout_numbers(w)
    s = softmax_summary([2.0, 1.0, 0.1], 0)
    for k in range(3):
        assert shown[f"prob-{k}"] == pytest.approx(s["probabilities"][k], abs=5e-5)
        assert shown[f"grad-{k}"] == pytest.approx(s["gradient"][k], abs=5e-5)
    assert shown["loss"] == pytest.approx(s["loss"], abs=5e-5)
    assert shown["grad-sum"] == 0.0


def test_moving_a_logit_updates_the_readout():
    w = softmax_explorer(plot=False)
    before = readout_numbers(w)
    w.controls["z0"].value = -3.0
    after = readout_numbers(w)
    s = softmax_summary([-3.0, 1.0, 0.1], 0)
    assert after["logit-0"] == -3.0
    assert after["prob-0"] < before["prob-0"]
    assert after["loss"] > before["loss"]
    assert after["loss"] == pytest.approx(s["loss"], abs=5e-5)
    for k in range(3):
        assert after[f"prob-{k}"] == pytest.approx(s["probabilities"][k], abs=5e-5)


def test_equal_logits_show_ln3_whatever_the_true_class():
    w = softmax_explorer(plot=False)
    for name in ("z0", "z1", "z2"):
        w.controls[name].value = 0.0
    for k in range(3):
        w.controls["true_class"].value = k
        shown = readout_numbers(w)
        assert shown["loss"] == pytest.approx(1.0986)
        assert shown[f"grad-{k}"] == pytest.approx(-0.6667)
        assert shown[f"prob-{k}"] == pytest.approx(0.3333)


def test_changing_the_true_class_moves_the_minus_one():
    w = softmax_explorer(plot=False)
    w.controls["true_class"].value = 2
    shown = readout_numbers(w)
    s = softmax_summary([2.0, 1.0, 0.1], 2)
    assert shown["grad-2"] == pytest.approx(s["gradient"][2], abs=5e-5)
    assert shown["grad-2"] < 0 < shown["grad-0"]
    assert shown["loss"] == pytest.approx(-np.log(s["probabilities"][2]), abs=5e-5)


def test_shifting_every_logit_changes_nothing():
    w = softmax_explorer(plot=False)
    before = readout_numbers(w)
    for name, shift in (("z0", 5.0), ("z1", 5.0), ("z2", 5.0)):
        w.controls[name].value = w.controls[name].value + shift
    after = readout_numbers(w)
    for key in ("prob-0", "prob-1", "prob-2", "loss", "grad-0", "grad-1", "grad-2"):
        assert after[key] == pytest.approx(before[key], abs=1e-4)


def test_low_temperature_sharpens_the_probabilities():
    w = softmax_explorer(plot=False)
    w.controls["temperature"].value = 0.1
    cold = readout_numbers(w)
    w.controls["temperature"].value = 10.0
    hot = readout_numbers(w)
    assert cold["temperature"] == pytest.approx(0.1)
    assert cold["prob-0"] > 0.9999
    assert max(hot[f"prob-{k}"] for k in range(3)) < 0.4
    s = softmax_summary([2.0, 1.0, 0.1], 0, temperature=10.0)
    assert hot["grad-1"] == pytest.approx(s["gradient"][1], abs=5e-5)


def test_readout_agrees_with_the_library_loss():
    w = softmax_explorer(logits=(0.5, -2.0, 4.0), true_class=1, plot=False)
    loss, grad = F.softmax_cross_entropy(np.array([[0.5, -2.0, 4.0]]), np.array([1]))
    shown = readout_numbers(w)
    assert shown["loss"] == pytest.approx(loss, abs=5e-5)
    assert shown["grad-1"] == pytest.approx(grad[0, 1], abs=5e-5)


def test_widget_with_plot_draws_a_png_that_follows_the_controls(capsys):
    w = softmax_explorer()
    first = bytes(w.image.value)  # the Image may hold a memoryview
    assert first.startswith(b"\x89PNG")
    w.controls["z1"].value = 4.0
    assert readout_numbers(w)["logit-1"] == 4.0
    second = bytes(w.image.value)
    assert second.startswith(b"\x89PNG") and second != first
    assert capsys.readouterr().out == ""  # nothing printed: the plot lives in the widget


def test_widget_without_plot_has_no_image():
    w = softmax_explorer(plot=False)
    assert w.image is None
    assert w.readout in w.children
