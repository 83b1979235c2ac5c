"""A grading worker's warm sandbox: the quiz's frameworks imported once, a kernel forked
per submission.

A cold kernel spends most of a submission's time importing PyTorch, TensorFlow and
JAX (``benchmarks/profile_grading.py``). A :class:`WarmSandbox` is one sandbox
(:mod:`.sandbox`: its own scratch space, cgroups, namespaces and limits) holding a
warm process, the zygote (:mod:`.zygote`), which has imported them; each
submission's kernel is forked from it, so it starts with the imports done.

Each submission still starts clean (:meth:`WarmSandbox.session`):

- its kernel is a fresh fork of a process no kernel could reach (nothing a
  kernel imported, patched, set or started reaches the zygote);
- before the next submission, every process of the sandbox but the zygote is
  killed, the scratch space (working folder, home, temporary files, ``/dev/shm``,
  runtime folder) emptied, and the System V IPC objects removed; a kernel can
  make no POSIX message queue; a zygote that stopped answering is replaced;
- its limits are the sandbox's: per process (data, files, CPU seconds: a fork
  starts its CPU count at zero) as before; the scratch space's ceiling, the
  number of processes and the memory of all processes together are the
  sandbox's, shared with the zygote, which uses one process and the memory of
  its imports, as a cold kernel's imports would; the kernel, not the zygote, is
  what the OOM killer takes first.

A worker keeps its warm sandboxes in a pool (:func:`borrowed`), one per quiz set-up
in use at a time, at most :data:`MAX_IDLE` idle, and closes one left idle for
:data:`IDLE_SECONDS`.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ...checks import MODE_VARIABLE, RECORD_ONLY
from ..prepare import package_view
from . import sandbox as sandboxing
from .scratch import RUNTIME, SHARED_MEMORY, WORK, ScratchUnavailable

#: A warm sandbox unused this long is closed (its memory is its imports').
IDLE_SECONDS = 600.0
#: Idle warm sandboxes a process keeps at most (each holds its imports' memory,
#: over a GiB with PyTorch, TensorFlow and JAX); the least recently used goes first.
MAX_IDLE = 2
#: How long the worker waits for the zygote to answer a ping or a fork.
ANSWER_SECONDS = 30.0


class WarmUnavailable(RuntimeError):
    """No warm process can serve this quiz here; the message says why (grading then
    uses a cold kernel)."""


def _process_table() -> dict[int, tuple[int, str]]:
    """Every process on the host: pid -> (parent pid, start time)."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        table[int(name)] = (int(fields[1]), fields[19])
    return table


def descendants(pid: int, table: dict[int, tuple[int, str]] | None = None) -> list[int]:
    """The processes below ``pid``, children first."""
    table = table if table is not None else _process_table()
    children: dict[int, list[int]] = {}
    for child, (parent, _) in table.items():
        children.setdefault(parent, []).append(child)
    found, frontier = [], [pid]
    while frontier:
        frontier = [c for p in frontier for c in children.get(p, [])]
        found += frontier
    return found


