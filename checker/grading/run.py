"""The grading run: submissions in parallel, each in its own worker process, results as they finish.

Before the first notebook, the run checks what it needs and stops with one clear message
(CannotGrade) when something is missing: bubblewrap for the sandbox (unless the instructor
passes --trust-notebooks), the reduced ``checker`` for the kernels, and one kernel started the
way every notebook's will be.

The main process never runs student code: it starts workers (``worker.py``), each of which starts
one kernel, and collects the records they write.  Only the main process writes the output
folder.  Each record is signed and saved under DIR/records the moment it arrives, and the
student's feedback file with it; the gradebook files are rebuilt every few seconds and at the
end — also after Ctrl-C — so nothing graded is lost, and a new run skips every submission whose
notebook has not changed since it was graded.  A "started" marker (records.py) is left for each
notebook while it is graded, so that a notebook during which the grader itself died is graded
last, alone, and after a second death recorded as a fault instead of killing every later run.
"""
from __future__ import annotations

import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

from checker.exercises import Exercise, registry
from checker.grading import collect, environment, outputs, records, transfer
from checker.grading.kernel_package import KernelPackageError
from checker.grading.sandbox import SandboxUnavailable
from checker.grading.submission import Settings, detect_workbook, read_bytes, read_notebook

GRADEBOOK_EVERY = 2.0   # seconds between rebuilds of results.json and grades.csv while grading
MAX_CASES = 6           # the most inputs an exercise calls a function on
WORKER_MEMORY = 3 * 2**30   # address space of a worker (it reads at most 512 MiB of arrays per call)
TRUST_WARNING = ("warning: --trust-notebooks: kernels run WITHOUT a sandbox, as your user, with this machine "
                 "in reach; use it only for a class you trust")


class CannotGrade(RuntimeError):
    """The run cannot start (no sandbox, no working kernel); the message says why and what to do."""


def default_jobs() -> int:
    return os.cpu_count() or 1


