"""Run PyTorch's distributed code from a notebook: real worker processes on loopback.

Taught in lesson 06 (``notebooks/06_scaling.ipynb``, "Data parallelism in
PyTorch"), which launches every multi-process example with :func:`run`.

What a launcher such as ``torchrun --nproc-per-node 2 train.py`` does, done
from Python so that a notebook can use it:

- start ``world_size`` fresh processes (the ``spawn`` start method: a fresh
  interpreter each, which is what CUDA needs too);
- give each one the rendezvous variables ``MASTER_ADDR`` (loopback),
  ``MASTER_PORT`` (a port free at launch time), ``RANK``, ``LOCAL_RANK`` and
  ``WORLD_SIZE``, and have it join the process group (``gloo`` on a CPU,
  ``nccl`` between GPUs);
- call the worker function, send its return value back, and leave the group.

:class:`Workers` is a context manager: whatever happens in the block (a
worker raises, hangs or dies, the notebook cell is interrupted), every process
it started is terminated, then killed, and joined when the block is left. A
worker function must be importable from a module (``module.function``): a
spawned process cannot unpickle a function defined in a notebook. The worker
functions lesson 06 runs are below the launcher; their return values are
plain Python and NumPy, so nothing tied to a process group crosses back.
"""

from __future__ import annotations

import os
import queue as queue_module
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .serving import LOOPBACK, free_port

#: Seconds a worker gets to exit after ``terminate()`` before it is killed.
GRACE_SECONDS = 3.0


class WorkerError(RuntimeError):
    """A worker raised, died, or did not finish in time; the message says which and why."""


def _entry(rank: int, world_size: int, port: int, backend: str | None, threads: int,
           fn: Callable, args: tuple, kwargs: dict, results) -> None:
    """What each spawned process runs: join the group, call ``fn``, report back, leave."""
    os.environ.update(MASTER_ADDR=LOOPBACK, MASTER_PORT=str(port), RANK=str(rank),
                      LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size))
    dist = None
    try:
        if backend is not None or "torch" in sys.modules:  # a worker without torch stays light
            import torch

            torch.set_num_threads(threads)
        if backend is not None:
            import torch.distributed as dist

            dist.init_process_group(backend, rank=rank, world_size=world_size)
        value = fn(rank, world_size, *args, **kwargs)
        results.put((rank, "ok", value))
    except BaseException:  # noqa: BLE001 - everything goes back to the parent
        results.put((rank, "error", traceback.format_exc()))
    finally:
        if dist is not None and dist.is_initialized():
            dist.destroy_process_group()


