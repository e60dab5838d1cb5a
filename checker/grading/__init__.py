"""Instructor grading: ``python -m checker grade SUBMISSIONS... --out DIR``.

One code path with the student's self-check: every exercise is graded by ``checker.evaluate``,
which here is given a caller that runs the student's function inside their own kernel and
brings back only data (numbers and arrays).  Inputs come from a seed the kernel never sees,
and the comparison and the scoring happen in the grader's process.

    from checker.grading import grade, Settings
    grade(["submissions/"], "grades/", jobs=4, settings=Settings(call_timeout=10))

Modules: collect (whose notebook is which), kernel (the student's kernel, at arm's length),
transfer (the data that crosses), submission (one notebook -> a record), run (the parallel,
resumable run), outputs (gradebook and feedback), nbval (the pytest --nbval-lax path), cli.
"""
from checker.grading.run import grade
from checker.grading.submission import Settings, grade_submission

__all__ = ["Settings", "grade", "grade_submission"]
