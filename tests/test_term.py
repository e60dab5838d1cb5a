"""An instructor's term (issue 13), on a class graded once per module.

The class (tests/term_fixtures.py) is graded by the command line in one run, and again in three
parts by the recipes an instructor would use on a cluster — two tasks of the Slurm job array of
docs/recipes/grade-array.sbatch and one pod's command of the Kubernetes indexed Job of
docs/recipes/grade-indexed-job.yaml — and merged.  Then: the review flags, the exports for Canvas,
Moodle and Gradescope against a roster, written points within their maximum, the feedback of an
untouched notebook, the order of the notebook everywhere.  Besides, on small notebooks of their own:
the nbval path on a notebook that kills its kernel and one that loops, and grading with a Python
that has no ipykernel.  Short limits keep the module near a minute and a half on two cores.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import grade_fixtures as fx
import pytest
import term_fixtures as tf

import checker
from checker.exercises import layout, registry, written
from checker.grading import shards
from checker.grading.export import workbook_max

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "docs" / "recipes"
SEED = "11"
LIMITS = ["--cell-timeout", "3", "--call-timeout", "5", "--notebook-timeout", "60", "--memory", "2G", "--seed", SEED]


TRUST_FLAG = [] if fx.sandbox_available() else ["--trust-notebooks"]


def _checker(*args, env=None, cwd=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "checker", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout)


def _env(tmp: Path, **extra) -> dict:
    """The environment of a batch task: `python` on PATH is this Python (with this checker)."""
    shim = tmp / "bin"
    shim.mkdir(exist_ok=True)
    if not (shim / "python").exists():   # a script, not a link: a linked venv Python would not find its venv
        (shim / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        (shim / "python").chmod(0o755)
    return dict(os.environ, PATH=f"{shim}{os.pathsep}{os.environ['PATH']}", TMPDIR=str(tmp / "scratch"),
                GRADE_OPTIONS=" ".join(LIMITS + TRUST_FLAG), **extra)


def _k8s_command() -> str:
    yaml = pytest.importorskip("yaml")
    job = yaml.safe_load((RECIPES / "grade-indexed-job.yaml").read_text())
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed" and spec["completions"] == 3
    command = spec["template"]["spec"]["containers"][0]["command"]
    assert command[:2] == ["sh", "-c"] and "--shard auto/3" in command[2]
    return command[2]


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    base = tmp_path_factory.mktemp("term")
    (base / "scratch").mkdir()
    klass = base / "class"
    notebooks = tf.generate(klass)
    env = _env(base)
    started = time.monotonic()
    single = _checker("grade", klass, "--out", base / "single", "-j", "2", *LIMITS, *TRUST_FLAG, env=env, cwd=base)
    single_seconds = time.monotonic() - started
    snapshot = {name: (base / "single" / name).read_text() for name in ("grades.csv", "written.csv", "results.json")}
    feedback = {p.name: p.read_text() for p in (base / "single" / "feedback").glob("*.md")}
    # the same class in three parts: two Slurm array tasks and one pod of the indexed Job, as a cluster runs them
    parts = []
    for task in (1, 2):
        run = subprocess.run(["bash", str(RECIPES / "grade-array.sbatch")], capture_output=True, text=True,
                             timeout=600, cwd=base,
                             env={**env, "CLASS": str(klass), "PARTS": str(base / "parts-slurm"),
                                  "SLURM_ARRAY_TASK_ID": str(task), "SLURM_ARRAY_TASK_MIN": "1",
                                  "SLURM_ARRAY_TASK_MAX": "3", "SLURM_ARRAY_TASK_COUNT": "3",
                                  "SLURM_CPUS_PER_TASK": "2"})
        parts.append(("slurm", task, run))
    run = subprocess.run(["sh", "-c", _k8s_command()], capture_output=True, text=True, timeout=600, cwd=base,
                         env={**env, "CLASS": str(klass), "PARTS": str(base / "parts-k8s"),
                              "JOB_COMPLETION_INDEX": "2"})
    parts.append(("k8s", 3, run))
    merged = _checker("merge", base / "merged", base / "parts-slurm" / "part-1", base / "parts-slurm" / "part-2",
                      base / "parts-k8s" / "part-2", cwd=base)
    return {"base": base, "class": klass, "notebooks": notebooks, "single": single, "out": base / "single",
            "single_seconds": single_seconds, "snapshot": snapshot, "feedback": feedback, "parts": parts,
            "merged": merged, "results": json.loads(snapshot["results.json"])["students"]}


def copy_out(term, tmp_path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(term["out"], out)
    return out


def write_roster(path: Path, rows=tf.ROSTER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def read_csv(path: Path) -> list:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


# --- review flags -------------------------------------------------------------------------------------------

def test_the_class_is_graded(term):
    assert term["single"].returncode == 0, term["single"].stdout[-3000:] + term["single"].stderr[-3000:]
    assert set(term["results"]) == {"alice", "bob", "carol", "erin", "sybil"}


def test_solution_copies_untouched_and_honest_notebooks_get_no_review_flag(term):
    for name in ("alice", "bob", "erin", "sybil"):
        for workbook, summary in term["results"][name].items():
            assert summary["flags"] == [], (name, workbook, summary["flags"])
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(term["snapshot"]["grades.csv"]))}
    assert [rows[n]["review"] for n in ("alice", "bob", "erin", "sybil")] == ["0"] * 4
    assert term["results"]["sybil"]["wb01"]["score"] == registry()["wb01.shape_x"].points + 1


def test_each_planted_behaviour_is_one_flag_naming_its_cell_and_why(term):
    flags = term["results"]["carol"]["wb01"]["flags"]
    path = term["notebooks"]["carol"][0]
    assert len(flags) == len(tf.PLANTED) + 1, flags
    for kind, source in tf.PLANTED.items():
        number = tf.cell_number(path, f"# planted: {kind}")
        mine = [f for f in flags if f.startswith(f"cell {number}, ")]
        assert len(mine) == 1, (kind, flags)
        assert f"(`# planted: {kind}`)" in mine[0] and "a cell the student added" in mine[0]
        assert source.split("\n")[-1].strip()[:20] in mine[0] or kind in ("processes", "network", "tricks")
    from checker.grading.review import KINDS
    said = [next(k for k in KINDS if KINDS[k] in f) for f in flags]
    assert sorted(said) == sorted(list(tf.PLANTED) + ["folders"])
    # a workbook cell with a line added: flagged for that line alone; the setup cell's added print(): nothing
    changed = next(f for f in flags if "a cell of the workbook, changed" in f)
    cells = json.loads(path.read_text())["cells"]
    imports = next(fx._source(c).split("\n") for c in cells if "notebooks_here" in fx._source(c))
    assert re.findall(r"line (\d+):", changed) == [str(imports.index(tf.ADDED_TO_IMPORTS.split("\n")[1]) + 1)]
    setup = tf.cell_number(path, "#@title Setup")
    assert not any(f.startswith(f"cell {setup},") for f in flags)
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(term["snapshot"]["grades.csv"]))}
    assert rows["carol"]["review"] == str(len(flags))


# --- shards on a cluster, merged ----------------------------------------------------------------------------

TIMES = ("graded_at", "seconds")


def _without_times(results: dict) -> dict:
    """results.json's students without when and how long, and without the name of each run's scratch folder
    (a cell's ImportError names the kernel's copy of checker)."""
    text = re.sub(r"checker-grade-\w+", "SCRATCH", json.dumps(results["students"]))
    return {s: {w: {k: v for k, v in summary.items() if k not in TIMES} for w, summary in per.items()}
            for s, per in json.loads(text).items()}


def _differences(got, want, path="") -> list:
    """Where two results differ, as (path, got, wanted): the first few, for an assertion's message."""
    if isinstance(got, dict) and isinstance(want, dict):
        return [d for k in sorted(set(got) | set(want), key=str)
                for d in _differences(got.get(k), want.get(k), f"{path}/{k}")][:5]
    return [] if got == want else [(path, got, want)]


