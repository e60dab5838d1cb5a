"""Workbook 04: a whole batch at once.

``forward`` and ``backward`` for a batch, and one layer's gradients ``grad_W`` and ``grad_b``; the
feedback points at the mistake and where to look, and never states the formula asked for.
``example()`` gives the notebook's fixed example (checker/examples/wb04.npz).
"""
from dataclasses import replace

import numpy as np

from checker import network
from checker.exercises import Case, Exercise, kinds
from checker.exercises import inputs as draw
from checker.exercises.inputs import FULL, SMALL

TOP_LOGIT = "the largest logit near 1000 in every row"


def _forward_cases(rng):
    def make(sizes, label, p):
        X = draw.images(rng, draw.BATCH[sizes], sizes[0])
        return Case(f"{label}: X {X.shape}, sizes {'-'.join(map(str, sizes))}", (X, p))
    full = draw.params(rng, FULL)
    return [make(SMALL, "small sizes", draw.params(rng, SMALL)), make(FULL, "full size", full),
            make(FULL, kinds.SATURATING, draw.saturate(full)),
            make(SMALL, TOP_LOGIT, draw.top_logit_near_1000(draw.params(rng, SMALL)))]  # overflows an unshifted softmax


def _forward_mistakes(X, params):
    """h3 normalised down each column or over the whole batch, whichever max was subtracted first (the whole
    batch's, each row's as in workbook 01's softmax, or each column's)."""
    cache = network.forward(X, params)
    z3 = cache["z3"]
    out = []
    for shifted in (z3 - z3.max(), z3 - z3.max(axis=-1, keepdims=True), z3 - z3.max(axis=0, keepdims=True)):
        e = np.exp(shifted)
        out += [("wrong_axis", {**cache, "h3": e / e.sum(axis=0, keepdims=True)},
                 "normalises h3 down each column, over the examples: the exercise asks for each row (one example) "
                 "to be normalised on its own, over the last axis. Add up one row of your h3, then one column."),
                ("wrong_axis", {**cache, "h3": e / e.sum()},
                 "normalises h3 over the whole batch at once: the exercise asks for each row (one example) to be "
                 "normalised on its own, over the last axis. Add up one row of your h3.")]
    return out


def _cache_axes(key):
    return ("one row per example in the batch", f"one column per unit of {key}")


# The sigmoid's mistakes on the way back, with texts that point (the judge's own texts state the rule).
_BACKWARD_TEXT = {
    "activation_instead_of_derivative":
        "multiplies by the sigmoid's value on the way back through a hidden layer, where its slope belongs "
        "(workbook 02 worked that slope out).",
    "derivative_of_preactivation":
        "applies the sigmoid's slope formula to the pre-activation Z. That formula is written in terms of the "
        "sigmoid's output: which array of your forward pass holds it?",
    "missing_activation_derivative":
        "skips the sigmoid on the way back: between the gradient of a hidden layer's H and that of its Z, the "
        "gradient passes through the sigmoid.",
    "slope_at_activation":
        "takes the sigmoid's slope at the hidden layer's H, its output, where the slope belongs at the value the "
        "sigmoid received: the array went through the sigmoid once more before its slope was taken.",
}


def _backward_mistakes(X, Y, params):
    return [(code, grads, _BACKWARD_TEXT[code]) if code in _BACKWARD_TEXT else (code, grads, *text)
            for code, grads, *text in kinds.backward_mistakes(X, Y, params)]


EXERCISES = [
    Exercise("wb04.forward", "forward(X, params)", _forward_cases, network.forward, points=2.0,
             arg_names=("X", "params"), mistakes=_forward_mistakes,
             out_axes={k: _cache_axes(k) for k in network.CACHE_KEYS},
             hints=("Compare with the forward pass of workbook 01: which of its lines change when X holds one "
                    "example per row?",)),
    replace(kinds.whole_backward("wb04.backward", batch=True), mistakes=_backward_mistakes,
            hints=("Go down one layer at a time with the pieces of this workbook: your answer to Question 2.1, "
                   "then grad_W and grad_b, then back through the weights and the sigmoid as in workbook 02.",)),
]


# --- one layer of the batch backward pass -------------------------------------------------------

def _layer_cases(rng):
    """(H, dZ): the layer's input for the batch and the gradient of the batch-mean loss at its output."""
    def make(m, fan_in, fan_out, label, inputs):
        H = inputs(rng, m, fan_in)
        dZ = draw.upstream(rng, m, fan_out) / m     # ∇Z J of a batch-mean loss carries the 1/m
        return Case(f"{label}: H ({m}, {fan_in}), dZ ({m}, {fan_out})", (H, dZ))
    m = draw.BATCH[FULL]
    return [make(draw.BATCH[SMALL], 7, 5, "small sizes", draw.activations),
            make(m, FULL[1], FULL[2], "layer 2 at full size", draw.activations),
            make(m, FULL[0], FULL[1], "layer 1 at full size (H = X)", draw.images)]


WHERE_THE_SUM_STANDS = "In your derivation of Question 3.2, what is summed over the examples i?"


