"""``dlcourse release``: record each quiz's key and write its student version.

For one quiz (an assignment: ``source/<quiz>/``, one notebook or several), in
this order (each step needs the one before it to succeed, and nothing is
written until both records and the student version exist):

1. read and validate every notebook of ``source/<quiz>/`` (:mod:`.source`);
2. run each notebook's solution in record-only mode in a scratch folder
   (:mod:`.workspace`); every test cell must pass, a keyed one must record at
   least one check, check names unique in the quiz;
3. generate the student version with nbgrader's ``GenerateAssignment``
   converter (solutions and hidden tests removed, cells locked, checksums
   computed, the assignment's other files copied as nbgrader copies them),
   without touching the gradebook, then clean the notebooks;
4. write the key (``keys/<quiz>.json``) and ``release/<quiz>/``.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import notebooks
from ..config import find_course_root, grading_options
from ..protocol.key import key_path, write_key
from .judge.verdict import partial_credit
from .prepare.generate import ReleaseError, student_version
from .prepare.source import SourceQuiz, load_assignment, notebook_names
from .result import IN_KERNEL
from .run import execute
from .run.workspace import collect_records, copy_submission_files


@dataclass(frozen=True)
class Released:
    quiz: str
    #: the student version of the notebook named after the quiz (or of its first)
    notebook: Path
    key: Path
    checks: int
    points: float
    #: every student notebook written
    notebooks: tuple[Path, ...] = ()


def all_quizzes(root: Path) -> list[str]:
    """The quizzes in ``source/``: folders holding at least one notebook."""
    return sorted({p.parent.name for p in (root / "source").glob("*/*.ipynb")})


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
        if item.verdict == IN_KERNEL:  # judged in the kernel: nothing to record
            credit, _ = partial_credit(notebook.cells[item.cell_index].get("outputs", []),
                                       item.points)
            if credit != item.points:
                problems.append(f"{item.grade_id}: the solution's test cell does not give "
                                "full points")
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


def record_keys(sources: list[SourceQuiz], *, limits: execute.Limits) -> dict[str, dict]:
    """Each notebook's key items by notebook name; check names unique across the quiz."""
    keys = {source.name: record_key(source, limits=limits) for source in sources}
    seen: dict[str, str] = {}
    for name, items in keys.items():
        for check in (c for item in items.values() for c in item["checks"]):
            if check["name"] in seen:
                raise ReleaseError(f"check name {check['name']!r} is used in both "
                                   f"{seen[check['name']]} and {name}")
            seen[check["name"]] = name
    return keys


def release_quiz(quiz: str, *, root: Path, limits: execute.Limits) -> Released:
    """Record the key of one quiz and write its student version."""
    sources = load_assignment(root, quiz)
    keys = record_keys(sources, limits=limits)
    student = student_version(root, quiz)
    key_file = key_path(quiz, root=root)
    if root / "release" in key_file.parents:
        raise ReleaseError(f"the key directory {key_file.parent} is inside release/")
    if list(keys) == [quiz]:
        write_key(key_file, quiz, keys[quiz])
    else:
        write_key(key_file, quiz, {}, notebooks=keys)
    folder = root / "release" / quiz
    folder.mkdir(parents=True, exist_ok=True)
    for relative, content in student.files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)  # nbgrader's copies may be read-only
        target.write_bytes(content)
    written = []
    for name, notebook in student.notebooks.items():
        notebooks.write(notebook, folder / f"{name}.ipynb")
        written.append(folder / f"{name}.ipynb")
    main = folder / f"{quiz}.ipynb" if quiz in student.notebooks else written[0]
    checks = sum(len(v["checks"]) for items in keys.values() for v in items.values())
    return Released(quiz, main, key_file, checks, sum(s.max_score for s in sources),
                    tuple(written))


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
        if not notebook_names(root, quiz):
            raise ReleaseError(f"no quiz {quiz!r}: {root / 'source' / quiz} holds no notebook")
    return [release_quiz(quiz, root=root, limits=limits) for quiz in names]
