"""Workbook 00: the chain rule and computational graphs.

Four functions that take the upstream gradient and return the gradients of their inputs (as a
dict, one key per input): the add, multiply and max gates and the sigmoid neuron; graded numbers
for the examples worked by hand, and a shape and two numbers on the layout of gradients, the
vector chain rule and the Hessian (section 7).  Every expected value is computed here, never typed.
``example()`` gives the notebook's fixed example (checker/examples/wb00.npz).
"""
import numpy as np

from checker import network
from checker.exercises import Case, Exercise, Question

σ = network.sigmoid

# --- the gates --------------------------------------------------------------------------------

SAME_SHAPE = ("one entry per entry of the gate's inputs",)


def _pair(rng, *shape):
    """Two inputs and an upstream gradient of one shape, for the gates.

    x ≠ y everywhere (no ties for max), and each input is the larger one at some entry, where the
    upstream gradient is not small: the max gate's mistakes are told apart by which input won, so
    in a case where one input won everywhere, "both inputs get the gradient" would look exactly like
    "the smaller input gets it" for the other input's key.
    """
    x = rng.normal(0.0, 2.0, size=shape)
    y = rng.normal(0.0, 2.0, size=shape)
    y = np.where(np.abs(x - y) < 1e-3, y + 0.5, y)
    dout = rng.normal(0.0, 1.0, size=shape)
    xf, yf, df = x.reshape(-1), y.reshape(-1), dout.reshape(-1)     # views: writing them writes x, y, dout
    x_wins, y_wins = rng.choice(xf.size, size=2, replace=False)
    for at, x_larger in ((x_wins, True), (y_wins, False)):
        hi, lo = max(xf[at], yf[at]), min(xf[at], yf[at])
        xf[at], yf[at] = (hi, lo) if x_larger else (lo, hi)
        df[at] = np.copysign(max(abs(df[at]), 0.5), df[at])
    return x, y, dout


def both_inputs_win(x, y) -> bool:
    """True when x is the larger input at some entry and y at another (every gate case has this)."""
    return bool(np.any(x > y) and np.any(y > x))


def _gate_cases(rng):
    return [Case("small 1-D inputs (5,)", _pair(rng, 5)),
            Case("a small 2-D batch (3, 4)", _pair(rng, 3, 4)),
            Case("one layer's worth of units (512,)", _pair(rng, 512))]


def _add_reference(x, y, dout):
    return {"dx": np.array(dout, dtype=float, copy=True), "dy": np.array(dout, dtype=float, copy=True)}


# The feedback points at the mistake and where to look; it never states the rule that is asked for.
GATE_UPSTREAM = ("ignores dout, the gradient arriving from above: if dout doubled, what should happen to dx "
                 "and dy?")


def _add_mistakes(x, y, dout):
    return [("missing_upstream", {"dx": np.ones_like(x), "dy": np.ones_like(y)}, GATE_UPSTREAM),
            ("product_rule_on_sum", {"dx": y * dout, "dy": x * dout},
             "multiplies the upstream gradient by the other input's value. In a sum, how far does f move "
             "when x alone moves by a small ε, whatever y is?"),
            ("split_between_inputs", {"dx": dout / 2, "dy": dout / 2},
             "shares the upstream gradient out between the two inputs. Nudge x alone by ε: how far does "
             "x + y move?")]


def _mul_reference(x, y, dout):
    return {"dx": y * dout, "dy": x * dout}


def _mul_mistakes(x, y, dout):
    return [("missing_upstream", {"dx": y, "dy": x}, GATE_UPSTREAM),
            ("local_slope_missing", {"dx": np.array(dout, dtype=float), "dy": np.array(dout, dtype=float)},
             "hands the upstream gradient on to both inputs as it arrived, without the local slope of the product. "
             "With y held fixed, how steep is f = x·y in x?"),
            ("not_switched", {"dx": x * dout, "dy": y * dout},
             "multiplies each input's gradient by that input's own value. Hold y fixed: f = x·y is a "
             "straight line in x; what sets its slope?"),
            ("product_instead_of_local", {"dx": x * y * dout, "dy": x * y * dout},
             "multiplies by the gate's output x·y, a value rather than a slope. Ask how f moves when x alone "
             "moves a little.")]


def _max_reference(x, y, dout):
    return {"dx": np.where(x > y, dout, 0.0), "dy": np.where(y > x, dout, 0.0)}


