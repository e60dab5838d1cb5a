"""Every workbook in solutions/ and its student version in notebooks/, run as a student runs them.

Each notebook is run three times, each run in its own test class (so that ``pytest -n auto --dist
loadscope`` spreads the runs over the workers), and every test of a class reads the same run:

* the solution: runs clean and scores full marks;
* the student version as built, every stub unfinished ("run (a)"): Run All reaches the end; the only
  cells with errors are the check cells tagged ``raises-exception``, each with the one line of
  NotImplementedYet; no cell shows a traceback; no output shows the answer to a graded number of the
  workbook or the right letter of a choice;
* the student version with one realistic wrong function per section ("run (b)": in one stub per
  section of level 2, the solution's function with its value doubled, or transposed where it is a
  non-square matrix): Run All reaches the end, each of those check cells fails with CheckFailed, every
  other check cell says "not implemented yet", and no other cell shows an error or a traceback (the
  cells that go on with the example say so in one line).

Module-level tests: the student versions are current, and both versions are well-formed.
New workbooks are picked up automatically.
"""
import copy
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
from student_runs import execute

from checker.exercises import Question, registry

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "tools" / "build_notebooks.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

SOLUTIONS = sorted(build.SOLUTIONS.glob("*.ipynb"))
NAMES = [path.name for path in SOLUTIONS]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
REPORT = re.compile(r"^Workbook (\S+): ([\d.]+)/([\d.]+) points", re.MULTILINE)
TRACEBACK = "Traceback (most recent call last)"
SECTION = re.compile(r"^## \S", re.MULTILINE)
_runs = {}


def workbook_id(name: str) -> str:
    """'01_forward_pass….ipynb' -> 'wb01'."""
    return "wb" + name.split("_", 1)[0]


def run(kind: str, name: str):
    """The run ``kind`` ('solution', 'student', 'wrong') of notebook ``name``, executed once per worker."""
    if (kind, name) not in _runs:
        solution = build.SOLUTIONS / name
        student = build.NOTEBOOKS / name
        assert student.exists(), f"{student} is missing; run tools/build_notebooks.py"
        if kind == "solution":
            _runs[kind, name] = execute(nbformat.read(solution, as_version=4), solution.parent), set()
        elif kind == "student":
            _runs[kind, name] = execute(nbformat.read(student, as_version=4), student.parent), set()
        else:
            nb, wrong = with_wrong_functions(nbformat.read(student, as_version=4),
                                             nbformat.read(solution, as_version=4), workbook_id(name))
            _runs[kind, name] = execute(nb, student.parent), wrong
    return _runs[kind, name]


# --- run (b): one wrong function per section ------------------------------------------------------

WRONG = '''
_right_{name} = {name}


def {name}(*args, **kwargs):   # a realistic mistake: the right value doubled, or transposed
    def wrong(value):
        import numpy
        if isinstance(value, dict):
            return {{key: wrong(item) for key, item in value.items()}}
        value = numpy.asarray(value)
        return value.T if value.ndim == 2 and value.shape[0] != value.shape[1] else 2 * value
    return wrong(_right_{name}(*args, **kwargs))
'''


def with_wrong_functions(student, solution, workbook: str, entries=None):
    """(the student notebook with one wrong function per section of level 2, the ids of those cells).

    Per section, the first graded function whose solution calls no other graded function (so that
    only its own mistake shows): its stub cell gets the solution's code with the wrapper WRONG after
    the function.
    """
    entries = registry() if entries is None else entries
    graded = build.graded_functions(solution, workbook, entries)
    names = {entry.name for _, entry, _, _ in graded}
    usable = {cell_id: function for cell_id, entry, function, region in graded
              if not any(n in names - {entry.name} for s in region for n in build._names(s))}
    solution_source = {cell.get("id"): cell.source for cell in solution.cells}
    nb, wrong, section_done = copy.deepcopy(student), set(), False
    for cell in nb.cells:
        if cell.cell_type == "markdown" and SECTION.search(cell.source):
            section_done = False
        elif cell.get("id") in usable and not section_done:
            function = usable[cell.get("id")]
            lines = solution_source[cell.get("id")].split("\n")
            lines.insert(function.end_lineno, WRONG.format(name=function.name))
            cell.source, section_done = "\n".join(lines), True
            wrong.add(cell.get("id"))
    return nb, wrong


# --- what the runs must show ---------------------------------------------------------------------

def errors(cell):
    return [out for out in cell.get("outputs", []) if out.output_type == "error"]


def error_text(out) -> str:
    return ANSI.sub("", f"{out.ename}: {out.evalue}\n" + "\n".join(out.traceback))


DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+")   # an embedded figure: bytes, not text


