"""Read the check records a cell displayed, as the grader sees them.

A record is a ``display_data`` output whose data holds
:data:`dlcourse.checks.MIME_TYPE`. Only the outputs of a test cell are read
for that test cell's item: a record displayed by any other cell counts for
nothing. Records are only decoded here; whether they match is decided in
:mod:`.grade` against the key. A file record (from ``check_file``) names a
file instead of holding a value; :func:`.exports.resolve` turns it into one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any

from ...checks import MIME_TYPE
from ...config import IDENTIFIER
from ...protocol import values


@dataclass(frozen=True)
class Record:
    name: str
    value: Any  # decoded, or None when malformed
    encoded: Any  # as displayed, for the key
    rtol: float
    atol: float
    problem: str | None = None
    #: for a file record: the file, relative to the notebook's folder, and its evaluator
    file: str | None = None
    evaluator: str | None = None
    #: the file a file record names was not written
    missing: bool = False
    #: the instructor's message for a failure (only the key's is ever shown)
    hint: str | dict | None = None


def records_of(cell) -> list[Record]:
    """The check records among ``cell``'s outputs, in display order."""
    found = []
    for output in cell.get("outputs", []):
        if output.get("output_type") != "display_data":
            continue
        raw = output.get("data", {}).get(MIME_TYPE)
        if raw is None:
            continue
        found.append(_parse(raw))
    return found


def _parse(raw: Any) -> Record:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        return Record("", None, raw, 0.0, 0.0, problem="a check record without a name")
    name = raw["name"]
    if not IDENTIFIER.fullmatch(name):
        return Record(name, None, raw, 0.0, 0.0, problem="a check record with an invalid name")
    try:
        hint = values.validate_hint(raw["hint"]) if raw.get("hint") is not None else None
    except ValueError:
        return Record(name, None, raw, 0.0, 0.0, problem="a check record with a malformed hint")
    if "file" in raw:
        return replace(_parse_file(name, raw), hint=hint)
    try:
        value = values.decode(raw.get("value"))
        rtol, atol = float(raw.get("rtol", 0.0)), float(raw.get("atol", 0.0))
    except (values.ValueFormatError, TypeError, ValueError) as error:
        return Record(name, None, raw.get("value"), 0.0, 0.0, problem=f"malformed: {error}")
    return Record(name, value, raw["value"], rtol, atol, hint=hint)


def _parse_file(name: str, raw: dict) -> Record:
    file, evaluator = raw.get("file"), raw.get("evaluator")
    try:
        rtol, atol = float(raw.get("rtol", 0.0)), float(raw.get("atol", 0.0))
    except (TypeError, ValueError):
        return Record(name, None, None, 0.0, 0.0, problem="malformed tolerances")
    if not isinstance(file, str) or not isinstance(evaluator, str) or not IDENTIFIER.fullmatch(
            evaluator):
        return Record(name, None, None, rtol, atol, problem="a malformed file record")
    parts = PurePosixPath(file).parts
    if not parts or file.startswith("/") or ".." in parts:
        return Record(name, None, None, rtol, atol, problem="a file outside the notebook's folder")
    return Record(name, None, None, rtol, atol, file=file, evaluator=evaluator)