class Workers:
    """``world_size`` processes running ``fn(rank, world_size, *args, **kwargs)``.

    A context manager: leaving the block stops and reaps every process.

    ``backend`` is the process group each worker joins before ``fn`` runs
    (``"gloo"``, ``"nccl"``, or ``None`` for none). ``results()`` waits for
    every worker and returns their return values in rank order.
    """

    def __init__(self, fn: Callable, world_size: int, args: Sequence[Any] = (),
                 kwargs: dict[str, Any] | None = None, *, backend: str | None = "gloo",
                 threads: int = 1, timeout: float = 120.0):
        if world_size < 1:
            raise ValueError("world_size must be at least 1")
        self.fn, self.world_size, self.args = fn, world_size, tuple(args)
        self.kwargs = dict(kwargs or {})
        self.backend, self.threads, self.timeout = backend, threads, timeout
        self.port: int | None = None
        self.processes: list = []
        self._queue = None

    def __enter__(self) -> Workers:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._queue = context.Queue()
        self.port = free_port()
        try:
            for rank in range(self.world_size):
                process = context.Process(
                    target=_entry, daemon=True, name=f"dlcourse-worker-{rank}",
                    args=(rank, self.world_size, self.port, self.backend, self.threads,
                          self.fn, self.args, self.kwargs, self._queue))
                process.start()
                self.processes.append(process)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def results(self) -> list[Any]:
        """Every worker's return value, by rank; :class:`WorkerError` if any failed."""
        values: dict[int, Any] = {}
        deadline = time.monotonic() + self.timeout
        while len(values) < self.world_size:
            try:
                rank, status, value = self._queue.get(timeout=0.2)
            except queue_module.Empty:
                dead = [p for p in self.processes if p.exitcode not in (None, 0)]
                if dead:
                    raise WorkerError(f"{dead[0].name} died with exit code {dead[0].exitcode}"
                                      ) from None
                if time.monotonic() > deadline:
                    raise WorkerError(f"workers did not finish within {self.timeout:g} s "
                                      f"({len(values)} of {self.world_size} reported)") from None
                continue
            if status == "error":
                raise WorkerError(f"rank {rank} failed:\n{value}")
            values[rank] = value
        return [values[rank] for rank in range(self.world_size)]

    def close(self) -> None:
        """Stop and reap every process: let them exit, then terminate, then kill.

        Each stage waits at most :data:`GRACE_SECONDS` for all processes together.
        """
        def join_all():
            deadline = time.monotonic() + GRACE_SECONDS
            for process in self.processes:
                process.join(timeout=max(0.0, deadline - time.monotonic()))

        join_all()  # workers that reported have nothing left to do but exit
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        join_all()
        for process in self.processes:
            if process.is_alive():
                process.kill()
                process.join()
        for process in self.processes:
            process.close()
        self.processes = []
        if self._queue is not None:
            self._queue.close()
            self._queue.join_thread()
            self._queue = None

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]


def run(fn: Callable, world_size: int, *args, backend: str | None = "gloo", threads: int = 1,
        timeout: float = 120.0, **kwargs) -> list[Any]:
    """Run ``fn(rank, world_size, *args, **kwargs)`` in ``world_size`` processes.

    Returns the workers' return values in rank order; every process has been
    reaped when it returns or raises.
    """
    with Workers(fn, world_size, args, kwargs, backend=backend, threads=threads,
                 timeout=timeout) as workers:
        return workers.results()


# ---------------------------------------------------------------------------
# Worker functions run by lesson 06. Each takes (rank, world_size, ...) and
# runs inside a process group that the launcher has already joined.


def ring_allreduce(tensor, rank: int, world_size: int):
    """Sum ``tensor`` over all ranks in place, by hand: reduce-scatter, then all-gather.

    The tensor is cut into ``world_size`` chunks. In each of the
    ``world_size - 1`` reduce-scatter steps every rank sends one chunk to its
    right neighbour and adds the chunk it receives from its left one; after
    them, rank ``r`` holds the full sum of chunk ``(r + 1) % world_size``. The
    all-gather steps pass those finished chunks round the ring. Every rank
    sends ``2 (world_size - 1) / world_size`` times the tensor's size, however
    many ranks there are: that is why the ring is bandwidth-optimal.
    """
    import torch
    import torch.distributed as dist

    chunks = list(tensor.view(-1).chunk(world_size))
    right, left = (rank + 1) % world_size, (rank - 1) % world_size
    for step in range(2 * (world_size - 1)):
        reducing = step < world_size - 1
        offset = step if reducing else step - (world_size - 1) - 1
        send_i, recv_i = (rank - offset) % world_size, (rank - offset - 1) % world_size
        incoming = torch.empty_like(chunks[recv_i])
        ops = [dist.P2POp(dist.isend, chunks[send_i].contiguous(), right),
               dist.P2POp(dist.irecv, incoming, left)]
        for request in dist.batch_isend_irecv(ops):
            request.wait()
        if reducing:
            chunks[recv_i] += incoming
        else:
            chunks[recv_i].copy_(incoming)
    return tensor


