"""Run untrusted code (a student's kernel, an evaluator) under bubblewrap.

What the sandboxed process sees:

- its scratch folder (a copy of its own submission) as the only writable
  place, at the same path as outside, and a private runtime folder for the
  kernel's connection file and IPC sockets;
- read-only: the system (``/usr``, ``/bin``, ``/lib*``, ``/etc``), the Python
  installation (the virtual environment and the base interpreter its
  ``python`` links to) and the ``dlcourse`` package; nothing else of the
  course directory: no gradebook, ``source/``, keys, ``quizzes/`` or other
  students' work;
- no network (a network namespace of its own, loopback only), its own user
  (an unprivileged uid, no capabilities), PID, IPC and UTS namespaces, a
  cleared environment, a new session (no terminal injection), and it dies
  with the grader.

Limits (``c.Grading`` options): data segment size (``RLIMIT_DATA``: an
address-space limit would stop TensorFlow from loading at all), file size,
open files, CPU seconds of each process, and the number of processes: a
``pids`` cgroup when the grader runs as root (root is exempt from
``RLIMIT_NPROC``), ``RLIMIT_NPROC`` otherwise. Where a sandbox cannot be
made, :func:`check_available` says why and grading refuses, unless asked to
run without one.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..config import option_default

SANDBOX_UID = 65534  # "nobody" inside the sandbox's user namespace
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc")
PIDS_CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))


class SandboxUnavailable(RuntimeError):
    """No sandbox can be made on this machine; the message says why."""


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one sandboxed process tree."""

    memory_bytes: int = option_default("memory_bytes")
    processes: int = option_default("max_processes")
    file_size_bytes: int = option_default("max_file_bytes")
    open_files: int = option_default("max_open_files")
    cpu_seconds: int = option_default("cpu_seconds")

    @classmethod
    def from_options(cls, options) -> SandboxLimits:
        return cls(options.memory_bytes, options.max_processes, options.max_file_bytes,
                   options.max_open_files, options.cpu_seconds)


def _bwrap() -> str | None:
    return shutil.which("bwrap")


def _readonly_software() -> list[Path]:
    """The Python installation and the dlcourse package, which a sandbox must read."""
    import dlcourse

    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parents[1],
             Path(dlcourse.__file__).resolve().parent}
    return sorted(p for p in paths if p.exists())


class ProcessLimit:
    """Bound the number of processes of one sandbox.

    As root, ``RLIMIT_NPROC`` is not enforced (root is exempt), so a ``pids``
    cgroup holds the sandbox: :meth:`command_prefix` makes the launched
    command join it before it execs. Otherwise ``prlimit --nproc`` does.
    """

    def __init__(self, limit: int):
        self.limit = limit
        self.cgroup: Path | None = None
        if os.geteuid() == 0:
            self.cgroup = self._make_cgroup()

    def _make_cgroup(self) -> Path:
        for base in PIDS_CGROUP_ROOTS:
            if (base / "pids.max").exists() or (base / "cgroup.procs").exists():
                group = base / f"dlcourse-{uuid.uuid4().hex[:12]}"
                try:
                    group.mkdir()
                    (group / "pids.max").write_text(str(self.limit))
                    return group
                except OSError:
                    if group.exists():
                        group.rmdir()
        raise SandboxUnavailable(
            "running as root, where RLIMIT_NPROC is not enforced, and no pids cgroup can be "
            "made under /sys/fs/cgroup to bound the number of processes")

    def command_prefix(self) -> list[str]:
        if self.cgroup is None:
            return []
        procs = self.cgroup / "cgroup.procs"
        return ["/bin/sh", "-c", f'echo $$ > "{procs}" && exec "$@"', "sh"]

    def rlimit_flags(self) -> list[str]:
        return [] if self.cgroup is not None else [f"--nproc={self.limit}"]

    def close(self) -> None:
        """Kill whatever is left in the cgroup and remove it."""
        if self.cgroup is None or not self.cgroup.exists():
            return
        # Killed processes leave the group only once they have exited, so
        # removing it is retried for a while (a group still in use is EBUSY).
        for _ in range(200):
            try:
                pids = [int(p) for p in (self.cgroup / "cgroup.procs").read_text().split()]
            except OSError:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                self.cgroup.rmdir()
                return
            except OSError:
                time.sleep(0.05)


def command(argv: list[str], *, writable: list[Path], readonly: list[Path] = (),
            workdir: Path, env: dict[str, str], limits: SandboxLimits,
            processes: ProcessLimit, package_view: Path | None = None) -> list[str]:
    """The command line that runs ``argv`` sandboxed (see the module's docstring).

    ``package_view``, a partial copy of the ``dlcourse`` package
    (:mod:`.package_view`), is shown at the package's path instead of the
    whole package.
    """
    bwrap = _bwrap()
    if bwrap is None:
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed: apt-get install bubblewrap")
    # A user namespace always: run as root without one, the sandboxed process
    # would keep root's capabilities. Inside, it is an unprivileged user.
    args = [bwrap, "--unshare-all", "--unshare-user", "--uid", str(SANDBOX_UID),
            "--gid", str(SANDBOX_UID), "--cap-drop", "ALL", "--die-with-parent", "--new-session",
            "--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev", "--clearenv"]
    for folder in SYSTEM_DIRS:
        if Path(folder).exists():
            args += ["--ro-bind", folder, folder]
    for path in [*_readonly_software(), *readonly]:
        args += ["--ro-bind", str(path), str(path)]
    if package_view is not None:  # over the package, after the software that may hold it
        import dlcourse

        args += ["--ro-bind", str(package_view), str(Path(dlcourse.__file__).resolve().parent)]
    for path in writable:
        args += ["--bind", str(path), str(path)]
    for name, value in env.items():
        args += ["--setenv", name, value]
    args += ["--chdir", str(workdir), "--"]
    prlimit = shutil.which("prlimit") or "/usr/bin/prlimit"
    args += [prlimit, f"--data={limits.memory_bytes}", f"--fsize={limits.file_size_bytes}",
             f"--nofile={limits.open_files}", f"--cpu={limits.cpu_seconds}", "--core=0",
             *processes.rlimit_flags(), "--"]
    return [*processes.command_prefix(), *args, *argv]


def base_environment(scratch: Path) -> dict[str, str]:
    """The environment inside a sandbox: nothing of the grader's but what Python needs."""
    home = scratch / ".home"
    for folder in (home, home / ".config" / "matplotlib", home / ".ipython", home / "tmp"):
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "MPLCONFIGDIR": str(home / ".config" / "matplotlib"),
        "IPYTHONDIR": str(home / ".ipython"),
        "TMPDIR": str(home / "tmp"),
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }


_verified: str | None = None


def check_available() -> None:
    """Raise :class:`SandboxUnavailable` unless a sandboxed Python can run here."""
    global _verified
    if _verified == "ok":
        return
    if not sys.platform.startswith("linux"):
        raise SandboxUnavailable("the sandbox needs Linux (bubblewrap)")
    import tempfile

    with tempfile.TemporaryDirectory(prefix="dlcourse-probe-") as scratch:
        scratch = Path(scratch)
        processes = ProcessLimit(16)
        try:
            argv = command([sys.executable, "-c", "import dlcourse.checks; print('sandbox ok')"],
                           writable=[scratch], workdir=scratch, env=base_environment(scratch),
                           limits=SandboxLimits(), processes=processes)
            done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        finally:
            processes.close()
    if "sandbox ok" not in done.stdout:
        raise SandboxUnavailable(f"bubblewrap could not start Python: {done.stderr.strip()[-300:]}")
    _verified = "ok"
