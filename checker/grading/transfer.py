"""Data that crosses between the grader and a student's kernel, and nothing else.

Inputs go to the kernel as an ``.npz`` file plus a JSON description; what comes back is read
with ``allow_pickle=False`` and JSON, checked against size limits, and rebuilt here from plain
data: float/int/bool arrays, numbers, strings, and *stand-ins* that only describe anything
else ("a list of 3 items", "a Foo").  No object made in the kernel ever reaches the grader, so
an ndarray subclass, a rigged ``__eq__`` or a patched numpy there cannot take part in the
judgement.
"""
from __future__ import annotations

import io
import json
import math
import os
import pickle
import re
import stat
import zipfile

import numpy as np

MAX_JSON_BYTES = 4 * 2**20          # a status or value description
MAX_ARRAY_BYTES = 512 * 2**20       # all arrays one value holds, as the float64 the judge makes of them
MAX_ITEMS = 10**6                   # all the items of one value's lists, tuples, dicts and object arrays
_TYPE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,59}$")
ARRAY_KINDS = "biufc"               # dtype kinds that are loaded as arrays


class TransferError(Exception):
    """What the kernel sent back cannot be used (missing, too large, malformed)."""


# --- grader -> kernel ------------------------------------------------------------------------

def write_inputs(folder: str, args: tuple, name: str | None = None) -> None:
    """``call.json`` (the function's ``name`` and how to rebuild each argument) and ``in.npz`` (the arrays)
    in ``folder``."""
    arrays, specs = {}, []
    for i, arg in enumerate(args):
        if isinstance(arg, np.ndarray):
            key = f"a{i}"
            arrays[key] = np.ascontiguousarray(arg)
            specs.append({"kind": "array", "key": key})
        elif isinstance(arg, dict):
            keys = []
            for j, (entry, value) in enumerate(arg.items()):
                key = f"a{i}_{j}"
                arrays[key] = np.ascontiguousarray(np.asarray(value))
                keys.append([str(entry), key])
            specs.append({"kind": "dict", "keys": keys})
        elif isinstance(arg, (bool, int, float, str)) or arg is None:
            specs.append({"kind": "value", "value": arg})
        elif isinstance(arg, (np.integer, np.floating)):
            specs.append({"kind": "value", "value": arg.item()})
        else:
            # an object of the exercise table, e.g. the function f that numerical_gradient(f, x, eps)
            # differentiates: pickled by reference to its class in checker.exercises.  Pickle goes
            # one way only, grader -> kernel; nothing coming back is ever unpickled.
            key = f"a{i}"
            arrays[key] = np.frombuffer(pickle.dumps(arg), dtype=np.uint8)
            specs.append({"kind": "pickle", "key": key})
    np.savez(os.path.join(folder, "in.npz"), **arrays)
    with open(os.path.join(folder, "call.json"), "w", encoding="utf-8") as f:
        json.dump({"name": name, "args": specs}, f)


# --- kernel -> grader ------------------------------------------------------------------------

def read_file(name: str, limit: int, dir_fd: int | None = None) -> bytes:
    """The bytes of a file the kernel wrote: a regular file (never through a link, never a FIFO or
    device), at most ``limit`` bytes.  TransferError otherwise.

    With ``dir_fd`` (an open folder), ``name`` is looked up in that folder only; the kernel may own
    the folder's contents, but not which folder it is.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    label = os.path.basename(name)
    try:
        fd = os.open(name, flags, dir_fd=dir_fd) if dir_fd is not None else os.open(name, flags)
    except FileNotFoundError:
        raise TransferError(f"{label} was not written") from None
    except OSError as error:
        raise TransferError(f"{label} could not be opened ({error.strerror}): not a plain file") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise TransferError(f"{label} is not a plain file")
        if info.st_size > limit:
            raise TransferError(f"{label} is too large ({info.st_size} bytes)")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 24, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise TransferError(f"{label} is too large (more than {limit} bytes)")
        return b"".join(chunks)
    finally:
        os.close(fd)


def parse_json(raw: bytes, label: str = "the status"):
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as error:
        raise TransferError(f"{label} is not valid JSON: {error}") from None


def read_json(path: str, dir_fd: int | None = None):
    """A JSON file the kernel wrote; TransferError if missing, too large or malformed."""
    return parse_json(read_file(path, MAX_JSON_BYTES, dir_fd), os.path.basename(path))


def parse_arrays(raw: bytes, label: str = "the arrays") -> dict:
    """The arrays of ``.npz`` bytes, loaded without pickle after checking their total size."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (OSError, zipfile.BadZipFile, ValueError) as error:
        raise TransferError(f"{label} is not a valid .npz file: {error}") from None
    if total > MAX_ARRAY_BYTES:
        raise TransferError(f"the arrays returned take {total / 2**20:.0f} MiB, more than the "
                            f"{MAX_ARRAY_BYTES / 2**20:.0f} MiB the grader accepts")
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            out, judged = {}, 0
            for key in npz.files:
                array = npz[key]
                if type(array) is not np.ndarray:
                    raise TransferError("not a plain array")
                # the judge turns an answer into float64: 512 MiB of int8 would be 4 GiB there
                judged += _judged_bytes(array)
                if judged > MAX_ARRAY_BYTES:
                    raise TransferError(f"the arrays returned would take more than the {MAX_ARRAY_BYTES / 2**20:.0f} "
                                        "MiB the grader accepts (counted as float64)")
                out[key] = array
            return out
    except TransferError:
        raise
    except Exception as error:  # noqa: BLE001 -- a malformed member: ValueError, OSError, EOFError, …
        raise TransferError(f"{label} could not be read: {error}") from None


