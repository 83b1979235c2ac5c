"""Canvas's gradebook CSV: a row per student, final scores (penalties off), blanks unsubmitted."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from dlcourse.grading.store.canvas import STUDENT_COLUMNS, write_canvas_csv

DUE = datetime(2026, 12, 1, 12, 0, 0)


@pytest.fixture(autouse=True)
def alembic_on_path(monkeypatch):
    """nbgrader creates a gradebook by running the environment's ``alembic``."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


def _class_gradebook(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gradebook:
        for quiz in ("quiz01", "quiz02"):
            gradebook.add_assignment(quiz, duedate=DUE)
            gradebook.add_notebook(quiz, quiz)
            gradebook.add_grade_cell("auto", quiz, quiz, max_score=4, cell_type="code")
            gradebook.add_grade_cell("essay", quiz, quiz, max_score=2, cell_type="markdown")
        gradebook.add_student("ann", first_name="Ann", last_name="Lee", lms_user_id="1001")
        gradebook.add_student("bob")
        for student, late in (("ann", False), ("bob", True)):
            gradebook.add_submission("quiz01", student,
                                     timestamp=DUE + timedelta(hours=1 if late else -1))
            gradebook.find_grade("auto", "quiz01", "quiz01", student).auto_score = 3.0
            gradebook.find_grade("essay", "quiz01", "quiz01", student).manual_score = 1.5
        notebook = gradebook.find_submission_notebook("quiz01", "quiz01", "bob")
        notebook.late_submission_penalty = 1.0
        gradebook.db.commit()
    return url


def _read(path):
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def test_rows_hold_final_scores_with_manual_scores_and_penalties(tmp_path):
    url = _class_gradebook(tmp_path)
    with Gradebook(url) as gradebook:
        rows = _read(write_canvas_csv(gradebook, tmp_path / "canvas.csv"))
    assert rows[0] == [*STUDENT_COLUMNS, "quiz01", "quiz02"]
    assert rows[1] == ["Points Possible", "", "", "", "", "6", "6"]
    # Ann: 3 + 1.5 on time; Bob: 4.5 less the 1-point penalty; nobody submitted quiz02
    assert rows[2] == ["Lee, Ann", "1001", "ann", "ann", "", "4.5", ""]
    assert rows[3] == ["bob", "", "bob", "bob", "", "3.5", ""]
    assert len(rows) == 4


def test_nbgrader_export_runs_the_plugin(tmp_path):
    url = _class_gradebook(tmp_path)
    (tmp_path / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.db_url = {url!r}\n")
    subprocess.run([sys.executable, "-m", "nbgrader", "export", "--exporter",
                    "dlcourse.grading.store.canvas.CanvasExportPlugin", "--to", "out.csv",
                    "--assignment", "quiz01"],
                   cwd=tmp_path, check=True, capture_output=True)
    rows = _read(tmp_path / "out.csv")
    assert rows[0][-1] == "quiz01" and len(rows[0]) == len(STUDENT_COLUMNS) + 1
    assert [row[-1] for row in rows[2:]] == ["4.5", "3.5"]
