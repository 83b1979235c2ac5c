"""Set up and start the course's JupyterHub on this machine (`make hub`; README, "Running a class").

    python deploy/jupyterhub/hub.py setup [--python PY] [folders]
    python deploy/jupyterhub/hub.py add-user NAME --role student|instructor [--password PW]
    python deploy/jupyterhub/hub.py start [--url http://127.0.0.1:8000] [folders]

Run with the course environment's Python (``.venv/bin/python``), as root: JupyterHub's
``LocalProcessSpawner`` starts each person's server as that person.

Who can read what holds by the folders' own modes, whatever the files in them are
given later (a umask of 022, nbgrader's 0644 copies):

- the **course folder** (``--course``, /srv/dlcourse): the instructors' copy of the
  course (solutions, keys, gradebook, submissions, feedback, exports). It belongs to the
  Unix account ``dlcourse-grader`` and is 0700: nobody else can enter it. Instructors
  work in it through the hub's service ``dlcourse`` (``/services/dlcourse/``), a
  JupyterLab with the formgrader and a terminal running as that account, which every
  member of the group ``dlcourse-instructors`` may open (nbgrader's set-up for several
  graders of one course). Set-up copies into it what it lacks of the repository's course
  (``nbgrader_config.py``, ``source/``, ``release/``, ``quizzes/``), never overwriting.
- the **class's software** (``--share``, /opt/dlcourse): root's, readable by everyone:
  ``env/``, a Python environment built from the course's ``.venv`` (the same packages,
  hard-linked where the disk allows) with the course package installed into it (not the
  editable install, whose files stay in the repository) and this folder's
  ``dlcourse_hub`` module, on an interpreter every user can run (where the course
  environment's is in a folder others cannot enter, pyenv's under /root, a copy of it in
  ``python/``); ``config/`` (each kind of server's Jupyter configuration), ``lessons/``
  (the students' copies; each person's server copies into ``~/lessons`` those they do
  not have yet) and ``browser/`` (lesson 05's page).
- the **exchange** (``--exchange``, /srv/nbgrader/exchange): 1777 as nbgrader wants its
  root, and the course's folder in it made here, owned by the grader, with nbgrader's
  modes (``inbound`` 2733, ``outbound`` 0755, ``feedback`` 0711), so that no student
  can claim it first; submissions are readable by their author and the grader only.
- the **hub's state** (``--state``, /srv/dlcourse-hub): root's only (cookie secret).

The repository itself (with ``.venv``, solutions and keys) stays root's: clone it where
others cannot enter (``/root/dlcourse``); ``setup`` warns when they can.

``setup`` ends by checking, as the user ``nobody`` (anyone) and as the grader, that the
class's interpreter runs and imports the course package and what the servers need; it
stops with what to fix when not. Run it again after changing the course's code or
environment: it rebuilds the class's environment when they changed.
"""

from __future__ import annotations

import argparse
import grp
import hashlib
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
COURSE_ROOT = HERE.parent.parent
COURSE_ID = "dlcourse"
GROUPS = {"student": "dlcourse-students", "instructor": "dlcourse-instructors"}
GRADER = "dlcourse-grader"
#: The hub group whose members may open the course's service (nbgrader's naming:
#: ``formgrade-<course>``); the authenticator fills it from the Unix group of instructors.
GRADERS_HUB_GROUP = f"formgrade-{COURSE_ID}"
DEFAULT_STATE = Path("/srv/dlcourse-hub")
DEFAULT_EXCHANGE = Path("/srv/nbgrader/exchange")
DEFAULT_COURSE = Path("/srv/dlcourse")
DEFAULT_SHARE = Path("/opt/dlcourse")
GRADER_HOME = Path("/var/lib/dlcourse-grader")
#: What the repository's course holds that the instructors' course folder starts from.
COURSE_CONTENT = ("nbgrader_config.py", "source", "release", "quizzes")
#: What every server imports at start: the check runs exactly this as other users.
SERVER_IMPORTS = ("dlcourse", "dlcourse.grading.validate", "dlcourse.grading.store.canvas",
                  "dlcourse_hub", "nbgrader.apps", "jupyterhub.singleuser", "jupyterlab")
