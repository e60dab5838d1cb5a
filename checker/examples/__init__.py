"""The fixed example of each workbook, shipped as data; and ``yours``, which goes on with it.

A workbook works one example through the network (an input, its label, the parameters, and
every value computed from them).  Its cells should show the *student's* results, but a later
cell must still run when an earlier function is unfinished or wrong.  So the values of the
example are computed once, by the build from the reference (``checker/exercises``), and
stored here as ``wbNN.npz``; a notebook reads them and never calls a reference function:

    from checker import example
    ex = example("wb02")           # ex.x, ex.y, ex.params, ex["z1"], …
    dh2 = ex.yours("dh2", grad_h2, ex.params["W3"], ex["dz3"])

``yours`` calls the student's function; when its value matches the stored one it is returned,
otherwise the stored value is, with one line that says why ("grad_h2 is not right yet — see its
check above; this cell goes on with the example's stored dh2").  The stored values are those of
one fixed example; the checker grades functions on fresh random inputs, so they answer nothing.

Parameters are not stored (W1 alone is 4 MiB): they are drawn again from the stored seed with
``init_params``, and a stored fingerprint confirms the draw is the same as when the data was made.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from checker import judge, runner
from checker.result import NotStored, WrongArgument, nearest

LAYER_SIZES = (1024, 512, 256, 10)
PARAM_KEYS = ("W1", "b1", "W2", "b2", "W3", "b3")
CACHE_KEYS = ("z1", "h1", "z2", "h2", "z3", "h3")

FOLDER = Path(__file__).resolve().parent
PARAMS_SEED = "params_seed"            # stored: the seed of init_params, when the example has parameters
PARAMS_PRINT = "params_fingerprint"    # stored: sum and sum of squares of each parameter
SEP = "/"                              # a dict value is stored as one array per key: "name/key"
FLOAT32_ABOVE = 1 << 16                # larger arrays are stored in float32 (a fallback needs no more)


def init_params(rng: np.random.Generator, sizes=LAYER_SIZES, scale: float | None = None) -> dict:
    """Random parameters, float64: ``W{l}`` (fan_in, fan_out) from N(0, 1/fan_in) unless ``scale``
    is given, ``b{l}`` (fan_out,) from N(0, 0.1²)."""
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        std = scale if scale is not None else 1.0 / np.sqrt(fan_in)
        params[f"W{layer}"] = rng.normal(0.0, std, size=(fan_in, fan_out))
        params[f"b{layer}"] = rng.normal(0.0, 0.1, size=(fan_out,))
    return params


def _fingerprint(params: dict) -> np.ndarray:
    return np.array([[np.sum(params[k]), np.sum(params[k] ** 2)] for k in PARAM_KEYS if k in params])


# --- the data files: written by tools/build_notebooks.py ---------------------------------------

def flatten(values: dict) -> dict:
    """name -> array, with each dict value spread over "name/key" entries (one level)."""
    flat = {}
    for name, value in values.items():
        if SEP in name:
            raise ValueError(f"an example value's name may not contain {SEP!r}: {name!r}")
        if isinstance(value, dict):
            flat.update({f"{name}{SEP}{key}": np.asarray(v) for key, v in value.items()})
        else:
            flat[name] = np.asarray(value)
    return flat


def encode(values: dict, params_seed: int | None = None) -> dict:
    """The arrays as stored: flattened, large float arrays in float32, plus the parameter seed."""
    flat = {}
    for name, array in flatten(values).items():
        if array.dtype.kind == "f" and array.size > FLOAT32_ABOVE:
            array = array.astype(np.float32)
        flat[name] = array
    if params_seed is not None:
        flat[PARAMS_SEED] = np.array(params_seed)
        flat[PARAMS_PRINT] = _fingerprint(init_params(np.random.default_rng(params_seed)))
    return flat


def path(workbook: str) -> Path:
    return FOLDER / f"{workbook}.npz"


def read(workbook: str) -> dict:
    """The stored arrays of a workbook's example, as written."""
    file = path(workbook)
    if not file.exists():
        raise FileNotFoundError(f"There is no stored example for {workbook!r} ({file} is missing); "
                                "run python tools/build_notebooks.py.")
    with np.load(file, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def write(workbook: str, stored: dict) -> None:
    np.savez_compressed(path(workbook), **stored)


def differences(old: dict, new: dict) -> list[str]:
    """Why two stored examples differ beyond rounding (names, shapes, values); empty when alike.

    Values are compared as another CPU or BLAS would compute them: float64 to 1e-6 of the array's
    largest entry (central differences carry ~1e-8 of noise), float32 to 1e-5; an array whose entries
    are all rounding-sized (below 1e-6, such as a gradient check's relative error) only by its order of
    magnitude.  A changed example changes its values by far more.
    """
    problems = [f"{name}: only in the {'new' if name in new else 'old'} data" for name in sorted(set(old) ^ set(new))]
    for name in sorted(set(old) & set(new)):
        a, b = old[name], new[name]
        if a.shape != b.shape or a.dtype != b.dtype:
            problems.append(f"{name}: {a.dtype}{a.shape} became {b.dtype}{b.shape}")
        elif a.dtype.kind == "f":
            if not _alike(a, b, rtol=1e-5 if a.dtype == np.float32 else 1e-6):
                problems.append(f"{name}: values changed")
        elif not np.array_equal(a, b):
            problems.append(f"{name}: values changed")
    return problems


def _alike(a, b, rtol: float) -> bool:
    largest = [float(np.max(np.abs(v), initial=0.0)) for v in (a, b)]
    if np.allclose(a, b, rtol=rtol, atol=rtol * largest[0]):
        return True
    rounding_sized = 0.0 < min(largest) and max(largest) < 1e-6 and np.isfinite(a).all() and np.isfinite(b).all()
    return rounding_sized and abs(np.log10(largest[0]) - np.log10(largest[1])) <= 1.0


# --- reading the example in a notebook ------------------------------------------------------------

class Example:
    """The fixed example of one workbook: stored arrays by name, and its parameters.

    ``ex["z1"]`` or ``ex.z1``: a stored value (a dict for values stored per key);
    ``ex.params``: the parameters drawn again from the stored seed;
    ``ex.names``: what is stored.
    """

    def __init__(self, workbook: str, stored: dict):
        self.workbook = workbook
        self._values = {}
        for name, array in stored.items():
            if name in (PARAMS_SEED, PARAMS_PRINT):
                continue
            value = np.array(array, dtype=np.float64) if array.dtype.kind == "f" else np.array(array)
            if SEP in name:
                head, key = name.split(SEP, 1)
                self._values.setdefault(head, {})[key] = value
            else:
                self._values[name] = value
        self._seed = int(stored[PARAMS_SEED]) if PARAMS_SEED in stored else None
        self._fingerprint = stored.get(PARAMS_PRINT)
        self._params = None

    @property
    def names(self) -> list:
        return sorted(self._values)

    @property
    def params(self) -> dict:
        if self._seed is None:
            raise AttributeError(f"The example of {self.workbook} has no parameters.")
        if self._params is None:
            params = init_params(np.random.default_rng(self._seed))
            if not np.allclose(_fingerprint(params), self._fingerprint, rtol=1e-10, atol=0.0):
                raise RuntimeError("This numpy draws different random numbers from the one the stored example "
                                   "was made with; run python tools/build_notebooks.py to make it again.")
            self._params = params
        return {key: value.copy() for key, value in self._params.items()}

    def __getitem__(self, name: str):
        if not isinstance(name, str):
            raise NotStored(f"The example of {self.workbook} stores values by name, a string; it got "
                            f"{judge.describe_value(name)}. It stores {', '.join(self.names)}.")
        if name not in self._values:
            near = nearest(name, self.names)
            raise NotStored(f"The example of {self.workbook} stores no {name!r}; "
                            + (f"did you mean {', '.join(near)}? It stores " if near else "it stores ")
                            + f"{', '.join(self.names)}.")
        value = self._values[name]
        return {k: v.copy() for k, v in value.items()} if isinstance(value, dict) else value.copy()

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError as error:
            raise AttributeError(error.args[0]) from None

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._values))

    def __repr__(self) -> str:
        return f"<the fixed example of {self.workbook}: {', '.join(self.names)}>"

    def yours(self, name: str, fn, *args, timeout: float = runner.DEFAULT_TIMEOUT):
        """``fn(*args)`` when it matches the stored value ``name``; else the stored value and one line why.

        fn: the student's function (a stub, a wrong one, one that raises or hangs: all fine).
        args: the example's own inputs for it, so that the stored value is the right answer.
        Never raises for anything fn does.
        """
        stored = self[name]
        why, value = _try(fn, args, stored, timeout)
        if why is None:
            return value
        print(f"{_function_name(fn)} {why}; this cell goes on with the example's stored {name}.")
        return stored


