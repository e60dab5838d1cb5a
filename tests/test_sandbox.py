"""Issue 10: a class you do not trust, graded in the sandbox — and the same class without it.

The class (tests/hostile_fixtures.py) has one notebook per attack of the issue, beside two honest
students with known scores.  It is graded once per module in the sandbox (then resumed, then the
gradebook rebuilt) and once with --trust-notebooks, both by the command line and from a *copy*
of the checker package and solutions/ (so that an attack that gets through in the trusted run
damages only the copy; the real checkout is hashed before and after).  Then:

* sandboxed: no unearned point, no classmate's row changed, no row lost, no process left, nothing
  written outside out/, the checkout unchanged, the grader never crashed;
* the table at the end says, attack by attack, whether it got through with and without the
  sandbox: what the sandbox is what stops (network, files, processes, the real package), and what
  the other layers stop in both modes (signed records, input hygiene, CSV cells, dropped output).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import hostile_fixtures as hx
import pytest

import checker
from checker.grading import kernel_package, records, sandbox

ROOT = Path(checker.__file__).resolve().parents[1]
LIMITS = ["-j", "2", "--cell-timeout", "3", "--call-timeout", "3", "--notebook-timeout", "30", "--memory", "2G",
          "--restarts", "1"]
REQUIRE = os.environ.get("CHECKER_REQUIRE_SANDBOX") == "1"


def _sandbox_or_skip():
    try:
        return sandbox.find()
    except sandbox.SandboxUnavailable as error:
        if REQUIRE:
            raise
        pytest.skip(f"no usable bubblewrap here: {str(error).splitlines()[0]}")


# --- what the test looks at --------------------------------------------------------------------------------

def tree(folder: Path, skip=()) -> dict:
    """relative path -> sha256 of the content (or the link's target) of everything under folder."""
    found = {}
    for dirpath, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if Path(dirpath, d) not in skip and d != "__pycache__"]
        for name in dirs + files:
            path = Path(dirpath, name)
            if path in skip:
                continue
            relative = str(path.relative_to(folder))
            if path.is_symlink():
                found[relative] = "link:" + os.readlink(path)
            elif path.is_file():
                found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def touched_by(checkout: Path, token: str) -> list:
    """Files of the real checkout that carry a mark of the hostile notebooks (their token, their code).

    The real checkout is checked for marks rather than hashed: in a shared working tree other
    people edit it while the tests run.  The copy the grader ran from is hashed in full.
    """
    marks = (token.encode(), b"tampered-import", b"PWNED-")
    found = []
    for path in list((checkout / "checker").rglob("*")) + list(checkout.glob("*")):
        if path.is_file() and not path.is_symlink() and path.suffix not in (".pyc", ".npz"):
            try:
                if any(mark in path.read_bytes() for mark in marks):
                    found.append(str(path))
            except OSError:
                continue
    return found


def package_files(folder: Path) -> dict:
    return {k: v for k, v in tree(folder).items() if not k.endswith((".pyc", ".part"))}


class Listener:
    """A TCP server on 127.0.0.1 that keeps whatever a notebook sends it."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(2)
                try:
                    self.received.append(connection.recv(1000))
                except OSError:
                    pass

    def close(self):
        self.server.close()


def _run(args, env, cwd, timeout=600):
    start = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "checker", *args], env=env, cwd=cwd, capture_output=True, text=True,
                         timeout=timeout)
    return {"rc": run.returncode, "output": run.stdout + run.stderr, "seconds": time.monotonic() - start}


def _kill_leftovers(*texts) -> list:
    """End the processes this test's notebooks left (found by their command line), by pid."""
    killed = []
    for text in texts:
        for pid, argv in hx.processes_with(text):
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(argv)
            except OSError:
                pass
    return killed


