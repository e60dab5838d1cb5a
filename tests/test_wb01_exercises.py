"""Workbook 01: its functions accept right answers written in other ways and name the typical
mistakes; its questions are decided by numbers in the series' gradient layout; its feedback points
without telling; its fixed example holds what the notebook says about it; and its student version
shows no answer and, when a function is unfinished or wrong, goes on with one line per cell."""
from pathlib import Path

import nbformat
import numpy as np
import pytest
import student_runs as runs
from feedback_rules import assert_never_tells

from checker import evaluate, example, network
from checker.examples import path as example_path
from checker.exercises import Exercise, as_written, lookup, registry

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "01_forward_pass_and_output_layer.ipynb"
STUDENT = ROOT / "notebooks" / "01_forward_pass_and_output_layer.ipynb"
WB01 = {i: e for i, e in registry().items() if i.startswith("wb01.")}
FUNCTIONS = {e.name for e in WB01.values() if isinstance(e, Exercise)}


def jacobian_by_central_differences(f, z, eps=1e-6):
    """The series' gradient layout: entry (i, j) = ∂f_j/∂z_i, one row per entry of z."""
    rows = []
    for i in range(z.size):
        step = np.zeros(z.size)
        step[i] = eps
        rows.append((f(z + step) - f(z - step)) / (2 * eps))
    return np.stack(rows)


# --- right answers written in other ways, and the mistakes of this workbook --------------------

def grad_z3_through_the_jacobian(h3, y):
    """The two factors of the workbook, multiplied in the series' order (h3 has no zero here)."""
    return (np.diag(h3) - np.outer(h3, h3)) @ (-y / h3)


RIGHT = [
    ("wb01.cross_entropy", lambda h3, y: float(-np.log(h3[np.argmax(y)]))),
    # an ε inside the log: off by 1e-12, which a case whose loss is exactly 0 once failed on every seed
    ("wb01.cross_entropy", lambda h3, y: -np.sum(y * np.log(h3 + 1e-12))),
    ("wb01.cross_entropy", lambda h3, y: -np.sum(y * np.log(np.clip(h3, 1e-15, 1.0)))),
    ("wb01.grad_z3", grad_z3_through_the_jacobian),
    ("wb01.grad_z3", lambda h3, y: np.asarray(h3, dtype=np.float32) - np.asarray(y, dtype=np.float32)),
    ("wb01.grad_W3", lambda h2, dz3: np.einsum("i,j->ij", h2, dz3)),
    ("wb01.grad_b3", lambda dz3: np.array(dz3, copy=True)),
]


def test_the_naive_sigmoid_passes_its_values_are_right():
    """The notebook (Q7) says so: a formula that overflows on the way still passes."""
    with np.errstate(all="ignore"):
        result = evaluate("wb01.sigmoid", lambda z: 1 / (1 + np.exp(-z)), seed=2)
    assert result.passed, result.text()


def test_the_naive_sigmoid_passes_with_a_visible_overflow_remark():
    with np.errstate(all="ignore"):
        result = evaluate("wb01.sigmoid", lambda z: 1 / (1 + np.exp(-z)), seed=2)
    assert result.passed and "overflow" in result.text().lower()


def one_path_shortcut(h3, y):
    """Only the diagonal of the softmax Jacobian: ∂CE/∂h_j · ∂h_j/∂z_j for each j."""
    return np.where(y == 1, h3 - 1, 0.0)


# (exercise id, function, diagnosis, words in the message): run by tests/test_exercises.py with the
# tables of every workbook; the mistakes below are the ones this workbook's notebook talks about.
WRONG = [
    ("wb01.sigmoid", lambda z: np.exp(z) / (1 + np.exp(z)), "nonfinite", "saturated z"),
    ("wb01.softmax", lambda z: np.exp(z - z.max()) / np.exp(z - z.max()).sum(), "wrong_axis", "wrong axis"),
    ("wb01.grad_z3", one_path_shortcut, "one_path_shortcut", "0 for every wrong class"),
    ("wb01.grad_b3", lambda dz3: 2 * dz3, "scale", "times 2"),
    ("wb01.cross_entropy", lambda h3, y: -np.mean(y * np.log(np.where(y > 0, h3, 1.0))), "mean_over_classes",
     "number of classes"),
]


