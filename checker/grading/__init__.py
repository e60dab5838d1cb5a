"""Instructor grading: ``python -m checker grade SUBMISSIONS... --out DIR``.

One code path with the student's self-check: every exercise is graded by ``checker.evaluate``,
which here is given a caller that runs the student's function inside their own kernel and
brings back only data (numbers and arrays).  Inputs come from a seed the kernel never sees,
and the comparison and the scoring happen in the grader's process.

    from checker.grading import grade, Settings
    grade(["submissions/"], "grades/", jobs=4, settings=Settings(call_timeout=10))

Every kernel runs in a bubblewrap sandbox (``trust=True`` / --trust-notebooks: without it) with
a reduced, read-only ``checker`` that has no reference and no answers.

Modules: collect (whose notebook is which: one rule, links refused, conflicts), shards (which part
of a class a machine grades: --shard K/N, auto/N on Slurm or Kubernetes), sandbox (the bwrap
command: what a kernel sees), kernel_package (the kernel's reduced checker), kernel_helper (the
grader's side inside a kernel), environment (both, once per run), kernel (the student's kernel, at
arm's length), transfer (the data that crosses), submission (one notebook -> a record), cells (how
a cell is named: as JupyterLab counts cells), review (review flags: what a notebook does beyond the
workbook's own cells), records (signed records, "started" markers), run (the parallel, resumable
run), outputs (gradebook, written points, feedback), merge (parts graded apart, made one), roster
and export (the gradebook for Canvas, Moodle, Gradescope), nbval and nbval_setup (the pytest
--nbval-lax path: no sandbox), cli.
"""
from checker.grading.run import grade
from checker.grading.submission import Settings, grade_submission

__all__ = ["Settings", "grade", "grade_submission"]
