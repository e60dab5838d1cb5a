"""``python -m checker merge DIR PART...``: the output folders of several machines (--shard) made one.

Every part's records are read with the part's own key (copy each part folder whole, .grader-key
included); a record that does not verify is listed and left out, never merged.  Where two parts
graded the same notebook the newer record wins.  The merged records are signed with DIR's key and
the gradebook, results and feedback are rebuilt from them, so the merged folder is exactly what one
run over the whole class would have made (tests/test_term.py grades a class both ways).

The points and comments entered in any part's written.csv (and in DIR's own) are all kept: rows
are matched by student, workbook and answer id, DIR's own first, then the parts in the order given;
two that disagree are reported and the first is kept.
"""
from __future__ import annotations

import os

from checker.grading import outputs, records


def _manual_rows(folders: list, problems: list) -> tuple:
    """(rows of every written.csv in ``folders``, the extra columns), or (None, ()) when DIR's own cannot be read."""
    rows: dict = {}
    origin: dict = {}
    extra: list = []
    for index, folder in enumerate(folders):
        if not os.path.exists(os.path.join(folder, "written.csv")):
            continue
        manual = outputs.read_manual(folder, problems=problems)
        if not manual.readable:
            if index == 0:
                return None, ()   # DIR's own file is left as it is: nothing is merged into it
            continue
        extra += [e for e in manual.extra if e not in extra]
        for key, given in manual.items():
            entered = (given.get("raw", ""), given.get("comment", ""))
            if not any(entered):
                continue
            if key in rows and (rows[key]["points"], rows[key]["comment"]) != entered:
                problems.append(f"{os.path.join(folder, 'written.csv')}: {' '.join(key)}: points or comment differ "
                                f"from those of {origin[key]}: those are kept")
                continue
            if key not in rows:
                rows[key] = {"student": key[0], "workbook": key[1], "answer_id": key[2], "status": "",
                             "points": entered[0], "comment": entered[1], **given.get("extra", {})}
                origin[key] = os.path.join(folder, "written.csv")
    return list(rows.values()), tuple(extra)


def merge(out: str, parts: list, problems: list) -> tuple:
    """Merge ``parts`` into ``out``; returns (the merged records, results.json's content)."""
    merged = outputs.load_records(out, problems) if os.path.isdir(out) else {}
    present = []
    for part in parts:
        if not os.path.isdir(part):
            problems.append(f"{part}: no such output folder: skipped")
            continue
        present.append(part)
        for key, record in outputs.load_records(part, problems).items():   # each with its own key
            if key not in merged or record.get("started", "") >= merged[key].get("started", ""):
                merged[key] = record
    os.makedirs(out, exist_ok=True)
    records.key(out)
    rows, extra = _manual_rows([out] + present, problems)
    if rows is not None and (rows or os.path.exists(os.path.join(out, "written.csv"))):
        fields = outputs.MANUAL_FIELDS + list(extra)
        outputs.write_atomic(os.path.join(out, "written.csv"),
                             outputs.csv_text(([row.get(k, "") for k in fields] for row in rows), fields))
    for record in merged.values():
        outputs.save_record(out, record)
    return merged, outputs.write_gradebook(out, merged, problems=problems)
