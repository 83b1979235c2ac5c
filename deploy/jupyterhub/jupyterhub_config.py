"""JupyterHub for a class: local Unix users, nbgrader's exchange, the course's JupyterLab.

Started by ``make hub`` (``deploy/jupyterhub/hub.py start``; README.md, "Running a
class"); every path and port comes from the environment that ``hub.py start`` sets, so
one file serves a laptop trial and a department server:

- ``DLCOURSE_HUB_STATE``   the hub's own files (database, cookie secret), root's only
- ``DLCOURSE_HUB_URL``     where the hub listens (default http://127.0.0.1:8000)
- ``DLCOURSE_COURSE_ROOT`` the instructors' course folder (``dlcourse-grader``'s, 0700)
- ``DLCOURSE_EXCHANGE``    nbgrader's exchange folder (1777; the course's folder in it
                           the grader's)
- ``DLCOURSE_SHARE``       the class's software: environment, configurations, lessons

Who is who is Unix's business: members of the group ``dlcourse-instructors`` are
instructors, members of ``dlcourse-students`` are students, nobody else may log in,
and nobody is a hub admin. Everyone gets a JupyterLab of their own, running as their
Unix user from the class's environment (students' configuration: nbgrader's Assignment
List, Course List and Validate; their lessons in ``~/lessons``). The course itself is
worked in the service ``dlcourse`` (``/services/dlcourse/``): a JupyterLab running as
the Unix account ``dlcourse-grader`` in the course folder, with the formgrader and a
terminal, that members of the hub group ``formgrade-dlcourse`` may open (nbgrader's
set-up for several graders of one course; the hub fills the group from the Unix
group of instructors at each log-in). Open the formgrader in a browser tab of its own,
``/services/dlcourse/formgrader``: JupyterHub 4.1 and later forbid the iframe of the
formgrader's lab panel (nbgrader issue 1870).
"""

import grp
import os
import pwd
import sys
from pathlib import Path
from urllib.parse import urlsplit

from jupyterhub.auth import PAMAuthenticator

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import hub  # noqa: E402  (this folder's hub.py: names, folders and each server's environment)

STATE = Path(os.environ.get("DLCOURSE_HUB_STATE", HERE / "state"))
SHARE = Path(os.environ.get("DLCOURSE_SHARE", hub.DEFAULT_SHARE))
COURSE = Path(os.environ.get("DLCOURSE_COURSE_ROOT", hub.DEFAULT_COURSE))
EXCHANGE = Path(os.environ.get("DLCOURSE_EXCHANGE", hub.DEFAULT_EXCHANGE))
CLASS_BIN = SHARE / "env" / "bin"
INSTRUCTORS, STUDENTS = hub.GROUPS["instructor"], hub.GROUPS["student"]

c = get_config()  # noqa: F821 (JupyterHub's config loader provides it)

c.JupyterHub.bind_url = os.environ.get("DLCOURSE_HUB_URL", "http://127.0.0.1:8000")
# The proxy's API, the hub itself and the course's service listen on loopback, on the
# three ports after the public one, so that two hubs (a trial and a test) can run side
# by side.
PORT = urlsplit(c.JupyterHub.bind_url).port or 80
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{PORT + 1}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = PORT + 2
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
# The proxy comes from npm at set-up time (deploy/jupyterhub/package.json), never at run time.
c.ConfigurableHTTPProxy.command = [str(HERE / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")


def _instructors() -> set[str]:
    """The members of the Unix group of instructors (primary or supplementary)."""
    try:
        group = grp.getgrnam(INSTRUCTORS)
    except KeyError:
        return set()
    primary = {user.pw_name for user in pwd.getpwall() if user.pw_gid == group.gr_gid}
    return set(group.gr_mem) | primary


class CourseAuthenticator(PAMAuthenticator):
    """PAM log-in; an instructor (Unix group) is in the hub group that opens the course.

    The hub group follows the Unix group at each log-in and at each refresh of the
    person's authentication (``Authenticator.auth_refresh_age``).
    """

    def _model(self, name):
        groups = [hub.GRADERS_HUB_GROUP] if name in _instructors() else []
        return {"name": name, "groups": groups}

    async def authenticate(self, handler, data):
        name = await super().authenticate(handler, data)
        return self._model(name) if name else None

    async def refresh_user(self, user, handler=None):
        return self._model(user.name)


c.JupyterHub.authenticator_class = CourseAuthenticator
c.Authenticator.allowed_groups = {INSTRUCTORS, STUDENTS}
c.Authenticator.manage_groups = True
# Nobody is a hub admin: an admin may open anyone's server, and a student's work reaches
# instructors through nbgrader's exchange only. The machine's root administers the hub.

c.JupyterHub.load_roles = [{
    "name": "dlcourse-graders",
    "description": "Open the course's JupyterLab and formgrader (the service dlcourse)",
    "groups": [hub.GRADERS_HUB_GROUP],
    "scopes": [f"access:services!service={hub.COURSE_ID}", "list:services",
               f"read:services!service={hub.COURSE_ID}"],
}]
c.JupyterHub.services = [{
    # nbgrader finds a course's formgrader by the service named after the course.
    "name": hub.COURSE_ID,
    "url": f"http://127.0.0.1:{PORT + 3}",
    "command": [str(CLASS_BIN / "jupyterhub-singleuser")],
    "user": hub.GRADER,
    "cwd": str(COURSE),
    "environment": hub.server_environment("grader", share=SHARE, exchange=EXCHANGE,
                                          course=COURSE),
    "oauth_no_confirm": True,
    "display": True,
    "info": {"about": "the course: formgrader, terminal, source and grades"},
}]

c.JupyterHub.spawner_class = "localprocess"
# Each person's server gets the lessons they lack, then is jupyterhub-singleuser.
c.Spawner.cmd = [str(CLASS_BIN / "python"), "-m", "dlcourse_hub"]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 180
c.Spawner.environment = hub.server_environment("student", share=SHARE, exchange=EXCHANGE,
                                               course=COURSE)
c.Spawner.env_keep = ["LANG", "LC_ALL", "TZ"]
