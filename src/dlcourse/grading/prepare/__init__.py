"""Phase 1, before any submission: what a quiz is and what its students get.

- :mod:`.source`        an assignment's source notebooks: items (keyed, in-kernel or by a
                        person), answer cells and titles
- :mod:`.generate`      nbgrader's GenerateAssignment: the student version, with or
                        without the gradebook
- :mod:`.package_view`  the part of ``dlcourse`` a quiz lets the graded kernel import

Imports :mod:`dlcourse.protocol`, :mod:`..result` and nothing of a later phase.
"""
