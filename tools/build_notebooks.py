"""Build the student workbooks in notebooks/ from the solution workbooks in solutions/.

    python tools/build_notebooks.py            # write notebooks/
    python tools/build_notebooks.py --check    # exit 1 if notebooks/ is stale; writes nothing
    python tools/build_notebooks.py --execute  # re-run every solution in place first, then build
    python tools/build_notebooks.py --execute solutions/01_*.ipynb   # only these workbooks

What the build does to each solution notebook:

* Code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines is replaced. A region at
  indentation 0 made only of simple assignments ``name = ...`` becomes ``name = ...  # your answer``
  per assignment (checker treats the Ellipsis as "not answered yet"); any other region becomes
  ``raise NotImplementedError(...)`` at the region's indentation. Such cells get the tag
  ``raises-exception``.
* In markdown, text between ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->`` becomes
  ``*Your answer here.*``. Those cells must carry the tag ``written-answer`` and the metadata
  ``{"checker": {"answer_id": ...}}``, which the build keeps.
* Outputs, execution counts, timing metadata, slide metadata and widget state are cleared; the
  kernelspec is python3; cell ids are those of the solution.
* The setup cell of tools/setup_cell.py (id ``setup-checker``) is inserted before the first code
  cell: it installs the checker on Colab, Binder or a local checkout when it is not importable.
* Cells tagged ``solution-only`` are left out: the confirmations that show a worked answer.

Besides notebooks/, the build keeps three things in step with the sources, and ``--check`` fails when
any is stale:

* the fixed example of each workbook, checker/examples/wbNN.npz, made by the ``example()`` of its
  exercise table with the reference network (see checker.examples): what a student notebook goes
  on with where a function is still unfinished; it never holds the answer to a graded number;

* the slide metadata of solutions/*.ipynb (``metadata.slideshow.slide_type``, for
  jupyterlab-rise), derived by ``slide_types``; only that metadata is rewritten, in place;
* README.md's "Open in Colab" / "Binder" badges between ``<!-- badges:start -->`` and
  ``<!-- badges:end -->``, from ``[tool.backprop-workbooks] repository`` and ``branch`` in
  pyproject.toml (the one place the public repository URL is set).
"""
from __future__ import annotations

import argparse
import ast
import copy
import importlib.util
import re
import sys
import tomllib
from pathlib import Path
from urllib.parse import quote

import nbformat
import numpy as np
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = ROOT / "notebooks"
README = ROOT / "README.md"
PYPROJECT = ROOT / "pyproject.toml"

# tools/setup_cell.py: the template of the student setup cell (loaded by path: tools/ is no package)
_spec = importlib.util.spec_from_file_location("setup_cell", Path(__file__).resolve().parent / "setup_cell.py")
setup_cell_template = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(setup_cell_template)

CODE_BEGIN, CODE_END = "### BEGIN SOLUTION", "### END SOLUTION"
MD_REGION = re.compile(r"<!--\s*BEGIN SOLUTION\s*-->.*?<!--\s*END SOLUTION\s*-->", re.DOTALL)
MD_PLACEHOLDER = "*Your answer here.*"
STUB = 'raise NotImplementedError("Replace this line with your code.")'
ANSWER_STUB = "{name} = ...  # your answer"
RAISES_TAG = "raises-exception"
WRITTEN_TAG = "written-answer"
SOLUTION_ONLY_TAG = "solution-only"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
CELL_TIMING_KEYS = ("execution", "ExecuteTime")
CELL_TIMEOUT = 600  # generous: CI runs notebooks two at a time beside a browser


def _assigned_names(code: str) -> list[str] | None:
    """The names assigned, if ``code`` is only statements ``name = value``; otherwise None."""
    try:
        body = ast.parse(code).body
    except SyntaxError:
        return None
    names = []
    for stmt in body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)):
            return None
        names.append(stmt.targets[0].id)
    return names or None


