"""The build (tools/build_notebooks.py) on small in-memory notebooks."""
import ast
import importlib.util
import json
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from checker.exercises import Exercise, Question, registry

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "tools" / "build_notebooks.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

STUB = 'raise NotImplementedError("Replace this line with your code.")'


def code(source, **metadata):
    cell = new_code_cell(source, metadata=metadata)
    cell.outputs = [new_output("stream", name="stdout", text="solution output\n")]
    cell.execution_count = 7
    return cell


def written_answer(source, answer_id="wb99.q_why"):
    return new_markdown_cell(source, metadata={"tags": ["written-answer"],
                                               "checker": {"answer_id": answer_id}})


def notebook(*cells):
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


FUNCTION_CELL = '''def grad_b3(dz3):
    """dz3: (10,) -> (10,)."""
    ### BEGIN SOLUTION
    db3 = dz3.copy()
    return db3
    ### END SOLUTION

check("wb99.grad_b3", grad_b3)'''

ANSWER_CELL = '''### BEGIN SOLUTION
shape_W2 = (512, 256)
shape_b2 = (
    256,
)
### END SOLUTION
check("wb99.shape_W2", shape_W2)'''


def test_function_body_becomes_a_raise_at_the_same_indentation():
    student = build.strip_solutions(notebook(code(FUNCTION_CELL))).cells[0]
    assert student.source == (
        'def grad_b3(dz3):\n'
        '    """dz3: (10,) -> (10,)."""\n'
        f'    {STUB}\n'
        '\n'
        'check("wb99.grad_b3", grad_b3)')
    compile(student.source, "<cell>", "exec")  # still valid Python


def test_top_level_assignments_become_ellipsis_answers():
    student = build.strip_solutions(notebook(code(ANSWER_CELL))).cells[0]
    assert student.source.splitlines() == [
        "shape_W2 = ...  # your answer",
        "shape_b2 = ...  # your answer",
        'check("wb99.shape_W2", shape_W2)',
    ]


@pytest.mark.parametrize("region", [
    "x = 1\nprint(x)",          # not only assignments
    "a, b = 1, 2",               # tuple target
    "W[0] = 1",                  # subscript target
    "for i in range(3):\n    pass",
])
def test_top_level_region_that_is_not_plain_assignments_becomes_a_raise(region):
    source = f"### BEGIN SOLUTION\n{region}\n### END SOLUTION\nprint('after')"
    student = build.strip_solutions(notebook(code(source))).cells[0]
    assert student.source == f"{STUB}\nprint('after')"


def test_assignments_inside_a_function_still_become_a_raise():
    source = "def f():\n    ### BEGIN SOLUTION\n    y = 2\n    ### END SOLUTION\n    return y"
    student = build.strip_solutions(notebook(code(source))).cells[0]
    assert student.source == f"def f():\n    {STUB}\n    return y"


def test_several_regions_in_one_cell_are_all_replaced():
    source = ("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n\n"
              "def g():\n        ### BEGIN SOLUTION\n        return 2\n        ### END SOLUTION")
    student = build.strip_solutions(notebook(code(source))).cells[0]
    assert student.source == f"def f():\n    {STUB}\n\ndef g():\n        {STUB}"
    assert "return" not in student.source


def test_cells_with_a_solution_get_raises_exception_and_others_do_not():
    nb = notebook(code(FUNCTION_CELL, tags=["keep-me"]), code("print('demo')"))
    solution_cell, demo_cell = build.strip_solutions(nb).cells
    assert solution_cell.metadata["tags"] == ["keep-me", "raises-exception"]
    assert "raises-exception" not in demo_cell.metadata.get("tags", [])
    assert demo_cell.source == "print('demo')"


def test_markdown_answer_is_replaced_and_its_tag_and_id_kept():
    source = ("**Why is the gradient h3 - y?**\n\n<!-- BEGIN SOLUTION -->\n"
              "Because the softmax Jacobian cancels the 1/h3.\n<!-- END SOLUTION -->\n\nNext.")
    student = build.strip_solutions(notebook(written_answer(source))).cells[0]
    assert student.source == "**Why is the gradient h3 - y?**\n\n*Your answer here.*\n\nNext."
    assert student.metadata["tags"] == ["written-answer"]
    assert student.metadata["checker"] == {"answer_id": "wb99.q_why"}


def test_markdown_answer_without_tag_or_id_is_refused():
    cell = new_markdown_cell("<!-- BEGIN SOLUTION -->\nsecret\n<!-- END SOLUTION -->")
    with pytest.raises(ValueError, match="written-answer"):
        build.strip_solutions(notebook(cell))


