"""Workbook 00: the gate functions and the sigmoid neuron accept right answers written in
different ways, name the typical mistakes, and the hand-worked numbers are the measured ones."""
import numpy as np
import pytest

from checker import evaluate, network
from checker.exercises import lookup
from checker.exercises import wb00

σ = network.sigmoid


def neuron_loops(w, x, dout):
    """The neuron written with a loop over the inputs, float32 throughout."""
    w32, x32 = np.asarray(w, dtype=np.float32), np.asarray(x, dtype=np.float32)
    z = w32[-1]
    for i in range(len(x32)):
        z = z + w32[i] * x32[i]
    s = np.float32(σ(np.float64(z)))
    dz = s * (1 - s) * np.float32(dout)
    dw = np.zeros(len(w32), dtype=np.float32)
    dx = np.zeros(len(x32), dtype=np.float32)
    for i in range(len(x32)):
        dw[i], dx[i] = dz * x32[i], dz * w32[i]
    dw[-1] = dz
    return {"dw": dw, "dx": dx}


def neuron_by_nodes(w, x, dout):
    """Node by node as in the workbook's table, with a stable exp for each sign of z."""
    z = float(np.dot(w[:-1], x) + w[-1])
    f = σ(z)
    dz = f * σ(-z) * dout
    return {"dw": np.concatenate([dz * x, [dz]]), "dx": dz * w[:-1]}


RIGHT = [
    ("wb00.add_gate_backward", lambda x, y, d: {"dx": d * 1.0, "dy": np.ones_like(y) * d}),
    ("wb00.add_gate_backward", lambda x, y, d: {"dy": d.astype(np.float32), "dx": d.astype(np.float32)}),
    ("wb00.mul_gate_backward", lambda x, y, d: {"dx": np.einsum("...,...->...", y, d), "dy": d * x}),
    ("wb00.mul_gate_backward", lambda x, y, d: {"dx": (y * d).astype(np.float32), "dy": (x * d).astype(np.float32)}),
    ("wb00.max_gate_backward", lambda x, y, d: {"dx": d * (x >= y), "dy": d * (y >= x)}),
    ("wb00.max_gate_backward", lambda x, y, d: {"dx": np.where(np.maximum(x, y) == x, d, 0), "dy": np.where(np.maximum(x, y) == y, d, 0)}),
    ("wb00.sigmoid_neuron_backward", neuron_loops),
    ("wb00.sigmoid_neuron_backward", neuron_by_nodes),
]


def neuron_naive_exp(w, x, dout):
    z = np.dot(w[:-1], x) + w[-1]
    dz = np.exp(-z) / (1 + np.exp(-z)) ** 2 * dout
    return {"dw": dz * np.append(x, 1.0), "dx": dz * w[:-1]}


def neuron_rule(local):
    def fn(w, x, dout):
        z = np.dot(w[:-1], x) + w[-1]
        dz = local(z) * dout
        return {"dw": dz * np.append(x, 1.0), "dx": dz * w[:-1]}
    return fn


WRONG = [
    ("wb00.add_gate_backward", lambda x, y, d: {"dx": np.ones_like(x), "dy": np.ones_like(y)}, "missing_upstream", "upstream"),
    ("wb00.add_gate_backward", lambda x, y, d: {"dx": y * d, "dy": x * d}, "product_rule_on_sum", "multiply gate's rule"),
    ("wb00.add_gate_backward", lambda x, y, d: {"dx": d / 2, "dy": d / 2}, "split_between_inputs", "in half"),
    ("wb00.add_gate_backward", lambda x, y, d: (d, d), "wrong_type", "dict with keys dx, dy"),
    ("wb00.mul_gate_backward", lambda x, y, d: {"dx": x * d, "dy": y * d}, "not_switched", "*other* input"),
    ("wb00.mul_gate_backward", lambda x, y, d: {"dx": y, "dy": x}, "missing_upstream", "upstream"),
    ("wb00.mul_gate_backward", lambda x, y, d: {"dx": x * y * d, "dy": x * y * d}, "product_instead_of_local", "output x·y"),
    ("wb00.mul_gate_backward", lambda x, y, d: {"dx": -y * d, "dy": -x * d}, "sign", "−1 times"),
    ("wb00.max_gate_backward", lambda x, y, d: {"dx": np.where(x < y, d, 0.0), "dy": np.where(y < x, d, 0.0)}, "routed_to_smaller", "lost"),
    ("wb00.max_gate_backward", lambda x, y, d: {"dx": d.copy(), "dy": d.copy()}, "max_distributes", "like an add gate"),
    ("wb00.max_gate_backward", lambda x, y, d: {"dx": (x > y) * 1.0, "dy": (y > x) * 1.0}, "missing_upstream", "upstream"),
    ("wb00.sigmoid_neuron_backward", neuron_rule(σ), "activation_instead_of_derivative", "σ'(z)"),
    ("wb00.sigmoid_neuron_backward", neuron_rule(lambda z: z * (1 - z)), "derivative_of_preactivation", "pre-activation"),
    ("wb00.sigmoid_neuron_backward", neuron_rule(np.ones_like), "missing_activation_derivative", "σ'(z)"),
    ("wb00.sigmoid_neuron_backward", lambda w, x, d: {k: v / d for k, v in lookup("wb00.sigmoid_neuron_backward").reference(w, x, d).items()},
     "missing_upstream", "upstream"),
    ("wb00.sigmoid_neuron_backward",
     lambda w, x, d: {"dw": np.append(lookup("wb00.sigmoid_neuron_backward").reference(w, x, d)["dw"][:-1], 0.0),
                      "dx": lookup("wb00.sigmoid_neuron_backward").reference(w, x, d)["dx"]},
     "bias_gradient_missing", "always 1"),
    ("wb00.sigmoid_neuron_backward",
     lambda w, x, d: {"dw": network.sigmoid_grad(w[:-1] @ x + w[-1]) * d * np.append(w[:-1], 1.0),
                      "dx": network.sigmoid_grad(w[:-1] @ x + w[-1]) * d * x},
     "weights_and_inputs_swapped", "switches"),
    ("wb00.sigmoid_neuron_backward", lambda w, x, d: {"dw": neuron_by_nodes(w, x, d)["dw"][:-1], "dx": neuron_by_nodes(w, x, d)["dx"]},
     "wrong_shape", "(3,)"),
]


