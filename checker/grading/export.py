"""``python -m checker export DIR --to canvas|moodle|gradescope|csv --roster roster.csv``: the gradebook for an LMS.

One points column per workbook graded in DIR: the automatically graded points plus the written
answers' points the instructor has entered in written.csv (each within its maximum), and that
workbook's maximum (the exercise table's points and every written answer's maximum, so it is the
same for every student).  Students are matched to LMS accounts through the roster
(checker/grading/roster.py).  Nobody is dropped:

* a roster row without grades (no notebook, or none for one workbook) is written with empty
  points (``--missing zero``: 0);
* a graded student who is not on the roster cannot go into an LMS file; ``--to csv`` writes them
  anyway, and every export lists them, with their points, in the check file beside it;
* the check file also lists rows without what their LMS matches students by, written answers not
  graded yet (their points are not in the total yet), and notebooks the grader could not grade.

The formats (sources in docs/grading.md, "Export to an LMS"):

canvas      Canvas's gradebook CSV, as its Gradebook export writes it and its import reads it:
            ``Student, ID, SIS User ID, SIS Login ID, Section``, then a column per assignment, and a
            second row ``Points Possible`` with each assignment's maximum.  Canvas matches a student
            by ID, SIS User ID or SIS Login ID; a column whose title is new creates an assignment.
moodle      Moodle's grade import (CSV file): ``First name, Last name, ID number, Username, Email
            address``, then a column per grade item; on import, "Map from" one of the identifier
            columns to the same user field, and each workbook column to a grade item.  Moodle has no
            row for maxima: the default titles carry it, ``(max 70.5)``, and a grade item must allow it.
gradescope  the layout of Gradescope's grade export (``First Name, Last Name, SID, Email, Sections``,
            then per assignment its points and ``<assignment> - Max Points``), the student columns
            being those of Gradescope's roster upload (Email is how it matches a student).
csv         plain: ``student``, the roster's columns, per workbook its points and ``<wbNN> max``, then
            ``total``, ``max`` and ``written_to_grade``.
"""
from __future__ import annotations

import os
import re

from checker.exercises import registry, written
from checker.grading import outputs, roster

TARGETS = ("canvas", "moodle", "gradescope", "csv")
# The roster columns by which each LMS finds a student: a roster needs at least one of them.
MATCHED_BY = {
    "canvas": ("lms_id", "sis_id", "login_id"),
    "moodle": ("email", "sis_id", "login_id"),
    "gradescope": ("email",),
    "csv": (),
}
LMS_NAMES = {"lms_id": "ID", "sis_id": "SIS User ID / ID number / SID", "login_id": "login (SIS Login ID / Username)",
             "email": "e-mail"}
CHECK_FIELDS = ["student", "roster line", "what to look at", "points"]


class ExportError(ValueError):
    """The export cannot be made; the message says why and what to change."""


def default_title(workbook: str, target: str, maximum: float) -> str:
    title = f"Backprop workbook {workbook[2:]}"
    return f"{title} (max {outputs._fmt(maximum)})" if target == "moodle" else title


def workbook_max(workbook: str) -> float:
    """A workbook's maximum: its exercise-table points and every written answer's maximum."""
    graded = sum(e.points for i, e in registry().items() if i.startswith(workbook + "."))
    return round(float(graded) + sum(written.of_workbook(workbook).values()), 4)


def parse_titles(pairs, workbooks) -> dict:
    """{'wb02': 'Workbook 2 (4321)'} from ``--title wb02="Workbook 2 (4321)"`` options."""
    titles = {}
    for pair in pairs or ():
        match = re.fullmatch(r"\s*(wb\d\d)\s*=(.+)", pair)
        if not match or not match.group(2).strip():
            raise ExportError(f"--title takes wbNN=TITLE, e.g. wb02=\"Workbook 2\"; got {pair!r}")
        if match.group(1) not in workbooks:
            raise ExportError(f"--title {match.group(1)}: no notebook of that workbook was graded in this folder "
                              f"(graded: {', '.join(workbooks) or 'none'})")
        titles[match.group(1)] = match.group(2).strip()
    return titles


