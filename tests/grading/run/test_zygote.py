"""Evidence that a fork after the imports is safe: each framework of
``warm_imports.FORK_SAFE`` works in children forked from a process that imported
all of them, as a warm worker's zygote does (``run/zygote.py``)."""

import subprocess
import sys
import textwrap

from dlcourse.grading.prepare.warm_imports import FORK_SAFE

#: One operation per framework that starts its thread pools (matrix products, a
#: backward pass, a compiled JAX function, a fit), run in each forked child.
CHILD_WORK = """
import numpy, scipy.linalg, pandas, torch, tensorflow as tf, jax, jax.numpy as jnp
import sklearn.linear_model, matplotlib
a = numpy.random.default_rng(0).random((300, 300))
assert abs(numpy.linalg.det(a @ a.T)) >= 0 and scipy.linalg.inv(a + 300 * numpy.eye(300)).shape
pandas.DataFrame(a).describe()
x = torch.randn(200, 200, requires_grad=True)
(x @ x).sum().backward()
assert x.grad.shape == (200, 200)
y = tf.random.normal((200, 200))
assert tf.linalg.matmul(y, y).numpy().shape == (200, 200)
with tf.GradientTape() as tape:
    v = tf.Variable(2.0)
    loss = v * v
assert float(tape.gradient(loss, v)) == 4.0
assert float(jax.jit(jax.grad(lambda w: jnp.sum(jnp.sin(w) @ w)))(jnp.ones((50, 50)))[0, 0]) != 0
sklearn.linear_model.LogisticRegression().fit(a[:, :3], numpy.arange(300) % 2)
"""

PARENT = """
import os, signal, sys, threading, warnings
warnings.simplefilter("ignore")
for name in {modules!r}:
    __import__(name)
assert threading.active_count() == 1, threading.enumerate()
work = {work!r}
failures = []
for child in range(3):
    pid = os.fork()
    if pid == 0:
        signal.alarm(120)  # a deadlock inherited from the parent would hang here
        try:
            exec(work, {{}})
        except BaseException as error:
            print("child", child, type(error).__name__, error, flush=True)
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if status:
        failures.append((child, status))
print("failures", failures, "native threads before the forks", len(os.listdir("/proc/self/task")))
sys.exit(1 if failures else 0)
"""


def test_every_fork_safe_framework_runs_in_children_forked_after_the_imports():
    program = PARENT.format(modules=list(FORK_SAFE), work=textwrap.dedent(CHILD_WORK))
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=600, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert "failures []" in done.stdout
