"""Graded questions of workbook 02 (shapes and choices), in the workbook's order.

Every answer is computed here, never typed: shapes from the network's layer sizes, choices by
trying each option numerically on a small network whose sizes all differ (so that a transposed
matrix or a wrong layer cannot hide behind a matching shape).
"""
import numpy as np

from checker import network
from checker.exercises import Question

N_IN, N_H1, N_H2, K = network.LAYER_SIZES
_SHAPES = network.param_shapes()
_SMALL = (6, 5, 4, 3)  # a small network for the choice questions: every size differs

UNITS = "one entry per unit of {}"


def _shape(id, prompt, shape, axes, hints=(), points=0.5):
    return Question(id, prompt, "shape", lambda: tuple(shape), points=points, axes=tuple(axes), hints=tuple(hints))


# --- helpers that let the choices be decided by numbers ---------------------------------------

def _small_example(seed=0):
    rng = np.random.default_rng(seed)
    params = network.init_params(rng, _SMALL)
    x = rng.uniform(0.0, 1.0, size=_SMALL[0])
    y = np.eye(_SMALL[-1])[1]
    return params, x, y, network.forward(x, params)


def _numerical_jacobian(f, a, eps=1e-6):
    """Entry (i, j) = ∂f(a)_j / ∂a_i by central differences (input axis first)."""
    a = np.asarray(a, dtype=float)
    rows = []
    for i in range(a.size):
        step = np.zeros_like(a)
        step.flat[i] = eps
        rows.append((np.asarray(f(a + step)) - np.asarray(f(a - step))) / (2 * eps))
    return np.array(rows).reshape(a.shape + np.shape(f(a)))


def _equal(candidate, target, tol=1e-6):
    candidate = np.asarray(candidate, dtype=float)
    return candidate.shape == np.shape(target) and bool(np.allclose(candidate, target, rtol=tol, atol=tol))


def _only(truths):
    """The one option whose claim holds; None (an error in the question) if not exactly one."""
    right = [key for key, holds in truths.items() if holds]
    return right[0] if len(right) == 1 else None


def _first_order_claims():
    """Which claim about ΔCE ≈ Δz3 · ∇z3 CE holds, decided numerically."""
    params, x, y, cache = _small_example()
    z3 = cache["z3"]
    dz3 = network.softmax_cross_entropy_backward(cache["h3"], y)

    def error(step):
        actual = network.cross_entropy(network.softmax(z3 + step), y) - network.cross_entropy(cache["h3"], y)
        return abs(actual - step @ dz3)

    direction = np.random.default_rng(1).normal(size=z3.shape)
    direction /= np.linalg.norm(direction)
    ratio = error(1e-2 * direction) / error(1e-3 * direction)  # ~100 when the error is quadratic
    return _only({"a": error(direction) < 1e-12,
                  "b": 50.0 < ratio < 200.0,
                  "c": error(0.5 * y) < 1e-12})


def _axes_claims():
    """(input axes, output axes) of ∇W2 z2_k and of ∇h2 z3, from the arrays' shapes."""
    w2_in, z2k_out = len(_SHAPES["W2"]), 0          # z2_k is one number
    h2_in, z3_out = 1, 1                            # h2 and z3 are vectors
    actual = ((w2_in, z2k_out), (h2_in, z3_out))
    return _only({"a": actual == ((2, 0), (1, 1)),
                  "b": actual == ((1, 1), (1, 1)),
                  "c": actual == ((1, 1), (2, 0))})


def _dz3_dh2_claims():
    params, x, y, cache = _small_example()
    jac = _numerical_jacobian(lambda h2: h2 @ params["W3"] + params["b3"], cache["h2"])
    return _only({"a": _equal(params["W3"], jac), "b": _equal(params["W3"].T, jac),
                  "c": _equal(params["W2"], jac)})


def _row_or_column_claims():
    params, x, y, cache = _small_example()
    W3, i = params["W3"], 2
    h2 = cache["h2"]
    step = np.zeros_like(h2)
    step[i] = 1e-6
    response = ((h2 + step) @ W3 - (h2 - step) @ W3) / 2e-6   # how z3 moves per unit of h2_i
    return _only({"a": _equal(W3[i, :], response), "b": _equal(W3[:, i], response),
                  "c": _equal(params["W2"][i, :], response)})


