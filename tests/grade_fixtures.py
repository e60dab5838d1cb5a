"""A generated class of submissions for the grading tests and benchmark.

Everything is made at run time from the notebooks in solutions/ (the student versions with
tools/build_notebooks.py), so the tests follow the workbooks as they change.  No fixture
notebook is stored under tests/: the README's test command runs nbval on every .ipynb there,
and these are meant to be hostile.
"""
from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"

_spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "tools" / "build_notebooks.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)


def sandbox_available() -> bool:
    """Whether bubblewrap can run here; CHECKER_REQUIRE_SANDBOX=1 (CI, which installs it) makes its absence
    an error instead of a reason to grade with --trust-notebooks."""
    from checker.grading import sandbox
    try:
        sandbox.find()
        return True
    except sandbox.SandboxUnavailable:
        if os.environ.get("CHECKER_REQUIRE_SANDBOX") == "1":
            raise
        return False


def solution_path(number: int) -> Path:
    [path] = sorted(SOLUTIONS.glob(f"{number:02d}_*.ipynb"))
    return path


def solution(number: int) -> dict:
    return json.loads(solution_path(number).read_text(encoding="utf-8"))


def student(number: int) -> dict:
    """The untouched student version, exactly as tools/build_notebooks.py builds it."""
    return json.loads(build.build_text(solution_path(number)))


