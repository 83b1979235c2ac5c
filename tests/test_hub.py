"""Running a class: the course on JupyterHub with nbgrader's exchange, from release to feedback.

The test starts the course's JupyterHub (``deploy/jupyterhub/``) on a loopback port, with
the proxy from npm, real Unix users (one instructor, two students) logging in through
PAM, and nbgrader's exchange in a folder of its own; people act in Debian's Chromium
through Playwright, and the instructor's command-line steps run as the instructor's Unix
user:

1. the instructor releases quiz 01 (``dlcourse release`` was done by the fixture that
   made the course; ``nbgrader release_assignment``);
2. student A logs in, fetches the quiz in the Assignments tab, answers three items in the
   editor (one by hand-graded free text), saves and submits; the due date passes; student
   B fetches, answers one item and submits, late;
3. the instructor collects, runs ``dlcourse autograde``, grades A's free-text answer in
   the formgrader (in a tab of its own: JupyterHub forbids the formgrader's iframe),
   builds feedback with ``dlcourse feedback`` and releases it with ``nbgrader
   release_feedback``;
4. student A fetches the feedback in the Assignments tab and sees the right score and no
   hidden test; B's stored score carries the late penalty the course's config asks for;
5. the Canvas CSV holds both final scores; student B cannot open A's submission or
   feedback through the hub, the file browser or the exchange's folders.

Screenshots of every step go to ``test-artifacts/hub/``. Creating Unix users needs root:
elsewhere the test is skipped, except under ``CI``, which runs as root and must run it.
"""

from __future__ import annotations

import contextlib
import csv
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nbformat
import pytest

from .chromium import CHROMIUM, CHROMIUM_ARGS, CI
from .test_browser import CELLS, PANEL, save, solution, type_answer

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy" / "jupyterhub"
ARTIFACTS = REPO / "test-artifacts" / "hub"
QUIZ = "quiz01_frameworks"
ENV_BIN = Path(sys.executable).parent
INSTRUCTOR, STUDENT_A, STUDENT_B = "dlct-teacher", "dlct-ann", "dlct-bob"
PASSWORDS = {INSTRUCTOR: "teach-8d1f", STUDENT_A: "ann-51c0", STUDENT_B: "bob-c27e"}
# What the students answer: (answer cell, its test cell or None for free text).
A_ANSWERS = ("mc_dtypes_answer", "jax_static_answer", "ft_tracing")
B_ANSWERS = ("mc_dtypes_answer",)
MANUAL_ITEM, MANUAL_SCORE = "ft_tracing", 2.0
HUB_START_S = 120
#: How long a page may take to show what a step waits for (a busy 2-core machine).
UI_MS = 120_000

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - playwright is in requirements.txt
    if not CI:
        pytest.skip("playwright is not installed", allow_module_level=True)
    raise


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "creating the Unix users of a class needs root (CI runs as root)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if not (DEPLOY / "node_modules" / ".bin" / "configurable-http-proxy").exists():
        return "configurable-http-proxy is missing: run make env (npm ci in deploy/jupyterhub)"
    if not shutil.which("useradd") or not shutil.which("runuser"):
        return "useradd and runuser are needed to create and act as the class's users"
    return None


if _why_not():
    if CI:
        raise RuntimeError(f"CI must run the hub test: {_why_not()}")
    pytest.skip(_why_not(), allow_module_level=True)


