"""Run a web service (any ASGI app: FastAPI, Starlette) in the background, on loopback.

Taught in lesson 05 (``notebooks/05_deployment.ipynb``, "Serving over HTTP"),
where an ONNX Runtime model is served with FastAPI and called by a real HTTP
client. A notebook cannot block on ``uvicorn.run``, so :class:`BackgroundServer`
runs uvicorn's server in a thread with its own event loop::

    with serving.BackgroundServer(app) as server:
        httpx.get(server.url + "/health")

- It listens on ``127.0.0.1`` by default, so nothing outside this machine can
  reach it, on a free port the operating system picks: the socket is bound
  to port 0 *here* and handed to uvicorn, so no other program can take the
  port between choosing and listening.
- :meth:`BackgroundServer.stop` asks uvicorn to exit (``should_exit``), which
  lets requests in flight finish, then joins the thread.

uvicorn is imported only when a server starts.

:func:`threads_at_work` counts the threads of this process that did work while a
function ran (Linux: from ``/proc/self/task``). A server chooses how many threads each
model runtime may use; the lesson sets one per runtime where a runtime has the setting,
and this function checks what each runtime really did.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that was free a moment ago (bind to port 0, read it, release it).

    Another program may take it before you use it; :class:`BackgroundServer`
    avoids that race by keeping its socket. Use this only for programs that
    insist on a port number, such as a server started in a subprocess.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class BackgroundServer:
    """Serve an ASGI ``app`` with uvicorn in a daemon thread; a context manager.

    ``config`` holds further ``uvicorn.Config`` options (``log_level`` defaults
    to ``"warning"`` and the per-request access log is off, so a notebook is
    not flooded).
    """

    def __init__(self, app: Any, *, host: str = LOOPBACK, port: int = 0, **config: Any):
        self.app = app
        self.host = host
        self.requested_port = port
        self.config = {"log_level": "warning", "access_log": False, **config}
        self._server = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the server is not running")
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        """Start serving; return once the server accepts connections."""
        import uvicorn

        if self.running:
            raise RuntimeError("the server is already running")
        # proto=IPPROTO_TCP matters: asyncio switches off Nagle's algorithm (TCP_NODELAY)
        # only on sockets that say they are TCP, and with Nagle on, a response written in
        # two parts waits for the client's delayed acknowledgement (about 40 ms on Linux).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.requested_port))
        except OSError:
            sock.close()
            raise
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, host=self.host, port=self.port, **self.config)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"uvicorn-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                self._cleanup()
                raise RuntimeError("the server stopped while starting (see its log above)")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the server did not start within {timeout:g} s")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the server to exit, wait for its thread, and release the port."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"the server did not stop within {timeout:g} s")
        self._cleanup()

    def _cleanup(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.close()
        self._socket = None
        self._thread = None
        self._server = None
        self.port = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


# -- threads a runtime really uses ----------------------------------------------------------

TASKS = "/proc/self/task"


def _cpu_ticks_by_thread() -> dict[int, int]:
    """CPU time (user + system, in clock ticks) of each thread of this process, by id."""
    ticks = {}
    for name in os.listdir(TASKS):
        try:
            with open(f"{TASKS}/{name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        ticks[int(name)] = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks


def threads_at_work(fn: Callable[[], object], *, seconds: float = 0.3,
                    share: float = 0.05) -> int | None:
    """How many threads of this process did work while ``fn()`` was called repeatedly.

    ``fn`` is called once (warm-up), then again and again for ``seconds``; a thread
    counts when it spent at least ``share`` of all the CPU time the process spent
    meanwhile (so a thread that woke up once does not). Counts threads, not
    simultaneity: two threads that take turns count two (a caller that prepares each
    call, and a worker it hands the computation to), while a caller that only waits
    does not count. ``None`` where the operating system does not show per-thread CPU time
    (``/proc`` is Linux's).
    """
    if not os.path.isdir(TASKS):
        return None
    fn()
    before = _cpu_ticks_by_thread()
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
    after = _cpu_ticks_by_thread()
    spent = {tid: ticks - before.get(tid, 0) for tid, ticks in after.items()}
    total = sum(spent.values())
    if total <= 0:
        return 1  # too little CPU time to see: one thread (the caller) at most
    return sum(1 for ticks in spent.values() if ticks >= share * total)
