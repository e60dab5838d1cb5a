"""checker.data: the 32 × 32 digits are what the docstring promises, and the same on every call."""
import numpy as np
import pytest

from checker import data


@pytest.fixture(scope="module")
def digits():
    return data.load_digits_1024()


def test_shapes_and_types(digits):
    X_train, y_train, X_test, y_test = digits
    assert X_train.shape == (1347, 1024) and X_test.shape == (450, 1024)
    assert y_train.shape == (1347,) and y_test.shape == (450,)
    assert X_train.dtype == X_test.dtype == np.float64
    assert y_train.dtype == y_test.dtype == np.int64


def test_pixels_are_scaled_to_the_unit_interval(digits):
    for X in (digits.X_train, digits.X_test):
        assert X.min() == 0.0 and X.max() == 1.0


def test_every_image_is_used_once_and_classes_are_balanced(digits):
    from sklearn.datasets import load_digits
    raw = load_digits()
    train, test = data.split_indices(raw.target)
    assert np.intersect1d(train, test).size == 0
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(len(raw.target)))
    counts = np.bincount(digits.y_test, minlength=10)
    assert np.all(np.abs(counts / np.bincount(raw.target) - 0.25) < 0.01), counts


def test_the_split_and_the_pixels_are_the_same_on_every_call(digits):
    again = data.load_digits_1024()
    for a, b in zip(digits, again, strict=True):
        assert np.array_equal(a, b)
    other = data.load_digits_1024(seed=1)
    assert not np.array_equal(other.y_test, digits.y_test)


def test_rows_are_the_sklearn_images_upsampled(digits):
    """Each row is the bilinear enlargement of the scikit-learn image with the same label, and
    averaging it back over 4 × 4 blocks looks like the 8 × 8 original."""
    from sklearn.datasets import load_digits
    raw = load_digits()
    train, _ = data.split_indices(raw.target)
    original = raw.images[train[:50]] / 16.0
    assert np.allclose(digits.X_train[:50], data.upsample(original).reshape(50, 1024))
    assert np.array_equal(digits.y_train[:50], raw.target[train[:50]])
    small = data.as_images(digits.X_train[:50]).reshape(50, 8, 4, 8, 4).mean(axis=(2, 4))
    assert np.corrcoef(small.ravel(), original.ravel())[0, 1] > 0.95


def test_upsample_is_linear_between_pixel_centres():
    ramp = np.tile(np.arange(8.0), (1, 8, 1))           # brightness 0..7, left to right
    up = data.upsample(ramp)[0, 10]
    inner = np.arange(2, 30)                           # away from the clamped edges
    assert np.allclose(up[inner], (inner + 0.5) / 4 - 0.5)


def test_upsample_keeps_constant_images_and_reproduces_corners():
    flat = np.full((2, 8, 8), 0.3)
    assert np.allclose(data.upsample(flat), 0.3)
    ramp = np.tile(np.arange(8.0), (1, 8, 1))          # brightness grows left to right
    up = data.upsample(ramp)
    assert up.shape == (1, 32, 32)
    assert up[0, 0, 0] == 0.0 and up[0, 0, -1] == 7.0   # the edges are clamped to the edge pixels
    assert np.all(np.diff(up[0, 5]) >= 0)               # and it grows monotonically in between


def test_interpolation_rows_are_weights_that_sum_to_one():
    M = data.interpolation_matrix(32, 8)
    assert M.shape == (32, 8)
    assert np.allclose(M.sum(axis=1), 1.0) and M.min() >= 0.0


def test_the_validation_split_is_a_fixed_stratified_fifth_of_the_training_set(digits):
    fit, val = data.validation_split(digits.y_train)
    assert (fit.size, val.size) == (1078, 269)
    assert np.intersect1d(fit, val).size == 0
    assert np.array_equal(np.sort(np.concatenate([fit, val])), np.arange(digits.y_train.size))
    counts = np.bincount(digits.y_train[val], minlength=10)
    assert np.all(np.abs(counts / np.bincount(digits.y_train) - 0.2) < 0.01), counts
    again_fit, again_val = data.validation_split(digits.y_train)
    assert np.array_equal(fit, again_fit) and np.array_equal(val, again_val)