def test_three_shards_merged_give_exactly_the_gradebook_of_one_run(term):
    for system, k, run in term["parts"]:
        assert run.returncode == 0, (system, k, run.stdout[-2000:], run.stderr[-2000:])
    assert term["merged"].returncode == 0, term["merged"].stderr
    merged = term["base"] / "merged"
    # each part graded someone, and no student twice
    graded = [sorted(p.name for p in (term["base"] / f"parts-{s}" / f"part-{k if s == 'slurm' else 2}" / "records")
                     .glob("*.json")) for s, k, _ in term["parts"]]
    flat = [name for part in graded for name in part]
    assert all(graded) and len(flat) == len(set(flat)) == 7, graded
    assert (merged / "grades.csv").read_text() == term["snapshot"]["grades.csv"]
    assert (merged / "written.csv").read_text() == term["snapshot"]["written.csv"]
    got, want = (_without_times(json.loads(text)) for text in ((merged / "results.json").read_text(),
                                                               term["snapshot"]["results.json"]))
    assert got == want, _differences(got, want)
    for name, text in term["feedback"].items():
        def strip(t):
            return re.sub(r"checker-grade-\w+", "SCRATCH", re.sub(r"^Graded \S+ from", "Graded from", t, flags=re.M))
        assert strip((merged / "feedback" / name).read_text()) == strip(text), name


