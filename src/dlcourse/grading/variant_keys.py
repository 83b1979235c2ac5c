"""The key of one student's variant: the instructor's solution, run under that student's id.

A quiz whose set-up declares a variant (:mod:`dlcourse.variants`) has one key per
student. It is derived as ``dlcourse release`` derives the quiz's key (the solution run
in record-only mode, :func:`.release.record_key`), with the kernel told the student's id
and the course's secret, so the solution computes that student's answers. The grader
asks for it with the id the submission is filed under (the folder nbgrader collected it
into), never with anything the notebook says.

Keys are derived, not kept: each is cached, for the grader's later runs, under the key
directory (``keys/``, never committed) at ``variants/<quiz>/<fingerprint>/<student's
digest>/<notebook>.json``, where the fingerprint covers the quiz's released key, its
source notebook and the course's secret (a new release or a new secret derives new
keys) and the student's id appears only as a digest (:func:`.prepare.variant.cached_path`).
The first grading of a student's variant pays one run of the solution; regrades read the
cache.
"""

from __future__ import annotations

from pathlib import Path

from .. import variants
from ..protocol.key import Key, KeyFileError, key_path, read_key, write_key
from .prepare.source import SourceQuiz
from .prepare.variant import RELEASE_STUDENT, cached_path, declared, environment, released_with
from .release import record_key
from .run import execute


def student_key(root: Path, quiz: str, source: SourceQuiz, student: str, *,
                secret: str | None = None) -> Key:
    """The key of ``student``'s variant of ``source``, from the cache or derived now by
    running the solution (unsandboxed: it is the instructor's code, as at release).
    Raises :class:`.release.ReleaseError` where the solution cannot be recorded."""
    if student == RELEASE_STUDENT and released_with(root, quiz, source, secret):
        # the release derived it already, for this id and secret: ``keys/<quiz>.json``
        return read_key(key_path(quiz, root=root), source.name)
    path = cached_path(root, quiz, source, student, secret)
    if path.is_file():
        try:
            return read_key(path)
        except KeyFileError:
            pass  # a damaged cache entry is derived again
    recorded = record_key(source, limits=execute.Limits.for_course(root, sandbox=False),
                          environment=environment(student, secret))
    write_key(path, quiz, recorded.items)
    return read_key(path)


def student_variant(quiz: str, student: str, *, root: str | Path | None = None,
                    secret: str | None = None) -> variants.Variant:
    """The parameters of ``student``'s variant of ``quiz`` (``dlcourse variant``), read
    from the declaration in its source without running anything. Raises
    :class:`dlcourse.variants.VariantError` for a quiz the same for every student."""
    from ..config import find_course_root
    from .prepare.source import load_source, notebook_names

    root = Path(root) if root else find_course_root()
    for name in notebook_names(root, quiz):
        spec = declared(load_source(root, quiz, name))
        if spec is not None:
            return variants.variant(quiz, spec, student=student, secret=secret)
    raise variants.VariantError(f"{quiz} declares no variant: every student has the same "
                                "numbers (a quiz declares one in its set-up cell, "
                                "begin(..., variant={...}))")


def main(argv: list[str] | None = None) -> int:
    """``python -m dlcourse.grading.variant_keys ROOT QUIZ STUDENT``: derive (or find)
    that student's key of the quiz and print where it is. Stock nbgrader's in-kernel
    comparison (:mod:`dlcourse.checks`) runs it in a process of its own, so that the
    solution's kernel is never started from inside the student's."""
    import sys

    from .prepare.source import load_source

    root, quiz, student = (argv if argv is not None else sys.argv[1:])
    source = load_source(Path(root), quiz)
    student_key(Path(root), quiz, source, student)
    print(cached_path(Path(root), quiz, source, student))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
