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