FINGERPRINT = ".dlcourse-fingerprint"


class SetupError(SystemExit):
    """Set-up cannot go on; the message says what to fix."""

    def __init__(self, message: str):
        super().__init__(f"hub.py setup: {message}")


def _need_root() -> None:
    if os.geteuid() != 0:
        sys.exit("this needs root (JupyterHub starts each person's server as that Unix user): "
                 "run it with sudo, or as root")


def _say(message: str) -> None:
    print(f"hub.py: {message}", flush=True)


# --- who can reach what ---------------------------------------------------------------

def blocked_for_others(path: Path, *, execute: bool = False) -> Path | None:
    """The first folder on the way to ``path`` that other users cannot enter, or the file
    itself where they cannot read (or run, with ``execute``) it; None when they can."""
    path = Path(os.path.realpath(path))
    for folder in [*reversed(path.parents)]:
        if not folder.stat().st_mode & stat.S_IXOTH:
            return folder
    mode = path.stat().st_mode
    if path.is_dir():
        return None if mode & stat.S_IXOTH and mode & stat.S_IROTH else path
    needed = stat.S_IXOTH if execute else stat.S_IROTH
    return None if mode & needed else path


def _mode(path: Path) -> str:
    info = path.stat()
    owner = pwd.getpwuid(info.st_uid).pw_name if info.st_uid >= 0 else info.st_uid
    return f"{stat.filemode(info.st_mode)} {owner}"


def _version_of(python: Path) -> tuple[int, int, int]:
    done = subprocess.run([str(python), "-c", "import sys; print(*sys.version_info[:3])"],
                          capture_output=True, text=True, check=True)
    major, minor, micro = (int(part) for part in done.stdout.split())
    return major, minor, micro


def _candidates(minor: tuple[int, int]) -> list[Path]:
    """Interpreters of Python ``minor`` on this machine that every user can run."""
    name = f"python{minor[0]}.{minor[1]}"
    found = []
    for folder in ("/usr/local/bin", "/usr/bin", "/opt/python/bin"):
        path = Path(folder) / name
        if path.is_file() and blocked_for_others(path, execute=True) is None:
            found.append(path)
    return found


# --- the class's environment ------------------------------------------------------------

def course_environment() -> Path:
    """The course's environment: the one running this script (``.venv``)."""
    if sys.prefix == sys.base_prefix:
        raise SetupError("run it with the course environment's Python: "
                         ".venv/bin/python deploy/jupyterhub/hub.py setup")
    return Path(sys.prefix)


def _base_python_of(env: Path) -> Path | None:
    """The interpreter an environment was made from (its ``pyvenv.cfg``), if it has one."""
    config = env / "pyvenv.cfg"
    if not config.is_file():
        return None
    values = dict(line.split("=", 1) for line in config.read_text().splitlines() if "=" in line)
    values = {key.strip(): value.strip() for key, value in values.items()}
    if "executable" in values:
        return Path(values["executable"])
    if "home" in values:
        return Path(values["home"]) / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return None


def _check_interpreter(python: Path, *, named: bool) -> Path:
    """``python`` if every user can run it and it is a Python the course supports, of the
    course environment's version; else stop and say why."""
    wanted = sys.version_info[:2]
    python = Path(python).absolute()
    if not python.is_file():
        raise SetupError(f"no Python at {python}")
    blocked = blocked_for_others(python, execute=True)
    if blocked is not None:
        raise SetupError(
            f"{python} cannot be run by other users: {blocked} is {_mode(blocked)}. The "
            f"class's servers run as each person; name a Python {wanted[0]}.{wanted[1]} "
            f"every user can run{' with --python' if named else ''}.")
    version = _version_of(python)
    spec = _requires_python(COURSE_ROOT)
    if version[:2] != wanted or not _allows(spec, version):
        found = [path for path in _candidates(wanted)
                 if _allows(spec, _version_of(path)) and path != python]
        raise SetupError(
            f"{python} is Python {'.'.join(map(str, version))}; the class's environment "
            f"needs the course environment's {wanted[0]}.{wanted[1]} within the course's "
            f"requires-python ({spec}): its packages are installed for that, and some fail "
            "on an older patch release (soupsieve, whose error breaks the formgrader's pages)"
            + (f". {found[0]} would do" if found else
               ". Leave --python out: setup then copies the course environment's own"))
    return python


