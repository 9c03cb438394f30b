"""``distributed``: batch inference on Dask and Ray with 1 and 2 workers, against the in-memory call.

A synthetic long frame of :data:`N_SERIES` series of :data:`LENGTH` points (``--quick``:
:data:`QUICK_SERIES`) is embedded (TinyPulse register embeddings, ``shifts=1``, the bulk setting) and
forecast (TinyCast, horizon :data:`HORIZON`):

- in memory: ``embed_df`` / ``forecast_df`` on the pandas frame, one torch thread, in this process,
  model loaded and warmed up;
- per engine (``dask``: a ``LocalCluster`` of N worker processes, 1 thread each; ``ray``: a local
  runtime with N CPUs) and N in (1, 2), what a user with a running cluster has: the cluster started,
  the workers warmed up (one small call per task, then :func:`tinyts.tasks.distributed.warm_up`: the
  models loaded in every worker process), the input already on the cluster
  (``2 N`` partitions of whole series; Dask ``persist`` and ``rebalance``, Ray ``materialize``).
  Each of those steps is timed and reported as its own row, not in the throughput (metric
  ``latency_ms``, extra key ``step``): ``cluster_start``, ``warmup`` (both tasks' first calls on 8
  series) and ``input_to_cluster``, per engine, worker count and round (extra key ``round``);
- the timed call, from the call to the collected pandas result, on three paths (four on Ray; extra
  key ``path``): ``default``, the default call on that input (whole series per partition: the ids of every
  partition are counted and no row moves, see :func:`tinyts.tasks.distributed.regroup_plan`),
  ``grouped``, the same frame declared grouped with :func:`tinyts.tasks.distributed.by_series` (no
  regrouping; the check that no id lies in two partitions is included), and ``by_time``, the default
  call on the same rows partitioned by time instead (partition ``k`` holds the ``k``-th slice of
  every series, so the rows of every series move: what a shuffle by id costs); on Ray also
  ``arrow``, the default call on the same whole-series partitions held as Arrow tables (what
  ``ray.data.read_parquet`` gives; ``to_engine`` / ``from_pandas`` keep pandas blocks).
- a bulk job, the default path only: :data:`BULK_SERIES` series embedded (not in ``--quick``), where
  the per-call cost matters less than the throughput (extra key ``series`` tells the two sizes apart);
- the machine's own ceiling for that bulk job (not in ``--quick``; method ``processes``, path
  ``plain``): the same embedding in 1 plain process (all series) and in 2 plain processes started
  together (half the series each, no engine, nothing sent between them; wall time from a common start
  to the last one's end), so that an engine's 2-worker speedup can be read against what 2 processes
  reach on this machine in the same minutes.

Every in-memory wall time is the best of :data:`REPEATS` runs. The engines' clusters are started
:data:`ROUNDS` times per worker count, alternating (1, 2, 1, 2 workers), and every engine wall time is
the best of :data:`ENGINE_REPEATS` runs in each of those rounds: this 2-core machine's speed drifts by
about 10 % over minutes, and a 1-worker figure taken in other minutes than the 2-worker one moved the
speedup by as much (docs/distributed.md). The machine's ceiling is timed the same way (1, 2, 1, 2
processes). In memory, the same series are also timed in the two calls of half of them that the engine
makes with 1 worker (``path`` = ``in_memory_2_parts``): how much of a difference is the size of the
calls, not the engine.

Rows: ``throughput`` (series/s; extra keys ``task``, ``workers``, ``path``, ``series``), ``speedup``
(2-worker over 1-worker series/s, per engine, task, path and size; and the ceiling's, method
``processes``), ``overhead`` (engine wall time with 1 worker over the in-memory wall time, minus 1: the
cost of the engine for the same compute, per path; both the best over rounds that run the in-memory call
and the engine calls back to back, so that both are taken in the same minutes of this shared machine)
and ``peak_mem_mb`` (the largest peak RSS, ``VmHWM``, among the worker processes, per engine and worker
count). Every result is checked against the in-memory one (bit for bit after sorting; a mismatch is an
error). The machine's load average before each timing goes into the notes: the 2 cores here are shared
with other work.
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
#: measured on generated inputs: runs without a data folder
NEEDS_DATA = False

DATASET = "synthetic"
ENGINES = ("dask", "ray")
TASKS = ("embed", "forecast")
N_SERIES = 1000
QUICK_SERIES = 120
#: the bulk embedding job (full run only)
BULK_SERIES = 10_000
LENGTH = 512
HORIZON = 24
WORKERS = (1, 2)
PATHS = ("default", "grouped", "by_time")
#: every in-memory wall time is the best of this many runs
REPEATS = 3
#: clusters started per engine and worker count, alternating 1, 2, 1, 2 workers
ROUNDS = 2
#: engine (and ceiling) wall times: the best of this many runs per round
ENGINE_REPEATS = 2


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
    from tinyts.tasks.forecast.api import forecast_df
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
        if cmd.startswith("ray::"):  # Ray's worker processes (``ray::IDLE`` between tasks)
            try:
                with open(f"/proc/{proc.pid}/status", encoding="ascii") as f:
                    peaks += [int(x.split()[1]) / 1024 for x in f if x.startswith("VmHWM:")]
            except OSError:
                continue
    return peaks


@contextmanager
def _cluster(engine: str, workers: int) -> Iterator[tuple[Callable[[], list[float]], Callable[[Any], Any]]]:
    """A local cluster; yields a function giving the workers' peak RSS (MB) and one placing a frame
    on the cluster (Dask ``persist``, Ray ``materialize``)."""
    if engine == "dask":
        from distributed import wait
        from tinyts.tasks.distributed import local_client

        with local_client(workers) as client:  # the cluster `tinyts ... --engine dask` starts

            def place(df: Any) -> Any:
                # spread evenly over the workers, as a read by the workers would leave it (persist
                # alone may leave more partitions on one worker, whose tasks then run there)
                df = client.persist(df)
                wait(df)
                client.rebalance(df)
                return df

            yield (lambda: list(client.run(_peak_mb).values())), place
        return
    import ray

    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        yield _ray_worker_peaks, lambda ds: ds.materialize()
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


def _best(fn: Callable[..., Any], *args: Any) -> tuple[float, Any, float]:
    """The best wall time of :data:`REPEATS` calls ``fn(*args)``, its last result, the load before."""
    load = os.getloadavg()[0]
    walls, out = [], None
    for _ in range(REPEATS):
        start = time.perf_counter()
        out = fn(*args)
        walls.append(time.perf_counter() - start)
    return min(walls), out, load


def _timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


#: how the engine wall times were taken, for the notes
BEST = f"best of {ROUNDS} rounds x {ENGINE_REPEATS}"


def _step(engine: str, step: str, wall: float, extra: dict[str, Any]) -> Row:
    """A setup step not counted in the throughput, as a ``latency_ms`` row (extra key ``step``)."""
    return Row(DATASET, engine, "latency_ms", 1000 * wall, seconds=wall, extra={"step": step, **extra})


def _interleaved(
    task: str, model: Any, name: str, frame: pd.DataFrame, inputs: dict[str, Any], with_memory: bool
) -> tuple[dict[str, float], dict[str, pd.DataFrame], float]:
    """Best wall time per path (``inputs``: path -> the engine's frame; and ``"in_memory"`` when
    ``with_memory``) of :data:`ENGINE_REPEATS` runs, each running the in-memory call and the engine
    calls back to back, so that the overhead compares times taken in the same minutes of a shared
    machine; the last engine result per path and the load average before."""
    load = os.getloadavg()[0]
    walls: dict[str, list[float]] = {p: [] for p in (*inputs, "in_memory")}
    outs: dict[str, pd.DataFrame] = {}
    for _ in range(ENGINE_REPEATS):
        if with_memory:
            walls["in_memory"].append(_timed(_call, task, model, frame)[0])
        for path, data in inputs.items():
            wall, outs[path] = _timed(_on_engine, task, name, data)
            walls[path].append(wall)
    return {p: min(w) for p, w in walls.items() if w}, outs, load


def by_time(frame: pd.DataFrame, engine: str, parts: int) -> Any:
    """``frame`` as ``parts`` partitions cut by time: partition ``k`` holds the ``k``-th slice of
    every series (every series lies in every partition)."""
    from tinyts.tasks.distributed import from_pieces

    size = frame.groupby("unique_id", sort=False)["y"].transform("size").to_numpy()
    slot = frame.groupby("unique_id", sort=False).cumcount().to_numpy() * parts // size
    return from_pieces([frame[slot == k] for k in range(parts)], engine)


def share(frame: pd.DataFrame, part: int, parts: int) -> pd.DataFrame:
    """The rows of the ``part``-th of ``parts`` consecutive, near-equal shares of the series of ``frame``."""
    ids = np.array_split(frame["unique_id"].unique(), parts)[part]
    return frame[frame["unique_id"].isin(ids)]


def _plain_worker(
    n_series: int, seed: int, part: int, parts: int, repeats: int, barrier: Any, queue: Any
) -> None:
    """One plain process of :func:`plain_processes`: embed its share of the bulk frame, timed."""
    import torch

    import tinyts

    torch.set_num_threads(1)
    frame = share(make_frame(n_series, seed=seed), part, parts)
    model = tinyts.load("tinypulse")
    _call("embed", model, make_frame(8, seed=seed + 1))  # warm
    for _ in range(repeats):
        barrier.wait()
        start = time.perf_counter()
        _call("embed", model, frame)
        queue.put(time.perf_counter() - start)


def plain_processes(n_series: int, procs: int, seed: int = 0, repeats: int = ENGINE_REPEATS) -> float:
    """Best wall time (of ``repeats``) of embedding ``n_series`` series of :func:`make_frame` in
    ``procs`` plain processes started together, each with its share and one torch thread: the
    machine's ceiling for an engine with ``procs`` workers (no engine, no data sent)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(procs), ctx.Queue()
    workers = [
        ctx.Process(target=_plain_worker, args=(n_series, seed, i, procs, repeats, barrier, queue))
        for i in range(procs)
    ]
    for w in workers:
        w.start()
    try:
        walls = [[queue.get(timeout=900) for _ in range(procs)] for _ in range(repeats)]
    finally:
        for w in workers:
            w.join(timeout=60)
            if w.is_alive():
                w.terminate()
    return min(max(r) for r in walls)


