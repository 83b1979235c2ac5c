"""``dlcourse autograde``: grade every submission of a quiz, in parallel, into the gradebook.

Submissions are ``submitted/<student>/<quiz>/<notebook>.ipynb`` (nbgrader's
layout: one notebook per notebook of ``source/<quiz>/``). Each submission is
graded, notebook by notebook, by :func:`.grade.grade_notebook` in a worker
(sandboxed), and the parent, the only writer of the gradebook, stores each
result as it arrives:

1. the gradebook rows, each item under its notebook (:mod:`.gradebook`);
2. the executed notebooks, ``autograded/<student>/<quiz>/<notebook>.ipynb``, for
   the formgrader (they show hidden tests: instructors only);
3. last, ``autograded/<student>/<quiz>/dlcourse-result.json``: the result (for
   several notebooks, the assignment's, with each notebook's in ``notebooks``)
   and the fingerprints of the submission, source and key it was graded
   against (per notebook for several, :func:`fingerprint`).

A run killed part-way loses nothing already stored, and the next run skips
every submission whose result file matches its fingerprints (``force``
regrades all). Results do not depend on the number of workers: each
submission is graded alone, in a fresh kernel.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from ..config import find_course_root, validate_identifier
from ..files import write_atomically
from ..protocol.key import key_path
from .grade import failed_whole, grade_notebook
from .prepare.source import load_assignment, notebook_names, source_path
from .result import RESULT_FILE, GradeResult, combine, from_json
from .run.dispatch import as_text, from_text, grading_pool
from .run.sandbox import check_available
from .store import gradebook
from .store.lateness import TimestampError, read_timestamp


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


def find_submissions(root: Path, quiz: str, students: list[str] | None = None) -> list[Submission]:
    """The submissions of ``quiz`` under ``submitted/``, by student id.

    Without ``students``: every student with a folder for the quiz, as nbgrader
    finds them (one who handed in only other quizzes is not graded for this one).
    """
    folder = root / "submitted"
    if students is None:
        students = sorted(p.name for p in folder.iterdir() if p.is_dir() and (
            (p / quiz).exists() or (p / quiz).is_symlink())) if folder.is_dir() else []
    names = tuple(notebook_names(root, quiz))
    return [Submission(validate_identifier(student, "student id"), folder / student / quiz, names)
            for student in students]


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


def fingerprint(root: Path, quiz: str, submission: Submission) -> dict:
    """What a stored result was graded against; a change to any of it means regrading.

    For a quiz of one notebook named after it: the submission's, the
    source's and the key's digests; for other assignments, the key's and,
    per notebook (``notebooks``), the submission's and the source's.
    """
    key = _digest(key_path(quiz, root=root))
    if submission.notebooks == (quiz,):
        return {"submission": _digest(submission.notebook),
                "source": _digest(source_path(root, quiz)), "key": key}
    return {"key": key, "notebooks": {
        name: {"submission": _digest(submission.path(name)),
               "source": _digest(source_path(root, quiz, name))}
        for name in submission.notebooks}}


def _stored(root: Path, quiz: str, submission: Submission) -> dict | None:
    path = root / "autograded" / submission.student / quiz / RESULT_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def failed_document(root: Path, quiz: str, message: str) -> dict:
    """The stored form of a submission none of whose notebooks could be graded."""
    return _document(quiz, {source.name: failed_whole(source, message)
                            for source in load_assignment(root, quiz)})


def _document(quiz: str, results: dict[str, GradeResult]) -> dict:
    """The stored form of a submission's result: a quiz of one notebook as that notebook's
    result; otherwise the assignment's (:func:`.result.combine`), each notebook's in
    ``notebooks``."""
    if list(results) == [quiz] or len(results) == 1:
        return next(iter(results.values())).to_json()
    document = combine(quiz, results).to_json()
    document["notebooks"] = {name: result.to_json() for name, result in results.items()}
    return document


def _grade_in_worker(folder: str, quiz: str, root: str, sandbox: bool,
                     refused: str | None = None) -> tuple[dict, dict[str, str | None]]:
    """Runs in a worker process: grade one submission (each of its notebooks, one after
    another); return plain data for the parent: the result document and each executed
    notebook's text."""
    started = time.monotonic()
    if refused:
        return failed_document(Path(root), quiz, refused), {}
    results, executed = {}, {}
    for source in load_assignment(Path(root), quiz):
        notebook = Path(folder) / f"{source.name}.ipynb"
        try:
            result = grade_notebook(notebook, quiz=quiz, root=root, sandbox=sandbox)
        except Exception as error:  # one submission's failure never stops the batch
            result = failed_whole(source, f"{notebook}: grading failed ({type(error).__name__})")
        results[source.name] = result
        executed[source.name] = (nbformat.writes(result.executed)
                                 if result.executed is not None else None)
    document = _document(quiz, results)
    document["seconds"] = round(time.monotonic() - started, 3)  # for `dlcourse report`
    return document, executed


