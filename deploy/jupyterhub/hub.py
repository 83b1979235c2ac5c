"""Set up and start the course's JupyterHub on this machine (`make hub`; README, "Running a class").

    python deploy/jupyterhub/hub.py setup [--state DIR] [--exchange DIR]
    python deploy/jupyterhub/hub.py add-user NAME --role student|instructor [--password PW]
    python deploy/jupyterhub/hub.py start [--url http://127.0.0.1:8000] [--course DIR]

``setup`` creates the two Unix groups that say who is who, nbgrader's exchange
folder with the permissions nbgrader expects (world-writable with the sticky
bit, as ``nbgrader release_assignment`` and ``submit`` need), and the hub's
state folder (readable by root only: it holds the cookie secret). ``add-user``
creates a local Unix user in one group (a person logs in with that account's
password, through PAM). ``start`` runs JupyterHub in the foreground with this
folder's ``jupyterhub_config.py``. All three need root, as JupyterHub's
``LocalProcessSpawner`` does to start each person's server as that person.
"""

from __future__ import annotations

import argparse
import grp
import os
import pwd
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
COURSE_ROOT = HERE.parent.parent
GROUPS = {"student": "dlcourse-students", "instructor": "dlcourse-instructors"}
DEFAULT_STATE = Path("/srv/dlcourse-hub")
DEFAULT_EXCHANGE = Path("/srv/nbgrader/exchange")


def _need_root() -> None:
    if os.geteuid() != 0:
        sys.exit("this needs root (JupyterHub starts each person's server as that Unix user): "
                 "run it with sudo, or as root")


def setup(state: Path, exchange: Path) -> None:
    """Groups, exchange folder and state folder; safe to run again."""
    _need_root()
    for group in GROUPS.values():
        try:
            grp.getgrnam(group)
        except KeyError:
            subprocess.run(["groupadd", group], check=True)
    exchange.mkdir(parents=True, exist_ok=True)
    exchange.chmod(0o1777)
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o700)


def add_user(name: str, role: str, password: str | None) -> None:
    """A local Unix user with a home folder, in the group of ``role``."""
    _need_root()
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True)
    subprocess.run(["usermod", "--append", "--groups", GROUPS[role], name], check=True)
    home = Path(pwd.getpwnam(name).pw_dir)
    home.chmod(0o700)  # nobody else reads a person's files
    if password is not None:
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)


def environment(state: Path, exchange: Path, url: str, course: Path) -> dict[str, str]:
    """The environment ``jupyterhub_config.py`` reads its paths and URL from."""
    env = dict(os.environ)
    env.update({"DLCOURSE_HUB_STATE": str(state), "DLCOURSE_EXCHANGE": str(exchange),
                "DLCOURSE_COURSE_ROOT": str(course), "DLCOURSE_HUB_URL": url,
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"})
    return env


def start(state: Path, exchange: Path, url: str, course: Path) -> None:
    """Run JupyterHub in the foreground (it replaces this process)."""
    _need_root()
    os.chdir(state)
    os.execve(str(Path(sys.executable).parent / "jupyterhub"),
              ["jupyterhub", "-f", str(HERE / "jupyterhub_config.py")],
              environment(state, exchange, url, course))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE,
                        help=f"the hub's own files (default {DEFAULT_STATE})")
    parser.add_argument("--exchange", type=Path, default=DEFAULT_EXCHANGE,
                        help=f"nbgrader's exchange folder (default {DEFAULT_EXCHANGE})")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("setup", help="groups, exchange and state folders")
    user = commands.add_parser("add-user", help="a local Unix user for a student or instructor")
    user.add_argument("name")
    user.add_argument("--role", choices=sorted(GROUPS), required=True)
    user.add_argument("--password", help="set this password (otherwise use passwd NAME)")
    run = commands.add_parser("start", help="run JupyterHub in the foreground")
    run.add_argument("--url", default="http://127.0.0.1:8000", help="where the hub listens")
    run.add_argument("--course", type=Path, default=COURSE_ROOT,
                     help="the instructors' course folder (default: this repository)")
    args = parser.parse_args(argv)
    if args.command == "setup":
        setup(args.state, args.exchange)
    elif args.command == "add-user":
        add_user(args.name, args.role, args.password)
    else:
        start(args.state, args.exchange, args.url, args.course.resolve())


if __name__ == "__main__":
    main()
