"""Notebooks broken the ways nbgrader's issue tracker reports get a verdict, never a crash.

Each fixture in tests/files/broken/ is the tiny quiz answered right, then broken as a
student's notebook gets broken, named after its scenario:

- ``copied-answer-cell``: an answer cell duplicated, nbgrader metadata and all
  (nbgrader #1083, #1753, #1933: autograde stops, "Cell with id ... exists multiple times");
- ``deleted-answer-cell``: an answer cell deleted (#1941);
- ``answer-cell-turned-markdown``: a code answer cell turned into markdown (#1941);
- ``metadata-stripped``: every cell's metadata lost, as a tool that drops it saves the
  notebook (#424, #1398);
- ``byte-order-mark``: the file starts with a UTF-8 byte-order mark (a Windows editor);
- ``mangled-cell-ids``: cell ids invalid and repeated (nbformat 4.5's ``id``, edited by
  another tool);
- ``truncated-save``: half a file, as an interrupted save leaves it.

All are autograded in one batch with an honest submission: each gets scores and a
problem that names what is wrong and the cell, the honest one scores full marks, and the
batch finishes.
"""

from __future__ import annotations

import shutil

import pytest

from dlcourse.grading.autograde import autograde

from ..conftest import FILES, copy_course
from .test_autograde import write_submission
from .test_grading import RIGHT

BROKEN = FILES / "broken"

#: scenario -> (autograded score of 5, a problem the result must name)
EXPECTED = {
    "copied-answer-cell": (5.0, "cell 8 repeats the answer cell 'scaled_sum_answer' (cell 7)"),
    "deleted-answer-cell": (4.0, "the answer cell 'letter_answer' is not in the submission"),
    "answer-cell-turned-markdown": (5.0, "cell 7, the answer 'scaled_sum_answer', is a "
                                         "markdown cell, not code: graded as code"),
    "metadata-stripped": (5.0, "no cell carries nbgrader's metadata"),
    "byte-order-mark": (5.0, "the file starts with a byte-order mark"),
    "mangled-cell-ids": (5.0, "cells 2, 5 have invalid or repeated cell ids"),
}


@pytest.fixture(scope="module")
def graded(tiny_course, tmp_path_factory):
    root = copy_course(tiny_course, tmp_path_factory.mktemp("broken") / "course")
    shutil.copytree(tiny_course / "keys", root / "keys")
    for notebook in BROKEN.glob("*.ipynb"):
        folder = root / "submitted" / notebook.stem / "quiz_tiny"
        folder.mkdir(parents=True)
        shutil.copyfile(notebook, folder / "quiz_tiny.ipynb")
    write_submission(root, "honest", RIGHT)
    return autograde("quiz_tiny", workers=2, root=root, progress=False)


def test_every_fixture_is_graded_in_the_batch(graded):
    assert set(graded) == {p.stem for p in BROKEN.glob("*.ipynb")} | {"honest"}
    assert graded["honest"].score == 5 and not graded["honest"].problems


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_a_broken_notebook_is_graded_with_its_problem_named(graded, scenario):
    score, problem = EXPECTED[scenario]
    result = graded[scenario]
    assert result.error is None
    assert result.score == score, {i.grade_id: (i.status, i.message) for i in result.items}
    assert any(problem in named for named in result.problems), result.problems


def test_a_truncated_save_scores_zero_and_says_the_file_is_not_a_notebook(graded):
    result = graded["truncated-save"]
    assert result.score == 0
    assert "quiz_tiny.ipynb: not a valid notebook" in result.error
    assert {item.status for item in result.items} <= {"error", "missing"}
