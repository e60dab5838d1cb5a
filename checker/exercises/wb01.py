"""Workbook 01: the forward pass and the output layer."""
import numpy as np

from checker import network
from checker.exercises import Case, Exercise
from checker.exercises import inputs as draw
from checker.exercises import kinds
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
    e = np.exp(z - np.max(z))
    return [("wrong_axis", e / e.sum(axis=0, keepdims=True)), ("wrong_axis", e / e.sum())] if z.ndim == 2 else []


def _cross_entropy_cases(rng):
    def example(k, label, logit_scale=3.0):
        return Case(label, (network.softmax(draw.preactivations(rng, k, scale=logit_scale)), draw.one_hot(rng, k)))
    underflow = network.softmax(np.array([0.0, 900.0, -900.0, 5.0, 800.0, -5.0, 0.0, 1.0, -800.0, 2.0]))
    return [example(5, "a small example, 5 classes"), example(K, "full size, 10 classes"),
            example(K, "full size, second draw"),
            Case("probabilities that underflowed to exactly 0 in wrong classes", (underflow, np.eye(K)[1]))]


def _grad_z3_cases(rng):
    def example(k, label):
        return Case(label, (network.softmax(draw.preactivations(rng, k, scale=3.0)), draw.one_hot(rng, k)))
    return [example(5, "a small example, 5 classes"), example(K, "full size"), example(K, "full size, second draw")]


EXERCISES = [
    kinds.elementwise("wb01.sigmoid", "sigmoid", network.sigmoid, extreme=True,
                      hints=("A naive formula overflows for large |z|: e^(-z) is inf at z = -1000. "
                             "Use a form whose exponent is never positive for each sign of z.",)),
    Exercise("wb01.softmax", "softmax(z)", _softmax_cases, network.softmax, arg_names=("z",),
             mistakes=_softmax_mistakes,
             hints=("e^1000 overflows to inf, and inf/inf is nan. Softmax does not change when you "
                    "subtract the same number from every logit of a row.",)),
    Exercise("wb01.cross_entropy", "cross_entropy(h3, y)", _cross_entropy_cases, network.cross_entropy,
             arg_names=("h3", "y"),
             hints=("y is one-hot: only the true class's log-probability counts. Multiplying 0 by log(0) = -inf "
                    "gives nan, so pick out the true class instead of multiplying by y everywhere.",)),
    Exercise("wb01.grad_z3", "grad_z3(h3, y)", _grad_z3_cases, network.softmax_cross_entropy_backward,
             arg_names=("h3", "y"), out_axes=(kinds.UNIT.format("z3"),),
             hints=("Softmax and cross-entropy together have a very simple gradient with respect to z3.",)),
    kinds.outer("wb01.grad_W3", 3),
    kinds.bias("wb01.grad_b3", 3),
]
