"""The files made from the lock and from Colab's runtime; never edit them by hand.

After ``uv lock`` (``make lock`` runs both), this writes:

- ``requirements.txt``: uv.lock exported for pip, universal (markers per platform, hashes):
  the course's whole environment on Linux x86_64/aarch64, macOS arm64 and Windows x86_64,
  Python 3.11 to 3.13 (``make env`` installs it; so does environment.yml);
- ``constraints/colab.txt``: Colab's version of every package the course shares with Colab
  (from Colab's published ``pip freeze``, constraints/colab-pip-freeze.txt), but for the
  few that cannot join the grader's environment (``NOT_FROM_COLAB``, each with why);
- ``constraints/oldest.txt``: the second environment of ``make test``: Python 3.13 on
  Linux x86_64 (Colab's), every direct dependency at its lower bound
  (``--resolution lowest-direct``), Colab's versions of what is shared, resolved against the
  package index as it was at the date in its header (``--exclude-newer``), so it is remade
  the same while that date stays.

``python constraints/lock.py --check`` writes nothing and exits 1 when a file differs from
what would be written (tests/test_lock.py): requirements.txt and colab.txt offline, oldest.txt
with the package index (its date makes the answer stable).
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: A copy of Colab's published `pip freeze` (googlecolab/backend-info, "Upgrade to Python
#: 3.13", 2026-08-19: Python 3.13, torch 2.11, TensorFlow 2.20, JAX 0.7.2); replace it to
#: follow Colab, then `make lock`.
COLAB_FREEZE = REPO / "constraints" / "colab-pip-freeze.txt"
REQUIREMENTS = REPO / "requirements.txt"
COLAB = REPO / "constraints" / "colab.txt"
OLDEST = REPO / "constraints" / "oldest.txt"

#: What `make env` installs: everything but the GPU builds (`cuda` replaces `lessons`).
EXTRAS = ("lessons", "lab", "grader", "hub", "site", "dev")
#: The second environment: lessons under nbval, quizzes graded, the GPU check.
OLDEST_EXTRAS = ("lessons", "lab", "grader", "dev")
OLDEST_PYTHON = "3.13"
OLDEST_PLATFORM = "x86_64-manylinux_2_28"

#: Packages of Colab's runtime that the second environment does not take at Colab's version.
NOT_FROM_COLAB = {
    "ipython": "nbgrader 0.9 (Validate, the grader) needs IPython 8.10 or later; Colab has 7.34",
    "notebook": "nbgrader 0.9 needs Notebook 7; Colab has 6.5 (its own front-end uses neither)",
    "nvidia-*": "torch 2.11.0 from the package index (the stand-in for Colab's +cpu build) "
                "pins its own CUDA libraries; Colab's CPU build needs none",
}

REQUIREMENTS_HEADER = """\
# The course's environment, exported from uv.lock: never edit by hand.
# Regenerate with `make lock` (uv lock, then python constraints/lock.py).
# Universal: Linux x86_64/aarch64, macOS 14+ arm64, Windows x86_64; Python 3.11.5 to 3.13.
# Extras: {extras} (the GPU builds: README, "Set-up").
"""

COLAB_HEADER = """\
# Colab's versions of the packages the course shares with Colab, from Colab's published
# pip freeze (constraints/colab-pip-freeze.txt): never edit by hand.
# Regenerate with `make lock` (python constraints/lock.py). Not taken from Colab:
{excluded}"""

OLDEST_HEADER = """\
# The oldest environment the ranges allow (make test's second run): Python {python} on
# Linux x86_64, every direct dependency at its lower bound, Colab's versions of what the
# course shares with Colab (constraints/colab.txt). Never edit by hand.
# Regenerate with `make lock` (python constraints/lock.py); to move the date on:
# python constraints/lock.py --exclude-newer now
# exclude-newer: {date}
"""


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def uv() -> str:
    """uv from this environment (the dev extra installs it), else from PATH."""
    here = Path(sys.executable).parent / ("uv.exe" if os.name == "nt" else "uv")
    found = str(here) if here.exists() else shutil.which("uv")
    if not found:
        sys.exit("uv not found: it comes with the dev extra (make env)")
    return found


def run_uv(*args: str, offline: bool = False) -> str:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}
    command = [uv(), *args, *(["--offline"] if offline else [])]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    return done.stdout


def requirements_text() -> str:
    extras = [arg for extra in EXTRAS for arg in ("--extra", extra)]
    body = run_uv("export", "--frozen", "--no-emit-project", "--no-header", *extras,
                  offline=True)
    return REQUIREMENTS_HEADER.format(extras=", ".join(EXTRAS)) + body


def colab_versions(freeze: Path = COLAB_FREEZE) -> dict[str, str]:
    """name -> version of Colab's pip freeze; a wheel URL's version loses its local part
    (torch 2.11.0+cpu -> 2.11.0: the package index's build stands in for it)."""
    versions = {}
    for line in freeze.read_text().splitlines():
        line = line.strip()
        if match := re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*==\s*(\S+)", line):
            versions[norm(match[1])] = match[2]
        elif match := re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*@\s*\S+/([^/]+)\.whl", line):
            version = match[2].split("-")[1].replace("%2B", "+")
            versions[norm(match[1])] = version.split("+")[0]
    return versions


def excluded(name: str) -> bool:
    return any(name == pattern or (pattern.endswith("*") and name.startswith(pattern[:-1]))
               for pattern in NOT_FROM_COLAB)


def locked_names() -> set[str]:
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    return {norm(package["name"]) for package in lock["package"]}


def pinned(text: str) -> dict[str, str]:
    """name -> version of a requirements file's `name==version` lines."""
    return {norm(m[1]): m[2] for m in re.finditer(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", text, re.M)}


def colab_text(names: set[str], colab: dict[str, str]) -> str:
    lines = [f"{name}=={colab[name]}" for name in sorted(names & set(colab)) if not excluded(name)]
    notes = "".join(f"#   {name}: {why}\n" for name, why in NOT_FROM_COLAB.items())
    return COLAB_HEADER.format(excluded=notes) + "\n".join(lines) + "\n"


def oldest_text(colab_file: Path, date: str) -> str:
    extras = [arg for extra in OLDEST_EXTRAS for arg in ("--extra", extra)]
    body = run_uv("pip", "compile", "pyproject.toml", *extras, "--resolution", "lowest-direct",
                  "--python-version", OLDEST_PYTHON, "--python-platform", OLDEST_PLATFORM,
                  "--constraint", str(colab_file.relative_to(REPO)), "--exclude-newer", date,
                  "--no-header", "--quiet")
    return OLDEST_HEADER.format(python=OLDEST_PYTHON, date=date) + body


def oldest_date(text: str) -> str | None:
    match = re.search(r"^# exclude-newer: (\S+)$", text, re.M)
    return match[1] if match else None


def generate(date: str | None) -> dict[Path, str]:
    """Every derived file's content. colab.txt covers the packages of uv.lock and of the
    oldest environment (which can need a package the lock does not): resolve, add what
    is new, resolve again until nothing is."""
    if date is None or date == "now":
        date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    colab = colab_versions()
    names = locked_names()
    while True:
        colab_file = COLAB.with_suffix(".next")
        colab_file.write_text(colab_text(names, colab))
        try:
            oldest = oldest_text(colab_file, date)
        finally:
            colab_file.unlink()
        more = set(pinned(oldest)) - names
        if not more & set(colab):
            names |= more
            break
        names |= more
    return {REQUIREMENTS: requirements_text(), COLAB: colab_text(names, colab),
            OLDEST: oldest.replace(str(colab_file.relative_to(REPO)),
                                   str(COLAB.relative_to(REPO)))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a file is not what it would be")
    parser.add_argument("--exclude-newer", metavar="DATE",
                        help="the package index's date for oldest.txt (default: the date "
                             "oldest.txt has, or now; 'now' moves it on)")
    args = parser.parse_args(argv)
    date = args.exclude_newer or (oldest_date(OLDEST.read_text()) if OLDEST.exists() else None)
    files = generate(date)
    stale = []
    for path, text in files.items():
        current = path.read_text() if path.exists() else ""
        if current == text:
            continue
        stale.append(path)
        if args.check:
            diff = difflib.unified_diff(current.splitlines(), text.splitlines(),
                                        str(path.relative_to(REPO)), "expected", lineterm="", n=1)
            print("\n".join(list(diff)[:40]))
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(REPO)}")
    if args.check and stale:
        print(f"stale: {', '.join(str(p.relative_to(REPO)) for p in stale)}; run `make lock`")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
