"""Existing nbgrader assignments grade unchanged, with the scores stock nbgrader gives.

``tests/files/nbgrader-course`` is an instructor's own nbgrader course (its own
``nbgrader_config.py``, no ``quizzes/``): nbgrader's documentation example
``ps1`` (two notebooks of plain ``assert`` test cells, a picture beside them,
its two example students) and ``mixed_hw``, two notebooks of which one has
keyed checks and the other plain asserts, a partial-credit cell and a data
file. Both are graded by ``dlcourse autograde --workers 2`` and by stock
``nbgrader autograde`` from the same submissions, and every grade agrees,
except where the README ("Grading safely") says stock nbgrader is wrong: it
zeroes a test cell that wrote to stderr, here a student's debug print.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from dlcourse.grading.autograde import RESULT_FILE, autograde
from dlcourse.grading.release import release
from dlcourse.grading.store.feedback import feedback

from ..conftest import FILES
from .test_grading import cell_index
from .test_stock_nbgrader import nbgrader

pytestmark = pytest.mark.skipif(  # dlcourse autograde grades only in a sandbox
    not os.environ.get("CI") and not shutil.which("bwrap"),
    reason="bubblewrap is not installed (CI installs it)")

COURSE = FILES / "nbgrader-course"
ASSIGNMENTS = ("ps1", "mixed_hw")

FIZZBUZZ_ORDER_WRONG = """def fizzbuzz(n):
    out = []
    for i in range(1, n + 1):
        if i % 3 == 0:
            out.append("Fizz")
        elif i % 5 == 0:
            out.append("Buzz")
        elif i % 15 == 0:
            out.append("FizzBuzz")
        else:
            out.append(str(i))
    return out"""
FIZZBUZZ_NOISY = """import sys

