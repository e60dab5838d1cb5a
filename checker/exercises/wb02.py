"""Workbook 02: backprop to the hidden layers, one example at a time."""
from checker import network
from checker.exercises import kinds

EXERCISES = [
    kinds.through_weights("wb02.grad_h2", 3),
    kinds.elementwise("wb02.sigmoid_grad", "sigmoid_grad", network.sigmoid_grad, extreme=True,
                      mistakes=lambda z: [("activation_instead_of_derivative", network.sigmoid(z)),
                                          ("derivative_of_preactivation", z * (1 - z))],
                      hints=("Write σ'(z) in terms of σ(z) itself. For z = -1000 a formula with e^(-z) "
                             "overflows; reuse a stable σ instead.",)),
    kinds.through_sigmoid("wb02.grad_z2", 2),
    kinds.bias("wb02.grad_b2", 2),
    kinds.outer("wb02.grad_W2", 2),
    kinds.through_weights("wb02.grad_h1", 2),
    kinds.through_sigmoid("wb02.grad_z1", 1),
    kinds.outer("wb02.grad_W1", 1),
    kinds.whole_backward("wb02.backward", batch=False),
]
