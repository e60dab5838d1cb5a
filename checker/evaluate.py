"""evaluate(): grade one submission — a function or an answer — and explain the verdict.

This is the one code path behind a student's ``check`` in a notebook and the instructor's
grader.  Nothing the submitted function does is raised from here.
"""
from __future__ import annotations

import inspect
import secrets

import numpy as np

from checker import judge, runner
from checker.exercises import Exercise, Question, lookup
from checker.result import Result
from checker.runner import DEFAULT_TIMEOUT


def fresh_seed() -> int:
    return secrets.randbelow(1_000_000)


def evaluate(exercise_id: str, submission, *, seed: int | None = None, timeout: float = DEFAULT_TIMEOUT,
             call=None) -> Result:
    """Grade ``submission`` for ``exercise_id`` on fresh random inputs.

    submission: the student's function (for exercises) or value (for questions).
    seed: reproduces a run; a fresh one is drawn (and reported in details) when None.
    timeout: seconds allowed for each call of the function.
    call(fn, args, timeout) -> runner.Outcome: how the function is called.  By default the whole
        evaluation runs on one worker thread of this process, which calls the function on every
        case while this thread keeps the time (runner.Worker); a grader can pass a caller that
        runs it in the student's kernel, while every comparison still happens here.
    """
    entry = lookup(exercise_id)
    # The checker's own arithmetic (cases, reference, judge) follows numpy's defaults whatever the notebook set
    # with np.seterr (all="raise" made an underflow in drawing the cases a FloatingPointError); the student's
    # function runs in a context of its own (runner).
    with np.errstate(all="ignore"):
        if isinstance(entry, Question):
            return grade_answer(entry, submission)
        seed = fresh_seed() if seed is None else int(seed)
        return _grade_function(entry, submission, seed, timeout, call)


# --- functions ----------------------------------------------------------------------------------

def _fail(entry, code, message, details, score=0.0) -> Result:
    return Result(entry.id, False, score, entry.points, code, message, details)


