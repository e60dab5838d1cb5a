"""Call a student's function without letting it hurt the caller.

Each call runs in a worker thread with a time limit, on copies of the inputs.  numpy's
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

import ctypes
import linecache
import os
import sysconfig
import threading
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DEFAULT_TIMEOUT = 10.0  # seconds per call of a student's function
_CHECKER_DIR = os.path.dirname(os.path.abspath(__file__))
_LIBRARY_DIRS = tuple(
    {os.path.abspath(p) for k, p in sysconfig.get_paths().items() if k in ("stdlib", "platstdlib", "purelib", "platlib")}
)


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
    """
    status: str
    value: Any = None
    error: ErrorInfo | None = None
    seconds: float = 0.0
    mutated: tuple = field(default_factory=tuple)
    warnings: tuple = field(default_factory=tuple)
    aliased: tuple = field(default_factory=tuple)


def _is_student_frame(filename: str) -> bool:
    path = os.path.abspath(filename) if not filename.startswith("<") else filename
    if path.startswith(_CHECKER_DIR):
        return False
    return not any(path.startswith(d + os.sep) for d in _LIBRARY_DIRS)


def describe_exception(exc: BaseException) -> ErrorInfo:
    """The exception as a student should see it: its type, message and their own line."""
    info = ErrorInfo(type(exc).__name__, str(exc), not_implemented=isinstance(exc, NotImplementedError))
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


def _same(before, after) -> bool:
    if isinstance(before, np.ndarray):
        return (isinstance(after, np.ndarray) and before.shape == after.shape
                and np.array_equal(before, after))  # a NaN written into an input counts as a change
    if isinstance(before, dict):
        return (isinstance(after, dict) and before.keys() == after.keys()
                and all(_same(before[k], after[k]) for k in before))
    return True


def _arrays(value) -> list:
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, dict):
        return [v for v in value.values() if isinstance(v, np.ndarray)]
    return []


def aliased(value, given) -> tuple:
    """Positions of the arguments ``given`` whose arrays the returned ``value`` is or shares memory with."""
    out = _arrays(value)
    return tuple(i for i, arg in enumerate(given)
                 if any(np.may_share_memory(a, b) for a in out for b in _arrays(arg)))


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


def call(fn, args: tuple, timeout: float) -> Outcome:
    """Call ``fn(*copies of args)`` in a worker thread; never raises for what fn does."""
    given = tuple(_copy(a) for a in args)
    box: dict = {}
    log = FloatingPointLog()

    def work():
        try:
            with np.errstate(over="call", invalid="call", divide="call", under="ignore", call=log):
                box["value"] = fn(*given)
        except _Stop:
            box["timeout"] = True
        except BaseException as exc:  # SystemExit and KeyboardInterrupt from student code too
            box["error"] = describe_exception(exc)

    worker = threading.Thread(target=work, name="checker-student-call", daemon=True)
    start = time.perf_counter()
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        _interrupt(worker)
        worker.join(0.5)
        return Outcome("timeout", seconds=time.perf_counter() - start)
    seconds = time.perf_counter() - start
    if "error" in box:
        return Outcome("raised", error=box["error"], seconds=seconds)
    if box.get("timeout"):
        return Outcome("timeout", seconds=seconds)
    mutated = tuple(i for i, (a, g) in enumerate(zip(args, given)) if not _same(a, g))
    value = box.get("value")
    return Outcome("returned", value=value, seconds=seconds, mutated=mutated, warnings=tuple(log.seen),
                   aliased=aliased(value, given))


def _interrupt(thread: threading.Thread) -> None:
    """Raise _Stop inside the thread at its next Python bytecode."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(_Stop))
