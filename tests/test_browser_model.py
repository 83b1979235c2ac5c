"""Lesson 05's model in a real browser (dlcourse.browser, deploy/browser/).

- The static server serves its mounts on loopback, with the MIME types a module script
  and WebAssembly need, and nothing outside them.
- The page, in headless Chromium with ONNX Runtime Web from ``deploy/browser``'s
  ``node_modules``, classifies a batch with a small exported model, and its logits,
  probabilities and predictions match ONNX Runtime's and PyTorch's in Python; it asks
  for nothing but the loopback server.
- What is missing is said, and ``CI`` turns a skip into a failure.
- Why TensorFlow.js's converter is not installed is read from this environment.

Without Chromium (or Playwright, or ``npm ci --prefix deploy/browser``) the browser test
is skipped, unless ``CI`` is set: CI must run it.
"""

from __future__ import annotations

import urllib.error
import urllib.request

import numpy as np
import pytest

from dlcourse import browser


def fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, "", b""


def test_static_server_serves_its_mounts_and_nothing_else(tmp_path):
    page, files, secret = tmp_path / "page", tmp_path / "files", tmp_path / "secret.txt"
    page.mkdir()
    files.mkdir()
    (page / "index.html").write_text("<p>hi</p>")
    (page / "app.mjs").write_text("export const x = 1;")
    (page / "runtime.wasm").write_bytes(b"\0asm")
    (files / "model.onnx").write_bytes(b"model")
    secret.write_text("not for the page")
    with browser.StaticServer({"/": page, "/files/": files}) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert fetch(server.url + "/index.html")[:2] == (200, "text/html")
        assert fetch(server.url + "/app.mjs")[1] == "text/javascript"
        assert fetch(server.url + "/runtime.wasm")[1] == "application/wasm"
        assert fetch(server.url + "/files/model.onnx?v=1")[2] == b"model"
        assert fetch(server.url + "/files/missing.onnx")[0] == 404
        assert fetch(server.url + "/../secret.txt")[0] == 404
        assert fetch(server.url + "/files/%2e%2e/%2e%2e/secret.txt")[0] == 404
        assert "/files/model.onnx" in server.requests
        url = server.url
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/index.html", timeout=2)


def test_missing_names_each_piece_and_ci_makes_it_an_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(browser, "CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.setattr(browser, "PAGE_DIR", tmp_path)
    absent = browser.missing()
    assert any("Chromium" in what for what in absent)
    assert any("npm ci --prefix" in what for what in absent)
    monkeypatch.setattr(browser, "CI", False)
    assert browser.ready() is False
    assert "skipped" in capsys.readouterr().out
    monkeypatch.setattr(browser, "CI", True)
    with pytest.raises(browser.BrowserMissing, match="CI is set"):
        browser.ready()
    with pytest.raises(browser.BrowserMissing):
        browser.classify_in_browser(tmp_path / "model.onnx", np.zeros((1, 64)))


def test_the_page_script_shows_its_model_code():
    excerpt = browser.page_excerpt()
    assert excerpt.startswith("import * as ort from ")
    assert "InferenceSession.create" in excerpt and "numThreads = 1" in excerpt


def test_tensorflowjs_conflicts_are_read_from_this_environment():
    conflicts = browser.tensorflowjs_conflicts()
    if browser.installed("tensorflowjs") is None:
        assert conflicts, "tensorflowjs is not installed, and no reason was found"
    for line in conflicts:
        assert line.startswith(("tensorflowjs", "tensorflow-decision-forests"))


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    torch = pytest.importorskip("torch")
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.ReLU(),
                                torch.nn.Linear(16, 10)).eval()
    images = torch.rand(50, 64)
    path = tmp_path_factory.mktemp("browser-model") / "small.onnx"
    torch.onnx.export(model, (images[:4],), dynamo=True, verbose=False,
                      input_names=["pixels"], output_names=["logits"],
                      dynamic_shapes=({0: "batch"},)).save(path)
    with torch.inference_mode():
        torch_logits = model(images).numpy()
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    ort_logits = session.run(None, {"pixels": images.numpy()})[0]
    return path, images.numpy(), torch_logits, ort_logits


def test_the_page_classifies_like_the_framework(small_model, tmp_path):
    absent = browser.missing()
    if absent and not browser.CI:
        pytest.skip("missing " + "; ".join(absent))
    path, images, torch_logits, ort_logits = small_model
    labels = torch_logits.argmax(1)
    shot = tmp_path / "page.png"
    run = browser.classify_in_browser(path, images, labels, screenshot=shot)

    assert run.logits.shape == (50, 10)
    np.testing.assert_allclose(run.logits, ort_logits, atol=1e-5)
    np.testing.assert_allclose(run.logits, torch_logits, atol=1e-4)
    assert (run.predictions == torch_logits.argmax(1)).all()
    z = np.exp(torch_logits - torch_logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(run.probabilities, z / z.sum(axis=1, keepdims=True), atol=1e-5)
    assert run.threads == 1 and run.ort_version and "Chrome" in run.user_agent
    assert run.blocked == [], run.blocked  # nothing but the loopback server was asked for
    assert "/files/model.onnx" in run.served
    assert any(p.endswith(".wasm") and p.startswith("/node_modules/onnxruntime-web/")
               for p in run.served), run.served
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_page_error_is_reported(tmp_path):
    absent = browser.missing()
    if absent and not browser.CI:
        pytest.skip("missing " + "; ".join(absent))
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"this is not an ONNX file")
    with pytest.raises(browser.PageFailed, match="the page failed"):
        browser.classify_in_browser(broken, np.zeros((2, 64), np.float32), timeout_s=60)
