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


def _both_sides(z):
    """z with its first entry positive and its second negative. The mistakes of a function with a kink are told
    apart by what they do on each side of it: with every entry on one side (one 7-entry draw in 128), returning
    the leaky ReLU itself looked exactly like alpha · z below the kink, and was named so."""
    z = np.array(z, dtype=float)
    z.flat[0], z.flat[1] = abs(z.flat[0]), -abs(z.flat[1])
    return z


def _z_cases(rng, extreme=True):
    out = [Case("a small 1-D z (7,)", (_both_sides(_away_from_zero(draw.preactivations(rng, 7))),)),
           Case("a small batch z (4, 3)", (_both_sides(_away_from_zero(draw.preactivations(rng, 4, 3))),)),
           Case("z at full size (512,)", (_both_sides(_away_from_zero(draw.preactivations(rng, FULL[1]))),))]
    if extreme:
        out.append(Case("saturated z (values up to ±1000)", (draw.saturated(rng, 9),)))
    return out


def _z_alpha_cases(alphas):
    def cases(rng):
        return [Case(f"{c.label}, alpha = {a}", c.args + (a,)) for c, a in zip(_z_cases(rng), alphas, strict=True)]
    return cases


def _elementwise(id, fn_name, reference, mistakes, hints, cases=_z_cases, arg_names=("z",)):
    signature = f"{fn_name}({', '.join(arg_names)})"
    return Exercise(id, signature, cases, reference, arg_names=arg_names, out_axes=None, mistakes=mistakes,
                    hints=tuple(hints))


# --- mistakes ---------------------------------------------------------------------------------

def _tanh_mistakes(z):
    t = np.tanh(z)
    return [("activation_instead_of_derivative", t,
             "returns tanh(z) itself, the function rather than its slope."),
            ("derivative_of_preactivation", 1 - z ** 2,
             "puts z itself where your formula needs a value computed from z: at z = 3 it gives −8, "
             "a negative slope for a function that only ever increases."),
            ("sigmoid_rule_on_tanh", t * (1 - t),
             "uses the sigmoid's rule s(1 − s) with s = tanh(z); tanh is a different function with a rule of its "
             "own: work it out from the definition (Question 3.2)."),
            ("missing_square", 1 - t,
             "is above 1 for every z < 0: measure the slope of np.tanh at z = −2 by central differences and "
             "compare.")]


def _relu_mistakes(z):
    return [("activation_instead_of_derivative", relu(z),
             "returns max(0, z) itself, the function rather than its slope: at z = 3 it gives a slope of 3."),
            ("wrong_side_of_kink", (np.asarray(z) < 0).astype(float),
             "has its 1s on the wrong side of the kink: on which side of 0 does ReLU rise?")]


def _leaky_mistakes(z, alpha):
    return [("activation_instead_of_derivative", leaky_relu(z, alpha),
             "returns the leaky ReLU itself, the function rather than its slope."),
            ("alpha_ignored", relu_grad(z),
             "is 0 for every z < 0, like the slope of a plain ReLU; look again at what the leaky ReLU does there."),
            ("alpha_hardcoded", leaky_relu_grad(z, 0.01 if alpha != 0.01 else 0.1),
             "uses a fixed alpha instead of the alpha passed in."),
            ("wrong_side_of_kink", np.where(np.asarray(z) > 0, alpha, 1.0),
             "swaps the slopes of the two sides of 0.")]


def _elu_mistakes(z, alpha):
    zn = np.minimum(z, 0.0)
    return [("activation_instead_of_derivative", elu(z, alpha),
             "returns the ELU itself, the function rather than its slope."),
            ("alpha_ignored", np.where(np.asarray(z) > 0, 1.0, np.exp(zn)),
             "leaves alpha out of the slope for z < 0: what happens to a constant factor when you differentiate?"),
            ("minus_one_kept", np.where(np.asarray(z) > 0, 1.0, alpha * np.expm1(zn)),
             "keeps the − 1 of alpha(e^z − 1) in the derivative: what is the slope of a constant?"),
            ("alpha_ignored", relu_grad(z),
             "is 0 for every z < 0, like the slope of a plain ReLU; the ELU is not flat there.")]


