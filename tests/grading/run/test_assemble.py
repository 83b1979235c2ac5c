"""dlcourse.grading.run.assemble and source, on in-memory notebooks (no kernel)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from dlcourse.grading.prepare.source import SourceQuiz, title_above
from dlcourse.grading.run.assemble import SubmissionError, assemble, read_submission


def cell(kind, source, grade_id=None, **meta):
    made = new_code_cell(source) if kind == "code" else new_markdown_cell(source)
    if grade_id:
        made.metadata["nbgrader"] = {"grade_id": grade_id, **meta}
    return made


def source_quiz() -> SourceQuiz:
    notebook = new_notebook(cells=[
        cell("code", "import numpy as np", "setup", locked=True),
        cell("markdown", "## Part B\n\n**B1. Doubling.** Write `double(x)`."),
        cell("code", "def double(x):\n    return 2 * x", "double_answer", solution=True),
        cell("code", "assert double(1) == 2\n### BEGIN HIDDEN TESTS\ncheck('d', double(5))\n"
                     "### END HIDDEN TESTS", "double", grade=True, points=1),
    ])
    return SourceQuiz("q", Path("q.ipynb"), notebook, answer_ids=["double_answer"])


def test_only_answers_come_from_the_submission():
    submission = new_notebook(cells=[
        cell("code", "import os  # not the set-up", "setup"),
        cell("code", "def double(x):\n    return x + x", "double_answer"),
        cell("code", "pass  # an edited test", "double"),
    ])
    assembled = assemble(source_quiz(), submission).notebook
    sources = [c.source for c in assembled.cells]
    assert sources[0] == "import numpy as np"
    assert sources[2] == "def double(x):\n    return x + x"
    assert "BEGIN HIDDEN TESTS" in sources[3]


def test_added_code_cells_run_where_the_student_put_them_and_markdown_is_dropped():
    submission = new_notebook(cells=[
        cell("code", "import numpy as np", "setup"),
        cell("code", "helper = 3"), cell("markdown", "my notes"),
        cell("code", "def double(x):\n    return helper * x - x", "double_answer"),
    ])
    assembled = assemble(source_quiz(), submission)
    sources = [c.source for c in assembled.notebook.cells]
    assert sources[1] == "helper = 3" and assembled.added == [1]
    assert "my notes" not in sources
    assert assembled.answered == {"double_answer"}


def test_a_missing_answer_is_empty_and_not_answered():
    assembled = assemble(source_quiz(), new_notebook(cells=[]))
    assert assembled.answered == set()
    assert assembled.notebook.cells[2].source == ""


def test_a_question_title_is_the_bold_lead_or_heading_above():
    cells = source_quiz().notebook.cells
    assert title_above(cells, 2) == "B1. Doubling. Write `double(x)`."
    assert title_above(cells, 0) == ""


@pytest.mark.parametrize("text,why", [("{not json", "not a valid notebook"),
                                      ('{"cells": 3}', "no list of cells"),
                                      ('{"cells": [{"cell_type": "x", "source": ""}]}',
                                       "not a valid")])
def test_an_unreadable_submission_names_the_file_and_why(tmp_path, text, why):
    path = tmp_path / "broken.ipynb"
    path.write_text(text)
    with pytest.raises(SubmissionError, match=why) as raised:
        read_submission(path)
    assert str(path) in str(raised.value)


def test_a_readable_submission_is_read(tmp_path):
    path = tmp_path / "ok.ipynb"
    nbformat.write(new_notebook(cells=[cell("code", "x = 1")]), path)
    assert read_submission(path).cells[0].source == "x = 1"


def in_kernel_quiz() -> SourceQuiz:
    """An nbgrader notebook of plain asserts, with a scratch cell that has no metadata."""
    notebook = new_notebook(cells=[
        cell("code", "def squares(n):\n    return [i * i for i in range(1, n + 1)]",
             "squares", solution=True),
        cell("code", "squares(10)"),
        cell("code", "assert squares(2) == [1, 4]", "correct_squares", grade=True, points=1),
    ])
    return SourceQuiz("ps", Path("problem1.ipynb"), notebook, answer_ids=["squares"],
                      keyed=False)


def test_a_code_cell_without_metadata_is_the_students_as_in_nbgrader():
    submission = new_notebook(cells=[
        cell("code", "def squares(n):\n    return []", "squares"),
        cell("code", "squares(3)  # edited by the student"),
        cell("code", "pass  # the test, emptied", "correct_squares"),
    ])
    assembled = assemble(in_kernel_quiz(), submission)
    sources = [c.source for c in assembled.notebook.cells]
    assert sources == ["def squares(n):\n    return []", "squares(3)  # edited by the student",
                       "assert squares(2) == [1, 4]"]
    assert assembled.added == [1]
