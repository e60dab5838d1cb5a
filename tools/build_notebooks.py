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
* Outputs, execution counts, timing metadata and widget state are cleared; the kernelspec is
  python3; cell ids are those of the solution.
"""
from __future__ import annotations

import argparse
import ast
import copy
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = ROOT / "notebooks"

CODE_BEGIN, CODE_END = "### BEGIN SOLUTION", "### END SOLUTION"
MD_REGION = re.compile(r"<!--\s*BEGIN SOLUTION\s*-->.*?<!--\s*END SOLUTION\s*-->", re.DOTALL)
MD_PLACEHOLDER = "*Your answer here.*"
STUB = 'raise NotImplementedError("Replace this line with your code.")'
ANSWER_STUB = "{name} = ...  # your answer"
RAISES_TAG = "raises-exception"
WRITTEN_TAG = "written-answer"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
CELL_TIMING_KEYS = ("execution", "ExecuteTime")
CELL_TIMEOUT = 120


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


def strip_solutions(nb):
    """The student version of a solution notebook (a new notebook; ``nb`` is left unchanged)."""
    nb = copy.deepcopy(nb)
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
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nbformat.validate(nb)
    return nb


def build_text(solution_path: Path) -> str:
    """The student notebook for one solution file, serialized exactly as the build writes it."""
    text = nbformat.writes(strip_solutions(nbformat.read(solution_path, as_version=4)))
    return text if text.endswith("\n") else text + "\n"  # as nbformat.write ends a file


def stale(solutions: Path = SOLUTIONS, notebooks: Path = NOTEBOOKS) -> list[str]:
    """Why notebooks/ does not match solutions/, one message per file; empty when current."""
    problems = []
    expected = sorted(solutions.glob("*.ipynb"))
    for path in expected:
        target = notebooks / path.name
        if not target.exists():
            problems.append(f"{target}: missing (build it from {path})")
        elif target.read_text(encoding="utf-8") != build_text(path):
            problems.append(f"{target}: stale (differs from the build of {path})")
    names = {path.name for path in expected}
    for extra in sorted(notebooks.glob("*.ipynb")):
        if extra.name not in names:
            problems.append(f"{extra}: extra (no {solutions / extra.name})")
    return problems


def build(solutions: Path = SOLUTIONS, notebooks: Path = NOTEBOOKS, only=None) -> None:
    """Write the student notebooks (all, or those of the solution paths ``only``).

    A full build also removes notebooks/ files that have no solution.
    """
    notebooks.mkdir(exist_ok=True)
    every = sorted(solutions.glob("*.ipynb"))
    for path in only or every:
        (notebooks / path.name).write_text(build_text(path), encoding="utf-8")
        print(f"built {notebooks / path.name}")
    if not only:
        names = {path.name for path in every}
        for extra in sorted(notebooks.glob("*.ipynb")):
            if extra.name not in names:
                extra.unlink()
                print(f"removed {extra} (no solution)")


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
                       help="exit 1 if notebooks/ is stale or has extra notebooks; write nothing")
    group.add_argument("--execute", action="store_true",
                       help="re-execute every solution notebook in place, then build")
    parser.add_argument("only", nargs="*", type=Path,
                        help="solution notebooks to execute and build (default: all of solutions/)")
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS, help=argparse.SUPPRESS)
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check:
        problems = stale(args.solutions, args.notebooks)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run: python tools/build_notebooks.py", file=sys.stderr)
            return 1
        print("notebooks/ is up to date")
        return 0
    only = [path.resolve() for path in args.only]
    for path in only:
        if path.parent != args.solutions.resolve() or path.suffix != ".ipynb" or not path.exists():
            parser.error(f"{path} is not a notebook in {args.solutions}")
    if args.execute:
        for path in only or sorted(args.solutions.glob("*.ipynb")):
            execute(path)
    build(args.solutions, args.notebooks, only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