def _function_name(fn) -> str:
    return str(getattr(fn, "__name__", None) or "your function")


def _try(fn, args, stored, timeout) -> tuple:
    """(None, fn(*args)) when that matches ``stored``; otherwise (why not, None)."""
    if fn is None or fn is Ellipsis or not callable(fn):
        return "is not done yet", None
    outcome = runner.call(fn, args, timeout)
    if outcome.status == "timeout":
        return f"did not return within {timeout:g} s", None
    if outcome.status == "raised":
        if outcome.error.not_implemented:
            return "is not done yet", None
        return f"raised {outcome.error.type_name} — see its check above", None
    value = outcome.value
    pairs = ([(value.get(key) if isinstance(value, dict) else None, expected) for key, expected in stored.items()]
             if isinstance(stored, dict) else [(value, stored)])
    if not all(_matches(got, expected) for got, expected in pairs):
        return "is not right yet — see its check above", None
    return None, value


def _matches(value, expected) -> bool:
    """judge's tolerance, which also covers the float32 storage of large arrays."""
    got = judge.plain_array(value)
    return got is not None and judge.allclose(got, expected)


def stored_workbooks() -> list:
    """The workbooks whose example is shipped: the wbNN.npz files here, listed at each call (the build adds
    a new workbook's)."""
    return sorted(file.stem for file in FOLDER.glob("wb*.npz"))


