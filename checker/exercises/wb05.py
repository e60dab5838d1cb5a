"""Workbook 05: gradient checking. Central differences and the relative error."""
import numpy as np

from checker import network
from checker.exercises import Case, Exercise
from checker.exercises import inputs as draw
from checker.exercises.inputs import SMALL


def central_differences(f, x, eps):
    """∂f/∂x_i ≈ (f(x + ε e_i) − f(x − ε e_i)) / 2ε for every entry i; the shape of x. x is not changed."""
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + eps
        plus = f(x)
        x[index] = old - eps
        minus = f(x)
        x[index] = old
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def forward_differences(f, x, eps):
    x = np.array(x, dtype=float)
    base, grad = f(x), np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = x.copy()
        step[index] += eps
        grad[index] = (f(step) - base) / eps
    return grad


class Curvy:
    """f(x) = Σ sin(3x) + ½ Σ (c ⊙ x)² + (Σ x)³ / 30: curved in every direction, so a one-sided
    difference is visibly worse than a central one. Printable, so a case shows what f is."""

    def __init__(self, c):
        self.c = c

    def __call__(self, x):
        x = np.asarray(x, dtype=float)
        return float(np.sum(np.sin(3 * x)) + 0.5 * np.sum((self.c * x) ** 2) + np.sum(x) ** 3 / 30)

    def __repr__(self):
        return "f (a curved test function)"


class LossOf:
    """The cross-entropy of a small network as a function of one parameter tensor."""

    def __init__(self, key, x, y, params):
        self.key, self.x, self.y, self.params = key, x, y, params

    def __call__(self, value):
        return network.loss(self.x, self.y, {**self.params, self.key: np.asarray(value, dtype=float)})

    def __repr__(self):
        return f"the loss of a small network as a function of {self.key}"


def _gradient_cases(rng):
    p = draw.params(rng, SMALL)
    x, y = draw.images(rng, SMALL[0]), draw.one_hot(rng, SMALL[-1])
    return [Case("f of a vector x (6,), eps = 1e-3", (Curvy(rng.uniform(0.5, 2, 6)), rng.normal(size=6), 1e-3)),
            Case("f of a matrix x (3, 4), eps = 1e-3", (Curvy(rng.uniform(0.5, 2, (3, 4))), rng.normal(size=(3, 4)), 1e-3)),
            Case("the loss of a network 11-7-5-3 as a function of W3 (5, 3), eps = 1e-5",
                 (LossOf("W3", x, y, p), p["W3"], 1e-5)),
            Case("the same loss as a function of b2 (5,), eps = 1e-2", (LossOf("b2", x, y, p), p["b2"], 1e-2))]


def _gradient_mistakes(f, x, eps):
    return [("forward_difference", forward_differences(f, x, eps),
             "matches the one-sided difference (f(x + ε) − f(x)) / ε, whose error shrinks only like ε. Look "
             "again at the two points the workbook's difference uses."),
            ("half_step", 2 * central_differences(f, x, eps),
             "is twice the central difference: how far apart are the two points where you evaluate f?")]


def relative_error(a, b):
    """‖a − b‖ / max(‖a‖, ‖b‖) (0.0 when both are zero): one number for two arrays or two numbers."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = max(float(np.linalg.norm(a)), float(np.linalg.norm(b)))
    return 0.0 if scale == 0.0 else float(np.linalg.norm(a - b) / scale)


def _relative_cases(rng):
    g = rng.normal(size=50)
    big = rng.normal(size=(4, 5)) * 1e8
    return [Case("a (50,) and b = a + noise of relative size 1e-7", (g, g + 1e-7 * rng.normal(size=50))),
            Case("a = 2b: a is the larger one", (2 * g[:7], g[:7])),
            Case("b = 3a: b is the larger one", (g[:6], 3 * g[:6])),
            Case("two numbers, 1.0 and 1.000001", (1.0, 1.000001)),
            Case("matrices (4, 5) of size 1e8 that differ by 1e-3 relative", (big, big * (1 + 1e-3 * rng.normal(size=(4, 5))))),
            Case("two zero arrays (a gradient that is exactly 0)", (np.zeros(5), np.zeros(5)))]


def _relative_mistakes(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diff = float(np.linalg.norm(a - b))
    out = [("absolute_error", diff,
            "is the absolute difference ‖a − b‖. Divide by the size of the gradients: a difference of 1e-3 "
            "is tiny between numbers of size 1e8 and huge between numbers of size 1e-3.")]
    for norm, which in ((float(np.linalg.norm(b)), "b"), (float(np.linalg.norm(a)), "a")):
        if norm:
            out.append(("one_sided_scale", diff / norm,
                        f"divides by ‖{which}‖ only, so the answer depends on which one you call the reference "
                        "(and divides by zero when that one is a zero gradient)."))
    return out


EXERCISES = [
    Exercise("wb05.numerical_gradient", "numerical_gradient(f, x, eps)", _gradient_cases, central_differences,
             arg_names=("f", "x", "eps"), mistakes=_gradient_mistakes, out_axes=None,
             hints=("For each entry i: move x_i up by eps, evaluate f, move it down by eps, evaluate f, put it back.",
                    "np.ndindex(x.shape) walks over every index of an array of any shape.")),
    Exercise("wb05.relative_error", "relative_error(a, b)", _relative_cases, relative_error,
             arg_names=("a", "b"), mistakes=_relative_mistakes, out_axes=(),
             hints=("np.linalg.norm gives the size of an array of any shape. Return 0.0 when both are zero.",)),
]