def output_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("display_data", "execute_result"):
            parts += [DATA_URI.sub("", str(out.data[mime])) for mime in ("text/plain", "text/html") if mime in out.data]
        elif out.output_type == "error":
            parts.append(error_text(out))
    return ANSI.sub("", "\n".join(parts))


def tagged(nb) -> set:
    return {cell.get("id") for cell in nb.cells if "raises-exception" in cell.metadata.get("tags", [])}


def run_problems(nb, expected: dict) -> list[str]:
    """What is wrong with a Run All: ``expected`` maps each cell id that must fail to its error's name;
    every other cell must run without an error and without a traceback; the last cell must have run."""
    problems = []
    if nb.cells and nb.cells[-1].cell_type == "code" and nb.cells[-1].get("execution_count") is None:
        problems.append("Run All did not reach the last cell")
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell_id, errs = cell.get("id"), errors(cell)
        want = expected.get(cell_id)
        if want is None and errs:
            problems.append(f"cell {cell_id!r} (not a failing check) shows an error: {error_text(errs[0])[:500]}")
        elif want is not None and not errs:
            problems.append(f"cell {cell_id!r} should fail with {want} but ran through")
        elif want is not None:
            got = errs[0]
            if got.ename != want or len(got.traceback) != 1:
                problems.append(f"cell {cell_id!r} should fail with the one line of {want}, but shows "
                                f"{error_text(got)[:500]}")
        if TRACEBACK in output_text(cell) and not (want and errs and errs[0].ename == want):
            problems.append(f"cell {cell_id!r} prints a traceback")
    return problems


ANSWER_LIKE = ('{name}\\s*=\\s*["\']{letter}["\']',
               '(?i)\\banswer\\b(?:\\s+is)?\\W{{0,6}}(?:\\({letter}\\)|["\']{letter}["\'])',
               '\\({letter}\\)\\s+is\\s+(?:right|correct)', '(?i)\\bcorrect\\b[^\\n]{{0,20}}\\({letter}\\)')


def answers_shown(nb, workbook: str, entries=None) -> list[str]:
    """Outputs that show the answer to a graded number (the integer, or 3 or more significant digits) or
    the right letter of a choice in an answer-like form (``choice_x = "b"``, "answer: (b)")."""
    entries = registry() if entries is None else entries
    questions = [q for i, q in entries.items() if i.startswith(workbook + ".") and isinstance(q, Question)]
    numbers = [(q, build._value_forms(q)) for q in questions if q.kind == "number"]
    letters = [(q, [re.compile(p.format(name=re.escape(q.name), letter=q.answer())) for p in ANSWER_LIKE])
               for q in questions if q.kind == "choice"]
    shown = []
    for cell in nb.cells:
        text = output_text(cell) if cell.cell_type == "code" else ""
        for q, forms in numbers:
            found = build.mentions(text, forms)
            if found:
                shown.append(f"cell {cell.get('id')!r} shows {found}, the answer to {q.id}")
        for q, patterns in letters:
            if any(p.search(text) for p in patterns):
                shown.append(f"cell {cell.get('id')!r} shows the right letter of {q.id}")
    return shown


def report_output(nb):
    """(workbook, score, max score, full text) of the report in the notebook's last cell."""
    last = nb.cells[-1]
    texts = [out.data["text/plain"] for out in last.get("outputs", [])
             if out.output_type in ("display_data", "execute_result") and "text/plain" in out.get("data", {})]
    for text in texts:
        match = REPORT.search(text)
        if match:
            return match.group(1), float(match.group(2)), float(match.group(3)), text
    raise AssertionError(f"the last cell shows no report; its outputs: {texts}")


def lines(problems) -> str:
    return "\n".join(["", *problems])


# --- the three runs of every notebook: one class each --------------------------------------------

class SolutionRun:
    name = ""

    def test_solution_runs_clean_and_scores_full_marks(self):
        nb, _ = run("solution", self.name)
        assert not run_problems(nb, {}), lines(run_problems(nb, {}))
        workbook, score, max_score, text = report_output(nb)
        assert workbook == workbook_id(self.name)
        assert score == max_score > 0 and "✗" not in text, text


class StudentRun:
    """Run (a): the student version as built."""
    name = ""

    def test_only_the_check_cells_fail_each_in_one_line_and_run_all_reaches_the_end(self):
        nb, _ = run("student", self.name)
        stubs = tagged(nb)
        assert stubs, "the student notebook has no exercises"
        problems = run_problems(nb, {cell_id: "NotImplementedYet" for cell_id in stubs})
        assert not problems, lines(problems)

    def test_no_output_shows_an_answer(self):
        nb, _ = run("student", self.name)
        shown = answers_shown(nb, workbook_id(self.name))
        assert not shown, lines(shown)

    def test_the_setup_cell_only_prints_that_the_checker_is_ready(self):
        import checker
        nb, _ = run("student", self.name)
        setup = next(cell for cell in nb.cells if cell.cell_type == "code")
        assert setup.id == build.setup_cell_template.CELL_ID
        assert [(out.output_type, out.get("text")) for out in setup.outputs] == [
            ("stream", f"checker {checker.__version__} ready (local install)\n")]

    def test_scores_nothing_as_shipped(self):
        workbook, score, max_score, text = report_output(run("student", self.name)[0])
        assert workbook == workbook_id(self.name)
        assert score == 0 and max_score > 0, text