def grade_class(base: Path, *, trust: bool) -> dict:
    """Generate the class under base, grade it (until a run finishes), wait, and collect everything."""
    checkout = base / "checkout"            # the grader runs from this copy, never from the real checkout
    shutil.copytree(ROOT / "checker", checkout / "checker", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "solutions", checkout / "solutions")
    klass, out, scratch, evidence = base / "class", base / "out", base / "scratch", base / "evidence"
    scratch.mkdir()
    listener = Listener()
    config = hx.Config(evidence=str(evidence), guard=str(ROOT), port=listener.port)
    home = next((p for p in (Path.home() / n for n in (".bashrc", ".profile", ".gitconfig")) if p.exists()),
                Path.home())
    looks = {"checkout": str(ROOT / "checker" / "network.py"), "solutions": str(ROOT / "solutions"),
             "grader_checker": str(checkout / "checker" / "exercises"), "class": str(klass / "ivy"),
             "out": str(out), "key": str(out / records.KEY_FILE), "evidence": str(evidence), "home": str(home)}
    outside = [str(out), str(base), str(klass / "ivy"), str(checkout / "checker"), str(evidence)]
    # The jammer only in the sandbox: without it, it can write into the FIFO and crash its own kernel's ZMQ,
    # and what that does to the timing of a class of attacks that kill kernels and graders made the
    # comparison below depend on the machine's speed.  tests/test_grade.py jams a kernel without the sandbox.
    students = hx.generate(klass, config, paths=looks, outside=outside, jammer=not trust)
    before = {"copy": package_files(checkout), "base": tree(base, skip={out, scratch})}
    env = dict(os.environ, PYTHONPATH=str(checkout), TMPDIR=str(scratch))
    env.pop("CHECKER_REQUIRE_SANDBOX", None)
    runs = []
    for _ in range(6):     # a trusted run can be killed by a notebook: resume until one finishes
        runs.append(_run(["grade", str(klass), "--out", str(out), *LIMITS]
                         + (["--trust-notebooks"] if trust else []), env, base))
        if runs[-1]["rc"] == 0:
            break
        deadline = time.monotonic() + 30   # what an instructor would do: wait until the killer daemon is gone
        while hx.processes_with(config.token) and time.monotonic() < deadline:
            time.sleep(0.5)
    right_after = {"token": hx.processes_with(config.token), "sleepers": hx.processes_with(hx.SLEEP_SECONDS),
                   "scratch": hx.processes_with(str(scratch))}
    deadline = time.monotonic() + (30 if trust else 3)   # an escaped daemon acts once the grader has exited
    while time.monotonic() < deadline and not (evidence / "daemon_rewrote_out").exists():
        time.sleep(0.2)
    later = {"token": hx.processes_with(config.token), "sleepers": hx.processes_with(hx.SLEEP_SECONDS)}
    resumed = _run(["grade", str(klass), "--out", str(out), *LIMITS] + (["--trust-notebooks"] if trust else []),
                   env, base)
    gradebook = _run(["gradebook", str(out)], env, base)
    killed = _kill_leftovers(config.token, hx.SLEEP_SECONDS, str(base))
    listener.close()
    results = json.loads((out / "results.json").read_text())
    return {"base": base, "class": klass, "out": out, "scratch": scratch, "evidence": evidence, "config": config,
            "students": students, "runs": runs, "resumed": resumed, "gradebook": gradebook, "results": results,
            "right_after": right_after, "later": later, "killed": killed, "received": list(listener.received),
            "before": before,
            "after": {"copy": package_files(checkout), "base": tree(base, skip={out, scratch})},
            "real_touched": touched_by(ROOT, config.token),
            "grades": list(csv.reader(io.StringIO((out / "grades.csv").read_text()))),
            "written": list(csv.reader(io.StringIO((out / "written.csv").read_text()))),
            "seen_files": sorted(p.name for p in evidence.iterdir())}


@pytest.fixture(scope="module")
def sandboxed(tmp_path_factory):
    _sandbox_or_skip()
    return grade_class(tmp_path_factory.mktemp("hostile-sandboxed"), trust=False)


@pytest.fixture(scope="module")
def trusted(tmp_path_factory):
    _sandbox_or_skip()     # the comparison is only worth making where the sandbox runs
    return grade_class(tmp_path_factory.mktemp("hostile-trusted"), trust=True)


def book(run, student):
    return run["results"]["students"].get(student, {}).get("wb01")


def score(run, student) -> float:
    per = run["results"]["students"].get(student, {})
    return sum(s["total"] for s in per.values())


