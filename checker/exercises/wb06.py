"""Workbook 06: training the network on real handwritten digits.

The pieces a training loop needs besides the gradients: one-hot targets, one step of gradient
descent, the accuracy of a batch of predictions, and the batch ``backward`` itself (the same
contract as wb04.backward, so a student can paste theirs from workbook 04).

``example()`` stores the workbook's fixed example: small inputs on which the notebook tries the
student's four functions before it trains with them, and the results of the notebook's own
training runs (made here with the reference, by the same loop as the notebook's ``train``), which
the notebook goes on with while a function is unfinished or wrong.
"""
import functools
import math

import numpy as np

from checker import network
from checker.exercises import Case, Exercise, Question, kinds
from checker.exercises import inputs as draw
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
             "puts each 1 one column to the right of its label (a 9 wraps round to column 0): look at "
             "where numpy starts counting columns."),
            ("label_off_by_one", np.roll(right, -1, axis=1),
             "puts each 1 one column to the left of its label (a 0 wraps round to the last column), as if "
             "the labels ran from 1 to 10: look at which values the labels take."),
            ("every_label_in_every_row", np.repeat(right.max(axis=0, keepdims=True), len(right), axis=0),
             "puts a 1 in every row at the column of every label of the batch, not only at its own label. "
             "Indexing with [:, labels] picks whole columns: which (row, column) pairs should be set?")]


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
             f"is the number of right predictions ({right * m:.0f} of {m}), not a fraction: accuracy lies "
             "between 0 and 1 whatever the number of examples."),
            ("error_rate", 1.0 - right,
             "is the fraction of WRONG predictions (the error rate): look at the comparison that decides "
             "which rows count."),
            ("percentage", 100.0 * right,
             "is a percentage: the accuracy asked for is a fraction between 0 and 1.")]


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
             "moves every parameter uphill: the gradient points towards a larger loss. Think about which "
             "way a descent step goes."),
            ("missing_learning_rate", {k: params[k] - grads[k] for k in params},
             "takes a step whose size does not depend on lr: look at where the learning rate enters."),
            ("returns_the_step", {k: -lr * grads[k] for k in params},
             "returns only the change of the parameters, not the parameters after the step."),
            ("returns_the_step", {k: lr * grads[k] for k in params},
             "returns only the size of the change, not the parameters after the step."),
            ("not_updated", {k: np.array(params[k], dtype=float) for k in params},
             "is the parameter as it was given: no step was taken for it.")]


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
             hints=("Row i needs its single 1 in the column that labels[i] names; the table must have a column "
                    "for every class, also for classes that no label happens to use.",)),
    kinds.whole_backward("wb06.backward", batch=True),
    Exercise("wb06.sgd_step", "sgd_step(params, grads, lr)", _sgd_cases, sgd_step_reference,
             arg_names=("params", "grads", "lr"), mistakes=_sgd_mistakes,
             out_axes={k: _param_axes(k) for k in network.PARAM_KEYS},
             hints=("Make a new dict with one entry per key and leave the arrays you were given as they are; "
                    "think about which way the gradient points.",)),
    Exercise("wb06.accuracy", "accuracy(H3, labels)", _accuracy_cases, accuracy_reference,
             arg_names=("H3", "labels"), mistakes=_accuracy_mistakes, out_axes=(),
             hints=("First find the predicted class of every row (which axis runs over the classes?), then "
                    "compare with the labels.",)),
]

QUESTIONS = [
    Question("wb06.updates_per_epoch",
             f"The final run trains on all {N_TRAIN} images of the training and validation sets together, in "
             f"mini-batches of {BATCH_SIZE} (the last one is smaller). How many gradient steps make one epoch?",
             "number", lambda: math.ceil(_n_train() / BATCH_SIZE),
             hints=("Every image is used once per epoch: think about the images left over after the last "
                    "full batch.",)),
]


# --- the notebook's training runs, stored as the workbook's example ------------------------------
# The notebook's `train` is this loop with the student's functions; the solution's functions do
# the same arithmetic as the reference's, so the solution notebook reproduces these runs (a
# solution-only cell confirms it). Keep the two loops in step.

PARAMS_SEED = 0            # params0 = init_params(default_rng(PARAMS_SEED)): where every run starts
SHUFFLE_SEED = 1           # the order of the mini-batches
DROP_AFTER = 10            # the step is lr for the first DROP_AFTER epochs and lr / 10 after them
EPOCHS_TRIED = 20          # each candidate runs this long; the validation loss picks the epoch
CANDIDATES = {             # name -> (lr, beta); beta = 0 is plain gradient descent
    "plain_small": (0.1, 0.0),
    "plain_large": (1.0, 0.0),     # the effective step of momentum below: 0.1 / (1 - 0.9)
    "momentum": (0.1, 0.9),
}
WEIGHTS = ("W1", "W2", "W3")
SMALL_SIZES = (9, 7, 5, 3)         # the small network on which backward and sgd_step are tried
SMALL_LR = 0.5


def mean_loss(H3, Y):
    """The batch-mean cross-entropy as the notebook computes it: H3, Y (m, k), Y one-hot -> float."""
    return float(-np.sum(np.log(H3[Y == 1])) / len(Y))


