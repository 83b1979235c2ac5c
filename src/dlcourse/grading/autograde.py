"""``dlcourse autograde``: grade every submission of a quiz, in parallel, into the gradebook.

Submissions are ``submitted/<student>/<quiz>/<notebook>.ipynb`` (nbgrader's
layout: one notebook per notebook of ``source/<quiz>/``). Each submission is
graded, notebook by notebook, by :func:`.grade.grade_notebook` in a worker
(sandboxed), and the parent, the only writer of the gradebook and ``autograded/``,
stores each result as it arrives:

1. the gradebook rows, each item under its notebook (:mod:`.gradebook`), and the
   "No response." comment on each answer left as released (:mod:`.responses`);
2. in ``autograded/<student>/<quiz>/``: the executed notebooks, for the formgrader (they
   show hidden tests: instructors only), and the files the graded run was given beside
   them, ``timestamp.txt`` among them (:func:`.workspace.graded_files`), as ``nbgrader
   autograde`` leaves them there; files from an earlier grading that are no longer so
   are removed;
3. last, ``dlcourse-result.json``: the result (for several notebooks, the
   assignment's, with each notebook's in ``notebooks``) and, per notebook, the
   fingerprints of the submission, source, key, release record and submission time it
   was graded against (:func:`fingerprint`).

As ``nbgrader autograde`` does: a folder without any of the quiz's notebooks is not a
submission (skipped, said); a notebook missing from a submission scores 0 on every item,
manual ones too; a ``timestamp.txt`` that is not a time fails that submission (not
graded, exit status 1; the rest of the batch goes on, where nbgrader stops); a student
not in the gradebook is refused when ``c.Autograde.create_student`` is False;
``c.CourseDirectory.student_id``/``student_id_exclude``/``notebook_id`` choose what is
graded (:mod:`.settings`).

A run killed part-way loses nothing already stored, and the next run skips
every notebook whose stored result matches its fingerprints and whose executed copy is
in ``autograded/`` (``force`` regrades the notebooks chosen; ``notebooks`` chooses, as
``nbgrader autograde --notebook``, and the others keep their stored results). Results
do not depend on the number of workers: each notebook is graded alone, in a fresh kernel.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
import shutil
import sys
import time
from concurrent.futures import as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from .. import variants
from ..config import find_course_root, validate_identifier
from ..files import write_atomically
from ..protocol.key import KeyFileError, key_path, read_key
from .grade import failed_whole, grade_notebook
from .judge.verdict import not_submitted
from .prepare.autotest import record_path
from .prepare.settings import NbgraderSettings, nbgrader_settings
from .prepare.source import SourceQuiz, load_assignment, notebook_names, source_path
from .prepare.variant import secret_digest
from .result import RESULT_FILE, GradeResult, combine, from_json
from .run.dispatch import as_text, from_text, grading_pool
from .run.sandbox import check_available
from .run.workspace import course_ignore, graded_files
from .store import gradebook
from .store.lateness import TIMESTAMP_FILE, TimestampError, read_timestamp
from .store.responses import store_responses


@dataclass(frozen=True)
class Submission:
    """One student's hand-in of a quiz: ``submitted/<student>/<quiz>/``, one notebook or more."""

    student: str
    folder: Path
    #: the names of the quiz's notebooks, which the folder should hold
    notebooks: tuple[str, ...]

    @property
    def notebook(self) -> Path:
        """The quiz's first notebook in the folder (its only one, for a quiz of one)."""
        return self.folder / f"{self.notebooks[0]}.ipynb"

    def path(self, notebook: str) -> Path:
        return self.folder / f"{notebook}.ipynb"

    def handed_in(self, notebook: str) -> bool:
        return self.path(notebook).exists() or self.path(notebook).is_symlink()


