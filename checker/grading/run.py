"""The grading run: submissions in parallel, each in its own kernel, results as they finish.

Before the first notebook, the run checks what it needs and stops with one clear message
(CannotGrade) when something is missing: bubblewrap for the sandbox (unless the instructor
passes --trust-notebooks), the reduced ``checker`` for the kernels, and one kernel started the
way every notebook's will be.

The main process never runs student code: it starts at most -j long-lived workers
(``worker.py``), hands each one notebook at a time, and collects the records they write.  A
worker starts a fresh kernel for every notebook — and starts it while the notebook before is
graded — so neither its imports nor a kernel's start are paid in series; while the first
kernels boot, the main process checks that a kernel can start at all.  Only the main process
writes the output folder.  Each record is signed and saved under DIR/records the moment it
arrives, and the student's feedback file with it; the gradebook files are rebuilt every few
seconds and at the end — also after Ctrl-C — so nothing graded is lost, and a new run skips every
submission whose notebook has not changed since it was graded.  A "started" marker (records.py)
is left for each notebook while it is graded, so that a notebook during which the grader itself
died is graded last, alone, and after a second death recorded as a fault instead of killing
every later run.  A worker that dies, or runs past the limit of one notebook, is stopped (its
kernels with it), its notebook recorded as not graded, and a new worker takes its place.
"""
from __future__ import annotations

import collections
import json
import os
import queue
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


class _Job:
    """One notebook handed to a worker: its folder in the scratch (the record is written there)."""

    def __init__(self, sub, scratch: str, limit: float, alone: bool = False):
        self.sub, self.alone = sub, alone
        self.folder = tempfile.mkdtemp(prefix="job-", dir=scratch)
        self.record_path = os.path.join(self.folder, "record.json")
        self.limit = limit
        self.deadline = float("inf")

    def line(self, more: bool) -> str:
        return json.dumps({"path": self.sub.path, "student": self.sub.student, "workbook": self.sub.workbook,
                           "record": self.record_path, "scratch": self.folder, "more": more}) + "\n"

    def record(self, settings: Settings, why: str | None, log_tail) -> dict:
        if why is None:
            try:
                record = transfer.parse_json(transfer.read_file(self.record_path, records.MAX_RECORD_BYTES))
                if _valid(record, self.sub):
                    return record
                why = "the worker wrote an unusable record"
            except transfer.TransferError:
                why = "the grading process wrote no result"
        tail = log_tail()
        record = _error_record(self.sub, self.sub.workbook, settings, why)
        if tail:
            record["flags"].append("grader log: " + tail.splitlines()[-1][:300])
        return record

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class _Worker:
    """A long-lived grading process (worker.py), handed one notebook at a time."""

    def __init__(self, settings: Settings, scratch: str, env: environment.KernelEnvironment, woken: threading.Event):
        self.folder = tempfile.mkdtemp(prefix="worker-", dir=scratch)
        self.kernels_path, self.log_path = os.path.join(self.folder, "kernels"), os.path.join(self.folder, "log")
        config = os.path.join(self.folder, "worker.json")
        with open(config, "w", encoding="utf-8") as f:
            json.dump({"settings": settings.to_json(), "environment": env.to_json(), "kernels": self.kernels_path,
                       "scratch": self.folder}, f)
        worker_env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "checker.grading.worker", config],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                     env=worker_env, start_new_session=(os.name == "posix"),
                                     preexec_fn=_worker_limits if os.name == "posix" else None)
        self.job: _Job | None = None
        self.answers: queue.SimpleQueue = queue.SimpleQueue()
        self._log_start = 0
        threading.Thread(target=self._listen, args=(woken,), name="grading-worker-answers", daemon=True).start()

    def _listen(self, woken: threading.Event) -> None:
        """Each line the worker answers (and the end of its output), with the main loop woken at once."""
        try:
            for line in self.proc.stdout:
                self.answers.put(line)
                woken.set()
        except (OSError, ValueError):
            pass
        woken.set()

    def give(self, job: _Job, more: bool) -> bool:
        """Hand over a notebook; False if the worker is gone."""
        self.job, job.deadline = job, time.monotonic() + job.limit
        try:
            self._log_start = os.path.getsize(self.log_path)
        except OSError:
            self._log_start = 0
        try:
            self.proc.stdin.write(job.line(more).encode())
            self.proc.stdin.flush()
            return True
        except (OSError, ValueError):
            return False

    def done(self) -> bool:
        """The worker has answered for its notebook."""
        try:
            self.answers.get_nowait()
            return True
        except queue.Empty:
            return False

    def tail(self) -> str:
        """What the worker logged since it was handed its notebook."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._log_start)
                return f.read()[-2000:].decode("utf-8", "replace").strip()
        except OSError:
            return ""

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
        """End the worker (it kills its kernels; those it could not are killed here)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.kill_kernels()
        self.close()

    def dismiss(self, grace: float = 5.0) -> None:
        """No more notebooks: the worker kills the kernel it launched ahead and ends."""
        try:
            self.proc.stdin.close()
        except (OSError, ValueError):
            pass
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        self.stop()

    def close(self) -> None:
        for stream in (self.proc.stdin, self.log):
            try:
                stream.close()
            except (OSError, ValueError):
                pass

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