@pytest.mark.parametrize("source", [
    "### BEGIN SOLUTION\nx = 1",                       # never closed
    "x = 1\n### END SOLUTION",                          # never opened
    "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
])
def test_broken_code_markers_are_refused_with_the_cell_named(source):
    with pytest.raises(ValueError, match="cell 0"):
        build.strip_solutions(notebook(code(source)))


def test_outputs_counts_timing_and_widget_state_are_cleared():
    nb = notebook(code("print(1)", execution={"iopub.status.busy": "2024-01-01T00:00:00Z"}))
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.metadata["kernelspec"] = {"name": "someone-elses-venv", "display_name": "x", "language": "python"}
    student = build.strip_solutions(nb)
    cell = student.cells[0]
    assert cell.outputs == [] and cell.execution_count is None
    assert "execution" not in cell.metadata
    assert "widgets" not in student.metadata
    assert student.metadata["kernelspec"]["name"] == "python3"
    nbformat.validate(student)


def test_solution_notebook_is_not_modified_and_ids_are_kept():
    nb = notebook(new_markdown_cell("# Title"), code(FUNCTION_CELL), code(ANSWER_CELL))
    before = json.dumps(nb, sort_keys=True)
    student = build.strip_solutions(nb)
    assert json.dumps(nb, sort_keys=True) == before
    assert [c.id for c in student.cells] == [c.id for c in nb.cells]


def test_build_is_deterministic_on_disk(tmp_path):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    nbformat.write(notebook(code(FUNCTION_CELL)), solutions / "01_x.ipynb")
    assert build.build_text(solutions / "01_x.ipynb") == build.build_text(solutions / "01_x.ipynb")


README = """# Title

Set up and open:

```bash
first command
```

Set up and test:

```bash
second command
```

The rest of the README.
"""
PYPROJECT = """[project]
name = "backprop-checker"
version = "0.1.0"

[tool.backprop-workbooks]
repository = "https://github.com/someone/bw"
branch = "main"
"""


