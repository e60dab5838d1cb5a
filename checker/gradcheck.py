"""Numerical gradient check of every parameter tensor, from the loss alone.

Full central differences need two loss evaluations per parameter: 1,317,396 forward passes for
the 658,698 parameters of 1024-512-256-10.  A directional derivative needs two in all:

    (L(p + εv) − L(p − εv)) / 2ε  ≈  ⟨∇L, v⟩

so a few random directions per tensor test every entry of it at once, and a few sampled
coordinates per tensor (biases too) catch a wrong entry that a direction might average away.
A direction is a Gaussian vector scaled to length 1 and stepped by 1e-4: unscaled, a step of
1e-5 moves W1 by 7e-3 in all and the truncation error alone came within 1e-6 of a right answer.
Everything is float64: in float32 the rounding error of L/ε swamps the derivative.
"""
from __future__ import annotations

import html
import time
import types
from dataclasses import dataclass, field

import numpy as np

from checker import _mode, runner
from checker.judge import describe_value, plain_array
from checker.result import WrongArgument

TOLERANCE = 1e-6


@dataclass
class TensorCheck:
    """Checks of one parameter tensor: the worst error of its directions and of its coordinates."""
    key: str
    directions: int
    coordinates: int
    max_rel_error: float
    worst: str  # which check was worst: 'direction 2' or 'coordinate (3, 17)'

    @property
    def passed(self) -> bool:
        return self.max_rel_error <= TOLERANCE


@dataclass
class GradcheckReport:
    tensors: list = field(default_factory=list)
    seconds: float = 0.0
    loss_evaluations: int = 0

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.tensors)

    def text(self) -> str:
        head = (f"{'✓ gradients agree' if self.passed else '✗ gradients disagree'} with the loss "
                f"({self.loss_evaluations} loss evaluations, {self.seconds:.2f} s; tolerance {TOLERANCE:g})")
        rows = [f"  {t.key:<3} {t.directions} directions + {t.coordinates} coordinates: max relative error "
                f"{t.max_rel_error:.1e} ({t.worst}) {'✓' if t.passed else '✗'}" for t in self.tensors]
        return "\n".join([head] + rows)

    __str__ = text

    def _repr_pretty_(self, printer, cycle):
        printer.text(self.text())

    def _repr_html_(self):
        return f"<pre>{html.escape(self.text())}</pre>"


def _floats(value, what: str) -> np.ndarray:
    try:
        if value is None:   # np.asarray makes it a nan
            raise TypeError
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise WrongArgument(f"{what} should be an array of numbers; it is {describe_value(value)}.") from None


def _arguments(grads, x, y, params) -> tuple:
    """params, x and y as float64 arrays, or a WrongArgument that says in one line what is wrong with them."""
    for name, value in (("grads", grads), ("params", params)):
        if not isinstance(value, dict):
            raise WrongArgument(f"{name} should be a dict of arrays (W1, b1, …); it is {describe_value(value)}.")
    missing = [k for k in params if k not in grads]
    if missing:
        raise WrongArgument(f"grads has no {', '.join(map(str, missing))}: it needs a gradient for each key of params.")
    return ({k: _floats(v, f"params[{k!r}]") for k, v in params.items()}, _floats(x, "x"), _floats(y, "y"))


