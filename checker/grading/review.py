"""Review flags: what a notebook *does* beyond the workbook's own cells, for the instructor to read.

Flags never change a score (in the sandbox none of these can reach a grade); they point at code
an honest answer has no use for.  Only code the student wrote is read:

* a cell whose id is one of the workbook's own (checker/exercises/layout.py: the build writes the
  solution's cell ids into the student version) and whose source is the student version's or the
  solution's is the workbook's, and is not read at all (the setup cell installs packages and edits
  sys.modules: that is not the student's doing);
* in a changed cell of the workbook, only the lines that neither version has are read;
* a new cell, or one without an id, is read whole (unless it is an exact copy of a workbook cell).

What is flagged, one flag per cell and kind, each naming the cell (checker/grading/cells.py) and
the lines that did it:

  reference     a use of the reference or the answer key, by any route: checker.network, the
                exercise tables (checker.exercises.*, registry(), lookup(), .reference, .answer()),
                checker.evaluate's or checker.grading's modules
  files         a path outside the notebook's own folder (absolute, ~, .., the home folder, the
                checker's own location), the working folder changed
  folders       folders listed, files moved or deleted
  processes     subprocess, os.system, fork/exec/kill, shell escapes (!cmd, %%bash), %pip
  network       socket, urllib, http, requests and the like
  sys.modules   any use of sys.modules (changing it replaces what an import returns)
  tricks        ctypes, importlib, __import__, builtins, frames and globals of other code, gc
  code          exec, eval, compile: code run from a string
  exits         os._exit, sys.exit, exit(), quit(), os.abort, raise SystemExit
  patches       an attribute of a library (np, checker, …) replaced: monkey-patching
"""
from __future__ import annotations

import ast
import re

from checker.exercises import layout
from checker.grading import cells

REFERENCE_MODULES = ("checker.network", "checker.exercises", "checker.evaluate", "checker.grading",
                     "_checker_grader")   # the grader's helper in the kernel (kernel_package.HELPER_MODULE)
REFERENCE_ATTRIBUTES = {"network", "grading"}          # checker.<these>; checker.exercises.<x> too
KEY_CALLS = {"registry", "lookup", "as_written", "example_makers"}
KEY_ATTRIBUTES = {"reference", "answer"}
PROCESS_MODULES = ("subprocess", "multiprocessing", "pty", "pexpect", "sh")
PROCESS_OS = {"system", "popen", "fork", "forkpty", "kill", "killpg", "setsid", "posix_spawn", "posix_spawnp",
              "startfile"}
NETWORK_MODULES = ("socket", "ssl", "urllib", "http", "requests", "httpx", "ftplib", "smtplib", "telnetlib",
                   "aiohttp", "websocket", "websockets", "paramiko", "xmlrpc")
TRICK_MODULES = ("ctypes", "importlib", "imp", "builtins", "gc", "cffi", "_ctypes")
TRICK_ATTRIBUTES = {"_getframe", "currentframe", "f_back", "f_globals", "f_locals", "f_builtins", "__globals__",
                    "__code__", "__subclasses__", "__builtins__", "get_objects", "get_referrers"}
FRAME_FUNCTIONS = {"stack", "currentframe", "getouterframes", "getinnerframes", "trace", "getmembers"}
EXITS = {("os", "_exit"), ("sys", "exit"), ("os", "abort")}
LISTING = {"listdir", "scandir", "walk", "glob", "iglob", "rglob", "iterdir", "fwalk"}
CHANGING = {"remove", "unlink", "rmdir", "removedirs", "rename", "renames", "replace", "rmtree", "move", "copy",
            "copy2", "copyfile", "copytree", "chmod", "chown", "symlink", "link", "truncate"}
LIBRARIES = {"np", "numpy", "checker", "math", "sys", "os", "builtins", "scipy", "plt", "matplotlib", "json",
             "time", "random", "io", "pathlib"}
OUTSIDE = re.compile(r"^(/[\w.~-]|~|\.\.(/|\\|$)|[A-Za-z]:\\)")
MAGIC_PROCESS = re.compile(r"^\s*(!|%%?(bash|sh|script|system|sx|perl|ruby)\b|%(pip|conda|run|mamba)\b)")
MAGIC_FILES = re.compile(r"^\s*%%?(cd|writefile|load|save|pushd|popd|bookmark)\b")