def test_the_shard_comes_from_the_slurm_array_or_the_indexed_job():
    assert shards.parse("2/4") == (2, 4)
    assert shards.parse("auto/3", {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "1",
                                   "SLURM_ARRAY_TASK_COUNT": "3"}) == (1, 3)
    assert shards.parse("auto/3", {"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "0"}) == (3, 3)   # --array=0-2
    assert shards.parse("auto/3", {"JOB_COMPLETION_INDEX": "0"}) == (1, 3)
    for text, env, said in [("auto/3", {}, "neither is set"),
                            ("auto/4", {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "3"}, "has 3 tasks"),
                            ("auto/3", {"JOB_COMPLETION_INDEX": "3"}, "outside 1..3"),
                            ("5/4", {}, "1 <= K <= N"), ("two/4", {}, "K/N")]:
        with pytest.raises(shards.ShardError, match=re.escape(said)):
            shards.parse(text, env)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "JOB_COMPLETION_INDEX"))}
    run = _checker("grade", "nothing", "--out", "nowhere", "--shard", "auto/3", env=env)
    assert run.returncode == 2 and "JOB_COMPLETION_INDEX" in run.stderr and "Traceback" not in run.stderr


# --- written answers: a maximum each; the exports --------------------------------------------------------------

def _fill_written(out: Path, points: dict) -> None:
    rows = read_csv(out / "written.csv")
    for row in rows[1:]:
        key = (row[0], row[2])
        if key in points:
            row[4] = points[key]
    with (out / "written.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


@pytest.fixture(scope="module")
def exported(term, tmp_path_factory):
    """The single run's folder with written points entered (two of them mistyped), rebuilt and exported."""
    tmp = tmp_path_factory.mktemp("exports")
    out = copy_out(term, tmp)
    answers = [a for a in written.of_workbook("wb01")]
    points = {("alice", answers[0]): "1", ("alice", answers[1]): "0.5", ("alice", answers[2]): "7",   # > its max
              ("alice", answers[3]): "1..", ("sybil", answers[0]): "1"}                           # a typo
    _fill_written(out, points)
    gradebook = _checker("gradebook", out)
    roster = write_roster(tmp / "roster.csv")
    runs = {target: _checker("export", out, "--to", target, "--roster", roster) for target in
            ("canvas", "moodle", "gradescope", "csv")}
    return {"out": out, "gradebook": gradebook, "runs": runs, "roster": roster, "answers": answers,
            "results": json.loads((out / "results.json").read_text())["students"]}


def test_written_points_count_within_their_maximum_and_a_typo_is_reported_and_kept(exported):
    run = exported["gradebook"]
    assert run.returncode == 0, run.stderr
    assert "outside 0..1" in run.stderr and "'1..' is not a number" in run.stderr
    alice = exported["results"]["alice"]["wb01"]
    assert alice["written_points"] == 1.5 and alice["written_max"] == sum(written.of_workbook("wb01").values())
    kept = {(r[0], r[2]): r[4] for r in read_csv(exported["out"] / "written.csv")[1:]}
    assert kept[("alice", exported["answers"][2])] == "7" and kept[("alice", exported["answers"][3])] == "1.."


EXPECTED_HEADERS = {
    "canvas": ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Backprop workbook 00",
               "Backprop workbook 01"],
    "moodle": ["First name", "Last name", "ID number", "Username", "Email address",
               f"Backprop workbook 00 (max {workbook_max('wb00'):g})",
               f"Backprop workbook 01 (max {workbook_max('wb01'):g})"],
    "gradescope": ["First Name", "Last Name", "SID", "Email", "Sections", "Backprop workbook 00",
                   "Backprop workbook 00 - Max Points", "Backprop workbook 01", "Backprop workbook 01 - Max Points"],
}


