"""Open in Colab: the badge at the top of every lesson and quiz, and the cell that installs
what Colab lacks.

Colab runs a notebook with its own PyTorch, TensorFlow and JAX (``constraints/colab.txt``
lists Colab's versions of what the course shares with it). Every lesson
(``notebooks/``, and so its student copy in ``lessons/``) and every quiz source carries,
right after its opening:

- a badge that opens the student's copy in Colab (the lesson in ``lessons/``, the quiz in
  ``release/``);
- a code cell that, **only on Colab**, installs the course's package and the packages this
  notebook imports that Colab does not have, at the versions the course tests with them
  (``constraints/oldest.txt``), with Colab's own versions held as constraints so that pip
  never brings a second copy of a framework Colab has. Anywhere else it does nothing (the
  environment that ``make`` or ``uv sync`` made already has everything).

The repository's address is set in one place, ``[project.urls] Repository`` in
``pyproject.toml``; this module writes it into every notebook::

    python -m dlcourse.colab          # after changing the address, or a lesson's imports

then ``python -m dlcourse.student_copy`` and ``dlcourse release`` carry the change into
``lessons/`` and ``release/`` (``tests/test_colab.py`` fails while any notebook is stale,
and runs the install cell's logic in a fresh environment with Colab's packages, against
this checkout instead of GitHub).
"""

from __future__ import annotations

import argparse
import ast
import base64
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import nbformat

from .notebooks import without_magics, write

BADGE_TAG, INSTALL_TAG = "colab-badge", "colab-install"
#: The environment variable that points the install cell at a checkout instead of GitHub
#: (tests/test_colab.py); on Colab it is not set.
LOCAL_COURSE = "DLCOURSE_COURSE"
BRANCH = "main"
#: Never installed on Colab even where a notebook imports it: PyTorch's GPU compiler comes
#: with PyTorch's own GPU build (lesson 01 imports it where present, for the import order).
NOT_ON_COLAB = {"triton"}
_BADGE_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="117" height="20">'
    '<rect width="117" height="20" rx="3" fill="#555"/>'
    '<rect x="20" width="97" height="20" rx="3" fill="#e8710a"/>'
    '<circle cx="10" cy="10" r="5" fill="none" stroke="#f9ab00" stroke-width="3"/>'
    '<text x="68" y="14" fill="#fff" font-family="Verdana,sans-serif" font-size="11" '
    'text-anchor="middle">Open in Colab</text></svg>')
#: The badge as an image the page carries itself: the course's website is read offline.
BADGE_IMAGE = "data:image/svg+xml;base64," + base64.b64encode(_BADGE_SVG.encode()).decode()


def repository(root: Path) -> str:
    """``owner/name`` of the course's GitHub repository, from ``pyproject.toml``."""
    urls = tomllib.loads((root / "pyproject.toml").read_text())["project"]["urls"]
    match = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+?)/?", urls["Repository"])
    if not match:
        raise ValueError(f"pyproject.toml: [project.urls] Repository {urls['Repository']!r} "
                         "is not https://github.com/OWNER/NAME")
    return match.group(1)


def colab_url(repo: str, path: str) -> str:
    return f"https://colab.research.google.com/github/{repo}/blob/{BRANCH}/{path}"


def student_path(root: Path, notebook: Path) -> str:
    """What a student opens: the lesson's copy in lessons/, the quiz's in release/."""
    relative = notebook.relative_to(root)
    if relative.parts[0] == "notebooks":
        return f"lessons/{relative.name}"
    if relative.parts[0] == "source":
        return f"release/{relative.parent.name}/{relative.name}"
    raise ValueError(f"{relative}: neither a lesson (notebooks/) nor a quiz source (source/)")


# -- what a notebook needs that Colab lacks ----------------------------------------------

def _imports(tree: ast.AST, package: str) -> tuple[set[str], set[str]]:
    """Top-level modules imported anywhere in ``tree`` (third-party candidates) and the
    ``dlcourse`` modules it imports (``package`` resolves relative imports)."""
    outside, course = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                (course if alias.name.split(".")[0] == "dlcourse" else outside).add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            if base.split(".")[0] == "dlcourse":
                course |= {base} | {f"{base}.{alias.name}" for alias in node.names}
            elif base:
                outside.add(base)
    return {name.split(".")[0] for name in outside}, course


def _course_module_file(root: Path, name: str) -> Path | None:
    base = root / "src" / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(root: Path, notebook) -> set[str]:
    """Third-party top-level modules a notebook imports, itself or through the parts of
    ``dlcourse`` it imports (followed to their own imports, in functions too)."""
    modules, pending, seen = set(), [], set()
    for cell in notebook.cells:
        if cell.cell_type == "code":
            try:
                outside, course = _imports(ast.parse(without_magics(cell.source)), "dlcourse")
            except SyntaxError:
                continue
            modules |= outside
            pending += sorted(course)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        file = _course_module_file(root, name)
        if file is None:
            continue
        package = name if file.name == "__init__.py" else name.rsplit(".", 1)[0]
        outside, course = _imports(ast.parse(file.read_text()), package)
        modules |= outside
        pending += sorted(course | {".".join(name.split(".")[:i])
                                    for i in range(1, name.count(".") + 1)})
    return {m for m in modules
            if m not in sys.stdlib_module_names and m != "dlcourse" and m not in NOT_ON_COLAB}


