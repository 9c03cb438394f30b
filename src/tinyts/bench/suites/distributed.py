"""``distributed``: batch inference on Dask and Ray with 1 and 2 workers, against the in-memory call.

A synthetic long frame of :data:`N_SERIES` series of :data:`LENGTH` points (``--quick``:
:data:`QUICK_SERIES`) is embedded (TinyPulse register embeddings, ``shifts=1``, the bulk setting) and
forecast (TinyCast, horizon :data:`HORIZON`):

- in memory: ``embed_df`` / ``forecast_df`` on the pandas frame, one torch thread, in this process;
- per engine (``dask``: a ``LocalCluster`` of N worker processes, 1 thread each; ``ray``: a local
  runtime with N CPUs) and N in (1, 2): the same call on the engine's frame (``2 N`` partitions of
  whole series), after one small warm-up call that starts the workers and loads the models (what a
  long-running cluster has already done), timed from the call to the collected pandas result.

Rows: ``throughput`` (series/s; extra keys ``task``, ``workers``), ``speedup`` (2-worker over
1-worker series/s, per engine and task), ``overhead`` (engine wall time with 1 worker over the
in-memory wall time, minus 1: the cost of the engine for the same compute) and ``peak_mem_mb`` (the
largest peak RSS, ``VmHWM``, among the worker processes, per engine and worker count). Every result
is checked against the in-memory one (bit for bit after sorting; a mismatch is an error). The machine's
load average before each timing goes into the notes: the 2 cores here are shared with other work.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from tinyts.bench.core import BenchContext, Row, SuiteResult

NAME = "distributed"
DESCRIPTION = "embed_df / forecast_df on Dask and Ray with 1 and 2 workers vs in memory"

DATASET = "synthetic"
ENGINES = ("dask", "ray")
TASKS = ("embed", "forecast")
N_SERIES = 1000
QUICK_SERIES = 120
LENGTH = 512
HORIZON = 24
WORKERS = (1, 2)


def make_frame(n_series: int, length: int = LENGTH, seed: int = 0) -> pd.DataFrame:
    """``n_series`` seasonal series with trend and noise, hourly, ids ``s00000``..."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    period = rng.choice([12, 24, 48, 168], size=n_series)
    amp = rng.uniform(0.5, 3.0, size=n_series)
    y = amp[:, None] * np.sin(2 * np.pi * t[None, :] / period[:, None]) + rng.uniform(-1, 1, (n_series, 1))
    y += 0.002 * rng.normal(size=(n_series, 1)) * t[None, :] + rng.normal(0, 0.2, (n_series, length))
    return pd.DataFrame(
        {
            "unique_id": np.repeat([f"s{i:05d}" for i in range(n_series)], length),
            "ds": np.tile(pd.date_range("2024-01-01", periods=length, freq="h"), n_series),
            "y": y.reshape(-1),
        }
    )


def _call(task: str, model: Any, df: Any) -> Any:
    from tinyts.tasks.forecast import forecast_df
    from tinyts.tasks.frames import embed_df

    if task == "embed":
        return embed_df(model, df, shifts=1)
    return forecast_df(model, df, HORIZON, quantiles=(0.1, 0.5, 0.9))


def _peak_mb() -> float:
    """This process' peak RSS in MB (``VmHWM``)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _ray_worker_peaks() -> list[float]:
    import psutil

    peaks = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = " ".join(proc.info.get("cmdline") or [])
        if cmd.startswith("ray::") and "Partition" in cmd:
            try:
                with open(f"/proc/{proc.pid}/status", encoding="ascii") as f:
                    peaks += [int(x.split()[1]) / 1024 for x in f if x.startswith("VmHWM:")]
            except OSError:
                continue
    return peaks


@contextmanager
def _cluster(engine: str, workers: int) -> Iterator[Callable[[], list[float]]]:
    """A local cluster; yields a function giving the workers' peak RSS (MB)."""
    if engine == "dask":
        from distributed import Client, LocalCluster

        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, dashboard_address=None, silence_logs=40
            ) as cluster,
            Client(cluster) as client,
        ):
            yield lambda: list(client.run(_peak_mb).values())
        return
    import ray

    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        yield _ray_worker_peaks
    finally:
        ray.shutdown()