def _namespace_pid(pid: int) -> int | None:
    """``pid``'s number in its innermost PID namespace."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    except (OSError, ValueError):
        pass
    return None


class ForkedKernel:
    """A forked kernel, as jupyter_client's provisioner handles a ``Popen``: the
    worker is not its parent (the zygote is), so it is watched through ``/proc``."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self._started = _process_table().get(pid, (0, ""))[1]
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                stat = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
                alive = stat[19] == self._started and stat[0] != "Z"
            except (OSError, IndexError):
                alive = False
            if not alive:
                self.returncode = -signal.SIGKILL
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class WarmSandbox:
    """One sandbox with a zygote that imported ``modules``; see the module's docstring.

    ``dlcourse_modules`` limits what of the package the sandbox shows, as for a cold
    kernel (:mod:`..prepare.package_view`). :meth:`start` raises
    :class:`.sandbox.SandboxUnavailable` where no sandbox can be made and
    :class:`WarmUnavailable` where the zygote cannot serve.
    """

    def __init__(self, limits: sandboxing.SandboxLimits, *, modules: tuple[str, ...],
                 dlcourse_modules: tuple[str, ...] | None, startup_timeout: float):
        self.limits = limits
        self.modules = tuple(modules)
        self.dlcourse_modules = dlcourse_modules
        self.startup_timeout = startup_timeout
        self.scratch = None
        self.sandbox: sandboxing.Sandbox | None = None
        self.process: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.zygote_pid: int | None = None
        self.ready: dict = {}
        self._view: Path | None = None
        self._oom_kills = 0
        self.last_used = time.monotonic()

    # -- life --------------------------------------------------------------------

    def start(self) -> WarmSandbox:
        try:
            self.scratch = sandboxing.scratch_space(self.limits, "dlcourse-warm-").__enter__()
        except ScratchUnavailable as error:
            raise sandboxing.SandboxUnavailable(str(error)) from error
        try:
            if self.dlcourse_modules is not None:
                self._view = package_view.build_view(
                    self.dlcourse_modules,
                    Path(tempfile.mkdtemp(prefix="dlcourse-view-")) / "dlcourse")
            self.sandbox = sandboxing.Sandbox(self.limits, workdir=self.scratch.path,
                                              package_view=self._view).__enter__()
            self._start_zygote()
        except BaseException:
            self.close()
            raise
        return self

    def _start_zygote(self) -> None:
        from . import zygote

        ours, theirs = socket.socketpair()
        self.control = ours
        env = {**self.sandbox.environment(), MODE_VARIABLE: RECORD_ONLY}
        program = Path(zygote.__file__).read_text()
        argv = self.sandbox.command(
            [sys.executable, "-c", program, str(theirs.fileno()), json.dumps(self.modules)],
            env=env)
        try:
            self.process = subprocess.Popen(argv, pass_fds=[theirs.fileno()],
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)
        finally:
            theirs.close()
        ready = self._answer(self.startup_timeout)
        if ready is None or "ready" not in ready:
            raise WarmUnavailable(f"the warm process did not start within "
                                  f"{self.startup_timeout:g} s")
        if ready["open_files"]:
            raise WarmUnavailable("importing " + ", ".join(self.modules) + " left open for "
                                  "writing " + ", ".join(ready["open_files"]) +
                                  ", which forked kernels would share")
        self.ready = ready
        self.zygote_pid = self._host_pid(self.process.pid, ready["ready"])
        if self.zygote_pid is None:
            raise WarmUnavailable("the warm process could not be found")
        self._oom_kills = self.sandbox.groups.oom_kills() if self.sandbox.groups else 0

    def close(self) -> None:
        """Stop the zygote and everything in the sandbox; end the scratch space."""
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.process is not None:
            for pid in [self.process.pid, *descendants(self.process.pid)]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.process.wait()
            self.process = None
        if self.sandbox is not None:
            self.sandbox.close()
            self.sandbox = None
        if self.scratch is not None:
            self.scratch.close()
            self.scratch = None
        if self._view is not None:
            shutil.rmtree(self._view.parent, ignore_errors=True)
            self._view = None

    @property
    def alive(self) -> bool:
        """Whether the sandbox and its zygote still run (not whether it answers)."""
        if self.process is None or self.process.poll() is not None or not self.zygote_pid:
            return False
        try:
            state = Path(f"/proc/{self.zygote_pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return False
        return state[0] not in ("Z", "X")

    def answers(self) -> bool:
        """Whether the zygote answers a ping (it may have been stopped, or killed)."""
        return self.alive and self._ask({"ping": True}, timeout=5) is not None

    # -- talking to the zygote ----------------------------------------------------

    def _answer(self, timeout: float) -> dict | None:
        """The zygote's next reply, or None if none comes within ``timeout``."""
        deadline = time.monotonic() + timeout
        data = b""
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.control], [], [], left)[0]:
                return None
            try:
                chunk = self.control.recv(65536)
            except OSError:  # a killed zygote resets the connection rather than closing it
                return None
            if not chunk:
                return None
            data += chunk
        try:
            return json.loads(data)
        except ValueError:
            return None

    def _ask(self, request: dict, timeout: float = ANSWER_SECONDS) -> dict | None:
        try:
            self.control.sendall((json.dumps(request) + "\n").encode())
        except OSError:
            return None
        return self._answer(timeout)

    @staticmethod
    def _host_pid(ancestor: int, inner_pid: int) -> int | None:
        """The host's pid of the process below ``ancestor`` numbered ``inner_pid`` inside."""
        return next((pid for pid in descendants(ancestor)
                     if _namespace_pid(pid) == inner_pid), None)

    # -- one submission -----------------------------------------------------------

    @property
    def workdir(self) -> Path:
        return self.scratch.path

    @property
    def runtime(self) -> Path:
        return self.scratch.runtime

    @contextmanager
    def session(self) -> Iterator[Path]:
        """One submission's turn: its working folder, empty; afterwards, everything it
        left is gone (or the warm sandbox is closed, if that cannot be made sure)."""
        self.last_used = time.monotonic()
        if self.sandbox is not None and self.sandbox.groups is not None:
            self._oom_kills = self.sandbox.groups.oom_kills()
        try:
            yield self.workdir
        finally:
            try:
                self.reset()
            except Exception:
                self.close()
            self.last_used = time.monotonic()

    def launch(self, *, connection_file: str, env: dict[str, str]) -> ForkedKernel:
        """Fork a kernel that reads ``connection_file`` and runs with ``env``; raises
        :class:`WarmUnavailable` (and closes this warm sandbox) where none comes."""
        answer = self._ask({"kernel": {"connection_file": connection_file, "env": env,
                                       "cwd": str(self.workdir)}})
        if answer is None or not isinstance(answer.get("forked"), int):
            self.close()
            raise WarmUnavailable("the warm process did not fork a kernel")
        pid = self._host_pid(self.zygote_pid, answer["forked"])
        if pid is None:
            self.close()
            raise WarmUnavailable("the forked kernel exited at once")
        return ForkedKernel(pid)

    def out_of_memory(self) -> bool:
        """Whether this session's processes were killed for using all their memory."""
        groups = self.sandbox.groups if self.sandbox is not None else None
        return groups is not None and groups.oom_kills() > self._oom_kills

    def reset(self) -> None:
        """Kill every process but the zygote, empty the scratch space, remove IPC
        objects; raises if any of that cannot be done."""
        if not self.alive:
            raise RuntimeError("the warm sandbox has ended")
        keep = {self.process.pid, self.zygote_pid}
        table = _process_table()
        parent = table.get(self.zygote_pid, (0, ""))[0]
        while parent and parent != self.process.pid:  # bubblewrap's init, and the like
            keep.add(parent)
            parent = table.get(parent, (0, ""))[0]
        for _ in range(200):
            left = [pid for pid in descendants(self.process.pid) if pid not in keep]
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)
        else:
            raise RuntimeError("processes of the last submission kept coming back")
        try:
            os.kill(self.zygote_pid, signal.SIGCONT)  # in case a kernel stopped it
        except ProcessLookupError:
            raise RuntimeError("the warm process was killed") from None
        for part in (WORK, RUNTIME, SHARED_MEMORY):
            _empty(self.scratch.base / part)
        sandboxing.base_environment(self.workdir)  # its home folders again
        if self._ask({"clean": True}) is None or self._ask({"ping": True}) is None:
            raise RuntimeError("the warm process stopped answering")