def row(run, student) -> dict | None:
    header, *rows = run["grades"]
    for cells in rows:
        if cells[0].lstrip("'") == student.lstrip("'") or cells[0] == "'" + student:
            return dict(zip(header, cells, strict=False))
    return None


def seen(run) -> dict:
    """What read_machine could see, from the message of the exception it raised."""
    errors = book(run, "read_machine")["errors"]
    line = next(e for e in errors if "SEEN " in e)
    return json.loads(line.split("SEEN ", 1)[1].rstrip(" …"))


# --- in the sandbox ---------------------------------------------------------------------------------------

def test_the_grader_never_crashes_and_says_it_used_the_sandbox(sandboxed):
    for run in sandboxed["runs"] + [sandboxed["resumed"], sandboxed["gradebook"]]:
        assert run["rc"] == 0 and "Traceback" not in run["output"], run["output"][-3000:]
    assert len(sandboxed["runs"]) == 1
    assert sandboxed["results"]["sandbox"].startswith("bubblewrap ")
    diagnoses = {e["diagnosis"] for per in sandboxed["results"]["students"].values() for s in per.values()
                 for e in s["exercises"].values()}
    assert "grader_error" not in diagnoses
    assert "0 to grade" in sandboxed["resumed"]["output"]     # everything was recorded the first time


def test_no_row_is_lost(sandboxed):
    names = {r[0] for r in sandboxed["grades"][1:]}
    for student in sandboxed["students"]:
        assert row(sandboxed, student) is not None, (student, names)
    assert len(sandboxed["grades"]) - 1 == len(sandboxed["students"])


def test_honest_students_keep_exactly_their_points(sandboxed):
    ivy, harriet = book(sandboxed, "ivy"), book(sandboxed, "harriet")
    assert ivy["score"] == hx.HONEST_POINTS and all(e["passed"] for e in ivy["exercises"].values() if e["points"])
    assert harriet["score"] == hx.PARTIAL_POINTS
    assert {i: e["diagnosis"] for i, e in harriet["exercises"].items()
            if i in hx.PARTIAL_DIAGNOSES} == hx.PARTIAL_DIAGNOSES
    for name, points in hx.HONEST.items():
        assert float(row(sandboxed, name)["total"]) == points
        assert not book(sandboxed, name)["notes"], book(sandboxed, name)["notes"]   # no kernel of theirs killed


def test_no_attack_earns_a_point(sandboxed):
    earned = {s: score(sandboxed, s) for s in hx.ATTACKS if score(sandboxed, s)}
    assert earned == {}
    assert {s: score(sandboxed, s) for s in hx.FORMULA_NAMES} == {s: 0.5 for s in hx.FORMULA_NAMES}
    assert {"ghost", "ghost_signed"}.isdisjoint(sandboxed["results"]["students"])


def test_a_notebook_that_jams_the_calls_channels_gets_exactly_what_it_computed(sandboxed):
    for name in hx.RIGHT_BUT_HOSTILE:
        record = book(sandboxed, name)
        assert record["complete"] and record["score"] == hx.HONEST_POINTS, (name, record)
        assert float(row(sandboxed, name)["total"]) == hx.HONEST_POINTS


def test_a_notebook_that_attacks_the_grader_itself_gets_exactly_what_it_computed(sandboxed):
    for name, (_, points) in hx.EARNING.items():
        record = book(sandboxed, name)
        assert record is not None and record["complete"] and record["score"] == points, (name, record)
        assert float(row(sandboxed, name)["total"]) == points
    escapes = book(sandboxed, hx.ESCAPES_STUDENT)
    assert "\\x1b]0;owned\\x07" in escapes["notes"][0] and "\\x1b[2J" in escapes["errors"][0]
    assert _escapes_shown(sandboxed) == []


def _escapes_shown(run) -> list:
    """Where a terminal escape or a text no UTF-8 file can hold went: the grader's output, the output folder."""
    shown = [f"output of run {i}" for i, r in enumerate(run["runs"] + [run["resumed"], run["gradebook"]])
             if "\x1b" in r["output"]]
    for path in run["out"].rglob("*"):
        if path.is_file() and path.name != records.KEY_FILE:
            try:
                if "\x1b" in path.read_bytes().decode("utf-8"):
                    shown.append(str(path))
            except UnicodeDecodeError:
                shown.append(f"{path} (not UTF-8)")
    return shown