def paths(tmp_path):
    return ["--solutions", str(tmp_path / "solutions"), "--notebooks", str(tmp_path / "notebooks"),
            "--readme", str(tmp_path / "README.md"), "--pyproject", str(tmp_path / "pyproject.toml")]


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A solutions/ with two notebooks, a README and a pyproject.toml, and a freshly built notebooks/.

    The series' choice questions are left out: these two notebooks hold none of them.
    """
    monkeypatch.setattr(build, "choice_questions", dict)
    # the stored examples are this checkout's: building another solutions/ must never write them
    monkeypatch.setattr(build, "write_examples", lambda: pytest.fail("a build of another solutions/ wrote "
                                                                    "checker/examples"))
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    solutions.mkdir()
    (tmp_path / "README.md").write_text(README)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    nbformat.write(notebook(code(FUNCTION_CELL)), solutions / "01_a.ipynb")
    nbformat.write(notebook(code(ANSWER_CELL)), solutions / "02_b.ipynb")
    assert build.main(paths(tmp_path)) == 0
    return solutions, notebooks


def run_check(solutions, notebooks):
    return build.main(["--check", *paths(solutions.parent)])


def test_check_passes_right_after_a_build(tree, capsys):
    assert sorted(p.name for p in tree[1].iterdir()) == ["01_a.ipynb", "02_b.ipynb"]
    assert run_check(*tree) == 0


def test_check_catches_a_stale_notebook_and_writes_nothing(tree, capsys):
    solutions, notebooks = tree
    nb = nbformat.read(solutions / "01_a.ipynb", as_version=4)
    nb.cells.append(new_markdown_cell("A new paragraph."))
    nbformat.write(nb, solutions / "01_a.ipynb")
    before = (notebooks / "01_a.ipynb").read_text()
    assert run_check(solutions, notebooks) == 1
    err = capsys.readouterr().err
    assert "01_a.ipynb: stale" in err and "02_b" not in err
    assert (notebooks / "01_a.ipynb").read_text() == before


def test_check_catches_a_missing_notebook(tree, capsys):
    (tree[1] / "02_b.ipynb").unlink()
    assert run_check(*tree) == 1
    assert "02_b.ipynb: missing" in capsys.readouterr().err


def test_check_catches_an_extra_notebook_and_the_build_removes_it(tree, capsys):
    solutions, notebooks = tree
    nbformat.write(notebook(code("1")), notebooks / "99_orphan.ipynb")
    assert run_check(solutions, notebooks) == 1
    assert "99_orphan.ipynb: extra" in capsys.readouterr().err
    build.main(paths(solutions.parent))
    assert not (notebooks / "99_orphan.ipynb").exists()
    assert run_check(solutions, notebooks) == 0


def test_check_catches_a_hand_edited_student_notebook(tree, capsys):
    solutions, notebooks = tree
    nb = nbformat.read(notebooks / "02_b.ipynb", as_version=4)
    nb.cells[0].source = "shape_W2 = (512, 256)"
    nbformat.write(nb, notebooks / "02_b.ipynb")
    assert run_check(solutions, notebooks) == 1
    assert "02_b.ipynb: stale" in capsys.readouterr().err


def test_naming_one_notebook_builds_only_that_one(tree):
    solutions, notebooks = tree
    for path in notebooks.iterdir():
        path.unlink()
    build.main([*paths(solutions.parent), str(solutions / "02_b.ipynb")])
    assert [p.name for p in notebooks.iterdir()] == ["02_b.ipynb"]


# --- the setup cell -------------------------------------------------------------------------------

SETUP = build.setup_cell("https://github.com/someone/bw", "main")


def test_setup_cell_goes_before_the_first_code_cell_of_the_student_version_only():
    nb = notebook(new_markdown_cell("# Title"), new_markdown_cell("## 0. Setup"), code("import numpy as np"),
                  code(FUNCTION_CELL))
    student = build.strip_solutions(nb, SETUP)
    assert [c.id for c in student.cells] == [nb.cells[0].id, nb.cells[1].id, "setup-checker",
                                              nb.cells[2].id, nb.cells[3].id]
    cell = student.cells[2]
    assert cell.source == SETUP.source and cell.outputs == [] and cell.execution_count is None
    assert cell.metadata == {"cellView": "form", "jupyter": {"source_hidden": True}}      # shown collapsed
    assert 'REPOSITORY, BRANCH = "https://github.com/someone/bw", "main"' in cell.source
    assert "setup-checker" not in [c.id for c in nb.cells]        # the solution is unchanged
    nbformat.validate(student)


def test_a_solution_cell_may_not_take_the_setup_cells_id():
    cell = code("x = 1")
    cell.id = "setup-checker"
    with pytest.raises(ValueError, match="setup cell"):
        build.strip_solutions(notebook(cell), SETUP)


def test_built_student_notebooks_carry_the_setup_cell_of_the_pyproject_setting(tree):
    nb = nbformat.read(tree[1] / "01_a.ipynb", as_version=4)
    assert nb.cells[0].id == "setup-checker"
    assert '"https://github.com/someone/bw", "main"' in nb.cells[0].source


def test_check_catches_a_stale_setup_cell_and_the_build_fixes_it(tree, capsys):
    solutions, notebooks = tree
    pyproject = solutions.parent / "pyproject.toml"
    pyproject.write_text(PYPROJECT.replace("someone/bw", "someone-else/bw"))
    assert run_check(solutions, notebooks) == 1
    err = capsys.readouterr().err
    assert "01_a.ipynb: stale" in err and "02_b.ipynb: stale" in err and "README.md: stale" in err
    assert build.main(paths(solutions.parent)) == 0
    assert "someone-else/bw" in (notebooks / "01_a.ipynb").read_text()
    assert run_check(solutions, notebooks) == 0


@pytest.mark.parametrize("table", [
    "",                                                              # no setting at all
    '[tool.backprop-workbooks]\nrepository = "https://gitlab.com/x/y"\n',
    '[tool.backprop-workbooks]\nrepository = "https://github.com/x/y"\nbranch = "a b"\n',
])
def test_settings_refuse_a_missing_or_malformed_repository(tmp_path, table):
    (tmp_path / "pyproject.toml").write_text(table)
    with pytest.raises(ValueError, match="tool.backprop-workbooks"):
        build.settings(tmp_path / "pyproject.toml")


def test_settings_default_branch_is_main(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.backprop-workbooks]\nrepository = "https://github.com/x/y.git"\n')
    assert build.settings(tmp_path / "pyproject.toml") == ("https://github.com/x/y.git", "main")


# --- README badges --------------------------------------------------------------------------------

def test_badges_link_each_workbook_on_colab_and_binder():
    block = build.badges(["01_a.ipynb"], "https://github.com/someone/bw", "dev")
    assert block.startswith("<!-- badges:start -->") and block.endswith("<!-- badges:end -->")
    assert "https://colab.research.google.com/github/someone/bw/blob/dev/notebooks/01_a.ipynb" in block
    assert "https://mybinder.org/v2/gh/someone/bw/dev?labpath=notebooks%2F01_a.ipynb" in block
    assert "https://mybinder.org/v2/gh/someone/bw/dev?urlpath=lab%2Ftree%2Fnotebooks" in block


def test_badges_go_after_the_two_command_blocks_and_the_readme_still_opens_with_them(tree):
    text = (tree[0].parent / "README.md").read_text()
    assert text.startswith(README.split("The rest")[0].rstrip("\n"))
    assert text.index("second command") < text.index("<!-- badges:start -->") < text.index("The rest")
    assert text.count("<!-- badges:start -->") == 1 and "notebooks%2F02_b.ipynb" in text
    assert text.replace(build.readme_expected(tree[0], tree[0].parent / "README.md",
                                              tree[0].parent / "pyproject.toml"), "") == ""


def test_rebuilding_replaces_the_badges_in_place(tree):
    solutions, notebooks = tree
    readme = solutions.parent / "README.md"
    nbformat.write(notebook(code("1")), solutions / "03_c.ipynb")
    build.main(paths(solutions.parent))
    text = readme.read_text()
    assert text.count("<!-- badges:start -->") == 1 and "notebooks%2F03_c.ipynb" in text
    assert text.replace(text[text.index("<!-- badges:start -->"):text.index("<!-- badges:end -->")], "") == (
        README.replace("```\n\nThe rest", "```\n\n<!-- badges:end -->\n\nThe rest"))


def test_check_catches_hand_edited_badges(tree, capsys):
    readme = tree[0].parent / "README.md"
    readme.write_text(readme.read_text().replace("someone/bw/blob", "someone/old/blob"))
    assert run_check(*tree) == 1
    assert "README.md: stale Colab/Binder badges" in capsys.readouterr().err


# --- slide metadata ---------------------------------------------------------------------------------

def answer_md(text="secret"):
    return written_answer(f"**Answer.**\n\n<!-- BEGIN SOLUTION -->\n{text}\n<!-- END SOLUTION -->")


def kinds(*cells):
    return build.slide_types(list(cells))


def test_headings_and_question_labels_start_slides():
    assert kinds(new_markdown_cell("# Workbook 99"), new_markdown_cell("## 1. Section"),
                 new_markdown_cell("Some text.\n\n### Question 1.2\n\nAsk."),
                 new_markdown_cell("**Q3.** Why?"), new_markdown_cell("**A dead unit.** Look."),
                 new_markdown_cell("#### A small heading is not a slide"),
                 new_markdown_cell("```\n## inside a fence\n```")) == ["slide"] * 5 + ["-", "-"]


def test_a_question_and_its_answer_and_confirmation():
    assert kinds(new_markdown_cell("### Question 1.1\n\nCompute it."), code(ANSWER_CELL),
                 answer_md(), code("# confirm"), code("# confirm more"),
                 new_markdown_cell("Afterthought."), code("print('demo')")) == [
        "slide", "fragment", "fragment", "fragment", "fragment", "-", "-"]


def test_a_question_cell_holding_its_own_answer_is_one_slide_and_its_confirmation_a_fragment():
    q = written_answer("**Q2.** Why?\n\n<!-- BEGIN SOLUTION -->\nBecause.\n<!-- END SOLUTION -->")
    assert kinds(q, code("# confirm"), new_markdown_cell("Text."), code("demo")) == [
        "slide", "fragment", "-", "-"]


def test_answer_label_and_multiple_choice_do_not_start_slides():
    assert kinds(new_markdown_cell("## 3. tanh"), code('multiple_choice("wb99.choice")'), code(ANSWER_CELL),
                 answer_md()) == ["slide", "-", "fragment", "fragment"]


def test_an_unlabelled_second_question_gets_its_own_slide():
    cells = [new_markdown_cell("## 4. Cross-entropy"), code(ANSWER_CELL), code("# confirm"),
             new_markdown_cell("A demo of the trap."), code("print('demo')"),
             new_markdown_cell("Implement `cross_entropy`."), code(FUNCTION_CELL), code("# confirm")]
    assert kinds(*cells) == ["slide", "fragment", "fragment", "-", "-", "slide", "fragment", "fragment"]
    # ...but the first question after a heading stays on the heading's slide
    assert kinds(new_markdown_cell("## 5. Section"), new_markdown_cell("Implement `f`."), code(FUNCTION_CELL)) == [
        "slide", "-", "fragment"]


def test_build_writes_slide_metadata_into_the_solutions_and_strips_it_from_the_students(tree):
    solutions, notebooks = tree
    nb = nbformat.read(solutions / "01_a.ipynb", as_version=4)
    assert [c.metadata["slideshow"] for c in nb.cells] == [{"slide_type": "fragment"}]
    assert nb.cells[0].outputs and nb.cells[0].execution_count == 7         # outputs untouched
    student = nbformat.read(notebooks / "01_a.ipynb", as_version=4)
    assert all("slideshow" not in c.metadata for c in student.cells)


def test_check_catches_stale_slide_metadata_and_the_build_only_touches_metadata(tree, capsys):
    solutions, notebooks = tree
    path = solutions / "02_b.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].metadata["slideshow"] = {"slide_type": "skip"}
    nbformat.write(nb, path)
    assert run_check(solutions, notebooks) == 1
    err = capsys.readouterr().err
    assert "02_b.ipynb: stale slide metadata" in err and "notebooks" not in err.split("\n")[0]
    build.main(paths(solutions.parent))
    after = nbformat.read(path, as_version=4)
    assert after.cells[0].metadata["slideshow"] == {"slide_type": "fragment"}
    assert after.cells[0].outputs == nb.cells[0].outputs and after.cells[0].source == nb.cells[0].source
    assert run_check(solutions, notebooks) == 0


# --- multiple choice: displayed options and letters ------------------------------------------------

CHOICE = Question("wb99.choice_kind", "What kind of matrix is it?", "choice", lambda: "c",
                  options={"a": "full", "b": "zero", "c": "diagonal"}, why_not={"a": "x", "b": "y"})


def choice_notebook(listed="* (a) old text\n* (b) older", letter="a"):
    return notebook(
        new_markdown_cell(f"**Q1.** Which?\n\n<!-- choices: wb99.choice_kind -->\n{listed}\n<!-- end choices -->\n\n"
                          "Write the letter of your choice in the cell below; `check` says whether it is right."),
        code(f'### BEGIN SOLUTION\nchoice_kind = "{letter}"  # the diagonal one\n### END SOLUTION\n'
             'check("wb99.choice_kind", choice_kind)'),
        code('choice_kind = "a"  # outside a region: left alone'))


def test_the_build_writes_the_displayed_options_and_the_right_letter_into_the_solution():
    nb = build.with_choices(choice_notebook(), "wb99", {CHOICE.id: CHOICE})
    assert ("<!-- choices: wb99.choice_kind -->\n* (a) full\n* (b) zero\n* (c) diagonal\n<!-- end choices -->"
            in nb.cells[0].source)
    assert 'choice_kind = "c"  # the diagonal one' in nb.cells[1].source
    assert nb.cells[2].source == 'choice_kind = "a"  # outside a region: left alone'
    again = build.with_choices(nb, "wb99", {CHOICE.id: CHOICE})
    assert [c.source for c in again.cells] == [c.source for c in nb.cells]          # idempotent
    student = build.strip_solutions(nb)
    assert student.cells[1].source.startswith("choice_kind = ...  # your answer")


def test_check_reports_stale_choice_letters_and_the_build_fixes_them(tree, monkeypatch, capsys):
    solutions, notebooks = tree
    monkeypatch.setattr(build, "choice_questions", lambda: {CHOICE.id: CHOICE})
    nbformat.write(choice_notebook(), solutions / "99_c.ipynb")
    build.main(paths(solutions.parent))
    assert run_check(solutions, notebooks) == 0
    nbformat.write(choice_notebook(letter="b"), solutions / "99_c.ipynb")
    assert run_check(solutions, notebooks) == 1
    assert "99_c.ipynb: stale slide metadata or choice letters" in capsys.readouterr().err
    build.main(paths(solutions.parent))
    assert 'choice_kind = "c"' in nbformat.read(solutions / "99_c.ipynb", as_version=4).cells[1].source


def test_a_choice_question_without_its_list_or_answer_line_is_reported(tmp_path):
    other = Question("wb99.choice_other", "?", "choice", lambda: "a", options={"a": "1", "b": "2", "c": "3"})
    nbformat.write(choice_notebook(), tmp_path / "99_c.ipynb")
    problems = build.choice_problems(tmp_path, {CHOICE.id: CHOICE, other.id: other})
    assert problems == [
        "wb99.choice_other: no option list <!-- choices: wb99.choice_other --> … <!-- end choices --> in any solution",
        'wb99.choice_other: no answer line choice_other = "…" in its solution']
    nb = choice_notebook()
    nb.cells[0].source = nb.cells[0].source.replace("wb99.choice_kind", "wb99.choice_kindd")
    nbformat.write(nb, tmp_path / "99_c.ipynb")
    assert any("choice_kindd --> names no multiple-choice question" in p
               for p in build.choice_problems(tmp_path, {CHOICE.id: CHOICE}))


CHOICES_SERIES = [q for q in registry().values() if isinstance(q, Question) and q.kind == "choice"]


def test_the_right_letters_of_the_series_are_balanced():
    counts = Counter(q.answer() for q in CHOICES_SERIES)
    assert len(CHOICES_SERIES) >= 20 and set(counts) <= {"a", "b", "c"}, counts
    assert max(counts.values()) - min(counts[letter] for letter in "abc") <= 1, counts


def _solution_of(question):
    path = next(build.SOLUTIONS.glob(question.id.split(".")[0][2:] + "_*.ipynb"))
    return path, nbformat.read(path, as_version=4)


@pytest.mark.parametrize("question", CHOICES_SERIES, ids=lambda q: q.id)
def test_each_choice_of_the_solutions_lists_the_displayed_options(question):
    """The real solutions, as the build leaves them: the option list agrees with the question."""
    path, nb = _solution_of(question)
    lists = [m.group(3).strip() for c in nb.cells if c.cell_type == "markdown"
             for m in build.CHOICES.finditer(c.source) if m.group(2) == question.id]
    assert lists == [build.option_lines(question)], f"{path.name}: the option list of {question.id}"


@pytest.mark.parametrize("question", CHOICES_SERIES, ids=lambda q: q.id)
def test_each_choice_of_the_solutions_answers_with_the_displayed_letter(question):
    path, nb = _solution_of(question)
    pattern = build._answer_line(question.name)
    letters = [line for c in nb.cells if c.cell_type == "code" for line in c.source.split("\n") if pattern.match(line)]
    assert letters and all(f'"{question.answer()}"' in line or f"'{question.answer()}'" in line for line in letters), (
        f"{path.name}: {letters}, the right letter is {question.answer()}")


# --- answer leaks ----------------------------------------------------------------------------------

NUMBER = Question("wb01.some_number", "A number the workbook asks for.", "number", lambda: 0.7310585786300049)


def leaks(tmp_path, *cells, name="01_x.ipynb"):
    """What --check finds in a solution notebook made of these cells (the real exercises, plus NUMBER)."""
    path = tmp_path / name
    nbformat.write(notebook(*cells), path)
    return build.answer_leaks(path, {**registry(), NUMBER.id: NUMBER})


def stub(name, args, body, exercise):
    return code(f"def {name}({args}):\n    ### BEGIN SOLUTION\n    {body}\n    ### END SOLUTION\n\n"
                f"check({exercise!r}, {name})")


GRAD_Z3 = stub("grad_z3", "h3, y", "return h3 - y", "wb01.grad_z3")
SETUP_01 = code("import numpy as np\nfrom checker import check, example\nex = example('wb01')\nh3, y = ex.h3, ex.y")


def test_the_softmax_jacobian_path_before_the_grad_z3_stub_is_a_leak(tmp_path):
    confirm = code("J = np.diag(h3) - np.outer(h3, h3)\ndh3 = -y / h3\nprint(np.allclose(J @ dh3, dz3_measured))")
    found = leaks(tmp_path, SETUP_01, confirm, GRAD_Z3)
    assert any("`J @ dh3` computes its answer from its inputs, wb01.grad_z3" in p for p in found), found


def test_h3_minus_y_before_or_after_the_grad_z3_stub_is_a_leak(tmp_path):
    for cells in ([code("dz3 = h3 - y"), GRAD_Z3], [GRAD_Z3, code("print(np.allclose(-y + h3, numerical))")]):
        found = leaks(tmp_path, SETUP_01, *cells)
        assert len(found) == 1 and "wb01.grad_z3" in found[0], found


def test_an_expression_of_the_solution_region_is_a_leak_even_when_it_is_not_the_answer(tmp_path):
    through_jacobian = stub("grad_z3", "h3, y", "J = np.diag(h3) - np.outer(h3, h3)\n    return J @ (-y / h3)",
                            "wb01.grad_z3")
    found = leaks(tmp_path, SETUP_01, code("J = np.diag(h3) - np.outer(h3, h3)"), through_jacobian)
    assert any("`np.diag(h3) - np.outer(h3, h3)` is an expression of its solution" in p for p in found), found


def test_one_step_inside_a_larger_solution_formula_gives_nothing_away(tmp_path):
    """``a - b`` of ``norm(a - b) / scale`` in a generic comparison helper is no leak; ``h3 - y`` whole is."""
    relative_error = stub("relative_error", "a, b",
                          "scale = max(np.linalg.norm(a), np.linalg.norm(b))\n    return np.linalg.norm(a - b) / scale",
                          "wb05.relative_error")
    helper = code("def same(a, b, tol):\n    return bool(np.all(np.abs(a - b) <= tol))")
    assert leaks(tmp_path, code("import numpy as np"), helper, relative_error, name="05_x.ipynb") == []


def test_calling_a_function_the_workbook_gives_is_no_formula(tmp_path):
    """wb06 gives ``forward``; its backward's solution starts with ``cache = forward(X, params)``, as other cells do."""
    forward = code("def forward(X, params):\n    return {'h3': X @ params['W1']}")
    backward = stub("backward", "X, Y, params",
                    "cache = forward(X, params)\n    return {'W1': X.T @ (cache['h3'] - Y)}", "wb06.backward")
    use = code("cache = forward(X, params)")
    assert leaks(tmp_path, code("import numpy as np"), forward, backward, use, name="06_x.ipynb") == []


