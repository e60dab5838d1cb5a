"""Graded questions of workbook 05 (gradient checking and the worked examples), in the workbook's order.

Every answer is computed: counts from the network's sizes, the worked examples' gradients by the
reference formulas (and checked by central differences in the tests), choices by measuring.
"""
import numpy as np

from checker import network
from checker.exercises import Question
from checker.exercises.wb05 import central_differences, relative_error


def _only(truths):
    right = [key for key, holds in truths.items() if holds]
    return right[0] if len(right) == 1 else None


# --- the worked example of the 4-4-2 network (softmax output, squared error) ------------------
# Row-vector convention: a1 = x V1 + c1 with V1 = (the notes' W1) transposed, so V1[j, i] is the
# notes' w_1ij (layer 1, unit i, input j).
NOTES_W1 = np.array([[0.1, 0.3, 0.8, -0.4], [-0.3, -0.2, 0.5, 0.5], [-0.3, 0.0, 0.5, 0.4], [0.2, 0.5, -0.9, 0.7]])
NOTES_W2 = np.array([[0.5, 0.8, 0.2, 0.4], [0.5, 0.2, 0.3, -0.5]])
X_442 = np.array([2.0, 5.0, 3.0, 3.0])
Y_442 = np.array([1.0, 0.0])


def loss_442(V1, V2, c1=0.0, c2=0.0, x=X_442, y=Y_442):
    """Squared error Σ (y − ŷ)² of ŷ = softmax(σ(x V1 + c1) V2 + c2)."""
    y_hat = network.softmax(network.sigmoid(x @ V1 + c1) @ V2 + c2)
    return float(np.sum((y - y_hat) ** 2))


def grads_442(V1, V2, c1=0.0, c2=0.0, x=X_442, y=Y_442):
    """(∇V1 L, ∇V2 L) by backprop through every path: the full softmax Jacobian."""
    h1 = network.sigmoid(x @ V1 + c1)
    y_hat = network.softmax(h1 @ V2 + c2)
    d_yhat = -2 * (y - y_hat)
    jac = np.diag(y_hat) - np.outer(y_hat, y_hat)       # ∂ŷ_i/∂a_j: symmetric
    da2 = jac @ d_yhat
    da1 = (V2 @ da2) * h1 * (1 - h1)
    return np.outer(x, da1), np.outer(h1, da2)


def _dL_dw212():
    """The notes' w_212 (layer 2, unit 1, input 2; 1-based) is V2[1, 0]."""
    return float(grads_442(NOTES_W1.T, NOTES_W2.T)[1][1, 0])


def _dL_dw131():
    """The notes' w_131 (layer 1, unit 3, input 1) is V1[0, 2]."""
    return float(grads_442(NOTES_W1.T, NOTES_W2.T)[0][0, 2])


def _half_claims():
    V1, V2 = NOTES_W1.T, NOTES_W2.T
    h1 = network.sigmoid(X_442 @ V1)
    y_hat = network.softmax(h1 @ V2)
    one_path = -2 * (Y_442[0] - y_hat[0]) * y_hat[0] * (1 - y_hat[0]) * h1[1]   # through ŷ1 only
    full = _dL_dw212()
    with_bias = float(grads_442(V1, V2, 0.5, 0.3)[1][1, 0])
    return _only({"a": np.isclose(2 * one_path, full, rtol=1e-9),
                  "b": np.isclose(with_bias, one_path, rtol=1e-2),
                  "c": abs(round(one_path, 3) - one_path) > 0.5 * abs(full - one_path)})


# --- thresholds and float32 -------------------------------------------------------------------

def _small_case(seed=0):
    rng = np.random.default_rng(seed)
    sizes = (11, 7, 5, 3)
    return network.init_params(rng, sizes), rng.uniform(size=11), np.eye(3)[1]


def _threshold_claims():
    """A backward pass without σ' at layer 1: how far off are dW1 and dW3 by central differences?"""
    params, x, y = _small_case()
    right = network.backward(x, y, params)
    cache = network.forward(x, params)
    dz2 = network.sigmoid_grad(cache["z2"]) * (params["W3"] @ (cache["h3"] - y))
    wrong_W1 = np.outer(x, params["W2"] @ dz2)                   # σ'(z1) left out
    numeric = {k: central_differences(lambda v, k=k: network.loss(x, y, {**params, k: v}), params[k], 1e-6)
               for k in ("W1", "W3")}
    bug = relative_error(wrong_W1, numeric["W1"])
    fine = max(relative_error(right["W1"], numeric["W1"]), relative_error(right["W3"], numeric["W3"]))
    return _only({"a": bug > 1e-2 and fine < 1e-7, "b": bug < 1e-6, "c": fine > 1e-4})