def _pieces(task: str, model: Any, pieces: list[pd.DataFrame]) -> None:
    for piece in pieces:
        _call(task, model, piece)


def _on_engine(task: str, model: str, df: Any) -> pd.DataFrame:
    """The task on an engine's frame, collected as pandas."""
    from tinyts.tasks.distributed import to_pandas

    return to_pandas(_call(task, model, df))


def _check(
    engine: str,
    workers: int,
    n: int,
    task: str,
    outs: dict[str, pd.DataFrame],
    expected: pd.DataFrame,
    keys: list[str],
) -> None:
    """Every engine result of one job equals the in-memory one (bit for bit after sorting), or raise."""
    for path, out in outs.items():
        if not _same(expected, out, keys):
            raise RuntimeError(
                f"{engine} {task} ({path}, {n} series) with {workers} workers differs from in memory"
            )


def _job_rows(
    result: SuiteResult,
    engine: str,
    workers: int,
    n: int,
    task: str,
    walls: dict[str, float],
    outs: dict[str, pd.DataFrame],
    load: float,
    sps: dict[tuple[str, int, str, int], float],
) -> None:
    """Add the rows and notes of one job (its results were checked in every round, :func:`_check`)."""
    for path in outs:
        wall = walls[path]
        sps[(task, workers, path, n)] = n / wall
        extra = {"task": task, "workers": workers, "path": path, "series": n}
        result.add(Row(DATASET, engine, "throughput", n / wall, seconds=wall, extra=extra))
        if workers == 1 and "in_memory" in walls:
            over = wall / walls["in_memory"] - 1.0
            result.add(Row(DATASET, engine, "overhead", over, seconds=wall, extra=extra))
        result.notes.append(
            f"{engine}, {workers} worker(s), {task}, {path}: {n} series in {wall:.2f} s, {BEST}, "
            f"{n / wall:.1f} series/s, identical to in memory (load average up to {load:.1f})"
        )
    if workers == 1 and "in_memory" in walls:
        result.notes.append(
            f"{engine}, {task}, {n} series: in memory, interleaved with the engine calls above: "
            f"{walls['in_memory']:.2f} s, {BEST} (the overhead's baseline)"
        )


