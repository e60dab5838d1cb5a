"""Graded questions of workbook 01 (shapes, choices, numbers).

Every answer is computed here: shapes from the network's layer sizes, choices by trying each
option numerically, numbers with the reference network.  Nothing is typed in.
"""
import warnings

import numpy as np

from checker import network
from checker.exercises import Question

N_IN, N_H1, N_H2, K = network.LAYER_SIZES
M = 32  # the batch size the batch questions ask about

UNITS = "one entry per unit of {}"
EXAMPLES = "one row per example in the batch (m)"
_SHAPES = network.param_shapes()


def _shape(id, prompt, shape, axes, points=0.5):
    return Question(id, prompt, "shape", lambda: tuple(shape), points=points, axes=tuple(axes))


def _activation_shape(name, width, batch):
    """z1 h1 … for one example, or Z1 H1 … for a batch of M."""
    if batch:
        return _shape(f"wb01.shape_{name}", f"The shape of {name} for a batch of m = {M} examples.",
                      (M, width), (EXAMPLES, f"one column per unit of {name.lower()}"))
    return _shape(f"wb01.shape_{name}", f"The shape of {name} for one example.", (width,),
                  (UNITS.format(name),))


def _param_question(key):
    shape = _SHAPES[key]
    layer = key[1]
    if key.startswith("W"):
        fan_in = "x" if layer == "1" else f"h{int(layer) - 1}"
        axes = (f"one row per unit of {fan_in} (fan-in)", f"one column per unit of z{layer} (fan-out)")
    else:
        axes = (UNITS.format(f"z{layer}"),)
    return _shape(f"wb01.shape_{key}", f"The shape of {key}.", shape, axes)


# --- choices: each answer is found by trying the options -------------------------------------

def _naive_sigmoid_at_minus_1000():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(all="warn"):
            value = 1.0 / (1.0 + np.exp(-np.float64(-1000.0)))
    if np.isnan(value):
        return "a"
    return "b" if caught and value == 0.0 else "c"


def _shift_that_keeps_softmax():
    z = np.random.default_rng(0).normal(size=K)
    options = {"a": 2.0 * z, "b": z + 7.5, "c": z + np.arange(K)}
    keeps = [key for key, changed in options.items() if np.allclose(network.softmax(changed), network.softmax(z))]
    return keeps[0] if len(keeps) == 1 else None


def _softmax_offdiagonal():
    """Entry (i, j) of the gradient layout, ∂h_j/∂z_i: nudge z_i, watch h_j."""
    z = np.random.default_rng(1).normal(size=K)
    h, eps, i, j = network.softmax(z), 1e-6, 2, 5
    step = np.zeros(K)
    step[i] = eps
    numeric = (network.softmax(z + step)[j] - network.softmax(z - step)[j]) / (2 * eps)
    options = {"a": 0.0, "b": -h[i] * h[j], "c": h[j] * (1 - h[i])}
    close = [key for key, value in options.items() if np.isclose(value, numeric, rtol=1e-6, atol=1e-10)]
    return close[0] if len(close) == 1 else None


QUESTIONS = [
    # one example
    _shape("wb01.shape_x", "The shape of one input x.", (N_IN,), ("one entry per input pixel",)),
    *(_param_question(key) for key in ("W1", "b1")),
    _activation_shape("z1", N_H1, False), _activation_shape("h1", N_H1, False),
    *(_param_question(key) for key in ("W2", "b2")),
    _activation_shape("z2", N_H2, False), _activation_shape("h2", N_H2, False),
    *(_param_question(key) for key in ("W3", "b3")),
    _activation_shape("z3", K, False), _activation_shape("h3", K, False),
    _shape("wb01.shape_y", "The shape of the one-hot label y of one example.", (K,), ("one entry per class",)),
    # a batch of M
    _shape("wb01.shape_X", f"The shape of X, a batch of m = {M} inputs.", (M, N_IN),
           (EXAMPLES, "one column per input pixel")),
    *(_activation_shape(name, width, True)
      for name, width in (("Z1", N_H1), ("H1", N_H1), ("Z2", N_H2), ("H2", N_H2), ("Z3", K), ("H3", K))),
    _shape("wb01.shape_Y", f"The shape of Y, the one-hot labels of a batch of m = {M}.", (M, K),
           (EXAMPLES, "one column per class")),
    Question("wb01.n_params", "How many numbers (weights and biases) does the network learn?", "number",
             network.n_params, hints=("Every parameter array counts; its number of entries follows from its shape.",)),
    # sigmoid
    Question("wb01.sigmoid_at_minus_1000",
             "What does the naive 1 / (1 + np.exp(-z)) give at z = -1000?", "choice",
             _naive_sigmoid_at_minus_1000,
             options={"a": "nan", "b": "0.0, with an overflow warning", "c": "an exception"},
             why_not={"a": "nan comes from inf/inf, 0/0, 0·inf or inf − inf. Follow the formula one operation "
                           "at a time at z = -1000: does any of these appear?",
                      "c": "Try np.exp(1000.0) on its own in a cell: does numpy stop with an error?"}),
    # softmax
    Question("wb01.softmax_shift", "Which change to the logits z leaves softmax(z) unchanged?", "choice",
             _shift_that_keeps_softmax,
             options={"a": "multiplying every logit by 2", "b": "adding the same number to every logit",
                      "c": "adding a different number to each logit"},
             why_not={"a": "Doubling the logits squares every e^z: try it on logits [0, 1] and compare.",
                      "c": "Write e^(z_j + c_j) as a product of two exponentials and look at what the fraction "
                           "does with the second factor when it differs from class to class."}),
    # cross-entropy
    Question("wb01.ce_uniform",
             "The cross-entropy when h3 gives every one of the 10 classes the same probability.", "number",
             lambda: network.cross_entropy(np.full(K, 1.0 / K), np.eye(K)[0]),
             hints=("Which entries of y are not 0, and what probability does h3 give that class here?",)),
    # the softmax Jacobian and dz3
    # The series' gradient layout: (∇_z3 h3)[i, j] = ∂h3_j / ∂z3_i, the axes of z3 first.
    _shape("wb01.shape_J", "The shape of the softmax Jacobian ∇_z3 h3 for one example.", (K, K),
           ("one row per logit z3_i", "one column per probability h3_j")),
    Question("wb01.jacobian_offdiag", "For i ≠ j, what is (∇_z3 h3)_ij = ∂h3_j / ∂z3_i?", "choice",
             _softmax_offdiagonal,
             options={"a": "0", "b": "-h3_i h3_j", "c": "h3_j (1 - h3_i)"},
             why_not={"a": "Every probability has the same denominator Σ_k e^(z3_k). Does z3_i appear in h3_j?",
                      "c": "That is the form of a diagonal entry with the indices mixed. For i ≠ j, does the "
                           "numerator e^(z3_j) depend on z3_i?"}),
    # W3 and b3
    _shape("wb01.shape_dW3", "The shape of ∇W3 CE for one example.", _SHAPES["W3"],
           ("one row per unit of h2 (fan-in)", "one column per unit of z3 (fan-out)")),
    _shape("wb01.shape_db3", "The shape of ∇b3 CE for one example.", _SHAPES["b3"], (UNITS.format("z3"),)),
]