def find_submissions(root: Path, quiz: str, students: list[str] | None = None, *,
                     settings: NbgraderSettings | None = None) -> list[Submission]:
    """The submissions of ``quiz`` under ``submitted/``, by student id.

    Without ``students``: every student with a folder for the quiz, as nbgrader
    finds them (one who handed in only other quizzes is not graded for this one), that
    ``c.CourseDirectory.student_id`` and ``student_id_exclude`` let through. A folder
    holding none of the quiz's notebooks is no submission (nbgrader: "No notebooks were
    matched"): it is left out, and said.
    """
    settings = settings or NbgraderSettings()
    folder = root / "submitted"
    if students is None:
        students = sorted(p.name for p in folder.iterdir() if p.is_dir() and (
            (p / quiz).exists() or (p / quiz).is_symlink())) if folder.is_dir() else []
    names = tuple(notebook_names(root, quiz))
    found = []
    for student in students:
        submission = Submission(validate_identifier(student, "student id"),
                                folder / student / quiz, names)
        if not settings.grades_student(student):
            continue
        if submission.folder.is_dir() and not any(submission.handed_in(n) for n in names):
            print(f"dlcourse autograde: {submission.folder} holds none of the notebooks of "
                  f"{quiz} ({', '.join(f'{n}.ipynb' for n in names)}): not graded",
                  file=sys.stderr)
            continue
        found.append(submission)
    return found


def _through_a_link(root: Path, submission: Submission) -> bool:
    """Whether a notebook, or a folder on its way, is a link (to someone else's work, say)."""
    expected = (root / "submitted").resolve() / submission.student / submission.folder.name
    return submission.folder.resolve() != expected or any(
        submission.path(name).is_symlink() for name in submission.notebooks)


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "absent"


@functools.lru_cache(maxsize=64)
def _declares_variant(path: str, digest: str, quiz: str) -> bool:
    """Whether the source notebook at ``path`` (of that digest: the cache's key) declares
    numbers that differ by student (:mod:`dlcourse.variants`)."""
    try:
        cells = nbformat.read(path, as_version=4).cells
        return variants.spec_of([c.source for c in cells if c.cell_type == "code"],
                                quiz) is not None
    except Exception:  # an unreadable source fails where it is graded, with its reason
        return False


def notebook_prints(root: Path, quiz: str, submission: Submission) -> dict[str, dict]:
    """Per notebook, what its result is graded against: the submitted notebook, its
    source, the key, the release record and the submission's time (``timestamp.txt``);
    for a notebook whose numbers differ by student, also the course's secret (as a
    digest), from which every student's numbers are derived."""
    common = {"key": _digest(key_path(quiz, root=root)),
              "release": _digest(record_path(root, quiz)),
              "timestamp": _digest(submission.folder / TIMESTAMP_FILE)}
    prints = {}
    for name in submission.notebooks:
        source = source_path(root, quiz, name)
        prints[name] = {"submission": _digest(submission.path(name)),
                        "source": _digest(source), **common}
        if _declares_variant(str(source), prints[name]["source"], quiz):
            prints[name]["secret"] = secret_digest()
    return prints


def fingerprint(root: Path, quiz: str, submission: Submission,
                prints: dict[str, dict] | None = None) -> dict:
    """What a stored result was graded against; a change to any of it means regrading.

    For a quiz of one notebook named after it, that notebook's fingerprint
    (:func:`notebook_prints`); for other assignments, each notebook's in ``notebooks``.
    """
    prints = prints if prints is not None else notebook_prints(root, quiz, submission)
    if submission.notebooks == (quiz,):
        return prints[quiz]
    return {"notebooks": prints}


def _stored(root: Path, quiz: str, submission: Submission) -> dict | None:
    path = root / "autograded" / submission.student / quiz / RESULT_FILE
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return stored if isinstance(stored, dict) and isinstance(stored.get("result"), dict) else None


def _stored_notebooks(stored: dict | None, quiz: str, names: tuple[str, ...]
                      ) -> tuple[dict[str, dict], dict[str, dict]]:
    """A stored result's per-notebook fingerprints and result documents."""
    if not stored:
        return {}, {}
    prints, result = stored.get("fingerprint") or {}, stored["result"]
    if names == (quiz,):
        return {quiz: prints}, {quiz: result}
    documents = result.get("notebooks")
    if not isinstance(documents, dict):
        documents = {names[0]: result} if len(names) == 1 else {}
    return dict(prints.get("notebooks") or {}), documents


