"""Review flags (issue 13): only what a notebook does beyond the workbook's own cells, each naming its cell.

No kernel runs here: the flags are read from the notebook's file (checker/grading/review.py) against the
workbooks' own cells (checker/exercises/layout.json, which the build writes from solutions/).
"""
from __future__ import annotations

import copy
import json

import grade_fixtures as fx
import pytest

from checker.exercises import layout, registry, written
from checker.grading import cells
from checker.grading.review import KINDS, review_flags

WORKBOOKS = range(7)


def kinds_of(flags) -> list:
    return sorted(next(k for k, said in KINDS.items() if said in f) for f in flags)


def with_cell(source: str, number: int = 1) -> dict:
    return fx.insert_cell(fx.student(number), source)


@pytest.mark.parametrize("number", WORKBOOKS)
def test_every_solution_and_every_untouched_student_version_has_no_flag(number):
    workbook = f"wb{number:02d}"
    assert review_flags(fx.solution(number), workbook) == []
    assert review_flags(fx.student(number), workbook) == []
    # and the rules never fire on the workbook's own code even when it is read whole (an unknown workbook)
    assert review_flags(fx.solution(number), None) == []


@pytest.mark.parametrize("source, kind", [
    ("from checker import network", "reference"),
    ("import checker.network as net", "reference"),
    ("from checker.network import backward", "reference"),
    ("import checker\nd = checker.network.backward", "reference"),
    ("dz = network.sigmoid_grad(z)", "reference"),
    ("from checker.exercises import registry", "reference"),
    ("import checker\nentry = checker.exercises.registry()['wb01.grad_W3']", "reference"),
    ("import _checker_grader\n_checker_grader._checksum = lambda np, v: None", "reference"),
    ("right = table['wb01.shape_x'].answer()", "reference"),
    ("f = lookup('wb01.grad_W3')", "reference"),
    ("from checker.grading import run", "reference"),
    ("path = 'checker/exercises/wb01.py'", "reference"),
    ("m = __import__('chec' + 'ker.network')", "tricks"),
    ("import importlib\nm = importlib.import_module(name)", "tricks"),
    ("import inspect\nframe = inspect.currentframe().f_back", "tricks"),
    ("text = open('../bob/01_forward.ipynb').read()", "files"),
    ("from pathlib import Path\nhome = Path.home()", "files"),
    ("import os\nnames = os.listdir('.')", "folders"),
    ("import shutil\nshutil.rmtree('out')", "folders"),
    ("import os\nos.system('ls')", "processes"),
    ("!ls /", "processes"),
    ("%%bash\nls /", "processes"),
    ("import urllib.request", "network"),
    ("import sys\ndel sys.modules['numpy']", "sys.modules"),
    ("value = eval('1 + 1')", "code"),
    ("import sys\nsys.exit(0)", "exits"),
    ("raise SystemExit", "exits"),
    ("import numpy as np\nnp.allclose = lambda *a, **k: True", "patches"),
    ("import checker\nsetattr(checker, 'check', print)", "patches"),
])
def test_each_kind_of_behaviour_is_a_flag_that_names_the_cell_and_quotes_the_line(source, kind):
    flags = review_flags(with_cell(source), "wb01")     # the new cell comes right after the imports: cell 4
    assert kind in kinds_of(flags), flags
    mine = next(f for f in flags if KINDS[kind] in f)
    assert any(f"`{line.strip()}`" in mine for line in source.split("\n") if line.strip()), mine
    assert all(f.startswith("cell 4, the 3rd under ") and "a cell the student added" in f for f in flags), flags


@pytest.mark.parametrize("source", [
    "from checker import check, example, report\nimport checker",
    "ids = checker.exercises()",                                   # the public list of exercise ids
    "result = checker.evaluate('wb01.sigmoid', sigmoid)\nprint(result.passed)",
    "both = np.stack([a, b])\nbig = np.max(both, axis=0)",
    "ex = example('wb02')\ndh2 = ex.yours('dh2', grad_h2, ex.params['W3'], ex['dz3'])",
    "import matplotlib.pyplot as plt\nplt.rcParams['figure.figsize'] = (4, 3)",
    "with open('my-notes.txt', 'w') as f:\n    f.write('ok')",
    "answer = 3 / 4",
])
def test_honest_code_is_no_flag(source):
    assert review_flags(with_cell(source), "wb01") == []


