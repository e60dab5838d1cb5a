"""The build (tools/build_notebooks.py) on small in-memory notebooks."""
import importlib.util
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

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


@pytest.fixture
def tree(tmp_path):
    """A solutions/ with two notebooks and a freshly built notebooks/."""
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    solutions.mkdir()
    nbformat.write(notebook(code(FUNCTION_CELL)), solutions / "01_a.ipynb")
    nbformat.write(notebook(code(ANSWER_CELL)), solutions / "02_b.ipynb")
    assert build.main(["--solutions", str(solutions), "--notebooks", str(notebooks)]) == 0
    return solutions, notebooks


def run_check(solutions, notebooks):
    return build.main(["--check", "--solutions", str(solutions), "--notebooks", str(notebooks)])


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
    build.main(["--solutions", str(solutions), "--notebooks", str(notebooks)])
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
    build.main(["--solutions", str(solutions), "--notebooks", str(notebooks), str(solutions / "02_b.ipynb")])
    assert [p.name for p in notebooks.iterdir()] == ["02_b.ipynb"]
