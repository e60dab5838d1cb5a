"""Grade one submission: one student's notebook for one workbook -> a record (plain JSON data).

1. Read the notebook file (invalid JSON: every item 0, "not_run", with the reason).
2. Run its code cells in a fresh kernel (kernel.py) with a limit per cell and per run.  A cell
   that is still running at its limit is interrupted; one that kills or hangs the kernel is
   skipped and the notebook is run again without it (at most ``restarts`` times).
3. Ask the kernel, as data, what each graded name holds; grade every answer with
   ``checker.evaluate`` and every function with ``checker.evaluate(..., call=<in the kernel>)``:
   the inputs come from a seed the kernel never sees and every comparison runs here.
4. Written answers are read from the notebook file itself (cells tagged ``written-answer``),
   never from the kernel, and left for manual grading.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import secrets
import stat
import tempfile
import time
import zlib
from dataclasses import dataclass, field

from checker.evaluate import evaluate
from checker.exercises import Exercise, Question, registry
from checker.grading import cells, review
from checker.result import Result

WRITTEN_TAG = "written-answer"
PLACEHOLDER = "*Your answer here.*"
# Errors a check cell raises by design; the exercise's own feedback already says what went wrong.
CHECK_ERRORS = {"CheckFailed", "NotImplementedYet", "NotImplementedError"}
WORKBOOK_ID = re.compile(r"\b(wb\d\d)\.\w+")
FILE_WORKBOOK = re.compile(r"^(\d\d)_")
MAX_NOTEBOOK_BYTES = 32 * 2**20   # larger files are not read (a workbook with its outputs is under 1 MiB)
MAX_WRITTEN = 200                 # written answers kept per notebook (a workbook has at most 45)
WRITTEN_CHARS = 20_000            # characters kept of one written answer
WRITTEN_TOTAL = 400_000           # ... and of all of them: 32 MiB of answers made a record too large to read


@dataclass
class Settings:
    cell_timeout: float = 60.0        # s, each cell while the notebook runs
    notebook_timeout: float = 300.0   # s, each run of the whole notebook
    call_timeout: float = 10.0        # s, each call of a student's function while grading
    memory_bytes: int | None = 4 * 2**30
    restarts: int = 2                 # new kernels after one died or hung
    startup_timeout: float = 60.0
    seed: int | None = None           # base seed; fresh for each submission when None

    def to_json(self) -> dict:
        return dict(self.__dict__)


# --- the notebook file ---------------------------------------------------------------------------

def read_bytes(path: str):
    """(the file's bytes, None) or (None, why not): a plain file (not through a link), at most
    MAX_NOTEBOOK_BYTES."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        if os.path.islink(path):
            return None, "it is a symbolic link; the grader reads only plain files"
        return None, f"the file could not be opened ({error.strerror})"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, "it is not a regular file"
        if info.st_size > MAX_NOTEBOOK_BYTES:
            return None, (f"the file is {info.st_size / 2**20:.0f} MiB, more than the "
                          f"{MAX_NOTEBOOK_BYTES // 2**20} MiB the grader reads (clear the outputs and submit again)")
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read(MAX_NOTEBOOK_BYTES + 1)
        if len(raw) > MAX_NOTEBOOK_BYTES:
            return None, f"the file is more than the {MAX_NOTEBOOK_BYTES // 2**20} MiB the grader reads"
        return raw, None
    except MemoryError:
        return None, "the file is too large to read"
    finally:
        os.close(fd)


def parse_notebook(raw: bytes):
    """(notebook dict, None) or (None, why it is not a notebook); never raises."""
    try:
        nb = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "the file is not text (UTF-8)"
    except RecursionError:
        return None, "the file nests its JSON too deeply to be a notebook"
    except MemoryError:
        return None, "the file is too large to read"
    except ValueError as error:
        return None, f"the file is not valid notebook JSON ({str(error)[:200]})"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return None, "the file is JSON but not a notebook (it has no list of cells)"
    return nb, None


def read_notebook(path: str):
    """(notebook dict, None) or (None, why it cannot be read); never raises."""
    raw, why = read_bytes(path)
    return (None, why) if raw is None else parse_notebook(raw)


def _source(cell) -> str:
    source = cell.get("source", "") if isinstance(cell, dict) else ""
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def code_cells(nb: dict) -> list:
    """[(number, source)] of the code cells, numbered as checker/grading/cells.py says: every cell
    counted from the top, from 1, markdown included."""
    return [(n, _source(c)) for n, c in enumerate(nb["cells"], start=1)
            if isinstance(c, dict) and c.get("cell_type") == "code"]


def written_answers(nb: dict) -> list:
    """[{'id', 'text', 'answered'}] for the markdown cells tagged written-answer, in order; one per id (cells
    that share an id — a cell copied — are one answer, the texts of those answered one after the other)."""
    out, by_id, left = [], {}, WRITTEN_TOTAL
    for cell in nb["cells"]:
        if len(by_id) >= MAX_WRITTEN:
            break
        if not isinstance(cell, dict) or cell.get("cell_type") != "markdown":
            continue
        meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        tags = meta.get("tags") if isinstance(meta.get("tags"), list) else []
        if WRITTEN_TAG not in tags:
            continue
        answer_id = (meta.get("checker") or {}).get("answer_id") if isinstance(meta.get("checker"), dict) else None
        if not isinstance(answer_id, str):
            continue
        text = _source(cell)
        kept = text[:max(0, min(WRITTEN_CHARS, left))]
        left -= len(kept)
        if len(kept) < len(text):
            kept += f" … (cut: the grader keeps {WRITTEN_CHARS:,} characters of an answer, {WRITTEN_TOTAL:,} of all)"
        answer = {"id": answer_id[:200], "text": kept, "answered": PLACEHOLDER not in text}
        first = by_id.get(answer["id"])
        if first is None:
            by_id[answer["id"]] = answer
            out.append(answer)
        elif answer["answered"]:
            first["text"] = (first["text"] + "\n\n" if first["answered"] else "") + answer["text"]
            first["answered"] = True
    return out


def detect_workbook(path: str, nb: dict | None, known: set) -> str | None:
    """The workbook of a notebook: its file name ``NN_…``, else the ids its cells mention most."""
    match = FILE_WORKBOOK.match(os.path.basename(path))
    if match and f"wb{match.group(1)}" in known:
        return f"wb{match.group(1)}"
    if nb is None:
        return None
    counts: dict = {}
    for cell in nb["cells"]:
        for wb in WORKBOOK_ID.findall(_source(cell)):
            if wb in known:
                counts[wb] = counts.get(wb, 0) + 1
    return max(counts, key=counts.get) if counts else None


def _cell_label(number: int, source: str) -> str:
    first = cells.first_line(source)
    return f"cell {number} (`{first}`)" if first else f"cell {number}"


# --- running the notebook ---------------------------------------------------------------------------

@dataclass
class Run:
    """The state of running one notebook, across kernel restarts."""
    session: object
    cells: list
    settings: Settings
    skipped: dict = field(default_factory=dict)   # cell number -> why
    notes: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    restarts_left: int = 0
    failure: str | None = None                    # why nothing more can be graded
    grader_fault: bool = False                    # the failure is the grader's (retried next run)

    def run(self) -> bool:
        """Start a kernel and run every cell not skipped; True when a live kernel is left."""
        while True:
            for attempt in range(3):
                try:
                    self.session.start()
                    break
                except Exception as error:  # noqa: BLE001 -- a kernel that cannot start is the grader's problem
                    if attempt == 2:
                        self.failure = f"a kernel could not be started for it ({type(error).__name__}: {error})"
                        self.grader_fault = True
                        return False
                    time.sleep(1.0)
            outcome = self._run_cells()
            if outcome is None:
                return True
            number, status = outcome
            label = _cell_label(number, dict(self.cells)[number])
            why = ("stopped the kernel (os._exit, exit(), a crash, or running out of memory)" if status == "died"
                   else f"was still running after {self.settings.cell_timeout:g} s and could not be interrupted")
            self.skipped[number] = why
            if self.restarts_left <= 0:
                self.notes.append(f"{label} {why}.")
                self.failure = f"{label} {why}, and the kernel had already been restarted " \
                               f"{self.settings.restarts} time(s)"
                return False
            self.restarts_left -= 1
            self.notes.append(f"{label} {why}; it was skipped and the notebook run again without it.")

    def restart(self, reason: str) -> bool:
        """A new kernel after one died or hung while grading: run the notebook again."""
        if self.restarts_left <= 0:
            self.failure = f"{reason}, and the kernel had already been restarted {self.settings.restarts} time(s)"
            return False
        self.restarts_left -= 1
        self.notes.append(f"{reason[:1].upper()}{reason[1:]}; the notebook was run again in a new kernel "
                          "to grade the rest.")
        self.errors = []
        return self.run()

    def _run_cells(self):
        """None when every cell ran (or the run's time ran out); (cell number, status) on died/hung."""
        deadline = time.monotonic() + self.settings.notebook_timeout
        for number, source in self.cells:
            if number in self.skipped or not source.strip():
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.notes.append(f"Running the notebook took longer than {self.settings.notebook_timeout:g} s: "
                                  f"cells from {_cell_label(number, source)} on were not run.")
                return None
            limit = min(self.settings.cell_timeout, remaining)
            done = self.session.execute(source, limit)
            if done.status in ("died", "hung"):
                return number, done.status
            if done.status == "timeout":
                if limit < self.settings.cell_timeout:
                    self.notes.append(f"Running the notebook took longer than {self.settings.notebook_timeout:g} s: "
                                      f"{_cell_label(number, source)} was interrupted and the cells after it were "
                                      "not run.")
                    return None
                self.notes.append(f"{_cell_label(number, source)} was still running after "
                                  f"{self.settings.cell_timeout:g} s and was interrupted.")
            elif done.status == "error" and done.ename not in CHECK_ERRORS:
                self.errors.append(f"{_cell_label(number, source)} raised {done.ename}: {done.evalue}")
        return None


# --- grading --------------------------------------------------------------------------------------

class KernelFunction:
    """Stands for a student's function that lives in their kernel; only its name travels."""

    def __init__(self, name: str, defined_as: str):
        self.name = name
        self.__name__ = defined_as

    def __call__(self, *args, **kwargs):
        raise RuntimeError("a student's function runs only in their kernel")


def exercise_seed(base: int, exercise_id: str) -> int:
    return (base + zlib.crc32(exercise_id.encode())) % 1_000_000


def _result_json(result: Result, kind: str) -> dict:
    return {"id": result.exercise_id, "kind": kind, "points": float(result.score),
            "max_points": float(result.max_score), "passed": bool(result.passed),
            "diagnosis": result.diagnosis, "message": result.message, "details": _plain(result.details),
            "warnings": [str(w) for w in getattr(result, "warnings", [])]}


def _plain(value):
    """JSON-safe copy of a details dict (tuples -> lists, numpy scalars -> Python)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        try:
            return value.item()
        except (ValueError, TypeError):
            return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _zero(entry, code: str, message: str) -> Result:
    return Result(entry.id, False, 0.0, entry.points, code, message, {})


def _missing(entry, defined: list, run: Run) -> Result:
    kind = "function" if isinstance(entry, Exercise) else "answer variable"
    for number, why in run.skipped.items():
        source = dict(run.cells).get(number, "")
        if re.search(rf"(\bdef\s+{re.escape(entry.name)}\b|^\s*{re.escape(entry.name)}\s*=)", source, re.MULTILINE):
            return _zero(entry, "missing", f"{entry.name} is defined in {_cell_label(number, source)}, which {why}; "
                                           "so it was never defined. Nothing could be graded.")
    message = f"No {kind} named {entry.name} was found after running the notebook."
    near = difflib.get_close_matches(entry.name, defined, n=2, cutoff=0.6) if defined else []
    if near:
        message += f" Did you rename it? The notebook defines {', '.join(near)}; the grader looks for {entry.name}."
    else:
        message += f" Keep the name {entry.name} exactly as the workbook gives it, and make sure its cell runs."
    return _zero(entry, "missing", message)


def grade_submission(path: str, student: str, workbook: str | None, settings: Settings,
                     scratch: str | None = None, on_kernel=None, environment=None, spares=None) -> dict:
    """The record of one submission (see docs/grading.md for its fields).  Never raises for
    anything the notebook does.  on_kernel(pgid) is told about each kernel started.

    ``environment`` is the run's KernelEnvironment (environment.py); without one, a sandboxed one
    is prepared for this notebook alone (and SandboxUnavailable raised when there is no sandbox).
    ``spares``: a kernel.Spares of that environment to take each kernel from (a worker's: launched
    while the notebook before was graded); without it each kernel is launched when it is needed.
    """
    from checker.grading import environment as kernel_environment
    if environment is None:
        folder = tempfile.mkdtemp(prefix="checker-kernel-", dir=scratch)
        try:
            env = kernel_environment.prepare(folder)
            try:
                return grade_submission(path, student, workbook, settings, scratch, on_kernel, env)
            finally:
                kernel_environment.release(env)
        finally:
            _remove(folder)

    from checker.grading.kernel import KernelSession

    started = time.time()
    clock = time.monotonic()
    table = registry()
    raw, unreadable = read_bytes(path)
    nb, unreadable = (None, unreadable) if raw is None else parse_notebook(raw)
    workbook = workbook or detect_workbook(path, nb, {i.split(".")[0] for i in table})
    base_seed = settings.seed if settings.seed is not None else secrets.randbelow(1_000_000)
    record = {"version": 2, "student": student, "workbook": workbook, "notebook": os.path.abspath(path),
              "sha256": hashlib.sha256(raw).hexdigest() if raw is not None else None, "complete": True,
              "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)), "seconds": 0.0,
              "seed": base_seed, "settings": settings.to_json(), "sandbox": environment.description,
              "items": [], "written": [], "notes": [], "errors": [], "flags": []}

    def finish(results: list) -> dict:
        record["items"] = results
        record["score"] = round(sum(r["points"] for r in results), 4)
        record["max_score"] = round(sum(r["max_points"] for r in results), 4)
        record["seconds"] = round(time.monotonic() - clock, 3)
        return record

    if workbook is None:
        record["workbook"] = "unknown"
        if nb is None:
            record["notes"].append(f"The notebook could not be read: {unreadable}.")
        record["notes"].append("The grader could not tell which workbook this notebook is "
                               "(name it like 02_….ipynb, or grade with --workbook).")
        return finish([])
    entries = [e for i, e in table.items() if i.startswith(workbook + ".")]
    if nb is None:
        reason = f"The notebook could not be read: {unreadable}. Nothing in it could be run or graded."
        record["notes"].append(reason)
        return finish([_result_json(_zero(e, "not_run", reason), _kind(e)) for e in entries])

    record["written"] = written_answers(nb)
    functions = [e for e in entries if isinstance(e, Exercise)]
    questions = [e for e in entries if isinstance(e, Question)]
    record["flags"] = review.review_flags(nb, workbook)

    root = tempfile.mkdtemp(prefix="grade-", dir=scratch)
    session = KernelSession(raw, path, root, environment, memory_bytes=settings.memory_bytes,
                            startup_timeout=settings.startup_timeout, spares=spares)
    if on_kernel is not None:
        start = session.start

        def start_and_tell():
            start()
            on_kernel(session.pgid)
        session.start = start_and_tell
    run = Run(session, code_cells(nb), settings, restarts_left=settings.restarts)
    results = {}
    try:
        if run.run():
            probe = session.probe([e.name for e in functions], [q.name for q in questions])
            if probe is None:
                run.failure = "the grader could not read the names it defines from the kernel"
            else:
                for q in questions:
                    if q.name in probe["values"]:
                        results[q.id] = evaluate(q.id, probe["values"][q.name])
                    else:
                        results[q.id] = _missing(q, probe["defined"], run)
                last = None
                for entry in functions:
                    if not session.alive():
                        if not run.restart(f"the kernel stopped while {last} was being graded"):
                            break
                        probe = session.probe([e.name for e in functions], []) or probe
                    results[entry.id] = _grade_function(entry, probe, session, settings, base_seed, run)
                    last = entry.name
        for e in entries:
            if e.id not in results:
                reason = (f"Not graded: {run.failure}." if run.failure else "Not graded.")
                results[e.id] = _zero(e, "not_run", reason)
    finally:
        session.close()
        _remove(root)
    record["kernel_cpu_seconds"] = round(session.cpu_seconds, 3)
    record["notes"] += list(dict.fromkeys(run.notes))
    if run.grader_fault:
        record["complete"] = False
        record["notes"].append(f"The grader could not grade this notebook ({run.failure}); "
                               "it will be tried again on the next run.")
    record["errors"] = run.errors[:20]
    return finish([_result_json(results[e.id], _kind(e)) for e in entries])


def _kind(entry) -> str:
    return "function" if isinstance(entry, Exercise) else "answer"


def _grade_function(entry: Exercise, probe: dict, session, settings: Settings, base_seed: int, run: Run) -> Result:
    info = probe["functions"].get(entry.name, {"found": False})
    if not info.get("found"):
        return _missing(entry, probe["defined"], run)
    if not info.get("callable"):
        return evaluate(entry.id, info.get("value"))
    session.last = None

    def call(fn, args, timeout):
        if session.last in ("died", "hung"):  # no kernel left to call: the first failure stands
            return session.call_failed
        outcome = session.call(fn.name, args, timeout)
        if session.last in ("died", "hung"):
            session.call_failed = outcome
        return outcome

    result = evaluate(entry.id, KernelFunction(entry.name, info.get("name") or entry.name),
                      seed=exercise_seed(base_seed, entry.id), timeout=settings.call_timeout, call=call)
    if session.last == "died":
        return Result(entry.id, False, 0.0, entry.points, "kernel_died",
                      f"The kernel stopped while {entry.name} was running: it called os._exit() or exit(), "
                      f"crashed, or ran out of memory (the limit is "
                      f"{(settings.memory_bytes or 0) / 2**30:.1f} GiB).", dict(result.details))
    if session.last == "hung":
        return Result(entry.id, False, 0.0, entry.points, "timeout",
                      f"{entry.name} did not return within {settings.call_timeout:g} s and did not stop when "
                      "interrupted, so its kernel was stopped. Is there a loop that never ends?",
                      dict(result.details))
    return result


def _remove(folder: str) -> None:
    import shutil
    shutil.rmtree(folder, ignore_errors=True)