def allreduce_demo(rank: int, world_size: int, size: int = 10) -> dict[str, Any]:
    """Each rank holds different numbers; compare the hand-written ring with ``all_reduce``.

    Under NCCL (one process per GPU) the tensors live on GPU ``rank``; under gloo on the CPU.
    """
    import torch
    import torch.distributed as dist

    device = torch.device("cpu")
    if dist.get_backend() == "nccl":
        device = torch.device("cuda", rank)
        torch.cuda.set_device(device)
    mine = torch.arange(size, dtype=torch.float32, device=device) * (rank + 1)
    by_hand = ring_allreduce(mine.clone(), rank, world_size)
    builtin = mine.clone()
    dist.all_reduce(builtin, op=dist.ReduceOp.SUM)
    return {"rank": rank, "mine": mine.cpu().numpy(), "ring": by_hand.cpu().numpy(),
            "all_reduce": builtin.cpu().numpy()}


def digits_mlp(hidden: int = 128, seed: int = 0):
    """The digits classifier trained in lesson 06: 64 -> hidden -> hidden -> 10, seeded."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                         nn.ReLU(), nn.Linear(hidden, 10))


def train_digits(rank: int, world_size: int, x: np.ndarray, y: np.ndarray, *,
                 global_batch: int = 64, epochs: int = 2, lr: float = 0.1,
                 accumulation: int = 1, hidden: int = 128, seed: int = 0,
                 bucket_cap_mb: float | None = None) -> dict[str, Any]:
    """Train :func:`digits_mlp` with SGD; data-parallel over ``world_size`` ranks.

    With ``world_size == 1`` it runs in the calling process, without a process
    group or DDP: the single-device reference. Otherwise the model is wrapped
    in ``DistributedDataParallel`` and each rank reads its shard through a
    ``DistributedSampler`` (re-seeded every epoch with ``set_epoch``), in
    local batches of ``global_batch / world_size``, split into
    ``accumulation`` micro-batches whose gradients are only synchronised on
    the last one (``no_sync`` on the others). Returns the final weights
    (rank 0's; every rank holds the same), the losses, and step timings.
    """
    import contextlib

    import torch
    from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

    if global_batch % (world_size * accumulation):
        raise ValueError("global_batch must be divisible by world_size * accumulation")
    local_batch = global_batch // world_size
    micro = local_batch // accumulation
    dataset = TensorDataset(torch.as_tensor(x), torch.as_tensor(y))
    sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True,
                                 seed=seed, drop_last=True)
    loader = DataLoader(dataset, batch_size=local_batch, sampler=sampler, drop_last=True)
    model = digits_mlp(hidden, seed)
    if world_size > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        options = {} if bucket_cap_mb is None else {"bucket_cap_mb": bucket_cap_mb}
        model = DDP(model, **options)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    losses, step_seconds = [], []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
        for xb, yb in loader:
            started = time.perf_counter()
            optimizer.zero_grad()
            total = 0.0
            for i, (xm, ym) in enumerate(zip(xb.split(micro), yb.split(micro), strict=True)):
                last = i == accumulation - 1
                skip_sync = world_size > 1 and not last
                with model.no_sync() if skip_sync else contextlib.nullcontext():
                    loss = loss_fn(model(xm), ym) / accumulation
                    loss.backward()
                total += loss.item()
            optimizer.step()
            step_seconds.append(time.perf_counter() - started)
            losses.append(total)
    module = model.module if world_size > 1 else model
    return {"rank": rank, "weights": {k: v.detach().numpy().copy()
                                      for k, v in module.state_dict().items()},
            "losses": losses, "step_seconds": step_seconds,
            "examples_seen": len(sampler) * epochs}


def communication_cost(rank: int, world_size: int, x: np.ndarray, y: np.ndarray, *,
                       hidden: int = 512, batch: int = 128, steps: int = 20,
                       bucket_caps: Sequence[float] = (25.0, 0.05)) -> dict[str, Any]:
    """Time one DDP step with and without gradient synchronisation, and one all-reduce.

    ``no_sync`` steps compute the same forward and backward without the
    all-reduce, so the difference between the two timings is what the
    communication costs once DDP has overlapped what it could with the
    backward pass. Bucket sizes (MB) change how many all-reduces are issued.
    """
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    xb = torch.as_tensor(x[rank * batch:(rank + 1) * batch])
    yb = torch.as_tensor(y[rank * batch:(rank + 1) * batch])
    loss_fn = torch.nn.CrossEntropyLoss()
    timings: dict[str, float] = {}
    for cap in bucket_caps:
        model = DDP(digits_mlp(hidden), bucket_cap_mb=cap)

        def step(model=model):
            model.zero_grad()
            loss_fn(model(xb), yb).backward()

        for label, sync in (("no_sync", False), ("synchronised", True)):
            samples = []
            for i in range(steps + 3):
                dist.barrier()
                started = time.perf_counter()
                if sync:
                    step()
                else:
                    with model.no_sync():
                        step()
                if i >= 3:
                    samples.append(time.perf_counter() - started)
            key = "no_sync" if label == "no_sync" else f"synchronised, bucket_cap_mb={cap:g}"
            timings[key] = float(np.median(samples))
    grads = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    samples = []
    for _ in range(steps):
        dist.barrier()
        started = time.perf_counter()
        dist.all_reduce(grads)
        samples.append(time.perf_counter() - started)
    timings["one all_reduce of every gradient"] = float(np.median(samples))
    return {"rank": rank, "seconds": timings, "gradient_bytes": grads.numel() * 4}


def fsdp_train(rank: int, world_size: int, x: np.ndarray, y: np.ndarray, *,
               global_batch: int = 64, steps: int = 5, lr: float = 0.1,
               hidden: int = 128, seed: int = 0) -> dict[str, Any]:
    """A few SGD steps with ``fully_shard`` (FSDP2): each rank stores a shard of every weight.

    The batch is split across ranks in order (rank ``r`` takes the ``r``-th
    slice of each global batch), so the result can be compared with one
    process at the global batch. Returns the full weights (gathered) and how
    many parameter elements this rank actually stores.
    """
    import torch
    from torch.distributed.fsdp import fully_shard

    model = digits_mlp(hidden, seed)
    full_elements = sum(p.numel() for p in model.parameters())
    for layer in model:
        if isinstance(layer, torch.nn.Linear):
            fully_shard(layer)
    fully_shard(model)
    local_elements = sum(p.to_local().numel() for p in model.parameters())
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    local = global_batch // world_size
    for step in range(steps):
        start = step * global_batch + rank * local
        xb, yb = torch.as_tensor(x[start:start + local]), torch.as_tensor(y[start:start + local])
        optimizer.zero_grad()
        loss_fn(model(xb), yb).backward()
        optimizer.step()
    weights = {name: p.full_tensor().detach().numpy().copy()
               for name, p in model.named_parameters()}
    return {"rank": rank, "weights": weights, "local_elements": local_elements,
            "full_elements": full_elements}


def sequential_sgd(x: np.ndarray, y: np.ndarray, *, global_batch: int = 64, steps: int = 5,
                   lr: float = 0.1, hidden: int = 128, seed: int = 0) -> dict[str, np.ndarray]:
    """One process, batches taken in order: the reference for :func:`fsdp_train`."""
    import torch

    model = digits_mlp(hidden, seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    for step in range(steps):
        sl = slice(step * global_batch, (step + 1) * global_batch)
        optimizer.zero_grad()
        loss_fn(model(torch.as_tensor(x[sl])), torch.as_tensor(y[sl])).backward()
        optimizer.step()
    return {name: p.detach().numpy().copy() for name, p in model.named_parameters()}


def max_difference(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    """The largest absolute difference between two sets of weights with the same names."""
    if a.keys() != b.keys():
        raise ValueError(f"different parameters: {sorted(a)} vs {sorted(b)}")
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)
