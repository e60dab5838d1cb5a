"""``python -m checker.grading.worker JOB.json``: grade one submission in its own process.

The grading run starts one worker per submission (at most -j at a time), under its own
memory cap.  A worker starts the student's kernel (in the run's sandbox, with the run's
reduced checker: the job names both), grades, and writes the record to the path the job names
in the grader's scratch folder, which no kernel sees; the main process checks it and signs it.
If it is told to stop (SIGTERM, on Ctrl-C) it kills its kernel first.  Whatever happens to a
worker, the others and the run go on.
"""
from __future__ import annotations

import json
import signal
import sys


def _stop(signum, frame):
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    with open(argv[0], encoding="utf-8") as f:
        job = json.load(f)
    signal.signal(signal.SIGTERM, _stop)
    from checker.grading.environment import KernelEnvironment
    from checker.grading.outputs import write_atomic
    from checker.grading.submission import Settings, grade_submission

    def tell(pgid):
        if pgid:
            with open(job["kernels"], "a", encoding="utf-8") as f:
                f.write(f"{pgid}\n")

    record = grade_submission(job["path"], job["student"], job["workbook"], Settings(**job["settings"]),
                              scratch=job.get("scratch"), on_kernel=tell,
                              environment=KernelEnvironment.from_json(job["environment"]))
    import resource
    own = resource.getrusage(resource.RUSAGE_SELF)
    record["worker_peak_mib"] = round(own.ru_maxrss / 1024, 1)
    record["cpu_seconds"] = round(own.ru_utime + own.ru_stime + record.get("kernel_cpu_seconds", 0.0), 3)
    write_atomic(job["record"], json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