def choose_python(given: Path | None, share: Path) -> Path:
    """The interpreter the class's environment is made from, one every user can run:
    ``--python``; else the one the class's environment already has (a ``--python`` of
    an earlier run); else the course environment's own, where every user can run it;
    else a copy of that one in ``share/python`` (:func:`copy_interpreter`)."""
    if given is not None:
        return _check_interpreter(given, named=True)
    copy = share / "python" / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    current = _base_python_of(share / "env")
    if current is not None and current != copy and current.is_file():
        try:
            return _check_interpreter(current, named=True)
        except SetupError:
            pass  # that one no longer does: choose again
    own = Path(getattr(sys, "_base_executable", "") or sys.executable)
    blocked = blocked_for_others(own, execute=True)
    if blocked is None:
        return _check_interpreter(own, named=False)
    _say(f"the course environment's Python, {own}, cannot be run by other users ({blocked} "
         f"is {_mode(blocked)}): it is copied into {copy.parents[1]} for them")
    return copy_interpreter(Path(sys.base_prefix), Path(os.path.realpath(own)), share / "python")


def _patch_runpath(binary: Path, old_lib: Path) -> bool:
    """Point the ``RUNPATH`` of ``binary`` (a copy) from ``old_lib`` to ``$ORIGIN/../lib``,
    in place: the string in its dynamic string table, NUL-padded. False when it holds no
    such entry (a static build needs none); a ``SetupError`` when it cannot be told."""
    data = binary.read_bytes()
    old, new = str(old_lib).encode() + b"\0", b"$ORIGIN/../lib"
    count = data.count(old)
    if count == 0:
        return False
    if count > 1 or len(new) >= len(old):
        raise SetupError(f"cannot point {binary} at its own library (its RUNPATH)")
    binary.write_bytes(data.replace(old, new + b"\0" * (len(old) - len(new))))
    return True


def copy_interpreter(prefix: Path, executable: Path, target: Path) -> Path:
    """A copy of the CPython installed in ``prefix`` (``executable`` its interpreter) in
    ``target``, which every user can run: the interpreter, its shared library and the
    standard library (without its site-packages; hard links where the disk allows).
    A shared build finds its library by a ``RUNPATH`` into ``prefix``, a folder others
    cannot enter (the loader would then take the system's libpython, another Python):
    the copy's points at ``$ORIGIN/../lib``. Checked as ``nobody``: the same version,
    its own prefix."""
    version = sys.version_info
    name = f"python{version[0]}.{version[1]}"
    python = target / "bin" / name
    if python.is_file() and _copy_is_sound(python, target):
        return python
    stdlib = prefix / "lib" / name
    if not (stdlib / "os.py").is_file() or executable.parent != prefix / "bin":
        raise SetupError(
            f"cannot copy the course environment's Python from {prefix} (not the layout of "
            f"a CPython installed with a prefix). Run setup with --python, a Python "
            f"{version[0]}.{version[1]} every user can run, or build .venv from one "
            f"(rm -rf .venv && make env PYTHON=/path/to/{name})")
    fresh = target.with_name(target.name + ".new")
    shutil.rmtree(fresh, ignore_errors=True)
    (fresh / "bin").mkdir(parents=True)
    (fresh / "lib").mkdir()
    shutil.copy2(executable, fresh / "bin" / name)
    for link in ("python3", "python"):
        (fresh / "bin" / link).symlink_to(name)
    for library in sorted((prefix / "lib").glob(f"libpython{version[0]}*.so*")):
        if library.is_symlink():
            (fresh / "lib" / library.name).symlink_to(os.readlink(library))
        else:
            shutil.copy2(library, fresh / "lib" / library.name)
    _link_tree(stdlib, fresh / "lib" / name,
               skip=lambda path: path.parent == stdlib and path.name == "site-packages")
    (fresh / "lib" / name / "site-packages").mkdir(exist_ok=True)
    _patch_runpath(fresh / "bin" / name, prefix / "lib")
    _open_to_read(fresh)
    shutil.rmtree(target, ignore_errors=True)
    fresh.rename(target)
    if not _copy_is_sound(python, target):
        raise SetupError(f"the copy of Python in {target} does not run as another user as "
                         f"{prefix} does; run setup with --python, a Python "
                         f"{version[0]}.{version[1]} every user can run")
    return python


