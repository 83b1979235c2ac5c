"""The result of grading one submission, and its JSON form: what every phase shares.

``dlcourse grade --json`` prints :meth:`GradeResult.to_json`; ``dlcourse
autograde`` stores that document in ``autograded/<student>/<quiz>/``
(:data:`RESULT_FILE`) and reads it back with :func:`from_json`;
``feedback`` and ``report`` read the stored documents. An assignment of
several notebooks is graded notebook by notebook; :func:`combine` makes the
assignment's result from theirs (each item names its ``notebook``). Nothing here imports
the grader's heavy parts, so commands that only read results stay quick.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

PASSED, FAILED, ERROR, TIMEOUT, MISSING, MANUAL = (
    "passed", "failed", "error", "timeout", "missing", "manual")
#: How an item's verdict was reached: keyed checks compared with the key outside the
#: student's kernel; stock nbgrader's rule inside it (no error, partial credit from an
#: output number); or by a person.
KEYED, IN_KERNEL, BY_PERSON = "keyed", "in-kernel", "person"
#: The stored result of a graded submission, beside its executed notebook(s) in autograded/.
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
    #: how the verdict was reached (:data:`KEYED`, :data:`IN_KERNEL` or :data:`BY_PERSON`)
    verdict: str = KEYED
    #: the notebook of the assignment the item is in
    notebook: str = ""
    #: why the item lost points, in the student's terms (part of ``message``, which
    #: also says where); empty for an item that passed or awaits a person
    reason: str = ""


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
    #: why the notebook ran without a sandbox, where a self-check ran it so (else "")
    unsandboxed: str = ""
    #: how the submitted notebook departs from the release (a copied or deleted answer
    #: cell, a changed cell type, lost metadata, ...), each naming its cell
    problems: list[str] = field(default_factory=list)
    #: answer cells handed in as the student version gave them ("No response.", nbgrader's
    #: comment on them), by grade id; for an assignment's result, "notebook/grade id"
    unanswered: list[str] = field(default_factory=list)
    #: the student whose variant the items were checked against, for a quiz whose
    #: numbers differ by student (:mod:`dlcourse.variants`); else ""
    variant: str = ""

    def to_json(self) -> dict:
        """The contract's JSON result, with ``manual_max_score`` and ``error`` added (and
        ``unsandboxed``, where a self-check ran without a sandbox)."""
        document = {k: v for k, v in asdict(self).items()
                    if k not in ("executed", "items", "unsandboxed", "variant")}
        if self.unsandboxed:
            document["unsandboxed"] = self.unsandboxed
        if self.variant:
            document["variant"] = self.variant
        document["items"] = [asdict(item) for item in self.items]
        return document


def from_json(document: dict) -> GradeResult:
    """A result from its JSON form (keys it does not know, such as ``seconds``, are ignored)."""
    items = [ItemResult(**item) for item in document["items"]]
    return GradeResult(document["quiz"], document["score"], document["max_score"],
                       document["manual_max_score"], items, document.get("error"),
                       unsandboxed=document.get("unsandboxed", ""),
                       problems=list(document.get("problems", [])),
                       unanswered=list(document.get("unanswered", [])),
                       variant=str(document.get("variant", "")))


def combine(quiz: str, results: dict[str, GradeResult]) -> GradeResult:
    """The result of an assignment from its notebooks' results (in the order given).

    Its ``error`` is the first notebook's error: set when some notebook could not be graded.
    """
    items = [item for result in results.values() for item in result.items]
    errors = [result.error for result in results.values() if result.error]
    several = len(results) > 1
    problems = [f"{name}: {problem}" if several else problem
                for name, result in results.items() for problem in result.problems]
    unanswered = [f"{name}/{grade_id}" for name, result in results.items()
                  for grade_id in result.unanswered]
    return GradeResult(quiz, sum(r.score for r in results.values()),
                       sum(r.max_score for r in results.values()),
                       sum(r.manual_max_score for r in results.values()), items,
                       errors[0] if errors else None, problems=problems, unanswered=unanswered,
                       variant=next((r.variant for r in results.values() if r.variant), ""))
