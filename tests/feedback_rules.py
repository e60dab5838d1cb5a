"""The rule for every text a table can show a student: it points, it never tells."""
from checker.exercises import Question, feedback_texts


def assert_never_tells(entry, formulas, where=lambda what: True) -> None:
    """No hint, why_not or mistake text of ``entry`` (those ``where`` picks) contains one of the workbook's
    ``formulas``, nor the answer of a question (a choice's right option, or its letter as feedback writes it)."""
    forbidden = list(formulas)
    if isinstance(entry, Question):
        answer = entry.answer()
        forbidden += [entry.options[answer], f"({answer})"] if entry.kind == "choice" else [str(answer)]
    for what, text in feedback_texts(entry):
        for phrase in forbidden if where(what) else ():
            assert phrase not in text, f"{entry.id}: {text!r} contains {phrase!r}"
