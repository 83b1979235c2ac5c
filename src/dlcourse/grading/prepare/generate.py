"""The student version of a quiz, made by nbgrader's ``GenerateAssignment`` converter.

``dlcourse release`` writes it to ``release/`` without touching the gradebook;
``dlcourse autograde`` runs the same converter with the gradebook to register
the quiz and its graded cells there first (:func:`.gradebook.register`), as
``nbgrader generate_assignment`` does.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ... import notebooks
from ...config import load_config


class ReleaseError(RuntimeError):
    """The solution of a quiz does not pass its own tests, or nbgrader refused it."""


@dataclass
class StudentVersion:
    """What nbgrader hands out for an assignment: its notebooks and its other files."""

    #: each notebook's student version, cleaned, by notebook name
    notebooks: dict[str, nbformat.NotebookNode] = field(default_factory=dict)
    #: the other files nbgrader copied beside them, by path relative to the assignment
    files: dict[str, bytes] = field(default_factory=dict)


def _expanded_from_record(root: Path, quiz: str) -> dict[str, nbformat.NotebookNode]:
    """The notebooks of ``quiz`` with AUTOTEST cells, expanded from the release record."""
    from . import autotest
    from .source import QuizError, load_source, notebook_names

    config = load_config(root)
    expanded = {}
    for name in notebook_names(root, quiz):
        raw = nbformat.read(root / "source" / quiz / f"{name}.ipynb", as_version=4)
        if autotest.has_autotests(raw, config):
            try:
                expanded[name] = load_source(root, quiz, name).notebook
            except QuizError as error:
                raise ReleaseError(str(error)) from None
    return expanded


def student_version(root: Path, quiz: str, *, db_url: str | None = None,
                    expanded: dict[str, nbformat.NotebookNode] | None = None
                    ) -> StudentVersion:
    """Run nbgrader's GenerateAssignment on the source of ``quiz`` (every notebook in it).

    Without ``db_url`` the gradebook is not touched; with it, nbgrader
    registers the quiz, its notebooks and their graded cells there, as
    ``nbgrader generate_assignment`` does (autograding needs that). The other
    files are the ones nbgrader copies (``c.CourseDirectory.ignore`` honoured).
    Notebooks with ``### AUTOTEST`` cells are given to nbgrader expanded (``expanded``,
    by notebook name; by default from the release record), so that no kernel runs the
    solution again and the gradebook holds the cells grading runs.
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    if expanded is None:
        expanded = _expanded_from_record(root, quiz)
    config = load_config(root)
    if db_url is None:
        config.GenerateAssignment.no_database = True
        config.SaveCells.enabled = False
    else:
        config.CourseDirectory.db_url = db_url
    with tempfile.TemporaryDirectory(prefix="dlcourse-student-") as out, \
            tempfile.TemporaryDirectory(prefix="dlcourse-source-") as sources:
        coursedir = CourseDirectory(config=config, root=str(root))
        coursedir.release_directory = out  # absolute: nbgrader joins it onto root unchanged
        if expanded:  # a copy of the source, its AUTOTEST notebooks expanded
            shutil.copytree(root / "source" / quiz, Path(sources) / quiz, symlinks=True)
            for name, notebook in expanded.items():
                nbformat.write(notebook, Path(sources) / quiz / f"{name}.ipynb")
            coursedir.source_directory = sources
        coursedir.assignment_id = quiz
        converter = GenerateAssignment(coursedir=coursedir, config=config)
        converter.force = True
        here = os.getcwd()
        try:
            converter.start()
        except BaseException as error:  # nbgrader exits through SystemExit too
            raise ReleaseError(f"nbgrader could not generate {quiz}: {error}") from error
        finally:
            os.chdir(here)
        folder = Path(out) / quiz
        version = StudentVersion()
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if not path.is_file() or path.is_symlink():
                continue
            relative = path.relative_to(folder).as_posix()
            if path.suffix == ".ipynb" and path.parent == folder:
                version.notebooks[path.stem] = notebooks.clean(nbformat.read(path, as_version=4))
            else:
                version.files[relative] = path.read_bytes()
        if not version.notebooks:
            raise ReleaseError(f"nbgrader wrote no student version of {quiz}")
        return version
