"""Call a student's function without letting it hurt the caller.

Each call runs in a worker thread with a time limit, on read-only views of the inputs (a function
that writes into them runs once more, on copies, so a right one that puts its inputs back still
passes and the comparison says what a wrong one changed; what it prints is then printed twice).  A whole
evaluation runs on one such thread (``Worker``) while the thread that asked for it keeps the
time, and the thread waits for the next evaluation instead of ending.  numpy's
floating-point warnings (overflow, invalid value, division by zero) are not printed: a handler
set with ``np.errstate`` inside the worker (context-local in numpy 2, so no global state is
touched) records each one with the student's own line, and the judge passes a right answer
*with a warning* when it came through an overflow.  Whatever happens comes back as an
``Outcome``; nothing the function does is raised here.

Threads rather than processes: they work the same on Linux, macOS, Windows and Colab, need
no pickling, and a Python-level infinite loop is stopped by raising an exception inside the
worker.  A call stuck inside C code (``time.sleep(1e9)``) is abandoned after the time limit.
"""
from __future__ import annotations

import contextlib
import contextvars
import ctypes
import dataclasses
import linecache
import os
import queue
import sys
import sysconfig
import threading
import time
import types
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.linalg
import numpy.random  # loaded now (numpy loads them on first use), so that replaced_names can see their functions

DEFAULT_TIMEOUT = 10.0  # seconds per call of a student's function
_CHECKER_DIR = os.path.dirname(os.path.abspath(__file__))
_LIBRARY_DIRS = tuple(
    {os.path.abspath(p) for k, p in sysconfig.get_paths().items()
     if k in ("stdlib", "platstdlib", "purelib", "platlib")}
)


_WATCHED = {"numpy": "np", "numpy.random": "np.random", "numpy.linalg": "np.linalg", "builtins": "",
            "threading": "threading", "math": "math", "warnings": "warnings"}
_AS_IMPORTED = {name: (sys.modules[name], dict(vars(sys.modules[name]))) for name in _WATCHED if name in sys.modules}


def replaced_names() -> list[str]:
    """The functions of numpy (and of builtins, threading, math, warnings) that a notebook replaced since the
    checker was imported (``np.allclose = ...``), which the checker's own code uses too: named when that code
    fails, since it then fails because of them."""
    out = []
    for module_name, (module, names) in _AS_IMPORTED.items():
        prefix = _WATCHED[module_name]
        if sys.modules.get(module_name) is not module:
            out.append(f"the module {module_name} itself")
            continue
        now = vars(module)
        out += [f"{prefix}.{name}" if prefix else name for name, value in names.items()
                if not name.startswith("_") and callable(value) and now.get(name, _MISSING) is not value]
    return out


_MISSING = object()


class _Stop(BaseException):
    """Raised inside a worker thread that ran past its time limit."""


@dataclass
class ErrorInfo:
    """What the student's function raised, told from the student's side."""
    type_name: str
    message: str
    function: str | None = None   # the student's function the error happened in
    lineno: int | None = None
    line: str | None = None       # the student's own source line
    not_implemented: bool = False

    def where(self) -> str:
        if self.line is None:
            return ""
        place = f"in {self.function}, line {self.lineno}" if self.function else f"line {self.lineno}"
        return f"{place}: {self.line.strip()}"


@dataclass
class Outcome:
    """How one call ended: status is 'returned', 'raised' or 'timeout'.

    mutated: positions of the arguments the function changed.
    warnings: what numpy warned about on the way, one string per distinct problem and line
        ("overflow at line 3: return 1 / (1 + np.exp(-z))").
    aliased: positions of the arguments that the returned value is, or shares memory with
        (for a dict value: any of its entries).
    rounded: those of ``mutated`` that came back off by a rounding error only (changed in place,
        then put back by arithmetic).
    threads: the names of the threads running the student's code that the call started and left running,
        which were stopped (``ProcessState``).
    """
    status: str
    value: Any = None
    error: ErrorInfo | None = None
    seconds: float = 0.0
    mutated: tuple = field(default_factory=tuple)
    warnings: tuple = field(default_factory=tuple)
    aliased: tuple = field(default_factory=tuple)
    rounded: tuple = field(default_factory=tuple)
    threads: tuple = field(default_factory=tuple)