def _stub(region: list[str], indent: str) -> list[str]:
    names = _assigned_names("\n".join(region)) if indent == "" else None
    if names:
        return [ANSWER_STUB.format(name=name) for name in names]
    return [indent + STUB]


def strip_code(source: str) -> tuple[str, bool]:
    """Replace every solution region of a code cell's source; returns (new source, had a region)."""
    out, region, indent = [], None, ""
    for number, line in enumerate(source.split("\n"), start=1):
        marker = line.strip()
        if marker == CODE_BEGIN:
            if region is not None:
                raise ValueError(f"line {number}: {CODE_BEGIN} inside another solution region")
            region, indent = [], line[: len(line) - len(line.lstrip())]
        elif marker == CODE_END:
            if region is None:
                raise ValueError(f"line {number}: {CODE_END} without {CODE_BEGIN}")
            out.extend(_stub(region, indent))
            region = None
        elif region is not None:
            region.append(line)
        else:
            out.append(line)
    if region is not None:
        raise ValueError(f"{CODE_BEGIN} is never closed")
    new = "\n".join(out)
    return new, new != source


def strip_markdown(source: str) -> tuple[str, bool]:
    """Replace every written-answer region of a markdown cell; returns (new source, had a region)."""
    new = MD_REGION.sub(MD_PLACEHOLDER, source)
    if "BEGIN SOLUTION" in new or "END SOLUTION" in new:
        raise ValueError("unmatched or malformed SOLUTION marker in markdown")
    return new, new != source


def _add_tag(cell, tag: str) -> None:
    tags = cell.metadata.setdefault("tags", [])
    if tag not in tags:
        tags.append(tag)


SLIDE, FRAGMENT, SKIP_SLIDE = "slide", "fragment", "-"
HEADING = re.compile(r"^#{1,3}\s+\S")
BOLD_LABEL = re.compile(r"^\*\*[^*\n]+\*\*")
ANSWER_LABEL = re.compile(r"^\*\*Answer\b")


def _has_heading(markdown: str) -> bool:
    """True when a line of ``markdown`` (outside fenced code) is a heading of level 1 to 3."""
    fenced = False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and HEADING.match(line):
            return True
    return False


def _is_answer(cell) -> bool:
    if cell.cell_type == "code":
        return any(line.strip() == CODE_BEGIN for line in cell.source.split("\n"))
    return cell.cell_type == "markdown" and MD_REGION.search(cell.source) is not None


def _introduces_answer(cells, index) -> bool:
    """True when an answer comes after markdown cell ``index`` before (or in) the next markdown cell."""
    for cell in cells[index + 1:]:
        if _is_answer(cell):
            return True
        if cell.cell_type == "markdown":
            return False
    return False


def slide_types(cells) -> list[str]:
    """The jupyterlab-rise slide type of each cell, by one rule (see docs/teaching.md).

    * "slide": a markdown cell with a heading of level 1-3 (a section, a subsection, "### Question
      2.1"), or one that begins with a bold label (**Q3.**, **A dead unit.**; not **Answer.**), or
      one that introduces a further answer while the current slide already holds one (so that each
      slide holds one question);
    * "fragment": the cells holding an answer (a code cell with a SOLUTION region, markdown with
      <!-- BEGIN SOLUTION -->) that do not start a slide, and the code cells right after one of
      those (the confirmation);
    * "-" (shown with the slide before it): everything else.
    """
    types, after_answer, slide_has_answer = [], False, False
    for index, cell in enumerate(cells):
        text = cell.source.lstrip()
        starts = cell.cell_type == "markdown" and (
            _has_heading(cell.source)
            or (BOLD_LABEL.match(text) and not ANSWER_LABEL.match(text))
            or (slide_has_answer and _introduces_answer(cells, index)))
        if starts:
            kind = SLIDE
            after_answer = slide_has_answer = _is_answer(cell)
        elif _is_answer(cell):
            kind, after_answer, slide_has_answer = FRAGMENT, True, True
        elif cell.cell_type == "code" and after_answer:
            kind = FRAGMENT
        else:
            kind, after_answer = SKIP_SLIDE, False
        types.append(kind)
    return types


