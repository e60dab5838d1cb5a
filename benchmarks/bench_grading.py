"""Grading a class, side by side in one run: the grader, nbgrader autograde, and the floor.

The class is the one of issue 14, made from solutions/ at run time (tests/grade_fixtures.py): 20
students handing in workbook 02 — 10 copies of the solution, 5 with two planted mistakes (grad_W2
transposed; σ where σ' belongs in grad_z2, which backward uses too) and 5 untouched student
notebooks.  Every mode below grades (or runs) all of them, as a command of its own whose wall time
is measured from its start to its exit:

  floor             nbclient executes each notebook once, one after another, each in a fresh kernel
                    (its start included): a python3 kernel of this Python with the checker
                    importable, as a student's Jupyter runs the notebook (check() grades in it).
  floor, reduced    the same with the grading kernel's reduced checker first on the path, so that
                    check() stands aside as it does in the grader's kernels: the notebooks' own work.
  grade -j J        python -m checker grade --regrade -j J: every kernel in bubblewrap (the default).
  … --trust         the same with --trust-notebooks (no sandbox): the sandbox's cost is the difference
                    in throughput (notebooks per minute), 1 - (trusted time / sandboxed time).
  nbgrader          nbgrader autograde of the same notebooks, made into an nbgrader assignment: the
                    source version is the solution with every graded function followed by an
                    autograded test cell worth its points, whose tests are hidden (### BEGIN HIDDEN
                    TESTS: generate_assignment strips them from the release version; autograde puts them
                    back).  The hidden tests are the grader's own checks: checker.evaluate(id, fn) must
                    pass — the same cases, judge and time limit — run, as nbgrader runs tests, in the
                    student's kernel.  Each submission is the student's notebook with the release
                    version's test cells after their functions; autograde runs them one after another
                    (nbgrader has no parallel autograde).  Its kernels run this Python too (a kernelspec
                    made for the run), with the full checker on the path.

Each mode runs --repeat times (default 3), their order rotated from round to round, so that a
machine whose speed drifts slows them alike; the table gives min and median, and each ratio both
as the median of its per-round ratios (paired: both times from the same round) and as the ratio of
the medians.  The goals are issue 14's: the grader at its best -j within 0.4x nbgrader's time,
`grade -j 1` within 1.3x the floor, the sandbox under 10 % of throughput.

nbgrader is an optional extra of this benchmark only, never a dependency of the project: install
it into a virtual environment of its own, and the script finds it there (or give --nbgrader):

    python3 -m venv /tmp/nbgrader-venv && /tmp/nbgrader-venv/bin/pip install nbgrader
    python benchmarks/bench_grading.py            # or --nbgrader /path/to/bin/nbgrader

Without nbgrader (or with --no-nbgrader) its rows are left out.  Without bubblewrap the script
stops: there is no sandbox to measure.

Run: python benchmarks/bench_grading.py [--students 20] [--jobs 1 2] [--repeat 3] [--no-nbgrader]
"""
import argparse
import copy
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import grade_fixtures as fx  # noqa: E402
import machine  # noqa: E402  (benchmarks/machine.py, beside this script)

from checker.exercises import Exercise, registry  # noqa: E402
from checker.grading import environment, kernel_package, outputs, sandbox  # noqa: E402
from checker.grading.kernel import KernelSession  # noqa: E402

WORKBOOK = 2
ASSIGNMENT = "wb02"
KERNEL = "backprop-bench"
EMPTY = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
GOALS = {"nbgrader": 0.4, "floor": 1.3, "sandbox": 0.10}


# --- the class --------------------------------------------------------------------------------------------

def make_class(folder: Path, students: int) -> list:
    """Half copies of the solution, a quarter with planted mistakes, a quarter untouched: [(student, kind)]."""
    made = []
    for i in range(students):
        kind = "right" if i < students // 2 else "mistakes" if i < (3 * students) // 4 else "untouched"
        nb = (fx.solution(WORKBOOK) if kind == "right" else fx.planted_mistakes_wb02() if kind == "mistakes"
              else fx.student(WORKBOOK))
        name = f"{kind}{i:02d}"
        fx.write(nb, folder, name, WORKBOOK)
        made.append((name, kind))
    return made


# --- nbgrader: the assignment, the submissions, the kernel -------------------------------------------------

