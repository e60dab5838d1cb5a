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
import difflib
import hashlib
import io
import json
import math
import os
import re
import time

from checker.exercises import layout, registry, written
from checker.grading import records, transfer

RECORDS = records.RECORDS
FEEDBACK = "feedback"
MANUAL_FIELDS = ["student", "workbook", "answer_id", "status", "points", "comment"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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


def delimiter(header: str) -> str:
    """The separator of a CSV file by its header row: a comma, or the semicolon or tab some spreadsheets
    save with (only the separator is guessed; quoting stays the standard one)."""
    return max((",", ";", "\t"), key=header.count) if any(d in header for d in ",;\t") else ","


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

class Manual(dict):
    """(student, workbook, answer_id) -> {'points', 'comment', 'raw', 'known', 'extra'}: what written.csv says.

    ``readable`` is False when the file could not be read as the grader writes it (a column renamed or
    missing, another separator than the sniffer knows): then nothing in it counts and the file is left
    exactly as it is.  ``extra``: columns the instructor added, kept when the file is written again.
    """
    readable = True
    extra: tuple = ()


def written_max(answer_id: str) -> float | None:
    """The most points a written answer can get (checker/exercises/written.py); None for an id that is
    no workbook's written answer."""
    return written.maximum(answer_id)


def _points(text: str, answer_id: str):
    """(points, None) or (None, why the text is not a valid number of points for this answer)."""
    top = written_max(answer_id)
    if top is None:
        return None, (f"{answer_id} is not a written answer of the workbook (checker/exercises/written.py "
                      "has no maximum for it)")
    try:
        points = float(text.replace(",", ".") if text.count(",") == 1 and "." not in text else text)
    except ValueError:
        return None, f"'{text}' is not a number"
    if not math.isfinite(points) or not 0 <= points <= top:
        return None, f"{text} is outside 0..{top:g}, the points this answer can get"
    return points, None


def _header_problem(header: list) -> str | None:
    missing = [f for f in ("student", "workbook", "answer_id", "points") if f not in header]
    if not missing:
        return None
    hints = []
    for name in missing:
        near = difflib.get_close_matches(name, [h for h in header if h not in MANUAL_FIELDS], n=1, cutoff=0.6)
        hints.append(f"'{name}'" + (f" (is '{near[0]}' meant to be it?)" if near else ""))
    return (f"has no column {', '.join(hints)}: its columns are {', '.join(repr(h) for h in header) or 'none'}; "
            f"the grader writes {', '.join(MANUAL_FIELDS)}")


def read_manual(out: str, records: dict | None = None, problems: list | None = None) -> Manual:
    """The instructor's points and comments from DIR/written.csv (see Manual).

    Points count only when they are a number within 0..written_max(answer_id) and — when
    ``records`` is given — the row names a written answer of a graded notebook.  Every row that
    does not count is kept (rewritten as it was) and described in ``problems``.
    """
    problems = [] if problems is None else problems
    path = os.path.join(out, "written.csv")
    manual = Manual()
    if not os.path.exists(path):
        return manual
    answers = None
    if records is not None:
        answers = {(student, str(wb), a.get("id")) for (student, wb), r in records.items()
                   for a in r.get("written", []) if isinstance(a, dict)}
    try:
        raw = transfer.read_file(path, 64 * 2**20).decode("utf-8-sig", "replace")
    except transfer.TransferError as error:
        problems.append(f"{path}: {error}: no manual points were read, and the file was left as it is")
        manual.readable = False
        return manual
    reader = csv.DictReader(io.StringIO(raw, newline=""), delimiter=delimiter(raw.split("\n", 1)[0]))
    header = [(h or "").strip() for h in reader.fieldnames or []]
    why = _header_problem(header)
    if why:
        problems.append(f"{path} {why}. No manual points were read, and the file was left as it is: "
                        "put the column names back and run `python -m checker gradebook` again")
        manual.readable = False
        return manual
    reader.fieldnames = header
    manual.extra = tuple(h for h in header if h and h not in MANUAL_FIELDS)
    for number, row in enumerate(reader, start=2):
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
                       "known": known, "extra": {k: row.get(k) or "" for k in manual.extra}}
    return manual


