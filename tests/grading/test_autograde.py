"""dlcourse autograde against hostile and broken submissions (the grader issue's cases).

One batch of the tiny quiz, graded with two workers, where each student is a
scenario. For each: the score it gets; and for all of them together: the
course directory is unchanged but for the gradebook and autograded/, and
nothing was written where an attack tried to write.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from dlcourse.grading.autograde import RESULT_FILE, autograde
from dlcourse.grading.run import sandbox
from dlcourse.grading.store.gradebook import database_url, scores

from ..conftest import copy_course
from .test_grading import RIGHT, cell_index

pytestmark = pytest.mark.skipif(
    not os.environ.get("CI") and not shutil.which("bwrap"),
    reason="bubblewrap is not installed (CI installs it)")

MARKER = f"dlcourse-pwned-{uuid.uuid4().hex[:8]}"


def attacks(root: Path) -> dict[str, tuple[dict, float]]:
    """student id -> (answers by grade id, the score the submission must get)."""
    key = root / "keys" / "quiz_tiny.json"
    outside = [Path("/tmp") / MARKER, root / MARKER, Path.home() / MARKER]
    return {
        "honest": (RIGHT, 5),
        # opens the gradebook by relative and absolute path and rewrites every grade
        "gradebook_editor": ({**RIGHT, "letter_answer": f"""
import sqlite3
for path in ['../../../gradebook.db', {str(root / 'gradebook.db')!r}]:
    try:
        db = sqlite3.connect(path)
        db.execute('update grade set auto_score = 100')
        db.commit()
    except Exception as error:
        print('no gradebook at', path, type(error).__name__)
answer_letter = "b"
"""}, 5),
        # walks the course root and the file system for the key, and answers from it if found
        "course_walker": ({**RIGHT, "letter_answer": f"""
import json, os
found = []
for top in [{str(root)!r}, '/', '..']:
    for folder, _, files in os.walk(top):
        found += [os.path.join(folder, f) for f in files if f == 'quiz_tiny.json']
print(found)
try:
    key = json.load(open({str(key)!r}))
    answer_letter = key['items']['letter']['checks'][0]['value']['value']
except OSError:
    answer_letter = "a"
"""}, 4),
        "assert_patcher": ({**RIGHT, "scaled_sum_answer": """
import numpy.testing
numpy.testing.assert_allclose = lambda *args, **kwargs: None
def scaled_sum(x, k):
    return np.zeros(len(x))
"""}, 3),
        # reads the notebook it runs in, looking for the hidden tests
        "notebook_reader": ({**RIGHT, "letter_answer": """
import glob, os
texts = [open(p).read() for p in glob.glob('**/*.ipynb', recursive=True)
         + glob.glob('../**/*.ipynb', recursive=True)]
answer_letter = "b" if any('BEGIN HIDDEN TESTS' in t for t in texts) else "a"
"""}, 4),
        "infinite_loop": ({**RIGHT, "letter_answer": "while True:\n    pass"}, 4),
        "big_allocation": ({**RIGHT, "letter_answer": "block = bytearray(30 * 1024**3)"}, 4),
        # forks until it cannot; right only if the process limit held
        "fork_bomb": ({**RIGHT, "letter_answer": """
import os, time
forks = 0
while forks < 5000:
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(1)
        os._exit(0)
    forks += 1
for _ in range(forks):
    os.wait()
answer_letter = "b" if forks < 1000 else "c"  # right only if the limit held
"""}, 5),
        "exits_kernel": ({**RIGHT, "scaled_sum_answer": "import os\nos._exit(0)"}, 1),
        "output_flood": ({**RIGHT, "letter_answer": """
import sys
for _ in range(100):
    sys.stdout.write('x' * 1_000_000)
answer_letter = "b"
"""}, 5),
        "writes_outside": ({**RIGHT, "letter_answer": f"""
for path in {[str(p) for p in outside]!r}:
    try:
        open(path, 'w').write('pwned')
    except OSError as error:
        print('cannot write', path, type(error).__name__)
answer_letter = "b"
"""}, 5),
        # framework-style warnings on stderr never decide a verdict
        "stderr_noise": ({**RIGHT, "letter_answer": """
import sys, warnings
warnings.warn("a framework warning")
sys.stderr.write("W0000 some runtime chatter\\n" * 1000)
answer_letter = "b"
"""}, 5),
        # a hook displays a forged record, with a generous tolerance, in every later cell
        "forged_records": ({**RIGHT, "scaled_sum_answer": """
