"""Workbook 02: its graded questions have the computed answers the workbook explains; its feedback
points without telling; its fixed example holds the values the notebook goes on with; and its
student version shows no answer before the student's own and stops, for a wrong function, in the
function's own check only."""
import ast
import builtins
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import student_runs as runs

from checker import evaluate, examples, network
from checker.exercises import Exercise, Question, as_written, lookup, registry, shown_letter, wb02

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "02_backprop_to_hidden_layer.ipynb"
STUDENT = ROOT / "notebooks" / "02_backprop_to_hidden_layer.ipynb"
ENTRIES = {k: v for k, v in registry().items() if k.startswith("wb02.")}
QUESTIONS = {k: v for k, v in ENTRIES.items() if isinstance(v, Question)}
EXERCISES = {k: v for k, v in ENTRIES.items() if isinstance(v, Exercise)}
σ = network.sigmoid


# --- the graded questions ------------------------------------------------------------------------

ANSWERS = {
    "shape_dz3": (10,), "shape_dCE": (), "choice_first_order": "b", "shape_dz3_dh2": (256, 10),
    "shape_delta_W2": (512, 256), "shape_dz2k_dW2": (512, 256), "choice_both_inputs": "a",
    "shape_dz2_dW2": (512, 256, 256), "choice_dz3_dh2": "a", "shape_dz3j_dh2": (256,), "shape_dz3_dh2i": (10,),
    "choice_row_or_column": "a", "shape_dh2": (256,), "shape_dh2_dz2": (256, 256), "shape_dz2": (256,),
    "choice_how_many": "b", "choice_diag_times_matrix": "a", "shape_dz2_db2": (256, 256), "choice_db2": "a",
    "shape_dW2": (512, 256), "shape_dz2_dW2ij": (256,), "choice_row_factor": "a", "shape_dh1": (512,),
    "shape_dz1": (512,), "choice_dz1": "a", "shape_dW1": (1024, 512),
}


def test_every_question_of_the_table_is_listed_here():
    assert sorted(ANSWERS) == sorted(q.name for q in QUESTIONS.values())


@pytest.mark.parametrize("name, answer", sorted(ANSWERS.items()))
def test_computed_answers(name, answer):
    """Choices in the table's own letters; the student sees them re-lettered (shown_letter)."""
    question = as_written()[f"wb02.{name}"]
    assert question.answer() == answer
    shown = shown_letter(question.id, answer) if question.kind == "choice" else answer
    assert evaluate(question.id, shown).passed


def wrong_answers(question):
    """A few realistic wrong answers: the transpose, a column instead of a vector, each wrong letter."""
    right = question.answer()
    if question.kind == "choice":
        return [letter for letter in question.options if letter != right]
    wrong = [right + (1,), (1,) + right] if right else [(1,)]
    if len(right) == 2 and right[0] != right[1]:
        wrong.append(right[::-1])
    return wrong


@pytest.mark.parametrize("qid", sorted(QUESTIONS))
def test_wrong_answers_fail_and_the_feedback_never_tells_the_answer(qid):
    question = QUESTIONS[qid]
    right = question.answer()
    if question.kind == "shape":
        assert question.axes == (), "what each axis means is the answer of a shape question"
        told = {repr(right), str(list(right))} | ({" × ".join(map(str, right))} if len(right) > 1 else set())
    else:
        told = {f"({right})", question.options[right]}
    for wrong in wrong_answers(question):
        result = evaluate(qid, wrong)
        assert not result.passed and result.score == 0, (wrong, result.text())
        leaked = [text for text in told if text in result.message]
        assert not leaked, (wrong, result.message)
    for text in question.hints + tuple(question.why_not.values()):
        assert not [t for t in told if t in text], text


# Phrases that would state a function's answer: its formula, in words or in code.
FORMULAS = {
    "grad_h2": ["W3 @", "@ dz", "W3ᵀ", "row of W3", "rows of W3"],
    "grad_h1": ["W2 @", "@ dz", "row of W2"],
    "sigmoid_grad": ["σ(z)(1", "σ(z)σ(", "σ(z) σ(", "1 − σ", "1 - σ", "σ(-z)", "σ(−z)"],
    "grad_z2": ["diagonal", "σ'(z) ⊙", "σ'(z2) ⊙", "* dh", "entry by entry"],
    "grad_z1": ["diagonal", "σ'(z) ⊙", "σ'(z1) ⊙", "* dh", "entry by entry"],
    "grad_b2": ["straight through", "= 1", "copy", "unchanged", "the same as dz"],
    "grad_W2": ["outer", "⊗", "times the gradient", "h1_i", "input unit i times"],
    "grad_W1": ["outer", "⊗", "x_i", "input unit i times"],
}


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_exercise_hints_point_without_stating_the_formula(name):
    exercise = lookup(f"wb02.{name}")
    assert exercise.hints, f"{name} has no hint"
    for hint in exercise.hints:
        assert not [phrase for phrase in FORMULAS[name] if phrase in hint], hint


