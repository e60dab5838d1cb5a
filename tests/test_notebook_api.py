"""check() and report() as a notebook cell uses them, and graded answers to questions."""
import re

import numpy as np
import pytest

import checker
from checker import CheckFailed, NotImplementedYet, check, evaluate, report
from checker.evaluate import grade_answer
from checker.exercises import Question, registry


def grad_W2(h1, dz2):
    return np.outer(h1, dz2)


def test_check_returns_the_result_and_prints_it_outside_jupyter(capsys):
    result = check("wb02.grad_W2", grad_W2)
    assert result.passed and result.score == 1
    assert "✓ Passed: wb02.grad_W2 (1/1 points)" in capsys.readouterr().out


def test_check_on_a_stub_raises_one_friendly_line():
    def grad_b2(dz2):
        raise NotImplementedError("Replace this line with your code.")
    with pytest.raises(NotImplementedYet) as info:
        check("wb02.grad_b2", grad_b2)
    assert isinstance(info.value, NotImplementedError) and isinstance(info.value, AssertionError)
    lines = info.value._render_traceback_()  # what IPython shows instead of a traceback
    assert len(lines) == 1 and "not implemented yet" in lines[0]


def test_check_on_a_mistake_shows_feedback_then_raises(capsys):
    with pytest.raises(CheckFailed) as info:
        check("wb02.grad_W2", lambda h1, dz2: np.outer(dz2, h1))
    assert not isinstance(info.value, NotImplementedError)
    out = capsys.readouterr().out
    assert "✗ Not passed" in out and "transpose of the right answer" in out
    assert info.value.result.diagnosis == "transposed"


def test_html_feedback_says_passed_in_words_not_colour_alone():
    html = evaluate("wb02.grad_W2", grad_W2)._repr_html_()
    assert "✓ Passed" in html
    html = evaluate("wb02.grad_W2", lambda h1, dz2: np.outer(dz2, h1))._repr_html_()
    assert "✗ Not passed" in html and "transpose" in html


def test_pass_message_is_the_same_every_run():
    # Stored notebook outputs are compared by nbval, so a pass must not print the random seed.
    assert evaluate("wb02.grad_W2", grad_W2).text() == evaluate("wb02.grad_W2", grad_W2).text()


def test_report_grades_what_is_defined_and_names_what_is_missing():
    def grad_b2(dz2):
        raise NotImplementedError
    table = report("wb02", {"grad_W2": grad_W2, "grad_b2": grad_b2}, show=False)
    text = table.text()
    assert "wb02.grad_W2" in text and "✓ passed" in text
    assert "… not done yet" in text
    assert "✗ not found: define backward" in text
    assert table.score == 1 and table.max_score == sum(e.points for i, e in registry().items() if i.startswith("wb02."))


def test_exercises_lists_every_id_with_its_signature():
    listing = checker.exercises()
    assert listing["wb02.grad_W2"] == "grad_W2(h1, dz2)"
    assert listing["wb04.backward"] == "backward(X, Y, params)"
    assert all(re.fullmatch(r"wb\d\d\.\w+", i) for i in listing)


SHAPE = Question("wb99.shape_W2", "shape of W2", "shape", lambda: (512, 256), axes=("rows: h1", "columns: z2"))
CHOICE = Question("wb99.kind", "what kind of matrix", "choice", lambda: "b",
                  options={"a": "full", "b": "diagonal", "c": "zero"},
                  why_not={"a": "Each h2_j depends on z2_j alone."})
NUMBER = Question("wb99.n", "how many parameters", "number", lambda: 658698)


@pytest.mark.parametrize("question, value, code, words", [
    (SHAPE, (512, 256), None, "Right"),
    (SHAPE, [512, 256], None, "Right"),
    (SHAPE, (256, 512), "transposed", "Axis 0 (length 256) should have rows: h1"),
    (SHAPE, (512,), "wrong_shape", "(512,) has 1 axis. The answer has 2 axes: axis 0: rows: h1; axis 1: columns: z2."),
    (SHAPE, (512, 255), "wrong_answer", "not right"),
    (SHAPE, "512x256", "wrong_type", "tuple of whole numbers"),
    (SHAPE, ..., "not_implemented", "not answered yet"),
    (CHOICE, " B ", None, "Right"),
    (CHOICE, "a", "wrong_answer", "depends on z2_j alone"),
    (CHOICE, "e", "wrong_type", "a, b, c"),
    (NUMBER, 658698, None, "Right"),
    (NUMBER, 658698.0000001, None, "Right"),
    (NUMBER, 658688, "wrong_answer", "not right"),
    (NUMBER, "many", "wrong_type", "single number"),
])
def test_questions(question, value, code, words):
    result = grade_answer(question, value)
    assert result.diagnosis == code and result.passed == (code is None)
    assert words in result.message
    assert result.score == (question.points if code is None else 0)


def test_every_question_in_the_workbooks_accepts_its_own_answer():
    for entry in registry().values():
        if isinstance(entry, Question):
            assert grade_answer(entry, entry.answer()).passed, entry.id


