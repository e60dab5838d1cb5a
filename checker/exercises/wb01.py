"""Workbook 01: the forward pass and the output layer."""
from dataclasses import replace

import numpy as np

from checker import network
from checker.exercises import Case, Exercise, kinds
from checker.exercises import inputs as draw
from checker.exercises.inputs import FULL

K = FULL[-1]


def _softmax_cases(rng):
    big = np.array([1000.0, 999.0, -1000.0, 0.0, 998.5, -3.0, 1.0, 2.0, 1000.0, -999.0])
    return [Case("a small 1-D z (5,)", (draw.preactivations(rng, 5),)),
            Case("a small batch z (4, 3)", (draw.preactivations(rng, 4, 3),)),
            Case("one example at full size (10,)", (draw.preactivations(rng, K, scale=4.0),)),
            Case("a batch at full size (16, 10)", (draw.preactivations(rng, 16, K, scale=4.0),)),
            Case("logits near ±1000", (big,)),
            Case("a batch of logits near ±1000 (3, 10)", (np.stack([big, -big, rng.permutation(big)]),))]


def _softmax_mistakes(z):
    """A batch normalised down each column or over everything, whichever max was subtracted first (the
    whole batch's, each row's as in the 1-D version, or each column's)."""
    if z.ndim != 2:
        return []
    shifted = [z - np.max(z), z - np.max(z, axis=-1, keepdims=True), z - np.max(z, axis=0, keepdims=True)]
    return [("wrong_axis", np.exp(s) / np.exp(s).sum(axis=axis, keepdims=True)) for s in shifted for axis in (0, None)]


def _sigmoid_mistakes(z):
    return [("exponent_sign", network.sigmoid(-np.asarray(z, dtype=float)),
             "is the sigmoid mirrored: your values fall from 1 to 0 as z grows, where σ rises from 0 to 1. "
             "Look at the sign in your exponent.")]


def _cross_entropy_cases(rng):
    def example(k, label, logit_scale=3.0):
        return Case(label, (network.softmax(draw.preactivations(rng, k, scale=logit_scale)), draw.one_hot(rng, k)))
    # The true class (1) shares the probability with class 4 (0.73 : 0.27); the other eight are exactly 0.
    # Not a true class with probability exactly 1: the loss would be exactly 0, and a right answer that
    # is off by a rounding error (an ε of 1e-12 inside the log) would fail with no tolerance left.
    underflow = network.softmax(np.array([0.0, 900.0, -900.0, 5.0, 899.0, -5.0, 0.0, 1.0, -800.0, 2.0]))
    return [example(5, "a small example, 5 classes"), example(K, "full size, 10 classes"),
            example(K, "full size, second draw"),
            Case("probabilities that underflowed to exactly 0 in wrong classes", (underflow, np.eye(K)[1]))]


def _cross_entropy_mistakes(h3, y):
    loss = network.cross_entropy(h3, y)
    return [("mean_over_classes", loss / len(h3),
             "is the right loss divided by the number of classes: look at the definition again. Is the loss of "
             "one example an average over the classes?"),
            ("log_base", loss / np.log(10), "takes the logarithm to base 10, where the loss uses the natural one."),
            ("log_base", loss / np.log(2), "takes the logarithm to base 2, where the loss uses the natural one.")]


def _grad_z3_mistakes(h3, y):
    h3, y = np.asarray(h3, dtype=float), np.asarray(y, dtype=float)
    true = y != 0
    return [("one_path_shortcut", np.where(true, h3 - 1, 0.0),
             "is 0 for every wrong class: only the true class is right. A wrong class's logit moves the loss "
             "too, through the true class's probability: which entries of the softmax Jacobian did you leave out?"),
            ("gradient_of_h3", np.where(true, -y / np.where(true, h3, 1.0), 0.0),
             "is the gradient with respect to the probabilities h3, not the logits z3: the link through the "
             "softmax is missing."),
            ("label_left_out", h3.copy(),
             "is h3 itself: the label y does not enter your answer. Where does the true class show in the loss?")]


def _grad_z3_cases(rng):
    def example(k, label):
        return Case(label, (network.softmax(draw.preactivations(rng, k, scale=3.0)), draw.one_hot(rng, k)))
    return [example(5, "a small example, 5 classes"), example(K, "full size"), example(K, "full size, second draw")]


