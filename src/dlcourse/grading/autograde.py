"""``dlcourse autograde``: grade every submission of a quiz, in parallel, into the gradebook.

Submissions are ``submitted/<student>/<quiz>/<quiz>.ipynb`` (nbgrader's
layout). Each is graded by :func:`.grade.grade_notebook` in a worker process
(sandboxed), and the parent, the only writer of the gradebook, stores each
result as it arrives:

1. the gradebook rows (:mod:`.gradebook`);
2. the executed notebook, ``autograded/<student>/<quiz>/<quiz>.ipynb``, for the
   formgrader (it shows hidden tests: instructors only);
3. last, ``autograded/<student>/<quiz>/dlcourse-result.json``: the result and
   the fingerprints of the submission, source and key it was graded against.

A run killed part-way loses nothing already stored, and the next run skips
every submission whose result file matches its fingerprints (``force``
regrades all). Results do not depend on the number of workers: each
submission is graded alone, in a fresh kernel.
"""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from ..config import find_course_root, validate_identifier
from ..files import write_atomically
from . import gradebook
from .grade import failed_whole, grade_notebook
from .key import key_path
from .result import RESULT_FILE, GradeResult, from_json
from .sandbox import check_available
from .source import load_source, source_path


@dataclass(frozen=True)
class Submission:
    student: str
    notebook: Path


def find_submissions(root: Path, quiz: str, students: list[str] | None = None) -> list[Submission]:
    """The submissions of ``quiz`` under ``submitted/``, by student id."""
    folder = root / "submitted"
    if students is None:
        students = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    return [Submission(validate_identifier(student, "student id"),
                       folder / student / quiz / f"{quiz}.ipynb") for student in students]


def _through_a_link(root: Path, submission: Submission) -> bool:
    """Whether the notebook, or a folder on its way, is a link (to someone else's work, say)."""
    expected = (root / "submitted").resolve() / submission.student / submission.notebook.parent.name
    notebook = submission.notebook
    return notebook.is_symlink() or notebook.parent.resolve() != expected


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "absent"


def fingerprint(root: Path, quiz: str, submission: Submission) -> dict[str, str]:
    """What a stored result was graded against; a change to any of it means regrading."""
    return {"submission": _digest(submission.notebook), "source": _digest(source_path(root, quiz)),
            "key": _digest(key_path(quiz, root=root))}


def _stored(root: Path, quiz: str, submission: Submission) -> dict | None:
    path = root / "autograded" / submission.student / quiz / RESULT_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _grade_in_worker(notebook: str, quiz: str, root: str, sandbox: bool,
                     refused: str | None = None) -> tuple[dict, str | None]:
    """Runs in a worker process: grade one notebook; return plain data for the parent."""
    started = time.monotonic()
    if refused:
        return failed_whole(load_source(Path(root), quiz), refused).to_json(), None
    try:
        result = grade_notebook(notebook, quiz=quiz, root=root, sandbox=sandbox)
    except Exception as error:  # one submission's failure never stops the batch
        source = load_source(Path(root), quiz)
        result = failed_whole(source, f"{notebook}: grading failed ({type(error).__name__})")
    executed = nbformat.writes(result.executed) if result.executed is not None else None
    document = result.to_json()
    document["seconds"] = round(time.monotonic() - started, 3)  # for `dlcourse report`
    return document, executed


def _store(root: Path, quiz: str, submission: Submission, document: dict,
           executed: str | None, prints: dict) -> None:
    result = from_json(document)
    timestamp_file = submission.notebook.parent / "timestamp.txt"
    timestamp = timestamp_file.read_text().strip() if timestamp_file.is_file() else None
    gradebook.store(root, quiz, submission.student, result, timestamp)
    folder = root / "autograded" / submission.student / quiz
    if executed is not None:
        write_atomically(folder / f"{quiz}.ipynb", executed)
    write_atomically(folder / RESULT_FILE, json.dumps(
        {"fingerprint": prints, "result": document}, indent=1, sort_keys=True))


def autograde(quiz: str, *, students: list[str] | None = None, workers: int = 1,
              root: str | Path | None = None, force: bool = False, sandbox: bool = True,
              progress: bool = True) -> dict[str, GradeResult]:
    """Grade the submissions of ``quiz`` into the gradebook and ``autograded/``.

    ``students`` limits the run to those ids; ``workers`` submissions are
    graded at once; ``force`` regrades submissions already graded against the
    same source and key. Returns each graded student's result, skipped ones
    included (read back from ``autograded/``).
    """
    root = Path(root) if root else find_course_root()
    validate_identifier(quiz, "quiz id")
    load_source(root, quiz)  # fail early on a bad quiz
    if not key_path(quiz, root=root).is_file():
        from .key import KeyFileError

        raise KeyFileError(f"no key for {quiz}: run `dlcourse release {quiz}` first")
    if sandbox:
        check_available()
    gradebook.register(root, quiz)
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
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=get_context("spawn")) as pool:
        futures = {}
        for submission, prints in todo:
            refused = (f"{submission.notebook}: is reached through a symbolic link; refused"
                       if _through_a_link(root, submission) else None)
            future = pool.submit(_grade_in_worker, str(submission.notebook), quiz, str(root),
                                 sandbox, refused)
            futures[future] = (submission, prints)
        for future in as_completed(futures):
            submission, prints = futures[future]
            try:
                document, executed = future.result()
            except Exception as error:  # a worker died: the submission gets an error result
                source = load_source(root, quiz)
                document = failed_whole(source, f"{submission.notebook}: grading failed "
                                                f"({type(error).__name__})").to_json()
                executed = None
            _store(root, quiz, submission, document, executed, prints)
            results[submission.student] = from_json(document)
            bar.update()
    bar.close()
    return dict(sorted(results.items()))
