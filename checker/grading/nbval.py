"""nbval, made to fail exactly the cells whose checks fail, and to say which exercise and where.

Student workbooks tag every cell holding an exercise ``raises-exception`` (a stub raises until
it is written), and nbval never fails a cell with that tag.  This plugin turns it around for
grading: a code cell that calls ``check(...)`` must run without an exception, and every other
cell may raise (a cell that only *uses* an unfinished function is not a failed check).  Besides:

* each cell's test is named the way the grader and JupyterLab count cells (checker/grading/cells.py)
  with the exercises it checks — ``cell 78 [wb01.grad_W3]`` instead of nbval's ``Cell 24``, the
  24th code cell from 0 — and each failure starts with the cell's place, its first line, and why;
* a cell that runs past the cell timeout fails (nbval would let an interrupted cell that may raise
  pass), and when the interrupt brought the kernel back, the cells after it are run as usual
  instead of nbval's "expected to fail".

``python -m checker nbval-setup DIR`` writes DIR/pytest.ini, which loads this plugin with a cell
timeout (so ``pytest --nbval-lax DIR`` cannot hang on a notebook that loops or kills its kernel);
``pytest -p checker.grading.nbval --nbval-lax --nbval-cell-timeout=60 DIR`` does the same by hand.

This path runs the checks inside the student's kernel, where the student's code could change
them, and runs that kernel *outside the sandbox*, as the user running pytest, with the full
``checker`` (reference and answers) importable: it is for quick feedback and CI on classes you
trust, not for grades that must hold against a hostile notebook — use ``python -m checker grade``.
"""
import re

import pytest

from checker.grading import cells

CHECK_CALL = re.compile(r"^[ \t]*(?:[\w.]+\s*=\s*)?(?:checker\.)?check\(", re.MULTILINE)
CHECKED_ID = re.compile(r"(?:^|[^\w.])(?:checker\.)?check\(\s*[\"'](wb\d\d\.\w+)[\"']")
TIMED_OUT_REASON = "timed out"      # in the reason of the xfail mark nbval puts on the cells after a timeout


def is_check_cell(source: str) -> bool:
    return bool(CHECK_CALL.search(source))


def checked_ids(source: str) -> list:
    """The exercise ids a cell checks, in order."""
    return list(dict.fromkeys(CHECKED_ID.findall(source)))


def _is_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell" and getattr(item, "cell", None) is not None


def _where(item) -> tuple:
    """(cell number, place sentence) of an nbval item's cell, as checker/grading/cells.py names it."""
    notebook = getattr(item.parent, "nb", None)
    all_cells = list(getattr(notebook, "cells", []) or [])
    index = next((n for n, cell in enumerate(all_cells) if cell is item.cell), None)
    if index is None:
        return None, f"code cell {getattr(item, 'cell_num', '?')} (from 0)"
    return index + 1, cells.locate(all_cells, index)


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        if _is_cell(item) and isinstance(getattr(item, "options", None), dict):
            item.options["check_exception"] = not is_check_cell(cells.source(item.cell))


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    """A notebook's cells, each made again under the name ``cell N [ids]`` (the rule of cells.py)."""
    report = yield
    if type(collector).__name__ == "IPyNbFile" and report.outcome == "passed":
        report.result = [_renamed(item) for item in report.result]
    return report


def _renamed(item):
    if not _is_cell(item):
        return item
    number, _ = _where(item)
    if number is None:
        return item
    ids = checked_ids(cells.source(item.cell))
    name = f"cell {number}" + (f" [{', '.join(ids)}]" if ids else "")
    return type(item).from_parent(item.parent, name=name, cell_num=item.cell_num, cell=item.cell,
                                  options=item.options)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    result = yield
    if _is_cell(item) and getattr(item.parent, "kernel", None) is not None and item.parent.kernel.is_alive():
        # the interrupt brought the kernel back: the cells after a timeout run as usual
        item.own_markers[:] = [m for m in item.own_markers
                               if not (m.name == "xfail" and TIMED_OUT_REASON in str(m.kwargs.get("reason", "")))]
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    before = getattr(item.parent, "timed_out", False) if _is_cell(item) else False
    result = yield
    if _is_cell(item) and not before and getattr(item.parent, "timed_out", False):
        timeout = item.config.getoption("nbval_cell_timeout", default=None)
        pytest.fail(f"the cell did not finish within {timeout} s (--nbval-cell-timeout) and was interrupted",
                    pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if _is_cell(item) and report.failed and call.when == "call":
        _, where = _where(item)
        ids = checked_ids(cells.source(item.cell))
        text = str(report.longrepr)
        kernel = getattr(item.parent, "kernel", None)
        if kernel is not None and not kernel.is_alive():
            why = ("the kernel stopped in this cell (os._exit, exit(), a crash, or a cell that could not be "
                   "interrupted): the cells after it could not run")
        elif "did not finish within" in text or "Timeout of" in text:
            why = "the cell ran past the cell timeout"
        elif ids:
            why = f"the check of {', '.join(ids)} failed"
        else:
            why = "the cell raised an error"
        report.longrepr = f"{', '.join(ids) + ': ' if ids else ''}{where}: {why}.\n\n{text}"
    return report
