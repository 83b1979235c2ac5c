"""A quiz's set-up: the student's own run forbids what grading forbids, in the same words.

A task is not answered by calling the course's own reference code (DESIGN.md): each
quiz declares in ``quizzes/<quiz>/quiz.json`` which modules of ``dlcourse`` its answers
may use, and the grader's sandbox holds only those (:mod:`dlcourse.grading.prepare.
package_view`). So that a student meets that rule while they work, not first in their
grade, the locked set-up cell of every quiz starts with::

    from dlcourse.quiz import begin
    begin("quiz07_production", dlcourse_modules=[])

:func:`begin` installs an import guard in the kernel: importing a module of
``dlcourse`` from the notebook (an answer, or any cell) that the quiz does not declare
raises :class:`ReferenceCodeForbidden`, a ``ModuleNotFoundError`` whose message says
why. The graded run executes the same set-up cell, so the student, nbgrader's Validate
and autograde all see the same error with the same message. Modules of ``dlcourse``
may import each other as they need: the guard judges only imports made by code
outside the package.
"""

from __future__ import annotations

import importlib.abc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: What every quiz's kernel may import of dlcourse: the set-up itself, the student's
#: variant, and what the hidden tests call (DESIGN.md: the student's side of grading).
#: The grading sandbox's partial package holds the same (:mod:`dlcourse.grading.prepare.
#: package_view`).
ALWAYS = ("quiz", "checks", "calls", "variants")


_course = threading.local()


@contextmanager
def course_code() -> Iterator[None]:
    """While it lasts, imports are the course's own, whatever code makes them: reading the
    course's ``nbgrader_config.py`` (:func:`dlcourse.config.load_config`), whose imports
    run from a frame of that file, not of ``dlcourse``. The guard is the student's early
    warning; what grading enforces is the sandbox's partial package."""
    _course.depth = getattr(_course, "depth", 0) + 1
    try:
        yield
    finally:
        _course.depth -= 1


class ReferenceCodeForbidden(ModuleNotFoundError):
    """A quiz's answer imported a part of dlcourse that the quiz does not let it use."""


def message(quiz: str, module: str, allowed: tuple[str, ...]) -> str:
    declared = ", ".join(f"dlcourse.{name}" for name in allowed) or "none"
    return (f"{quiz} does not let answers use {module}: a task is not answered by calling "
            "the course's own reference code, so write it yourself (the lesson shows how). "
            f"Parts of dlcourse this quiz allows: {declared}.")


class _Guard(importlib.abc.MetaPathFinder):
    def __init__(self, quiz: str, allowed: tuple[str, ...]):
        self.quiz, self.allowed = quiz, allowed

    def permits(self, fullname: str) -> bool:
        name = fullname.split(".", 1)[1]
        return any(name == part or name.startswith(part + ".")
                   for part in (*ALWAYS, *self.allowed))

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith("dlcourse.") or self.permits(fullname):
            return None
        if _imported_by_dlcourse() or getattr(_course, "depth", 0):
            return None
        # No ``name``: ``from dlcourse import drift`` would swallow a ModuleNotFoundError
        # named after the submodule and say only "cannot import name 'drift'".
        raise ReferenceCodeForbidden(message(self.quiz, fullname, self.allowed))


def _imported_by_dlcourse() -> bool:
    """Whether the code that asked for the import is a module of dlcourse."""
    frame = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not module.startswith("importlib") and module != __name__:
            return module == "dlcourse" or module.startswith("dlcourse.")
        frame = frame.f_back
    return False


def begin(quiz: str, *, dlcourse_modules: list[str] | tuple[str, ...] = (),
          variant: dict | None = None):
    """Start a quiz's kernel: forbid, from the notebook, every part of dlcourse that the
    quiz does not declare (``dlcourse_modules``, as in its ``quiz.json``).

    A quiz whose items differ by student passes ``variant``, its parameters declared as
    :mod:`dlcourse.variants` describes: this student's variant is shown and returned (a
    :class:`dlcourse.variants.Variant`); without it, ``begin`` returns None."""
    allowed = tuple(dlcourse_modules)
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _Guard)]
    sys.meta_path.insert(0, _Guard(quiz, allowed))
    if variant is None:
        return None
    from .variants import declared_here
    from .variants import variant as student_variant

    mine = student_variant(quiz, variant)
    declared_here[quiz] = mine.student
    print(mine.describe())
    return mine
