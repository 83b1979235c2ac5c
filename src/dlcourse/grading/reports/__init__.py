"""Beside the pipeline, after a class is graded: reports for the instructor.

- :mod:`.report`      item analysis of a graded quiz
- :mod:`.similarity`  pairs of students whose answers look copied

Imports :mod:`..store` and earlier.
"""
