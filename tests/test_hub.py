"""Running a class: the course on JupyterHub, set up as README "Running a class" says.

The README's commands, in its order, as root: the repository where only root can enter
(the README clones it into /root; here a copy of this checkout, its environment
included, in a folder of mode 0700 that stands in for /root), ``hub.py setup`` (where
the environment's Python lives in a private folder, as this project's pyenv under
/root, setup copies it for everyone and says so), ``hub.py add-user`` for two
instructors and two students, and ``hub.py start`` (what ``make hub`` runs) on loopback
ports, with the
proxy from npm, real Unix users logging in through PAM and every folder of the class
under one temporary folder. Nothing else touches a permission. Then the class, in
Debian's Chromium through Playwright, with the instructors' command-line steps run as
the course's account in the environment its terminal has:

1. an instructor opens the course (the service ``dlcourse``), whose terminal starts in
   the course folder with ``dlcourse`` and ``nbgrader`` on PATH; the course sets its
   late rule ('zero'), ``dlcourse release``, a due date, ``nbgrader release_assignment``;
2. student A logs in, fetches the quiz (the due date beside it), answers every
   autograded item and a free-text one, Validate says the notebook passes (TensorFlow's
   stderr decides nothing), and submits; the due date is moved to the past;
3. student B runs lesson 01's first cells in ``~/lessons`` (the course package imports
   in a student's server), fetches the quiz and runs its set-up cell, which shows him his
   own variant (issue 26), answers one item, pastes in A's answers to Part D (right for
   her numbers, not his) and submits, late;
4. ``nbgrader collect``, ``dlcourse autograde``; the *second* instructor grades A's
   free text in the formgrader with a comment; ``dlcourse feedback``, ``nbgrader
   release_feedback``, ``dlcourse scores --csv > scores.csv`` and the Canvas export;
5. A fetches her feedback: her score, her own answers and the comment, no hidden test.
   Her Part D, computed in her server from her variant, scores full marks under her id;
   B's copy of it scores 0, saying it was checked against his variant.

Then, one test each, what student B cannot read: scores.csv, canvas.csv, the gradebook,
A's submitted/, autograded/ and feedback/ folders, keys/, source/, A's submission in
the exchange, the repository; and what the hub refuses him.

Screenshots of every step go to ``test-artifacts/hub/``. Creating Unix users needs root:
elsewhere the test is skipped, except under ``CI``, which runs as root and must run it.
Users, groups and folders the test creates are removed at the end.
"""

from __future__ import annotations

import configparser
import contextlib
import csv
import grp
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nbformat
import pytest

from .chromium import CHROMIUM, CHROMIUM_ARGS, CI
from .test_browser import CELLS, PANEL, run_cell, save, solution, type_answer

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy" / "jupyterhub"
ARTIFACTS = REPO / "test-artifacts" / "hub"
QUIZ = "quiz01_frameworks"
LESSON = "01_frameworks.ipynb"
INSTRUCTOR, SECOND_INSTRUCTOR = "dlct-teach", "dlct-tina"
STUDENT_A, STUDENT_B = "dlct-ann", "dlct-bob"
ROLES = {INSTRUCTOR: "instructor", SECOND_INSTRUCTOR: "instructor",
         STUDENT_A: "student", STUDENT_B: "student"}
PASSWORDS = {INSTRUCTOR: "teach-8d1f", SECOND_INSTRUCTOR: "tina-3e90",
             STUDENT_A: "ann-51c0", STUDENT_B: "bob-c27e"}
B_ANSWERS = ("mc_dtypes_answer",)
#: Part D of quiz 01, whose numbers differ by student: Bob pastes in Ann's answers to it,
#: right for her variant and wrong for his (issue 26).
COPIED_FROM_A = ("broadcast_shape_answer", "min_log_prob_answer", "slope_answer")
MANUAL_ITEM, MANUAL_SCORE = "ft_tracing", 2.0
COMMENT = "Good: tracing runs the Python body once per signature; say what that means for print."
HUB_START_S = 180
#: How long a page may take to show what a step waits for (a busy 2-core machine).
UI_MS = 120_000
#: Validate runs the whole quiz (torch, TensorFlow, JAX, Keras) in the student's kernel.
VALIDATE_MS = 600_000

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


