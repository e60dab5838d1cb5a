"""Workbook 03: the activation derivatives, the output-layer gradients and the collapsed linear
network accept right answers written in different ways and name the typical mistakes; the
references agree with central differences; every choice is decided by numbers."""
import numpy as np
import pytest

from checker import evaluate, network
from checker.exercises import Exercise, as_written, lookup, registry
from checker.exercises import wb03

σ = network.sigmoid


def f32(fn):
    def wrapped(*args):
        return np.asarray(fn(*(np.asarray(a, dtype=np.float32) if isinstance(a, np.ndarray) else a for a in args)),
                          dtype=np.float32)
    return wrapped


def relu_grad_loop(z):
    out = np.zeros_like(z, dtype=float)
    for index, value in np.ndenumerate(z):
        out[index] = 1.0 if value > 0 else 0.0
    return out


def collapse_by_substitution(W1, b1, W2, b2, W3, b3):
    W, b = W1, b1
    for Wn, bn in ((W2, b2), (W3, b3)):
        W, b = W @ Wn, b @ Wn + bn
    return {"W": W, "b": b}


def collapse_by_probing(W1, b1, W2, b2, W3, b3):
    """Read the collapsed map off the linear network itself: b = f(0), row i of W = f(e_i) − f(0)."""
    def f(X):
        return ((X @ W1 + b1) @ W2 + b2) @ W3 + b3
    b = f(np.zeros(W1.shape[0]))
    return {"W": f(np.eye(W1.shape[0])) - b, "b": b}


RIGHT = [
    ("wb03.tanh_grad", lambda z: 1 / np.cosh(z) ** 2),
    ("wb03.tanh_grad", f32(lambda z: 1 - np.tanh(z) * np.tanh(z))),
    ("wb03.tanh_grad", lambda z: 4 * σ(2 * z) * σ(-2 * z)),
    ("wb03.relu_grad", lambda z: np.heaviside(z, 0.0)),
    ("wb03.relu_grad", lambda z: (z >= 0).astype(np.float32)),      # the inputs avoid z = 0 exactly
    ("wb03.relu_grad", relu_grad_loop),
    ("wb03.leaky_relu_grad", lambda z, a: np.where(z > 0, 1.0, a)),
    ("wb03.leaky_relu_grad", lambda z, a: (z > 0) + a * (z <= 0)),
    ("wb03.elu_grad", lambda z, a: np.where(z > 0, 1.0, a * np.exp(np.minimum(z, 0)))),
    ("wb03.elu_grad", lambda z, a: np.where(z > 0, 1.0, wb03.elu(z, a) + a)),     # elu + α for z < 0
    ("wb03.softplus_grad", lambda z: np.exp(-np.logaddexp(0, -z))),
    ("wb03.softplus_grad", f32(lambda z: 0.5 * (1 + np.tanh(z / 2)))),
    ("wb03.sigmoid_mse_grad", lambda z, y: 2 * (σ(z) - y) * σ(z) * σ(-z)),
    ("wb03.sigmoid_ce_grad", lambda z, y: -(y * σ(-z)) + (1 - y) * σ(z)),
    ("wb03.collapse_linear", collapse_by_substitution),
    ("wb03.collapse_linear", collapse_by_probing),
]


def naive_tanh_grad(z):
    t = (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))
    return 1 - t ** 2


def naive_softplus_grad(z):
    return np.exp(z) / (1 + np.exp(z))


WRONG = [
    ("wb03.tanh_grad", np.tanh, "activation_instead_of_derivative", "σ'(z)"),
    ("wb03.tanh_grad", lambda z: 1 - z ** 2, "derivative_of_preactivation", "pre-activation"),
    ("wb03.tanh_grad", lambda z: np.tanh(z) * (1 - np.tanh(z)), "sigmoid_rule_on_tanh", "rule of its own"),
    ("wb03.tanh_grad", lambda z: 1 - np.tanh(z), "missing_square", "square"),
    ("wb03.tanh_grad", naive_tanh_grad, "nonfinite", "saturated z"),
    ("wb03.relu_grad", lambda z: np.maximum(z, 0), "activation_instead_of_derivative", "max(0, z) itself"),
    ("wb03.relu_grad", lambda z: (z < 0) * 1.0, "wrong_side_of_kink", "wrong side"),
    ("wb03.relu_grad", lambda z: list((z > 0).ravel()), "wrong_type", "np.array"),
    ("wb03.leaky_relu_grad", lambda z, a: wb03.leaky_relu(z, a), "activation_instead_of_derivative", "itself"),
    ("wb03.leaky_relu_grad", lambda z, a: (z > 0) * 1.0, "alpha_ignored", "like a plain ReLU"),
    ("wb03.leaky_relu_grad", lambda z, a: np.where(z > 0, 1.0, 0.01), "alpha_hardcoded", "fixed alpha"),
    ("wb03.leaky_relu_grad", lambda z, a: np.where(z > 0, a, 1.0), "wrong_side_of_kink", "swaps"),
    ("wb03.elu_grad", lambda z, a: wb03.elu(z, a), "activation_instead_of_derivative", "ELU itself"),
    ("wb03.elu_grad", lambda z, a: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0))), "alpha_ignored", "leaves alpha out"),
    ("wb03.elu_grad", lambda z, a: np.where(z > 0, 1.0, a * np.expm1(np.minimum(z, 0))), "minus_one_kept", "slope of a constant"),
    ("wb03.softplus_grad", lambda z: np.logaddexp(0, z), "activation_instead_of_derivative", "itself"),
    ("wb03.softplus_grad", lambda z: σ(-z), "sigmoid_of_negative", "σ(−z)"),
    ("wb03.softplus_grad", lambda z: σ(z) * σ(-z), "derivative_of_preactivation", "one step up"),
    ("wb03.softplus_grad", naive_softplus_grad, "nonfinite", "saturated z"),
    ("wb03.sigmoid_mse_grad", lambda z, y: -2 * (y - σ(z)), "missing_activation_derivative", "σ'(z)"),
    ("wb03.sigmoid_mse_grad", lambda z, y: σ(z) - y, "ce_instead_of_mse", "cross-entropy"),
    ("wb03.sigmoid_mse_grad", lambda z, y: -(y - σ(z)) * σ(z) * σ(-z), "scale", "0.5"),
    ("wb03.sigmoid_mse_grad", lambda z, y: 2 * (y - σ(z)) * σ(z) * σ(-z), "sign", "−1 times"),
    ("wb03.sigmoid_ce_grad", lambda z, y: wb03.sigmoid_mse_grad(z, y), "mse_instead_of_ce", "cancels"),
    ("wb03.sigmoid_ce_grad", lambda z, y: (σ(z) - y) * σ(z) * σ(-z), "extra_activation_derivative", "once more"),
    ("wb03.sigmoid_ce_grad", lambda z, y: y - σ(z), "sign", "−1 times"),
    ("wb03.collapse_linear", lambda W1, b1, W2, b2, W3, b3: {"W": W1 @ W2 @ W3, "b": b3}, "bias_term_missing", "keeps only b3"),
    ("wb03.collapse_linear", lambda W1, b1, W2, b2, W3, b3: {"W": W1 @ W2 @ W3, "b": b2 @ W3 + b3}, "bias_term_missing", "follow b1"),
    ("wb03.collapse_linear", lambda W1, b1, W2, b2, W3, b3: {"W": W1 @ W2 @ W3, "b": b1.sum() + b2.sum() + b3},
     "biases_not_carried", "without carrying"),
    ("wb03.collapse_linear", lambda W1, b1, W2, b2, W3, b3: {"W": (W1 @ W2 @ W3).T, "b": collapse_by_substitution(W1, b1, W2, b2, W3, b3)["b"]},
     "transposed", "transpose"),
]