# --- the run ----------------------------------------------------------------------------------------------

def _prepare(scratch: str, out: str, paths, trust: bool, settings: Settings, check_kernel: bool):
    """The run's KernelEnvironment, after checking that kernels can start; CannotGrade otherwise."""
    hide = [os.path.abspath(out)] + [os.path.abspath(os.fspath(p) if os.path.isdir(p) else os.path.dirname(p) or ".")
                                      for p in paths]
    try:
        env = environment.prepare(scratch, trust=trust, hide=hide)
    except SandboxUnavailable as error:
        raise CannotGrade(str(error)) from None
    except (KernelPackageError, OSError, RuntimeError) as error:
        raise CannotGrade(f"the grading kernel's copy of checker could not be prepared: {error}") from None
    if check_kernel:
        try:
            _check_kernel(env, scratch, settings)
        except CannotGrade:
            environment.release(env)
            raise
    return env


def _check_kernel(env: environment.KernelEnvironment, scratch: str, settings: Settings) -> None:
    """Start one kernel as every notebook's will be; CannotGrade (saying what to do) when that fails."""
    from checker.grading.kernel import check_kernel as start_one_kernel
    why = start_one_kernel(env, scratch, memory_bytes=settings.memory_bytes, timeout=settings.startup_timeout)
    if why is None:
        return
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