def with_slides(nb):
    """A copy of the solution notebook ``nb`` whose cells carry the slide type of ``slide_types``."""
    nb = copy.deepcopy(nb)
    for cell, kind in zip(nb.cells, slide_types(nb.cells)):
        cell.metadata["slideshow"] = {"slide_type": kind}
    return nb


def setup_cell(repository: str, branch: str):
    """The student notebook's setup cell (tools/setup_cell.py rendered for this repository)."""
    cell = nbformat.v4.new_code_cell(setup_cell_template.render(repository, branch))
    cell.id = setup_cell_template.CELL_ID
    return cell


BADGES_START, BADGES_END = "<!-- badges:start -->", "<!-- badges:end -->"
GITHUB_URL = re.compile(r"^https://github\.com/([^/\s]+)/([^/\s]+?)(?:\.git)?/?$")
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"


def settings(pyproject: Path = PYPROJECT) -> tuple[str, str]:
    """(repository URL, branch) of ``[tool.backprop-workbooks]`` in pyproject.toml."""
    with open(pyproject, "rb") as file:
        table = tomllib.load(file).get("tool", {}).get("backprop-workbooks", {})
    repository, branch = table.get("repository"), table.get("branch", "main")
    if not isinstance(repository, str) or not GITHUB_URL.match(repository):
        raise ValueError(f"{pyproject}: [tool.backprop-workbooks] repository must be "
                         f"https://github.com/OWNER/REPO, not {repository!r}")
    if not isinstance(branch, str) or not re.fullmatch(r"[\w./-]+", branch):
        raise ValueError(f"{pyproject}: [tool.backprop-workbooks] branch {branch!r} is not a branch name")
    return repository, branch


def badges(names, repository: str, branch: str) -> str:
    """The README's badge block (markers included) for the workbooks ``names`` (file names)."""
    owner, repo = GITHUB_URL.match(repository).groups()
    lines = [BADGES_START,
             "Open a workbook without installing anything (the first cell installs the checker; the links",
             "come from `[tool.backprop-workbooks]` in pyproject.toml, see [Publishing](#publishing)).",
             f"[![Binder]({BINDER_BADGE})](https://mybinder.org/v2/gh/{owner}/{repo}/{branch}"
             "?urlpath=lab%2Ftree%2Fnotebooks) opens the folder of all workbooks:",
             "",
             "| workbook | Colab | Binder |",
             "|---|---|---|"]
    for name in names:
        colab = f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/notebooks/{name}"
        binder = (f"https://mybinder.org/v2/gh/{owner}/{repo}/{branch}"
                  f"?labpath={quote('notebooks/' + name, safe='')}")
        lines.append(f"| `{name.removesuffix('.ipynb')}` | [![Open in Colab]({COLAB_BADGE})]({colab}) "
                     f"| [![Binder]({BINDER_BADGE})]({binder}) |")
    lines.append(BADGES_END)
    return "\n".join(lines)


def readme_text(readme: str, block: str) -> str:
    """``readme`` with its badge block replaced by ``block``, or inserted after the second command block."""
    if BADGES_START in readme:
        start, end = readme.index(BADGES_START), readme.find(BADGES_END)
        if end < start:
            raise ValueError(f"README: {BADGES_START} without {BADGES_END} after it")
        return readme[:start] + block + readme[end + len(BADGES_END):]
    fences = [match.end() for match in re.finditer(r"^```[ \t]*$", readme, re.MULTILINE)]
    if len(fences) < 2:
        raise ValueError("README: no second command block to put the badges after")
    at = fences[1]
    return readme[:at] + "\n\n" + block + readme[at:]