def fizzbuzz(n):
    print(f"debug: fizzbuzz({n})", file=sys.stderr)
    return [("Fizz" if i % 3 == 0 else "") + ("Buzz" if i % 5 == 0 else "") or str(i)
            for i in range(1, n + 1)]"""
#: answers by notebook and grade id; None: the solution, taken from the source
MIXED_SUBMISSIONS = {
    "right": {"arrays": {"normalize_answer": None, "longest_answer": None,
                         "explain": "Every feature then has the same scale."},
              "loops": {"fizzbuzz_answer": None, "count_answer": None}},
    # keyed: right on the visible example, not on hidden inputs; in-kernel: partial credit
    "partial": {"arrays": {"normalize_answer": "def normalize(x):\n"
                                               "    x = np.asarray(x, dtype=float)\n"
                                               "    return x - x.mean()",
                           "longest_answer": None},
                "loops": {"fizzbuzz_answer": FIZZBUZZ_ORDER_WRONG, "count_answer": None}},
    # right, but it writes to stderr while the test cells run
    "noisy": {"arrays": {"normalize_answer": None, "longest_answer": None},
              "loops": {"fizzbuzz_answer": FIZZBUZZ_NOISY, "count_answer": None}},
    "blank": {"arrays": {}, "loops": {}},
}
#: words.txt a student changed: the master version from source/ replaces it, as in nbgrader
TAMPERED_WORDS = "five words and no more\n"


def solution_of(root: Path, notebook: str, grade_id: str) -> str:
    source = nbformat.read(root / "source/mixed_hw" / f"{notebook}.ipynb", as_version=4)
    text = source.cells[cell_index(source, grade_id)].source
    lines = [line for line in text.splitlines() if "### BEGIN SOLUTION" not in line
             and "### END SOLUTION" not in line]
    return "\n".join(lines)


def write_mixed_submissions(root: Path) -> None:
    for student, notebooks in MIXED_SUBMISSIONS.items():
        folder = root / "submitted" / student / "mixed_hw"
        folder.mkdir(parents=True)
        for name, answers in notebooks.items():
            notebook = nbformat.read(root / "release/mixed_hw" / f"{name}.ipynb", as_version=4)
            for grade_id, text in answers.items():
                notebook.cells[cell_index(notebook, grade_id)].source = (
                    solution_of(root, name, grade_id) if text is None else text)
            nbformat.write(notebook, folder / f"{name}.ipynb")
        (folder / "words.txt").write_text(TAMPERED_WORDS)


def gradebook_grades(root: Path, assignment: str) -> dict[str, dict]:
    """Each student's total and each grade, (notebook, grade id) -> (the autograder's score,
    whether it needs a person): a score of None awaits a person (nbgrader's total counts
    it 0)."""
    found = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "example_course") as gradebook:
        for submission in gradebook.find_assignment(assignment).submissions:
            found[submission.student.id] = {
                "total": submission.score,
                "grades": {(notebook.name, grade.name): (grade.auto_score,
                                                         bool(grade.needs_manual_grade))
                           for notebook in submission.notebooks for grade in notebook.grades}}
    return found


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("nbgrader-course") / "course"
    shutil.copytree(COURSE, root)
    release(root=root)
    write_mixed_submissions(root)
    return root


@pytest.fixture(scope="module")
def stock(course, tmp_path_factory) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("stock") / "course"
    shutil.copytree(course, root)
    for assignment in ASSIGNMENTS:
        nbgrader("generate_assignment", assignment, "--force", cwd=root)
        nbgrader("autograde", assignment, "--force", "--create", cwd=root)
    return {assignment: gradebook_grades(root, assignment) for assignment in ASSIGNMENTS}


@pytest.fixture(scope="module")
def ours(course) -> dict[str, dict]:
    for assignment in ASSIGNMENTS:
        done = subprocess.run([sys.executable, "-m", "dlcourse", "autograde", assignment,
                               "--workers", "2"], cwd=course, capture_output=True, text=True,
                              timeout=900)
        assert done.returncode == 0, done.stdout + done.stderr
    return {assignment: gradebook_grades(course, assignment) for assignment in ASSIGNMENTS}


def test_ps1_scores_as_nbgrader_documents(ours, stock):
    # nbgrader's documentation (user_guide/grades.csv): bitdiddle 1.5, hacker 3.0
    assert {s: g["total"] for s, g in stock["ps1"].items()} == {"bitdiddle": 1.5, "hacker": 3.0}
    assert {s: g["total"] for s, g in ours["ps1"].items()} == {"bitdiddle": 1.5, "hacker": 3.0}


#: nbgrader's example ps1 as stock nbgrader 0.9.6 grades it, item by item: (the autograder's
#: score, whether a person must grade it). bitdiddle left sum_of_squares_application as
#: released: 0 and "No response.", nothing for a person to grade.
MANUAL = (None, True)
PS1 = {
    "bitdiddle": {("problem1", "correct_squares"): (0.0, False),
                  ("problem1", "squares_invalid_input"): (1.0, False),
                  ("problem1", "correct_sum_of_squares"): (0.0, False),
                  ("problem1", "sum_of_squares_uses_squares"): (0.5, False),
                  ("problem1", "sum_of_squares_equation"): MANUAL,
                  ("problem1", "sum_of_squares_application"): (0.0, False),
                  ("problem1", "cell-938593c4a215c6cc"): MANUAL,
                  ("problem2", "part-a"): MANUAL, ("problem2", "part-b"): MANUAL},
    "hacker": {("problem1", "correct_squares"): (1.0, False),
               ("problem1", "squares_invalid_input"): (1.0, False),
               ("problem1", "correct_sum_of_squares"): (0.5, False),
               ("problem1", "sum_of_squares_uses_squares"): (0.5, False),
               ("problem1", "sum_of_squares_equation"): MANUAL,
               ("problem1", "sum_of_squares_application"): MANUAL,
               ("problem1", "cell-938593c4a215c6cc"): MANUAL,
               ("problem2", "part-a"): MANUAL, ("problem2", "part-b"): MANUAL},
}


def test_ps1_every_grade_agrees_with_stock_nbgrader(ours, stock):
    assert {s: g["grades"] for s, g in stock["ps1"].items()} == PS1
    assert ours["ps1"] == stock["ps1"]


def test_ps1_unanswered_cells_say_no_response_as_in_stock_nbgrader(course, ours):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "example_course") as gradebook:
        comment = gradebook.find_comment("sum_of_squares_application", "problem1", "ps1",
                                         "bitdiddle")
        assert comment.comment == "No response."
        assert gradebook.find_comment("sum_of_squares_application", "problem1", "ps1",
                                      "hacker").comment is None


def test_mixed_assignment_agrees_with_stock_nbgrader_but_for_stderr(ours, stock):
    mine, theirs = ours["mixed_hw"], stock["mixed_hw"]
    assert {s: g["total"] for s, g in mine.items()} == {
        "right": 7.0, "partial": 4.5, "noisy": 7.0, "blank": 0.0}
    assert mine["partial"]["grades"][("loops", "fizzbuzz_cases")] == (1.5, False)  # partial
    for student in ("right", "partial", "blank"):
        assert mine[student] == theirs[student], student
    # stock nbgrader zeroes every test cell in which the student's code wrote to stderr
    differ = {key for key, score in mine["noisy"]["grades"].items()
              if theirs["noisy"]["grades"][key] != score}
    assert differ == {("loops", "fizzbuzz_small"), ("loops", "fizzbuzz_cases")}
    assert [theirs["noisy"]["grades"][key] for key in sorted(differ)] == [(0.0, False)] * 2
    assert theirs["noisy"]["total"] == mine["noisy"]["total"] - 3.0


def test_results_are_stored_per_notebook_and_a_rerun_regrades_nothing(course, ours):
    folder = course / "autograded/hacker/ps1"
    assert (folder / "problem1.ipynb").is_file() and (folder / "problem2.ipynb").is_file()
    stored = json.loads((folder / RESULT_FILE).read_text())
    assert set(stored["fingerprint"]["notebooks"]) == {"problem1", "problem2"}
    assert set(stored["result"]["notebooks"]) == {"problem1", "problem2"}
    assert {item["notebook"] for item in stored["result"]["items"]} == {"problem1", "problem2"}
    before = (folder / RESULT_FILE).read_text()
    results = autograde("ps1", root=course, progress=False)
    assert (folder / RESULT_FILE).read_text() == before
    assert {s: r.score for s, r in results.items()} == {"bitdiddle": 1.5, "hacker": 3.0}


def test_grade_json_marks_how_each_verdict_was_reached(course):
    done = subprocess.run([sys.executable, "-m", "dlcourse", "grade",
                           "submitted/partial/mixed_hw/loops.ipynb", "--quiz", "mixed_hw",
                           "--json"], cwd=course, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    items = {item["grade_id"]: item for item in json.loads(done.stdout)["items"]}
    assert {item["verdict"] for item in items.values()} == {"in-kernel"}
    assert (items["fizzbuzz_cases"]["score"], items["fizzbuzz_cases"]["status"]) == (1.5, "failed")
    assert items["count_words"]["status"] == "passed"  # the master words.txt, not the student's
    done = subprocess.run([sys.executable, "-m", "dlcourse", "grade",
                           "submitted/partial/mixed_hw/arrays.ipynb", "--quiz", "mixed_hw",
                           "--json"], cwd=course, capture_output=True, text=True, timeout=300)
    items = {item["grade_id"]: item for item in json.loads(done.stdout)["items"]}
    assert {g: (i["verdict"], i["status"]) for g, i in items.items()} == {
        "normalize": ("keyed", "failed"), "longest": ("keyed", "passed"),
        "explain": ("person", "missing")}  # left as released: 0, "No response."


def test_feedback_covers_every_notebook(course, ours):
    pages = feedback("ps1", root=course)
    folder = course / "feedback/hacker/ps1"
    # One page per notebook, named as nbgrader's release_feedback releases it and a
    # student's Assignments tab fetches it; each page covers the whole assignment.
    assert sorted(p.name for p in pages if p.parent == folder) == ["problem1.html",
                                                                   "problem2.html"]
    page = (folder / "problem1.html").read_text()
    assert len(pages) == 4 and "correct_squares" in page and "part-a" in page
    assert (folder / "problem2.html").read_text() == page
