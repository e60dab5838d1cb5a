"""Where this copy of ``checker`` runs: a student's own Python, or a kernel being graded.

A student's notebook imports the whole package: ``check`` grades on the spot against the
reference.  The instructor's grader gives each student kernel a *reduced* copy instead
(``checker/grading/kernel_package.py`` builds it once per run, read-only): only the files in
``KERNEL_FILES``, with ``GRADING_KERNEL = True`` written here.  In that copy the reference
network, the exercise tables and their answers do not exist, so no route leads to them; the
public functions still run (the notebook's own cells must), and ``check``, ``report``,
``gradcheck``, the multiple-choice widget and the sliders stand aside with one line: the
grader grades outside the kernel.
"""
from __future__ import annotations

GRADING_KERNEL = False

# Paths relative to the package folder; "examples/*.npz" takes every such file of that folder.
# None of these may import checker.network, checker.evaluate, checker.exercises or
# checker.grading at import time (tests/test_public_api.py builds the copy and imports it).
KERNEL_FILES = (
    "__init__.py",
    "_mode.py",
    "notebook.py",
    "result.py",
    "runner.py",
    "judge.py",
    "examples/__init__.py",
    "examples/*.npz",
    "figures.py",
    "data.py",
    "widgets.py",
    "sliders.py",
    "gradcheck.py",
    "testfunctions.py",
)

NOT_WHILE_GRADING = "graded by the instructor's grader, outside this kernel"


class NotWhileGrading:
    """What a checking tool returns in a grading kernel: one line when shown, and inert otherwise.

    Any attribute or call gives the same object back, so a notebook cell written for the real
    tool (``report.passed``, ``widget.value``) still runs to its end.
    """

    def __init__(self, what: str):
        self._what = what

    def __repr__(self) -> str:
        return f"{self._what}: {NOT_WHILE_GRADING}."

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __getattr__(self, name: str):
        if name.startswith("_"):  # IPython's display hooks and other protocols: not there
            raise AttributeError(name)
        return self

    def _ipython_display_(self) -> None:
        """Shown as a cell's last value: nothing more, the line was printed when it was made."""

    def __call__(self, *args, **kwargs):
        return self

    def __bool__(self) -> bool:
        return False

    def __iter__(self):
        return iter(())


def standing_aside(what: str) -> NotWhileGrading | None:
    """In a grading kernel: print why ``what`` does nothing here and return the inert stand-in."""
    if not GRADING_KERNEL:
        return None
    stand_in = NotWhileGrading(what)
    print(stand_in)
    return stand_in
