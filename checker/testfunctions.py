"""Functions that the checker hands to a student's function as an input (``numerical_gradient(f, x, eps)``).

They travel to the instructor's grading kernel by reference to their class (pickle, grader -> kernel
only), so they live here, in a module of the kernel's copy (checker/_mode.py), in plain numpy: nothing
of the reference network, whose loss would hand a grading kernel a forward pass.
"""
from __future__ import annotations

import numpy as np


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


class LogCosh:
    """f(W) = Σ log cosh(A ⊙ W + B) + (Σ W)² / 10, A, B of W's shape: smooth and bowl-shaped like a loss
    around its minimum, with slopes of every size, so both rounding (tiny ε) and truncation (large ε) show."""

    def __init__(self, a, b):
        self.a, self.b = a, b

    def __call__(self, w):
        t = self.a * np.asarray(w, dtype=float) + self.b
        return float(np.sum(np.abs(t) + np.log1p(np.exp(-2 * np.abs(t))) - np.log(2)) + np.sum(w) ** 2 / 10)

    def __repr__(self):
        return "f (a smooth loss-like test function)"
