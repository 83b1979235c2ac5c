"""A quiz's variant, as the grader reads it: declared in the source, derived in a kernel.

A quiz whose numbers differ by student declares them in its set-up cell
(:mod:`dlcourse.variants`); :func:`declared` reads that declaration from the source
without running it, and :func:`environment` is what makes a kernel (the solution's at
release and for each student's key, :mod:`..variant_keys`; the submission's while it is
graded) derive a given student's numbers.
"""

from __future__ import annotations

from ... import variants
from .source import SourceQuiz

#: The student id the release's own key (``keys/<quiz>.json``) is derived for: what the
#: instructor's notebook in ``source/`` shows unless ``DLCOURSE_STUDENT`` says otherwise.
RELEASE_STUDENT = "release"


def declared(source: SourceQuiz) -> dict | None:
    """The variant ``source``'s set-up declares, or None for a quiz the same for everyone."""
    return variants.spec_of([cell.source for cell in source.notebook.cells
                             if cell.cell_type == "code"], source.quiz)


def environment(student: str, secret: str | None = None) -> dict[str, str]:
    """The variables that make a kernel derive ``student``'s variant (:mod:`.variants`)."""
    return {variants.STUDENT_VARIABLE: student,
            variants.SECRET_VARIABLE: variants.course_secret() if secret is None else secret}
