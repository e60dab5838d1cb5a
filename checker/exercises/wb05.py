"""Workbook 05: gradient checking. Central differences and the relative error."""
import numpy as np

from checker.exercises import Case, Exercise
from checker.testfunctions import Curvy, LogCosh


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


def _gradient_cases(rng):
    def log_cosh(*shape):
        return LogCosh(rng.uniform(0.5, 3, shape), rng.normal(size=shape))
    return [Case("f of a vector x (6,), eps = 1e-3", (Curvy(rng.uniform(0.5, 2, 6)), rng.normal(size=6), 1e-3)),
            Case("f of a matrix x (3, 4), eps = 1e-3",
                 (Curvy(rng.uniform(0.5, 2, (3, 4))), rng.normal(size=(3, 4)), 1e-3)),
            Case("a smooth loss-like f of a matrix W (5, 3), eps = 1e-5",
                 (log_cosh(5, 3), rng.normal(size=(5, 3)), 1e-5)),
            Case("a smooth loss-like f of a vector b (5,), eps = 1e-2", (log_cosh(5), rng.normal(size=5), 1e-2))]


def _gradient_mistakes(f, x, eps):
    return [("forward_difference", forward_differences(f, x, eps),
             "matches the one-sided difference (f(x + ε) − f(x)) / ε. The exercise asks for the other quotient "
             "at the top of section 1; Question 1.1 is about why that choice matters."),
            ("half_step", 2 * central_differences(f, x, eps),
             "is exactly twice the central difference. Look at how far apart your two points are, and at what "
             "you divide by."),
            ("all_entries_at_once", np.full(np.shape(x), (f(x + eps) - f(x - eps)) / (2 * eps)),
             "has the same number in every entry: it moves every entry of x at once, by ε each. The partial "
             "derivative for entry i moves entry i alone.")]


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
            Case("matrices (4, 5) of size 1e8 that differ by 1e-3 relative",
                 (big, big * (1 + 1e-3 * rng.normal(size=(4, 5))))),
            Case("two zero arrays (a gradient that is exactly 0)", (np.zeros(5), np.zeros(5)))]


def _relative_mistakes(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diff = float(np.linalg.norm(a - b))
    out = [("absolute_error", diff,
            "is the absolute difference ‖a − b‖. A difference of 1e-3 is tiny between numbers of size 1e8 and "
            "huge between numbers of size 1e-3: compare your function with the definition, denominator included.")]
    total = float(np.linalg.norm(a)) + float(np.linalg.norm(b))
    if total:
        out += [("sum_of_sizes", diff / total,
                 "divides by the sum of the two sizes ‖a‖ + ‖b‖. Look again at the denominator of the definition."),
                ("sum_of_sizes", 2 * diff / total,
                 "divides by the mean of the two sizes ‖a‖ and ‖b‖. Look again at the denominator of the "
                 "definition.")]
    for norm, which in ((float(np.linalg.norm(b)), "b"), (float(np.linalg.norm(a)), "a")):
        if norm:
            out.append(("one_sided_scale", diff / norm,
                        f"divides by ‖{which}‖ only, so the answer changes when a and b swap places. Look again "
                        "at the denominator of the definition, and at what it does when one gradient is zero."))
    return out


EXERCISES = [
    Exercise("wb05.numerical_gradient", "numerical_gradient(f, x, eps)", _gradient_cases, central_differences,
             arg_names=("f", "x", "eps"), mistakes=_gradient_mistakes, out_axes=None,
             hints=("Compare your quotient with the central one at the top of section 1, term by term; and check that "
                    "every entry of x is back where it was before the next one moves.",
                    "np.ndindex(x.shape) walks over every index of an array of any shape.")),
    Exercise("wb05.relative_error", "relative_error(a, b)", _relative_cases, relative_error,
             arg_names=("a", "b"), mistakes=_relative_mistakes, out_axes=(),
             hints=("Compare your function with the definition at the top of section 2, piece by piece, and try it on "
                    "two zero arrays.",)),
]
