"""What of ``dlcourse`` a student's kernel can import while a quiz is graded.

A task is not answered by calling the course's own reference code (DESIGN.md):
a quiz that asks for a Gram matrix cannot be answered with
``from dlcourse.style import gram_matrix``. Each quiz declares in
``quizzes/<quiz>/quiz.json`` which modules of the package its students (and
its hidden tests) may use::

    {"dlcourse_modules": ["data"]}

The grading sandbox then sees, at the package's own path, a copy of the
package that holds only those modules, the student-side modules
(:data:`ALWAYS`: ``quiz``, ``checks``, ``calls`` and ``variants``) and what they import at module
level; importing anything else fails with ``ModuleNotFoundError``. The quiz's set-up
cell (:func:`dlcourse.quiz.begin`) forbids the same imports in the student's own
kernel, and in the graded one, with a message that says why. No
``quiz.json``, or an empty list, means only :data:`ALWAYS`. The instructor's
evaluators of exported files are trusted and see the whole package.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import dlcourse

from ...config import validate_identifier
from ...quiz import ALWAYS

QUIZ_FILE = "quiz.json"
PACKAGE = Path(dlcourse.__file__).resolve().parent


class QuizConfigError(ValueError):
    """A ``quiz.json`` that cannot be read; the message names the file."""


def allowed_modules(quiz_dir: Path) -> tuple[str, ...]:
    """The ``dlcourse`` modules that ``quizzes/<quiz>/quiz.json`` lets students import."""
    path = quiz_dir / QUIZ_FILE
    if not path.is_file():
        return ()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        names = document.get("dlcourse_modules", [])
        if not isinstance(names, list):
            raise ValueError("dlcourse_modules must be a list of module names")
        for name in names:
            for part in str(name).split("."):
                validate_identifier(part, "module name")
            if not _module_file(str(name)):
                raise ValueError(f"dlcourse has no module {name!r}")
    except (OSError, ValueError, AttributeError) as error:
        raise QuizConfigError(f"{path}: {error}") from None
    return tuple(names)


def _module_file(name: str) -> Path | None:
    """The file of ``dlcourse.<name>``: a module, or a package's ``__init__.py``."""
    base = PACKAGE.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _top_level_imports(file: Path, module: str) -> set[str]:
    """The ``dlcourse`` modules that ``file`` (module ``dlcourse.<module>``) imports at
    module level (imports inside functions run only on paths a kernel under the
    grader never takes)."""
    tree = ast.parse(file.read_text(encoding="utf-8"))
    package = module.split(".") if file.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    statements = list(tree.body)
    while statements:
        node = statements.pop()
        if isinstance(node, (ast.If, ast.Try)):
            statements += [*node.body, *getattr(node, "orelse", []),
                           *getattr(node, "finalbody", []),
                           *[s for h in getattr(node, "handlers", []) for s in h.body]]
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".", 1)[1] for a in node.names
                      if a.name.startswith("dlcourse.")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1] if node.level > 1 else package
                origin = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module and node.module.startswith("dlcourse"):
                origin = node.module.split(".", 1)[1] if "." in node.module else ""
            else:
                continue
            if origin:
                found.add(origin)
            for alias in node.names:  # ``from . import values``: a module, if there is one
                candidate = f"{origin}.{alias.name}" if origin else alias.name
                if _module_file(candidate):
                    found.add(candidate)
    return found


def closure(names: tuple[str, ...] | list[str]) -> list[Path]:
    """The package's files that the modules ``names`` (plus :data:`ALWAYS`) need, relative
    to the package: each module, the ``__init__.py`` of each package on its way, and what
    they import at module level."""
    pending, seen, files = [*ALWAYS, *names], set(), {Path("__init__.py")}
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        file = _module_file(name)
        if file is None:
            continue
        parts = name.split(".")
        for depth in range(1, len(parts)):
            init = Path(*parts[:depth], "__init__.py")
            files.add(init)
            pending.append(".".join(parts[:depth]))
        if file.name == "__init__.py" and name in names:
            # a declared package comes whole
            files |= {p.relative_to(PACKAGE) for p in file.parent.rglob("*.py")}
        files.add(file.relative_to(PACKAGE))
        pending += sorted(_top_level_imports(file, name))
    return sorted(files)


def build_view(names: tuple[str, ...] | list[str], target: Path) -> Path:
    """Write the partial package for ``names`` into ``target``; return that folder."""
    if target.exists():
        shutil.rmtree(target)
    for relative in closure(names):
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PACKAGE / relative, destination)
    return target
