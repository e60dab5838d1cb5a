"""Workbook 00: the chain rule and computational graphs.

Four gate functions that take the upstream gradient and return the local gradients (as a dict,
one key per input), and graded numbers for the examples worked by hand.  Every expected
number is computed here, never typed.
"""
import numpy as np

from checker import network
from checker.exercises import Case, Exercise, Question

σ = network.sigmoid

# --- the gates --------------------------------------------------------------------------------

SAME_SHAPE = ("one entry per entry of the gate's inputs",)


def _pair(rng, *shape):
    """Two inputs and an upstream gradient of the same shape; x ≠ y everywhere (no ties for max)."""
    x = rng.normal(0.0, 2.0, size=shape)
    y = rng.normal(0.0, 2.0, size=shape)
    y = np.where(np.abs(x - y) < 1e-3, y + 0.5, y)
    return x, y, rng.normal(0.0, 1.0, size=shape)


def _gate_cases(rng):
    return [Case("small 1-D inputs (5,)", _pair(rng, 5)),
            Case("a small 2-D batch (3, 4)", _pair(rng, 3, 4)),
            Case("one layer's worth of units (512,)", _pair(rng, 512))]


def _add_reference(x, y, dout):
    return {"dx": np.array(dout, dtype=float, copy=True), "dy": np.array(dout, dtype=float, copy=True)}


def _add_mistakes(x, y, dout):
    return [("missing_upstream", {"dx": np.ones_like(x), "dy": np.ones_like(y)}),
            ("product_rule_on_sum", {"dx": y * dout, "dy": x * dout},
             "uses the multiply gate's rule: ∂(x + y)/∂x is 1, not y, so the add gate passes the upstream "
             "gradient unchanged to both inputs."),
            ("split_between_inputs", {"dx": dout / 2, "dy": dout / 2},
             "splits the upstream gradient in half between the inputs; each input gets all of it, because "
             "moving x alone by ε moves x + y by the full ε.")]


def _mul_reference(x, y, dout):
    return {"dx": y * dout, "dy": x * dout}


def _mul_mistakes(x, y, dout):
    return [("missing_upstream", {"dx": y, "dy": x}),
            ("not_switched", {"dx": x * dout, "dy": y * dout},
             "multiplies the upstream gradient by the input's own value; ∂(x·y)/∂x is the *other* input y, "
             "so the multiply gate switches the inputs."),
            ("product_instead_of_local", {"dx": x * y * dout, "dy": x * y * dout},
             "multiplies by the gate's output x·y; the local gradient for x is y alone.")]


def _max_reference(x, y, dout):
    return {"dx": np.where(x > y, dout, 0.0), "dy": np.where(y > x, dout, 0.0)}


def _max_mistakes(x, y, dout):
    return [("missing_upstream", {"dx": (x > y).astype(float), "dy": (y > x).astype(float)}),
            ("routed_to_smaller", {"dx": np.where(x < y, dout, 0.0), "dy": np.where(y < x, dout, 0.0)},
             "sends the gradient to the input that lost; only the larger input (the one the output copies) "
             "gets it."),
            ("max_distributes", {"dx": np.array(dout, dtype=float), "dy": np.array(dout, dtype=float)},
             "passes the gradient to both inputs like an add gate; a small change of the smaller input does "
             "not change the maximum at all, so its gradient is 0.")]


# --- the sigmoid neuron f(w, x) = σ(w_0 x_0 + … + w_{n-1} x_{n-1} + w_n) ----------------------

def neuron_forward(w, x):
    """σ(w[:-1] · x + w[-1]): the last weight is the bias."""
    return σ(np.dot(w[:-1], x) + w[-1])


def _neuron_reference(w, x, dout):
    z = np.dot(w[:-1], x) + w[-1]
    dz = network.sigmoid_grad(z) * dout
    return {"dw": dz * np.append(x, 1.0), "dx": dz * np.asarray(w[:-1], dtype=float)}


def _neuron_with(w, x, dout, local):
    z = np.dot(w[:-1], x) + w[-1]
    dz = local(z) * dout
    return {"dw": dz * np.append(x, 1.0), "dx": dz * np.asarray(w[:-1], dtype=float)}


