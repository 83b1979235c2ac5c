"""``dlcourse release``: record each quiz's key and write its student version.

For one quiz, in this order (each step needs the one before it to succeed,
and nothing is written until both records and the student version exist):

1. read and validate ``source/<quiz>/<quiz>.ipynb`` (:mod:`.source`);
2. run the instructor's solution in record-only mode in a scratch folder; every
   test cell must pass and record at least one check, names unique in the quiz;
3. generate the student version with nbgrader's ``GenerateAssignment``
   converter (solutions and hidden tests removed, cells locked, checksums
   computed), without touching the gradebook, then clean it;
4. write the key (``keys/<quiz>.json``) and ``release/<quiz>/``.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import notebooks
from ..config import find_course_root, grading_options
from . import execute
from .generate import ReleaseError, student_version
from .grade import collect_records, copy_submission_files
from .key import key_path, write_key
from .source import SourceQuiz, load_source, source_path


@dataclass(frozen=True)
class Released:
    quiz: str
    notebook: Path
    key: Path
    checks: int
    points: float


def all_quizzes(root: Path) -> list[str]:
    """The quizzes in ``source/``: folders holding a notebook named after them."""
    return sorted(p.parent.name for p in (root / "source").glob("*/*.ipynb")
                  if p.stem == p.parent.name)


def key_check(record) -> dict:
    """A check of the key, from the solution's record (a file check keeps its file's name)."""
    check = {"name": record.name, "value": record.encoded, "rtol": record.rtol,
             "atol": record.atol}
    if record.hint is not None:
        check["hint"] = record.hint
    if record.file is not None:
        check["file"] = record.file
    return check


def record_key(source: SourceQuiz, *, limits: execute.Limits) -> dict[str, dict]:
    """Run the solution and return the key's items, or raise :class:`ReleaseError`."""
    notebook = copy.deepcopy(source.notebook)
    index_of = {item.grade_id: item.cell_index for item in source.items}
    with tempfile.TemporaryDirectory(prefix="dlcourse-release-") as scratch:
        copy_submission_files(source.path.parent, Path(scratch), skip=source.path)
        outcomes = {o.index: o for o in execute.run(notebook, workdir=Path(scratch),
                                                    limits=limits)}
        recorded = collect_records(source, notebook, index_of, scratch=Path(scratch),
                                   root=source.path.parents[2], limits=limits)
    problems, items, names = [], {}, set()
    for item in source.autograded:
        outcome = outcomes.get(item.cell_index)
        if outcome is None or outcome.status != execute.OK:
            what = f"{outcome.ename}: {outcome.evalue}" if outcome else "did not run"
            problems.append(f"{item.grade_id}: the solution's test cell failed ({what})")
            continue
        records = recorded[item.grade_id]
        if not records:
            problems.append(f"{item.grade_id}: the test cell records no check")
        for record in records:
            if record.problem:
                problems.append(f"{item.grade_id}: check {record.name!r} {record.problem}")
            elif record.name in names:
                problems.append(f"{item.grade_id}: check name {record.name!r} is used twice")
            names.add(record.name)
        items[item.grade_id] = {"checks": [key_check(r) for r in records]}
    if problems:
        raise ReleaseError(f"{source.path}: the solution does not pass its own tests:\n  "
                           + "\n  ".join(problems))
    return items


def release_quiz(quiz: str, *, root: Path, limits: execute.Limits) -> Released:
    """Record the key of one quiz and write its student version."""
    source = load_source(root, quiz)
    items = record_key(source, limits=limits)
    student = student_version(root, quiz)
    key_file = key_path(quiz, root=root)
    if root / "release" in key_file.parents:
        raise ReleaseError(f"the key directory {key_file.parent} is inside release/")
    write_key(key_file, quiz, items)
    folder = root / "release" / quiz
    folder.mkdir(parents=True, exist_ok=True)
    for extra in source.path.parent.iterdir():
        if extra.is_file() and extra != source.path and not extra.name.startswith("."):
            shutil.copyfile(extra, folder / extra.name)
    notebooks.write(student, folder / f"{quiz}.ipynb")
    return Released(quiz, folder / f"{quiz}.ipynb", key_file,
                    sum(len(v["checks"]) for v in items.values()), source.max_score)


def release(quizzes: list[str] | None = None, *, root: str | Path | None = None,
            limits: execute.Limits | None = None) -> list[Released]:
    """Regenerate ``release/`` and the keys for ``quizzes`` (default: every quiz in source/).

    Raises :class:`ReleaseError` (or :class:`.source.QuizError`) at the first
    quiz that cannot be released; quizzes released before it stay released.
    """
    root = Path(root) if root else find_course_root()
    # The instructor's own solution is trusted: it runs without a sandbox.
    limits = limits or execute.Limits.from_options(grading_options(root), sandbox=False)
    names = quizzes or all_quizzes(root)
    for quiz in names:
        if not source_path(root, quiz).is_file():
            raise ReleaseError(f"no quiz {quiz!r}: {source_path(root, quiz)} does not exist")
    return [release_quiz(quiz, root=root, limits=limits) for quiz in names]
