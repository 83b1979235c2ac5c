"""Every quiz grades right: its solution scores full marks, its blank student
version zero, and each calibration submission in quizzes/<quiz>/ what
calibration.json records for it (score and each item's status).

Every quiz's Part D has numbers that differ by student (:mod:`dlcourse.variants`), so
each calibration notebook is graded under two student ids, and must score the same
under both: by the grader (sandboxed, two at a time) under :data:`GRADED_AS`, the id
the release's own key was derived for, and by Validate under :data:`VALIDATED_AS`,
whose key is derived from the solution on first use. (One id per calibration, as an
autograde batch would file them, would cost one run of the solution per calibration;
autograde's batch itself is tested in tests/grading/.) A calibration entry's ``files``
are put beside its notebook in the submission folder (exported files left from an
earlier run, say).

Validate predicts the grade: nbgrader's Validate button, as its handler computes it in
the course (tests/validate_button.py), gives every calibration submission the same
status and score on every item as the grader, and its document is what ``dlcourse grade
--json`` prints. Every item that loses points says why, in the student's terms.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from dlcourse import variants
from dlcourse.grading.prepare.source import load_source
from dlcourse.grading.prepare.variant import RELEASE_STUDENT, recorded_varied
from dlcourse.grading.result import from_json
from dlcourse.protocol.key import key_path, read_key

from .conftest import QUIZZES, REPO
from .validate_button import validate_like_the_button

SOLUTION = "instructor_solution"
#: The two student ids every calibration is graded under (module docstring).
GRADED_AS = RELEASE_STUDENT
VALIDATED_AS = "grace"


def calibration(quiz: str) -> list[dict]:
    file = REPO / "quizzes" / quiz / "calibration.json"
    return json.loads(file.read_text())["submissions"] if file.is_file() else []


def student_id(case: dict) -> str:
    path = Path(case["path"])
    return "blank_release" if path.parts[0] == "release" else path.stem


def grade_as(notebook: str, quiz: str, root: str, student: str) -> dict:
    """In a worker process: the grader's result document for ``notebook`` filed under
    ``student``."""
    from dlcourse.grading.grade import grade_notebook

    return grade_notebook(notebook, quiz=quiz, root=root, student=student).to_json()


@pytest.fixture(scope="session")
def graded(released_course):
    """quiz -> case -> result, for the solution and every calibration submission, graded
    under :data:`GRADED_AS`."""
    jobs = {}
    for quiz in QUIZZES:
        cases = {student_id(c): (REPO / c["path"], c.get("files", []))
                 for c in calibration(quiz)}
        cases[SOLUTION] = (REPO / "source" / quiz / f"{quiz}.ipynb", [])
        for student, (notebook, files) in cases.items():
            folder = released_course / "submitted" / student / quiz
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(notebook, folder / f"{quiz}.ipynb")
            for file in files:
                shutil.copy(REPO / file, folder)
            jobs[quiz, student] = str(folder / f"{quiz}.ipynb")
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {job: pool.submit(grade_as, path, job[0], str(released_course), GRADED_AS)
                   for job, path in jobs.items()}
        documents = {job: future.result() for job, future in futures.items()}
    results = {quiz: {} for quiz in QUIZZES}
    for (quiz, student), document in documents.items():
        results[quiz][student] = from_json(document)
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
def test_every_quiz_has_three_items_of_the_students_own_numbers(released_course, quiz):
    """Issue 26: at least three items whose key differs by student, as the release found
    by running the solution for a second student (its record's ``varied``)."""
    source = load_source(released_course, quiz)
    varied = recorded_varied(released_course, quiz, source)
    key = read_key(key_path(quiz, root=released_course), source.name)
    items = {grade_id for grade_id, checks in key.items.items()
             if any(check.name in varied for check in checks)}
    assert len(items) >= 3, sorted(items)


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


#: What a student's feedback must not show: the grader's index paths into a value
#: (``value['batch_1']``), or an exception's type with nothing to say where it was raised.
INDEX_PATH = re.compile(r"value\[")
BARE_EXCEPTION = re.compile(r"^\w+(Error|Exception|Failed) in the test cell$")


@pytest.mark.parametrize("quiz,case", cases())
def test_calibration_feedback_speaks_of_the_students_work(graded, quiz, case):
    result = graded[quiz][student_id(case)]
    for item in result.items:
        assert not INDEX_PATH.search(item.message), (item.grade_id, item.message)
        assert not BARE_EXCEPTION.match(item.message), (item.grade_id, item.message)
        if item.status == "error" and "raised" in item.message:
            assert ("check '" in item.message or "answer cell" in item.message
                    or "visible test" in item.message), (item.grade_id, item.message)
        assert item.title, f"{item.grade_id} has no question title"


def as_student(student: str) -> None:
    """A Validate worker's set-up: the student id a course folder's README setting gives."""
    os.environ[variants.STUDENT_VARIABLE] = student


@pytest.fixture(scope="session")
def validated(graded, released_course):
    """quiz -> student id -> what the Validate button answers for the same notebook."""
    jobs = {(quiz, student): str(folder / f"{quiz}.ipynb")
            for quiz in QUIZZES for student in graded[quiz]
            for folder in [released_course / "submitted" / student / quiz]}
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"),
                             initializer=as_student, initargs=(VALIDATED_AS,)) as pool:
        futures = {job: pool.submit(validate_like_the_button, path, str(released_course))
                   for job, path in jobs.items()}
        answers = {job: future.result() for job, future in futures.items()}
    return {quiz: {student: answers[quiz, student] for student in graded[quiz]}
            for quiz in QUIZZES}


