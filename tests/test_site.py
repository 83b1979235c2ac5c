"""The course as a website: ``make site`` builds it, and each page shows its lesson.

The site is built (website/build.py, as ``make site`` does) from the lessons nbval executed
earlier in the same session (tests/lesson_outputs.py writes them; tests/conftest.py runs
this module after the lessons); run alone, the build executes the lessons that have no
fresh executed copy. Then Playwright opens the pages in Debian's Chromium, headless, from
the files (no server), and checks:

- the home page lists every lesson, each linking to its page and to the notebook in the
  JupyterLab of ``make lab``;
- each lesson page renders every plot its run made (an ``img`` that loaded, with a width),
  typesets its formulas with the bundled MathJax, shows no error output and raises no
  JavaScript error;
- no page asks for anything but its own files: the site is read offline.

Screenshots go to ``test-artifacts/site/`` (ignored by git). Without Chromium the browser
checks are skipped, unless ``CI`` is set (see tests/chromium.py). Also here: JupyterLab's
"official Jupyter news" prompt is switched off in the course's environment.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from website import build as site_build

from .chromium import CHROMIUM, CHROMIUM_ARGS, CI, chromium_found
from .conftest import REPO
from .lesson_outputs import as_output, is_lesson_cell

ARTIFACTS = REPO / "test-artifacts" / "site"
LESSONS = site_build.lessons()
ANNOUNCEMENTS = "@jupyterlab/apputils-extension:announcements"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: What a page may load: its own files, and what it makes in memory.
LOCAL = ("file:", "data:", "blob:", "about:")
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
ERROR_OUTPUT = ".cell_output .traceback, .cell_output .output.error"


def test_jupyterlab_news_prompt_is_off_in_the_environment():
    # `make env` disables the plugin that asks to fetch official Jupyter news (and checks
    # for updates over the network): an offline course has no use for either.
    jupyter = Path(sys.executable).with_name("jupyter")
    listing = subprocess.run([str(jupyter), "labextension", "list"], capture_output=True,
                             text=True, check=True)
    text = ANSI.sub("", listing.stdout + listing.stderr)
    assert "Disabled extensions:" in text, text
    disabled = text.split("Disabled extensions:", 1)[1].split()
    assert ANNOUNCEMENTS in disabled, f"{ANNOUNCEMENTS} is not disabled:\n{text}"


def plots_in(notebook) -> int:
    """How many outputs of an executed notebook a web page shows as an image."""
    return sum(1 for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.get("outputs", [])
               if output.output_type in ("display_data", "execute_result")
               and "text/html" not in output.data
               and any(mime in output.data for mime in IMAGE_MIMES))


@pytest.fixture(scope="module")
def site():
    """The site, built as `make site` builds it."""
    site_build.build()
    return site_build.SITE


def test_no_lesson_shows_an_error(site):
    shown = [f"{lesson.name} {line}" for lesson in LESSONS for line in
             site_build.errors(nbformat.read(site_build.executed_path(lesson), as_version=4))]
    assert not shown, "lessons that show an error:\n" + "\n".join(shown)


def test_the_lessons_nbval_ran_are_the_ones_the_site_shows(request, site):
    # make test executes each lesson once: the copy nbval's run left is the one shown.
    ran = {}
    for item in request.session.items:
        if is_lesson_cell(item):
            ran.setdefault(item.path, []).append(item)
    for path, cells in ran.items():
        code_cells = [c for c in cells[0].parent.nb.cells if c.cell_type == "code"]
        if len(cells) < len(code_cells):
            continue  # only part of the lesson was selected: nothing was kept
        executed = nbformat.read(site_build.executed_path(path), as_version=4)
        assert executed.metadata[site_build.METADATA_KEY]["executed_by"] == "nbval", path.name


def test_nbval_outputs_become_valid_notebook_outputs():
    node = nbformat.NotebookNode
    received = [node(output_type="stream", name="stdout", text="loss 0.1\n"),
                node(output_type="display_data", data={"image/png": "iVBORw0KGgo=",
                                                       "text/plain": "<Figure>"}, metadata={}),
                node(output_type="execute_result", data={"text/plain": "3"}, metadata={},
                     execution_count=2),
                node(output_type="error", ename="ValueError", evalue="bad",
                     traceback=["Traceback", "ValueError: bad"])]
    cell = nbformat.v4.new_code_cell("x", outputs=[as_output(o) for o in received])
    notebook = nbformat.v4.new_notebook(cells=[cell])
    nbformat.validate(notebook)
    assert [o.output_type for o in cell.outputs] == [o.output_type for o in received]
    assert site_build.errors(notebook) == ["cell 0: ValueError: bad"]
    assert plots_in(notebook) == 1


#: What a page must not show: a matplotlib object's repr (a result Jupyter would have
#: silenced with ``;``) or a figure's text stand-in.
MATPLOTLIB_REPR = re.compile(r"&lt;(matplotlib\.[\w.]+ object at|Figure size \d)")


def test_no_page_repeats_a_figure_or_shows_a_matplotlib_repr(site):
    for lesson in LESSONS:
        page = (site / "lessons" / f"{lesson.stem}.html").read_text()
        shown = MATPLOTLIB_REPR.findall(page)
        assert not shown, f"{lesson.name} shows {shown[:3]}"
        # images are files named by a hash of their content: a figure shown twice has one
        sources = re.findall(r'<img[^>]+src="([^"]+_images/[^"]+)"', page)
        repeated = sorted({source for source in sources if sources.count(source) > 1})
        assert not repeated, f"{lesson.name} shows a figure twice: {repeated}"


def test_a_reader_sees_what_jupyter_shows_and_no_library_noise():
    figure = {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure size 640x480 with 1 Axes>"}
    cells = [
        nbformat.v4.new_code_cell("plt.legend();", outputs=[nbformat.v4.new_output(
            "execute_result", data={"text/plain": "<matplotlib.legend.Legend at 0x7f>"},
            execution_count=1)]),
        nbformat.v4.new_code_cell("show(fig)", outputs=[
            nbformat.v4.new_output("display_data", data=figure),
            nbformat.v4.new_output("execute_result", data=figure, execution_count=2)]),
        nbformat.v4.new_code_cell("train()", outputs=[nbformat.v4.new_output(
            "stream", name="stderr", text=(
                "/x/keras/layer.py:9: UserWarning: Do not pass `input_shape`\n"
                "  super().__init__(**kwargs)\n"
                "E0000 00:00:1796.5   198 cuda_platform.cc:52] failed call to cuInit\n"
                "epoch 1: 100%|#####| 10/10\n"))]),
        nbformat.v4.new_code_cell("x = 1", outputs=[nbformat.v4.new_output(
            "stream", name="stderr", text="I0000 00:00:1.5  1 port.cc:153] oneDNN is on\n")]),
    ]
    shown = site_build.as_a_reader_sees_it(nbformat.v4.new_notebook(cells=cells))
    assert [len(cell.outputs) for cell in shown.cells] == [0, 1, 1, 0]
    assert shown.cells[2].outputs[0].text == "epoch 1: 100%|#####| 10/10\n"


def test_the_site_has_a_page_per_lesson(site):
    assert (site / "index.html").is_file()
    for lesson in LESSONS:
        assert (site / "lessons" / f"{lesson.stem}.html").is_file(), lesson.name
    # The offline MathJax is there (sphinx-mathjax-offline), not a CDN's.
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file()
    page = (site / "lessons" / f"{LESSONS[0].stem}.html").read_text()
    external = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', page)
    assert not external, f"assets fetched from the network: {external}"


@pytest.fixture(scope="module")
def browser():
    if not chromium_found():
        if CI:
            pytest.fail(f"Chromium not found at {CHROMIUM}: CI must install it")
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS, timeout=120_000)
        yield browser
        browser.close()


class Visit:
    """A page opened from the built files, with every request and script error recorded."""

    def __init__(self, browser, url: str):
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.remote: list[str] = []
        self.script_errors: list[str] = []
        self.page.on("request", self.on_request)
        self.page.on("pageerror", lambda error: self.script_errors.append(str(error)))
        self.context.route(re.compile(r"^(https?|wss?|ftp)://"), self.refuse)
        self.page.goto(url, wait_until="load", timeout=120_000)

    def on_request(self, request):
        if not request.url.startswith(LOCAL):
            self.remote.append(request.url)

    def refuse(self, route):
        route.abort()

    def close(self):
        self.context.close()


def test_the_home_page_lists_every_lesson(site, browser):
    visit = Visit(browser, (site / "index.html").as_uri())
    try:
        page = visit.page
        page.screenshot(path=ARTIFACTS / "home.png", full_page=True)
        for lesson in LESSONS:
            link = page.locator(f'a[href="lessons/{lesson.stem}.html"]').first
            assert link.count() == 1, f"the home page has no link to {lesson.name}'s page"
            assert link.is_visible(), lesson.name
            lab = page.locator(f'a[href="{site_build.lab_link(f"notebooks/{lesson.name}")}"]')
            assert lab.count() >= 1, f"the home page does not open {lesson.name} in JupyterLab"
        assert not visit.remote, f"the home page asked the network for {visit.remote}"
        assert not visit.script_errors, visit.script_errors
    finally:
        visit.close()


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_each_lesson_page_renders_its_plots_and_no_error(site, browser, lesson):
    executed = nbformat.read(site_build.executed_path(lesson), as_version=4)
    expected = plots_in(site_build.as_a_reader_sees_it(executed))
    assert expected > 0, f"{lesson.name} made no plot in its run"
    visit = Visit(browser, (site / "lessons" / f"{lesson.stem}.html").as_uri())
    try:
        page = visit.page
        page.screenshot(path=ARTIFACTS / f"{lesson.stem}.png")
        title = page.locator("h1").first.inner_text()
        assert title.startswith(f"Lesson {lesson.name[:2]}"), title
        lab = page.locator(f'a[href="{site_build.lab_link(f"notebooks/{lesson.name}")}"]')
        assert lab.count() == 1, "no link that opens the notebook in JupyterLab"
        images = page.locator(".cell_output img")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.cell_output img')].every(i => i.complete)",
            timeout=60_000)
        sizes = images.evaluate_all("(all) => all.map(i => i.naturalWidth)")
        assert len(sizes) == expected, f"{len(sizes)} images shown, {expected} plots made"
        unloaded = [index for index, width in enumerate(sizes) if width == 0]
        assert not unloaded, f"output images that did not load: {unloaded}"
        images.first.scroll_into_view_if_needed()
        page.screenshot(path=ARTIFACTS / f"{lesson.stem}-first-plot.png")
        if page.locator(".math").count():
            # The bundled MathJax typesets the lesson's formulas, offline.
            page.wait_for_selector("mjx-container", state="attached", timeout=60_000)
        errors = page.locator(ERROR_OUTPUT)
        assert errors.count() == 0, f"error output shown: {errors.first.inner_text()[:2000]}"
        # the student's copy is a click away, and is there
        download = page.locator("a[download]").first.get_attribute("href")
        assert (site / "lessons" / download).resolve() == (
            site / site_build.DOWNLOADS / lesson.name).resolve(), download
        assert (site / site_build.DOWNLOADS / lesson.name).is_file()
        # a wide figure opens full size on a click, and closes on another
        images.first.click()
        assert page.locator(".dlcourse-enlarged img").count() == 1
        page.locator(".dlcourse-enlarged").click()
        assert page.locator(".dlcourse-enlarged").count() == 0
        # a long output is folded, and its button opens it
        folded = page.locator(".dlcourse-folded")
        if folded.count():
            before = folded.count()
            box = folded.first.element_handle()  # this box, not whichever is folded first next
            height = box.evaluate("(box) => box.clientHeight")
            page.locator("button.dlcourse-unfold").first.click()
            assert folded.count() == before - 1
            assert box.evaluate("(box) => box.clientHeight") > height
            assert page.locator("button.dlcourse-unfold").first.inner_text() == "Fold"
        assert not visit.remote, f"the page asked the network for {visit.remote}"
        assert not visit.script_errors, visit.script_errors
    finally:
        visit.close()
