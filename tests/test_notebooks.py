"""Every workbook in solutions/ and its student version in notebooks/.

For each solution notebook: the student version is current; the student version runs with
exactly its exercise cells failing as "not implemented yet"; the solution runs clean and scores
full marks; both are well-formed. New workbooks are picked up automatically.
"""
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "tools" / "build_notebooks.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

SOLUTIONS = sorted(build.SOLUTIONS.glob("*.ipynb"))
NAMES = [path.name for path in SOLUTIONS]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
REPORT = re.compile(r"^Workbook (\S+): ([\d.]+)/([\d.]+) points", re.MULTILINE)
_executed = {}


def workbook_id(name: str) -> str:
    """'01_forward_pass….ipynb' -> 'wb01'."""
    return "wb" + name.split("_", 1)[0]


def executed(path: Path):
    """The notebook after a run in a fresh python3 kernel (errors recorded, not raised); cached."""
    if path not in _executed:
        assert path.exists(), f"{path} is missing; run tools/build_notebooks.py"
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, kernel_name="python3", timeout=build.CELL_TIMEOUT, allow_errors=True,
                       record_timing=False, resources={"metadata": {"path": str(path.parent)}}).execute()
        _executed[path] = nb
    return _executed[path]


def errors(cell):
    return [out for out in cell.get("outputs", []) if out.output_type == "error"]


def error_text(out) -> str:
    return ANSI.sub("", f"{out.ename}: {out.evalue}\n" + "\n".join(out.traceback))


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


@pytest.mark.parametrize("name", NAMES)
def test_student_notebook_fails_only_in_exercise_cells(name):
    nb = executed(build.NOTEBOOKS / name)
    tagged = {cell.id for cell in nb.cells if "raises-exception" in cell.metadata.get("tags", [])}
    failed = {cell.id: errors(cell) for cell in nb.cells if cell.cell_type == "code" and errors(cell)}
    assert tagged, "the student notebook has no exercises"
    unexpected = {cid: [error_text(e) for e in errs] for cid, errs in failed.items() if cid not in tagged}
    assert not unexpected, f"cells that are not exercises failed: {unexpected}"
    silent = sorted(tagged - set(failed))
    assert not silent, f"exercise cells that did not fail in the student version (no check?): {silent}"
    for cell_id, errs in failed.items():
        for err in errs:
            assert err.ename in ("NotImplementedYet", "NotImplementedError"), (cell_id, error_text(err))
            assert "not implemented yet" in error_text(err).lower(), (cell_id, error_text(err))


@pytest.mark.parametrize("name", NAMES)
def test_student_setup_cell_only_prints_that_the_checker_is_ready(name):
    import checker
    nb = executed(build.NOTEBOOKS / name)
    setup = next(cell for cell in nb.cells if cell.cell_type == "code")
    assert setup.id == build.setup_cell_template.CELL_ID
    assert [(out.output_type, out.get("text")) for out in setup.outputs] == [
        ("stream", f"checker {checker.__version__} ready (local install)\n")]


@pytest.mark.parametrize("name", NAMES)
def test_student_notebook_scores_nothing_as_shipped(name):
    workbook, score, max_score, text = report_output(executed(build.NOTEBOOKS / name))
    assert workbook == workbook_id(name)
    assert score == 0 and max_score > 0, text


@pytest.mark.parametrize("name", NAMES)
def test_solution_runs_clean_and_scores_full_marks(name):
    nb = executed(build.SOLUTIONS / name)
    failed = {cell.id: [error_text(e) for e in errors(cell)] for cell in nb.cells if errors(cell)}
    assert not failed, f"the solution raised: {failed}"
    workbook, score, max_score, text = report_output(nb)
    assert workbook == workbook_id(name)
    assert score == max_score > 0 and "✗" not in text, text


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
    for (prev, _), (level, text) in zip(headings, headings[1:]):
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
        assert setup.id == build.setup_cell_template.CELL_ID
        assert setup.source == build.setup_cell(*build.settings()).source
    else:
        assert all("slideshow" in cell.metadata for cell in nb.cells), "slide metadata missing"
    assert "import numpy as np" in code[0].source
    assert re.search(r"from checker import .*\bcheck\b", code[0].source)
    assert nb.cells[-1].source.strip() == f'report("{workbook_id(name)}", globals())'

    answer_ids = [cell.metadata["checker"]["answer_id"] for cell in nb.cells
                  if "written-answer" in cell.metadata.get("tags", [])]
    assert len(answer_ids) == len(set(answer_ids)), f"duplicate answer ids: {answer_ids}"
    assert all(a.startswith(workbook_id(name) + ".") for a in answer_ids), answer_ids