def failed_document(root: Path, quiz: str, message: str) -> dict:
    """The stored form of a submission none of whose notebooks could be graded."""
    return _document(quiz, {source.name: failed_whole(source, message)
                            for source in load_assignment(root, quiz)})


def _document(quiz: str, results: dict[str, GradeResult], several: bool | None = None) -> dict:
    """The stored form of a submission's result: a quiz of one notebook as that notebook's
    result; otherwise the assignment's (:func:`.result.combine`), each notebook's in
    ``notebooks``."""
    if several is None:
        several = len(results) > 1
    if not several:
        return next(iter(results.values())).to_json()
    document = combine(quiz, results).to_json()
    document["notebooks"] = {name: result.to_json() for name, result in results.items()}
    return document


def _grade_in_worker(folder: str, quiz: str, root: str, sandbox: bool,
                     refused: str | None = None, names: list[str] | None = None,
                     student: str | None = None) -> tuple[dict, dict[str, str | None]]:
    """Runs in a worker process: grade the notebooks ``names`` of one submission (all by
    default), one after another; return plain data for the parent: each notebook's result
    document (``notebooks``) with the seconds it took, and each executed notebook's text.
    A notebook not handed in scores 0 on every item. ``student`` is the id the submission
    is filed under: a quiz whose numbers differ by student is graded against that
    student's variant (default: the name of the folder above ``folder``)."""
    student = student or Path(folder).parent.name
    started = time.monotonic()
    sources = [s for s in load_assignment(Path(root), quiz) if names is None or s.name in names]
    if refused:
        return {"notebooks": {s.name: failed_whole(s, refused).to_json() for s in sources},
                "seconds": 0.0}, {}
    documents, executed = {}, {}
    for source in sources:
        notebook = Path(folder) / f"{source.name}.ipynb"
        if not notebook.exists() and not notebook.is_symlink():
            documents[source.name] = not_submitted(source, notebook.name).to_json()
            executed[source.name] = None
            continue
        try:
            result = grade_notebook(notebook, quiz=quiz, root=root, sandbox=sandbox,
                                    student=student)
        except Exception as error:  # one submission's failure never stops the batch
            result = failed_whole(source, f"{notebook}: grading failed ({type(error).__name__})")
        documents[source.name] = result.to_json()
        executed[source.name] = (nbformat.writes(result.executed)
                                 if result.executed is not None else None)
    # for `dlcourse report`
    return {"notebooks": documents, "seconds": round(time.monotonic() - started, 3)}, executed


def _exported_files(root: Path, quiz: str) -> set[str]:
    """The files ``check_file`` grades in any notebook of the quiz (never copied around)."""
    path = key_path(quiz, root=root)
    if not path.is_file():
        return set()
    key = read_key(path)
    return {check.file for items in key.notebooks.values() for checks in items.values()
            for check in checks if check.file}


def _clear(folder: Path, keep: set[str]) -> None:
    """Remove what an earlier grading left in ``folder`` that is not in ``keep`` (paths
    relative to it); links are removed, never followed."""
    if not folder.is_dir() or folder.is_symlink():
        return
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink() or path.is_file():
            if relative not in keep:
                path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


@contextmanager
def _course_on_path(root: Path):
    """The course root on ``sys.path``, as when nbgrader runs in it: a late-penalty plugin
    of the course's own (``c.AssignLatePenalties.plugin_class``) imports from there."""
    added = str(root) not in sys.path
    if added:
        sys.path.insert(0, str(root))
    try:
        yield
    finally:
        if added and str(root) in sys.path:
            sys.path.remove(str(root))