def test_no_process_is_left_and_nothing_reached_the_network(sandboxed):
    assert sandboxed["right_after"] == {"token": [], "sleepers": [], "scratch": []}
    assert sandboxed["later"] == {"token": [], "sleepers": []}
    assert sandboxed["killed"] == [] and sandboxed["received"] == []
    assert not list(sandboxed["scratch"].iterdir())       # the grader's scratch folder is gone


def test_nothing_is_written_outside_out_and_the_checkout_is_unchanged(sandboxed):
    before, after = sandboxed["before"], sandboxed["after"]
    assert sandboxed["real_touched"] == []           # the real checkout (see touched_by)
    assert after["copy"] == before["copy"]           # the package the grader ran from, byte for byte
    assert after["base"] == before["base"]           # the class, the evidence folder, everything but out/
    assert sandboxed["seen_files"] == []             # no attack got far enough to leave evidence
    assert not list(sandboxed["out"].rglob("PWNED*"))


def test_the_kernel_sees_nothing_of_the_machine(sandboxed):
    looks = seen(sandboxed)
    assert looks == {name: False for name in looks}, looks
    assert {"checker.network", "checker.exercises", "checker.evaluate", "checkout", "solutions", "class", "out",
            "key", "home", "grader_checker"} <= set(looks)


def test_each_attack_ends_in_a_row_that_says_what_happened(sandboxed):
    key = book(sandboxed, "answer_key")
    assert any("checker.exercises" in e for e in key["errors"]), key["errors"]
    assert {e["diagnosis"] for e in key["exercises"].values() if e["kind"] == "function"} == {"missing"}
    for name in ("linker", "linkdir"):
        notes = " ".join(s["notes"][0] for s in sandboxed["results"]["students"][name].values())
        assert "symbolic link" in notes and "refused" in notes
    impostor = book(sandboxed, "impostor")
    assert impostor["score"] == 0
    assert "2 notebooks claim" in impostor["notes"][0] and "ivy.ipynb" in impostor["notes"][0]
    deep = book(sandboxed, "deep_json")
    assert {e["diagnosis"] for e in deep["exercises"].values()} == {"not_run"}
    assert "nests its JSON too deeply" in deep["notes"][0]
    bomb = sandboxed["results"]["students"]["print_bomb"]["wb01"]
    records_folder = sandboxed["out"] / "records"
    peak = [json.loads(p.read_text())["record"].get("worker_peak_mib") for p in records_folder.glob("print_bomb__*")]
    assert bomb["complete"] and peak and peak[0] < 400, peak   # 500 MiB printed; the worker never held it
    assert not list((sandboxed["out"] / records.STARTED).glob("*.json"))


def test_every_csv_cell_that_a_spreadsheet_would_run_is_neutralised(sandboxed):
    for table in (sandboxed["grades"], sandboxed["written"]):
        cells = [cell for line in table for cell in line]
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    for name in hx.FORMULA_NAMES:
        assert row(sandboxed, name)["student"] == "'" + name


