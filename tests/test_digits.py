"""Tests of bplib.datasets.load_digits_split (scikit-learn's bundled 8x8 digits)."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_digits  # noqa: E402

from bplib.datasets import load_digits_split  # noqa: E402


def rows_as_counts(X, y):
    """Each (image, label) pair as a hashable key, with how often it occurs."""
    keys, counts = np.unique(np.column_stack([X, y]), axis=0, return_counts=True)
    return {tuple(k): c for k, c in zip(keys, counts)}


def test_shapes_dtypes_and_sizes():
    (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = load_digits_split(0)
    assert X_tr.shape == (1077, 64) and X_va.shape == (360, 64) and X_te.shape == (360, 64)
    assert y_tr.shape == (1077,) and y_va.shape == (360,) and y_te.shape == (360,)
    for X, y in [(X_tr, y_tr), (X_va, y_va), (X_te, y_te)]:
        assert X.dtype == np.float64
        assert np.issubdtype(y.dtype, np.integer)
        assert set(np.unique(y)) == set(range(10))      # every digit in every split


def test_pixels_are_the_images_divided_by_16():
    (X_tr, _), (X_va, _), (X_te, _) = load_digits_split(0)
    X = np.concatenate([X_tr, X_va, X_te])
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(X * 16, np.round(X * 16))   # 0, 1/16, ..., 1


def test_the_three_sets_partition_the_data_with_their_labels():
    digits = load_digits()
    splits = load_digits_split(5)
    X = np.concatenate([s[0] for s in splits])
    y = np.concatenate([s[1] for s in splits])
    assert rows_as_counts(X, y) == rows_as_counts(digits.data / 16.0, digits.target)


def test_seeded():
    a, b, c = load_digits_split(3), load_digits_split(3), load_digits_split(4)
    for (X1, y1), (X2, y2) in zip(a, b):
        np.testing.assert_array_equal(X1, X2)
        np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(a[2][0], c[2][0])


def test_sizes_can_be_chosen():
    (X_tr, _), (X_va, _), (X_te, _) = load_digits_split(0, n_val=100, n_test=200)
    assert (len(X_tr), len(X_va), len(X_te)) == (1497, 100, 200)
    (X_tr, _), _, _ = load_digits_split(0, n_val=1, n_test=1795)    # one image left to train on
    assert len(X_tr) == 1


@pytest.mark.parametrize("kwargs", [{"n_val": 0}, {"n_test": -1}, {"n_val": 2.5}, {"n_test": True},
                                    {"n_val": 1, "n_test": 1796}])
def test_bad_sizes_are_rejected(kwargs):
    with pytest.raises(ValueError, match="n_val|n_test"):
        load_digits_split(0, **kwargs)


def test_returns_fresh_arrays():
    # The loader returns copies: changing one split does not change the next call's data.
    (X_tr, _), _, _ = load_digits_split(0)
    X_tr[:] = -1.0
    (X_again, _), _, _ = load_digits_split(0)
    assert X_again.min() == 0.0
