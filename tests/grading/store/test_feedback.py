"""Feedback a student reads: their own answers, the grader's comments, the late penalty.

One class of the tiny quiz, graded as on the hub (without the sandbox: these are the
tests' own submissions): Ann on time, with a free-text answer a person grades and
comments in the gradebook as the formgrader does; Bob late, under nbgrader's 'zero'
rule; Eve with answers that hold text of the hidden tests. Then ``dlcourse feedback``,
``dlcourse scores`` and the Canvas export.
"""

from __future__ import annotations

import csv
import html
import io
import os
import stat
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from dlcourse.grading.autograde import autograde
from dlcourse.grading.store.canvas import write_canvas_csv
from dlcourse.grading.store.feedback import feedback, inline
from dlcourse.grading.store.gradebook import database_url, scores

from ...conftest import copy_course
from ..test_grading import RIGHT, cell_index

DUE = datetime(2026, 12, 1, 12, 0, 0)
FREE_TEXT = "So that the answer computes the result instead of remembering it."
COMMENT_ON_TEXT = "Right idea: name the risk too (overfitting to the visible cases)."
COMMENT_ON_CODE = "Works; np.sum(x, axis=1) reads a little more plainly."
HIDDEN_LINE = "hidden = np.random.default_rng(7).normal(size=(4, 5))"
EVE = {**RIGHT, "letter_answer": '# ### BEGIN HIDDEN TESTS, I hoped\nanswer_letter = "b"',
       "scaled_sum_answer": f"def scaled_sum(x, k):\n    {HIDDEN_LINE}\n"
                            "    return k * np.asarray(x).sum(axis=1)"}


