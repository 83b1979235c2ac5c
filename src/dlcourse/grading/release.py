"""``dlcourse release``: record each quiz's key and write its student version.

For one quiz (an assignment: ``source/<quiz>/``, one notebook or several), in
this order (nothing is written until the records and the student version exist):

1. read and validate every notebook of ``source/<quiz>/`` (:mod:`.source`), its
   ``### AUTOTEST`` cells expanded by nbgrader's own ``InstantiateTests`` (:mod:`.autotest`:
   it runs the solution, as ``nbgrader generate_assignment`` does);
2. run each notebook's solution in record-only mode in a scratch folder
   (:mod:`.workspace`). A keyed test cell that passes must record at least one check,
   check names unique in the quiz, records well formed: else the quiz is refused, as it
   cannot be graded. A test cell the solution fails (nbgrader allows such a source) is
   said in a warning naming the cell and the error: a keyed one gets no key, and scores
   0 for every submission saying why, until the solution passes; one of plain asserts is
   graded in the kernel as nbgrader grades it;
3. generate the student version with nbgrader's ``GenerateAssignment``
   converter (solutions and hidden tests removed, cells locked, checksums
   computed, the assignment's other files copied as nbgrader copies them),
   without touching the gradebook, then clean the notebooks;
4. write the key (``keys/<quiz>.json``), the release record beside it (the expanded
   AUTOTEST cells, the items without a key, and for a quiz whose numbers differ by
   student the checks that do: :func:`.prepare.variant.varied_between`, from a second run
   of the solution as another student) and ``release/<quiz>/``.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .. import notebooks
from ..config import find_course_root, load_config
from ..protocol.key import key_path, write_key
from .judge import messages
from .judge.verdict import partial_credit
from .prepare import autotest, variant
from .prepare.generate import ReleaseError, student_version
from .prepare.source import SourceQuiz, load_source, notebook_names, source_path
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
    #: what the solution failed, each naming its notebook, cell and error (released anyway)
    warnings: tuple[str, ...] = ()
    #: the release record (expanded AUTOTEST cells, items without a key)
    record: Path | None = None


@dataclass
class Recorded:
    """What running one notebook's solution gave: the key's items, and what failed."""

    items: dict[str, dict] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: keyed items whose test the solution failed, with the error: they get no key
    unkeyed: dict[str, str] = field(default_factory=dict)


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


def _failure(outcome: execute.CellOutcome | None) -> str:
    if outcome is None:
        return "it did not run"
    return messages.exception_text(outcome.ename, outcome.evalue)


def record_key(source: SourceQuiz, *, limits: execute.Limits,
               environment: dict[str, str] | None = None) -> Recorded:
    """Run the solution and return the key's items and what failed, or raise
    :class:`ReleaseError` for what cannot be graded. ``environment`` adds variables to
    the kernel's (default: those of the release's own variant, :mod:`.prepare.variant`)."""
    notebook = copy.deepcopy(source.notebook)
    index_of = {item.grade_id: item.cell_index for item in source.items}
    if environment is None:
        environment = variant.environment(variant.RELEASE_STUDENT)
    with tempfile.TemporaryDirectory(prefix="dlcourse-release-") as scratch:
        copy_submission_files(source.path.parent, Path(scratch), skip=source.path)
        outcomes = {o.index: o for o in execute.run(notebook, workdir=Path(scratch),
                                                    limits=limits, environment=environment)}
        recorded = collect_records(source, notebook, index_of, scratch=Path(scratch),
                                   root=source.path.parents[2], limits=limits)
    problems, names = [], set()
    done = Recorded()
    where = source.path.name
    for item in source.autograded:
        outcome = outcomes.get(item.cell_index)
        cell = f"test cell {item.grade_id!r} (cell {item.cell_index + 1})"
        if outcome is None or outcome.status != execute.OK:
            failure = _failure(outcome)
            if item.verdict == IN_KERNEL:
                done.warnings.append(f"{where}: {cell} fails with the solution ({failure}); "
                                     "it is graded in the kernel all the same, as nbgrader "
                                     "grades it")
            else:
                done.unkeyed[item.grade_id] = failure
                done.warnings.append(f"{where}: {cell} fails with the solution ({failure}): "
                                     "no key is recorded for it, so it scores 0 for every "
                                     "submission until the solution passes and the quiz is "
                                     "released again")
            continue
        if item.verdict == IN_KERNEL:  # judged in the kernel: nothing to record
            credit, _ = partial_credit(notebook.cells[item.cell_index].get("outputs", []),
                                       item.points)
            if credit != item.points:
                done.warnings.append(f"{where}: {cell} does not give the solution full points "
                                     f"({'no score' if credit is None else f'{credit:g}'} of "
                                     f"{item.points:g})")
            continue
        records = recorded[item.grade_id]
        if not records:
            problems.append(f"{item.grade_id}: the test cell records no check, so it cannot "
                            "be graded (call check(...) in its hidden tests)")
        for record in records:
            if record.problem:
                problems.append(f"{item.grade_id}: check {record.name!r} {record.problem}")
            elif record.name in names:
                problems.append(f"{item.grade_id}: check name {record.name!r} is used twice")
            names.add(record.name)
        done.items[item.grade_id] = {"checks": [key_check(r) for r in records]}
    if problems:
        raise ReleaseError(f"{source.path}: cannot be graded:\n  " + "\n  ".join(problems))
    return done


def record_keys(sources: list[SourceQuiz], *, limits: execute.Limits) -> dict[str, Recorded]:
    """Each notebook's recorded key by notebook name; check names unique across the quiz."""
    keys = {source.name: record_key(source, limits=limits) for source in sources}
    seen: dict[str, str] = {}
    for name, done in keys.items():
        for check in (c for item in done.items.values() for c in item["checks"]):
            if check["name"] in seen:
                raise ReleaseError(f"check name {check['name']!r} is used in both "
                                   f"{seen[check['name']]} and {name}")
            seen[check["name"]] = name
    return keys


