"""Grading throughput: submissions per minute with -j 1 and -j 2, on a generated class.

The class is made from solutions/ like the tests' (tests/grade_fixtures.py): for each workbook,
copies of the solution, planted mistakes and untouched student notebooks — the mix an
instructor sees.  Each is run in a fresh kernel and every exercise graded in it, exactly as
`python -m checker grade` does.

Run: python benchmarks/bench_grading.py [--students N] [--jobs 1 2 4]
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import grade_fixtures as fx  # noqa: E402

from checker.grading import Settings, grade  # noqa: E402


def make_class(folder: Path, students: int) -> int:
    """``students`` students, each handing in workbooks 01 and 02."""
    kinds = [("solution", lambda n: fx.solution(n)),
             ("mistakes", lambda n: fx.planted_mistakes_wb02() if n == 2 else
              fx.set_body(fx.solution(1), "grad_W3", "return np.outer(dz3, h2)")),
             ("untouched", lambda n: fx.student(n))]
    count = 0
    for i in range(students):
        kind, make = kinds[i % len(kinds)]
        for number in (1, 2):
            fx.write(make(number), folder, f"{kind}{i:02d}", number)
            count += 1
    return count


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=6, help="students (two notebooks each); default 6")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="values of -j to time; default 1 2")
    args = parser.parse_args(argv)
    settings = Settings(memory_bytes=2 * 2**30)
    with tempfile.TemporaryDirectory() as tmp:
        klass = Path(tmp) / "class"
        n = make_class(klass, args.students)
        print(f"{n} submissions ({args.students} students x workbooks 01 and 02) on {os.cpu_count()} cores")
        print(f"{'-j':>3} {'seconds':>9} {'per submission':>15} {'submissions/min':>16}")
        base = None
        for jobs in args.jobs:
            out = Path(tmp) / f"out-j{jobs}"
            start = time.perf_counter()
            summary = grade([klass], str(out), jobs=jobs, settings=settings, log=lambda line: None)
            seconds = time.perf_counter() - start
            assert summary["graded"] == n, summary
            rate = 60 * n / seconds
            base = base or rate
            print(f"{jobs:>3} {seconds:>9.1f} {seconds / n:>14.2f}s {rate:>16.1f}"
                  + (f"   ({rate / base:.2f}x -j {args.jobs[0]})" if jobs != args.jobs[0] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
