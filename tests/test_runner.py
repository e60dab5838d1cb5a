"""How a student's function is called: on read-only views (copies when it writes), with a time limit, its
numpy warnings recorded.

evaluate() runs all of an exercise's cases on one worker thread (checker.runner.Worker), the
same thread from one evaluation to the next; runner.call() makes a single call the same way.
Nothing here may let the student's function change the checker's arrays, hang the notebook, or spill
from one call into the next.
"""
import gc
import io
import os
import signal
import sys
import tempfile
import threading
import time
import warnings

import numpy as np
import pytest

from checker import evaluate, network, runner


def _counting_loop(counter):
    def grad_W2(h1, dz2):
        while True:
            counter[0] += 1
    return grad_W2


def _still_counting(counter, wait=0.2) -> bool:
    before = counter[0]
    time.sleep(wait)
    return counter[0] != before


# --- the inputs -----------------------------------------------------------------------------------

def _nudge_one_entry(a):
    a[0] += 1e-9


def _write_a_nan(a):
    a[-1] = np.nan


def _scale_in_place(a):
    a *= 1.0 + 1e-12


@pytest.mark.parametrize("write", [_nudge_one_entry, _write_a_nan, _scale_in_place])
def test_any_change_to_an_input_is_reported_and_the_callers_array_keeps_its_values(write):
    given = np.linspace(0.5, 1.5, 7)
    kept = given.copy()

    def fn(a):
        write(a)
        return a.sum()
    outcome = runner.call(fn, (given,), 5)
    assert outcome.status == "returned" and outcome.mutated == (0,)
    assert np.array_equal(given, kept)


def _make_writable_then_write(a):
    a.flags.writeable = True
    a[0] = 7.0


def _reach_the_callers_array_then_write(a):
    a.base.flags.writeable = True
    a.base[0] = 7.0


def test_an_input_made_writable_again_is_no_way_around_the_check():
    given = np.linspace(0.5, 1.5, 7)
    kept = given.copy()
    assert runner.call(_make_writable_then_write, (given,), 5).status == "raised"   # numpy refuses
    outcome = runner.call(_reach_the_callers_array_then_write, (given,), 5)
    assert outcome.status == "returned" and outcome.mutated == (0,)
    assert np.array_equal(given[1:], kept[1:]) and given.flags.writeable   # the caller's array is writable again


def test_a_nan_written_into_an_input_is_mutated_input():
    def grad_z2(z2, dh2):
        out = network.sigmoid_backward(z2, dh2)
        dh2[0] = np.nan
        return out
    result = evaluate("wb02.grad_z2", grad_z2, seed=3)
    assert result.diagnosis == "mutated_input" and "dh2" in result.message


def test_a_key_added_to_an_input_dict_is_reported():
    def fn(params):
        params["extra"] = np.zeros(1)
        return 0.0
    assert runner.call(fn, ({"W1": np.ones(3)},), 5).mutated == (0,)


def test_a_function_that_only_reads_gets_the_callers_arrays_uncopied_and_a_dict_of_its_own():
    params = {"W1": np.ones((3, 2)), "b1": np.zeros(2)}
    seen = []

    def fn(p):
        seen.append(p)
        p["b1"] = p["b1"] + 0.0   # an entry replaced by the same values: the caller's dict is its own
        return p["W1"].sum()
    outcome = runner.call(fn, (params,), 5)
    assert outcome.status == "returned" and outcome.value == 6.0 and outcome.mutated == ()
    assert np.shares_memory(seen[0]["W1"], params["W1"]) and not seen[0]["W1"].flags.writeable
    assert seen[0] is not params and params["b1"] is not seen[0]["b1"]


def test_a_function_that_writes_into_its_input_and_puts_it_back_is_called_again_on_copies():
    calls, printed = [], []

    def fn(a):
        calls.append(a.flags.writeable)
        old = a[0]
        a[0] = old + 1.0
        printed.append(a.sum())
        a[0] = old
        return a.sum()
    outcome = runner.call(fn, (np.ones(3),), 5)
    assert calls == [False, True]            # read-only first, then on a copy
    assert outcome.status == "returned" and outcome.value == 3.0 and outcome.mutated == ()


def test_the_answer_is_judged_on_the_inputs_as_they_were_given():
    # Zeroing h1 and returning the outer product of the zeros is wrong: judged on the checker's own
    # h1, which the function could not reach, not on the zeros.
    def grad_W2(h1, dz2):
        h1[...] = 0.0
        return np.outer(h1, dz2)
    result = evaluate("wb02.grad_W2", grad_W2, seed=3)
    assert not result.passed and result.diagnosis != "mutated_input", result.text()


# --- what comes back --------------------------------------------------------------------------------