def _grad_W_mistakes(H, dZ):
    m = H.shape[0]
    return [("outer_of_means", np.outer(H.mean(axis=0), dZ.sum(axis=0)),
             "is the outer product of the batch's average input with the summed dZ: each factor was added up "
             "over the examples on its own, before anything was multiplied. " + WHERE_THE_SUM_STANDS),
            ("outer_of_means", np.outer(H.sum(axis=0), dZ.sum(axis=0)) / m,
             "multiplies the column sums of H and of dZ (and divides by m): each factor was added up over the "
             "examples on its own, before anything was multiplied. " + WHERE_THE_SUM_STANDS)] + [
        ("one_example_only", np.outer(H[i], dZ[i]), ONE_EXAMPLE.format(which))
        for i, which in ((-1, "last"), (0, "first"))]


ONE_EXAMPLE = ("holds what the {} example of the batch contributes, and nothing of the others. In a loop over the "
               "examples, does each one add to the result, or replace it?")


def _grad_b_mistakes(dZ):
    return [("summed_wrong_axis", np.full(dZ.shape[1], dZ.sum()),
             "adds up every entry of dZ into one number (and repeats it). A change of b_k does not reach every "
             "entry of Z: which entries does it reach?")] + [
        ("one_example_only", np.array(dZ[i], dtype=float), ONE_EXAMPLE.format(which))
        for i, which in ((-1, "last"), (0, "first"))]


def _batch_m(*args):
    return args[0].shape[0]


EXERCISES += [
    Exercise("wb04.grad_W", "grad_W(H, dZ)", _layer_cases, lambda H, dZ: H.T @ dZ,
             arg_names=("H", "dZ"), batch_size=_batch_m, mistakes=_grad_W_mistakes,
             out_axes=("one row per unit of the layer's input (fan-in)", "one column per unit of Z (fan-out)"),
             hints=("Write ∂J/∂W[j, k] as a sum over the examples and the units of Z (Question 3.2), let the "
                    "deltas do their work, and read off which matrix product is left.",
                    "What does dZ already contain? Look at your answer to Question 2.1 before you divide by "
                    "anything.")),
    Exercise("wb04.grad_b", "grad_b(dZ)", lambda rng: [Case(c.label.split(": H")[0] + f": dZ {c.args[1].shape}",
                                                            (c.args[1],)) for c in _layer_cases(rng)],
             lambda dZ: dZ.sum(axis=0), arg_names=("dZ",), batch_size=_batch_m, mistakes=_grad_b_mistakes,
             out_axes=("one entry per unit of Z (and of b)",),
             hints=("How does the one vector b reach the rows of Z (section 1)? Your answer to Question 3.4 is "
                    "the place to look.",)),
]


# --- the fixed example the notebook works through (stored by the build; see checker.examples) ---

EXAMPLE_SEED = 0     # the seed of the parameters (init_params), as in workbooks 01 and 02
DATA_SEED = 1        # the batch, its labels and the small arrays of sections 3 and 5
M = draw.BATCH[FULL]
SIDE, PATCH = 32, 16  # 32 × 32 images with a PATCH × PATCH square of ink in the middle
ONE = 9               # the example that section 1 also sends through the network alone


def example_images(rng, m=M):
    """m images of 32 × 32 pixels, flattened to 1024: 8-bit intensities k/255 in the central 16 × 16
    square and 0 on the border, as in a scanned digit's dark background."""
    images = np.zeros((m, SIDE, SIDE))
    lo = (SIDE - PATCH) // 2
    images[:, lo:lo + PATCH, lo:lo + PATCH] = rng.integers(0, 256, size=(m, PATCH, PATCH)) / 255
    return images.reshape(m, SIDE * SIDE)


def example():
    """The example of workbook 04, computed with the reference: (values, params_seed).

    A batch X of 16 images with random labels Y through the network of init_params(default_rng(0)):
    the forward pass (and that of example ONE alone), ∇Z3 J, the layer-3 gradients and all six
    gradients of the batch-mean loss; a small layer (A 4×5, W 5×3) with an upstream dZ and its
    gradients; and the one-example layer of section 5 (x of 4, W of 4×3) with a dz.  The border
    pixels are 0 in every image, so 768 rows of dW1 are exactly 0 and the file stays small.
    """
    params = network.init_params(np.random.default_rng(EXAMPLE_SEED))
    rng = np.random.default_rng(DATA_SEED)
    X = example_images(rng)
    Y = np.eye(FULL[-1])[rng.integers(FULL[-1], size=M)]
    cache = network.forward(X, params)
    dZ3 = (cache["h3"] - Y) / M

    A_small = rng.uniform(size=(4, 5))
    W_small, b_small = rng.normal(size=(5, 3)), rng.normal(size=3)
    dZ_small = rng.normal(size=(4, 3)) / 4
    x_t = np.array([0.2, 0.5, 0.7, 0.9])
    W_t, b_t = rng.normal(size=(4, 3)), np.array([0.1, -0.2, 0.3])
    dz_t = np.array([0.3, -1.2, 0.5])
    values = {
        "X": X, "Y": Y, "cache": cache, "cache_of_one": network.forward(X[ONE:ONE + 1], params),
        "dZ3": dZ3, "dW3": cache["h2"].T @ dZ3, "db3": dZ3.sum(axis=0),
        "A_small": A_small, "W_small": W_small, "b_small": b_small, "dZ_small": dZ_small,
        "dW_small": A_small.T @ dZ_small, "db_small": dZ_small.sum(axis=0),
        "x_t": x_t, "W_t": W_t, "b_t": b_t, "dz_t": dz_t, "dW_t": np.outer(x_t, dz_t),
        "grads": network.backward(X, Y, params),
    }
    return values, EXAMPLE_SEED
