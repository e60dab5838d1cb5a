"""How long grading takes, as ratios.

1. For every function exercise: evaluate()'s time for a passing function, divided by the time of
   one reference call plus one student call on its largest input, the workbook's full size where
   the exercise has one (goal: at most 10x).
2. gradcheck at full size, beside what full central differences would cost: one forward pass
   (measured) times the 2 x 658,698 evaluations they need.

Run: python benchmarks/bench_checker.py
"""
import statistics
import time

import numpy as np

from checker import evaluate, gradcheck, network
from checker.exercises import Exercise, registry


def best_of(fn, repeat=5):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _size(value):
    if isinstance(value, np.ndarray):
        return value.size
    if isinstance(value, dict):
        return sum(_size(v) for v in value.values())
    return 1


def largest_case(entry):
    """The case with the most input numbers: the workbook's full size where the exercise has one."""
    return max(entry.cases(np.random.default_rng(0)), key=lambda case: sum(map(_size, case.args)))


def exercises_table():
    print(f"{'exercise':<20} {'ref+student':>12} {'evaluate':>10} {'ratio':>7}")
    ratios = []
    for exercise_id, entry in registry().items():
        if not isinstance(entry, Exercise):
            continue
        student = entry.reference  # a passing function
        case = largest_case(entry)
        one_pair = best_of(lambda: (entry.reference(*case.args), student(*case.args)), repeat=20)
        grading = best_of(lambda: evaluate(exercise_id, student, seed=0))
        ratio = grading / one_pair
        ratios.append(ratio)
        print(f"{exercise_id:<20} {one_pair * 1e3:>10.3f}ms {grading * 1e3:>8.2f}ms {ratio:>6.1f}x")
    print(f"median ratio {statistics.median(ratios):.1f}x; ratios are large only where one call takes microseconds")


def gradcheck_table():
    rng = np.random.default_rng(0)
    params = network.init_params(rng)
    x, y = rng.uniform(size=1024), np.eye(10)[3]
    grads = network.backward(x, y, params)
    forward = best_of(lambda: network.loss(x, y, params), repeat=50)
    start = time.perf_counter()
    report = gradcheck(grads, x, y, params)
    seconds = time.perf_counter() - start
    full = 2 * network.n_params() * forward
    print(f"\none forward pass (one example, full size): {forward * 1e3:.3f} ms")
    print(f"gradcheck, every tensor: {seconds:.3f} s ({report.loss_evaluations} loss evaluations), passed={report.passed}")
    print(f"full central differences: 2 x {network.n_params():,} x {forward * 1e3:.3f} ms = {full:.0f} s "
          f"({full / 60:.1f} min): {full / seconds:,.0f}x gradcheck")


if __name__ == "__main__":
    exercises_table()
    gradcheck_table()