# Hints point to where to look (the workbook's own questions), never to the formula itself.
EXERCISES = [
    kinds.elementwise("wb01.sigmoid", "sigmoid", network.sigmoid, extreme=True, mistakes=_sigmoid_mistakes,
                      hints=("Try your function at z = 0, at a large positive and a large negative z, and ask which "
                             "number it hands to np.exp each time; your written answer on a stable sigmoid "
                             "is the place to look.",)),
    Exercise("wb01.softmax", "softmax(z)", _softmax_cases, network.softmax, arg_names=("z",),
             mistakes=_softmax_mistakes,
             hints=("e^1000 is inf in float64, and inf/inf is nan: look again at the question on changes that "
                    "leave softmax unchanged, and at which axis holds one example's logits.",)),
    Exercise("wb01.cross_entropy", "cross_entropy(h3, y)", _cross_entropy_cases, network.cross_entropy,
             arg_names=("h3", "y"), mistakes=_cross_entropy_mistakes,
             hints=("Look at the section's example where a wrong class's probability is exactly 0: "
                    "which term of your sum becomes nan there, and does the loss need it?",)),
    Exercise("wb01.grad_z3", "grad_z3(h3, y)", _grad_z3_cases, network.softmax_cross_entropy_backward,
             arg_names=("h3", "y"), out_axes=(kinds.UNIT.format("z3"),), mistakes=_grad_z3_mistakes,
             hints=("Multiply the gradient with respect to h3 by the softmax Jacobian entry by entry, and simplify "
                    "to the end: what is left of each term?",)),
    replace(kinds.outer("wb01.grad_W3", 3),
            hints=("Think about which factor indexes the rows: weight (i, j) connects which unit of h2 "
                   "to which unit of z3?",)),
    replace(kinds.bias("wb01.grad_b3", 3),
            hints=("How much does each entry of z3 change when one entry of b3 changes by a small amount?",)),
]


# --- the fixed example the notebook works through (stored by the build; see checker.examples) ---

EXAMPLE_SEED = 0     # the seed of the parameters; x, the batch and its labels continue the same draw
EXAMPLE_LABEL = 3
EXAMPLE_BATCH = 32   # the batch size of the shape questions


def _far_logits():
    """Logits that put the true class (0) 800 below the others: its probability underflows to 0."""
    z = np.zeros(K)
    z[0] = -800.0
    return z


def example():
    """The example of workbook 01, computed with the reference: (values, params_seed).

    One input x (1024 values in [0, 1)) with label 3, and a batch X of 32 with random labels,
    through the network of init_params(default_rng(0)); the values the notebook's cells go on with
    when a function is unfinished: the forward pass, the loss, dz3, dW3, db3, and a few test inputs.
    """
    rng = np.random.default_rng(EXAMPLE_SEED)
    params = network.init_params(rng)
    x = rng.uniform(0.0, 1.0, size=FULL[0])
    y = np.eye(K)[EXAMPLE_LABEL]
    X = rng.uniform(0.0, 1.0, size=(EXAMPLE_BATCH, FULL[0]))
    Y = np.eye(K)[rng.integers(K, size=EXAMPLE_BATCH)]
    cache = network.forward(x, params)
    batch = network.forward(X, params)
    h3, h2 = cache["h3"], cache["h2"]
    dz3 = network.softmax_cross_entropy_backward(h3, y)

    z_sigmoid = np.concatenate([[-1000.0, -5.0, 0.0, 5.0, 1000.0], np.linspace(-30.0, 30.0, 121)])
    z_softmax = np.array([[1000.0, 999.0, 998.0], [1.0, 2.0, 3.0], [-5.0, 0.0, 5.0]])
    z_trap = np.array([0.0, 900.0, -900.0, 5.0, 800.0, -5.0, 0.0, 1.0, -800.0, 2.0])
    h_far = network.softmax(_far_logits())
    values = {
        "x": x, "y": y, "cache": cache,
        # the batch only shows shapes and broadcasting: float32 is plenty, and keeps the file small
        "X": X.astype(np.float32), "Y": Y, "batch": {k: v.astype(np.float32) for k, v in batch.items()},
        "z_sigmoid": z_sigmoid, "sigmoid_of_z": network.sigmoid(z_sigmoid),
        "z_softmax": z_softmax, "softmax_of_z": network.softmax(z_softmax),
        "z_trap": z_trap, "h3_trap": network.softmax(z_trap), "y_trap": np.eye(K)[4],
        "ce_trap": network.cross_entropy(network.softmax(z_trap), np.eye(K)[4]),
        "loss": network.cross_entropy(h3, y),
        "ce_every_label": np.array([network.cross_entropy(h3, label) for label in np.eye(K)]),
        "dz3": dz3,
        "h_far": h_far, "y_far": np.eye(K)[0], "dz3_far": network.softmax_cross_entropy_backward(h_far, np.eye(K)[0]),
        "dW3": np.outer(h2, dz3), "db3": dz3.copy(),
    }
    return values, EXAMPLE_SEED

