"""Every notebook in the repository is committed clean, with nbgrader's metadata kept."""

from __future__ import annotations

import nbformat
import pytest

from dlcourse import notebooks

from .conftest import REPO

# Written by tests and builds, never committed: build/ holds the lessons nbval executed,
# with their outputs, for the website.
SKIPPED = {".venv", ".venv-oldest", ".git", ".ipynb_checkpoints", "autograded", "submitted",
           "feedback", "test-artifacts", "build"}
#: Fixtures kept as they come: submissions broken on purpose, as students' tools break them
#: (tests/grading/test_broken.py), and nbgrader's own test notebooks, byte for byte as
#: nbgrader ships them, outputs and all (tests/grading/test_nbgrader_autograde.py).
AS_THEY_COME = {REPO / "tests" / "files" / "broken",
                REPO / "tests" / "files" / "nbgrader-autograde"}
ALL = sorted(p for p in REPO.rglob("*.ipynb")
             if not SKIPPED.intersection(p.relative_to(REPO).parts)
             and p.parent not in AS_THEY_COME)


def grade_ids(notebook) -> dict[str, dict]:
    return {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]
            for c in notebook.cells if "nbgrader" in c.metadata}


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(REPO)))
def test_notebook_is_clean(path):
    notebook = nbformat.read(path, as_version=4)
    assert notebooks.problems(notebook) == [], f"{path}: run python -m dlcourse.notebooks {path}"


@pytest.mark.parametrize("path", sorted(REPO.glob("release/*/*.ipynb")) +
                         sorted(REPO.glob("quizzes/*/calibration/*.ipynb")),
                         ids=lambda p: str(p.relative_to(REPO)))
def test_student_notebooks_keep_nbgrader_metadata(path):
    quiz = path.parent.name if path.parent.parent.name == "release" else path.parents[1].name
    source = nbformat.read(REPO / "source" / quiz / f"{quiz}.ipynb", as_version=4)
    student = nbformat.read(path, as_version=4)
    expected, found = grade_ids(source), grade_ids(student)
    assert set(found) == set(expected), f"{path} lost or gained graded cells"
    for grade_id, meta in expected.items():
        for field in ("grade", "solution", "points"):
            assert found[grade_id].get(field) == meta.get(field), f"{path}: {grade_id}.{field}"


def test_cleaning_removes_outputs_counts_and_editor_metadata():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("1", execution_count=3, outputs=[
            nbformat.v4.new_output("execute_result", {"text/plain": "1"}, execution_count=3)],
            metadata={"collapsed": True, "nbgrader": {"grade_id": "x"}, "tags": ["t"]})])
    notebook.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    assert len(notebooks.problems(notebook)) == 4
    notebooks.clean(notebook)
    assert notebooks.problems(notebook) == []
    assert notebook.cells[0].metadata == {"nbgrader": {"grade_id": "x"}, "tags": ["t"]}