def test_returning_an_input_or_a_view_of_it_is_reported_as_aliased():
    a, b = np.ones(4), np.ones(4)
    assert runner.call(lambda x, y: y, (a, b), 5).aliased == (1,)
    assert runner.call(lambda x, y: {"v": x[1:]}, (a, b), 5).aliased == (0,)
    assert runner.call(lambda x, y: x + y, (a, b), 5).aliased == ()


def test_returning_the_callers_own_array_or_the_copy_it_wrote_into_is_aliased_too():
    a, b = np.ones(4), np.ones(4)
    assert runner.call(lambda x, y: y.base, (a, b), 5).aliased == (1,)   # reached past the read-only view

    def scale_in_place(x, y):   # a write: called again on copies, and returns the copy it was given
        x *= 2
        return x
    outcome = runner.call(scale_in_place, (a, b), 5)
    assert outcome.aliased == (0,) and outcome.mutated == (0,)


def test_an_array_whose_class_lies_about_its_base_is_still_seen_to_be_the_input():
    class Lying(np.ndarray):
        base = None

    a = np.ones(4)
    assert runner.call(lambda x: np.asarray(x).view(Lying), (a,), 5).aliased == (0,)


def test_numpy_warnings_are_recorded_per_call_with_the_students_line():
    def naive(z):
        return 1 / (1 + np.exp(-z))  # the student's line
    overflowed = runner.call(naive, (np.array([-1000.0, 0.0]),), 5)
    quiet = runner.call(naive, (np.array([1.0, 0.0]),), 5)  # on the same thread
    assert len(overflowed.warnings) == 1
    note = overflowed.warnings[0]
    assert note.startswith("overflow in naive, line") and "the student's line" in note
    assert quiet.warnings == ()


def test_numpy_settings_made_by_the_function_stay_in_its_call():
    before = np.geterr()

    def sigmoid(z):
        out = 1 / (1 + np.exp(-z))  # overflows at -1000, in the last case: recorded, not raised
        np.seterr(all="raise")
        return out
    result = evaluate("wb01.sigmoid", sigmoid, seed=1)
    assert result.passed and "overflowed" in result.warnings[0], result.text()
    assert np.geterr() == before


def test_an_exception_is_described_from_the_students_line():
    def fn(x):
        return x @ np.ones(5)  # the student's line
    outcome = runner.call(fn, (np.ones(3),), 5)
    assert outcome.status == "raised" and outcome.error.type_name == "ValueError"
    assert outcome.error.function == "fn" and "the student's line" in outcome.error.line


@pytest.mark.parametrize("ending", [SystemExit, KeyboardInterrupt])
def test_exit_from_the_function_is_an_outcome_not_an_exit(ending):
    def fn():
        raise ending()
    outcome = runner.call(fn, (), 5)
    assert outcome.status == "raised" and outcome.error.type_name == ending.__name__


# --- what the function does to the whole process -------------------------------------------------

_QUIET = io.StringIO()  # a stream a student might swap in for sys.stdout


def _process_state():
    return os.getcwd(), sys.getrecursionlimit(), list(warnings.filters), sys.stdout, sys.stderr


@pytest.mark.parametrize("change", [
    lambda: os.chdir(tempfile.gettempdir()),
    lambda: sys.setrecursionlimit(200),
    lambda: warnings.simplefilter("ignore"),
    lambda: warnings.filterwarnings("error", category=UserWarning),
    lambda: setattr(sys, "stdout", _QUIET),
    lambda: setattr(sys, "stderr", _QUIET),
], ids=["chdir", "setrecursionlimit", "simplefilter", "filterwarnings", "stdout", "stderr"])
def test_what_the_function_changes_for_the_whole_process_is_put_back_after_each_call(change):
    def grad_b2(dz2):
        change()
        return dz2.copy()
    before = _process_state()
    result = evaluate("wb02.grad_b2", grad_b2)
    assert result.passed, result.text()
    assert _process_state() == before


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # pytest reports the SystemExit
def test_a_thread_the_function_leaves_running_is_stopped_and_prints_nothing_later(capsys):
    spinning, started = [], threading.Event()

    def grad_b2(dz2):
        def spin():
            started.set()
            while True:
                spinning.append(1)
                time.sleep(0.01)

        def later():
            time.sleep(0.2)
            print("printed after the function returned")
        threading.Thread(target=spin, daemon=True).start()
        threading.Thread(target=later, daemon=True).start()
        return dz2.copy()
    result = evaluate("wb02.grad_b2", grad_b2)
    assert result.passed, result.text()
    assert "started a thread that was still running when it returned" in result.warnings[0]
    started.wait(2)
    time.sleep(0.4)
    count = len(spinning)
    time.sleep(0.2)
    assert len(spinning) == count   # stopped
    assert "printed after" not in capsys.readouterr().out
    assert not [t for t in threading.enumerate() if t.name.endswith(("(spin)", "(later)"))]