SETUP_02 = code("import numpy as np\nfrom checker import check, example\nex = example('wb02')\n"
                "sigmoid = lambda z: 1 / (1 + np.exp(-z))")


@pytest.mark.parametrize("confirm, stub_cell, shown", [
    ("print(W3 @ dz3)", stub("grad_h2", "W3, dz3", "return W3 @ dz3", "wb02.grad_h2"), "W3 @ dz3"),
    ("print(dz3 @ ex.W3.T)", stub("grad_h2", "W3, dz3", "return W3 @ dz3", "wb02.grad_h2"), "dz3 @ W3.T"),
    ("print(np.dot(ex['W3'], dz3))", stub("grad_h2", "W, dz", "return W @ dz", "wb02.grad_h2"), "W3 @ dz3"),
    ("slope2 = sigmoid(z2) * (1 - sigmoid(z2))\nsame(np.diag(slope2) @ dh2, slope2 * dh2)",
     stub("grad_z2", "z2, dh2", "return sigmoid_grad(z2) * dh2", "wb02.grad_z2"), "slope2 * dh2"),
    ("G = np.outer(h1, dz2)", stub("grad_W2", "h1, dz2", "return np.outer(h1, dz2)", "wb02.grad_W2"),
     "np.outer(h1, dz2)"),
    ("G = h1[:, None] * dz2[None, :]", stub("grad_W2", "h1, dz2", "return np.outer(h1, dz2)", "wb02.grad_W2"),
     "h1[:, None] * dz2[None, :]"),
])
def test_workbook_02_confirmations_that_compute_the_next_answer_are_leaks(tmp_path, confirm, stub_cell, shown):
    """(shown as the check writes it: ``ex.W3`` and ``ex['W3']`` as ``W3``, ``np.dot`` as ``@``)"""
    found = leaks(tmp_path, SETUP_02, code(confirm), stub_cell, name="02_x.ipynb")
    assert any(f"`{shown}`" in p for p in found), found


