"""The course's grader: keyed checks, release, and grading of submissions.

Generating a quiz and grading it meet only at artifacts on disk (otter-grader's
rule): ``dlcourse release`` writes ``release/`` and the key, ``dlcourse grade``
reads the source's test cells, the key and a submission.

Modules, one concept each, in the order a submission meets them:

- :mod:`.values`        encode a value as plain JSON, compare two values, validate hints
- :mod:`.source`        an assignment's source notebooks: items (keyed, in-kernel or by a
                        person), answer cells and titles
- :mod:`.key`           the key file: what the instructor's solution recorded
- :mod:`.release`       record the key and write the student version (:mod:`.generate`:
                        nbgrader's GenerateAssignment, with or without the gradebook)
- :mod:`.assemble`      build the notebook to grade from the source and a submission
- :mod:`.workspace`     fill the scratch folder as nbgrader does; read records back out
- :mod:`.package_view`  the part of ``dlcourse`` a quiz lets the graded kernel import
- :mod:`.sandbox`       the ``Sandbox``: bubblewrap and resource limits around untrusted
                        processes (:mod:`.scratch`: its scratch space, capped in bytes
                        and files; :mod:`.cgroups`: its processes and memory in all)
- :mod:`.execute`       run a notebook in a kernel, cell by cell, with time limits
- :mod:`.records`       read check records out of an executed notebook
- :mod:`.exports`       evaluate exported files outside the kernel (:mod:`.evaluate` is
                        the child process, running ``quizzes/<quiz>/exports.py``)
- :mod:`.messages`      what a student reads about an item that did not pass
- :mod:`.verdict`       the verdict on each item: pure functions of the run and the key
- :mod:`.grade`         grade one notebook: the steps above, in order, into a result
- :mod:`.result`        that result and its JSON form, shared by every phase below
- :mod:`.gradebook`     store results in nbgrader's gradebook; read scores
- :mod:`.autograde`     grade every submission of a quiz, in parallel, resumably
- :mod:`.dispatch`      where submissions are graded: local worker processes, or a
                        Dask cluster (``--scheduler``)
- :mod:`.feedback`      per-student feedback pages from the stored results
- :mod:`.report`        item analysis of a graded quiz
- :mod:`.similarity`    pairs of students whose answers look copied
"""
