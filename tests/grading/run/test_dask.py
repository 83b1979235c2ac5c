"""dlcourse autograde --scheduler: the same grading on a Dask cluster.

A scheduler and two workers run as separate processes on loopback (as
``dask scheduler`` and ``dask worker`` would on a cluster's machines). One
batch of the tiny quiz is graded locally with two workers and on the cluster;
the results must be identical, and must stay so when a worker is killed while
it grades: the scheduler reruns its task elsewhere, and the grading client
stores each submission once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from dlcourse.grading import autograde as autograde_module
from dlcourse.grading.autograde import autograde
from dlcourse.grading.result import RESULT_FILE
from dlcourse.grading.run import dispatch
from dlcourse.grading.store.gradebook import database_url

from ...conftest import copy_course
from ..test_autograde import write_submission
from ..test_grading import RIGHT

pytestmark = pytest.mark.skipif(
    not os.environ.get("CI") and not shutil.which("bwrap"),
    reason="bubblewrap is not installed (CI installs it)")

DASK = Path(sys.executable).parent / "dask"
SLOW = 'import time\ntime.sleep(3)\nanswer_letter = "b"'  # keeps a worker busy long enough
#: student id -> answers by grade id; two identical notebooks must be graded as two tasks
BATCH = {
    "honest": RIGHT,
    "honest_twin": RIGHT,
    "wrong_letter": {**RIGHT, "letter_answer": 'answer_letter = "a"'},
    "exits_kernel": {**RIGHT, "scaled_sum_answer": "import os\nos._exit(0)"},
    "slow_1": {**RIGHT, "letter_answer": SLOW},
    "slow_2": {**RIGHT, "letter_answer": SLOW},
    "slow_3": {**RIGHT, "letter_answer": SLOW},
}


def make_batch(tiny_course: Path, target: Path) -> Path:
    root = copy_course(tiny_course, target)
    shutil.copytree(tiny_course / "keys", root / "keys")
    for student, answers in BATCH.items():
        write_submission(root, student, answers)
    return root


class Cluster:
    """A Dask scheduler and workers, each its own process, on 127.0.0.1."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.scheduler_file = folder / "scheduler.json"
        self.logs: list = []
        self.processes: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []

    def start(self, workers: int) -> None:
        self.processes.append(self._start("scheduler", "--host", "127.0.0.1", "--port", "0",
                                          "--no-dashboard", "--scheduler-file",
                                          str(self.scheduler_file)))
        deadline = time.monotonic() + 120
        while not self._ready() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert self._ready(), "the scheduler did not start"
        # no nanny: a killed worker stays dead, so its task must go to the other one
        self.workers = [self._start("worker", "--scheduler-file", str(self.scheduler_file),
                                    "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                    "--host", "127.0.0.1", "--local-directory",
                                    str(self.folder / f"worker{i}"))
                        for i in range(workers)]
        self.processes += self.workers

    def _ready(self) -> bool:
        try:
            return bool(json.loads(self.scheduler_file.read_text()).get("address"))
        except (OSError, ValueError):
            return False

    def _start(self, kind: str, *options: str) -> subprocess.Popen:
        log = open(self.folder / f"{len(self.logs)}-{kind}.log", "w")
        self.logs.append(log)
        return subprocess.Popen([str(DASK), kind, *options], stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def client(self):
        from distributed import Client

        client = Client(scheduler_file=str(self.scheduler_file), timeout=60)
        client.wait_for_workers(len(self.workers), timeout=120)
        return client

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for log in self.logs:
            log.close()


@pytest.fixture
def cluster(tmp_path):
    folder = tmp_path / "cluster"
    folder.mkdir()
    running = Cluster(folder)
    try:
        running.start(workers=2)
        with running.client():  # both workers have joined before a test starts
            pass
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def local_results(tiny_course, tmp_path_factory):
    """The batch graded with ``--workers 2`` on this host: what the cluster must match."""
    root = make_batch(tiny_course, tmp_path_factory.mktemp("local") / "course")
    return autograde("quiz_tiny", workers=2, root=root, progress=False)


def stored_documents(root: Path) -> dict[str, dict]:
    """Each student's stored result, without the seconds it took (which vary by run)."""
    documents = {}
    for path in sorted((root / "autograded").glob(f"*/quiz_tiny/{RESULT_FILE}")):
        document = json.loads(path.read_text())["result"]
        document.pop("seconds", None)
        documents[path.parents[1].name] = document
    return documents


def gradebook_rows(root: Path) -> dict[str, list[float]]:
    """student -> the autograded score of each of their submissions of quiz_tiny."""
    with Gradebook(database_url(root)) as gradebook:
        assignment = gradebook.find_assignment("quiz_tiny")
        rows: dict[str, list[float]] = {}
        for submission in assignment.submissions:
            rows.setdefault(submission.student.id, []).append(submission.score)
        return rows


def counting_stores(monkeypatch) -> list[str]:
    """Count each store of a result into the gradebook and autograded/, by student."""
    stores: list[str] = []
    store = autograde_module._store

    def counted(root, quiz, submission, *args, **kwargs):
        stores.append(submission.student)
        return store(root, quiz, submission, *args, **kwargs)

    monkeypatch.setattr(autograde_module, "_store", counted)
    return stores


def test_the_cluster_grades_as_local_workers_do(cluster, local_results, tiny_course, tmp_path,
                                                monkeypatch):
    root = make_batch(tiny_course, tmp_path / "course")
    stores = counting_stores(monkeypatch)
    done = autograde("quiz_tiny", scheduler=str(cluster.scheduler_file), root=root,
                     progress=False)
    assert {s: r.to_json() for s, r in done.items()} == \
        {s: r.to_json() for s, r in local_results.items()}
    assert sorted(stores) == sorted(BATCH)  # the twins too: identical, yet graded apart
    assert {s: r.score for s, r in done.items()} == {
        "honest": 5, "honest_twin": 5, "wrong_letter": 4, "exits_kernel": 1,
        "slow_1": 5, "slow_2": 5, "slow_3": 5}
    assert gradebook_rows(root) == {s: [r.score] for s, r in done.items()}


def test_the_cli_takes_a_scheduler_address(cluster, local_results, tiny_course, tmp_path):
    root = make_batch(tiny_course, tmp_path / "course")
    address = json.loads(cluster.scheduler_file.read_text())["address"]
    done = subprocess.run([sys.executable, "-m", "dlcourse", "autograde", "quiz_tiny",
                           "--scheduler", address, "--student", "honest", "--student",
                           "wrong_letter"], cwd=root, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert "2 submission(s) graded" in done.stdout
    expected = {s: local_results[s].to_json() for s in ("honest", "wrong_letter")}
    assert stored_documents(root) == expected


def test_a_killed_worker_costs_a_retry_and_loses_nothing(cluster, local_results, tiny_course,
                                                         tmp_path, monkeypatch):
    root = make_batch(tiny_course, tmp_path / "course")
    stores = counting_stores(monkeypatch)
    killed: dict[str, object] = {}

    def kill_a_busy_worker():
        """Once a result is stored, SIGKILL a worker while it is grading a submission."""
        with cluster.client() as client:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and not killed:
                if stores:
                    busy = client.run(lambda dask_worker: (
                        os.getpid(), sorted(str(t.key) for t in dask_worker.state.executing)))
                    for address, (pid, executing) in busy.items():
                        if executing:
                            os.kill(pid, signal.SIGKILL)
                            killed.update(address=address, tasks=executing)
                            break
                time.sleep(0.1)

    killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
    killer.start()
    done = autograde("quiz_tiny", scheduler=str(cluster.scheduler_file), root=root,
                     progress=False)
    killer.join(timeout=60)
    assert killed, "no worker was killed while it graded"
    assert sum(worker.poll() is not None for worker in cluster.workers) == 1
    # nothing lost: every submission graded right, the killed one's task rerun elsewhere
    assert {s: r.to_json() for s, r in done.items()} == \
        {s: r.to_json() for s, r in local_results.items()}
    assert not any(r.error for r in done.values())
    # nothing graded twice: one store, one result file and one gradebook submission each
    assert sorted(stores) == sorted(BATCH)
    assert stored_documents(root) == {s: r.to_json() for s, r in local_results.items()}
    assert gradebook_rows(root) == {s: [r.score] for s, r in done.items()}


def test_an_unreachable_scheduler_is_a_clear_error(tiny_course, monkeypatch):
    import socket

    monkeypatch.setattr(dispatch, "CONNECT_TIMEOUT_SECONDS", 3)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(dispatch.ClusterUnavailable, match="cannot reach the Dask scheduler"):
        autograde("quiz_tiny", scheduler=f"tcp://127.0.0.1:{port}", root=tiny_course,
                  progress=False)


def test_workers_and_scheduler_exclude_each_other(tiny_course):
    with pytest.raises(ValueError, match="exclude each other"):
        autograde("quiz_tiny", workers=2, scheduler="tcp://127.0.0.1:8786", root=tiny_course,
                  progress=False)


def test_a_worker_without_the_course_says_what_it_lacks(tiny_course, tmp_path):
    from dlcourse.protocol.key import key_path

    key = key_path("quiz_tiny", root=tiny_course)
    assert dispatch.worker_problems(str(tiny_course), "quiz_tiny", str(key), True) == []
    problems = dispatch.worker_problems(str(tmp_path / "elsewhere"), "quiz_tiny",
                                        str(tmp_path / "no-key.json"), False)
    assert len(problems) == 2
    assert "no source notebook" in problems[0] and "same path" in problems[0]
    assert "no key" in problems[1]


def test_results_cross_as_text_never_as_objects():
    text = dispatch.as_text(lambda: ({"score": 1.5, "items": [{"status": "passed"}]}, None))
    assert isinstance(text, str)
    assert dispatch.from_text(text) == ({"score": 1.5, "items": [{"status": "passed"}]}, None)

    class Forged:
        pass

    with pytest.raises(TypeError):  # an object a worker made cannot be sent at all
        dispatch.as_text(lambda: ({"value": Forged()}, None))