def test_a_confirmation_with_the_students_own_function_is_no_leak(tmp_path):
    confirm = code("dz3 = ex.yours('dz3', grad_z3, ex.h3, ex.y)\n"
                   "print('agrees with central differences:', np.allclose(dz3, numerical))")
    assert leaks(tmp_path, SETUP_01, GRAD_Z3, confirm) == []


def test_a_solution_only_cell_is_no_leak(tmp_path):
    assert leaks(tmp_path, SETUP_01, GRAD_Z3, code("print(h3 - y)", tags=["solution-only"])) == []


@pytest.mark.parametrize("source", [
    "print(lookup('wb01.grad_z3').reference(h3, y))", "from checker import network\nnetwork.softmax(z)",
    "from checker.exercises import registry", "registry()['wb01.n_params'].answer()", "import checker.network",
    "checker.network.softmax(z)",
])
def test_a_student_cell_may_not_use_the_reference_or_an_answer_key(tmp_path, source):
    found = leaks(tmp_path, code(source))
    assert len(found) == 1 and "uses the reference or an answer key" in found[0], found


def number_cells(*before, after=()):
    answer = code("### BEGIN SOLUTION\nsome_number = 0.7310585786300049\n### END SOLUTION\n"
                  "check('wb01.some_number', some_number)")
    return [*before, answer, *after]


