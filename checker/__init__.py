"""checker: grades the gradient functions students write in the backprop workbooks, and names the mistake.

    from checker import check, evaluate, report, exercises, gradcheck, network

``evaluate`` returns a Result and never raises for anything the student's function does;
``check`` shows the feedback in a notebook and raises CheckFailed when it is not right.
"""
from checker import network
from checker.evaluate import evaluate
from checker.gradcheck import gradcheck
from checker.notebook import CheckFailed, NotImplementedYet, check, exercises, report
from checker.result import Report, Result

__version__ = "0.1.0"

__all__ = ["CheckFailed", "NotImplementedYet", "Report", "Result", "check", "evaluate", "exercises",
           "gradcheck", "network", "report"]

