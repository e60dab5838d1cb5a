"""Workbook 02: backprop to the hidden layers, one example at a time.

The hints point to the workbook's own questions (where the formula is derived) and never state
the formula, the shape or the choice that is asked for.
"""
from dataclasses import replace

import numpy as np

from checker import network
from checker.exercises import kinds

N_IN, N_H1, N_H2, K = network.LAYER_SIZES
PARAMS_SEED = 0           # the parameters of the fixed example: init_params(default_rng(0))
PIXELS = (0, 700, 1023)   # the rows of ∇W1 CE that section 7 compares with central differences
SMALL_SIZES = (6, 5, 4, 3)


def _hints(exercise, *hints):
    return replace(exercise, hints=tuple(hints))


EXERCISES = [
    _hints(kinds.through_weights("wb02.grad_h2", 3),
           "Questions 3.3 and 3.10: what is ∇h2 z3, and how does entry i of the product come about?"),
    kinds.elementwise("wb02.sigmoid_grad", "sigmoid_grad", network.sigmoid_grad, extreme=True,
                      mistakes=lambda z: [("activation_instead_of_derivative", network.sigmoid(z)),
                                          ("derivative_of_preactivation", z * (1 - z)),
                                          ("slope_at_activation", network.sigmoid_grad(network.sigmoid(z)))],
                      hints=("Question 4.8 writes σ' with σ alone. For z = -1000 any formula that computes "
                             "e^(-z) overflows: build on an overflow-free σ.",)),
    _hints(kinds.through_sigmoid("wb02.grad_z2", 2),
           "Questions 4.3 and 4.9: what does the Jacobian of the sigmoid layer do to each entry of dh2?"),
    _hints(kinds.bias("wb02.grad_b2", 2),
           "Questions 5.2 to 5.5: how does z2 change when one entry of b2 changes?"),
    _hints(kinds.outer("wb02.grad_W2", 2),
           "Questions 6.5 to 6.7: which index does each of the two factors of an entry depend on?"),
    _hints(kinds.through_weights("wb02.grad_h1", 2),
           "The same move as grad_h2 (question 3.12), one layer further down."),
    _hints(kinds.through_sigmoid("wb02.grad_z1", 1),
           "The same move as grad_z2 (question 4.10), one layer further down: which pre-activation does h1 "
           "depend on?"),
    _hints(kinds.outer("wb02.grad_W1", 1),
           "The same move as grad_W2 (question 6.8): what is the input of layer 1?"),
    kinds.whole_backward("wb02.backward", batch=False),
]


def example():
    """The fixed example of workbook 02, stored by the build as checker/examples/wb02.npz.

    One input x with its one-hot label y (class 3), the parameters drawn with PARAMS_SEED, every
    value of the forward pass, and each value a later cell goes on with when a function is still
    unfinished: dh2, σ'(z2), dz2, db2, dW2, dh1, dz1 and the rows PIXELS of ∇W1 CE (the whole dW1,
    2 MiB even in float32, is not stored). Section 8 checks ``backward`` on a small network whose
    every parameter can be measured by central differences: its parameters, input, label and
    gradients are stored too.
    """
    params = network.init_params(np.random.default_rng(PARAMS_SEED))
    x = np.random.default_rng(1).random(N_IN)
    y = np.eye(K)[3]
    cache = network.forward(x, params)
    dz3 = network.softmax_cross_entropy_backward(cache["h3"], y)
    dh2, _, _ = network.linear_backward(cache["h2"], params["W3"], dz3)
    dz2 = network.sigmoid_backward(cache["z2"], dh2)
    dh1, dW2, db2 = network.linear_backward(cache["h1"], params["W2"], dz2)
    dz1 = network.sigmoid_backward(cache["z1"], dh1)
    pixels = np.array(PIXELS)
    _, dW1_rows, _ = network.linear_backward(x[pixels], params["W1"], dz1)

    rng = np.random.default_rng(5)
    small = network.init_params(rng, SMALL_SIZES)
    x_small, y_small = rng.random(SMALL_SIZES[0]), np.eye(SMALL_SIZES[-1])[1]

    values = {"x": x, "y": y, **cache, "loss": network.cross_entropy(cache["h3"], y),
              "dz3": dz3, "dh2": dh2, "slope2": network.sigmoid_grad(cache["z2"]), "dz2": dz2, "db2": db2,
              "dW2": dW2, "dh1": dh1, "dz1": dz1, "pixels": pixels, "dW1_rows": dW1_rows,
              "small_params": small, "small_x": x_small, "small_y": y_small,
              "small_grads": network.backward(x_small, y_small, small)}
    return values, PARAMS_SEED
