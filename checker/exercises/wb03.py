"""Workbook 03: activation functions, the output activation and its loss, and why a network
needs a nonlinearity at all.

Every expected value is computed here: derivatives from the functions' formulas (and checked
against central differences in tests/test_wb03_exercises.py), choices by trying each option.
"""
import numpy as np

from checker import network
from checker.exercises import Case, Exercise, Question
from checker.exercises import inputs as draw
from checker.exercises.inputs import FULL, SMALL

σ = network.sigmoid


# --- the activation functions and their derivatives (the references) ----------------------------

def relu(z):
    return np.maximum(z, 0.0)


def relu_grad(z):
    """1 where z > 0, else 0 (the value at z = 0 exactly is a convention; 0 here)."""
    return (np.asarray(z) > 0).astype(float)


def leaky_relu(z, alpha):
    return np.where(z > 0, z, alpha * z)


def leaky_relu_grad(z, alpha):
    return np.where(np.asarray(z) > 0, 1.0, float(alpha))


def elu(z, alpha):
    return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0)))


def elu_grad(z, alpha):
    return np.where(np.asarray(z) > 0, 1.0, alpha * np.exp(np.minimum(z, 0.0)))


def tanh_grad(z):
    return 1.0 - np.tanh(z) ** 2


def softplus(z):
    """log(1 + e^z) without overflow."""
    return np.logaddexp(0.0, z)


def softplus_grad(z):
    return σ(z)


# --- inputs ---------------------------------------------------------------------------------

def _away_from_zero(z, gap=1e-3):
    """The kinks of ReLU-like functions sit at 0: keep every entry at least `gap` away from it."""
    z = np.asarray(z, dtype=float)
    return np.where(np.abs(z) < gap, np.where(z < 0, -gap, gap) * 10, z)


def _z_cases(rng, extreme=True):
    out = [Case("a small 1-D z (7,)", (_away_from_zero(draw.preactivations(rng, 7)),)),
           Case("a small batch z (4, 3)", (_away_from_zero(draw.preactivations(rng, 4, 3)),)),
           Case("z at full size (512,)", (_away_from_zero(draw.preactivations(rng, FULL[1])),))]
    if extreme:
        out.append(Case("saturated z (values up to ±1000)", (draw.saturated(rng, 9),)))
    return out


def _z_alpha_cases(alphas):
    def cases(rng):
        return [Case(f"{c.label}, alpha = {a}", c.args + (a,)) for c, a in zip(_z_cases(rng), alphas)]
    return cases


def _elementwise(id, fn_name, reference, mistakes, hints, cases=_z_cases, arg_names=("z",)):
    signature = f"{fn_name}({', '.join(arg_names)})"
    return Exercise(id, signature, cases, reference, arg_names=arg_names, out_axes=None, mistakes=mistakes,
                    hints=tuple(hints))


# --- mistakes ---------------------------------------------------------------------------------

def _tanh_mistakes(z):
    t = np.tanh(z)
    return [("activation_instead_of_derivative", t),
            ("derivative_of_preactivation", 1 - z ** 2),
            ("sigmoid_rule_on_tanh", t * (1 - t),
             "uses the sigmoid's rule s(1 − s) with s = tanh(z); tanh has a rule of its own: work it out from "
             "tanh's definition."),
            ("missing_square", 1 - t,
             "leaves out a square: look at the power of tanh(z) in your derivative.")]


def _relu_mistakes(z):
    return [("activation_instead_of_derivative", relu(z),
             "returns max(0, z) itself, not its slope."),
            ("wrong_side_of_kink", (np.asarray(z) < 0).astype(float),
             "is 1 on the wrong side: ReLU has slope 1 where z > 0 and slope 0 where z < 0.")]


def _leaky_mistakes(z, alpha):
    return [("activation_instead_of_derivative", leaky_relu(z, alpha),
             "returns the leaky ReLU itself, not its slope."),
            ("alpha_ignored", relu_grad(z),
             "gives slope 0 for z < 0, like a plain ReLU; the leaky ReLU has slope alpha there."),
            ("alpha_hardcoded", leaky_relu_grad(z, 0.01 if alpha != 0.01 else 0.1),
             "uses a fixed alpha instead of the alpha passed in."),
            ("wrong_side_of_kink", np.where(np.asarray(z) > 0, alpha, 1.0),
             "swaps the two slopes: it is 1 where z > 0 and alpha where z < 0.")]