def test_the_workbooks_own_mistakes_are_named_and_the_functions_all_have_one():
    assert {i for i, *_ in WRONG} | {"wb01.cross_entropy", "wb01.grad_W3"} == {f"wb01.{n}" for n in FUNCTIONS}
    for exercise_id, fn, diagnosis, words in WRONG:
        with np.errstate(all="ignore"):
            result = evaluate(exercise_id, fn, seed=5)
        assert result.diagnosis == diagnosis and words in result.message, result.text()


# --- the questions, decided by numbers in the gradient layout -------------------------------------

def test_softmax_jacobian_in_the_gradient_layout_is_diag_minus_outer_and_symmetric():
    z = np.random.default_rng(7).normal(size=10)
    h = network.softmax(z)
    G = jacobian_by_central_differences(network.softmax, z)
    assert np.allclose(G, np.diag(h) - np.outer(h, h), atol=1e-9)
    assert np.allclose(G, G.T, atol=1e-9) and np.allclose(G.sum(axis=1), 0.0, atol=1e-9)
    i, j = 2, 5   # off the diagonal: ∂h_j/∂z_i is −h_i h_j, and neither "diagonal form" reading of it
    assert G[i, j] == pytest.approx(-h[i] * h[j], rel=1e-6)
    assert not np.isclose(G[i, j], h[j] * (1 - h[i])) and not np.isclose(G[i, j], h[i] * (1 - h[j]))


def test_the_choice_answers_and_the_layout_of_the_jacobian_questions():
    table = as_written()   # the tables' own letters; the student sees them re-lettered
    assert {q: table[f"wb01.{q}"].answer() for q in ("sigmoid_at_minus_1000", "softmax_shift", "jacobian_offdiag")} \
        == {"sigmoid_at_minus_1000": "b", "softmax_shift": "b", "jacobian_offdiag": "b"}
    shape_J = lookup("wb01.shape_J")
    assert shape_J.answer() == (10, 10) and "logit" in shape_J.axes[0] and "probability" in shape_J.axes[1]
    assert "∂h3_j / ∂z3_i" in lookup("wb01.jacobian_offdiag").prompt


def test_the_one_path_shortcut_is_zero_at_every_wrong_class_where_the_gradient_is_h():
    """Issue 12: the shortcut is not harmless for the cross-entropy."""
    rng = np.random.default_rng(11)
    for _ in range(5):
        z, label = rng.normal(size=10), rng.integers(10)
        y = np.eye(10)[label]
        h = network.softmax(z)
        measured = np.array([(network.cross_entropy(network.softmax(z + e), y)
                              - network.cross_entropy(network.softmax(z - e), y)) / 2e-6
                             for e in np.eye(10) * 1e-6])
        wrong = y == 0
        assert np.all(one_path_shortcut(h, y)[wrong] == 0)
        assert np.allclose(measured[wrong], h[wrong], atol=1e-8) and np.all(h[wrong] > 0)
        assert measured[label] == pytest.approx(h[label] - 1, abs=1e-8)


# --- feedback that points and never tells -----------------------------------------------------------

FORMULAS = ["h3 - y", "h - y", "h3 − y", "y - h3", "np.outer", "outer product", "σ(z)(1", "σ(1 − σ)", "-|z|",
            "−|z|", "abs(", "subtract", "maximum", "max(", "y != 0", "mask", "argmax", "straight through",
            "diag(", "-h3_i h3_j", "−h3_i h3_j", "log 10", "log(10)", "2.30", "658", "1/10", "same number"]


@pytest.mark.parametrize("exercise_id", sorted(WB01))
def test_no_hint_or_why_not_states_a_formula_or_an_answer(exercise_id):
    """Hints and why_not texts (the named mistakes' texts are read by test_feedback)."""
    entry = WB01[exercise_id]
    assert_never_tells(entry, FORMULAS, where=lambda what: what == "hint" or what.startswith("why_not"))


def test_every_function_of_the_workbook_has_a_hint_that_points_somewhere():
    for name in FUNCTIONS:
        assert lookup(f"wb01.{name}").hints, name


# --- the fixed example and what the notebook says about it -------------------------------------------

