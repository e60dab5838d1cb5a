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
  Its input is collapsed (``jupyter.source_hidden``; on Colab a form with its ``#@title``).
* Cells tagged ``solution-only`` are left out: the confirmations that show a worked answer.
* Each multiple-choice question's options are written, in their displayed letters (see
  checker.exercises.reletter), between ``<!-- choices: wbNN.choice_x -->`` and ``<!-- end choices -->``
  in the solution's markdown, one ``* (a) text`` line each, and the right letter into its answer line
  ``choice_x = "b"`` inside a SOLUTION region, so the solution and the student version agree.

``--check`` also fails when the student version would give an answer away (``answer_leaks``); it
reads only the solutions and the exercise registry:

* a graded function (a ``def name(`` with a SOLUTION region, where ``wbNN.name`` is an Exercise of the
  workbook): no other code cell of the student version holds an expression of its solution region
  that has two steps, or one step on two variables (``h3 - y``, ``np.outer(h1, dz2)``), written as
  it is or with operands of + and * swapped, ``A @ B`` as ``B.T @ A.T``, ``np.dot``, ``ex.h1`` or
  ``cache["h1"]`` for ``h1``; nor a formula that computes the function's answer from its inputs
  (tried on the exercise's own inputs, with the notebook's earlier assignments put in:
  ``slope2 * dh2`` after ``slope2 = sigmoid(z2) * (1 - sigmoid(z2))``), before the stub or after it;
* no code cell of the student version uses the reference or the answer keys (``network.``,
  ``checker.network``, ``checker.exercises``, ``lookup(``, ``registry(``, ``.reference``, ``.answer(``);
* a graded number: its value (the integer, or rounded to 3 or more significant digits) is in no
  student code cell, no markdown before its answer cell, and no stored output of a solution cell
  that the student version keeps (a cell that prints the number it asks for, in the solution, would
  print it for the student too).  One-digit integers, the network's sizes and numbers of the
  question's own prompt are too common to look for.
* every multiple-choice question has its option list in a solution, and its answer line.

Besides notebooks/, the build keeps four things in step with the sources, and ``--check`` fails when
any is stale:

* the fixed example of each workbook, checker/examples/wbNN.npz, made by the ``example()`` of its
  exercise table with the reference network (see checker.examples): what a student notebook goes
  on with where a function is still unfinished; it never holds the answer to a graded number;

* checker/exercises/layout.json: each workbook's graded items and written answers in the order of the
  notebook, with their sections, and the digests of its own cells (student version and solution, and
  their lines), by which the grader tells a student's code from the workbook's (checker.exercises.layout);
  written only when building from this checkout's solutions/;
* the slide metadata of solutions/*.ipynb (``metadata.slideshow.slide_type``, for
  jupyterlab-rise), derived by ``slide_types``, and their choice lists and letters (above); only
  those are rewritten, in place;
* README.md's "Open in Colab" / "Binder" badges between ``<!-- badges:start -->`` and
  ``<!-- badges:end -->``, from ``[tool.backprop-workbooks] repository`` and ``branch`` in
  pyproject.toml (the one place the public repository URL is set).
"""
from __future__ import annotations

import argparse
import ast
import builtins
import copy
import importlib.util
import math
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
LAYOUT = ROOT / "checker" / "exercises" / "layout.json"

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
    for cell, kind in zip(nb.cells, slide_types(nb.cells), strict=True):
        cell.metadata["slideshow"] = {"slide_type": kind}
    return nb


def setup_cell(repository: str, branch: str):
    """The student notebook's setup cell (tools/setup_cell.py rendered for this repository)."""
    cell = nbformat.v4.new_code_cell(setup_cell_template.render(repository, branch),
                                     metadata=copy.deepcopy(setup_cell_template.METADATA))
    cell.id = setup_cell_template.CELL_ID
    return cell


# --- multiple choice: the displayed letters -------------------------------------------------------

CHOICES = re.compile(r"(<!--\s*choices:\s*(\S+?)\s*-->)(.*?)(<!--\s*end choices\s*-->)", re.DOTALL)


def workbook_of(path: Path) -> str:
    """'solutions/02_backprop….ipynb' -> 'wb02'."""
    return "wb" + Path(path).name.split("_", 1)[0]


def choice_questions() -> dict:
    """id -> every multiple-choice question of the series, re-lettered (checker.exercises.reletter)."""
    sys.path.insert(0, str(ROOT))
    from checker.exercises import Question, registry
    return {i: q for i, q in registry().items() if isinstance(q, Question) and q.kind == "choice"}


def option_lines(question) -> str:
    return "\n".join(f"* ({letter}) {text}" for letter, text in question.options.items())


def _answer_line(name: str) -> re.Pattern:
    return re.compile(rf"^(\s*{re.escape(name)}\s*=\s*)([\"'])[A-Za-z]\2(.*)$")


def with_choices(nb, workbook: str, questions: dict | None = None):
    """A copy of the solution ``nb`` whose choice lists (between ``<!-- choices: ID -->`` and
    ``<!-- end choices -->``) hold the displayed options, one ``* (a) text`` line each, and whose
    answer lines ``choice_x = "b"`` inside a SOLUTION region hold the displayed right letter."""
    questions = choice_questions() if questions is None else questions
    answers = {q.name: _answer_line(q.name) for i, q in questions.items() if i.startswith(workbook + ".")}
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = CHOICES.sub(
                lambda m: (f"{m.group(1)}\n{option_lines(questions[m.group(2)])}\n{m.group(4)}"
                           if m.group(2) in questions else m.group(0)), cell.source)
        elif cell.cell_type == "code" and CODE_BEGIN in cell.source:
            lines, inside = cell.source.split("\n"), False
            for number, line in enumerate(lines):
                inside = (inside or line.strip() == CODE_BEGIN) and line.strip() != CODE_END
                for name, pattern in answers.items() if inside else ():
                    match = pattern.match(line)
                    if match:
                        letter = questions[f"{workbook}.{name}"].answer()
                        lines[number] = f"{match.group(1)}{match.group(2)}{letter}{match.group(2)}{match.group(3)}"
            cell.source = "\n".join(lines)
    return nb


def choice_problems(solutions: Path, questions: dict | None = None) -> list[str]:
    """Choice questions without an option list or an answer line in the solutions; lists of unknown ids."""
    questions = choice_questions() if questions is None else questions
    listed, answered, problems = set(), set(), []
    for path in sorted(solutions.glob("*.ipynb")):
        workbook = workbook_of(path)
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                for match in CHOICES.finditer(cell.source):
                    listed.add(match.group(2))
                    if match.group(2) not in questions:
                        problems.append(f"{path}: cell {cell.get('id')!r}: <!-- choices: {match.group(2)} --> "
                                        "names no multiple-choice question")
            elif cell.cell_type == "code":
                answered |= {i for i, q in questions.items() if i.startswith(workbook + ".")
                             and any(_answer_line(q.name).match(line) for line in cell.source.split("\n"))}
    for question_id in questions:
        if question_id not in listed:
            problems.append(f"{question_id}: no option list <!-- choices: {question_id} --> … <!-- end choices --> "
                            "in any solution")
        if question_id not in answered:
            problems.append(f"{question_id}: no answer line {question_id.split('.', 1)[1]} = \"…\" in its solution")
    return problems


# --- answer leaks: what the student version must not show -------------------------------------------
#
# Three rules, checked from the solutions and the exercise registry alone (see the module docstring):
# a graded function's solution expressions appear in no other student code cell; no student code cell
# uses the reference or the answer keys; a graded number's value is in no student code, no markdown
# before its answer cell, and no stored output of a cell that the student version keeps.

MODULES = {"np", "numpy", "math", "checker", "network"}
# calls that only make, copy or walk arrays: they do not count as a step of a formula
PLAIN_CALLS = {"range", "len", "enumerate", "zip", "print", "float", "int", "list", "tuple", "dict", "copy",
               "array", "asarray", "zeros", "zeros_like", "ones", "ones_like", "empty", "empty_like",
               "full", "full_like", "ndindex", "astype", "reshape", "ravel", "flatten", "isclose", "allclose"}
MATMUL_CALLS = {"dot", "matmul"}
BUILTINS = set(dir(builtins))
MAX_SAMPLE = 300_000   # numbers in one input of an exercise worth computing a formula on
KEYS = ("reference", "answer", "lookup", "registry")   # the attributes and calls of the answer keys
NUMBER = re.compile(r"(?<![\w.])[-−]?\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+−]?\d+)?(?![\w])")


def _python(source: str) -> ast.Module | None:
    """A code cell's syntax tree, IPython magics and shell lines blanked; None if it still does not parse."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n")]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


class _Normal(ast.NodeTransformer):
    """Writes the obvious equivalents of an expression one way: ``ex.h1`` and ``cache["h1"]`` as ``h1``
    (for the names of the function), ``np.dot``/``np.matmul``/``a.dot(b)`` as ``@``, ``np.transpose(a)`` as
    ``a.T``, ``v.T`` as ``v`` for a 1-D argument, parameter names as the exercise's argument names."""

    def __init__(self, names: set, one_d: set, rename: dict):
        self.names, self.one_d, self.rename = names, one_d, rename

    def visit_Name(self, node):
        return ast.Name(self.rename.get(node.id, node.id), ast.Load())

    def visit_Attribute(self, node):
        node = self.generic_visit(node)
        if node.attr in self.names and not (isinstance(node.value, ast.Name) and node.value.id in MODULES):
            return ast.Name(self.rename.get(node.attr, node.attr), ast.Load())
        if node.attr == "T":
            if isinstance(node.value, ast.Attribute) and node.value.attr == "T":
                return node.value.value
            if isinstance(node.value, ast.Name) and node.value.id in self.one_d:
                return node.value
        return node

    def visit_Subscript(self, node):
        node = self.generic_visit(node)
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value in self.names:
            return ast.Name(self.rename.get(key.value, key.value), ast.Load())
        return node

    def visit_Call(self, node):
        node = self.generic_visit(node)
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        numpy_call = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in MODULES
        if name in MATMUL_CALLS and numpy_call and len(node.args) == 2 and not node.keywords:
            return self.visit(ast.BinOp(node.args[0], ast.MatMult(), node.args[1]))
        if name == "dot" and isinstance(func, ast.Attribute) and not numpy_call and len(node.args) == 1:
            return self.visit(ast.BinOp(func.value, ast.MatMult(), node.args[0]))
        if name == "transpose" and numpy_call and len(node.args) == 1 and not node.keywords:
            return self.visit(ast.Attribute(node.args[0], "T", ast.Load()))
        return node


def _flat(node, op) -> list:
    if isinstance(node, ast.BinOp) and isinstance(node.op, op):
        return _flat(node.left, op) + _flat(node.right, op)
    return [node]


def _transposed(node, one_d: set):
    if isinstance(node, ast.Attribute) and node.attr == "T":
        return node.value
    if isinstance(node, ast.Name) and node.id in one_d:
        return node
    return ast.Attribute(node, "T", ast.Load())


def _key(node, one_d: set) -> str:
    """One text for an expression and its commuted and transposed equivalents: the operands of + and *
    sorted, ``A @ B`` and ``B.T @ A.T`` the same."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
        sign = " + " if isinstance(node.op, ast.Add) else " * "
        return "(" + sign.join(sorted(_key(n, one_d) for n in _flat(node, type(node.op)))) + ")"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        forms = [(node.left, node.right), (_transposed(node.right, one_d), _transposed(node.left, one_d))]
        return min(f"({_key(a, one_d)} @ {_key(b, one_d)})" for a, b in forms)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return repr(float(node.value))
    if isinstance(node, ast.AST):
        fields = [f"{name}={_key(value, one_d)}" for name, value in ast.iter_fields(node)
                  if name not in ("ctx", "type_comment", "kind")]
        return f"{type(node).__name__}({', '.join(fields)})"
    if isinstance(node, list):
        return "[" + ", ".join(_key(n, one_d) for n in node) + "]"
    return repr(node)


def _weight(node, opaque=frozenset(), given=frozenset()) -> tuple[int, int]:
    """(steps, distinct variables) of an expression; a node in ``opaque`` (a local's inlined value)
    counts as one variable, and a call of a function the student version ``given`` is no step."""
    steps, variables, called = 0, set(), set()
    todo = [node]
    while todo:
        sub = todo.pop()
        if id(sub) in opaque:
            variables.add(ast.unparse(sub))
            continue
        todo.extend(ast.iter_child_nodes(sub))
        if isinstance(sub, (ast.BinOp, ast.Compare, ast.BoolOp, ast.IfExp)):
            steps += 1
        elif isinstance(sub, ast.UnaryOp) and not isinstance(sub.operand, ast.Constant):
            steps += 1
        elif isinstance(sub, ast.Call):
            name = sub.func.attr if isinstance(sub.func, ast.Attribute) else getattr(sub.func, "id", None)
            steps += name not in PLAIN_CALLS and name not in given
            if isinstance(sub.func, ast.Name):
                called.add(sub.func.id)    # a called name is a function, not a variable
        elif isinstance(sub, ast.Name) and sub.id not in MODULES and sub.id not in BUILTINS:
            variables.add(sub.id)
    return steps, len(variables - called)


def _is_formula(node, opaque=frozenset(), given=frozenset()) -> bool:
    """A formula has two steps, or one step on two variables (``h3 - y``, ``np.outer(h1, dz2)``)."""
    steps, variables = _weight(node, opaque, given)
    return steps >= 2 or (steps >= 1 and variables >= 2)


def _expressions(tree) -> list:
    return [node for node in ast.walk(tree) if isinstance(node, ast.expr)]


def _inlined(statements) -> tuple[list, set]:
    """The statements with each local ``name = value`` substituted into the later ones, and the ids of
    the substituted copies (for ``_weight``: inlining alone does not make a formula)."""
    values, out, opaque = {}, [], set()

    class Inline(ast.NodeTransformer):
        def visit_Name(self, node):
            if isinstance(node.ctx, ast.Load) and node.id in values:
                value = copy.deepcopy(values[node.id])
                opaque.add(id(value))
                return value
            return node

    for statement in statements:
        statement = Inline().visit(copy.deepcopy(statement))
        out.append(statement)
        if (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)):
            values[statement.targets[0].id] = statement.value
    return out, opaque


def _names(node) -> set:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _same_value(value, expected) -> bool:
    from checker import judge
    if isinstance(expected, dict):
        return isinstance(value, dict) and value.keys() == expected.keys() and all(
            _same_value(value[k], expected[k]) for k in expected)
    got, want = judge.plain_array(value), judge.plain_array(np.asarray(expected, dtype=float))
    return got is not None and want is not None and judge.allclose(got, want)


class Formulas:
    """One graded function: the non-trivial expressions of its solution region (as ``_key``s), and its
    answers on the exercise's inputs, so that a formula of the student version that computes the answer
    from the function's inputs is found whatever its form (``slope2 * dh2`` after
    ``slope2 = sigmoid(z2) * (1 - sigmoid(z2))``)."""

    def __init__(self, entry, function: ast.FunctionDef, region: list, functions: dict, given=frozenset()):
        params = [a.arg for a in function.args.args]
        self.given = given
        self.entry, self.cell_names = entry, set(params) | set(entry.arg_names)
        self.rename = {p: a for p, a in zip(params, entry.arg_names, strict=True) if p != a}
        for statement in region:
            self.cell_names |= _names(statement) - MODULES
        try:
            cases = entry.cases(np.random.default_rng(0))
        except Exception:   # noqa: BLE001 - a broken case is the exercise tests' business, not this check's
            cases = []
        self.one_d = {name for position, name in enumerate(entry.arg_names)
                      if cases and all(np.ndim(case.args[position]) == 1 for case in cases)}
        self.one_d |= {p for p, a in zip(params, entry.arg_names, strict=True) if a in self.one_d}
        self.cases = [c for c in cases if sum(np.size(a) for a in c.args if isinstance(a, np.ndarray)) <= MAX_SAMPLE]
        self.answers = {}
        self.functions = {k: v for k, v in functions.items() if k != entry.name}
        self.keys = {}
        for statements, opaque in ((region, set()), _inlined(region)):
            whole = {id(st.value) for st in statements if isinstance(st, (ast.Return, ast.Assign, ast.Expr))}
            for node in _expressions(ast.Module(statements, [])):
                # one step on two variables is a formula as a whole value (``return h3 - y``), but
                # not inside a larger one: ``a - b`` of ``norm(a - b) / scale`` gives nothing away
                if _is_formula(node, opaque, given) and (id(node) in whole or _weight(node, opaque, given)[0] >= 2):
                    for rename in ({}, self.rename):
                        self.keys.setdefault(_key(self.normal(node, rename), self.one_d), ast.unparse(node))

    def normal(self, node, rename=None):
        rename = self.rename if rename is None else rename
        return _Normal(self.cell_names, self.one_d, rename).visit(copy.deepcopy(node))

    def computes(self, node) -> bool:
        """True when ``node`` gives the function's answer from its inputs on every input of the exercise,
        without a floating-point warning (a form that overflows where the exercise tests is not its answer)."""
        free = _names(node)
        if not free & set(self.entry.arg_names) or not free <= set(self.entry.arg_names) | set(self.functions):
            return False
        if not self.cases:
            return False
        code = compile(ast.Expression(ast.fix_missing_locations(copy.deepcopy(node))), "<cell>", "eval")
        for number, case in enumerate(self.cases):
            arguments = zip(self.entry.arg_names, case.args, strict=True)
            names = {**self.functions, **{n: copy.deepcopy(a) for n, a in arguments}}
            try:
                with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
                    value = eval(code, {"__builtins__": {}}, names)   # our own notebooks' expressions
            except Exception:   # noqa: BLE001 - an expression that does not run on these inputs computes nothing
                return False
            if number not in self.answers:
                self.answers[number] = self.entry.reference(*case.args)
            if not _same_value(value, self.answers[number]):
                return False
        return True

    def found_in(self, tree, known: dict) -> list[tuple[str, str]]:
        """(text, how) of the outermost formulas of a student cell that are the solution's or compute the answer.

        known: name -> expression of the notebook's top-level assignments so far, put in for the names a
        formula uses (except the function's own inputs) before it is computed; updated with this cell's.
        """
        allowed = set(self.entry.arg_names) | set(self.functions)

        class Inline(ast.NodeTransformer):   # replaces Name leaves only: the tree keeps its structure
            def __init__(self, active=True):
                self.active = active

            def visit_Name(self, name):
                value = known.get(name.id) if isinstance(name.ctx, ast.Load) and self.active else None
                if value is None or name.id in allowed or not _names(value) <= allowed:
                    return name
                return copy.deepcopy(value)

        hits = []

        def walk(node, inlined):
            if isinstance(node, ast.expr) and _is_formula(node, given=self.given):
                if _key(node, self.one_d) in self.keys:
                    hits.append((ast.unparse(node), "is an expression of its solution"))
                    return
                if self.computes(inlined):
                    hits.append((ast.unparse(node), "computes its answer from its inputs"))
                    return
            if isinstance(node, ast.Name):
                return
            for child, twin in zip(ast.iter_child_nodes(node), ast.iter_child_nodes(inlined), strict=True):
                walk(child, twin)

        for statement in tree.body:
            normal = self.normal(statement, {})
            inside = isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            walk(normal, Inline(active=not inside).visit(copy.deepcopy(normal)))   # a def's parameters shadow
            if isinstance(normal, ast.Assign) and len(normal.targets) == 1 and isinstance(normal.targets[0], ast.Name):
                known[normal.targets[0].id] = Inline().visit(copy.deepcopy(normal.value))
        return hits


def _regions(source: str) -> list[tuple[int, int]]:
    """(first, last) line numbers (1-based, inclusive) of the code inside each SOLUTION region."""
    spans, start = [], None
    for number, line in enumerate(source.split("\n"), start=1):
        if line.strip() == CODE_BEGIN:
            start = number + 1
        elif line.strip() == CODE_END and start is not None:
            spans.append((start, number - 1))
            start = None
    return spans


def graded_functions(nb, workbook: str, entries: dict) -> list[tuple]:
    """(cell id, Exercise, FunctionDef, statements of its SOLUTION region) of each graded function."""
    from checker.exercises import Exercise
    names = {e.name: e for i, e in entries.items() if i.startswith(workbook + ".") and isinstance(e, Exercise)}
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code" or CODE_BEGIN not in cell.source:
            continue
        tree = _python(cell.source)
        for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)) if tree else ():
            if function.name not in names:
                continue
            for first, last in _regions(cell.source):
                if function.lineno < first and last <= function.end_lineno:
                    region = [s for s in ast.walk(function) if isinstance(s, ast.stmt) and s is not function
                              and first <= s.lineno and s.end_lineno <= last]
                    top = [s for s in region if not any(s is not o and s in ast.walk(o) for o in region)]
                    found.append((cell.get("id"), names[function.name], function, top))
    return found


def _key_uses(tree) -> list[str]:
    """What a student code cell uses of the reference or the answer keys."""
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == "network":
                uses.append(f"network.{node.attr}")
            elif (node.attr in ("network", "exercises") and isinstance(node.value, ast.Name)
                  and node.value.id == "checker"):
                uses.append(f"checker.{node.attr}")
            elif node.attr in KEYS[:2]:
                uses.append(f".{node.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in KEYS[2:]:
            uses.append(f"{node.func.id}(")
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith(("checker.network", "checker.exercises")):
                uses.append(f"from {node.module} import")
            elif node.module == "checker" and {a.name for a in node.names} & {"network", "exercises"}:
                uses.append("from checker import network/exercises")
        elif isinstance(node, ast.Import):
            uses += [f"import {a.name}" for a in node.names
                     if a.name.startswith(("checker.network", "checker.exercises"))]
    return list(dict.fromkeys(uses))


_TEXT_KEYS = re.compile(r"\bnetwork\.\w|checker\.network|checker\.exercises"
                        r"|\blookup\(|\bregistry\(|\.reference\b|\.answer\(")


def _value_forms(question) -> tuple:
    """(value, exact) of a graded number worth looking for, or None when it is too common to tell apart
    (a one-digit integer, a network size, a number of its own prompt)."""
    from checker.exercises.inputs import FULL
    value = float(question.answer())
    if abs(value - round(value)) <= 1e-6 * max(1.0, abs(value)):   # an integer, perhaps measured
        value = float(round(value))
    prompt = {abs(float(n.replace(",", "").replace("−", "-"))) for n in NUMBER.findall(question.prompt)}
    if abs(value) in prompt or abs(value) in FULL:
        return None
    if value == round(value) and abs(value) < 1e15:
        return None if abs(value) < 10 else (value, True)
    return value, value == float(f"{value:.2g}")


def mentions(text: str, forms) -> str | None:
    """The first number in ``text`` that shows the value of ``forms`` (see _value_forms): the integer or a
    short value itself, or the value rounded to 3 or more significant digits (its sign aside: a size is
    as telling as the signed value)."""
    if forms is None:
        return None
    value, exact = forms
    for found in NUMBER.findall(text.replace("{,}", ",").replace("\\,", ",")):
        plain = found.replace(",", "").replace("−", "-")
        try:
            number = float(plain)
        except ValueError:
            continue
        if exact:   # an integer or a short value: itself, with its sign
            if number == value:
                return found
            continue
        digits = len(plain.lstrip("-").split("e")[0].split("E")[0].replace(".", "").lstrip("0"))
        if digits >= 3 and number != 0:   # within half a unit of its last digit
            unit = 10.0 ** (math.floor(math.log10(abs(number))) - digits + 1)
            if abs(abs(number) - abs(value)) <= 0.5 * unit * (1 + 1e-9):
                return found
    return None


def _output_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") in ("display_data", "execute_result"):
            parts.append(str(out.get("data", {}).get("text/plain", "")))
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}")
    return "\n".join(parts)


def answer_leaks(solution_path: Path, entries: dict | None = None) -> list[str]:
    """What the student version of one solution shows that it must not (the rules of the docstring)."""
    sys.path.insert(0, str(ROOT))
    from checker import network
    from checker.exercises import Exercise, Question, registry
    entries = registry() if entries is None else entries
    workbook = workbook_of(solution_path)
    solution = nbformat.read(solution_path, as_version=4)
    student = strip_solutions(solution)
    by_id = {cell.get("id"): cell for cell in solution.cells}
    trees = {cell.get("id"): _python(cell.source) for cell in student.cells if cell.cell_type == "code"}
    where = f"{solution_path}: student version"
    problems = []

    for cell_id, tree in trees.items():
        uses = _key_uses(tree) if tree else _TEXT_KEYS.findall(by_id[cell_id].source)
        if uses:
            problems.append(f"{where}, cell {cell_id!r}: uses the reference or an answer key ({', '.join(uses)})")

    functions = {"np": np, "numpy": np, "math": math, "sigmoid": network.sigmoid, "σ": network.sigmoid,
                 "softmax": network.softmax}
    functions.update({e.name: e.reference for i, e in entries.items() if i.startswith(workbook + ".")
                      and isinstance(e, Exercise)})
    # the functions the student version gives (a call of one is no step of a formula: ``forward(X, params)``)
    given = frozenset(n.name for tree in trees.values() if tree for n in tree.body if isinstance(n, ast.FunctionDef))
    for stub_id, entry, function, region in graded_functions(solution, workbook, entries):
        formulas, known = Formulas(entry, function, region, functions, given - {entry.name}), {}
        for cell_id, tree in trees.items():
            hits = formulas.found_in(tree, known) if tree and cell_id != stub_id else []
            for text, how in dict.fromkeys(hits):
                problems.append(f"{where}, cell {cell_id!r}: `{text}` {how}, {entry.id} "
                                f"(the stub is cell {stub_id!r})")

    answer_cells = {}
    for cell in solution.cells:
        for first, last in _regions(cell.source) if cell.cell_type == "code" else ():
            names = _assigned_names("\n".join(cell.source.split("\n")[first - 1:last])) or []
            answer_cells.update({name: cell.get("id") for name in names})
    ids = [cell.get("id") for cell in student.cells]
    for question in (e for i, e in entries.items() if i.startswith(workbook + ".") and isinstance(e, Question)
                     and e.kind == "number"):
        forms = _value_forms(question)
        at = ids.index(answer_cells[question.name]) if answer_cells.get(question.name) in ids else len(ids)
        for index, cell in enumerate(student.cells):
            shown = []
            if cell.cell_type == "code" or index < at:
                shown.append((f"its {cell.cell_type}", mentions(cell.source, forms)))
            if cell.cell_type == "code":
                shown.append(("its output in the solution", mentions(_output_text(by_id[cell.get("id")]), forms)))
            shown = [(what, number) for what, number in shown if number]
            if shown:
                problems.append(f"{where}, cell {cell.get('id')!r}: {' and '.join(w for w, _ in shown)} "
                                f"{'shows' if len(shown) == 1 else 'show'} {shown[0][1]}, the value of {question.id}"
                                f"{' before its answer cell' if index < at else ''}")
    return problems


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
    """The solution file as the build leaves it: its own text with the option lists and letters of its
    choice questions (``with_choices``) and the slide metadata of ``slide_types``."""
    nb = nbformat.read(solution_path, as_version=4)
    return _serialized(with_slides(with_choices(nb, workbook_of(solution_path))))


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


# --- the layout: where each workbook's items and own cells are (checker/exercises/layout.json) ------------

def _item_place(cells, item_id: str) -> tuple | None:
    """(cell index, offset) of the first code cell of a solution that answers or checks ``item_id``."""
    name = re.escape(item_id.split(".", 1)[1])
    pattern = re.compile(rf"^[ \t]*def {name}\(|^{name}[ \t]*=|[\"']{re.escape(item_id)}[\"']", re.MULTILINE)
    for index, cell in enumerate(cells):
        match = pattern.search(cell.source) if cell.cell_type == "code" else None
        if match:
            return index, match.start()
    return None


def workbook_layout(solution_path: Path, pyproject: Path = PYPROJECT, entries: dict | None = None) -> dict:
    """One workbook's entry of checker/exercises/layout.json (see checker.exercises.layout): its title, its
    graded items and written answers in notebook order with their sections, and the digests of its own
    cells (the student version's and the solution's source, and the lines of both)."""
    sys.path.insert(0, str(ROOT))
    from checker.exercises import layout, registry
    from checker.grading import cells as cell_names
    entries = registry() if entries is None else entries
    workbook = workbook_of(solution_path)
    solution = nbformat.read(solution_path, as_version=4)
    student = nbformat.reads(build_text(solution_path, pyproject), as_version=4)
    own: dict = {}
    for cell in list(student.cells) + list(solution.cells):
        entry = own.setdefault(cell.get("id"), {"kind": cell.cell_type, "digests": [], "lines": []})
        entry["digests"].append(layout.digest(cell.source))
        if cell.cell_type == "code":
            entry["lines"] += [layout.line_digest(line) for line in cell.source.split("\n") if line.strip()]
    for entry in own.values():
        entry["digests"] = sorted(set(entry["digests"]))
        entry["lines"] = sorted(set(entry["lines"]))
        if entry["kind"] != "code":
            del entry["lines"]
    places = []
    for item_id in (i for i in entries if i.startswith(workbook + ".")):
        place = _item_place(solution.cells, item_id)
        if place is None:
            raise ValueError(f"{solution_path}: no code cell answers or checks {item_id}")
        places.append((place, item_id))
    for index, cell in enumerate(solution.cells):
        answer_id = cell.get("metadata", {}).get("checker", {}).get("answer_id")
        if cell.cell_type == "markdown" and answer_id:
            places.append(((index, 0), answer_id))
    items = [[item_id, cell_names.section_of(solution.cells, index)] for (index, _), item_id in sorted(places)]
    titles = [text for cell in solution.cells if cell.cell_type == "markdown"
              for level, text in cell_names.headings(cell.source) if level == 1]
    return {"file": solution_path.name, "title": titles[0] if titles else "", "items": items, "cells": own}


def layout_text(solutions: Path = SOLUTIONS, pyproject: Path = PYPROJECT) -> str:
    """checker/exercises/layout.json as the build writes it from ``solutions``."""
    sys.path.insert(0, str(ROOT))
    from checker.exercises import layout
    return layout.text({workbook_of(path): workbook_layout(path, pyproject)
                        for path in sorted(solutions.glob("*.ipynb"))})


def stale(solutions: Path = SOLUTIONS, notebooks: Path = NOTEBOOKS, readme: Path | None = README,
          pyproject: Path = PYPROJECT, layout: Path | None = None) -> list[str]:
    """Why notebooks/, the stored examples, the solutions' slide metadata and choice letters, the layout or
    the README badges are stale, and what the student versions give away (``answer_leaks``); empty when all
    is well.  ``layout``: the layout file to compare (None: not compared)."""
    problems = _example_problems(stored_examples()) + choice_problems(solutions)
    if layout is not None and (not layout.exists()
                               or layout.read_text(encoding="utf-8") != layout_text(solutions, pyproject)):
        problems.append(f"{layout}: stale (the order of the items and the workbooks' own cells, from {solutions})")
    expected = sorted(solutions.glob("*.ipynb"))
    for path in expected:
        problems += answer_leaks(path)
        if path.read_text(encoding="utf-8") != solution_text(path):
            problems.append(f"{path}: stale slide metadata or choice letters (the build rewrites them)")
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
          readme: Path | None = README, pyproject: Path = PYPROJECT, layout: Path | None = None,
          examples: bool = False) -> None:
    """Write the student notebooks (all, or those of the solution paths ``only``), the slide
    metadata of those solutions, the layout file (``layout``: None writes none), the stored examples
    (``examples``: this checkout's, so only when building its own solutions/) and the README badges.

    A full build also removes notebooks/ files that have no solution.
    """
    if examples:
        write_examples()
    notebooks.mkdir(exist_ok=True)
    every = sorted(solutions.glob("*.ipynb"))
    for path in only or every:
        text = solution_text(path)
        if path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"updated the slide metadata or choice letters of {path}")
        (notebooks / path.name).write_text(build_text(path, pyproject), encoding="utf-8")
        print(f"built {notebooks / path.name}")
    if not only:
        names = {path.name for path in every}
        for extra in sorted(notebooks.glob("*.ipynb")):
            if extra.name not in names:
                extra.unlink()
                print(f"removed {extra} (no solution)")
    if layout is not None:
        text = layout_text(solutions, pyproject)
        if not layout.exists() or layout.read_text(encoding="utf-8") != text:
            layout.write_text(text, encoding="utf-8")
            print(f"wrote {layout}")
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
                       help="exit 1 if notebooks/, the stored examples, the slide metadata, the choice letters, the "
                            "layout or the README badges are stale, or a student version gives an answer away; "
                            "write nothing")
    group.add_argument("--execute", action="store_true",
                       help="re-execute every solution notebook in place, then build")
    parser.add_argument("only", nargs="*", type=Path,
                        help="solution notebooks to execute and build (default: all of solutions/)")
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS, help=argparse.SUPPRESS)
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS, help=argparse.SUPPRESS)
    parser.add_argument("--readme", type=Path, default=README, help=argparse.SUPPRESS)
    parser.add_argument("--pyproject", type=Path, default=PYPROJECT, help=argparse.SUPPRESS)
    parser.add_argument("--layout", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    # the layout and the stored examples belong to this checkout's solutions/: written only when building
    # them (the layout also where --layout says)
    own = args.solutions.resolve() == SOLUTIONS.resolve()
    layout = args.layout or (LAYOUT if own else None)
    if args.check:
        problems = stale(args.solutions, args.notebooks, args.readme, args.pyproject, layout)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run: python tools/build_notebooks.py for what is stale; an answer the student version gives "
                  "away, or a choice question without its list, is mended in solutions/", file=sys.stderr)
            return 1
        print("notebooks/, the stored examples, the slide metadata, the choice letters, the layout and the README "
              "badges are up to date, and no student version gives an answer away")
        return 0
    only = [path.resolve() for path in args.only]
    for path in only:
        if path.parent != args.solutions.resolve() or path.suffix != ".ipynb" or not path.exists():
            parser.error(f"{path} is not a notebook in {args.solutions}")
    if args.execute:
        if own:
            write_examples()   # the solutions read them
        for path in only or sorted(args.solutions.glob("*.ipynb")):
            execute(path)
    build(args.solutions, args.notebooks, only, args.readme, args.pyproject, layout, examples=own)
    return 0


if __name__ == "__main__":
    sys.exit(main())
