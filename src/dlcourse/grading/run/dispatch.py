"""Where submissions are graded: a pool of local processes, or a Dask cluster.

``dlcourse autograde`` grades each submission with the same function
(:func:`.autograde._grade_in_worker`) wherever it runs; only the pool
differs. Locally, ``--workers N`` spawned processes on this host. With
``--scheduler ADDRESS``, one task per submission on a Dask distributed cluster
(``dask scheduler`` and ``dask worker``, or a cluster manager such as
dask-jobqueue): each worker grades in its own sandbox, as a local worker does,
and the grading client stays the only writer of the gradebook.

What crosses from a worker to the client is JSON text (:func:`as_text`),
decoded by the client (:func:`from_text`): the client never unpickles an
object that a worker built, let alone one that student code built.

A worker that dies mid-task is the scheduler's to handle: it reruns the
task on another worker, up to ``distributed.scheduler.allowed-failures``
times (3 by default), and only the run that finishes reaches the client.
Tasks are submitted with ``pure=False``, so identical submissions (the same
notebook handed in twice) are graded as two tasks, never deduplicated.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path

#: How long the client waits for the scheduler, and for a first worker to join it.
CONNECT_TIMEOUT_SECONDS = 30


class ClusterUnavailable(RuntimeError):
    """The Dask scheduler cannot be reached, or its workers cannot grade this quiz."""


def as_text(function: Callable, *args) -> str:
    """Run ``function(*args)`` (in a worker) and return its plain-data result as JSON text."""
    return json.dumps(function(*args))


def from_text(text: str) -> tuple:
    """The result :func:`as_text` encoded, as a tuple (JSON has no tuples)."""
    decoded = json.loads(text)
    return tuple(decoded) if isinstance(decoded, list) else (decoded,)


def worker_problems(root: str, quiz: str, key: str, sandbox: bool) -> list[str]:
    """Run on each Dask worker: what stops it grading ``quiz`` (empty when nothing does;
    ``key`` is empty for a quiz that needs none)."""
    from .sandbox import SandboxUnavailable, check_available

    problems = []
    source = Path(root) / "source" / quiz
    if not any(source.glob("*.ipynb")):
        problems.append(f"no source notebook in {source} (is the course root at the same "
                        "path on the workers?)")
    if key and not Path(key).is_file():
        problems.append(f"no key at {key}")
    if sandbox:
        try:
            check_available()
        except SandboxUnavailable as error:
            problems.append(f"no sandbox: {error}")
    return problems


def _connect(scheduler: str):
    from distributed import Client

    try:
        if Path(scheduler).is_file():  # a scheduler file, as `dask scheduler --scheduler-file`
            client = Client(scheduler_file=scheduler, timeout=CONNECT_TIMEOUT_SECONDS)
        else:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_SECONDS)
    except (OSError, TimeoutError) as error:
        raise ClusterUnavailable(f"cannot reach the Dask scheduler at {scheduler}: "
                                 f"{error}") from None
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_SECONDS)
    except TimeoutError:
        client.close()
        raise ClusterUnavailable(f"the Dask scheduler at {scheduler} has no worker") from None
    return client


def check_workers(client, *, root: Path, quiz: str, key: Path | None, sandbox: bool) -> None:
    """Raise :class:`ClusterUnavailable` unless every worker now connected can grade ``quiz``
    (``key``: its key, where it needs one)."""
    found = client.run(worker_problems, str(root), quiz, str(key) if key else "", sandbox)
    unable = {worker: problems for worker, problems in found.items() if problems}
    if unable:
        lines = "; ".join(f"{worker}: {', '.join(problems)}"
                          for worker, problems in sorted(unable.items()))
        raise ClusterUnavailable(f"{len(unable)} of {len(found)} Dask worker(s) cannot grade "
                                 f"{quiz}: {lines}")


@contextmanager
def grading_pool(*, workers: int, scheduler: str | None, root: Path, quiz: str,
                 key: Path | None, sandbox: bool) -> Iterator[Executor]:
    """An executor for one task per submission: ``workers`` local processes, or the
    Dask cluster at ``scheduler`` (an address such as ``tcp://10.0.0.5:8786``, or a
    scheduler file), checked first for what grading needs on every worker."""
    if scheduler is None:
        # spawn: a worker starts clean, holding nothing of the parent's (the gradebook's
        # connection, say)
        with ProcessPoolExecutor(max_workers=max(1, workers),
                                 mp_context=get_context("spawn")) as pool:
            yield pool
        return
    client = _connect(scheduler)
    try:
        check_workers(client, root=root, quiz=quiz, key=key, sandbox=sandbox)
        with client.get_executor(pure=False) as pool:
            yield pool
    finally:
        client.close()