def test_the_stored_example_is_small_and_draws_the_same_parameters():
    assert example_path("wb01").stat().st_size < 1_500_000
    ex = example("wb01")
    params = network.init_params(np.random.default_rng(0))
    assert all(np.array_equal(ex.params[k], params[k]) for k in network.PARAM_KEYS)
    cache = network.forward(ex.x, params)
    assert all(np.allclose(ex.cache[k], cache[k], rtol=1e-12) for k in network.CACHE_KEYS)
    assert ex.X.shape == (32, 1024) and ex.Y.shape == (32, 10)
    batch = network.forward(ex.X, params)
    assert all(np.allclose(ex.batch[k], batch[k], rtol=1e-5, atol=1e-6) for k in network.CACHE_KEYS)


def test_the_untrained_loss_is_not_log_10_and_the_notebook_says_why():
    """The numbers behind the markdown of section 4 ('by about 1.6', 'a factor of about 5', 'about half of
    1/10', 'one of the smallest', the mean over the labels closer to but above log 10)."""
    ex = example("wb01")
    h3, z3 = ex.cache["h3"], ex.cache["z3"]
    assert float(ex.loss) == pytest.approx(2.9393, abs=5e-5) and float(ex.loss) > np.log(10) + 0.5
    assert z3.max() - z3.min() == pytest.approx(1.6, abs=0.1)
    assert h3.max() / h3.min() == pytest.approx(5, abs=0.5)
    assert h3[3] == pytest.approx(0.05, abs=0.005) and sorted(h3).index(h3[3]) <= 1
    mean = ex.ce_every_label.mean()
    assert np.log(10) < mean < float(ex.loss) and mean - np.log(10) < 0.2
    assert np.allclose(ex.ce_every_label, [network.cross_entropy(h3, label) for label in np.eye(10)])


def test_averaged_over_the_labels_no_network_beats_the_uniform_guess():
    rng = np.random.default_rng(1)
    for scale in (0.1, 1.0, 5.0):
        h = network.softmax(rng.normal(0.0, scale, size=10))
        assert np.mean([network.cross_entropy(h, label) for label in np.eye(10)]) >= np.log(10)


# --- the student version ---------------------------------------------------------------------------------

def code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_no_student_code_cell_holds_the_issues_answer_expressions():
    """The examples of issue 11, as text; every solution expression is checked by the build (test_build)."""
    text = "\n".join(c.source for c in code_cells(STUDENT) if c.id != "setup-checker")
    for answer in ("np.diag(h3) - np.outer(h3, h3)", "h3 - y", "-y / h3", "np.outer(h2, dz3)", "dz3.copy()"):
        assert answer not in text


def test_the_student_version_states_no_graded_number_or_gradient_shape():
    nb = nbformat.read(STUDENT, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.id != "setup-checker")
    for answer in ("658698", "658,698", "2.3026", "2.30", "log 10", "\\log 10", "(256, 10)", "(10, 10)",
                   "h^{(3)} - y", "(fan_in, fan_out)"):
        assert answer not in text, answer


@pytest.fixture(scope="module")
def student_run_with_mistakes():
    """The student version with one realistic wrong function per section and wrong answers elsewhere."""
    wrong = {"sigmoid": "return 1 / (1 + np.exp(z))",
             "softmax": "e = np.exp(z - z.max())\n    return e / e.sum(axis=0)",
             "cross-entropy": "return float(np.sum(y * np.log(np.where(y > 0, h3, 1.0))))",
             "grad-z3": "return y - h3",
             "grad-W3": "return np.outer(dz3, h2)"}
    answers = {"shape_W1": "(512, 1024)", "n_params": "1024 * 512", "ce_uniform": "np.log(0.1)", "shape_J": "(10,)"}
    return runs.execute(runs.with_mistakes(nbformat.read(STUDENT, as_version=4), wrong, answers), STUDENT.parent)


def test_a_wrong_function_stops_in_one_place_and_later_cells_say_so_in_one_line(student_run_with_mistakes):
    text = runs.stops_in_one_place(student_run_with_mistakes)
    assert "grad_z3 is not right yet" in text["grad-z3-yours"]
    assert "grad_W3 is not right yet" in text["grad-W3-confirm"]
    assert "grad_b3 is not done yet" in text["grad-b3-confirm"]
    assert "differ: W1" in text["shapes-confirm"]
    assert "parameter arrays: False" in text["n-params-confirm"]
