"""How long the in-notebook check takes, as ratios measured side by side in one run.

The student's function is the reference itself (a passing function: every case is run and judged).
"One pair" is one reference call plus one student call on the exercise's largest input (the most
input numbers: the workbook's full size where the exercise has one), the best of 20.

evaluate() does more than one pair, so the ratios below divide by one pair but are not bounded
below by 1: it draws 3-6 cases (at full size the network's parameters alone are 658,698 random
numbers), and on EACH case it calls the student's function once, then the reference once, and
compares the two answers.  The column "floor" is that work, which any checker does, done bare:
drawing the cases, then on every case one student call, one reference call and the judge's
comparison of the answers (the same code evaluate() runs).  Everything evaluate() adds on top of
the floor is its fixed cost: the worker thread and the time limit, keeping the inputs out of reach
and the mutation check, putting back what a call changed in the process, the feedback.

1. Exercises whose pair takes at least 1 ms: evaluate()'s time divided by one pair
   (goal: at most 10x), beside the floor and beside evaluate() with the BASELINE runner below;
   where the floor alone is above 10x, the goal cannot be met by evaluate() and the line says so.
2. Exercises whose pair takes microseconds: the fixed cost of one evaluate() (its time minus
   the floor), with the current runner (one worker thread for the whole evaluation) and with
   the BASELINE below (goal: at most half the baseline's).  Here the cases are drawn once,
   beforehand, for every variant alike (cases_drawn_once): so the floor has no drawing in it.
   The column "judging" is the comparison's share of the floor.  It grows with the answer, not
   with the runner: at full size (wb02.grad_W1: two answers of 524,288 numbers, 4 MiB each) it is
   250-400 us, as much as the BASELINE's whole fixed cost without it.  This benchmark used to count
   it in the fixed cost; the last column still gives that ratio, (fixed + judging) / (baseline's
   + judging).

BASELINE: the thread-per-call runner that checker.runner had before issue 14 (a new thread for
every call of the student's function), passed to evaluate() as call=; everything else, the judge
included, is today's.
3. gradcheck at full size, beside what full central differences would cost.

Every time is the minimum over repeated runs, the variants interleaved run by run (their order
turning from run to run), so a noisy machine slows them alike; before anything is timed every
exercise is evaluated once, as in a session whose cells have run. The first evaluate also makes
glibc keep the megabytes the process frees (checker.runner.keep_freed_memory: fresh ones cost a page
fault every 4 KiB, more than half of a full-size evaluate of wb04.grad_W before); that is
process-wide, so the BASELINE has it too. Which table an exercise is in depends on its pair measured
beforehand (the best of 20): near 1 ms it can change from one machine, or one run, to the next
(wb02.backward, 0.83-1.04 ms here: in table 1 its floor alone is about 11x, since drawing its cases
takes 9 ms).
Run: python benchmarks/bench_checker.py [EXERCISE_ID ...]   (ids: only those, without gradcheck)
"""
import contextlib
import dataclasses
import statistics
import sys
import threading
import time

import machine  # benchmarks/machine.py, beside this script
import numpy as np

from checker import gradcheck, network, runner
from checker.evaluate import _judge_value, evaluate
from checker.exercises import Exercise, registry

PAIR_MS = 1.0   # the line between the two tables
RATIO_GOAL = 10.0
FIXED_GOAL = 0.5


# --- BASELINE: checker.runner.call as it was before issue 14 (a new thread for every call) -------
# Copied here to be measured against; the helpers it uses are unchanged in checker.runner.

