"""check(), evaluate() and report(): what a notebook cell calls.

They reach the exercise tables (and so the reference) only when called, and not at all in a
grading kernel (checker._mode), where they stand aside with one line.
"""
from __future__ import annotations

import sys

from checker import _mode
from checker.result import Report, Result, WrongArgument
from checker.runner import DEFAULT_TIMEOUT


class CheckFailed(AssertionError):
    """Raised by check() when a submission is not right, so that nbval and Run All stop there.

    IPython shows it as one line (``_render_traceback_``): the feedback itself was already
    displayed above it, and a traceback into the checker would only hide it.
    """

    def __init__(self, result: Result):
        super().__init__(result.headline)
        self.result = result

    def _render_traceback_(self):
        return [f"{self.result.headline} — see the feedback above."]


class NotImplementedYet(CheckFailed, NotImplementedError):
    """check() on a stub, or an answer still ``...``: one friendly line, no traceback."""

    def _render_traceback_(self):
        return [f"… {self.result.exercise_id}: not implemented yet. {self.result.message}"]


def evaluate(exercise_id: str, submission, *, seed: int | None = None, timeout: float = DEFAULT_TIMEOUT) -> Result:
    """Grade ``submission`` for ``exercise_id`` on fresh random inputs; never raises for what it does.

    submission: the student's function (for exercises) or value (for questions).
    seed: reproduces a run (the seed of a run is in ``Result.details``).
    """
    seed, timeout = _settings(seed, timeout)
    entry = None
    try:
        entry = _entry(exercise_id, submission)
        from checker.evaluate import evaluate as grade
        return grade(exercise_id, submission, seed=seed, timeout=timeout)
    except WrongArgument:
        raise
    except Exception as error:  # noqa: BLE001 -- the checker's own code failed: told, not raised
        return _checker_failed(exercise_id, entry, error)


def _describe(value) -> str:
    from checker.judge import describe_value
    return describe_value(value)


def _entry(exercise_id, submission, what: str = "check"):
    """The exercise of an id, or a WrongArgument that says in one line what was given and what is taken."""
    if not isinstance(exercise_id, str):
        if isinstance(submission, str):   # check(grad_W2, "wb02.grad_W2")
            name = getattr(exercise_id, "__name__", None)
            raise WrongArgument(f"{what} takes the exercise's id first, then your function: "
                                f"{what}({submission!r}, {name if isinstance(name, str) else 'your_function'}).")
        raise WrongArgument(f"The first argument of {what} is the exercise's id, a string such as 'wb02.grad_W2'; "
                            f"it got {_describe(exercise_id)}.")
    from checker.exercises import lookup
    try:
        return lookup(exercise_id)
    except ValueError as error:
        if not str(error).startswith("There is no exercise"):
            raise   # the exercise tables failed to load: the checker's own failure
        raise WrongArgument(str(error)) from None


def _settings(seed, timeout) -> tuple:
    """seed and timeout as the checker takes them, or a WrongArgument that says what they are."""
    import numbers
    whole = isinstance(seed, numbers.Integral) or (isinstance(seed, float) and seed.is_integer())
    if seed is not None and (isinstance(seed, bool) or not whole):
        raise WrongArgument(f"seed is a whole number (the one after 'To see this again'); it got {_describe(seed)}.")
    real = isinstance(timeout, numbers.Real) and not isinstance(timeout, bool)
    if timeout is not None and not (real and timeout > 0):
        raise WrongArgument(f"timeout is a number of seconds above 0; it got {_describe(timeout)}.")
    return (None if seed is None else int(seed)), timeout


def _checker_failed(exercise_id: str, entry, error: Exception) -> Result:
    """The Result when the checker's own code raised: no verdict on the student's work, and the likeliest cause,
    a function of numpy (or builtins) replaced in the notebook, named."""
    from checker.runner import _message, replaced_names
    replaced = replaced_names()
    cause = (f"A cell replaced {', '.join(replaced[:5])}, which the checker uses too: restart the kernel (or put "
             "it back) and run the cells again." if replaced else
             "Restart the kernel and run the cells again; if it happens again, tell your instructor.")
    return Result(exercise_id, False, 0.0, entry.points if entry else 0.0, "checker_error",
                  f"The checker itself failed here ({type(error).__name__}: {_message(error)}), so this says nothing "
                  f"about your {entry.name if entry else 'work'}. {cause}",
                  {"error_type": type(error).__name__, "replaced": replaced})


def check(exercise_id: str, submission, *, seed: int | None = None, timeout: float = DEFAULT_TIMEOUT) -> Result:
    """Grade a submission in a notebook: show the feedback; return the Result when it passed.

    Raises NotImplementedYet for a stub, CheckFailed for anything else that is not right.
    """
    aside = _mode.standing_aside(exercise_id)
    if aside is not None:
        return aside
    result = evaluate(exercise_id, submission, seed=seed, timeout=timeout)
    if result.diagnosis == "not_implemented":
        raise NotImplementedYet(result)
    result.show()
    if not result.passed:
        raise CheckFailed(result)
    return result


def report(workbook: str, namespace: dict | None = None, *, show: bool = True) -> Report:
    """Grade every exercise and question of a workbook found by name in ``namespace``.

    ``report("wb02", globals())`` at the end of a notebook: a ✓/✗ table with points, in the order of the
    notebook; without ``namespace``, the globals of the cell that calls it. Never raises for what the
    functions do; a workbook that does not exist, or a namespace that is not a dict, is told in one line.
    """
    aside = _mode.standing_aside(f"the report of {workbook}")
    if aside is not None:
        return aside
    if namespace is None:
        namespace = sys._getframe(1).f_globals
    from checker.exercises import layout, registry
    table = registry()
    known = sorted({i.split(".", 1)[0] for i in table})
    if not isinstance(workbook, str) or workbook.rstrip(".") not in known:
        got = repr(workbook) if isinstance(workbook, str) else _describe(workbook)
        raise WrongArgument(f"report takes a workbook's name, one of {', '.join(known)}; it got {got}.")
    if not hasattr(namespace, "keys") or not hasattr(namespace, "__getitem__"):
        raise WrongArgument(f"report takes the notebook's names as its second argument, report({workbook!r}, "
                            f"globals()); it got {_describe(namespace)}.")
    prefix = workbook.rstrip(".") + "."
    rows = []
    for exercise_id in layout.sort_ids(i for i in table if i.startswith(prefix)):   # in notebook order
        entry = table[exercise_id]
        found = entry.name in namespace
        result = evaluate(exercise_id, namespace[entry.name]) if found else None
        rows.append((exercise_id, entry.name, entry.points, result))
    table = Report(workbook, rows)
    if show:
        table.show()
    return table


def exercises() -> dict:
    """id -> what the student writes: a signature for functions, a description for answers."""
    if _mode.GRADING_KERNEL:
        return {}
    from checker.exercises import registry
    out = {}
    for exercise_id, entry in registry().items():
        out[exercise_id] = getattr(entry, "signature", None) or f"{entry.name} = <{entry.kind}>  # {entry.prompt}"
    return out
