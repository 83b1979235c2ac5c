"""The key: the values the instructor's solution recorded, per graded item.

``dlcourse release`` writes one key file per quiz, ``<key_directory>/<quiz>.json``
(``keys/`` by default, ignored by git and never copied to students or into a
grading sandbox). Its shape::

    {"format": 1, "quiz": "quiz01_frameworks",
     "items": {"<grade_id>": {"checks": [{"name": "...", "value": <encoded>,
                                          "rtol": 1e-05, "atol": 1e-08,
                                          "hint": "...", "file": "digits.onnx"}]}}}

``hint`` (optional) is the instructor's message for a failure of the check;
``file`` (only for ``check_file``) the exported file the check grades, which
the grader never carries from a submission's folder into the graded run.

Only keyed items (test cells of a keyed notebook) appear; each lists its
checks in the order the solution recorded them. Check names are unique in a
quiz. Points are not stored here: they come from the source notebook's metadata.

An assignment whose notebooks are not just one named after it stores each
notebook's items apart (format 2)::

    {"format": 2, "quiz": "ps1",
     "notebooks": {"problem1": {"items": {...}}, "problem2": {"items": {}}}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import find_course_root, grading_options, validate_identifier
from ..files import write_atomically
from . import values

FORMAT = 1
#: the format of a key holding several notebooks' items
NOTEBOOKS_FORMAT = 2


class KeyFileError(LookupError):
    """The key of a quiz is missing or unusable."""


@dataclass(frozen=True)
class KeyCheck:
    name: str
    value: Any  # decoded
    rtol: float
    atol: float
    hint: str | dict | None = None
    file: str | None = None


@dataclass
class Key:
    """The key of one notebook of a quiz (``items``), and of every notebook (``notebooks``)."""

    quiz: str
    items: dict[str, list[KeyCheck]] = field(default_factory=dict)
    #: every notebook's items by notebook name (for a quiz of one notebook: that one)
    notebooks: dict[str, dict[str, list[KeyCheck]]] = field(default_factory=dict)

    def check_named(self, name: str) -> KeyCheck | None:
        """The check called ``name`` in any notebook of the quiz (names are unique in it)."""
        for items in (self.items, *self.notebooks.values()):
            for checks in items.values():
                for check in checks:
                    if check.name == name:
                        return check
        return None

    def of_notebook(self, notebook: str) -> Key:
        """The key of one notebook of the quiz (no items when it holds no keyed checks)."""
        return Key(self.quiz, self.notebooks.get(notebook, {}), self.notebooks)

    @property
    def exported_files(self) -> set[str]:
        """The files that ``check_file`` checks grade, relative to the notebook's folder."""
        return {check.file for checks in self.items.values() for check in checks if check.file}


def key_path(quiz: str, *, root: Path | None = None) -> Path:
    """Where the key of ``quiz`` is stored for the course at ``root``."""
    root = root or find_course_root()
    directory = Path(grading_options(root).key_directory)
    return (root / directory / f"{validate_identifier(quiz, 'quiz id')}.json").resolve()


def write_key(path: Path, quiz: str, items: dict[str, dict], *,
              notebooks: dict[str, dict[str, dict]] | None = None) -> None:
    """Write a key atomically: a reader sees the old key or the new one, never half.

    ``items`` maps a grade id to ``{"checks": [record, ...]}``
    with the records as the kernel emitted them (encoded values). For an
    assignment of other notebooks than one named after it, ``notebooks`` maps
    each notebook's name to such items instead (``items`` is then ignored).
    """
    if notebooks is None:
        document = {"format": FORMAT, "quiz": quiz, "items": items}
    else:
        document = {"format": NOTEBOOKS_FORMAT, "quiz": quiz,
                    "notebooks": {name: {"items": of} for name, of in notebooks.items()}}
    write_atomically(path, json.dumps(document, indent=1, sort_keys=True) + "\n", mode=0o600)


def read_key(path: Path, notebook: str | None = None) -> Key:
    """Read and validate a key file, decoding its values.

    ``notebook`` picks the notebook whose items are :attr:`Key.items`
    (default: the one named after the quiz, or the only one).
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeyFileError(
            f"no key at {path}: run `dlcourse release {path.stem}` to record it"
        ) from None
    except (OSError, ValueError) as error:
        raise KeyFileError(f"the key {path} cannot be read: {error}") from error
    try:
        quiz = validate_identifier(document["quiz"], "quiz id")
        if document.get("format") == FORMAT:
            notebooks = {quiz: parse_items(document["items"])}
        elif document.get("format") == NOTEBOOKS_FORMAT:
            notebooks = {validate_identifier(name, "notebook name"): parse_items(of["items"])
                         for name, of in document["notebooks"].items()}
        else:
            raise ValueError(f"unknown format {document.get('format')!r}")
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise KeyFileError(f"the key {path} is malformed: {error}") from error
    if notebook is None:
        notebook = quiz if quiz in notebooks or len(notebooks) != 1 else next(iter(notebooks))
    return Key(quiz, notebooks.get(notebook, {}), notebooks)


def parse_items(document: dict) -> dict[str, list[KeyCheck]]:
    """A key document's items (grade id -> checks, as ``write_key`` writes them), read."""
    return {
        validate_identifier(grade_id, "grade id"): [
            KeyCheck(
                name=validate_identifier(check["name"], "check name"),
                value=values.decode(check["value"]),
                rtol=float(check["rtol"]),
                atol=float(check["atol"]),
                hint=_hint(check.get("hint")),
                file=_file(check.get("file")),
            )
            for check in item["checks"]
        ]
        for grade_id, item in document.items()
    }


def _hint(hint):
    return None if hint is None else values.validate_hint(hint)


def _file(file):
    if file is None:
        return None
    if not isinstance(file, str) or file.startswith("/") or ".." in Path(file).parts:
        raise ValueError(f"a check's file must be a path inside the quiz folder, not {file!r}")
    return file
