"""Workbook 04: right batch implementations pass, the batch mistakes are caught and named with feedback
that points without telling, the graded questions' computed answers are the ones the workbook explains,
the fixed example holds what the notebook says about it, and the student version shows no answer and,
when a function is unfinished or wrong, goes on with one line per cell."""
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import student_runs as runs
from feedback_rules import assert_never_tells

from checker import evaluate, example, network
from checker.examples import path as example_path
from checker.exercises import Exercise, as_written, lookup, registry, shown_letter, wb04

σ = network.sigmoid
ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "04_batches_and_tensor_derivatives.ipynb"
STUDENT = ROOT / "notebooks" / "04_batches_and_tensor_derivatives.ipynb"
WB04 = {i: e for i, e in registry().items() if i.startswith("wb04.")}
FUNCTIONS = {e.name for e in WB04.values() if isinstance(e, Exercise)}


def grad_W_loops(H, dZ):
    out = np.zeros((H.shape[1], dZ.shape[1]))
    for i in range(H.shape[0]):
        out += np.outer(H[i], dZ[i])
    return out


def backward_einsum(X, Y, p):
    """Batch backward written with einsum and explicit per-layer lines."""
    H1 = σ(X @ p["W1"] + p["b1"])
    H2 = σ(H1 @ p["W2"] + p["b2"])
    H3 = network.softmax(H2 @ p["W3"] + p["b3"])
    dZ3 = (H3 - Y) / len(X)
    dZ2 = np.einsum("mk,jk->mj", dZ3, p["W3"]) * H2 * (1 - H2)
    dZ1 = np.einsum("mk,jk->mj", dZ2, p["W2"]) * H1 * (1 - H1)
    return {"W1": np.einsum("mi,mj->ij", X, dZ1), "b1": dZ1.sum(0), "W2": np.einsum("mi,mj->ij", H1, dZ2),
            "b2": dZ2.sum(0), "W3": np.einsum("mi,mj->ij", H2, dZ3), "b3": dZ3.sum(0)}


def backward_mean_of_examples(X, Y, p):
    """The mean of the one-example gradients: slow but right."""
    per = [network.backward(x, y, p) for x, y in zip(X, Y, strict=True)]
    return {k: np.mean([g[k] for g in per], axis=0) for k in network.PARAM_KEYS}


def backward_sigmoid_of_preactivation(X, Y, p):
    """σ'(Z) written as Z(1 − Z) in layer 1: a mistake the workbook's feedback points at."""
    H1 = σ(X @ p["W1"] + p["b1"])
    H2 = σ(H1 @ p["W2"] + p["b2"])
    Z1 = X @ p["W1"] + p["b1"]
    H3 = network.softmax(H2 @ p["W3"] + p["b3"])
    dZ3 = (H3 - Y) / len(X)
    dZ2 = dZ3 @ p["W3"].T * H2 * (1 - H2)
    dZ1 = dZ2 @ p["W2"].T * Z1 * (1 - Z1)
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(0), "W2": H1.T @ dZ2, "b2": dZ2.sum(0), "W3": H2.T @ dZ3, "b3": dZ3.sum(0)}


RIGHT = [
    ("wb04.grad_W", lambda H, dZ: np.einsum("mi,mj->ij", H, dZ)),
    ("wb04.grad_W", grad_W_loops),
    ("wb04.grad_W", lambda H, dZ: (H.astype(np.float32).T @ dZ.astype(np.float32))),
    ("wb04.grad_W", lambda H, dZ: (dZ.T @ H).T),
    ("wb04.grad_b", lambda dZ: np.ones(dZ.shape[0]) @ dZ),
    ("wb04.grad_b", lambda dZ: np.add.reduce(dZ.astype(np.float32), axis=0)),
    ("wb04.grad_b", lambda dZ: sum(row for row in dZ)),
    ("wb04.backward", backward_einsum),
    ("wb04.backward", backward_mean_of_examples),
]