def _copy_is_sound(python: Path, target: Path) -> bool:
    """Whether ``python`` runs as ``nobody`` (else as root) with this Python's version
    and ``target`` as its prefix (not the system's libpython of another release)."""
    code = "import sys; print(*sys.version_info[:3], sys.prefix)"
    command = [str(python), "-c", code]
    if shutil.which("runuser") and _user_exists("nobody"):
        command = ["runuser", "-u", "nobody", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, cwd="/")
    expected = f"{' '.join(map(str, sys.version_info[:3]))} {target}"
    return done.returncode == 0 and done.stdout.strip() == expected


def _requires_python(repo: Path) -> str:
    import tomllib

    return tomllib.loads((repo / "pyproject.toml").read_text())["project"].get(
        "requires-python", "")


def _allows(spec: str, version: tuple[int, int, int]) -> bool:
    from packaging.specifiers import SpecifierSet

    return not spec or ".".join(map(str, version)) in SpecifierSet(spec)


def fingerprint(source: Path, python: Path, repo: Path) -> str:
    """What the class's environment is built from: the interpreter, the course
    environment's distributions, the course package's and this folder's code."""
    digest = hashlib.sha256(f"{python}\n{_version_of(python)}\n".encode())
    site = Path(sysconfig.get_path("purelib", vars={"base": str(source)}))
    for entry in sorted(site.glob("*.dist-info")):
        digest.update(f"{entry.name}\n".encode())
    for path in sorted([*(repo / "src").rglob("*.py"), repo / "pyproject.toml",
                        HERE / "dlcourse_hub.py"]):
        if "__pycache__" not in path.parts:
            digest.update(f"{path.relative_to(repo)}\n".encode() + path.read_bytes())
    return digest.hexdigest()


def _open_to_read(root: Path) -> None:
    """Every folder under ``root`` 0755 and every file (not a link) readable by all,
    its other bits kept: what students' servers read, written by root."""
    for folder, _, files in os.walk(root):
        os.chmod(folder, 0o755)
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | stat.S_IROTH | stat.S_IRGRP)


def _link_tree(source: Path, target: Path, skip=lambda path: False) -> None:
    """``target`` as a copy of ``source`` made of hard links (copies across file systems)."""
    same_disk = source.stat().st_dev == target.parent.stat().st_dev
    for folder, folders, files in os.walk(source):
        here = Path(folder)
        destination = target / here.relative_to(source)
        destination.mkdir(exist_ok=True)
        shutil.copymode(here, destination)
        # os.walk lists a link to a folder among the folders (and does not enter it)
        links = [name for name in folders if (here / name).is_symlink()]
        folders[:] = [name for name in folders if name not in links and not skip(here / name)]
        for name in [*files, *links]:
            path = here / name
            if skip(path):
                continue
            if path.is_symlink():
                os.symlink(os.readlink(path), destination / name)
            elif same_disk:
                os.link(path, destination / name)
            else:
                shutil.copy2(path, destination / name)


SHEBANG = re.compile(rb"^#!\s*(\S*/bin/python[0-9.]*)\s*$")