def _softplus_mistakes(z):
    return [("activation_instead_of_derivative", softplus(z),
             "returns log(1 + e^z) itself, the function rather than its slope."),
            ("sigmoid_of_negative", σ(-z),
             "is the mirror image of the slope: your values fall as z grows, yet log(1 + e^z) gets steeper as z "
             "grows."),
            ("derivative_of_preactivation", σ(z) * (1 - σ(z)),
             "differentiates once too often: your values go back to 0 for large z, where log(1 + e^z) keeps "
             "rising almost like z itself.")]


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
        return Case(f"{label}: z ({m},), y ({m},)",
                    (rng.normal(0.0, scale, size=m), rng.integers(0, 2, size=m).astype(float)))
    # With one moderate example (z = 0.5) among them, as in every saturated case: the squared error's
    # gradients of the others are all below 1e-5, and without an entry of the size a gradient has, each
    # one would be judged relative to itself, where a right float32 σ(15)(1 − σ(15)) is off by 17 %
    # (σ(15) rounds to within 6e-8 of 1).
    wrong = np.array([-30.0, -12.0, 15.0, 40.0, -1000.0, 1000.0, 0.5])
    return [case(5, "five examples"), case(16, "a batch of 16"), case(256, "a batch of 256"),
            Case("confidently wrong examples, z up to ±1000, and a moderate one",
                 (wrong, np.array([1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0])))]


def _mse_mistakes(z, y):
    s = σ(z)
    return [("missing_activation_derivative", -2.0 * (y - s),
             "leaves out one link of the chain: the prediction σ(z) depends on z too."),
            ("activation_instead_of_derivative", -2.0 * (y - s) * s,
             "multiplies by σ(z) where the chain needs the slope of the sigmoid link."),
            ("derivative_of_preactivation", -2.0 * (y - s) * z * (1 - z),
             "puts z itself into the sigmoid's slope, where the formula of workbook 02 needs a value computed "
             "from z."),
            ("ce_instead_of_mse", s - y,
             "is the gradient of another loss, not of (y − σ(z))²: follow both links of the chain."),
            ("averaged", sigmoid_mse_grad(z, y) / len(z), PER_EXAMPLE)]


PER_EXAMPLE = ("is the right answer divided by the number of examples: the exercise asks for each example's own "
               "derivative, with no average over the examples.")


def _ce_mistakes(z, y):
    s = σ(z)
    return [("mse_instead_of_ce", -2.0 * (y - s) * s * (1 - s),
             "is the gradient of the other loss of this section, not of the cross-entropy: differentiate the "
             "logarithms and simplify."),
            ("extra_activation_derivative", (s - y) * s * (1 - s),
             "has one factor more than the chain has links: count the links from z to the loss."),
            ("missing_activation_derivative", -y / s + (1 - y) / (1 - s),
             "is the derivative with respect to the prediction σ(z), not z: one link of the chain is missing."),
            ("averaged", sigmoid_ce_grad(z, y) / len(z), PER_EXAMPLE)]


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
             "leaves out the first layer's bias: follow b1 forward through every layer after it."),
            ("bias_term_missing", {"W": right["W"], "b": b1 @ W2 @ W3 + b3},
             "leaves out the second layer's bias: follow b2 forward through the layer after it."),
            ("bias_term_missing", {"W": right["W"], "b": b1 @ W2 @ W3 + b2 @ W3},
             "leaves out the last layer's bias: the collapsed layer adds every bias the network adds."),
            ("bias_term_missing", {"W": right["W"], "b": b3},
             "keeps only the last layer's bias: the earlier biases reach the output too."),
            ("biases_not_carried", {"W": right["W"], "b": b1.sum() + b2.sum() + b3},
             "adds up the biases without carrying them through the layers that follow them.")]


