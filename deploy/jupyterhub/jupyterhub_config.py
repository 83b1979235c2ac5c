"""JupyterHub for a class: local Unix users, nbgrader's exchange, the course's JupyterLab.

Started by ``make hub`` (see README.md, "Running a class"); every path and port
comes from the environment that ``python -m dlcourse.hub`` (deploy/jupyterhub/)
sets, so one file serves a laptop trial and a department server:

- ``DLCOURSE_HUB_STATE``   the hub's own files (database, cookie secret, logs)
- ``DLCOURSE_HUB_URL``     where the hub listens (default http://127.0.0.1:8000)
- ``DLCOURSE_COURSE_ROOT`` the instructors' course folder (this repository)
- ``DLCOURSE_EXCHANGE``    nbgrader's exchange folder (world-writable, sticky)

Who is who is Unix's business: members of the group ``dlcourse-instructors``
are instructors, members of ``dlcourse-students`` are students, nobody else may
log in. Each person's JupyterLab runs as that Unix user (so file permissions
separate people) from the course's environment, with one of two Jupyter
configurations (``config/student`` or ``config/instructor``) put on its Jupyter
path: students get nbgrader's Assignment List and Course List and no formgrader;
instructors also get the formgrader, opened in a browser tab of its own at
``/user/<name>/formgrader`` (JupyterHub 4.1 and later forbid the iframe the
formgrader's lab panel uses: nbgrader issue 1870, and nbgrader's JupyterHub
documentation, "Formgrader with JupyterHub 4.1").
"""

import grp
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
STATE = Path(os.environ.get("DLCOURSE_HUB_STATE", HERE / "state"))
ENV_BIN = Path(sys.executable).parent
INSTRUCTORS = "dlcourse-instructors"
STUDENTS = "dlcourse-students"

c = get_config()  # noqa: F821 (JupyterHub's config loader provides it)

c.JupyterHub.bind_url = os.environ.get("DLCOURSE_HUB_URL", "http://127.0.0.1:8000")
# The proxy's API and the hub itself listen on loopback, on the two ports after the public
# one, so that two hubs (a trial and a test, say) can run side by side.
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

c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_groups = {INSTRUCTORS, STUDENTS}
# Nobody is a hub admin: an admin may open anyone's server, and a student's work reaches
# instructors through nbgrader's exchange only. The machine's root administers the hub.

c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(ENV_BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 180


def _group_members(name):
    try:
        return set(grp.getgrnam(name).gr_mem)
    except KeyError:
        return set()


def _role_config(spawner):
    """Each server gets the environment's bin on PATH and its role's Jupyter configuration.

    An instructor's JupyterLab opens in the course folder: the formgrader works only
    on a course inside the server's root folder.
    """
    role = "instructor" if spawner.user.name in _group_members(INSTRUCTORS) else "student"
    if role == "instructor":
        spawner.notebook_dir = os.environ["DLCOURSE_COURSE_ROOT"]
    spawner.environment.update({
        "PATH": f"{ENV_BIN}{os.pathsep}/usr/bin:/bin",
        "JUPYTER_CONFIG_PATH": str(HERE / "config" / role),
        "DLCOURSE_EXCHANGE": os.environ["DLCOURSE_EXCHANGE"],
        "DLCOURSE_COURSE_ROOT": os.environ["DLCOURSE_COURSE_ROOT"],
        "DLCOURSE_ROLE": role,
    })


c.Spawner.pre_spawn_hook = _role_config
c.Spawner.env_keep = ["LANG", "LC_ALL", "TZ"]
