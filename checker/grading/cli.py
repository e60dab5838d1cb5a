"""Command line: ``python -m checker grade|gradebook|export|merge|nbval-setup`` (and ``backprop-grade``)."""
from __future__ import annotations

import argparse
import os
import re
import sys

GRADE_HELP = """\
Grade students' notebooks: run each in a fresh, sandboxed kernel (bubblewrap) under time and
memory limits, call the student's functions there on fresh inputs, and judge the answers in
this process.  Writes DIR/grades.csv, DIR/results.json, DIR/written.csv and
DIR/feedback/<student>.md as it goes; running the same command again grades only new or changed
notebooks.  A notebook belongs to the student named by the first name of its path below
SUBMISSION (alice/… or alice.ipynb).  See docs/grading.md."""


def _size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", text, re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 4G or 1500M)")
    return int(float(match.group(1)) * 1024 ** " KMGT".index((match.group(2) or " ").upper()))


def _shard(text: str):
    from checker.grading.shards import ShardError, parse
    try:
        return parse(text)
    except ShardError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _workbook(text: str) -> str:
    text = text.strip().lower()
    if re.fullmatch(r"\d{1,2}", text):
        text = f"wb{int(text):02d}"
    if not re.fullmatch(r"wb\d\d", text):
        raise argparse.ArgumentTypeError(f"a workbook is wbNN or NN, e.g. wb02; got {text!r}")
    return text


def grade_parser(prog: str = "python -m checker grade") -> argparse.ArgumentParser:
    from checker.grading.run import default_jobs
    from checker.grading.submission import Settings
    d = Settings()
    p = argparse.ArgumentParser(prog=prog, description=GRADE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                   help="notebooks, or folders of them: a folder per student (alice/02_….ipynb) "
                        "or files named by student (wb02/alice.ipynb)")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="output folder (created; reused to resume)")
    p.add_argument("-j", "--jobs", type=int, default=default_jobs(),
                   help=f"submissions graded at once (default: all {default_jobs()} cores)")
    p.add_argument("--workbook", type=_workbook, help="grade every notebook as this workbook (default: from "
                   "the file name NN_….ipynb, else from the exercise ids the notebook uses)")
    p.add_argument("--cell-timeout", type=float, default=d.cell_timeout, metavar="S",
                   help=f"seconds per cell while the notebook runs (default {d.cell_timeout:g})")
    p.add_argument("--notebook-timeout", type=float, default=d.notebook_timeout, metavar="S",
                   help=f"seconds for one run of the whole notebook (default {d.notebook_timeout:g})")
    p.add_argument("--call-timeout", type=float, default=d.call_timeout, metavar="S",
                   help=f"seconds per call of a student's function while grading (default {d.call_timeout:g})")
    p.add_argument("--memory", type=_size, metavar="SIZE",
                   help="memory cap per kernel, e.g. 4G (default: 4G, less if -j kernels would not fit)")
    p.add_argument("--restarts", type=int, default=d.restarts,
                   help=f"new kernels per submission after one dies or hangs (default {d.restarts})")
    p.add_argument("--regrade", action="store_true", help="grade again even notebooks graded before")
    p.add_argument("--seed", type=int, help="base seed of the inputs (default: fresh for each submission)")
    p.add_argument("--shard", type=_shard, metavar="K/N",
                   help="grade only the students of part K of N (to split a class over N machines); auto/N takes K "
                        "from a Slurm job array or a Kubernetes indexed Job (docs/recipes/)")
    p.add_argument("--trust-notebooks", action="store_true",
                   help="run kernels WITHOUT the bubblewrap sandbox (where it is not available): only for a class "
                        "you trust, since a notebook then runs as you, with this machine in reach")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the summary")
    return p


def grade_main(argv=None, prog: str = "backprop-grade") -> int:
    from checker.grading.run import CannotGrade, default_memory, grade
    from checker.grading.submission import Settings
    args = grade_parser(prog).parse_args(argv)
    if args.jobs < 1:
        print("-j must be at least 1", file=sys.stderr)
        return 2
    settings = Settings(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                        call_timeout=args.call_timeout, memory_bytes=args.memory or default_memory(args.jobs),
                        restarts=args.restarts, seed=args.seed)

    def log(line):
        if not args.quiet or line.startswith(("done", "interrupted", "warning")):
            print(line, flush=True)
    try:
        summary = grade(args.submissions, args.out, jobs=args.jobs, workbook=args.workbook, settings=settings,
                        regrade=args.regrade, shard=args.shard, trust=args.trust_notebooks, log=log)
    except KeyboardInterrupt:
        return 130
    except CannotGrade as error:
        print(f"cannot grade: {error}", file=sys.stderr)
        return 2
    except OSError as error:   # the output folder (or the scratch folder) cannot be written
        print(f"cannot grade: {error.filename or args.out}: {error.strerror or error}", file=sys.stderr)
        return 2
    return 1 if summary["submissions"] == 0 else 0


def gradebook_main(argv) -> int:
    p = argparse.ArgumentParser(prog="python -m checker gradebook",
                                description="Rebuild grades.csv, results.json and the feedback files of DIR from "
                                            "its records and the points filled into DIR/written.csv.")
    p.add_argument("out", metavar="DIR")
    args = p.parse_args(argv)
    from checker.grading.outputs import write_gradebook
    if not os.path.isdir(args.out):
        print(f"{args.out}: no such output folder", file=sys.stderr)
        return 2
    from checker.grading.transfer import printable
    results = write_gradebook(args.out)
    for problem in results["problems"]:
        print(f"warning: {printable(problem)}", file=sys.stderr)
    print(f"{len(results['students'])} student(s): {os.path.join(args.out, 'grades.csv')}")
    return 0