def load_arrays(path: str, dir_fd: int | None = None) -> dict:
    """The arrays of an ``.npz`` file the kernel wrote ({} when it wrote none); see parse_arrays."""
    try:
        raw = read_file(path, MAX_ARRAY_BYTES + MAX_JSON_BYTES, dir_fd)
    except TransferError as error:
        if "was not written" in str(error):
            return {}
        raise
    return parse_arrays(raw, os.path.basename(path))


class Outbox:
    """The one folder a kernel writes its answers into, opened once before the kernel starts.

    Files are read with read_file (no links, plain files, size limits) relative to the open
    folder, and removed without following links.
    """

    def __init__(self, path: str):
        self.path = path
        self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)) \
            if os.name == "posix" else None

    def _at(self, name: str):
        return (name, self.fd) if self.fd is not None else (os.path.join(self.path, name), None)

    def json(self, name: str):
        return read_json(*self._at(name))

    def arrays(self, name: str) -> dict:
        return load_arrays(*self._at(name))

    def has(self, name: str) -> bool:
        """Whether there is something called ``name`` (a link counts; it is refused when read)."""
        try:
            if self.fd is not None:
                os.stat(name, dir_fd=self.fd, follow_symlinks=False)
            else:
                os.lstat(os.path.join(self.path, name))
            return True
        except OSError:
            return False

    def discard(self, names) -> None:
        for name in names:
            try:
                if self.fd is not None:
                    os.unlink(name, dir_fd=self.fd)
                else:
                    os.unlink(os.path.join(self.path, name))
            except OSError:
                pass

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class _StandIn:
    """Describes a value the kernel returned that is not data the grader judges."""

    def __repr__(self):
        return f"<{type(self).__name__} returned by the student's code>"


_STAND_INS: dict = {}


def stand_in(type_name) -> object:
    """An object whose type is called ``type_name`` (when that is a plain identifier), so that
    checker.judge.describe_value says "a Foo"; it has no behaviour of its own."""
    name = type_name if isinstance(type_name, str) and _TYPE_NAME.match(type_name) else "object"
    if name in ("list", "tuple", "dict", "NoneType", "bool", "int", "float", "str", "ndarray"):
        name = "object"
    if name not in _STAND_INS:
        _STAND_INS[name] = type(name, (_StandIn,), {})
    return _STAND_INS[name]()


def _judged_bytes(array) -> int:
    """Bytes of an array once the judge has made float64 of it."""
    return int(array.size) * max(8, int(array.dtype.itemsize))


class _Budget:
    """What one rebuilt value may hold in all: MAX_ITEMS items (an item of a list, tuple or dict, an entry of
    an object array) and MAX_ARRAY_BYTES of arrays (counted as float64, and once per time a spec names one).
    The kernel writes the spec: 4 MiB of JSON can describe a list of a million lists of a million items, or
    name one array a hundred thousand times; past the budget, rebuild raises TransferError."""

    def __init__(self):
        self.items, self.bytes = MAX_ITEMS, MAX_ARRAY_BYTES

    def take(self, items: int = 0, nbytes: int = 0) -> None:
        self.items -= items
        self.bytes -= nbytes
        if self.items < 0:
            raise TransferError(f"the value returned is too large for the grader: more than {MAX_ITEMS:,} items "
                                "in its lists, tuples, dicts and object arrays together")
        if self.bytes < 0:
            raise TransferError(f"the value returned is too large for the grader: its arrays take more than "
                                f"{MAX_ARRAY_BYTES / 2**20:.0f} MiB (counted as float64)")


def _shape(value) -> tuple | None:
    if (isinstance(value, list) and len(value) <= 32
            and all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2**40 for n in value)):
        return tuple(value)
    return None