def _functions() -> dict:
    """name -> (exercise id, points) of workbook 02's graded functions."""
    return {e.name: (i, e.points) for i, e in registry().items()
            if i.startswith(f"wb{WORKBOOK:02d}.") and isinstance(e, Exercise)}


def _defines(cell, name: str) -> bool:
    return cell["cell_type"] == "code" and re.search(rf"^def {re.escape(name)}\(", fx._source(cell), re.MULTILINE)


def _meta(grade_id: str, *, solution=False, grade=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def test_cell(name: str, exercise_id: str, points: float, hidden: bool = True) -> dict:
    """The autograded test cell of one function; its tests hidden from the release version."""
    tests = (f"from checker.evaluate import evaluate as _evaluate\n"
             f"_result = _evaluate({exercise_id!r}, {name})\n"
             f"assert _result.passed, _result.message\n")
    source = f'"""Autograder tests of {name}: hidden until autograding."""\n'
    source += f"### BEGIN HIDDEN TESTS\n{tests}### END HIDDEN TESTS\n" if hidden else ""
    cell = fx.code_cell(source)
    cell["id"] = f"test-{name}".replace("_", "-")
    cell["metadata"] = {"nbgrader": _meta(f"test_{name}", grade=True, locked=True, points=points)}
    return cell


def nbgrader_version(nb: dict, solution_ids: set, *, hidden: bool) -> dict:
    """A workbook 02 notebook as nbgrader wants it: its solution cells marked (every cell that holds a SOLUTION
    region in the solution, by cell id; a written answer also as a 1-point cell graded by hand), each graded
    function followed by its test cell, the run's kernel."""
    nb = copy.deepcopy(nb)
    functions = _functions()
    cells = []
    for cell in nb["cells"]:
        if "solution-only" in cell.get("metadata", {}).get("tags", []):
            continue
        if cell.get("id") in solution_ids:   # a written answer is graded by hand in nbgrader too: 1 point
            written = cell["cell_type"] == "markdown"
            cell.setdefault("metadata", {})["nbgrader"] = _meta(f"cell_{cell['id']}", solution=True, grade=written,
                                                                points=1 if written else None)
        cells.append(cell)
        for name, (exercise_id, points) in functions.items():
            if _defines(cell, name):
                cells.append(test_cell(name, exercise_id, points, hidden))
    nb["cells"] = cells
    nb["metadata"]["kernelspec"] = {"name": KERNEL, "display_name": "backprop bench", "language": "python"}
    return nb


def nbgrader_course(base: Path, klass: list, folder: Path, nbgrader: str) -> tuple:
    """The course folder (config, kernelspec, source, release, submitted) and the environment to run nbgrader in."""
    course = base / "course"
    solution = fx.solution(WORKBOOK)
    solution_ids = {c.get("id") for c in solution["cells"] if "BEGIN SOLUTION" in fx._source(c)}
    name = fx.solution_path(WORKBOOK).name
    source = course / "source" / ASSIGNMENT / name
    source.parent.mkdir(parents=True)
    source.write_text(json.dumps(nbgrader_version(solution, solution_ids, hidden=True), indent=1))
    spec = course / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "backprop bench", "language": "python", "env": {"PYTHONPATH": str(ROOT)}}))
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.CourseDirectory.course_id = 'backprop'\n"
        "c.Execute.timeout = 300\n")
    env = dict(os.environ, JUPYTER_PATH=str(course / "jupyter"), PYTHONPATH=str(ROOT),   # nbgrader runs `alembic`
               PATH=os.pathsep.join([os.path.dirname(os.path.abspath(nbgrader)), os.environ.get("PATH", "")]))
    run = subprocess.run([nbgrader, "generate_assignment", ASSIGNMENT, "--force"], cwd=course, env=env,
                         capture_output=True, text=True, timeout=600)
    if run.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{run.stdout[-2000:]}{run.stderr[-2000:]}")
    release = json.loads((course / "release" / ASSIGNMENT / name).read_text())
    released = {c["id"]: c for c in release["cells"] if c["id"].startswith("test-")}
    for student, _ in klass:
        nb = json.loads((folder / student / name).read_text())
        submitted = nbgrader_version(nb, solution_ids, hidden=False)
        submitted["cells"] = [released.get(c.get("id"), c) for c in submitted["cells"]]
        path = course / "submitted" / student / ASSIGNMENT / name
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(submitted, indent=1))
    return course, env