def by_item(items) -> dict[str, tuple]:
    return {item["grade_id"]: (item["status"], item["score"]) for item in items}


@pytest.mark.parametrize("quiz,case", cases())
def test_validate_predicts_the_grade_item_by_item(graded, validated, quiz, case):
    student = student_id(case)
    autograded = graded[quiz][student].to_json()
    validation = validated[quiz][student]
    assert by_item(validation["dlcourse"]["items"]) == by_item(autograded["items"])
    lost = [item for item in autograded["items"]
            if item["score"] is not None and item["score"] < item["max_score"]]
    # the button lists exactly the items that lose points, with the student's message
    # (which names the student whose variant a failed item of Part D was checked against)
    assert [whose_variant(entry["raw_error"], VALIDATED_AS)
            for entry in validation.get("failed", []) if "\n" in entry["source"]] == \
        [whose_variant(item["message"], GRADED_AS) for item in lost]


def whose_variant(message: str, student: str) -> str:
    return message.replace(f"variant of student {student!r}", "variant of student S")


@pytest.mark.parametrize("quiz", QUIZZES)
def test_dlcourse_grade_prints_what_validate_shows(validated, released_course, quiz):
    """`dlcourse grade --json` on the blank student version: the document Validate holds."""
    notebook = released_course / "submitted" / "blank_release" / quiz / f"{quiz}.ipynb"
    printed = subprocess.run(
        [str(Path(sys.executable).with_name("dlcourse")), "grade", str(notebook), "--quiz", quiz,
         "--json"], cwd=released_course, capture_output=True, text=True, timeout=900,
        env={**os.environ, variants.STUDENT_VARIABLE: VALIDATED_AS})
    assert printed.returncode == 0, printed.stderr
    assert by_item(json.loads(printed.stdout)["items"]) == by_item(
        validated[quiz]["blank_release"]["dlcourse"]["items"])


#: A reason that is only an exception's type, or only where something happened.
NO_REASON = re.compile(r"^([\w.]+( \(with no message\))?|(while|in) the (hidden|visible) test.*)$")


@pytest.mark.parametrize("quiz,case", cases())
def test_every_lost_item_says_why(graded, quiz, case):
    result = graded[quiz][student_id(case)]
    for item in result.items:
        if item.score is None or item.score >= item.max_score:
            continue
        assert item.reason and not NO_REASON.match(item.reason), (item.grade_id, item.reason)
        assert item.reason in item.message, (
            item.grade_id, item.message)