# (exercise id, function, diagnosis, words in the message): run by tests/test_exercises.py with the
# tables of every workbook.
WRONG = [
    ("wb04.grad_W", lambda H, dZ: H.T @ dZ / H.shape[0], "scale", "divided by m one time too many"),
    ("wb04.grad_W", lambda H, dZ: H.T @ dZ * H.shape[0], "scale", "exactly m = 4 times"),
    ("wb04.grad_W", lambda H, dZ: dZ.T @ H, "transposed", "transpose"),
    ("wb04.grad_W", lambda H, dZ: np.outer(H.mean(axis=0), dZ.sum(axis=0)), "outer_of_means",
     "added up over the examples on its own"),
    ("wb04.grad_W", lambda H, dZ: np.einsum("mi,mj->mij", H, dZ), "wrong_shape", "one value per example"),
    ("wb04.grad_b", lambda dZ: dZ.mean(axis=0), "scale", "divided by m one time too many"),
    ("wb04.grad_b", lambda dZ: dZ.sum(axis=1), "wrong_shape", "one entry per unit of Z"),
    ("wb04.grad_b", lambda dZ: np.full(dZ.shape[1], dZ.sum()), "summed_wrong_axis", "which entries does it reach"),
    ("wb04.grad_b", lambda dZ: dZ.copy(), "wrong_shape", "one value per example"),
    ("wb04.backward", backward_sigmoid_of_preactivation, "derivative_of_preactivation", "dW1, db1"),
]


@pytest.mark.parametrize("exercise_id", ["wb04.grad_W", "wb04.grad_b"])
def test_reference_passes_and_cases_have_distinct_small_sizes(exercise_id):
    result = evaluate(exercise_id, lookup(exercise_id).reference, seed=1)
    assert result.passed and result.score == result.max_score, result.text()
    first = lookup(exercise_id).cases(np.random.default_rng(0))[0]
    sizes = {n for arg in first.args for n in arg.shape}     # m, fan_in, fan_out: a transpose cannot hide
    assert len(sizes) == (3 if exercise_id == "wb04.grad_W" else 2), first.label


def test_batch_mean_backward_equals_the_mean_of_one_example_gradients():
    rng = np.random.default_rng(0)
    p = network.init_params(rng, (6, 5, 4, 3))
    X, Y = rng.uniform(size=(7, 6)), np.eye(3)[rng.integers(3, size=7)]
    batch, per = network.backward(X, Y, p), backward_mean_of_examples(X, Y, p)
    for key in network.PARAM_KEYS:
        np.testing.assert_allclose(batch[key], per[key], rtol=1e-12, atol=1e-15)


# --- questions: the computed answers ---------------------------------------------------------

@pytest.mark.parametrize("qid, answer", [
    ("wb04.shape_X", (16, 1024)), ("wb04.shape_Z1", (16, 512)), ("wb04.n_bias_numbers", 512),
    ("wb04.shape_dW2", (512, 256)), ("wb04.shape_dz1_dW1", (1024, 512, 512)),
    ("wb04.tensor_bytes", 2 * 2 ** 30),
    ("wb04.choice_kronecker", "a"), ("wb04.choice_db", "a"), ("wb04.choice_chain_order", "a"),
])
def test_question_answers(qid, answer):
    assert as_written()[qid].answer() == answer   # choices: in the table's own letters
    assert evaluate(qid, shown_letter(qid, answer) if isinstance(answer, str) else answer).passed


@pytest.mark.parametrize("qid, wrong", [
    ("wb04.n_bias_numbers", 16 * 512), ("wb04.shape_Z1", (512, 16)), ("wb04.choice_db", "b"),
    ("wb04.choice_chain_order", "b"), ("wb04.choice_kronecker", "c"), ("wb04.tensor_bytes", 1024 * 512 * 8),
])
def test_wrong_answers_fail(qid, wrong):
    result = evaluate(qid, shown_letter(qid, wrong) if isinstance(wrong, str) else wrong)
    assert not result.passed and result.score == 0, result.text()


# --- feedback that points and never tells --------------------------------------------------------

# The formulas and facts the workbook asks for; "last axis" is allowed: forward's statement gives it.
FORMULAS = ["H.T", "A.T", "Aᵀ", "A^T", ".T @", "@ dZ", "dZ.sum", "sum(axis=0)", "axis=0", "axis 0",
            "sum dZ over", "carries the 1/m", "already carries", "divide by m once", "σ(z)(1", "σ(1 − σ)",
            "1 − σ", "1 - σ", "h(1 − h)", "δ_pk", "column k", "only reach", "(16, 1024)", "(1024, 512, 512)",
            "2147483648", "2 GiB", "H3 - Y", "H3 − Y", "h3 - y", "input axes on the left"]


