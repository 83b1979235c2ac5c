"""Phase 3: the verdict on each item of a run, and what the student reads about it.

- :mod:`.verdict`   pure functions of the run's outcomes, records and the key
- :mod:`.messages`  a failed item's message, in the terms of the student's own work

Imports :mod:`..run` and earlier, nothing of a later phase.
"""