def _is_student_frame(filename: str) -> bool:
    path = os.path.abspath(filename) if not filename.startswith("<") else filename
    if path.startswith(_CHECKER_DIR):
        return False
    return not any(path.startswith(d + os.sep) for d in _LIBRARY_DIRS)


def _message(exc: BaseException) -> str:
    """``str(exc)``, but never by running the student's code: an exception class of their own whose __str__
    raised made a checker traceback, and one whose __str__ loops hung the notebook (nothing times this).  A
    __str__ written in Python outside the libraries is skipped for BaseException's own (the arguments)."""
    method = getattr(type(exc), "__str__", None)
    code = getattr(method, "__code__", None)
    try:
        if code is not None and _is_student_frame(code.co_filename):
            return BaseException.__str__(exc)
        return str(exc)
    except Exception:  # noqa: BLE001 -- a library's __str__ on odd arguments
        return "(its message could not be read)"


def describe_exception(exc: BaseException) -> ErrorInfo:
    """The exception as a student should see it: its type, message and their own line."""
    info = ErrorInfo(type(exc).__name__, _message(exc), not_implemented=isinstance(exc, NotImplementedError))
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if _is_student_frame(code.co_filename):
            info.function, info.lineno = code.co_name, tb.tb_lineno
            info.line = linecache.getline(code.co_filename, tb.tb_lineno) or None
        tb = tb.tb_next
    return info


def _copy(value):
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True)
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


def _lock(value) -> list:
    """Make the writable arrays of ``value`` (an array, or a dict of them) read-only; the list of them."""
    if isinstance(value, np.ndarray):
        # and the array that owns the memory (a view's base), or a view of it could be made writable again
        arrays = [value] + ([value.base] if isinstance(value.base, np.ndarray) else [])
        locked = [a for a in arrays if a.flags.writeable]
        for a in locked:
            a.flags.writeable = False
        return locked
    if isinstance(value, dict):
        return [a for v in value.values() for a in _lock(v)]
    return []


def _read_only(value):
    """A read-only view of an array (a dict: of each entry); anything else as it is."""
    if isinstance(value, np.ndarray):
        view = value.view()
        view.flags.writeable = False
        return view
    if isinstance(value, dict):
        return {k: _read_only(v) for k, v in value.items()}
    return value


def _own_dicts(value):
    """``value`` with every dict in it a new one (the arrays shared): what a function may change freely."""
    return {k: _own_dicts(v) for k, v in value.items()} if isinstance(value, dict) else value


def _changed(original, handed, now):
    """Whether a function that got ``handed`` (read-only views of ``original``'s arrays) left the caller's
    ``original`` changed, seen in ``now``, what the function holds after the call: True, False, or None when
    it cannot be told (a view was made writable again)."""
    if isinstance(original, np.ndarray):
        return None if handed.flags.writeable else False
    if isinstance(original, dict):
        if not isinstance(now, dict) or now.keys() != original.keys():
            return True
        for k in original:
            if now[k] is handed[k] or (isinstance(handed[k], dict) and isinstance(now[k], dict)):
                verdict = _changed(original[k], handed[k], now[k])
            else:   # an entry replaced: by the same values, or not
                verdict = not _same(original[k], now[k])
            if verdict is not False:
                return verdict
    return False


