"""The class roster: which LMS account each student folder of the grader is.

``roster.csv``: a header row, then one row per student; UTF-8 (a spreadsheet's byte-order mark is
fine), separated by commas (semicolons or tabs are recognised too).  Column names are matched
without regard to case, spaces or hyphens; the common names of LMS exports are understood too
(``SIS User ID``, ``ID number``, ``SID`` for sis_id; ``Email address`` for email; ``Username``,
``SIS Login ID`` for login_id; ``Canvas ID``, ``User ID`` for lms_id).

    column       holds                                        goes into
    student      the folder (or file) name the grader uses:   - (required: the link to the grades)
                 alice for submissions/alice/… or alice.ipynb
    name         the display name, "Ada Lovelace"             Canvas Student; Moodle/Gradescope first name
    first_name,  instead of name, or beside it                Canvas "Last, First"; Moodle, Gradescope
    last_name
    email        the e-mail address                           Moodle Email address; Gradescope Email (required)
    sis_id       the SIS / student id number                  Canvas SIS User ID; Moodle ID number; Gradescope SID
    lms_id       the LMS's own user id                        Canvas ID
    login_id     the login name                               Canvas SIS Login ID; Moodle Username
    section      the section                                  Canvas Section; Gradescope Sections

Only ``student`` is required by the file; each export needs a way to find the student in its LMS
(checker/grading/export.py says which).  A row is never dropped: one without what its LMS needs is
still written, and listed for the instructor.
"""
from __future__ import annotations

import csv
import difflib
import io
import re
from dataclasses import dataclass, field

COLUMNS = ("student", "name", "first_name", "last_name", "email", "sis_id", "lms_id", "login_id", "section")
ALIASES = {
    "folder": "student", "student_folder": "student",
    "full_name": "name", "display_name": "name", "student_name": "name",
    "first": "first_name", "given_name": "first_name", "firstname": "first_name",
    "last": "last_name", "surname": "last_name", "family_name": "last_name", "lastname": "last_name",
    "e_mail": "email", "email_address": "email", "mail": "email",
    "sis_user_id": "sis_id", "id_number": "sis_id", "idnumber": "sis_id", "sid": "sis_id", "student_id": "sis_id",
    "student_number": "sis_id",
    "canvas_id": "lms_id", "canvas_user_id": "lms_id", "user_id": "lms_id", "lms_user_id": "lms_id",
    "username": "login_id", "sis_login_id": "login_id", "login": "login_id", "user_name": "login_id",
    "sections": "section",
}
MAX_BYTES = 16 * 2**20


class RosterError(ValueError):
    """The roster cannot be used as it is; the message says what to change."""


@dataclass
class Entry:
    student: str
    line: int
    values: dict = field(default_factory=dict)

    def get(self, column: str) -> str:
        return self.values.get(column, "")

    @property
    def first_and_last(self) -> tuple:
        """(first name, last name): the roster's own, or its display name as the first."""
        if self.get("first_name") or self.get("last_name"):
            return self.get("first_name"), self.get("last_name")
        return self.get("name"), ""

    @property
    def sortable_name(self) -> str:
        """"Last, First" (as Canvas shows students), or the display name."""
        first, last = self.get("first_name"), self.get("last_name")
        if first or last:
            return f"{last}, {first}".strip(", ")
        return self.get("name")


@dataclass
class Roster:
    path: str
    columns: tuple                    # the roster's columns, by the names of COLUMNS
    entries: list                     # Entry, in the file's order
    warnings: list = field(default_factory=list)

    def by_student(self) -> dict:
        return {e.student: e for e in self.entries if e.student}


def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", (name or "").strip().lower())


def read(path: str) -> Roster:
    """The roster at ``path``; RosterError (with what to change) when it cannot be used."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as error:
        raise RosterError(f"{path}: cannot be read ({error.strerror or error})") from None
    if len(raw) > MAX_BYTES:
        raise RosterError(f"{path}: larger than {MAX_BYTES // 2**20} MiB; is it the roster?")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RosterError(f"{path}: not UTF-8 text; save it from the spreadsheet as 'CSV UTF-8'") from None
    first = text.split("\n", 1)[0]
    if not first.strip():
        raise RosterError(f"{path}: empty, or no header row; the first row names the columns, e.g. "
                          "student,name,email,sis_id")
    from checker.grading.outputs import delimiter
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter(first))
    header = next(reader)
    columns, warnings = [], []
    for raw_name in header:
        key = _key(raw_name)
        key = ALIASES.get(key, key)
        if key in COLUMNS and key not in columns:
            columns.append(key)
        elif key in COLUMNS:
            raise RosterError(f"{path}: two columns mean {key} ({raw_name!r} and another); keep one")
        else:
            near = difflib.get_close_matches(key, COLUMNS + tuple(ALIASES), n=1, cutoff=0.7)
            hint = f" (did you mean {ALIASES.get(near[0], near[0])}?)" if near else ""
            warnings.append(f"{path}: column {raw_name!r} is not a roster column{hint}: ignored")
            columns.append(None)
    if "student" not in columns:
        near = [w for w in warnings if "did you mean student" in w]
        raise RosterError(f"{path}: no column 'student' (the folder name the grader uses for each student)"
                          + (f"; {near[0]}" if near else "")
                          + f"; its columns are {', '.join(repr(h) for h in header)}. The columns: "
                          + ", ".join(COLUMNS) + " (docs/grading.md, 'Export to an LMS')")
    entries, seen = [], {}
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        values = {c: (row[i].strip() if i < len(row) else "") for i, c in enumerate(columns) if c}
        student = values.pop("student", "")
        if not student:   # kept: written with empty grades, and listed
            warnings.append(f"{path} line {number}: no student folder name, so no grades can be matched to this row "
                            f"({', '.join(v for v in values.values() if v) or 'empty'})")
        elif student in seen:
            raise RosterError(f"{path} line {number}: {student} is on line {seen[student]} too; one row per "
                              "student folder")
        else:
            seen[student] = number
        entries.append(Entry(student, number, values))
    return Roster(path, tuple(c for c in columns if c), entries, warnings)
