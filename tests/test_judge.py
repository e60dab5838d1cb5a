"""The judge's closeness test: its shortcuts never change a verdict.

An answer is close when every entry is within ATOL_FRACTION of the largest expected entry plus
RTOL of its own expected entry (``judge._close``, entry by entry).  ``judge._all_close`` gets
there faster, first by a sum of squared errors and then block by block; on every answer below,
right or wrong by one entry, at full size and at extreme magnitudes, it must say what the
per-entry definition says.
"""
import warnings

import numpy as np
import pytest

from checker import judge

FULL = (1024, 512)   # the size of dW1: the judge's largest answer


def _expected(scale, shape=FULL, seed=0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def _one_entry_off(expected, times_tolerance, at=(700, 300)):
    got = expected.copy()
    tolerance = judge.ATOL_FRACTION * np.max(np.abs(expected)) + judge.RTOL * abs(expected[at])
    got[at] += times_tolerance * tolerance
    return got


def _everywhere_off(expected, fraction_of_atol):
    return expected + fraction_of_atol * judge.ATOL_FRACTION * np.max(np.abs(expected))


def _rounded(expected):
    return expected * (1 + np.random.default_rng(1).uniform(-1, 1, expected.shape) * 4e-16)


def _with(expected, value, at=(3, 5)):
    got = expected.copy()
    got[at] = value
    return got


CASES = {  # name -> (expected, got, close by definition)
    "rounding everywhere": (e := _expected(1.0), _rounded(e), True),
    "float32 rounding": (e, e.astype(np.float32).astype(float), True),
    "one entry 2x past its tolerance": (e, _one_entry_off(e, 2.0), False),
    "one entry at 0.9 of its tolerance": (e, _one_entry_off(e, 0.9), True),
    "every entry at 0.9 of the absolute tolerance": (e, _everywhere_off(e, 0.9), True),
    "every entry at 1.5 of the absolute tolerance": (e, _everywhere_off(e, 1.5), False),
    "a nan": (e, _with(e, np.nan), False),
    "an inf": (e, _with(e, np.inf), False),
    # squares of entries this small underflow to zero, this large overflow to inf
    "tiny values, one entry 2x past": (t := _expected(1e-160), _one_entry_off(t, 2.0), False),
    "tiny values, rounding": (t, _rounded(t), True),
    "huge values, one entry 2x past": (h := _expected(1e200), _one_entry_off(h, 2.0), False),
    "huge values, rounding": (h, _rounded(h), True),
    "all zero expected, 1e-300 got": (z := np.zeros(FULL), z + 1e-300, False),
    "all zero expected and got": (z, z.copy(), True),
    "one large entry among small ones, a small one off": (
        s := _with(_expected(1e-3), 1e3), _with(s, 1e-2, at=(10, 10)), True),
    "a number": (np.array(2.0), np.array(2.0 + 1e-12), True),
    "a number, off": (np.array(2.0), np.array(2.001), False),
    "empty": (np.zeros((0, 3)), np.zeros((0, 3)), True),
}


@pytest.mark.parametrize("name", CASES)
def test_all_close_says_what_the_per_entry_definition_says(name):
    expected, got, close = CASES[name]
    with np.errstate(invalid="ignore", over="ignore"):
        assert bool(judge._close(got, expected).all()) == close, "the case itself is mislabelled"
        assert judge._all_close(got, expected) == close
        # and in another memory layout: a transposed (Fortran-ordered) view
        assert judge._all_close(got.T, expected.T) == close


@pytest.mark.parametrize("name", ["one entry 2x past its tolerance", "tiny values, one entry 2x past",
                                  "huge values, one entry 2x past"])
def test_a_single_wrong_entry_in_a_full_size_answer_is_reported_with_its_index(name):
    expected, got, _ = CASES[name]
    verdict = judge.judge_array(got, expected)
    assert verdict.code == "wrong_values"
    assert verdict.details["index"] == (700, 300)
    assert "1 of 524288 entries are off" in verdict.message


def test_judging_a_wild_answer_warns_of_nothing():
    # sums over 1e300s overflow inside the judge: the student sees the verdict, not numpy's warnings
    expected = np.abs(_expected(1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        verdict = judge.judge_array(np.full(FULL, 1e306), expected)
    assert verdict.code == "wrong_values"