def rebuild(spec, arrays: dict, depth: int = 0, budget: _Budget | None = None):
    """The value a kernel described with ``spec`` (see the kernel code in kernel.py), from plain data.

    TransferError when the value would hold more than the grader builds for one value (_Budget)."""
    budget = _Budget() if budget is None else budget
    budget.take(items=1)
    if not isinstance(spec, dict) or depth > 3:
        return stand_in("object")
    kind = spec.get("kind")
    if kind == "array":
        array = arrays.get(spec.get("key"))
        if array is None:
            return stand_in("object")
        if array.dtype.kind in ARRAY_KINDS:
            budget.take(nbytes=_judged_bytes(array))
            return np.array(array, copy=True)
        return stand_in("ndarray")
    if kind == "objarray":
        shape = _shape(spec.get("shape"))
        if shape is not None and math.prod(shape) <= MAX_ITEMS:
            budget.take(items=math.prod(shape))
            return np.empty(shape, dtype=object)  # described as "an array … of dtype object"
        return stand_in("ndarray")
    if kind == "none":
        return None
    if kind == "ellipsis":
        return Ellipsis
    if kind == "bool":
        return bool(spec.get("value"))
    if kind == "int":
        value = spec.get("value")
        return int(value) if isinstance(value, int) and not isinstance(value, bool) else stand_in("object")
    if kind == "float":
        value = spec.get("value")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if value in ("nan", "inf", "-inf"):
            return float(value)
        return stand_in("object")
    if kind == "str":
        value = spec.get("value")
        return value[:10_000] if isinstance(value, str) else stand_in("object")
    if kind in ("list", "tuple"):
        items = spec.get("items")
        if isinstance(items, list):
            built = [rebuild(item, arrays, depth + 1, budget) for item in items[:MAX_ITEMS]]
        else:
            n = spec.get("len")
            n = n if isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_ITEMS else 0
            budget.take(items=n)
            built = [None] * n
        return built if kind == "list" else tuple(built)
    if kind == "dict":
        items = spec.get("items")
        out = {}
        if isinstance(items, list):
            for pair in items[:1000]:
                if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str):
                    out[pair[0][:200]] = rebuild(pair[1], arrays, depth + 1, budget)
        return out
    if kind == "other":
        return stand_in(spec.get("type"))
    return stand_in("object")


def too_large(why: str) -> object:
    """A stand-in for a value the grader would not build (rebuild raised ``why``): described as
    "a value too large for the grader"."""
    if "value too large for the grader" not in _STAND_INS:
        _STAND_INS["value too large for the grader"] = type("value too large for the grader", (_StandIn,), {})
    value = _STAND_INS["value too large for the grader"]()
    value.why = why
    return value


def rebuild_or_describe(spec, arrays: dict):
    """rebuild, or a too_large stand-in where rebuild refuses (a probed value is judged as what it is)."""
    try:
        return rebuild(spec, arrays)
    except TransferError as error:
        return too_large(str(error))


# What a notebook's text may not carry into a record, a file or the instructor's terminal: control characters
# (but tab and newline) — a terminal runs ESC sequences (clear the screen, set the title, write the clipboard)
# and CR overwrites a line —, the C1 controls, the bidirectional overrides that make text read otherwise than
# it is, and lone surrogates (a file name's undecodable bytes, an escaped "\\ud800" in JSON), which no UTF-8
# file can hold: writing one raised in the grader's main process and stopped the class.
_NOT_CONTROL_C0 = "\\x7f-\\x9f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ud800-\\udfff"
_UNSAFE = re.compile("[\\x00-\\x08\\x0b-\\x1f" + _NOT_CONTROL_C0 + "]")
_UNSAFE_IN_A_LINE = re.compile("[\\x00-\\x08\\x0a-\\x1f" + _NOT_CONTROL_C0 + "]")   # newline too


def _escape(match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xff else f"\\u{code:04x}"


def printable(text: str, *, one_line: bool = False) -> str:
    """``text`` with every character of _UNSAFE written as a visible escape (``\\x1b``, ``\\ud800``); a CR LF
    is a newline.  ``one_line``: newline too (a name, a line printed: no second line can be forged)."""
    unsafe = _UNSAFE_IN_A_LINE if one_line else _UNSAFE
    if not unsafe.search(text):
        return text
    return unsafe.sub(_escape, text if one_line else text.replace("\r\n", "\n"))


def printable_data(value):
    """A copy of plain JSON data (a record) with every string, keys too, made printable."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable_data(k) if isinstance(k, str) else k: printable_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable_data(v) for v in value]
    return value


def clean_text(value, limit: int = 2000) -> str | None:
    """A string from the kernel, cut to ``limit`` characters; None for anything else."""
    if not isinstance(value, str):
        return None
    return value if len(value) <= limit else value[:limit] + " …"


def clean_int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**9 else None