def merge_main(argv) -> int:
    p = argparse.ArgumentParser(prog="python -m checker merge",
                                description="Merge output folders graded on several machines (--shard) into DIR.")
    p.add_argument("out", metavar="DIR")
    p.add_argument("parts", nargs="+", metavar="PART")
    args = p.parse_args(argv)
    from checker.grading.merge import merge
    from checker.grading.transfer import printable
    problems: list = []
    merged, results = merge(args.out, args.parts, problems)
    for problem in problems:
        print(f"warning: {printable(problem)}", file=sys.stderr)
    print(f"merged {len(merged)} record(s) of {len(results['students'])} student(s) into {args.out}")
    return 0


def nbval_setup_main(argv) -> int:
    from checker.grading import nbval_setup
    p = argparse.ArgumentParser(prog="python -m checker nbval-setup",
                                description="Write FOLDER/pytest.ini so that `pytest --nbval-lax FOLDER` fails exactly "
                                            "the cells whose checks fail, names each by its cell and exercise id, and "
                                            "cannot hang (a time limit per cell).")
    p.add_argument("folder")
    p.add_argument("--cell-timeout", type=float, default=nbval_setup.DEFAULT_CELL_TIMEOUT, metavar="S",
                   help=f"seconds per cell (default {nbval_setup.DEFAULT_CELL_TIMEOUT:g})")
    args = p.parse_args(argv)
    try:
        path, strays, removed = nbval_setup.setup(args.folder, args.cell_timeout)
    except nbval_setup.SetupRefused as error:
        print(f"nbval-setup: {error}", file=sys.stderr)
        return 2
    for old in removed:
        print(f"removed {old} (an earlier nbval-setup's; pytest.ini replaces it)")
    print(f"wrote {path}: now run  pytest --nbval-lax {args.folder}")
    if strays:
        print("warning: these files came with the submissions. pytest.ini keeps pytest from importing them when it "
              "runs on this folder, but pytest run on a subfolder holding its own pytest.ini would use that one — "
              "look at them, and delete what a student should not have handed in:", file=sys.stderr)
        for stray in strays:
            print(f"  {stray}", file=sys.stderr)
    return 0


def export_main(argv) -> int:
    from checker.grading.export import TARGETS, ExportError, export
    from checker.grading.roster import RosterError
    p = argparse.ArgumentParser(prog="python -m checker export",
                                description="Write DIR's gradebook for an LMS: one points column per workbook (written "
                                            "points included once entered) with its maximum, students matched through "
                                            "a roster. Writes DIR/export/TARGET.csv and TARGET-check.csv (who is not "
                                            "on the roster, who has no grades, what is not graded yet).")
    p.add_argument("out", metavar="DIR", help="the grader's output folder")
    p.add_argument("--to", required=True, choices=TARGETS, help="the LMS (csv: a plain table)")
    p.add_argument("--roster", metavar="ROSTER.csv",
                   help="student folder -> LMS ids (columns: student, name or first_name/last_name, email, sis_id, "
                        "lms_id, login_id, section; see docs/grading.md); required but for --to csv")
    p.add_argument("--output", "-o", metavar="FILE", help="where to write (default DIR/export/TARGET.csv)")
    p.add_argument("--title", action="append", default=[], metavar="wbNN=TITLE",
                   help="the column title of a workbook, e.g. the LMS's assignment name (repeat for each)")
    p.add_argument("--missing", choices=("blank", "zero"), default="blank",
                   help="points of a roster student without that workbook's notebook (default: blank)")
    args = p.parse_args(argv)
    problems: list = []
    try:
        done = export(args.out, args.to, args.roster, output=args.output, titles=args.title, missing=args.missing,
                      problems=problems)
    except (ExportError, RosterError) as error:
        print(f"export: {error}", file=sys.stderr)
        return 2
    for warning in done["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"wrote {done['path']}: {done['rows']} row(s); "
          + ", ".join(f"{done['titles'][w]} out of {done['maxima'][w]:g}" for w in done["workbooks"]))
    if done["checks"]:
        print(f"{len(done['checks'])} thing(s) to look at, listed in {done['check_path']}:")
        for student, line, what, points in done["checks"][:20]:
            print(f"  {student or '(line ' + line + ')'}: {what}" + (f" [{points}]" if points else ""))
        if len(done["checks"]) > 20:
            print(f"  … and {len(done['checks']) - 20} more")
    return 0


COMMANDS = {"grade": None, "gradebook": gradebook_main, "merge": merge_main, "nbval-setup": nbval_setup_main,
            "export": export_main}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in COMMANDS:
        print("usage: python -m checker {grade,gradebook,export,merge,nbval-setup} ...\n\n"
              "  grade SUBMISSIONS... --out DIR   grade notebooks (see: python -m checker grade --help)\n"
              "  gradebook DIR                    rebuild DIR's gradebook after filling in written.csv\n"
              "  export DIR --to LMS --roster R   the gradebook for canvas, moodle, gradescope or csv\n"
              "  merge DIR PART...                merge folders graded on several machines\n"
              "  nbval-setup FOLDER               make `pytest --nbval-lax FOLDER` fail exactly the failed checks",
              file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    if argv[0] == "grade":
        return grade_main(argv[1:], prog="python -m checker grade")
    return COMMANDS[argv[0]](argv[1:])
