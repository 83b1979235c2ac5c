"""Run a model in a real browser: ONNX Runtime Web in headless Chromium, served on loopback.

Taught in lesson 05 (``notebooks/05_deployment.ipynb``, "The model in a browser"), where
the digits model's ONNX file is classified by a web page and the page's predictions are
compared with the framework's::

    if browser.ready():
        run = browser.classify_in_browser(onnx_path, test.x, test.y)
        run.logits, run.predictions, run.served, run.blocked

The pieces, each replaceable:

- **The page** (``deploy/browser/``: ``index.html`` and ``classify.mjs``) loads an ONNX
  file with ONNX Runtime Web's WebAssembly backend, one thread, runs one batch, draws the
  digits with their predicted labels and leaves the numbers in ``window.dlcourseResult``.
  Its JavaScript packages come from ``deploy/browser/package-lock.json`` (``npm ci
  --prefix deploy/browser``, run by ``make env``), never from a CDN.
- :class:`StaticServer` serves folders over HTTP on ``127.0.0.1`` (a port the operating
  system picks) from a thread, with the MIME types a module script and WebAssembly need.
- :func:`classify_in_browser` copies the model and the images into a temporary folder,
  serves it beside the page, and drives Chromium with Playwright: every request that is
  not for the loopback server is aborted and recorded (``blocked``), so a page that
  reached for a CDN would show it. Playwright's synchronous API refuses to run inside a
  running event loop (a Jupyter kernel has one), so it runs in a worker thread.
- Chromium is Debian's ``/usr/bin/chromium`` (``apt-get install chromium``) or whatever
  ``DLCOURSE_CHROMIUM`` names (Google Chrome on a Mac, for instance); Playwright's own
  browser download is never used.

:func:`missing` says what of this is absent and how to get it; :func:`ready` prints that
and returns ``False``, except where ``CI`` is set in the environment: there it raises,
because CI must run the browser.

:func:`tensorflowjs_conflicts` reads why TensorFlow.js's converter (``tensorflowjs`` on
PyPI) is not in the course's environment: its published requirements, recorded below,
checked against the versions installed here.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import shutil
import tempfile
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path

import numpy as np

LOOPBACK = "127.0.0.1"
REPO = Path(__file__).resolve().parents[2]
#: The page and its npm project (``DLCOURSE_BROWSER_PAGE`` names another folder).
PAGE_DIR = Path(os.environ.get("DLCOURSE_BROWSER_PAGE") or REPO / "deploy" / "browser")
ORT_WEB = Path("node_modules") / "onnxruntime-web" / "dist" / "ort.wasm.min.mjs"


def _chromium() -> str:
    for candidate in (os.environ.get("DLCOURSE_CHROMIUM"), shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate:
            return candidate
    return "/usr/bin/chromium"


CHROMIUM = _chromium()
CI = bool(os.environ.get("CI"))
# Headless Chromium without a network (the flags of tests/chromium.py): without them it
# waits on refused connections. Chromium's own sandbox refuses to run as root.
CHROMIUM_ARGS = [
    "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    *(["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
]

MIME_TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
              ".json": "application/json", ".onnx": "application/octet-stream",
              ".html": "text/html", ".map": "application/json"}


class BrowserMissing(RuntimeError):
    """The browser path cannot run here: Chromium, Playwright or the npm packages lack."""


class PageFailed(RuntimeError):
    """The page ran, and reported an error (its message and console are included)."""


def missing() -> list[str]:
    """What the browser path needs and does not find, each with how to get it."""
    what = []
    if find_spec("playwright") is None:
        what.append("the Python package playwright (it is in the course's requirements.txt: "
                    "pip install -r requirements.txt)")
    if not os.access(CHROMIUM, os.X_OK):
        what.append(f"Chromium at {CHROMIUM} (Debian and Ubuntu: apt-get install chromium; "
                    "on a Mac or Windows, set DLCOURSE_CHROMIUM to the path of Google Chrome "
                    "or Chromium)")
    if not (PAGE_DIR / ORT_WEB).is_file():
        what.append(f"ONNX Runtime Web in {PAGE_DIR / 'node_modules'} (npm ci --prefix "
                    f"{_shown(PAGE_DIR)}, which make env runs where npm is installed; npm "
                    "comes with Node.js)")
    return what


def ready() -> bool:
    """Whether the browser path can run; if not, print what is missing and return ``False``.

    With ``CI`` set in the environment a missing piece raises :class:`BrowserMissing`
    instead: the course's tests must run the browser.
    """
    absent = missing()
    if not absent:
        return True
    message = "The browser cells are skipped: missing " + "; ".join(absent) + "."
    if CI:
        raise BrowserMissing(message + " (CI is set, so they must run.)")
    print(message)
    return False


def _shown(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    with contextlib.suppress(ValueError):
        return str(path.relative_to(REPO))
    return str(path)


def page_excerpt() -> str:
    """The lines of the page's script that load and run the model (between its markers),
    after the line that imports ONNX Runtime Web: what a lesson shows of the JavaScript."""
    lines = (PAGE_DIR / "classify.mjs").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if "-- the model:" in line)
    end = next(i for i, line in enumerate(lines) if "-- end of the model --" in line)
    imports = [line for line in lines if line.startswith("import ")]
    return "\n".join([*imports, "// ...", *(line[2:] for line in lines[start + 1:end])])


# -- a static server on loopback ----------------------------------------------------------


class _Handler(SimpleHTTPRequestHandler):
    """Serves the server's mounts (URL prefix -> folder); records each path it is asked for."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

    def translate_path(self, path: str) -> str:
        path = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
        path = posixpath.normpath(path) + ("/" if path.endswith("/") else "")
        for prefix, folder in self.server.mounts:
            if path == prefix.rstrip("/") or path.startswith(prefix):
                relative = path[len(prefix):].lstrip("/")
                target = (folder / relative).resolve()
                if target == folder or folder in target.parents:
                    return str(target)
        return str(Path(self.server.nowhere) / "missing")

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # a rerun sees the new model
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base's name
        self.server.log.append(format % args)

    def send_head(self):
        self.server.requests.append(urllib.parse.urlsplit(self.path).path)
        return super().send_head()