def _copy_scripts(source_bin: Path, target_bin: Path) -> None:
    """The course environment's commands, their ``#!`` pointed at the class's Python."""
    python = target_bin / "python"
    for path in sorted(source_bin.iterdir()):
        name = path.name
        if (target_bin / name).exists() or name.startswith(("python", "activate", "Activate")):
            continue
        if path.is_symlink() or not path.is_file():
            continue
        with path.open("rb") as handle:
            head = handle.read(4096)
        lines = head.split(b"\n")
        match = SHEBANG.match(lines[0]) if head.startswith(b"#!") else None
        if match is None and head.startswith(b"#!/bin/sh") and b"'''exec' " in head:
            # pip's form for long paths: #!/bin/sh, then '''exec' "/path/python" "$0" "$@"
            text = path.read_bytes()
            quoted = re.search(rb"'''exec' \"([^\"]+/bin/python[0-9.]*)\"", text)
            if quoted:
                text = text.replace(quoted.group(1), str(python).encode(), 1)
                (target_bin / name).write_bytes(text)
                (target_bin / name).chmod(0o755)
            continue
        if match is not None:
            text = path.read_bytes()
            (target_bin / name).write_bytes(b"#!" + str(python).encode() + text[len(lines[0]):])
            (target_bin / name).chmod(0o755)
        elif path.stat().st_dev == target_bin.stat().st_dev:
            os.link(path, target_bin / name)  # a program, not a script: the same file
        else:
            shutil.copy2(path, target_bin / name)


def _is_editable_course_package(path: Path) -> bool:
    name = path.name
    return (name.startswith("__editable__") and "dlcourse" in name) or \
        (name.startswith("dlcourse-") and name.endswith(".dist-info"))


def build_environment(source: Path, python: Path, target: Path, repo: Path) -> None:
    """Make ``target`` a Python environment of ``python`` with ``source``'s packages and
    the course package from ``repo`` installed (not editable), readable by everyone."""
    version = sys.version_info[:2]
    relative_site = Path("lib") / f"python{version[0]}.{version[1]}" / "site-packages"
    _say(f"building the class's environment in {target} from {source} with {python}")
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(target)], check=True)
    site = target / relative_site
    _link_tree(source / relative_site, site, skip=_is_editable_course_package)
    for folder in ("share", "etc"):
        if (source / folder).is_dir():
            _link_tree(source / folder, target / folder)
    _copy_scripts(source / "bin", target / "bin")
    shutil.copy2(HERE / "dlcourse_hub.py", site / "dlcourse_hub.py")
    with tempfile.TemporaryDirectory(prefix="dlcourse-package-") as scratch:
        # The package's files only: building in a scratch copy leaves the repository as it is.
        package = Path(scratch) / "dlcourse"
        package.mkdir()
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            if (repo / name).is_file():
                shutil.copy2(repo / name, package / name)
        shutil.copytree(repo / "src", package / "src",
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        command = [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet",
                   "--no-deps", "--no-index", "--no-build-isolation", "--no-cache-dir",
                   "--disable-pip-version-check", str(package)]
        installed = subprocess.run(command, cwd=scratch, capture_output=True, text=True)
        if installed.returncode:
            raise SetupError(f"installing the course package into {target} failed:\n"
                             f"{installed.stdout[-2000:]}{installed.stderr[-3000:]}")
    for folder, _, files in os.walk(target):  # everyone may read and run it; root writes it
        for path in [Path(folder), *(Path(folder) / name for name in files)]:
            if path.is_symlink():
                continue
            mode = path.stat().st_mode
            wanted = mode | stat.S_IROTH | stat.S_IRGRP | \
                (stat.S_IXOTH | stat.S_IXGRP if mode & stat.S_IXUSR else 0)
            if wanted != mode:
                path.chmod(stat.S_IMODE(wanted))


def class_environment(source: Path, python: Path, share: Path, repo: Path) -> Path:
    """The class's environment in ``share/env``, rebuilt when what it is built from changed."""
    target = share / "env"
    wanted = fingerprint(source, python, repo)
    stamp = target / FINGERPRINT
    if stamp.is_file() and stamp.read_text() == wanted:
        _say(f"the class's environment in {target} is up to date")
        return target
    old = share / f"env.old-{int(time.time())}"
    if target.exists():
        target.rename(old)
    try:
        build_environment(source, python, target, repo)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        if old.exists():
            old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)
    stamp.write_text(wanted)
    return target


