"""The student's path in a real browser: JupyterLab, end to end.

The test starts JupyterLab from the course's environment (loopback port, random token) in a
temporary copy of the course, so that running the lesson and saving the quiz never touch the
working tree, and drives it with Playwright and Debian's Chromium, headless:

- it opens lesson 01, runs all cells from the Run menu, waits for the kernel to go idle and
  checks that no cell shows an error and that the accuracy table and the plots are rendered;
- it opens quiz 01, types a correct answer into one multiple-choice cell and one code cell
  through the editor, runs the visible tests of those two items, saves with Ctrl+S, and
  checks with ``dlcourse grade --json`` that exactly those two items pass.

Every step leaves a screenshot in ``test-artifacts/browser/`` (ignored by git), together with
the server's log and the grade; a step that fails leaves ``FAILED-<step>.png`` first.

Without Chromium the test is skipped, unless ``CI`` is set (CI must run it; ``.ci/run``
installs ``chromium`` with apt-get, since Playwright's own browser download is not used).
``DLCOURSE_CHROMIUM`` names another Chromium executable; ``DLCOURSE_BROWSER_LESSON`` names a
notebook to run in place of ``notebooks/01_frameworks.ipynb`` (how the failure path is shown:
a copy with a broken cell must fail with a screenshot).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from .chromium import CHROMIUM, CHROMIUM_ARGS, CI

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "browser"
LESSON = "notebooks/01_frameworks.ipynb"
QUIZ = "quiz01_frameworks"
QUIZ_NOTEBOOK = f"release/{QUIZ}/{QUIZ}.ipynb"
# The two items answered in the browser: (answer cell, test cell). The correct answers are
# read from the instructor's version in source/.
MC_ITEM = ("mc_dtypes_answer", "mc_dtypes")
CODE_ITEM = ("jax_static_answer", "jax_static")

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - playwright is in requirements.txt
    if not CI:
        pytest.skip("playwright is not installed", allow_module_level=True)
    raise

if not os.access(CHROMIUM, os.X_OK) and not CI:
    pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium; CI installs it)",
                allow_module_level=True)

# The notebook that JupyterLab shows (the visible tab's panel) and its parts.
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
CELLS = f"{PANEL} .jp-Notebook .jp-Cell"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

SERVER_START_S = 180
KERNEL_START_MS = 240_000
LESSON_RUN_S = 600
CELL_RUN_MS = 300_000
GRADE_S = 900


@dataclass
class Lab:
    root: Path
    url: str
    token: str
    log: Path

    def open(self, page, path: str, workspace: str):
        # A workspace of its own, so each page shows one notebook and nothing restored.
        page.goto(f"{self.url}/lab/workspaces/{workspace}/tree/{path}?token={self.token}")
        page.wait_for_selector(f"{PANEL} .jp-Notebook", timeout=120_000)
        expect(page.locator(f'{PANEL} .jp-Notebook-ExecutionIndicator[data-status="idle"]')
               ).to_have_count(1, timeout=KERNEL_START_MS)

    def api(self, method: str, path: str):
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self):
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")


def shot(page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path)
    return path


@contextlib.contextmanager
def step(page, name: str):
    """Run one step; if it fails, take a screenshot first and name it in the error."""
    try:
        yield
    except BaseException as exc:  # pytest's failures are BaseExceptions too
        path = ARTIFACTS / f"FAILED-{name}.png"
        with contextlib.suppress(Exception):
            page.screenshot(path=path)
            exc.add_note(f"screenshot of the failed step: {path}")
        raise


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def artifacts():
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def lab(tmp_path_factory, artifacts):
    """JupyterLab from the course's environment, serving a copy of the course."""
    base = tmp_path_factory.mktemp("browser")
    root = base / "course"
    root.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", root)
    for folder in ("notebooks", "release", "source"):
        shutil.copytree(REPO / folder, root / folder)
    if os.environ.get("DLCOURSE_BROWSER_LESSON"):
        shutil.copy(os.environ["DLCOURSE_BROWSER_LESSON"], root / LESSON)

    # The student's own JupyterLab settings and workspaces stay out of the test; the one
    # setting made: no "fetch Jupyter news?" prompt (a request to the internet).
    settings = base / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    env = {**os.environ,
           "JUPYTERLAB_SETTINGS_DIR": str(base / "lab-settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(base / "lab-workspaces"),
           "JUPYTER_RUNTIME_DIR": str(base / "runtime")}

    port, token = free_port(), secrets.token_hex(16)
    command = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser",
               f"--port={port}", "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = (artifacts / "jupyter-lab.log").open("w")
    server = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    lab = Lab(root=root, url=f"http://127.0.0.1:{port}", token=token, log=Path(log.name))
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with {server.returncode}; see {log.name}")
            with contextlib.suppress(OSError):
                lab.api("GET", "/api/status")
                break
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within {SERVER_START_S} s; see {log.name}")
            time.sleep(1)
        yield lab
    finally:
        server.terminate()  # SIGTERM: the server shuts its kernels down and exits
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        with contextlib.suppress(ProcessLookupError):  # a kernel left behind
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium not found at {CHROMIUM}: CI must install it (apt-get install "
                    "chromium, as .ci/run does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS, timeout=120_000)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(60_000)
    page = context.new_page()
    yield page
    context.close()


def check_lab_started_cleanly(lab, page, name: str):
    """No dialog and no error or warning notification; nbgrader's Validate is there, and
    its exchange-based panels (Assignment List, Course List) are not."""
    with step(page, name):
        page.wait_for_timeout(3000)  # let late start-up notifications arrive
        shot(page, name)
        assert page.locator(".jp-Dialog").count() == 0, page.locator(".jp-Dialog").inner_text()
        toasts = page.locator(".jp-Notification-Toast-error, .jp-Notification-Toast-warning")
        assert toasts.count() == 0, toasts.all_inner_texts()
        expect(page.locator(f"{PANEL} .jp-Toolbar").get_by_text("Validate")).to_be_visible()
        server_errors = [line for line in lab.log.read_text().splitlines()
                         if line.startswith(("[E ", "[C ")) or "Traceback" in line]
        assert not server_errors, f"the server logged errors (see {lab.log}): {server_errors}"

        page.locator(".lm-MenuBar-itemLabel:text-is('Nbgrader')").click()
        items = page.locator(".lm-Menu-content .lm-Menu-item:visible .lm-Menu-itemLabel")
        expect(items.first).to_be_visible()
        shot(page, f"{name}-nbgrader-menu")
        labels = [label.strip() for label in items.all_inner_texts()]
        page.keyboard.press("Escape")
        assert "Assignment List" not in labels and "Course List" not in labels, (
            f"the Nbgrader menu offers {labels}: the exchange-based extensions should be off "
            "(see the $(STAMP) recipe of the Makefile)")


def prompts(page) -> list[str]:
    # textContent: cells out of view are not rendered (content-visibility), so their
    # innerText is empty.
    return [text.strip() for text in
            page.locator(f"{PANEL} .jp-CodeCell .jp-InputPrompt").all_text_contents()]


def run_all_and_wait(page):
    page.locator(".lm-MenuBar-itemLabel:text-is('Run')").click()
    page.locator(".lm-Menu-itemLabel:text-is('Run All Cells')").click()
    idle = page.locator(f'{PANEL} .jp-Notebook-ExecutionIndicator[data-status="idle"]')
    deadline, quiet = time.monotonic() + LESSON_RUN_S, 0
    while time.monotonic() < deadline:
        page.wait_for_timeout(2000)
        now = prompts(page)
        done = (idle.count() == 1 and not any("*" in p for p in now)
                and any(re.fullmatch(r"\[\d+\]:", p) for p in now))
        quiet = quiet + 1 if done else 0
        if quiet >= 2:  # idle twice in a row: nothing left in the queue
            return
    pytest.fail(f"the lesson still ran after {LESSON_RUN_S} s")


def save(page):
    """Ctrl+S, then wait until JupyterLab no longer marks the notebook as changed."""
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")
    expect(page.locator(".lm-TabBar-tab.jp-mod-dirty")).to_have_count(0, timeout=60_000)


def saved_errors(path: Path) -> list[tuple[int, str]]:
    """(cell index, traceback) of every error output in the notebook at path."""
    errors = []
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                errors.append((index, ANSI.sub("", "\n".join(output.traceback))))
    return errors


def test_the_lesson_runs_in_jupyterlab(lab, page):
    with step(page, "01-lab-open"):
        lab.open(page, LESSON, "lesson")
    check_lab_started_cleanly(lab, page, "01-lab-started")
    try:
        with step(page, "02-lesson-run"):
            started = time.monotonic()
            run_all_and_wait(page)
            print(f"lesson 01 ran in the browser in {time.monotonic() - started:.0f} s")

        with step(page, "02-lesson-cell-error"):
            # An error and stderr render alike in JupyterLab (both as the stderr MIME type),
            # so the saved notebook says which cells raised; the screenshot shows the first.
            save(page)
            errors = saved_errors(lab.root / LESSON)
            if errors:
                index, traceback = errors[0]
                page.locator(CELLS).nth(index).locator(".jp-OutputArea-output").last \
                    .scroll_into_view_if_needed()
                lesson = os.environ.get("DLCOURSE_BROWSER_LESSON", LESSON)
                pytest.fail(f"{len(errors)} cell(s) of {lesson} raised an error in JupyterLab; "
                            f"the first, cell {index}:\n{traceback[-3000:]}")
            not_run = [p for p in prompts(page) if not re.fullmatch(r"\[\d+\]:", p)]
            assert not not_run, f"{len(not_run)} code cells did not run: {not_run}"
            widget_errors = page.locator(f"{PANEL} .jp-OutputArea-output",
                                         has_text="Error displaying widget")
            assert widget_errors.count() == 0, widget_errors.first.text_content()

        with step(page, "03-lesson-accuracy-table"):
            # Section 4.5's table: every model's test accuracy, as percentages.
            table = page.locator(f"{PANEL} .jp-RenderedHTMLCommon table",
                                 has_text="test accuracy").filter(
                has_text=re.compile(r"\d+\.\d\d%")).first
            expect(table).to_be_visible()
            table.scroll_into_view_if_needed()
            shot(page, "02-lesson-done")
            table.screenshot(path=ARTIFACTS / "03-lesson-accuracy-table.png")
            rows = table.locator("tbody tr").all_inner_texts()
            assert len(rows) >= 4 and all(re.search(r"\d+\.\d\d%", row) for row in rows), rows

        with step(page, "04-lesson-plot"):
            images = page.locator(f"{PANEL} .jp-RenderedImage img")
            assert images.count() >= 1, "no plot was rendered"
            sizes = images.evaluate_all("imgs => imgs.map(i => [i.naturalWidth, i.naturalHeight])")
            assert all(w > 100 and h > 100 for w, h in sizes), sizes
            curves = page.locator(f"{PANEL} .jp-CodeCell", has_text="plot_history").locator(
                ".jp-RenderedImage img")
            plot = curves.first if curves.count() else images.first
            plot.scroll_into_view_if_needed()
            plot.screenshot(path=ARTIFACTS / "04-lesson-plot.png")
    finally:
        lab.shut_down_kernels()  # frees the lesson's memory for the quiz


def solution(source: nbformat.NotebookNode, grade_id: str) -> str:
    """The instructor's answer cell, without the solution markers."""
    cell = next(c for c in source.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    lines = [line for line in cell.source.splitlines()
             if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
    return "\n".join(lines).strip("\n")


def type_answer(page, cell, text: str):
    """Click into the cell's editor, select all, and type the answer."""
    editor = cell.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Backspace")
    for number, line in enumerate(text.split("\n")):
        if number:
            # The editor indents a new line itself; Shift+Home selects that indentation, so
            # the line typed next, with its own indentation, replaces it.
            page.keyboard.press("Enter")
            page.keyboard.press("Shift+Home")
        page.keyboard.type(line)
    for _ in range(20):  # the editor redraws on the next animation frame
        lines = editor.locator(".cm-line").all_inner_texts()
        typed = "\n".join(line.rstrip("\n") for line in lines)
        if typed == text:
            return
        page.wait_for_timeout(500)
    pytest.fail(f"the editor shows {typed!r}, not {text!r}")


def run_cell(page, cell):
    """Select the cell and run it with Shift+Enter; wait until it ran, without an error."""
    cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")
    expect(cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"^\[\d+\]:$"),
                                                         timeout=CELL_RUN_MS)
    # An error renders as a traceback (the saved notebook is checked exactly, after saving).
    errors = cell.locator(".jp-OutputArea-output", has_text="Traceback (most recent call last)")
    assert errors.count() == 0, errors.first.inner_text()


def test_quiz_answers_typed_in_jupyterlab_grade_as_passed(lab, page, released_course):
    notebook = lab.root / QUIZ_NOTEBOOK
    student = nbformat.read(notebook, as_version=4)
    source = nbformat.read(lab.root / "source" / QUIZ / f"{QUIZ}.ipynb", as_version=4)
    index = {c.metadata["nbgrader"]["grade_id"]: i for i, c in enumerate(student.cells)
             if "nbgrader" in c.metadata}

    cells = page.locator(CELLS)
    with step(page, "05-quiz-opened"):
        lab.open(page, QUIZ_NOTEBOOK, "quiz")
        expect(cells).to_have_count(len(student.cells))
        shot(page, "05-quiz-opened")
        run_cell(page, cells.nth(index["setup"]))

    with step(page, "06-quiz-answers-typed"):
        for answer, _ in (MC_ITEM, CODE_ITEM):
            cell = cells.nth(index[answer])
            type_answer(page, cell, solution(source, answer))
            cell.scroll_into_view_if_needed()
            shot(page, f"06-quiz-answer-typed-{answer}")

    with step(page, "07-quiz-visible-tests"):
        for answer, test in (MC_ITEM, CODE_ITEM):
            run_cell(page, cells.nth(index[answer]))
            run_cell(page, cells.nth(index[test]))
            cells.nth(index[test]).scroll_into_view_if_needed()
            shot(page, f"07-quiz-visible-test-{test}")

    with step(page, "08-quiz-saved"):
        save(page)
        shot(page, "08-quiz-saved")
        saved = nbformat.read(notebook, as_version=4)
        for answer, _ in (MC_ITEM, CODE_ITEM):
            assert saved.cells[index[answer]].source == solution(source, answer)
        assert saved_errors(notebook) == []

    done = subprocess.run([sys.executable, "-m", "dlcourse", "grade", str(notebook),
                           "--quiz", QUIZ, "--json"], cwd=released_course,
                          capture_output=True, text=True, timeout=GRADE_S)
    (ARTIFACTS / "09-quiz-grade.json").write_text(done.stdout)
    assert done.returncode == 0, done.stderr
    items = {item["grade_id"]: item["status"] for item in json.loads(done.stdout)["items"]}
    passed = {grade_id for grade_id, status in items.items() if status == "passed"}
    assert passed == {MC_ITEM[1], CODE_ITEM[1]}, items
