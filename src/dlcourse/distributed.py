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

:class:`Team` keeps its processes: started once, it runs one task after another
in the same process group, so a notebook pays the start-up (a fresh interpreter,
``import torch``, the rendezvous) once, and :attr:`Team.startup` says what that
start-up cost. :func:`run` starts processes for one task and stops them.
Lesson 06 runs its data-parallel examples here and its pipeline and tensor
parallel ones in :mod:`dlcourse.parallel`, on one :class:`Team`.
"""

from __future__ import annotations

import contextlib
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


def reap(processes: Sequence) -> None:
    """Let ``processes`` exit, then terminate, then kill them; join and close each.

    Each stage waits at most :data:`GRACE_SECONDS` for all processes together.
    """
    def join_all():
        deadline = time.monotonic() + GRACE_SECONDS
        for process in processes:
            process.join(timeout=max(0.0, deadline - time.monotonic()))

    join_all()  # workers that reported have nothing left to do but exit
    for process in processes:
        if process.is_alive():
            process.terminate()
    join_all()
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join()
    for process in processes:
        process.close()


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
        reap(self.processes)
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


def _serve(rank: int, world_size: int, port: int, backend: str | None, threads: int,
           started: float, tasks, results) -> None:
    """What each process of a :class:`Team` runs: join the group, then run tasks until told."""
    entered = time.time()  # the interpreter is up and this module (with NumPy) is imported
    os.environ.update(MASTER_ADDR=LOOPBACK, MASTER_PORT=str(port), RANK=str(rank),
                      LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size))
    dist = None
    try:
        if backend is not None:  # a team without a process group stays light
            import torch
            import torch.distributed as dist

            torch.set_num_threads(threads)
        imported = time.time()
        if backend is not None:
            dist.init_process_group(backend, rank=rank, world_size=world_size)
        joined = time.time()
        results.put((rank, "ready", {"start Python, import dlcourse and NumPy": entered - started,
                                     "import torch": imported - entered,
                                     "join the process group": joined - imported}))
        while (task := tasks.get()) is not None:
            fn, args, kwargs = task
            try:
                results.put((rank, "ok", fn(rank, world_size, *args, **kwargs)))
            except Exception:  # noqa: BLE001 - the traceback goes back to the parent
                results.put((rank, "error", traceback.format_exc()))
    except BaseException:  # noqa: BLE001
        results.put((rank, "error", traceback.format_exc()))
    finally:
        if dist is not None and dist.is_initialized():
            dist.destroy_process_group()


class Team:
    """``world_size`` processes in one process group that run task after task.

    A context manager (or :meth:`start` and :meth:`close`): leaving the block,
    or a task that fails, stops and reaps every process. ``run(fn, *args,
    **kwargs)`` calls ``fn(rank, world_size, *args, **kwargs)`` in every process
    and returns the results in rank order; ``fn`` must be importable from a
    module. :attr:`startup` holds the seconds the slowest rank spent in each phase
    of getting ready, and :attr:`startup_seconds` the whole wait.
    """

    def __init__(self, world_size: int, *, backend: str | None = "gloo", threads: int = 1,
                 timeout: float = 120.0):
        if world_size < 1:
            raise ValueError("world_size must be at least 1")
        self.world_size, self.backend = world_size, backend
        self.threads, self.timeout = threads, timeout
        self.processes: list = []
        self.startup: dict[str, float] = {}
        self.startup_seconds = float("nan")
        self._tasks: list = []
        self._results = None

    def __enter__(self) -> Team:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()

    def start(self) -> Team:
        """Start the processes and wait until every one has joined the group."""
        import multiprocessing

        if self.processes:
            raise RuntimeError("this team is already started")
        context = multiprocessing.get_context("spawn")
        self._results = context.Queue()
        self._tasks = [context.Queue() for _ in range(self.world_size)]
        port, started = free_port(), time.time()
        try:
            for rank in range(self.world_size):
                process = context.Process(
                    target=_serve, daemon=True, name=f"dlcourse-team-{rank}",
                    args=(rank, self.world_size, port, self.backend, self.threads, started,
                          self._tasks[rank], self._results))
                process.start()
                self.processes.append(process)
            phases = self._collect("get ready")
        except BaseException:
            self.close()
            raise
        self.startup_seconds = time.time() - started
        self.startup = max(phases, key=lambda p: sum(p.values()))  # the last rank ready
        return self

    def run(self, fn: Callable, *args, timeout: float | None = None, **kwargs) -> list[Any]:
        """``fn(rank, world_size, *args, **kwargs)`` in every process; the results by rank.

        If any rank fails (or the team does not answer in ``timeout`` seconds)
        the team is closed, since the other ranks may wait for it forever, and
        :class:`WorkerError` says why.
        """
        if not self.processes:
            raise RuntimeError("this team is not running: start it (again) first")
        for queue in self._tasks:
            queue.put((fn, args, kwargs))
        try:
            return self._collect(getattr(fn, "__name__", "the task"), timeout)
        except BaseException:
            self.close()
            raise

    def _collect(self, what: str, timeout: float | None = None) -> list[Any]:
        values: dict[int, Any] = {}
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while len(values) < self.world_size:
            try:
                rank, status, value = self._results.get(timeout=0.2)
            except queue_module.Empty:
                dead = [p for p in self.processes if p.exitcode is not None]
                if dead:
                    raise WorkerError(f"{dead[0].name} died with exit code {dead[0].exitcode} "
                                      f"while the team was to {what}") from None
                if time.monotonic() > deadline:
                    raise WorkerError(f"the team did not {what} within the time limit "
                                      f"({len(values)} of {self.world_size} ranks answered)"
                                      ) from None
                continue
            if status == "error":
                raise WorkerError(f"rank {rank} failed:\n{value}")
            values[rank] = value
        return [values[rank] for rank in range(self.world_size)]

    def close(self) -> None:
        """Tell every process to stop, then reap them (terminate, kill if need be)."""
        for queue in self._tasks:
            with contextlib.suppress(Exception):
                queue.put(None)
        reap(self.processes)
        self.processes = []
        for queue in [*self._tasks, self._results]:
            if queue is not None:
                queue.cancel_join_thread()  # a task no process will read is dropped, not awaited
                queue.close()
        self._tasks, self._results = [], None

    @property
    def alive(self) -> list[int]:
        """The process ids of this team's processes that are still running."""
        return [p.pid for p in self.processes if p.is_alive()]


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
    (rank 0's; every rank holds the same), the losses, step timings, and
    ``phases``: the seconds spent building the data pipeline and the model
    (with DDP's wrapping, which broadcasts rank 0's weights), and in the loop;
    and how many modules the set-up imported (the first ``DistributedDataParallel``
    in a process imports ``torch._dynamo``, which it asks how compiled DDP behaves).
    """
    import contextlib

    entered, modules = time.perf_counter(), len(sys.modules)
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
    looping, imported = time.perf_counter(), len(sys.modules) - modules
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
    looped = time.perf_counter()
    module = model.module if world_size > 1 else model
    return {"rank": rank, "weights": {k: v.detach().numpy().copy()
                                      for k, v in module.state_dict().items()},
            "losses": losses, "step_seconds": step_seconds,
            "examples_seen": len(sampler) * epochs,
            "phases": {"set-up": looping - entered, "training loop": looped - looping},
            "modules_imported_in_set_up": imported}


def communication_cost(rank: int, world_size: int, x: np.ndarray, y: np.ndarray, *,
                       hidden: int = 512, batch: int = 128, steps: int = 8, rounds: int = 2,
                       bucket_caps: Sequence[float] = (25.0, 0.05)) -> dict[str, Any]:
    """Time a data-parallel step's parts, in the ranks themselves (seconds of the fastest step).

    - ``alone``: this rank's step (forward and backward on ``batch`` examples, no
      DDP) while every other rank waits at a barrier; ``alone, the global batch``:
      the same on ``world_size * batch`` examples, what one process would compute;
    - ``together, no_sync``: every rank's DDP step at once, without the all-reduce
      (``no_sync``): the same arithmetic as ``alone``, with the ranks competing for
      the machine;
    - ``together, synchronised, bucket_cap_mb=c``: the real DDP step, whose
      all-reduces overlap the backward pass in buckets of ``c`` MB;
    - ``one all_reduce of every gradient``: the communication by itself.

    The measurements take turns, ``rounds`` times over, so that a machine whose
    load changes affects them alike, and each reports its fastest step: on a busy
    machine most steps are interrupted by other programs, and the fastest one is
    closest to what the step itself costs.
    """
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    loss_fn = torch.nn.CrossEntropyLoss()
    local = (torch.as_tensor(x[rank * batch:(rank + 1) * batch]),
             torch.as_tensor(y[rank * batch:(rank + 1) * batch]))
    whole = (torch.as_tensor(x[:world_size * batch]), torch.as_tensor(y[:world_size * batch]))
    plain = digits_mlp(hidden)
    models = {cap: DDP(digits_mlp(hidden), bucket_cap_mb=cap) for cap in bucket_caps}

    def step(model, data):
        model.zero_grad()
        loss_fn(model(data[0]), data[1]).backward()

    def fastest_seconds(fn, together: bool) -> float:
        samples = []
        for i in range(steps + 2):  # two warm-up steps
            if together:
                dist.barrier()
            started = time.perf_counter()
            fn()
            if i >= 2:
                samples.append(time.perf_counter() - started)
        return min(samples)

    runs: dict[str, list[float]] = {}

    def keep(key, value):
        runs.setdefault(key, []).append(value)

    first = models[bucket_caps[0]]
    for _ in range(rounds):
        for turn in range(world_size):  # one rank at a time; the others wait at the barrier
            dist.barrier()
            if rank == turn:
                keep("alone", fastest_seconds(lambda: step(plain, local), together=False))
                keep("alone, the global batch",
                     fastest_seconds(lambda: step(plain, whole), together=False))
            dist.barrier()

        def unsynchronised():
            with first.no_sync():
                step(first, local)

        keep("together, no_sync", fastest_seconds(unsynchronised, together=True))
        for cap, model in models.items():
            keep(f"together, synchronised, bucket_cap_mb={cap:g}",
                 fastest_seconds(lambda model=model: step(model, local), together=True))
        grads = torch.cat([p.detach().reshape(-1) for p in first.parameters()])
        keep("one all_reduce of every gradient",
             fastest_seconds(lambda grads=grads: dist.all_reduce(grads), together=True))
    return {"rank": rank, "seconds": {k: min(v) for k, v in runs.items()},
            "gradient_bytes": grads.numel() * 4}


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