def _max_mistakes(x, y, dout):
    return [("missing_upstream", {"dx": (x > y).astype(float), "dy": (y > x).astype(float)}, GATE_UPSTREAM),
            ("routed_to_smaller", {"dx": np.where(x < y, dout, 0.0), "dy": np.where(y < x, dout, 0.0)},
             "sends the gradient to the input that lost at each entry. Which input does the output of max "
             "follow when it moves?"),
            ("max_distributes", {"dx": np.array(dout, dtype=float), "dy": np.array(dout, dtype=float)},
             "passes the gradient to both inputs at every entry, as if max were a sum. Nudge the smaller "
             "input a little: does the maximum move?")]


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
    return [("activation_instead_of_derivative", _neuron_with(w, x, dout, σ),
             "multiplies by σ(z), the sigmoid's value, where the sigmoid node's local gradient belongs "
             "(Question 5.2 works it out)."),
            ("derivative_of_preactivation", _neuron_with(w, x, dout, lambda z: z * (1 - z)),
             "applies the sigmoid's slope formula to z itself. That formula is written in terms of the "
             "sigmoid's output, not its input."),
            ("missing_activation_derivative", _neuron_with(w, x, dout, np.ones_like),
             "leaves out the sigmoid node: on its way back from f to z the gradient passes through it."),
            ("slope_at_activation", _neuron_with(w, x, dout, lambda z: network.sigmoid_grad(σ(z))),
             "takes the sigmoid's slope at its output f = σ(z), where the slope belongs at the value the sigmoid "
             "node received (Question 5.2)."),
            ("bias_first", _neuron_reference(np.roll(w, -1), x, dout) | {
                "dw": np.roll(_neuron_reference(np.roll(w, -1), x, dout)["dw"], 1)},
             "treats w_0 as the bias. Look at where Question 5.3 puts the bias among the weights."),
            ("missing_upstream", _neuron_with(w, x, 1.0, network.sigmoid_grad),
             "ignores dout, the gradient arriving from above: if dout doubled, what should happen to dw "
             "and dx?"),
            ("bias_left_out_of_z", _neuron_reference(np.append(w[:-1], 0.0), x, dout),
             "takes the sigmoid's slope at a z without the bias w_n: in the graph of section 5 the bias joins the "
             "sum before the sigmoid node."),
            ("bias_gradient_missing", {"dw": np.append(right["dw"][:-1], 0.0), "dx": right["dx"]},
             "gives the bias w_n a gradient of 0, yet changing w_n changes z. Find the bias in the graph of "
             "section 5 and follow the gradient back to it."),
            ("weights_and_inputs_swapped", {"dw": network.sigmoid_grad(z) * dout * np.append(w[:-1], 1.0),
                                            "dx": network.sigmoid_grad(z) * dout * np.asarray(x, dtype=float)},
             "multiplies each weight's gradient by the weight itself (and each input's by the input). Look "
             "again at the multiply gate of Question 4.2.")]


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
             hints=("At each entry, nudge x a little, then y: which nudge moves max(x, y)?",)),
    Exercise("wb00.sigmoid_neuron_backward", "sigmoid_neuron_backward(w, x, dout)", _neuron_cases,
             _neuron_reference, arg_names=("w", "x", "dout"), mistakes=_neuron_mistakes,
             out_axes={"dw": ("one entry per weight, the bias last",), "dx": ("one entry per input",)},
             hints=("Go backwards through the graph of section 5: the sigmoid node first (Question 5.2), "
                    "then the add gates, then the multiply gates.",
                    "For z = ±1200, e^(-z) written out overflows; the sigmoid of the setup cell does not.")),
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


# --- vectors: the layout, the vector chain rule, the Hessian (section 7) ------------------------

SQ_P = np.array([1.5, -0.5])                     # the parameters p of h(p)
SQ_X = np.array([1.0, 2.0, 0.0])                 # the target x of ε = ‖x − h(p)‖²
HESS_AT = np.array([-1.0, 0.5, 0.3])             # where the Hessian of f(x) = x0² x1 + x1 e^(x2) is taken


def sq_h(p):
    """h(p) = (p0 p1, p0 + p1, p1²): three outputs of two parameters."""
    return np.array([p[0] * p[1], p[0] + p[1], p[1] ** 2])


def sq_err(p, x=SQ_X):
    """ε = ‖x − h(p)‖²."""
    return float(np.sum((x - sq_h(p)) ** 2))


def hess_f(v):
    """f(x) = x0² x1 + x1 e^(x2)."""
    return v[0] ** 2 * v[1] + v[1] * np.exp(v[2])


def _partial(f, v, k, eps):
    step = np.zeros(len(v))
    step[k] = eps
    return (f(v + step) - f(v - step)) / (2 * eps)


def _hessian_entry(i, j, eps=1e-4):
    """∂²f/∂x_i∂x_j by central differences of central differences."""
    return _partial(lambda v: _partial(hess_f, v, j, eps), HESS_AT, i, eps)


def _number(id, prompt, answer, hints=(), points=0.5):
    return Question(id, prompt, "number", answer, points=points, hints=tuple(hints), rtol=1e-3)


