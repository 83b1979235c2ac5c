"""dlcourse.student_copy: the student's copy of each lesson, stubs in place of solutions."""

from __future__ import annotations

import nbformat
import pytest

from dlcourse.student_copy import MarkerError, stub, student_copy, write_copies

from .conftest import REPO


def test_a_solution_region_becomes_a_stub_at_its_indentation():
    source = ("def double(x):\n    # a comment the student keeps\n    ### BEGIN SOLUTION\n"
              "    y = 2 * x\n    return y\n    ### END SOLUTION\n\nprint(double(2))")
    assert stub(source) == ("def double(x):\n    # a comment the student keeps\n"
                            "    # YOUR CODE HERE\n    print(\"not done yet\")\n\nprint(double(2))")


def test_a_cell_without_markers_is_replaced_whole():
    assert stub("answer = 42") == '# YOUR CODE HERE\nprint("not done yet")'


@pytest.mark.parametrize("source", [
    "### BEGIN SOLUTION\nx = 1",
    "x = 1\n### END SOLUTION",
    "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
])
def test_unpaired_markers_are_refused(source):
    with pytest.raises(MarkerError):
        stub(source)


def test_only_exercise_cells_change_and_the_copy_is_clean():
    lesson = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),
        nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 2\n### END SOLUTION",
                                  metadata={"tags": ["exercise"]}, execution_count=3),
    ])
    copy = student_copy(lesson)
    assert copy.cells[0].source == lesson.cells[0].source
    assert copy.cells[1].source == '# YOUR CODE HERE\nprint("not done yet")'
    assert copy.cells[1].execution_count is None and lesson.cells[1].execution_count == 3


def test_the_committed_copies_are_those_the_lessons_make(tmp_path):
    """lessons/ is what `python -m dlcourse.student_copy` writes from notebooks/."""
    course = tmp_path / "course"
    (course / "notebooks").mkdir(parents=True)
    for lesson in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"):
        (course / "notebooks" / lesson.name).write_bytes(lesson.read_bytes())
    written = write_copies(course)
    committed = sorted(path.name for path in (REPO / "lessons").glob("*.ipynb"))
    assert [path.name for path in written] == committed
    stale = [path.name for path in written
             if path.read_text() != (REPO / "lessons" / path.name).read_text()]
    assert not stale, (f"lessons/ is stale for {stale}: run "
                       "`.venv/bin/python -m dlcourse.student_copy`")