@pytest.mark.parametrize("exercise_id", sorted(WB04))
def test_no_feedback_text_states_a_formula_or_an_answer(exercise_id):
    assert_never_tells(WB04[exercise_id], FORMULAS)


def test_every_function_has_a_hint_and_its_named_mistakes_have_their_own_text():
    for name in FUNCTIONS:
        entry = lookup(f"wb04.{name}")
        assert entry.hints, name
        case = entry.cases(np.random.default_rng(0))[0]
        assert all(len(mistake) == 3 for mistake in entry.mistakes(*case.args)), name


def test_backward_names_the_sigmoid_mistakes_with_this_workbooks_texts():
    result = evaluate("wb04.backward", backward_sigmoid_of_preactivation, seed=4)
    assert result.diagnosis == "derivative_of_preactivation"
    assert "which array of your forward pass holds it" in result.message
    assert "σ(z)" not in result.message and "1 −" not in result.message


# --- the fixed example and what the notebook says about it ---------------------------------------------

def test_the_stored_example_is_small_and_is_the_reference_on_its_batch():
    assert example_path("wb04").stat().st_size < 1_500_000
    ex = example("wb04")
    params = network.init_params(np.random.default_rng(0))
    assert all(np.array_equal(ex.params[k], params[k]) for k in network.PARAM_KEYS)
    assert ex.X.shape == (16, 1024) and ex.Y.shape == (16, 10)
    cache = network.forward(ex.X, params)
    assert all(np.allclose(ex.cache[k], cache[k], rtol=1e-12) for k in network.CACHE_KEYS)
    grads = network.backward(ex.X, ex.Y, params)
    assert all(np.allclose(ex.grads[k], grads[k], rtol=1e-6, atol=1e-12) for k in network.PARAM_KEYS)
    assert np.allclose(ex.dZ3, (cache["h3"] - ex.Y) / 16, rtol=1e-12)
    one = network.forward(ex.X[wb04.ONE:wb04.ONE + 1], params)
    assert all(np.allclose(ex.cache_of_one[k], one[k], rtol=1e-12) for k in network.CACHE_KEYS)


def test_the_example_images_have_a_dark_border_whose_weights_get_no_gradient():
    """Section 1 and section 6 print these counts: 768 border pixels, 768 zero rows of dW1."""
    ex = example("wb04")
    images = ex.X.reshape(16, 32, 32)
    border = np.ones((32, 32), dtype=bool)
    border[8:24, 8:24] = False
    assert np.all(images[:, border] == 0) and np.all(np.isclose(ex.X * 255, np.round(ex.X * 255)))
    zero_pixels = np.all(ex.X == 0, axis=0)
    assert zero_pixels.sum() == 768
    assert np.all(np.all(ex.grads["W1"] == 0, axis=1) == zero_pixels)


def test_the_multiplications_of_both_groupings_are_the_ones_the_notebook_prints():
    """Issue 12: the sigmoid factors do not cost the same either way (768 against 786,432)."""
    n_in, n_h1, n_h2, k = network.LAYER_SIZES
    count = {"n": 0}

    def times(a, b):
        count["n"] += a.shape[0] * a.shape[-1] * (b.shape[-1] if b.ndim == 2 else 1)
        return a @ b

    def scaled(a, d):
        count["n"] += a.size
        return a * d

    ex = example("wb04")
    p = ex.params
    one = network.forward(ex.X[9], p)
    s1, s2 = one["h1"] * (1 - one["h1"]), one["h2"] * (1 - one["h2"])
    v = one["h3"] - ex.Y[9]
    from_loss = times(p["W1"], scaled(times(p["W2"], scaled(times(p["W3"], v), s2)), s1))
    n_loss, count["n"] = count["n"], 0
    from_input = times(times(scaled(times(scaled(p["W1"], s1), p["W2"]), s2), p["W3"]), v)
    n_input = count["n"]
    assert np.allclose(from_loss, from_input, rtol=1e-10, atol=1e-14)
    dz1 = network.backward(ex.X[9], ex.Y[9], p)["b1"]        # one example's ∇z1 CE
    assert np.allclose(from_loss, p["W1"] @ dz1, rtol=1e-10, atol=1e-14)
    assert (n_loss, n_input) == (657_920 + 768, 136_849_408 + 786_432)
    assert (n_h1 + n_h2, n_in * (n_h1 + n_h2)) == (768, 786_432)


