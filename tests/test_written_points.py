"""Written answers have a maximum each (checker/exercises/written.py), and the points an instructor enters in
written.csv count only within it — a mistyped file loses nothing (issue 13)."""
from __future__ import annotations

import csv

import grade_fixtures as fx
import pytest

from checker.exercises import written
from checker.grading import outputs

WORKBOOKS = range(7)


@pytest.mark.parametrize("number", WORKBOOKS)
def test_the_table_has_exactly_the_written_answers_of_the_solutions(number):
    workbook = f"wb{number:02d}"
    ids = [c["metadata"]["checker"]["answer_id"] for c in fx.solution(number)["cells"]
           if "written-answer" in c["metadata"].get("tags", [])]
    assert ids and len(ids) == len(set(ids))
    assert sorted(ids) == sorted(written.of_workbook(workbook))
    assert all(points > 0 for points in written.of_workbook(workbook).values())


def _record(student: str, answers=("wb01.q_row_convention", "wb01.q_softmax_axis")) -> dict:
    return {"student": student, "workbook": "wb01", "notebook": f"/x/{student}.ipynb", "sha256": "0", "items": [],
            "score": 2.0, "max_score": 23.5, "flags": [], "notes": [], "errors": [], "sandbox": "none",
            "written": [{"id": a, "text": "my answer", "answered": True} for a in answers]}


def _write(path, rows, delimiter=","):
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)


def test_points_within_the_maximum_count_in_the_workbooks_total_and_its_maximum(tmp_path):
    out = tmp_path / "out"
    outputs.save_record(str(out), _record("ann"))
    _write(out / "written.csv", [outputs.MANUAL_FIELDS,
                                 ["ann", "wb01", "wb01.q_row_convention", "answered", "0,5", ""],    # a decimal comma
                                 ["ann", "wb01", "wb01.q_softmax_axis", "answered", "1", "good"]])
    problems = []
    results = outputs.write_gradebook(str(out), problems=problems)
    ann = results["students"]["ann"]["wb01"]
    assert problems == [] and ann["written_points"] == 1.5 and ann["total"] == 3.5
    assert ann["written_max"] == sum(written.of_workbook("wb01").values()) and ann["max_total"] == 23.5 + 12
    # the written answers the notebook lacks are there, worth 0, and still part of the maximum
    assert ann["written"]["wb01.q_one_path"]["status"] == "not in the notebook"
    row = next(csv.DictReader((out / "grades.csv").open()))
    assert row["max"] == "35.5" and row["total"] == "3.5" and row["wb01.written"] == "1.5"


def test_a_row_outside_the_maximum_or_of_no_workbooks_answer_is_reported_kept_and_not_counted(tmp_path):
    out = tmp_path / "out"
    outputs.save_record(str(out), _record("ann", answers=("wb01.q_row_convention", "wb01.my_own_essay")))
    _write(out / "written.csv", [outputs.MANUAL_FIELDS,
                                 ["ann", "wb01", "wb01.q_row_convention", "answered", "2", ""],
                                 ["ann", "wb01", "wb01.my_own_essay", "answered", "1", ""]])
    problems = []
    results = outputs.write_gradebook(str(out), problems=problems)
    assert results["students"]["ann"]["wb01"]["written_points"] == 0
    assert "outside 0..1" in problems[0] and "not a written answer of the workbook" in problems[1]
    kept = {r["answer_id"]: r["points"] for r in csv.DictReader((out / "written.csv").open())}
    assert kept == {"wb01.q_row_convention": "2", "wb01.my_own_essay": "1"}


def test_a_file_saved_with_semicolons_and_a_column_of_the_instructors_own_is_read_and_kept(tmp_path):
    out = tmp_path / "out"
    outputs.save_record(str(out), _record("ann"))
    _write(out / "written.csv", [outputs.MANUAL_FIELDS + ["grader"],
                                 ["ann", "wb01", "wb01.q_row_convention", "answered", "1", "ok", "TA Kim"]],
           delimiter=";")
    problems = []
    results = outputs.write_gradebook(str(out), problems=problems)
    assert problems == [] and results["students"]["ann"]["wb01"]["written_points"] == 1
    rows = list(csv.DictReader((out / "written.csv").open()))
    assert list(rows[0]) == outputs.MANUAL_FIELDS + ["grader"]
    assert rows[0]["grader"] == "TA Kim" and rows[0]["points"] == "1"


def test_a_renamed_or_missing_column_leaves_the_file_as_it_is_and_says_which(tmp_path):
    out = tmp_path / "out"
    outputs.save_record(str(out), _record("ann"))
    text = "student,workbook,answer_id,status,pionts,comment\nann,wb01,wb01.q_row_convention,answered,1,\n"
    (out / "written.csv").write_text(text)
    problems = []
    results = outputs.write_gradebook(str(out), problems=problems)
    assert (out / "written.csv").read_text() == text
    assert results["students"]["ann"]["wb01"]["needs_manual_grading"] == 2
    assert "no column 'points'" in problems[0] and "'pionts'" in problems[0] and "left as it is" in problems[0]


def test_a_student_name_with_quotes_and_commas_keeps_its_points(tmp_path):
    out = tmp_path / "out"
    name = '=HYPERLINK("http://x","click"), again'
    outputs.save_record(str(out), _record(name))
    _write(out / "written.csv", [outputs.MANUAL_FIELDS,
                                 [outputs.csv_cell(name), "wb01", "wb01.q_row_convention", "answered", "1", ""]])
    problems = []
    results = outputs.write_gradebook(str(out), problems=problems)
    assert problems == [] and results["students"][name]["wb01"]["written_points"] == 1