def _theirs(loss):
    """A loss of the student's as a function that returns a float, each evaluation through ``runner.call``:
    what it raises, a hang, or a value that is not one number is a WrongArgument of one line, not a traceback
    into gradcheck; a loss that writes into params writes into copies, so the check still sees the params it
    moved.  The time limit is read at each call (a test shortens it)."""
    if not callable(loss):
        number = plain_array(loss)
        shown = f" ({float(number):g})" if number is not None and number.ndim == 0 else ""
        hint = " Pass the function itself, without calling it." if number is not None else ""
        raise WrongArgument(f"loss should be a function loss(x, y, params); it is {describe_value(loss)}{shown}.{hint}")
    name = loss.__name__ if isinstance(loss, (types.FunctionType, types.MethodType, types.BuiltinFunctionType)) else ""
    who = f"loss ({name})" if name.isidentifier() and name != "loss" else "loss"

    def evaluate(x, y, params) -> float:
        timeout = runner.DEFAULT_TIMEOUT
        outcome = runner.call(loss, (x, y, params), timeout)
        if outcome.status == "timeout":
            raise WrongArgument(f"{who} did not return within {timeout:g} s (is there a loop that never ends?).")
        if outcome.status == "raised":
            error = outcome.error
            raised = error.type_name + (f": {error.message}" if error.message else "")
            where = f" — {error.where()}" if error.line else ""
            raise WrongArgument(f"{who} raised {raised}{where}. gradcheck calls it as loss(x, y, params) with "
                                "params a dict of the parameters, one of them moved a little.")
        number = plain_array(outcome.value)
        if number is None or number.ndim != 0:
            raise WrongArgument(f"{who} should return one number (the mean cross-entropy, a float); it returned "
                                f"{describe_value(outcome.value)}.")
        return float(number)

    return evaluate


def gradcheck(grads: dict, x, y, params: dict, *, loss=None, directions: int = 3,
              coordinates: int = 4, eps: float = 1e-5, direction_step: float = 1e-4,
              seed: int = 0) -> GradcheckReport:
    """Check ``grads`` (e.g. from a backward pass) against central differences of ``loss``.

    grads, params: dicts with the same keys and shapes (W1 (1024, 512), b1 (512,), …).
    x, y: one example ((1024,), (10,)) or a batch ((m, 1024), (m, 10)).
    loss(x, y, params) -> float; by default the reference cross-entropy (batch mean for 2-D x), which a
        grading kernel does not have: there gradcheck stands aside.  A loss of the student's is called as any
        student's function is (checker.runner), and a WrongArgument says what went wrong with it.
    For every tensor: ``directions`` random Gaussian directions of length 1, stepped by
    ``direction_step``, and ``coordinates`` sampled entries stepped by ``eps``, one of them the entry
    with the largest gradient.  A direction's error is relative to max(|numerical|, |analytic|), or
    to the slope of a typical direction, ‖g‖/√size, when that is larger; a coordinate's error is
    relative to the tensor's largest gradient entry.
    """
    if loss is None:
        aside = _mode.standing_aside("gradcheck")
        if aside is not None:
            return aside
        from checker import network
        loss = network.loss
    else:
        loss = _theirs(loss)
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    params, x, y = _arguments(grads, x, y, params)
    report = GradcheckReport()

    def slope(key, v, step):
        plus, minus = dict(params), dict(params)
        plus[key] = params[key] + step * v
        minus[key] = params[key] - step * v
        report.loss_evaluations += 2
        return (loss(x, y, plus) - loss(x, y, minus)) / (2 * step)

    for key in params:
        g = _floats(grads[key], f"grads[{key!r}]")
        if g.shape != params[key].shape:
            raise WrongArgument(f"grads[{key!r}] has shape {g.shape}; the parameter has shape {params[key].shape}")
        worst, where = 0.0, ""
        typical = float(np.linalg.norm(g)) / np.sqrt(g.size)
        for d in range(directions):
            v = rng.standard_normal(g.shape)
            v /= np.linalg.norm(v)
            numerical, analytic = slope(key, v, direction_step), float(np.sum(g * v))
            # relative to the slope, or to the typical slope ‖g‖/√n when this direction is nearly flat
            err = abs(numerical - analytic) / max(abs(numerical), abs(analytic), typical, 1e-300)
            if err > worst or not where:
                worst, where = err, f"direction {d}"
        scale = max(float(np.max(np.abs(g))), 1e-300)
        picks = [np.unravel_index(int(np.argmax(np.abs(g))), g.shape)]
        picks += [tuple(int(rng.integers(n)) for n in g.shape) for _ in range(coordinates - 1)]
        for index in picks:
            v = np.zeros(g.shape)
            v[index] = 1.0
            err = abs(slope(key, v, eps) - g[index]) / scale
            if err > worst:
                worst, where = err, f"coordinate {tuple(int(i) for i in index)}"
        report.tensors.append(TensorCheck(key, directions, len(picks), worst, where))
    report.seconds = time.perf_counter() - start
    return report