def share_files(share: Path, repo: Path) -> None:
    """The servers' Jupyter configurations and the students' lessons, readable by all."""
    for kind in ("student", "grader"):
        target = share / "config" / kind
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(HERE / "config" / kind, target,
                        ignore=shutil.ignore_patterns("__pycache__"))
    lessons = share / "lessons"
    shutil.rmtree(lessons, ignore_errors=True)
    lessons.mkdir()
    for lesson in sorted((repo / "lessons").glob("*.ipynb")):
        shutil.copyfile(lesson, lessons / lesson.name)
    page = share / "browser"  # lesson 05's page and its npm packages (dlcourse.browser)
    shutil.rmtree(page, ignore_errors=True)
    if (repo / "deploy" / "browser").is_dir():
        page.mkdir()
        _link_tree(repo / "deploy" / "browser", page)
        _open_to_read(page)
    share.chmod(0o755)
    for top in (share / "config", lessons):
        for folder, _, files in os.walk(top):
            os.chmod(folder, 0o755)
            for name in files:
                os.chmod(Path(folder) / name, 0o644)


# --- accounts, course folder, exchange ------------------------------------------------------

def _ensure_group(name: str) -> None:
    try:
        grp.getgrnam(name)
    except KeyError:
        subprocess.run(["groupadd", name], check=True)


def ensure_grader() -> pwd.struct_passwd:
    """The Unix account the course folder and the course's service belong to."""
    try:
        return pwd.getpwnam(GRADER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--create-home", "--home-dir", str(GRADER_HOME),
                        "--shell", "/bin/bash", "--user-group", GRADER], check=True)
    account = pwd.getpwnam(GRADER)
    Path(account.pw_dir).chmod(0o700)
    return account


def _chown_tree(path: Path, account: pwd.struct_passwd) -> None:
    os.lchown(path, account.pw_uid, account.pw_gid)
    for folder, folders, files in os.walk(path):
        for name in [*folders, *files]:
            os.lchown(Path(folder) / name, account.pw_uid, account.pw_gid)


def course_folder(course: Path, repo: Path, account: pwd.struct_passwd) -> list[str]:
    """The instructors' course folder, 0700 and the grader's; what it lacks of the
    repository's course is copied in (never overwriting). Returns what was added."""
    course.mkdir(parents=True, exist_ok=True)
    os.chown(course, account.pw_uid, account.pw_gid)
    course.chmod(0o700)
    added = []
    for name in COURSE_CONTENT:
        source = repo / name
        if source.is_file() and not (course / name).exists():
            shutil.copy2(source, course / name)
            added.append(name)
        elif source.is_dir():
            (course / name).mkdir(exist_ok=True)
            os.lchown(course / name, account.pw_uid, account.pw_gid)
            for entry in sorted(source.iterdir()):
                if entry.is_dir() and not (course / name / entry.name).exists():
                    shutil.copytree(entry, course / name / entry.name, symlinks=True,
                                    ignore=shutil.ignore_patterns("__pycache__"))
                    added.append(f"{name}/{entry.name}")
    for name in added:
        _chown_tree(course / name, account)
    temporary = grader_tmp()  # the grader's TMPDIR: its scratch files stay its own
    temporary.mkdir(mode=0o700, exist_ok=True)
    os.chown(temporary, account.pw_uid, account.pw_gid)
    return added


def exchange_folders(exchange: Path, account: pwd.struct_passwd) -> None:
    """nbgrader's exchange root (1777) and the course's folder in it, the grader's, with the
    modes ``nbgrader release_assignment`` and ``release_feedback`` give them."""
    exchange.mkdir(parents=True, exist_ok=True)
    exchange.chmod(0o1777)
    modes = {exchange / COURSE_ID: 0o755, exchange / COURSE_ID / "outbound": 0o755,
             exchange / COURSE_ID / "inbound": 0o2733, exchange / COURSE_ID / "feedback": 0o711}
    for folder, mode in modes.items():
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise SetupError(f"{folder} is not a folder: remove it and run setup again")
        folder.mkdir(exist_ok=True)
        owner = folder.stat().st_uid
        if owner not in (0, account.pw_uid):
            raise SetupError(f"{folder} belongs to {pwd.getpwuid(owner).pw_name}, not to "
                             f"{GRADER}: somebody made it before set-up; check what is in it, "
                             "remove it and run setup again")
        os.chown(folder, account.pw_uid, account.pw_gid)
        folder.chmod(mode)


