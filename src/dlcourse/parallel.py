"""Model parallelism across processes: a GPipe pipeline and a Megatron tensor split.

Taught in lesson 06 (``notebooks/06_scaling.ipynb``, "Model parallelism: pipelines
and tensor splits"). The lesson prints the two algorithms, :func:`gpipe_step` and
:func:`megatron_mlp` (with the two communication operators it is built from), with
``inspect.getsource``, and runs them on a :class:`dlcourse.distributed.Team` of two
gloo processes: a function that a spawned process runs must be importable from a
module, and a function defined in a notebook is not.

- **Pipeline parallelism** (GPipe): the layers are cut into stages, one per
  process; the batch is cut into micro-batches; activations travel forward with
  ``send``/``recv`` and gradients travel back. :func:`pipeline_worker` runs it and
  records when each stage computes, so the lesson can draw the pipeline's bubble.
- **Tensor parallelism** (Megatron-LM): one MLP's first matrix is split by columns
  and its second by rows over the ranks; one all-reduce in the forward pass (after
  the second matrix) and one in the backward pass (the gradient of the input).
  :func:`tensor_parallel_worker` runs it.

Each has a one-process reference (:func:`pipeline_reference`,
:func:`megatron_reference`) that computes the same thing without splitting.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from .distributed import max_difference  # noqa: F401 - the lesson compares with it

# ---------------------------------------------------------------------------
# Pipeline parallelism


def pipeline_mlp(hidden: int = 512, seed: int = 0) -> nn.Sequential:
    """64 -> hidden -> hidden -> hidden -> 10, seeded; cut in two stages by :func:`stage_of`."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 10))


#: Where :func:`pipeline_mlp` is cut: stage 0 is layers 0-3, stage 1 layers 4-6 (about
#: the same arithmetic each). Slices of an ``nn.Sequential`` keep the layers' names.
CUT = 4


def stage_of(model: nn.Sequential, rank: int) -> nn.Sequential:
    """The layers that rank ``rank`` holds in a two-stage pipeline."""
    return model[:CUT] if rank == 0 else model[CUT:]


def gpipe_step(stage, rank, x, y, micro_batches, record):
    """One training step of a two-stage GPipe pipeline: every forward, then every backward.

    Rank 0 holds the first stage and reads the inputs ``x``; rank 1 holds the second
    stage and the targets ``y``. Each micro-batch's loss is weighted by its share of
    the batch, so the gradients add up to the whole batch's (lesson 06, section 2).
    ``record(kind, m)`` times the computation (not the waiting) of each micro-batch.
    """
    xs, ys = x.chunk(micro_batches), y.chunk(micro_batches)
    outputs, inputs, losses = [], [], []
    for m in range(micro_batches):                   # forward, micro-batch after micro-batch
        if rank == 0:
            with record("forward", m):
                h = stage(xs[m])
            dist.send(h.detach(), dst=1)             # the activation goes forward
            outputs.append(h)
        else:
            h = torch.empty(len(ys[m]), stage[0].in_features)
            dist.recv(h, src=0)
            h.requires_grad_(True)                   # we want dloss/dh, to send back
            with record("forward", m):
                loss = F.cross_entropy(stage(h), ys[m]) * len(ys[m]) / len(y)
            inputs.append(h)
            losses.append(loss)
    for m in reversed(range(micro_batches)):         # backward, last micro-batch first
        if rank == 0:
            grad = torch.empty_like(outputs[m])
            dist.recv(grad, src=1)                   # the gradient comes back
            with record("backward", m):
                outputs[m].backward(grad)            # continue the chain rule in stage 0
        else:
            with record("backward", m):
                losses[m].backward()
            dist.send(inputs[m].grad, dst=0)
    return sum(loss.item() for loss in losses)       # the batch's loss (rank 1 has it)


class Recorder:
    """``record(kind, m)`` for :func:`gpipe_step`: a list of (kind, m, start, end) in seconds
    since ``origin`` (the moment this rank left the barrier that starts the step).

    The ranks leave a barrier at slightly different moments, so each rank's times are
    counted from its own origin; :func:`pipeline_result` puts them on one time axis. That
    works because the ranks run on one machine, where ``time.perf_counter`` reads the same
    system clock in every process (``CLOCK_MONOTONIC`` on Linux, ``mach_absolute_time`` on
    macOS, ``QueryPerformanceCounter`` on Windows).
    """

    def __init__(self, origin: float):
        self.origin, self.events = origin, []

    @contextlib.contextmanager
    def __call__(self, kind: str, m: int):
        start = time.perf_counter()
        yield
        self.events.append((kind, m, start - self.origin, time.perf_counter() - self.origin))


