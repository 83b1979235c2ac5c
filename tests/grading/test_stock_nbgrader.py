"""Stock ``nbgrader autograde`` grades keyed checks right, with its weaker guarantees:
``check`` compares in the student's kernel against the key and fails its cell on a
mismatch, so honest submissions get the same scores as under ``dlcourse grade``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from dlcourse.checks import MODE_VARIABLE
from dlcourse.grading.grade import grade_notebook

from ..conftest import FILES, copy_course
from .test_grading import RIGHT, cell_index

SUBMISSIONS = {
    "right": RIGHT,
    "wrong_letter": {**RIGHT, "letter_answer": 'answer_letter = "c"'},
    # right on the visible example only: stock nbgrader alone would pass it
    "visible_only": {**RIGHT, "scaled_sum_answer":
                     "def scaled_sum(x, k):\n    return 2 * np.asarray(x).sum(axis=1)"},
}


def nbgrader(*args, cwd: Path):
    bindir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if k != MODE_VARIABLE}
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"  # nbgrader runs `alembic`
    done = subprocess.run([str(bindir / "nbgrader"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def stock_graded(tiny_course, tmp_path_factory):
    course = copy_course(tiny_course, tmp_path_factory.mktemp("stock") / "course")
    (course / "keys").mkdir()
    (course / "keys/quiz_tiny.json").write_bytes((tiny_course / "keys/quiz_tiny.json").read_bytes())
    nbgrader("generate_assignment", "quiz_tiny", "--force", cwd=course)
    student = nbformat.read(course / "release/quiz_tiny/quiz_tiny.ipynb", as_version=4)
    for name, answers in SUBMISSIONS.items():
        notebook = nbformat.from_dict(student)
        for grade_id, text in answers.items():
            notebook.cells[cell_index(notebook, grade_id)].source = text
        folder = course / "submitted" / name / "quiz_tiny"
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / "quiz_tiny.ipynb")
    nbgrader("autograde", "quiz_tiny", "--force", "--create", cwd=course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return course, {name: gradebook.find_submission("quiz_tiny", name).score
                        for name in SUBMISSIONS}


@pytest.mark.parametrize("name", sorted(SUBMISSIONS))
def test_stock_nbgrader_agrees_with_dlcourse(stock_graded, tiny_course, name):
    course, stock_scores = stock_graded
    ours = grade_notebook(course / "submitted" / name / "quiz_tiny" / "quiz_tiny.ipynb",
                          quiz="quiz_tiny", root=tiny_course)
    assert stock_scores[name] == ours.score


def test_stock_nbgrader_checks_answers_and_exported_files_against_the_key(stock_graded):
    _, stock_scores = stock_graded
    assert stock_scores == {"right": 5.0, "wrong_letter": 4.0, "visible_only": 3.0}


def test_a_course_quiz_under_stock_nbgrader_scores_its_calibrations_as_dlcourse(tmp_path):
    """A real quiz, whose set-up installs the import guard (dlcourse.quiz.begin) and whose
    checks, comparing in the kernel, read the course's nbgrader_config.py: that file's own
    imports are the course's, not the student's, and stock nbgrader scores an honest
    submission and a mistake as their calibrations say."""
    import json
    import shutil

    from dlcourse.grading.release import release

    from ..conftest import REPO

    quiz = "quiz07_production"
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", course)
    for folder in ("source", "release", "quizzes"):
        shutil.copytree(REPO / folder / quiz, course / folder / quiz)
    release([quiz], root=course)
    nbgrader("generate_assignment", quiz, "--force", cwd=course)
    calibration = json.loads((REPO / "quizzes" / quiz / "calibration.json").read_text())
    expected = {}
    for case in calibration["submissions"]:
        name = Path(case["path"]).stem
        if name in ("correct_different", "mistake_leaks_exact_only"):
            folder = course / "submitted" / name.replace("_", "-") / quiz
            folder.mkdir(parents=True)
            shutil.copy(REPO / case["path"], folder / f"{quiz}.ipynb")
            expected[name.replace("_", "-")] = case["score"]
    assert len(expected) == 2
    nbgrader("autograde", quiz, "--force", "--create", cwd=course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        stock = {name: gradebook.find_submission(quiz, name).score for name in expected}
    assert stock == expected


def test_stock_nbgrader_grades_each_student_against_their_own_variant(tmp_path):
    """Under stock nbgrader the kernel works out the numbers of the student the folder is
    filed under, and ``check`` compares with that student's key (derived from the
    solution): the computed answer passes for everyone, a copied one only for its owner."""
    from dlcourse.grading.release import release

    from .test_variant_keys import COMPUTED, QUIZ, copied_from, write

    course = copy_course(FILES / "variant-course", tmp_path / "course")
    release(root=course)
    nbgrader("generate_assignment", QUIZ, "--force", cwd=course)
    submissions = {"alice": COMPUTED, "bob": copied_from("alice"), "carol": copied_from("carol")}
    for student, answers in submissions.items():
        write(course, course / "submitted" / student / QUIZ, answers)
    nbgrader("autograde", QUIZ, "--force", "--create", cwd=course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        stock = {name: gradebook.find_submission(QUIZ, name).score for name in submissions}
    assert stock == {"alice": 3.0, "bob": 1.0, "carol": 3.0}