def test_in_a_kernel_each_check_shows_its_feedback_once():
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient
    cells = [
        "import numpy as np\nfrom checker import check, report",
        "def grad_W2(h1, dz2):\n    return np.outer(h1, dz2)\n\ncheck('wb02.grad_W2', grad_W2)",
        "def grad_b2(dz2):\n    raise NotImplementedError('Replace this line with your code.')\n\n"
        "check('wb02.grad_b2', grad_b2)",
        "def grad_h1(W2, dz2):\n    return W2.T @ dz2\n\ncheck('wb02.grad_h1', grad_h1)",
        "report('wb02', globals())",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=60).execute()
    passed, stub, wrong, table = (c.outputs for c in nb.cells[1:])
    assert [o.output_type for o in passed] == ["display_data"]
    assert "✓ Passed: wb02.grad_W2" in passed[0].data["text/plain"] and "text/html" in passed[0].data
    assert [o.output_type for o in stub] == ["error"]
    assert stub[0].ename == "NotImplementedYet" and len(stub[0].traceback) == 1
    assert "not implemented yet" in stub[0].traceback[0]
    assert [o.output_type for o in wrong] == ["display_data", "error"]
    assert wrong[1].ename == "CheckFailed" and len(wrong[1].traceback) == 1
    assert "raised ValueError" in wrong[0].data["text/plain"] and "return W2.T @ dz2" in wrong[0].data["text/plain"]
    assert [o.output_type for o in table] == ["display_data"]
    assert "Workbook wb02: 1/" in table[0].data["text/plain"]


@pytest.mark.parametrize("value, words", [(None, "is None"), ([1.0], "a list of 1 item,"),
                                          ([1.0, 2.0], "a list of 2 items"), ("x", "a str"),
                                          (object(), "an object"), ({"a": 1}, "a dict with keys ['a']")])
def test_wrong_types_are_described_in_words(value, words):
    result = evaluate("wb02.grad_b2", lambda dz2: value)
    assert result.diagnosis == "wrong_type" and words in result.message


# --- called the wrong way, or in a notebook that changed what the checker uses --------------------

def grad_b2(dz2):
    return dz2.copy()


@pytest.mark.parametrize("call, words", [
    (lambda: check("wb02.grad_w2", grad_W2), "There is no exercise 'wb02.grad_w2'. Did you mean wb02.grad_W2"),
    (lambda: check(None, grad_W2), "The first argument of check is the exercise's id, a string such as"),
    (lambda: check(grad_W2, "wb02.grad_W2"), "check takes the exercise's id first, then your function: "
                                             "check('wb02.grad_W2', grad_W2)."),
    (lambda: check("wb02.grad_b2", grad_b2, seed="abc"), "seed is a whole number"),
    (lambda: check("wb02.grad_b2", grad_b2, seed=1.5), "seed is a whole number"),
    (lambda: check("wb02.grad_b2", grad_b2, timeout="5"), "timeout is a number of seconds above 0; it got a str"),
    (lambda: check("wb02.grad_b2", grad_b2, timeout=0), "timeout is a number of seconds above 0"),
    (lambda: report("wb9", {}), "report takes a workbook's name, one of wb00, wb01"),
    (lambda: report(None, {}), "report takes a workbook's name"),
    (lambda: report("wb02", grad_W2), "report takes the notebook's names as its second argument, "
                                      "report('wb02', globals()); it got a function."),
    (lambda: checker.example("wb99"), "There is no example 'wb99'; the workbooks with one are wb00, wb01, "),
    (lambda: checker.example("wb2"), "There is no example 'wb2'; did you mean wb02? The workbooks with one are"),
    (lambda: checker.example("WB02"), "did you mean wb02?"),
    (lambda: checker.example(None), "example takes a workbook's name, a string such as 'wb02'; it got None."),
    (lambda: checker.example(2), "it got an int. Did you mean 'wb02'? The workbooks with one are wb00"),
])
def test_a_public_function_called_the_wrong_way_says_so_in_one_line(call, words):
    with pytest.raises(checker.result.WrongArgument) as raised:
        call()
    shown = raised.value._render_traceback_()
    assert len(shown) == 1 and words in shown[0], shown
    assert isinstance(raised.value, ValueError)


def test_report_without_a_namespace_grades_the_callers_names():
    table = report("wb02", show=False)
    assert dict((i, r) for i, _, _, r in table.rows)["wb02.grad_W2"].passed   # grad_W2 of this module


@pytest.mark.parametrize("name, exercise_id", [("outer", "wb02.grad_W2"), ("errstate", "wb02.grad_b2"),
                                               ("asarray", "wb02.grad_b2")])
def test_numpy_replaced_in_the_notebook_is_named_not_a_checker_traceback(monkeypatch, name, exercise_id, capsys):
    fn = {"wb02.grad_W2": lambda h1, dz2: h1[:, None] * dz2, "wb02.grad_b2": grad_b2}[exercise_id]

    def replaced(*args, **kwargs):
        raise RuntimeError("a student's replacement")
    monkeypatch.setattr(np, name, replaced)
    with pytest.raises(CheckFailed) as raised:
        check(exercise_id, fn)
    result = raised.value.result
    assert result.diagnosis == "checker_error"
    assert f"A cell replaced np.{name}, which the checker uses too" in result.message
    assert "says nothing about your" in result.message
    assert len(raised.value._render_traceback_()) == 1


def test_feedback_is_shown_when_the_notebook_replaced_print(monkeypatch, capsys):
    import builtins

    def broken(*args, **kwargs):
        raise TypeError("print was replaced")
    monkeypatch.setattr(builtins, "print", broken)
    check("wb02.grad_b2", grad_b2)
    monkeypatch.undo()
    assert "✓ Passed: wb02.grad_b2" in capsys.readouterr().out