def _elu_mistakes(z, alpha):
    zn = np.minimum(z, 0.0)
    return [("activation_instead_of_derivative", elu(z, alpha),
             "returns the ELU itself, not its slope."),
            ("alpha_ignored", np.where(np.asarray(z) > 0, 1.0, np.exp(zn)),
             "leaves alpha out of the slope for z < 0."),
            ("minus_one_kept", np.where(np.asarray(z) > 0, 1.0, alpha * np.expm1(zn)),
             "keeps the − 1 of alpha(e^z − 1) in the derivative: what is the slope of a constant?"),
            ("alpha_ignored", relu_grad(z),
             "gives slope 0 for z < 0, like a plain ReLU; the ELU still rises there.")]


def _softplus_mistakes(z):
    return [("activation_instead_of_derivative", softplus(z),
             "returns log(1 + e^z) itself, not its slope."),
            ("sigmoid_of_negative", σ(-z),
             "is σ(−z): a sign is flipped somewhere."),
            ("derivative_of_preactivation", σ(z) * (1 - σ(z)),
             "is σ'(z), the derivative of the sigmoid; softplus is one step up: its derivative is σ(z) itself.")]


# --- the output activation and its loss ---------------------------------------------------------

def sigmoid_mse_grad(z, y):
    """d/dz (y − σ(z))² for each example: −2 (y − σ(z)) σ(z)(1 − σ(z))."""
    s = σ(z)
    return -2.0 * (y - s) * s * (1 - s)


def sigmoid_ce_grad(z, y):
    """d/dz of −[y log σ(z) + (1 − y) log(1 − σ(z))] for each example: σ(z) − y."""
    return σ(z) - y


def _binary_cases(rng):
    def case(m, label, scale=3.0):
        return Case(f"{label}: z ({m},), y ({m},)", (rng.normal(0.0, scale, size=m), rng.integers(0, 2, size=m).astype(float)))
    wrong = np.array([-30.0, -12.0, 15.0, 40.0, -1000.0, 1000.0])
    return [case(5, "five examples"), case(16, "a batch of 16"), case(256, "a batch of 256"),
            Case("confidently wrong examples, z up to ±1000", (wrong, np.array([1.0, 1.0, 0.0, 0.0, 1.0, 0.0])))]


def _mse_mistakes(z, y):
    s = σ(z)
    return [("missing_activation_derivative", -2.0 * (y - s)),
            ("activation_instead_of_derivative", -2.0 * (y - s) * s),
            ("derivative_of_preactivation", -2.0 * (y - s) * z * (1 - z)),
            ("ce_instead_of_mse", s - y,
             "is σ(z) − y, the gradient of the cross-entropy; the squared error keeps the factor σ'(z).")]


def _ce_mistakes(z, y):
    s = σ(z)
    return [("mse_instead_of_ce", -2.0 * (y - s) * s * (1 - s),
             "keeps a factor σ'(z): that is the squared error's gradient. With the cross-entropy the σ'(z) of "
             "the sigmoid cancels against the 1/σ(z) of the logarithm."),
            ("extra_activation_derivative", (s - y) * s * (1 - s),
             "multiplies by σ'(z) once more: look at what cancels when the cross-entropy meets the sigmoid.")]


# --- a stack of linear layers ---------------------------------------------------------------------

def collapse_linear(W1, b1, W2, b2, W3, b3):
    """The single (W, b) of the network with every activation removed: x W1 W2 W3 + (b1 W2 W3 + b2 W3 + b3)."""
    W1, b1, W2, b2, W3, b3 = (np.asarray(a, dtype=float) for a in (W1, b1, W2, b2, W3, b3))
    W23 = W2 @ W3
    return {"W": W1 @ W23, "b": b1 @ W23 + b2 @ W3 + b3}


def _collapse_cases(rng):
    def case(sizes, label):
        params = draw.params(rng, sizes)
        return Case(label, tuple(params[k] for k in network.PARAM_KEYS))
    return [case(SMALL, "small sizes 11-7-5-3"), case(FULL, "full size 1024-512-256-10")]


def _collapse_mistakes(W1, b1, W2, b2, W3, b3):
    right = collapse_linear(W1, b1, W2, b2, W3, b3)
    return [("bias_term_missing", {"W": right["W"], "b": b2 @ W3 + b3},
             "leaves out b1's contribution: follow b1 through the later layers to the output."),
            ("bias_term_missing", {"W": right["W"], "b": b3},
             "keeps only b3: the earlier biases also reach the output; follow each through the layers after it."),
            ("biases_not_carried", {"W": right["W"], "b": b1.sum() + b2.sum() + b3},
             "adds up the biases without carrying them through the later weight matrices.")]


