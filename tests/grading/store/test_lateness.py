"""Late submissions: timestamps read as nbgrader reads them, penalties as nbgrader assigns them."""

from __future__ import annotations

import os
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from traitlets.config import Config

from dlcourse.grading.store.lateness import TimestampError, assign_late_penalties, read_timestamp

DUE = datetime(2026, 12, 1, 12, 0, 0)


@pytest.fixture(autouse=True)
def alembic_on_path(monkeypatch):
    """nbgrader creates a gradebook by running the environment's ``alembic``."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.parametrize("text", [
    "2026-12-01 12:30:00.000000 UTC",     # what `nbgrader submit` writes by default
    "2026-12-01 13:30:00.000000 CET",     # ... with c.Exchange.timezone = "CET"
    "2026-12-01T13:30:00+01:00",          # ISO 8601 with an offset
])
def test_a_timestamp_is_read_in_utc(tmp_path, text):
    (tmp_path / "timestamp.txt").write_text(text + "\n")
    assert read_timestamp(tmp_path) == datetime(2026, 12, 1, 12, 30)


def test_no_timestamp_file_means_no_time(tmp_path):
    assert read_timestamp(tmp_path) is None
    (tmp_path / "timestamp.txt").write_text("  \n")
    assert read_timestamp(tmp_path) is None


def test_a_broken_timestamp_names_its_file(tmp_path):
    (tmp_path / "timestamp.txt").write_text("yesterday-ish")
    with pytest.raises(TimestampError, match="timestamp.txt"):
        read_timestamp(tmp_path)


def _gradebook_with(tmp_path, submitted: datetime) -> str:
    """A gradebook holding one quiz (one 3-point cell), one student's submission scoring 2."""
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gradebook:
        gradebook.add_assignment("quiz", duedate=DUE)
        gradebook.add_notebook("quiz", "quiz")
        gradebook.add_grade_cell("answer", "quiz", "quiz", max_score=3, cell_type="code")
        gradebook.add_student("ann")
        gradebook.add_submission("quiz", "ann", timestamp=submitted)
        grade = gradebook.find_grade("answer", "quiz", "quiz", "ann")
        grade.auto_score = 2.0
        gradebook.db.commit()
    return url


def _penalty_and_score(url: str) -> tuple[float | None, float]:
    with Gradebook(url) as gradebook:
        submission = gradebook.find_submission("quiz", "ann")
        return submission.late_submission_penalty, float(submission.score)


@pytest.mark.parametrize(("method", "late", "penalty"), [
    ("zero", True, 2.0),      # 'zero': the penalty is the whole score
    ("zero", False, 0.0),     # on time: no penalty whatever the method
    ("none", True, 0.0),      # nbgrader's default: late work keeps its score
])
def test_the_penalty_is_the_one_nbgrader_config_asks_for(tmp_path, method, late, penalty):
    submitted = DUE + timedelta(hours=2) if late else DUE - timedelta(minutes=5)
    url = _gradebook_with(tmp_path, submitted)
    config = Config()
    config.LateSubmissionPlugin.penalty_method = method
    assign_late_penalties(config, url, "quiz", "quiz", "ann")
    assert _penalty_and_score(url) == (penalty, 2.0)



def test_a_course_plugin_class_is_used(tmp_path):
    from nbgrader.plugins import LateSubmissionPlugin

    class OnePointPerHour(LateSubmissionPlugin):
        def late_submission_penalty(self, student_id, score, total_seconds_late):
            return total_seconds_late / 3600

    url = _gradebook_with(tmp_path, DUE + timedelta(hours=1, minutes=30))
    config = Config()
    config.AssignLatePenalties.plugin_class = OnePointPerHour
    assign_late_penalties(config, url, "quiz", "quiz", "ann")
    assert _penalty_and_score(url) == (1.5, 2.0)