Jobs = dict[tuple[str, int, int], tuple[dict[str, float], dict[str, pd.DataFrame], float]]


def _keep(jobs: Jobs, job: tuple[str, int, int], got: tuple[dict[str, float], dict[str, Any], float]) -> None:
    """Record one round of a job (task, workers, series): the best wall per path over the rounds so
    far, the last outputs, the highest load average."""
    walls, outs, load = got
    if job in jobs:
        old = jobs[job][0]
        walls = {p: min(w, old.get(p, w)) for p, w in walls.items()}
        load = max(load, jobs[job][2])
    jobs[job] = (walls, outs, load)


def _ceiling(result: SuiteResult, seed: int) -> None:
    """The machine's ceiling for the bulk job: 1 and 2 plain processes, alternating over :data:`ROUNDS`."""
    ceiling: dict[int, float] = {}
    loads: dict[int, float] = {}
    for _ in range(ROUNDS):
        for procs in WORKERS:
            loads[procs] = max(loads.get(procs, 0.0), os.getloadavg()[0])
            wall = plain_processes(BULK_SERIES, procs, seed=seed)
            ceiling[procs] = min(wall, ceiling.get(procs, wall))
    for procs in WORKERS:
        extra = {"task": "embed", "workers": procs, "path": "plain", "series": BULK_SERIES}
        wall = ceiling[procs]
        result.add(Row(DATASET, "processes", "throughput", BULK_SERIES / wall, seconds=wall, extra=extra))
        result.notes.append(
            f"{procs} plain process(es), no engine, embed: {BULK_SERIES} series in {wall:.2f} s, {BEST} "
            f"(load average up to {loads[procs]:.1f})"
        )
    extra = {"task": "embed", "workers": 2, "path": "plain", "series": BULK_SERIES}
    result.add(Row(DATASET, "processes", "speedup", ceiling[1] / ceiling[2], extra=extra))


