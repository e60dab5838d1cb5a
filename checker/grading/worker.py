"""``python -m checker.grading.worker JOB.json``: grade one submission in its own process.

The grading run starts one worker per submission (at most -j at a time).  A worker starts
the student's kernel, grades, and writes the record to the path the job names; if it is
told to stop (SIGTERM, on Ctrl-C) it kills its kernel first.  Whatever happens to a worker,
the others and the run go on.
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
    from checker.grading.outputs import write_atomic
    from checker.grading.submission import Settings, grade_submission

    def tell(pgid):
        if pgid:
            with open(job["kernels"], "a", encoding="utf-8") as f:
                f.write(f"{pgid}\n")

    record = grade_submission(job["path"], job["student"], job["workbook"], Settings(**job["settings"]),
                              scratch=job.get("scratch"), on_kernel=tell)
    write_atomic(job["record"], json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
