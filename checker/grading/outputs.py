"""What an instructor gets in the output folder, rebuilt from the per-submission records.

    DIR/records/<student>__<wbNN>.json   one per graded submission: the source of truth, written
                                          the moment that submission is graded (resume reads them),
                                          signed with DIR/.grader-key (records.py)
    DIR/results.json                      per student and workbook: every item's points, diagnosis,
                                          message and details; notes, review flags, written answers
    DIR/grades.csv                        a row per student, a column per exercise, totals
    DIR/written.csv                       one row per written answer: fill in points (and a comment)
    DIR/feedback/<student>.md             what to send each student: every message of the checker

Every file is written to a temporary name and renamed, so a crash never leaves half a file.
Every CSV cell that a spreadsheet would read as a formula (it starts with = + - @, a tab or a
carriage return) is written with a leading ' (csv_cell); reading written.csv undoes it.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
import time

from checker.exercises import registry
from checker.grading import records, transfer

RECORDS = records.RECORDS
FEEDBACK = "feedback"
MANUAL_FIELDS = ["student", "workbook", "answer_id", "status", "points", "comment"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
WRITTEN_POINTS = 1.0   # the most a written answer can get, when the exercise table gives no points for its id


# --- files -----------------------------------------------------------------------------------------

def write_atomic(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    part = f"{path}.part{os.getpid()}"
    with open(part, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(part, path)


def safe_name(student: str) -> str:
    """A file name for a student: their name when it is plain, else a cleaned name plus a hash."""
    clean = re.sub(r"[^A-Za-z0-9._@-]+", "_", student).strip("._-=+@") or "student"
    if clean == student and len(clean) <= 80:
        return clean
    return f"{clean[:60]}-{hashlib.sha1(student.encode()).hexdigest()[:8]}"


def csv_cell(value) -> str:
    """A cell no spreadsheet runs: text starting with = + - @, tab or CR gets a leading '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_value(text: str) -> str:
    """What csv_cell wrote, read back (a spreadsheet may also have dropped the ' itself)."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text


def csv_text(rows, header=None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header is not None:
        writer.writerow([csv_cell(c) for c in header])
    for row in rows:
        writer.writerow([csv_cell(c) for c in row])
    return buffer.getvalue()


def record_path(out: str, student: str, workbook: str | None) -> str:
    return os.path.join(out, RECORDS, records.record_name(student, workbook))


def save_record(out: str, record: dict) -> None:
    """Sign and write a record (only the grader's main process does this)."""
    records.save(out, record)


def load_records(out: str, problems: list | None = None) -> dict:
    """(student, workbook) -> record, for every valid, signed record in DIR/records; see records.load."""
    return records.load(out, problems)


# --- manual grades of written answers ---------------------------------------------------------------

def written_max(answer_id: str) -> float:
    """The most points a written answer can get: its entry's points in the exercise table, when the
    table has one of that id, else WRITTEN_POINTS."""
    entry = registry().get(answer_id)
    return float(entry.points) if entry is not None else WRITTEN_POINTS


def _points(text: str, answer_id: str):
    """(points, None) or (None, why the text is not a valid number of points for this answer)."""
    try:
        points = float(text)
    except ValueError:
        return None, f"'{text}' is not a number"
    top = written_max(answer_id)
    if not math.isfinite(points) or not 0 <= points <= top:
        return None, f"{text} is outside 0..{top:g}, the points this answer can get"
    return points, None


def read_manual(out: str, records: dict | None = None, problems: list | None = None) -> dict:
    """(student, workbook, answer_id) -> {'points': float | None, 'comment': str, 'raw': str, 'known': bool}
    from DIR/written.csv, the file the instructor fills in.

    Points count only when they are a number within 0..written_max(answer_id) and — when
    ``records`` is given — the row names a written answer of a graded notebook.  Every row that
    does not count is kept (rewritten as it was) and described in ``problems``.
    """
    problems = [] if problems is None else problems
    path = os.path.join(out, "written.csv")
    manual: dict = {}
    if not os.path.exists(path):
        return manual
    answers = None
    if records is not None:
        answers = {(student, str(wb), a.get("id")) for (student, wb), r in records.items()
                   for a in r.get("written", []) if isinstance(a, dict)}
    try:
        raw = transfer.read_file(path, 64 * 2**20).decode("utf-8-sig", "replace")
    except transfer.TransferError as error:
        problems.append(f"{path}: {error}: no manual points were read")
        return manual
    for number, row in enumerate(csv.DictReader(io.StringIO(raw, newline="")), start=2):
        cell = {k: csv_value((row.get(k) or "").strip()) for k in MANUAL_FIELDS}
        key = (cell["student"], cell["workbook"], cell["answer_id"])
        where = f"written.csv line {number} ({' '.join(key)})"
        if key in manual:
            problems.append(f"{where}: a second row for the same answer: ignored (the first one counts)")
            continue
        known = answers is None or key in answers
        points, why = (None, None) if not cell["points"] else _points(cell["points"], key[2])
        if why and known:
            problems.append(f"{where}: {why}: not counted")
        if not known and (cell["points"] or cell["comment"]):
            problems.append(f"{where}: no graded notebook has this student, workbook and answer: not counted")
        manual[key] = {"points": points if known else None, "comment": cell["comment"], "raw": cell["points"],
                       "known": known}
    return manual


def _written_rows(records: dict, manual: dict) -> list:
    rows = []
    for (student, workbook), record in sorted(records.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        for answer in record.get("written", []):
            key = (student, str(workbook), answer["id"])
            given = manual.get(key, {})
            status = "answered" if answer.get("answered") else "not answered"
            points = given.get("raw", "") if given else ("0" if not answer.get("answered") else "")
            rows.append({"student": student, "workbook": workbook, "answer_id": answer["id"], "status": status,
                         "points": points, "comment": given.get("comment", "")})
    # keep rows an instructor graded for submissions no longer here (never lose a manual grade)
    present = {(r["student"], str(r["workbook"]), r["answer_id"]) for r in rows}
    for key, given in manual.items():
        if key not in present and (given.get("raw") or given.get("comment")):
            rows.append({"student": key[0], "workbook": key[1], "answer_id": key[2],
                         "status": "no longer submitted (not counted)",
                         "points": given.get("raw", ""), "comment": given.get("comment", "")})
    return rows


# --- the gradebook -------------------------------------------------------------------------------------

def _fmt(x) -> str:
    return "" if x is None else f"{x:g}"


def summarise(record: dict, manual: dict) -> dict:
    """The record as results.json shows it, with manual points for its written answers."""
    student, workbook = record["student"], str(record["workbook"])
    written, written_points, ungraded = {}, 0.0, 0
    for answer in record.get("written", []):
        given = manual.get((student, workbook, answer["id"]), {})
        points = given.get("points")
        if points is None and not answer.get("answered") and not given.get("raw"):
            points = 0.0
        if points is None:
            ungraded += 1
            status = "needs manual grading"
        else:
            written_points += points
            status = "graded by hand" if answer.get("answered") else "not answered"
        written[answer["id"]] = {"status": status, "points": points, "comment": given.get("comment", ""),
                                 "text": answer.get("text", "")}
    items = {item["id"]: {**{k: item[k] for k in ("kind", "points", "max_points", "passed", "diagnosis", "message",
                                                    "details")}, "warnings": item.get("warnings", [])}
             for item in record.get("items", [])}
    return {"notebook": record.get("notebook"), "sha256": record.get("sha256"), "graded_at": record.get("started"),
            "seconds": record.get("seconds"), "seed": record.get("seed"), "complete": record.get("complete", True),
            "score": record.get("score", 0.0), "max_score": record.get("max_score", 0.0),
            "written_points": written_points, "needs_manual_grading": ungraded,
            "total": round(record.get("score", 0.0) + written_points, 4),
            "notes": record.get("notes", []), "errors": record.get("errors", []), "flags": record.get("flags", []),
            "exercises": items, "written": written}


def sandbox_of(records: dict) -> str | None:
    """What results.json says under "sandbox": "none" when any notebook ran without one (the weakest
    counts), else the bubblewrap version(s); None when no notebook was run at all."""
    used = {r.get("sandbox") for r in records.values() if isinstance(r.get("sandbox"), str)}
    if "none" in used:
        return "none"
    return ", ".join(sorted(used)) or None


def results_json(records: dict, manual: dict, problems: list = ()) -> dict:
    students: dict = {}
    for (student, workbook), record in sorted(records.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        students.setdefault(student, {})[str(workbook)] = summarise(record, manual)
    return {"generated": time.strftime("%Y-%m-%dT%H:%M:%S"), "sandbox": sandbox_of(records),
            "problems": list(problems), "students": students}


def grades_csv(results: dict) -> str:
    """A row per student; per workbook a column per exercise and answer, written points, a total."""
    table = registry()
    workbooks = sorted({wb for per in results["students"].values() for wb in per})
    columns = []
    for wb in workbooks:
        ids = [i for i in table if i.startswith(wb + ".")]
        seen = {i for per in results["students"].values() if wb in per for i in per[wb]["exercises"]}
        ids += sorted(seen - set(ids))
        columns += [(wb, i) for i in ids]
        if any(per.get(wb, {}).get("written") for per in results["students"].values()):
            columns.append((wb, "written"))
        columns.append((wb, "total"))
    header = (["student"] + [c if c.startswith(wb + ".") else f"{wb}.{c}" for wb, c in columns]
              + ["total", "max", "needs_manual", "review"])
    rows = []
    for student, per in sorted(results["students"].items()):
        row = [student]
        for wb, column in columns:
            summary = per.get(wb)
            if summary is None:
                row.append("")
            elif column == "total":
                row.append(_fmt(summary["total"]))
            elif column == "written":
                row.append(_fmt(summary["written_points"]) if summary["written"] else "")
            else:
                item = summary["exercises"].get(column)
                row.append(_fmt(item["points"]) if item else "")
        row += [_fmt(sum(s["total"] for s in per.values())), _fmt(sum(s["max_score"] for s in per.values())),
                str(sum(s["needs_manual_grading"] for s in per.values())),
                str(sum(len(s["flags"]) for s in per.values()))]
        rows.append(row)
    return csv_text(rows, header)


# --- feedback ------------------------------------------------------------------------------------------

def _fence(text: str, info: str = "text") -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text}\n{ticks}"


def _status(item: dict) -> str:
    if item["passed"]:
        return "✓ passed, with a warning" if item.get("warnings") else "✓ passed"
    if item["diagnosis"] == "not_implemented":
        return "… not done"
    return "✗ " + str(item["diagnosis"]).replace("_", " ")


def feedback_markdown(student: str, per: dict) -> str:
    lines = [f"# Feedback for {student}", ""]
    for wb, s in sorted(per.items()):
        lines += [f"## Workbook {wb}: {s['score']:g} / {s['max_score']:g} points", ""]
        lines.append(f"Graded {s['graded_at']} from `{os.path.basename(s['notebook'] or '')}`.")
        if s["written"]:
            pending = s["needs_manual_grading"]
            lines.append(f"Written answers: {s['written_points']:g} points so far"
                         + (f"; {pending} still to be graded by hand." if pending else "."))
        lines.append("")
        if s["notes"] or s["errors"]:
            lines += ["### Running your notebook", ""]
            lines += [f"- {note}" for note in s["notes"] + s["errors"]]
            lines.append("")
        lines += ["| exercise | points | result |", "|---|---|---|"]
        for ident, item in s["exercises"].items():
            lines.append(f"| `{ident}` | {item['points']:g}/{item['max_points']:g} | {_status(item)} |")
        lines.append("")
        failed = [(i, item) for i, item in s["exercises"].items() if not item["passed"]]
        if failed:
            lines += ["### What to fix", ""]
            for ident, item in failed:
                lines += [f"#### `{ident}`: {_status(item)} ({item['points']:g}/{item['max_points']:g})", "",
                          _fence(item["message"] or ""), ""]
        warned = [(i, item) for i, item in s["exercises"].items() if item["passed"] and item.get("warnings")]
        if warned:
            lines += ["### Right, with a warning", ""]
            for ident, item in warned:
                lines += [f"#### `{ident}`", "", _fence("\n".join(item["warnings"])), ""]
        if s["written"]:
            lines += ["### Written answers", ""]
            for ident, w in s["written"].items():
                points = f", {w['points']:g} points" if w["points"] is not None else ""
                head = f"#### `{ident}`: {w['status']}{points}"
                lines += [head, ""]
                lines += ["> " + line if line else ">" for line in (w["text"] or "").splitlines()] or ["> (empty)"]
                if w["comment"]:
                    lines += ["", f"Comment: {w['comment']}"]
                lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_feedback(out: str, results: dict, students=None) -> None:
    for student, per in results["students"].items():
        if students is None or student in students:
            write_atomic(os.path.join(out, FEEDBACK, safe_name(student) + ".md"), feedback_markdown(student, per))


def write_gradebook(out: str, records: dict | None = None, *, feedback_for=None, problems: list | None = None) -> dict:
    """Rebuild results.json, grades.csv, written.csv (keeping manual points) and feedback files.

    ``problems`` collects what was ignored (records that are not the grader's, manual points that
    do not count); results.json lists them too.
    """
    problems = [] if problems is None else problems
    records = load_records(out, problems) if records is None else records
    manual = read_manual(out, records, problems)
    results = results_json(records, manual, problems)
    write_atomic(os.path.join(out, "results.json"), json.dumps(results, indent=1, ensure_ascii=False))
    write_atomic(os.path.join(out, "grades.csv"), grades_csv(results))
    written = _written_rows(records, manual)
    write_atomic(os.path.join(out, "written.csv"),
                 csv_text(([row[k] for k in MANUAL_FIELDS] for row in written), MANUAL_FIELDS))
    write_feedback(out, results, feedback_for)
    return results