def _store(root: Path, quiz: str, submission: Submission, documents: dict[str, dict],
           executed: dict[str, str | None], prints: dict[str, dict], seconds: float,
           timestamp, *, sources: dict[str, SourceQuiz], settings: NbgraderSettings,
           graded: set[str]) -> dict:
    """Store one submission's result (``documents``: each notebook's, the ``graded`` ones
    new) into the gradebook and ``autograded/``; return the stored document."""
    ordered = {name: documents[name] for name in submission.notebooks if name in documents}
    results = {name: from_json(document) for name, document in ordered.items()}
    document = _document(quiz, results, several=len(submission.notebooks) > 1)
    if len(submission.notebooks) > 1:
        document["notebooks"] = ordered
    document["seconds"] = seconds
    result = from_json(document)
    with _course_on_path(root):
        gradebook.store(root, quiz, submission.student, result, timestamp)
    store_responses(root, quiz, submission.student, {
        name: (sources[name].answer_ids, results[name].unanswered) for name in graded
        if name in results and submission.handed_in(name) and not results[name].error})
    folder = root / "autograded" / submission.student / quiz
    files = graded_files(submission.folder, root / "source" / quiz, ignore=course_ignore(root),
                         exported=_exported_files(root, quiz),
                         keep=settings.excluded_files(quiz))
    notebooks = {f"{name}.ipynb" for name in submission.notebooks
                 if name not in graded and (folder / f"{name}.ipynb").is_file()}
    notebooks |= {f"{name}.ipynb" for name, text in executed.items() if text is not None}
    _clear(folder, set(files) | notebooks | {RESULT_FILE})
    for name, text in executed.items():
        if text is not None:
            write_atomically(folder / f"{name}.ipynb", text)
    for relative, origin in files.items():
        target = folder / relative
        if target.is_symlink() or target.is_dir():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        shutil.copyfile(origin, target)
    stored_prints = {name: prints[name] for name in ordered}
    write_atomically(folder / RESULT_FILE, json.dumps(
        {"fingerprint": fingerprint(root, quiz, submission, stored_prints), "result": document},
        indent=1, sort_keys=True))
    return document


def _to_grade(root: Path, quiz: str, submission: Submission, prints: dict[str, dict],
              stored: dict | None, chosen: list[str], force: bool) -> list[str]:
    """The notebooks of a submission to grade now: of those ``chosen``, each that is forced,
    has no stored result, was graded against something else, or whose executed copy is
    not in ``autograded/`` any more."""
    old_prints, old_results = _stored_notebooks(stored, quiz, submission.notebooks)
    folder = root / "autograded" / submission.student / quiz
    todo = []
    for name in chosen:
        old = old_results.get(name)
        lost = (submission.handed_in(name) and isinstance(old, dict) and not old.get("error")
                and not (folder / f"{name}.ipynb").is_file())
        if force or old is None or old_prints.get(name) != prints[name] or lost:
            todo.append(name)
    return todo


def _refusal(quiz: str, message: str) -> GradeResult:
    return GradeResult(quiz, 0.0, 0.0, 0.0, [], error=message)