def _names(requirements: Path) -> dict[str, str]:
    """``name -> name==version`` of a pinned requirements file (markers, hashes dropped)."""
    pins = {}
    for line in requirements.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", line)
        if match:
            pins[_normal(match.group(1))] = f"{match.group(1)}=={match.group(2)}"
    return pins


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def needs(root: Path, notebook) -> list[str]:
    """Pinned requirements for what ``notebook`` imports that Colab does not have."""
    colab = _names(root / "constraints" / "colab.txt")
    known = set(_names(root / "constraints" / "colab-pip-freeze.txt"))
    oldest = _names(root / "constraints" / "oldest.txt")
    distributions = importlib.metadata.packages_distributions()
    wanted = set()
    for module in imported_modules(root, notebook):
        for distribution in distributions.get(module, []):
            name = _normal(distribution)
            if name not in colab and name not in known and name in oldest:
                wanted.add(oldest[name])
    return sorted(wanted, key=str.lower)


# -- the cells ---------------------------------------------------------------------------

def badge_source(repo: str, path: str) -> str:
    return (f"[![Open in Colab]({BADGE_IMAGE})]({colab_url(repo, path)}) "
            f"Run this notebook on Google Colab: the next cell installs there what Colab "
            f"lacks; elsewhere it does nothing.")


def install_source(repo: str, requirements: list[str]) -> str:
    owner_name = repo
    extra = "".join(f'\n         "{requirement}",' for requirement in requirements)
    return f'''# On Colab only: the course's package and what this notebook needs that Colab lacks,
# Colab's own versions held fixed (never a second PyTorch, TensorFlow or JAX).
import os, subprocess, sys

if "google.colab" in sys.modules or "{LOCAL_COURSE}" in os.environ:
    course = os.environ.get("{LOCAL_COURSE}")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "-c",
         f"{{course}}/constraints/colab.txt" if course else
         "https://raw.githubusercontent.com/{owner_name}/{BRANCH}/constraints/colab.txt",
         f"dlcourse @ file://{{course}}" if course else
         "dlcourse @ git+https://github.com/{owner_name}@{BRANCH}",{extra}
        ], check=True)'''


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def stamp(root: Path, path: Path) -> bool:
    """Put the current badge and install cell into the notebook at ``path``; return whether
    it changed. They go right after the opening (the first cell), replacing earlier ones."""
    notebook = nbformat.read(path, as_version=4)
    before = nbformat.writes(notebook)
    repo = repository(root)
    cells = [cell for cell in notebook.cells
             if not {BADGE_TAG, INSTALL_TAG} & set(_tags(cell))]
    badge = nbformat.v4.new_markdown_cell(badge_source(repo, student_path(root, path)),
                                          metadata={"tags": [BADGE_TAG]})
    install = nbformat.v4.new_code_cell(install_source(repo, needs(root, notebook)),
                                        metadata={"tags": [INSTALL_TAG]})
    if path.relative_to(root).parts[0] == "source":
        # a locked cell of the quiz: graded runs take the source's copy, which does nothing
        install.metadata["nbgrader"] = {"grade": False, "grade_id": "colab_install",
                                        "locked": True, "schema_version": 3,
                                        "solution": False, "task": False}
        badge.metadata["nbgrader"] = {"grade": False, "grade_id": "colab_badge",
                                      "locked": True, "schema_version": 3,
                                      "solution": False, "task": False}
    for old, new in zip([c for c in notebook.cells if BADGE_TAG in _tags(c)]
                        + [c for c in notebook.cells if INSTALL_TAG in _tags(c)],
                        (badge, install), strict=False):
        new["id"] = old.get("id", new.get("id"))  # the same cells, not new ones, when restamped
    notebook.cells = [cells[0], badge, install, *cells[1:]]
    if nbformat.writes(notebook) == before:
        return False
    write(notebook, path)
    return True


def notebooks(root: Path) -> list[Path]:
    return [*sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")),
            *sorted((root / "source").glob("*/*.ipynb"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlcourse.colab",
                                     description="Stamp the Colab badge and install cell into "
                                     "every lesson and quiz source.")
    parser.add_argument("--root", type=Path, default=Path.cwd(),
                        help="the course root (default: the current folder)")
    root = parser.parse_args(argv).root.resolve()
    for path in notebooks(root):
        if stamp(root, path):
            print(f"stamped {path.relative_to(root)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
