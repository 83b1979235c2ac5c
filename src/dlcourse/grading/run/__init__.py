"""Phase 2: run one submission in its workspace and sandbox, and read back what it left.

- :mod:`.assemble`   the notebook to run: answers from the submission, everything else
                     from the source
- :mod:`.workspace`  the scratch folder filled as nbgrader fills one; records and files
                     read back out of it
- :mod:`.sandbox`    the ``Sandbox``: bubblewrap and resource limits around untrusted
                     processes (:mod:`.scratch`: its scratch space, capped in bytes and
                     files; :mod:`.cgroups`: its processes and memory in all)
- :mod:`.execute`    run a notebook in a kernel, cell by cell, with time limits
- :mod:`.records`    the check records an executed test cell displayed
- :mod:`.exports`    exported files evaluated outside the kernel (:mod:`.evaluate` is
                     the child process running ``quizzes/<quiz>/exports.py``)
- :mod:`.dispatch`   where submissions run: local worker processes or a Dask cluster

Imports :mod:`..prepare` and earlier, nothing of a later phase.
"""
