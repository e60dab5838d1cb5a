"""Run a student notebook as a student would, and the one rule every such run must keep.

Shared by tests/test_notebooks.py (a generic wrong function per section, for every workbook) and the
workbook tests that try their own realistic mistakes: ``with_mistakes`` puts wrong bodies into stubs
(by cell id) and answers into ``name = ...`` lines, ``execute`` runs Run All in a fresh kernel, and
``stops_in_one_place`` asserts that a wrong or unfinished answer stops in its own check cell only.
"""
from __future__ import annotations

import copy
from pathlib import Path

from nbclient import NotebookClient

STUB = 'raise NotImplementedError("Replace this line with your code.")'
CELL_TIMEOUT = 600   # generous: CI runs notebooks two at a time beside a browser
GOES_ON = "this cell goes on with"


def execute(nb, folder: Path):
    """The notebook after Run All in a fresh python3 kernel, cwd ``folder`` (errors recorded, not raised)."""
    nb = copy.deepcopy(nb)
    NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT, allow_errors=True, record_timing=False,
                   resources={"metadata": {"path": str(folder)}}).execute()
    return nb


def with_mistakes(nb, bodies: dict, answers: dict):
    """A copy of a student notebook with ``bodies`` (cell id -> code) in place of the stubs of those cells
    and ``answers`` (name -> source of a value) in place of ``name = ...  # your answer``."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.get("id") in bodies:
            assert STUB in cell.source, f"cell {cell.get('id')} has no stub"
            cell.source = cell.source.replace(STUB, bodies[cell.get("id")])
        for name, value in answers.items():
            cell.source = cell.source.replace(f"{name} = ...  # your answer", f"{name} = {value}")
    return nb


def stream_text(cell) -> str:
    return "".join(out.get("text", "") for out in cell.get("outputs", []) if out.output_type == "stream")


def stops_in_one_place(nb) -> dict:
    """Assert that only check cells (tagged raises-exception) raised, each its one-line error, and that
    every other cell printed at most one "goes on with" line and no traceback; cell id -> printed text."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        errors = [out for out in cell.outputs if out.output_type == "error"]
        if "raises-exception" in cell.metadata.get("tags", []):
            assert [e.ename for e in errors] in ([], ["CheckFailed"], ["NotImplementedYet"]), (cell.id, errors)
            continue
        assert not errors, (cell.id, [e.ename for e in errors])
        text = stream_text(cell)
        assert sum(GOES_ON in line for line in text.splitlines()) <= 1, (cell.id, text)
        assert "Traceback" not in text and "AssertionError" not in text, cell.id
    return {cell.id: stream_text(cell) for cell in nb.cells if cell.cell_type == "code"}