KINDS = {
    "reference": "reaches for the reference or the answer key",
    "files": "reaches for files outside its own folder",
    "folders": "lists folders, or moves or deletes files",
    "processes": "starts processes or shell commands",
    "network": "uses the network",
    "sys.modules": "uses sys.modules (it decides what an import returns)",
    "tricks": "reaches into the interpreter (ctypes, importlib, frames, builtins)",
    "code": "runs code from a string (exec, eval, compile)",
    "exits": "stops the kernel",
    "patches": "replaces a library's functions (monkey-patching)",
}
EVIDENCE = 3   # lines quoted per flag
MAX_FLAGS = 50  # flags per notebook: then one sentence says where the review stopped


def _dotted(node) -> str:
    """'a.b.c' for a chain of attributes on a name, '' otherwise."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _root(node) -> str:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else ""


def _under(module: str, roots) -> bool:
    return any(module == r or module.startswith(r + ".") for r in roots)


def _module_kinds(module: str) -> list:
    kinds = []
    if _under(module, REFERENCE_MODULES):
        kinds.append("reference")
    if _under(module, PROCESS_MODULES):
        kinds.append("processes")
    if _under(module, NETWORK_MODULES):
        kinds.append("network")
    if _under(module, TRICK_MODULES):
        kinds.append("tricks")
    return kinds


class _Reader(ast.NodeVisitor):
    """Collects (kind, line number) of everything KINDS names in one cell's syntax tree."""

    def __init__(self, libraries: set):
        self.found: list = []
        self.libraries = libraries

    def note(self, kind: str, node) -> None:
        self.found.append((kind, getattr(node, "lineno", 0)))

    def visit_Import(self, node):
        for alias in node.names:
            for kind in _module_kinds(alias.name):
                self.note(kind, node)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        names = [a.name for a in node.names]
        for kind in _module_kinds(module):
            self.note(kind, node)
        if module == "checker" and {"network", "grading"} & set(names):
            self.note("reference", node)
        if module == "os" and (PROCESS_OS | {"_exit", "abort"}) & set(names):
            self.note("processes", node)
        if module == "sys" and "modules" in names:
            self.note("sys.modules", node)

    def visit_Attribute(self, node):
        dotted = _dotted(node)
        parts = dotted.split(".") if dotted else []
        if parts[:1] == ["network"] and len(parts) > 1:
            self.note("reference", node)
        if parts[:1] == ["checker"] and len(parts) > 1 and (
                parts[1] in REFERENCE_ATTRIBUTES or (parts[1] in ("exercises", "evaluate") and len(parts) > 2)):
            self.note("reference", node)
        if node.attr in KEY_ATTRIBUTES and not (parts[:1] and parts[0] in self.libraries):
            self.note("reference", node)
        if node.attr in TRICK_ATTRIBUTES or (parts[:1] and parts[0] in ("ctypes", "importlib", "builtins", "gc")) \
                or (parts[:1] == ["inspect"] and node.attr in FRAME_FUNCTIONS):
            self.note("tricks", node)
        if len(parts) == 2 and parts[0] == "os" and (parts[1] in PROCESS_OS or parts[1].startswith(("exec", "spawn"))):
            self.note("processes", node)
        if len(parts) == 2 and (parts[0], parts[1]) in EXITS:
            self.note("exits", node)
        if node.attr in LISTING:
            self.note("folders", node)
        if node.attr in CHANGING and parts[:1] and parts[0] in ("os", "shutil", "pathlib", "Path"):
            self.note("folders", node)
        if node.attr in ("chdir", "expanduser", "home") or dotted in ("checker.__file__", "checker.__path__"):
            self.note("files", node)
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id == "__import__":
            self.note("tricks", node)
        if node.id == "__file__":
            self.note("files", node)
        self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else ""
        if name in KEY_CALLS:
            self.note("reference", node)
        if name in ("exec", "eval", "compile"):
            self.note("code", node)
        if name in ("exit", "quit"):
            self.note("exits", node)
        if name == "setattr" and node.args and _root(node.args[0]) in self.libraries:
            self.note("patches", node)
        self.generic_visit(node)

    def visit_Raise(self, node):
        if node.exc is not None and _dotted(node.exc.func if isinstance(node.exc, ast.Call) else node.exc) in (
                "SystemExit", "KeyboardInterrupt"):
            self.note("exits", node)
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str):
            text = node.value.strip()
            if OUTSIDE.match(text) and "\n" not in text and len(text) < 300:
                self.note("files", node)
            if "checker.network" in text or "checker.exercises" in text or "checker/network" in text \
                    or "checker/exercises" in text:
                self.note("reference", node)

    def _targets(self, targets, node):
        if any(isinstance(t, ast.Attribute) and _root(t) in self.libraries for t in targets):
            self.note("patches", node)

    def visit_Assign(self, node):
        self._targets(node.targets, node)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._targets([node.target], node)
        self.generic_visit(node)

    def visit_Delete(self, node):
        self._targets(node.targets, node)
        self.generic_visit(node)