# --- the notebook: layout of choices, the source notes it corrects ------------------------------------------

def code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def markdown_text(path):
    return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")


def test_the_notes_correct_the_seeds_as_the_source_map_says():
    text = markdown_text(SOLUTION)
    slips = re.search(r"contains (\w+) slips\.(.*?)\n", text)
    numbered = re.findall(r"\((\d)\)", slips.group(2))
    assert slips.group(1) == "four" and numbered == ["1", "2", "3", "4"]
    assert "letting $c_k$ denote the $i$-th element of $c$" in text          # seed 003, in section 5
    assert "(\\mathbf{h} - \\mathbf{z})^2" in text and "\\Delta y_i = \\nabla_x y_i \\cdot \\Delta x" in text
    assert "cost the same either way" not in text.replace("do not cost the same either way", "")


# --- the student version -------------------------------------------------------------------------------------

def test_no_student_code_cell_holds_the_workbooks_answer_expressions():
    """As text; every expression of every solution region is checked by the build (test_build)."""
    text = "\n".join(c.source for c in code_cells(STUDENT) if c.id != "setup-checker")
    for answer in ("H.T @ dZ", "A_s.T @ dZ_s", "dZ.sum(axis=0)", "sum(axis=0)", "H3 - Y", "- Y) / m",
                   ".T) *", "(1 - H)", "np.outer(", "ones(4) @", "einsum"):
        assert answer not in text, answer


def test_the_student_version_states_no_graded_shape_number_or_formula():
    nb = nbformat.read(STUDENT, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.id != "setup-checker")
    for answer in ("(16, 1024)", "(16, 512)", "(512, 256)", "(1024, 512, 512)", "2147483648", "2,147,483,648",
                   "2 GiB", "268,435,456", "A^\\top dZ", "A^\\top\\, dZ", "(H^{(3)} - Y)/m", "A_{ij}\\delta_{pk} =",
                   "= A_{ij}", "x_i \\delta_{jk}", "x_i\\,\\delta_{jk}", "has the shape of $W^{(2)}$"):
        assert answer not in text, answer


@pytest.fixture(scope="module")
def student_run_with_mistakes():
    """The student version with one realistic wrong function per section and wrong answers elsewhere."""
    wrong = {"wb04-020": "return {'z1': X @ params['W1'], 'h1': X, 'z2': X, 'h2': X, 'z3': X, 'h3': X}",
             "wb04-037": "return dZ.T @ H",
             "wb04-043": "return dZ.mean(axis=0)"}
    answers = {"shape_X": "(1024, 16)", "n_bias_numbers": "16 * 512", "choice_db": '"b"',
               "shape_dW2": "(16, 512, 256)", "tensor_bytes": "1024 * 512 * 8"}
    return runs.execute(runs.with_mistakes(nbformat.read(STUDENT, as_version=4), wrong, answers), STUDENT.parent)


def test_a_wrong_function_stops_in_one_place_and_later_cells_say_so_in_one_line(student_run_with_mistakes):
    text = runs.stops_in_one_place(student_run_with_mistakes)
    assert "forward is not right yet" in text["wb04-022"]
    assert "grad_W is not right yet" in text["wb04-038"] and "grad_W is not right yet" in text["wb04-065"]
    assert "grad_b is not right yet" in text["wb04-044"]
    assert "backward is not done yet" in text["wb04-073"]
    assert "shape of the example's X: False" in text["wb04-009"]
    assert "different numbers in it: False" in text["wb04-015"]
    assert "your shape_dW2 is the shape of your gradient of W2: False" in text["wb04-073"]
    assert "answer Question 5.1 first" in text["wb04-068"]