def pipeline_worker(rank: int, world_size: int, x: np.ndarray, y: np.ndarray, *,
                    micro_batches=(1, 2, 4, 8), hidden: int = 512, seed: int = 0,
                    repeats: int = 4) -> dict[str, Any]:
    """Run :func:`gpipe_step` on two ranks for each number of micro-batches.

    For each ``M`` in ``micro_batches``: one warm-up step, then ``repeats`` timed
    steps, each starting as every rank leaves the same barrier. Returns, per ``M``,
    this rank's gradients (of the last step; every step computes the same ones), the
    loss (rank 1), and each timed step's origin (``time.perf_counter`` as this rank
    left the barrier), seconds and events (counted from that origin).
    """
    if world_size != 2:
        raise ValueError("this pipeline has two stages: run it on two ranks")
    if any(len(torch.as_tensor(y).chunk(m)) != m for m in micro_batches):
        raise ValueError(f"{len(y)} examples cannot be cut into {micro_batches} micro-batches")
    torch.manual_seed(seed)
    stage = stage_of(pipeline_mlp(hidden, seed), rank)
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    runs = {}
    for m_count in micro_batches:
        seconds, timelines, origins = [], [], []
        for repeat in range(repeats + 1):
            stage.zero_grad()
            dist.barrier()
            recorder = Recorder(time.perf_counter())
            loss = gpipe_step(stage, rank, xt, yt, m_count, recorder)
            finished = time.perf_counter() - recorder.origin
            if repeat:  # the first is the warm-up
                seconds.append(finished)
                timelines.append(recorder.events)
                origins.append(recorder.origin)
        runs[m_count] = {"loss": loss if rank == 1 else None, "origins": origins,
                         "seconds": seconds, "events": timelines,
                         "grads": {name: p.grad.numpy().copy()
                                   for name, p in stage.named_parameters()}}
    return {"rank": rank, "runs": runs}


def pipeline_reference(x: np.ndarray, y: np.ndarray, *, hidden: int = 512,
                       seed: int = 0) -> dict[str, Any]:
    """The same step in one process, on the whole batch: the loss and every gradient."""
    model = pipeline_mlp(hidden, seed)
    loss = F.cross_entropy(model(torch.as_tensor(x)), torch.as_tensor(y))
    loss.backward()
    return {"loss": loss.item(),
            "grads": {name: p.grad.numpy().copy() for name, p in model.named_parameters()}}


def pipeline_result(ranks: list[dict], m_count: int) -> dict[str, Any]:
    """Both ranks' results for ``M`` micro-batches put together: the loss, every gradient
    (by the full model's parameter names), the fastest step's time and both ranks' events
    in that step, on one time axis.

    A step starts when the first rank leaves the barrier and lasts until the slower rank
    is done; each rank's events are moved from its own origin to that common one (the
    ranks read the same clock: :class:`Recorder`).
    """
    runs = [r["runs"][m_count] for r in ranks]
    grads = {**runs[0]["grads"], **runs[1]["grads"]}
    steps = []
    for step in range(len(runs[0]["seconds"])):
        start = min(run["origins"][step] for run in runs)
        shifts = [run["origins"][step] - start for run in runs]
        pairs = list(zip(shifts, runs, strict=True))
        length = max(shift + run["seconds"][step] for shift, run in pairs)
        events = [[(kind, m, begin + shift, end + shift)
                   for kind, m, begin, end in run["events"][step]] for shift, run in pairs]
        steps.append((length, events))
    seconds, events = min(steps, key=lambda s: s[0])  # the fastest step
    return {"loss": runs[1]["loss"], "grads": grads, "seconds": seconds, "events": events}


def idle_fraction(events: list[list[tuple]]) -> float:
    """The share of the step that the stages spent not computing (the bubble and the
    waiting for messages): 1 - busy time / (stages x the step's length)."""
    end = max(e[3] for stage in events for e in stage)
    busy = sum(e[3] - e[2] for stage in events for e in stage)
    return 1.0 - busy / (len(events) * end)


def gpipe_bubble(stages: int, micro_batches: int) -> float:
    """GPipe's idle share with equal stages and no communication time: (S - 1) / (M + S - 1)."""
    return (stages - 1) / (micro_batches + stages - 1)


def draw_pipeline(ax, events: list[list[tuple]], title: str = "", *, scale: float = 1e3,
                  xlabel: str = "milliseconds since the step began") -> None:
    """A Gantt chart of a pipeline step: one row per stage, forward blue, backward orange,
    each bar labelled with its micro-batch. Times are multiplied by ``scale`` (seconds
    to milliseconds by default)."""
    colours = {"forward": "tab:blue", "backward": "tab:orange"}
    for s, stage in enumerate(events):
        for kind, m, start, end in stage:
            ax.barh(s, (end - start) * scale, left=start * scale, color=colours[kind],
                    edgecolor="white")
            ax.text((start + end) / 2 * scale, s, str(m), ha="center", va="center",
                    color="white", fontsize=8)
    ax.set_yticks(range(len(events)), [f"stage {s} (rank {s})" for s in range(len(events))])
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=c, label=kind) for kind, c in colours.items()],
              loc="lower right", fontsize=8)


# ---------------------------------------------------------------------------
# Tensor parallelism (Megatron-LM)

#: How many all-reduces the two operators below issued, by pass (reset by the worker).
ALL_REDUCES = {"forward": 0, "backward": 0}