def _off_by_rounding(before, after) -> bool:
    """``after`` is ``before`` up to a few units in the last place of its largest entry: what
    ``x[i] += h; x[i] -= h`` leaves behind."""
    if isinstance(before, dict):
        return (isinstance(after, dict) and before.keys() == after.keys()
                and all(_same(before[k], after[k]) or _off_by_rounding(before[k], after[k]) for k in before))
    if not (isinstance(before, np.ndarray) and isinstance(after, np.ndarray) and before.shape == after.shape
            and before.dtype.kind == "f" and after.dtype.kind == "f"):
        return False
    with np.errstate(all="ignore"):
        largest = float(np.max(np.abs(before), initial=0.0))
        return bool(np.isfinite(after).all() and np.isfinite(largest)
                    and np.all(np.abs(after - before) <= 1e-12 * largest))


def _same(before, after) -> bool:
    if isinstance(before, np.ndarray):
        return (isinstance(after, np.ndarray) and before.shape == after.shape
                and np.array_equal(before, after))  # a NaN written into an input counts as a change
    if isinstance(before, dict):
        return (isinstance(after, dict) and before.keys() == after.keys()
                and all(_same(before[k], after[k]) for k in before))
    return True


def _own_arrays(value) -> list:
    """The arrays of a returned value (a dict's entries) as they are, read without running any method of the
    student's own classes (a dict subclass's values())."""
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, dict):
        return [v for v in dict.values(value) if isinstance(v, np.ndarray)]
    return []


def _arrays(value) -> list:
    """``_own_arrays`` as plain ndarray views: an ndarray subclass's __array_function__ takes no part."""
    return [np.ndarray.view(a, np.ndarray) for a in _own_arrays(value)]


_base = np.ndarray.base.__get__   # an array's base, whatever a subclass says its ``base`` is


def aliased(value, given) -> tuple:
    """Positions of the arguments ``given`` whose arrays the returned ``value`` is or shares memory with."""
    out = _own_arrays(value)
    if not out:
        return ()
    if all(_base(a) is None for a in out):   # each owns its memory (the usual new array): a view's base collapses to
        ids = {id(a) for a in out}             # the owner, so it is shared only by being the input or its base
        return tuple(i for i, arg in enumerate(given)
                     if any(id(b) in ids or id(_base(b)) in ids for b in _own_arrays(arg)))
    out = [np.ndarray.view(a, np.ndarray) for a in out]
    return tuple(i for i, arg in enumerate(given)
                 if any(np.may_share_memory(a, b) for a in out for b in _arrays(arg)))


def _runs_student_code(thread: threading.Thread) -> bool:
    """The thread runs a function of the student's (its target, or the run of a Thread subclass of theirs)."""
    target = getattr(thread, "_target", None) or getattr(type(thread), "run", None)
    code = getattr(target, "__code__", None)   # a function's, or a bound method's
    return code is not None and _is_student_frame(code.co_filename)


class ProcessState:
    """What a student's function can change for the whole process, not only for itself, kept as a task finds it
    (``Worker.run``) and put back after each call, so that a check leaves the notebook as it found it: the
    working directory, the recursion limit, the warnings filters, sys.stdout and sys.stderr, the pyplot figures
    it opened; and the threads it started that run its own code and are still running, which are stopped (a
    thread that spins, or prints into a later cell). numpy's print options and error handling need nothing: they
    are context-local, and each call has a context of its own. numpy's global random stream is not kept: taking
    and putting back its state costs 50 µs a call, ten times all the rest, and a function that seeds it does
    what it would do called from the notebook. Each part is read cheaply, put back only when it changed, and
    never raises (a notebook may have replaced os.getcwd too)."""

    def __init__(self):
        self._threads = set(threading.enumerate())
        self._parts = []   # (what it was, how to read it now, how to put it back), for each part that could be read
        for read, put in _PARTS:
            try:
                self._parts.append((read(), read, put))
            except Exception:  # noqa: BLE001 -- that part is not kept
                pass

    def restore(self) -> tuple:
        """Put back what changed; the names of the threads stopped (told once: one still running at the
        next restore is not told again)."""
        for was, read, put in self._parts:
            try:
                if read() != was:
                    put(was)
            except Exception:  # noqa: BLE001 -- the others are put back all the same
                pass
        stopped = []
        for thread in threading.enumerate():
            if thread not in self._threads and thread.is_alive() and _runs_student_code(thread):
                _interrupt(thread, SystemExit)   # the one exception a thread ends with silently
                stopped.append(thread.name)
                self._threads.add(thread)
        return tuple(stopped)