def autograde(quiz: str, *, students: list[str] | None = None, workers: int = 1,
              scheduler: str | None = None, root: str | Path | None = None,
              force: bool = False, sandbox: bool = True, progress: bool = True,
              notebooks: list[str] | None = None) -> dict[str, GradeResult]:
    """Grade the submissions of ``quiz`` into the gradebook and ``autograded/``.

    ``students`` limits the run to those ids; ``workers`` submissions are
    graded at once on this host, or, with ``scheduler`` (a Dask scheduler's
    address or scheduler file, :mod:`.dispatch`), as many as the cluster's
    workers take; ``force`` regrades notebooks already graded against the
    same source and key; ``notebooks`` (names or globs, default
    ``c.CourseDirectory.notebook_id``) grades only those notebooks of each submission.
    Returns each student's result, skipped ones included (read back from
    ``autograded/``); a submission that could not be graded at all (an unreadable
    ``timestamp.txt``, a student the gradebook must already know) has ``error`` set
    and nothing stored.
    """
    root = Path(root) if root else find_course_root()
    validate_identifier(quiz, "quiz id")
    if scheduler is not None and workers != 1:
        raise ValueError("workers and scheduler exclude each other: with a scheduler, "
                         "the cluster's workers decide how many submissions run at once")
    settings = nbgrader_settings(root)
    for warning in settings.warnings:
        print(f"dlcourse autograde: {warning}", file=sys.stderr)
    sources = {source.name: source for source in load_assignment(root, quiz)}  # fail early
    patterns = notebooks or [settings.notebook_id]
    chosen = [name for name in sources if any(fnmatch.fnmatchcase(name, p) for p in patterns)]
    if not chosen:
        raise ValueError(f"no notebook of {quiz} ({', '.join(sources)}) matches "
                         f"{', '.join(patterns)}")
    keyed = any(source.keyed for source in sources.values())
    key = key_path(quiz, root=root)
    if keyed and not key.is_file():
        raise KeyFileError(f"no key for {quiz}: run `dlcourse release {quiz}` first (it runs "
                           "the solution and records the key of its keyed checks)")
    if sandbox:
        check_available()
    submissions = find_submissions(root, quiz, students, settings=settings)
    known = None
    if not settings.create_student:
        from nbgrader.api import Gradebook

        with Gradebook(gradebook.database_url(root), gradebook.course_id(root)) as book:
            known = {student.id for student in book.students}
    results: dict[str, GradeResult] = {}
    todo = []
    for submission in submissions:
        try:
            timestamp = read_timestamp(submission.folder)
        except TimestampError as error:  # nbgrader fails the submission ("Invalid timestamp")
            results[submission.student] = _refusal(quiz, f"{error}: not graded")
            continue
        if known is not None and submission.student not in known:
            results[submission.student] = _refusal(
                quiz, f"no student {submission.student!r} in the gradebook, and "
                "c.Autograde.create_student is False: not graded")
            continue
        prints = notebook_prints(root, quiz, submission)
        stored = _stored(root, quiz, submission)
        names = _to_grade(root, quiz, submission, prints, stored, chosen, force)
        if names:
            todo.append((submission, prints, stored, names, timestamp))
        elif stored is not None:
            results[submission.student] = from_json(stored["result"])
    bar = tqdm(total=len(todo), desc=f"autograde {quiz}", unit="submission", disable=not progress)
    with grading_pool(workers=workers, scheduler=scheduler, root=root, quiz=quiz,
                      key=key if keyed else None, sandbox=sandbox) as pool:
        futures = {}
        for submission, prints, stored, names, timestamp in todo:
            refused = (f"{submission.notebook}: is reached through a symbolic link; refused"
                       if _through_a_link(root, submission) else None)
            future = pool.submit(as_text, _grade_in_worker, str(submission.folder), quiz,
                                 str(root), sandbox, refused, names, submission.student)
            futures[future] = (submission, prints, stored, names, timestamp)
        # Workers start and grade while the quiz is registered (nbgrader's GenerateAssignment
        # takes seconds): only storing a result needs the gradebook to know the quiz.
        try:
            gradebook.register(root, quiz)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        for future in as_completed(futures):
            submission, prints, stored, names, timestamp = futures[future]
            try:
                graded, executed = from_text(future.result())
                documents, seconds = dict(graded["notebooks"]), float(graded["seconds"])
            except Exception as error:  # a worker died (each time it was tried): an error result
                message = f"{submission.folder}: grading failed ({type(error).__name__})"
                documents = {name: failed_whole(sources[name], message).to_json()
                             for name in names}
                executed, seconds = {}, 0.0
            _, old = _stored_notebooks(stored, quiz, submission.notebooks)
            merged = {**{n: d for n, d in old.items() if n not in names}, **documents}
            document = _store(root, quiz, submission, merged, executed, prints, seconds,
                              timestamp, sources=sources, settings=settings, graded=set(names))
            results[submission.student] = from_json(document)
            bar.update()
    bar.close()
    return dict(sorted(results.items()))
