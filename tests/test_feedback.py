"""Feedback that points, never tells (issue 11 item 5).

For every exercise and every mistake it names (its table's ``mistakes`` and the judge's own: sign,
scale, transposed, shape, non-finite), the message shown to the student contains no right formula: no
expression of the exercise's reference or of its solution in solutions/, and none of the formulas
written out below.  A wrong shape is never answered with the right shape, a wrong choice never with
the right letter or option, a wrong number never with the right number.  A right answer reached in a
fragile way passes with a visible warning.
"""
import ast
import importlib.util
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from checker import evaluate, network
from checker.exercises import Exercise, Question, registry

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "tools" / "build_notebooks.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

FUNCTIONS = {i: e for i, e in registry().items() if isinstance(e, Exercise)}
QUESTIONS = {i: e for i, e in registry().items() if isinstance(e, Question)}

# The answers written as a person writes them (the code forms come from the references themselves).
WRITTEN = {
    "sigmoid_grad": ["σ(z)(1 − σ(z))", "σ(z)(1-σ(z))", "σ(1 − σ)", "s(1 − s)"],
    "grad_z1": ["σ(z)(1 − σ(z))", "σ(1 − σ)"], "grad_z2": ["σ(z)(1 − σ(z))", "σ(1 − σ)"],
    "sigmoid_neuron_backward": ["σ(z)(1 − σ(z))"],
    "tanh_grad": ["1 − tanh(z)²", "1 - tanh(z)**2"],
    "relu_grad": ["1 where z > 0 and 0 elsewhere"],
    "leaky_relu_grad": ["1 where z > 0 and alpha elsewhere"],
    "elu_grad": ["alpha·e^z", "alpha * e^z"],
    "softplus_grad": ["derivative is the sigmoid", "= σ(z)", "e^z / (1 + e^z)"],
    "grad_b": ["sum dZ over the examples", "sum over the examples"],
    "grad_W": ["H.T @ dZ", "Σ_i H[i, j]·dZ[i, k]"],
    "numerical_gradient": ["(f(x + ε) − f(x − ε)) / 2ε", "divide by 2ε", "(f_plus − f_minus) / (2 * eps)"],
    "relative_error": ["divide by the larger of ‖a‖ and ‖b‖", "/ max(np.linalg.norm(a), np.linalg.norm(b))"],
    "sgd_step": ["θ − lr · g", "θ − lr × gradient", "params[key] - lr * grads[key]"],
    "add_gate_backward": ["passes the upstream gradient unchanged to both inputs"],
    "mul_gate_backward": ["∂(x·y)/∂x is the *other* input y", "the local gradient for x is y"],
    "collapse_linear": ["b1 W2 W3 belongs to the bias", "b1 through W2 W3 and b2 through W3"],
}


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text.replace("−", "-"))


def _reference_formulas(entry) -> set:
    """The formulas (see build._is_formula) in the source of the exercise's reference, as code text."""
    fn = entry.reference
    try:
        tree = ast.parse(Path(inspect.getsourcefile(fn)).read_text(encoding="utf-8"))
    except (TypeError, OSError):
        return set()
    line = fn.__code__.co_firstlineno
    names = list(fn.__code__.co_varnames[:fn.__code__.co_argcount])
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Lambda, ast.FunctionDef)) and node.lineno == line \
                and [a.arg for a in node.args.args] == names:
            body = [node.body] if isinstance(node, ast.Lambda) else node.body
            for statement in body:
                found |= {ast.unparse(e) for e in ast.walk(statement)
                          if isinstance(e, ast.expr) and build._is_formula(e)}
    return found


def _solution_formulas() -> dict:
    """exercise id -> the code text of the formulas of its solution regions in solutions/."""
    found = {}
    for path in sorted(build.SOLUTIONS.glob("*.ipynb")):
        import nbformat
        nb = nbformat.read(path, as_version=4)
        for _, entry, _function, region in build.graded_functions(nb, build.workbook_of(path), registry()):
            texts = {ast.unparse(e) for s in region for e in ast.walk(s)
                     if isinstance(e, ast.expr) and build._is_formula(e)}
            found.setdefault(entry.id, set()).update(texts)
    return found