# --- the servers' environment -------------------------------------------------------------

def grader_tmp() -> Path:
    """The grader's own temporary folder (its TMPDIR), in its home."""
    try:
        return Path(pwd.getpwnam(GRADER).pw_dir) / "tmp"
    except KeyError:
        return GRADER_HOME / "tmp"


def server_environment(kind: str, *, share: Path, exchange: Path, course: Path) -> dict[str, str]:
    """The environment of a person's server (``kind`` "student", for students and
    instructors alike) or of the course's service ("grader"): the class's environment
    first on PATH (a terminal finds ``dlcourse`` and ``nbgrader``), the kind's Jupyter
    configuration, the exchange and the course folder."""
    environment = {
        "PATH": f"{share / 'env' / 'bin'}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
        "JUPYTER_CONFIG_PATH": str(share / "config" / kind),
        "DLCOURSE_EXCHANGE": str(exchange),
        "DLCOURSE_LESSONS": str(share / "lessons"),
        "DLCOURSE_BROWSER_PAGE": str(share / "browser"),
        "DLCOURSE_ROLE": kind,
    }
    if kind == "grader":
        environment["DLCOURSE_COURSE_ROOT"] = str(course)
        environment["TMPDIR"] = str(grader_tmp())
        environment["JUPYTERHUB_DEFAULT_URL"] = "/lab"
    return environment


# --- checks -------------------------------------------------------------------------------

def _runs_as(user: str, command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", user, "--", *command], capture_output=True,
                          text=True, cwd="/", timeout=600)


def check_servers_can_start(share: Path, users: list[str]) -> None:
    """As each of ``users``: the class's Python runs and imports what a server imports."""
    python = share / "env" / "bin" / "python"
    if not shutil.which("runuser"):
        _say("note: no runuser here, so the check as other users is skipped")
        return
    code = "import " + ", ".join(SERVER_IMPORTS)
    for user in users:
        done = _runs_as(user, ["env", "-i", "HOME=/nonexistent", "LANG=C.UTF-8",
                               str(python), "-c", code])
        if done.returncode:
            real = Path(os.path.realpath(python))
            blocked = blocked_for_others(real, execute=True)
            where = (f"{blocked} is {_mode(blocked)}, so other users cannot run {real}. "
                     if blocked else "")
            tail = "\n".join(done.stderr.strip().splitlines()[-6:])
            raise SetupError(
                f"as {user}, the class's Python ({python}) cannot start a server: {where}"
                f"It said:\n{tail}\nFix that (an interpreter every user can run: "
                "setup --python PATH), then run setup again.")
    _say(f"checked as {', '.join(users)}: {python} runs and imports "
         f"{', '.join(SERVER_IMPORTS)}")


def warn_if_repository_is_open(repo: Path) -> None:
    """The repository holds the solutions: others should not be able to enter it."""
    if (repo / "source").is_dir() and blocked_for_others(repo / "source") is None:
        _say(f"WARNING: other users can read {repo / 'source'} (the quizzes' solutions) and "
             f"the rest of the repository. Keep it where only root can enter (clone it into "
             f"/root, or chmod 700 {repo}); the class needs nothing from it.")


# --- commands --------------------------------------------------------------------------------

def setup(*, state: Path, exchange: Path, course: Path, share: Path,
          python: Path | None = None) -> None:
    """Groups, grader, class software, course folder, exchange and state; safe to rerun."""
    _need_root()
    source = course_environment()
    chosen = choose_python(python, share)
    for group in GROUPS.values():
        _ensure_group(group)
    account = ensure_grader()
    share.mkdir(parents=True, exist_ok=True)
    share.chmod(0o755)
    class_environment(source, chosen, share, COURSE_ROOT)
    share_files(share, COURSE_ROOT)
    added = course_folder(course, COURSE_ROOT, account)
    if added:
        _say(f"copied into the course folder {course}: {', '.join(added)}")
    exchange_folders(exchange, account)
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o700)
    users = [name for name in ("nobody", GRADER) if _user_exists(name)]
    check_servers_can_start(share, users)
    warn_if_repository_is_open(COURSE_ROOT)
    _say(f"ready: course folder {course} ({GRADER}'s), class software {share}, exchange "
         f"{exchange}, hub state {state}")


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def add_user(name: str, role: str, password: str | None) -> None:
    """A local Unix user with a home folder, in the group of ``role``."""
    _need_root()
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True)
    _ensure_group(GROUPS[role])
    subprocess.run(["usermod", "--append", "--groups", GROUPS[role], name], check=True)
    home = Path(pwd.getpwnam(name).pw_dir)
    home.chmod(0o700)  # nobody else reads a person's files
    if password is not None:
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)