EXERCISES = [
    _elementwise("wb03.tanh_grad", "tanh_grad", tanh_grad, _tanh_mistakes,
                 ("Differentiate tanh from its definition (Question 3.2) and write the result with tanh itself. "
                  "np.tanh never overflows; (e^z − e^−z)/(e^z + e^−z) does at |z| = 1000.",)),
    _elementwise("wb03.relu_grad", "relu_grad", relu_grad, _relu_mistakes,
                 ("numpy turns a comparison into an array of booleans; the check asks for floats.",)),
    _elementwise("wb03.leaky_relu_grad", "leaky_relu_grad", leaky_relu_grad, _leaky_mistakes,
                 ("np.where(condition, a, b) picks a where the condition holds and b elsewhere.",),
                 cases=_z_alpha_cases((0.1, 0.01, 0.2, 0.05)), arg_names=("z", "alpha")),
    _elementwise("wb03.elu_grad", "elu_grad", elu_grad, _elu_mistakes,
                 ("np.where computes both of its branches at every entry, so an exponential of z = 1000 "
                  "overflows even where it is not picked: what could you give the exponential instead?",),
                 cases=_z_alpha_cases((1.0, 0.2, 0.5, 1.0)), arg_names=("z", "alpha")),
    _elementwise("wb03.softplus_grad", "softplus_grad", softplus_grad, _softplus_mistakes,
                 ("Workbook 00 found this derivative. If your formula is right but not finite at z = ±1000, look "
                  "through the functions the setup cell of this workbook loads.",)),
    Exercise("wb03.sigmoid_mse_grad", "sigmoid_mse_grad(z, y)", _binary_cases, sigmoid_mse_grad,
             arg_names=("z", "y"), out_axes=("one entry per example",), mistakes=_mse_mistakes,
             hints=("Two links: ŷ = σ(z), then (y − ŷ)². Multiply their slopes.",)),
    Exercise("wb03.sigmoid_ce_grad", "sigmoid_ce_grad(z, y)", _binary_cases, sigmoid_ce_grad,
             arg_names=("z", "y"), out_axes=("one entry per example",), mistakes=_ce_mistakes,
             hints=("Differentiate the two terms one at a time, then simplify: much of it cancels.",)),
    Exercise("wb03.collapse_linear", "collapse_linear(W1, b1, W2, b2, W3, b3)", _collapse_cases, collapse_linear,
             arg_names=network.PARAM_KEYS, mistakes=_collapse_mistakes,
             out_axes={"W": ("one row per input pixel", "one column per output"), "b": ("one entry per output",)},
             hints=("Substitute z1 into z2 and multiply out, then do the same with z2 in z3 (Question 1.1).",
                    "At full size the order of the matrix products matters for speed: count the multiplications "
                    "of each order.")),
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
             hints=("Count the entries of the W and b you found in Question 1.1.",)),
    Question("wb03.sigmoid_grad_max", "The largest value of σ'(z) over all z.", "number",
             lambda: float(np.max(network.sigmoid_grad(np.linspace(-1, 1, 2001)))), rtol=1e-4,
             hints=("Write σ'(z) as a function of s = σ(z), which runs through (0, 1).",)),
    Question("wb03.choice_tanh", "Which identity holds for every z?", "choice", _tanh_identity,
             options={"a": "tanh(z) = 2σ(z) − 1", "b": "tanh(z) = 2σ(2z) − 1", "c": "tanh(z) = σ(2z) − 1/2"},
             why_not={"a": "2σ(z) − 1 has the right range, (−1, 1); compare its slope at z = 0 with tanh's.",
                      "c": "Compare the range of σ(2z) − 1/2 with the range of tanh."}),
    Question("wb03.choice_np_max", "What does np.max(0, z) do for an array z?", "choice", _np_max_zero_x,
             options={"a": "the same as np.maximum(0, z): ReLU entry by entry",
                      "b": "returns the larger of 0 and the largest entry of z",
                      "c": "raises an error: the second argument of np.max is the axis, not a second array"},
             why_not={"a": "Look up what the second argument of np.max is (help(np.max)), or try it.",
                      "b": "Look up what the second argument of np.max is (help(np.max)), or try it."}),
    Question("wb03.choice_elu_max", "Is the ELU (alpha = 1) the same function as max(alpha (e^z − 1), z)?", "choice",
             _elu_as_max,
             options={"a": "yes, for every z", "b": "only for z < 0: for z > 0, e^z − 1 is larger than z",
                      "c": "only for z > 0"},
             why_not={"a": "Compare e^z − 1 with z at z = 2.",
                      "c": "Compare e^z − 1 with z at z = 2, and at z = −2."}),
    Question("wb03.choice_mse_vs_ce",
             "A sigmoid output ŷ = σ(z), label y = 1, and z very negative (confidently wrong). What happens to "
             "∂loss/∂z as z → −∞?", "choice", _mse_gradient_far_wrong,
             options={"a": "squared error: it vanishes; cross-entropy: it tends to −1",
                      "b": "both tend to −1", "c": "squared error: it tends to −2; cross-entropy: it vanishes"},
             why_not={"b": "Look at the factors of your sigmoid_mse_grad: what does each do as z → −∞?",
                      "c": "Evaluate your two functions at z = −20 with y = 1."}),
    Question("wb03.choice_maxout", "Maxout max(w1·x + b1, w2·x + b2) with w1 = 0 and b1 = 0 is …", "choice",
             _maxout_relu,
             options={"a": "ReLU(w2·x + b2)", "b": "the linear unit w2·x + b2", "c": "|w2·x + b2|"},
             why_not={"b": "What is the first linear function when w1 = 0 and b1 = 0? Take a negative w2·x + b2.",
                      "c": "What is the first linear function when w1 = 0 and b1 = 0? Take a negative w2·x + b2."}),
]


