"""Small seeded datasets for the lessons. Every function returns (X, y).

X is float64 of shape (N, 2) (or (N, 1) for regression); y holds integer
class labels of shape (N,) (or float targets for regression). The same seed
always gives the same data.
"""

import numpy as np


def make_circles(n=1000, *, seed=0):
    """Two concentric classes: a disc of radius 0.5 (class 1) inside a ring
    of radii 0.6 to 1 (class 0), n // 2 points each, radii and angles uniform.

    The article's first dataset: no straight line separates the classes.
    """
    rng = np.random.default_rng(seed)
    half = n // 2

    def ring(r_min, r_max):
        r = rng.uniform(r_min, r_max, size=half)
        angle = rng.uniform(0.0, 2 * np.pi, size=half)
        return np.column_stack([r * np.cos(angle), r * np.sin(angle)])

    X = np.concatenate([ring(0.0, 0.5), ring(0.6, 1.0)])
    y = np.concatenate([np.ones(half, dtype=int), np.zeros(half, dtype=int)])
    return X, y


def make_xor(n=1000, *, seed=0, spread=0.15):
    """XOR-like blobs: four Gaussian clusters (standard deviation ``spread``)
    at the corners (0.25, 0.75), (0.75, 0.25) for class 1 and (0.25, 0.25),
    (0.75, 0.75) for class 0, n // 4 points each.

    The article's second dataset: class 1 where exactly one coordinate is
    "high", so the label is the XOR of two thresholds.
    """
    rng = np.random.default_rng(seed)
    quarter = n // 4
    centres = [((0.25, 0.75), 1), ((0.75, 0.25), 1),
               ((0.25, 0.25), 0), ((0.75, 0.75), 0)]
    X = np.concatenate([rng.normal(c, spread, size=(quarter, 2))
                        for c, _ in centres])
    y = np.repeat([label for _, label in centres], quarter)
    return X, y


def make_spiral(n_per_class=100, n_classes=3, *, seed=0, noise=0.2, winding=1.0):
    """Interleaved spiral arms, one per class.

    Arm j has radii evenly spaced from 0 to 1 and angles
    winding * (linspace(4j, 4(j + 1)) + noise * standard normal), so the arms
    wind around each other and only a non-linear model separates them.
    winding=1 is CS231n's original spiral; the from-scratch chapter uses
    winding=2.5, which wraps each arm 2.5 times as far and is much harder
    (about 1.6 turns per arm, and angular noise of 0.5 radians).
    """
    rng = np.random.default_rng(seed)
    X, y = [], []
    for j in range(n_classes):
        r = np.linspace(0.0, 1.0, n_per_class)
        t = np.linspace(4 * j, 4 * (j + 1), n_per_class)
        t = t + rng.standard_normal(n_per_class) * noise
        X.append(np.column_stack([r * np.sin(winding * t), r * np.cos(winding * t)]))
        y.append(np.full(n_per_class, j))
    return np.concatenate(X), np.concatenate(y)


def make_regression_1d(n=200, *, seed=0, noise=0.1):
    """A 1-D regression set: y = sin(3x) + 0.5 x + Gaussian noise on [-1, 1].

    X has shape (n, 1), sorted by x so that it plots as a curve; y is (n,).
    """
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-1.0, 1.0, size=n))
    y = np.sin(3 * x) + 0.5 * x + noise * rng.standard_normal(n)
    return x[:, None], y


def load_digits_split(seed=0, *, n_val=360, n_test=360):
    """The 8x8 handwritten digits, split into training, validation and test sets.

    scikit-learn's bundled copy of the test part of UCI's Optical Recognition of
    Handwritten Digits: 1,797 images of the digits 0 to 9 written by 13 people,
    read from the installed package (no download). Each image has 8 x 8 pixels,
    each the count 0..16 of inked dots in a 4 x 4 block of a 32 x 32 scan. A row
    of X is an image flattened row by row (64 features) and divided by 16, so
    pixels lie in [0, 1].
    A seeded permutation puts n_test images in the test set, the next n_val in
    the validation set and the rest (1,077 by default) in the training set; the
    same seed always gives the same split.

    Returns ((X_train, y_train), (X_val, y_val), (X_test, y_test)): each X is
    float64 of shape (n, 64), each y holds integer labels 0..9 of shape (n,).
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("load_digits_split needs scikit-learn: pip install scikit-learn "
                          "(or install the course with pip install -e '.[lab]')") from None
    digits = load_digits()
    X = np.asarray(digits.data, dtype=np.float64) / 16.0
    y = np.asarray(digits.target, dtype=int)
    for name, size in [("n_val", n_val), ("n_test", n_test)]:
        if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1:
            raise ValueError(f"{name} must be a positive integer, got {size!r}")
    if n_val + n_test >= len(y):
        raise ValueError(f"n_val + n_test must leave images to train on: got {n_val} + {n_test}, "
                         f"and there are {len(y)} images")
    order = np.random.default_rng(seed).permutation(len(y))
    test, val, train = np.split(order, [n_test, n_test + n_val])
    return (X[train], y[train]), (X[val], y[val]), (X[test], y[test])