def _same(expected: pd.DataFrame, got: pd.DataFrame, keys: list[str]) -> bool:
    a = expected.sort_values(keys).reset_index(drop=True)
    b = got.sort_values(keys).reset_index(drop=True)
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    num = [c for c in a.columns if pd.api.types.is_float_dtype(a[c].dtype)]
    ids = (a[keys[0]].astype(str).to_numpy() == b[keys[0]].astype(str).to_numpy()).all()
    return bool(ids) and all(a[c].to_numpy().tobytes() == b[c].to_numpy().tobytes() for c in num)


def run(ctx: BenchContext) -> SuiteResult:
    result = SuiteResult()
    import torch

    import tinyts
    from tinyts.tasks.distributed import to_engine, to_pandas

    engines = ctx.select_methods(ENGINES, result, NAME)
    n = QUICK_SERIES if ctx.quick else N_SERIES
    frame = make_frame(n, seed=ctx.seed)
    warm = make_frame(8, seed=ctx.seed + 1)
    keys = {"embed": ["unique_id"], "forecast": ["unique_id", "ds"]}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    models = {"embed": tinyts.load("tinypulse"), "forecast": tinyts.load("tinycast")}
    names = {"embed": "tinypulse", "forecast": "tinycast"}
    memory: dict[str, tuple[float, pd.DataFrame]] = {}
    try:
        for task in TASKS:
            _call(task, models[task], warm)
            load = os.getloadavg()[0]
            start = time.perf_counter()
            out = _call(task, models[task], frame)
            wall = time.perf_counter() - start
            memory[task] = (wall, out)
            result.add(
                Row(
                    DATASET,
                    "in_memory",
                    "throughput",
                    n / wall,
                    seconds=wall,
                    extra={"task": task, "workers": 1},
                )
            )
            result.notes.append(f"in memory, {task}: {n} series in {wall:.2f} s (load average {load:.1f})")
        for engine in engines:
            try:
                from tinyts.tasks.distributed import require_engine

                require_engine(engine)
            except ImportError as exc:
                result.skip(engine, str(exc))
                continue
            sps: dict[tuple[str, int], float] = {}
            for workers in WORKERS:
                with _cluster(engine, workers) as peaks:
                    for task in TASKS:  # warm-up: workers started, models loaded
                        to_pandas(_call(task, names[task], to_engine(warm, engine, 2 * workers)))
                    for task in TASKS:
                        data = to_engine(frame, engine, 2 * workers)
                        load = os.getloadavg()[0]
                        start = time.perf_counter()
                        got = to_pandas(_call(task, names[task], data))
                        wall = time.perf_counter() - start
                        if not _same(memory[task][1], got, keys[task]):
                            raise RuntimeError(
                                f"{engine} {task} with {workers} workers differs from in memory"
                            )
                        sps[(task, workers)] = n / wall
                        extra = {"task": task, "workers": workers}
                        result.add(Row(DATASET, engine, "throughput", n / wall, seconds=wall, extra=extra))
                        if workers == 1:
                            over = wall / memory[task][0] - 1.0
                            result.add(Row(DATASET, engine, "overhead", over, seconds=wall, extra=extra))
                        result.notes.append(
                            f"{engine}, {workers} worker(s), {task}: {n} series in {wall:.2f} s, "
                            f"{n / wall:.1f} series/s, identical to in memory (load average {load:.1f})"
                        )
                    worker_peaks = peaks()
                    if worker_peaks:
                        extra = {"workers": workers, "processes": len(worker_peaks)}
                        result.add(Row(DATASET, engine, "peak_mem_mb", max(worker_peaks), extra=extra))
            for task in TASKS:
                ratio = sps[(task, 2)] / sps[(task, 1)]
                result.add(Row(DATASET, engine, "speedup", ratio, extra={"task": task, "workers": 2}))
    finally:
        torch.set_num_threads(threads)
    result.notes.append(
        f"{n} series of {LENGTH} points; embed: register embeddings, shifts=1; forecast: horizon "
        f"{HORIZON}, quantiles 0.1/0.5/0.9; partitions: 2 per worker; 1 torch thread per process"
    )
    return result
