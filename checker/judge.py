"""Compare an answer with the right one and say, in words, what is wrong.

Order of judgement for one array: type -> exact shape -> finite -> values.  When the values
are wrong the judge tries to name the mistake: a known mistake of the exercise, the sign, a
constant factor, a transpose; otherwise it reports the worst entry.

Everything here is pure and runs in the grader's process: it never calls student code and
turns whatever it was given into a plain float64 ndarray before looking at it.
"""
from __future__ import annotations

import decimal
import fractions
import types
from dataclasses import dataclass, field

import numpy as np

RTOL = 1e-4           # per entry, relative to that entry
ATOL_FRACTION = 1e-5  # per entry, relative to the largest expected entry
# A float32 computation is right to about 1e-7 per operation, but through saturated sigmoids
# (σ' ≈ e^-|z|, whose relative error is the absolute error of z) it drifts to ~2e-5.  These
# bounds accept that; every mistake the judge names is off by orders of magnitude more.


@dataclass
class Verdict:
    """code None means right.  message is for the student; details for instructors and tests."""
    code: str | None
    message: str = ""
    details: dict = field(default_factory=dict)

    @property
    def right(self) -> bool:
        return self.code is None


RIGHT = Verdict(None)


# --- turning an answer into something safe to look at ------------------------------------

def readable(value):
    """``value`` as the judge may look at it, without running a method of a class of the student's: an
    ndarray subclass as a plain ndarray view (np.matrix, a masked array, one with a rigged __eq__ or a
    shape property that raises), a dict subclass as a plain dict (its __getitem__ may raise or loop); anything
    else as it is, to be looked at only through its type.  Nothing here times out, so nothing here may
    loop: what a class of the student's does when asked is left unasked."""
    if isinstance(value, np.ndarray):
        return np.ndarray.view(value, np.ndarray)
    if isinstance(value, dict) and type(value) is not dict:
        return dict(dict.items(value))
    return value


_PLAIN_KEYS = (str, int, float, bool, type(None))


def key_text(key) -> str:
    """A dict key for a message, cut to 40 characters; one of a class of the student's by its type alone."""
    return (str(key) if type(key) in _PLAIN_KEYS else f"a {type(key).__name__}")[:40]


def _length(value) -> int:
    return list.__len__(value) if isinstance(value, list) else tuple.__len__(value)