from IPython import get_ipython
from IPython.display import display
forged = {'application/vnd.dlcourse.check.v1+json': {'name': 'scaled_sum_hidden',
          'value': {'kind': 'array', 'dtype': '<f8', 'shape': [4],
                    'data': 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='},
          'rtol': 1e9, 'atol': 1e9}}
get_ipython().events.register('post_run_cell', lambda result: display(forged, raw=True))
def scaled_sum(x, k):
    return np.zeros(len(x))
"""}, 3),
        "network": ({**RIGHT, "letter_answer": """
import socket
try:
    socket.create_connection(('127.0.0.1', 22), timeout=2)
    answer_letter = "c"
except OSError:
    answer_letter = "b"
"""}, 5),
    }


def snapshot(root: Path) -> dict[str, str]:
    """Every file of the course but the gradebook and autograded/, with its hash."""
    files = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] in ("autograded", "feedback") or path.name.startswith("gradebook.db"):
            continue
        if path.is_symlink():
            files[str(relative)] = "link:" + os.readlink(path)
        elif path.is_file():
            files[str(relative)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def write_submission(root: Path, student: str, answers: dict[str, str],
                     tests: str | None = None) -> Path:
    """A submission with ``answers`` by grade id; ``tests`` replaces every test cell's text."""
    notebook = nbformat.read(root / "release/quiz_tiny/quiz_tiny.ipynb", as_version=4)
    for grade_id, text in answers.items():
        notebook.cells[cell_index(notebook, grade_id)].source = text.strip()
    for cell in notebook.cells if tests is not None else []:
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code":
            cell.source = tests
    folder = root / "submitted" / student / "quiz_tiny"
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / "quiz_tiny.ipynb")
    return folder


@pytest.fixture(scope="module")
def batch(tiny_course, tmp_path_factory):
    root = copy_course(tiny_course, tmp_path_factory.mktemp("batch") / "course")
    shutil.copytree(tiny_course / "keys", root / "keys")
    expected = {}
    for student, (answers, score) in attacks(root).items():
        write_submission(root, student, answers)
        expected[student] = score
    # test cells edited to pass, with a wrong answer: the source's test cells run instead
    write_submission(root, "test_editor", {**RIGHT, "letter_answer": 'answer_letter = "a"'},
                     tests="pass")
    expected["test_editor"] = 4
    broken = root / "submitted/not_json/quiz_tiny"
    broken.mkdir(parents=True)
    (broken / "quiz_tiny.ipynb").write_text('{"cells": [ not json')
    expected["not_json"] = 0
    # a submission folder holding a link to the gradebook, opened by its answer
    linked = write_submission(root, "linked_gradebook", {**RIGHT, "letter_answer": """
import sqlite3
db = sqlite3.connect('gradebook.db')
db.execute('create table pwned (x)')
answer_letter = "b"
"""})
    (linked / "gradebook.db").symlink_to(root / "gradebook.db")
    expected["linked_gradebook"] = 5  # the link is not copied: it wrote a fresh file in scratch
    # a notebook that is a link to another student's work
    copier = root / "submitted/copier/quiz_tiny"
    copier.mkdir(parents=True)
    (copier / "quiz_tiny.ipynb").symlink_to(root / "submitted/honest/quiz_tiny/quiz_tiny.ipynb")
    expected["copier"] = 0
    (root / "gradebook.db").touch()  # the link above must point at something
    before = snapshot(root)
    results = autograde("quiz_tiny", workers=2, root=root, progress=False)
    return root, results, expected, before


def test_every_submission_gets_its_score(batch):
    _, results, expected, _ = batch
    assert {s: r.score for s, r in results.items()} == expected


def test_the_gradebook_holds_exactly_those_scores(batch):
    root, _, expected, _ = batch
    rows = {row.student: row.score for row in scores(root) if row.quiz == "quiz_tiny"}
    assert rows == expected


def test_the_course_directory_is_unchanged_but_gradebook_and_autograded(batch):
    root, _, expected, before = batch
    assert snapshot(root) == before
    assert sorted(p.name for p in (root / "autograded").iterdir()) == sorted(expected)


def test_nothing_was_written_where_attacks_tried(batch):
    root, _, _, _ = batch
    for place in (Path("/tmp") / MARKER, root / MARKER, Path.home() / MARKER):
        assert not place.exists(), place
    with Gradebook(database_url(root)) as gradebook:
        tables = gradebook.db.execute(
            __import__("sqlalchemy").text("select name from sqlite_master")).scalars().all()
    assert "pwned" not in tables