def _total(results, student, workbook) -> str:
    summary = results.get(student, {}).get(workbook)
    return "" if summary is None else f"{summary['score'] + summary['written_points']:g}"


def test_the_lms_exports_have_the_documented_headers_and_the_right_totals(exported):
    results = exported["results"]
    maxima = {w: workbook_max(w) for w in ("wb00", "wb01")}
    assert maxima["wb01"] == sum(e.points for i, e in registry().items() if i.startswith("wb01.")) \
        + sum(written.of_workbook("wb01").values())
    for target, header in EXPECTED_HEADERS.items():
        run = exported["runs"][target]
        assert run.returncode == 0, run.stderr
        rows = read_csv(exported["out"] / "export" / f"{target}.csv")
        assert rows[0] == header, target
        body = rows[2:] if target == "canvas" else rows[1:]
        assert len(body) == len(tf.ROSTER) - 1, target           # every roster row, in the roster's order
        points = {r[0] if target == "canvas" else r[0]: r for r in body}
        assert len(points) == len(body)
    canvas = read_csv(exported["out"] / "export" / "canvas.csv")
    assert canvas[1] == ["Points Possible", "", "", "", ""] + [f"{maxima[w]:g}" for w in ("wb00", "wb01")]
    by_id = {row[1]: row for row in canvas[2:]}
    assert by_id["101"][:5] == ["Alice Liddell", "101", "S001", "aliddell", "A"]
    assert by_id["101"][5:] == [_total(results, "alice", "wb00"), _total(results, "alice", "wb01")]
    assert float(by_id["101"][6]) == results["alice"]["wb01"]["score"] + 1.5       # the written points entered
    assert by_id["105"][5:] == ["", _total(results, "sybil", "wb01")]             # no wb00 notebook: empty
    assert by_id["106"][5:] == ["", ""]                                            # frank: nothing handed in
    moodle = {row[2]: row for row in read_csv(exported["out"] / "export" / "moodle.csv")[1:]}
    assert moodle["S003"][:5] == ["Carol Danvers", "", "S003", "cdanvers", "carol@example.edu"]
    assert moodle["S003"][5:] == ["", _total(results, "carol", "wb01")]
    gradescope = {row[3]: row for row in read_csv(exported["out"] / "export" / "gradescope.csv")[1:]}
    assert gradescope["bob@example.edu"][5:] == ["0", f"{maxima['wb00']:g}", "0", f"{maxima['wb01']:g}"]
    plain = {row[0]: row for row in read_csv(exported["out"] / "export" / "csv.csv")[1:]}
    assert "erin" in plain and plain["erin"][1:7] == [""] * 6                         # graded, not on the roster
    assert float(plain["alice"][-3]) == sum(float(x) for x in by_id["101"][5:])


def test_nobody_is_dropped_every_export_lists_who_is_missing_and_what_is_not_graded_yet(exported):
    for target in ("canvas", "moodle", "gradescope"):
        checks = read_csv(exported["out"] / "export" / f"{target}-check.csv")
        assert checks[0] == ["student", "roster line", "what to look at", "points"]
        said = {(r[0], r[2].split(":")[0]) for r in checks[1:]}
        assert ("erin", "graded, but not on the roster") in said
        assert any(r[0] == "erin" and "wb01 " in r[3] for r in checks[1:])               # with her points
        assert ("frank", "on the roster, but nothing of theirs was graded") in said
        assert ("sybil", "no wb00 notebook graded") in said
        assert any(r[0] == "" and r[1] == "7" for r in checks[1:])                      # the row without a folder
        assert any(r[0] == "alice" and "written answer(s) not graded yet" in r[2] for r in checks[1:])
    assert "erin" in exported["runs"]["canvas"].stdout and "not on the roster" in exported["runs"]["canvas"].stdout