def thread_per_call(fn, args, timeout):
    given = tuple(runner._copy(a) for a in args)
    box = {}
    log = runner.FloatingPointLog()

    def work():
        try:
            with np.errstate(over="call", invalid="call", divide="call", under="ignore", call=log):
                box["value"] = fn(*given)
        except runner._Stop:
            box["timeout"] = True
        except BaseException as exc:  # noqa: BLE001
            box["error"] = runner.describe_exception(exc)

    worker = threading.Thread(target=work, name="checker-student-call", daemon=True)
    start = time.perf_counter()
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        runner._interrupt(worker)
        worker.join(0.5)
        return runner.Outcome("timeout", seconds=time.perf_counter() - start)
    seconds = time.perf_counter() - start
    if "error" in box:
        return runner.Outcome("raised", error=box["error"], seconds=seconds)
    if box.get("timeout"):
        return runner.Outcome("timeout", seconds=seconds)
    mutated = tuple(i for i, (a, g) in enumerate(zip(args, given, strict=True)) if not runner._same(a, g))
    value = box.get("value")
    return runner.Outcome("returned", value=value, seconds=seconds, mutated=mutated, warnings=tuple(log.seen),
                          aliased=runner.aliased(value, given))

# --- end of BASELINE ------------------------------------------------------------------------------


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def best_of(fn, repeat=5) -> float:
    return min(seconds(fn) for _ in range(repeat))


def interleaved(variants: dict, repeat: int) -> dict:
    """name -> the best time of each variant, the variants taking turns run by run, in an order that
    turns too (each runs after each of the others as often), so that none is always the one after
    a particular other."""
    best = dict.fromkeys(variants, float("inf"))
    names = list(variants)
    for run in range(repeat):
        for name in names[run % len(names):] + names[:run % len(names)]:
            best[name] = min(best[name], seconds(variants[name]))
    return best


def _size(value):
    if isinstance(value, np.ndarray):
        return value.size
    if isinstance(value, dict):
        return sum(_size(v) for v in value.values())
    return 1


def largest_case(entry):
    """The case with the most input numbers: the workbook's full size where the exercise has one."""
    return max(entry.cases(np.random.default_rng(0)), key=lambda case: sum(map(_size, case.args)))


def measure(exercise_id, entry, repeat):
    student = entry.reference  # a passing function
    case = largest_case(entry)

    def floor(judged=True):
        for each in entry.cases(np.random.default_rng(0)):  # evaluate(seed=0) draws these cases
            answer = student(*each.args)
            expected = entry.reference(*each.args)
            if judged:   # and compared, as evaluate does
                assert _judge_value(entry, answer, expected, each, {"seed": 0}) is None

    return interleaved({"pair": lambda: (entry.reference(*case.args), student(*case.args)),
                        "floor": floor,
                        "unjudged floor": lambda: floor(judged=False),
                        "evaluate": lambda: evaluate(exercise_id, student, seed=0),
                        "baseline": lambda: evaluate(exercise_id, student, seed=0, call=thread_per_call)},
                       repeat)


@contextlib.contextmanager
def cases_drawn_once(exercise_id, entry):
    """The exercise as evaluate() looks it up, its cases drawn once, now: (the id, the entry) while the block
    runs.  For table 2 only, where every variant would draw the same cases: at full size that is
    milliseconds of random numbers (wb02.backward: 7 of a 10 ms floor) whose noise swamps a fixed cost of
    100 us.  The fixed cost is the same either way; table 1 keeps the drawing in evaluate's time."""
    drawn = entry.cases(np.random.default_rng(0))
    table = registry()
    table[exercise_id] = dataclasses.replace(entry, cases=lambda rng: drawn)
    try:
        yield exercise_id, table[exercise_id]
    finally:
        table[exercise_id] = entry


