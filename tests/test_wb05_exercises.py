"""Workbook 05: right numerical gradients and relative errors pass, the usual mistakes are named, the
worked examples' answers agree with central differences of the loss, the float32 claims hold as measured,
the feedback points without telling, and the student notebook shows no answer and no reference."""
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from checker import evaluate, examples, gradcheck, network
from checker.exercises import as_written, feedback_texts, lookup, registry, shown_letter, wb05
from checker.exercises import wb05_questions as q

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "05_gradient_checking_and_worked_examples.ipynb"


def gradient_flat_loop(f, x, eps):
    """Steps built from a flat copy, one unit vector at a time."""
    x = np.asarray(x, dtype=float)
    flat = np.zeros(x.size)
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = eps
        flat[i] = (f(x + e.reshape(x.shape)) - f(x - e.reshape(x.shape))) / (2 * eps)
    return flat.reshape(x.shape)


def gradient_in_place(f, x, eps):
    """Moves the entries of the given array and puts each one back exactly."""
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + eps
        plus = f(x)
        x[index] = old - eps
        minus = f(x)
        x[index] = old
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def gradient_left_perturbed(f, x, eps):
    """Forgets to put the entries back."""
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        x[index] += eps
        plus = f(x)
        x[index] -= 2 * eps
        minus = f(x)
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def gradient_mutating(f, x, eps):
    out = wb05.central_differences(f, x, eps)
    x[...] = 0.0
    return out


def rel_with_loops(a, b):
    """Sums of squares in plain Python loops."""
    a, b = np.ravel(a).tolist(), np.ravel(b).tolist()
    diff = sum((u - v) ** 2 for u, v in zip(a, b, strict=True)) ** 0.5
    scale = max(sum(u * u for u in a) ** 0.5, sum(v * v for v in b) ** 0.5)
    return 0.0 if scale == 0 else diff / scale


RIGHT = [
    ("wb05.numerical_gradient", gradient_flat_loop),
    ("wb05.numerical_gradient", gradient_in_place),
    ("wb05.relative_error", lambda a, b: (0.0 if not np.any(a) and not np.any(b) else
                                          float(np.linalg.norm(np.subtract(a, b))
                                                / max(np.linalg.norm(a), np.linalg.norm(b))))),
    ("wb05.relative_error", rel_with_loops),
    ("wb05.relative_error", lambda a, b: float(np.linalg.norm(np.subtract(a, b)) /
                                                max(np.linalg.norm(a), np.linalg.norm(b), np.finfo(float).tiny))),
]

WRONG = [
    ("wb05.numerical_gradient", wb05.forward_differences, "forward_difference", "one-sided difference"),
    ("wb05.numerical_gradient", lambda f, x, e: 2 * wb05.central_differences(f, x, e), "half_step",
     "twice the central difference"),
    ("wb05.numerical_gradient", lambda f, x, e: wb05.central_differences(f, x, e).ravel(), "wrong_shape", "(3, 4)"),
    ("wb05.numerical_gradient", gradient_mutating, "mutated_input", "x"),
    ("wb05.numerical_gradient", gradient_left_perturbed, "wrong_values", "wrong values"),
    ("wb05.relative_error", lambda a, b: float(np.linalg.norm(np.subtract(a, b))), "absolute_error",
     "absolute difference"),
    ("wb05.relative_error", lambda a, b: float(np.linalg.norm(np.subtract(a, b)) / np.linalg.norm(b)),
     "one_sided_scale", "divides by ‖b‖ only"),
    ("wb05.relative_error", lambda a, b: float(np.linalg.norm(np.subtract(a, b)) / np.linalg.norm(a)),
     "one_sided_scale", "divides by ‖a‖ only"),
    ("wb05.relative_error",
     lambda a, b: float(np.linalg.norm(np.subtract(a, b)) / max(np.linalg.norm(a), np.linalg.norm(b))),
     "nonfinite", "two zero arrays"),
    ("wb05.relative_error",   # float32 cannot resolve a relative difference of 1e-7
     lambda a, b: float(np.linalg.norm(np.float32(a) - np.float32(b))
                        / max(np.linalg.norm(a), np.linalg.norm(b), 1e-300)),
     "wrong_values", "relative size 1e-7"),
]


