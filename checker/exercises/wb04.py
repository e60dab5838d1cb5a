"""Workbook 04: a whole batch at once."""
import numpy as np

from checker import network
from checker.exercises import Case, Exercise
from checker.exercises import inputs as draw
from checker.exercises import kinds
from checker.exercises.inputs import FULL, SMALL


def _forward_cases(rng):
    def make(sizes, label, p):
        X = draw.images(rng, draw.BATCH[sizes], sizes[0])
        return Case(f"{label}: X {X.shape}, sizes {'-'.join(map(str, sizes))}", (X, p))
    full = draw.params(rng, FULL)
    return [make(SMALL, "small sizes", draw.params(rng, SMALL)), make(FULL, "full size", full),
            make(FULL, kinds.SATURATING, draw.saturate(full))]


def _forward_mistakes(X, params):
    cache = network.forward(X, params)
    z3 = cache["z3"]
    e = np.exp(z3 - z3.max())
    return [("wrong_axis", {**cache, "h3": e / e.sum(axis=0, keepdims=True)}),
            ("wrong_axis", {**cache, "h3": e / e.sum()})]


def _cache_axes(key):
    return ("one row per example in the batch", f"one column per unit of {key}")


EXERCISES = [
    Exercise("wb04.forward", "forward(X, params)", _forward_cases, network.forward, points=2.0,
             arg_names=("X", "params"), mistakes=_forward_mistakes,
             out_axes={k: _cache_axes(k) for k in network.CACHE_KEYS},
             hints=("Z = H @ W + b works for a whole batch at once: b broadcasts over the rows.",)),
    kinds.whole_backward("wb04.backward", batch=True),
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


def _grad_W_mistakes(H, dZ):
    m = H.shape[0]
    return [("outer_of_means", np.outer(H.mean(axis=0), dZ.sum(axis=0)),
             "is the outer product of the batch's average input with the summed dZ. The products of H and dZ "
             "must be formed example by example and only then added up, not summed factor by factor."),
            ("outer_of_means", np.outer(H.sum(axis=0), dZ.sum(axis=0)) / m,
             "multiplies the column sums of H and dZ: the sum over the examples has to run over products "
             "formed example by example.")]


def _grad_b_mistakes(dZ):
    return [("summed_wrong_axis", np.full(dZ.shape[1], dZ.sum()),
             "adds up every entry of dZ into one number (and repeats it): each bias b_k gets only what "
             "reached its own column of Z.")]


def _batch_m(*args):
    return args[0].shape[0]


EXERCISES += [
    Exercise("wb04.grad_W", "grad_W(H, dZ)", _layer_cases, lambda H, dZ: H.T @ dZ,
             arg_names=("H", "dZ"), batch_size=_batch_m, mistakes=_grad_W_mistakes,
             out_axes=("one row per unit of the layer's input (fan-in)", "one column per unit of Z (fan-out)"),
             hints=("Start from one example: what does it contribute to entry (j, k)? Then combine the examples.",
                    "dZ already holds the gradient of the mean loss, so it carries the 1/m: do not divide again.")),
    Exercise("wb04.grad_b", "grad_b(dZ)", lambda rng: [Case(c.label.split(": H")[0] + f": dZ {c.args[1].shape}",
                                                            (c.args[1],)) for c in _layer_cases(rng)],
             lambda dZ: dZ.sum(axis=0), arg_names=("dZ",), batch_size=_batch_m, mistakes=_grad_b_mistakes,
             out_axes=("one entry per unit of Z (and of b)",),
             hints=("The same b is added to every row of Z: how many rows does each entry of b reach?",)),
]
