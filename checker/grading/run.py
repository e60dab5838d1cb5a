"""The grading run: submissions in parallel, each in its own worker process, results as they finish.

The main process never runs student code: it starts workers (``worker.py``), each of which starts
one kernel, and collects the records they write.  Each record is saved under DIR/records the
moment it arrives, and the student's feedback file with it; the gradebook files are rebuilt every
few seconds and at the end — also after Ctrl-C — so nothing graded is lost, and a new run skips
every submission whose notebook has not changed since it was graded.
"""
from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from checker.exercises import Exercise, registry
from checker.grading import collect, outputs
from checker.grading.submission import Settings, detect_workbook, read_notebook, sha256

GRADEBOOK_EVERY = 2.0   # seconds between rebuilds of results.json and grades.csv while grading
MAX_CASES = 6           # the most inputs an exercise calls a function on


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


def _error_record(sub, workbook, settings: Settings, why: str) -> dict:
    """A record for a submission the grader itself failed on: zeros, retried by the next run."""
    if workbook is None:
        nb, _ = read_notebook(sub.path)
        workbook = detect_workbook(sub.path, nb, {i.split(".")[0] for i in registry()})
    items = [{"id": i, "kind": "function" if isinstance(e, Exercise) else "answer", "points": 0.0,
              "max_points": float(e.points), "passed": False, "diagnosis": "grader_error",
              "message": f"Not graded: {why}", "details": {}}
             for i, e in registry().items() if workbook and i.startswith(workbook + ".")]
    return {"version": 1, "student": sub.student, "workbook": workbook or "unknown", "notebook": sub.path,
            "sha256": sha256(sub.path) if os.path.exists(sub.path) else None, "complete": False,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "seconds": 0.0, "seed": None,
            "settings": settings.to_json(), "items": items, "written": [],
            "notes": [f"The grader could not grade this notebook ({why}); it will be tried again on the next run."],
            "errors": [], "flags": [], "score": 0.0, "max_score": float(sum(i["max_points"] for i in items))}


def _valid(record, sub) -> bool:
    return (isinstance(record, dict) and record.get("student") == sub.student
            and isinstance(record.get("items"), list) and "score" in record)


class _Worker:
    def __init__(self, sub, settings: Settings, scratch: str, limit: float):
        self.sub = sub
        base = os.path.join(scratch, f"job-{id(self)}")
        self.job_path, self.record_path, self.kernels_path = base + ".json", base + ".record.json", base + ".kernels"
        self.log_path = base + ".log"
        with open(self.job_path, "w", encoding="utf-8") as f:
            json.dump({"path": sub.path, "student": sub.student, "workbook": sub.workbook,
                       "settings": settings.to_json(), "record": self.record_path,
                       "kernels": self.kernels_path, "scratch": scratch}, f)
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "checker.grading.worker", self.job_path],
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=(os.name == "posix"))
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
                with open(self.record_path, encoding="utf-8") as f:
                    record = json.load(f)
                if _valid(record, self.sub):
                    self.tail()
                    return record
                why = "the worker wrote an unusable record"
            except (OSError, ValueError):
                why = f"the grading process ended with exit code {self.proc.returncode} without a result"
        tail = self.tail()
        record = _error_record(self.sub, self.sub.workbook, settings, why)
        if tail:
            record["flags"].append("grader log: " + tail.splitlines()[-1][:300])
        return record


def grade(paths, out: str, *, jobs: int | None = None, workbook: str | None = None, settings: Settings | None = None,
          regrade: bool = False, shard=None, log=print) -> dict:
    """Grade every submission under ``paths`` into the folder ``out``; returns a summary dict.

    Already graded submissions whose notebook is unchanged are skipped (resume) unless ``regrade``.
    Raises KeyboardInterrupt after saving everything graded so far when interrupted.
    """
    jobs = jobs or default_jobs()
    settings = settings or Settings(memory_bytes=default_memory(jobs))
    os.makedirs(out, exist_ok=True)
    subs, warnings = collect.find(paths, workbook)
    for warning in warnings:
        log(f"warning: {warning}")
    subs = [s for s in subs if collect.in_shard(s.student, shard)]
    records = outputs.load_records(out)
    done_before = {}
    for record in records.values():
        if record.get("complete", True):
            done_before[(record["student"], record.get("sha256"))] = record
    todo, skipped = [], 0
    for sub in subs:
        if not regrade and (sub.student, sha256(sub.path)) in done_before:
            skipped += 1
        else:
            todo.append(sub)
    log(f"{len(subs)} submission(s): {len(todo)} to grade, {skipped} already graded"
        + (" (unchanged since; --regrade grades them again)" if skipped else "") + f"; {jobs} at a time")
    summary = {"submissions": len(subs), "graded": 0, "skipped": skipped, "failed": 0, "seconds": 0.0,
               "interrupted": False}
    start = time.monotonic()
    scratch = tempfile.mkdtemp(prefix="checker-grade-")
    pending = collections.deque(todo)
    running: list = []
    last_gradebook = 0.0
    # Ctrl-C sets a flag that the loop reads between steps, so it never lands half-way through
    # starting a worker or saving a record.
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda signum, frame: stop.set())
    try:
        while (pending or running) and not stop.is_set():
            while pending and len(running) < jobs:
                sub = pending.popleft()
                running.append(_Worker(sub, settings, scratch, hard_limit(settings, sub.workbook or workbook)))
            time.sleep(0.05)
            for worker in list(running):
                why = None
                if worker.proc.poll() is None:
                    if time.monotonic() < worker.deadline:
                        continue
                    worker.stop()
                    why = "it ran past the grader's overall limit for one submission"
                worker.kill_kernels()
                running.remove(worker)
                record = worker.record(settings, why)
                records = {k: v for k, v in records.items()
                           if not (k[0] == record["student"] and v.get("notebook") == record.get("notebook"))}
                records[(record["student"], record["workbook"])] = record
                outputs.save_record(out, record)
                summary["graded"] += 1
                summary["failed"] += not record.get("complete", True)
                results = outputs.results_json({k: v for k, v in records.items() if k[0] == record["student"]},
                                               outputs.read_manual(out))
                outputs.write_feedback(out, results)
                log(_progress(summary["graded"], len(todo), record))
            if time.monotonic() - last_gradebook > GRADEBOOK_EVERY and summary["graded"]:
                outputs.write_gradebook(out, records, feedback_for=())
                last_gradebook = time.monotonic()
    except KeyboardInterrupt:  # when the handler could not be installed (not the main thread)
        stop.set()
    finally:
        if stop.is_set():
            summary["interrupted"] = True
            log(f"interrupted: {summary['graded']} graded in this run and saved; "
                f"{len(pending) + len(running)} left — run the same command again to grade the rest")
        _stop_all(running)
        outputs.write_gradebook(out, outputs.load_records(out))
        shutil.rmtree(scratch, ignore_errors=True)
        summary["seconds"] = round(time.monotonic() - start, 2)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if summary["interrupted"]:
        raise KeyboardInterrupt
    log(f"done in {summary['seconds']:.1f} s: {summary['graded']} graded, {summary['skipped']} skipped"
        + (f", {summary['failed']} could not be graded (run again to retry)" if summary["failed"] else "")
        + f". Gradebook: {os.path.join(out, 'grades.csv')}")
    return summary


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
