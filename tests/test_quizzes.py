"""Every quiz grades right: its solution scores full marks, its blank student
version zero, and each calibration submission in quizzes/<quiz>/ what
calibration.json records for it (score and each item's status)."""

from __future__ import annotations

import json

import pytest

from dlcourse.grading.grade import grade_notebook
from dlcourse.grading.release import all_quizzes

from .conftest import REPO

QUIZZES = all_quizzes(REPO)


def calibrations():
    cases = []
    for quiz in QUIZZES:
        file = REPO / "quizzes" / quiz / "calibration.json"
        for case in json.loads(file.read_text())["submissions"] if file.is_file() else []:
            cases.append(pytest.param(quiz, case, id=f"{quiz}:{case['path'].rsplit('/', 1)[-1]}"))
    return cases


@pytest.mark.parametrize("quiz", QUIZZES)
def test_every_quiz_has_calibration_submissions(quiz):
    file = REPO / "quizzes" / quiz / "calibration.json"
    paths = [case["path"] for case in json.loads(file.read_text())["submissions"]]
    assert f"release/{quiz}/{quiz}.ipynb" in paths, "the blank student version"
    assert len(paths) >= 4, "blank, correct-but-different and at least two typical mistakes"
    for path in paths:
        assert (REPO / path).is_file(), path


@pytest.mark.parametrize("quiz", QUIZZES)
def test_solution_scores_full_marks(released_course, quiz):
    result = grade_notebook(released_course / "source" / quiz / f"{quiz}.ipynb", quiz=quiz,
                            root=released_course)
    statuses = {i.grade_id: i.status for i in result.items}
    assert result.score == result.max_score, statuses
    assert set(statuses.values()) <= {"passed", "manual"}


@pytest.mark.parametrize("quiz,case", calibrations())
def test_calibration_submission_scores_as_recorded(released_course, quiz, case):
    result = grade_notebook(REPO / case["path"], quiz=quiz, root=released_course)
    statuses = {i.grade_id: i.status for i in result.items}
    expected = {k: v for k, v in case["items"].items()} if "items" in case else statuses
    assert (result.score, statuses) == (case["score"], {**statuses, **expected}), case["why"]
