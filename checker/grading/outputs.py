"""What an instructor gets in the output folder, rebuilt from the per-submission records.

    DIR/records/<student>__<wbNN>.json   one per graded submission: the source of truth, written
                                          the moment that submission is graded (resume reads them)
    DIR/results.json                      per student and workbook: every item's points, diagnosis,
                                          message and details; notes, review flags, written answers
    DIR/grades.csv                        a row per student, a column per exercise, totals
    DIR/written.csv                       one row per written answer: fill in points (and a comment)
    DIR/feedback/<student>.md             what to send each student: every message of the checker

Every file is written to a temporary name and renamed, so a crash never leaves half a file.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import time

from checker.exercises import registry

RECORDS = "records"
FEEDBACK = "feedback"
MANUAL_FIELDS = ["student", "workbook", "answer_id", "status", "points", "comment"]


# --- files -----------------------------------------------------------------------------------------

def write_atomic(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    part = f"{path}.part{os.getpid()}"
    with open(part, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(part, path)


def safe_name(student: str) -> str:
    """A file name for a student: their name when it is plain, else a cleaned name plus a hash."""
    clean = re.sub(r"[^A-Za-z0-9._@-]+", "_", student).strip("._") or "student"
    if clean == student and len(clean) <= 80:
        return clean
    return f"{clean[:60]}-{hashlib.sha1(student.encode()).hexdigest()[:8]}"


def record_path(out: str, student: str, workbook: str | None) -> str:
    return os.path.join(out, RECORDS, f"{safe_name(student)}__{workbook or 'unknown'}.json")


def save_record(out: str, record: dict) -> None:
    write_atomic(record_path(out, record["student"], record["workbook"]), json.dumps(record, indent=1))


def load_records(out: str) -> dict:
    """(student, workbook) -> record, for every readable record in DIR/records."""
    records = {}
    folder = os.path.join(out, RECORDS)
    if not os.path.isdir(folder):
        return records
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                record = json.load(f)
            records[(record["student"], record["workbook"])] = record
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return records


# --- manual grades of written answers ---------------------------------------------------------------

def read_manual(out: str) -> dict:
    """(student, workbook, answer_id) -> {'points': float | None, 'comment': str} from written.csv."""
    path = os.path.join(out, "written.csv")
    manual = {}
    if not os.path.exists(path):
        return manual
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            key = (row.get("student", ""), row.get("workbook", ""), row.get("answer_id", ""))
            text = (row.get("points") or "").strip()
            try:
                points = float(text) if text else None
            except ValueError:
                points = None
            manual[key] = {"points": points, "comment": (row.get("comment") or "").strip(), "raw": text}
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
            rows.append({"student": key[0], "workbook": key[1], "answer_id": key[2], "status": "no longer submitted",
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
    items = {item["id"]: {k: item[k] for k in ("kind", "points", "max_points", "passed", "diagnosis", "message",
                                                 "details")} for item in record.get("items", [])}
    return {"notebook": record.get("notebook"), "sha256": record.get("sha256"), "graded_at": record.get("started"),
            "seconds": record.get("seconds"), "seed": record.get("seed"), "complete": record.get("complete", True),
            "score": record.get("score", 0.0), "max_score": record.get("max_score", 0.0),
            "written_points": written_points, "needs_manual_grading": ungraded,
            "total": round(record.get("score", 0.0) + written_points, 4),
            "notes": record.get("notes", []), "errors": record.get("errors", []), "flags": record.get("flags", []),
            "exercises": items, "written": written}


def results_json(records: dict, manual: dict) -> dict:
    students: dict = {}
    for (student, workbook), record in sorted(records.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        students.setdefault(student, {})[str(workbook)] = summarise(record, manual)
    return {"generated": time.strftime("%Y-%m-%dT%H:%M:%S"), "students": students}


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
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student"] + [c if c.startswith(wb + ".") else f"{wb}.{c}" for wb, c in columns]
                    + ["total", "max", "needs_manual", "review"])
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
        writer.writerow(row)
    return buffer.getvalue()


# --- feedback ------------------------------------------------------------------------------------------

def _fence(text: str, info: str = "text") -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text}\n{ticks}"


def _status(item: dict) -> str:
    if item["passed"]:
        return "✓ passed"
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
        if s["written"]:
            lines += ["### Written answers", ""]
            for ident, w in s["written"].items():
                head = (f"#### `{ident}`: {w['status']}" + (f", {w['points']:g} points" if w["points"] is not None else ""))
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


def write_gradebook(out: str, records: dict | None = None, *, feedback_for=None) -> dict:
    """Rebuild results.json, grades.csv, written.csv (keeping manual points) and feedback files."""
    records = load_records(out) if records is None else records
    manual = read_manual(out)
    results = results_json(records, manual)
    write_atomic(os.path.join(out, "results.json"), json.dumps(results, indent=1, ensure_ascii=False))
    write_atomic(os.path.join(out, "grades.csv"), grades_csv(results))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MANUAL_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(_written_rows(records, manual))
    write_atomic(os.path.join(out, "written.csv"), buffer.getvalue())
    write_feedback(out, results, feedback_for)
    return results