def _load_hub_module():
    spec = importlib.util.spec_from_file_location("dlcourse_hub_setup", DEPLOY / "hub.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hubpy = _load_hub_module()


def free_port_block() -> int:
    """A port p with p to p+3 free (the proxy, its API, the hub, the course's service)."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port > 65000:
            continue
        try:
            for offset in (1, 2, 3):
                with socket.socket() as other:
                    other.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        return port
    raise RuntimeError("no block of four free ports on loopback")


@dataclass
class Hub:
    url: str
    base: Path
    repository: Path
    course: Path
    share: Path
    exchange: Path
    log: Path
    record: dict = field(default_factory=dict)

    def env(self, user: str) -> dict[str, str]:
        """What the user's terminal on the hub has (the grader's: the course's service)."""
        kind = "grader" if user == hubpy.GRADER else "student"
        home = pwd.getpwnam(user).pw_dir
        return {"HOME": home, "USER": user, "LOGNAME": user, "LANG": "C.UTF-8",
                **hubpy.server_environment(kind, share=self.share, exchange=self.exchange,
                                           course=self.course)}

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

    def course_command(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        """What an instructor types in the course's terminal (as the course's account)."""
        return self.run_as(hubpy.GRADER, *command, cwd=self.course, check=check)


def _copy_checkout(target: Path) -> None:
    """``git clone`` and ``make env``, as far as a test can: this checkout's files (tracked
    and new, hard-linked), its proxy from npm, and its environment (a link to it)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=REPO, capture_output=True,
                            check=True).stdout.decode().split("\0")
    node_modules = DEPLOY / "node_modules"
    files = [REPO / name for name in listed if name] + [
        Path(folder) / name for folder, _, names in os.walk(node_modules) for name in names]
    same_disk = REPO.stat().st_dev == target.parent.stat().st_dev
    for path in files:
        if not path.exists() and not path.is_symlink():
            continue  # deleted in the working tree
        copy = target / path.relative_to(REPO)
        copy.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            copy.symlink_to(os.readlink(path))
        elif same_disk:
            os.link(path, copy)
        else:
            shutil.copy2(path, copy)
    (target / ".venv").symlink_to(REPO / ".venv")


def _accounts_before() -> tuple[set[str], set[str]]:
    users, groups = set(), set()
    with contextlib.suppress(KeyError):
        pwd.getpwnam(hubpy.GRADER)
        users.add(hubpy.GRADER)
    for group in [*hubpy.GROUPS.values(), hubpy.GRADER]:
        with contextlib.suppress(KeyError):
            grp.getgrnam(group)
            groups.add(group)
    return users, groups


def _remove_accounts(users_before: set[str], groups_before: set[str]) -> None:
    for user in [*PASSWORDS, *([] if hubpy.GRADER in users_before else [hubpy.GRADER])]:
        subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
    time.sleep(1)
    for user in PASSWORDS:
        subprocess.run(["userdel", "--remove", user], capture_output=True)
    if hubpy.GRADER not in users_before:
        subprocess.run(["userdel", "--remove", hubpy.GRADER], capture_output=True)
    for group in [*hubpy.GROUPS.values(), hubpy.GRADER]:
        if group not in groups_before:
            subprocess.run(["groupdel", group], capture_output=True)


def _hub_command(repository: Path, *arguments: str) -> list[str]:
    """``.venv/bin/python deploy/jupyterhub/hub.py ...`` of the README, in the repository."""
    return [str(repository / ".venv" / "bin" / "python"),
            str(repository / "deploy" / "jupyterhub" / "hub.py"), *arguments]


def _setup(repository: Path, folders: list[str], log: Path) -> None:
    """``hub.py setup``, as the README runs it."""
    done = subprocess.run(_hub_command(repository, "setup", *folders), cwd=repository,
                          capture_output=True, text=True, timeout=1800)
    log.write_text(f"{done.stdout}{done.stderr}")
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def artifacts():
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def hub(artifacts):
    """The course's JupyterHub, set up by the README's commands, with a class of four."""
    # Outside pytest's own temporary folder, which other users cannot enter.
    base = Path(tempfile.mkdtemp(prefix="dlcourse-hub-test-", dir="/var/tmp"))
    base.chmod(0o755)
    private = base / "root"  # stands in for /root, where the README clones the repository
    private.mkdir(mode=0o700)
    repository = private / "dlcourse"
    state, exchange = base / "srv" / "dlcourse-hub", base / "srv" / "nbgrader" / "exchange"
    course, share = base / "srv" / "dlcourse", base / "opt" / "dlcourse"
    folders = ["--state", str(state), "--exchange", str(exchange), "--course", str(course),
               "--share", str(share)]
    users_before, groups_before = _accounts_before()
    log_path = artifacts / "jupyterhub.log"
    server = None
    try:
        _copy_checkout(repository)
        for user in PASSWORDS:  # left by an interrupted run: start clean
            with contextlib.suppress(KeyError):
                pwd.getpwnam(user)
                subprocess.run(["userdel", "--remove", user], capture_output=True)
        _setup(repository, folders, artifacts / "setup.log")
        for user, password in PASSWORDS.items():
            subprocess.run(_hub_command(repository, "add-user", user, "--role", ROLES[user],
                                        "--password", password),
                           cwd=repository, check=True, capture_output=True)
        with log_path.open("w") as log:
            server, url = _start_hub(repository, folders, log, log_path)
            yield Hub(url=url, base=base, repository=repository, course=course, share=share,
                      exchange=exchange, log=log_path)
    finally:
        if server is not None:
            _stop(server)
        _remove_accounts(users_before, groups_before)
        shutil.rmtree(base, ignore_errors=True)


def _start_hub(repository: Path, folders: list[str], log, log_path: Path):
    """Start the hub on a free block of ports; another block when one was taken meanwhile."""
    for _ in range(3):
        url = f"http://127.0.0.1:{free_port_block()}"
        server = subprocess.Popen(_hub_command(repository, "start", *folders, "--url", url),
                                  cwd=repository, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
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
        server.wait(timeout=120)
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
    expect(page.get_by_text("Released assignments").first).to_be_visible(timeout=UI_MS)


def fetched_item(page):
    return page.locator("#fetched_assignments_list .list_item", has_text=QUIZ).first


def fetch(page):
    """Fetch the quiz in the Assignments tab."""
    open_assignment_list(page)
    page.locator("#released_assignments_list .list_item", has_text=QUIZ).get_by_role(
        "button", name="Fetch").click()
    expect(fetched_item(page)).to_be_visible(timeout=UI_MS)


def source_quiz() -> nbformat.NotebookNode:
    return nbformat.read(REPO / "source" / QUIZ / f"{QUIZ}.ipynb", as_version=4)


def every_answer() -> tuple[str, ...]:
    """Every answer cell of the quiz: code, and free text graded by hand (Validate
    fails a notebook with a free-text answer left blank)."""
    return tuple(c.metadata["nbgrader"]["grade_id"] for c in source_quiz().cells
                 if c.metadata.get("nbgrader", {}).get("solution"))


def open_quiz(page, hub: Hub, user: str):
    page.goto(f"{hub.url}/user/{user}/lab/workspaces/quiz/tree/{QUIZ}/{QUIZ}.ipynb")
    page.wait_for_selector(f"{PANEL} .jp-Notebook", timeout=120_000)


def answer_quiz(page, hub: Hub, user: str, answers: tuple[str, ...],
                typed: dict[str, str] | None = None):
    """Open the fetched quiz, type the instructor's answers into ``answers`` (or, into the
    answer cells ``typed`` names, the text it gives), save."""
    open_quiz(page, hub, user)
    student = nbformat.read(Path(pwd.getpwnam(user).pw_dir) / QUIZ / f"{QUIZ}.ipynb",
                            as_version=4)
    source = source_quiz()
    index = {c.metadata["nbgrader"]["grade_id"]: i for i, c in enumerate(student.cells)
             if "grade_id" in c.metadata.get("nbgrader", {})}
    cells = page.locator(CELLS)
    expect(cells).to_have_count(len(student.cells), timeout=UI_MS)
    typed = typed or {}
    for grade_id in (*answers, *typed):
        cell = cells.nth(index[grade_id])
        cell.scroll_into_view_if_needed()
        if student.cells[index[grade_id]].cell_type == "markdown":
            cell.dblclick()  # a rendered markdown cell opens its editor on a double click
        type_answer(page, cell, typed.get(grade_id) or solution(source, grade_id))
    save(page)


def run_setup_cell(page, hub: Hub, user: str) -> str:
    """Run the fetched quiz's set-up cell in the person's JupyterLab; return its output."""
    open_quiz(page, hub, user)
    student = nbformat.read(Path(pwd.getpwnam(user).pw_dir) / QUIZ / f"{QUIZ}.ipynb",
                            as_version=4)
    index = next(i for i, c in enumerate(student.cells)
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    cells = page.locator(CELLS)
    expect(cells).to_have_count(len(student.cells), timeout=UI_MS)
    cells.nth(index).scroll_into_view_if_needed()
    run_cell(page, cells.nth(index))
    shown = cells.nth(index).locator(".jp-OutputArea").inner_text()
    with contextlib.suppress(Exception):  # the kernel's memory back to the machine
        page.locator(".lm-MenuBar-itemLabel:text-is('Kernel')").click()
        page.locator(".lm-Menu-itemLabel:text-is('Shut Down Kernel')").click()
    return shown


def answers_for(student: str, answer_ids: tuple[str, ...]) -> dict[str, str]:
    """The instructor's answers to ``answer_ids`` worked out for ``student``'s variant, as
    the literals a copier pastes (``answer_slope = 0.31...``)."""
    import jax
    import numpy as np

    from dlcourse import variants

    source = source_quiz()
    spec = variants.spec_of([c.source for c in source.cells if c.cell_type == "code"], QUIZ)
    namespace = {"np": np, "jax": jax, "jnp": jax.numpy,
                 "variant": variants.variant(QUIZ, spec, student=student)}
    typed = {}
    for answer_id in answer_ids:
        exec(solution(source, answer_id), namespace)
        name = "answer_" + answer_id.removesuffix("_answer")
        typed[answer_id] = f"{name} = {namespace[name]!r}"
    return typed


def autograded_items(hub: Hub, student: str) -> dict[str, dict]:
    """Each item of ``student``'s result, by grade id, read as root from autograded/."""
    import json

    from dlcourse.grading.result import RESULT_FILE

    stored = json.loads((hub.course / "autograded" / student / QUIZ / RESULT_FILE).read_text())
    notebooks = stored["result"].get("notebooks", {QUIZ: stored["result"]})
    return {item["grade_id"]: item for item in notebooks[QUIZ]["items"]}


def submit(page):
    open_assignment_list(page)
    fetched_item(page).get_by_role("button", name="Submit").click()
    expect(page.locator("#submitted_assignments_list .list_item", has_text=QUIZ).first
           ).to_be_visible(timeout=UI_MS)


def points_of(grade_ids: tuple[str, ...]) -> float:
    """The autograded points a student earns with the right answers in ``grade_ids``."""
    from dlcourse.grading.prepare.source import load_source

    return sum(item.points for item in load_source(REPO, QUIZ).autograded
               if item.answers and set(item.answers) <= set(grade_ids))


def gradebook_rows(hub: Hub) -> dict[str, tuple[float, float]]:
    """(raw score, late penalty) of each student's submission, read as root from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{hub.course / 'gradebook.db'}") as gradebook:
        return {s.student.id: (float(s.score), float(s.late_submission_penalty or 0.0))
                for s in gradebook.find_assignment(QUIZ).submissions}


def manual_comment(hub: Hub, student: str) -> str | None:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{hub.course / 'gradebook.db'}") as gradebook:
        return gradebook.find_comment(MANUAL_ITEM, QUIZ, QUIZ, student).manual_comment


def submission_id(hub: Hub, student: str) -> str:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{hub.course / 'gradebook.db'}") as gradebook:
        return gradebook.find_submission_notebook(QUIZ, QUIZ, student).id


def hidden_test_lines() -> list[str]:
    """Every non-trivial line of the quiz's hidden tests, as the source holds them."""
    lines = []
    for cell in source_quiz().cells:
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > 12:
                lines.append(line.strip())
    return lines


def utc(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def open_terminal(page) -> None:
    """A new terminal from the launcher (JupyterLab opens one when nothing else is open)."""
    card = page.locator(".jp-LauncherCard", has_text="Terminal").first
    expect(card).to_be_visible(timeout=UI_MS)
    card.click()
    terminal = page.locator(".jp-Terminal .xterm-screen").last
    expect(terminal).to_be_visible(timeout=UI_MS)
    terminal.click()


def wait_for_file(path: Path, what: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while not path.is_file() or not path.read_text().endswith("\n"):
        assert time.monotonic() < deadline, f"{what} did not appear: {path}"
        time.sleep(0.5)
    return path.read_text()


def run_lesson_cells(page, hub: Hub, user: str, count: int) -> None:
    """Open the person's copy of lesson 01 and run its first ``count`` code cells."""
    page.goto(f"{hub.url}/user/{user}/lab/workspaces/lesson/tree/lessons/{LESSON}")
    page.wait_for_selector(f"{PANEL} .jp-Notebook", timeout=120_000)
    expect(page.locator(f'{PANEL} .jp-Notebook-ExecutionIndicator[data-status="idle"]')
           ).to_have_count(1, timeout=240_000)
    lesson = nbformat.read(Path(pwd.getpwnam(user).pw_dir) / "lessons" / LESSON, as_version=4)
    cells = page.locator(CELLS)
    expect(cells).to_have_count(len(lesson.cells), timeout=UI_MS)
    code = [i for i, cell in enumerate(lesson.cells) if cell.cell_type == "code"][:count]
    for index in code:
        cells.nth(index).scroll_into_view_if_needed()
        run_cell(page, cells.nth(index))
    with contextlib.suppress(Exception):  # the kernel's memory back to the machine
        page.locator(".lm-MenuBar-itemLabel:text-is('Kernel')").click()
        page.locator(".lm-Menu-itemLabel:text-is('Shut Down Kernel')").click()


@pytest.fixture(scope="module")
def semester(hub, browser):
    """The class from release to feedback; returns what the tests below look at."""
    course, record = hub.course, hub.record
    teacher_context, teacher = person(browser, hub, INSTRUCTOR)
    service = f"{hub.url}/services/{hubpy.COURSE_ID}"

    with step(teacher, "01-course-terminal"):
        teacher.goto(f"{service}/lab/workspaces/course")
        teacher.wait_for_selector(".jp-LabShell", timeout=180_000)
        open_terminal(teacher)
        teacher.keyboard.type('echo "$PWD|$(command -v dlcourse)|$(command -v nbgrader)" '
                              '> terminal-check.txt')
        teacher.keyboard.press("Enter")
        record["terminal"] = wait_for_file(course / "terminal-check.txt", "the terminal's echo")

    # README: the late rule in the course's nbgrader_config.py, then release and a due date.
    hub.course_command("sh", "-c", "printf '\\nc.LateSubmissionPlugin.penalty_method = "
                       "\"zero\"\\n' >> nbgrader_config.py")
    hub.course_command("dlcourse", "release", QUIZ)
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    record["due"] = due
    hub.course_command("nbgrader", "db", "assignment", "add", QUIZ, f"--duedate={utc(due)}")
    hub.course_command("nbgrader", "release_assignment", QUIZ)
    with step(teacher, "02-instructor-released"):
        teacher.goto(f"{service}/formgrader/manage_assignments")
        row = teacher.locator("table tr", has_text=QUIZ).first
        expect(row).to_contain_text("released", timeout=UI_MS)

    ann_context, ann = person(browser, hub, STUDENT_A)
    home_a = Path(pwd.getpwnam(STUDENT_A).pw_dir)
    with step(ann, "03-ann-fetched"):
        fetch(ann)
        record["due_file"] = (home_a / QUIZ / "due-date.txt").read_text()
    with step(ann, "04-ann-answered"):
        answer_quiz(ann, hub, STUDENT_A, every_answer())
    with step(ann, "05-ann-validated"):
        ann.locator(f"{PANEL} .validate-button").first.click()
        dialog = ann.locator(".jp-Dialog", has_text="Validation Results")
        expect(dialog).to_be_visible(timeout=VALIDATE_MS)
        record["validation"] = dialog.inner_text()
        shot(ann, "05-ann-validation-result")
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    with step(ann, "06-ann-submitted"):
        submit(ann)
        inbound = hub.exchange / hubpy.COURSE_ID / "inbound"
        record["ann_submission"] = next(p for p in inbound.iterdir()
                                        if p.name.startswith(f"{STUDENT_A}+{QUIZ}+"))

    # The due date passes between the two submissions: Ann is on time, Bob is late (the
    # date has whole seconds; Ann's time has fractions of one).
    hub.course_command("nbgrader", "db", "assignment", "add", QUIZ,
                       f"--duedate={utc(datetime.now(UTC) + timedelta(seconds=2))}")
    time.sleep(3)
    bob_context, bob = person(browser, hub, STUDENT_B)
    with step(bob, "07-bob-ran-lesson-01"):
        run_lesson_cells(bob, hub, STUDENT_B, 2)
        record["lesson_ran"] = True
    with step(bob, "08-bob-fetched"):
        fetch(bob)
        record["bob_setup_output"] = run_setup_cell(bob, hub, STUDENT_B)
    with step(bob, "09-bob-answered"):
        answer_quiz(bob, hub, STUDENT_B, B_ANSWERS, answers_for(STUDENT_A, COPIED_FROM_A))
    with step(bob, "10-bob-submitted-late"):
        submit(bob)

    hub.course_command("nbgrader", "collect", QUIZ)
    for student in (STUDENT_A, STUDENT_B):
        assert (course / "submitted" / student / QUIZ / f"{QUIZ}.ipynb").is_file()
    hub.course_command("dlcourse", "autograde", QUIZ, "--workers", "2")

    tina_context, tina = person(browser, hub, SECOND_INSTRUCTOR)
    with step(tina, "11-second-instructor-graded-by-hand"):
        tina.goto(f"{service}/formgrader/submissions/{submission_id(hub, STUDENT_A)}/?index=0")
        score = tina.locator(f"input.score#{MANUAL_ITEM}")
        score.scroll_into_view_if_needed()
        score.fill(f"{MANUAL_SCORE:g}")
        score.press("Tab")  # the formgrader saves a score when its field loses focus
        comment = tina.locator(f"textarea#{MANUAL_ITEM}-comment")
        comment.fill(COMMENT)
        comment.press("Tab")
        deadline = time.monotonic() + 60
        while (gradebook_rows(hub)[STUDENT_A][0] < points_of(every_answer()) + MANUAL_SCORE
               or manual_comment(hub, STUDENT_A) != COMMENT):
            assert time.monotonic() < deadline, "the formgrader did not save score and comment"
            time.sleep(1)

    hub.course_command("dlcourse", "feedback", QUIZ)
    hub.course_command("nbgrader", "release_feedback", QUIZ)
    hub.course_command("sh", "-c", "dlcourse scores --csv > scores.csv")
    hub.course_command("nbgrader", "export", "--exporter",
                       "dlcourse.grading.store.canvas.CanvasExportPlugin", "--to", "canvas.csv")
    for name in ("scores.csv", "canvas.csv"):
        shutil.copy(course / name, ARTIFACTS / name)

    with step(ann, "12-ann-fetched-feedback"):
        open_assignment_list(ann)
        ann.locator("#refresh_assignments_list").click()
        submitted = ann.locator("#submitted_assignments_list .list_item", has_text=QUIZ).first
        expect(submitted).to_contain_text("feedback available to fetch", timeout=UI_MS)
        submitted.get_by_role("button", name="Fetch Feedback").click()
        folder = home_a / QUIZ / "feedback"
        deadline = time.monotonic() + 60
        while not list(folder.glob(f"*/{QUIZ}.html")):
            assert time.monotonic() < deadline, "no feedback arrived in Ann's quiz folder"
            time.sleep(1)
        page_file = next(folder.glob(f"*/{QUIZ}.html"))
        ann.goto(f"{hub.url}/user/{STUDENT_A}/files/{page_file.relative_to(home_a).as_posix()}")
        record["feedback_text"] = ann.locator("body").inner_text()
        record["feedback_html"] = page_file.read_text()

    for context in (teacher_context, ann_context, bob_context, tina_context):
        context.close()
    return record


def test_setup_gave_everyone_a_python_they_can_run(hub):
    python = Path(os.path.realpath(hub.share / "env" / "bin" / "python"))
    setup_log = (ARTIFACTS / "setup.log").read_text()
    own = Path(os.path.realpath(hubpy.sys._base_executable))
    if hubpy.blocked_for_others(own, execute=True) is not None:
        # pyenv's Python under /root, as on this project's machines: copied for everyone
        assert "cannot be run by other users" in setup_log and "copied into" in setup_log
        assert python.is_relative_to(hub.share / "python")
    assert hubpy.blocked_for_others(python, execute=True) is None
    assert "checked as nobody, dlcourse-grader" in setup_log


def test_setup_says_what_to_fix_for_a_python_others_cannot_run(hub):
    hidden = hub.base / "root" / "python3"  # in the folder only root may enter
    shutil.copy2(os.path.realpath(hubpy.sys._base_executable), hidden)
    try:
        done = subprocess.run(_hub_command(hub.repository, "setup", "--python", str(hidden),
                                           "--share", str(hub.share)),
                              cwd=hub.repository, capture_output=True, text=True, timeout=300)
    finally:
        hidden.unlink()
    assert done.returncode != 0
    assert f"{hidden} cannot be run by other users: {hub.base / 'root'} is drwx------ root" \
        in done.stderr, done.stderr
    assert "name a Python 3." in done.stderr


def test_setup_refuses_a_python_older_than_the_course_needs(hub):
    older = [path for path in (Path("/usr/bin/python3.11"), Path("/usr/bin/python3.12"))
             if path.is_file() and hubpy._version_of(path)[:2] == hubpy.sys.version_info[:2]
             and not hubpy._allows(hubpy._requires_python(REPO), hubpy._version_of(path))]
    if not older:
        pytest.skip("no system Python of this version older than requires-python here")
    done = subprocess.run(_hub_command(hub.repository, "setup", "--python", str(older[0]),
                                       "--share", str(hub.share)),
                          cwd=hub.repository, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "requires-python" in done.stderr, done.stderr


def test_the_instructors_terminal_opens_in_the_course_with_its_commands(hub, semester):
    folder, dlcourse, nbgrader = semester["terminal"].strip().split("|")
    assert Path(folder) == hub.course
    assert Path(dlcourse) == hub.share / "env" / "bin" / "dlcourse"
    assert Path(nbgrader) == hub.share / "env" / "bin" / "nbgrader"


def test_students_see_the_due_date(semester):
    assert f"is due {semester['due']:%A %d %B %Y, %H:%M} UTC" in semester["due_file"]
    assert "late work scores 0" in semester["due_file"]


def test_a_correct_answer_passes_validate_on_the_hub(semester):
    # softmax_tf among them, whose TensorFlow writes "E0000 ... cuInit" to stderr here
    assert "Success! Your notebook passes all the tests." in semester["validation"], \
        semester["validation"][:2000]


def test_a_students_server_imports_dlcourse_and_runs_lesson_01(hub, semester):
    assert semester["lesson_ran"]
    # the lessons a student gets are the student copies, never the instructor's notebooks
    copy = Path(pwd.getpwnam(STUDENT_B).pw_dir) / "lessons" / LESSON
    assert nbformat.read(REPO / "lessons" / LESSON, as_version=4).cells[0].source == \
        nbformat.read(copy, as_version=4).cells[0].source
    done = hub.run_as(STUDENT_B, "python", "-c", "import dlcourse; print(dlcourse.__file__)")
    assert Path(done.stdout.strip()).is_relative_to(hub.share / "env")


def test_each_student_sees_and_is_graded_on_their_own_variant(hub, semester):
    """Issue 26 on the hub: Bob's set-up cell shows his own numbers; Ann's answers to
    Part D, right for her (her score, below, is full marks), earn Bob nothing, and say
    whose numbers they were checked against."""
    from dlcourse.grading.variant_keys import student_variant

    shown = semester["bob_setup_output"]
    mine = student_variant(QUIZ, STUDENT_B, root=REPO)
    assert f"Your variant of {QUIZ} (student {STUDENT_B!r})" in shown, shown[:500]
    for name, value in mine.items():
        assert f"{name} = {value!r}" in shown, (name, shown[:500])
    assert mine.parameters != student_variant(QUIZ, STUDENT_A, root=REPO).parameters
    items = autograded_items(hub, STUDENT_B)
    for answer_id in COPIED_FROM_A:
        item = items[answer_id.removesuffix("_answer")]
        assert (item["status"], item["score"]) == ("failed", 0.0), item
        assert f"checked against the variant of student {STUDENT_B!r}" in item["message"]


def test_a_second_instructor_grades_in_the_formgrader(hub, semester):
    score, penalty = gradebook_rows(hub)[STUDENT_A]
    assert (score, penalty) == (points_of(every_answer()) + MANUAL_SCORE, 0.0)
    assert manual_comment(hub, STUDENT_A) == COMMENT


def test_a_formgrader_comment_and_her_answers_reach_the_student(semester):
    text, page = semester["feedback_text"], semester["feedback_html"]
    expected = points_of(every_answer()) + MANUAL_SCORE
    assert f"{expected:g} of" in text, text[:500]
    assert COMMENT in text
    assert 'answer_mc_dtypes = "c"' in text  # her own answer, as she typed it
    leaked = [line for line in hidden_test_lines() if line in page]
    assert not leaked and "HIDDEN TESTS" not in page, leaked[:3]


def test_both_exports_agree_on_a_late_submission(hub, semester):
    raw, penalty = gradebook_rows(hub)[STUDENT_B]
    assert raw == points_of(B_ANSWERS) > 0 and penalty == raw  # 'zero': late work scores 0
    with (ARTIFACTS / "scores.csv").open(newline="") as handle:
        listed = {row["student"]: float(row["score"]) for row in csv.DictReader(handle)}
    with (ARTIFACTS / "canvas.csv").open(newline="") as handle:
        canvas = {row[2]: float(row[-1]) for row in list(csv.reader(handle))[2:]}
    expected_a = points_of(every_answer()) + MANUAL_SCORE
    assert listed == canvas == {STUDENT_A: expected_a, STUDENT_B: 0.0}


def _what_bob_tries(hub: Hub) -> dict[str, Path]:
    course = hub.course
    return {
        "scores.csv": course / "scores.csv",
        "canvas.csv": course / "canvas.csv",
        "gradebook.db": course / "gradebook.db",
        "submitted/": course / "submitted" / STUDENT_A / QUIZ / f"{QUIZ}.ipynb",
        "autograded/": course / "autograded" / STUDENT_A / QUIZ,
        "feedback/": course / "feedback" / STUDENT_A / QUIZ / f"{QUIZ}.html",
        "keys/": course / "keys" / f"{QUIZ}.json",
        "source/": course / "source" / QUIZ / f"{QUIZ}.ipynb",
        "exchange submission": hub.record["ann_submission"] / f"{QUIZ}.ipynb",
        "exchange submission secret": hub.record["ann_submission"] / "submission_secret.txt",
        "repository source/": hub.repository / "source" / QUIZ / f"{QUIZ}.ipynb",
        "Ann's home": Path(pwd.getpwnam(STUDENT_A).pw_dir) / QUIZ / f"{QUIZ}.ipynb",
    }


@pytest.mark.parametrize("what", ["scores.csv", "canvas.csv", "gradebook.db", "submitted/",
                                  "autograded/", "feedback/", "keys/", "source/",
                                  "exchange submission", "exchange submission secret",
                                  "repository source/", "Ann's home"])
def test_a_student_cannot_read(hub, semester, what):
    path = _what_bob_tries(hub)[what]
    assert path.exists(), f"{path} is not there to try"  # root sees it: the test is real
    command = ["ls", str(path)] if path.is_dir() else ["cat", str(path)]
    done = hub.run_as(STUDENT_B, *command, check=False)
    assert done.returncode != 0 and "Permission denied" in done.stderr, (what, done.stdout[:200])


def test_a_student_cannot_list_the_exchange_or_claim_the_course_in_it(hub, semester):
    course_exchange = hub.exchange / hubpy.COURSE_ID
    for folder in ("inbound", "feedback"):
        listing = hub.run_as(STUDENT_B, "ls", str(course_exchange / folder), check=False)
        assert listing.returncode != 0 and "Permission denied" in listing.stderr, folder
    for folder in (course_exchange, course_exchange / "outbound"):
        made = hub.run_as(STUDENT_B, "mkdir", str(folder / "mine"), check=False)
        assert made.returncode != 0, folder
        assert pwd.getpwuid(folder.stat().st_uid).pw_name == hubpy.GRADER


def test_the_hub_refuses_a_student_the_others_servers_and_the_course(hub, semester, browser):
    context, bob = person(browser, hub, STUDENT_B)
    try:
        with step(bob, "13-bob-cannot-reach-ann"):
            response = bob.goto(f"{hub.url}/user/{STUDENT_A}/lab")
            assert response.status in (403, 404) or f"/user/{STUDENT_B}" in bob.url, bob.url
            outside = bob.request.get(
                f"{hub.url}/user/{STUDENT_B}/api/contents/..%2F{STUDENT_A}")
            assert outside.status in (400, 403, 404), outside.status
            course = bob.goto(f"{hub.url}/services/{hubpy.COURSE_ID}/formgrader")
            assert course.status == 403, (course.status, bob.url)
    finally:
        context.close()


def test_the_systemd_unit_runs_the_readme_commands():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(DEPLOY / "dlcourse-hub.service")
    service = unit["Service"]
    folder = Path(service["WorkingDirectory"])
    assert folder == Path("/root/dlcourse")  # where the README clones the repository
    for key, command in (("ExecStartPre", "setup"), ("ExecStart", "start")):
        program, script, verb, *_ = service[key].split()
        assert (program, script, verb) == (str(folder / ".venv/bin/python"),
                                           "deploy/jupyterhub/hub.py", command), service[key]
    assert unit["Install"]["WantedBy"] == "multi-user.target"
