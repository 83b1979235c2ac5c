"""dlcourse.distributed: worker processes on loopback, always reaped, and lesson 06's workers."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from dlcourse import distributed


def _raises(rank, world_size):
    if rank == 1:
        raise ValueError("rank 1 is broken")
    return rank


def _hangs(rank, world_size):
    time.sleep(600)


def _pid(rank, world_size, offset):
    return {"rank": rank, "pid": os.getpid(), "sum": rank + offset,
            "env": (os.environ["RANK"], os.environ["WORLD_SIZE"], os.environ["MASTER_ADDR"])}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); its state in /proc says it is gone
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False


def test_results_in_rank_order_with_the_rendezvous_variables():
    results = distributed.run(_pid, 2, 10, backend=None)
    assert [r["rank"] for r in results] == [0, 1]
    assert [r["sum"] for r in results] == [10, 11]
    assert results[1]["env"] == ("1", "2", "127.0.0.1")
    assert len({r["pid"] for r in results}) == 2 and os.getpid() not in {r["pid"] for r in results}


def test_a_failing_worker_raises_with_its_traceback_and_nothing_is_left():
    workers = distributed.Workers(_raises, 2, backend=None)
    with pytest.raises(distributed.WorkerError, match="rank 1 is broken"), workers:
        pids = workers.pids
        workers.results()
    assert workers.processes == []
    assert not any(_alive(pid) for pid in pids)


def test_a_hanging_worker_times_out_and_is_killed():
    workers = distributed.Workers(_hangs, 2, backend=None, timeout=3)
    started = time.monotonic()
    with pytest.raises(distributed.WorkerError, match="did not finish"), workers:
        pids = workers.pids
        workers.results()
    assert time.monotonic() - started < 30
    assert not any(_alive(pid) for pid in pids)


def test_hand_written_ring_all_reduce_matches_gloo_on_three_ranks():
    results = distributed.run(distributed.allreduce_demo, 3, 11)
    expected = sum(r["mine"] for r in results)
    for r in results:
        np.testing.assert_array_equal(r["ring"], expected)
        np.testing.assert_array_equal(r["all_reduce"], expected)


def test_ddp_with_accumulation_matches_one_process_at_the_global_batch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 64)).astype(np.float32)
    y = rng.integers(0, 10, size=128)
    single = distributed.train_digits(0, 1, x, y, global_batch=32, epochs=2, hidden=16)
    multi = distributed.run(distributed.train_digits, 2, x, y, global_batch=32, epochs=2,
                            hidden=16, accumulation=2)
    assert distributed.max_difference(single["weights"], multi[0]["weights"]) < 1e-5
    assert distributed.max_difference(multi[0]["weights"], multi[1]["weights"]) == 0.0
    # the reference really trained: its weights moved away from the initial ones
    start = {k: v.detach().numpy() for k, v in distributed.digits_mlp(16).state_dict().items()}
    assert distributed.max_difference(start, single["weights"]) > 1e-3


def test_max_difference_refuses_different_parameters():
    with pytest.raises(ValueError):
        distributed.max_difference({"a": np.zeros(1)}, {"b": np.zeros(1)})
    assert distributed.max_difference({"a": np.zeros(2)}, {"a": np.array([0.0, -2.0])}) == 2.0


def _sleep(rank, world_size, seconds):
    time.sleep(seconds)
    return rank


def test_a_team_runs_task_after_task_in_one_process_group_and_times_its_start():
    with distributed.Team(2) as team:
        pids = [p.pid for p in team.processes]
        assert set(team.startup) == {"start Python, import dlcourse and NumPy", "import torch",
                                     "join the process group"}
        assert 0 < sum(team.startup.values()) <= team.startup_seconds
        first = team.run(_pid, 5)
        second = team.run(distributed.allreduce_demo, 4)
        assert [r["pid"] for r in first] == pids  # the same processes, task after task
        assert [r["sum"] for r in first] == [5, 6]
        np.testing.assert_array_equal(second[0]["all_reduce"], np.arange(4) * 3)
        assert team.alive == pids
    assert team.processes == [] and not any(_alive(pid) for pid in pids)
    with pytest.raises(RuntimeError, match="not running"):
        team.run(_pid, 0)


def test_a_team_stops_when_a_task_fails_or_hangs():
    team = distributed.Team(2, backend=None).start()
    pids = [p.pid for p in team.processes]
    with pytest.raises(distributed.WorkerError, match="rank 1 is broken"):
        team.run(_raises)
    assert team.processes == [] and not any(_alive(pid) for pid in pids)

    team = distributed.Team(2, backend=None).start()
    pids = [p.pid for p in team.processes]
    started = time.monotonic()
    with pytest.raises(distributed.WorkerError, match="did not _sleep"):
        team.run(_sleep, 600, timeout=2)
    assert time.monotonic() - started < 30
    assert not any(_alive(pid) for pid in pids)


def test_train_digits_reports_its_phases():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 64)).astype(np.float32), rng.integers(0, 10, size=64)
    result = distributed.train_digits(0, 1, x, y, global_batch=32, epochs=1, hidden=8)
    assert set(result["phases"]) == {"set-up", "training loop"}
    assert result["phases"]["training loop"] >= sum(result["step_seconds"])
    assert result["modules_imported_in_set_up"] >= 0


def test_communication_cost_times_every_part_on_two_ranks():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 64)).astype(np.float32), rng.integers(0, 10, size=64)
    cost = distributed.run(distributed.communication_cost, 2, x, y, hidden=16, batch=16, steps=2,
                           rounds=1, bucket_caps=(25.0,))
    assert list(cost[0]["seconds"]) == ["alone", "alone, the global batch", "together, no_sync",
                                        "together, synchronised, bucket_cap_mb=25",
                                        "one all_reduce of every gradient"]
    assert all(v > 0 for c in cost for v in c["seconds"].values())


def test_the_torchrun_script_trains_on_two_cpu_processes(tmp_path):
    """Lesson 06's script for a launcher runs as the lesson prints it: torchrun, gloo, CPU."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc-per-node", "2", "-m", "dlcourse.train_ddp"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("epoch")]
    assert [line.split(":")[0] for line in lines] == ["epoch 0", "epoch 1"]  # rank 0 alone logs
    assert all(line.endswith("on 2 x cpu") for line in lines)
