"""The class of tests/test_term.py: a term's worth of notebooks, made from solutions/ at run time.

    alice    workbooks 00 and 01, copies of the solutions           full marks, no flag
    bob      workbooks 00 and 01, untouched student versions        0, no flag
    carol    workbook 01: the student version with one planted behaviour per new cell (PLANTED), a line
             added to the workbook's imports cell, and a harmless line added to the setup cell
    erin     workbook 01, a copy of the solution                   graded, but not on the roster
    sybil  workbook 01: two answers written honestly              partial marks, no flag

The roster names alice, bob, carol and sybil, plus frank (who handed nothing in) and a row
without a folder name; erin is missing from it.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import grade_fixtures as fx

# kind of flag -> the new cell that earns it (each harmless when run, in the sandbox and out of it)
PLANTED = {
    "reference": "from checker import network\nbackward = network.backward",
    "files": "secret = open('/etc/hostname').read()",
    "processes": "import subprocess\nsubprocess.run(['true'])",
    "network": "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 9), timeout=0.2)\nexcept OSError:\n"
               "    pass",
    "sys.modules": "import sys\nsys.modules['json'] = sys.modules['json']",
    "tricks": "import ctypes",
    "code": "exec('x = 1')",
    "patches": "np.allclose = np.allclose",
    "exits": "def leave():\n    import os\n    os._exit(1)",
}
ADDED_TO_IMPORTS = "import glob\nnotebooks_here = glob.glob('*.ipynb')"     # a changed cell: flagged "folders"
ADDED_TO_SETUP = "print('setup done')"                                        # a changed cell: nothing to flag
ROSTER = [["student", "name", "email", "sis_id", "lms_id", "login_id", "section"],
          ["alice", "Alice Liddell", "alice@example.edu", "S001", "101", "aliddell", "A"],
          ["bob", "Bob Marley", "bob@example.edu", "S002", "102", "bmarley", "A"],
          ["carol", "Carol Danvers", "carol@example.edu", "S003", "103", "cdanvers", "B"],
          ["sybil", "Sybil Vane", "sybil@example.edu", "S005", "105", "svane", "B"],
          ["frank", "Frank Castle", "frank@example.edu", "S006", "106", "fcastle", "B"],
          ["", "Gina Nobody", "gina@example.edu", "S007", "107", "gnobody", "B"]]


def _append(cell, text: str) -> None:
    source = fx._source(cell)
    cell["source"] = source.rstrip("\n") + "\n" + text


def planted_wb01() -> dict:
    """carol's notebook: the student version, PLANTED cells after the imports, two workbook cells changed."""
    nb = fx.student(1)
    for kind in reversed(list(PLANTED)):
        nb = fx.insert_cell(nb, f"# planted: {kind}\n" + PLANTED[kind])
    nb = copy.deepcopy(nb)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    setup = next(c for c in code if c.get("id") == "setup-checker")
    imports = next(c for c in code if "import numpy as np" in fx._source(c) and c is not setup)
    _append(setup, ADDED_TO_SETUP)
    _append(imports, ADDED_TO_IMPORTS)
    return nb


def honest_wb01() -> dict:
    nb = fx.set_answer(fx.student(1), "shape_x", "(1024,)")
    return fx._stub_body(nb, "grad_b3", "return dz3.copy()")


def generate(folder: Path) -> dict:
    """Write the class under ``folder``; {student: [paths]}."""
    made = {
        "alice": [(0, lambda: fx.solution(0)), (1, lambda: fx.solution(1))],
        "bob": [(0, lambda: fx.student(0)), (1, lambda: fx.student(1))],
        "carol": [(1, planted_wb01)],
        "erin": [(1, lambda: fx.solution(1))],
        "sybil": [(1, honest_wb01)],
    }
    return {name: [fx.write(make(), folder, name, number) for number, make in notebooks]
            for name, notebooks in made.items()}


def cell_number(path: Path, starts: str) -> int:
    """The number (every cell counted from 1) of the first cell of a notebook whose source starts so."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return next(n for n, c in enumerate(cells, start=1) if fx._source(c).startswith(starts))
