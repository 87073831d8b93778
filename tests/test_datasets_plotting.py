"""Tests of bplib.datasets and bplib.plotting (on the Agg backend)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from bplib import datasets, gradcheck, nn, plotting  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# --------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------

MAKERS = {
    "circles": lambda seed: datasets.make_circles(200, seed=seed),
    "xor": lambda seed: datasets.make_xor(200, seed=seed),
    "spiral": lambda seed: datasets.make_spiral(50, seed=seed),
    "regression": lambda seed: datasets.make_regression_1d(200, seed=seed),
}


@pytest.mark.parametrize("name", list(MAKERS))
def test_datasets_are_seeded(name):
    X1, y1 = MAKERS[name](3)
    X2, y2 = MAKERS[name](3)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, _ = MAKERS[name](4)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("name,shape,n_classes", [("circles", (200, 2), 2),
                                                  ("xor", (200, 2), 2),
                                                  ("spiral", (150, 2), 3)])
def test_classification_sets_shapes_dtypes_and_balance(name, shape, n_classes):
    X, y = MAKERS[name](0)
    assert X.shape == shape and X.dtype == np.float64
    assert y.shape == (shape[0],) and np.issubdtype(y.dtype, np.integer)
    np.testing.assert_array_equal(np.bincount(y), [shape[0] // n_classes] * n_classes)


def test_default_sizes():
    assert datasets.make_circles()[0].shape == (1000, 2)
    assert datasets.make_xor()[0].shape == (1000, 2)
    assert datasets.make_spiral()[0].shape == (300, 2)
    assert datasets.make_spiral(20, 5)[1].max() == 4


def test_circles_radii_are_in_their_ranges():
    X, y = datasets.make_circles(2000, seed=1)
    r = np.hypot(X[:, 0], X[:, 1])
    assert r[y == 1].max() <= 0.5
    assert 0.6 <= r[y == 0].min() and r[y == 0].max() <= 1.0
    # Uniform in radius (not area) on each range: the means are the midpoints.
    assert r[y == 1].mean() == pytest.approx(0.25, abs=0.02)
    assert r[y == 0].mean() == pytest.approx(0.8, abs=0.02)


def test_xor_clusters_and_labels():
    X, y = datasets.make_xor(400, seed=0, spread=0.05)
    quarters = [X[i * 100:(i + 1) * 100] for i in range(4)]
    centres = [(0.25, 0.75), (0.75, 0.25), (0.25, 0.25), (0.75, 0.75)]
    for points, centre in zip(quarters, centres):
        np.testing.assert_allclose(points.mean(axis=0), centre, atol=0.02)
        assert points.std(axis=0) == pytest.approx([0.05, 0.05], rel=0.2)
    # With tight clusters the label is the XOR of the two thresholds.
    np.testing.assert_array_equal(y, (X[:, 0] > 0.5) ^ (X[:, 1] > 0.5))


def test_spiral_radii_and_winding():
    X, y = datasets.make_spiral(40, 3, seed=0)
    for j in range(3):
        r = np.hypot(*X[y == j].T)
        np.testing.assert_allclose(r, np.linspace(0, 1, 40), atol=1e-12)
    X2, y2 = datasets.make_spiral(40, 3, seed=0, winding=2.5)
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_allclose(np.hypot(*X2.T), np.hypot(*X.T), atol=1e-12)
    assert not np.allclose(X, X2)


def test_regression_1d():
    X, y = datasets.make_regression_1d(100, seed=0, noise=0.0)
    assert X.shape == (100, 1) and y.shape == (100,)
    assert X.dtype == y.dtype == np.float64
    assert np.all(np.diff(X[:, 0]) >= 0)
    assert -1 <= X.min() and X.max() <= 1
    np.testing.assert_allclose(y, np.sin(3 * X[:, 0]) + 0.5 * X[:, 0], rtol=1e-15)
    _, noisy = datasets.make_regression_1d(100, seed=0, noise=0.1)
    assert np.std(noisy - y) == pytest.approx(0.1, rel=0.25)


# --------------------------------------------------------------------------
# Plotting
# --------------------------------------------------------------------------

def test_plot_data():
    X, y = datasets.make_spiral(20)
    ax = plotting.plot_data(X, y, title="Spiral")
    assert isinstance(ax, plt.Axes)
    assert ax.get_xlabel() == "$x_1$" and ax.get_ylabel() == "$x_2$"
    assert ax.get_title() == "Spiral"
    assert len(ax.collections) == 3
    for k, coll in enumerate(ax.collections):
        np.testing.assert_array_equal(coll.get_offsets(), X[y == k])
        assert to_hex(coll.get_facecolor()[0]) == plotting.CLASS_COLORS[k]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "class 0", "class 1", "class 2"]


def test_plot_data_on_given_axes():
    _, ax = plt.subplots()
    X, y = datasets.make_xor(40)
    assert plotting.plot_data(X, y, ax=ax) is ax
    assert ax.get_title() == "Training data"


def test_plot_history_classifier():
    X, y = datasets.make_spiral(20)
    history = nn.mlp_network([2, 8, 3]).fit(X, y, epochs=7, lr=0.5)
    axes = plotting.plot_history(history, title="Spiral")
    assert len(axes) == 2
    loss_ax, acc_ax = axes
    np.testing.assert_array_equal(loss_ax.lines[0].get_ydata(), history.loss)
    np.testing.assert_array_equal(loss_ax.lines[0].get_xdata(), np.arange(1, 8))
    np.testing.assert_array_equal(acc_ax.lines[0].get_ydata(), history.accuracy)
    assert loss_ax.get_xlabel() == acc_ax.get_xlabel() == "epoch"
    assert loss_ax.get_ylabel() == "training loss"
    assert acc_ax.get_ylabel() == "training accuracy"
    assert loss_ax.get_title() == "Spiral loss"
    assert acc_ax.get_title() == "Spiral accuracy"


def test_plot_history_loss_only():
    axes = plotting.plot_history({"loss": [3.0, 2.0, 1.5]})
    assert len(axes) == 1
    assert axes[0].get_title() == "loss"
    assert axes[0].get_ylabel() == "training loss"
    X, y = datasets.make_regression_1d(30)
    history = nn.mlp_network([1, 4, 1], output="linear").fit(X, y, epochs=3, lr=0.1)
    assert len(plotting.plot_history(history)) == 1


def test_plot_decision_regions_binary():
    X, y = datasets.make_circles(100)
    net = nn.mlp_network([2, 8, 1], activation="tanh", output="sigmoid", seed=0)
    net.fit(X, y, epochs=100, lr=1.0, momentum=0.9)
    ax = plotting.plot_decision_regions(net.predict_proba, X, y, title="Circles",
                                        resolution=40)
    assert isinstance(ax, plt.Axes)
    assert ax.get_title() == "Circles"
    assert ax.get_xlabel() == "$x_1$" and ax.get_ylabel() == "$x_2$"
    lo, hi = X.min(axis=0), X.max(axis=0)
    x0, x1 = ax.get_xlim()
    assert x0 < lo[0] and x1 > hi[0]
    assert len(ax.figure.axes) == 2  # the plot and its colour bar
    assert ax.figure.axes[1].get_ylabel() == "P(class 1)"


def test_plot_decision_regions_binary_without_a_boundary():
    """An untrained model that never crosses 0.5 still plots, silently."""
    X, y = datasets.make_xor(40)
    ax = plotting.plot_decision_regions(lambda P: np.full(len(P), 0.3), X, y,
                                        resolution=20)
    assert ax.get_title() == "Decision regions"


def test_plot_decision_regions_multiclass():
    X, y = datasets.make_spiral(30)
    net = nn.mlp_network([2, 16, 3], seed=0)
    ax = plotting.plot_decision_regions(net.predict_proba, X, y, resolution=30,
                                        show_points=False)
    assert ax.get_title() == "Decision regions"
    assert len(ax.figure.axes) == 1  # no colour bar
    mesh = ax.collections[0]
    assert set(np.unique(mesh.get_array())) <= {0, 1, 2}


def test_plot_gradcheck_errors():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(4)
    good = gradcheck.check_gradient(lambda v: np.sum(v ** 2), x, 2 * x, name="good")
    bad = gradcheck.check_gradient(lambda v: np.sum(v ** 2), x, 3 * x, name="bad")
    ax = plotting.plot_gradcheck_errors({"good": good, "bad": bad})
    assert [p.get_height() for p in ax.patches] == [max(good.error, 1e-16), bad.error]
    assert [to_hex(p.get_facecolor()) for p in ax.patches] == ["#55a868", "#c44e52"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["good", "bad"]
    assert ax.get_yscale() == "log"
    assert ax.get_ylabel() == "relative error"
    assert ax.get_title().startswith("Gradient check")
    assert ax.lines[0].get_ydata()[0] == good.tol  # the tolerance line
    ax2 = plotting.plot_gradcheck_errors([good], tol=1e-3)
    assert ax2.lines[0].get_ydata()[0] == 1e-3
