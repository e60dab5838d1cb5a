"""Where things are in each workbook: its items in notebook order with their sections, and its own cells.

``layout.json`` beside this file is written by ``tools/build_notebooks.py`` from ``solutions/``
(``--check`` fails when it is stale), so it travels with the package:

    order("wb02")                 graded ids and written-answer ids, in the order of the notebook
    sort_ids(ids)                 any ids in that order (unknown ids last, as given)
    section("wb02.grad_W2")       the notebook section ("## 6. …") the item is answered in
    own_cells("wb02")             cell id -> OwnCell: the workbook's own cells, student version and solution
    title("wb02")                 the workbook's title (its first heading)

A cell of a submitted notebook is *the workbook's own* when its id is one of these and its source,
normalised by ``digest``, is the student version's or the solution's; the review flags of the grader
(checker/grading/review.py) look only at what is not (``OwnCell.lines`` says which lines of a changed
cell were the workbook's).  Nothing here is an answer: digests of cells and section names only.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

PATH = Path(__file__).resolve().with_name("layout.json")
VERSION = 1


def normalise(text: str) -> str:
    """A cell's source as compared: line endings unified, each line's trailing blanks and the cell's
    leading and trailing blank lines dropped (editors differ in those, students' work does not)."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


def digest(text: str) -> str:
    """The digest a cell's source is recognised by (96 bits of SHA-256 of the normalised text)."""
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()[:24]


def line_digest(line: str) -> str:
    """A line's digest, its indentation and trailing blanks ignored (32 bits: one cell's lines are few)."""
    return hashlib.sha256(line.strip().encode("utf-8")).hexdigest()[:8]


@dataclass(frozen=True)
class OwnCell:
    kind: str
    digests: frozenset   # of the student version's source and the solution's
    lines: frozenset     # line digests of both versions (code cells)

    def unchanged(self, text: str) -> bool:
        return digest(text) in self.digests

    def own_line(self, line: str) -> bool:
        return line_digest(line) in self.lines


@functools.lru_cache(maxsize=1)
def _data() -> dict:
    try:
        data = json.loads(PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data.get("workbooks", {}) if isinstance(data, dict) and data.get("version") == VERSION else {}


def workbooks() -> list:
    return sorted(_data())


def title(workbook: str) -> str:
    return _data().get(workbook, {}).get("title", "")


@functools.lru_cache(maxsize=None)
def order(workbook: str) -> tuple:
    return tuple(item for item, _ in _data().get(workbook, {}).get("items", []))


@functools.lru_cache(maxsize=None)
def _sections() -> dict:
    return {item: where for book in _data().values() for item, where in book.get("items", [])}


def section(item_id: str) -> str:
    return _sections().get(item_id, "")


def sort_ids(ids) -> list:
    """``ids`` in notebook order: by workbook, then by place in the notebook; unknown ids after their
    workbook's known ones, in the order given."""
    ids = list(ids)
    given = {item: n for n, item in enumerate(ids)}

    def key(item):
        workbook = item.split(".", 1)[0]
        place = order(workbook)
        return workbook, (place.index(item) if item in place else len(place) + given[item])
    return sorted(ids, key=key)


@functools.lru_cache(maxsize=None)
def own_cells(workbook: str) -> dict:
    return {cell_id: OwnCell(entry.get("kind", ""), frozenset(entry.get("digests", [])),
                             frozenset(entry.get("lines", [])))
            for cell_id, entry in _data().get(workbook, {}).get("cells", {}).items()}


def text(layouts: dict) -> str:
    """layout.json's text for ``layouts`` (workbook -> {file, title, items, cells}), as the build writes it:
    one line per item and per cell, so that a changed cell changes one line."""
    def dump(value) -> str:
        return json.dumps(value, ensure_ascii=False)

    def block(rows: list) -> str:
        return ",\n".join(rows)

    books = []
    for workbook, book in sorted(layouts.items()):
        items = block([f"   {dump(item)}" for item in book["items"]])
        own = block([f"   {dump(cell_id)}: {dump(entry)}" for cell_id, entry in book["cells"].items()])
        books.append(f' {dump(workbook)}: {{"file": {dump(book["file"])}, "title": {dump(book["title"])},\n'
                     f'  "items": [\n{items}],\n  "cells": {{\n{own}}}}}')
    return f'{{"version": {VERSION}, "workbooks": {{\n{block(books)}}}}}\n'


def clear_cache() -> None:
    for cached in (_data, order, _sections, own_cells):
        cached.cache_clear()
