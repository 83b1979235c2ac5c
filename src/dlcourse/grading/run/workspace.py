"""The scratch folder a notebook runs in, and what is read back out of it.

Shared by grading a submission and by recording the key in ``dlcourse
release``, so that the instructor's solution and a student's answer run in
folders filled by the same rule, nbgrader's:

1. the regular files of the submission's folder (no links, no dot files, none
   too large, none that ``c.CourseDirectory.ignore`` names; never the files a
   ``check_file`` grades, so that an exported file counts only when the graded
   run wrote it);
2. then the assignment's own files from ``source/<assignment>/`` (every file
   but notebooks and what ``c.CourseDirectory.ignore`` names), over the
   student's copies, as ``nbgrader autograde`` overwrites them with the
   master versions, except those ``c.Autograde.exclude_overwriting`` keeps.

:func:`graded_files` lists the same files, notebooks left out, for
``autograded/<student>/<assignment>/``: what the graded run was given (the
submission's ``timestamp.txt`` among them), as ``nbgrader autograde`` leaves them there.

After the run, :func:`collect_records` reads each keyed item's check records
out of the executed notebook and evaluates the exported files they name.
"""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path, PurePosixPath

from ..prepare.source import SourceQuiz
from ..result import KEYED
from . import execute
from .exports import resolve
from .records import Record, records_of

#: The largest file, and the most bytes in all, copied from a submission's
#: folder into its scratch folder; the rest is left out.
MAX_COPIED_FILE_BYTES = 50 * 1024 * 1024
MAX_COPIED_BYTES = 200 * 1024 * 1024
#: nbgrader's default ``c.CourseDirectory.ignore``
NBGRADER_IGNORE = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback")


def _left_out(relative: PurePosixPath, names: set[PurePosixPath]) -> bool:
    return any(relative == name or name in relative.parents for name in names)


def _ignored(relative: Path, ignore: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(part, pattern) for part in relative.parts for pattern in ignore)


def submission_files(folder: Path, *, skip: Path | None = None,
                     exported: set[str] = frozenset(),
                     ignore: tuple[str, ...] = ()) -> list[Path]:
    """The files of a submission's folder that its graded run gets, relative to it: regular
    files (no links, nothing in a linked folder), no dot files, none ``ignore`` names, not
    ``skip``, none that ``check_file`` grades (``exported``), none over
    :data:`MAX_COPIED_FILE_BYTES`, and no more than :data:`MAX_COPIED_BYTES` in all."""
    found, copied = [], 0
    left_out = {PurePosixPath(name) for name in exported}
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        # rglob does not descend into linked folders
        relative = path.relative_to(folder)
        if path.is_symlink() or path == skip or any(p.startswith(".") for p in relative.parts):
            continue
        if _ignored(relative, ignore) or _left_out(PurePosixPath(relative.as_posix()), left_out):
            continue
        if path.is_file() and path.stat().st_size <= MAX_COPIED_FILE_BYTES:
            copied += path.stat().st_size
            if copied > MAX_COPIED_BYTES:
                break
            found.append(relative)
    return found


def copy_submission_files(folder: Path, scratch: Path, *, skip: Path,
                          exported: set[str] = frozenset(),
                          ignore: tuple[str, ...] = ()) -> None:
    """Copy the regular files of a submission's folder (not links) into its scratch folder
    (:func:`submission_files`).

    Files that ``check_file`` grades (``exported``, relative to the folder;
    for a folder such as a SavedModel, everything in it) are not copied: an
    exported file is graded only when the graded run itself wrote it.
    """
    for relative in submission_files(folder, skip=skip, exported=exported, ignore=ignore):
        target = scratch / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / relative, target)


def assignment_files(folder: Path, ignore: tuple[str, ...] = NBGRADER_IGNORE) -> list[Path]:
    """The files of ``source/<assignment>/`` that nbgrader hands out beside the notebooks.

    Every regular file, recursively, except notebooks and what matches one of
    ``ignore`` (file or folder names, as ``c.CourseDirectory.ignore``); links
    are not followed. Relative to ``folder``, sorted.
    """
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if _ignored(relative, ignore):
            continue
        if path.is_symlink() or not path.is_file() or path.suffix == ".ipynb":
            continue
        found.append(relative)
    return found


def copy_assignment_files(folder: Path, scratch: Path, *,
                          ignore: tuple[str, ...] = NBGRADER_IGNORE,
                          exported: set[str] = frozenset(),
                          keep: tuple[str, ...] = ()) -> None:
    """Copy the assignment's own files (:func:`assignment_files`) over the scratch folder's.

    As ``nbgrader autograde`` does, the master version replaces a student's
    copy of the same file, except the files ``keep`` names (relative to the
    assignment: ``c.Autograde.exclude_overwriting``), whose student's copy stays; files
    that ``check_file`` grades are never copied.
    """
    left_out = {PurePosixPath(name) for name in exported}
    kept = {PurePosixPath(name) for name in keep}
    for relative in assignment_files(folder, ignore):
        if _left_out(PurePosixPath(relative.as_posix()), left_out) or \
                PurePosixPath(relative.as_posix()) in kept:
            continue
        target = scratch / relative
        if target.is_symlink() or target.is_dir():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        shutil.copyfile(folder / relative, target)


def graded_files(submission: Path, assignment: Path, *, ignore: tuple[str, ...],
                 exported: set[str] = frozenset(), keep: tuple[str, ...] = ()
                 ) -> dict[str, Path]:
    """The files beside the notebooks that a submission's graded run was given, by path
    relative to its folder, each with the file it is a copy of: the submission's
    (:func:`submission_files`) and, over them, the assignment's (but those ``keep``
    names). Notebooks are left out. ``autograded/`` holds these, as nbgrader leaves them."""
    files = {relative.as_posix(): submission / relative
             for relative in submission_files(submission, exported=exported, ignore=ignore)
             if relative.suffix != ".ipynb"}
    left_out = {PurePosixPath(name) for name in exported}
    kept = {PurePosixPath(name) for name in keep}
    for relative in assignment_files(assignment, ignore):
        name = PurePosixPath(relative.as_posix())
        if _left_out(name, left_out) or name in kept:
            continue
        if any(other.startswith(f"{name}/") for other in files):
            continue  # the student's folder of that name stays, as in the scratch folder
        files[name.as_posix()] = assignment / relative
    return dict(sorted(files.items()))


def course_ignore(root: Path) -> tuple[str, ...]:
    """The course's ``c.CourseDirectory.ignore`` (nbgrader's default when it sets none)."""
    from nbgrader.coursedir import CourseDirectory

    from ...config import load_config

    return tuple(CourseDirectory(config=load_config(root), root=str(root)).ignore)


def collect_records(source: SourceQuiz, notebook, index_of: dict[str, int], *,
                    scratch: Path, root: Path, limits: execute.Limits) -> dict[str, list[Record]]:
    """Each keyed item's check records, exported files evaluated (needs ``scratch``)."""
    quiz_dir = root / "quizzes" / source.quiz
    return {item.grade_id: resolve(records_of(notebook.cells[index_of[item.grade_id]]),
                                   scratch=scratch, quiz_dir=quiz_dir,
                                   sandbox_limits=limits.sandbox)
            for item in source.autograded if item.verdict == KEYED}