def test_a_graded_number_computed_right_below_its_answer_cell_is_a_leak(tmp_path):
    below = code("print(f'{1 / (1 + np.exp(-1.0)):.4f}')")
    below.outputs = [new_output("stream", name="stdout", text="0.7311\n")]
    found = leaks(tmp_path, *number_cells(after=[below]))
    assert len(found) == 1 and "its output in the solution shows 0.7311, the value of wb01.some_number" in found[0]


@pytest.mark.parametrize("cell, leak", [
    (new_markdown_cell("The neuron's output is 0.731; now compute it yourself."), True),
    (new_markdown_cell("Keep 3 digits: 0.73 is not enough."), False),     # two digits tell nothing
    (code("assert abs(some_number - 0.73106) < 1e-5"), True),
    (new_markdown_cell("Compute the output of the neuron (about 73 %?)."), False),
])
def test_a_graded_number_stated_before_its_answer_cell_is_a_leak(tmp_path, cell, leak):
    cell.outputs = [] if cell.cell_type == "code" else None
    if cell.cell_type == "markdown":
        del cell["outputs"]
    found = leaks(tmp_path, *number_cells(cell))
    assert bool(found) == leak, found


def test_a_graded_number_in_markdown_after_its_answer_cell_is_no_leak(tmp_path):
    assert leaks(tmp_path, *number_cells(after=[new_markdown_cell("So f = 0.7311: the neuron is fairly sure.")])) == []