def free_port_block() -> int:
    """A port p with p, p+1 and p+2 free (the proxy, its API and the hub)."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port > 65000:
            continue
        try:
            for offset in (1, 2):
                with socket.socket() as other:
                    other.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        return port
    raise RuntimeError("no block of three free ports on loopback")


@dataclass
class Hub:
    url: str
    base: Path
    course: Path
    exchange: Path
    log: Path

    def env(self, user: str) -> dict[str, str]:
        """What a person's shell has: their home, the course's environment, their role's config."""
        role = "instructor" if user == INSTRUCTOR else "student"
        home = pwd.getpwnam(user).pw_dir
        return {"HOME": home, "USER": user, "LOGNAME": user, "LANG": "C.UTF-8",
                "PATH": f"{ENV_BIN}{os.pathsep}/usr/bin:/bin",
                "JUPYTER_CONFIG_PATH": str(DEPLOY / "config" / role),
                "DLCOURSE_EXCHANGE": str(self.exchange),
                "DLCOURSE_COURSE_ROOT": str(self.course)}

    def run_as(self, user: str, *command: str, cwd: Path | None = None,
               check: bool = True) -> subprocess.CompletedProcess:
        """Run a command as ``user`` (runuser), in their home or ``cwd``; keep its output."""
        cwd = cwd or Path(pwd.getpwnam(user).pw_dir)
        done = subprocess.run(["runuser", "-u", user, "--", "env", "-i",
                               *(f"{k}={v}" for k, v in self.env(user).items()), *command],
                              cwd=cwd, capture_output=True, text=True, timeout=1800)
        with (ARTIFACTS / "commands.log").open("a") as log:
            log.write(f"$ [{user}] {' '.join(command)}  -> {done.returncode}\n"
                      f"{done.stdout}{done.stderr}\n")
        if check and done.returncode:
            pytest.fail(f"{' '.join(command)} as {user} failed ({done.returncode}):\n"
                        f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done


@contextlib.contextmanager
def reachable_by_everyone(*paths: Path):
    """Let every user traverse the folders above ``paths`` for the test, then restore them.

    The class's servers run the course's environment as their own users; where its
    interpreter lives in a folder only root may enter (a pyenv Python under /root, as on
    this project's CI machines), the folders on the way get the traverse bit (o+x, no
    listing) while the test runs. A real class installs the environment where everyone
    can reach it (README, "Running a class").
    """
    changed: dict[Path, int] = {}
    for path in paths:
        for folder in [path.resolve(), *path.resolve().parents]:
            mode = folder.stat().st_mode
            if folder.is_dir() and not mode & 0o001 and folder not in changed:
                changed[folder] = mode
                folder.chmod((mode & 0o7777) | 0o001)
    try:
        yield
    finally:
        for folder, mode in changed.items():
            folder.chmod(mode & 0o7777)


def _make_users() -> None:
    hub = [str(ENV_BIN / "python"), str(DEPLOY / "hub.py")]
    for user in PASSWORDS:
        with contextlib.suppress(KeyError):  # left by an interrupted run: start clean
            pwd.getpwnam(user)
            subprocess.run(["userdel", "--remove", user], capture_output=True)
    for user, password in PASSWORDS.items():
        role = "instructor" if user == INSTRUCTOR else "student"
        subprocess.run([*hub, "add-user", user, "--role", role, "--password", password],
                       check=True, capture_output=True)


def _remove_users() -> None:
    for user in PASSWORDS:
        subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
        subprocess.run(["userdel", "--remove", user], capture_output=True)


@pytest.fixture(scope="module")
def artifacts():
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def hub(released_course, artifacts):
    """The course's JupyterHub with a class of three, the course folder the instructor's."""
    # Outside pytest's own temporary folder, which other users cannot enter.
    base = Path(tempfile.mkdtemp(prefix="dlcourse-hub-test-", dir="/var/tmp"))
    base.chmod(0o755)
    state, exchange, course = base / "state", base / "exchange", base / "course"
    subprocess.run([str(ENV_BIN / "python"), str(DEPLOY / "hub.py"), "--state", str(state),
                    "--exchange", str(exchange), "setup"], check=True, capture_output=True)
    _make_users()
    shutil.copytree(released_course, course)
    with (course / "nbgrader_config.py").open("a") as config:
        # The late-submission rule of this class: late work scores zero (nbgrader's 'zero').
        config.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    subprocess.run(["chown", "-R", f"{INSTRUCTOR}:{INSTRUCTOR}", str(course)], check=True)
    course.chmod(0o700)  # keys, gradebook and submissions: the instructor's only

    log_path = artifacts / "jupyterhub.log"
    server = None
    with reachable_by_everyone(Path(sys.executable), DEPLOY), log_path.open("w") as log:
        try:
            server, url = _start_hub(state, exchange, course, log, log_path)
            yield Hub(url=url, base=base, course=course, exchange=exchange, log=log_path)
        finally:
            if server is not None:
                _stop(server)
            _remove_users()
            shutil.rmtree(base, ignore_errors=True)


def _start_hub(state: Path, exchange: Path, course: Path, log, log_path: Path):
    """Start the hub on a free block of ports; another block when one was taken meanwhile."""
    for _ in range(3):
        url = f"http://127.0.0.1:{free_port_block()}"
        server = subprocess.Popen(
            [str(ENV_BIN / "python"), str(DEPLOY / "hub.py"), "--state", str(state),
             "--exchange", str(exchange), "start", "--url", url, "--course", str(course)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + HUB_START_S
        while server.poll() is None:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{url}/hub/api", timeout=5):
                    return server, url
            if time.monotonic() > deadline:
                _stop(server)
                pytest.fail(f"JupyterHub did not answer within {HUB_START_S} s; see {log_path}")
            time.sleep(1)
        if "EADDRINUSE" not in log_path.read_text():
            break
    pytest.fail(f"JupyterHub exited with {server.returncode}; see {log_path}")


def _stop(server: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)  # the hub stops the servers it spawned
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS, timeout=120_000)
        yield browser
        browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=False)


@contextlib.contextmanager
def step(page, name: str):
    """One step of the class; a failure leaves ``FAILED-<name>.png`` and says where."""
    try:
        yield
        shot(page, name)
    except BaseException as exc:
        path = ARTIFACTS / f"FAILED-{name}.png"
        with contextlib.suppress(Exception):
            page.screenshot(path=path)
            exc.add_note(f"screenshot of the failed step: {path}")
        raise


def person(browser, hub: Hub, user: str):
    """A browser context of one person, logged in to the hub through its login form."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(90_000)
    page = context.new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("input#username_input", user)
    page.fill("input#password_input", PASSWORDS[user])
    page.click("#login_submit")
    # The hub starts the person's server and sends them to JupyterLab.
    page.wait_for_url(f"**/user/{user}/lab**", timeout=180_000)
    page.wait_for_selector(".jp-LabShell", timeout=180_000)
    return context, page


def open_assignment_list(page):
    page.locator(".lm-MenuBar-itemLabel:text-is('Nbgrader')").click()
    page.locator(".lm-Menu-itemLabel:text-is('Assignment List')").click()
    panel = page.locator("#nbgrader-assignment-list, .nbgrader-AssignmentList, "
                         "[id*='assignment-list']").first
    expect(page.get_by_text("Released assignments").first).to_be_visible(timeout=UI_MS)
    return panel


def fetched_item(page):
    return page.locator("#fetched_assignments_list .list_item", has_text=QUIZ).first


def fetch(page):
    """Fetch the quiz in the Assignments tab."""
    open_assignment_list(page)
    page.locator("#released_assignments_list .list_item", has_text=QUIZ).get_by_role(
        "button", name="Fetch").click()
    expect(fetched_item(page)).to_be_visible(timeout=UI_MS)


def answer_quiz(page, hub: Hub, user: str, answers: tuple[str, ...]):
    """Open the fetched quiz, type the instructor's answers into ``answers``, save."""
    notebook_path = f"{QUIZ}/{QUIZ}.ipynb"
    page.goto(f"{hub.url}/user/{user}/lab/workspaces/quiz/tree/{notebook_path}")
    page.wait_for_selector(f"{PANEL} .jp-Notebook", timeout=120_000)
    home = Path(pwd.getpwnam(user).pw_dir)
    student = nbformat.read(home / notebook_path, as_version=4)
    source = nbformat.read(hub.course / "source" / QUIZ / f"{QUIZ}.ipynb", as_version=4)
    index = {c.metadata["nbgrader"]["grade_id"]: i for i, c in enumerate(student.cells)
             if "grade_id" in c.metadata.get("nbgrader", {})}
    cells = page.locator(CELLS)
    expect(cells).to_have_count(len(student.cells), timeout=UI_MS)
    for grade_id in answers:
        cell = cells.nth(index[grade_id])
        cell.scroll_into_view_if_needed()
        if student.cells[index[grade_id]].cell_type == "markdown":
            cell.dblclick()  # a rendered markdown cell opens its editor on a double click
        type_answer(page, cell, solution(source, grade_id))
    save(page)


def submit(page):
    open_assignment_list(page)
    fetched_item(page).get_by_role("button", name="Submit").click()
    expect(page.locator("#submitted_assignments_list .list_item", has_text=QUIZ).first
           ).to_be_visible(timeout=UI_MS)


def points_of(grade_ids: tuple[str, ...]) -> float:
    """The points of the autograded items whose answers are in ``grade_ids`` (their tests)."""
    source = nbformat.read(REPO / "source" / QUIZ / f"{QUIZ}.ipynb", as_version=4)
    tests = {"mc_dtypes_answer": ("mc_dtypes",), "jax_static_answer": ("jax_static",)}
    wanted = {t for g in grade_ids for t in tests.get(g, ())}
    return sum(float(c.metadata["nbgrader"]["points"]) for c in source.cells
               if c.metadata.get("nbgrader", {}).get("grade_id") in wanted)


def gradebook_rows(hub: Hub) -> dict[str, tuple[float, float]]:
    """(raw score, late penalty) of each student's submission, read as root from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{hub.course / 'gradebook.db'}") as gradebook:
        return {s.student.id: (float(s.score), float(s.late_submission_penalty or 0.0))
                for s in gradebook.find_assignment(QUIZ).submissions}


def submission_id(hub: Hub, student: str) -> str:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{hub.course / 'gradebook.db'}") as gradebook:
        return gradebook.find_submission_notebook(QUIZ, QUIZ, student).id


def hidden_test_lines() -> list[str]:
    """Every non-trivial line of the quiz's hidden tests, as the source holds them."""
    source = nbformat.read(REPO / "source" / QUIZ / f"{QUIZ}.ipynb", as_version=4)
    lines = []
    for cell in source.cells:
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > 12:
                lines.append(line.strip())
    return lines


def test_a_class_runs_from_release_to_feedback(hub, browser):
    course = hub.course
    teacher_context, teacher = person(browser, hub, INSTRUCTOR)

    with step(teacher, "01-instructor-released"):
        hub.run_as(INSTRUCTOR, "nbgrader", "release_assignment", QUIZ, cwd=course)
        teacher.goto(f"{hub.url}/user/{INSTRUCTOR}/formgrader/manage_assignments")
        row = teacher.locator("table tr", has_text=QUIZ).first
        expect(row).to_be_visible(timeout=UI_MS)
        expect(row).to_contain_text("released", timeout=UI_MS)

    ann_context, ann = person(browser, hub, STUDENT_A)
    with step(ann, "02-ann-fetched"):
        fetch(ann)
    with step(ann, "03-ann-answered"):
        answer_quiz(ann, hub, STUDENT_A, A_ANSWERS)
    with step(ann, "04-ann-submitted"):
        submit(ann)

    # The due date passes between the two submissions: Ann is on time, Bob is late.
    due = datetime.now(UTC) + timedelta(seconds=2)
    hub.run_as(INSTRUCTOR, "nbgrader", "db", "assignment", "add", QUIZ,
               f"--duedate={due.strftime('%Y-%m-%d %H:%M:%S')} UTC", cwd=course)
    time.sleep(3)
    bob_context, bob = person(browser, hub, STUDENT_B)
    with step(bob, "05-bob-fetched"):
        fetch(bob)
    with step(bob, "06-bob-answered"):
        answer_quiz(bob, hub, STUDENT_B, B_ANSWERS)
    with step(bob, "07-bob-submitted-late"):
        submit(bob)

    with step(teacher, "08-instructor-collected-and-autograded"):
        hub.run_as(INSTRUCTOR, "nbgrader", "collect", QUIZ, cwd=course)
        for student in (STUDENT_A, STUDENT_B):
            assert (course / "submitted" / student / QUIZ / f"{QUIZ}.ipynb").is_file()
        hub.run_as(INSTRUCTOR, "dlcourse", "autograde", QUIZ, "--workers", "2", cwd=course)
        teacher.goto(f"{hub.url}/user/{INSTRUCTOR}/formgrader/gradebook/{QUIZ}/{QUIZ}")
        for student in (STUDENT_A, STUDENT_B):  # both submissions, autograded
            expect(teacher.locator("a.name-shown", has_text=student)).to_have_count(
                1, timeout=UI_MS)

    with step(teacher, "09-instructor-graded-by-hand"):
        teacher.goto(f"{hub.url}/user/{INSTRUCTOR}/formgrader/submissions/"
                     f"{submission_id(hub, STUDENT_A)}/?index=0")
        score = teacher.locator(f"input.score#{MANUAL_ITEM}")
        score.scroll_into_view_if_needed()
        score.fill(f"{MANUAL_SCORE:g}")
        score.press("Tab")  # the formgrader saves a score when its field loses focus
        deadline = time.monotonic() + 30
        while gradebook_rows(hub)[STUDENT_A][0] < points_of(A_ANSWERS) + MANUAL_SCORE:
            assert time.monotonic() < deadline, "the formgrader did not save the manual score"
            time.sleep(1)

    with step(teacher, "10-instructor-released-feedback"):
        hub.run_as(INSTRUCTOR, "dlcourse", "feedback", QUIZ, cwd=course)
        hub.run_as(INSTRUCTOR, "nbgrader", "release_feedback", QUIZ, cwd=course)

    expected_ann = points_of(A_ANSWERS) + MANUAL_SCORE
    with step(ann, "11-ann-fetched-feedback"):
        open_assignment_list(ann)
        ann.locator("#refresh_assignments_list").click()
        submitted = ann.locator("#submitted_assignments_list .list_item", has_text=QUIZ).first
        expect(submitted).to_contain_text("feedback available to fetch", timeout=UI_MS)
        submitted.get_by_role("button", name="Fetch Feedback").click()
        folder = Path(pwd.getpwnam(STUDENT_A).pw_dir) / QUIZ / "feedback"
        deadline = time.monotonic() + 60
        while not list(folder.glob(f"*/{QUIZ}.html")):
            assert time.monotonic() < deadline, "no feedback arrived in Ann's quiz folder"
            time.sleep(1)
        page_file = next(folder.glob(f"*/{QUIZ}.html"))
        relative = page_file.relative_to(Path(pwd.getpwnam(STUDENT_A).pw_dir))
        ann.goto(f"{hub.url}/user/{STUDENT_A}/files/{relative.as_posix()}")
        text = ann.locator("body").inner_text()
        assert f"{expected_ann:g} of" in text, text[:500]
        shown = page_file.read_text()
        leaked = [line for line in hidden_test_lines() if line in shown]
        assert not leaked and "HIDDEN TESTS" not in shown, leaked[:3]

    rows = gradebook_rows(hub)
    assert rows[STUDENT_A] == (expected_ann, 0.0)
    bob_raw, bob_penalty = rows[STUDENT_B]
    assert bob_raw == points_of(B_ANSWERS) > 0
    assert bob_penalty == bob_raw  # 'zero': late work scores nothing

    with step(teacher, "12-instructor-exported-grades"):
        hub.run_as(INSTRUCTOR, "nbgrader", "export", "--exporter",
                   "dlcourse.grading.store.canvas.CanvasExportPlugin", "--to", "canvas.csv",
                   cwd=course)
        with (course / "canvas.csv").open(newline="") as handle:
            table = {row[2]: row for row in csv.reader(handle)}
        assert float(table[STUDENT_A][-1]) == expected_ann
        assert float(table[STUDENT_B][-1]) == 0.0
        shutil.copy(course / "canvas.csv", ARTIFACTS / "canvas.csv")

    with step(bob, "13-bob-cannot-reach-ann"):
        # Through the hub: Ann's server is Ann's.
        response = bob.goto(f"{hub.url}/user/{STUDENT_A}/lab")
        assert response.status in (403, 404) or "/user/" + STUDENT_B in bob.url, bob.url
        # Through the file browser's API: nothing above Bob's home folder.
        outside = bob.request.get(f"{hub.url}/user/{STUDENT_B}/api/contents/..%2F{STUDENT_A}")
        assert outside.status in (400, 403, 404), outside.status
        # Through the exchange: the inbound and feedback folders cannot be listed, and
        # Ann's home (where her submission's secret lives) cannot be entered.
        for folder in (hub.exchange / "dlcourse" / "inbound",
                       hub.exchange / "dlcourse" / "feedback",
                       Path(pwd.getpwnam(STUDENT_A).pw_dir), course):
            listing = hub.run_as(STUDENT_B, "ls", str(folder), check=False)
            assert listing.returncode != 0 and "Permission denied" in listing.stderr, folder
        ann_secret = next((course / "submitted" / STUDENT_A / QUIZ).glob("submission_secret.txt"))
        read = hub.run_as(STUDENT_B, "cat", str(ann_secret), check=False)
        assert read.returncode != 0

    for context in (teacher_context, ann_context, bob_context):
        context.close()
