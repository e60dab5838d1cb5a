"""The exercise registry: one table, one generic runner (see checker.judge).

Two kinds of entries live here:

* ``Exercise``: the student writes a function; it is called on fresh inputs and compared
  with the reference (checker.judge).
* ``Question``: the student writes a value (a shape tuple, a choice letter, a number); it is
  compared with an answer that is computed, never typed.

An entry's id is ``wbNN.name``; ``name`` is also what the student's function or answer
variable is called in the notebook, so a notebook's namespace can be graded by name.

Multiple-choice questions are written in the tables with their options in any order, and each
table finds its right option by trying them.  ``registry()`` then re-letters every choice question
of the series (``reletter``): from a fixed seed, the right answers are spread evenly over the
letters (a), (b), (c), and each question's options are moved to their displayed letters.  What
``Question.options``, ``why_not`` and ``answer()`` return are the displayed letters; the build
writes them into the notebooks (tools/build_notebooks.py).
"""
from __future__ import annotations

import dataclasses
import functools
import random
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Case:
    """One set of inputs: ``args`` in the order of the signature, and a label a student can read."""
    label: str
    args: tuple


@dataclass(frozen=True)
class Exercise:
    """A function the student implements.

    cases(rng) -> list[Case]: fresh inputs, small ones with distinct dimensions and at least one
        at the workbook's real sizes, plus extreme ones where a naive version overflows.
    reference(*args) -> the right answer (an array, a float, or a dict of arrays).
    out_axes: for array answers, what each axis of the answer means (for wrong_shape messages);
        for dict answers, a dict key -> axes.
    mistakes(*args) -> [(code, wrong answer)]: what known mistakes produce on these inputs, so
        the judge can name the mistake when the student's answer matches one.
    batch_size(*args) -> m for batch exercises (to relate a wrong factor to m), else None.
    key_prefix: how feedback names a key of a dict answer: "d" for gradients keyed like the params
        ("Your dW2 …"); "" where the keys are what the function returns (new params, a cache).
    """
    id: str
    signature: str
    cases: Callable
    reference: Callable
    points: float = 1.0
    hints: tuple = ()
    out_axes: Any = ()
    mistakes: Callable | None = None
    arg_names: tuple = ()
    batch_size: Callable | None = None
    key_prefix: str = ""

    @property
    def name(self) -> str:
        return self.id.split(".", 1)[1]


@dataclass(frozen=True)
class Question:
    """A value the student writes into a variable named like the part of the id after the dot.

    kind: "shape" (a tuple of ints), "choice" (an option letter) or "number".
    answer() computes the expected value (from checker.network.LAYER_SIZES etc.); choices
        return the letter.
    axes: for shapes, what each axis means.  options / why_not: for choices, the text of each
        option and, for the wrong ones, a sentence on what that choice overlooks.
    """
    id: str
    prompt: str
    kind: str
    answer: Callable[[], Any]
    points: float = 1.0
    hints: tuple = ()
    axes: tuple = ()
    options: dict = field(default_factory=dict)
    why_not: dict = field(default_factory=dict)
    rtol: float = 1e-6

    @property
    def name(self) -> str:
        return self.id.split(".", 1)[1]


def _table_modules() -> list:
    """The modules wbNN*.py of this package, in name order (wb01 before wb01_questions)."""
    import pkgutil
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("wb"))


LETTERS = "abcdefgh"
CHOICE_SEED = 2024   # fixed: the same letters on every machine and every build


def _displayed(answer: Callable, letters: dict) -> Callable:
    def displayed_answer():
        right = answer()
        return letters.get(right, right)
    return displayed_answer