def _put_warnings(kept) -> None:
    filters, show = kept
    if warnings.filters != filters:
        warnings.filters[:] = filters
        getattr(warnings, "_filters_mutated", lambda: None)()   # so that warnings already seen are looked at again
    warnings.showwarning = show


def _put_streams(kept) -> None:
    sys.stdout, sys.stderr = kept


def _figures():
    pyplot = sys.modules.get("matplotlib.pyplot")
    return frozenset(pyplot.get_fignums()) if pyplot is not None else frozenset()


def _close_new_figures(before) -> None:
    pyplot = sys.modules.get("matplotlib.pyplot")
    for number in pyplot.get_fignums() if pyplot is not None else ():
        if number not in before:
            pyplot.close(number)


_PARTS = ((os.getcwd, os.chdir), (sys.getrecursionlimit, sys.setrecursionlimit),
          (lambda: (list(warnings.filters), warnings.showwarning), _put_warnings),
          (lambda: (sys.stdout, sys.stderr), _put_streams), (_figures, _close_new_figures))


class FloatingPointLog:
    """An ``np.errstate`` call handler that notes each problem once, with the student's line."""

    def __init__(self):
        self.seen: list[str] = []

    def __call__(self, kind: str, flag: int) -> None:
        frame = sys._getframe(1)
        while frame is not None and not _is_student_frame(frame.f_code.co_filename):
            frame = frame.f_back
        where = ""
        if frame is not None:
            line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
            where = f" in {frame.f_code.co_name}, line {frame.f_lineno}" + (f": {line}" if line else "")
        note = f"{kind}{where}"
        if note not in self.seen:
            self.seen.append(note)


class Stuck(Exception):
    """``Worker.run``'s task was cut short: its call number ``index`` (from 0) ran past its time limit
    and did not stop when told to (a loop in C code), or stopped at a point where the task could
    not go on."""

    def __init__(self, index: int, seconds: float):
        super().__init__(index, seconds)
        self.index, self.seconds = index, seconds


IDLE_CHECK = 0.05  # seconds between looks at the worker while no call of student code is running


_MiB = 1 << 20
_memory_kept = False


def keep_freed_memory() -> None:
    """Let the process reuse the memory it frees (glibc only; elsewhere nothing happens).

    A full-size evaluation allocates and frees arrays of megabytes again and again, and glibc hands
    memory freed on a thread's own arena straight back to the system: every fresh 4 KiB page then
    costs a page fault (1,100 an evaluation of wb04.grad_W, more than half its time).  Arrays up to
    32 MiB (glibc's own ceiling for them) now come from the heap, and up to 64 MiB of freed memory
    stays in the process.  Threads started from now on (the worker among them) share the arenas
    there are instead of each getting one of its own, so the worker's megabytes are the ones the
    notebook's thread has just freed, still in the cache, and not a second set beside them:
    wb02.grad_W1's evaluation took 1.43-1.49 ms instead of 1.89 in bench_checker.  Process-wide, so done
    once, the first time a worker starts.
    """
    global _memory_kept
    if _memory_kept:
        return
    _memory_kept = True
    try:
        os.confstr("CS_GNU_LIBC_VERSION")
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, ValueError, OSError):
        return
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
    mallopt(M_MMAP_THRESHOLD, 32 * _MiB)
    mallopt(M_TRIM_THRESHOLD, 64 * _MiB)
    mallopt(M_ARENA_MAX, 1)