def default_memory(jobs: int) -> int:
    """Per kernel: 4 GiB, or less so that all kernels together fit in 3/4 of the machine's memory,
    but never under 2 GiB (the cap counts address space: a kernel reserves ~1.3 GiB of it while its
    resident memory stays near 350 MiB)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 4 * 2**30
    return int(max(2 * 2**30, min(4 * 2**30, 0.75 * total / max(1, jobs))))


def hard_limit(settings: Settings, workbook: str | None) -> float:
    """Seconds after which a worker is stopped from outside: the sum of every limit it can use."""
    n = sum(isinstance(e, Exercise) for i, e in registry().items() if workbook is None or i.startswith(workbook + "."))
    attempts = settings.restarts + 1
    return (attempts * (settings.notebook_timeout + settings.startup_timeout + 10)
            + n * MAX_CASES * (settings.call_timeout + 3) + 60)


# --- records the main process makes itself -------------------------------------------------------------

def _sha256(path: str) -> str | None:
    import hashlib
    raw, _ = read_bytes(path)
    return hashlib.sha256(raw).hexdigest() if raw is not None else None


def _zero_record(sub, workbook, settings: Settings, code: str, why: str, note: str, *, complete: bool) -> dict:
    """A record of zeros with the reason, for a notebook no kernel graded."""
    if workbook is None and sub.refused is None:
        nb, _ = read_notebook(sub.path)
        workbook = detect_workbook(sub.path, nb, {i.split(".")[0] for i in registry()})
    items = [{"id": i, "kind": "function" if isinstance(e, Exercise) else "answer", "points": 0.0,
              "max_points": float(e.points), "passed": False, "diagnosis": code,
              "message": f"Not graded: {why}", "details": {}}
             for i, e in registry().items() if workbook and i.startswith(workbook + ".")]
    return {"version": 2, "student": sub.student, "workbook": workbook or "unknown", "notebook": sub.path,
            "sha256": None if sub.refused else _sha256(sub.path), "complete": complete,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "seconds": 0.0, "seed": None,
            "settings": settings.to_json(), "sandbox": None, "items": items, "written": [],
            "notes": [note], "errors": [], "flags": [], "score": 0.0,
            "max_score": float(sum(i["max_points"] for i in items))}


def _error_record(sub, workbook, settings: Settings, why: str) -> dict:
    """The grader itself failed on a submission: zeros, retried by the next run."""
    return _zero_record(sub, workbook, settings, "grader_error", why,
                        f"The grader could not grade this notebook ({why}); it will be tried again on the next run.",
                        complete=False)


def _refused_record(sub, settings: Settings) -> dict:
    return _zero_record(sub, sub.workbook, settings, "not_run", f"the file was refused: {sub.refused}.",
                        f"The file was refused: {sub.refused}.", complete=True)


def _conflict_record(sub, settings: Settings) -> dict:
    files = ", ".join(sub.conflict)
    why = (f"{len(sub.conflict)} notebooks claim to be {sub.student}'s {sub.workbook}: {files}. None was graded; "
           "keep only one of them and run again")
    record = _zero_record(sub, sub.workbook, settings, "not_run", why + ".", why + ".", complete=True)
    record["notebook"] = record["sha256"] = None   # whichever notebook is left is graded by the next run
    return record


def _fault_record(sub, workbook, settings: Settings, count: int) -> dict:
    why = (f"the grader itself stopped (it was killed, or the machine went down) {count} times while it was grading "
           "this notebook, so it was not tried again; read it by hand, or grade it again with --regrade")
    return _zero_record(sub, workbook, settings, "not_run", why + ".", f"Not graded: {why}.", complete=True)


def _valid(record, sub) -> bool:
    return (isinstance(record, dict) and record.get("student") == sub.student
            and isinstance(record.get("items"), list) and "score" in record
            and record.get("notebook") in (sub.path, os.path.abspath(sub.path)))


# --- workers ----------------------------------------------------------------------------------------------

def _worker_limits():
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = WORKER_MEMORY if hard == resource.RLIM_INFINITY else min(WORKER_MEMORY, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))   # soft: a kernel's own cap may still be higher


class _Worker:
    def __init__(self, sub, settings: Settings, scratch: str, limit: float, env: environment.KernelEnvironment):
        self.sub = sub
        base = tempfile.mkdtemp(prefix="job-", dir=scratch)
        self.folder = base
        self.job_path, self.record_path = os.path.join(base, "job.json"), os.path.join(base, "record.json")
        self.kernels_path, self.log_path = os.path.join(base, "kernels"), os.path.join(base, "log")
        with open(self.job_path, "w", encoding="utf-8") as f:
            json.dump({"path": sub.path, "student": sub.student, "workbook": sub.workbook,
                       "settings": settings.to_json(), "record": self.record_path, "kernels": self.kernels_path,
                       "scratch": base, "environment": env.to_json()}, f)
        worker_env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "checker.grading.worker", self.job_path],
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=worker_env, start_new_session=(os.name == "posix"),
                                     preexec_fn=_worker_limits if os.name == "posix" else None)
        self.deadline = time.monotonic() + limit

    def kill_kernels(self) -> None:
        try:
            with open(self.kernels_path, encoding="utf-8") as f:
                pgids = [int(line) for line in f if line.strip().isdigit()]
        except OSError:
            return
        for pgid in pgids:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (OSError, AttributeError):
                pass

    def stop(self, grace: float = 3.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.kill_kernels()

    def tail(self) -> str:
        self.log.close()
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-2000:].decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def record(self, settings: Settings, why: str | None = None) -> dict:
        if why is None:
            try:
                record = transfer.parse_json(transfer.read_file(self.record_path, records.MAX_RECORD_BYTES))
                if _valid(record, self.sub):
                    self.tail()
                    return record
                why = "the worker wrote an unusable record"
            except transfer.TransferError:
                why = f"the grading process ended with exit code {self.proc.returncode} without a result"
        tail = self.tail()
        record = _error_record(self.sub, self.sub.workbook, settings, why)
        if tail:
            record["flags"].append("grader log: " + tail.splitlines()[-1][:300])
        return record

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


# --- the run ----------------------------------------------------------------------------------------------

def _prepare(scratch: str, out: str, paths, trust: bool, settings: Settings, check_kernel: bool):
    """The run's KernelEnvironment, after checking that kernels can start; CannotGrade otherwise."""
    from checker.grading.kernel import check_kernel as start_one_kernel
    hide = [os.path.abspath(out)] + [os.path.abspath(os.fspath(p) if os.path.isdir(p) else os.path.dirname(p) or ".")
                                      for p in paths]
    try:
        env = environment.prepare(scratch, trust=trust, hide=hide)
    except SandboxUnavailable as error:
        raise CannotGrade(str(error)) from None
    except (KernelPackageError, OSError, RuntimeError) as error:
        raise CannotGrade(f"the grading kernel's copy of checker could not be prepared: {error}") from None
    if check_kernel:
        why = start_one_kernel(env, scratch, memory_bytes=settings.memory_bytes, timeout=settings.startup_timeout)
        if why is not None:
            environment.release(env)
            if re.search(r"No module named '?(ipykernel|jupyter_client|zmq)", why):
                raise CannotGrade(f"stopped before the first notebook: {env.python} has no ipykernel, so no student's "
                                  f"kernel can start (the grader starts every kernel with the Python it runs on).\n"
                                  f"Install it into that Python:  {env.python} -m pip install ipykernel\n"
                                  f"({why})")
            kind = "sandboxed " if env.box is not None else ""
            raise CannotGrade(f"stopped before the first notebook: {why}.\nEvery notebook would fail the same way. "
                              f"Check that {env.python} has ipykernel (pip install ipykernel)"
                              + (" and that bubblewrap can run it (try: --trust-notebooks to see whether the "
                                 "sandbox is the cause)" if env.box is not None else "")
                              + f"; the {kind}kernel was started as every notebook's will be.")
    return env


