"""Real handwritten digits for the 1024-input network, offline and deterministic.

The images are scikit-learn's bundled digits (``sklearn.datasets.load_digits``: 1797 scans,
8 × 8 pixels with integer intensities 0..16, ten classes; the file ships with scikit-learn, so
nothing is downloaded). The network of this series takes 1024 = 32 × 32 inputs, so every image
is upsampled to 32 × 32 by bilinear interpolation and scaled to [0, 1].

    from checker import data
    digits = data.load_digits_1024()
    digits.X_train.shape   # (1347, 1024)  float64 in [0, 1], one image per row
    digits.y_train.shape   # (1347,)       int64 labels 0..9
    digits.X_test.shape    # (450, 1024)
    digits.y_test.shape    # (450,)

The train/test split is fixed: within each class, a permutation drawn with a fixed seed puts
the first quarter (rounded to the nearest whole image) in the test set, so both sets hold every
digit in its natural proportion, and the same images land in the same set on every run.

Choices made while training (step size, momentum, the number of epochs) are made on a
validation set carved from the training set the same way, never on the test set:

    fit, val = data.validation_split(digits.y_train)   # 1078 and 269 indices into X_train
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

SIDE = 32                 # the upsampled images are SIDE × SIDE = 1024 pixels
SOURCE_SIDE = 8           # scikit-learn's digits are 8 × 8
MAX_INTENSITY = 16.0      # their pixel values are integers 0..16
N_CLASSES = 10
TEST_FRACTION = 0.25
SPLIT_SEED = 0
VALIDATION_FRACTION = 0.2    # of the training set
VALIDATION_SEED = 1


class Digits(NamedTuple):
    """The fixed split. X_*: (n, 1024) float64 in [0, 1]; y_*: (n,) int64 in 0..9."""
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def interpolation_matrix(n_out: int, n_in: int) -> np.ndarray:
    """(n_out, n_in) matrix of linear interpolation weights along one axis; each row sums to 1.

    Pixel centres are aligned (``align_corners=False`` in other libraries' terms): output pixel
    i sits at input coordinate (i + 0.5) n_in / n_out − 0.5, clamped to the edge pixels.
    """
    position = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
    position = np.clip(position, 0.0, n_in - 1)
    left = np.floor(position).astype(int)
    right = np.minimum(left + 1, n_in - 1)
    frac = position - left
    M = np.zeros((n_out, n_in))
    M[np.arange(n_out), left] += 1.0 - frac
    M[np.arange(n_out), right] += frac
    return M


def upsample(images: np.ndarray, side: int = SIDE) -> np.ndarray:
    """Bilinear upsampling of square images.

    images: (n, s, s) -> (n, side, side), same value range (every output pixel is a weighted
    mean of at most four input pixels, with weights that sum to 1).
    """
    images = np.asarray(images, dtype=float)
    M = interpolation_matrix(side, images.shape[-1])
    return np.einsum("ij,njk,lk->nil", M, images, M)


def split_indices(labels: np.ndarray, test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED):
    """(train indices, test indices), both sorted; stratified by class, fixed by ``seed``."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for k in np.unique(labels):
        members = np.flatnonzero(labels == k)
        members = members[rng.permutation(members.size)]
        n_test = int(round(test_fraction * members.size))
        test.append(members[:n_test])
        train.append(members[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def validation_split(y_train: np.ndarray, fraction: float = VALIDATION_FRACTION, seed: int = VALIDATION_SEED):
    """(indices that stay for training, validation indices) into the training set; both sorted.

    Stratified by class and fixed by ``seed``, like the train/test split: a fifth of each class
    of the training set becomes the validation set.
    """
    return split_indices(y_train, fraction, seed)


def load_digits_1024(test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED) -> Digits:
    """The digits, 32 × 32 = 1024 pixels per row, scaled to [0, 1], split into train and test."""
    from sklearn.datasets import load_digits
    raw = load_digits()
    images = raw.images.reshape(-1, SOURCE_SIDE, SOURCE_SIDE) / MAX_INTENSITY
    X = upsample(images).reshape(len(images), SIDE * SIDE)
    X = np.clip(X, 0.0, 1.0)  # already in range; the clip only removes rounding below 0 or above 1
    y = raw.target.astype(np.int64)
    train, test = split_indices(y, test_fraction, seed)
    return Digits(X[train], y[train], X[test], y[test])


def as_images(X: np.ndarray) -> np.ndarray:
    """(n, 1024) rows -> (n, 32, 32) images, for plotting."""
    X = np.asarray(X)
    return X.reshape(X.shape[:-1] + (SIDE, SIDE))
