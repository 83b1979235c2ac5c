"""The course's grader: keyed checks, release, and grading of submissions.

Generating a quiz and grading it meet only at artifacts on disk (otter-grader's
rule): ``dlcourse release`` writes ``release/`` and the key, ``dlcourse grade``
reads the source's test cells, the key and a submission.

Modules, one concept each:

- :mod:`.values`    encode a value as plain JSON and compare two encoded values
- :mod:`.key`       the key file: what the instructor's solution recorded
- :mod:`.records`   read check records out of an executed notebook
- :mod:`.assemble`  build the notebook to grade from the source and a submission
- :mod:`.execute`   run a notebook in a kernel, cell by cell, with time limits
- :mod:`.grade`     turn an executed notebook and the key into a result
- :mod:`.release`   record the key and write the student version
"""