EXERCISES = [
    _elementwise("wb03.tanh_grad", "tanh_grad", tanh_grad, _tanh_mistakes,
                 ("Write the derivative in terms of tanh(z) itself: np.tanh never overflows, while "
                  "(e^z − e^−z)/(e^z + e^−z) does at |z| = 1000.",)),
    _elementwise("wb03.relu_grad", "relu_grad", relu_grad, _relu_mistakes,
                 ("A boolean array times 1.0 (or .astype(float)) gives 0s and 1s.",)),
    _elementwise("wb03.leaky_relu_grad", "leaky_relu_grad", leaky_relu_grad, _leaky_mistakes,
                 ("np.where(condition, a, b) picks a where the condition holds and b elsewhere.",),
                 cases=_z_alpha_cases((0.1, 0.01, 0.2, 0.05)), arg_names=("z", "alpha")),
    _elementwise("wb03.elu_grad", "elu_grad", elu_grad, _elu_mistakes,
                 ("For z < 0 the ELU is alpha (e^z − 1). For z = 1000, e^z is inf even where np.where "
                  "would not pick it; np.exp(np.minimum(z, 0)) avoids the overflow warning.",),
                 cases=_z_alpha_cases((1.0, 0.2, 0.5, 1.0)), arg_names=("z", "alpha")),
    _elementwise("wb03.softplus_grad", "softplus_grad", softplus_grad, _softplus_mistakes,
                 ("Workbook 00 found this derivative by backpropagation. Watch z = 1000: a ratio of two "
                  "exponentials is inf / inf = nan there.",)),
    Exercise("wb03.sigmoid_mse_grad", "sigmoid_mse_grad(z, y)", _binary_cases, sigmoid_mse_grad,
             arg_names=("z", "y"), out_axes=("one entry per example",), mistakes=_mse_mistakes,
             hints=("Two links: ŷ = σ(z), then (y − ŷ)². Multiply their slopes.",)),
    Exercise("wb03.sigmoid_ce_grad", "sigmoid_ce_grad(z, y)", _binary_cases, sigmoid_ce_grad,
             arg_names=("z", "y"), out_axes=("one entry per example",), mistakes=_ce_mistakes,
             hints=("Differentiate −log σ(z) and −log(1 − σ(z)) separately, using σ' = σ(1 − σ).",)),
    Exercise("wb03.collapse_linear", "collapse_linear(W1, b1, W2, b2, W3, b3)", _collapse_cases, collapse_linear,
             arg_names=network.PARAM_KEYS, mistakes=_collapse_mistakes,
             out_axes={"W": ("one row per input pixel", "one column per output"), "b": ("one entry per output",)},
             hints=("Substitute: z2 = (x W1 + b1) W2 + b2 = x (W1 W2) + (b1 W2 + b2), and once more for z3.",
                    "W1 @ (W2 @ W3) is much cheaper than (W1 @ W2) @ W3 at full size.")),
]


# --- questions -------------------------------------------------------------------------------------

def _only(truths):
    right = [key for key, holds in truths.items() if holds]
    return right[0] if len(right) == 1 else None


def _tanh_identity():
    z = np.linspace(-4, 4, 81)
    return _only({"a": np.allclose(np.tanh(z), 2 * σ(z) - 1), "b": np.allclose(np.tanh(z), 2 * σ(2 * z) - 1),
                  "c": np.allclose(np.tanh(z), σ(2 * z) - 0.5)})


def _np_max_zero_x():
    x = np.array([1.5, -2.0, 0.5])
    try:
        out = np.max(0, x)
    except (TypeError, ValueError, IndexError):
        return "c"
    return _only({"a": np.array_equal(np.asarray(out), np.maximum(0, x)), "b": np.asarray(out).ndim == 0, "c": False})


def _elu_as_max():
    z = np.linspace(-5, 5, 101)
    alpha = 1.0
    as_max = np.maximum(alpha * np.expm1(z), z)
    same_neg = np.allclose(as_max[z < 0], elu(z, alpha)[z < 0])
    same_pos = np.allclose(as_max[z > 0], elu(z, alpha)[z > 0])
    return _only({"a": same_neg and same_pos, "b": same_neg and not same_pos, "c": not same_neg and same_pos})


