"""The record protocol: what a student's kernel and the grader share.

A quiz's hidden tests call :func:`dlcourse.checks.check`, which encodes a value with
:mod:`.values` and displays it as a record; the grader decodes the record and compares
it with the key (:mod:`.key`, the file ``dlcourse release`` writes from the
instructor's solution). Under stock nbgrader, ``check`` itself reads the key and
compares in the kernel. Nothing here imports the grader (:mod:`dlcourse.grading`), so
the student's side of grading stays small enough to copy into every sandbox.
"""