def test_a_roster_or_an_export_that_cannot_work_stops_with_a_clear_message_and_writes_nothing(exported, tmp_path):
    out = exported["out"]
    bad = write_roster(tmp_path / "typo.csv", [["stduent", "email"], ["alice", "alice@example.edu"]])
    run = _checker("export", out, "--to", "canvas", "--roster", bad, "--output", tmp_path / "x.csv")
    assert run.returncode == 2 and "no column 'student'" in run.stderr and "did you mean student" in run.stderr
    no_email = write_roster(tmp_path / "ids.csv", [["student", "sis_id"], ["alice", "S001"]])
    run = _checker("export", out, "--to", "gradescope", "--roster", no_email, "--output", tmp_path / "x.csv")
    assert run.returncode == 2 and "e-mail" in run.stderr and "email" in run.stderr
    twice = write_roster(tmp_path / "twice.csv", [["student", "email"], ["alice", "a@x"], ["alice", "b@x"]])
    run = _checker("export", out, "--to", "moodle", "--roster", twice, "--output", tmp_path / "x.csv")
    assert run.returncode == 2 and "line 3: alice is on line 2 too" in run.stderr
    run = _checker("export", out, "--to", "canvas", "--output", tmp_path / "x.csv")
    assert run.returncode == 2 and "--roster" in run.stderr
    assert not (tmp_path / "x.csv").exists() and "Traceback" not in run.stderr


def test_a_renamed_column_of_written_csv_loses_nothing(term, tmp_path):
    out = copy_out(term, tmp_path)
    text = (out / "written.csv").read_text().replace("points", "pionts", 1).replace(",,\n", ",1,\n", 1)
    (out / "written.csv").write_text(text)
    run = _checker("gradebook", out)
    assert run.returncode == 0 and "no column 'points'" in run.stderr and "'pionts'" in run.stderr
    assert (out / "written.csv").read_text() == text                     # left exactly as the instructor saved it


# --- what a student reads; the order of the notebook --------------------------------------------------------------

def test_an_untouched_notebooks_feedback_is_one_line_per_section(term):
    text = term["feedback"]["bob.md"]
    wb01 = text[text.index("## Workbook wb01"):]
    sections = list(dict.fromkeys(layout.section(i) for i in layout.order("wb01")))
    lines = [line for line in wb01.splitlines() if line.startswith("- ")]
    assert [line[2:].split(":")[0] for line in lines] == [s.split(":")[0] for s in sections]
    assert "### What to fix" not in text and "not implemented" not in text
    assert text.count("\n") < 40
    # within a line, the items come in the order of the notebook
    first = lines[0]
    names = re.findall(r"`(\w+)`", first.split("; written")[0])
    assert [f"wb01.{n}" for n in names] == [i for i in layout.order("wb01") if i.split(".")[1] in names]


def test_a_notebook_that_could_not_be_run_says_so_once(tmp_path):
    from checker.grading import outputs
    items = [{"id": i, "kind": "function", "points": 0.0, "max_points": float(e.points), "passed": False,
              "diagnosis": "not_run", "message": "Not graded: the file is not valid notebook JSON.", "details": {}}
             for i, e in registry().items() if i.startswith("wb01.")]
    record = {"student": "dave", "workbook": "wb01", "notebook": "/x/dave.ipynb", "items": items, "score": 0.0,
              "max_score": 23.5, "written": [], "notes": ["The notebook could not be read."], "errors": [],
              "flags": []}
    text = outputs.feedback_markdown("dave", {"wb01": outputs.summarise(record, {})})
    assert text.count("Not graded: the file is not valid notebook JSON.") == 1
    assert text.count("#### ") == 1 and "(0/23.5)" in text


def test_the_gradebook_feedback_and_report_list_items_in_notebook_order(term):
    header = term["snapshot"]["grades.csv"].splitlines()[0].split(",")
    columns = [c for c in header if c.startswith("wb01.") and c not in ("wb01.written", "wb01.total")]
    graded = [i for i in layout.order("wb01") if i in registry()]
    assert columns == graded
    assert list(term["results"]["alice"]["wb01"]["exercises"]) == graded
    report = checker.report("wb01", {}, show=False)
    assert [row[0] for row in report.rows] == graded
    table = [i for i in registry() if i.startswith("wb01.")]
    assert graded != table and sorted(graded) == sorted(table)    # the tables' own order is not the notebook's


# --- nbval: never hangs; every failure says which exercise and which cell ----------------------------------------

def _notebook(*cells) -> dict:
    out = []
    for kind, source in cells:
        cell = {"cell_type": kind, "id": uuid.uuid4().hex[:8], "metadata": {}, "source": source}
        if kind == "code":
            cell.update(outputs=[], execution_count=None)
        out.append(cell)
    return {"cells": out, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
            "nbformat": 4, "nbformat_minor": 5}


