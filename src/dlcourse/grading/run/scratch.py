"""A sandbox's scratch space: a folder that cannot hold more than its ceiling.

The folder is a tmpfs of ``ceiling_bytes`` (and at most ``max_files``
inodes) mounted in a mount namespace of its own, held by a holder process
(bubblewrap running ``sleep``). The grader reaches it through
``/proc/<holder>/root``, by way of symbolic links it makes in a host folder;
a sandbox, started inside the holder's namespace (:meth:`Scratch.enter`),
binds it at the very same paths, so both see the same files under the same
names. Nothing a sandbox writes there reaches the host's disk: past the
ceiling a write fails with ``No space left on device``. The tmpfs lives in
memory (and swap) and is freed when the holder ends: on :meth:`Scratch.close`,
or, should the grader die, with the grader.

Why not mount it on the host: that needs root, and a grader killed
mid-run would leave the mount behind. Why not bubblewrap's own
``--size BYTES --tmpfs PATH``: that tmpfs lives in the sandbox's namespace,
unseen by the grader, and is gone when the sandboxed process exits, before
the grader has read the files the submission exported.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

#: The parts of a scratch space, each a folder in its tmpfs.
WORK, RUNTIME, SHARED_MEMORY = "work", "runtime", "shm"
#: Open scratch spaces by working folder, so that a sandbox finds the one a folder is in.
_open: dict[Path, Scratch] = {}
MAX_PARENT_CHARACTERS = 64
NO_BWRAP = "bubblewrap (bwrap) is not installed: apt-get install bubblewrap"


class ScratchUnavailable(RuntimeError):
    """The capped filesystem could not be made; the message says why."""


class Scratch:
    """A scratch space of at most ``ceiling_bytes`` and ``max_files`` files.

    Use it as a context manager. :attr:`path` is the working folder,
    :attr:`runtime` the kernel's runtime folder; both are paths the grader
    can read and write, and the paths a sandbox sees them at. Resolved
    (``Path.resolve``, ``os.path.realpath``), they name the folder in the
    holder's namespace, which the host does not have: compare resolved paths,
    never open them.
    """

    def __init__(self, ceiling_bytes: int, max_files: int, *, prefix: str = "dlcourse-scratch-"):
        self.ceiling_bytes = int(ceiling_bytes)
        self.max_files = int(max_files)
        self.prefix = prefix
        self.holder: subprocess.Popen | None = None
        self.holder_pid: int | None = None
        self.user_namespace = False
        self.base: Path | None = None

    # The tmpfs is mounted at base/fs in the holder's namespace (an empty
    # folder on the host); base/<part> are the host's links into it.
    @property
    def mount(self) -> Path:
        return self.base / "fs"

    @property
    def path(self) -> Path:
        return self.base / WORK

    @property
    def runtime(self) -> Path:
        return self.base / RUNTIME

    @classmethod
    def holding(cls, folder: Path) -> Scratch | None:
        """The open scratch space whose working folder is ``folder``, if any."""
        return _open.get(Path(folder))

    def __enter__(self) -> Scratch:
        # The kernel's IPC sockets are named under it, and a socket's path may
        # not be longer than 107 bytes.
        parent = None if len(tempfile.gettempdir()) <= MAX_PARENT_CHARACTERS else "/tmp"
        self.base = Path(tempfile.mkdtemp(prefix=self.prefix, dir=parent))
        try:
            self._start_holder()
            inside = Path(f"/proc/{self.holder_pid}/root") / self.mount.relative_to("/")
            for part in (WORK, RUNTIME, SHARED_MEMORY):
                (inside / part).mkdir(mode=0o700)
                (self.base / part).symlink_to(inside / part)
        except BaseException:
            self.close()
            raise
        _open[self.path] = self
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _start_holder(self) -> None:
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise ScratchUnavailable(NO_BWRAP)
        self.mount.mkdir()
        # Root mounts in the host's user namespace, or, where that is not allowed
        # (a container without CAP_SYS_ADMIN), in a user namespace of its own,
        # as a normal user always does.
        if os.geteuid() == 0:
            try:
                self._start_holder_with(bwrap, user_namespace=False)
                return
            except ScratchUnavailable:
                pass
        self._start_holder_with(bwrap, user_namespace=True)

    def _start_holder_with(self, bwrap: str, *, user_namespace: bool) -> None:
        # In a user namespace, the holder is its root: mount(8) refuses to mount
        # a tmpfs for any other uid.
        user = ["--unshare-user", "--uid", "0", "--gid", "0"] if user_namespace else []
        options = f"size={self.ceiling_bytes},nr_inodes={self.max_files},mode=0700"
        script = 'mount -t tmpfs -o "$1" dlcourse-scratch "$2" && echo "$$" && exec sleep infinity'
        # --dev-bind, not --bind (which adds nodev): a sandbox started in this
        # namespace binds its /dev/null, /dev/zero, ... from here.
        holder = subprocess.Popen(
            [bwrap, *user, "--cap-add", "CAP_SYS_ADMIN", "--dev-bind", "/", "/",
             "--die-with-parent", "--", "/bin/sh", "-c", script, "sh", options, str(self.mount)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # The holder prints its pid once the tmpfs is mounted (no pid namespace
        # of its own: that is its pid on the host).
        line = holder.stdout.readline().strip()
        if not line.isdigit():
            holder.kill()
            error = holder.stderr.read().strip()[-300:]
            holder.wait()
            holder.stdout.close()
            holder.stderr.close()
            raise ScratchUnavailable(f"could not mount a {self.ceiling_bytes}-byte tmpfs for a "
                                     f"scratch space: {error or 'the holder exited'}")
        self.holder, self.holder_pid, self.user_namespace = holder, int(line), user_namespace

    def enter(self) -> list[str]:
        """The command prefix that runs a command in the holder's mount namespace."""
        nsenter = shutil.which("nsenter") or "/usr/bin/nsenter"
        user = ["--user", "--preserve-credentials"] if self.user_namespace else []
        return [nsenter, f"--target={self.holder_pid}", "--mount", *user, "--"]

    def binds(self) -> list[str]:
        """bubblewrap arguments that show the scratch space's parts in a sandbox."""
        # jupyter_client names the connection file by its real path, which
        # os.path.realpath makes, on the grader's side, the path in the holder's namespace.
        return ["--bind", str(self.mount / WORK), str(self.path),
                "--bind", str(self.mount / RUNTIME), str(self.runtime),
                "--bind", str(self.mount / RUNTIME), str(self.mount / RUNTIME),
                "--bind", str(self.mount / SHARED_MEMORY), "/dev/shm"]

    def used_bytes(self) -> int:
        """Bytes the scratch space holds now."""
        return shutil.disk_usage(self.path).used

    def is_full(self, margin_bytes: int = 1024 * 1024) -> bool:
        """Whether the scratch space is at its ceiling (within ``margin_bytes``)."""
        return self.used_bytes() >= self.ceiling_bytes - margin_bytes

    def close(self) -> None:
        """End the holder (and with it the tmpfs) and remove the host's folder."""
        if self.base is not None:
            _open.pop(self.path, None)
        if self.holder is not None:
            self.holder.kill()
            self.holder.wait()
            for stream in (self.holder.stdout, self.holder.stderr):
                stream.close()
            self.holder = None
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)


def size_text(size: int) -> str:
    """``size`` bytes as a person reads it: ``64 MiB``, ``2 GiB``."""
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"
