"""Multiple-choice questions in a notebook: a small widget, and the same question as plain text.

In the workbooks the answer is the variable of the answer cell, graded by ``check``; the widget is a
live poll for the classroom walkthrough, in cells tagged ``solution-only``.

    from checker.widgets import multiple_choice
    multiple_choice("wb02.choice_dz1")      # last line of a cell: shows the question

In a live Jupyter front end this shows radio buttons (one per option), a "Check" button and an
output area; pressing Check grades the selected letter with ``checker.evaluate`` and prints the
verdict in words ("✓ Passed …" / "✗ Not passed …"), so colour is never the only signal.  Radio
buttons and buttons are standard ipywidgets controls, usable with the keyboard.

Where nothing renders widgets (nbval, nbclient, a terminal, GitHub's viewer) the same object
shows a static text/plain and text/html version: the prompt, the lettered options and how to
answer in code.  Those two representations depend only on the question, so the outputs stored
in a notebook are the same on every run.

The logic lives in plain functions (``render_choice_text``, ``render_choice_html``,
``on_check``) that tests can call without any front end.
"""
from __future__ import annotations

import html

from checker import _mode

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
NOTHING_SELECTED = "Nothing selected yet: choose one of the options, then press Check."


def get_question(question_id: str):
    """The choice question with this id; ValueError for an unknown id or a question of another kind."""
    from checker.exercises import Question, lookup
    entry = lookup(question_id)  # ValueError with suggestions for a typo
    if not isinstance(entry, Question) or entry.kind != "choice":
        raise ValueError(f"{question_id!r} is not a multiple-choice question.")
    return entry


def how_to_answer(question) -> str:
    """The sentence that tells a student how to answer without the widget."""
    return (f'Answer with check("{question.id}", "<letter>"), or write '
            f'{question.name} = "<letter>" in the cell below and run it.')


def render_choice_text(question) -> str:
    """The question as plain text: prompt, one line per lettered option, how to answer."""
    lines = [f"Question {question.id}: {question.prompt}"]
    lines += [f"  ({letter}) {text}" for letter, text in question.options.items()]
    lines += ["", how_to_answer(question)]
    return "\n".join(lines)


def render_choice_html(question) -> str:
    """The question as static HTML (no script, no colour needed to read it)."""
    esc = html.escape
    options = "".join(f"<li><strong>({esc(letter)})</strong> {esc(text)}</li>"
                      for letter, text in question.options.items())
    return (f"<div class=\"checker-choice\" role=\"group\" aria-label=\"Question {esc(question.id)}\">"
            f"<p><strong>Question <code>{esc(question.id)}</code>:</strong> {esc(question.prompt)}</p>"
            f"<ul style=\"list-style:none;padding-left:1em\">{options}</ul>"
            f"<p>Answer with <code>check(\"{esc(question.id)}\", \"&lt;letter&gt;\")</code>, or write "
            f"<code>{esc(question.name)} = \"&lt;letter&gt;\"</code> in the cell below and run it.</p></div>")


def _grade(question_id: str, selected):
    """(text, html) of the verdict for the selected letter (None: nothing selected)."""
    if selected is None or not str(selected).strip():
        return NOTHING_SELECTED, f"<p role=\"status\">{html.escape(NOTHING_SELECTED)}</p>"
    from checker.notebook import evaluate
    result = evaluate(question_id, str(selected).strip())
    return result.text(), result._repr_html_()


def on_check(question_id: str, selected) -> str:
    """What pressing Check shows for the selected letter: the verdict in words, ✓ or ✗ first."""
    return _grade(question_id, selected)[0]


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (where a front end may render widgets)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class ChoiceWidget:
    """The displayable object that ``multiple_choice`` returns.

    Its ``_repr_mimebundle_`` always holds the static text/plain and text/html; when
    ``interactive`` (default: inside a Jupyter kernel with ipywidgets installed) it adds the
    widget view, which a live front end prefers and every other viewer ignores.
    """

    def __init__(self, question, interactive: bool | None = None):
        self.question = question
        self.interactive = _in_kernel() if interactive is None else bool(interactive)
        self.radio = self.button = self.output = self.box = None
        if self.interactive:
            self._build()

    def _build(self) -> None:
        try:
            import ipywidgets as w
        except ImportError:  # the static text and HTML still work
            self.interactive = False
            return
        q = self.question
        prompt = w.HTML(value=f"<strong>Question <code>{html.escape(q.id)}</code>:</strong> {html.escape(q.prompt)}")
        self.radio = w.RadioButtons(options=[(f"({letter}) {text}", letter) for letter, text in q.options.items()],
                                    value=None, description="Answer:", layout=w.Layout(width="max-content"))
        self.button = w.Button(description="Check", tooltip=f"Grade the selected option for {q.id}")
        self.output = w.Output()
        self.button.on_click(lambda _button: self.show_feedback(self.radio.value))
        self.box = w.VBox([prompt, self.radio, self.button, self.output])

    def show_feedback(self, selected) -> str:
        """Grade ``selected`` and put the verdict into the output area; returns the text."""
        text, markup = _grade(self.question.id, selected)
        if self.output is not None:
            self.output.outputs = ({"output_type": "display_data", "metadata": {},
                                    "data": {"text/plain": text, "text/html": markup}},)
        return text

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {"text/plain": render_choice_text(self.question), "text/html": render_choice_html(self.question)}
        if self.box is not None:
            data[WIDGET_MIME] = {"version_major": 2, "version_minor": 0, "model_id": self.box.model_id}
        return data

    def __repr__(self) -> str:
        return render_choice_text(self.question)


def multiple_choice(question_id: str, *, interactive: bool | None = None) -> ChoiceWidget:
    """A multiple-choice question to display as the last line of a cell (see the module docstring)."""
    aside = _mode.standing_aside(f"the buttons of {question_id}")
    if aside is not None:
        return aside
    return ChoiceWidget(get_question(question_id), interactive=interactive)
