"""``python -m checker.grading.worker CONFIG.json``: a grading process that grades notebook after notebook.

The grading run (run.py) starts at most -j of these and hands each one notebook at a time, as a
line of JSON on its standard input ({"path", "student", "workbook", "record", "scratch", "more"});
the worker grades it in a fresh kernel (in the run's sandbox, with the run's reduced checker: the
config names both), writes the record to the path the line names in the grader's scratch folder,
which no kernel sees, and answers "done" on its standard output; the main process checks the
record and signs it.  The worker's own prints go to its standard error (the run's log of it).

No fixed cost is paid per notebook: the imports are made once, and while one notebook is graded
the kernel of the next is already booting (kernel.Spares; "more": false says none will come).
Every notebook still gets a kernel of its own, which no other notebook has run in, in a sandbox of
its own with folders of its own.  The process groups of the worker's live kernels are kept in the
file the config names ("kernels"), so that the run can kill them if the worker itself dies.

If it is told to stop (SIGTERM, on Ctrl-C) it kills its kernels first; at the end of its input it
kills the kernel it launched ahead and exits.  Whatever happens to a worker, the others and the
run go on.
"""
from __future__ import annotations

import json
import os
import signal
import sys


def _stop(signum, frame):
    raise SystemExit(128 + signum)


class _LiveKernels:
    """The process groups of this worker's kernels that are alive, in a file the run reads (atomically
    replaced: the run never reads half of it, nor a group that has gone)."""

    def __init__(self, path: str):
        self.path, self.pgids = path, []

    def tell(self, pgid: int, alive: bool) -> None:
        if alive:
            self.pgids.append(pgid)
        elif pgid in self.pgids:
            self.pgids.remove(pgid)
        part = f"{self.path}.part"
        with open(part, "w", encoding="utf-8") as f:
            f.write("".join(f"{p}\n" for p in self.pgids))
        os.replace(part, self.path)


def _peak_reset() -> None:
    """Start counting this process's peak memory afresh (Linux), so each record has its own notebook's."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak_mib() -> float:
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    import resource
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _cpu() -> float:
    import resource
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    with open(argv[0], encoding="utf-8") as f:
        config = json.load(f)
    signal.signal(signal.SIGTERM, _stop)
    replies = os.fdopen(os.dup(1), "w", buffering=1)   # the run's pipe; anything printed goes to the log
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    # The first kernel boots while the rest is imported.
    from checker.grading.environment import KernelEnvironment
    from checker.grading.kernel import Spares
    live = _LiveKernels(config["kernels"])
    settings = config["settings"]
    spares = Spares(config["scratch"], KernelEnvironment.from_json(config["environment"]),
                    memory_bytes=settings.get("memory_bytes"), startup_timeout=settings.get("startup_timeout", 60.0),
                    tell=live.tell)
    try:
        spares.prepare()
        from checker.grading.outputs import write_atomic
        from checker.grading.submission import Settings, grade_submission
        settings = Settings(**settings)
        for line in sys.stdin:
            job = json.loads(line)
            spares.keep_one = bool(job.get("more"))
            _peak_reset()
            before = _cpu()
            try:
                record = grade_submission(job["path"], job["student"], job["workbook"], settings,
                                          scratch=job.get("scratch"), environment=spares.env, spares=spares)
            except Exception:  # noqa: BLE001 -- the grader's own fault: no record; the run records it and goes on
                import traceback
                traceback.print_exc()
            else:
                record["worker_peak_mib"] = _peak_mib()
                record["cpu_seconds"] = round(_cpu() - before + record.get("kernel_cpu_seconds", 0.0), 3)
                write_atomic(job["record"], json.dumps(record))
            replies.write("done\n")
    finally:
        spares.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