class Worker:
    """One thread for a series of calls, timed from the thread that hands it the work.

    ``worker.run(task)`` runs ``task()`` on the worker's thread and returns its value; inside the
    task, ``worker.call(fn, args, timeout)`` calls the student's function right there, with every
    promise of ``call``, while the thread in ``run`` keeps the time and stops a call that runs
    past its limit.  A whole evaluation runs as one task: one thread and one hand-over for all
    its calls.  Each call starts from an empty ``contextvars`` context, as on a new thread.  A
    thread told to stop is never used again (it may be stuck in C): the next ``run`` starts a
    new one.  One task at a time; ``close()``, or the end of a ``with`` block, lets the thread end.
    """

    def __init__(self):
        self._thread: threading.Thread | None = None
        self._jobs: queue.SimpleQueue | None = None
        self._clock = [None]  # [(start, limit) of the call under way on this thread], set by the thread
        self._kept: ProcessState | None = None   # as the task found the process, put back after each call
        self.calls = 0        # calls begun, over every task

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._jobs is not None:
            self._jobs.put(None)  # the thread ends when it gets here, if it ever does
            self._thread = self._jobs = None

    def run(self, task):
        """``task()`` on the worker's thread -> its value.  Raises what the task raises (not what a
        student's function raises: ``call`` catches that), and ``Stuck``."""
        if self._jobs is None or not self._thread.is_alive():  # not since a fork either
            keep_freed_memory()
            self._jobs, self._clock = queue.SimpleQueue(), [None]
            self._thread = threading.Thread(target=_serve, args=(self._jobs,), name="checker-student-call",
                                            daemon=True)
            self._thread.start()
        box: dict = {}
        done = threading.Lock()
        done.acquire()

        def job():
            try:
                box["value"] = task()
            except _Stop:  # it came just as the call was ending, and cut the task short
                pass
            except BaseException as exc:  # noqa: BLE001 -- raised again in the thread that waits
                box["error"] = exc
            finally:
                done.release()

        first, clock = self.calls, self._clock
        self._kept = ProcessState()
        self._jobs.put(job)
        try:
            while not done.acquire(timeout=_until_limit(clock)):
                running = clock[0]
                if running is not None and time.perf_counter() - running[0] >= running[1]:
                    index, seconds = self.calls - 1 - first, time.perf_counter() - running[0]
                    self._stop()
                    if done.acquire(timeout=0.5) and "value" in box:
                        break  # the call stopped and the task went on to its end
                    raise Stuck(index, seconds)
        except BaseException:  # Stuck, or the user interrupting the kernel: stop the student's code
            if self._jobs is not None:
                self._stop()
            raise
        if "error" in box:
            raise box["error"]
        return box["value"]

    def call(self, fn, args: tuple, timeout: float) -> Outcome:
        """``fn(*args)``, on the worker's thread inside ``run``, the caller's arrays out of its reach; never
        raises for what fn does.

        fn gets read-only views of the arrays (dicts of its own): nothing is copied.  A function that
        writes into one (a ValueError about a read-only array), or makes one writable, is called once
        more, on copies, whose comparison with the originals says what it changed."""
        if threading.current_thread() is not self._thread:
            raise _Stop  # a task left behind, its call stuck until now: it makes no more calls
        self.calls += 1
        locked = [_lock(a) for a in args]   # so that no view handed out can be made writable again
        try:
            handed = tuple(_read_only(a) for a in args)
            outcome = self._attempt(fn, args, tuple(_own_dicts(h) for h in handed), timeout, handed)
            if outcome is None:
                outcome = self._attempt(fn, args, tuple(_copy(a) for a in args), timeout)
        finally:
            reopened = set()
            for i in reversed(range(len(locked))):
                for a in reversed(locked[i]):   # an owner before its views
                    if a.flags.writeable:
                        reopened.add(i)
                    try:
                        a.flags.writeable = True
                    except ValueError:
                        pass
        if reopened and outcome.status == "returned":   # it reached the caller's own array to make it writable
            outcome = dataclasses.replace(outcome, mutated=tuple(sorted(reopened.union(outcome.mutated))))
        return outcome

    def _attempt(self, fn, args: tuple, given: tuple, timeout: float, handed: tuple | None = None):
        """One call of ``fn(*given)``: its Outcome, or None when ``given`` were the read-only ``handed`` and
        fn wrote, or could have written, into them."""
        clock = self._clock
        log = FloatingPointLog()
        kept = self._kept
        start = time.perf_counter()
        clock[0] = (start, float("inf") if timeout is None else timeout)
        try:
            value = contextvars.Context().run(_guarded, fn, given, log)
        except _Stop:
            clock[0] = None
            return Outcome("timeout", seconds=time.perf_counter() - start, threads=kept.restore())
        except BaseException as exc:  # noqa: BLE001 -- SystemExit and KeyboardInterrupt from student code too
            clock[0] = None
            threads = kept.restore()
            if handed is not None and isinstance(exc, ValueError) and "read-only" in _message(exc):
                return None
            return Outcome("raised", error=describe_exception(exc), seconds=time.perf_counter() - start,
                           threads=threads)
        clock[0] = None
        seconds = time.perf_counter() - start
        threads = kept.restore()
        if isinstance(value, types.CoroutineType):  # an async def: closed, or Python warns it was never awaited
            value.close()
        if handed is None:
            changed = [not _same(a, g) for a, g in zip(args, given, strict=True)]
        else:
            changed = [_changed(a, h, g) for a, h, g in zip(args, handed, given, strict=True)]
            if None in changed:
                return None
        mutated = tuple(i for i, c in enumerate(changed) if c)
        return Outcome("returned", value=value, seconds=seconds, mutated=mutated,
                       warnings=tuple(log.seen), aliased=aliased(value, given),
                       rounded=tuple(i for i in mutated if _off_by_rounding(args[i], given[i])), threads=threads)

    def _stop(self) -> None:
        _interrupt(self._thread)
        self.close()