def grade(paths, out: str, *, jobs: int | None = None, workbook: str | None = None, settings: Settings | None = None,
          regrade: bool = False, shard=None, trust: bool = False, log=print) -> dict:
    """Grade every submission under ``paths`` into the folder ``out``; returns a summary dict.

    Already graded submissions whose notebook is unchanged are skipped (resume) unless ``regrade``.
    ``trust``: run kernels without the sandbox (--trust-notebooks).  Raises CannotGrade before
    grading anything when the sandbox or a kernel is not available, and KeyboardInterrupt after
    saving everything graded so far when interrupted.
    """
    jobs = jobs or default_jobs()
    settings = settings or Settings(memory_bytes=default_memory(jobs))
    os.makedirs(out, exist_ok=True)
    records.key(out)
    subs, warnings = collect.find(paths, workbook)
    for warning in warnings:
        log(f"warning: {warning}")
    subs = [s for s in subs if collect.in_shard(s.student, shard)]
    problems: list = []
    graded = outputs.load_records(out, problems)
    for problem in problems:
        log(f"warning: {problem}")
    if regrade:
        for path in records.started(out):
            records.clear_started(out, path)
    left_over = records.started(out)
    direct, todo, suspects, skipped = _sort(subs, graded, left_over, regrade)
    if trust:
        log(TRUST_WARNING)
    log(f"{len(subs)} submission(s): {len(todo) + len(suspects)} to grade, {skipped} already graded"
        + (" (unchanged since; --regrade grades them again)" if skipped else "")
        + (f", {len(direct)} refused, in conflict or given up on" if direct else "") + f"; {jobs} at a time")
    if suspects:
        log(f"warning: the grader stopped while grading {len(suspects)} of them last time: they are graded last, "
            "one at a time")
    summary = {"submissions": len(subs), "graded": 0, "skipped": skipped, "failed": 0, "seconds": 0.0,
               "interrupted": False, "sandbox": None, "problems": problems}
    start = time.monotonic()
    scratch = tempfile.mkdtemp(prefix="checker-grade-")
    env = None
    try:
        env = _prepare(scratch, out, paths, trust, settings, check_kernel=bool(todo or suspects))
        summary["sandbox"] = env.description
        run = _Run(out, settings, scratch, env, workbook, left_over, summary, len(todo) + len(suspects), jobs, log,
                   graded)
        for sub in direct:
            run.keep(_refused_record(sub, settings) if sub.refused is not None
                     else _conflict_record(sub, settings) if sub.conflict
                     else _fault_record(sub, sub.workbook, settings, left_over[sub.path]))
            records.clear_started(out, sub.path)
        run.loop(todo, suspects)
    finally:
        environment.release(env)
        shutil.rmtree(scratch, ignore_errors=True)
        summary["seconds"] = round(time.monotonic() - start, 2)
    if summary["interrupted"]:
        raise KeyboardInterrupt
    log(f"done in {summary['seconds']:.1f} s: {summary['graded']} graded, {summary['skipped']} skipped"
        + (f", {summary['failed']} could not be graded (run again to retry)" if summary["failed"] else "")
        + f". Gradebook: {os.path.join(out, 'grades.csv')}")
    return summary


def _sort(subs, graded: dict, left_over: dict, regrade: bool):
    """(made here, to grade, to grade last and alone, how many skipped) for the submissions found.

    Made here without a kernel: refused files, conflicts, and notebooks during which the grader
    died twice.  Last and alone: notebooks during which it died once.
    """
    done_before = {(r["student"], r.get("sha256")) for r in graded.values() if r.get("complete", True)}
    direct, todo, suspects, skipped = [], [], [], 0
    for sub in subs:
        if sub.refused is not None or sub.conflict or left_over.get(sub.path, 0) >= 2:
            direct.append(sub)
        elif not regrade and (sub.student, _sha256(sub.path)) in done_before:
            skipped += 1
        elif sub.path in left_over:
            suspects.append(sub)
        else:
            todo.append(sub)
    return direct, todo, suspects, skipped