@pytest.mark.parametrize("text, found", [("658,698 parameters", "658,698"), ("658{,}698", "658,698"),
                                         ("658698.0", "658698.0"), ("6586980", None), ("1658698", None)])
def test_an_integer_is_found_in_its_usual_forms(text, found):
    assert build.mentions(text, (658698.0, True)) == found


@pytest.mark.parametrize("text, found", [("-0.1304", "-0.1304"), ("0.130", "0.130"), ("−0.13038", "−0.13038"),
                                         ("-0.13", None), ("-0.1305", None), ("0.13037701", "0.13037701")])
def test_a_value_is_found_at_three_or_more_significant_digits(text, found):
    assert build.mentions(text, (-0.1303770123, False)) == found


@pytest.mark.parametrize("path", sorted(build.SOLUTIONS.glob("*.ipynb")), ids=lambda p: p.name[:2])
def test_no_student_version_of_this_checkout_gives_an_answer_away(path):
    assert build.answer_leaks(path) == []


@pytest.mark.parametrize("path", sorted(build.SOLUTIONS.glob("*.ipynb")), ids=lambda p: p.name[:2])
def test_every_graded_function_of_a_workbook_has_its_solution_region(path):
    """So the leak check above reads every graded function's answer, and its stub is built."""
    workbook = build.workbook_of(path)
    found = {entry.name for _, entry, _, _ in build.graded_functions(nbformat.read(path, as_version=4), workbook,
                                                                     registry())}
    assert found == {e.name for i, e in registry().items() if i.startswith(workbook + ".") and isinstance(e, Exercise)}


