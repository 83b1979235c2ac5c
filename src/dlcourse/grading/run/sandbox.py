"""Run untrusted code (a student's kernel, an evaluator) under bubblewrap.

A :class:`Sandbox` (a context manager) holds one sandboxed process tree and
what it may use; its processes see:

- its :class:`Scratch` space as the only writable place: the working folder
  (a copy of its own submission), at the same path as the grader sees it, a
  runtime folder for the kernel's connection file and IPC sockets, and
  ``/dev/shm``; the root and ``/dev`` are read-only;
- read-only: the system (``/usr``, ``/bin``, ``/lib*``, ``/etc``), the Python
  installation (the virtual environment and the base interpreter its
  ``python`` links to) and the ``dlcourse`` package; nothing else of the
  course directory: no gradebook, ``source/``, keys, ``quizzes/`` or other
  students' work;
- no network (a network namespace of its own, loopback only), its own user
  (an unprivileged uid, no capabilities), PID, IPC and UTS namespaces, a
  cleared environment, a new session (no terminal injection), and it dies
  with the grader.

Limits (``c.Grading`` options, :class:`dlcourse.config.Grading`): per
process, the data segment size (``RLIMIT_DATA``: an address-space limit
would stop TensorFlow from loading at all), file size, open files and CPU
seconds; per sandbox, the bytes and files of its scratch space, the number of
processes (a ``pids`` cgroup when the grader runs as root, who is exempt from
``RLIMIT_NPROC``; ``RLIMIT_NPROC`` otherwise) and, where the grader can make a
memory cgroup, the memory of all its processes together. Where a sandbox
cannot be made, :func:`check_available` says why and grading refuses, unless
asked to run without one.

Why the scratch space is a tmpfs in a mount namespace of its own: a size-capped
tmpfs is the one filesystem whose ceiling needs no privilege (an unprivileged
user may mount one in a user namespace it owns), and mounting it in a
namespace held by a small process (bubblewrap running ``sleep``) rather than
in bubblewrap's own sandbox keeps it alive after the kernel ends, while the
grader reads exported files, and lets the grader reach it at
``/proc/<holder>/root/...``, as root and as a normal user alike. It never
touches the host's mount table, so a grader killed mid-run leaves nothing
mounted: the holder dies with it (``--die-with-parent``) and the tmpfs with
the holder. bubblewrap's own ``--size BYTES --tmpfs PATH`` caps a tmpfs the
same way, but that tmpfs lives in the sandbox's mount namespace, unseen by
the grader and gone when the sandboxed process exits.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ...config import option_default
from .cgroups import CgroupUnavailable, ControlGroups
from .scratch import NO_BWRAP, Scratch, ScratchUnavailable

SANDBOX_UID = 65534  # "nobody" inside the sandbox's user namespace
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc")


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
    scratch_bytes: int = option_default("scratch_bytes")
    scratch_files: int = option_default("scratch_files")
    total_memory_bytes: int = option_default("total_memory_bytes")

    @classmethod
    def from_options(cls, options) -> SandboxLimits:
        return cls(options.memory_bytes, options.max_processes, options.max_file_bytes,
                   options.max_open_files, options.cpu_seconds, options.scratch_bytes,
                   options.scratch_files, options.total_memory_bytes)


def scratch_space(limits: SandboxLimits, prefix: str = "dlcourse-scratch-") -> Scratch:
    """A new :class:`.scratch.Scratch` within ``limits``, to use as a context manager."""
    return Scratch(limits.scratch_bytes, limits.scratch_files, prefix=prefix)


@contextmanager
def scratch_folder(limits: SandboxLimits | None, prefix: str = "dlcourse-grade-"
                   ) -> Iterator[Path]:
    """The folder a notebook runs in, for as long as the context lasts.

    With ``limits``, a scratch space's working folder, which no write takes
    past its ceiling; a :class:`Sandbox` given it as ``workdir`` runs there.
    Without (an unsandboxed run, the instructor's own), a plain temporary folder.
    """
    if limits is None:
        with tempfile.TemporaryDirectory(prefix=prefix) as folder:
            yield Path(folder)
        return
    scratch = scratch_space(limits, prefix)
    try:
        scratch.__enter__()
    except ScratchUnavailable as error:
        raise SandboxUnavailable(str(error)) from error
    try:
        yield scratch.path
    finally:
        scratch.close()


def _bwrap() -> str | None:
    return shutil.which("bwrap")


def _readonly_software() -> list[Path]:
    """The Python installation and the dlcourse package, which a sandbox must read."""
    import dlcourse

    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parents[1],
             Path(dlcourse.__file__).resolve().parent}
    return sorted(p for p in paths if p.exists())


class Sandbox:
    """One sandboxed process tree and what it may use, as a context manager.

    ``workdir``, the sandbox's working folder, is best the working folder of
    an open scratch space (:func:`scratch_folder`), which the caller fills
    before and reads after the sandboxed run: its ceiling then holds for the
    working folder too. Any other folder is bound as it is, with no ceiling of
    its own; the sandbox then makes a scratch space for the rest (runtime
    folder, ``/dev/shm``). ``readonly`` folders are shown read-only;
    ``package_view``, a partial copy of the ``dlcourse`` package
    (:mod:`.package_view`), is shown at the package's path instead of the whole
    package. On exit every process left in the sandbox is killed (as root, by
    its cgroups; otherwise its processes die with bubblewrap's PID namespace).

    Raises :class:`SandboxUnavailable` on entry where it cannot be made.
    """

    def __init__(self, limits: SandboxLimits, *, workdir: Path | None = None,
                 readonly: list[Path] = (), package_view: Path | None = None):
        self.limits = limits
        self.readonly = list(readonly)
        self.package_view = package_view
        self._workdir = Path(workdir) if workdir is not None else None
        self.scratch: Scratch | None = None
        self._own_scratch = False
        self.groups: ControlGroups | None = None

    @property
    def workdir(self) -> Path:
        return self._workdir if self._workdir is not None else self.scratch.path

    @property
    def runtime(self) -> Path:
        """A folder for the kernel's connection file and IPC sockets, inside the ceiling."""
        return self.scratch.runtime

    def __enter__(self) -> Sandbox:
        if _bwrap() is None:
            raise SandboxUnavailable(NO_BWRAP)
        try:
            self.scratch = Scratch.holding(self._workdir) if self._workdir is not None else None
            if self.scratch is None:
                self.scratch = scratch_space(self.limits).__enter__()
                self._own_scratch = True
            self.groups = ControlGroups(self.limits.processes, self.limits.total_memory_bytes)
        except (ScratchUnavailable, CgroupUnavailable) as error:
            self.close()
            raise SandboxUnavailable(str(error)) from error
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Kill what is left of the sandbox's processes; end a scratch space it made."""
        if self.groups is not None:
            self.groups.close()
            self.groups = None
        if self._own_scratch and self.scratch is not None:
            self.scratch.close()
        self.scratch = None

    def environment(self) -> dict[str, str]:
        """The environment inside: nothing of the grader's but what Python needs."""
        return base_environment(self.workdir)

    def out_of_memory(self) -> bool:
        """Whether the sandbox's processes were killed for using all their memory together."""
        return self.groups is not None and self.groups.out_of_memory()

    def command(self, argv: list[str], *, env: dict[str, str]) -> list[str]:
        """The command line that runs ``argv`` in this sandbox (see the module's docstring)."""
        # A user namespace always: run as root without one, the sandboxed process
        # would keep root's capabilities. Inside, it is an unprivileged user.
        args = [_bwrap(), "--unshare-all", "--unshare-user", "--uid", str(SANDBOX_UID),
                "--gid", str(SANDBOX_UID), "--cap-drop", "ALL", "--die-with-parent",
                "--new-session", "--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev",
                "--clearenv"]
        for folder in SYSTEM_DIRS:
            if Path(folder).exists():
                args += ["--ro-bind", folder, folder]
        for path in [*_readonly_software(), *self.readonly]:
            args += ["--ro-bind", str(path), str(path)]
        if self.package_view is not None:  # over the package, after the software that may hold it
            import dlcourse

            args += ["--ro-bind", str(self.package_view),
                     str(Path(dlcourse.__file__).resolve().parent)]
        args += self.scratch.binds()
        if self._workdir is not None and self._workdir != self.scratch.path:
            args += ["--bind", str(self._workdir), str(self._workdir)]
        # Nothing else is writable: bubblewrap's own root and /dev are tmpfs
        # folders that would hold whatever was written there, in memory.
        args += ["--remount-ro", "/dev", "--remount-ro", "/"]
        for name, value in env.items():
            args += ["--setenv", name, value]
        args += ["--chdir", str(self.workdir), "--"]
        limits = self.limits
        prlimit = shutil.which("prlimit") or "/usr/bin/prlimit"
        args += [prlimit, f"--data={limits.memory_bytes}", f"--fsize={limits.file_size_bytes}",
                 f"--nofile={limits.open_files}", f"--cpu={limits.cpu_seconds}", "--core=0",
                 *self.groups.rlimit_flags(), "--"]
        # Join the cgroups first (from the host's view of /sys/fs/cgroup), then
        # the scratch space's mount namespace, where bubblewrap finds its tmpfs.
        return [*self.groups.command_prefix(), *self.scratch.enter(), *args, *argv]


def base_environment(scratch: Path) -> dict[str, str]:
    """The environment inside a sandbox whose working folder is ``scratch``."""
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
    probe = SandboxLimits(processes=16, scratch_bytes=64 * 1024**2)
    with Sandbox(probe) as sandbox:
        probe_python = [sys.executable, "-c", "import dlcourse.checks; print('sandbox ok')"]
        argv = sandbox.command(probe_python, env=sandbox.environment())
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if "sandbox ok" not in done.stdout:
        raise SandboxUnavailable(f"bubblewrap could not start Python: {done.stderr.strip()[-300:]}")
    _verified = "ok"