def _written_rows(records: dict, manual: dict) -> list:
    rows = []
    for (student, workbook), record in sorted(records.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        for answer in sorted(record.get("written", []), key=lambda a: _place(a["id"])):
            key = (student, str(workbook), answer["id"])
            given = manual.get(key, {})
            status = "answered" if answer.get("answered") else "not answered"
            points = given.get("raw", "") if given else ("0" if not answer.get("answered") else "")
            rows.append({"student": student, "workbook": workbook, "answer_id": answer["id"], "status": status,
                         "points": points, "comment": given.get("comment", ""), **given.get("extra", {})})
    # keep rows an instructor graded for submissions no longer here (never lose a manual grade)
    present = {(r["student"], str(r["workbook"]), r["answer_id"]) for r in rows}
    for key, given in manual.items():
        if key not in present and (given.get("raw") or given.get("comment") or any(given.get("extra", {}).values())):
            rows.append({"student": key[0], "workbook": key[1], "answer_id": key[2],
                         "status": "no longer submitted (not counted)",
                         "points": given.get("raw", ""), "comment": given.get("comment", ""),
                         **given.get("extra", {})})
    return rows


def _place(item_id: str) -> tuple:
    """Where an item is in its workbook's notebook (checker/exercises/layout.py), for sorting."""
    workbook = item_id.split(".", 1)[0]
    order = layout.order(workbook)
    return (workbook, order.index(item_id) if item_id in order else len(order), item_id)


# --- the gradebook -------------------------------------------------------------------------------------

def _fmt(x) -> str:
    return "" if x is None else f"{round(x, 4):g}"


def summarise(record: dict, manual: dict) -> dict:
    """The record as results.json shows it, items in notebook order, with manual points for its written
    answers and the maxima of every written answer of its workbook (checker/exercises/written.py)."""
    student, workbook = record["student"], str(record["workbook"])
    table = written.of_workbook(workbook)
    answers = {a["id"]: a for a in record.get("written", []) if isinstance(a, dict) and isinstance(a.get("id"), str)}
    written_out, written_points, ungraded = {}, 0.0, 0
    for answer_id in sorted(set(answers) | set(table), key=_place):
        answer, top = answers.get(answer_id), table.get(answer_id)
        given = manual.get((student, workbook, answer_id), {})
        points, status = given.get("points"), None
        if answer is None:
            points, status = 0.0, "not in the notebook"
        elif top is None:
            points, status = None, "not one of the workbook's written answers (not counted)"
        elif points is None and not answer.get("answered") and not given.get("raw"):
            points = 0.0
        if status is None and points is None:
            ungraded += 1
            status = "needs manual grading"
        elif status is None:
            status = "graded by hand" if answer.get("answered") else "not answered"
        if points is not None and top is not None:
            written_points += points
        written_out[answer_id] = {"status": status, "points": points, "max_points": top,
                                  "comment": given.get("comment", ""), "text": (answer or {}).get("text", "")}
    items = {item["id"]: {**{k: item[k] for k in ("kind", "points", "max_points", "passed", "diagnosis", "message",
                                                    "details")}, "warnings": item.get("warnings", [])}
             for item in sorted(record.get("items", []), key=lambda i: _place(i["id"]))}
    written_max = float(sum(table.values()))
    return {"notebook": record.get("notebook"), "sha256": record.get("sha256"), "graded_at": record.get("started"),
            "seconds": record.get("seconds"), "seed": record.get("seed"), "complete": record.get("complete", True),
            "score": record.get("score", 0.0), "max_score": record.get("max_score", 0.0),
            "written_points": written_points, "written_max": written_max, "needs_manual_grading": ungraded,
            "total": round(record.get("score", 0.0) + written_points, 4),
            "max_total": round(record.get("max_score", 0.0) + written_max, 4),
            "notes": record.get("notes", []), "errors": record.get("errors", []), "flags": record.get("flags", []),
            "exercises": items, "written": written_out}


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
        ids = layout.sort_ids(i for i in table if i.startswith(wb + "."))
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
        row += [_fmt(sum(s["total"] for s in per.values())), _fmt(sum(s["max_total"] for s in per.values())),
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


def _not_answered(s: dict) -> list:
    """One line per section of the notebook: the items and written answers not answered yet."""
    sections: dict = {}
    for ident, item in s["exercises"].items():
        if item["diagnosis"] == "not_implemented":
            sections.setdefault(layout.section(ident), ([], [], []))
            sections[layout.section(ident)][0].append(ident.split(".", 1)[1])
            sections[layout.section(ident)][2].append(item["max_points"])
    for ident, w in s["written"].items():
        if w["status"] in ("not answered", "not in the notebook"):
            sections.setdefault(layout.section(ident), ([], [], []))
            sections[layout.section(ident)][1].append(ident.split(".", 1)[1]
                                                      + (" (not in your notebook)" if w["status"] != "not answered"
                                                         else ""))
            sections[layout.section(ident)][2].append(w["max_points"] or 0.0)
    lines = []
    for section, (items, texts, points) in sections.items():
        parts = ([", ".join(f"`{i}`" for i in items)] if items else []) + \
                ([f"written: {', '.join(f'`{t}`' for t in texts)}"] if texts else [])
        lines.append(f"- {section or 'Other'}: {'; '.join(parts)} (worth {_fmt(sum(points))} points)")
    return lines


def feedback_markdown(student: str, per: dict) -> str:
    """What a student reads, one section per workbook, everything in the order of the notebook: the score,
    how running the notebook went, what is not answered yet (one line per section), the result of everything
    answered, what to fix, and the written answers."""
    lines = [f"# Feedback for {student}", ""]
    for wb, s in sorted(per.items()):
        head = f"## Workbook {wb}: {_fmt(s['score'])} / {_fmt(s['max_score'])} points"
        if s.get("written_max"):
            head += f", written answers {_fmt(s['written_points'])} / {_fmt(s['written_max'])}"
        lines += [head, ""]
        lines.append(f"Graded {s['graded_at']} from `{os.path.basename(s['notebook'] or '')}`.")
        if s["needs_manual_grading"]:
            lines.append(f"{s['needs_manual_grading']} written answer(s) still to be graded by hand.")
        lines.append("")
        if s["notes"] or s["errors"]:
            lines += ["### Running your notebook", ""]
            lines += [f"- {note}" for note in s["notes"] + s["errors"]]
            lines.append("")
        missing = _not_answered(s)
        if missing:
            lines += ["### Not answered yet", ""] + missing + [""]
        answered = [(i, item) for i, item in s["exercises"].items() if item["diagnosis"] != "not_implemented"]
        if answered:
            lines += ["### Results, in the order of the notebook", "",
                      "| exercise | points | result |", "|---|---|---|"]
            for ident, item in answered:
                lines.append(f"| `{ident}` | {_fmt(item['points'])}/{_fmt(item['max_points'])} | {_status(item)} |")
            lines.append("")
        failed: dict = {}   # one block per message: a notebook that could not be run says so once
        for ident, item in answered:
            if not item["passed"]:
                failed.setdefault((item["diagnosis"], item["message"] or ""), []).append((ident, item))
        if failed:
            lines += ["### What to fix", ""]
            for (_, message), group in failed.items():
                names = ", ".join(f"`{ident}`" for ident, _ in group)
                points = (f"{_fmt(sum(i['points'] for _, i in group))}/"
                          f"{_fmt(sum(i['max_points'] for _, i in group))}")
                lines += [f"#### {names}: {_status(group[0][1])} ({points})", "", _fence(message), ""]
        warned = [(i, item) for i, item in answered if item["passed"] and item.get("warnings")]
        if warned:
            lines += ["### Right, with a warning", ""]
            for ident, item in warned:
                lines += [f"#### `{ident}`", "", _fence("\n".join(item["warnings"])), ""]
        shown = [(i, w) for i, w in s["written"].items() if w["status"] not in ("not answered", "not in the notebook")]
        if shown:
            lines += ["### Written answers", ""]
            for ident, w in shown:
                points = f", {_fmt(w['points'])}" if w["points"] is not None else ""
                top = f"/{_fmt(w['max_points'])} points" if w["points"] is not None and w["max_points"] else ""
                lines += [f"#### `{ident}`: {w['status']}{points}{top}", ""]
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
    if manual.readable:   # otherwise the instructor's file is left exactly as it is (see read_manual)
        fields = MANUAL_FIELDS + list(manual.extra)
        write_atomic(os.path.join(out, "written.csv"),
                     csv_text(([row.get(k, "") for k in fields] for row in _written_rows(records, manual)), fields))
    write_feedback(out, results, feedback_for)
    return results