@pytest.mark.parametrize("exercise_id", ["wb05.numerical_gradient", "wb05.relative_error"])
def test_reference_passes(exercise_id):
    result = evaluate(exercise_id, lookup(exercise_id).reference, seed=1)
    assert result.passed and result.score == result.max_score, result.text()


def test_reference_gradient_matches_backprop_on_the_network():
    rng = np.random.default_rng(0)
    p = network.init_params(rng, (6, 5, 4, 3))
    x, y = rng.uniform(size=6), np.eye(3)[2]
    grads = network.backward(x, y, p)
    for key in network.PARAM_KEYS:
        numeric = wb05.central_differences(lambda v, key=key: network.loss(x, y, {**p, key: v}), p[key], 1e-6)
        assert wb05.relative_error(grads[key], numeric) < 1e-7, key


def test_relative_error_is_symmetric_and_scale_free():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=9), rng.normal(size=9)
    assert wb05.relative_error(a, b) == pytest.approx(wb05.relative_error(b, a))
    assert wb05.relative_error(1e9 * a, 1e9 * b) == pytest.approx(wb05.relative_error(a, b))
    assert wb05.relative_error(a, -a) == pytest.approx(2.0)


# --- the worked examples: every answer against central differences of the loss ----------------

def _entry(f, M, index, eps=1e-6):
    step = np.zeros_like(M)
    step[index] = eps
    return (f(M + step) - f(M - step)) / (2 * eps)


def test_442_gradients_are_the_loss_slopes_and_twice_the_one_path_values():
    V1, V2 = q.NOTES_W1.T, q.NOTES_W2.T
    w212 = _entry(lambda V: q.loss_442(V1, V), V2, (1, 0))
    w131 = _entry(lambda V: q.loss_442(V, V2), V1, (0, 2))
    assert lookup("wb05.dL_dw212").answer() == pytest.approx(w212, rel=1e-7)
    assert lookup("wb05.dL_dw131").answer() == pytest.approx(w131, rel=1e-6)
    assert w212 == pytest.approx(2 * -0.0652, rel=2e-3)          # the notes' one-path value is −0.065
    assert w131 == pytest.approx(2 * 0.00158, rel=1e-2)         # the notes' two-path value, unrounded
    h1 = network.sigmoid(q.X_442 @ V1)                          # the notes' forward numbers leave out b
    np.testing.assert_allclose(np.round(h1, 2), [0.95, 0.80, 0.89, 0.91])


@pytest.mark.parametrize("qid, answer", [
    ("wb05.n_loss_evaluations", 1_317_396), ("wb05.choice_threshold", "a"), ("wb05.choice_float32", "a"),
    ("wb05.choice_half", "a"),
])
def test_question_answers(qid, answer):
    assert as_written()[qid].answer() == answer   # choices: in the table's own letters
    assert evaluate(qid, shown_letter(qid, answer) if isinstance(answer, str) else answer).passed


@pytest.mark.parametrize("qid, wrong", [
    ("wb05.dL_dw212", -0.065), ("wb05.dL_dw131", 0.001595), ("wb05.n_loss_evaluations", 658_698),
    ("wb05.choice_half", "b"), ("wb05.choice_float32", "b"),
])
def test_the_notes_values_fail(qid, wrong):
    assert not evaluate(qid, wrong).passed


# --- issue 12: what the float32 question claims, as measured on the small network --------------------

def test_float32_check_is_best_near_3e_2_and_never_reaches_the_tolerance():
    errors32, errors64 = q.float32_sweep()
    best = int(np.argmin(errors32))
    assert 0 < best < len(q.FLOAT32_STEPS) - 1                 # the minimum lies inside the sweep
    assert 1e-2 < q.FLOAT32_STEPS[best] < 1e-1
    assert 1e-5 < errors32[best] < 1e-4                        # below 1e-4, far above the checker's 1e-6
    assert errors64.min() < 1e-9
    at_1e2 = int(np.argmin(abs(np.log10(q.FLOAT32_STEPS) + 2)))
    assert errors32[at_1e2] > 10 * errors64[at_1e2]            # at ε = 1e-2 rounding still dominates float32


