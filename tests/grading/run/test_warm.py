"""Warm workers: each submission's kernel is forked from a worker's warm process
(run/warm.py), and still starts clean.

An attacker's submission patches a framework function, sets a global, plants a module
in ``sys.modules``, starts a thread, leaves a process running, writes files in the
working folder, its home, its temporary folder and ``/dev/shm``, makes System V shared
memory, sets an environment variable, goes past the per-process data limit, stops the
warm process, and last uses all the memory its sandbox may use together. A checker's
submission, graded next by the same worker (the same warm process: both kernels'
parent started at the same instant), looks for each of those and finds none. On one
machine (``autograde --workers 1``) and on a Dask worker.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from dlcourse.grading.autograde import autograde

from ...conftest import copy_course
from ..test_autograde import write_submission
from ..test_grading import RIGHT
from .test_dask import Cluster

pytestmark = pytest.mark.skipif(
    not os.environ.get("CI") and not shutil.which("bwrap"),
    reason="bubblewrap is not installed (CI installs it)")

MiB = 1024**2
#: The memory all processes of one sandbox may use together, in this test's course.
TOTAL_MEMORY = 768 * MiB

LEFT_FILES = '("left_by_attacker.txt", os.path.expanduser("~/left_by_attacker"), ' \
             '"/dev/shm/left_by_attacker", os.path.join(os.environ["TMPDIR"], "left_by_attacker"))'
SHM_KEY = 0x5EED

PARENT_STARTED = ('open(f"/proc/{os.getppid()}/stat").read().rsplit(")", 1)[1].split()[19]')

ATTACK = f'''
import builtins, ctypes, os, signal, subprocess, sys, threading, time, types
import numpy as np
np.add = lambda *args, **kwargs: "patched"
np.linalg.norm = lambda *args, **kwargs: -1.0
builtins.LEFT_BY_ATTACKER = True
sys.modules["planted_by_attacker"] = types.ModuleType("planted_by_attacker")
threading.Thread(target=time.sleep, args=(3600,), name="attacker-thread", daemon=True).start()
subprocess.Popen(["sleep", "3600"], start_new_session=True)
for path in {LEFT_FILES}:
    with open(path, "w") as left:
        left.write("x")
assert ctypes.CDLL(None).shmget({SHM_KEY}, 4096, 0o1600) >= 0
os.environ["LEFT_BY_ATTACKER"] = "1"
try:
    bytearray(64 * 1024**3)
except MemoryError:
    print("PAST THE DATA LIMIT: MemoryError")
print("WARM PROCESS STARTED", {PARENT_STARTED})
os.kill(os.getppid(), signal.SIGSTOP)
answer_letter = "b"
'''

#: Last: hold ever more memory, touched, until the sandbox's processes are out of it.
EXHAUST = '''
import numpy as np
blocks = []
while True:
    blocks.append(np.ones(16 * 1024**2 // 8))
'''

CHECK = f'''
import builtins, json, os, sys, threading
import numpy as np
processes = [open(f"/proc/{{p}}/cmdline").read().replace("\\0", " ")
             for p in os.listdir("/proc") if p.isdigit()]
found = {{
    "patched": bool(np.add(1, 2) != 3 or np.linalg.norm(np.array([3.0, 4.0])) != 5.0),
    "global": hasattr(builtins, "LEFT_BY_ATTACKER"),
    "module": "planted_by_attacker" in sys.modules,
    "thread": [t.name for t in threading.enumerate() if t.name == "attacker-thread"],
    "process": [p for p in processes if p.startswith("sleep")],
    "files": [p for p in {LEFT_FILES} if os.path.exists(p)],
    "working folder": sorted(os.listdir(".")),
    "shared memory": [line.split()[0] for line in open("/proc/sysvipc/shm").readlines()[1:]],
    "environment": "LEFT_BY_ATTACKER" in os.environ,
}}
big = np.ones(256 * 1024**2 // 8)  # memory is there to be had again
print("FINDINGS " + json.dumps(found))
print("WARM PROCESS STARTED", {PARENT_STARTED})
answer_letter = "b"
'''


def course_with_pair(tiny_course: Path, target: Path) -> Path:
    root = copy_course(tiny_course, target)
    shutil.copytree(tiny_course / "keys", root / "keys")
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.Grading.total_memory_bytes = {TOTAL_MEMORY}\n")
    write_submission(root, "attacker", {**RIGHT, "letter_answer": ATTACK,
                                        "weights_answer": RIGHT["weights_answer"] + EXHAUST})
    write_submission(root, "checker", {**RIGHT, "letter_answer": CHECK})
    return root


def printed(root: Path, student: str, marker: str) -> str:
    notebook = nbformat.read(root / "autograded" / student / "quiz_tiny" / "quiz_tiny.ipynb",
                             as_version=4)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            for line in str(output.get("text", "")).splitlines():
                if line.startswith(marker):
                    return line[len(marker):].strip()
    raise AssertionError(f"{student}'s graded notebook never printed {marker!r}")


def assert_clean(root: Path, results: dict) -> None:
    findings = json.loads(printed(root, "checker", "FINDINGS"))
    assert findings == {"patched": False, "global": False, "module": False, "thread": [],
                        "process": [], "files": [], "shared memory": [], "environment": False,
                        "working folder": sorted(findings["working folder"])}
    assert "left_by_attacker.txt" not in findings["working folder"]
    assert set(findings["working folder"]) <= {".home", "quiz_tiny.ipynb", "weights.npy",
                                               "tiny_data.npz"} | set(
        os.listdir(root / "source" / "quiz_tiny"))
    # the same warm process forked both kernels: it survived the attack
    assert printed(root, "attacker", "WARM PROCESS STARTED") == printed(
        root, "checker", "WARM PROCESS STARTED")
    assert printed(root, "attacker", "PAST THE DATA LIMIT:") == "MemoryError"
    checker = results["checker"].to_json()["items"]
    assert {item["status"] for item in checker} <= {"passed", "manual"}, checker
    attacker = {item["grade_id"]: item for item in results["attacker"].to_json()["items"]}
    assert attacker["letter"]["status"] == "passed"
    if os.geteuid() == 0:  # a memory cgroup bounds the sandbox: the kernel, not the warm
        # process, was killed when they ran out (the next kernel came from the same one)
        assert "used all the" in json.dumps(attacker), attacker


def test_a_submission_finds_nothing_of_the_one_before_on_the_same_worker(tiny_course, tmp_path):
    root = course_with_pair(tiny_course, tmp_path / "course")
    results = autograde("quiz_tiny", workers=1, root=root, progress=False)
    assert_clean(root, results)


def test_the_same_holds_on_a_dask_worker(tiny_course, tmp_path):
    root = course_with_pair(tiny_course, tmp_path / "course")
    folder = tmp_path / "cluster"
    folder.mkdir()
    cluster = Cluster(folder)
    try:
        cluster.start(workers=1)
        with cluster.client():
            pass
        results = autograde("quiz_tiny", students=["attacker"], root=root, progress=False,
                            scheduler=str(cluster.scheduler_file))
        results |= autograde("quiz_tiny", students=["checker"], root=root, progress=False,
                             scheduler=str(cluster.scheduler_file))
    finally:
        cluster.stop()
    assert_clean(root, results)


#: What a kernel sees of its process; it imports what the warm process imported, as
#: a quiz's set-up does (numpy's import adds warning filters, say).
PROBE = '''
import json, os, signal, sys, warnings
import numpy
print("PROBE " + json.dumps({
    "cwd": os.getcwd() == os.environ["HOME"].rsplit("/", 1)[0],
    "path": [p.replace(os.getcwd(), "<cwd>") for p in sys.path],
    "argv": [a.rsplit("/", 1)[-1] for a in sys.argv],
    "environment": sorted(os.environ),
    "signals": {name: str(signal.getsignal(getattr(signal, name)))
                for name in ("SIGINT", "SIGCHLD", "SIGTERM", "SIGPIPE")},
    "warning filters": sorted(str(f[:3]) + str(f[4]) for f in warnings.filters),
    "dumpable": open("/proc/self/status").read().count("\\n"),
    "main": type(sys.modules["__main__"]).__name__,
}))
'''


def probe(limits, warm_sandbox=None) -> dict:
    from dlcourse.grading.run import execute, sandbox

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
    if warm_sandbox is None:
        with sandbox.scratch_folder(limits.sandbox) as folder:
            execute.run(notebook, workdir=folder, limits=limits,
                        environment=execute.grading_environment("autograde"))
    else:
        with warm_sandbox.session() as folder:
            execute.run(notebook, workdir=folder, limits=limits, warm=warm_sandbox,
                        environment=execute.grading_environment("autograde"))
    text = "".join(o.get("text", "") for o in notebook.cells[0].outputs)
    assert "PROBE" in text, notebook.cells[0].outputs
    return json.loads(text.split("PROBE", 1)[1])


def test_a_forked_kernel_looks_like_a_cold_one_and_a_killed_warm_process_is_replaced():
    from dlcourse.grading.run import execute, warm

    limits = execute.Limits()
    cold = probe(limits)
    with warm.borrowed(limits.sandbox, modules=("numpy",), dlcourse_modules=None,
                       startup_timeout=limits.startup_timeout) as first:
        assert probe(limits, first) == cold
        os.kill(first.zygote_pid, 9)  # as a kernel could: the next submission gets a new one
    with warm.borrowed(limits.sandbox, modules=("numpy",), dlcourse_modules=None,
                       startup_timeout=limits.startup_timeout) as second:
        assert second is not first and second.alive
        assert probe(limits, second) == cold
    warm.close_all()