def _neuron_mistakes(w, x, dout):
    z = np.dot(w[:-1], x) + w[-1]
    right = _neuron_reference(w, x, dout)
    return [("activation_instead_of_derivative", _neuron_with(w, x, dout, σ)),
            ("derivative_of_preactivation", _neuron_with(w, x, dout, lambda z: z * (1 - z))),
            ("missing_activation_derivative", _neuron_with(w, x, dout, np.ones_like)),
            ("missing_upstream", _neuron_with(w, x, 1.0, network.sigmoid_grad)),
            ("bias_gradient_missing", {"dw": np.append(right["dw"][:-1], 0.0), "dx": right["dx"]},
             "gives the bias w_n a gradient of 0; it enters z with the coefficient 1, so its gradient is "
             "σ'(z) times the upstream gradient, like an input that is always 1."),
            ("weights_and_inputs_swapped", {"dw": network.sigmoid_grad(z) * dout * np.append(w[:-1], 1.0),
                                            "dx": network.sigmoid_grad(z) * dout * np.asarray(x, dtype=float)},
             "multiplies each weight's gradient by its own weight; ∂(w_i x_i)/∂w_i is x_i (the multiply gate "
             "switches), and ∂(w_i x_i)/∂x_i is w_i.")]


def _neuron_cases(rng):
    def case(n, label, scale=1.0):
        w = rng.normal(0.0, scale, size=n + 1)
        x = rng.normal(0.0, 1.0, size=n)
        return Case(f"{label}: w ({n + 1},), x ({n},)", (w, x, float(rng.normal(0.0, 1.0))))
    big_w = np.append(np.full(3, 400.0), -1.0)
    return [case(2, "two inputs, as in the worked example"), case(6, "six inputs"),
            case(1024, "one unit of layer 1 (1024 inputs)", scale=1 / 32),
            Case("a saturated neuron (z = -1201): w (4,), x (3,)", (big_w, np.array([-1.0, -1.0, -1.0]), 1.0)),
            Case("a saturated neuron (z = +1199): w (4,), x (3,)", (big_w, np.array([1.0, 1.0, 1.0]), -0.5))]


EXERCISES = [
    Exercise("wb00.add_gate_backward", "add_gate_backward(x, y, dout)", _gate_cases, _add_reference,
             arg_names=("x", "y", "dout"), out_axes={"dx": SAME_SHAPE, "dy": SAME_SHAPE}, mistakes=_add_mistakes,
             hints=("f = x + y. How much does f move when x alone moves by a little?",)),
    Exercise("wb00.mul_gate_backward", "mul_gate_backward(x, y, dout)", _gate_cases, _mul_reference,
             arg_names=("x", "y", "dout"), out_axes={"dx": SAME_SHAPE, "dy": SAME_SHAPE}, mistakes=_mul_mistakes,
             hints=("f = x · y. With y held fixed, f is a straight line in x; what is its slope?",)),
    Exercise("wb00.max_gate_backward", "max_gate_backward(x, y, dout)", _gate_cases, _max_reference,
             arg_names=("x", "y", "dout"), out_axes={"dx": SAME_SHAPE, "dy": SAME_SHAPE}, mistakes=_max_mistakes,
             hints=("f = max(x, y) copies the larger input. np.where(condition, a, b) picks entry by entry.",)),
    Exercise("wb00.sigmoid_neuron_backward", "sigmoid_neuron_backward(w, x, dout)", _neuron_cases,
             _neuron_reference, arg_names=("w", "x", "dout"), mistakes=_neuron_mistakes,
             out_axes={"dw": ("one entry per weight, the bias last",), "dx": ("one entry per input",)},
             hints=("Go backwards through the graph: the sigmoid node (local gradient σ'(z) = σ(z)(1 − σ(z))), "
                    "then the add gates, then the multiply gates.",
                    "For z = ±1200, e^(-z) overflows; use the stable σ from checker.network.")),
]

# --- numbers worked by hand -------------------------------------------------------------------

X0 = 0.5                                         # where the one-variable examples are evaluated
GRAPH_XYZ = (-2.0, 5.0, -4.0)                    # f(x, y, z) = (x + y) z
NEURON_W, NEURON_X = np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0])
SOFTPLUS_AT = 1.5

# the small network worked by hand (column convention in the notes; here W is (fan_in, fan_out))
TINY_X = np.array([2.0, 5.0, 3.0, 3.0])
TINY_Y = np.array([1.0, 0.0])
TINY_W1 = np.array([[0.1, 0.3, 0.8, -0.4], [-0.3, -0.2, 0.5, 0.5],
                    [-0.3, 0.0, 0.5, 0.4], [0.2, 0.5, -0.9, 0.7]]).T     # (4 inputs, 4 hidden)
TINY_W2 = np.array([[0.5, 0.8, 0.2, 0.4], [0.5, 0.2, 0.3, -0.5]]).T      # (4 hidden, 2 outputs)


def tiny_loss(W1, W2, x=TINY_X, y=TINY_Y):
    """Squared error Σ (y_k − ŷ_k)² of ŷ = softmax(σ(x W1) W2), no biases."""
    return float(np.sum((y - network.softmax(σ(x @ W1) @ W2)) ** 2))


