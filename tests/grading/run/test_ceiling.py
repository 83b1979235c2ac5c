"""What one submission can take from the grading host has a ceiling (issue 14).

A submission writes far past its scratch space's ceiling in many files, each
under the per-file limit (the attack that once put 5.9 GiB on the host from
one notebook): the host's disk never gets the bytes, the items that needed
them say why they failed, and the batch goes on. The ceiling is set small
through the course's configuration, as an instructor would set it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from dlcourse.grading.autograde import autograde
from dlcourse.grading.run import sandbox
from dlcourse.grading.run.scratch import Scratch

from ...conftest import copy_course
from ..test_autograde import write_submission
from ..test_grading import RIGHT

pytestmark = pytest.mark.skipif(
    not os.environ.get("CI") and not shutil.which("bwrap"),
    reason="bubblewrap is not installed (CI installs it)")

MiB = 1024**2
CEILING = 64 * MiB
PER_FILE = 16 * MiB
FILES, FILE_SIZE = 20, 15 * MiB  # 300 MiB in all, every file under the per-file limit

#: The attacker's answer to the first item: fill the scratch folder, then answer.
FILLS_THE_DISK = f"""
for i in range({FILES}):
    with open(f"fill-{{i}}.bin", "wb") as out:
        for _ in range({FILE_SIZE // MiB}):
            out.write(b"x" * {MiB})
answer_letter = "b"
"""


def host_bytes(folder: Path) -> int:
    """Bytes in regular files under ``folder`` on the host (links not followed)."""
    total = 0
    for parent, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(parent, name)).st_size
            except OSError:  # removed while we looked
                pass
    return total


class DiskWatch:
    """The most bytes each watched folder gained over its start, while it ran.

    The folders are every place on the host that grading writes to (the grader's
    temporary folder, where each submission's scratch space is reached, and the course,
    where results are stored). Their sizes are measured, not the disk's free space,
    which any other process on the machine changes (a second grading run beside this
    one made that check fail).
    """

    def __init__(self, *folders: Path):
        self.start = {folder: host_bytes(folder) for folder in folders}
        self.most_gained = dict.fromkeys(folders, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            for folder, start in self.start.items():
                gained = host_bytes(folder) - start
                self.most_gained[folder] = max(self.most_gained[folder], gained)
            time.sleep(0.02)

    def __enter__(self) -> DiskWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def capped_course(tiny_course, tmp_path, monkeypatch):
    """The tiny course with a 64 MiB scratch ceiling, and the grader's temporary folders
    in a folder of the test's own."""
    root = copy_course(tiny_course, tmp_path / "course")
    shutil.copytree(tiny_course / "keys", root / "keys")
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f"c.Grading.scratch_bytes = {CEILING}\n"
                     f"c.Grading.max_file_bytes = {PER_FILE}\n")
    # short: the kernel's IPC sockets are named under it
    grading_tmp = Path(tempfile.mkdtemp(prefix="dlcourse-ceiling-", dir="/tmp"))
    monkeypatch.setenv("TMPDIR", str(grading_tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)
    yield root, grading_tmp
    shutil.rmtree(grading_tmp, ignore_errors=True)


def test_a_submission_cannot_write_past_its_ceiling_and_the_batch_goes_on(capped_course):
    root, grading_tmp = capped_course
    write_submission(root, "disk_filler", {**RIGHT, "letter_answer": FILLS_THE_DISK})
    write_submission(root, "honest", RIGHT)
    with DiskWatch(grading_tmp, root) as watch:
        results = autograde("quiz_tiny", workers=2, root=root, progress=False)

    # no place the grader writes on the host ever held what the attacker wrote (a few
    # MiB of results and notebooks at most), and nothing is left behind
    assert watch.most_gained[grading_tmp] < 8 * MiB, watch.most_gained
    assert watch.most_gained[root] < 8 * MiB, watch.most_gained
    assert list(grading_tmp.iterdir()) == []
    # the honest submission, graded beside it, scores full marks
    assert results["honest"].score == 5
    assert {i.grade_id: i.status for i in results["honest"].items}["letter"] == "passed"
    # the attacker's cell stopped at the ceiling, and the item says so in its terms
    items = {item.grade_id: item for item in results["disk_filler"].items}
    assert items["letter"].status == "error"
    assert "No space left on device" in items["letter"].message
    assert "64 MiB" in items["letter"].message
    # what needs no disk still passes; the export, written to a full disk, does not
    assert items["scaled_sum"].status == "passed"
    assert items["weights"].score == 0
    assert "scratch space it was written to is full" in items["weights"].message
    assert results["disk_filler"].score == 2


def test_the_scratch_space_is_bounded_and_reachable_by_the_grader(monkeypatch):
    # short: the kernel's IPC sockets are named under it
    parent = Path(tempfile.mkdtemp(prefix="dlcourse-scratch-test-", dir="/tmp"))
    monkeypatch.setenv("TMPDIR", str(parent))
    monkeypatch.setattr(tempfile, "tempdir", None)
    limits = sandbox.SandboxLimits(processes=16, scratch_bytes=8 * MiB, scratch_files=64)
    with sandbox.scratch_folder(limits) as folder:
        (folder / "given.txt").write_text("copied in by the grader")
        with sandbox.Sandbox(limits, workdir=folder) as box:
            script = (
                "import os\n"
                "print(open('given.txt').read())\n"
                "open('exported.txt', 'w').write('for the grader')\n"
                "for target in ('/made-at-root', '/dev/made-in-dev'):\n"
                "    try:\n"
                "        open(target, 'w').write('x')\n"
                "        print('wrote', target)\n"
                "    except OSError as error:\n"
                "        print('refused', target, error.errno)\n"
                "open('/dev/shm/shared', 'wb').write(b'y' * 1024)\n"
                "try:\n"
                "    open('big', 'wb').write(b'z' * (16 * 1024 * 1024))\n"
                "except OSError as error:\n"
                "    print('big', error.strerror)\n"
                "made = 0\n"
                "try:\n"
                "    for i in range(1000):\n"
                "        os.mkdir(f'd{i}')\n"
                "        made += 1\n"
                "except OSError as error:\n"
                "    print('folders', made, error.strerror)\n")
            done = subprocess.run(box.command([sys.executable, "-c", script],
                                              env=box.environment()),
                                  capture_output=True, text=True, timeout=60)
        assert "copied in by the grader" in done.stdout, done.stderr
        assert "refused /made-at-root 30" in done.stdout  # EROFS
        assert "refused /dev/made-in-dev 30" in done.stdout
        assert "big No space left on device" in done.stdout
        folders = next(line for line in done.stdout.splitlines() if line.startswith("folders"))
        assert int(folders.split()[1]) < 64 and "No space left on device" in folders
        # the grader reads what the sandbox wrote, after its processes have ended
        assert (folder / "exported.txt").read_text() == "for the grader"
        scratch = Scratch.holding(folder)
        assert scratch.is_full() or scratch.used_bytes() > 7 * MiB
        assert host_bytes(parent) < MiB  # on the host: links and empty folders only
    assert list(parent.iterdir()) == []
    assert Scratch.holding(folder) is None
    parent.rmdir()


def test_the_memory_of_all_processes_together_is_bounded_where_a_memory_cgroup_can_be_made():
    limits = sandbox.SandboxLimits(processes=16, scratch_bytes=8 * MiB,
                                   total_memory_bytes=256 * MiB)
    # three processes of 120 MiB each, every one far under the per-process data limit
    script = (
        "import multiprocessing, time\n"
        "def hold():\n"
        "    block = bytearray(120 * 1024 * 1024)\n"
        "    block[::4096] = b'x' * len(block[::4096])\n"
        "    time.sleep(5)\n"
        "children = [multiprocessing.Process(target=hold) for _ in range(3)]\n"
        "[child.start() for child in children]\n"
        "[child.join() for child in children]\n"
        "print('exit codes', [child.exitcode for child in children])\n")
    with sandbox.Sandbox(limits) as box:
        if box.groups.memory_group is None:
            pytest.skip("no memory cgroup can be made here (it needs root and the memory "
                        "controller)")
        done = subprocess.run(box.command([sys.executable, "-c", script], env=box.environment()),
                              capture_output=True, text=True, timeout=60)
        assert box.out_of_memory(), done.stdout + done.stderr
    assert "exit codes" in done.stdout and "-9" in done.stdout, done.stdout + done.stderr
