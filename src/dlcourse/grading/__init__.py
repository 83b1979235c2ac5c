"""The course's grader: release a quiz, then grade its submissions, phase by phase.

Generating a quiz and grading it meet only at artifacts on disk (otter-grader's
rule): ``dlcourse release`` writes ``release/`` and the key, ``dlcourse grade``
reads the source's test cells, the key and a submission.

The folders are the path of a submission, in order; a module imports from its own
phase or an earlier one, never a later one (``tests/test_import_graph.py``):

0. :mod:`dlcourse.protocol` (outside the grader: the record protocol a student's kernel
   shares with it: values and the key) and :mod:`.result` (the result of grading one
   submission and its JSON form, shared by every phase)
1. :mod:`.prepare`  what a quiz is, what its students get, what they may import
2. :mod:`.run`      one submission run in its workspace and sandbox
3. :mod:`.judge`    the verdict on each item, and the message a student reads
4. :mod:`.store`    gradebook, lateness, feedback, exports to an LMS
5. :mod:`.reports`  beside the pipeline: item analysis and similarity of a class

The commands walk those phases; each is one module here, imported by :mod:`dlcourse.cli`:

- :mod:`.release`    ``dlcourse release``: run each solution (phases 1-3), write the key
                     and the student version
- :mod:`.variant_keys`  each student's key of a quiz whose numbers differ by student:
                     the solution run for that student (as release runs it), cached;
                     ``dlcourse variant``
- :mod:`.grade`      ``dlcourse grade``: one notebook through phases 1-3 into a result
- :mod:`.autograde`  ``dlcourse autograde``: every submission of a quiz, in parallel
                     (``run.dispatch``), graded and stored (phase 4), resumably
"""