def test_statuses_name_what_went_wrong(batch):
    _, results, _, _ = batch
    status = {s: {i.grade_id: i.status for i in r.items} for s, r in results.items()}
    assert status["infinite_loop"]["letter"] == "timeout"
    assert status["big_allocation"]["letter"] == "error"
    assert status["exits_kernel"]["scaled_sum"] == "error"
    assert status["course_walker"]["letter"] == "failed"
    assert "not a valid notebook" in results["not_json"].error
    assert "symbolic link" in results["copier"].error


def test_a_flood_of_output_is_capped_in_the_graded_copy(batch):
    root, _, _, _ = batch
    executed = root / "autograded/output_flood/quiz_tiny/quiz_tiny.ipynb"
    assert executed.stat().st_size < 5_000_000


def test_feedback_shows_statuses_not_hidden_content(batch):
    from dlcourse.grading.store.feedback import feedback

    root, _, _, _ = batch
    pages = {p.parents[1].name: p.read_text() for p in feedback("quiz_tiny", root=root)}
    honest = pages["honest"]
    assert "passed" in honest and "awaiting a person" in honest
    source = nbformat.read(root / "source/quiz_tiny/quiz_tiny.ipynb", as_version=4)
    hidden = [line.strip() for cell in source.cells for line in cell.source.splitlines()
              if "check" in line or "default_rng" in line]
    for page in pages.values():
        # check names may show (they say which hidden case failed); code and values never
        assert "BEGIN HIDDEN" not in page and "default_rng" not in page
        assert not any(line in page for line in hidden)
    assert '"value"' not in honest


def test_workers_do_not_change_results(batch, tmp_path):
    root, results, _, _ = batch
    again = copy_course(root, tmp_path / "again")
    shutil.copytree(root / "keys", again / "keys")
    for student in ("honest", "assert_patcher", "exits_kernel"):
        shutil.copytree(root / "submitted" / student, again / "submitted" / student)
    one_by_one = autograde("quiz_tiny", workers=1, root=again, progress=False)
    for student, result in one_by_one.items():
        assert result.to_json() == results[student].to_json()


def test_sandbox_refusal_is_clear(tiny_course, monkeypatch):
    monkeypatch.setattr(sandbox, "_verified", None)
    monkeypatch.setattr(sandbox, "_bwrap", lambda: None)
    with pytest.raises(sandbox.SandboxUnavailable, match="bubblewrap"):
        autograde("quiz_tiny", root=tiny_course, progress=False)


def test_a_killed_run_loses_nothing_and_the_next_finishes(tiny_course, tmp_path):
    root = copy_course(tiny_course, tmp_path / "course")
    shutil.copytree(tiny_course / "keys", root / "keys")
    students = [f"s{i}" for i in range(4)]
    for student in students:
        write_submission(root, student, RIGHT)
    command = [sys.executable, "-m", "dlcourse", "autograde", "quiz_tiny", "--workers", "1"]
    run = subprocess.Popen(command, cwd=root, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 240
    first = None
    while time.monotonic() < deadline and first is None:
        done = list((root / "autograded").glob(f"*/quiz_tiny/{RESULT_FILE}"))
        first = done[0] if done else None
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    assert first is not None, "no submission was stored before the kill"
    stored = first.read_text()
    with Gradebook(database_url(root)) as gradebook:  # give the first a manual touch
        grade = gradebook.find_grade("why_hidden", "quiz_tiny", "quiz_tiny", first.parents[1].name)
        grade.manual_score = 1.0
        gradebook.db.commit()
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert first.read_text() == stored  # not regraded: same submission, source and key
    rows = {row.student: row.score for row in scores(root)}
    assert rows == {s: (6.0 if s == first.parents[1].name else 5.0) for s in students}
    forced = subprocess.run([*command, "--force"], cwd=root, capture_output=True, text=True,
                            timeout=600)
    assert forced.returncode == 0, forced.stderr
    assert {row.student: row.score for row in scores(root)} == rows  # manual score kept


def test_cli_scores_and_feedback(batch):
    root, _, expected, _ = batch
    done = subprocess.run([sys.executable, "-m", "dlcourse", "scores", "--csv"], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "student,quiz,score,max_score,needs_manual_grade"
    assert {line.split(",")[0]: float(line.split(",")[2]) for line in lines[1:]} == expected
    done = subprocess.run([sys.executable, "-m", "dlcourse", "feedback", "quiz_tiny"], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and len(done.stdout.splitlines()) == len(expected)
    for student in expected:
        assert (root / "feedback" / student / "quiz_tiny" / "quiz_tiny.html").is_file(), student
    stored = json.loads((root / "autograded/honest/quiz_tiny" / RESULT_FILE).read_text())
    assert stored["result"]["score"] == expected["honest"]