def test_the_nbval_path_on_a_class_that_exits_and_loops_finishes_with_a_summary(tmp_path):
    folder = tmp_path / "submissions"
    for name, cells in {
        "frank": [("markdown", "# Workbook 01"), ("markdown", "## 1. Shapes"), ("code", "from checker import check"),
                  ("code", "shape_x = (1024,)\ncheck('wb01.shape_x', shape_x)"), ("code", "import os\nos._exit(3)"),
                  ("code", "shape_W1 = (1, 2)\ncheck('wb01.shape_W1', shape_W1)")],
        "grace": [("markdown", "# Workbook 01"), ("markdown", "## 1. Shapes"), ("code", "from checker import check"),
                  ("code", "while True:\n    pass"), ("markdown", "### Question 1.2"),
                  ("code", "shape_W1 = (1, 2)\ncheck('wb01.shape_W1', shape_W1)"),
                  ("code", "shape_x = (1024,)\ncheck('wb01.shape_x', shape_x)")],
    }.items():
        (folder / name).mkdir(parents=True)
        (folder / name / "01_forward.ipynb").write_text(json.dumps(_notebook(*cells)))
    (folder / "grace" / "conftest.py").write_text("raise SystemExit('a student conftest ran')\n")
    setup = _checker("nbval-setup", folder, "--cell-timeout", "3")
    assert setup.returncode == 0 and "conftest.py" in setup.stderr
    start = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", str(folder), "-rfx"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=240)
    seconds = time.monotonic() - start
    summary = run.stdout.strip().splitlines()[-1]
    assert re.match(r"=+ 3 failed, 4 passed, 1 xfailed in [\d.]+s", summary), run.stdout[-3000:]
    assert seconds < 90
    failed = re.findall(r"^FAILED (?:\S+/)?(\w+)/01_forward\.ipynb::(cell \d+(?: \[[\w., ]+\])?) - (.*)$", run.stdout,
                        re.MULTILINE)
    assert {(student, cell) for student, cell, _ in failed} == {
        ("frank", "cell 5"), ("grace", "cell 4"), ("grace", "cell 6 [wb01.shape_W1]")}, run.stdout[-3000:]
    report = run.stdout[run.stdout.index("= FAILURES ="):]
    assert 'cell 5, the 3rd under "1. Shapes" (`import os`): the kernel stopped in this cell' in report
    assert 'cell 4, the 2nd under "1. Shapes" (`while True:`): the cell ran past the cell timeout' in report
    assert 'wb01.shape_W1: cell 6, the 1st under "Question 1.2" (`shape_W1 = (1, 2)`)' in report
    assert "a student conftest ran" not in run.stdout + run.stderr


def test_nbval_setup_never_overwrites_a_pytest_ini_of_the_instructors(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -x\n")
    run = _checker("nbval-setup", tmp_path)
    assert run.returncode == 2 and "was not written by nbval-setup" in run.stderr
    assert (tmp_path / "pytest.ini").read_text() == "[pytest]\naddopts = -x\n"


# --- preflight: a Python without ipykernel --------------------------------------------------------------------------

def test_grading_with_a_python_without_ipykernel_stops_before_the_first_notebook_naming_the_fix(tmp_path):
    """The grader starts every kernel with the Python it runs on: a virtual environment holding everything of
    this one but ipykernel."""
    venv = tmp_path / "no-ipykernel"
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--without-pip", str(venv)],
                   check=True, timeout=120)
    site = next(venv.glob("lib/python3*/site-packages"))
    ours = Path(next(p for p in sys.path if p.endswith("site-packages") and Path(p, "numpy").exists()))
    for entry in ours.iterdir():
        if not entry.name.startswith("ipykernel"):
            os.symlink(entry, site / entry.name)
    python = venv / "bin" / "python"
    klass = tmp_path / "class"
    fx.write(fx.student(1), klass, "ann", 1)
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path))
    start = time.monotonic()
    run = subprocess.run([str(python), "-m", "checker", "grade", str(klass), "--out", str(tmp_path / "out"),
                          *TRUST_FLAG], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "stopped before the first notebook" in run.stderr and "has no ipykernel" in run.stderr
    assert f"{python} -m pip install ipykernel" in run.stderr and "Traceback" not in run.stderr
    assert time.monotonic() - start < 60
    assert not list((tmp_path / "out").glob("records/*.json")) and "[1/" not in run.stdout
