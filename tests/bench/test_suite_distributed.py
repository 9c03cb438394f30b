"""The ``distributed`` suite's engine-free ceiling: plain processes, no engine."""

from __future__ import annotations

import math

from tinyts.bench.suites import distributed


def test_plain_processes_time_the_slowest_of_processes_started_together() -> None:
    one = distributed.plain_processes(8, 1, seed=3)
    two = distributed.plain_processes(8, 2, seed=3)
    assert math.isfinite(one) and one > 0
    assert math.isfinite(two) and two > 0


def test_shares_hold_whole_series_each_once() -> None:
    frame = distributed.make_frame(7, length=16, seed=1)
    parts = [distributed.share(frame, k, 2) for k in range(2)]
    assert [p["unique_id"].nunique() for p in parts] == [4, 3]
    assert sum(len(p) for p in parts) == len(frame)
    assert not set(parts[0]["unique_id"]) & set(parts[1]["unique_id"])
    assert all((p.groupby("unique_id").size() == 16).all() for p in parts)


def test_rounds_keep_the_best_wall_per_path_the_last_outputs_and_the_highest_load() -> None:
    jobs: distributed.Jobs = {}
    job = ("embed", 2, 1000)
    first = {"default": distributed.make_frame(1, length=4)}
    last = {"default": distributed.make_frame(2, length=4)}
    distributed._keep(jobs, job, ({"default": 0.9, "in_memory": 1.0}, first, 1.5))
    distributed._keep(jobs, job, ({"default": 0.7, "in_memory": 1.2}, last, 1.1))
    walls, outs, load = jobs[job]
    assert walls == {"default": 0.7, "in_memory": 1.0}
    assert outs is last and load == 1.5
    distributed._keep(jobs, ("embed", 1, 1000), ({"default": 2.0}, first, 0.5))
    assert jobs[("embed", 1, 1000)][0] == {"default": 2.0} and jobs[job][0]["default"] == 0.7
