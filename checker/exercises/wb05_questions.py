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
    jac = np.diag(y_hat) - np.outer(y_hat, y_hat)       # gradient layout, entry (i, j) = ∂ŷ_j/∂a_i (symmetric)
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


# The steps of the float32 question: from where rounding rules to where truncation does, far enough on
# both sides that the float32 minimum lies inside (it is near 3e-2 on the small network).
FLOAT32_STEPS = np.logspace(-6, 0, 25)


def float32_sweep(seed=0, key="W2", steps=FLOAT32_STEPS):
    """Relative errors of the central-difference check of ``key`` on the small network, per step:
    (float32 network and loss, float64 network and loss), both against the float64 backward pass."""
    params, x, y = _small_case(seed)

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
    errors32 = np.array([relative_error(analytic, central_differences(loss32, params[key].astype(np.float32), eps))
                         for eps in steps])
    errors64 = np.array([relative_error(analytic, central_differences(
        lambda v: network.loss(x, y, {**params, key: v}), params[key], eps)) for eps in steps])
    return errors32, errors64


def _float32_claims():
    errors32, errors64 = float32_sweep()
    return _only({"a": errors32.min() > 1e-6 and errors64.min() < 1e-8,
                  "b": errors32.min() < 1e-8,
                  "c": errors64.min() > 1e-4})


QUESTIONS = [
    Question("wb05.n_loss_evaluations",
             "How many evaluations of the loss do full central differences need for all parameters of 1024-512-256-10?",
             "number", lambda: 2 * network.n_params(),
             hints=("Count the evaluations for one parameter first, then count the parameters (workbook 01 did).",)),
    Question("wb05.choice_threshold",
             "A float64 check with ε = 1e-6 gives a relative error of 0.3 for dW1 and 1e-10 for dW3. "
             "What does that say?",
             "choice", _threshold_claims,
             options={"a": "dW1 is wrong (a bug between the output and layer 1); dW3 is right.",
                      "b": "Nothing: relative errors like 0.3 are normal for central differences in float64.",
                      "c": "ε is too small: rounding spoils both gradients."},
             why_not={"b": "Compare 0.3 with what section 2 measured for a right backward pass in float64.",
                      "c": "Would rounding pick out one tensor and spare the other?"}),
    Question("wb05.choice_float32",
             "The check of section 2 (the small network's dW2 against central differences, steps ε from 1e-6 to 1), "
             "with the network and its loss computed in float32. What happens?", "choice", _float32_claims,
             options={"a": "No step brings it down to the 1e-6 the checker demands, while float64 agrees to 1e-8 or "
                           "better.",
                      "b": "With a well-chosen ε it agrees about as well as float64, to 1e-8 or better.",
                      "c": "float64 fails too: central differences never agree better than 1e-4."},
             why_not={"b": "Put u for float32 into the two error terms of section 3 and look for the smallest total.",
                      "c": "Look at what section 2 measured in float64 for a right backward pass."}),
    Question("wb05.dL_dw212",
             "In the 4-4-2 worked example (x = [2, 5, 3, 3], y = [1, 0], biases 0), what is ∂L/∂w_212?", "number",
             _dL_dw212, rtol=1e-4,
             hints=("List every output that a_21 reaches before you multiply anything; the softmax deserves a second "
                    "look.",)),
    Question("wb05.choice_half", "Why is the notes' value −0.065 for ∂L/∂w_212 wrong?", "choice", _half_claims,
             options={"a": "It follows only the path through ŷ1; the path through ŷ2 contributes exactly as much "
                           "again.",
                      "b": "It leaves out the biases b = [0.5, 0.3]; with them the value is −0.065.",
                      "c": "It rounds ŷ to two digits; the exact numbers give the right value."},
             why_not={"b": "Run the forward pass with the biases: do they move ŷ enough to change the gradient "
                           "that much?",
                      "c": "Compare how far rounding to two digits can move the value with how far −0.065 is from your "
                           "own answer."}),
    Question("wb05.dL_dw131", "In the same example, what is ∂L/∂w_131?", "number", _dL_dw131, rtol=1e-4,
             hints=("Count the ways from h_13 to L before you add anything up.",)),
]


# --- the fixed example of the workbook (stored as checker/examples/wb05.npz) -----------------------
# Each value is what a cell of the workbook computes with one of the student's functions, for the
# cell's own inputs; the notebook builds the same inputs from the seeds and numbers below.