def expand_autotests(root: Path, quiz: str) -> dict[str, nbformat.NotebookNode]:
    """The notebooks of ``quiz`` whose ``### AUTOTEST`` cells nbgrader expands, expanded
    (:func:`.autotest.expand`), by notebook name."""
    config = load_config(root)
    expanded = {}
    for name in notebook_names(root, quiz):
        path = source_path(root, quiz, name)
        raw = nbformat.read(path, as_version=4)
        if autotest.has_autotests(raw, config):
            try:
                expanded[name] = autotest.expand(raw, config=config, folder=path.parent,
                                                 root=root)
            except autotest.AutotestError as error:
                raise ReleaseError(f"{path}: {error}") from None
    return expanded


def release_quiz(quiz: str, *, root: Path, limits: execute.Limits) -> Released:
    """Record the key of one quiz and write its student version."""
    expanded = expand_autotests(root, quiz)
    cells = {}
    for name, notebook in expanded.items():
        raw = nbformat.read(source_path(root, quiz, name), as_version=4)
        try:
            cells[name] = autotest.expanded_cells(raw, notebook)
        except autotest.AutotestError as error:
            raise ReleaseError(f"{source_path(root, quiz, name)}: {error}") from None
    sources = [load_source(root, quiz, name, autotests=cells.get(name, {}))
               for name in notebook_names(root, quiz)]
    recorded = record_keys(sources, limits=limits)
    keys = {name: done.items for name, done in recorded.items()}
    varied = {source.name: variant.varied_between(
                  keys[source.name],
                  record_key(source, limits=limits, environment=variant.environment(
                      variant.REFERENCE_STUDENT)).items)
              for source in sources if variant.declared(source) is not None}
    student = student_version(root, quiz, expanded=expanded)
    key_file = key_path(quiz, root=root)
    if root / "release" in key_file.parents:
        raise ReleaseError(f"the key directory {key_file.parent} is inside release/")
    if list(keys) == [quiz]:
        write_key(key_file, quiz, keys[quiz])
    else:
        write_key(key_file, quiz, {}, notebooks=keys)
    record_file = autotest.record_path(root, quiz)
    autotest.write_record(record_file, quiz, {
        name: {"autotests": cells.get(name, {}), "unkeyed": recorded[name].unkeyed,
               **({"varied": varied[name], "secret": variant.secret_digest()}
                  if name in varied else {})}
        for name in keys})
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
    warnings = tuple(f"{quiz}/{warning}" for done in recorded.values()
                     for warning in done.warnings)
    return Released(quiz, main, key_file, checks, sum(s.max_score for s in sources),
                    tuple(written), warnings, record_file)


def release(quizzes: list[str] | None = None, *, root: str | Path | None = None,
            limits: execute.Limits | None = None) -> list[Released]:
    """Regenerate ``release/`` and the keys for ``quizzes`` (default: every quiz in source/).

    Raises :class:`ReleaseError` (or :class:`.source.QuizError`) at the first
    quiz that cannot be released; quizzes released before it stay released. A solution
    that fails some of its own tests is released, and :attr:`Released.warnings` says
    which cell failed and with what error.
    """
    root = Path(root) if root else find_course_root()
    # The instructor's own solution is trusted: it runs without a sandbox.
    limits = limits or execute.Limits.for_course(root, sandbox=False)
    names = quizzes or all_quizzes(root)
    for quiz in names:
        if not notebook_names(root, quiz):
            raise ReleaseError(f"no quiz {quiz!r}: {root / 'source' / quiz} holds no notebook")
    return [release_quiz(quiz, root=root, limits=limits) for quiz in names]