SOLUTION_FORMULAS = _solution_formulas()


def formulas(entry) -> list[str]:
    """The right formulas of an exercise: from its reference and solutions (those of four characters or
    more, so that ``a - b`` in "‖a − b‖" of a student's own value does not count), and WRITTEN."""
    code = {f for f in _reference_formulas(entry) | SOLUTION_FORMULAS.get(entry.id, set()) if len(_squeeze(f)) >= 4}
    return sorted(code | set(WRITTEN.get(entry.name, [])))


def told(message: str, entry) -> list[str]:
    squeezed = _squeeze(message)
    return [f for f in formulas(entry) if _squeeze(f) in squeezed]


# --- the mistakes of every exercise --------------------------------------------------------------

def _each(value, change):
    return {k: change(v) for k, v in value.items()} if isinstance(value, dict) else change(value)


def _first_nan(v):
    v = np.array(v, dtype=float)
    v.flat[0] = np.nan
    return v


GENERIC = {
    "sign": lambda v: -np.asarray(v, dtype=float),
    "scale": lambda v: 2 * np.asarray(v, dtype=float),
    "transposed": lambda v: np.asarray(v).T,
    "shape": lambda v: np.asarray(v)[None],
    "nonfinite": _first_nan,
}


def mistakes():
    """(exercise id, label, function that makes the mistake on every input)."""
    out = []
    for exercise_id, entry in FUNCTIONS.items():
        for label, change in GENERIC.items():
            out.append((exercise_id, label, lambda *a, e=entry, c=change: _each(e.reference(*a), c)))
        if entry.mistakes is None:
            continue
        sample = entry.mistakes(*entry.cases(np.random.default_rng(0))[0].args)
        for index, (code, *_) in enumerate(sample):
            out.append((exercise_id, f"{code}-{index}", lambda *a, e=entry, i=index: e.mistakes(*a)[i][1]))
    return out


MISTAKES = mistakes()


def _shape_of_answer(entry, seed):
    case = entry.cases(np.random.default_rng(seed))[0]
    value = entry.reference(*case.args)
    return {k: np.shape(v) for k, v in value.items()} if isinstance(value, dict) else np.shape(value)


@pytest.mark.parametrize("exercise_id, label, fn", MISTAKES, ids=[f"{i}-{label}" for i, label, _ in MISTAKES])
def test_the_feedback_on_a_mistake_states_no_formula_and_no_shape(exercise_id, label, fn):
    entry = FUNCTIONS[exercise_id]
    result = evaluate(exercise_id, fn, seed=3)
    if result.passed:
        pytest.skip("this mistake changes nothing on these inputs")
    assert not told(result.message, entry), f"{result.text()}\n\ntells: {told(result.message, entry)}"
    if result.diagnosis in ("wrong_shape", "transposed"):
        judged = "\n".join(line for line in result.message.splitlines()
                           if not line.startswith(("Inputs:", "This happened with")))
        case = next(c for c in entry.cases(np.random.default_rng(3)) if c.label == result.details["case"])
        value = entry.reference(*case.args)
        shapes = [np.shape(v) for v in value.values()] if isinstance(value, dict) else [np.shape(value)]
        for shape in shapes:
            assert str(shape) not in judged, f"the right shape {shape} is spelled out:\n{result.text()}"


# --- the questions ------------------------------------------------------------------------------------

def _wrong_shapes(right):
    right = tuple(right)
    out = [right + (1,), (1,) + right, right[:-1], tuple(n + 1 for n in right)]
    if len(right) == 2:
        out.append(right[::-1])
    return [s for s in out if s != right]


SHAPE_CASES = [(q.id, wrong) for q in QUESTIONS.values() if q.kind == "shape" for wrong in _wrong_shapes(q.answer())]


