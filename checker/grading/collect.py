"""Find the submissions: which notebook is whose.

Each argument is a notebook file or a folder (searched recursively; checkpoints and hidden
folders are ignored).  A notebook whose file name looks like a workbook (``02_backprop….ipynb``)
belongs to the student named by its folder — the folder-per-student layout,
``submissions/alice/02_backprop….ipynb``; any other notebook belongs to the student named by
its file — ``submissions/wb02/alice.ipynb``.
"""
from __future__ import annotations

import os
import re
import zlib
from dataclasses import dataclass

WORKBOOK_FILE = re.compile(r"^\d\d_.*\.ipynb$")


@dataclass(frozen=True)
class Submission:
    student: str
    path: str
    workbook: str | None = None   # None: decided from the notebook when it is graded


def _notebooks(root: str):
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".ipynb") and not name.startswith("."):
                yield os.path.join(folder, name)


def student_of(path: str) -> str:
    name = os.path.basename(path)
    if WORKBOOK_FILE.match(name):
        return os.path.basename(os.path.dirname(os.path.abspath(path))) or name[:-6]
    return name[:-6]


def _workbook_of(path: str) -> str | None:
    from checker.exercises import registry
    from checker.grading.submission import detect_workbook, read_notebook
    nb, _ = read_notebook(path)
    return detect_workbook(path, nb, {i.split(".")[0] for i in registry()})


def find(paths, workbook: str | None = None) -> tuple[list, list]:
    """(submissions, warnings).  Two notebooks of one student for one workbook: the newer counts."""
    found, warnings = {}, []
    for arg in paths:
        arg = os.fspath(arg)
        if os.path.isdir(arg):
            candidates = list(_notebooks(arg))
        elif os.path.isfile(arg):
            candidates = [arg]
        else:
            warnings.append(f"{arg}: no such file or folder")
            continue
        for path in candidates:
            student = student_of(path)
            key = (student, workbook or _workbook_of(path) or os.path.abspath(path))
            if key in found and found[key].path != os.path.abspath(path):
                older, newer = sorted([found[key].path, os.path.abspath(path)], key=os.path.getmtime)
                warnings.append(f"{student}: two notebooks for one workbook, grading the newer {newer} (not {older})")
                path = newer
            found[key] = Submission(student, os.path.abspath(path), workbook)
    return sorted(found.values(), key=lambda s: (s.student, s.path)), warnings


def in_shard(student: str, shard: tuple[int, int] | None) -> bool:
    """--shard K/N: this machine grades the students whose name hashes to K (1..N)."""
    if shard is None:
        return True
    k, n = shard
    return zlib.crc32(student.encode()) % n == k - 1