def _how_many_claims():
    z2 = np.random.default_rng(2).normal(size=N_H2)
    i = 7
    bumped = z2.copy()
    bumped[i] += 1e-3
    changed = int(np.count_nonzero(network.sigmoid(bumped) != network.sigmoid(z2)))
    return _only({"a": changed == N_H2, "b": changed == 1, "c": changed == 0})


def _diag_claims():
    rng = np.random.default_rng(3)
    d, M = rng.normal(size=4), rng.normal(size=(4, 3))
    DM = np.diag(d) @ M
    cols = M * d[None, :] if M.shape[1] == d.size else None
    return _only({"a": _equal(M * d[:, None], DM),
                  "b": cols is not None and _equal(cols, DM),
                  "c": _equal(M * d.sum(), DM)})


def _db2_claims():
    params, x, y, cache = _small_example()
    grads = network.backward(x, y, params)
    dz3 = network.softmax_cross_entropy_backward(cache["h3"], y)
    dh2 = params["W3"] @ dz3
    dz2 = network.sigmoid_grad(cache["z2"]) * dh2
    return _only({"a": _equal(dz2, grads["b2"]), "b": _equal(dh2, grads["b2"]),
                  "c": _equal(np.outer(cache["h1"], dz2), grads["b2"]),
                  "d": _equal(params["W2"] @ dz2, grads["b2"])})


def _row_factor_claims():
    rng = np.random.default_rng(4)
    h1, dz2 = rng.uniform(size=5), rng.normal(size=4)
    first = np.broadcast_to(h1[:, None], (5, 4))     # the factor h1_i at every (i, j)
    second = np.broadcast_to(dz2[None, :], (5, 4))   # the factor (dz2)_j at every (i, j)
    same_along_rows = {name: bool(np.all(np.ptp(f, axis=1) == 0)) for name, f in (("h1", first), ("dz2", second))}
    return _only({"a": same_along_rows["h1"] and not same_along_rows["dz2"],
                  "b": same_along_rows["dz2"] and not same_along_rows["h1"],
                  "c": not any(same_along_rows.values())})


def _dz1_claims():
    params, x, y, cache = _small_example()

    def loss_of_z1(z1):
        h1 = network.sigmoid(z1)
        h2 = network.sigmoid(h1 @ params["W2"] + params["b2"])
        return network.cross_entropy(network.softmax(h2 @ params["W3"] + params["b3"]), y)

    numeric = _numerical_jacobian(loss_of_z1, cache["z1"])
    dz2 = network.sigmoid_grad(cache["z2"]) * (params["W3"] @ network.softmax_cross_entropy_backward(cache["h3"], y))
    dh1 = params["W2"] @ dz2
    s1, s2 = network.sigmoid(cache["z1"]), network.sigmoid(cache["z2"])

    def option_b():  # σ(z1) ⊙ (1 − σ(z2)) ⊙ dh1: the shapes do not even match (5 vs 4)
        try:
            return s1 * (1 - s2) * dh1
        except ValueError:
            return None

    b = option_b()
    return _only({"a": _equal(s1 * (1 - s1) * dh1, numeric),
                  "b": b is not None and _equal(b, numeric),
                  "c": _equal(s1 * dh1, numeric)})


# --- the questions, in the order of the workbook ----------------------------------------------