def nbgrader_scores(course: Path, env: dict, nbgrader: str) -> dict:
    """student -> autograded score, read back through nbgrader's own API (a check that it graded)."""
    code = ("import json, sys\nfrom nbgrader.api import Gradebook\n"
            "with Gradebook(sys.argv[1]) as gb:\n"
            "    print(json.dumps({s.student.id: s.score for s in gb.find_assignment(sys.argv[2]).submissions}))\n")
    python = str(Path(nbgrader).resolve().parent / "python")
    run = subprocess.run([python, "-c", code, f"sqlite:///{course / 'gradebook.db'}", ASSIGNMENT], cwd=course,
                         env=env, capture_output=True, text=True, timeout=120)
    return json.loads(run.stdout) if run.returncode == 0 else {}


def find_nbgrader(given: str | None) -> str | None:
    for candidate in ([given] if given else ["/tmp/nbgrader-venv/bin/nbgrader", shutil.which("nbgrader")]):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


# --- the floor ----------------------------------------------------------------------------------------------

FLOOR = """
import sys, nbformat
from nbclient import NotebookClient
for path in sys.argv[1:]:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": path.rsplit("/", 1)[0]}}).execute()
"""


# --- running and timing -------------------------------------------------------------------------------------

def timed(argv, env, cwd) -> float:
    start = time.perf_counter()
    run = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv[:4]))} … failed ({run.returncode}):\n{run.stdout[-3000:]}")
    return seconds


def kernel_start_seconds(tmp: str, trust: bool, times: int = 5) -> float:
    """Median seconds from nothing to a kernel that answers, sandboxed or not."""
    env = environment.prepare(tempfile.mkdtemp(dir=tmp), trust=trust)
    seconds = []
    try:
        for _ in range(times):
            session = KernelSession(EMPTY, "start.ipynb", tempfile.mkdtemp(dir=tmp), env, memory_bytes=2 * 2**30)
            start = time.perf_counter()
            session.start()
            seconds.append(time.perf_counter() - start)
            session.close()
    finally:
        environment.release(env)
    return statistics.median(seconds)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=20, help="notebooks in the class; default 20")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    parser.add_argument("--jobs", type=int, nargs="+", default=sorted({1, cores}),
                        help=f"values of -j to time; default 1 and the cores ({cores})")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; default 3")
    parser.add_argument("--nbgrader", help="the nbgrader command (default: /tmp/nbgrader-venv/bin/nbgrader, or PATH)")
    parser.add_argument("--no-nbgrader", action="store_true", help="leave nbgrader out")
    parser.add_argument("--no-trust", action="store_true", help="leave out the runs without the sandbox")
    args = parser.parse_args(argv)
    try:
        sandbox.find()
    except sandbox.SandboxUnavailable as error:
        print(f"no sandbox here, nothing to compare:\n{error}", file=sys.stderr)
        return 1
    nbgrader = None if args.no_nbgrader else find_nbgrader(args.nbgrader)
    base_env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in os.environ.get(
        "PYTHONPATH", "").split(os.pathsep) if p]))
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        base = Path(tmp)
        folder = base / "class"
        klass = make_class(folder, args.students)
        notebooks = sorted(str(p) for p in folder.rglob("*.ipynb"))
        kinds = {k: sum(kind == k for _, kind in klass) for k in ("right", "mistakes", "untouched")}
        print(machine.describe())
        print(f"class: {len(notebooks)} notebooks of workbook {WORKBOOK:02d} ({kinds['right']} right, "
              f"{kinds['mistakes']} with two planted mistakes, {kinds['untouched']} untouched); "
              f"{args.repeat} rounds, the order of the modes rotated each round")
        reduced = kernel_package.build(str(base / "reduced"))
        modes = {"floor": ([sys.executable, "-c", FLOOR, *notebooks], base_env),
                 "floor, reduced": ([sys.executable, "-c", FLOOR, *notebooks],
                                    dict(base_env, PYTHONPATH=reduced + os.pathsep + base_env["PYTHONPATH"]))}
        for jobs in args.jobs:
            for trust in (False,) if args.no_trust else (False, True):
                name = f"grade -j {jobs}" + (" --trust" if trust else "")
                modes[name] = ([sys.executable, "-m", "checker", "grade", str(folder), "--out", str(base / "out"),
                                "-j", str(jobs), "--regrade", "-q"] + (["--trust-notebooks"] if trust else []),
                               base_env)
        course = None
        if nbgrader:
            course, nb_env = nbgrader_course(base, klass, folder, nbgrader)
            modes["nbgrader"] = ([nbgrader, "autograde", ASSIGNMENT, "--force"], nb_env)
        else:
            print("nbgrader: not installed, left out (see this script's docstring to install it)")
        print(f"kernel start (median of 5): {kernel_start_seconds(tmp, False):.2f} s in bubblewrap, "
              f"{kernel_start_seconds(tmp, True):.2f} s without")
        times = {name: [] for name in modes}
        names = list(modes)
        for round_ in range(args.repeat):
            order = names[round_ % len(names):] + names[:round_ % len(names)]
            for name in order:
                argv, env = modes[name]
                cwd = course if name == "nbgrader" else base
                times[name].append(timed(argv, env, cwd))
                print(f"  round {round_ + 1}: {name:<22} {times[name][-1]:7.1f} s", flush=True)
        graded = outputs.load_records(str(base / "out"))
        scores = sorted(r["score"] for r in graded.values())
        print(f"the grader's scores (last run): {scores[0]:g} to {scores[-1]:g}, "
              f"{sum(r['score'] == r['max_score'] for r in graded.values())} of {len(graded)} full marks")
        if course is not None:
            nb_scores = nbgrader_scores(course, modes["nbgrader"][1], nbgrader)
            right = [s for s, kind in klass if kind == "right"]
            print(f"nbgrader's scores: {len(nb_scores)} submissions autograded, "
                  f"{sum(nb_scores.get(s) == 11 for s in right)} of {len(right)} right ones at 11/11 "
                  f"(the 9 functions' points)")
        report(times, len(notebooks), args.jobs, args.repeat)
    return 0


