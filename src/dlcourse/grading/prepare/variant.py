"""A quiz's variant, as the grader reads it: declared in the source, derived in a kernel.

A quiz whose numbers differ by student declares them in its set-up cell
(:mod:`dlcourse.variants`); :func:`declared` reads that declaration from the source
without running it, and :func:`environment` is what makes a kernel (the solution's at
release and for each student's key, :mod:`..variant_keys`; the submission's while it is
graded) derive a given student's numbers.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ... import variants
from ...protocol import values
from ...protocol.key import Key, KeyFileError, key_path, parse_items
from .source import SourceQuiz

#: The student id the release's own key (``keys/<quiz>.json``) is derived for: what the
#: instructor's notebook in ``source/`` shows unless ``DLCOURSE_STUDENT`` says otherwise.
RELEASE_STUDENT = "release"
#: A second id the release runs the solution for, to find which checks vary by student:
#: those whose key differs between the two (:func:`varied_between`), kept in the release
#: record (``varied``), so that every student's failed varied item, the release id's
#: included, says whose numbers it was checked against.
REFERENCE_STUDENT = "release-reference"


def declared(source: SourceQuiz) -> dict | None:
    """The variant ``source``'s set-up declares, or None for a quiz the same for everyone."""
    return variants.spec_of([cell.source for cell in source.notebook.cells
                             if cell.cell_type == "code"], source.quiz)


def environment(student: str, secret: str | None = None) -> dict[str, str]:
    """The variables that make a kernel derive ``student``'s variant (:mod:`.variants`)."""
    return {variants.STUDENT_VARIABLE: student,
            variants.SECRET_VARIABLE: variants.course_secret() if secret is None else secret}


def _digest(*parts: bytes) -> str:
    hashed = hashlib.sha256()
    for part in parts:
        hashed.update(hashlib.sha256(part).digest())
    return hashed.hexdigest()


def cached_path(root: Path, quiz: str, source: SourceQuiz, student: str,
                secret: str | None = None) -> Path:
    """Where ``student``'s key of ``source`` is cached (it may not exist yet)."""
    released = key_path(quiz, root=root)
    try:
        released_bytes = released.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"no key at {released}: run `dlcourse release {quiz}` to record "
                           "it") from None
    secret = variants.course_secret() if secret is None else secret
    fingerprint = _digest(released_bytes, source.path.read_bytes(), secret.encode())[:24]
    return (released.parent / "variants" / quiz / fingerprint /
            _digest(student.encode())[:32] / f"{source.name}.json")


def varied_between(released: dict[str, dict], reference: dict[str, dict]) -> list[str]:
    """The names of the checks whose recorded key (``release.record_key``'s items) differs
    between the release's variant and the reference student's, sorted."""
    return sorted(varied_checks(Key("", parse_items(released)), Key("", parse_items(reference))))


def secret_digest(secret: str | None = None) -> str:
    """What the release record keeps of the course's secret: a digest, never the secret."""
    secret = variants.course_secret() if secret is None else secret
    return hashlib.sha256(b"dlcourse variant secret\0" + secret.encode()).hexdigest()


def _recorded(root: Path, quiz: str, source: SourceQuiz) -> dict:
    from .autotest import read_record, record_path

    return read_record(record_path(root, quiz)).get(source.name, {})


def recorded_varied(root: Path, quiz: str, source: SourceQuiz) -> set[str] | None:
    """The varied checks of ``source`` that the release recorded, or None for a release
    that recorded none (made before variants, or of a quiz the same for everyone)."""
    found = _recorded(root, quiz, source).get("varied")
    return None if found is None else {str(name) for name in found}


def released_with(root: Path, quiz: str, source: SourceQuiz, secret: str | None = None) -> bool:
    """Whether the released key of ``source`` was derived with this secret (so that it is
    the key of :data:`RELEASE_STUDENT`'s variant now)."""
    return _recorded(root, quiz, source).get("secret") == secret_digest(secret)


def varied_checks(released: Key, mine: Key) -> set[str]:
    """The names of the checks whose key differs between the release's variant and
    ``mine``: the ones a copied answer would fail for the numbers' sake."""
    names = set()
    for grade_id, checks in mine.items.items():
        others = {check.name: check for check in released.items.get(grade_id, [])}
        for check in checks:
            other = others.get(check.name)
            if other is None or values.mismatch(other.value, check.value, rtol=check.rtol,
                                                atol=check.atol):
                names.add(check.name)
    return names
