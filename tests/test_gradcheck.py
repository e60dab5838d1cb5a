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
