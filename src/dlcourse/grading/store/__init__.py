"""Phase 4: grades kept and handed back.

- :mod:`.gradebook`  results into nbgrader's gradebook (the grading process is its only
                     writer); scores read back
- :mod:`.lateness`   the submission's time and the late penalty the config asks for
- :mod:`.feedback`   per-student feedback pages from the stored results
- :mod:`.canvas`     grades out to an LMS (Canvas's gradebook CSV, an nbgrader exporter)

Imports :mod:`..judge` and earlier, nothing of a later phase.
"""