def _source(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _set_source(cell, text: str) -> None:
    cell["source"] = text


def code_cell(source: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "id": uuid.uuid4().hex[:8], "metadata": {},
            "outputs": [], "source": source}


def cell_defining(nb: dict, name: str) -> dict:
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and re.search(rf"^def {re.escape(name)}\(", _source(cell), re.MULTILINE):
            return cell
    raise LookupError(f"no cell defines {name}")


def set_body(nb: dict, name: str, body: str) -> dict:
    """Replace the solution region inside ``def name`` with ``body`` (indented by 4)."""
    nb = copy.deepcopy(nb)
    cell = cell_defining(nb, name)
    text = _source(cell)
    pattern = re.compile(r"(^[ \t]*### BEGIN SOLUTION\n).*?(^[ \t]*### END SOLUTION)", re.DOTALL | re.MULTILINE)
    indented = "".join("    " + line + "\n" for line in body.strip("\n").splitlines())
    new, count = pattern.subn(lambda m: m.group(1) + indented + m.group(2), text, count=1)
    assert count == 1, f"no solution region in the cell of {name}"
    _set_source(cell, new)
    return nb


def replace_function(nb: dict, name: str, source: str) -> dict:
    """Put ``source`` (a whole def, maybe with helpers) in place of the def of ``name``, keeping the check."""
    nb = copy.deepcopy(nb)
    cell = cell_defining(nb, name)
    text = _source(cell)
    start = re.search(rf"^def {re.escape(name)}\(", text, re.MULTILINE).start()
    body = text.index("\n", start) + 1
    end = re.search(r"^\S", text[body:], re.MULTILINE)
    end = body + end.start() if end else len(text)
    _set_source(cell, text[:start] + source.strip("\n") + "\n\n" + text[end:])
    return nb


def rename(nb: dict, old: str, new: str) -> dict:
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            _set_source(cell, re.sub(rf"\b{re.escape(old)}\b(?!\")", new, _source(cell)))
    return nb


def insert_cell(nb: dict, source: str, *, after: str | None = None, at_end: bool = False) -> dict:
    """A new code cell after the first cell containing ``after`` (or after the imports, or at the end)."""
    nb = copy.deepcopy(nb)
    if at_end:
        nb["cells"].append(code_cell(source))
        return nb
    marker = after or "import numpy as np"
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code" and marker in _source(cell):
            nb["cells"].insert(index + 1, code_cell(source))
            return nb
    raise LookupError(f"no cell contains {marker!r}")


def set_answer(nb: dict, name: str, value: str) -> dict:
    """In a student notebook: ``name = ...  # your answer`` -> ``name = value``."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            text = _source(cell)
            new = re.sub(rf"^{re.escape(name)} = \.\.\..*$", f"{name} = {value}", text, flags=re.MULTILINE)
            if new != text:
                _set_source(cell, new)
                return nb
    raise LookupError(f"no stub answer {name}")


def write(nb, folder: Path, student_name: str, number: int) -> Path:
    """folder/student/NN_….ipynb (the folder-per-student layout); nb may be a dict or raw text."""
    path = folder / student_name / solution_path(number).name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nb if isinstance(nb, str) else json.dumps(nb, indent=1), encoding="utf-8")
    return path


# --- the students ----------------------------------------------------------------------------------

def planted_mistakes_wb02() -> dict:
    """grad_W2 transposed, and σ where σ' belongs in grad_z2 (which backward uses too)."""
    nb = set_body(solution(2), "grad_W2", "return np.outer(dz2, h1)")
    return set_body(nb, "grad_z2", "return sigmoid(z2) * dh2")


def renamed_wb01() -> dict:
    return rename(solution(1), "grad_W3", "grad_w3")


KILL_WHEN_GRADED = '''
def grad_z3(h3, y):
    """Right, except that it kills its kernel when the grader (not check) calls it."""
    import os, sys
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__") == "_checker_grader":
            os._exit(1)
        frame = frame.f_back
    return h3 - y
'''


def kernel_killer_wb01() -> dict:
    """A scratch cell that calls os._exit, and a grad_z3 that kills the kernel while being graded."""
    nb = insert_cell(solution(1), "import os\nos._exit(3)")
    return replace_function(nb, "grad_z3", KILL_WHEN_GRADED)


def hanging_wb01() -> dict:
    """An infinite loop (interrupted at the cell limit) and one that ignores interrupts (killed)."""
    nb = insert_cell(solution(1), "while True:\n    pass")
    return insert_cell(nb, "import time\nwhile True:\n    try:\n        time.sleep(0.05)\n"
                           "    except KeyboardInterrupt:\n        pass", after="while True:\n    pass")


def memory_bomb_wb01() -> dict:
    """A cell that asks for 64 GiB, and a grad_W3 that asks for 4 GiB (more than the tests' cap)."""
    nb = insert_cell(solution(1), "hog = bytearray(64 * 2**30)")
    return set_body(nb, "grad_W3", "big = np.ones(2**29)  # 4 GiB\nreturn np.outer(h2, dz3) + big[0] - 1")


HOSTILE_SETUP = '''
import builtins, os, sys, types
import numpy as np
import checker
from checker.result import Result

# every comparison says "equal"
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), dtype=bool)
np.testing.assert_allclose = lambda *a, **k: None

# every evaluation says "full marks"
def _full_marks(exercise_id, submission=None, **kwargs):
    return Result(exercise_id, True, 100.0, 1.0, None, "passed", {})
checker.evaluate = _full_marks
checker.check = _full_marks
fake = types.ModuleType("checker")
fake.evaluate = fake.check = _full_marks
fake.report = lambda *a, **k: print("Workbook wb01: 1000/23.5 points")
sys.modules["checker"] = fake
sys.modules["checker.evaluate"] = fake
sys.modules["checker.judge"] = fake

# claims of success, and a gradebook of its own
print("✓ Passed: wb01.grad_W3 (1/1 points)")
print("All tests passed. Score: 100%")
with open("grades.csv", "w") as f:
    f.write("student,total\\nmallory,1000\\n")
with open("results.json", "w") as f:
    f.write('{"students": {"mallory": {"total": 1000}}}')
sys.exit(0)
'''

RIGGED = '''
class Rigged(np.ndarray):
    """Equal to everything, close to everything, and the right shape whatever is asked."""
    def __eq__(self, other):
        return True
    __ne__ = lambda self, other: False
    def __array_ufunc__(self, *args, **kwargs):
        return True
    @property
    def shape(self):
        return (256, 10)

class Anything:
    def __eq__(self, other):
        return True
    def __array__(self, *args, **kwargs):
        raise RuntimeError("no")
'''


def hostile_wb01() -> dict:
    """Tries every attack; computes only shape_x and grad_b3 (0.5 + 1 point) honestly."""
    nb = student(1)
    nb = insert_cell(nb, HOSTILE_SETUP)
    nb = insert_cell(nb, RIGGED, at_end=False, after="sys.exit(0)")
    nb = set_answer(nb, "shape_x", "(1024,)")
    nb = _stub_body(nb, "grad_W3", "return np.zeros((10, 256)).view(Rigged)")
    nb = _stub_body(nb, "sigmoid", "return Anything()")
    nb = _stub_body(nb, "softmax", "import sys\nsys.exit(0)")
    nb = _stub_body(nb, "grad_b3", "return dz3.copy()")
    return nb


def _stub_body(nb: dict, name: str, body: str) -> dict:
    nb = copy.deepcopy(nb)
    cell = cell_defining(nb, name)
    text = _source(cell)
    indented = "\n".join("    " + line for line in body.splitlines())
    new = re.sub(r"^[ \t]*raise NotImplementedError\(.*\)$", lambda m: indented, text, count=1, flags=re.MULTILINE)
    assert new != text, f"{name} has no stub"
    _set_source(cell, new)
    return nb


def fragile_wb01() -> dict:
    """Right answers by fragile means: the naive sigmoid (numpy overflows at z = -1000) and a grad_b3 that
    returns the array it was given."""
    nb = set_body(solution(1), "sigmoid", "return 1 / (1 + np.exp(-z))")
    return set_body(nb, "grad_b3", "return dz3")


def generate_class(folder: Path, *, only=None) -> dict:
    """Write the test class under ``folder``: {student: (path, what is expected)}."""
    makers = {
        "alice": [(1, lambda: solution(1)), (2, lambda: solution(2))],                 # full marks
        "bob": [(1, lambda: student(1)), (2, lambda: student(2))],                     # untouched
        "carol": [(2, planted_mistakes_wb02)],
        "dave": [(1, lambda: json.dumps(solution(1))[:5000])],                          # invalid JSON
        "erin": [(1, renamed_wb01)],
        "frank": [(1, kernel_killer_wb01)],
        "grace": [(1, hanging_wb01)],
        "heidi": [(1, memory_bomb_wb01)],
        "mallory": [(1, hostile_wb01)],
        "nadia": [(1, fragile_wb01)],
    }
    written = {}
    for name, notebooks in makers.items():
        if only is not None and name not in only:
            continue
        for number, make in notebooks:
            written.setdefault(name, []).append(write(make(), folder, name, number))
    return written