def _points(per: dict, workbook: str, missing: str) -> str:
    summary = per.get(workbook)
    return missing if summary is None else outputs._fmt(summary["total"])


def _table(target: str, entries: list, students: dict, workbooks: list, titles: dict, maxima: dict,
           missing: str, extra_students: list, columns: tuple) -> tuple:
    """(header, rows) of one export."""
    if target == "canvas":
        header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] + [titles[w] for w in workbooks]
        rows = [["Points Possible", "", "", "", ""] + [outputs._fmt(maxima[w]) for w in workbooks]]
        for e in entries:
            rows.append([e.sortable_name, e.get("lms_id"), e.get("sis_id"), e.get("login_id"), e.get("section")]
                        + [_points(students.get(e.student, {}), w, missing) for w in workbooks])
        return header, rows
    if target == "moodle":
        header = ["First name", "Last name", "ID number", "Username", "Email address"] + [titles[w] for w in workbooks]
        rows = [[*e.first_and_last, e.get("sis_id"), e.get("login_id"), e.get("email")]
                + [_points(students.get(e.student, {}), w, missing) for w in workbooks] for e in entries]
        return header, rows
    if target == "gradescope":
        header = ["First Name", "Last Name", "SID", "Email", "Sections"]
        for w in workbooks:
            header += [titles[w], f"{titles[w]} - Max Points"]
        rows = []
        for e in entries:
            row = [*e.first_and_last, e.get("sis_id"), e.get("email"), e.get("section")]
            for w in workbooks:
                row += [_points(students.get(e.student, {}), w, missing), outputs._fmt(maxima[w])]
            rows.append(row)
        return header, rows
    header = ["student"] + [c for c in columns if c != "student"]
    for w in workbooks:
        header += [w, f"{w} max"]
    header += ["total", "max", "written_to_grade"]
    rows = []
    for e in list(entries) + [roster.Entry(s, 0) for s in extra_students]:
        per = students.get(e.student, {})
        row = [e.student] + [e.get(c) for c in columns if c != "student"]
        for w in workbooks:
            row += [_points(per, w, missing), outputs._fmt(maxima[w])]
        got = [per[w]["total"] for w in workbooks if w in per]
        row += [outputs._fmt(sum(got)) if got else missing, outputs._fmt(sum(maxima[w] for w in workbooks)),
                str(sum(per[w]["needs_manual_grading"] for w in workbooks if w in per))]
        rows.append(row)
    return header, rows


def _checks(target: str, the_roster, students: dict, workbooks: list, maxima: dict, missing: str) -> list:
    """Rows of the check file: everything about this export an instructor should look at."""
    checks = []
    on_roster = the_roster.by_student() if the_roster else {}

    def summary(per):
        return "; ".join(f"{w} {outputs._fmt(per[w]['total'])}/{outputs._fmt(maxima[w])}" for w in workbooks
                         if w in per)
    for student, per in sorted(students.items()):
        if the_roster is not None and student not in on_roster:
            where = "written to the csv export" if target == "csv" else "not in this file (no LMS account to match)"
            checks.append([student, "", f"graded, but not on the roster: {where}", summary(per)])
    for e in the_roster.entries if the_roster else []:
        per = students.get(e.student, {}) if e.student else {}
        if not e.student:
            checks.append(["", str(e.line), "on the roster without a student folder name: written with no points",
                           ""])
            continue
        needs = MATCHED_BY[target]
        if needs and not any(e.get(c) for c in needs):
            checks.append([e.student, str(e.line), f"no {' or '.join(LMS_NAMES[c] for c in needs)}: "
                                                    f"{target.capitalize()} cannot match this row to a student", ""])
        if not per:
            checks.append([e.student, str(e.line), "on the roster, but nothing of theirs was graded: "
                                                   + ("0 points" if missing else "no points") + " written", ""])
            continue
        for w in workbooks:
            if w not in per:
                checks.append([e.student, str(e.line), f"no {w} notebook graded: "
                                                       + ("0 points" if missing else "its cell is empty"), ""])
    for student, per in sorted(students.items()):
        for w in workbooks:
            s = per.get(w)
            if s is None:
                continue
            if s["needs_manual_grading"]:
                checks.append([student, "", f"{w}: {s['needs_manual_grading']} written answer(s) not graded yet "
                                            "(written.csv): the points do not include them", summary(per)])
            if not s["complete"]:
                checks.append([student, "", f"{w}: the grader could not grade this notebook; run grade again",
                               summary(per)])
    return checks


