"""Debian's Chromium for the browser tests (tests/test_browser.py, tests/test_site.py).

Playwright drives the ``chromium`` that apt installs (Playwright's own browser download is
not used); ``DLCOURSE_CHROMIUM`` names another executable. Without it a browser test is
skipped, unless ``CI`` is set: CI must run it (``.ci/run`` installs ``chromium``).
"""

from __future__ import annotations

import os
import shutil

CHROMIUM = os.environ.get("DLCOURSE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CI = bool(os.environ.get("CI"))

# Headless Chromium without a network: without these it waits on refused connections.
# Playwright gives it a fresh profile (--user-data-dir) of its own.
CHROMIUM_ARGS = [
    "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    *(["--no-sandbox"] if os.geteuid() == 0 else []),  # Chromium's sandbox refuses root
]


def chromium_found() -> bool:
    """Whether the Chromium executable is there to run."""
    return os.access(CHROMIUM, os.X_OK)
