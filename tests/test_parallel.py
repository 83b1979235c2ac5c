"""dlcourse.parallel: a GPipe pipeline and a Megatron tensor split across two gloo processes,
each matching one process within 1e-5, and no process left behind."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest

from dlcourse import distributed, parallel

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def team():
    team = distributed.Team(2, timeout=300).start()
    yield team
    pids = [process.pid for process in team.processes]
    team.close()
    assert not team.alive and not any(p.pid in pids for p in multiprocessing.active_children())


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(1)
    return rng.normal(size=(48, 64)).astype(np.float32), rng.integers(0, 10, size=48)


def test_the_pipeline_matches_one_process_for_every_number_of_micro_batches(team, batch):
    x, y = batch
    ranks = team.run(parallel.pipeline_worker, x, y, micro_batches=(1, 3, 5), hidden=32,
                     repeats=1)
    reference = parallel.pipeline_reference(x, y, hidden=32)
    for m_count in (1, 3, 5):  # 5 does not divide 48: micro-batches of unequal sizes
        result = parallel.pipeline_result(ranks, m_count)
        assert result["grads"].keys() == reference["grads"].keys()
        assert parallel.max_difference(result["grads"], reference["grads"]) < TOLERANCE
        assert abs(result["loss"] - reference["loss"]) < TOLERANCE
        stages = result["events"]
        assert [sorted((kind, m) for kind, m, *_ in stage) for stage in stages] == [
            sorted((kind, m) for kind in ("forward", "backward") for m in range(m_count))] * 2
        assert 0.0 <= parallel.idle_fraction(stages) < 1.0
        # one time axis for both ranks: stage 1 computes micro-batch 0 only after stage 0
        # has, and stage 0 its backward only after stage 1 has (messages carry the data)
        at = [{(kind, m): (begin, end) for kind, m, begin, end in stage} for stage in stages]
        assert at[1][("forward", 0)][0] >= at[0][("forward", 0)][1]
        assert at[0][("backward", 0)][0] >= at[1][("backward", 0)][1]
        assert min(begin for stage in stages for _, _, begin, _ in stage) >= 0.0
    # the reference really has gradients to compare: not all zero
    assert max(float(np.abs(g).max()) for g in reference["grads"].values()) > 1e-4


def test_the_tensor_parallel_mlp_matches_one_process(team, batch):
    x, y = batch
    ranks = team.run(parallel.tensor_parallel_worker, x, y, hidden=64)
    whole = parallel.megatron_reference(x, y, hidden=64)
    for r in ranks:
        np.testing.assert_allclose(r["output"], whole["output"], atol=TOLERANCE)
        np.testing.assert_allclose(r["x_grad"], whole["x_grad"], atol=TOLERANCE)
        assert abs(r["loss"] - whole["loss"]) < TOLERANCE
        assert r["all_reduces"] == {"forward": 1, "backward": 1}
        assert r["grads"]["w1"].shape == (64, 32) and r["grads"]["w2"].shape == (32, 10)
    assert parallel.max_difference(parallel.gather_shards(ranks), whole["grads"]) < TOLERANCE
    assert sum(r["stored"] for r in ranks) == whole["stored"] + 10  # b2 is kept on both ranks


def test_shards_put_back_together_are_the_whole():
    params = parallel.megatron_params(8, 12, 3, seed=2)
    for world_size in (1, 2, 3, 4):
        shards = [parallel.shard(params, r, world_size) for r in range(world_size)]
        assert np.array_equal(np.concatenate([s["w1"] for s in shards], axis=1), params["w1"])
        assert np.array_equal(np.concatenate([s["w2"] for s in shards], axis=0), params["w2"])
    with pytest.raises(ValueError):
        parallel.shard(params, 0, 5)


def test_gpipe_bubble_and_idle_fraction():
    assert parallel.gpipe_bubble(2, 1) == 0.5 and parallel.gpipe_bubble(2, 8) == 1 / 9
    assert parallel.gpipe_bubble(1, 3) == 0.0
    events = [[("forward", 0, 0.0, 1.0)], [("forward", 0, 1.0, 2.0)]]  # each stage busy half
    assert parallel.idle_fraction(events) == 0.5


def test_a_pipeline_needs_two_ranks():
    with pytest.raises(ValueError, match="two ranks"):
        parallel.pipeline_worker(0, 3, np.zeros((4, 64), np.float32), np.zeros(4, np.int64))