class WrongRun:
    """Run (b): one realistic wrong function per section."""
    name = ""

    def test_a_wrong_function_stops_in_its_own_check_and_nowhere_else(self):
        nb, wrong = run("wrong", self.name)
        assert wrong, "no section has a graded function to get wrong"
        expected = {cell_id: "NotImplementedYet" for cell_id in tagged(nb)}
        expected.update({cell_id: "CheckFailed" for cell_id in wrong})
        problems = run_problems(nb, expected)
        assert not problems, lines(problems)


for _name in NAMES:
    for _kind in (SolutionRun, StudentRun, WrongRun):
        _title = f"Test{_kind.__name__}{_name[:2]}"
        globals()[_title] = type(_title, (_kind,), {"name": _name, "__doc__": f"{_kind.__doc__ or ''} {_name}"})


# --- module level: cheap checks of the files ---------------------------------------------------------

def test_there_are_workbooks():
    assert SOLUTIONS, f"no solution notebooks in {build.SOLUTIONS}"


def test_notebooks_has_no_extra_notebooks():
    extra = sorted(set(p.name for p in build.NOTEBOOKS.glob("*.ipynb")) - set(NAMES))
    assert not extra, f"notebooks/ has notebooks without a solution: {extra}; run tools/build_notebooks.py"


@pytest.mark.parametrize("name", NAMES)
def test_student_notebook_is_current(name):
    target = build.NOTEBOOKS / name
    assert target.exists(), f"{target} is missing; run tools/build_notebooks.py"
    assert target.read_text(encoding="utf-8") == build.build_text(build.SOLUTIONS / name), (
        f"{target} is stale; run tools/build_notebooks.py")