def _float32_claims():
    params, x, y = _small_case(1)
    key = "W2"

    def loss32(v):
        p = {k: np.asarray(val, dtype=np.float32) for k, val in params.items()}
        p[key] = np.asarray(v, dtype=np.float32)
        h = np.asarray(x, dtype=np.float32)
        for layer in (1, 2, 3):
            z = h @ p[f"W{layer}"] + p[f"b{layer}"]
            h = (np.float32(1) / (np.float32(1) + np.exp(-z))) if layer < 3 else z
        z = h - h.max()
        return -(z[1] - np.log(np.sum(np.exp(z))))               # float32 throughout
    analytic = network.backward(x, y, params)[key]
    errors32 = [relative_error(analytic, central_differences(loss32, params[key].astype(np.float32), eps))
                for eps in (1e-6, 1e-4, 1e-2)]
    error64 = relative_error(analytic, central_differences(
        lambda v: network.loss(x, y, {**params, key: v}), params[key], 1e-6))
    return _only({"a": min(errors32) > 1e-6 and errors32[0] > 1e-2 and error64 < 1e-8,
                  "b": min(errors32) < 1e-8,
                  "c": error64 > 1e-4})


QUESTIONS = [
    Question("wb05.n_loss_evaluations",
             "How many evaluations of the loss do full central differences need for all parameters of 1024-512-256-10?",
             "number", lambda: 2 * network.n_params(),
             hints=("Two per parameter: one at +ε, one at −ε.",)),
    Question("wb05.choice_threshold",
             "A float64 check with ε = 1e-6 gives a relative error of 0.3 for dW1 and 1e-10 for dW3. What does that say?",
             "choice", _threshold_claims,
             options={"a": "dW1 is wrong (a bug between the output and layer 1); dW3 is right.",
                      "b": "Nothing: relative errors like 0.3 are normal for central differences in float64.",
                      "c": "ε is too small: rounding spoils both gradients."},
             why_not={"b": "In float64 a right gradient agrees to about 1e-7 or better; 0.3 means a third of the size of "
                           "the gradient is missing or wrong.",
                      "c": "Rounding would spoil dW3 as well, and at ε = 1e-6 in float64 it costs only about 1e-10."}),
    Question("wb05.choice_float32",
             "The same central-difference check, run in float32. What happens?", "choice", _float32_claims,
             options={"a": "It fails for every ε: about 7 significant digits leave nothing precise in (f(x+ε) − f(x−ε)), "
                           "while float64 agrees to 1e-8 or better.",
                      "b": "It works as well as float64 if ε is chosen well.",
                      "c": "float64 fails too: central differences are never better than 1e-4."},
             why_not={"b": "No ε helps: a small ε drowns the difference in rounding error, a large one in the ε² error, "
                           "and in float32 the two overlap.",
                      "c": "In float64 the check agrees to about 1e-9 on this network."}),
    Question("wb05.dL_dw212",
             "In the 4-4-2 worked example (x = [2, 5, 3, 3], y = [1, 0], biases 0), what is ∂L/∂w_212?", "number",
             _dL_dw212, rtol=1e-4,
             hints=("L depends on a_21 through ŷ1 and through ŷ2: the softmax ties both outputs to every logit.",)),
    Question("wb05.choice_half", "Why is the notes' value −0.065 for ∂L/∂w_212 wrong?", "choice", _half_claims,
             options={"a": "It follows only the path through ŷ1; the path through ŷ2 contributes exactly as much again.",
                      "b": "It leaves out the biases b = [0.5, 0.3]; with them the value is −0.065.",
                      "c": "It rounds ŷ to two digits; the exact numbers give the right value."},
             why_not={"b": "With the biases the full gradient is about −0.129; the biases change it by less than 1%.",
                      "c": "Rounding moves the value in the third digit; the notes' value is off by a factor of 2."}),
    Question("wb05.dL_dw131", "In the same example, what is ∂L/∂w_131?", "number", _dL_dw131, rtol=1e-4,
             hints=("Four paths: from w_131 to a_13, h_13, then to a_21 and a_22, and each of those to both ŷ1 and ŷ2.",)),
]
