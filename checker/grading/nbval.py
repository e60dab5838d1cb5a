"""nbval, made to fail exactly the cells whose checks fail.

Student workbooks tag every cell holding an exercise ``raises-exception`` (a stub raises until
it is written), and nbval never fails a cell with that tag.  This pytest hook turns it around
for grading: a code cell that calls ``check(...)`` must run without an exception, and every
other cell may raise (a cell that only *uses* an unfinished function is not a failed check).

Use it by putting a conftest.py next to the submissions (``python -m checker nbval-setup DIR``
writes one) or with ``pytest -p checker.grading.nbval --nbval-lax DIR``.

This path runs the checks inside the student's kernel, where the student's code could change
them, and runs that kernel *outside the sandbox*, as the user running pytest, with the full
``checker`` (reference and answers) importable: it is for quick feedback and CI on classes you
trust, not for grades that must hold against a hostile notebook — use ``python -m checker grade``.
"""
import re

CHECK_CALL = re.compile(r"^[ \t]*(?:[\w.]+\s*=\s*)?(?:checker\.)?check\(", re.MULTILINE)


def is_check_cell(source: str) -> bool:
    return bool(CHECK_CALL.search(source))


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        cell, options = getattr(item, "cell", None), getattr(item, "options", None)
        if cell is None or not isinstance(options, dict) or type(item).__name__ != "IPyNbCell":
            continue
        options["check_exception"] = not is_check_cell(cell.get("source", "") if hasattr(cell, "get") else "")