def test_every_prompt_leaves_the_formula_out():
    for question in QUESTIONS.values():
        assert "W3 ·" not in question.prompt and "W3 @" not in question.prompt, question.prompt


# --- right functions written in other ways -------------------------------------------------------

def grad_W2_by_loops(h1, dz2):
    out = np.empty((h1.size, dz2.size))
    for i in range(h1.size):
        for j in range(dz2.size):
            out[i, j] = h1[i] * dz2[j]
    return out


# Read by the one runner of tests/test_exercises.py: right functions written in other ways pass, and
# the wrong bodies the notebook test below uses are named.
RIGHT = [
    ("wb02.sigmoid_grad", lambda z: np.exp(-np.logaddexp(0, z) - np.logaddexp(0, -z))),
    ("wb02.grad_z2", lambda z2, dh2: np.exp(-np.logaddexp(0, z2) - np.logaddexp(0, -z2)) * dh2),
    ("wb02.grad_b2", lambda dz2: np.array(dz2)),
    ("wb02.grad_W2", grad_W2_by_loops),
    ("wb02.grad_h1", lambda W2, dz2: np.array([W2[i] @ dz2 for i in range(W2.shape[0])])),
]

WRONG = [
    ("wb02.grad_h2", lambda W3, dz3: W3.T @ dz3, "exception", "W3.T @ dz3"),
    ("wb02.grad_z2", lambda z2, dh2: σ(z2) * dh2, "activation_instead_of_derivative", "σ(z)"),
    ("wb02.grad_b2", lambda dz2: -dz2, "sign", "−1"),
    ("wb02.grad_W2", lambda h1, dz2: np.outer(dz2, h1), "transposed", "transpose"),
    ("wb02.grad_W1", lambda x, dz1: np.outer(dz1, x), "transposed", "transpose"),
]


# --- the fixed example ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ex():
    return examples.example("wb02")


def test_the_stored_example_is_what_example_makes_now():
    values, seed = wb02.example()
    assert examples.differences(examples.read("wb02"), examples.encode(values, seed)) == []


def test_the_stored_example_is_small():
    assert examples.path("wb02").stat().st_size < 1.5e6