class StaticServer:
    """Serve folders over HTTP on loopback from a daemon thread; a context manager.

    ``mounts`` maps URL prefixes (``"/"``, ``"/files/"``) to folders; the longest prefix
    wins. ``requests`` lists every path asked for, ``log`` the server's log lines.
    """

    def __init__(self, mounts: dict[str, str | os.PathLike], host: str = LOOPBACK):
        self.mounts = sorted(((prefix, Path(folder).resolve()) for prefix, folder
                              in mounts.items()), key=lambda item: -len(item[0]))
        self.host = host
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._nowhere: tempfile.TemporaryDirectory | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the server is not running")
        return f"http://{self.host}:{self._server.server_address[1]}"

    @property
    def requests(self) -> list[str]:
        return self._server.requests if self._server is not None else []

    def start(self) -> StaticServer:
        self._nowhere = tempfile.TemporaryDirectory(prefix="dlcourse-nowhere-")
        server = ThreadingHTTPServer((self.host, 0), partial(_Handler))
        server.daemon_threads = True
        server.mounts, server.nowhere = self.mounts, self._nowhere.name
        server.requests, server.log = [], []
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True,
                                        name=f"static-{server.server_address[1]}")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self.last_requests = list(self._server.requests)
        if self._thread is not None:
            self._thread.join(10)
        if self._nowhere is not None:
            self._nowhere.cleanup()
        self._server = self._thread = self._nowhere = None

    def __enter__(self) -> StaticServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


# -- the page in Chromium -----------------------------------------------------------------


@dataclass
class BrowserRun:
    """What the page computed, and what it asked for."""

    logits: np.ndarray          # (n, classes), float32, as ONNX Runtime Web returned them
    probabilities: np.ndarray   # the page's softmax of each row
    predictions: np.ndarray     # the page's argmax of each row
    run_ms: float               # the page's session.run, in milliseconds
    load_ms: float              # creating the session (fetching and compiling the model)
    threads: int                # ONNX Runtime Web's WebAssembly threads
    ort_version: str
    user_agent: str
    served: list[str] = field(default_factory=list)   # paths the loopback server served
    blocked: list[str] = field(default_factory=list)  # requests elsewhere, aborted
    console: list[str] = field(default_factory=list)  # the page's console messages
    screenshot: Path | None = None


def classify_in_browser(model_path: str | os.PathLike, images, labels=None, *,
                        screenshot: str | os.PathLike | None = None,
                        timeout_s: float = 120.0) -> BrowserRun:
    """Classify ``images`` (n x features, values as the model expects) with the ONNX file
    ``model_path`` in headless Chromium, on the page of ``deploy/browser``.

    ``labels`` (optional) are drawn next to the predictions; ``screenshot`` names a PNG
    file for the whole page. Raises :class:`BrowserMissing` when a piece is missing and
    :class:`PageFailed` when the page reports an error.
    """
    absent = missing()
    if absent:
        raise BrowserMissing("missing " + "; ".join(absent))
    images = np.ascontiguousarray(images, dtype=np.float32)
    if images.ndim != 2:
        raise ValueError(f"images must be a 2-D batch (n, features), got {images.shape}")
    with tempfile.TemporaryDirectory(prefix="dlcourse-browser-") as folder:
        files = Path(folder)
        shutil.copyfile(model_path, files / "model.onnx")
        payload = {"shape": list(images.shape), "pixels": images.ravel().tolist(),
                   "labels": None if labels is None else [int(y) for y in labels]}
        (files / "images.json").write_text(json.dumps(payload))
        with StaticServer({"/": PAGE_DIR, "/files/": files}) as server:
            url = f"{server.url}/index.html?model=/files/model.onnx&images=/files/images.json"
            with ThreadPoolExecutor(1) as pool:  # Playwright's sync API needs a thread
                raw, console, blocked = pool.submit(
                    _drive, url, server.url, timeout_s, screenshot).result()
            served = list(server.requests)
    return BrowserRun(
        logits=np.asarray(raw["logits"], dtype=np.float32),
        probabilities=np.asarray(raw["probabilities"], dtype=np.float64),
        predictions=np.asarray(raw["predictions"], dtype=np.int64),
        run_ms=float(raw["runMs"]), load_ms=float(raw["loadMs"]),
        threads=int(raw["numThreads"]), ort_version=str(raw["ortVersion"]),
        user_agent=str(raw["userAgent"]), served=served, blocked=blocked, console=console,
        screenshot=Path(screenshot) if screenshot else None)