@dataclass
class _Run:
    """The state of one grading run while its workers come and go."""
    out: str
    settings: Settings
    scratch: str
    env: environment.KernelEnvironment
    workbook: str | None
    left_over: dict            # notebook path -> grader deaths while grading it, before this run
    summary: dict
    total: int
    jobs: int
    log: object
    graded: dict               # (student, workbook) -> record
    running: list = field(default_factory=list)

    def keep(self, record: dict) -> None:
        """Save a record (signed) in place of any earlier one of the same notebook or key."""
        self.graded = {k: v for k, v in self.graded.items()
                       if not (k[0] == record["student"] and record.get("notebook")
                               and v.get("notebook") == record["notebook"])}
        self.graded[(record["student"], record["workbook"])] = record
        outputs.save_record(self.out, record)

    def start(self, sub, alone: bool = False) -> None:
        records.mark_started(self.out, sub.path, self.left_over.get(sub.path, 0) + 1)
        worker = _Worker(sub, self.settings, self.scratch, hard_limit(self.settings, sub.workbook or self.workbook),
                         self.env)
        worker.alone = alone
        self.running.append(worker)

    def finish(self, worker, why: str | None) -> None:
        """A worker ended (or was stopped, ``why``): keep its record, its student's feedback."""
        worker.kill_kernels()
        self.running.remove(worker)
        record = worker.record(self.settings, why)
        worker.remove()
        self.keep(record)
        records.clear_started(self.out, worker.sub.path)
        self.summary["graded"] += 1
        self.summary["failed"] += not record.get("complete", True)
        results = outputs.results_json({k: v for k, v in self.graded.items() if k[0] == record["student"]},
                                       outputs.read_manual(self.out))
        outputs.write_feedback(self.out, results)
        self.log(_progress(self.summary["graded"], self.total, record))

    def loop(self, todo: list, suspects: list) -> None:
        """Run the workers, at most ``jobs`` at a time and a suspect always alone, until all are done."""
        pending, suspects = collections.deque(todo), collections.deque(suspects)
        last_gradebook = 0.0
        # Ctrl-C sets a flag that the loop reads between steps, so it never lands half-way through
        # starting a worker or saving a record.
        stop = threading.Event()
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, lambda signum, frame: stop.set())
        try:
            while (pending or suspects or self.running) and not stop.is_set():
                while pending and len(self.running) < self.jobs and not any(w.alone for w in self.running):
                    self.start(pending.popleft())
                if not pending and suspects and not self.running:
                    self.start(suspects.popleft(), alone=True)
                time.sleep(0.05)
                for worker in list(self.running):
                    if worker.proc.poll() is None:
                        if time.monotonic() < worker.deadline:
                            continue
                        worker.stop()
                        self.finish(worker, "it ran past the grader's overall limit for one submission")
                    else:
                        self.finish(worker, None)
                if time.monotonic() - last_gradebook > GRADEBOOK_EVERY and self.summary["graded"]:
                    outputs.write_gradebook(self.out, self.graded, feedback_for=())
                    last_gradebook = time.monotonic()
        except KeyboardInterrupt:  # when the handler could not be installed (not the main thread)
            stop.set()
        finally:
            if stop.is_set():
                self.summary["interrupted"] = True
                self.log(f"interrupted: {self.summary['graded']} graded in this run and saved; "
                         f"{len(pending) + len(suspects) + len(self.running)} left — run the same command again "
                         "to grade the rest")
            _stop_all(self.running)
            for worker in self.running:   # stopped by us, not the cause of a crash: no marker left
                records.clear_started(self.out, worker.sub.path)
                worker.remove()
            problems: list = []
            outputs.write_gradebook(self.out, outputs.load_records(self.out, problems), problems=problems)
            for problem in problems:
                if problem not in self.summary["problems"]:
                    self.summary["problems"].append(problem)
                    self.log(f"warning: {problem}")
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _stop_all(workers: list, grace: float = 3.0) -> None:
    """SIGTERM to every worker (each then kills its kernel), SIGKILL after ``grace`` s, then their kernels."""
    for worker in workers:
        if worker.proc.poll() is None:
            worker.proc.terminate()
    deadline = time.monotonic() + grace
    for worker in workers:
        try:
            worker.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.proc.kill()
            worker.proc.wait()
        worker.kill_kernels()
        worker.log.close()


def _progress(n: int, total: int, record: dict) -> str:
    text = (f"[{n}/{total}] {record['student']} {record['workbook']}: "
            f"{record.get('score', 0):g}/{record.get('max_score', 0):g} ({record.get('seconds', 0):.1f} s)")
    trouble = record.get("notes") or []
    if trouble:
        text += f" — {trouble[0]}"
    return text
