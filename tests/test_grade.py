"""Instructor grading (issue 5): `python -m checker grade` on a generated class.

The class (tests/grade_fixtures.py) is made from solutions/ at run time: copies of the
solutions, untouched student notebooks, planted mistakes, broken notebooks and a hostile one.
It is graded once per module, in three runs: the first is interrupted with Ctrl-C after a
few students, the second resumes, the third has nothing left to do.  Every test then reads
the output folder.  Short limits keep the module to about a minute on two cores.
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import grade_fixtures as fx
import numpy as np
import pytest

from checker import judge as checker_judge
from checker.exercises import Exercise, registry, written
from checker.grading import Settings, collect, environment, grade, grade_submission, outputs, records, transfer
from checker.grading.cli import _size
from checker.grading.cli import main as cli_main
from checker.grading.nbval import is_check_cell

ROOT = Path(__file__).resolve().parents[1]
MEMORY = "2G"
LIMITS = ["--cell-timeout", "2", "--call-timeout", "5", "--notebook-timeout", "60", "--memory", MEMORY]
SETTINGS = Settings(cell_timeout=2, call_timeout=5, notebook_timeout=60, memory_bytes=_size(MEMORY))
WELL_BEHAVED_SECONDS = 40  # a normal notebook grades in 3-9 s; generous for a loaded CI machine


# Where bubblewrap cannot run (CI installs it), everything but the sandbox is still tested here.
TRUST = not fx.sandbox_available()
TRUST_FLAG = ["--trust-notebooks"] if TRUST else []

TABLE = registry()


def ids(workbook, kind=None):
    return [i for i, e in TABLE.items() if i.startswith(workbook + ".")
            and (kind is None or isinstance(e, Exercise) == (kind == "function"))]


def max_points(workbook):
    return sum(TABLE[i].points for i in ids(workbook))


def _kernels_under(folder: Path) -> list:
    """Processes whose command line mentions ``folder`` (the grader's scratch lives there)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if str(folder) in cmdline:
            found.append((entry.name, cmdline[:200]))
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded in three runs: interrupted, resumed, and once more with nothing to do."""
    base = tmp_path_factory.mktemp("grading")
    klass, out, scratch = base / "class", base / "out", base / "scratch"
    scratch.mkdir()
    fx.generate_class(klass)
    total = len(collect.find([klass])[0])

    env = dict(os.environ, TMPDIR=str(scratch))
    first = subprocess.Popen([sys.executable, "-m", "checker", "grade", str(klass), "--out", str(out), "-j", "2",
                              *LIMITS, *TRUST_FLAG], cwd=base, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / "records").glob("*.json"))) < 2:
        time.sleep(0.1)
    first.send_signal(signal.SIGINT)
    stopped_at = time.monotonic()
    first_output, _ = first.communicate(timeout=60)
    first_stop_seconds = time.monotonic() - stopped_at
    after_first = {p.name: json.loads(p.read_text())["record"] for p in (out / "records").glob("*.json")}
    markers_after_first = list((out / records.STARTED).glob("*.json"))
    grades_after_first = (out / "grades.csv").read_text()
    leftovers = _kernels_under(scratch)

    lines = []
    second = grade([klass], str(out), jobs=2, settings=SETTINGS, trust=TRUST, log=lines.append)
    third = grade([klass], str(out), jobs=2, settings=SETTINGS, trust=TRUST, log=lines.append)
    results = json.loads((out / "results.json").read_text())
    return {"class": klass, "out": out, "total": total, "first_rc": first.returncode, "first_output": first_output,
            "first_stop_seconds": first_stop_seconds, "after_first": after_first,
            "grades_after_first": grades_after_first, "leftovers": leftovers, "second": second, "third": third,
            "markers_after_first": markers_after_first,
            "log": lines, "results": results["students"]}


def student(graded, name, workbook):
    return graded["results"][name][workbook]


# --- scores and diagnoses ----------------------------------------------------------------------------

def test_copies_of_the_solutions_get_full_marks(graded):
    for workbook in ("wb01", "wb02"):
        s = student(graded, "alice", workbook)
        failed = {i: (e["diagnosis"], e["message"]) for i, e in s["exercises"].items() if not e["passed"]}
        assert not failed, failed
        assert s["score"] == s["max_score"] == max_points(workbook)
        assert set(s["exercises"]) == set(ids(workbook))


def test_untouched_student_notebooks_get_zero_and_every_item_not_implemented(graded):
    for workbook in ("wb01", "wb02"):
        s = student(graded, "bob", workbook)
        assert s["score"] == 0 and s["max_score"] == max_points(workbook)
        assert {e["diagnosis"] for e in s["exercises"].values()} == {"not_implemented"}
        assert s["written"] and all(w["status"] == "not answered" for w in s["written"].values())


def test_planted_mistakes_get_partial_credit_and_the_right_diagnosis(graded):
    s = student(graded, "carol", "wb02")
    wrong = {i: (e["diagnosis"], e["points"]) for i, e in s["exercises"].items() if not e["passed"]}
    assert wrong == {"wb02.grad_W2": ("transposed", 0.0),
                     "wb02.grad_z2": ("activation_instead_of_derivative", 0.0),
                     # backward uses both: dW3 and db3 are right, 2 of 6 parameters of 3 points
                     "wb02.backward": ("activation_instead_of_derivative", 1.0)}
    assert s["score"] == max_points("wb02") - 1 - 1 - 2
    assert "transpose" in s["exercises"]["wb02.grad_W2"]["message"]
    assert "σ(z) where its derivative" in s["exercises"]["wb02.grad_z2"]["message"]


def test_invalid_json_gets_zero_with_the_reason(graded):
    s = student(graded, "dave", "wb01")
    assert s["score"] == 0 and s["max_score"] == max_points("wb01")
    assert {e["diagnosis"] for e in s["exercises"].values()} == {"not_run"}
    assert "not valid notebook JSON" in s["notes"][0]
    assert "not valid notebook JSON" in (graded["out"] / "feedback" / "dave.md").read_text()


def test_right_but_fragile_answers_pass_with_the_warning_the_student_would_see_in_check(graded):
    s = student(graded, "nadia", "wb01")
    assert s["score"] == s["max_score"] == max_points("wb01")
    sigmoid, grad_b3 = s["exercises"]["wb01.sigmoid"], s["exercises"]["wb01.grad_b3"]
    assert any("overflowed in sigmoid" in w and "np.exp(-z)" in w for w in sigmoid["warnings"]), sigmoid
    assert grad_b3["warnings"] and "dz3" in grad_b3["warnings"][0], grad_b3
    feedback = (graded["out"] / "feedback" / "nadia.md").read_text()
    assert "✓ passed, with a warning" in feedback and "Right, with a warning" in feedback
    assert all(not e["warnings"] for e in student(graded, "alice", "wb01")["exercises"].values())


def test_a_renamed_function_is_missing_and_the_new_name_is_suggested(graded):
    s = student(graded, "erin", "wb01")
    item = s["exercises"]["wb01.grad_W3"]
    assert item["diagnosis"] == "missing" and "grad_w3" in item["message"]
    assert s["score"] == max_points("wb01") - TABLE["wb01.grad_W3"].points


def test_a_kernel_that_dies_costs_only_what_could_not_be_graded(graded):
    s = student(graded, "frank", "wb01")
    wrong = {i: e["diagnosis"] for i, e in s["exercises"].items() if not e["passed"]}
    assert wrong == {"wb01.grad_z3": "kernel_died"}   # grad_W3 and grad_b3 come after it: graded in a new kernel
    assert any("os._exit" in n and "skipped" in n for n in s["notes"])     # the scratch cell
    assert any("stopped while grad_z3" in n for n in s["notes"])


def test_when_no_restart_is_left_the_rest_gets_zero_with_the_reason(tmp_path):
    path = fx.write(fx.replace_function(fx.solution(1), "grad_z3", fx.KILL_WHEN_GRADED), tmp_path, "ivan", 1)
    settings = Settings(**{**SETTINGS.to_json(), "restarts": 0})
    env = environment.prepare(str(tmp_path / "env"), trust=TRUST)
    try:
        record = grade_submission(str(path), "ivan", None, settings, environment=env)
    finally:
        environment.release(env)
    items = {i["id"]: i for i in record["items"]}
    functions = ids("wb01", "function")
    after = functions[functions.index("wb01.grad_z3") + 1:]
    assert items["wb01.grad_z3"]["diagnosis"] == "kernel_died"
    assert after and all(items[i]["diagnosis"] == "not_run" and "restarted 0 time" in items[i]["message"]
                         for i in after)
    assert all(items[i]["passed"] for i in ids("wb01", "answer"))   # graded before the kernel died


def test_infinite_loops_are_interrupted_or_killed_and_the_rest_graded(graded):
    s = student(graded, "grace", "wb01")
    assert s["score"] == max_points("wb01"), s["notes"]
    assert any("was interrupted" in n for n in s["notes"])
    assert any("could not be interrupted" in n and "skipped" in n for n in s["notes"])


def test_a_memory_bomb_hits_the_kernel_cap_not_the_machine(graded):
    s = student(graded, "heidi", "wb01")
    item = s["exercises"]["wb01.grad_W3"]
    # 4 GiB is far less than this machine has: only the kernel's 2 GiB cap refuses it
    assert item["diagnosis"] == "exception" and item["details"]["error_type"] == "MemoryError"
    assert any("MemoryError" in e for e in s["errors"])
    assert s["score"] == max_points("wb01") - TABLE["wb01.grad_W3"].points


def test_a_hostile_notebook_earns_only_what_it_computed(graded):
    s = student(graded, "mallory", "wb01")
    earned = {i: e["points"] for i, e in s["exercises"].items() if e["points"]}
    assert earned == {"wb01.shape_x": 0.5, "wb01.grad_b3": 1.0}
    items = s["exercises"]
    assert items["wb01.grad_W3"]["diagnosis"] in ("wrong_shape", "transposed")   # the rigged subclass
    assert items["wb01.sigmoid"]["diagnosis"] == "wrong_type"                   # the rigged __eq__
    assert items["wb01.softmax"]["diagnosis"] == "exception"                    # sys.exit in the function
    assert "SystemExit" in items["wb01.softmax"]["message"]
    # the patches and exits are pointed out for the instructor
    assert any("sys.modules" in f for f in s["flags"]) and any("monkey-patching" in f for f in s["flags"])
    # its fake gradebook stayed in the kernel's scratch folder
    rows = list(csv.DictReader((graded["out"] / "grades.csv").open()))
    assert [r["total"] for r in rows if r["student"] == "mallory"] == ["1.5"]
    assert "mallory,1000" not in (graded["out"] / "grades.csv").read_text()
    assert not list(graded["class"].rglob("grades.csv")) and not list(graded["class"].rglob("results.json"))


def test_others_are_not_slowed_by_broken_notebooks(graded):
    for name, workbook in [("alice", "wb01"), ("alice", "wb02"), ("bob", "wb01"), ("carol", "wb02"),
                           ("erin", "wb01"), ("mallory", "wb01")]:
        assert student(graded, name, workbook)["seconds"] < WELL_BEHAVED_SECONDS
    # a hanging notebook costs its own limits: two 2 s cells, one 3 s interrupt grace, one rerun
    assert student(graded, "grace", "wb01")["seconds"] < 2 + 2 + 3 + 2 + WELL_BEHAVED_SECONDS


# --- output files ----------------------------------------------------------------------------------

def test_grades_csv_has_a_row_per_student_a_column_per_exercise_and_totals(graded):
    rows = list(csv.DictReader((graded["out"] / "grades.csv").open()))
    assert [r["student"] for r in rows] == sorted(graded["results"])
    header = rows[0].keys()
    for workbook in ("wb01", "wb02"):
        assert set(ids(workbook)) <= set(header) and f"{workbook}.total" in header
    alice = next(r for r in rows if r["student"] == "alice")
    assert float(alice["total"]) == max_points("wb01") + max_points("wb02")     # the written answers not graded yet
    assert float(alice["max"]) == sum(max_points(wb) + sum(written.of_workbook(wb).values()) for wb in ("wb01", "wb02"))
    assert alice["wb02.grad_W2"] == "1" and int(alice["needs_manual"]) > 0
    dave = next(r for r in rows if r["student"] == "dave")
    assert dave["wb02.total"] == "" and dave["wb01.total"] == "0"


def test_results_json_has_points_diagnosis_and_message_for_every_item(graded):
    item = student(graded, "carol", "wb02")["exercises"]["wb02.grad_W2"]
    assert item["points"] == 0 and item["diagnosis"] == "transposed" and item["message"]
    assert "seed" in item["details"]
    assert student(graded, "alice", "wb02")["seed"] is not None


def test_feedback_files_hold_the_checkers_messages_and_the_written_answers(graded):
    feedback = graded["out"] / "feedback"
    assert sorted(p.stem for p in feedback.glob("*.md")) == sorted(graded["results"])
    carol = (feedback / "carol.md").read_text()
    assert student(graded, "carol", "wb02")["exercises"]["wb02.grad_W2"]["message"] in carol
    alice = (feedback / "alice.md").read_text()
    written = student(graded, "alice", "wb02")["written"]
    first_id, first = next(iter(written.items()))
    assert first["status"] == "needs manual grading"
    assert f"`{first_id}`: needs manual grading" in alice
    assert first["text"].splitlines()[0] in alice


def test_written_answers_are_graded_by_filling_in_written_csv(graded, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(graded["out"], out)
    rows = list(csv.DictReader((out / "written.csv").open()))
    assert {r["status"] for r in rows if r["student"] == "alice"} == {"answered"}
    for row in rows:
        if row["student"] == "alice":
            row["points"], row["comment"] = "1", "Clear."
    with (out / "written.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=outputs.MANUAL_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    assert cli_main(["gradebook", str(out)]) == 0
    n = sum(r["student"] == "alice" for r in rows)
    alice = next(r for r in csv.DictReader((out / "grades.csv").open()) if r["student"] == "alice")
    auto = sum(s["score"] for s in graded["results"]["alice"].values())   # (full marks: another test's business)
    assert float(alice["total"]) == auto + n
    assert alice["needs_manual"] == "0"
    assert "graded by hand, 1/1 points" in (out / "feedback" / "alice.md").read_text()
    # the manual grades survive the next rebuild
    outputs.write_gradebook(str(out))
    assert all(r["points"] == "1" for r in csv.DictReader((out / "written.csv").open()) if r["student"] == "alice")


# --- resume, Ctrl-C, regrade ---------------------------------------------------------------------------

def test_ctrl_c_keeps_everything_already_graded_and_leaves_no_kernel(graded):
    assert graded["first_rc"] == 130, graded["first_output"]
    assert "interrupted" in graded["first_output"]
    assert graded["first_stop_seconds"] < 15
    assert len(graded["after_first"]) >= 2
    for record in graded["after_first"].values():
        assert record["student"] in graded["grades_after_first"]
    assert graded["leftovers"] == []
    assert graded["markers_after_first"] == []    # stopped by the instructor: not a crash to remember


def test_a_second_run_resumes_and_a_third_grades_nothing_new(graded):
    second, third = graded["second"], graded["third"]
    done_first = sum(r.get("complete", True) for r in graded["after_first"].values())
    assert second["skipped"] == done_first and second["graded"] == graded["total"] - done_first
    assert third["graded"] == 0 and third["skipped"] == graded["total"]
    # records of the first run were kept as they were, not graded again
    for name, record in graded["after_first"].items():
        assert json.loads((graded["out"] / "records" / name).read_text())["record"]["started"] == record["started"]


def test_a_changed_notebook_is_graded_again(graded, tmp_path):
    klass, out = tmp_path / "class", tmp_path / "out"
    path = fx.write(fx.renamed_wb01(), klass, "erin", 1)
    shutil.copytree(graded["out"] / "records", out / "records")
    first = grade([klass], str(out), jobs=1, settings=SETTINGS, trust=TRUST, log=lambda line: None)
    assert first["graded"] == 1 or first["skipped"] == 1
    fx.write(fx.solution(1), klass, "erin", 1)       # she fixes the name and submits again
    assert path.exists()
    again = grade([klass], str(out), jobs=1, settings=SETTINGS, trust=TRUST, log=lambda line: None)
    assert again["graded"] == 1
    erin = json.loads((out / "results.json").read_text())["students"]["erin"]["wb01"]
    assert erin["score"] == max_points("wb01")


# --- nbval ------------------------------------------------------------------------------------------

def test_nbval_lax_fails_exactly_the_cells_whose_checks_fail(tmp_path):
    folder = tmp_path / "submissions"
    mistake = fx.set_body(fx.solution(1), "grad_W3", "return np.outer(dz3, h2)")
    # (a copy of the solution passes every cell: carol's notebook is one, but for one cell)
    paths = {"bob": fx.write(fx.student(1), folder, "bob", 1),
             "carol": fx.write(mistake, folder, "carol", 1)}
    assert cli_main(["nbval-setup", str(folder)]) == 0
    run = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", str(folder), "-p", "no:cacheprovider",
                          "-q", "-rf"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    failed = {}
    for where, cell in re.findall(r"^FAILED (\S+)::cell (\d+)", run.stdout, re.MULTILINE):
        failed.setdefault(Path(where).parent.name, set()).add(int(cell))

    def cells(name):   # (number as JupyterLab counts cells: every cell from 1, cell)
        nb = json.loads(paths[name].read_text())
        return [(n, c) for n, c in enumerate(nb["cells"], start=1) if c["cell_type"] == "code"]

    bob_checks = {n for n, c in cells("bob") if is_check_cell(fx._source(c))}
    stub_checks = {n for n, c in cells("bob") if "raises-exception" in c["metadata"].get("tags", [])
                   and is_check_cell(fx._source(c))}
    carol_cell = next(n for n, c in cells("carol") if "def grad_W3(" in fx._source(c))
    assert failed.get("carol") == {carol_cell}, run.stdout[-3000:]
    assert failed.get("bob") == stub_checks and stub_checks <= bob_checks and stub_checks, run.stdout[-3000:]
    # each failure names its exercise: "FAILED …::cell 91 [wb01.grad_W3] - wb01.grad_W3: cell 91, the 2nd under …"
    assert re.search(rf"::cell {carol_cell} \[wb01\.grad_W3\]", run.stdout), run.stdout[-3000:]


# --- units: what crosses from the kernel, whose notebook is which ---------------------------------------

def test_only_plain_data_comes_back_from_a_kernel(tmp_path, monkeypatch):
    arrays = {"v": np.arange(3.0), "o": np.array([1, 2])}
    assert transfer.rebuild({"kind": "array", "key": "v"}, arrays).tolist() == [0, 1, 2]
    stand_in = transfer.rebuild({"kind": "other", "type": "Rigged"}, arrays)
    assert type(stand_in).__name__ == "Rigged" and not isinstance(stand_in, np.ndarray)
    assert type(transfer.rebuild({"kind": "other", "type": "x; import os"}, arrays)).__name__ == "object"
    assert transfer.rebuild({"kind": "tuple", "items": [{"kind": "int", "value": 3}]}, arrays) == (3,)
    assert transfer.rebuild({"kind": "list", "len": 4}, arrays) == [None] * 4
    assert type(transfer.rebuild({"kind": "bogus"}, arrays)).__name__ == "object"
    # a value is built only up to a budget: 4 MiB of JSON can describe 10**11 items, or name one array 10**5 times
    bomb = {"kind": "list", "items": [{"kind": "list", "len": 10**6}] * 100}
    big = {"v": np.zeros(2**20)}                                          # 8 MiB
    monkeypatch.setattr(transfer, "MAX_ARRAY_BYTES", 64 * 2**20)          # (512 MiB in use)
    for spec, arrays_of in ((bomb, arrays), ({"kind": "list", "items": [{"kind": "array", "key": "v"}] * 100}, big),
                            ({"kind": "objarray", "shape": [1000, 1000]}, arrays)):
        tracemalloc.start()
        try:
            with pytest.raises(transfer.TransferError, match="too large for the grader"):
                transfer.rebuild({"kind": "tuple", "items": [spec, spec]}, arrays_of)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        # built whole, each would take 800 MiB and more; refused, no more than the budget and one item
        assert peak < 80 * 2**20, f"{peak / 2**20:.0f} MiB built before the value was refused"
    assert len(transfer.rebuild({"kind": "list", "items": [{"kind": "array", "key": "v"}] * 5}, big)) == 5
    probed = transfer.rebuild_or_describe(bomb, arrays)                   # an answer variable: judged as what it is
    assert checker_judge.describe_value(probed) == "a value too large for the grader"
    # a pickled object array is refused, not unpickled
    np.save(tmp_path / "x.npy", np.array([object()], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(tmp_path / "out.npz", "w") as archive:
        archive.write(tmp_path / "x.npy", "v.npy")
    with pytest.raises(transfer.TransferError):
        transfer.load_arrays(str(tmp_path / "out.npz"))
    # so is a file whose arrays would not fit (a zip bomb is stopped before it is unpacked)
    monkeypatch.setattr(transfer, "MAX_ARRAY_BYTES", 2**20)
    with zipfile.ZipFile(tmp_path / "big.npz", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("v.npy", b"\0" * (2**20 + 1))
    with pytest.raises(transfer.TransferError, match="MiB"):
        transfer.load_arrays(str(tmp_path / "big.npz"))
    # ... and arrays count as the float64 the judge makes of them: 1 MiB of int8 is 8 MiB there
    np.savez(tmp_path / "int8.npz", v=np.zeros(2**20 // 2, dtype=np.int8))
    with pytest.raises(transfer.TransferError, match="counted as float64"):
        transfer.load_arrays(str(tmp_path / "int8.npz"))


SERVED = """
import numpy as np, os, time

def twice(a):
    return a * 2

def in_place(a):
    a *= 2
    return a.copy()

def nan_in(a):
    a[0, 0] = np.nan
    return 1.0

def same_back(a):
    a[:] = a
    return 1.0

def new_entry(p):
    p["W"] = p["W"] + 1
    return 1.0

def loop(a):
    while True:
        pass

def swallow(a):
    try:
        while True:
            pass
    except KeyboardInterrupt:
        return a

def liar(a):
    fd = os.open(os.path.join(os.path.dirname(os.getcwd()), "done"), os.O_WRONLY)
    os.write(fd, b"c1\\nc999\\n" * 100)
    return a * 2

def stubborn(a):
    while True:
        try:
            time.sleep(0.01)
        except KeyboardInterrupt:
            pass
"""


def _served_session(kernel, env, folder, monkeypatch):
    """A kernel with SERVED defined, whose execute requests are counted (in the list returned)."""
    session = kernel.KernelSession(b'{"cells": [], "metadata": {}}', "x.ipynb", folder, env, memory_bytes=2 * 2**30,
                                   interrupt_grace=1.0)
    session.start()
    assert session.execute(SERVED, 10).status == "ok"
    requests, execute = [], session.kernel.kc.execute
    monkeypatch.setattr(session.kernel.kc, "execute", lambda *a, **k: requests.append(1) or execute(*a, **k))
    return session, requests


def test_a_kernel_serves_its_calls_in_one_request_and_every_way_a_call_ends_is_an_outcome(tmp_path, monkeypatch):
    from checker.grading import kernel
    monkeypatch.setattr(kernel, "IO_ALLOWANCE", 0.3)
    env = environment.prepare(str(tmp_path / "env"), trust=TRUST)
    a = np.arange(6.0).reshape(2, 3)
    try:
        session, requests = _served_session(kernel, env, str(tmp_path), monkeypatch)

        def call(name, *args):
            return session.call(name, args, 0.5)

        def inputs_checked():
            assert call("twice", a).value.tolist() == (2 * a).tolist() and session.last == "ok"
            assert call("in_place", a).mutated == (0,) and a[0, 1] == 1.0    # the grader's own copy is untouched
            assert call("nan_in", a).mutated == (0,)
            assert call("same_back", a).mutated == ()
            assert call("new_entry", {"W": a, "b": a[0]}).mutated == (0,)

        inputs_checked()
        assert len(requests) == 1                              # one serve request for all of them
        for name in ("loop", "swallow"):                       # interrupted at the limit; the kernel goes on serving
            assert call(name, a).status == "timeout" and session.last == "timeout" and session.alive()
            assert call("twice", a).status == "returned"
        assert call("liar", a).status == "returned"            # lines it writes to `done` name no other call
        assert call("twice", a).value.tolist() == (2 * a).tolist()
        outcome = call("stubborn", a)                          # ignores the interrupt: killed
        assert outcome.status == "timeout" and session.last == "hung" and not session.alive()
        session.close()
        monkeypatch.setattr(kernel, "_fifo", lambda path, mode=0o600: None)   # no FIFOs (Windows): a request per call
        session, requests = _served_session(kernel, env, str(tmp_path), monkeypatch)
        inputs_checked()
        assert len(requests) == 5
        session.close()
    finally:
        environment.release(env)


def test_an_interrupt_that_lands_before_a_cell_runs_costs_the_cell_not_the_kernel(tmp_path):
    """A cell begun as the notebook's time runs out has a limit of milliseconds.  ipykernel drops a request that an
    interrupt lands on before its code runs ("KeyboardInterrupt caught in kernel"), and no reply ever came: the
    kernel was killed and the cell blamed ("could not be interrupted"; run again without it, and at the same
    deadline again: a notebook of many quick cells lost every point)."""
    from checker.grading import kernel
    env = environment.prepare(str(tmp_path / "env"), trust=TRUST)
    try:
        session = kernel.KernelSession(b'{"cells": []}', "x.ipynb", str(tmp_path), env, memory_bytes=2 * 2**30,
                                       interrupt_grace=1.0)
        session.start()
        statuses = [session.execute(f"x = {i}", limit).status for i in range(6) for limit in (0.0002, 0.001)]
        assert "hung" not in statuses and "died" not in statuses and session.alive(), statuses
        assert session.execute("assert x == 5", 5).status == "ok"
        session.close()
    finally:
        environment.release(env)


@pytest.mark.parametrize("trust", [True] if TRUST else [False, True], ids=lambda t: "trusted" if t else "sandboxed")
def test_a_kernel_that_jams_the_calls_channels_gets_its_answers_judged_in_time(tmp_path, monkeypatch, trust):
    """hostile_fixtures.JAMMER: a full `go`, calls named on `done` that it never answered, and a flood of
    replies on the shell channel never crash the grader nor hold it past a call's limit."""
    import hostile_fixtures as hx

    from checker.grading import kernel
    env = environment.prepare(str(tmp_path / "env"), trust=trust)
    a = np.arange(6.0).reshape(2, 3)
    try:
        session, _ = _served_session(kernel, env, str(tmp_path), monkeypatch)
        jammer = "import os, time\nevidence = lambda *a: None\n" + hx.JAMMER + "\n@jammed\ndef slow(a):\n" \
                 "    time.sleep(1.0)\n    return a * 2\n"
        assert session.execute(jammer, 10).status == "ok"
        assert session.execute("assert not jam_go()", 10).status == ("error" if trust else "ok")
        for _ in range(4):
            start = time.monotonic()
            outcome = session.call("slow", (a,), 3.0)        # a raise, never an exception in the grader
            assert time.monotonic() - start < 3.0 + kernel.IO_ALLOWANCE + session.interrupt_grace + 1.0
            # a raise, never an exception in the grader; without the sandbox the kernel can keep its own call
            # channel full, and then its call times out, in time
            assert outcome.status in ("returned", "raised") + (("timeout",) if trust else ())
            if not trust:   # only the shell flood reaches a sandboxed grader: the answer is judged as it is
                assert outcome.status == "returned" and outcome.value.tolist() == (2 * a).tolist()
        session.close()
    finally:
        environment.release(env)


def test_a_kernel_launched_ahead_is_handed_over_fresh_whenever_it_is_taken(tmp_path):
    """Spares: the kernel of the next notebook boots while one is graded; taken later than its own startup
    limit, it still becomes ready, with the notebook's copy written into its empty working folder."""
    from checker.grading import kernel
    env = environment.prepare(str(tmp_path / "env"), trust=TRUST)
    spares = kernel.Spares(str(tmp_path), env, memory_bytes=2 * 2**30, startup_timeout=1.0)
    try:
        spares.prepare()
        ahead = spares.spare
        time.sleep(1.5)
        spares.keep_one = False
        session = kernel.KernelSession(b'{"cells": []}', "mine.ipynb", str(tmp_path), env, spares=spares)
        session.start()
        assert session.kernel is ahead and spares.spare is None
        mine = "import os\nassert [f for f in os.listdir('.') if f[0] != '.'] == ['mine.ipynb'], os.listdir('.')"
        assert session.execute(mine, 10).status == "ok"
        session.close()
        assert not os.path.exists(ahead.workdir or "") and ahead.km is None
    finally:
        spares.close()
        environment.release(env)


def test_both_layouts_name_the_student(tmp_path):
    (tmp_path / "per-student" / "alice").mkdir(parents=True)
    (tmp_path / "per-student" / "alice" / "02_backprop.ipynb").write_text("{}")
    (tmp_path / "by-file" / ".ipynb_checkpoints").mkdir(parents=True)
    (tmp_path / "by-file" / "bob.ipynb").write_text("{}")
    (tmp_path / "by-file" / ".ipynb_checkpoints" / "bob-checkpoint.ipynb").write_text("{}")
    found, warnings = collect.find([tmp_path / "per-student", tmp_path / "by-file", tmp_path / "nothing"])
    assert [s.student for s in found] == ["alice", "bob"]
    assert warnings == [f"{tmp_path / 'nothing'}: no such file or folder"]
    names = [f"student{i}" for i in range(40)]
    parts = [[n for n in names if collect.in_shard(n, (k, 3))] for k in (1, 2, 3)]
    assert sorted(sum(parts, [])) == sorted(names) and all(parts)


def test_merging_shards_gives_the_same_gradebook(graded, tmp_path):
    files = sorted((graded["out"] / "records").glob("*.json"))
    for k, part in enumerate(("a", "b")):
        (tmp_path / part / "records").mkdir(parents=True)
        shutil.copy(graded["out"] / records.KEY_FILE, tmp_path / part / records.KEY_FILE)   # a folder is copied whole
        for path in files[k::2]:
            (tmp_path / part / "records" / path.name).write_text(path.read_text())
    assert cli_main(["merge", str(tmp_path / "merged"), str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    merged = json.loads((tmp_path / "merged" / "results.json").read_text())["students"]
    assert json.dumps(merged, sort_keys=True) == json.dumps(graded["results"], sort_keys=True)


def test_the_console_script_and_module_share_one_parser():
    import tomllib
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["backprop-grade"] == "checker.grading.cli:grade_main"
    run = subprocess.run([sys.executable, "-m", "checker", "grade", "--help"], capture_output=True, text=True)
    assert run.returncode == 0 and "--call-timeout" in run.stdout and "--shard" in run.stdout


# --- units: input hygiene, the gradebook's own defences ------------------------------------------------

def test_one_rule_names_the_student_and_two_claims_are_a_conflict(tmp_path):
    root = tmp_path / "class"
    nb = json.dumps(fx.solution(1))
    for relative in ("alice/01_forward.ipynb", "alice/old/draft.ipynb", "bob.ipynb", "carol/01_forward.ipynb",
                     "mallory/ivy.ipynb", "mallory/notes/x.txt"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(nb)
    found, warnings = collect.find([root])
    by_student = {s.student: s for s in found}
    # whatever a notebook's file is called, its first folder below the root names the student
    assert sorted(by_student) == ["alice", "bob", "carol", "mallory"]
    assert by_student["mallory"].conflict == () and by_student["mallory"].path.endswith("ivy.ipynb")
    alice = by_student["alice"]
    assert len(alice.conflict) == 2 and alice.workbook == "wb01"
    assert any("2 notebooks claim workbook wb01" in w for w in warnings)
    # a notebook given by itself: its file names the student
    [alone], _ = collect.find([root / "carol" / "01_forward.ipynb"])
    assert alone.student == "01_forward"


def test_links_hard_links_and_non_files_are_refused_and_never_opened(tmp_path):
    root, elsewhere = tmp_path / "class", tmp_path / "elsewhere"
    (root / "ann").mkdir(parents=True)
    elsewhere.mkdir()
    secret = elsewhere / "01_forward.ipynb"
    secret.write_text(json.dumps(fx.solution(1)))
    os.symlink(secret, root / "ann" / "01_forward.ipynb")
    os.symlink(elsewhere, root / "ben")
    (root / "cat").mkdir()
    os.link(secret, root / "cat" / "01_forward.ipynb")
    os.mkfifo(root / "dan.ipynb")
    found, warnings = collect.find([root])
    refused = {s.student: s.refused for s in found}
    assert set(refused) == {"ann", "ben", "cat", "dan"} and all(refused.values())
    assert "symbolic link" in refused["ann"] and "symbolic link" in refused["ben"]
    assert "hard link" in refused["cat"] and "not a regular file" in refused["dan"]
    assert len(warnings) == 4


def test_a_notebook_that_cannot_be_parsed_is_a_reason_never_an_exception(tmp_path, monkeypatch):
    from checker.grading import submission
    deep = tmp_path / "deep.ipynb"
    deep.write_text('{"cells": ' + "[" * 200_000 + "]" * 200_000 + "}")
    assert submission.read_notebook(str(deep)) == (None, "the file nests its JSON too deeply to be a notebook")
    monkeypatch.setattr(submission, "MAX_NOTEBOOK_BYTES", 1000)
    big = tmp_path / "big.ipynb"
    big.write_text(json.dumps({"cells": [], "x": "y" * 2000}))
    nb, why = submission.read_notebook(str(big))
    assert nb is None and "more than the" in why and "MiB" in why
    os.symlink(big, tmp_path / "link.ipynb")
    assert "symbolic link" in submission.read_notebook(str(tmp_path / "link.ipynb"))[1]


def test_written_answers_are_one_row_per_answer_and_a_bounded_record(tmp_path):
    """A written-answer cell copied 200 times gave 200 rows in written.csv for one answer (199 warnings on every
    run, and the instructor's points on one row only); 390 answers of 20,000 astral characters (30 MiB of
    notebook) made a record of 90 MiB, too large to read back (grader_error on every run)."""
    import hostile_fixtures as hx

    from checker.grading import submission
    nb = hx.notebook("shape_x = (1024,)", written=True)
    cell = nb["cells"][-1]
    nb["cells"] = nb["cells"][:1] + [dict(cell, source=submission.PLACEHOLDER), dict(cell, source="first part"),
                                     dict(cell, source="second part")]
    nb["cells"] += [dict(cell, source="\U0001F600" * 20_000) for _ in range(390)]
    nb["cells"] += [dict(cell, source="x", metadata={"tags": ["written-answer"], "checker": {"answer_id": f"a{i}"}})
                    for i in range(1000)]
    answers = submission.written_answers(nb)
    assert answers[0]["answered"] and answers[0]["text"].startswith("first part\n\nsecond part")
    assert len(answers) == submission.MAX_WRITTEN and len({a["id"] for a in answers}) == len(answers)
    record = {"student": "ann", "workbook": "wb01", "notebook": "x.ipynb", "items": [], "score": 0.0,
              "max_score": 0.0, "written": answers}
    out = str(tmp_path / "out")
    path = records.save(out, record)
    assert os.path.getsize(path) < records.MAX_RECORD_BYTES / 8 and ("ann", "wb01") in records.load(out)
    problems = []
    outputs.write_gradebook(out, problems=problems)
    assert problems == []
    rows = [r for r in csv.reader(open(os.path.join(out, "written.csv"))) if r[2] == "wb01.q_row_convention"]
    assert len(rows) == 1 and rows[0][3] == "answered"


def test_names_and_texts_of_a_notebook_are_written_and_printed_as_plain_text(tmp_path):
    """A lone surrogate (a folder name's undecodable byte, "\\ud800" in a notebook's JSON) could not be written as
    UTF-8: the main process raised and the class stopped.  Terminal escapes (clear the screen, set the title) and
    newlines in a name or a cell's first line went to the instructor's terminal as they were."""
    from checker.grading import run as grading_run
    klass = tmp_path / "class"
    raw = [b"\xff\xfebad", b"esc\x1b]0;title\x07name", b"new\nline", b"bidi\xe2\x80\xaeevil"]
    for name in raw:
        folder = os.path.join(bytes(klass), name)
        os.makedirs(folder)
        with open(os.path.join(folder, fx.solution_path(1).name.encode()), "w") as f:
            f.write(json.dumps({"cells": []}))
    names = sorted(s.student for s in collect.find([klass])[0])
    assert len(set(names)) == len(raw)
    for name in names:
        assert name.isprintable() and name.encode("utf-8"), name
    lines = []
    log = grading_run._printable_log(lines.append)
    sub = collect.find([klass])[0][0]
    record = {"version": 2, "student": sub.student, "workbook": "wb01", "notebook": sub.path, "sha256": None,
              "items": [], "score": 0.0, "max_score": 0.0, "seconds": 0.0, "errors": ["raised \x1b[2J\udcff"],
              "notes": ["cell 1 (`# \x1b]0;owned\x07`) stopped the kernel"], "flags": [],
              "written": [{"id": "wb01.q_row_convention", "text": "an answer \ud800\r\n\x1b[31mred", "answered": True}]}
    log(grading_run._progress(1, 1, record))
    assert lines[0].isprintable() and "\\x1b]0;owned\\x07" in lines[0]
    out = tmp_path / "out"
    records.save(str(out), record)
    outputs.write_gradebook(str(out))
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8")            # strict: every file is UTF-8
            assert "\x1b" not in text and "\ud800" not in text, path
    feedback = next((out / "feedback").iterdir()).read_text()
    assert "> an answer \\ud800\n> \\x1b[31mred" in feedback


def test_csv_cells_a_spreadsheet_would_run_are_neutralised_and_read_back():
    for text in ('=HYPERLINK("x","y")', "+1", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert outputs.csv_cell(text) == "'" + text and outputs.csv_value(outputs.csv_cell(text)) == text
    assert outputs.csv_cell("alice") == "alice" and outputs.csv_cell(2.5) == "2.5"
    assert outputs.csv_value("'quoted") == "'quoted"     # an apostrophe of the instructor's own stays


def _graded_record(student, answer_id="wb01.q_row_convention"):
    return {"student": student, "workbook": "wb01", "notebook": f"/x/{student}.ipynb", "sha256": "0", "items": [],
            "score": 1.0, "max_score": 1.0, "written": [{"id": answer_id, "text": "t", "answered": True}],
            "notes": [], "errors": [], "flags": [], "sandbox": "bubblewrap 0.8.0"}


def test_manual_points_count_only_within_their_maximum_for_known_answers(tmp_path):
    out = tmp_path / "out"
    for student in ("ann", "=bob"):
        outputs.save_record(str(out), _graded_record(student))
    rows = [["student", "workbook", "answer_id", "status", "points", "comment"],
            ["ann", "wb01", "wb01.q_row_convention", "answered", "7", ""],           # more than the 1 point it can get
            ["'=bob", "wb01", "wb01.q_row_convention", "answered", "0.5", "ok"],     # a neutralised name, read back
            ["ghost", "wb01", "wb01.q_row_convention", "answered", "1", ""],         # nobody graded: not counted
            ["=bob", "wb01", "wb01.q_row_convention", "answered", "1", ""]]          # a second row for one answer
    (out / "written.csv").write_text(outputs.csv_text(rows[1:], rows[0]))
    problems = []
    results = outputs.write_gradebook(str(out), problems=problems)
    assert results["students"]["ann"]["wb01"]["written_points"] == 0
    assert results["students"]["=bob"]["wb01"]["written_points"] == 0.5
    assert "ghost" not in results["students"]
    assert len(problems) == 3 and "outside 0..1" in problems[0] and "no graded notebook" in problems[1]
    assert "second row" in problems[2] and results["problems"] == problems
    kept = list(csv.reader((out / "written.csv").open()))
    assert ["ann", "wb01", "wb01.q_row_convention", "answered", "7", ""] in kept   # kept, to fix
    assert any(r[0] == "ghost" and "not counted" in r[3] for r in kept)


def test_a_notebook_the_grader_died_on_twice_is_recorded_as_a_fault_not_run_again(tmp_path):
    klass, out = tmp_path / "class", tmp_path / "out"
    path = fx.write(fx.student(1), klass, "zed", 1)
    records.mark_started(str(out), str(path), 2)        # the grader died twice while grading it
    summary = grade([klass], str(out), jobs=1, settings=SETTINGS, trust=TRUST, log=lambda line: None)
    zed = json.loads((out / "results.json").read_text())["students"]["zed"]["wb01"]
    assert summary["graded"] == 0 and zed["score"] == 0 and "2 times" in zed["notes"][0]
    assert {e["diagnosis"] for e in zed["exercises"].values()} == {"not_run"}
    assert records.started(str(out)) == {}
    again = grade([klass], str(out), jobs=1, settings=SETTINGS, trust=TRUST, log=lambda line: None)
    assert again["skipped"] == 1       # recorded: the next run does not try it (--regrade would)


def test_a_conflict_is_an_error_row_until_one_notebook_is_left(tmp_path):
    klass, out = tmp_path / "class", tmp_path / "out"
    nb = {"cells": [fx.code_cell("# wb01.shape_x\nshape_x = (1024,)")], "metadata": {}, "nbformat": 4,
          "nbformat_minor": 5}
    fx.write(nb, klass, "ann", 1)
    (klass / "ann" / "resubmitted.ipynb").write_text(json.dumps(nb))
    first = grade([klass], str(out), jobs=1, settings=SETTINGS, trust=TRUST, log=lambda line: None)
    ann = json.loads((out / "results.json").read_text())["students"]["ann"]["wb01"]
    assert first["graded"] == 0 and ann["score"] == 0 and "resubmitted.ipynb" in ann["notes"][0]
    (klass / "ann" / "resubmitted.ipynb").unlink()     # the instructor keeps one
    second = grade([klass], str(out), jobs=1, settings=SETTINGS, trust=TRUST, log=lambda line: None)
    ann = json.loads((out / "results.json").read_text())["students"]["ann"]["wb01"]
    assert second["graded"] == 1 and ann["score"] == 0.5