def exercise_tables(only=()):
    entries = {i: e for i, e in registry().items() if isinstance(e, Exercise) and (not only or i in only)}
    for exercise_id, entry in entries.items():  # warm-up, as in a session that has run its cells
        evaluate(exercise_id, entry.reference, seed=0)
    slow, fast = [], []
    for exercise_id, entry in entries.items():
        args = largest_case(entry).args
        pair = best_of(lambda ref=entry.reference, args=args: (ref(*args), ref(*args)), repeat=20)
        (slow if pair * 1e3 >= PAIR_MS else fast).append((exercise_id, entry, pair))

    print(f"1. One pair (reference + student call at the largest size) >= {PAIR_MS:g} ms: evaluate / pair, "
          f"goal <= {RATIO_GOAL:g}x")
    print(f"{'exercise':<24} {'pair':>8} {'floor':>7} {'evaluate':>9} {'thread-per-call':>16}")
    worst = 0.0
    for exercise_id, entry, pair in slow:
        t = measure(exercise_id, entry, repeat=15)
        pair = min(pair, t["pair"])
        ratio = t["evaluate"] / pair
        worst = max(worst, ratio)
        note = ""
        if ratio > RATIO_GOAL:
            note = "  over; the floor alone is over the goal" if t["floor"] / pair > RATIO_GOAL else "  over"
        print(f"{exercise_id:<24} {pair * 1e3:>6.2f}ms {t['floor'] / pair:>6.1f}x {ratio:>8.1f}x "
              f"{t['baseline'] / pair:>15.1f}x{note}")
    print(f"worst evaluate / pair: {worst:.1f}x")

    print(f"\n2. One pair < {PAIR_MS:g} ms: the fixed cost of one evaluate (its time minus the floor), "
          f"this runner against the thread-per-call BASELINE, goal <= {FIXED_GOAL:g}.\n"
          "   'judging': the comparison of the answers, part of the floor (the floor minus the same loop without "
          "it); 'judging as fixed': the ratio with judging counted as fixed cost")
    print(f"{'exercise':<28} {'pair':>7} {'floor':>7} {'judging':>8} {'evaluate':>9} {'baseline':>9} {'fixed':>7} "
          f"{'baseline':>9} {'ratio':>6} {'judging as fixed':>17}")
    ratios = []
    for exercise_id, entry, pair in fast:
        with cases_drawn_once(exercise_id, entry) as drawn_once:
            t = measure(*drawn_once, repeat=150)
        pair = min(pair, t["pair"])
        fixed, fixed_before = t["evaluate"] - t["floor"], t["baseline"] - t["floor"]
        ratios.append(fixed / fixed_before)
        judging = max(t["floor"] - t["unjudged floor"], 0.0)   # two minima: noise can make it come out below 0
        with_judging = (fixed + judging) / (fixed_before + judging)
        print(f"{exercise_id:<28} {pair * 1e6:>5.0f}us {t['floor'] * 1e6:>5.0f}us {judging * 1e6:>6.0f}us "
              f"{t['evaluate'] * 1e6:>7.0f}us {t['baseline'] * 1e6:>7.0f}us {fixed * 1e6:>5.0f}us "
              f"{fixed_before * 1e6:>7.0f}us {ratios[-1]:>6.2f} {with_judging:>17.2f}")
    print(f"fixed cost / baseline's: median {statistics.median(ratios):.2f}, worst {max(ratios):.2f}")


def gradcheck_table():
    rng = np.random.default_rng(0)
    params = network.init_params(rng)
    x, y = rng.uniform(size=1024), np.eye(10)[3]
    grads = network.backward(x, y, params)
    forward = best_of(lambda: network.loss(x, y, params), repeat=50)
    start = time.perf_counter()
    report = gradcheck(grads, x, y, params)
    took = time.perf_counter() - start
    full = 2 * network.n_params() * forward
    print(f"\n3. one forward pass (one example, full size): {forward * 1e3:.3f} ms")
    print(f"gradcheck, every tensor: {took:.3f} s ({report.loss_evaluations} loss evaluations), passed={report.passed}")
    print(f"full central differences: 2 x {network.n_params():,} x {forward * 1e3:.3f} ms = {full:.0f} s "
          f"({full / 60:.1f} min): {full / took:,.0f}x gradcheck")


if __name__ == "__main__":
    print(f"{machine.describe()}, numpy {np.__version__}")
    exercise_tables(sys.argv[1:])
    if not sys.argv[1:]:
        gradcheck_table()
    sys.stdout.flush()