def test_records_are_signed_and_a_changed_or_planted_one_is_ignored(sandboxed, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(sandboxed["out"], out)
    assert oct((out / records.KEY_FILE).stat().st_mode & 0o777) == "0o600"
    ivy = out / "records" / "ivy__wb01.json"
    data = json.loads(ivy.read_text())
    assert set(data) == {"record", "signature"}
    data["record"]["score"] = 0.0
    ivy.write_text(json.dumps(data))
    (out / "records" / "zzzz-ghost__wb01.json").write_text(json.dumps(
        {"record": {"student": "ghost", "workbook": "wb01", "items": [], "score": 99.0}, "signature": "0" * 64}))
    shutil.copy(out / "records" / "harriet__wb01.json", out / "records" / "mallory__wb01.json")   # misnamed
    run = subprocess.run([sys.executable, "-m", "checker", "gradebook", str(out)], capture_output=True, text=True)
    assert run.returncode == 0
    for name in ("ivy__wb01.json", "zzzz-ghost__wb01.json", "mallory__wb01.json"):
        assert f"{name}:" in run.stderr and "ignored" in run.stderr
    students = json.loads((out / "results.json").read_text())["students"]
    assert "ghost" not in students and "mallory" not in students and "ivy" not in students
    assert len(json.loads((out / "results.json").read_text())["problems"]) == 3
    merged = tmp_path / "merged"                                  # and merge never takes them in
    run = subprocess.run([sys.executable, "-m", "checker", "merge", str(merged), str(out)], capture_output=True,
                         text=True)
    assert run.returncode == 0 and run.stderr.count("ignored") == 3
    students = json.loads((merged / "results.json").read_text())["students"]
    assert {"ghost", "mallory", "ivy"}.isdisjoint(students) and "harriet" in students


# --- with --trust-notebooks: what the sandbox is what stops ------------------------------------------------

def _got_through(run) -> dict:
    """attack -> whether it did what it set out to do, read from the run's outputs and evidence."""
    evidence = set(run["seen_files"])
    students = run["results"]["students"]
    out = run["out"]
    looks = seen(run)
    daemon_points = (book(run, "daemon") or {}).get("written_points", 0)
    return {
        "answer_key: the reference and answer key by a disguised import": score(run, "answer_key") > 0,
        "steal_classmate: a classmate's functions via the grader's command line": score(run, "steal_classmate") > 0,
        "steal_solutions: solutions/ found from checker": score(run, "steal_solutions") > 0,
        "tamper_checker: code appended to the grader's checker": run["after"]["copy"] != run["before"]["copy"],
        "tamper_checker: later workers run the tampered code": any(f.startswith("tampered-import") for f in evidence),
        "daemon: outlives its kernel": "daemon_rewrote_out" in evidence or bool(run["right_after"]["token"]),
        "daemon: forges a signed record with the folder's key": "ghost_signed" in students,
        "daemon: writes its own points into written.csv": daemon_points > 0,
        "daemon: plants an unsigned record": "ghost" in students,
        # (the formula-named students are graded first, so their records exist when the daemon strikes)
        "daemon: zeroes classmates' records (used as they are)": any(score(run, s) == 0 for s in hx.FORMULA_NAMES),
        "assassin: SIGKILLs classmates' kernels": any(f.startswith("killed-") for f in evidence),
        "kill_grader: kills the grader": any(r["rc"] == -signal.SIGKILL for r in run["runs"]),
        "kill_grader: every resumed run dies at the same notebook": run["resumed"]["rc"] != 0,
        "sleepers: processes left after the grader exits": bool(run["right_after"]["sleepers"]),
        "print_bomb: the worker holds the 500 MiB": any(
            json.loads(p.read_text())["record"].get("worker_peak_mib", 0) >= 400
            for p in (out / "records").glob("print_bomb__*")),
        **({"jammer: writes into the FIFO only the grader writes": "jammed_go" in evidence,
            "jammer: its row is incomplete (the grader crashed or ran out of time on it)":
                not (book(run, "jammer") or {}).get("complete", False)} if "jammer" in run["students"] else {}),
        "hoarder: huge values run the worker out of memory (its row incomplete, its points lost)":
            not (book(run, "hoarder") or {}).get("complete") or score(run, "hoarder") != hx.HOARDER_POINTS,
        "escapes: a terminal escape printed or written, a lone surrogate stops the grader":
            bool(_escapes_shown(run)) or book(run, hx.ESCAPES_STUDENT) is None,
        "linker/linkdir: a symbolic link to solutions/ is graded": score(run, "linker") + score(run, "linkdir") > 0,
        "impostor: a notebook credited to a classmate": score(run, "impostor") > 0 or len(students.get("ivy", {})) > 1,
        "deep_json: a RecursionError stops the grader": "deep_json" not in students,
        "network: data sent over TCP": run["received"] != [],
        "read_machine: the checkout, solutions, class, out/, home": any(looks.values()),
        "write_outside: files written outside out/": run["after"]["base"] != run["before"]["base"],
        "formula names: a CSV cell a spreadsheet runs": any(
            c[:1] in ("=", "+", "-", "@", "\t", "\r")
            for table in (run["grades"], run["written"]) for line in table for c in line),
    }


# What only the sandbox stops; everything else is stopped in both modes by another layer:
# signed records, the started markers, input hygiene, CSV cells, the dropped kernel output.
SANDBOX_STOPS = {
    "answer_key: the reference and answer key by a disguised import",
    "steal_classmate: a classmate's functions via the grader's command line",
    "steal_solutions: solutions/ found from checker",
    "tamper_checker: code appended to the grader's checker",
    "tamper_checker: later workers run the tampered code",
    "daemon: outlives its kernel",
    "daemon: forges a signed record with the folder's key",
    "daemon: writes its own points into written.csv",
    "assassin: SIGKILLs classmates' kernels",
    "kill_grader: kills the grader",
    "sleepers: processes left after the grader exits",
    "network: data sent over TCP",
    "read_machine: the checkout, solutions, class, out/, home",
    "write_outside: files written outside out/",
}


def test_what_the_sandbox_is_what_stops(sandboxed, trusted):
    with_sandbox, without = _got_through(sandboxed), _got_through(trusted)
    table = ["attack".ljust(66) + "sandboxed      --trust-notebooks"]
    for attack in with_sandbox:
        table.append(attack.ljust(66) + ("GOT THROUGH" if with_sandbox[attack] else "stopped").ljust(15)
                     + {True: "got through", False: "stopped", None: "(sandboxed class only)"}[without.get(attack)])
    print("\n" + "\n".join(table))
    assert not any(with_sandbox.values()), "\n".join(table)
    assert {a for a, through in without.items() if through} == SANDBOX_STOPS, "\n".join(table)
    # the trusted run still finished, and recorded the grader-killer as a fault instead of dying on it again
    assert any(f.startswith("zeroed-") for f in trusted["seen_files"])      # the daemon did strike
    killer = book(trusted, "kill_grader")
    assert killer is not None and "stopped" in killer["notes"][-1] and "times" in killer["notes"][-1]
    assert trusted["results"]["sandbox"] == "none"
    assert any("--trust-notebooks" in line and "WITHOUT a sandbox" in line for r in trusted["runs"]
               for line in r["output"].splitlines())


# --- units -------------------------------------------------------------------------------------------------

def test_the_honest_fixtures_are_what_their_expected_scores_say():
    from checker.evaluate import evaluate
    for source, expected in ((hx.HONEST_FUNCTIONS, hx.HONEST_POINTS), (hx.PARTIAL, hx.PARTIAL_POINTS)):
        namespace = {}
        exec(source, namespace)
        total = sum(evaluate(i, namespace[i.split(".")[1]]).score for i in
                    ("wb01.sigmoid", "wb01.softmax", "wb01.cross_entropy", "wb01.grad_z3", "wb01.grad_W3",
                     "wb01.grad_b3", "wb01.shape_x") if i.split(".")[1] in namespace)
        assert total == expected


LEAVE_TRACES = """
import os, subprocess
for folder in (os.getcwd(), "/tmp", "/dev/shm", os.environ["HOME"], os.path.dirname(os.getcwd())):
    try:
        open(os.path.join(folder, "trace-{token}"), "w").close()
    except OSError:
        pass
subprocess.Popen(["sleep", "{seconds}"], start_new_session=True)
shape_x = (1024,)
"""

LOOK_FOR_TRACES = """
import os
seen = []
for folder in (os.getcwd(), "/tmp", "/dev/shm", os.environ["HOME"], os.path.dirname(os.getcwd())):
    try:
        seen += [f"{{folder}}/{{name}}" for name in os.listdir(folder) if "trace-{token}" in name]
    except OSError:
        pass
for pid in (p for p in os.listdir("/proc") if p.isdigit()):
    try:
        if b"{seconds}" in open(f"/proc/{{pid}}/cmdline", "rb").read():
            seen.append(f"process {{pid}}")
    except OSError:
        pass
if seen:
    raise RuntimeError("SEEN " + ", ".join(seen))
shape_x = (1024,)
"""


def test_notebooks_graded_one_after_another_by_one_worker_never_meet(tmp_path):
    """A worker grades notebook after notebook, the next one's kernel booting meanwhile: each still runs in a
    sandbox of its own, with folders of its own, and sees nothing the one before left (files, processes) —
    which, without the sandbox, it does."""
    _sandbox_or_skip()
    token, seconds = uuid.uuid4().hex[:12], f"{600 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 100:02d}"
    klass = tmp_path / "class"
    for name, source in (("a_first", LEAVE_TRACES), ("b_second", LOOK_FOR_TRACES)):
        (klass / name).mkdir(parents=True)
        (klass / name / hx.NOTEBOOK).write_text(json.dumps(hx.notebook(source.format(token=token, seconds=seconds))))
    env = dict(os.environ, TMPDIR=str(tmp_path))
    seen = {}
    try:
        for trust in (False, True):
            out = tmp_path / f"out-{trust}"
            run = _run(["grade", str(klass), "--out", str(out), "-j", "1", "--cell-timeout", "20"]
                       + (["--trust-notebooks"] if trust else []), env, tmp_path)
            assert run["rc"] == 0, run["output"][-2000:]
            students = json.loads((out / "results.json").read_text())["students"]
            assert students["a_first"]["wb01"]["exercises"]["wb01.shape_x"]["passed"]
            seen[trust] = students["b_second"]["wb01"]["errors"]
    finally:
        _kill_leftovers(seconds)
        for folder in ("/tmp", "/dev/shm"):
            Path(folder, f"trace-{token}").unlink(missing_ok=True)
    assert seen[False] == [], seen[False]
    assert seen[True] and "/tmp/trace-" in seen[True][0] and "process" in seen[True][0], seen[True]


def test_the_kernel_package_holds_exactly_the_kernel_files_read_only(tmp_path):
    site = Path(kernel_package.build(str(tmp_path)))
    try:
        copied = sorted(str(p.relative_to(site / "checker")) for p in (site / "checker").rglob("*")
                        if p.is_file() and "__pycache__" not in p.parts)
        assert copied == kernel_package.kernel_files(kernel_package.installed_package())
        assert {"__init__.py", "_mode.py"} <= set(copied) and any(p.startswith("examples/") for p in copied)
        assert not (site / "checker" / "network.py").exists() and not (site / "checker" / "exercises").exists()
        assert not (site / "checker" / "grading").exists() and not (site / "checker" / "evaluate.py").exists()
        assert "GRADING_KERNEL = True" in (site / "checker" / "_mode.py").read_text()
        assert (site / f"{kernel_package.HELPER_MODULE}.py").exists()
        for path in site.rglob("*"):
            assert path.stat().st_mode & 0o222 == 0, path
    finally:
        kernel_package.remove(str(site))
    assert not site.exists()


def test_the_sandbox_binds_the_environment_inside_the_checkout_but_not_the_checkout(tmp_path):
    _sandbox_or_skip()
    env = __import__("checker.grading.environment", fromlist=["x"]).prepare(str(tmp_path))
    try:
        view = env.view
        assert str(ROOT) not in view.readonly and str(ROOT / "checker") not in view.readonly
        assert sys.prefix in view.readonly or os.path.realpath(sys.prefix) in view.readonly
        inbox, writable = tmp_path / "in", tmp_path / "w"
        inbox.mkdir(), writable.mkdir()
        code = ("import os, json; print(json.dumps({'checkout': sorted(os.listdir(%r)) if os.path.exists(%r) else [], "
                "'writable': os.access(%r, os.W_OK), 'inbox': os.access(%r, os.W_OK)}))"
                % (str(ROOT), str(ROOT), str(writable), str(inbox)))
        argv = sandbox.command(env.box, view, inbox=str(inbox), writable=str(writable), cwd=str(writable),
                               env={"PATH": "/usr/bin:/bin"}, argv=[env.python, "-c", code])
        run = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        looks = json.loads(run.stdout)
        inside = looks["checkout"]
        # only the path down to the virtual environment exists: no checker/, no solutions/, no tests/
        expected = [os.path.relpath(sys.prefix, ROOT).split(os.sep)[0]] if sys.prefix.startswith(str(ROOT)) else []
        assert inside == expected, looks
        assert looks["writable"] is True and looks["inbox"] is False
    finally:
        __import__("checker.grading.environment", fromlist=["x"]).release(env)


def test_grade_refuses_to_run_without_bubblewrap_and_says_how_to_install_it(tmp_path):
    (tmp_path / "bin").mkdir()
    env = dict(os.environ, PATH=str(tmp_path / "bin"))     # no bwrap on this PATH
    klass = tmp_path / "class"
    (klass / "ann").mkdir(parents=True)
    (klass / "ann" / hx.NOTEBOOK).write_text(json.dumps(hx.notebook("shape_x = (1024,)")))
    run = subprocess.run([sys.executable, "-m", "checker", "grade", str(klass), "--out", str(tmp_path / "out")],
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "apt-get install bubblewrap" in run.stderr and "--trust-notebooks" in run.stderr
    assert not (tmp_path / "out" / "records").exists()


def test_grade_stops_before_the_first_notebook_when_a_kernel_cannot_start(tmp_path, monkeypatch):
    from checker.grading import environment
    from checker.grading import run as grading_run
    _sandbox_or_skip()
    real = environment.prepare

    def broken_python(*args, **kwargs):
        env = real(*args, **kwargs)
        env.python = "/bin/false"          # as if the grader's Python had no ipykernel
        return env
    monkeypatch.setattr(grading_run.environment, "prepare", broken_python)
    klass = tmp_path / "class"
    (klass / "ann").mkdir(parents=True)
    (klass / "ann" / hx.NOTEBOOK).write_text(json.dumps(hx.notebook("shape_x = (1024,)")))
    with pytest.raises(grading_run.CannotGrade, match="stopped before the first notebook") as stopped:
        grading_run.grade([klass], str(tmp_path / "out"), jobs=1, log=lambda line: None)
    assert "ipykernel" in str(stopped.value) and "Kernel died" in str(stopped.value)
    assert not list((tmp_path / "out" / "records").glob("*.json"))


def test_a_checker_installed_in_site_packages_is_covered_by_an_empty_folder(tmp_path):
    box = _sandbox_or_skip()
    site = tmp_path / "site-packages"
    (site / "checker").mkdir(parents=True)
    (site / "checker" / "network.py").write_text("ANSWER = 42\n")
    (site / "neighbour.py").write_text("NEEDED = True\n")             # what the kernel needs from there
    (tmp_path / "etc").mkdir()
    view = sandbox.plan(sys.executable, str(tmp_path / "etc"), package=str(site / "checker"),
                        env=dict(os.environ, PYTHONPATH=str(site)), etc=sandbox.write_etc(str(tmp_path / "etc")))
    assert str(site) in view.readonly and view.hidden == [str(site / "checker")]
    inbox, writable = tmp_path / "in", tmp_path / "w"
    inbox.mkdir(), writable.mkdir()
    code = ("import os, sys; sys.path.insert(0, %r); import neighbour; "
            "print(neighbour.NEEDED, os.listdir(%r))" % (str(site), str(site / "checker")))
    argv = sandbox.command(box, view, inbox=str(inbox), writable=str(writable), cwd=str(writable),
                           env={"PATH": "/usr/bin:/bin"}, argv=[sys.executable, "-c", code])
    run = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert run.stdout.split() == ["True", "[]"], run.stderr


def test_no_folder_above_the_checkout_the_home_or_out_is_bound_whatever_sys_path_holds(tmp_path):
    _sandbox_or_skip()
    (tmp_path / "etc").mkdir()
    out = tmp_path / "course" / "out"
    out.mkdir(parents=True)
    path = os.pathsep.join([".", "/", str(tmp_path / "course"), str(ROOT.parent), str(Path.home())])
    view = sandbox.plan(sys.executable, str(tmp_path / "etc"), package=str(ROOT / "checker"), hide=[str(out)],
                        env=dict(os.environ, PYTHONPATH=path))
    for shown in view.readonly:
        for secret in (ROOT, Path.home(), out):
            assert not str(secret).startswith(shown.rstrip("/") + "/") and str(secret) != shown, (shown, secret)
    assert "/" not in view.readonly