def reletter(entries: dict, seed: int = CHOICE_SEED) -> dict:
    """The entries with every choice question re-lettered so the right letters are balanced.

    The right letters over the series are (a), (b), (c), … in turn, as many of each as the question
    with the fewest options allows (counts within one of each other), dealt to the questions in a
    shuffled order drawn from ``seed``.  Within a question the right option moves to its letter and
    the others keep their order in the table.  A question whose table answer is not one of its
    options (a broken question; the tests say so) is left as it is.
    """
    choices = [e for e in entries.values() if isinstance(e, Question) and e.kind == "choice"]
    if not choices:
        return entries
    common = min(len(q.options) for q in choices)
    targets = [LETTERS[i % common] for i in range(len(choices))]
    random.Random(seed).shuffle(targets)
    out = dict(entries)
    for q, target in zip(choices, targets, strict=True):
        right = q.answer()
        if right not in q.options:
            continue
        shown = list(LETTERS[:len(q.options)])
        others = [key for key in q.options if key != right]
        free = [letter for letter in shown if letter != target]
        letters = {right: target, **dict(zip(others, free, strict=True))}
        out[q.id] = dataclasses.replace(
            q, options={letters[k]: text for k, text in sorted(q.options.items(), key=lambda kv: letters[kv[0]])},
            why_not={letters[k]: text for k, text in q.why_not.items()}, answer=_displayed(q.answer, letters))
    return out


@functools.lru_cache(maxsize=None)
def as_written() -> dict:
    """id -> entry exactly as the tables write it (choices in the tables' own letters), in workbook
    order: each workbook's EXERCISES, then its QUESTIONS."""
    import importlib
    entries = {}
    for name in _table_modules():
        module = importlib.import_module(f"checker.exercises.{name}")
        for entry in getattr(module, "EXERCISES", []) + getattr(module, "QUESTIONS", []):
            if entry.id in entries:
                raise ValueError(f"duplicate exercise id {entry.id}")
            entries[entry.id] = entry
    return dict(sorted(entries.items(), key=lambda item: item[0].split(".")[0]))  # stable: keeps file order


@functools.lru_cache(maxsize=None)
def registry() -> dict:
    """id -> Exercise or Question, in workbook order, as students see them: choices re-lettered
    (see ``reletter``)."""
    return reletter(as_written())


def shown_letter(question_id: str, letter: str) -> str:
    """The displayed letter of the option that the table writes as ``letter``."""
    text = as_written()[question_id].options[letter]
    return next(shown for shown, option in registry()[question_id].options.items() if option == text)


def feedback_texts(entry) -> list[tuple[str, str]]:
    """(where, text) of every text of the table that a student can be shown about ``entry``: its hints,
    why each wrong option of a choice is wrong, and the texts of its named mistakes (on its first case).
    Feedback points, never tells: the tests read these for formulas and answers."""
    import numpy as np
    texts = [("hint", hint) for hint in entry.hints]
    texts += [(f"why_not {letter}", text) for letter, text in getattr(entry, "why_not", {}).items()]
    if isinstance(entry, Exercise) and entry.mistakes is not None:
        case = entry.cases(np.random.default_rng(0))[0]
        texts += [(code, more[0] if more else "") for code, _, *more in entry.mistakes(*case.args)]
    return texts


def example_makers() -> dict:
    """workbook -> its table module's ``example()``, which returns (values, params_seed).

    values: name -> array (or dict of arrays) of the workbook's fixed example, computed with the
    reference; params_seed: the seed of ``init_params`` for the example's parameters, or None.
    tools/build_notebooks.py stores them as checker/examples/wbNN.npz (see checker.examples).
    """
    import importlib
    makers = {}
    for name in _table_modules():
        make = getattr(importlib.import_module(f"checker.exercises.{name}"), "example", None)
        if make is not None:
            workbook = name.split("_")[0]
            if workbook in makers:
                raise ValueError(f"two example() functions for {workbook}")
            makers[workbook] = make
    return makers


def lookup(exercise_id: str):
    """The entry for an id; a ValueError that suggests the nearest ids for a typo."""
    from checker.result import nearest
    table = registry()
    if exercise_id not in table:
        near = nearest(str(exercise_id), list(table))
        raise ValueError(f"There is no exercise {exercise_id!r}."
                         + (f" Did you mean {', '.join(near)}?" if near else ""))
    return table[exercise_id]