def _describe_arg(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array {value.shape}"
    if isinstance(value, dict):
        return "dict of " + ", ".join(f"{k} {getattr(v, 'shape', '')}" for k, v in value.items())
    return repr(value)


def _call_text(entry: Exercise, args) -> str:
    # an exercise may name fewer arguments than a case passes (a trailing option): name those it names
    named = ", ".join(f"{n}={_describe_arg(a)}" for n, a in zip(entry.arg_names, args, strict=False))
    return f"{entry.name}({named})"


def _subject(entry: Exercise) -> str:
    if entry.name.startswith("grad_"):
        return f"Your d{entry.name[5:]}"
    return f"Your {entry.name}"  # reads with every verdict: "is …", "has …", "returns …"


def _reproduce(entry, seed) -> str:
    return f"To see this again: check({entry.id!r}, {entry.name}, seed={seed})."


_PROBLEM = {"overflow": "numpy overflowed", "invalid value": "numpy made an invalid value (nan)",
            "divide by zero": "numpy divided by zero"}


def _warnings(entry, outcome, case) -> dict:
    """What was fragile about a call whose value was right, by what it was: numpy's warnings (with the
    student's line), or an input returned as it is."""
    out = {}
    for note in outcome.warnings:
        kind, _, where = note.partition(" in ")
        out[note] = (f"{_PROBLEM.get(kind, 'numpy warned: ' + kind)}{' in ' + where if where else ''} "
                     f"(inputs: {case.label}). The result came out right, but the method is fragile: "
                     "a step on the way gets too large (or too small) for a float.")
    if outcome.threads:
        out["threads"] = (f"{entry.name} started a thread that was still running when it returned "
                          f"({', '.join(outcome.threads)}); the check stopped it. A function should have finished its "
                          "work when it returns.")
    if outcome.aliased:
        names = ", ".join(entry.arg_names[i] if i < len(entry.arg_names) else f"argument {i}" for i in outcome.aliased)
        out["aliased"] = (f"{entry.name} returns the array it was given ({names}) itself, or a view of it, where "
                          "a new array is asked for: whoever changes one later changes the other.")
    return out


def _grade_function(entry: Exercise, fn, seed: int, timeout: float, call) -> Result:
    base = {"seed": seed}
    if fn is Ellipsis or fn is None:
        return _fail(entry, "not_implemented", f"{entry.name} is not implemented yet.", base)
    if not callable(fn):
        return _fail(entry, "wrong_type",
                     f"check needs the function itself, but it got {judge.describe_value(fn)}. "
                     f"Pass the name without calling it: check({entry.id!r}, {entry.name}).", base)
    unfit = _unfit_callable(fn)
    if unfit:
        return _fail(entry, "wrong_type", f"{unfit} Define {entry.name} as a function, def {_signature(entry)}:, and "
                     f"pass it by name: check({entry.id!r}, {entry.name}).", base)
    cases = entry.cases(np.random.default_rng(seed))
    if call is not None:
        return _grade_cases(entry, fn, cases, base, timeout, call)
    with runner.worker() as worker:
        try:
            return worker.run(lambda: _grade_cases(entry, fn, cases, base, timeout, worker.call))
        except runner.Stuck as stuck:
            return _timed_out(entry, cases[stuck.index], timeout, base)


def _unfit_callable(fn) -> str | None:
    """Why ``fn`` is callable but cannot be the function asked for (a class; an async def or a generator
    function, whose calls run none of their code), or None."""
    try:
        if isinstance(fn, type):
            return f"check got the class {fn.__name__}, where a function is asked for."
        name = getattr(fn, "__name__", None)
        name = name if isinstance(name, str) else "this function"
        if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
            return (f"{name} is defined with async def, so calling it does not run it: it only hands back a "
                    "coroutine, never an answer.")
        if inspect.isgeneratorfunction(fn):
            return (f"{name} has a yield in it, so calling it does not run it: it only hands back a generator, "
                    "never an answer. Use return.")
    except Exception:  # noqa: BLE001 -- an odd object answering inspect's questions badly: called as it is
        return None
    return None


def _signature(entry) -> str:
    return getattr(entry, "signature", None) or f"{entry.name}({', '.join(entry.arg_names)})"


def _timed_out(entry, case, timeout, base) -> Result:
    return _fail(entry, "timeout", f"{entry.name} did not return within {timeout:g} s on {case.label}. "
                 "Is there a loop that never ends?", {**base, "case": case.label})


def _grade_cases(entry: Exercise, fn, cases, base, timeout, call) -> Result:
    with np.errstate(all="ignore"):   # on the worker's thread too
        return _grade_all(entry, fn, cases, base, timeout, call)


def _grade_all(entry: Exercise, fn, cases, base, timeout, call) -> Result:
    warnings: dict = {}
    for i, case in enumerate(cases):
        graded = _grade_case(entry, fn, case, base, timeout, call, warnings)
        if graded is None:
            continue
        result, unnamed = graded
        # A named mistake on an answer that is one number can fit by chance (an accuracy of 3/7 is also
        # 1 − 4/7): the name goes when the next inputs whose value is wrong show another mistake.  Inputs it
        # gets right, or that end in a nan or an error, say nothing of it (dividing by one of two sizes
        # shows only where they differ, and gives a nan where that size is 0).
        for later in cases[i + 1:] if unnamed is not None else ():
            again = _grade_case(entry, fn, later, base, timeout, call, {})
            if again is not None and again[0].diagnosis not in _SAY_NOTHING_OF_A_VALUE:
                if again[0].diagnosis != result.diagnosis:
                    result = unnamed()
                break
        return result
    return Result(entry.id, True, entry.points, entry.points, None,
                  f"Right on all {len(cases)} inputs, from small sizes up to the workbook's full size.",
                  {**base, "cases": [c.label for c in cases]}, warnings=list(warnings.values()))


_SAY_NOTHING_OF_A_VALUE = {"nonfinite", "exception", "timeout", "not_implemented", "wrong_type", "wrong_shape",
                           "mutated_input"}


def _grade_case(entry: Exercise, fn, case, base, timeout, call, warnings: dict):
    """None when right (its warnings added to ``warnings``); otherwise (the failing Result, None or, when that
    Result names a mistake of the exercise's table in an answer that is one number, a function that gives the
    Result without the name).  A function of its own so that the answer and the expected one, megabytes at
    full size, go with each case."""
    details = {**base, "case": case.label}
    outcome = call(fn, case.args, timeout)
    if outcome.status == "timeout":
        return _timed_out(entry, case, timeout, base), None
    if outcome.status == "raised":
        return _raised(entry, fn, outcome.error, case, details), None
    expected = entry.reference(*case.args)
    try:
        result = _judge_value(entry, outcome.value, expected, case, details)
    except Exception as error:   # a value of a class of the student's that no rule above reads
        if not _of_a_class_of_its_own(outcome.value):
            raise   # the checker's own failure on a plain value (a notebook replaced np.asarray): not the student's
        return _fail(entry, "wrong_type", f"{_subject(entry)} is {judge.describe_value(outcome.value)}, which the "
                     f"checker could not read as numbers ({type(error).__name__}). Return a numpy array of floats "
                     f"(or a float).\nInputs: {case.label}.",
                     {**details, "error_type": type(error).__name__}), None
    if result is not None:
        unnamed = None
        if not isinstance(expected, dict) and np.ndim(expected) == 0 and entry.mistakes \
                and result.diagnosis in {code for code, *_ in entry.mistakes(*case.args)}:
            def unnamed():
                return _judge_value(entry, outcome.value, expected, case, details, named=False)
        return result, unnamed
    if outcome.mutated:
        names = ", ".join(entry.arg_names[i] for i in outcome.mutated)
        if set(outcome.mutated) == set(outcome.rounded):
            how = (f"left the array it was given ({names}) off by a rounding error: it was changed in place and "
                   "put back by arithmetic, which does not give a float back exactly. The caller still needs "
                   "its inputs as they were: work on a copy, or put back the value you saved.")
        else:
            how = (f"changed the array it was given ({names}), with an in-place operation such as *=, += or a "
                   "slice assignment. The caller still needs its inputs: compute into a new array instead.")
        return _fail(entry, "mutated_input", f"{entry.name} returned the right values but {how}",
                     {**details, "mutated": [entry.arg_names[i] for i in outcome.mutated]}), None
    for key, text in _warnings(entry, outcome, case).items():
        warnings.setdefault(key, text)   # told once, with the first inputs that showed it
    return None


def _raised(entry, fn, error, case, details) -> Result:
    details = {**details, "error_type": error.type_name, "error_message": error.message,
               "line": error.line, "lineno": error.lineno}
    if error.not_implemented:
        elsewhere = error.function not in (None, entry.name, getattr(fn, "__name__", None))
        text = (f"{entry.name} calls {error.function}, which is not implemented yet." if elsewhere
                else f"{entry.name} is not implemented yet: replace the raise NotImplementedError line with your code.")
        return _fail(entry, "not_implemented", text, details)
    mismatch = _cannot_take(fn, case.args) if error.type_name == "TypeError" and not error.line else None
    if mismatch:
        return _fail(entry, "exception", f"{entry.name} cannot be called with the exercise's inputs: {mismatch} "
                     f"The check calls it as {_call_text(entry, case.args)}: keep the parameters of the stub, "
                     f"def {_signature(entry)}:.", details)
    where = f"\n  {error.where()}" if error.line else ""
    return _fail(entry, "exception",
                 f"{entry.name} raised {error.type_name}: {error.message}{where}\n"
                 f"It was called as {_call_text(entry, case.args)} ({case.label}).", details)


def _of_a_class_of_its_own(value) -> bool:
    """The value, or an entry of it, is of a class from outside Python and numpy."""
    values = [value] + (list(dict.values(value)) if isinstance(value, dict) else [])
    return any(str(getattr(type(v), "__module__", "")).split(".")[0] not in ("builtins", "numpy") for v in values)


def _cannot_take(fn, args) -> str | None:
    """What is wrong with ``fn``'s parameters for ``args`` (too few, too many, keyword-only), or None when
    they fit or cannot be told (a builtin)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(*args)
    except TypeError:
        return f"its parameters are {signature}, and it is given {len(args)} input{'' if len(args) == 1 else 's'}."
    return None


def _judge_value(entry: Exercise, value, expected, case, details, named: bool = True):
    """None when right; otherwise the failing Result.  named=False: without the exercise's table of mistakes."""
    m = entry.batch_size(*case.args) if entry.batch_size else None
    if isinstance(expected, dict):
        verdicts = judge.judge_dict(value, {k: np.asarray(v, dtype=float) for k, v in expected.items()},
                                    axes=entry.out_axes, mistakes=_bind(entry.mistakes, case.args) if named else None,
                                    batch_size=m)
    else:
        verdicts = {None: judge.judge_array(value, np.asarray(expected, dtype=float), axes=entry.out_axes or (),
                                            mistakes=_bind(entry.mistakes, case.args) if named else None, batch_size=m)}
    wrong = {k: v for k, v in verdicts.items() if not v.right}
    if not wrong:
        return None
    lines = []
    for message, keys in _group_by_message(wrong).items():
        if keys == [None]:
            lines.append(f"{_subject(entry)} {message}")
        elif len(keys) == 1:
            lines.append(f"Your {entry.key_prefix}{keys[0]} {message}")
        else:
            lines.append(f"Your {', '.join(entry.key_prefix + k for k in keys)} — each {message}")
    code = next(iter(wrong.values())).code
    if code == "nonfinite":
        lines.append(f"This happened with {case.label}.")
    else:
        lines.append(f"Inputs: {case.label}.")
    hint = _hint(entry, code)
    if hint:
        lines.append(f"Hint: {hint}")
    lines.append(_reproduce(entry, details["seed"]))
    first_key, first = next(iter(wrong.items()))
    details = {**details, **first.details, "key": first_key,
               "keys": {k: v.code for k, v in verdicts.items()} if None not in verdicts else None}
    right_keys = sum(v.right for v in verdicts.values())
    score = round(entry.points * right_keys / len(verdicts), 2) if None not in verdicts else 0.0
    return _fail(entry, code, "\n".join(lines), details, score=score)


def _group_by_message(verdicts: dict) -> dict:
    groups = {}
    for key, verdict in verdicts.items():
        groups.setdefault(verdict.message, []).append(key)
    return groups


def _bind(mistakes, args):
    return (lambda: mistakes(*args)) if mistakes else None


def _hint(entry, code) -> str | None:
    if code in ("wrong_type", "mutated_input", "timeout"):
        return None
    return entry.hints[0] if entry.hints else None


# --- answers to questions ------------------------------------------------------------------------

def grade_answer(q: Question, value) -> Result:
    def result(code, message, details=None):
        passed = code is None
        return Result(q.id, passed, q.points if passed else 0.0, q.points, code, message, details or {})

    if value is Ellipsis or value is None:
        return result("not_implemented", f"{q.name} is not answered yet.")
    want = q.answer()
    if q.kind == "shape":
        whole = (isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in value) \
            if isinstance(value, (tuple, list)) else ()
        if not (isinstance(value, (tuple, list)) and all(whole)):
            return result("wrong_type", f"{q.name} should be a shape: a tuple of whole numbers such as (3, 4), "
                          f"or (5,) for a 1-D array; it is {judge.describe_value(value)}.")
        got, want = tuple(int(n) for n in value), tuple(int(n) for n in want)
        if got == want:
            return result(None, "Right.")
        where = judge.wrong_axes_text(got, want, q.axes)
        if len(got) == len(want) == 2 and got == want[::-1]:
            return result("transposed", f"{got} is not right.{where}")
        if len(got) != len(want):
            return result("wrong_shape", f"{got} has {judge.axes_count(len(got))}.{where}")
        return result("wrong_answer", f"{got} is not right.{where}" + _first_hint(q))
    if q.kind == "choice":
        letter = str(value).strip().lower()
        options = {k.lower(): k for k in q.options}
        if letter not in options:
            return result("wrong_type", f"Answer with one of the letters {', '.join(q.options)}; got {value!r}.")
        if letter == str(want).lower():
            return result(None, "Right.")
        return result("wrong_answer", f"({options[letter]}) is not right. " + q.why_not.get(options[letter], "")
                      + _first_hint(q))
    got = judge.plain_array(value)
    if got is None or got.ndim != 0:
        return result("wrong_type", f"{q.name} should be a single number; it is {judge.describe_value(value)}.")
    if np.isclose(float(got), float(want), rtol=q.rtol, atol=0.0):
        return result(None, "Right.")
    return result("wrong_answer", f"{float(got):.6g} is not right." + _first_hint(q))


def _first_hint(q: Question) -> str:
    return f" Hint: {q.hints[0]}" if q.hints else ""
