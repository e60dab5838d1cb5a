"""Where a cell is, said the way an instructor finds it in JupyterLab.

JupyterLab shows no cell numbers of its own, so one rule names a cell everywhere the grader,
its review flags and the nbval path speak of one:

    cell 78, the 4th under "The gradient of W3" (`def grad_W3(h2, dz3):`)

* **cell 78**: its place counting *every* cell from the top, from 1, markdown included — what
  you count scrolling down the notebook (the grader's notes use this number too, as
  ``cell 78 (`first line`)``);
* **the 4th under "…"**: the nearest heading above it (JupyterLab's table of contents lists
  them) and how many cells below that heading it is;
* **(`…`)**: the cell's first non-empty line.
"""
from __future__ import annotations

import re

HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
FIRST_LINE = 60     # characters of a first line shown
HEADING_TEXT = 50   # characters of a heading shown


def source(cell) -> str:
    """A cell's source as one string (nbformat allows a list of lines); '' for anything else."""
    text = cell.get("source", "") if isinstance(cell, dict) else ""
    if isinstance(text, list):
        return "".join(s for s in text if isinstance(s, str))
    return text if isinstance(text, str) else ""


def kind(cell) -> str:
    return cell.get("cell_type", "") if isinstance(cell, dict) else ""


def first_line(text: str, width: int = FIRST_LINE) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= width else line[:width - 1] + "…"


def headings(text: str) -> list:
    """[(level, text)] of the markdown headings in ``text`` (outside fenced code)."""
    found, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        match = None if fenced else HEADING.match(line)
        if match:
            found.append((len(match.group(1)), match.group(2).strip()))
    return found


def _short(text: str, width: int = HEADING_TEXT) -> str:
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= width else text[:width - 1] + "…"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def headings_above(cells: list) -> list:
    """For each cell, (index, text) of the last heading in the nearest markdown cell above it that has one, or
    None: what locate looks for, for every cell in one pass."""
    out, last = [], None
    for index, cell in enumerate(cells):
        out.append(last)
        if kind(cell) == "markdown":
            found = headings(source(cell))
            if found:
                last = (index, found[-1][1])
    return out


def locate(cells: list, index: int, above: list | None = None) -> str:
    """The cell ``cells[index]`` (0-based) named by the rule of this module.  ``above``: headings_above(cells), for
    a caller that names many cells of one notebook (alone, each call looks back through the cells above)."""
    cell = cells[index]
    below, heading = 0, None
    if above is not None:
        if above[index] is not None:
            below, heading = index - above[index][0], above[index][1]
        else:
            below = index
    else:
        for earlier in range(index - 1, -1, -1):
            below += 1
            if kind(cells[earlier]) == "markdown":
                found = headings(source(cells[earlier]))
                if found:
                    heading = found[-1][1]
                    break
    where = f'the {ordinal(below)} under "{_short(heading)}"' if heading else f"the {ordinal(index + 1)} from the top"
    line = first_line(source(cell))
    return f"cell {index + 1}, {where}" + (f" (`{line}`)" if line else " (empty)")


def section_of(cells: list, index: int, level: int = 2) -> str:
    """The text of the nearest heading of ``level`` or above (## or #) at or above ``cells[index]``."""
    for earlier in range(index, -1, -1):
        if kind(cells[earlier]) == "markdown":
            found = [text for lvl, text in headings(source(cells[earlier])) if lvl <= level]
            if found:
                return found[-1]
    return ""
