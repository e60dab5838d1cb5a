"""Find the submissions: which notebook is whose.

**The rule.**  Each argument is a folder of submissions (or one notebook).  A notebook belongs to
the student named by the *first name of its path below that folder*:

    submissions/alice/02_backprop….ipynb        -> alice     (a folder per student, any depth:
    submissions/alice/old/draft.ipynb           -> alice      everything under alice/ is alice's)
    submissions/bob.ipynb                       -> bob       (a file per student: its name)

A notebook given as an argument by itself counts as lying directly in a folder: its file name
names the student.  (So a class exported by workbook, ``wb02/alice.ipynb``, is graded with
``grade wb02/``.)  Nothing inside a notebook can change whose it is.

**Hygiene.**  Folders are searched recursively; hidden names and ``.ipynb_checkpoints`` are
ignored.  The grader reads only plain files inside the folders it was given: a symbolic link
(to a file or a folder), a file with other hard links, or anything that is not a regular file is
*refused* — it gets a row in the gradebook saying so, and is never opened.  Two notebooks that
claim the same student and workbook are a *conflict*: neither is graded, and the gradebook says
which files collide (no "newer wins").
"""
from __future__ import annotations

import os
import re
import stat
import zlib
from dataclasses import dataclass, field

WORKBOOK_FILE = re.compile(r"^(\d\d)_.*\.ipynb$")


@dataclass(frozen=True)
class Submission:
    student: str
    path: str
    workbook: str | None = None   # None: decided from the notebook when it is graded
    refused: str | None = None    # why the grader will not open this file
    conflict: tuple = field(default=())   # every notebook claiming this student and workbook, when > 1


def student_of(path: str, root: str | None = None) -> str:
    """The student a notebook belongs to (the rule above); ``root`` is the folder it was found in.

    A name's control characters and undecodable bytes are written as visible escapes (a folder called
    ``ESC[2J…`` is the student ``\\x1b[2J…``): it is shown in the terminal and written into every file."""
    from checker.grading.transfer import printable
    return printable(_student_of(path, root), one_line=True)


def _student_of(path: str, root: str | None) -> str:
    path = os.path.abspath(path)
    if root is None or not os.path.isdir(root):
        return os.path.basename(path)[:-6] if path.endswith(".ipynb") else os.path.basename(path)
    first = os.path.relpath(path, os.path.abspath(root)).split(os.sep)[0]
    return first[:-6] if first.endswith(".ipynb") and first == os.path.basename(path) else first


def _refusal(path: str, info: os.stat_result) -> str | None:
    if stat.S_ISLNK(info.st_mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return (f"{path} is a symbolic link (to {target}); the grader reads only plain files inside the "
                "submission folders — copy the notebook itself there")
    if stat.S_ISDIR(info.st_mode):
        return None
    if not stat.S_ISREG(info.st_mode):
        return f"{path} is not a regular file; the grader reads only plain notebook files"
    if info.st_nlink > 1:
        return (f"{path} has {info.st_nlink - 1} other hard link(s), so it is also a file elsewhere; the grader "
                "reads only plain files inside the submission folders — copy it (cp --no-preserve=links)")
    return None


def _candidates(root: str):
    """(path, refusal or None) for every notebook and every refused entry under a folder."""
    for folder, dirs, files in os.walk(root, followlinks=False):
        keep = []
        for name in sorted(dirs):
            if name.startswith(".") or name == "__pycache__":
                continue
            full = os.path.join(folder, name)
            if os.path.islink(full):
                yield full, _refusal(full, os.lstat(full))
            else:
                keep.append(name)
        dirs[:] = keep
        for name in sorted(files):
            if name.endswith(".ipynb") and not name.startswith("."):
                full = os.path.join(folder, name)
                try:
                    yield full, _refusal(full, os.lstat(full))
                except OSError:
                    continue


def _workbook_of(path: str, known: set) -> str | None:
    from checker.grading.submission import detect_workbook, read_notebook
    nb, _ = read_notebook(path)
    return detect_workbook(path, nb, known)


def _workbook_from_name(path: str, known: set) -> str | None:
    match = WORKBOOK_FILE.match(os.path.basename(path))
    return f"wb{match.group(1)}" if match and f"wb{match.group(1)}" in known else None


def find(paths, workbook: str | None = None) -> tuple[list, list]:
    """(submissions, warnings) under ``paths``, by the rule of this module.

    Refused files and conflicts are submissions too (``refused`` / ``conflict`` set), so that they
    get a row; each also gives a warning.
    """
    from checker.exercises import registry
    known = {i.split(".")[0] for i in registry()}
    claims: dict = {}
    warnings = []
    for arg in paths:
        arg = os.fspath(arg)
        if os.path.isdir(arg):
            root = os.path.realpath(arg)      # the instructor's own folder may be a link; what is in it may not
            candidates = list(_candidates(root))
        elif os.path.lexists(arg):
            root = None
            candidates = [(os.path.abspath(arg), _refusal(os.path.abspath(arg), os.lstat(arg)))]
        else:
            warnings.append(f"{arg}: no such file or folder")
            continue
        for path, refusal in candidates:
            student = student_of(path, root)
            if refusal is not None:
                warnings.append(f"{student}: refused {refusal}")
                wb = workbook or _workbook_from_name(path, known)
            else:
                wb = workbook or _workbook_of(path, known)
            claim = claims.setdefault((student, wb, None if wb else path), {})
            claim.setdefault(path, refusal)
    found = []
    for (student, wb, _), claimed in claims.items():
        paths_claiming = list(claimed)
        if len(paths_claiming) == 1:
            path = paths_claiming[0]
            found.append(Submission(student, path, workbook if claimed[path] is None else wb, claimed[path]))
        else:
            warnings.append(f"{student}: {len(paths_claiming)} notebooks claim workbook {wb} "
                            f"({', '.join(paths_claiming)}); none is graded until only one is left")
            found.append(Submission(student, paths_claiming[0], wb, conflict=tuple(paths_claiming)))
    return sorted(found, key=lambda s: (s.student, s.path)), warnings


def in_shard(student: str, shard: tuple[int, int] | None) -> bool:
    """--shard K/N: this machine grades the students whose name hashes to K (1..N)."""
    if shard is None:
        return True
    k, n = shard
    return zlib.crc32(student.encode()) % n == k - 1