def _until_limit(clock: list) -> float:
    """How long the waiting thread sleeps: until the running call's limit, or IDLE_CHECK between calls."""
    running = clock[0]
    if running is None:
        return IDLE_CHECK
    return min(max(running[0] + running[1] - time.perf_counter(), 0.0), threading.TIMEOUT_MAX)


def _guarded(fn, given: tuple, log: FloatingPointLog):
    with np.errstate(over="call", invalid="call", divide="call", under="ignore", call=log):
        return fn(*given)


def _serve(jobs: queue.SimpleQueue) -> None:
    while True:
        try:
            job = jobs.get()
            if job is None:
                return
            job()
        except _Stop:  # sent as a task was ending: this thread is being left, and None is on its way
            pass


_shared = Worker()
_shared_free = threading.Lock()


@contextlib.contextmanager
def worker():
    """The process's own Worker, whose thread waits for the next task between uses; a Worker of its
    own (closed afterwards) while another caller holds that one: another thread grading, or a
    check inside a student's function."""
    if _shared_free.acquire(blocking=False):
        try:
            yield _shared
        finally:
            _shared_free.release()
    else:
        with Worker() as own:
            yield own


def call(fn, args: tuple, timeout: float) -> Outcome:
    """Call ``fn(*args)`` in a worker thread, the arrays of args out of its reach (``Worker.call``); never
    raises for what fn does."""
    with worker() as w:
        try:
            return w.run(lambda: w.call(fn, args, timeout))
        except Stuck as stuck:
            return Outcome("timeout", seconds=stuck.seconds)


def _interrupt(thread: threading.Thread, exception=_Stop) -> None:
    """Raise ``exception`` (a class) inside the thread at its next Python bytecode."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(exception))