class _MessageRaises(Exception):
    def __str__(self):
        raise RuntimeError("the message itself fails")


class _MessageHangs(Exception):
    def __str__(self):
        while True:
            pass


@pytest.mark.parametrize("error", [_MessageRaises, _MessageHangs])
def test_an_exception_whose_message_cannot_be_read_is_still_told_with_the_students_line(error):
    def grad_b2(dz2):
        raise error("mine")  # the student's line
    start = time.perf_counter()
    result = evaluate("wb02.grad_b2", grad_b2, timeout=1)
    assert time.perf_counter() - start < 5
    assert result.diagnosis == "exception"
    assert f"raised {error.__name__}: mine" in result.message and "the student's line" in result.message


def test_an_async_function_leaves_no_never_awaited_warning():
    async def grad_b2(dz2):
        return dz2.copy()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        outcome = runner.call(grad_b2, (np.ones(3),), 5)
        gc.collect()
    assert outcome.status == "returned"
    assert not [w for w in seen if "never awaited" in str(w.message)]


# --- time limits -----------------------------------------------------------------------------------

def test_a_python_loop_is_stopped_at_the_time_limit():
    counter = [0]
    start = time.perf_counter()
    result = evaluate("wb02.grad_W2", _counting_loop(counter), timeout=0.3)
    assert result.diagnosis == "timeout" and time.perf_counter() - start < 2.0
    assert not _still_counting(counter)


def test_a_call_stuck_in_c_is_left_behind_and_the_next_one_runs_at_once():
    release, calls = threading.Event(), []

    def grad_W2(h1, dz2):
        calls.append(h1.shape)
        try:
            release.wait()  # a lock acquired in C: the stop cannot reach it
        except BaseException:  # noqa: BLE001 -- when it does arrive, a bare except swallows it
            pass
        return np.outer(h1, dz2)
    try:
        start = time.perf_counter()
        result = evaluate("wb02.grad_W2", grad_W2, timeout=0.2)
        assert result.diagnosis == "timeout" and "small sizes" in result.message
        assert time.perf_counter() - start < 2.0
        start = time.perf_counter()
        assert evaluate("wb02.grad_W2", lambda h1, dz2: np.outer(h1, dz2)).passed
        assert runner.call(lambda: 1, (), 5).value == 1
        assert time.perf_counter() - start < 2.0
    finally:
        release.set()
    time.sleep(0.2)
    assert calls == [(7,)]  # the evaluation left behind calls the function no more


def test_the_time_limit_is_per_call_not_per_evaluation():
    def grad_W2(h1, dz2):
        time.sleep(0.15)
        return np.outer(h1, dz2)
    assert evaluate("wb02.grad_W2", grad_W2, timeout=0.25).passed  # three calls, 0.45 s in all


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_kill"),
                    reason="sends SIGINT to the main thread, as Jupyter's interrupt does")
def test_interrupting_the_kernel_stops_the_students_loop():
    counter = [0]
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.3, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT))
    start = time.perf_counter()
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            evaluate("wb02.grad_W2", _counting_loop(counter), timeout=30)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert time.perf_counter() - start < 5
    assert not _still_counting(counter)
    assert evaluate("wb02.grad_W2", lambda h1, dz2: np.outer(h1, dz2)).passed


# --- threads -----------------------------------------------------------------------------------------

def test_one_evaluation_runs_every_case_on_one_thread():
    threads = []

    def grad_W2(h1, dz2):
        threads.append(threading.current_thread())
        return np.outer(h1, dz2)
    assert evaluate("wb02.grad_W2", grad_W2).passed
    assert len(threads) == 3 and len(set(threads)) == 1 and threads[0] is not threading.current_thread()


def test_a_check_inside_a_students_function_does_not_hang():
    def grad_b2(dz2):
        inner = evaluate("wb02.grad_W2", lambda h1, dz2: np.outer(h1, dz2))
        assert inner.passed
        return dz2.copy()
    assert evaluate("wb02.grad_b2", grad_b2, timeout=5).passed


def test_in_a_kernel_what_the_function_prints_shows_under_its_own_check():
    # The worker thread outlives the cell that started it: what a later check's function prints
    # must still show under that later cell.
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient
    printing = "def grad_W2(h1, dz2):\n    print({!r})\n    return np.outer(h1, dz2)\n\ncheck('wb02.grad_W2', grad_W2)"
    cells = ["import numpy as np\nfrom checker import check", printing.format("first"), printing.format("second")]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, kernel_name="python3", timeout=60).execute()
    first, second = ("".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
                     for cell in nb.cells[1:])
    assert first.split() == ["first"] * 3 and second.split() == ["second"] * 3