QUESTIONS = [
    _number("wb00.d_exp_sq", f"d/dx e^(x²) at x = {X0}.", lambda: _numeric(lambda x: np.exp(x ** 2), X0),
            hints=("Two links: h = x², then y = e^h. Take the slope of each link and combine them.",)),
    _number("wb00.d_exp_exp_sq", f"d/dx e^(e^(x²)) at x = {X0}.",
            lambda: _numeric(lambda x: np.exp(np.exp(x ** 2)), X0),
            hints=("Three links. Check the value at which you evaluate each slope: it is the value that "
                   "link receives in the forward pass.",)),
    _number("wb00.d_inv_exp_sq", f"d/dx 1/e^(x²) at x = {X0}.", lambda: _numeric(lambda x: 1 / np.exp(x ** 2), X0),
            hints=("The last link is y = 1/h2: its slope is among the building blocks at the top of section 1.",)),
    _number("wb00.graph_f", "The value of f = (x + y)·z at x = −2, y = 5, z = −4.",
            lambda: (GRAPH_XYZ[0] + GRAPH_XYZ[1]) * GRAPH_XYZ[2]),
    _number("wb00.graph_dx", "∂f/∂x for f = (x + y)·z at x = −2, y = 5, z = −4.", lambda: _graph_grad(0),
            hints=("Go back from f through the multiply node first, then the add node.",)),
    _number("wb00.graph_dz", "∂f/∂z for f = (x + y)·z at x = −2, y = 5, z = −4.", lambda: _graph_grad(2)),
    _number("wb00.neuron_f", "The output f of the sigmoid neuron with w = (2, −3, −3), x = (−1, −2).",
            lambda: float(neuron_forward(NEURON_W, NEURON_X))),
    _number("wb00.neuron_dw0", "∂f/∂w0 for that neuron.", lambda: _neuron_grad(0),
            hints=("Start at f with gradient 1 and go back node by node to w0, multiplying by each local "
                   "gradient of the table on the way.",)),
    _number("wb00.neuron_dx0", "∂f/∂x0 for that neuron.", lambda: _neuron_grad(1)),
    _number("wb00.neuron_dw2", "∂f/∂w2 (the bias) for that neuron.", lambda: _neuron_grad(4)),
    _number("wb00.tiny_dw212", "∂L/∂w212 in the small network (the weight from hidden unit 2 to output 1).",
            lambda: tiny_grad("W2", 1, 0), points=1.0,
            hints=("Count every way in which a21 reaches the loss.",)),
    _number("wb00.tiny_dw131", "∂L/∂w131 in the small network (the weight from input 1 to hidden unit 3).",
            lambda: tiny_grad("W1", 0, 2), points=1.0,
            hints=("From h13, list every way forward to L; each way is one product.",)),
    _number("wb00.softplus_d", f"d/dx log(1 + e^x) at x = {SOFTPLUS_AT}.",
            lambda: _numeric(lambda x: np.log1p(np.exp(x)), SOFTPLUS_AT),
            hints=("Go back through the nodes b = e^x, a = 1 + b, y = log a, one local slope each.",)),
    Question("wb00.shape_grad_p_h",
             "The shape of ∇_p h, in the layout of this series, for h(p) = (p0 p1, p0 + p1, p1²).", "shape",
             lambda: (SQ_P.size, sq_h(SQ_P).size), points=0.5,
             hints=("In (∇_a b)_ij, which index belongs to the input a? Then count the entries of p and of h.",)),
    _number("wb00.sq_err_dp1", "∂ε/∂p1 for ε = ‖x − h(p)‖² at p = (1.5, −0.5), x = (1, 2, 0).",
            lambda: _partial(sq_err, SQ_P, 1, 1e-6),
            hints=("Two links, p → h → ε. Work out ∇_p h and ∇_h ε first, then let their shapes tell you how "
                   "they multiply.",)),
    _number("wb00.hessian_12", "∂²f/∂x1∂x2 for f(x) = x0² x1 + x1 e^(x2) at x = (−1, 0.5, 0.3).",
            lambda: _hessian_entry(1, 2),
            hints=("Differentiate f by x1, then differentiate that result by x2.",)),
]


# --- the fixed example of the notebook (stored as checker/examples/wb00.npz by the build) ------------

EXAMPLE_SEED = 2


def example():
    """The values the notebook goes on with when a function is unfinished (see checker.examples).

    gate_x, gate_y, gate_dout: six entries, both inputs winning somewhere; add_grads, mul_grads,
    max_grads: the three gates' {"dx", "dy"} there.  neuron_w (6,), neuron_x (5,), neuron_dout:
    a five-input neuron; neuron_grads: its {"dw", "dx"}.  None of these is a number a question asks for.
    """
    rng = np.random.default_rng(EXAMPLE_SEED)
    x, y, dout = _pair(rng, 6)
    w, xn, up = rng.normal(size=6), rng.normal(size=5), 0.7
    values = {"gate_x": x, "gate_y": y, "gate_dout": dout,
              "add_grads": _add_reference(x, y, dout), "mul_grads": _mul_reference(x, y, dout),
              "max_grads": _max_reference(x, y, dout),
              "neuron_w": w, "neuron_x": xn, "neuron_dout": np.array(up),
              "neuron_grads": _neuron_reference(w, xn, up)}
    return values, None
