"""The student version of a quiz, made by nbgrader's ``GenerateAssignment`` converter.

``dlcourse release`` writes it to ``release/`` without touching the gradebook;
``dlcourse autograde`` runs the same converter with the gradebook to register
the quiz and its graded cells there first (:func:`.gradebook.register`), as
``nbgrader generate_assignment`` does.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import nbformat

from .. import notebooks
from ..config import load_config


class ReleaseError(RuntimeError):
    """The solution of a quiz does not pass its own tests, or nbgrader refused it."""


def student_version(root: Path, quiz: str, *, db_url: str | None = None) -> nbformat.NotebookNode:
    """Run nbgrader's GenerateAssignment on the source.

    Without ``db_url`` the gradebook is not touched; with it, nbgrader
    registers the quiz, its notebook and its graded cells there, as
    ``nbgrader generate_assignment`` does (autograding needs that).
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    config = load_config(root)
    if db_url is None:
        config.GenerateAssignment.no_database = True
        config.SaveCells.enabled = False
    else:
        config.CourseDirectory.db_url = db_url
    with tempfile.TemporaryDirectory(prefix="dlcourse-student-") as out:
        coursedir = CourseDirectory(config=config, root=str(root))
        coursedir.release_directory = out  # absolute: nbgrader joins it onto root unchanged
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
        generated = Path(out) / quiz / f"{quiz}.ipynb"
        if not generated.is_file():
            raise ReleaseError(f"nbgrader wrote no student version of {quiz}")
        return notebooks.clean(nbformat.read(generated, as_version=4))