def describe_value(value) -> str:
    """A short description of any value, for messages: 'None', 'a list of 3 items', …"""
    value = readable(value)
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (list, tuple)):
        n = _length(value)
        return f"a {type(value).__name__} of {n} item{'' if n == 1 else 's'}"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(map(key_text, value))}"
    if isinstance(value, type):
        return f"the class {value.__name__}"
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _real_number(value):
    """A real number as a float, read without running a method of a class of the student's; None for anything
    else.  A whole number too large for a float is ±inf; a Fraction or a Decimal is a number too."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, float):   # np.float64 too
        return float.__float__(value)
    if isinstance(value, int):
        try:
            return int.__float__(value)
        except OverflowError:
            return float("-inf") if int.__lt__(value, 0) else float("inf")
    if isinstance(value, (np.integer, np.floating)):
        return float(np.asarray(value).astype(np.float64))
    if type(value) in (fractions.Fraction, decimal.Decimal):
        try:
            return float(value)
        except (OverflowError, ValueError):
            return None
    return None


def plain_array(value):
    """A plain float64 ndarray for an ndarray or a real number; None for anything else.

    ndarray subclasses lose their class here, so an overridden ``__eq__`` or ufunc hook
    cannot take part in the comparison.  A float64 array comes back as a view of itself, not a
    copy: the judge only reads it, and at full size a copy is megabytes.
    """
    number = _real_number(value)
    if number is not None:
        return np.array(number)
    value = readable(value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiu":
        return np.asarray(value, dtype=np.float64)
    return None


BLOCK = 1 << 15  # entries per block of _all_close: 256 KiB of float64


def _scale(expected) -> float:
    """The largest |entry| (nan if there is a nan), without an array of |entries|."""
    return max(abs(float(expected.max())), abs(float(expected.min()))) if expected.size else 0.0


def _close(got, expected, scale=None):
    scale = _scale(expected) if scale is None else scale
    return np.abs(got - expected) <= ATOL_FRACTION * scale + RTOL * np.abs(expected)


_TINY = float(np.finfo(np.float64).tiny)


def _within_rounding(got, expected) -> bool:
    """A sufficient test of closeness in one pass and no per-entry work: the sum of the squared errors
    is at most ATOL_FRACTION² times the mean square of expected.  As the mean square is at most the
    largest entry squared, every single error is then within the absolute part of the tolerance.  A
    right answer's errors are rounding, many orders of magnitude below that.  False means "not known":
    float32 rounding, a wrong entry, a nan, or squares that under- or overflow (then the bound says
    nothing) all go to the per-entry test."""
    bound = 0.99 * ATOL_FRACTION ** 2 * float(np.vdot(expected, expected)) / max(expected.size, 1)
    if not _TINY <= bound < float("inf"):
        return False
    error = np.subtract(got, expected)
    return float(np.vdot(error, error)) <= bound


def _all_close(got, expected) -> bool:
    """``_close(got, expected).all()``, first by ``_within_rounding``, then block by block: at full
    size a whole-array temporary of booleans and tolerances is megabytes, and fresh megabytes cost a
    page fault every 4 KiB.  A block whose largest error is within the absolute part of the tolerance
    is close without the per-entry test."""
    if _within_rounding(got, expected):
        return True
    scale = _scale(expected)
    if not scale < float("inf"):   # nothing is close to an inf (a candidate such as c · expected with c = inf)
        return False
    got, expected = got.reshape(-1), expected.reshape(-1)
    for i in range(0, max(expected.size, 1), BLOCK):
        g, e = got[i:i + BLOCK], expected[i:i + BLOCK]
        error = np.subtract(g, e)
        if error.size and not float(np.abs(error, out=error).max()) <= ATOL_FRACTION * scale \
                and not _close(g, e, scale).all():
            return False
    return True


def allclose(got, expected) -> bool:
    return got.shape == expected.shape and _all_close(got, expected)


# --- messages about shapes -----------------------------------------------------------------
# They name the axis that is wrong and what it should index; they never spell out the right shape.

def axes_count(n: int) -> str:
    return "1 axis" if n == 1 else f"{n} axes"


def wrong_axes_text(got: tuple, expected: tuple, axes) -> str:
    """' Axis 1 (length 7) should have one column per unit of z2.' for each axis whose length is off;
    for a different number of axes, what each axis of the answer indexes."""
    got, expected = tuple(got), tuple(expected)
    meanings = tuple(axes) if axes and len(axes) == len(expected) else None
    if len(got) != len(expected):
        text = f" The answer has {axes_count(len(expected))}"
        if meanings:
            text += ": " + "; ".join(f"axis {i}: {m}" for i, m in enumerate(meanings))
        return text + "."
    wrong = [i for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e]
    if not meanings:
        axes_word, verb = ("Axes", "have") if len(wrong) > 1 else ("Axis", "has")
        return f" {axes_word} {', '.join(map(str, wrong))} {verb} the wrong length."
    return "".join(f" Axis {i} (length {got[i]}) should have {meanings[i]}." for i in wrong)


def _shape_verdict(got, expected, axes, batch_size) -> Verdict:
    details = {"expected_shape": expected.shape, "got_shape": got.shape}
    if got.ndim == 2 and got.shape == expected.shape[::-1] and allclose(got.T, expected):
        return Verdict("transposed", "is the transpose of the right answer: its axes are the wrong way round. "
                       "Think about which factor indexes the rows.", details)
    text = f"has shape {got.shape}, {axes_count(got.ndim)}."
    if expected.ndim == 0:   # "The answer has 0 axes" says nothing to a student who was asked for a number
        return Verdict("wrong_shape", f"is an array of shape {got.shape}, where one number is asked for"
                       + (" (its one entry is right: return the number itself)." if got.size == 1
                          and allclose(got.reshape(()), expected) else "."), details)
    if got.size == expected.size and allclose(got.reshape(expected.shape), expected):
        text = (f"has the right numbers in the wrong shape {got.shape}: an axis of length 1 too many, or one "
                "too few (a (1, n) row and an (n, 1) column are 2-D; (n,) is 1-D).")
    elif batch_size and got.shape == (batch_size,) + expected.shape:
        text = (f"has an extra axis 0 of length m = {batch_size}, the batch: one value per example, where the "
                "answer has one for the whole batch.")
    elif got.ndim == 0:
        text = "is a single number, where an array is asked for."
    return Verdict("wrong_shape", text + wrong_axes_text(got.shape, expected.shape, axes), details)


# --- naming a factor ------------------------------------------------------------------------

def _factor_text(c: float, batch_size) -> str:
    if batch_size and batch_size > 1:
        m = batch_size
        if np.isclose(c, m, rtol=1e-4):
            return (f"is exactly m = {m} times the right answer, and m is the batch size. "
                    "The loss is the mean over the batch, so its gradient carries a 1/m: divide by m once.")
        if np.isclose(c, 1 / m, rtol=1e-4):
            return (f"is exactly 1/m of the right answer (m = {m}, the batch size): "
                    "you divided by m one time too many. The 1/m of the mean enters once.")
        if np.isclose(c, m * m, rtol=1e-4) or np.isclose(c, 1 / (m * m), rtol=1e-4):
            return (f"is off by a factor of {c:.6g} = m² or 1/m² (m = {m}, the batch size): "
                    "the 1/m of the mean belongs in the gradient exactly once.")
    return (f"is the right answer times {c:.6g}: every entry is off by the same factor. "
            "Look for a constant you added or left out.")


# --- the whole judgement of one array --------------------------------------------------------

def judge_array(value, expected, *, axes=(), mistakes=None, batch_size=None) -> Verdict:
    """Judge one answer against ``expected`` (a float64 ndarray, 0-d for a number).

    mistakes: callable -> [(code, wrong answer that the mistake produces[, what to tell the student])];
        a code may repeat; without the third element the text comes from _MISTAKE_TEXT.
    """
    value = readable(value)
    got = plain_array(value)
    if got is None:
        return _type_verdict(value, expected)
    if got.shape != expected.shape:
        return _shape_verdict(got, expected, axes, batch_size)
    with np.errstate(all="ignore"):  # the judge's own sums of a wild answer (1e300s) are not the student's warnings
        verdict = _judge_values(got, expected, mistakes, batch_size, whole=_holds_whole_numbers(value))
        if not verdict.right and getattr(value, "dtype", None) == np.float16 and _close_in_half(got, expected):
            return Verdict("wrong_type", "is in float16 (dtype float16), which keeps only about 3 significant digits: "
                           "too few for these numbers. Leave the arrays in numpy's default float64.",
                           {"got_type": "float16"})
        return verdict


def _close_in_half(got, expected) -> bool:
    """As close as float16's 11 bits of precision allow."""
    return bool(np.all(np.abs(got - expected) <= 2e-3 * np.abs(expected) + 1e-3 * _scale(expected)))