def _libraries(nb_cells: list) -> set:
    """Names bound to modules anywhere in the notebook (import numpy as np -> np), and the usual ones."""
    names = set(LIBRARIES)
    for cell in nb_cells:
        try:
            tree = ast.parse(_python(cells.source(cell)))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _python(text: str) -> str:
    """The cell with IPython's magics and shell escapes blanked, so that it parses as Python."""
    if text.lstrip().startswith("%%"):
        return ""
    return "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line for line in text.split("\n"))


def _magic_kinds(line: str) -> list:
    kinds = []
    if MAGIC_PROCESS.match(line):
        kinds.append("processes")
        if re.match(r"^\s*[%!]\s*(pip|conda|mamba|curl|wget|git)\b", line):
            kinds.append("network")
    if MAGIC_FILES.match(line):
        kinds.append("files")
    return kinds


def _read(text: str, libraries: set) -> list:
    """(kind, line number) of everything flagged in a cell's source."""
    found = []
    magic_cell = text.lstrip().startswith("%%")
    for number, line in enumerate(text.split("\n"), start=1):
        if magic_cell or line.lstrip().startswith(("%", "!")):
            found += [(kind, number) for kind in _magic_kinds(line)]
    try:
        tree = ast.parse(_python(text))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return found   # a cell that does not parse does nothing: it raises SyntaxError when run
    reader = _Reader(libraries)
    try:
        reader.visit(tree)
    except RecursionError:
        pass
    sys_modules = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and _dotted(n).endswith("sys.modules")]
    found += [("sys.modules", n.lineno) for n in sys_modules]
    return found + reader.found


def _quote(line: str, width: int = 70) -> str:
    line = line.strip()
    return line if len(line) <= width else line[:width - 1] + "…"


def review_flags(nb: dict, workbook: str | None) -> list:
    """The review flags of a notebook (a dict as read from its file) of ``workbook`` (None: unknown,
    so every cell is read), as sentences; see the module docstring."""
    all_cells = [c for c in nb.get("cells", []) if isinstance(c, dict)] if isinstance(nb, dict) else []
    own = layout.own_cells(workbook) if workbook else {}
    own_digests = {d for entry in own.values() for d in entry.digests}
    libraries = _libraries(all_cells)
    flags = []
    above = cells.headings_above(all_cells)
    for index, cell in enumerate(all_cells):
        if cells.kind(cell) != "code":
            continue
        if len(flags) >= MAX_FLAGS:   # a notebook of 10^5 flagged cells: the record, results.json, stay small
            flags.append(f"… and perhaps more: the review stopped after {MAX_FLAGS} flags, at "
                         f"{cells.locate(all_cells, index, above)}")
            break
        text = cells.source(cell)
        if not text.strip():
            continue
        cell_id = cell.get("id")
        mine = own.get(cell_id) if isinstance(cell_id, str) else None
        if mine is not None and mine.unchanged(text):
            continue
        if mine is None and layout.digest(text) in own_digests:
            continue   # an exact copy of one of the workbook's cells (or its id was lost on the way)
        lines = text.split("\n")
        if mine is not None:
            new = {n for n, line in enumerate(lines, start=1) if line.strip() and not mine.own_line(line)}
            status = "a cell of the workbook, changed"
        else:
            new = set(range(1, len(lines) + 1))
            status = "a cell the student added"
        seen: dict = {}
        for kind, number in _read(text, libraries):
            if number in new:
                seen.setdefault(kind, set()).add(number)
        if not seen:
            continue
        where = cells.locate(all_cells, index, above)
        for kind in KINDS:
            if kind not in seen:
                continue
            numbers = sorted(seen[kind])
            quoted = "; ".join(f"line {n}: `{_quote(lines[n - 1])}`" for n in numbers[:EVIDENCE])
            more = f"; and {len(numbers) - EVIDENCE} more line(s)" if len(numbers) > EVIDENCE else ""
            flags.append(f"{where}, {status}: {KINDS[kind]} — {quoted}{more}")
    return flags