def environment(*, state: Path, exchange: Path, url: str, course: Path,
                share: Path) -> dict[str, str]:
    """The environment ``jupyterhub_config.py`` reads its paths and URL from."""
    env = dict(os.environ)
    env.update({"DLCOURSE_HUB_STATE": str(state), "DLCOURSE_EXCHANGE": str(exchange),
                "DLCOURSE_COURSE_ROOT": str(course), "DLCOURSE_HUB_URL": url,
                "DLCOURSE_SHARE": str(share),
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"})
    return env


def start(*, state: Path, exchange: Path, url: str, course: Path, share: Path) -> None:
    """Run JupyterHub in the foreground (it replaces this process)."""
    _need_root()
    missing = [path for path in (share / "env" / "bin" / "jupyterhub-singleuser", course,
                                 exchange / COURSE_ID / "inbound", state)
               if not path.exists()]
    if missing or not _user_exists(GRADER):
        sys.exit(f"hub.py start: run hub.py setup first (missing: "
                 f"{', '.join(map(str, missing)) or GRADER})")
    blocked = blocked_for_others(share / "env" / "bin" / "python", execute=True)
    if blocked is not None:  # every server would fail with "500: Unhandled error"
        sys.exit(f"hub.py start: other users cannot run the class's Python ({blocked} is "
                 f"{_mode(blocked)}): run hub.py setup, which says what to fix")
    os.chdir(state)
    os.execve(str(Path(sys.executable).parent / "jupyterhub"),
              ["jupyterhub", "-f", str(HERE / "jupyterhub_config.py")],
              environment(state=state, exchange=exchange, url=url, course=course, share=share))


def _folders(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE,
                        help=f"the hub's own files, root's only (default {DEFAULT_STATE})")
    parser.add_argument("--exchange", type=Path, default=DEFAULT_EXCHANGE,
                        help=f"nbgrader's exchange folder (default {DEFAULT_EXCHANGE})")
    parser.add_argument("--course", type=Path, default=DEFAULT_COURSE,
                        help=f"the instructors' course folder, {GRADER}'s (default "
                        f"{DEFAULT_COURSE})")
    parser.add_argument("--share", type=Path, default=DEFAULT_SHARE,
                        help="the class's software, readable by everyone: environment, "
                        f"configuration, lessons (default {DEFAULT_SHARE})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    prepare = commands.add_parser("setup", help="groups, grader account, class software, "
                                  "course folder, exchange and state")
    _folders(prepare)
    prepare.add_argument("--python", type=Path,
                         help="the interpreter of the class's environment, one every user can "
                         "run, of the course environment's version (default: the one the "
                         "class's environment has, else the course environment's own, copied "
                         "into SHARE/python where other users cannot run it)")
    user = commands.add_parser("add-user", help="a local Unix user for a student or instructor")
    user.add_argument("name")
    user.add_argument("--role", choices=sorted(GROUPS), required=True)
    user.add_argument("--password", help="set this password (otherwise use passwd NAME)")
    run = commands.add_parser("start", help="run JupyterHub in the foreground")
    _folders(run)
    run.add_argument("--url", default="http://127.0.0.1:8000", help="where the hub listens")
    args = parser.parse_args(argv)
    if args.command == "setup":
        setup(state=args.state, exchange=args.exchange, course=args.course.absolute(),
              share=args.share.absolute(), python=args.python)
    elif args.command == "add-user":
        add_user(args.name, args.role, args.password)
    else:
        start(state=args.state, exchange=args.exchange, url=args.url,
              course=args.course.absolute(), share=args.share.absolute())


if __name__ == "__main__":
    main()