def _mse_gradient_far_wrong():
    """How the two gradients behave at a confidently wrong example (y = 1, z very negative)."""
    z = np.array([-5.0, -10.0, -20.0])
    mse, ce = np.abs(sigmoid_mse_grad(z, 1.0)), np.abs(sigmoid_ce_grad(z, 1.0))
    mse_vanishes = bool(np.all(np.diff(mse) < 0) and mse[-1] < 1e-8)
    ce_stays = bool(np.all(ce > 0.99))
    return _only({"a": mse_vanishes and ce_stays, "b": ce_stays and not mse_vanishes,
                  "c": not ce_stays and mse_vanishes})


def _maxout_relu():
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(50, 4)), rng.normal(size=4), 0.3
    maxout = np.maximum(x @ np.zeros(4) + 0.0, x @ w + b)
    return _only({"a": np.allclose(maxout, relu(x @ w + b)), "b": np.allclose(maxout, x @ w + b),
                  "c": np.allclose(maxout, np.abs(x @ w + b))})


QUESTIONS = [
    Question("wb03.n_params_collapsed",
             "How many numbers does the 1024-512-256-10 network have once every activation is removed and its "
             "three layers are collapsed into one (W, b)?", "number",
             lambda: FULL[0] * FULL[-1] + FULL[-1],
             hints=("The collapsed network maps 1024 inputs to 10 outputs with one weight matrix and one bias.",)),
    Question("wb03.sigmoid_grad_max", "The largest value of σ'(z) over all z.", "number",
             lambda: float(np.max(network.sigmoid_grad(np.linspace(-1, 1, 2001)))), rtol=1e-4),
    Question("wb03.choice_tanh", "Which identity holds for every z?", "choice", _tanh_identity,
             options={"a": "tanh(z) = 2σ(z) − 1", "b": "tanh(z) = 2σ(2z) − 1", "c": "tanh(z) = σ(2z) − 1/2"},
             why_not={"a": "2σ(z) − 1 has the right range (−1, 1) but is too flat: its slope at 0 is 1/2, tanh's is 1.",
                      "c": "σ(2z) − 1/2 only reaches ±1/2; tanh goes all the way to ±1."}),
    Question("wb03.choice_np_max", "What does np.max(0, z) do for an array z?", "choice", _np_max_zero_x,
             options={"a": "the same as np.maximum(0, z): ReLU entry by entry",
                      "b": "returns the larger of 0 and the largest entry of z",
                      "c": "raises an error: the second argument of np.max is the axis, not a second array"},
             why_not={"a": "np.maximum compares two arrays entry by entry; np.max reduces one array along an axis.",
                      "b": "np.max(0, z) reduces the number 0 along the 'axis' z, which is not a valid axis."}),
    Question("wb03.choice_elu_max", "Is the ELU (alpha = 1) the same function as max(alpha (e^z − 1), z)?", "choice",
             _elu_as_max,
             options={"a": "yes, for every z", "b": "only for z < 0: for z > 0, e^z − 1 is larger than z",
                      "c": "only for z > 0"},
             why_not={"a": "e^z − 1 > z for every z ≠ 0, so the max picks e^z − 1 on both sides: an exponential for z > 0.",
                      "c": "for z > 0 the max picks e^z − 1, which grows exponentially; the ELU is z there."}),
    Question("wb03.choice_mse_vs_ce",
             "A sigmoid output ŷ = σ(z), label y = 1, and z very negative (confidently wrong). What happens to "
             "∂loss/∂z as z → −∞?", "choice", _mse_gradient_far_wrong,
             options={"a": "squared error: it vanishes; cross-entropy: it tends to −1",
                      "b": "both tend to −1", "c": "squared error: it tends to −2; cross-entropy: it vanishes"},
             why_not={"b": "the squared error's gradient carries σ'(z), which goes to 0 in the tail.",
                      "c": "this swaps the two: the factor σ'(z) is in the squared error's gradient, and "
                           "σ(z) − 1 → −1 for the cross-entropy."}),
    Question("wb03.choice_maxout", "Maxout max(w1·x + b1, w2·x + b2) with w1 = 0 and b1 = 0 is …", "choice",
             _maxout_relu,
             options={"a": "ReLU(w2·x + b2)", "b": "the linear unit w2·x + b2", "c": "|w2·x + b2|"},
             why_not={"b": "the max with 0 cuts off the negative values.",
                      "c": "for negative w2·x + b2 the max with 0 gives 0, not the absolute value."}),
]