def strip_solutions(nb, setup=None):
    """The student version of a solution notebook (a new notebook; ``nb`` is left unchanged).

    ``setup`` is the setup cell to insert before the first code cell (None: no setup cell).
    """
    nb = copy.deepcopy(nb)
    nb.cells = [cell for cell in nb.cells if SOLUTION_ONLY_TAG not in cell.get("metadata", {}).get("tags", [])]
    for index, cell in enumerate(nb.cells):
        where = f"cell {index} (id {cell.get('id')!r})"
        if "id" not in cell:
            raise ValueError(f"{where}: no cell id; save the notebook with nbformat >= 4.5")
        try:
            if cell.cell_type == "code":
                cell.source, changed = strip_code(cell.source)
                if changed:
                    _add_tag(cell, RAISES_TAG)
                cell.outputs, cell.execution_count = [], None
            elif cell.cell_type == "markdown":
                cell.source, changed = strip_markdown(cell.source)
                if changed and (WRITTEN_TAG not in cell.metadata.get("tags", [])
                                or not cell.metadata.get("checker", {}).get("answer_id")):
                    raise ValueError(f"a written answer needs the tag {WRITTEN_TAG!r} "
                                     "and metadata checker.answer_id")
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
        for key in CELL_TIMING_KEYS:
            cell.metadata.pop(key, None)
        cell.metadata.pop("slideshow", None)
    if setup is not None:
        if any(cell.get("id") == setup.id for cell in nb.cells):
            raise ValueError(f"a solution cell already has the setup cell's id {setup.id!r}")
        first = next((i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"), len(nb.cells))
        nb.cells.insert(first, copy.deepcopy(setup))
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nbformat.validate(nb)
    return nb


def _serialized(nb) -> str:
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"  # as nbformat.write ends a file


def build_text(solution_path: Path, pyproject: Path = PYPROJECT) -> str:
    """The student notebook for one solution file, serialized exactly as the build writes it."""
    setup = setup_cell(*settings(pyproject))
    return _serialized(strip_solutions(nbformat.read(solution_path, as_version=4), setup))


def solution_text(solution_path: Path) -> str:
    """The solution file as the build leaves it: its own text with the slide metadata of ``slide_types``."""
    return _serialized(with_slides(nbformat.read(solution_path, as_version=4)))


def readme_expected(solutions: Path, readme: Path, pyproject: Path) -> str:
    names = [path.name for path in sorted(solutions.glob("*.ipynb"))]
    return readme_text(readme.read_text(encoding="utf-8"), badges(names, *settings(pyproject)))


def stored_examples() -> dict:
    """workbook -> the arrays of its fixed example as checker/examples stores them (made afresh)."""
    sys.path.insert(0, str(ROOT))
    from checker import examples
    from checker.exercises import Question, example_makers, registry
    stored = {}
    for workbook, make in sorted(example_makers().items()):
        values, params_seed = make()
        arrays = examples.encode(values, params_seed)
        for entry in registry().values():
            if entry.id.startswith(workbook + ".") and isinstance(entry, Question) and entry.kind == "number":
                leaked = [name for name, array in arrays.items() if array.dtype.kind == "f"
                          and np.any(np.isclose(array, float(entry.answer()), rtol=1e-6, atol=0.0))]
                if leaked:
                    raise ValueError(f"the example of {workbook} stores the answer to {entry.id} in {leaked}")
        stored[workbook] = arrays
    return stored


def _example_problems(stored: dict) -> list[str]:
    from checker import examples
    problems = []
    for workbook, arrays in stored.items():
        path = examples.path(workbook)
        if not path.exists():
            problems.append(f"{path}: missing (the build makes it)")
            continue
        problems += [f"{path}: {why}" for why in examples.differences(examples.read(workbook), arrays)]
    return problems


def write_examples() -> None:
    """Write each checker/examples/wbNN.npz whose stored values differ from the reference's."""
    from checker import examples
    for workbook, arrays in stored_examples().items():
        if _example_problems({workbook: arrays}):
            examples.write(workbook, arrays)
            print(f"wrote {examples.path(workbook)}")


def stale(solutions: Path = SOLUTIONS, notebooks: Path = NOTEBOOKS, readme: Path | None = README,
          pyproject: Path = PYPROJECT) -> list[str]:
    """Why notebooks/, the solutions' slide metadata or the README badges are stale; empty when current."""
    problems = _example_problems(stored_examples())
    expected = sorted(solutions.glob("*.ipynb"))
    for path in expected:
        if path.read_text(encoding="utf-8") != solution_text(path):
            problems.append(f"{path}: stale slide metadata (the build rewrites it)")
        target = notebooks / path.name
        if not target.exists():
            problems.append(f"{target}: missing (build it from {path})")
        elif target.read_text(encoding="utf-8") != build_text(path, pyproject):
            problems.append(f"{target}: stale (differs from the build of {path})")
    names = {path.name for path in expected}
    for extra in sorted(notebooks.glob("*.ipynb")):
        if extra.name not in names:
            problems.append(f"{extra}: extra (no {solutions / extra.name})")
    if readme is not None and readme.read_text(encoding="utf-8") != readme_expected(solutions, readme, pyproject):
        problems.append(f"{readme}: stale Colab/Binder badges (from [tool.backprop-workbooks] in {pyproject})")
    return problems


def build(solutions: Path = SOLUTIONS, notebooks: Path = NOTEBOOKS, only=None,
          readme: Path | None = README, pyproject: Path = PYPROJECT) -> None:
    """Write the student notebooks (all, or those of the solution paths ``only``), the slide
    metadata of those solutions, and the README badges.

    A full build also removes notebooks/ files that have no solution.
    """
    write_examples()
    notebooks.mkdir(exist_ok=True)
    every = sorted(solutions.glob("*.ipynb"))
    for path in only or every:
        text = solution_text(path)
        if path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"updated the slide metadata of {path}")
        (notebooks / path.name).write_text(build_text(path, pyproject), encoding="utf-8")
        print(f"built {notebooks / path.name}")
    if not only:
        names = {path.name for path in every}
        for extra in sorted(notebooks.glob("*.ipynb")):
            if extra.name not in names:
                extra.unlink()
                print(f"removed {extra} (no solution)")
    if readme is not None:
        text = readme_expected(solutions, readme, pyproject)
        if readme.read_text(encoding="utf-8") != text:
            readme.write_text(text, encoding="utf-8")
            print(f"updated the badges in {readme}")


def execute(path: Path) -> None:
    """Re-run one solution notebook in place (kernel python3, cwd = its folder)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT,
                            record_timing=False, store_widget_state=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nbformat.write(nb, path)
    print(f"executed {path}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true",
                       help="exit 1 if notebooks/, the stored examples, the slide metadata or the README badges are stale; "
                            "write nothing")
    group.add_argument("--execute", action="store_true",
                       help="re-execute every solution notebook in place, then build")
    parser.add_argument("only", nargs="*", type=Path,
                        help="solution notebooks to execute and build (default: all of solutions/)")
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS, help=argparse.SUPPRESS)
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS, help=argparse.SUPPRESS)
    parser.add_argument("--readme", type=Path, default=README, help=argparse.SUPPRESS)
    parser.add_argument("--pyproject", type=Path, default=PYPROJECT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check:
        problems = stale(args.solutions, args.notebooks, args.readme, args.pyproject)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run: python tools/build_notebooks.py", file=sys.stderr)
            return 1
        print("notebooks/, the stored examples, the slide metadata and the README badges are up to date")
        return 0
    only = [path.resolve() for path in args.only]
    for path in only:
        if path.parent != args.solutions.resolve() or path.suffix != ".ipynb" or not path.exists():
            parser.error(f"{path} is not a notebook in {args.solutions}")
    if args.execute:
        write_examples()   # the solutions read them
        for path in only or sorted(args.solutions.glob("*.ipynb")):
            execute(path)
    build(args.solutions, args.notebooks, only, args.readme, args.pyproject)
    return 0


if __name__ == "__main__":
    sys.exit(main())
