"""checker.widgets: what a student sees for a multiple-choice question, with and without a front end."""
import pytest

from checker.exercises import Question, registry
from checker.widgets import (
    NOTHING_SELECTED,
    WIDGET_MIME,
    get_question,
    multiple_choice,
    on_check,
    render_choice_html,
    render_choice_text,
)

CHOICES = [q for q in registry().values() if isinstance(q, Question) and q.kind == "choice"]
WB02_CHOICES = [q for q in CHOICES if q.id.startswith("wb02.")]
QID = "wb02.choice_diag_times_matrix"


def right_and_wrong(question):
    right = str(question.answer())
    wrong = next(letter for letter in question.options if letter != right)
    return right, wrong


def test_every_workbook_02_choice_can_be_shown():
    assert len(WB02_CHOICES) >= 5
    for q in WB02_CHOICES:
        assert get_question(q.id) is q


@pytest.mark.parametrize("question", CHOICES, ids=lambda q: q.id)
def test_text_shows_prompt_every_option_and_how_to_answer(question):
    text = render_choice_text(question)
    lines = text.splitlines()
    assert lines[0] == f"Question {question.id}: {question.prompt}"
    for letter, option in question.options.items():
        assert f"  ({letter}) {option}" in lines
    assert f'check("{question.id}", "<letter>")' in text
    assert f'{question.name} = "<letter>"' in text


@pytest.mark.parametrize("question", CHOICES, ids=lambda q: q.id)
def test_static_display_never_gives_the_answer_away(question):
    for shown in (render_choice_text(question), render_choice_html(question)):
        assert "✓" not in shown and "✗" not in shown
        for sentence in question.why_not.values():
            assert sentence not in shown


def test_html_lists_the_options_and_escapes_markup():
    q = Question("wb99.choice_x", "Is 1 < 2 & 3 > 2?", "choice", lambda: "a",
                 options={"a": "yes <b>", "b": "no"}, why_not={"b": "1 < 2."})
    markup = render_choice_html(q)
    assert "Is 1 &lt; 2 &amp; 3 &gt; 2?" in markup
    assert "<strong>(a)</strong> yes &lt;b&gt;" in markup
    assert "<strong>(b)</strong> no" in markup
    assert "<b>" not in markup
    assert 'check("wb99.choice_x", "&lt;letter&gt;")' in markup
    assert 'role="group"' in markup


def test_right_letter_says_passed_in_words_and_asks_for_no_second_answer():
    q = get_question(QID)
    right, _ = right_and_wrong(q)
    text = on_check(QID, right)
    assert text.startswith(f"✓ Passed: {QID}")
    assert "write" not in text and "=" not in text     # the buttons only try; the variable is the answer


def test_wrong_letter_says_not_passed_and_what_it_overlooks_without_the_right_letter():
    q = get_question(QID)
    right, wrong = right_and_wrong(q)
    text = on_check(QID, wrong)
    assert text.startswith(f"✗ Not passed: {QID}")
    assert q.why_not[wrong] in text
    assert f"({right})" not in text


def test_letters_are_accepted_in_either_case_and_with_spaces():
    right, _ = right_and_wrong(get_question(QID))
    assert on_check(QID, f" {right.upper()} ").startswith("✓ Passed")


@pytest.mark.parametrize("selected", [None, "", "  "])
def test_nothing_selected_asks_for_a_choice(selected):
    assert on_check(QID, selected) == NOTHING_SELECTED


def test_a_letter_that_is_not_an_option_is_explained():
    text = on_check(QID, "z")
    assert text.startswith("✗ Not passed")
    assert "one of the letters" in text


def test_unknown_id_and_non_choice_questions_are_refused():
    with pytest.raises(ValueError, match="Did you mean"):
        multiple_choice("wb02.choice_diag_times_matrx")
    with pytest.raises(ValueError, match="not a multiple-choice question"):
        multiple_choice("wb02.shape_dh2")
    with pytest.raises(ValueError, match="not a multiple-choice question"):
        multiple_choice("wb02.grad_W2")


def test_without_a_front_end_the_display_is_static_and_deterministic():
    first = multiple_choice(QID, interactive=False)._repr_mimebundle_()
    second = multiple_choice(QID, interactive=False)._repr_mimebundle_()
    assert set(first) == {"text/plain", "text/html"}
    assert first == second
    q = get_question(QID)
    assert first["text/plain"] == render_choice_text(q) == repr(multiple_choice(QID, interactive=False))
    assert first["text/html"] == render_choice_html(q)


def test_with_a_front_end_the_widget_is_offered_beside_the_same_static_text():
    shown = multiple_choice(QID, interactive=True)
    bundle = shown._repr_mimebundle_()
    assert bundle[WIDGET_MIME]["model_id"] == shown.box.model_id
    assert bundle["text/plain"] == render_choice_text(get_question(QID))
    assert shown.button.description == "Check"
    labels = [label for label, _ in shown.radio.options]
    assert labels == [f"({k}) {v}" for k, v in get_question(QID).options.items()]
    assert shown.radio.value is None  # nothing is pre-selected


def _feedback(shown):
    (output,) = shown.output.outputs
    return output["data"]["text/plain"], output["data"]["text/html"]


def test_pressing_check_grades_the_selected_option():
    shown = multiple_choice(QID, interactive=True)
    right, wrong = right_and_wrong(get_question(QID))

    shown.button.click()
    assert _feedback(shown)[0] == NOTHING_SELECTED

    shown.radio.value = wrong
    shown.button.click()
    text, markup = _feedback(shown)
    assert text.startswith("✗ Not passed")
    assert "✗ Not passed" in markup and 'role=\'status\'' in markup

    shown.radio.value = right
    shown.button.click()
    text, markup = _feedback(shown)
    assert text.startswith("✓ Passed")
    assert "✓ Passed" in markup
    assert len(shown.output.outputs) == 1  # the old verdict is replaced, not appended to
