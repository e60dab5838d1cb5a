"""gradcheck: every tensor of the full network, from the loss alone."""
import numpy as np
import pytest

from checker import gradcheck, network


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    params = network.init_params(rng)
    X = rng.uniform(size=(8, 1024))
    Y = np.eye(10)[rng.integers(10, size=8)]
    return X, Y, params, network.backward(X, Y, params)


def test_the_reference_gradients_agree_for_every_tensor(problem):
    X, Y, params, grads = problem
    report = gradcheck(grads, X, Y, params)
    assert report.passed, report.text()
    assert [t.key for t in report.tensors] == list(network.PARAM_KEYS)
    assert all(t.max_rel_error < 1e-6 for t in report.tensors)


def test_one_example_too():
    rng = np.random.default_rng(1)
    params = network.init_params(rng)
    x, y = rng.uniform(size=1024), np.eye(10)[4]
    assert gradcheck(network.backward(x, y, params), x, y, params).passed


@pytest.mark.parametrize("key, damage", [
    ("b1", lambda g: g * 1.01),                      # 1 % off everywhere in a bias
    ("W2", lambda g: g.T.reshape(g.shape)),          # scrambled
    ("b3", lambda g: g + np.eye(len(g))[3] * 1e-3),  # one entry of a small tensor
    ("W1", lambda g: np.where(np.arange(g.size).reshape(g.shape) == 5000, g + 1e-2 * np.abs(g).max(), g)),
])
def test_a_damaged_tensor_is_named(problem, key, damage):
    X, Y, params, grads = problem
    report = gradcheck({**grads, key: damage(grads[key])}, X, Y, params)
    assert not report.passed
    failing = [t.key for t in report.tensors if not t.passed]
    assert failing == [key], report.text()
    assert "✗" in report.text()


def test_wrong_shape_is_a_clear_error(problem):
    X, Y, params, grads = problem
    with pytest.raises(ValueError, match="grads\\['W2'\\] has shape"):
        gradcheck({**grads, "W2": grads["W2"].T}, X, Y, params)


@pytest.mark.parametrize("arguments, words", [
    (lambda X, Y, P, G: ({**G, "W2": G["W2"].T}, X, Y, P), "grads['W2'] has shape (256, 512)"),
    (lambda X, Y, P, G: ({k: v for k, v in G.items() if k != "b3"}, X, Y, P), "grads has no b3"),
    (lambda X, Y, P, G: (None, X, Y, P), "grads should be a dict of arrays (W1, b1, …); it is None"),
    (lambda X, Y, P, G: (tuple(G.values()), X, Y, P), "grads should be a dict of arrays"),
    (lambda X, Y, P, G: (G, X, Y, None), "params should be a dict of arrays"),
    (lambda X, Y, P, G: ({**G, "W1": None}, X, Y, P), "grads['W1'] should be an array of numbers; it is None"),
    (lambda X, Y, P, G: ({**G, "b3": "x"}, X, Y, P), "grads['b3'] should be an array of numbers; it is a str"),
])
def test_wrong_arguments_are_told_in_one_line(problem, arguments, words):
    with pytest.raises(ValueError) as raised:
        gradcheck(*arguments(*problem))
    shown = raised.value._render_traceback_()
    assert len(shown) == 1 and words in shown[0], shown