def test_in_a_changed_workbook_cell_only_the_new_lines_are_read():
    nb = copy.deepcopy(fx.student(1))
    setup = next(c for c in nb["cells"] if c.get("id") == "setup-checker")
    setup["source"] = fx._source(setup) + "\nimport os\nos.system('ls')\n"   # beside its own subprocess, sys.modules
    flags = review_flags(nb, "wb01")
    assert kinds_of(flags) == ["processes"] and "a cell of the workbook, changed" in flags[0]
    assert "os.system('ls')" in flags[0] and "subprocess" not in flags[0]
    setup["source"] = "\n".join(fx._source(setup).split("\n")[:-4])             # lines taken away: nothing new
    assert review_flags(nb, "wb01") == []


def test_cells_that_lost_their_ids_are_recognised_by_their_source():
    nb = copy.deepcopy(fx.student(1))
    for cell in nb["cells"]:
        cell.pop("id", None)
    assert review_flags(nb, "wb01") == []
    nb["cells"][1]["source"] = fx._source(nb["cells"][1]) + "\nprint('changed')"   # the setup cell, changed, no id
    assert "processes" in kinds_of(review_flags(nb, "wb01"))                          # read whole: it is not known


def test_a_cell_is_named_as_jupyterlab_shows_it():
    notebook = [{"cell_type": "markdown", "source": "# Title"}, {"cell_type": "code", "source": "x = 1"},
                {"cell_type": "markdown", "source": "## 2. Part two\n### Question 2.1"},
                {"cell_type": "markdown", "source": "Some text"}, {"cell_type": "code", "source": "\n  y = 2  \nz"}]
    assert cells.locate(notebook, 1) == 'cell 2, the 1st under "Title" (`x = 1`)'
    assert cells.locate(notebook, 4) == 'cell 5, the 2nd under "Question 2.1" (`y = 2`)'
    assert cells.locate([{"cell_type": "code", "source": ""}], 0) == "cell 1, the 1st from the top (empty)"
    assert cells.section_of(notebook, 4) == "2. Part two"


def test_the_layout_is_the_builds_and_knows_every_item_of_every_workbook():
    build = fx.build
    assert layout.PATH.read_text(encoding="utf-8") == build.layout_text(), \
        "checker/exercises/layout.json is stale: run python tools/build_notebooks.py"
    for number in WORKBOOKS:
        workbook = f"wb{number:02d}"
        expected = {i for i in registry() if i.startswith(workbook + ".")} | set(written.of_workbook(workbook))
        assert set(layout.order(workbook)) == expected
        assert all(layout.section(i) for i in expected)
        student = json.loads(build.build_text(fx.solution_path(number)))
        own = layout.own_cells(workbook)
        assert all(own[c["id"]].unchanged(fx._source(c)) for c in student["cells"])


def test_a_notebook_of_many_flagged_cells_is_reviewed_in_time_and_its_flags_stay_few():
    """20,000 cells of `import subprocess` (a 32 MiB notebook holds 500,000): each flag named its cell by looking
    back through every cell above it (20,000 cells took 13 s, and a notebook of 500,000 past the grader's limit
    for one notebook on every run), and each was kept (a record too large to read back)."""
    import time

    from checker.grading.review import MAX_FLAGS
    nb = fx.student(1)
    nb["cells"] += [fx.code_cell("import subprocess") for _ in range(20_000)]
    nb["cells"] += [fx.code_cell("import subprocess\n" * 20_000)]   # one cell of 20,000 flagged lines
    start = time.monotonic()
    flags = review_flags(nb, "wb01")
    assert time.monotonic() - start < 5
    assert len(flags) == MAX_FLAGS + 1 and "the review stopped after" in flags[-1]
    first = len(fx.student(1)["cells"]) + 1
    assert flags[0].startswith(f"cell {first}, ") and KINDS["processes"] in flags[0]
    start = time.monotonic()
    assert len(review_flags(fx.insert_cell(fx.student(1), "import subprocess\n" * 200_000), "wb01")) == 1
    assert time.monotonic() - start < 10