# --- the fixed example (checker/examples/wb05.npz) ------------------------------------------------------

def test_the_stored_example_is_the_tables_example_and_small():
    values, seed = q.example()
    assert examples.differences(examples.read("wb05"), examples.encode(values, seed)) == []
    assert examples.path("wb05").stat().st_size < 1.5e6


def test_gradcheck_passes_the_examples_gradients_and_fails_the_layer_1_mistake():
    ex = examples.example("wb05")
    params, x, y = ex.params, ex.x, ex.y
    assert gradcheck(ex.grads, x, y, params).passed
    assert {t.key for t in gradcheck({**ex.grads, **ex.bug}, x, y, params).tensors if not t.passed} == {"W1", "b1"}


# --- feedback points, never tells ----------------------------------------------------------------------

TELLS = ["2ε", "2 * eps", "/ (2", "divide by 2", "max(", "larger of", "shrinks only like", "ε²", "norm(a - b)",
         "0.13", "0.129", "factor of 2", "0.00316", "1,317,396", "1317396", "four paths", "ŷ2", "1 − σ", "overlap"]


def _feedback_texts():
    return [text for i, entry in registry().items() if i.startswith("wb05.") for _, text in feedback_texts(entry)]


@pytest.mark.parametrize("fragment", TELLS)
def test_no_hint_or_mistake_text_states_the_answer(fragment):
    assert not [text for text in _feedback_texts() if fragment in text]


# --- the student notebook -------------------------------------------------------------------------------

def _student_cells():
    return nbformat.read(ROOT / "notebooks" / NOTEBOOK, as_version=4).cells


def test_the_student_notebook_uses_no_reference_and_shows_no_answer():
    code = "\n".join(c.source for c in _student_cells() if c.cell_type == "code")
    text = "\n".join(c.source for c in _student_cells())
    for banned in ("checker.network", "network.", "lookup", ".reference", ".answer(", "from checker.exercises"):
        assert banned not in code, banned
    # the solution regions of the two functions, and obvious equivalents
    for pattern in (r"/\s*\(?\s*2\s*\*\s*eps", r"norm\(\s*a\s*-\s*b", r"max\(\s*np\.linalg\.norm"):
        assert not re.search(pattern, code), pattern
    # the graded numbers
    for number in ("1317396", "1,317,396", "0.1304", "0.13038", "0.00316", "0.003159"):
        assert number not in text, number


def test_the_choice_lists_are_the_tables_options():
    text = "\n".join(c.source for c in _student_cells() if c.cell_type == "markdown")
    for qid in ("wb05.choice_threshold", "wb05.choice_float32", "wb05.choice_half"):
        block = text.split(f"<!-- choices: {qid} -->")[1].split("<!-- end choices -->")[0]
        listed = re.findall(r"^\* \((\w)\) (.+)$", block, re.MULTILINE)
        assert listed == list(lookup(qid).options.items()), qid


def numerical_gradient_restoring_by_arithmetic(f, x, eps):
    """Central differences that step the caller's x in place and step back: x comes back off by rounding."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += eps
        up = f(x)
        x[i] -= 2 * eps
        down = f(x)
        x[i] += eps
        grad[i] = (up - down) / (2 * eps)
    return grad


def test_an_input_put_back_by_arithmetic_is_told_apart_from_one_changed_on_purpose():
    rounded = evaluate("wb05.numerical_gradient", numerical_gradient_restoring_by_arithmetic, seed=0)
    assert rounded.diagnosis == "mutated_input" and "off by a rounding error" in rounded.message
    assert "put back the value you saved" in rounded.message
    assert evaluate("wb05.numerical_gradient", gradient_in_place, seed=0).passed
    scaled = evaluate("wb05.numerical_gradient", lambda f, x, eps: (x.__imul__(2), wb05.central_differences(
        f, x / 2, eps))[1], seed=0)
    assert scaled.diagnosis == "mutated_input" and "rounding" not in scaled.message