def run(ctx: BenchContext) -> SuiteResult:
    result = SuiteResult()
    import torch

    import tinyts
    from tinyts.tasks.distributed import by_series, require_engine, to_engine, warm_up

    engines = ctx.select_methods(ENGINES, result, NAME)
    n = QUICK_SERIES if ctx.quick else N_SERIES
    frame = make_frame(n, seed=ctx.seed)
    bulk = None if ctx.quick else make_frame(BULK_SERIES, seed=ctx.seed + 2)
    warm = make_frame(8, seed=ctx.seed + 1)
    keys = {"embed": ["unique_id"], "forecast": ["unique_id", "ds"]}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    models = {"embed": tinyts.load("tinypulse"), "forecast": tinyts.load("tinycast")}
    names = {"embed": "tinypulse", "forecast": "tinycast"}
    memory: dict[str, tuple[float, pd.DataFrame]] = {}
    pieces = [share(frame, k, 2) for k in range(2)]
    try:
        for task in TASKS:
            _call(task, models[task], warm)
            wall, out, load = _best(_call, task, models[task], frame)
            memory[task] = (wall, out)
            extra = {"task": task, "workers": 1, "path": "in_memory", "series": n}
            result.add(Row(DATASET, "in_memory", "throughput", n / wall, seconds=wall, extra=extra))
            result.notes.append(
                f"in memory, {task}: {n} series in {wall:.2f} s, best of {REPEATS} (load average {load:.1f})"
            )
            # the same work cut as the engine cuts it with 1 worker (2 partitions), in this process
            wall, _, load = _best(_pieces, task, models[task], pieces)
            extra = {"task": task, "workers": 1, "path": "in_memory_2_parts", "series": n}
            result.add(Row(DATASET, "in_memory", "throughput", n / wall, seconds=wall, extra=extra))
            result.notes.append(
                f"in memory, {task}, the same series in 2 calls of half of them: {wall:.2f} s, best of "
                f"{REPEATS} (load average {load:.1f})"
            )
        bulk_out = None
        if bulk is not None:
            wall, bulk_out, load = _best(_call, "embed", models["embed"], bulk)
            extra = {"task": "embed", "workers": 1, "path": "in_memory", "series": BULK_SERIES}
            result.add(Row(DATASET, "in_memory", "throughput", BULK_SERIES / wall, seconds=wall, extra=extra))
            result.notes.append(
                f"in memory, embed: {BULK_SERIES} series in {wall:.2f} s, best of {REPEATS} "
                f"(load average {load:.1f})"
            )
        if bulk is not None:
            _ceiling(result, ctx.seed + 2)
        for engine in engines:
            try:
                require_engine(engine)
            except ImportError as exc:
                result.skip(engine, str(exc))
                continue
            # per (task, workers, n): best wall per path over the rounds, the last outputs, the highest load
            jobs: Jobs = {}

            peak: dict[int, tuple[float, int]] = {}
            for round_ in range(ROUNDS):
                for workers in WORKERS:
                    start = time.perf_counter()
                    with _cluster(engine, workers) as (peaks, place):
                        setup = {"workers": workers, "round": round_ + 1}
                        wall = time.perf_counter() - start
                        result.add(_step(engine, "cluster_start", wall, setup))
                        wall = 0.0
                        for task in TASKS:  # workers started, models loaded in every worker process
                            part = to_engine(warm, engine, 2 * workers)
                            wall += _timed(_on_engine, task, names[task], part)[0]
                            wall += _timed(warm_up, engine, names[task], task)[0]
                        result.add(_step(engine, "warmup", wall, setup))
                        wall, data = _timed(place, to_engine(frame, engine, 2 * workers))
                        result.add(_step(engine, "input_to_cluster", wall, setup))
                        inputs = {
                            "default": data,
                            "grouped": by_series(data),
                            "by_time": place(by_time(frame, engine, 2 * workers)),
                        }
                        if engine == "ray":  # the blocks read_parquet gives: Arrow tables, not pandas
                            inputs["arrow"] = place(to_engine(frame, engine, 2 * workers, arrow=True))
                        for task in TASKS:
                            got = _interleaved(task, models[task], names[task], frame, inputs, workers == 1)
                            _check(engine, workers, n, task, got[1], memory[task][1], keys[task])
                            _keep(jobs, (task, workers, n), got)
                        if bulk is not None and bulk_out is not None:
                            big = {"default": place(to_engine(bulk, engine, 2 * workers))}
                            got = _interleaved("embed", None, "tinypulse", bulk, big, False)
                            _check(engine, workers, BULK_SERIES, "embed", got[1], bulk_out, keys["embed"])
                            _keep(jobs, ("embed", workers, BULK_SERIES), got)
                            del big
                        worker_peaks = peaks()
                        if worker_peaks and max(worker_peaks) > peak.get(workers, (0.0, 0))[0]:
                            peak[workers] = (max(worker_peaks), len(worker_peaks))
            sps: dict[tuple[str, int, str, int], float] = {}
            for (task, workers, size), (walls, outs, load) in sorted(jobs.items(), key=lambda kv: kv[0][1]):
                _job_rows(result, engine, workers, size, task, walls, outs, load, sps)
            for workers, (mb, procs) in sorted(peak.items()):
                extra = {"workers": workers, "processes": procs}
                result.add(Row(DATASET, engine, "peak_mem_mb", mb, extra=extra))
            for task, _, path, size in sorted(k for k in sps if k[1] == 1):
                ratio = sps[(task, 2, path, size)] / sps[(task, 1, path, size)]
                extra = {"task": task, "workers": 2, "path": path, "series": size}
                result.add(Row(DATASET, engine, "speedup", ratio, extra=extra))
    finally:
        torch.set_num_threads(threads)
    result.notes.append(
        f"{n} series of {LENGTH} points"
        + (f" (and a bulk job of {BULK_SERIES} series, embed, default path)" if bulk is not None else "")
        + f"; embed: register embeddings, shifts=1; forecast: horizon {HORIZON}, quantiles 0.1/0.5/0.9; "
        "partitions: 2 per worker; 1 torch thread per process; engine timings start with the cluster "
        "running, workers warm and the input on the cluster (cluster_start, warmup and input_to_cluster "
        "are their own rows)"
    )
    return result