def _type_verdict(value, expected) -> Verdict:
    """Not a number nor an array of numbers.  The right shape is not spelled out (a list's length
    would give it away); an array of booleans or of objects is told apart from a missing array."""
    want = "a number" if expected.ndim == 0 else "a numpy array of numbers"
    details = {"got_type": type(value).__name__}
    if isinstance(value, (np.ndarray, np.bool_)) and value.dtype == bool:
        if expected.ndim == 0 and np.ndim(value):
            return Verdict("wrong_type", f"is an array of True/False values (shape {np.shape(value)}), where one "
                           "number is asked for.", details)
        return Verdict("wrong_type", "holds True/False values (dtype bool), where numbers are asked for: "
                       "a comparison gives booleans; turn them into numbers (astype(float)).", details)
    if isinstance(value, (complex, np.complexfloating)) or (isinstance(value, np.ndarray) and value.dtype.kind == "c"):
        dtype = value.dtype if isinstance(value, (np.ndarray, np.generic)) else "complex"
        return Verdict("wrong_type", f"holds complex numbers (dtype {dtype}), where real numbers are asked for: "
                       "look for a square root, a power or a log of a negative number, or a 1j.", details)
    if isinstance(value, np.ndarray):
        return Verdict("wrong_type", f"is an array of dtype {value.dtype}, where {want} is asked for.", details)
    hint = " Did you forget to return it?" if value is None else ""
    if isinstance(value, (list, tuple)):
        hint = " Wrap it in np.array(...), or build it with numpy operations."
    elif isinstance(value, types.CoroutineType):
        hint = (" A function defined with async def does not run when it is called: it hands back a coroutine. "
                "Define it with def.")
    elif isinstance(value, types.GeneratorType):
        hint = (" A function with a yield in it does not run when it is called: it hands back a generator. "
                "Use return.")
    elif callable(value):
        hint = " Did you return a function instead of calling it?"
    return Verdict("wrong_type", f"is {describe_value(value)}, but {want} is needed.{hint}", details)


def _holds_whole_numbers(value) -> bool:
    """An integer array or an int: whatever it was computed from, its fractions are gone."""
    if isinstance(value, (bool, np.bool_)):
        return False
    return isinstance(value, (int, np.integer)) or (isinstance(value, np.ndarray) and value.dtype.kind in "iu")


