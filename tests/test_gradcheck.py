"""gradcheck: every tensor of the full network, from the loss alone."""
import numpy as np
import pytest

from checker import gradcheck, network, runner
from checker.result import WrongArgument


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


def cross_entropy_loss(X, Y, params):
    """A student's right loss: the batch-mean cross-entropy, written out."""
    h = X
    for layer in (1, 2, 3):
        z = h @ params[f"W{layer}"] + params[f"b{layer}"]
        h = 1 / (1 + np.exp(-z)) if layer < 3 else np.exp(z - z.max(axis=1, keepdims=True))
    h /= h.sum(axis=1, keepdims=True)
    return -np.mean(np.sum(Y * np.log(h), axis=1))


@pytest.mark.parametrize("returned", [lambda v: v, float, np.array])
def test_a_right_loss_of_the_students_passes_with_the_same_evaluations(problem, returned):
    X, Y, params, grads = problem
    report = gradcheck(grads, X, Y, params, loss=lambda X, Y, params: returned(cross_entropy_loss(X, Y, params)))
    assert report.passed, report.text()
    assert report.loss_evaluations == gradcheck(grads, X, Y, params).loss_evaluations == 84


def scales_in_place(X, Y, params):
    params["W1"] *= 1
    return cross_entropy_loss(X, Y, params)


def adds_and_takes_back(X, Y, params):
    params["b2"] += 1e-3
    params["b2"] -= 1e-3
    return cross_entropy_loss(X, Y, params)


def spoils_afterwards(X, Y, params):
    value = cross_entropy_loss(X, Y, params)
    params["W1"] += 1.0
    return value


@pytest.mark.parametrize("loss", [scales_in_place, adds_and_takes_back, spoils_afterwards])
def test_a_loss_that_writes_into_params_and_is_right_passes(problem, loss):
    X, Y, params, grads = problem
    before = {k: v.copy() for k, v in params.items()}
    report = gradcheck(grads, X, Y, params, loss=loss)
    assert report.passed, report.text()
    assert all(np.array_equal(params[k], before[k]) and params[k].flags.writeable for k in params)


def test_a_loss_that_is_nan_is_a_report_that_does_not_pass(problem):
    X, Y, params, grads = problem
    assert not gradcheck(grads, X, Y, params, loss=lambda X, Y, params: float("nan")).passed


def _shown(problem, loss) -> str:
    X, Y, params, grads = problem
    with pytest.raises(WrongArgument) as raised:
        gradcheck(grads, X, Y, params, loss=loss)
    shown = raised.value._render_traceback_()
    assert len(shown) == 1 and "gradcheck.py" not in shown[0], shown
    return shown[0]


def my_loss(X, Y, params):
    return 1 / 0


def test_a_loss_that_raises_is_told_with_the_students_line(problem):
    shown = _shown(problem, my_loss)
    assert "loss (my_loss) raised ZeroDivisionError: division by zero — in my_loss, line" in shown, shown
    assert ": return 1 / 0. gradcheck calls it as loss(x, y, params)" in shown, shown


def spins(X, Y, params):
    while True:
        pass


def test_a_loss_that_hangs_is_stopped(problem, monkeypatch):
    monkeypatch.setattr(runner, "DEFAULT_TIMEOUT", 0.2)
    shown = _shown(problem, spins)
    assert "loss (spins) did not return within 0.2 s (is there a loop that never ends?)" in shown, shown


@pytest.mark.parametrize("value, words", [
    (None, "it returned None"),
    (np.ones(8), "it returned an array of shape (8,) and dtype float64"),
    (np.ones(1), "it returned an array of shape (1,)"),
    ([0.5], "it returned a list of 1 item"),
    ("0.5", "it returned a str"),
    (0.5 + 0j, "it returned a complex"),
    (True, "it returned a bool"),
])
def test_a_loss_that_returns_no_number_is_told_what_it_returned(problem, value, words):
    def no_number(X, Y, params):
        return value
    shown = _shown(problem, no_number)
    assert "loss (no_number) should return one number (the mean cross-entropy, a float)" in shown and words in shown


@pytest.mark.parametrize("loss, words", [
    (0.23, "loss should be a function loss(x, y, params); it is a float (0.23). Pass the function itself, without "
           "calling it."),
    (np.ones(8), "it is an array of shape (8,) and dtype float64. Pass the function itself"),
    ("cross_entropy", "loss should be a function loss(x, y, params); it is a str."),
])
def test_a_loss_that_is_no_function_is_told_up_front(problem, loss, words):
    assert words in _shown(problem, loss)