def test_naive_exp_overflows_on_the_saturated_neuron():
    with np.errstate(all="ignore"):
        result = evaluate("wb00.sigmoid_neuron_backward", neuron_naive_exp, seed=4)
    assert result.diagnosis == "nonfinite", result.text()
    assert "saturated neuron" in result.message


def test_every_wb00_function_has_a_named_mistake():
    from checker.exercises import Exercise, registry
    functions = {i for i, e in registry().items() if i.startswith("wb00.") and isinstance(e, Exercise)}
    assert functions == {i for i, *_ in WRONG} and len(functions) == 4


# --- the numbers worked by hand ---------------------------------------------------------------

NUMBERS = {
    "wb00.d_exp_sq": 2 * 0.5 * np.exp(0.25),
    "wb00.d_exp_exp_sq": np.exp(np.exp(0.25)) * np.exp(0.25) * 1.0,
    "wb00.d_inv_exp_sq": -1.0 * np.exp(-0.25),
    "wb00.graph_f": -12.0,
    "wb00.graph_dx": -4.0,
    "wb00.graph_dz": 3.0,
    "wb00.neuron_f": σ(1.0),
    "wb00.neuron_dw0": -σ(1.0) * σ(-1.0),
    "wb00.neuron_dx0": 2 * σ(1.0) * σ(-1.0),
    "wb00.neuron_dw2": σ(1.0) * σ(-1.0),
    "wb00.softplus_d": σ(1.5),
}


@pytest.mark.parametrize("question_id", NUMBERS)
def test_measured_answer_matches_the_formula(question_id):
    assert lookup(question_id).answer() == pytest.approx(NUMBERS[question_id], rel=1e-7, abs=1e-9)


def test_tiny_network_gradients_by_backprop():
    """Both multi-path answers equal a backward pass through the whole softmax Jacobian."""
    x, y, W1, W2 = wb00.TINY_X, wb00.TINY_Y, wb00.TINY_W1, wb00.TINY_W2
    h1 = σ(x @ W1)
    yhat = network.softmax(h1 @ W2)
    d_a2 = (np.diag(yhat) - np.outer(yhat, yhat)) @ (-2 * (y - yhat))
    d_a1 = (W2 @ d_a2) * h1 * (1 - h1)
    assert lookup("wb00.tiny_dw212").answer() == pytest.approx(d_a2[0] * h1[1], rel=1e-7)
    assert lookup("wb00.tiny_dw131").answer() == pytest.approx(d_a1[2] * x[0], rel=1e-6)
    assert lookup("wb00.tiny_dw212").answer() == pytest.approx(-0.1304, abs=1e-4)


@pytest.mark.parametrize("question_id, one_path_value", [("wb00.tiny_dw212", -0.065), ("wb00.tiny_dw131", 0.001595)])
def test_the_one_path_values_of_the_notes_are_rejected(question_id, one_path_value):
    result = evaluate(question_id, one_path_value)
    assert not result.passed and result.diagnosis == "wrong_answer", result.text()


@pytest.mark.parametrize("question_id, rounded", [("wb00.d_exp_exp_sq", 4.637), ("wb00.neuron_dw0", -0.1966),
                                                  ("wb00.tiny_dw131", 0.003159)])
def test_four_significant_digits_are_accepted(question_id, rounded):
    assert evaluate(question_id, rounded).passed


def test_the_wrong_double_exponential_formula_is_rejected():
    assert not evaluate("wb00.d_exp_exp_sq", 2 * 0.5 * np.exp(0.25) ** 2).passed