# --- the notebook's fixed example -------------------------------------------------------------------

EXAMPLE_PARAMS_SEED = 0
EXAMPLE_LABELS = (3, 7, 1, 0, 9)
ELU_ALPHAS = (0.2, 1.0)        # the notes' alpha (the confirm cell) and the usual one (the figure)
LEAKY_ALPHA = 0.1


def example_inputs() -> dict:
    """The inputs of the example: five input vectors like pixel intensities and their labels; a grid of z for the
    activations (1000 points in [−5, 5], none of them 0, where ReLU has its corner); eight (z, y) pairs and a grid
    of z for the sigmoid-output losses."""
    z_pairs = np.array([-6.0, -1.0, 0.5, 3.0])
    return {"X": np.random.default_rng(1).random((5, FULL[0])), "labels": np.array(EXAMPLE_LABELS),
            "z_grid": np.linspace(-5.0, 5.0, 1000),
            "pair_z": np.concatenate([z_pairs, z_pairs]), "pair_y": np.repeat([1.0, 0.0], len(z_pairs)),
            "curve_z": np.linspace(-10.0, 5.0, 151)}


def example():
    """The values the notebook goes on with when a function is unfinished (see checker.examples).

    The inputs of ``example_inputs``; the collapsed (W, b) of the example's parameters; each activation's
    derivative on z_grid (leaky ReLU with alpha 0.1, the ELU with alpha 0.2 and 1); the two sigmoid-output
    gradients on the eight pairs and, for y = 1, on curve_z; h1 and ∂CE/∂z2 of each of the five examples (for the
    signs of ∇W2 CE).  None of these is a number a question asks for.
    """
    params = network.init_params(np.random.default_rng(EXAMPLE_PARAMS_SEED))
    values = example_inputs()
    z, curve = values["z_grid"], values["curve_z"]
    values["collapsed"] = collapse_linear(*(params[k] for k in network.PARAM_KEYS))
    values["tanh_grad"] = tanh_grad(z)
    values["relu_grad"] = relu_grad(z)
    values["leaky_relu_grad"] = leaky_relu_grad(z, LEAKY_ALPHA)
    values["elu_grad"] = elu_grad(z, ELU_ALPHAS[0])
    values["elu_grad_alpha1"] = elu_grad(z, ELU_ALPHAS[1])
    values["softplus_grad"] = softplus_grad(z)
    values["pair_mse_grad"] = sigmoid_mse_grad(values["pair_z"], values["pair_y"])
    values["pair_ce_grad"] = sigmoid_ce_grad(values["pair_z"], values["pair_y"])
    values["curve_mse_grad"] = sigmoid_mse_grad(curve, np.ones_like(curve))
    values["curve_ce_grad"] = sigmoid_ce_grad(curve, np.ones_like(curve))
    X, Y = values["X"], np.eye(FULL[-1])[values["labels"]]
    cache = network.forward(X, params)
    dz3 = cache["h3"] - Y                          # ∂CE/∂z3 of each example (not the batch mean)
    values["h1"] = cache["h1"]
    values["dz2"] = network.sigmoid_backward(cache["z2"], dz3 @ params["W3"].T)
    return values, EXAMPLE_PARAMS_SEED
