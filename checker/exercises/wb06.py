"""Workbook 06: training the network on real handwritten digits.

The pieces a training loop needs besides the gradients: one-hot targets, one step of gradient
descent, the accuracy of a batch of predictions, and the batch ``backward`` itself (the same
contract as wb04.backward, so a student can paste theirs from workbook 04).
"""
import math

import numpy as np

from checker import network
from checker.exercises import Case, Exercise, Question
from checker.exercises import inputs as draw
from checker.exercises import kinds
from checker.exercises.inputs import FULL, SMALL

K = network.LAYER_SIZES[-1]          # 10 classes
BATCH_SIZE = 32                      # the mini-batch size the workbook trains with
N_TRAIN, N_TEST = 1347, 450         # images in the fixed split of checker.data (tests/test_data.py checks)


# --- one_hot -----------------------------------------------------------------------------------

def one_hot_reference(labels):
    """labels: (m,) integers 0..9 -> (m, 10) float, row i has a single 1 in column labels[i]."""
    labels = np.asarray(labels)
    out = np.zeros((labels.shape[0], K))
    out[np.arange(labels.shape[0]), labels] = 1.0
    return out


def _labels(rng, m, classes=K):
    return rng.integers(classes, size=m).astype(np.int64)


def _one_hot_cases(rng):
    few = np.array([3, 1, 3, 0, 2], dtype=np.int64)  # only classes 0..3: a table sized by the labels is too narrow
    return [Case("7 labels", (_labels(rng, 7),)),
            Case(f"a batch of {BATCH_SIZE} labels", (_labels(rng, BATCH_SIZE),)),
            Case("5 labels that use only the classes 0 to 3", (few,)),
            Case(f"all {N_TEST} labels of a test set", (_labels(rng, N_TEST),))]


def _one_hot_mistakes(labels):
    right = one_hot_reference(labels)
    return [("label_off_by_one", np.roll(right, 1, axis=1),
             "puts each 1 one column to the right of its label: the columns are the classes 0..9 "
             "themselves, so class c goes in column c (numpy counts from 0).")]


# --- accuracy ----------------------------------------------------------------------------------

def accuracy_reference(H3, labels):
    """H3: (m, 10) probabilities, labels: (m,) -> the fraction of rows whose largest entry is the label."""
    return float(np.mean(np.argmax(H3, axis=1) == np.asarray(labels)))


def _probabilities(rng, m):
    return network.softmax(rng.normal(0.0, 2.0, size=(m, K)))


def _accuracy_cases(rng):
    def make(m, label):
        H3 = _probabilities(rng, m)
        labels = np.argmax(H3, axis=1)
        wrong = rng.random(m) < 0.3                     # about 30 % of the predictions are wrong
        labels[wrong] = (labels[wrong] + rng.integers(1, K, size=int(wrong.sum()))) % K
        return Case(f"{label}: H3 ({m}, {K}), labels ({m},)", (H3, labels.astype(np.int64)))
    return [make(7, "7 examples"), make(BATCH_SIZE, "a mini-batch"), make(N_TEST, "a whole test set")]


def _accuracy_mistakes(H3, labels):
    right = accuracy_reference(H3, labels)
    m = len(labels)
    return [("count_instead_of_fraction", right * m,
             f"is the number of right predictions ({right * m:.0f} of {m}); accuracy is the fraction of "
             "them: divide by the number of examples."),
            ("error_rate", 1.0 - right,
             "is the fraction of WRONG predictions (the error rate): accuracy counts the rows where the "
             "largest probability sits at the label.")]


# --- sgd_step ----------------------------------------------------------------------------------

def sgd_step_reference(params, grads, lr):
    """One step of gradient descent: a new dict with θ − lr · g for every key; the inputs stay as they were."""
    return {key: params[key] - lr * grads[key] for key in network.PARAM_KEYS}


def _sgd_cases(rng):
    def make(sizes, label, lr):
        p = draw.params(rng, sizes)
        g = {k: draw.upstream(rng, *v.shape) for k, v in p.items()}
        return Case(f"{label}, lr = {lr}", (p, g, lr))
    return [make(SMALL, "small sizes", 0.5), make(FULL, "full size", 0.1), make(SMALL, "small sizes", 3.0)]


def _sgd_mistakes(params, grads, lr):
    return [("gradient_ascent", {k: params[k] + lr * grads[k] for k in params},
             "adds lr × gradient: which way does the gradient point, towards a larger loss or a smaller one?"),
            ("missing_learning_rate", {k: params[k] - grads[k] for k in params},
             "takes a step of the whole gradient: where does the learning rate lr come in?"),
            ("returns_the_step", {k: -lr * grads[k] for k in params},
             "is only the change of the parameters: return the new parameters themselves."),
            ("returns_the_step", {k: lr * grads[k] for k in params},
             "is only lr × gradient, a change: return the new parameters themselves.")]


def _param_axes(key):
    return kinds._param_axes(key)


# --- the number of updates in one epoch --------------------------------------------------------

def _n_train() -> int:
    from sklearn.datasets import load_digits

    from checker import data
    train, _ = data.split_indices(load_digits().target)
    return int(train.size)


EXERCISES = [
    Exercise("wb06.one_hot", "one_hot(labels)", _one_hot_cases, one_hot_reference,
             arg_names=("labels",), mistakes=_one_hot_mistakes,
             out_axes=("one row per example", f"one column per class 0..{K - 1}"),
             hints=("np.eye(10) holds the ten one-hot rows; indexing it with the labels picks one row per label.",)),
    kinds.whole_backward("wb06.backward", batch=True),
    Exercise("wb06.sgd_step", "sgd_step(params, grads, lr)", _sgd_cases, sgd_step_reference,
             arg_names=("params", "grads", "lr"), mistakes=_sgd_mistakes,
             out_axes={k: _param_axes(k) for k in network.PARAM_KEYS},
             hints=("Build a new dict with one entry per key; leave params and grads as they are.",)),
    Exercise("wb06.accuracy", "accuracy(H3, labels)", _accuracy_cases, accuracy_reference,
             arg_names=("H3", "labels"), mistakes=_accuracy_mistakes, out_axes=(),
             hints=("np.argmax(H3, axis=1) is the predicted class of every row.",)),
]

QUESTIONS = [
    Question("wb06.updates_per_epoch",
             f"The training set has {N_TRAIN} images and a mini-batch holds {BATCH_SIZE} (the last one is "
             "smaller). How many gradient steps make one epoch?",
             "number", lambda: math.ceil(_n_train() / BATCH_SIZE),
             hints=("Every image is used once per epoch; a last, smaller batch still makes a step.",)),
]
