"""The warm process of a grading worker's sandbox: it imports a quiz's frameworks once,
then forks one Jupyter kernel per submission (a "zygote", as PrairieLearn and Android
call it).

It runs inside the worker's sandbox (:mod:`.warm` starts it there), as
``python -c <this file's text> FD MODULES``: it imports nothing of ``dlcourse``
(whose package the sandbox may show only in part), and nothing of the working
folder (the ``''`` that ``-c`` puts first on ``sys.path`` is removed before any
import). ``FD`` is its end of a socket pair with the worker; ``MODULES`` a JSON
list of the modules to import. Requests and replies are JSON lines:

- on start it imports ``MODULES`` and ``ipykernel.kernelapp``, then replies
  ``{"ready": <its pid>, "imported": [...], "failed": {...}, "threads": N,
  "open_files": [...]}`` (``open_files``: what the imports left open for writing,
  which a forked kernel would share with the next one: :mod:`.warm` then does
  not use this process);
- ``{"ping": true}``: replies ``{"pong": true}`` (the worker checks it is alive and
  not stopped);
- ``{"clean": true}``: removes the System V IPC objects (shared memory,
  semaphores, queues) a submission left in the sandbox's IPC namespace, which no
  file and no process holds, and replies ``{"cleaned": true}``;
- ``{"kernel": {"connection_file", "cwd", "env"}}``: forks;
  the child becomes the submission's kernel (:func:`become_kernel`), the parent
  replies ``{"forked": <the child's pid in the sandbox>}``.

Why a fork is safe here: after the imports the process runs one Python thread; the
native threads the imports started (OpenBLAS's pool, TensorFlow's) hold no lock
a child needs: OpenBLAS re-creates its pool after a fork, and TensorFlow, PyTorch
and JAX create their thread pools at their first operation, in the child
(``tests/grading/run/test_zygote.py`` runs each framework in forked children).
The zygote itself is out of a kernel's reach: it is not dumpable (no process of
the sandbox's user may trace it or read its memory), a kernel closes its end of
the socket before any student code runs, and the worker kills every process but
the zygote, and empties the scratch space, between submissions.
"""

import ctypes
import importlib
import importlib.util
import json
import os
import resource
import runpy
import signal
import subprocess
import sys
import warnings

PR_SET_DUMPABLE = 4


def _prctl_dumpable(value: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def writable_files(control: int) -> list[str]:
    """What this process holds open for writing past its standard streams and its
    ``control`` socket, by path."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd <= 2 or fd == control:
            continue
        try:
            flags = int(open(f"/proc/self/fdinfo/{fd}").read().split("flags:")[1].split()[0], 8)
            target = os.readlink(f"/proc/self/fd/{fd}")
        except (OSError, IndexError, ValueError):
            continue
        if target.startswith("socket:") or flags & (os.O_WRONLY | os.O_RDWR):
            found.append(target)
    return found


def become_kernel(request: dict, control: int, warning_filters: list) -> None:
    """In the forked child: undo what only the zygote needs, take the submission's
    working folder, environment and limits, and run ipykernel as
    ``python -m ipykernel_launcher -f CONNECTION_FILE`` would."""
    os.close(control)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    warnings.filters[:] = warning_filters
    _prctl_dumpable(1)
    try:  # the kernel, not the zygote, is what the OOM killer takes first
        with open("/proc/self/oom_score_adj", "w") as adjust:
            adjust.write("1000")
    except OSError:
        pass
    # POSIX message queues outlive their process and have no file a worker could
    # remove: a kernel may make none.
    resource.setrlimit(resource.RLIMIT_MSGQUEUE, (0, 0))
    os.setpgrp()
    os.chdir(request["cwd"])
    os.environ.clear()
    # as bubblewrap sets PWD, and as the imports set what they set (ipykernel 6:
    # PYDEVD_USE_FRAME_EVAL), after the kernel's own environment
    os.environ.update({**request["env"], "PWD": request["cwd"], **request["imported_env"]})
    # as `python -m ipykernel_launcher -f CONNECTION_FILE` starts: the working folder
    # first on sys.path (the launcher decides what to keep of it), then the launcher
    sys.path.insert(0, request["cwd"])
    sys.argv = [request["argv0"], "-f", request["connection_file"]]
    runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)

def main(fd: int, modules: list[str]) -> None:
    environment = dict(os.environ)
    imported, failed = [], {}
    for name in modules:
        try:
            importlib.import_module(name)
            imported.append(name)
        except BaseException as error:  # the kernel will import it itself, and fail there
            failed[name] = type(error).__name__
    import ipykernel.kernelapp  # noqa: F401

    warning_filters = list(warnings.filters)  # those the imports set, as a cold kernel has
    imported_env = {k: v for k, v in os.environ.items() if environment.get(k) != v}
    argv0 = importlib.util.find_spec("ipykernel_launcher").origin
    _prctl_dumpable(0)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forked kernels are reaped by the system
    # Python 3.12+ warns at every fork of a process with native threads; see the docstring.
    warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)

    def reply(message: dict) -> None:
        os.write(fd, (json.dumps(message) + "\n").encode())

    reply({"ready": os.getpid(), "imported": imported, "failed": failed,
           "threads": len(os.listdir("/proc/self/task")), "open_files": writable_files(fd)})
    for request in requests(fd):
        if request.get("ping"):
            reply({"pong": True})
        elif request.get("clean"):
            try:
                subprocess.run(["ipcrm", "--all"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, check=False)
            except OSError:
                pass
            reply({"cleaned": True})
        elif "kernel" in request:
            pid = os.fork()
            if pid == 0:
                try:
                    become_kernel({**request["kernel"], "argv0": argv0,
                                   "imported_env": imported_env}, fd, warning_filters)
                finally:
                    os._exit(1)
            reply({"forked": pid})


def requests(fd: int):
    """The JSON requests arriving on ``fd``, one per line, until the worker closes it."""
    pending = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            yield json.loads(line)


if __name__ == "__main__":
    if sys.path and sys.path[0] == "":
        del sys.path[0]
    main(int(sys.argv[1]), json.loads(sys.argv[2]))