def export(out: str, target: str, roster_path: str | None = None, *, output: str | None = None, titles=(),
           missing: str = "blank", problems: list | None = None) -> dict:
    """Write the export of ``out`` for ``target`` (and its check file); returns what was written.

    ExportError / roster.RosterError, before anything is written, when it cannot be made as asked.
    """
    problems = [] if problems is None else problems
    if target not in TARGETS:
        raise ExportError(f"--to takes one of {', '.join(TARGETS)}; got {target!r}")
    if target != "csv" and not roster_path:
        raise ExportError(f"--to {target} needs --roster ROSTER.csv: the grader knows students by folder name, "
                          f"{target.capitalize()} by its own ids (docs/grading.md, 'Export to an LMS')")
    if not os.path.isdir(out):
        raise ExportError(f"{out}: no such output folder")
    the_roster = roster.read(roster_path) if roster_path else None
    needs = MATCHED_BY[target]
    if the_roster is not None and needs and not any(c in the_roster.columns for c in needs):
        raise ExportError(f"{roster_path}: {target.capitalize()} finds a student by "
                          f"{' or '.join(LMS_NAMES[c] for c in needs)}, and the roster has no column "
                          f"{' or '.join(needs)} (its columns: {', '.join(the_roster.columns)})")
    records = outputs.load_records(out, problems)
    if not records:
        raise ExportError(f"{out}: no graded notebook (no valid record in {os.path.join(out, 'records')})")
    results = outputs.results_json(records, outputs.read_manual(out, records, problems), problems)
    students = results["students"]
    workbooks = sorted({w for per in students.values() for w in per if re.fullmatch(r"wb\d\d", w)})
    maxima = {w: workbook_max(w) for w in workbooks}
    named = parse_titles(titles, workbooks)
    titles_by_wb = {w: named.get(w) or default_title(w, target, maxima[w]) for w in workbooks}
    if len(set(titles_by_wb.values())) < len(workbooks):
        raise ExportError("two workbooks would get the same column title; give each its own with --title")
    empty = "0" if missing == "zero" else ""
    entries = the_roster.entries if the_roster else [roster.Entry(s, 0) for s in sorted(students)]
    extra = sorted(s for s in students if the_roster is not None and s not in the_roster.by_student())
    columns = the_roster.columns if the_roster else ("student",)
    header, rows = _table(target, entries, students, workbooks, titles_by_wb, maxima, empty, extra, columns)
    checks = _checks(target, the_roster, students, workbooks, maxima, empty)
    path = output or os.path.join(out, "export", f"{target}.csv")
    check_path = re.sub(r"(\.csv)?$", "-check.csv", path, count=1)
    outputs.write_atomic(path, outputs.csv_text(rows, header))
    outputs.write_atomic(check_path, outputs.csv_text(checks, CHECK_FIELDS))
    return {"path": path, "check_path": check_path, "rows": len(entries) + (len(extra) if target == "csv" else 0),
            "workbooks": workbooks, "maxima": maxima, "titles": titles_by_wb, "checks": checks,
            "warnings": (the_roster.warnings if the_roster else []) + list(problems)}
