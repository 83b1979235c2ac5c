"""The result of grading one submission, and its JSON form: what every phase shares.

``dlcourse grade --json`` prints :meth:`GradeResult.to_json`; ``dlcourse
autograde`` stores that document in ``autograded/<student>/<quiz>/``
(:data:`RESULT_FILE`) and reads it back with :func:`from_json`;
``feedback`` and ``report`` read the stored documents. Nothing here imports
the grader's heavy parts, so commands that only read results stay quick.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

PASSED, FAILED, ERROR, TIMEOUT, MISSING, MANUAL = (
    "passed", "failed", "error", "timeout", "missing", "manual")
#: The stored result of a graded submission, beside its executed notebook in autograded/.
RESULT_FILE = "dlcourse-result.json"


@dataclass
class ItemResult:
    grade_id: str
    score: float | None
    max_score: float
    status: str
    message: str = ""
    #: the question's title: the heading above the item in the quiz
    title: str = ""


@dataclass
class GradeResult:
    quiz: str
    score: float
    max_score: float
    manual_max_score: float
    items: list[ItemResult] = field(default_factory=list)
    error: str | None = None
    #: the executed notebook (with hidden tests: for instructors only)
    executed: object | None = None

    def to_json(self) -> dict:
        """The contract's JSON result, with ``manual_max_score`` and ``error`` added."""
        document = {k: v for k, v in asdict(self).items() if k not in ("executed", "items")}
        document["items"] = [asdict(item) for item in self.items]
        return document


def from_json(document: dict) -> GradeResult:
    """A result from its JSON form (keys it does not know, such as ``seconds``, are ignored)."""
    items = [ItemResult(**item) for item in document["items"]]
    return GradeResult(document["quiz"], document["score"], document["max_score"],
                       document["manual_max_score"], items, document.get("error"))
