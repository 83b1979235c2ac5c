"""Every quiz grades right: its solution scores full marks, its blank student
version zero, and each calibration submission in quizzes/<quiz>/ what
calibration.json records for it (score and each item's status).

The submissions of each quiz are graded as one batch by ``dlcourse autograde``
with two workers (sandboxed, into a gradebook), as an instructor would.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dlcourse.grading.autograde import autograde
from dlcourse.grading.release import all_quizzes

from .conftest import REPO

QUIZZES = all_quizzes(REPO)
SOLUTION = "instructor_solution"


def calibration(quiz: str) -> list[dict]:
    file = REPO / "quizzes" / quiz / "calibration.json"
    return json.loads(file.read_text())["submissions"] if file.is_file() else []


def student_id(case: dict) -> str:
    path = Path(case["path"])
    return "blank_release" if path.parts[0] == "release" else path.stem


@pytest.fixture(scope="session")
def graded(released_course):
    """quiz -> student id -> result, for the solution and every calibration submission."""
    results = {}
    for quiz in QUIZZES:
        cases = {student_id(c): REPO / c["path"] for c in calibration(quiz)}
        cases[SOLUTION] = REPO / "source" / quiz / f"{quiz}.ipynb"
        for student, notebook in cases.items():
            folder = released_course / "submitted" / student / quiz
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(notebook, folder / f"{quiz}.ipynb")
        results[quiz] = autograde(quiz, workers=2, root=released_course, progress=False)
    return results


def cases():
    return [pytest.param(quiz, case, id=f"{quiz}:{student_id(case)}")
            for quiz in QUIZZES for case in calibration(quiz)]


@pytest.mark.parametrize("quiz", QUIZZES)
def test_every_quiz_has_calibration_submissions(quiz):
    paths = [case["path"] for case in calibration(quiz)]
    assert f"release/{quiz}/{quiz}.ipynb" in paths, "the blank student version"
    assert len(paths) >= 4, "blank, correct-but-different and at least two typical mistakes"
    for path in paths:
        assert (REPO / path).is_file(), path


@pytest.mark.parametrize("quiz", QUIZZES)
def test_solution_scores_full_marks(graded, quiz):
    result = graded[quiz][SOLUTION]
    statuses = {i.grade_id: i.status for i in result.items}
    assert result.score == result.max_score, statuses
    assert set(statuses.values()) <= {"passed", "manual"}


@pytest.mark.parametrize("quiz,case", cases())
def test_calibration_submission_scores_as_recorded(graded, quiz, case):
    result = graded[quiz][student_id(case)]
    statuses = {i.grade_id: i.status for i in result.items}
    assert (result.score, statuses) == (case["score"], {**statuses, **case["items"]}), case["why"]