FULL_SEED, INPUT_SEED = 1, 3
THETA = np.array([0.3, -1.2])           # θ = [x, y] of the notes' calculus recap, at one point
X_341 = np.array([1.0, 0.0, 0.0])
W_341 = np.array([-0.5, 0.65, -0.41, -1.03])
B_PRINTED = np.array([0.33, 0.75, 0.27, 0.63])
Y_341 = 1.0


def full_input(seed=INPUT_SEED):
    """An input of 1024 pixels of which about one in twenty is lit (the rest exactly 0, as in a digit's background)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=1024)
    x[rng.uniform(size=1024) >= 0.05] = 0.0
    return x


def v_341():
    """V of the 3-4-1 example: the first row from the printed B, the two rows that never reach the loss drawn."""
    return np.vstack([np.log(B_PRINTED / (1 - B_PRINTED)), np.random.default_rng(6).normal(size=(2, 4))])


def loss_341(V, W):
    return float(0.5 * (Y_341 - network.sigmoid(network.sigmoid(X_341 @ V) @ W)) ** 2)


def _jacobian(f, x, eps=1e-6):
    """Central differences of every output entry of f, in the gradient layout: axes of x first."""
    outputs = np.asarray(f(x)).size
    return np.stack([central_differences(lambda v, k=k: np.ravel(f(v))[k], x, eps) for k in range(outputs)], axis=-1)


def example():
    """(values, params_seed) of workbook 05's fixed example."""
    keys = network.PARAM_KEYS
    small, x_s, y_s = _small_case()

    def small_loss(key):
        return lambda v: network.loss(x_s, y_s, {**small, key: v})
    grads_s = network.backward(x_s, y_s, small)
    numgrad_s = {key: central_differences(small_loss(key), small[key], 1e-6) for key in keys}
    cache_s = network.forward(x_s, small)
    dz2 = network.sigmoid_grad(cache_s["z2"]) * (small["W3"] @ (cache_s["h3"] - y_s))
    bug_b1 = small["W2"] @ dz2                                   # σ'(z1) left out
    values = {
        "small": small, "x_small": x_s, "y_small": y_s, "grads_small": grads_s,
        "numgrad_W1": numgrad_s["W1"], "numgrad_small": numgrad_s,
        "rel_right": relative_error(np.concatenate([grads_s[k].ravel() for k in keys]),
                                    np.concatenate([numgrad_s[k].ravel() for k in keys])),
        "bug_small": {"W1": np.outer(x_s, bug_b1), "b1": bug_b1},
    }

    params = network.init_params(np.random.default_rng(FULL_SEED))
    x, y = full_input(), np.eye(10)[3]
    grads = network.backward(x, y, params)
    cache = network.forward(x, params)
    dh1 = params["W2"] @ (network.sigmoid_grad(cache["z2"]) * (params["W3"] @ (cache["h3"] - y)))
    values.update({"x": x, "y": y, "grads": grads, "bug": {"W1": np.outer(x, dh1), "b1": dh1}})

    V1, V2 = NOTES_W1.T, NOTES_W2.T

    def forward_442(c1):
        return network.softmax(network.sigmoid(X_442 @ V1 + c1) @ V2)
    a2 = network.sigmoid(X_442 @ V1) @ V2
    values.update({
        "d_exp_exp": central_differences(lambda s: np.exp(np.exp(s[0] ** 2)), np.array([0.7]), 1e-6),
        "dc1": central_differences(lambda c: float(np.sum((Y_442 - forward_442(c)) ** 2)), np.zeros(4), 1e-6),
        "jac_a1_V1": _jacobian(lambda V: X_442 @ V, V1),
        "grad_a2_ce": central_differences(lambda a: -np.log(network.softmax(a)[0]), a2, 1e-6),
        "grad_f_theta": central_differences(lambda theta: float(theta @ theta), THETA, 1e-6),
    })

    V, W = v_341(), W_341
    A = X_341 @ V
    values.update({
        "numgrad_341": central_differences(lambda t: loss_341(t[4:].reshape(3, 4), t[:4]),
                                           np.concatenate([W, V.ravel()]), 1e-6),
        "grad_C_B": central_differences(lambda b: b @ W, network.sigmoid(A), 1e-6),
        "jac_A_V": _jacobian(lambda v: X_341 @ v, V),
        "grad_sumA_V": central_differences(lambda v: np.sum(X_341 @ v), V, 1e-6),
        "jac_B_A": _jacobian(network.sigmoid, A),
    })
    return values, FULL_SEED
