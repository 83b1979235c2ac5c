"""Answers that fit another student's variant: strong evidence of copying.

In a quiz whose numbers differ by student (:mod:`dlcourse.variants`), a value that is
wrong for the student's own numbers but right, within the key's tolerance, for a
classmate's is hard to reach by an honest mistake when it happens on several items at
once: it is what an answer worked out for the classmate's numbers gives. This reads
each graded student's recorded values (the check records of the hidden tests, in the
executed notebook ``dlcourse autograde`` keeps in ``autograded/<student>/<quiz>/``) and
each student's key of their own variant (derived while grading, cached under the key
directory: :func:`..prepare.variant.cached_path`), and lists each student whose values
fit another student's key on at least ``min_checks`` checks where they miss their own.

It is evidence for a person to judge, as the rest of ``dlcourse similarity``: two students
who worked together on one variant, each then submitting that variant's numbers, show up
the same way as a copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from ...protocol import values
from ...protocol.key import Key, KeyFileError, read_key
from ..prepare.source import load_source, nbgrader_meta
from ..prepare.variant import cached_path, declared
from ..run.records import records_of


@dataclass(frozen=True)
class VariantMatch:
    #: whose submission holds the values
    student: str
    #: whose variant they fit
    owner: str
    #: the checks whose recorded value fits ``owner``'s key and misses ``student``'s own
    checks: tuple[str, ...]


def recorded_values(executed: Path) -> dict[str, object]:
    """The values a graded notebook's hidden tests recorded, by check name (test cells only)."""
    notebook = nbformat.read(executed, as_version=4)
    found = {}
    for cell in notebook.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        for record in records_of(cell):
            if record.problem is None and record.file is None:
                found.setdefault(record.name, record.value)
    return found


def _fits(key: Key, name: str, value) -> bool:
    check = key.check_named(name)
    return check is not None and values.mismatch(check.value, value, rtol=check.rtol,
                                                 atol=check.atol) is None


def variant_matches(root: Path, quiz: str, *, min_checks: int = 2) -> list[VariantMatch]:
    """Every graded student whose recorded values fit another student's variant on at least
    ``min_checks`` checks where they miss their own; [] for a quiz without variants."""
    source = load_source(root, quiz)
    if declared(source) is None:
        return []
    keys: dict[str, Key] = {}
    recorded: dict[str, dict[str, object]] = {}
    for executed in sorted((root / "autograded").glob(f"*/{quiz}/{source.name}.ipynb")):
        student = executed.parents[1].name
        try:
            keys[student] = read_key(cached_path(root, quiz, source, student))
            recorded[student] = recorded_values(executed)
        except (KeyFileError, OSError, ValueError):
            continue  # graded before this release, or not readable: nothing to compare
    found = []
    for student, mine in recorded.items():
        wrong = {name: value for name, value in mine.items()
                 if keys[student].check_named(name) is not None
                 and not _fits(keys[student], name, value)}
        if len(wrong) < min_checks:
            continue
        for owner, key in keys.items():
            if owner == student:
                continue
            fitting = tuple(sorted(name for name, value in wrong.items()
                                   if _fits(key, name, value)))
            if len(fitting) >= min_checks:
                found.append(VariantMatch(student, owner, fitting))
    return sorted(found, key=lambda m: (-len(m.checks), m.student, m.owner))