def report(times: dict, n: int, jobs: list, repeat: int) -> None:
    print(f"\n{'mode':<24} {'min':>8} {'median':>8} {'s/notebook':>11} {'notebooks/min':>14}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:<24} {min(values):>7.1f}s {med:>7.1f}s {med / n:>11.2f} {60 * n / med:>14.1f}")

    def ratio(a: str, b: str):
        paired = [x / y for x, y in zip(times[a], times[b], strict=True)]
        return statistics.median(paired), min(paired), max(paired), statistics.median(times[a]) / statistics.median(
            times[b])

    print(f"\n{'ratio (paired, per round)':<44} {'median':>7} {'min':>6} {'max':>6} {'of medians':>11} {'goal':>7}")

    def line(label, a, b, goal=None):
        med, lo, hi, of = ratio(a, b)
        verdict = "" if goal is None else ("  met" if med <= goal else "  NOT MET")
        print(f"{label:<44} {med:>7.2f} {lo:>6.2f} {hi:>6.2f} {of:>11.2f} "
              f"{('<= %.2f' % goal) if goal else '':>7}{verdict}")

    best = min((f"grade -j {j}" for j in jobs), key=lambda m: statistics.median(times[m]))
    if "nbgrader" in times:
        line(f"{best} (best -j) / nbgrader autograde", best, "nbgrader", GOALS["nbgrader"])
        for j in jobs:
            if f"grade -j {j}" != best:
                line(f"grade -j {j} / nbgrader autograde", f"grade -j {j}", "nbgrader")
    line("grade -j 1 / floor", "grade -j 1", "floor", GOALS["floor"])
    line("grade -j 1 / floor, reduced", "grade -j 1", "floor, reduced")
    line("floor, reduced / floor", "floor, reduced", "floor")
    if any(name.endswith("--trust") for name in times):
        print(f"\n{'sandbox cost in throughput: 1 - trusted / sandboxed time':<60} {'median':>7} {'min':>6} "
              f"{'max':>6} {'goal':>7}")
        for j in jobs:
            a, b = f"grade -j {j}", f"grade -j {j} --trust"
            cost = [1 - t / s for s, t in zip(times[a], times[b], strict=True)]
            med = statistics.median(cost)
            print(f"{'-j ' + str(j):<60} {100 * med:>6.1f}% {100 * min(cost):>5.1f}% {100 * max(cost):>5.1f}% "
                  f"{'< %d%%' % (100 * GOALS['sandbox']):>7}{'  met' if med < GOALS['sandbox'] else '  NOT MET'}")


if __name__ == "__main__":
    sys.exit(main())