@pytest.fixture(autouse=True)
def alembic_on_path(monkeypatch):
    """nbgrader creates a gradebook by running the environment's ``alembic``."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


def _submit(root: Path, student: str, answers: dict[str, str], when: datetime,
            free_text: str | None = None) -> None:
    notebook = nbformat.read(root / "release/quiz_tiny/quiz_tiny.ipynb", as_version=4)
    for grade_id, text in answers.items():
        notebook.cells[cell_index(notebook, grade_id)].source = text
    if free_text is not None:
        notebook.cells[cell_index(notebook, "why_hidden")].source = free_text
    folder = root / "submitted" / student / "quiz_tiny"
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / "quiz_tiny.ipynb")
    (folder / "timestamp.txt").write_text(f"{when:%Y-%m-%d %H:%M:%S}.000000 UTC")
    (folder / "submission_secret.txt").write_text(f"secret-of-{student}")


@pytest.fixture(scope="module")
def course(tiny_course, tmp_path_factory):
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    root = copy_course(tiny_course, tmp_path_factory.mktemp("feedback") / "course")
    (root / "keys").mkdir()
    for key in (tiny_course / "keys").iterdir():
        (root / "keys" / key.name).write_bytes(key.read_bytes())
    with (root / "nbgrader_config.py").open("a") as config:
        config.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    with Gradebook(database_url(root)) as gradebook:
        gradebook.update_or_create_assignment("quiz_tiny", duedate=DUE)
    _submit(root, "ann", RIGHT, DUE - timedelta(hours=1), FREE_TEXT)
    _submit(root, "bob", RIGHT, DUE + timedelta(hours=3))
    _submit(root, "eve", EVE, DUE - timedelta(minutes=5))
    autograde("quiz_tiny", root=root, sandbox=False, progress=False)
    with Gradebook(database_url(root)) as gradebook:  # as the formgrader saves them
        gradebook.find_grade("why_hidden", "quiz_tiny", "quiz_tiny", "ann").manual_score = 1.0
        gradebook.find_comment("why_hidden", "quiz_tiny", "quiz_tiny", "ann").manual_comment = \
            COMMENT_ON_TEXT
        gradebook.find_comment("scaled_sum_answer", "quiz_tiny", "quiz_tiny", "ann"
                               ).manual_comment = COMMENT_ON_CODE
        gradebook.db.commit()
    pages = {path.parents[1].name: path for path in feedback("quiz_tiny", root=root)}
    return root, pages


def test_the_page_shows_the_students_own_answers(course):
    _, pages = course
    text = pages["ann"].read_text()
    for grade_id, answer in RIGHT.items():
        if grade_id != "why_hidden":  # Ann wrote her own free text
            assert html.escape(answer) in text, grade_id
    assert html.escape(FREE_TEXT) in text
    assert "<b>6</b> of 6 points" in text  # 5 autograded points and the manual 1


def test_a_comment_from_the_formgrader_reaches_the_student(course):
    _, pages = course
    text = pages["ann"].read_text()
    # each under the answer it comments on
    assert text.index(html.escape(COMMENT_ON_CODE)) > text.index(
        html.escape(RIGHT["scaled_sum_answer"]))
    assert text.index(html.escape(COMMENT_ON_TEXT)) > text.index(html.escape(FREE_TEXT))
    assert COMMENT_ON_TEXT not in pages["bob"].read_text()


def test_an_answer_holding_hidden_test_text_is_not_shown(course):
    root, pages = course
    text = pages["eve"].read_text()
    assert "BEGIN HIDDEN" not in text and HIDDEN_LINE not in text
    assert html.escape(RIGHT["weights_answer"]) in text  # her other answers are shown
    assert text.count("it holds text of the quiz's hidden tests") == 2
    source = nbformat.read(root / "source/quiz_tiny/quiz_tiny.ipynb", as_version=4)
    tests = [line.strip() for cell in source.cells if "HIDDEN" in cell.source
             for line in cell.source.splitlines() if len(line.strip()) > 12]
    for page in pages.values():
        assert not [line for line in tests if html.escape(line) in page.read_text()]


def test_titles_and_messages_show_code_as_code():
    assert inline("Set `answer_letter` to <b>") == \
        "Set <code>answer_letter</code> to &lt;b&gt;"
    # a title shortened inside a code span keeps no stray backtick
    assert inline("Set `a` to `…") == "Set <code>a</code> to …"


def test_titles_on_the_page_have_no_raw_backticks(course):
    _, pages = course
    text = pages["ann"].read_text()
    headings = [line for line in text.splitlines() if "<h2>" in line]
    assert headings and not any("`" in line for line in headings)
    assert "<code>answer_letter</code>" in text


def test_the_page_says_when_it_was_due_and_submitted(course):
    _, pages = course
    assert "due 2026-12-01 12:00 UTC" in pages["ann"].read_text()
    bob = pages["bob"].read_text()
    assert "Submitted 2026-12-01 15:00 UTC; due 2026-12-01 12:00 UTC (late)" in bob
    assert "less a late penalty of <b>5</b>" in bob


def test_a_page_is_readable_by_the_student_who_fetches_its_copy(course):
    _, pages = course
    for page in pages.values():
        assert stat.S_IMODE(page.stat().st_mode) == 0o644


def test_scores_and_canvas_agree_on_a_late_submission(course):
    root, _ = course
    rows = {row.student: row for row in scores(root)}
    assert (rows["bob"].score, rows["bob"].late_penalty) == (0.0, 5.0)  # 'zero'
    assert (rows["ann"].score, rows["ann"].late_penalty) == (6.0, 0.0)
    done = subprocess.run([sys.executable, "-m", "dlcourse", "scores", "--csv", "--canvas",
                           "canvas.csv"], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    listed = {row["student"]: float(row["score"])
              for row in csv.DictReader(io.StringIO(done.stdout))}
    with (root / "canvas.csv").open(newline="") as handle:
        canvas = {row[2]: float(row[-1]) for row in list(csv.reader(handle))[2:]}
    with Gradebook(database_url(root)) as gradebook:
        exported = write_canvas_csv(gradebook, root / "exported.csv").read_text()
    assert listed == canvas == {"ann": 6.0, "bob": 0.0, "eve": 5.0}
    assert exported == (root / "canvas.csv").read_text()
    table = subprocess.run([sys.executable, "-m", "dlcourse", "scores"], cwd=root,
                           capture_output=True, text=True, timeout=120).stdout
    assert "late: 5 taken off" in table
