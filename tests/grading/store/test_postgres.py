"""dlcourse autograde into a real PostgreSQL gradebook, with several workers.

The test starts its own server (Debian's ``postgresql``, installed by the
set-up) in a temporary folder, listening on a Unix socket only, and stops it
afterwards. As root it runs the server as the ``postgres`` user, which
PostgreSQL requires.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from dlcourse.grading.autograde import autograde
from dlcourse.grading.store.gradebook import scores

from ...conftest import copy_course
from ..test_autograde import write_submission
from ..test_grading import RIGHT


def server_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


BIN = server_binaries()
pytestmark = pytest.mark.skipif(
    BIN is None and not os.environ.get("CI"),
    reason="PostgreSQL server not installed (apt-get install postgresql; CI installs it)")


def as_server_user(*command: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


@pytest.fixture(scope="module")
def postgres():
    assert BIN is not None, "PostgreSQL server binaries not found under /usr/lib/postgresql"
    # not under pytest's temporary tree, which only root may enter
    home = Path(tempfile.mkdtemp(prefix="dlcourse-postgres-"))
    data, sockets = home / "data", home / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
        shutil.chown(sockets, "postgres")
    run = lambda *c: subprocess.run(as_server_user(*c), check=True, capture_output=True,  # noqa
                                    text=True, timeout=120)
    run(str(BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync")
    run(str(BIN / "pg_ctl"), "-D", str(data), "-w", "-l", str(home / "log"), "-o",
        f"-k {sockets} -c listen_addresses='' -c fsync=off", "start")
    try:
        run(str(BIN / "createdb"), "-h", str(sockets), "-U", "postgres", "gradebook")
        yield f"postgresql+psycopg2://postgres@/gradebook?host={sockets}"
    finally:
        run(str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(home, ignore_errors=True)


def test_autograde_with_workers_into_postgresql(postgres, tiny_course, tmp_path):
    root = copy_course(tiny_course, tmp_path / "course")
    shutil.copytree(tiny_course / "keys", root / "keys")
    with (root / "nbgrader_config.py").open("a") as config:
        config.write(f"\nc.CourseDirectory.db_url = {postgres!r}\n")
    expected = {"ann": 5.0, "ben": 4.0, "cat": 0.0, "dan": 5.0}
    write_submission(root, "ann", RIGHT)
    write_submission(root, "ben", {**RIGHT, "letter_answer": 'answer_letter = "a"'})
    write_submission(root, "cat", {})
    write_submission(root, "dan", RIGHT)
    results = autograde("quiz_tiny", workers=3, root=root, progress=False)
    assert {s: r.score for s, r in results.items()} == expected
    assert {row.student: row.score for row in scores(root)} == expected
    assert not (root / "gradebook.db").exists()  # everything went to PostgreSQL
    done = subprocess.run([sys.executable, "-m", "dlcourse", "scores", "--csv"], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "ben,quiz_tiny,4,6,true" in done.stdout
