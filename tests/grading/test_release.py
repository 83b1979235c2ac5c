"""dlcourse release: the student version hides solutions, hidden tests and the key,
and regenerating release/ reproduces what is committed, byte for byte."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from dlcourse.grading.prepare.source import QuizError
from dlcourse.grading.release import ReleaseError, all_quizzes, release
from dlcourse.protocol import values

from ..conftest import REPO, copy_course

QUIZZES = all_quizzes(REPO)


def strings_in_key(key_file: Path) -> set[str]:
    """Every recorded string, and every number's text, in a key: none may be in release/."""
    found = set()

    def walk(decoded):
        if isinstance(decoded, str) and len(decoded) >= 4:
            found.add(decoded)
        elif isinstance(decoded, list):
            for item in decoded:
                walk(item)
        elif isinstance(decoded, dict):
            for item in decoded.values():
                walk(item)
        elif hasattr(decoded, "dtype") and decoded.dtype.kind == "f" and decoded.size:
            # numbers precise enough that they could only come from the computation
            texts = (repr(float(x)) for x in decoded.ravel()[:50])
            found.update(t for t in texts if len(t.strip("-").replace(".", "").strip("0")) >= 6)

    for item in json.loads(key_file.read_text())["items"].values():
        for check in item["checks"]:
            walk(values.decode(check["value"]))
    return found


def public_text(source_path: Path) -> str:
    """The question text a quiz states openly (its markdown cells that are not answers)."""
    notebook = nbformat.read(source_path, as_version=4)
    return "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown"
                     and not c.metadata.get("nbgrader", {}).get("solution"))


def assert_nothing_hidden_in(notebook_path: Path, key_file: Path, source_path: Path):
    text = notebook_path.read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "dlcourse.checks"):
        assert marker not in text, f"{marker!r} in {notebook_path}"
    assert not re.search(r"\bcheck\(", text), f"a check( call in {notebook_path}"
    sources = "\n".join(c.source for c in nbformat.read(notebook_path, as_version=4).cells)
    stated = public_text(source_path)  # e.g. layer names the question asks for
    for secret in {w for w in strings_in_key(key_file) if w not in stated}:
        assert secret not in sources, f"key value {secret!r} appears in {notebook_path}"


def test_tiny_release_hides_solutions_checks_and_key(tiny_course):
    assert_nothing_hidden_in(tiny_course / "release/quiz_tiny/quiz_tiny.ipynb",
                             tiny_course / "keys/quiz_tiny.json",
                             tiny_course / "source/quiz_tiny/quiz_tiny.ipynb")


def test_the_key_is_outside_release_and_private(tiny_course):
    key = tiny_course / "keys" / "quiz_tiny.json"
    assert key.is_file() and oct(key.stat().st_mode & 0o777) == "0o600"
    assert not list((tiny_course / "release").rglob("*.json"))


def test_release_is_reproducible(tiny_course, tmp_path):
    again = copy_course(tiny_course, tmp_path / "again")
    release(root=again)
    name = "release/quiz_tiny/quiz_tiny.ipynb"
    assert (again / name).read_bytes() == (tiny_course / name).read_bytes()


def edit_source_cell(course: Path, grade_id: str, text: str) -> None:
    """Replace the text of one cell of the tiny quiz's source, found by grade id."""
    path = course / "source/quiz_tiny/quiz_tiny.ipynb"
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            cell.source = text
    nbformat.write(notebook, path)


def test_a_solution_that_fails_its_own_test_is_released_saying_so(tiny_course, tmp_path):
    """nbgrader allows a source whose solution fails its tests: released, with a warning
    naming the cell and the error; the failing keyed item has no key and scores 0 for
    every submission, saying why; the rest is graded."""
    from dlcourse.grading.grade import grade_notebook

    course = copy_course(tiny_course, tmp_path / "broken")
    edit_source_cell(course, "letter_answer", 'answer_letter = "z"')
    (released,) = release(root=course)
    assert len(released.warnings) == 1
    assert "test cell 'letter'" in released.warnings[0]
    assert "AssertionError: answer with one letter" in released.warnings[0]
    key = json.loads((course / "keys/quiz_tiny.json").read_text())
    assert "letter" not in key["items"] and "scaled_sum" in key["items"]
    result = grade_notebook(course / "source/quiz_tiny/quiz_tiny.ipynb", quiz="quiz_tiny",
                            root=course)
    items = {item.grade_id: item for item in result.items}
    assert items["letter"].status == "error" and "failed this test at release" in \
        items["letter"].message
    assert items["scaled_sum"].status == items["weights"].status == "passed"


def test_the_cli_warns_of_a_failing_solution(tiny_course, tmp_path, monkeypatch, capsys):
    from dlcourse.cli import main

    course = copy_course(tiny_course, tmp_path / "warned")
    edit_source_cell(course, "scaled_sum_answer", "def scaled_sum(x, k):\n    return x")
    monkeypatch.chdir(course)
    assert main(["release", "quiz_tiny"]) == 0
    err = capsys.readouterr().err
    assert "dlcourse release: warning: quiz_tiny/quiz_tiny.ipynb: test cell 'scaled_sum'" in err
    assert "AssertionError" in err


def test_a_test_cell_without_hidden_checks_is_refused(tiny_course, tmp_path):
    course = copy_course(tiny_course, tmp_path / "unchecked")
    edit_source_cell(course, "letter", 'assert answer_letter == "b"')
    with pytest.raises(QuizError, match="no hidden tests"):
        release(root=course)


def test_a_keyed_test_cell_that_records_no_check_is_refused(tiny_course, tmp_path):
    course = copy_course(tiny_course, tmp_path / "recordless")
    edit_source_cell(course, "letter", 'assert answer_letter in {"a", "b", "c"}\n'
                     "### BEGIN HIDDEN TESTS\nfrom dlcourse.checks import check\n"
                     "### END HIDDEN TESTS")
    before = (course / "release/quiz_tiny/quiz_tiny.ipynb").read_bytes()
    with pytest.raises(ReleaseError, match="letter: the test cell records no check"):
        release(root=course)
    assert (course / "release/quiz_tiny/quiz_tiny.ipynb").read_bytes() == before


@pytest.mark.parametrize("quiz", QUIZZES)
def test_committed_release_matches_a_fresh_release(released_course, quiz):
    name = f"release/{quiz}/{quiz}.ipynb"
    assert (released_course / name).read_bytes() == (REPO / name).read_bytes(), (
        f"{name} differs from a fresh `dlcourse release {quiz}`: run it and commit the result")


@pytest.mark.parametrize("quiz", QUIZZES)
def test_course_release_hides_solutions_checks_and_key(released_course, quiz):
    assert_nothing_hidden_in(REPO / f"release/{quiz}/{quiz}.ipynb",
                             released_course / f"keys/{quiz}.json",
                             REPO / f"source/{quiz}/{quiz}.ipynb")
