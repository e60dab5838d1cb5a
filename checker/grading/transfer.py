"""Data that crosses between the grader and a student's kernel, and nothing else.

Inputs go to the kernel as an ``.npz`` file plus a JSON description; what comes back is read
with ``allow_pickle=False`` and JSON, checked against size limits, and rebuilt here from plain
data: float/int/bool arrays, numbers, strings, and *stand-ins* that only describe anything
else ("a list of 3 items", "a Foo").  No object made in the kernel ever reaches the grader, so
an ndarray subclass, a rigged ``__eq__`` or a patched numpy there cannot take part in the
judgement.
"""
from __future__ import annotations

import json
import math
import os
import pickle
import re
import zipfile

import numpy as np

MAX_JSON_BYTES = 4 * 2**20          # a status or value description
MAX_ARRAY_BYTES = 512 * 2**20       # all arrays one call returns, uncompressed
MAX_ITEMS = 10**6                   # longest list a stand-in is built for
_TYPE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,59}$")
ARRAY_KINDS = "biufc"               # dtype kinds that are loaded as arrays


class TransferError(Exception):
    """What the kernel sent back cannot be used (missing, too large, malformed)."""


# --- grader -> kernel ------------------------------------------------------------------------

def write_inputs(folder: str, args: tuple) -> None:
    """``call.json`` (how to rebuild each argument) and ``in.npz`` (the arrays) in ``folder``."""
    arrays, specs = {}, []
    for i, arg in enumerate(args):
        if isinstance(arg, np.ndarray):
            key = f"a{i}"
            arrays[key] = np.ascontiguousarray(arg)
            specs.append({"kind": "array", "key": key})
        elif isinstance(arg, dict):
            keys = []
            for j, (name, value) in enumerate(arg.items()):
                key = f"a{i}_{j}"
                arrays[key] = np.ascontiguousarray(np.asarray(value))
                keys.append([str(name), key])
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
        json.dump({"args": specs}, f)


# --- kernel -> grader ------------------------------------------------------------------------

def read_json(path: str):
    """A JSON file the kernel wrote; TransferError if missing, too large or malformed."""
    try:
        size = os.path.getsize(path)
    except OSError:
        raise TransferError(f"{os.path.basename(path)} was not written") from None
    if size > MAX_JSON_BYTES:
        raise TransferError(f"{os.path.basename(path)} is too large ({size} bytes)")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as error:
        raise TransferError(f"{os.path.basename(path)} is not valid JSON: {error}") from None


def load_arrays(path: str) -> dict:
    """The arrays of an ``.npz`` file, loaded without pickle after checking their total size."""
    if not os.path.exists(path):
        return {}
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (OSError, zipfile.BadZipFile) as error:
        raise TransferError(f"{os.path.basename(path)} is not a valid .npz file: {error}") from None
    if total > MAX_ARRAY_BYTES:
        raise TransferError(f"the arrays returned take {total / 2**20:.0f} MiB, more than the "
                            f"{MAX_ARRAY_BYTES / 2**20:.0f} MiB the grader accepts")
    try:
        with np.load(path, allow_pickle=False) as npz:
            out = {}
            for key in npz.files:
                array = npz[key]
                if type(array) is not np.ndarray:  # noqa: E721 -- exactly ndarray, never a subclass
                    raise TransferError("not a plain array")
                out[key] = array
            return out
    except TransferError:
        raise
    except Exception as error:  # a malformed member: ValueError, OSError, EOFError, …
        raise TransferError(f"{os.path.basename(path)} could not be read: {error}") from None


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


def _shape(value) -> tuple | None:
    if (isinstance(value, list) and len(value) <= 32
            and all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2**40 for n in value)):
        return tuple(value)
    return None


def rebuild(spec, arrays: dict, depth: int = 0):
    """The value a kernel described with ``spec`` (see the kernel code in kernel.py), from plain data."""
    if not isinstance(spec, dict) or depth > 3:
        return stand_in("object")
    kind = spec.get("kind")
    if kind == "array":
        array = arrays.get(spec.get("key"))
        if array is None:
            return stand_in("object")
        if array.dtype.kind in ARRAY_KINDS:
            return np.array(array, copy=True)
        return stand_in("ndarray")
    if kind == "objarray":
        shape = _shape(spec.get("shape"))
        if shape is not None and math.prod(shape) <= MAX_ITEMS:
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
            built = [rebuild(item, arrays, depth + 1) for item in items[:MAX_ITEMS]]
        else:
            n = spec.get("len")
            n = n if isinstance(n, int) and 0 <= n <= MAX_ITEMS else 0
            built = [None] * n
        return built if kind == "list" else tuple(built)
    if kind == "dict":
        items = spec.get("items")
        out = {}
        if isinstance(items, list):
            for pair in items[:1000]:
                if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str):
                    out[pair[0][:200]] = rebuild(pair[1], arrays, depth + 1)
        return out
    if kind == "other":
        return stand_in(spec.get("type"))
    return stand_in("object")


def same(before, after) -> bool:
    """Whether an argument is unchanged after the call (a NaN written into it is a change)."""
    if isinstance(before, np.ndarray):
        return (isinstance(after, np.ndarray) and before.shape == after.shape
                and after.dtype.kind in ARRAY_KINDS and bool(np.array_equal(before, after)))
    if isinstance(before, dict):
        return (isinstance(after, dict) and before.keys() == after.keys()
                and all(same(before[k], after[k]) for k in before))
    return True


def clean_text(value, limit: int = 2000) -> str | None:
    """A string from the kernel, cut to ``limit`` characters; None for anything else."""
    if not isinstance(value, str):
        return None
    return value if len(value) <= limit else value[:limit] + " …"


def clean_int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**9 else None
