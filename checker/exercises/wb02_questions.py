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
# Feedback points, never tells: a hint or a why_not names the mistake and where to look, and never
# states the shape, the formula or the choice that is asked for (tests/test_wb02_exercises.py checks).
# Shape questions carry no axis descriptions: for them, what each axis means is the answer.

COUNT_AXES = ("Count the axes that the input brings and those that the output brings, in the order of the notation "
              "(section 0).")
ONE_NUMBER = ("The loss is one number: which variable is this gradient taken with respect to, and what is its shape "
              "in numpy?")

QUESTIONS = [
    # 2. shapes in the chain rule
    _shape("wb02.shape_dz3",
           "The shape of ∇z3 CE, the gradient of the loss with respect to the logits z3 (one example).",
           (K,), (), hints=("How many numbers does the loss depend on here, and how many numbers is the loss?",)),
    _shape("wb02.shape_dCE", "The shape of ΔCE = Δz3 · ∇z3 CE, the (predicted) change of the loss.",
           (), (), hints=("What kind of object is a change of the loss, and how does numpy write the shape of "
                          "that kind of object? Try np.shape on one.",)),
    Question("wb02.choice_first_order",
             "How good is Δz3 · ∇z3 CE as a prediction of the real change CE(z3 + Δz3) − CE(z3)?", "choice",
             _first_order_claims,
             options={"a": "Exact for every Δz3: the loss is a linear function of z3.",
                      "b": "Right to first order: the error shrinks like |Δz3|², so it vanishes faster than Δz3.",
                      "c": "Exact when Δz3 is a multiple of the one-hot label y, approximate otherwise."},
             why_not={"a": "Test the claim: is the real change for a step 2Δz3 exactly twice the change for Δz3?",
                      "c": "Test it: move only the true class's logit and compare the real change of the loss "
                           "with the prediction."}),
    _shape("wb02.shape_dz3_dh2", "The shape of ∇h2 z3 (entry (i, j) = ∂z3_j/∂h2_i).", _SHAPES["W3"], (),
           hints=(COUNT_AXES,)),
    _shape("wb02.shape_delta_W2", "The shape of a change ΔW2 to the weights W2.", _SHAPES["W2"], (),
           hints=("A change of an array is added to that array entry by entry.",)),
    _shape("wb02.shape_dz2k_dW2", "The shape of ∇W2 z2_k, the gradient of one pre-activation z2_k with respect to W2.",
           _SHAPES["W2"], (), hints=(COUNT_AXES,)),
    Question("wb02.choice_both_inputs",
             "∇W2 z2_k and ∇h2 z3 are both 2-D arrays. What tells them apart?", "choice", _axes_claims,
             options={"a": "Both axes of ∇W2 z2_k index the input (an entry of W2) and the output z2_k is one number; "
                           "∇h2 z3 has one input axis (h2) and one output axis (z3).",
                      "b": "Nothing: each has one input axis and one output axis.",
                      "c": "∇W2 z2_k has one input axis and one output axis; both axes of ∇h2 z3 index the input h2."},
             why_not={"b": "How many axes does the output z2_k bring, and how many does the input W2 bring?",
                      "c": "Look again at which of the two outputs, z2_k or z3, is a single number."}),
    _shape("wb02.shape_dz2_dW2", "The shape of ∇W2 z2, the gradient of the whole vector z2 with respect to W2.",
           _SHAPES["W2"] + (N_H2,), (), hints=(COUNT_AXES,)),
    # 3. back through W3
    Question("wb02.choice_dz3_dh2", "Which array equals ∇h2 z3, whose entry (i, j) is ∂z3_j/∂h2_i?", "choice",
             _dz3_dh2_claims,
             options={"a": "W3", "b": "W3ᵀ, the transpose of W3", "c": "W2"},
             why_not={"b": "Compare the shape of your choice with the layout of ∇h2 z3: which axis comes first?",
                      "c": "Look at the formula for z3: which weights does it use?"}),
    _shape("wb02.shape_dz3j_dh2", "The shape of ∇h2 z3_j, the gradient of one logit z3_j with respect to h2.",
           (N_H2,), (), hints=(COUNT_AXES,)),
    _shape("wb02.shape_dz3_dh2i", "The shape of ∇h2_i z3, how the whole vector z3 responds to one unit h2_i.",
           (K,), (), hints=(COUNT_AXES,)),
    Question("wb02.choice_row_or_column",
             "∇h2_i z3 lists how each of the 10 logits responds to the single unit h2_i. Which slice is it?", "choice",
             _row_or_column_claims,
             options={"a": "Row i of W3, W3[i, :]", "b": "Column i of W3, W3[:, i]", "c": "Row i of W2, W2[i, :]"},
             why_not={"b": "Which index of W3 runs over the units of h2, and which over the logits?",
                      "c": "Look at the formula for z3: which weights does it use?"}),
    _shape("wb02.shape_dh2", "The shape of ∇h2 CE for one example.", (N_H2,), (), hints=(ONE_NUMBER,)),
    # 4. back through the sigmoid
    _shape("wb02.shape_dh2_dz2", "The shape of ∇z2 h2, the Jacobian of h2 = σ(z2).", (N_H2, N_H2), (),
           hints=(COUNT_AXES,)),
    _shape("wb02.shape_dz2", "The shape of ∇z2 CE for one example.", (N_H2,), (), hints=(ONE_NUMBER,)),
    Question("wb02.choice_how_many",
             f"Change one pre-activation z2_i and nothing else. How many of the {N_H2} activations h2_j change?",
             "choice", _how_many_claims,
             options={"a": f"All {N_H2}: every unit of layer 2 is connected to every other.",
                      "b": "Exactly one: h2_i.", "c": "None: only the next layer notices."},
             why_not={"a": "Write out how one activation h2_j is computed: which entries of z2 does it use?",
                      "c": "Write out how h2_i itself is computed."}),
    Question("wb02.choice_diag_times_matrix",
             "D is a diagonal matrix with d_0, d_1, … on its diagonal and M is a matrix. What is D @ M?", "choice",
             _diag_claims,
             options={"a": "M with row i multiplied by d_i", "b": "M with column i multiplied by d_i",
                      "c": "M with every entry multiplied by d_0 + d_1 + …"},
             why_not={"b": "Try it with a 2 × 2 diagonal D and a 2 × 3 matrix M: which entries of M meet d_0?",
                      "c": "Write out one entry (D M)_ij as a sum over k: which terms do the zeros of D remove?"}),
    # 5. the bias
    _shape("wb02.shape_dz2_db2", "The shape of ∇b2 z2.", (N_H2, N_H2), (), hints=(COUNT_AXES,)),
    Question("wb02.choice_db2", "Which is ∇b2 CE for one example?", "choice", _db2_claims,
             options={"a": "∇z2 CE", "b": "∇h2 CE", "c": "h1 ⊗ ∇z2 CE (an outer product)", "d": "W2 @ ∇z2 CE"},
             why_not={"b": "Where does b2 enter the network: before or after the sigmoid?",
                      "c": "Look at z2 = h1 W2 + b2: what multiplies b2?",
                      "d": "Compare the shape of this with the shape of b2."}),
    # 6. the weights
    _shape("wb02.shape_dW2", "The shape of ∇W2 CE for one example.", _SHAPES["W2"], (), hints=(ONE_NUMBER,)),
    _shape("wb02.shape_dz2_dW2ij", "The shape of ∇W2_ij z2, how the vector z2 responds to the single weight W2_ij.",
           (N_H2,), (), hints=(COUNT_AXES,)),
    Question("wb02.choice_row_factor",
             "Entry (i, j) of ∇W2 CE is h1_i · (∇z2 CE)_j. Which factor has the same value all along row i?", "choice",
             _row_factor_claims,
             options={"a": "h1_i", "b": "(∇z2 CE)_j", "c": "Neither: both change along a row."},
             why_not={"b": "Along row i, which of the two indices changes, and does this factor depend on it?",
                      "c": "Which index does each factor depend on, and which index changes along a row?"}),
    # 7. further back
    _shape("wb02.shape_dh1", "The shape of ∇h1 CE for one example.", (N_H1,), (), hints=(ONE_NUMBER,)),
    _shape("wb02.shape_dz1", "The shape of ∇z1 CE for one example.", (N_H1,), (), hints=(ONE_NUMBER,)),
    Question("wb02.choice_dz1", "Which is ∇z1 CE?", "choice", _dz1_claims,
             options={"a": "σ(z1) ⊙ (1 − σ(z1)) ⊙ ∇h1 CE", "b": "σ(z1) ⊙ (1 − σ(z2)) ⊙ ∇h1 CE",
                      "c": "σ(z1) ⊙ ∇h1 CE"},
             why_not={"b": "Check the sizes: can these factors be multiplied entry by entry? And which pre-activation "
                           "does h1 depend on?",
                      "c": "σ(z1) is the activation itself, not its slope: look back at question 4.8."}),
    _shape("wb02.shape_dW1", "The shape of ∇W1 CE for one example.", _SHAPES["W1"], (), hints=(ONE_NUMBER,)),
]