def _judge_values(got, expected, mistakes, batch_size, whole=False) -> Verdict:
    if _all_close(got, expected):   # first: the usual case, and a nan or inf in got is never close
        return RIGHT
    if not np.isfinite(got).all():
        bad = ~np.isfinite(got) & np.isfinite(expected)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            return Verdict("nonfinite", f"contains {float(got[index])} at index {index}, where the right answer "
                           "is a finite number.", {"index": index, "got": float(got[index]),
                                                   "expected": float(expected[index])})

    close = _close(got, expected)

    for code, wrong, *text in (mistakes() if mistakes else ()):
        wrong = np.asarray(wrong, dtype=float)
        if wrong.shape == got.shape and not allclose(wrong, expected) and allclose(got, wrong):
            return Verdict(code, text[0] if text else _MISTAKE_TEXT[code])

    nonzero = np.abs(expected) > ATOL_FRACTION * float(np.max(np.abs(expected)))
    if whole and any(allclose(got, cut(expected)) for cut in (np.trunc, np.floor, np.round)):
        what = ("holds whole numbers only: the fractions of the right answer were cut off. Look for an integer "
                "array (one made like an integer input, or astype(int)) or an integer division //." if got.ndim else
                "is a whole number: the fraction of the right answer was cut off. Look for an integer division // "
                "or an int(...).")
        return Verdict("whole_numbers", what)
    if got.ndim and nonzero.any() and not got.any():
        return Verdict("all_zero", "is 0 everywhere, where the right answer is not: is the array you return ever "
                       "filled in after it is made?")
    if nonzero.any() and allclose(-got, expected):
        return Verdict("sign", "is exactly −1 times the right answer: a sign is flipped somewhere.")
    denom = float(np.sum(expected * expected))
    if denom > 0 and nonzero.sum() > 1:
        c = float(np.sum(got * expected) / denom)
        if c != 0 and np.isfinite(c) and not np.isclose(c, 1.0) and allclose(got, c * expected):
            return Verdict("scale", _factor_text(c, batch_size), {"factor": c})
    if got.ndim == 2 and got.shape[0] == got.shape[1] and allclose(got.T, expected):
        return Verdict("transposed", "is the transpose of the right answer. Think about which factor indexes the rows.")

    err = np.abs(got - expected)
    scale = float(np.max(np.abs(expected))) or 1.0
    excess = err / (ATOL_FRACTION * scale + RTOL * np.abs(expected))  # how far past the tolerance
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(excess)), err.shape))
    rel = float(np.max(err) / scale)
    where = f" at index {worst}" if got.ndim else ""
    return Verdict("wrong_values",
                   f"has wrong values: {int((~close).sum())} of {close.size} entries are off. The worst{where}: "
                   f"expected {expected[worst]:.6g}, got {got[worst]:.6g} (max relative error {rel:.2g}).",
                   {"index": worst, "expected": float(expected[worst]), "got": float(got[worst]),
                    "max_rel_error": rel})


def judge_dict(value, expected: dict, *, axes=None, mistakes=None, batch_size=None) -> dict:
    """Judge a dict answer key by key -> {key: Verdict}, or {None: Verdict} if it is not a usable dict.

    mistakes: callable -> [(code, dict of wrong answers)], so each key can name its mistake.
    """
    if not isinstance(value, dict):
        return {None: Verdict("wrong_type", f"is {describe_value(value)}, but a dict with keys "
                              f"{', '.join(expected)} is needed.", {"got_type": type(value).__name__})}
    value = readable(value)
    missing = [k for k in expected if k not in value]
    if missing:
        extra = [key_text(k) for k in value if k not in expected]
        more = f" and {len(extra) - 8} more" if len(extra) > 8 else ""
        has = f" (its other keys: {', '.join(extra[:8])}{more})" if extra else ""
        return {None: Verdict("wrong_type", f"is a dict without the key(s) {', '.join(missing)}{has}: it needs "
                              f"{', '.join(expected)}.", {"missing": missing})}
    cached = {}

    def mistakes_for(key):
        def table():
            if "all" not in cached:
                cached["all"] = mistakes() if mistakes else ()
            return [(code, wrong[key], *text) for code, wrong, *text in cached["all"]]
        return table

    return {key: judge_array(value[key], exp, axes=(axes or {}).get(key, ()), mistakes=mistakes_for(key),
                             batch_size=batch_size)
            for key, exp in expected.items()}


_MISTAKE_TEXT = {
    "activation_instead_of_derivative":
        "uses σ(z) where its derivative σ'(z) belongs: the activation itself, not its slope.",
    "derivative_of_preactivation":
        "puts the pre-activation z into a rule that is written for another variable. Look at what the "
        "rule's variable stands for.",
    "missing_activation_derivative":
        "leaves out the σ'(z) factor: the gradient has to pass back through the sigmoid.",
    "slope_at_activation":
        "takes the sigmoid's slope at the sigmoid's output h = σ(z): the value went through the sigmoid once "
        "more before its slope was taken. At which value does the slope belong?",
    "missing_upstream":
        "is only the local slope: it leaves out the upstream gradient, the one that arrives from further up.",
    "wrong_axis":
        "normalises along the wrong axis. Think about which axis holds the logits of one example.",
}
