"""dlcourse.grading.prepare.source: which notebooks an assignment has, how each item is judged."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from dlcourse.grading.prepare.source import QuizError, load_assignment, load_source, source_path
from dlcourse.grading.result import BY_PERSON, IN_KERNEL, KEYED


def cell(kind, text, grade_id=None, **meta):
    made = new_code_cell(text) if kind == "code" else new_markdown_cell(text)
    if grade_id:
        made.metadata["nbgrader"] = {"grade_id": grade_id, "schema_version": 3, **meta}
    return made


PLAIN = [  # nbgrader's own way: a scratch cell without metadata, asserts, a task
    cell("code", "def f(x):\n    return x", "f_answer", solution=True, grade=False),
    cell("code", "f(3)"),
    cell("code", "assert f(1) == 1", "f_test", grade=True, solution=False, points=1),
    cell("code", "def g():\n    pass", "g_by_hand", grade=True, solution=True, points=2),
    cell("markdown", "Explain.", "task", task=True, grade=False, solution=False, points=3),
]
KEYED_TEST = cell("code", "assert f(1) == 1\n### BEGIN HIDDEN TESTS\nfrom dlcourse.checks "
                  "import check\ncheck('f_two', f(2))\n### END HIDDEN TESTS", "f_keyed",
                  grade=True, solution=False, points=1)


def write(root, quiz, name, cells):
    path = root / "source" / quiz / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=cells), path)
    return path


def test_a_notebook_of_plain_asserts_is_judged_in_the_kernel(tmp_path):
    write(tmp_path, "hw", "hw", PLAIN)
    source = load_source(tmp_path, "hw")
    assert not source.keyed
    assert [(i.grade_id, i.manual, i.verdict) for i in source.items] == [
        ("f_test", False, IN_KERNEL), ("g_by_hand", True, BY_PERSON), ("task", True, BY_PERSON)]
    assert source.max_score == 1 and source.manual_max_score == 5


def test_a_notebook_with_a_keyed_check_must_key_every_test_and_lock_every_code_cell(tmp_path):
    write(tmp_path, "hw", "hw", [PLAIN[0], KEYED_TEST])
    source = load_source(tmp_path, "hw")
    assert source.keyed and [i.verdict for i in source.items] == [KEYED]
    write(tmp_path, "hw", "hw", [PLAIN[0], KEYED_TEST, PLAIN[2]])
    with pytest.raises(QuizError, match="'f_test' has no hidden tests"):
        load_source(tmp_path, "hw")
    write(tmp_path, "hw", "hw", [PLAIN[0], PLAIN[1], KEYED_TEST])
    with pytest.raises(QuizError, match="code cell 1 has no nbgrader metadata"):
        load_source(tmp_path, "hw")


def test_an_assignment_of_several_notebooks_names_each(tmp_path):
    write(tmp_path, "ps1", "problem2", PLAIN)
    write(tmp_path, "ps1", "problem1", [PLAIN[0], KEYED_TEST])
    sources = load_assignment(tmp_path, "ps1")
    assert [(s.name, s.quiz, s.keyed) for s in sources] == [
        ("problem1", "ps1", True), ("problem2", "ps1", False)]
    with pytest.raises(QuizError, match="its notebooks: problem1, problem2"):
        load_source(tmp_path, "ps1")
    assert load_source(tmp_path, "ps1", "problem2").path == source_path(tmp_path, "ps1",
                                                                        "problem2")


def test_a_single_notebook_may_be_named_otherwise(tmp_path):
    write(tmp_path, "week1", "homework", PLAIN)
    assert load_source(tmp_path, "week1").name == "homework"
    with pytest.raises(QuizError, match="no source notebook"):
        load_assignment(tmp_path, "week2")
