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

Only autograded items (nbgrader test cells) appear; each lists its checks in
the order the solution recorded them. Check names are unique in a quiz.
Points are not stored here: they come from the source notebook's metadata.
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
    quiz: str
    items: dict[str, list[KeyCheck]] = field(default_factory=dict)

    def check_named(self, name: str) -> KeyCheck | None:
        for checks in self.items.values():
            for check in checks:
                if check.name == name:
                    return check
        return None

    @property
    def exported_files(self) -> set[str]:
        """The files that ``check_file`` checks grade, relative to the notebook's folder."""
        return {check.file for checks in self.items.values() for check in checks if check.file}


def key_path(quiz: str, *, root: Path | None = None) -> Path:
    """Where the key of ``quiz`` is stored for the course at ``root``."""
    root = root or find_course_root()
    directory = Path(grading_options(root).key_directory)
    return (root / directory / f"{validate_identifier(quiz, 'quiz id')}.json").resolve()


def write_key(path: Path, quiz: str, items: dict[str, dict]) -> None:
    """Write a key atomically: a reader sees the old key or the new one, never half.

    ``items`` maps a grade id to ``{"checks": [record, ...]}``
    with the records as the kernel emitted them (encoded values).
    """
    document = {"format": FORMAT, "quiz": quiz, "items": items}
    write_atomically(path, json.dumps(document, indent=1, sort_keys=True) + "\n", mode=0o600)


def read_key(path: Path) -> Key:
    """Read and validate a key file, decoding its values."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeyFileError(
            f"no key at {path}: run `dlcourse release {path.stem}` to record it"
        ) from None
    except (OSError, ValueError) as error:
        raise KeyFileError(f"the key {path} cannot be read: {error}") from error
    try:
        if document.get("format") != FORMAT:
            raise ValueError(f"unknown format {document.get('format')!r}")
        key = Key(quiz=validate_identifier(document["quiz"], "quiz id"))
        for grade_id, item in document["items"].items():
            key.items[validate_identifier(grade_id, "grade id")] = [
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
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise KeyFileError(f"the key {path} is malformed: {error}") from error
    return key


def _hint(hint):
    return None if hint is None else values.validate_hint(hint)


def _file(file):
    if file is None:
        return None
    if not isinstance(file, str) or file.startswith("/") or ".." in Path(file).parts:
        raise ValueError(f"a check's file must be a path inside the quiz folder, not {file!r}")
    return file