def markdown_headings(nb):
    """(level, text) of every markdown heading, skipping fenced code blocks."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        fenced = False
        for line in cell.source.splitlines():
            if line.lstrip().startswith(("```", "~~~")):
                fenced = not fenced
            match = None if fenced else re.match(r"^(#{1,6})\s+(\S.*)$", line)
            if match:
                out.append((len(match.group(1)), match.group(2)))
    return out


@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
@pytest.mark.parametrize("name", NAMES)
def test_structure(name, folder):
    path = ROOT / folder / name
    if not path.exists():
        pytest.skip(f"{path} not built")
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"

    headings = markdown_headings(nb)
    assert [level for level, _ in headings].count(1) == 1 and headings[0][0] == 1, (
        f"exactly one H1, first: {headings[:3]}")
    for (prev, _), (level, text) in zip(headings, headings[1:], strict=False):   # each with the next one
        assert level <= prev + 1, f"heading {text!r} skips from level {prev} to {level}"

    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for alt in re.findall(r"!\[([^\]]*)\]\(", cell.source):
                assert alt.strip(), f"cell {cell.id}: a markdown image without alt text"
            for tag in re.findall(r"<img\b[^>]*>", cell.source, flags=re.IGNORECASE):
                assert re.search(r"""\balt\s*=\s*["'][^"']+["']""", tag), f"cell {cell.id}: {tag} has no alt"

    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    if folder == "notebooks":  # the build's setup cell comes first, then the workbook's own imports
        setup, *code = code
        expected = build.setup_cell(*build.settings())
        assert setup.id == expected.id and setup.source == expected.source
        assert setup.metadata == expected.metadata, "the setup cell is shown collapsed"
    else:
        assert all("slideshow" in cell.metadata for cell in nb.cells), "slide metadata missing"
    assert "import numpy as np" in code[0].source
    assert re.search(r"from checker import .*\bcheck\b", code[0].source)
    assert nb.cells[-1].source.strip() == f'report("{workbook_id(name)}", globals())'

    answer_ids = [cell.metadata["checker"]["answer_id"] for cell in nb.cells
                  if "written-answer" in cell.metadata.get("tags", [])]
    assert len(answer_ids) == len(set(answer_ids)), f"duplicate answer ids: {answer_ids}"
    assert all(a.startswith(workbook_id(name) + ".") for a in answer_ids), answer_ids


# --- the checks above, on a small workbook that keeps the rules and on one that breaks them ----------

def _small_workbook(*extra):
    """A solution notebook of three graded functions and two questions of workbook 01, in two sections,
    whose confirm cells go on with stored values when a function is unfinished or wrong."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
    choice = registry()["wb01.softmax_shift"]
    cells = [
        new_markdown_cell("# A small workbook"),
        new_markdown_cell("## 1. The logits"),
        new_code_cell(
            "import numpy as np\nfrom checker import check, report\n\n"
            "def go_on(name, fn, *args, stored):\n"
            "    try:\n        value = fn(*args)\n    except NotImplementedError:\n"
            "        print(f'{fn.__name__} is not done yet; this cell goes on with the stored {name}.')\n"
            "        return stored\n"
            "    if not np.allclose(value, stored):\n"
            "        print(f'{fn.__name__} is not right yet; this cell goes on with the stored {name}.')\n"
            "        return stored\n"
            "    return value\n\n"
            "h3, y, h2 = np.array([0.2, 0.3, 0.5]), np.array([0.0, 1.0, 0.0]), np.array([0.5, 0.25])\n"
            "STORED = {'dz3': np.array([0.2, -0.7, 0.5])}"),
        new_code_cell("def grad_z3(h3, y):\n    ### BEGIN SOLUTION\n    return h3 - y\n    ### END SOLUTION\n\n"
                      "check('wb01.grad_z3', grad_z3)"),
        new_code_cell("dz3 = go_on('dz3', grad_z3, h3, y, stored=STORED['dz3'])\n"
                      "print('sums to zero:', bool(np.isclose(dz3.sum(), 0.0)))"),
        new_markdown_cell("The cross-entropy of a uniform guess over 10 classes?"),
        new_code_cell("### BEGIN SOLUTION\nce_uniform = 2.302585092994046\n### END SOLUTION\n"
                      "check('wb01.ce_uniform', ce_uniform)"),
        new_code_cell("print('agrees with -log(1/10):', "
                      "ce_uniform is not ... and bool(np.isclose(ce_uniform, np.log(10))))"),
        new_markdown_cell("## 2. The last layer"),
        new_code_cell("def grad_W3(h2, dz3):\n    ### BEGIN SOLUTION\n    return np.outer(h2, dz3)\n"
                      "    ### END SOLUTION\n\ncheck('wb01.grad_W3', grad_W3)"),
        new_code_cell("def grad_b3(dz3):\n    ### BEGIN SOLUTION\n    return dz3.copy()\n    ### END SOLUTION\n\n"
                      "check('wb01.grad_b3', grad_b3)"),
        new_markdown_cell("<!-- choices: wb01.softmax_shift -->\n" + build.option_lines(choice)
                          + "\n<!-- end choices -->"),
        new_code_cell(f"### BEGIN SOLUTION\nsoftmax_shift = {choice.answer()!r}\n### END SOLUTION\n"
                      "check('wb01.softmax_shift', softmax_shift)"),
        *extra,
        new_code_cell('report("wb01", globals())'),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = dict(build.KERNELSPEC)
    return nb


def _small_runs(tmp_path, *extra):
    solution = _small_workbook(*extra)
    student = build.strip_solutions(solution)
    a = execute(student, tmp_path)
    nb_b, wrong = with_wrong_functions(student, solution, "wb01")
    return a, execute(nb_b, tmp_path), wrong


def test_the_runs_pass_a_workbook_that_keeps_the_rules(tmp_path):
    a, b, wrong = _small_runs(tmp_path)
    stubs = tagged(a)
    assert len(stubs) == 5 and len(wrong) == 2          # one wrong function in each of the two sections
    assert run_problems(a, {cell_id: "NotImplementedYet" for cell_id in stubs}) == []
    assert answers_shown(a, "wb01") == []
    assert run_problems(b, {**{cell_id: "NotImplementedYet" for cell_id in stubs},
                            **{cell_id: "CheckFailed" for cell_id in wrong}}) == []
    said = [output_text(cell) for cell in b.cells if "not right yet" in output_text(cell)]
    assert said == ["grad_z3 is not right yet; this cell goes on with the stored dz3.\nsums to zero: True\n"]


def test_the_runs_catch_a_traceback_a_shown_answer_and_a_right_letter(tmp_path):
    from nbformat.v4 import new_code_cell
    letter = registry()["wb01.softmax_shift"].answer()
    a, b, wrong = _small_runs(tmp_path, new_code_cell("print(grad_b3(dz3))"),
                              new_code_cell("print(np.log(10))"),
                              new_code_cell(f"print('the answer is ({letter})')"))
    stubs = tagged(a)
    problems = run_problems(a, {cell_id: "NotImplementedYet" for cell_id in stubs})
    assert len(problems) == 2 and "NotImplementedError" in problems[0] and "prints a traceback" in problems[1]
    shown = answers_shown(a, "wb01")
    assert len(shown) == 2 and "2.302585092994046, the answer to wb01.ce_uniform" in shown[0]
    assert "the right letter of wb01.softmax_shift" in shown[1]