def test_every_wb03_function_has_a_named_mistake():
    functions = {i for i, e in registry().items() if i.startswith("wb03.") and isinstance(e, Exercise)}
    assert functions == {i for i, *_ in WRONG} and len(functions) == 8


# --- the references against central differences -----------------------------------------------

Z = np.array([-6.0, -2.5, -0.7, -0.01, 0.02, 0.9, 3.0, 7.0])


def numeric(f, z, eps=1e-6):
    return (f(z + eps) - f(z - eps)) / (2 * eps)


@pytest.mark.parametrize("name, forward, grad", [
    ("tanh", np.tanh, wb03.tanh_grad), ("relu", wb03.relu, wb03.relu_grad),
    ("leaky 0.1", lambda z: wb03.leaky_relu(z, 0.1), lambda z: wb03.leaky_relu_grad(z, 0.1)),
    ("elu 1.0", lambda z: wb03.elu(z, 1.0), lambda z: wb03.elu_grad(z, 1.0)),
    ("elu 0.2", lambda z: wb03.elu(z, 0.2), lambda z: wb03.elu_grad(z, 0.2)),
    ("softplus", wb03.softplus, wb03.softplus_grad),
    ("mse, y = 1", lambda z: (1 - σ(z)) ** 2, lambda z: wb03.sigmoid_mse_grad(z, 1.0)),
    ("ce, y = 1", lambda z: -np.log(σ(z)), lambda z: wb03.sigmoid_ce_grad(z, 1.0)),
    ("ce, y = 0", lambda z: -np.log(1 - σ(z)), lambda z: wb03.sigmoid_ce_grad(z, 0.0)),
])
def test_reference_derivative_is_the_measured_slope(name, forward, grad):
    np.testing.assert_allclose(grad(Z), numeric(forward, Z), rtol=1e-6, atol=1e-9)


def test_collapsed_network_computes_the_same_outputs():
    params = network.init_params(np.random.default_rng(0), (6, 5, 4, 3))
    X = np.random.default_rng(1).random((7, 6))
    layered = ((X @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]) @ params["W3"] + params["b3"]
    one = wb03.collapse_linear(*(params[k] for k in network.PARAM_KEYS))
    np.testing.assert_allclose(X @ one["W"] + one["b"], layered, rtol=1e-12, atol=1e-12)


def test_collapsed_parameter_count():
    assert lookup("wb03.n_params_collapsed").answer() == 1024 * 10 + 10
    assert evaluate("wb03.n_params_collapsed", network.n_params()).diagnosis == "wrong_answer"


@pytest.mark.parametrize("question_id, expected", [
    ("wb03.choice_tanh", "b"), ("wb03.choice_np_max", "c"), ("wb03.choice_elu_max", "b"),
    ("wb03.choice_mse_vs_ce", "a"), ("wb03.choice_maxout", "a")])
def test_choices_are_decided_by_numbers(question_id, expected):
    question = as_written()[question_id]   # in the table's own letters
    assert question.answer() == expected
    assert set(question.why_not) == set(question.options) - {expected}


def test_tanh_is_a_rescaled_sigmoid_and_not_the_plain_one():
    z = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(np.tanh(z), 2 * σ(2 * z) - 1, atol=1e-15)
    assert np.max(np.abs(np.tanh(z) - (2 * σ(z) - 1))) > 0.1


def test_sigmoid_grad_max_is_a_quarter():
    assert lookup("wb03.sigmoid_grad_max").answer() == 0.25
    assert not evaluate("wb03.sigmoid_grad_max", 0.5).passed