def grade(paths, out: str, *, jobs: int | None = None, workbook: str | None = None, settings: Settings | None = None,
          regrade: bool = False, shard=None, trust: bool = False, log=print) -> dict:
    """Grade every submission under ``paths`` into the folder ``out``; returns a summary dict.

    Already graded submissions whose notebook is unchanged are skipped (resume) unless ``regrade``.
    ``trust``: run kernels without the sandbox (--trust-notebooks).  Raises CannotGrade before
    grading anything when the sandbox or a kernel is not available, and KeyboardInterrupt after
    saving everything graded so far when interrupted.
    """
    jobs = jobs or default_jobs()
    log = _printable_log(log)
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
    env = run = None
    try:
        env = _prepare(scratch, out, paths, trust, settings, check_kernel=False)
        summary["sandbox"] = env.description
        run = _Run(out, settings, scratch, env, workbook, left_over, summary, len(todo) + len(suspects), jobs, log,
                   graded)
        if todo or suspects:
            run.hire(min(jobs, len(todo) + len(suspects)))   # they import, and start a kernel, during the check
            _check_kernel(env, scratch, settings)
        for sub in direct:
            run.keep(_refused_record(sub, settings) if sub.refused is not None
                     else _conflict_record(sub, settings) if sub.conflict
                     else _fault_record(sub, sub.workbook, settings, left_over[sub.path]))
            records.clear_started(out, sub.path)
        run.loop(todo, suspects)
    finally:
        if run is not None:
            run.dismiss()
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
    """The state of one grading run while its workers grade."""
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
    workers: list = field(default_factory=list)
    woken: threading.Event = field(default_factory=threading.Event)   # a worker answered or ended

    def keep(self, record: dict) -> dict:
        """Save a record (signed) in place of any earlier one of the same notebook or key; returns it as saved:
        every text made printable (transfer.printable: no terminal escapes, no lone surrogates)."""
        record = transfer.printable_data(record)
        self.graded = {k: v for k, v in self.graded.items()
                       if not (k[0] == record["student"] and record.get("notebook")
                               and v.get("notebook") == record["notebook"])}
        self.graded[(record["student"], record["workbook"])] = record
        outputs.save_record(self.out, record)
        return record

    def hire(self, n: int) -> None:
        """Start workers until there are ``n`` (each imports and boots its first kernel on its own)."""
        while len(self.workers) < n:
            self.workers.append(_Worker(self.settings, self.scratch, self.env, self.woken))

    def busy(self) -> list:
        return [w for w in self.workers if w.job is not None]

    def _give(self, worker: _Worker, sub, alone: bool, left: int) -> None:
        records.mark_started(self.out, sub.path, self.left_over.get(sub.path, 0) + 1)
        job = _Job(sub, worker.folder, hard_limit(self.settings, sub.workbook or self.workbook), alone)
        # "more": the worker keeps a kernel booting for a next notebook while each will likely get one
        worker.give(job, more=left >= len(self.workers))   # a worker that is gone is found by the loop

    def dispatch(self, pending: collections.deque, suspects: collections.deque) -> None:
        """Hand notebooks to idle workers (hiring up to ``jobs``); a suspect only to a run with nothing else in hand,
        and nothing else while it is graded."""
        if any(w.job.alone for w in self.busy()):
            return
        while pending:
            idle = [w for w in self.workers if w.job is None and w.proc.poll() is None]
            if not idle and len(self.workers) < self.jobs:
                self.hire(len(self.workers) + 1)
                idle = self.workers[-1:]
            if not idle:
                return
            sub = pending.popleft()
            self._give(idle[0], sub, False, len(pending) + len(suspects))
        if suspects and not self.busy():
            idle = [w for w in self.workers if w.proc.poll() is None] or []
            if not idle:
                self.hire(len(self.workers) + 1)
                idle = self.workers[-1:]
            self._give(idle[0], suspects.popleft(), True, len(suspects))

    def finish(self, worker: _Worker, why: str | None, pending=None, suspects=None) -> None:
        """A worker is done with its notebook (or was stopped, ``why``): keep its record, its student's feedback.
        With ``pending``, the worker gets its next notebook before the record is saved."""
        job, record = worker.job, worker.job.record(self.settings, why, worker.tail)
        worker.job = None
        if pending is not None:
            self.dispatch(pending, suspects)
        job.remove()
        record = self.keep(record)
        records.clear_started(self.out, job.sub.path)
        self.summary["graded"] += 1
        self.summary["failed"] += not record.get("complete", True)
        results = outputs.results_json({k: v for k, v in self.graded.items() if k[0] == record["student"]},
                                       outputs.read_manual(self.out))
        outputs.write_feedback(self.out, results)
        self.log(_progress(self.summary["graded"], self.total, record))

    def retire(self, worker: _Worker) -> None:
        """A worker that died or was stopped: gone, its kernels killed; dispatch hires another if needed."""
        worker.stop()
        worker.remove()
        self.workers.remove(worker)

    def dismiss(self) -> None:
        """The end of the run: every worker ends (and kills its kernels), its folder removed."""
        _stop_all(self.workers)
        for worker in self.workers:
            worker.remove()
        self.workers = []

    def loop(self, todo: list, suspects: list) -> None:
        """Grade, at most ``jobs`` at a time and a suspect always alone, until all are done."""
        pending, suspects = collections.deque(todo), collections.deque(suspects)
        last_gradebook = 0.0
        # Ctrl-C sets a flag that the loop reads between steps, so it never lands half-way through
        # handing out a notebook or saving a record.
        stop = threading.Event()
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, lambda signum, frame: (stop.set(), self.woken.set()))
        try:
            while (pending or suspects or self.busy()) and not stop.is_set():
                self.dispatch(pending, suspects)
                self.woken.wait(0.1)
                self.woken.clear()
                for worker in list(self.workers):
                    if worker.job is None:
                        if worker.proc.poll() is not None:
                            self.retire(worker)
                    elif worker.done():
                        self.finish(worker, None, pending, suspects)
                    elif worker.proc.poll() is not None:
                        self.finish(worker, f"the grading process ended with exit code {worker.proc.returncode} "
                                            "without a result")
                        self.retire(worker)
                    elif time.monotonic() >= worker.job.deadline:
                        worker.stop()
                        self.finish(worker, "it ran past the grader's overall limit for one submission")
                        self.retire(worker)
                if time.monotonic() - last_gradebook > GRADEBOOK_EVERY and self.summary["graded"]:
                    outputs.write_gradebook(self.out, self.graded, feedback_for=())
                    last_gradebook = time.monotonic()
        except KeyboardInterrupt:  # when the handler could not be installed (not the main thread)
            stop.set()
        finally:
            if stop.is_set():
                self.summary["interrupted"] = True
                self.log(f"interrupted: {self.summary['graded']} graded in this run and saved; "
                         f"{len(pending) + len(suspects) + len(self.busy())} left — run the same command again "
                         "to grade the rest")
            in_hand = [w.job for w in self.busy()]
            self.dismiss()
            for job in in_hand:   # stopped by us, not the cause of a crash: no marker left
                records.clear_started(self.out, job.sub.path)
                job.remove()
            problems: list = []
            outputs.write_gradebook(self.out, outputs.load_records(self.out, problems), problems=problems)
            for problem in problems:
                if problem not in self.summary["problems"]:
                    self.summary["problems"].append(problem)
                    self.log(f"warning: {problem}")
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _stop_all(workers: list, grace: float = 3.0) -> None:
    """End every worker: an idle one when its input ends, one in the middle of a notebook by SIGTERM (it then
    kills its kernel); SIGKILL after ``grace`` s; then whatever kernels are left."""
    for worker in workers:
        try:
            worker.proc.stdin.close()
        except (OSError, ValueError):
            pass
        if worker.job is not None and worker.proc.poll() is None:
            worker.proc.terminate()
    deadline = time.monotonic() + grace
    for worker in workers:
        try:
            worker.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.proc.terminate()
    for worker in workers:
        try:
            worker.proc.wait(1.0)
        except subprocess.TimeoutExpired:
            worker.proc.kill()
            worker.proc.wait()
        worker.kill_kernels()
        worker.close()


def _printable_log(log):
    """``log``, given each line made printable: names, paths and notes come from the submissions."""
    return lambda line: log(transfer.printable(str(line), one_line=True))


def _progress(n: int, total: int, record: dict) -> str:
    text = (f"[{n}/{total}] {record['student']} {record['workbook']}: "
            f"{record.get('score', 0):g}/{record.get('max_score', 0):g} ({record.get('seconds', 0):.1f} s)")
    trouble = record.get("notes") or []
    if trouble:
        text += f" — {trouble[0]}"
    return text