def test_the_example_agrees_with_the_reference(ex):
    params = ex.params
    cache = network.forward(ex.x, params)
    for key in network.CACHE_KEYS:
        np.testing.assert_allclose(ex[key], cache[key], rtol=1e-12, atol=1e-15)
    grads = network.backward(ex.x, ex.y, params)
    np.testing.assert_allclose(ex.dW2, grads["W2"], rtol=1e-6, atol=1e-12)     # stored in float32
    np.testing.assert_allclose(ex.dz1, grads["b1"], rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(ex.dW1_rows, grads["W1"][ex.pixels], rtol=1e-12, atol=1e-18)
    small = network.backward(ex.small_x, ex.small_y, ex.small_params)
    for key in network.PARAM_KEYS:
        np.testing.assert_allclose(ex.small_grads[key], small[key], rtol=1e-12, atol=1e-18)


def reference(name):
    return lookup(f"wb02.{name}").reference


def test_yours_takes_right_functions_silently_and_stubs_in_one_line(ex, capsys):
    params = ex.params
    calls = [("dh2", "grad_h2", (params["W3"], ex.dz3)), ("slope2", "sigmoid_grad", (ex.z2,)),
             ("dz2", "grad_z2", (ex.z2, ex.dh2)), ("db2", "grad_b2", (ex.dz2,)),
             ("dW2", "grad_W2", (ex.h1, ex.dz2)), ("dh1", "grad_h1", (params["W2"], ex.dz2)),
             ("dz1", "grad_z1", (ex.z1, ex.dh1)), ("dW1_rows", "grad_W1", (ex.x[ex.pixels], ex.dz1)),
             ("small_grads", "backward", (ex.small_x, ex.small_y, ex.small_params))]
    for stored, name, args in calls:
        ex.yours(stored, reference(name), *args)
        assert capsys.readouterr().out == "", name

        def stub(*args):
            raise NotImplementedError
        stub.__name__ = name
        ex.yours(stored, stub, *args)
        said = capsys.readouterr().out
        assert said == f"{name} is not done yet; this cell goes on with the example's stored {stored}.\n"


# --- the student version -------------------------------------------------------------------------

def student_cells():
    return nbformat.read(STUDENT, as_version=4).cells


# Every graded function's answer, with its obvious equivalents, and every route to the reference.
NEVER_IN_STUDENT_CODE = [
    r"network", r"lookup", r"registry", r"\.reference", r"\.answer\(", r"multiple_choice", r"checker\.exercises",
    r"W3 @ dz3", r"dz3 @ W3", r"W2 @ dz2", r"dz2 @ W2", r"W3\.T", r"W2\.T", r"outer\(", r"einsum", r"tensordot",
    r"h3 [-−] y", r"(?<!def )sigmoid_grad\(", r"sigmoid\(-", r"1 - sigmoid", r"\* dh[12]\b", r"\bdh[12] \*",
    r"np\.diag\(", r"\.copy\(\)", r"dz[12]\[",
]


def test_no_student_code_cell_shows_an_answer_or_reaches_the_reference():
    for cell in student_cells():
        if cell.cell_type == "code" and cell.id != "setup-checker":
            found = [pattern for pattern in NEVER_IN_STUDENT_CODE if re.search(pattern, cell.source)]
            assert not found, (cell.id, found)


def shape_texts(shape):
    texts = {repr(tuple(shape))}
    if len(shape) > 1:
        texts |= {" × ".join(map(str, shape)), "\\times ".join(map(str, shape)), f"{shape[0]} \\times {shape[1]}"}
    return texts


def test_no_shape_answer_appears_before_its_question_is_answered():
    cells = student_cells()
    for question in QUESTIONS.values():
        if question.kind != "shape" or question.answer() == ():
            continue
        at = next(i for i, c in enumerate(cells) if f'check("{question.id}"' in c.source)
        for cell in cells[:at]:
            found = [t for t in shape_texts(question.answer()) if t in cell.source]
            assert not found, (question.id, cell.id, found)


def test_each_choice_is_listed_in_table_order_right_above_its_answer_cell():
    cells = student_cells()
    for question in QUESTIONS.values():
        if question.kind != "choice":
            continue
        at = next(i for i, c in enumerate(cells) if f'check("{question.id}"' in c.source)
        assert cells[at].source.startswith(f"{question.name} = ...  # your answer"), cells[at].source
        listing = cells[at - 1].source
        block = re.search(rf"<!-- choices: {re.escape(question.id)} -->\n(.*?)\n<!-- end choices -->", listing, re.S)
        assert block, (question.id, listing)
        assert block.group(1).splitlines() == [f"* ({k}) {v}" for k, v in question.options.items()]
        assert "Write the letter of your choice in the cell below" in listing


def names(code):
    """(names read, names bound) anywhere in ``code``."""
    read, bound = set(), set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return read, bound


def test_the_student_version_uses_no_name_that_only_the_solution_defines():
    solution = nbformat.read(SOLUTION, as_version=4).cells
    dropped = [c for c in solution if "solution-only" in c.metadata.get("tags", [])]
    assert sum(c.cell_type == "code" for c in dropped) >= 35      # the confirmations that show a worked answer
    read, bound = names("\n".join(c.source for c in student_cells() if c.cell_type == "code"))
    assert read - bound - set(dir(builtins)) == set()


WRONG_BODIES = {"grad_h2": "return W3.T @ dz3", "grad_z2": "return sigmoid(z2) * dh2", "grad_b2": "return -dz2",
         "grad_W2": "return np.outer(dz2, h1)", "grad_W1": "return np.outer(dz1, x)"}


def test_one_wrong_function_per_section_stops_only_in_its_own_check():
    """The solution's student version, with a realistic wrong body in one function of each section."""
    nb = nbformat.read(SOLUTION, as_version=4)
    nb.cells = [c for c in nb.cells if "solution-only" not in c.metadata.get("tags", [])]
    for cell in nb.cells:
        name = re.search(r"^def (\w+)\(", cell.source, re.M)
        if cell.cell_type == "code" and name and name.group(1) in WRONG_BODIES:
            cell.source = re.sub(r"### BEGIN SOLUTION\n.*?### END SOLUTION", WRONG_BODIES[name.group(1)], cell.source,
                                 flags=re.S)
    nb = runs.execute(nb, STUDENT.parent)
    failed, lines = {}, []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                failed[cell.id] = (out.ename, len(out.traceback))
            elif out.output_type == "stream":
                lines += out.text.splitlines()
    checked = {c.id: set(re.findall(r'^check\("wb02\.(\w+)"', c.source, re.M)) for c in nb.cells}
    assert set(failed) == {i for i, ids in checked.items() if ids & {*WRONG_BODIES, "backward"}}, failed
    assert all(ename == "CheckFailed" and length == 1 for ename, length in failed.values()), failed
    said = [line for line in lines if "see its check above; this cell goes on with the example's stored" in line]
    assert len(said) == len(WRONG_BODIES) + 1, said        # every wrong function, and backward, said so once
    assert not [line for line in lines if line.startswith("differ")], lines