def _empty(folder: Path) -> None:
    """Remove everything in ``folder``, whatever its modes."""
    for entry in list(os.scandir(folder)):
        _remove(Path(entry.path))
    if any(os.scandir(folder)):
        raise RuntimeError(f"{folder} could not be emptied")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        os.chmod(path, 0o700)
        shutil.rmtree(path, onerror=lambda function, name, info: _unlock(name))
        if path.exists():
            shutil.rmtree(path)
    else:
        path.unlink()


def _unlock(name: str) -> None:
    """Give the owner back a folder the submission made unreadable, to retry."""
    for folder in (name, os.path.dirname(name)):
        try:
            os.chmod(folder, 0o700)
        except OSError:
            pass


# -- the worker's pool -------------------------------------------------------------

_pool: dict[tuple, list[WarmSandbox]] = {}
_lock = threading.Lock()
_reaper: threading.Thread | None = None


def _reap_idle() -> None:
    """Close idle warm sandboxes as they pass :data:`IDLE_SECONDS`, while any are left."""
    global _reaper
    while True:
        time.sleep(IDLE_SECONDS / 10)
        _close_idle()
        with _lock:
            if not any(_pool.values()):
                _reaper = None
                return


def _close_idle() -> None:
    now = time.monotonic()
    with _lock:
        for idle in _pool.values():
            for warm in [w for w in idle if now - w.last_used > IDLE_SECONDS]:
                idle.remove(warm)
                warm.close()


def close_all() -> None:
    """Close every idle warm sandbox of this process."""
    with _lock:
        for idle in _pool.values():
            for warm in idle:
                warm.close()
        _pool.clear()


atexit.register(close_all)


@contextmanager
def borrowed(limits: sandboxing.SandboxLimits, *, modules: tuple[str, ...],
             dlcourse_modules: tuple[str, ...] | None,
             startup_timeout: float) -> Iterator[WarmSandbox]:
    """A started warm sandbox for this set-up, this process's idle one or a new one,
    given back afterwards (closed instead, if it has ended). Raises
    :class:`WarmUnavailable` or :class:`.sandbox.SandboxUnavailable` where none
    can be had."""
    _close_idle()
    key = (limits, tuple(modules), dlcourse_modules, sys.executable)
    with _lock:
        idle = _pool.setdefault(key, [])
        warm = idle.pop() if idle else None
    if warm is not None and not warm.answers():
        warm.close()
        warm = None
    if warm is None:
        warm = WarmSandbox(limits, modules=modules, dlcourse_modules=dlcourse_modules,
                           startup_timeout=startup_timeout).start()
    try:
        yield warm
    finally:
        if warm.alive:
            with _lock:
                _pool.setdefault(key, []).append(warm)
                idle = sorted((w for ws in _pool.values() for w in ws),
                              key=lambda w: w.last_used)
                for extra in idle[:-MAX_IDLE]:
                    next(ws for ws in _pool.values() if extra in ws).remove(extra)
                    extra.close()
                global _reaper
                if _reaper is None:
                    _reaper = threading.Thread(target=_reap_idle, name="dlcourse-warm-reaper",
                                               daemon=True)
                    _reaper.start()
        else:
            warm.close()