def tiny_grad(which, i, j, eps=1e-6):
    """∂L/∂W[i, j] of the tiny network by central differences (W is 'W1' or 'W2')."""
    params = {"W1": TINY_W1, "W2": TINY_W2}
    plus, minus = ({k: v.copy() for k, v in params.items()} for _ in range(2))
    plus[which][i, j] += eps
    minus[which][i, j] -= eps
    return (tiny_loss(**plus) - tiny_loss(**minus)) / (2 * eps)


def _numeric(f, a, eps=1e-6):
    return (f(a + eps) - f(a - eps)) / (2 * eps)


def _graph_grad(k):
    def f(v):
        return (v[0] + v[1]) * v[2]
    v = np.array(GRAPH_XYZ)
    step = np.zeros(3)
    step[k] = 1e-6
    return (f(v + step) - f(v - step)) / 2e-6


def _neuron_grad(k):
    """∂f/∂(w0, x0, w1, x1, w2)[k] by central differences."""
    def f(v):
        return float(neuron_forward(np.array([v[0], v[2], v[4]]), np.array([v[1], v[3]])))
    v = np.array([NEURON_W[0], NEURON_X[0], NEURON_W[1], NEURON_X[1], NEURON_W[2]])
    step = np.zeros(5)
    step[k] = 1e-6
    return (f(v + step) - f(v - step)) / 2e-6


def _number(id, prompt, answer, hints=(), points=0.5):
    return Question(id, prompt, "number", answer, points=points, hints=tuple(hints), rtol=1e-3)


QUESTIONS = [
    _number("wb00.d_exp_sq", f"d/dx e^(x²) at x = {X0}.", lambda: _numeric(lambda x: np.exp(x ** 2), X0),
            hints=("Two links: h = x², then y = e^h. Multiply their slopes.",)),
    _number("wb00.d_exp_exp_sq", f"d/dx e^(e^(x²)) at x = {X0}.",
            lambda: _numeric(lambda x: np.exp(np.exp(x ** 2)), X0),
            hints=("Three links: h1 = x², h2 = e^h1, y = e^h2. The slope of the last link is e^h2, "
                   "evaluated at h2 = e^(x²).",)),
    _number("wb00.d_inv_exp_sq", f"d/dx 1/e^(x²) at x = {X0}.", lambda: _numeric(lambda x: 1 / np.exp(x ** 2), X0),
            hints=("The last link is y = 1/h2, with slope −1/h2².",)),
    _number("wb00.graph_f", "The value of f = (x + y)·z at x = −2, y = 5, z = −4.",
            lambda: (GRAPH_XYZ[0] + GRAPH_XYZ[1]) * GRAPH_XYZ[2]),
    _number("wb00.graph_dx", "∂f/∂x for f = (x + y)·z at x = −2, y = 5, z = −4.", lambda: _graph_grad(0),
            hints=("Through the multiply gate, then the add gate.",)),
    _number("wb00.graph_dz", "∂f/∂z for f = (x + y)·z at x = −2, y = 5, z = −4.", lambda: _graph_grad(2)),
    _number("wb00.neuron_f", "The output f of the sigmoid neuron with w = (2, −3, −3), x = (−1, −2).",
            lambda: float(neuron_forward(NEURON_W, NEURON_X))),
    _number("wb00.neuron_dw0", "∂f/∂w0 for that neuron.", lambda: _neuron_grad(0),
            hints=("σ'(z) times the other input of w0's multiply gate.",)),
    _number("wb00.neuron_dx0", "∂f/∂x0 for that neuron.", lambda: _neuron_grad(1)),
    _number("wb00.neuron_dw2", "∂f/∂w2 (the bias) for that neuron.", lambda: _neuron_grad(4)),
    _number("wb00.tiny_dw212", "∂L/∂w212 in the small network (the weight from hidden unit 2 to output 1).",
            lambda: tiny_grad("W2", 1, 0), points=1.0,
            hints=("a21 reaches the loss through both outputs of the softmax: two paths.",)),
    _number("wb00.tiny_dw131", "∂L/∂w131 in the small network (the weight from input 1 to hidden unit 3).",
            lambda: tiny_grad("W1", 0, 2), points=1.0,
            hints=("Four paths: h13 feeds both a21 and a22, and each of them feeds both outputs.",)),
    _number("wb00.softplus_d", f"d/dx log(1 + e^x) at x = {SOFTPLUS_AT}.",
            lambda: _numeric(lambda x: np.log1p(np.exp(x)), SOFTPLUS_AT)),
]