class SumOverRanks(torch.autograd.Function):
    """Megatron's ``g``: all-reduce in the forward pass, identity in the backward pass.

    Every rank holds a partial sum; the output is their total. Each partial entered
    the total with weight 1, so its gradient is the total's gradient, unchanged.
    """

    @staticmethod
    def forward(ctx, partial):
        total = partial.clone()
        dist.all_reduce(total)                  # the sum of every rank's partial
        ALL_REDUCES["forward"] += 1
        return total

    @staticmethod
    def backward(ctx, grad):
        return grad


class CopyToRanks(torch.autograd.Function):
    """Megatron's ``f``: identity in the forward pass, all-reduce in the backward pass.

    Every rank uses the same input; each rank's backward gives only its part of the
    input's gradient (through its columns of W1), so the parts are summed.
    """

    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone()
        dist.all_reduce(grad)                   # the sum of every rank's part of dL/dx
        ALL_REDUCES["backward"] += 1
        return grad


def megatron_mlp(x, w1, b1, w2, b2):
    """relu(x @ W1 + b1) @ W2 + b2, computed by one rank of a tensor-parallel group.

    ``w1``, ``b1``: this rank's columns of W1 and entries of b1 (column-parallel);
    ``w2``: the same rows of W2 (row-parallel); ``b2`` is whole on every rank.
    """
    x = CopyToRanks.apply(x)                    # f: the backward all-reduces dL/dx
    h = torch.relu(x @ w1 + b1)                 # (batch, hidden / ranks): no communication
    partial = h @ w2                            # (batch, out): this rank's share of the sum
    return SumOverRanks.apply(partial) + b2     # g: one all-reduce in the forward pass


def megatron_params(d_in: int = 64, hidden: int = 256, d_out: int = 10,
                    seed: int = 0) -> dict[str, np.ndarray]:
    """The whole MLP's parameters, seeded (W1 is d_in x hidden, W2 hidden x d_out)."""
    rng = np.random.default_rng(seed)
    return {"w1": (rng.normal(size=(d_in, hidden)) / np.sqrt(d_in)).astype(np.float32),
            "b1": (rng.normal(size=hidden) * 0.1).astype(np.float32),
            "w2": (rng.normal(size=(hidden, d_out)) / np.sqrt(hidden)).astype(np.float32),
            "b2": (rng.normal(size=d_out) * 0.1).astype(np.float32)}


def shard(params: dict[str, np.ndarray], rank: int, world_size: int) -> dict[str, np.ndarray]:
    """Rank ``rank``'s part: a block of W1's columns, the same entries of b1, the same
    rows of W2, and all of b2."""
    hidden = params["w1"].shape[1]
    if hidden % world_size:
        raise ValueError("the hidden width must divide evenly over the ranks")
    cols = slice(rank * hidden // world_size, (rank + 1) * hidden // world_size)
    return {"w1": params["w1"][:, cols], "b1": params["b1"][cols],
            "w2": params["w2"][cols, :], "b2": params["b2"]}


def _loss_and_grads(forward, x: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray]):
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    xt = torch.tensor(x, requires_grad=True)
    out = forward(xt, tensors["w1"], tensors["b1"], tensors["w2"], tensors["b2"])
    loss = F.cross_entropy(out, torch.as_tensor(y))
    loss.backward()
    return {"output": out.detach().numpy(), "loss": loss.item(), "x_grad": xt.grad.numpy(),
            "grads": {k: t.grad.numpy() for k, t in tensors.items()}}


def tensor_parallel_worker(rank: int, world_size: int, x: np.ndarray, y: np.ndarray, *,
                           hidden: int = 256, seed: int = 0) -> dict[str, Any]:
    """One forward and backward of :func:`megatron_mlp` on this rank's shard.

    Returns the output and loss (the same on every rank), this rank's gradients,
    the gradient of the input ``x``, how many all-reduces each pass issued, and how
    many parameters this rank stores.
    """
    params = shard(megatron_params(x.shape[1], hidden, 10, seed), rank, world_size)
    ALL_REDUCES.update(forward=0, backward=0)
    result = _loss_and_grads(megatron_mlp, x, y, params)
    return {"rank": rank, **result, "all_reduces": dict(ALL_REDUCES),
            "stored": sum(v.size for v in params.values())}


def megatron_reference(x: np.ndarray, y: np.ndarray, *, hidden: int = 256,
                       seed: int = 0) -> dict[str, Any]:
    """The same MLP in one process, unsplit: output, loss and every gradient."""
    def whole(x, w1, b1, w2, b2):
        return torch.relu(x @ w1 + b1) @ w2 + b2

    params = megatron_params(x.shape[1], hidden, 10, seed)
    return {**_loss_and_grads(whole, x, y, params),
            "stored": sum(v.size for v in params.values())}


def gather_shards(ranks: list[dict]) -> dict[str, np.ndarray]:
    """The whole gradients from every rank's shard: W1's and b1's columns side by side,
    W2's rows stacked, b2's (the same on every rank) from rank 0."""
    grads = [r["grads"] for r in ranks]
    return {"w1": np.concatenate([g["w1"] for g in grads], axis=1),
            "b1": np.concatenate([g["b1"] for g in grads]),
            "w2": np.concatenate([g["w2"] for g in grads], axis=0),
            "b2": grads[0]["b2"]}