def _names(cells, ctx) -> set:
    """The names the code cells bind (ctx ast.Store: assignments, defs, arguments) or read (ast.Load)."""
    names = set()
    for cell in cells:
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ctx):
                names.add(node.id)
            elif ctx is ast.Store and isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif ctx is ast.Store and isinstance(node, ast.arg):
                names.add(node.arg)
    return names


@pytest.mark.parametrize("path", sorted(build.SOLUTIONS.glob("*.ipynb")), ids=lambda p: p.name[:2])
def test_cells_the_solution_keeps_to_itself_define_nothing_the_student_version_uses(path):
    solution = nbformat.read(path, as_version=4)
    kept_out = [c for c in solution.cells
                if c.cell_type == "code" and build.SOLUTION_ONLY_TAG in c.metadata.get("tags", [])]
    student = [c for c in build.strip_solutions(solution).cells if c.cell_type == "code"]
    missing = (_names(kept_out, ast.Store) - _names(student, ast.Store)) & _names(student, ast.Load)
    assert not missing, f"{path.name}: the student version reads {sorted(missing)}, defined only in solution-only cells"


@pytest.mark.parametrize("path", sorted(build.SOLUTIONS.glob("*.ipynb")), ids=lambda p: p.name[:2])
def test_multiple_choice_buttons_are_a_classroom_poll_in_the_solution_only(path):
    """The variable in the answer cell is the answer: the student version asks once."""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code" and "multiple_choice(" in cell.source:
            assert build.SOLUTION_ONLY_TAG in cell.metadata.get("tags", []), f"{path.name}: cell {cell.get('id')}"
