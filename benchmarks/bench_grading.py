"""Grading throughput: notebooks per minute, in the sandbox and without it, side by side.

The class is made from solutions/ like the tests' (tests/grade_fixtures.py): for each workbook,
copies of the solution, planted mistakes and untouched student notebooks — the mix an
instructor sees.  Each is run in a fresh kernel and every exercise graded in it, exactly as
`python -m checker grade` does: once with each kernel in bubblewrap (the default) and once with
--trust-notebooks (no sandbox), alternating, for every -j asked for.  It also times starting
one kernel (until it answers) both ways.  The sandbox's cost is the drop in notebooks per minute;
beside it, the CPU seconds a notebook costs (the grader, its worker, the kernel and everything it
started: ``cpu_seconds`` in each record), which a machine shared with other jobs disturbs far
less than wall-clock time.

Run: python benchmarks/bench_grading.py [--students N] [--jobs 1 2] [--repeat R]
"""
import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import grade_fixtures as fx  # noqa: E402

from checker.grading import Settings, environment, grade, outputs, sandbox  # noqa: E402
from checker.grading.kernel import KernelSession  # noqa: E402

EMPTY = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


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


def kernel_start_seconds(tmp: str, trust: bool, times: int = 5) -> float:
    """Median seconds from nothing to a kernel that answers, sandboxed or not."""
    env = environment.prepare(tempfile.mkdtemp(dir=tmp), trust=trust)
    seconds = []
    try:
        for _ in range(times):
            session = KernelSession(EMPTY, "start.ipynb", tempfile.mkdtemp(dir=tmp), env, memory_bytes=2 * 2**30)
            start = time.perf_counter()
            session.start()
            seconds.append(time.perf_counter() - start)
            session.close()
    finally:
        environment.release(env)
    return statistics.median(seconds)


def _cpu() -> float:
    """CPU seconds used so far by this process (the grader's main process)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _notebooks_cpu(out: Path) -> float:
    """CPU seconds of every worker and its kernels, as the records say (see worker.py)."""
    return sum(r.get("cpu_seconds", 0.0) for r in outputs.load_records(str(out)).values())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=6, help="students (two notebooks each); default 6")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="values of -j to time; default 1 2")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each mode per -j, alternating (the median counts); default 2")
    args = parser.parse_args(argv)
    settings = Settings(memory_bytes=2 * 2**30)
    try:
        sandbox.find()
    except sandbox.SandboxUnavailable as error:
        print(f"no sandbox here, nothing to compare:\n{error}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        klass = Path(tmp) / "class"
        n = make_class(klass, args.students)
        print(f"{n} notebooks ({args.students} students x workbooks 01 and 02) on {os.cpu_count()} cores, "
              f"{time.strftime('%Y-%m-%d')}")
        boxed, bare = kernel_start_seconds(tmp, False), kernel_start_seconds(tmp, True)
        print(f"kernel start (median of 5): {boxed:.2f} s in bubblewrap, {bare:.2f} s without")
        print(f"{'-j':>3} {'notebooks/min: sandboxed':>25} {'unsandboxed':>12} {'cost':>7}"
              f"   {'CPU s/notebook: sandboxed':>26} {'unsandboxed':>12} {'cost':>7}")
        run = 0
        for jobs in args.jobs:
            rates, cpu = {True: [], False: []}, {True: [], False: []}
            for repeat in range(args.repeat):
                for trust in ((False, True) if repeat % 2 == 0 else (True, False)):
                    run += 1
                    out = Path(tmp) / f"out-{run}"
                    before = _cpu()
                    start = time.perf_counter()
                    summary = grade([klass], str(out), jobs=jobs, settings=settings, trust=trust, log=lambda line: None)
                    seconds = time.perf_counter() - start
                    broken = [r for r in outputs.load_records(str(out)).values() if not r.get("complete", True)]
                    assert summary["graded"] == n and not broken, (summary, [r["notes"][-1] for r in broken[:3]])
                    rates[trust].append(60 * n / seconds)
                    cpu[trust].append((_cpu() - before + _notebooks_cpu(out)) / n)
            boxed_rate, bare_rate = statistics.median(rates[False]), statistics.median(rates[True])
            boxed_cpu, bare_cpu = statistics.median(cpu[False]), statistics.median(cpu[True])
            print(f"{jobs:>3} {boxed_rate:>25.1f} {bare_rate:>12.1f} {100 * (1 - boxed_rate / bare_rate):>6.1f}%"
                  f"   {boxed_cpu:>26.2f} {bare_cpu:>12.2f} {100 * (boxed_cpu / bare_cpu - 1):>6.1f}%")
            print(f"    runs/min: {', '.join(f'{r:.1f}' for r in rates[False])} sandboxed, "
                  f"{', '.join(f'{r:.1f}' for r in rates[True])} unsandboxed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