def _should_have_an_example(workbook: str) -> bool:
    """Whether an exercise table makes an example for ``workbook`` (its file is then missing: a broken
    install, or a checkout not built yet).  Never in a grading kernel, which has no tables."""
    try:
        from checker.exercises import example_makers
    except ImportError:
        return False
    return workbook in example_makers()


def example(workbook: str) -> Example:
    """The fixed example of a workbook ("wb02"), read from the data shipped with the checker.

    Only a shipped example's name is read, never a path made from what was given; anything else is
    a WrongArgument in one line, with the name that was probably meant.
    """
    known = stored_workbooks()
    listed = f"workbooks with one are {', '.join(known) or 'none'}."
    if not isinstance(workbook, str):
        meant = f"wb{workbook:02d}" if type(workbook) is int else None
        raise WrongArgument(f"example takes a workbook's name, a string such as 'wb02'; it got "
                            f"{judge.describe_value(workbook)}. "
                            + (f"Did you mean {meant!r}? " if meant in known else "") + f"The {listed}")
    if workbook in known:
        return Example(workbook, read(workbook))
    if _should_have_an_example(workbook):
        read(workbook)   # the FileNotFoundError that tells a developer to build
    near = nearest(workbook, known)
    raise WrongArgument(f"There is no example {workbook!r}; "
                        + (f"did you mean {', '.join(near)}? The {listed}" if near else f"the {listed}"))
