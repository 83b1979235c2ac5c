"""Control groups around one sandbox: its number of processes and its memory in all.

As root, ``RLIMIT_NPROC`` is not enforced (root is exempt), so a ``pids``
cgroup bounds the number of processes; a normal user's sandbox gets
``prlimit --nproc`` instead. Where the grader can also make a memory cgroup
(root, with the memory controller: cgroup v1's ``memory`` hierarchy, or
cgroup v2 with ``memory`` enabled for the groups it makes), the memory of
all the sandbox's processes together is bounded too, its tmpfs scratch space
included (tmpfs pages are charged to the process that writes them). A
normal user gets no memory cgroup: only the per-process ``RLIMIT_DATA``.

The launched command joins the groups before it execs (:meth:`command_prefix`);
:meth:`close` kills what is left in them and removes them.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
#: cgroup v1's hierarchies, then cgroup v2's single one.
PIDS_ROOTS = (CGROUP_ROOT / "pids", CGROUP_ROOT)
MEMORY_ROOTS = (CGROUP_ROOT / "memory", CGROUP_ROOT)


class CgroupUnavailable(RuntimeError):
    """The number of processes cannot be bounded; the message says why."""


def _is_hierarchy(base: Path) -> bool:
    return (base / "cgroup.procs").exists()


def _make_group(base: Path, settings: dict[str, str]) -> Path | None:
    """A new group under ``base`` with ``settings`` written, or None where that fails."""
    group = base / f"dlcourse-{uuid.uuid4().hex[:12]}"
    try:
        group.mkdir()
        for name, value in settings.items():
            (group / name).write_text(value)
        return group
    except OSError:
        if group.exists():
            group.rmdir()
        return None


class ControlGroups:
    """The cgroups of one sandbox, or ``prlimit`` flags where there are none."""

    def __init__(self, processes: int, memory_bytes: int = 0):
        self.processes = processes
        self.memory_bytes = memory_bytes
        self.groups: list[Path] = []
        self.memory_group: Path | None = None
        if os.geteuid() != 0:
            return
        pids = next((g for g in (_make_group(base, {"pids.max": str(processes)})
                                 for base in PIDS_ROOTS if _is_hierarchy(base)) if g), None)
        if pids is None:
            raise CgroupUnavailable(
                "running as root, where RLIMIT_NPROC is not enforced, and no pids cgroup can be "
                "made under /sys/fs/cgroup to bound the number of processes")
        self.groups.append(pids)
        if memory_bytes > 0:
            self._bound_memory(pids)

    def _bound_memory(self, pids: Path) -> None:
        if (pids / "memory.max").exists():  # cgroup v2: the same group holds both
            try:
                (pids / "memory.max").write_text(str(self.memory_bytes))
                self.memory_group = pids
                return
            except OSError:
                pass
        for base in MEMORY_ROOTS:
            if base != pids.parent and _is_hierarchy(base) and (base / "memory.limit_in_bytes"
                                                                  ).exists():
                group = _make_group(base, {"memory.limit_in_bytes": str(self.memory_bytes)})
                if group is not None:
                    try:  # swap too, where swap accounting is on
                        (group / "memory.memsw.limit_in_bytes").write_text(str(self.memory_bytes))
                    except OSError:
                        pass
                    self.groups.append(group)
                    self.memory_group = group
                    return

    def command_prefix(self) -> list[str]:
        """The command prefix that makes the launched command join the groups."""
        if not self.groups:
            return []
        joins = " && ".join(f'echo $$ > "{group / "cgroup.procs"}"' for group in self.groups)
        return ["/bin/sh", "-c", f'{joins} && exec "$@"', "sh"]

    def rlimit_flags(self) -> list[str]:
        """``prlimit`` flags for what no cgroup bounds."""
        return [] if self.groups else [f"--nproc={self.processes}"]

    def out_of_memory(self) -> bool:
        """Whether the kernel's OOM killer killed a process of the memory group."""
        return self.oom_kills() > 0

    def oom_kills(self) -> int:
        """How many processes of the memory group the kernel's OOM killer has killed."""
        if self.memory_group is None:
            return 0
        for name in ("memory.events", "memory.oom_control"):
            try:
                lines = (self.memory_group / name).read_text().splitlines()
            except OSError:
                continue
            for line in lines:
                key, _, value = line.partition(" ")
                if key == "oom_kill" and value.strip().isdigit():
                    return int(value)
        return 0

    def close(self) -> None:
        """Kill whatever is left in the groups and remove them."""
        for group in self.groups:
            _empty_and_remove(group)
        self.groups = []


def _empty_and_remove(group: Path) -> None:
    # Killed processes leave the group only once they have exited, so
    # removing it is retried for a while (a group still in use is EBUSY).
    for _ in range(200):
        try:
            pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
        except OSError:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            group.rmdir()
            return
        except OSError:
            time.sleep(0.05)