def train_run(fns, params0, X, labels, lr, beta, epochs, X_val=None, labels_val=None, steps=False):
    """The notebook's ``train``: mini-batch gradient descent with momentum, from params0.

    fns: dict forward, one_hot, backward, sgd_step, accuracy.  Returns (params, history): with
    X_val, after every epoch (entry 0: before the first step) the loss on (X, labels), the
    validation loss and the validation accuracy; with steps=True, after every step, the Frobenius
    norm of each weight gradient and the size of each weight update relative to the weights.
    """
    Y = fns["one_hot"](labels)
    Y_val = None if X_val is None else fns["one_hot"](labels_val)
    rng = np.random.default_rng(SHUFFLE_SEED)
    params = {key: value.copy() for key, value in params0.items()}
    velocity = {key: np.zeros_like(value) for key, value in params.items()}
    history = {"train_loss": [], "val_loss": [], "val_acc": [], "grad_norm": [], "update_ratio": []}

    def measure(params):
        if X_val is not None:
            history["train_loss"].append(mean_loss(fns["forward"](X, params)["h3"], Y))
            H3 = fns["forward"](X_val, params)["h3"]
            history["val_loss"].append(mean_loss(H3, Y_val))
            history["val_acc"].append(fns["accuracy"](H3, labels_val))

    measure(params)
    for epoch in range(epochs):
        lr_now = lr if epoch < DROP_AFTER else lr / 10
        order = rng.permutation(len(X))
        for start in range(0, len(X), BATCH_SIZE):
            rows = order[start:start + BATCH_SIZE]
            grads = fns["backward"](X[rows], Y[rows], params)
            velocity = {key: beta * velocity[key] + grads[key] for key in params}
            new = fns["sgd_step"](params, velocity, lr_now)
            if steps:
                history["grad_norm"].append([np.linalg.norm(grads[w]) for w in WEIGHTS])
                history["update_ratio"].append([np.linalg.norm(new[w] - params[w]) / np.linalg.norm(params[w])
                                                for w in WEIGHTS])
            params = new
        measure(params)
    return params, {key: np.array(value) for key, value in history.items() if value}


def choose(runs: dict) -> tuple:
    """(name, epochs): the run and the epoch with the lowest validation loss."""
    best = {name: int(np.argmin(run["val_loss"])) for name, run in runs.items()}
    name = min(runs, key=lambda n: runs[n]["val_loss"][best[n]])
    return name, best[name]


@functools.lru_cache(maxsize=1)
def _example():
    from threadpoolctl import threadpool_limits

    from checker import data
    digits = data.load_digits_1024()
    fit, val = data.validation_split(digits.y_train)
    X_train, y_train = digits.X_train[fit], digits.y_train[fit]
    X_val, y_val = digits.X_train[val], digits.y_train[val]
    params0 = network.init_params(np.random.default_rng(PARAMS_SEED))
    fns = {"forward": network.forward, "one_hot": one_hot_reference, "backward": network.backward,
           "sgd_step": sgd_step_reference, "accuracy": accuracy_reference}

    rng = np.random.default_rng(6)
    small = network.init_params(rng, SMALL_SIZES)
    X_small = rng.random((4, SMALL_SIZES[0]))
    Y_small = one_hot_reference(np.array([2, 0, 2, 1]))[:, :SMALL_SIZES[-1]]
    small_grads = network.backward(X_small, Y_small, small)

    X16, Y16 = X_train[:16], one_hot_reference(y_train[:16])
    grads16 = network.backward(X16, Y16, params0)
    lrs = np.array([0.001, 0.01, 0.1, 1.0])

    def loss16(params):
        return mean_loss(network.forward(X16, params)["h3"], Y16)

    with threadpool_limits(limits=1):     # small matrices: one BLAS thread is fastest on shared cores
        runs = {name: train_run(fns, params0, X_train, y_train, lr, beta, EPOCHS_TRIED, X_val, y_val)[1]
                for name, (lr, beta) in CANDIDATES.items()}
        chosen, epochs = choose(runs)
        params, final = train_run(fns, params0, digits.X_train, digits.y_train, *CANDIDATES[chosen], epochs,
                                  steps=True)

    H3_test = network.forward(digits.X_test, params)["h3"]
    final["predicted"] = np.argmax(H3_test, axis=1).astype(np.int8)
    final["test_accuracy"] = np.array(accuracy_reference(H3_test, digits.y_test))
    values = {
        "Y16": Y16,
        "small_X": X_small, "small_Y": Y_small, "small_params": small, "small_grads": small_grads,
        "small_stepped": sgd_step_reference(small, small_grads, SMALL_LR),
        "untrained_accuracy": np.array(accuracy_reference(network.forward(X_val, params0)["h3"], y_val)),
        "step_demo": {"lr": lrs, "loss_before": np.array(loss16(params0)),
                      "squared_norm": np.array(sum(float(np.sum(g * g)) for g in grads16.values())),
                      "change": np.array([loss16(sgd_step_reference(params0, grads16, lr)) - loss16(params0)
                                          for lr in lrs])},
        **{f"run_{name}": run for name, run in runs.items()},
        "final": final,
    }
    return values, PARAMS_SEED


def example():
    """(values, params seed) of the workbook's fixed example; see the module docstring."""
    values, seed = _example()
    return {name: (dict(value) if isinstance(value, dict) else value) for name, value in values.items()}, seed
