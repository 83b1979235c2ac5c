"""Lesson 06's data-parallel digits training as a script for a launcher (torchrun).

Shown in lesson 06 (``notebooks/06_scaling.ipynb``, "Past one machine"), which
runs the same loop in notebook worker processes; tests/test_distributed.py runs this
script with torchrun on the CPU. It takes the GPU path where there is one::

    torchrun --standalone --nproc-per-node 2 -m dlcourse.train_ddp    # this machine
    torchrun --standalone --nproc-per-node 2 train.py                 # a copy of this file
    torchrun --nnodes 4 --nproc-per-node 8 --rdzv-backend c10d \\
             --rdzv-endpoint head-node:29500 --rdzv-id job42 train.py  # on each of 4 nodes

torchrun starts one process per device and sets ``RANK``, ``LOCAL_RANK``,
``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` in each; ``init_process_group``
reads them.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from dlcourse import data
from dlcourse.distributed import digits_mlp


def main(epochs: int = 2, global_batch: int = 64, lr: float = 0.1) -> None:
    local_rank = int(os.environ["LOCAL_RANK"])  # this process's index on its machine
    accelerator = torch.accelerator.current_accelerator(check_available=True)  # None: CPU only
    if accelerator is not None:  # one device per process: cuda:0, cuda:1, ... (or xpu, mps)
        device = torch.device(accelerator.type, local_rank)
        torch.accelerator.set_device_index(local_rank)
    else:
        device = torch.device("cpu")
    backend = dist.get_default_backend_for_device(device)  # nccl for CUDA, gloo for the CPU
    dist.init_process_group(backend, device_id=device if accelerator is not None else None)
    rank, world_size = dist.get_rank(), dist.get_world_size()

    digits = data.load_digits()
    dataset = TensorDataset(torch.as_tensor(digits.train.x), torch.as_tensor(digits.train.y))
    sampler = DistributedSampler(dataset, shuffle=True, seed=0, drop_last=True)  # rank's shard
    loader = DataLoader(dataset, batch_size=global_batch // world_size, sampler=sampler)
    model = DDP(digits_mlp().to(device),
                device_ids=[local_rank] if accelerator is not None else None)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)  # the batch goes where the model is
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()  # DDP all-reduces the gradients during the backward pass
            optimizer.step()
        if rank == 0:  # one process logs (and would write the checkpoints)
            print(f"epoch {epoch}: loss {loss.item():.4f} on {world_size} x {device.type}",
                  flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