QUESTIONS = [
    # 2. shapes in the chain rule
    _shape("wb02.shape_dz3", "The shape of ∇z3 CE, the gradient of the loss with respect to the logits z3 (one example).",
           (K,), (UNITS.format("z3"),),
           hints=("The loss is one number; its gradient has one entry per logit.",)),
    _shape("wb02.shape_dCE", "The shape of ΔCE = Δz3 · ∇z3 CE, the (predicted) change of the loss.",
           (), (), hints=("The loss is a single number; in numpy a single number has the empty shape ().",)),
    Question("wb02.choice_first_order",
             "How good is Δz3 · ∇z3 CE as a prediction of the real change CE(z3 + Δz3) − CE(z3)?", "choice",
             _first_order_claims,
             options={"a": "Exact for every Δz3: the loss is a linear function of z3.",
                      "b": "Right to first order: the error shrinks like |Δz3|², so it vanishes faster than Δz3.",
                      "c": "Exact when Δz3 is a multiple of the one-hot label y, approximate otherwise."},
             why_not={"a": "Softmax followed by −log is curved in z3, so a straight-line prediction misses by a second-order term.",
                      "c": "Moving only the true class's logit still bends through the softmax; the error is small but not zero."}),
    _shape("wb02.shape_dz3_dh2", "The shape of ∇h2 z3 (entry (i, j) = ∂z3_j/∂h2_i).", _SHAPES["W3"],
           ("one row per unit of h2 (the input)", "one column per logit z3_j (the output)"),
           hints=("A gradient lists the input's axes first, then the output's.",)),
    _shape("wb02.shape_delta_W2", "The shape of a change ΔW2 to the weights W2.", _SHAPES["W2"],
           ("one row per unit of h1 (fan-in)", "one column per unit of z2 (fan-out)")),
    _shape("wb02.shape_dz2k_dW2", "The shape of ∇W2 z2_k, the gradient of one pre-activation z2_k with respect to W2.",
           _SHAPES["W2"], ("one row per unit of h1 (fan-in)", "one column per unit of z2 (fan-out)"),
           hints=("z2_k is one number, so the gradient has exactly the axes of W2.",)),
    Question("wb02.choice_both_inputs",
             "∇W2 z2_k and ∇h2 z3 are both 2-D arrays. What tells them apart?", "choice", _axes_claims,
             options={"a": "Both axes of ∇W2 z2_k index the input (an entry of W2) and the output z2_k is one number; "
                           "∇h2 z3 has one input axis (h2) and one output axis (z3).",
                      "b": "Nothing: each has one input axis and one output axis.",
                      "c": "∇W2 z2_k has one input axis and one output axis; both axes of ∇h2 z3 index the input h2."},
             why_not={"b": "Z2_k is a single number, so it contributes no axis: the two axes of ∇W2 z2_k both come from W2.",
                      "c": "This swaps the two: z3 is a vector of 10 logits, so ∇h2 z3 keeps an axis for it."}),
    _shape("wb02.shape_dz2_dW2", "The shape of ∇W2 z2, the gradient of the whole vector z2 with respect to W2.",
           _SHAPES["W2"] + (N_H2,),
           ("one entry per row of W2 (units of h1)", "one entry per column of W2 (units of z2)",
            "one entry per output z2_k"),
           hints=("The input W2 brings two axes, the output z2 brings one.",)),
    # 3. back through W3
    Question("wb02.choice_dz3_dh2", "Which array equals ∇h2 z3, whose entry (i, j) is ∂z3_j/∂h2_i?", "choice",
             _dz3_dh2_claims,
             options={"a": "W3", "b": "W3ᵀ, the transpose of W3", "c": "W2"},
             why_not={"b": "The transpose puts the logits first, shape (10, 256); the gradient lists the input's "
                           "axis first.",
                      "c": "W2 connects h1 to z2; it plays no part in how h2 moves z3."}),
    _shape("wb02.shape_dz3j_dh2", "The shape of ∇h2 z3_j, the gradient of one logit z3_j with respect to h2.",
           (N_H2,), (UNITS.format("h2"),)),
    _shape("wb02.shape_dz3_dh2i", "The shape of ∇h2_i z3, how the whole vector z3 responds to one unit h2_i.",
           (K,), ("one entry per logit z3_j",)),
    Question("wb02.choice_row_or_column",
             "∇h2_i z3 lists how each of the 10 logits responds to the single unit h2_i. Which slice is it?", "choice",
             _row_or_column_claims,
             options={"a": "Row i of W3, W3[i, :]", "b": "Column i of W3, W3[:, i]", "c": "Row i of W2, W2[i, :]"},
             why_not={"b": "Column i holds the weights from every unit of h2 into the one logit z3_i (and only exists for i < 10).",
                      "c": "W2 feeds z2, not z3; the weights out of h2_i sit in W3."}),
    _shape("wb02.shape_dh2", "The shape of ∇h2 CE = W3 · ∇z3 CE for one example.", (N_H2,), (UNITS.format("h2"),),
           hints=("The loss is one number, so its gradient has the shape of h2: a 1-D array, not a column.",)),
    # 4. back through the sigmoid
    _shape("wb02.shape_dh2_dz2", "The shape of ∇z2 h2, the Jacobian of h2 = σ(z2).", (N_H2, N_H2),
           ("one row per unit of z2 (the input)", "one column per unit of h2 (the output)")),
    _shape("wb02.shape_dz2", "The shape of ∇z2 CE for one example.", (N_H2,), (UNITS.format("z2"),),
           hints=("The loss is one number, so its gradient has the shape of z2: a 1-D array, not a column.",)),
    Question("wb02.choice_how_many",
             f"Change one pre-activation z2_i and nothing else. How many of the {N_H2} activations h2_j change?",
             "choice", _how_many_claims,
             options={"a": f"All {N_H2}: every unit of layer 2 is connected to every other.",
                      "b": "Exactly one: h2_i.", "c": "None: only the next layer notices."},
             why_not={"a": "The connections between layers run through W3 and W2; within a layer σ acts on each unit alone.",
                      "c": "h2_i = σ(z2_i) depends on z2_i, so at least that unit moves."}),
    Question("wb02.choice_diag_times_matrix",
             "D is a diagonal matrix with d_0, d_1, … on its diagonal and M is a matrix. What is D @ M?", "choice",
             _diag_claims,
             options={"a": "M with row i multiplied by d_i", "b": "M with column i multiplied by d_i",
                      "c": "M with every entry multiplied by d_0 + d_1 + …"},
             why_not={"b": "That is M @ D: multiplying on the right acts on columns, on the left on rows.",
                      "c": "Each row meets only its own diagonal entry; the off-diagonal zeros keep the d_i apart."}),
    # 5. the bias
    _shape("wb02.shape_dz2_db2", "The shape of ∇b2 z2.", (N_H2, N_H2),
           ("one row per entry of b2 (the input)", "one column per unit of z2 (the output)")),
    Question("wb02.choice_db2", "Which is ∇b2 CE for one example?", "choice", _db2_claims,
             options={"a": "∇z2 CE", "b": "∇h2 CE", "c": "h1 ⊗ ∇z2 CE (an outer product)", "d": "W2 @ ∇z2 CE"},
             why_not={"b": "That skips the sigmoid: b2 sits before σ, so the factor σ'(z2) is still there.",
                      "c": "That is the gradient for W2; a bias is not multiplied by an input.",
                      "d": "That is the gradient for h1, with 512 entries; b2 has 256."}),
    # 6. the weights
    _shape("wb02.shape_dW2", "The shape of ∇W2 CE for one example.", _SHAPES["W2"],
           ("one row per unit of h1 (fan-in)", "one column per unit of z2 (fan-out)"),
           hints=("The loss is one number, so its gradient has the shape of W2.",)),
    _shape("wb02.shape_dz2_dW2ij", "The shape of ∇W2_ij z2, how the vector z2 responds to the single weight W2_ij.",
           (N_H2,), ("one entry per unit of z2",)),
    Question("wb02.choice_row_factor",
             "Entry (i, j) of ∇W2 CE is h1_i · (∇z2 CE)_j. Which factor has the same value all along row i?", "choice",
             _row_factor_claims,
             options={"a": "h1_i", "b": "(∇z2 CE)_j", "c": "Neither: both change along a row."},
             why_not={"b": "Moving along a row changes the column index j, and this factor depends on j.",
                      "c": "One of the two factors depends on the row index only."}),
    # 7. further back
    _shape("wb02.shape_dh1", "The shape of ∇h1 CE for one example.", (N_H1,), (UNITS.format("h1"),)),
    _shape("wb02.shape_dz1", "The shape of ∇z1 CE for one example.", (N_H1,), (UNITS.format("z1"),)),
    Question("wb02.choice_dz1", "Which is ∇z1 CE?", "choice", _dz1_claims,
             options={"a": "σ(z1) ⊙ (1 − σ(z1)) ⊙ ∇h1 CE", "b": "σ(z1) ⊙ (1 − σ(z2)) ⊙ ∇h1 CE",
                      "c": "σ(z1) ⊙ ∇h1 CE"},
             why_not={"b": "h1 = σ(z1) depends on z1 alone, so both factors of the derivative are about z1; z2 has "
                           "256 entries and cannot even be combined entry by entry with a 512-vector.",
                      "c": "σ(z1) is the activation, not its slope; the derivative is σ(z1)(1 − σ(z1))."}),
    _shape("wb02.shape_dW1", "The shape of ∇W1 CE for one example.", _SHAPES["W1"],
           ("one row per input pixel of x (fan-in)", "one column per unit of z1 (fan-out)")),
]