def _drive(url: str, origin: str, timeout_s: float, screenshot) -> tuple[dict, list, list]:
    from playwright.sync_api import sync_playwright

    console: list[str] = []
    blocked: list[str] = []

    def only_loopback(route) -> None:
        if route.request.url.startswith(origin + "/"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS, timeout=timeout_s * 1000)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 400})  # full_page grows it
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
            page.route("**/*", only_loopback)
            page.goto(url, timeout=timeout_s * 1000)
            page.wait_for_function(
                "() => window.dlcourseResult !== undefined || window.dlcourseError !== undefined",
                timeout=timeout_s * 1000)
            error = page.evaluate("() => window.dlcourseError ?? null")
            if error:
                raise PageFailed(f"the page failed: {error}\nconsole: {console}\n"
                                 f"blocked: {blocked}")
            result = page.evaluate("() => window.dlcourseResult")
            if screenshot:
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return result, console, blocked


# -- why TensorFlow.js's converter is not in the environment ------------------------------

#: Published requirements (``Requires-Dist`` of the wheels on PyPI, read 2026-12) of
#: ``tensorflowjs``: its newest release, and the one pip's resolver settles on under the
#: course's pins (``pip install --dry-run tensorflowjs -c requirements.txt``); and of the
#: newest ``tensorflow-decision-forests``, which tensorflowjs 4.22.0 requires.
PUBLISHED_REQUIREMENTS = {
    "tensorflowjs 4.22.0": [
        "flax>=0.7.2", "importlib_resources>=5.9.0", "jax>=0.4.13", "jaxlib>=0.4.13",
        "tensorflow>=2.13.0,<3", "tf-keras>=2.13.0", "tensorflow-decision-forests>=1.5.0",
        "six>=1.16.0,<2", "tensorflow-hub>=0.16.1", "packaging~=23.1"],
    "tensorflow-decision-forests 1.12.0": [
        "numpy", "pandas", "tensorflow==2.19.0", "six", "absl_py", "wheel", "wurlitzer",
        "tf_keras~=2.19", "ydf>=0.11.0"],
    "tensorflowjs 3.15.0": [
        "tensorflow>=2.1.0,<3", "six>=1.12.0,<2", "tensorflow-hub>=0.7.0,<0.13"],
}
#: What tensorflowjs 3.15.0 does on import (tensorflowjs/read_weights.py, line 28), which
#: its requirements do not show: it uses ``np.object``, an alias NumPy 1.24 removed.
TENSORFLOWJS_315_USES = "np.object"


def installed(name: str) -> str | None:
    """The installed version of a distribution, or ``None``."""
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def tensorflowjs_conflicts() -> list[str]:
    """Each way ``tensorflowjs`` fails to join this environment, read from it now.

    For every recorded release, each published requirement that an *installed* package
    does not satisfy; and, for 3.15.0 (whose requirements do hold), whether this NumPy
    still has the alias its code uses. Empty when nothing conflicts.
    """
    from packaging.requirements import Requirement

    found = []
    for release, requirements in PUBLISHED_REQUIREMENTS.items():
        for text in requirements:
            requirement = Requirement(text)
            have = installed(requirement.name)
            if have is not None and requirement.specifier and \
                    not requirement.specifier.contains(have, prereleases=True):
                found.append(f"{release} requires {text}; installed: {requirement.name} {have}")
    if "object" not in vars(np):  # np.object: gone since NumPy 1.24
        found.append(f"tensorflowjs 3.15.0 (whose requirements hold) uses "
                     f"{TENSORFLOWJS_315_USES}, which NumPy {np.__version__} no longer has: "
                     "importing it raises AttributeError")
    return found


__all__ = ["BrowserMissing", "BrowserRun", "CHROMIUM", "CHROMIUM_ARGS", "PageFailed",
           "PUBLISHED_REQUIREMENTS", "StaticServer", "classify_in_browser", "installed",
           "missing", "page_excerpt", "ready", "tensorflowjs_conflicts"]