@pytest.mark.parametrize("question_id, wrong", SHAPE_CASES, ids=[f"{i}-{w}" for i, w in SHAPE_CASES])
def test_a_wrong_shape_is_not_answered_with_the_right_one(question_id, wrong):
    q = QUESTIONS[question_id]
    result = evaluate(question_id, wrong)
    assert not result.passed
    right = tuple(q.answer())
    assert str(right) not in result.message, result.text()
    assert "1 axes" not in result.message


CHOICE_CASES = [(q.id, letter) for q in QUESTIONS.values() if q.kind == "choice"
                for letter in q.options if letter != q.answer()]


@pytest.mark.parametrize("question_id, letter", CHOICE_CASES, ids=[f"{i}-{x}" for i, x in CHOICE_CASES])
def test_a_wrong_choice_is_not_answered_with_the_right_letter_or_option(question_id, letter):
    q = QUESTIONS[question_id]
    result = evaluate(question_id, letter)
    right = q.answer()
    assert result.diagnosis == "wrong_answer"
    option = re.compile(rf"(?<!\w){re.escape(q.options[right])}(?!\w)")
    assert f"({right})" not in result.message and not option.search(result.message), result.text()


NUMBERS = [q.id for q in QUESTIONS.values() if q.kind == "number"]


@pytest.mark.parametrize("question_id", NUMBERS)
def test_a_wrong_number_is_not_answered_with_the_right_one(question_id):
    q = QUESTIONS[question_id]
    result = evaluate(question_id, 1.5 * float(q.answer()) + 1.0)
    assert result.diagnosis == "wrong_answer"
    assert not build.mentions(result.message, build._value_forms(q)), result.text()


# --- fragile but right: passed, with a warning -------------------------------------------------------

def test_the_naive_sigmoid_passes_with_a_warning_about_the_overflow():
    def sigmoid(z):
        return 1 / (1 + np.exp(-z))
    result = evaluate("wb01.sigmoid", sigmoid, seed=1)
    assert result.passed and result.score == result.max_score
    assert result.headline.startswith("✓ Passed, with a warning: wb01.sigmoid")
    assert len(result.warnings) == 1
    assert "numpy overflowed in sigmoid, line" in result.warnings[0]
    assert "return 1 / (1 + np.exp(-z))" in result.warnings[0]
    assert "⚠ Warning: numpy overflowed" in result.text() and "⚠ Warning: numpy overflowed" in result._repr_html_()


def test_a_stable_sigmoid_passes_without_a_warning():
    result = evaluate("wb01.sigmoid", network.sigmoid, seed=1)
    assert result.passed and result.warnings == [] and result.headline.startswith("✓ Passed: ")


@pytest.mark.parametrize("exercise_id, fn, argument", [
    ("wb01.grad_b3", lambda dz3: dz3, "dz3"),
    ("wb02.grad_b2", lambda dz2: dz2[:], "dz2"),
])
def test_returning_the_input_itself_passes_with_a_warning(exercise_id, fn, argument):
    result = evaluate(exercise_id, fn, seed=1)
    assert result.passed and len(result.warnings) == 1, result.text()
    assert f"returns the array it was given ({argument}) itself" in result.warnings[0]


def test_a_warning_does_not_leak_into_the_callers_numpy_state():
    before = np.geterr()
    evaluate("wb01.sigmoid", lambda z: 1 / (1 + np.exp(-z)), seed=1)
    assert np.geterr() == before and np.geterrcall() is None


def test_the_report_marks_a_pass_with_a_warning():
    from checker import report
    table = report("wb01", {"sigmoid": lambda z: 1 / (1 + np.exp(-z))}, show=False)
    assert "✓ passed, with a warning" in table.text()


def test_to_see_a_failure_again_the_message_names_a_check_call_that_works_in_the_notebook():
    result = evaluate("wb02.grad_W2", lambda h1, dz2: np.outer(dz2, h1), seed=12)
    assert "To see this again: check('wb02.grad_W2', grad_W2, seed=12)." in result.message
