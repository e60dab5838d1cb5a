"""checker: grades the gradient functions students write in the backprop workbooks, and names the mistake.

    from checker import check, report, example

``check`` shows the feedback in a notebook and raises CheckFailed when it is not right;
``evaluate`` returns a Result and never raises for anything the student's function does;
``example`` reads the fixed example a workbook works through (see checker.examples).

The public names below offer no reference implementation and no answer: the reference network
(``checker.network``) and the exercise tables are the checker's own, and the copy of this package
that a grading kernel gets does not contain them (see checker._mode).
"""
from checker._mode import GRADING_KERNEL

if not GRADING_KERNEL:  # loaded first: the public functions bound below share these modules' names
    import checker.evaluate
    import checker.exercises  # noqa: F401

from checker.examples import example
from checker.gradcheck import gradcheck
from checker.notebook import CheckFailed, NotImplementedYet, check, evaluate, exercises, report
from checker.result import Report, Result

__version__ = "0.1.0"

__all__ = ["CheckFailed", "GRADING_KERNEL", "NotImplementedYet", "Report", "Result", "check", "evaluate",
           "example", "exercises", "gradcheck", "report"]


def __dir__():
    return sorted(__all__ + ["__version__"])
