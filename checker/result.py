"""The outcome of grading one exercise, and how it looks to a student (text and HTML)."""
from __future__ import annotations

import html
from dataclasses import dataclass, field


def _points(x: float) -> str:
    return f"{x:g}"


class Shown:
    """Feedback that check() and report() show, and then return.

    When the call is a cell's last line, IPython echoes the returned object; ``show`` marks it
    so that this one echo is skipped and the feedback appears once.
    """
    _echo_pending = False

    def _bundle(self) -> dict:
        return {"text/plain": self.text(), "text/html": self._repr_html_()}

    def show(self) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import publish_display_data
            if get_ipython() is not None:
                publish_display_data(self._bundle())
                self._echo_pending = True
                return
        except Exception:  # noqa: BLE001 -- no IPython, or one a notebook broke: printed instead
            pass
        _write(self.text())

    def _ipython_display_(self):
        if self._echo_pending:
            self._echo_pending = False
            return
        from IPython.display import publish_display_data
        publish_display_data(self._bundle())


@dataclass
class Result(Shown):
    """What evaluate() found.

    passed: all inputs right.  score / max_score: points (a backward pass earns a share for each
    right parameter).  diagnosis: a stable code (see README) or None when passed.
    message: the feedback a student reads.  details: which key, worst index, expected vs got,
    max relative error, the seed and the inputs' label — for instructors and tests.
    warnings: for a pass, what was fragile on the way (numpy overflowed, an input was returned
    as it is); shown under the message, and the headline says "with a warning".
    """
    exercise_id: str
    passed: bool
    score: float
    max_score: float
    diagnosis: str | None
    message: str
    details: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    @property
    def headline(self) -> str:
        if self.passed:
            mark = "✓ Passed" + (f", with {_count(len(self.warnings), 'warning')}" if self.warnings else "")
        else:
            mark = "… Not done yet" if self.diagnosis == "not_implemented" else "✗ Not passed"
        return f"{mark}: {self.exercise_id} ({_points(self.score)}/{_points(self.max_score)} points)"

    def _body(self) -> list[str]:
        return ([self.message] if self.message else []) + [f"⚠ Warning: {w}" for w in self.warnings]

    def text(self) -> str:
        return "\n".join([self.headline] + self._body())

    __str__ = text

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed and not self.warnings else ("#9a6700" if self.passed else "#b35900")
        body = "".join(f"<div style='white-space:pre-wrap'>{html.escape(part)}</div>" for part in self._body())
        return (f"<div role='status' style='border-left:4px solid {colour};padding:4px 10px;margin:4px 0'>"
                f"<strong>{html.escape(self.headline)}</strong>{body}</div>")


def _write(text: str) -> None:
    """print, without print (a notebook may have replaced builtins.print) and to the real stdout if the
    notebook's is broken."""
    import sys
    for stream in (sys.stdout, sys.__stdout__):
        try:
            stream.write(text + "\n")
            return
        except Exception:  # noqa: BLE001 -- the next stream
            continue


def nearest(given: str, known) -> list:
    """The names of ``known`` a typo of ``given`` may have meant: the same but for case first, then difflib's
    three nearest, best first (a tie by name), each once."""
    import difflib
    score = {k: difflib.SequenceMatcher(None, given, k).ratio() for k in difflib.get_close_matches(given, known, n=3)}
    near = [k for k in known if k.lower() == given.lower()] + sorted(score, key=lambda k: (-score[k], k))
    return list(dict.fromkeys(near))


class OneLine:
    """An error in how a public function was called, shown in a notebook as its one line (no traceback into
    the checker): the id of an exercise that does not exist, a namespace that is not one, …"""

    def _render_traceback_(self):
        return [f"{type(self).__name__}: {self.args[0] if self.args else ''}"]


class WrongArgument(OneLine, ValueError):
    """A public function was given an argument it cannot use; the message says which and what it takes."""


class NotStored(OneLine, KeyError):
    """A name the fixed example does not store (``ex["dz"]``).  Still a KeyError, which code may catch; shown
    as its one line, unquoted (a KeyError's str quotes its message)."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


def _count(n: int, noun: str) -> str:
    return f"a {noun}" if n == 1 else f"{n} {noun}s"



@dataclass
class Report(Shown):
    """A ✓/✗ table of a workbook's results, with the total.

    rows: (exercise id, the name looked for, points available, Result or None if not defined).
    """
    workbook: str
    rows: list

    @property
    def score(self) -> float:
        return sum(r.score for *_, r in self.rows if r is not None)

    @property
    def max_score(self) -> float:
        return sum(points for _, _, points, _ in self.rows)

    @property
    def results(self) -> list:
        return [r for *_, r in self.rows if r is not None]

    @staticmethod
    def _status(result, name) -> str:
        if result is None:
            return f"✗ not found: define {name}"
        if result.passed:
            return "✓ passed" + (", with a warning" if result.warnings else "")
        if result.diagnosis == "not_implemented":
            return "… not done yet"
        return f"✗ {result.diagnosis.replace('_', ' ')}"

    def _cells(self):
        for exercise_id, name, points, result in self.rows:
            yield exercise_id, f"{_points(result.score if result else 0)}/{_points(points)}", self._status(result, name)

    @property
    def headline(self) -> str:
        return f"Workbook {self.workbook}: {_points(self.score)}/{_points(self.max_score)} points"

    def text(self) -> str:
        width = max([len(i) for i, *_ in self.rows] + [8])
        return "\n".join([self.headline] + [f"  {i:<{width}}  {p:>7}  {s}" for i, p, s in self._cells()])

    __str__ = text


    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td><code>{html.escape(i)}</code></td><td>{p}</td><td>{html.escape(s)}</td></tr>"
                       for i, p, s in self._cells())
        return (f"<table><caption>{html.escape(self.headline)}</caption><thead><tr><th>exercise</th>"
                f"<th>points</th><th>status</th></tr></thead><tbody>{rows}</tbody></table>")
