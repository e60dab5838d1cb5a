"""check(), evaluate() and report(): what a notebook cell calls.

They reach the exercise tables (and so the reference) only when called, and not at all in a
grading kernel (checker._mode), where they stand aside with one line.
"""
from __future__ import annotations

from checker import _mode
from checker.result import Report, Result
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
    from checker.evaluate import evaluate as grade
    return grade(exercise_id, submission, seed=seed, timeout=timeout)


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


def report(workbook: str, namespace: dict, *, show: bool = True) -> Report:
    """Grade every exercise and question of a workbook found by name in ``namespace``.

    ``report("wb02", globals())`` at the end of a notebook: a ✓/✗ table with points, in the order of the
    notebook. Never raises.
    """
    aside = _mode.standing_aside(f"the report of {workbook}")
    if aside is not None:
        return aside
    from checker.exercises import layout, registry
    prefix = workbook.rstrip(".") + "."
    table = registry()
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