def _store(root: Path, quiz: str, submission: Submission, document: dict,
           executed: dict[str, str | None], prints: dict) -> None:
    result = from_json(document)
    try:
        timestamp = read_timestamp(submission.folder)
    except TimestampError as error:  # graded all the same, as if submitted on time
        print(f"dlcourse autograde: {error}; stored without a submission time", file=sys.stderr)
        timestamp = None
    gradebook.store(root, quiz, submission.student, result, timestamp)
    folder = root / "autograded" / submission.student / quiz
    for name, text in executed.items():
        if text is not None:
            write_atomically(folder / f"{name}.ipynb", text)
    write_atomically(folder / RESULT_FILE, json.dumps(
        {"fingerprint": prints, "result": document}, indent=1, sort_keys=True))


def autograde(quiz: str, *, students: list[str] | None = None, workers: int = 1,
              scheduler: str | None = None, root: str | Path | None = None,
              force: bool = False, sandbox: bool = True,
              progress: bool = True) -> dict[str, GradeResult]:
    """Grade the submissions of ``quiz`` into the gradebook and ``autograded/``.

    ``students`` limits the run to those ids; ``workers`` submissions are
    graded at once on this host, or, with ``scheduler`` (a Dask scheduler's
    address or scheduler file, :mod:`.dispatch`), as many as the cluster's
    workers take; ``force`` regrades submissions already graded against the
    same source and key. Returns each graded student's result, skipped ones
    included (read back from ``autograded/``).
    """
    root = Path(root) if root else find_course_root()
    validate_identifier(quiz, "quiz id")
    if scheduler is not None and workers != 1:
        raise ValueError("workers and scheduler exclude each other: with a scheduler, "
                         "the cluster's workers decide how many submissions run at once")
    load_assignment(root, quiz)  # fail early on a bad quiz
    if not key_path(quiz, root=root).is_file():
        from ..protocol.key import KeyFileError

        raise KeyFileError(f"no key for {quiz}: run `dlcourse release {quiz}` first")
    if sandbox:
        check_available()
    submissions = find_submissions(root, quiz, students)
    results: dict[str, GradeResult] = {}
    todo = []
    for submission in submissions:
        prints = fingerprint(root, quiz, submission)
        stored = _stored(root, quiz, submission)
        if not force and stored and stored.get("fingerprint") == prints:
            results[submission.student] = from_json(stored["result"])
        else:
            todo.append((submission, prints))
    bar = tqdm(total=len(todo), desc=f"autograde {quiz}", unit="submission", disable=not progress)
    with grading_pool(workers=workers, scheduler=scheduler, root=root, quiz=quiz,
                      key=key_path(quiz, root=root), sandbox=sandbox) as pool:
        futures = {}
        for submission, prints in todo:
            refused = (f"{submission.notebook}: is reached through a symbolic link; refused"
                       if _through_a_link(root, submission) else None)
            future = pool.submit(as_text, _grade_in_worker, str(submission.folder), quiz,
                                 str(root), sandbox, refused)
            futures[future] = (submission, prints)
        # Workers start and grade while the quiz is registered (nbgrader's GenerateAssignment
        # takes seconds): only storing a result needs the gradebook to know the quiz.
        try:
            gradebook.register(root, quiz)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        for future in as_completed(futures):
            submission, prints = futures[future]
            try:
                document, executed = from_text(future.result())
            except Exception as error:  # a worker died (each time it was tried): an error result
                document = failed_document(root, quiz, f"{submission.folder}: grading failed "
                                                       f"({type(error).__name__})")
                executed = {}
            _store(root, quiz, submission, document, executed, prints)
            results[submission.student] = from_json(document)
            bar.update()
    bar.close()
    return dict(sorted(results.items()))
