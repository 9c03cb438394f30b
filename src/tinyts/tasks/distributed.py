"""Batch inference on Dask and Ray: the DataFrame functions on a distributed frame.

:func:`tinyts.tasks.forecast.api.forecast_df` and the functions of :mod:`tinyts.tasks.frames`
(``impute_df``, ``detect_df``, ``embed_df``, ``classify_df``) accept, besides a pandas DataFrame, a
Dask DataFrame or a Ray Dataset in the same long format, and return the same engine's frame (lazy,
like the engine's own transformations). The work is the in-memory function itself, run once per
partition on the workers:

1. The rows are regrouped by ``id_col`` so that every series lies whole in one partition; a series
   is never split. Only the rows of series that lie in more than one partition move (each to the
   partition that holds most of its rows): data already grouped by series stays where it is, at the
   cost of counting the ids of every partition (:func:`regroup_plan`). Above
   :data:`REGROUP_PARTS` partitions, and on Ray with fewer blocks than CPUs, the rows are hashed by
   id instead (Dask ``shuffle(on=id_col)``; Ray: hash buckets of the blocks).
2. Every worker loads the model once, by name or folder (``"tinypulse"``, a checkpoint folder, a
   saved classifier folder): the model is passed to the workers as that string, never as a torch
   module, and kept in a per-process cache (Dask) or by the actor (Ray).
3. Each partition goes through the pandas function with the same options; the results are the
   engine's partitions.

Results are the same as the in-memory call's, bit for bit on CPU when the threads per process are
the same (one torch thread per worker by default, ``threads=``): every series is computed
independently of which other series share its partition (see the tests in ``tests/distributed``).
Row order differs: rows come partition by partition; sort by ``id_col`` (and time) to compare.

Engines are optional: ``pip install "tinyts[dask]"`` or ``pip install "tinyts[ray]"``; without them a
distributed frame cannot exist, and :func:`local_client` / :func:`to_engine` raise an ImportError
naming the extra. See docs/distributed.md for the choice of engines and the measured overheads.
"""

from __future__ import annotations

import copy
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from tinyts.errors import require
from tinyts.options import DistributedEngine, choices

__all__ = [
    "ENGINES",
    "Engine",
    "apply_partition",
    "by_series",
    "engine_of",
    "fill_rows",
    "from_pieces",
    "load_counts",
    "local_client",
    "regroup_plan",
    "require_engine",
    "run_distributed",
    "task_model",
    "to_engine",
    "to_pandas",
    "tune_malloc",
    "warm_up",
]

Engine = Literal["dask", "ray"]
ENGINES: tuple[str, ...] = choices(DistributedEngine)
#: install hint per engine (the error for a missing engine names it)
EXTRAS = {"dask": 'pip install "tinyts[dask]"', "ray": 'pip install "tinyts[ray]"'}
#: what each task loads on the workers (``classifier``: a saved PulseClassifier folder)
KINDS = {
    "forecast": "tinycast",
    "impute": "tinypulse",
    "detect": "tinypulse",
    "embed": "tinypulse",
    "classify": "classifier",
}
#: model calls hold at least this many rows (:func:`fill_rows`)
MIN_ROWS = 8
#: torch threads per worker process unless the caller says otherwise
DEFAULT_THREADS = 1
#: glibc malloc thresholds set in a worker whose environment lowered them (:func:`tune_malloc`)
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 128 * 1024 * 1024
#: Dask, grouped frames: up to this many partitions, the check gathers the distinct ids in one task
GATHER_IDS = 256
#: Dask settings of :func:`local_client` (each only where the user's configuration has Dask's default):
#: the event loops' tick monitor (20 ms by default; it only times how long a loop was blocked, for
#: warnings) woke the scheduler and nanny loops of a local cluster 50 times a second each, 3 % of a
#: core in the driver process (0.43 -> 0.13 CPU s per 10 idle s, docs/distributed.md), taken from the
#: workers when they use every core
LOCAL_DASK_CONFIG = {"distributed.admin.tick.interval": ("20ms", "500ms")}
#: the default path moves only the rows of split series up to this many partitions (an all-to-all of
#: ``n * n`` pieces, mostly empty); above it the rows are shuffled by a hash of the id
REGROUP_PARTS = 64


def engine_of(df: Any) -> str | None:
    """``"dask"`` for a Dask DataFrame, ``"ray"`` for a Ray Dataset, None for anything else.

    Decided by the object's type (module name), without importing either engine.
    """
    for cls in type(df).__mro__:
        mod = cls.__module__ or ""
        if mod.startswith(("dask.dataframe", "dask_expr")) and cls.__name__ == "DataFrame":
            return "dask"
        if mod.startswith("ray.data") and cls.__name__ == "Dataset":
            return "ray"
    return None


@contextmanager
def local_client(workers: int, threads_per_worker: int = 1) -> Iterator[Any]:
    """A Dask ``LocalCluster`` of ``workers`` processes on this machine and its ``Client``, for the
    duration of the ``with`` block (what ``tinyts ... --engine dask --workers N`` starts).

    The cluster's own event loops are made quieter (:data:`LOCAL_DASK_CONFIG`): on one machine they
    share the cores with the workers. No dashboard; warnings and errors of the cluster are logged.

    Parameters
    ----------
    workers : int
        Worker processes.
    threads_per_worker : int
        Threads of each worker process (1: one task at a time per process, torch with one thread).

    Yields
    ------
    distributed.Client
        The client, also the default one (``distributed.get_client()``) inside the block.
    """
    require_engine("dask")
    import dask

    from distributed import Client, LocalCluster

    quiet = {k: new for k, (default, new) in LOCAL_DASK_CONFIG.items() if str(dask.config.get(k)) == default}
    with (
        dask.config.set(quiet),
        LocalCluster(
            n_workers=workers, threads_per_worker=threads_per_worker, dashboard_address=None, silence_logs=40
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def require_engine(engine: str) -> Any:
    """Import an engine's modules, or raise an ImportError naming the extra to install.

    Returns
    -------
    module
        ``dask.dataframe`` or ``ray.data``.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if engine == "dask":
        require("distributed", EXTRAS["dask"], "Batch inference on Dask")
        return require("dask.dataframe", EXTRAS["dask"], "Batch inference on Dask")
    return require("ray.data", EXTRAS["ray"], "Batch inference on Ray")


# ------------------------------------------------------------------------------------ worker side
_CACHE: dict[tuple[str, str], Any] = {}
_LOADS: dict[tuple[str, str], int] = {}
_LOCK = threading.Lock()


def _load(kind: str, source: str) -> Any:
    if kind == "classifier":
        from tinyts.tasks.classify.api import PulseClassifier

        return PulseClassifier.from_pretrained(source)
    from tinyts.models.base import resolve

    if kind == "tinycast":
        from tinyts.models.cast import TinyCast

        return resolve(source, TinyCast)
    from tinyts.models.pulse import TinyPulse

    return resolve(source, TinyPulse)


_TUNED: list[bool] = []


def tune_malloc() -> bool:
    """Undo a low ``MALLOC_TRIM_THRESHOLD_`` in this process (once); True if it was changed.

    Dask's nanny starts every worker with ``MALLOC_TRIM_THRESHOLD_=65536`` (its
    ``distributed.nanny.pre-spawn-environ``) so that freed memory goes back to the system at once.
    With it glibc also stops adapting its mmap threshold: every tensor above 128 kB is mapped and
    unmapped on each use and the heap is trimmed after every free, which made the same embedding
    2.4x slower on a Dask worker than in a plain process (measured: 2.44 s vs 1.00 s for 1,000
    series). When that variable is set below :data:`TRIM_THRESHOLD`, this sets glibc's mmap threshold
    to :data:`MMAP_THRESHOLD` (32 MB) and its trim threshold to :data:`TRIM_THRESHOLD` (128 MB) with
    ``mallopt``: the worker keeps up to that much freed memory for reuse. Results do not change.
    Nothing happens elsewhere (no variable, another C library).
    """
    if _TUNED:
        return False
    _TUNED.append(True)
    try:
        low = int(os.environ.get("MALLOC_TRIM_THRESHOLD_", "")) < TRIM_THRESHOLD
    except ValueError:
        return False
    if not low:
        return False
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's malloc.h
        return bool(libc.mallopt(m_mmap_threshold, MMAP_THRESHOLD)) and bool(
            libc.mallopt(m_trim_threshold, TRIM_THRESHOLD)
        )
    except (OSError, AttributeError):
        return False


def worker_model(kind: str, source: str, threads: int | None = DEFAULT_THREADS) -> Any:
    """The model ``source`` (a bundled name or folder) of this process, loaded on first use.

    ``threads`` sets ``torch.set_num_threads`` before the first load (None: leave it).
    """
    key = (kind, source)
    with _LOCK:
        if key not in _CACHE:
            if threads is not None:
                import torch

                torch.set_num_threads(int(threads))
            _CACHE[key] = _load(kind, source)
            _LOADS[key] = _LOADS.get(key, 0) + 1
        return _CACHE[key]


def task_model(model: Any, task: str) -> Any:
    """A model given by name or folder, loaded (and cached in this process); any other object as is.

    Lets the DataFrame functions take ``"tinypulse"`` / a folder for pandas frames too. The type of a
    loaded model is checked here; the task function checks a model object passed in.
    """
    if isinstance(model, (str, os.PathLike)):
        return worker_model(KINDS[task], os.fspath(model), threads=None)
    return model


def fill_rows(rows: torch.Tensor, min_rows: int = MIN_ROWS) -> torch.Tensor:
    """Row indices of one model call, filled up to ``min_rows`` with copies of the first row.

    BLAS picks other kernels for matrices of very few rows, whose last bits differ; calls of at least
    ``min_rows`` rows make a series' result independent of how many others come with it (what the
    distributed path, which splits the series over partitions, relies on). Keep the first
    ``len(rows)`` outputs.
    """
    return torch.cat([rows, rows[:1].repeat(max(0, min_rows - len(rows)))])


def load_counts() -> dict[str, int]:
    """How often this process loaded each model (``"kind:source"`` -> count); a diagnostic."""
    return {f"{k}:{s}": n for (k, s), n in _LOADS.items()}


def _task_function(task: str) -> Callable[..., pd.DataFrame]:
    from tinyts.tasks import frames
    from tinyts.tasks.forecast.api import forecast_df

    table: dict[str, Callable[..., pd.DataFrame]] = {
        "forecast": forecast_df,
        "impute": frames.impute_df,
        "detect": frames.detect_df,
        "embed": frames.embed_df,
        "classify": frames.classify_df,
    }
    return table[task]


def apply_partition(
    part: pd.DataFrame,
    task: str,
    source: str,
    options: dict[str, Any],
    empty: pd.DataFrame,
    threads: int | None = DEFAULT_THREADS,
) -> pd.DataFrame:
    """Run one task on one partition (whole series) with the worker's cached model.

    Parameters
    ----------
    part : pd.DataFrame
        Rows of whole series (long format).
    task : {"forecast", "impute", "detect", "embed", "classify"}
    source : str
        Bundled model name or folder (a saved classifier folder for ``classify``).
    options : dict
        Keyword arguments of the task's pandas function (column names included).
    empty : pd.DataFrame
        The output's columns and dtypes, returned for an empty partition.
    threads : int, optional
        torch threads of this worker process.

    Returns
    -------
    pd.DataFrame
        The pandas function's result for the partition.
    """
    if len(part) == 0:
        return empty.copy()
    tune_malloc()
    model = worker_model(KINDS[task], source, threads)
    return _task_function(task)(model, part, **options)


def _apply_checked(
    part: pd.DataFrame,
    task: str,
    source: str,
    options: dict[str, Any],
    empty: pd.DataFrame,
    threads: int | None,
    split: Any,
    id_col: str,
) -> pd.DataFrame:
    """:func:`apply_partition` after the check of a frame said to be grouped (``split``: how many
    series ids lie in more than one partition; see :func:`by_series`)."""
    if int(split):
        raise ValueError(_split_message(int(split), id_col))
    return apply_partition(part, task, source, options, empty, threads)


def _split_message(split: int, id_col: str) -> str:
    return (
        f"the frame was declared grouped by series (by_series / grouped=True), but {split} series "
        f"id(s) of {id_col!r} lie in more than one partition: nothing was computed. Call without "
        "grouped=True / by_series() (the rows are then shuffled by id), or write the data so that every "
        "series lies in one partition (e.g. parquet partitioned by id)"
    )


def _ray_block(block: Any) -> pd.DataFrame:
    """A Ray Data block (Arrow table or pandas) as pandas, as ``batch_format="pandas"`` gives it."""
    from ray.data.block import BlockAccessor

    return BlockAccessor.for_block(block).to_pandas()


def _ray_split(block: Any, key: str, parts: int) -> tuple[pd.DataFrame, ...] | pd.DataFrame:
    """A block cut into ``parts`` pieces by a hash of the series id (all rows of an id together)."""
    frame = _ray_block(block)
    if parts == 1:
        return frame
    bucket = pd.util.hash_pandas_object(frame[key], index=False).to_numpy() % parts
    return tuple(frame[bucket == j] for j in range(parts))


def _ray_counts(block: Any, key: str) -> pd.Series:
    """:func:`_id_counts` of one Ray block (reads the id column only).

    An Arrow block (what ``read_parquet`` and ``from_arrow`` give) is counted by Arrow itself: only its
    distinct ids are converted to pandas, as the whole block would convert them, so that the plan's ids
    match the rows :func:`_ray_cut` sees. Dictionary (categorical) ids go through pandas.
    """
    if isinstance(block, pd.DataFrame):
        return _id_counts(block, key)
    import pyarrow as pa

    column = block.column(key)
    if pa.types.is_dictionary(column.type):
        return _id_counts(_ray_block(block.select([key])), key)  # converted as the whole block would be
    import pyarrow.compute as pc

    found = pc.value_counts(column)  # distinct ids in order of first appearance, nulls counted
    ids = _ray_block(pa.table({key: found.field("values")}))[key]
    return pd.Series(found.field("counts").to_numpy(), index=pd.Index(ids), name="count")


def _moves(counts: pd.Series, plan: pd.Series, own: int) -> bool:
    """Whether any row of partition ``own`` (its id counts) goes to another partition under ``plan``."""
    return bool((_id_destinations(counts.index, plan, own) != own).any())


def _ray_cut(block: Any, plan: pd.Series, own: int, n: int, key: str) -> tuple[pd.DataFrame, ...]:
    """:func:`_cut_by_plan` of one Ray block."""
    return _cut_by_plan(_ray_block(block), plan, own, n, key)


def _ray_apply(
    task: str,
    source: str,
    options: dict[str, Any],
    empty: pd.DataFrame,
    threads: int | None,
    *pieces: Any,
) -> pd.DataFrame:
    """One output partition on Ray (its pieces: Ray blocks or pandas pieces of a cut), processed by
    :func:`_apply_pieces`."""
    frames = [p if isinstance(p, pd.DataFrame) else _ray_block(p) for p in pieces]
    return _apply_pieces(task, source, options, empty, threads, *frames)


def _ray_ids(block: Any, key: str) -> np.ndarray:
    """The distinct series ids of one block, as text (the check of :func:`by_series` on Ray).

    Reads the id column only (an Arrow block is not converted to pandas).
    """
    if isinstance(block, pd.DataFrame):
        values = pd.unique(block[key])
    else:
        import pyarrow.compute as pc

        values = pc.unique(block.column(key)).to_pylist()
    return np.asarray([str(v) for v in values], dtype=object)


_REMOTE: dict[str, Any] = {}


def _remote(name: str) -> Any:
    """This module's function ``name`` as a Ray remote function (made once per driver)."""
    if name not in _REMOTE:
        import ray

        _REMOTE[name] = ray.remote(num_cpus=1)(globals()[name])
    return _REMOTE[name]


def _warm(kind: str, source: str, threads: int | None, hold: float = 0.0) -> int:
    """Load a model into this worker process (and tune its malloc); its pid. ``hold``: seconds to keep
    the CPU afterwards (Ray: so that concurrent warm-up tasks land on distinct processes)."""
    import time

    tune_malloc()
    worker_model(kind, source, threads)
    time.sleep(hold)
    return os.getpid()


def warm_up(engine: str, model: Any, task: str, threads: int | None = DEFAULT_THREADS) -> int:
    """Load ``model`` in the worker processes of the running cluster now, before the first call.

    Without it, the first call on each worker process pays the model load (about 1-3 s here), and on
    Ray a process that ran none of a small warm-up call's tasks pays it in the middle of a timed job.
    Dask: every worker of the current client (``client.run``). Ray: one task per CPU, all at once,
    each holding its CPU for half a second after the load so that they land on distinct processes
    (Ray may still start more worker processes later; those load on first use).

    Parameters
    ----------
    engine : {"dask", "ray"}
    model : str or path
        Bundled model name or folder, as passed to the DataFrame function.
    task : {"forecast", "impute", "detect", "embed", "classify"}
    threads : int, optional
        torch threads per worker process, as in :func:`run_distributed`.

    Returns
    -------
    int
        How many worker processes hold the model now (that this call reached).
    """
    require_engine(engine)
    source = _source(model, task)
    if engine == "dask":
        from distributed import get_client

        return len(get_client().run(_warm, KINDS[task], source, threads))
    import ray

    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    return len(
        set(ray.get([_remote("_warm").remote(KINDS[task], source, threads, 0.5) for _ in range(cpus)]))
    )


# ------------------------------------------------------------------------------ grouped frames
def _remember(registry: dict[int, tuple[Any, Any]], obj: Any, value: Any) -> None:
    """Attach ``value`` to the live object ``obj`` (by identity; dropped when ``obj`` is collected)."""
    key = id(obj)
    registry[key] = (weakref.ref(obj, lambda _: registry.pop(key, None)), value)


def _recall(registry: dict[int, tuple[Any, Any]], obj: Any) -> Any:
    """The value :func:`_remember` attached to ``obj``, or None."""
    entry = registry.get(id(obj))
    return None if entry is None or entry[0]() is not obj else entry[1]


_GROUPED: dict[int, tuple[Any, str]] = {}


def by_series(df: Any, id_col: str = "unique_id") -> Any:
    """Declare that every partition of ``df`` (Dask) or every block (Ray) already holds whole series.

    The DataFrame functions then skip the shuffle by ``id_col`` (the largest fixed cost of a call,
    see docs/distributed.md) and run on the partitions as they are. Use it for data written by series,
    e.g. parquet partitioned by id. The promise is checked, much more cheaply than a shuffle: the
    distinct ids of each partition are counted, and if any id lies in more than one partition the
    call raises a ValueError saying so (never a silent wrong answer). Dask: the check is part of the
    lazy graph, every output partition waits for it. Ray: the input is materialised and the check
    runs before any model call.

    Parameters
    ----------
    df : dask.dataframe.DataFrame or ray.data.Dataset
        Long format, every series in one partition / block.
    id_col : str
        The series id column (the same as the DataFrame function's ``id_col``).

    Returns
    -------
    dask.dataframe.DataFrame or ray.data.Dataset
        A shallow copy of ``df`` (the same data and plan), marked: the DataFrame functions skip the
        shuffle for it. ``df`` itself and transformations of the copy are not marked.
        ``grouped=True`` (``embed_df(..., grouped=True)``) does the same for one call.
    """
    engine = engine_of(df)
    if engine is None:
        raise TypeError(f"by_series takes a Dask DataFrame or a Ray Dataset, got {type(df).__name__}")
    # a new object (the same data and plan), so that ``df`` itself keeps the default (shuffle)
    marked = df.copy() if engine == "dask" else copy.copy(df)
    _remember(_GROUPED, marked, id_col)
    return marked


def _marked(df: Any, id_col: str) -> bool:
    marked_by = _recall(_GROUPED, df)
    if marked_by is None:
        return False
    if marked_by != id_col:
        raise ValueError(f"the frame was declared grouped by {marked_by!r} (by_series), not by {id_col!r}")
    return True


# ------------------------------------------------------------------------------------ driver side
def _source(model: Any, task: str) -> str:
    if isinstance(model, (str, os.PathLike)):
        return os.fspath(model)
    what = (
        "a saved classifier folder (clf.save_pretrained(DIR))"
        if task == "classify"
        else (f"a bundled name ('{KINDS[task]}') or a checkpoint folder (model.save_pretrained(DIR))")
    )
    raise TypeError(
        f"with a Dask DataFrame or a Ray Dataset, pass the model as {what}, not a "
        f"{type(model).__name__} object: every worker loads it once by that name"
    )


def _columns(df: Any, engine: str) -> list[str]:
    if engine == "dask":
        return [str(c) for c in df.columns]
    return list(df.schema().names)


def _dtypes(df: Any, engine: str) -> dict[str, Any]:
    if engine == "dask":
        return dict(df.dtypes.items())
    schema = df.schema()
    out: dict[str, Any] = {}
    for name, typ in zip(schema.names, schema.types, strict=True):
        try:
            out[name] = typ.to_pandas_dtype() if hasattr(typ, "to_pandas_dtype") else np.dtype(typ)
        except (TypeError, NotImplementedError):
            out[name] = np.dtype(object)
    return out


def _synthetic_column(dtype: Any, n: int, kind: str) -> pd.Series:
    """``n`` values of a column's dtype: one id, regular times, or smooth targets."""
    base: pd.Series
    if kind == "id":
        base = pd.Series(["0"] * n) if pd.api.types.is_string_dtype(dtype) else pd.Series([0] * n)
    elif kind == "time":
        if pd.api.types.is_datetime64_any_dtype(dtype):
            tz = getattr(dtype, "tz", None)
            return pd.Series(pd.date_range("2000-01-01", periods=n, freq="D", tz=tz)).astype(dtype)
        base = pd.Series(np.arange(n))
    else:
        base = pd.Series(np.sin(np.arange(n) / 3.0) + np.arange(n) / n)
    try:
        return base.astype(dtype)
    except (TypeError, ValueError):
        return base


def _empty_result(
    task: str, model: str, dtypes: dict[str, Any], options: dict[str, Any], n: int = 96
) -> pd.DataFrame:
    """The output's columns and dtypes: the pandas function run on the driver on one synthetic series.

    It also validates the options (the same error as the in-memory call, before any work).
    """
    from tinyts.tasks.frames import _targets

    id_col, time_col = options["id_col"], options["time_col"]
    targets = _targets(options["target_col"])
    frame = pd.DataFrame(
        {
            id_col: _synthetic_column(dtypes.get(id_col, object), n, "id"),
            time_col: _synthetic_column(dtypes.get(time_col, np.int64), n, "time"),
        }
    )
    for col in targets:
        frame[col] = _synthetic_column(dtypes.get(col, np.float64), n, "target")
    for col, dtype in dtypes.items():  # the other input columns keep their place and dtype
        if col not in frame.columns:
            try:
                frame[col] = pd.Series([None] * n, dtype=object).astype(dtype)
            except (TypeError, ValueError):
                frame[col] = pd.Series([0] * n).astype(dtype, errors="ignore")
    frame = frame[[c for c in dtypes if c in frame.columns] + [c for c in frame.columns if c not in dtypes]]
    out = _task_function(task)(worker_model(KINDS[task], model, threads=None), frame, **options)
    return out.iloc[:0]


def _check_columns(columns: Sequence[str], options: dict[str, Any]) -> None:
    from tinyts.tasks.frames import _targets

    targets = _targets(options["target_col"])
    if options.get("id_col") is None:
        raise ValueError(
            "a distributed frame needs id_col (the series id): its rows are grouped by series across "
            "partitions"
        )
    need = [options["id_col"], options["time_col"], *targets]
    missing = [c for c in need if c not in columns]
    if missing:
        raise ValueError(
            f"DataFrame has no column(s) {missing}; its columns are {list(columns)}. "
            "Name the columns with id_col=, time_col=, target_col="
        )


def run_distributed(
    task: str,
    model: Any,
    df: Any,
    options: dict[str, Any],
    threads: int | None = DEFAULT_THREADS,
    grouped: bool | None = None,
) -> Any:
    """Run a DataFrame task on a Dask DataFrame or a Ray Dataset; the same engine's frame comes back.

    Parameters
    ----------
    task : {"forecast", "impute", "detect", "embed", "classify"}
    model : str or path
        Bundled model name or checkpoint folder (for ``classify``: a saved classifier folder).
    df : dask.dataframe.DataFrame or ray.data.Dataset
        Long format; grouped by ``options["id_col"]`` here (series are never split).
    options : dict
        Keyword arguments of the pandas function, with ``id_col``, ``time_col`` and ``target_col``.
        A ``grouped`` key is taken out and used as ``grouped`` (so that ``embed_df(..., grouped=True)``
        reaches here through the functions that pass their ``**kwargs``).
    threads : int, optional
        torch threads per worker process (default 1; None leaves the worker's setting).
    grouped : bool, optional
        True: every partition (Dask) or block (Ray) already holds whole series, so the shuffle by id
        is skipped; the promise is checked and a ValueError raised if an id lies in two partitions.
        None (default): True if the frame was marked with :func:`by_series`, else False (shuffle).

    Returns
    -------
    dask.dataframe.DataFrame or ray.data.Dataset
        The results, partition by partition (Dask: lazy; Ray: computed, a materialised Dataset).

    Raises
    ------
    TypeError
        A model object instead of its name or folder.
    ValueError
        No ``id_col``, missing columns, bad options (checked on the driver before any work); a frame
        declared grouped whose series span partitions (Ray: here; Dask: when computed).
    ImportError
        The engine is not installed (the message names the extra).
    """
    engine = engine_of(df)
    if engine is None:
        raise TypeError(f"expected a Dask DataFrame or a Ray Dataset, got {type(df).__name__}")
    require_engine(engine)
    options = dict(options)
    if "grouped" in options:
        asked = options.pop("grouped")
        grouped = asked if grouped is None else grouped
    source = _source(model, task)
    _check_columns(_columns(df, engine), options)
    if grouped is None:
        grouped = _marked(df, options["id_col"])
    empty = _empty_result(task, source, _dtypes(df, engine), options)
    if engine == "dask":
        return _run_dask(df, task, source, options, empty, threads, bool(grouped))
    return _run_ray(df, task, source, options, empty, threads, bool(grouped))


def _unique_ids(ids: pd.Series) -> pd.Series:
    return pd.Series(ids.unique(), name=ids.name, dtype=ids.dtype)


def _run_dask(
    df: Any, task: str, source: str, options: dict[str, Any], empty: Any, threads: Any, grouped: bool
) -> Any:
    key = options["id_col"]
    if df.npartitions == 1:
        return df.map_partitions(
            apply_partition, task, source, options, empty, threads, meta=empty, enforce_metadata=False
        )
    if not grouped:
        if df.npartitions > REGROUP_PARTS:
            return df.shuffle(on=key).map_partitions(
                apply_partition, task, source, options, empty, threads, meta=empty, enforce_metadata=False
            )
        return _regroup_dask(df, task, source, options, empty, threads)
    # the promise, checked lazily: the distinct ids of each partition, counted over all partitions (a
    # tree reduction of one value per series, not a shuffle of the rows; above GATHER_IDS partitions
    # the ids, not the rows, are shuffled instead); every output partition waits for that count and
    # raises if an id is in two partitions
    ids = df[key].map_partitions(_unique_ids, meta=df[key]._meta)
    split = (ids.value_counts(split_out=1 if df.npartitions <= GATHER_IDS else True) > 1).sum()
    return df.map_partitions(
        _apply_checked, task, source, options, empty, threads, split, key, meta=empty, enforce_metadata=False
    )


def _regroup_dask(df: Any, task: str, source: str, options: dict[str, Any], empty: Any, threads: Any) -> Any:
    """The default Dask path: partitions regrouped by :func:`regroup_plan`, lazily.

    One task counts the ids of each partition, one gathers the counts into the plan, one per partition
    cuts it into its pieces (the whole partition when none of its series moves) and one per output
    partition concatenates its pieces and runs the task; the scheduler runs each output where its
    largest piece is, so rows of whole series do not travel.
    """
    import dask
    import dask.dataframe as dd

    key = options["id_col"]
    parts = df.to_delayed()
    n = len(parts)
    counts = [dask.delayed(_id_counts, pure=True)(p, key) for p in parts]
    plan = dask.delayed(regroup_plan, pure=True)(counts)
    cut = dask.delayed(_cut_by_plan, pure=True, nout=n)
    pieces = [cut(p, plan, i, n, key) for i, p in enumerate(parts)]
    run = dask.delayed(_apply_pieces, pure=True)
    outs = [run(task, source, options, empty, threads, *(pieces[i][j] for i in range(n))) for j in range(n)]
    return dd.from_delayed(outs, meta=empty, verify_meta=False)


def _id_counts(part: pd.DataFrame, key: str) -> pd.Series:
    """How many rows each series id has in one partition (index: the ids, in order of appearance;
    the unused categories of a categorical id column left out)."""
    counts = part[key].value_counts(sort=False, dropna=False)
    return counts[counts > 0]


def regroup_plan(counts: Sequence[pd.Series]) -> pd.Series:
    """Where the rows of each series that lies in more than one partition go.

    Parameters
    ----------
    counts : sequence of pd.Series
        Per partition, the number of rows of each series id in it (index: ids).

    Returns
    -------
    pd.Series
        The destination partition (int) of every id found in more than one partition, indexed by id;
        empty when every series lies whole in one partition (then nothing moves). The destination is
        the partition holding most of the series' rows; ties are dealt round-robin over the ids in
        order of first appearance (so that series spread evenly over the partitions, e.g. data
        partitioned by time, are dealt out evenly rather than all to the first partition). Ids in one
        partition only stay where they are.
    """
    n = len(counts)
    if n < 2:
        return pd.Series([], dtype=np.int64)
    index = counts[0].index.append([c.index for c in counts[1:]])
    codes, uniques = pd.factorize(index, use_na_sentinel=False)
    rows = np.concatenate([c.to_numpy(dtype=np.int64) for c in counts])
    part = np.repeat(np.arange(n, dtype=np.int64), [len(c) for c in counts])
    seen = np.bincount(codes, minlength=len(uniques))
    moved = seen[codes] > 1
    if not moved.any():
        return pd.Series([], dtype=np.int64)
    codes, rows, part = codes[moved], rows[moved], part[moved]
    # most rows first; ties go round-robin over the ids in order of first appearance
    score = rows * n + (codes + part) % n
    order = np.lexsort((score, codes))
    last = np.r_[codes[order][1:] != codes[order][:-1], True]
    best = order[last]
    return pd.Series(part[best], index=uniques[codes[best]], dtype=np.int64)


def _id_destinations(ids: Any, plan: pd.Series, own: int) -> np.ndarray:
    """The destination partition of each id of partition ``own`` under ``plan`` (``own`` if not in it)."""
    where = plan.reindex(ids).to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isnan(where), own, where).astype(np.int64)


def _destinations(part: pd.DataFrame, plan: pd.Series, own: int, key: str) -> np.ndarray | None:
    """The destination partition of every row of partition ``own``; None when no row moves."""
    if len(plan) == 0 or len(part) == 0:
        return None
    codes, uniques = pd.factorize(part[key], use_na_sentinel=False)
    dest = _id_destinations(uniques, plan, own)
    if (dest == own).all():
        return None
    return dest[codes]


def _cut_by_plan(part: pd.DataFrame, plan: pd.Series, own: int, n: int, key: str) -> tuple[pd.DataFrame, ...]:
    """Partition ``own`` as ``n`` pieces, piece ``j`` the rows going to output ``j`` (row order kept)."""
    dest = _destinations(part, plan, own, key)
    if dest is None:
        return tuple(part if j == own else part.iloc[:0] for j in range(n))
    order = np.argsort(dest, kind="stable")
    bounds = np.searchsorted(dest[order], np.arange(1, n))
    return tuple(part.iloc[idx] for idx in np.split(order, bounds))


def _apply_pieces(
    task: str,
    source: str,
    options: dict[str, Any],
    empty: pd.DataFrame,
    threads: int | None,
    *pieces: pd.DataFrame,
) -> pd.DataFrame:
    """One output partition of the regrouped frame: its pieces, in partition order, processed."""
    parts = [p for p in pieces if len(p)]
    if not parts:
        return empty.copy()
    part = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    return apply_partition(part, task, source, options, empty, threads)


def _ray_blocks(ds: Any) -> list[Any]:
    """The block references of a Ray Dataset, materialised (executed if it is not yet; a materialised
    one is read as it is: ``materialize()`` on it costs another Ray Data execution, ~10 ms)."""
    from ray.data.dataset import MaterializedDataset

    refs: list[Any] = []
    for bundle in (
        ds if isinstance(ds, MaterializedDataset) else ds.materialize()
    ).iter_internal_ref_bundles():
        refs += list(bundle.block_refs)
    return refs


#: Ray results of :func:`run_distributed` (:func:`_remember`): the tasks' pandas results and the empty frame
_RESULTS: dict[int, tuple[Any, tuple[list[Any], pd.DataFrame]]] = {}


def _ray_result(refs: list[Any], empty: pd.DataFrame) -> Any:
    """A Ray Dataset of the tasks' pandas results, remembered so that :func:`to_pandas` can fetch the
    frames themselves instead of running Ray Data's collection (~40 ms a call here)."""
    import ray

    result = ray.data.from_pandas_refs(refs)
    _remember(_RESULTS, result, (refs, empty))
    return result


def _run_ray(
    ds: Any, task: str, source: str, options: dict[str, Any], empty: Any, threads: Any, grouped: bool
) -> Any:
    """Ray: plain Ray tasks on the blocks, not Ray Data operators.

    Measured here (docs/distributed.md): Ray Data's hash repartition starts its aggregator actors on
    every call (4-5 s for any small input on 2 CPUs) and a class-based UDF starts an actor pool that
    loads the model on every call. Two layers of plain tasks do the same grouping: each block is cut
    into hash buckets of series ids (all rows of an id go to one bucket), each bucket is one output
    partition. Tasks run on Ray's pooled worker processes, which keep the model in the per-process
    cache between tasks and calls (as Dask workers do), and hold no CPU while waiting, so the
    2-CPU deadlock of an actor pool next to a shuffle cannot happen.
    """
    import ray

    key = options["id_col"]
    blocks = _ray_blocks(ds)
    if grouped:
        found = ray.get([_remote("_ray_ids").remote(b, key) for b in blocks])
        split = _count_split(found)
        if split:
            raise ValueError(_split_message(split, key))
        groups = [[b] for b in blocks]
    else:
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        n = len(blocks)
        if cpus <= n <= REGROUP_PARTS:  # only the rows of split series move (regroup_plan)
            counts = ray.get([_remote("_ray_counts").remote(b, key) for b in blocks])
            plan = regroup_plan(counts)
            cuts: dict[int, Any] = {}
            if len(plan):
                by_plan = _remote("_ray_cut").options(num_returns=n)
                cuts = {
                    i: by_plan.remote(b, plan, i, n, key)
                    for i, b in enumerate(blocks)
                    if _moves(counts[i], plan, i)
                }
            groups = [
                [cuts[j][j] if j in cuts else blocks[j]] + [cuts[i][j] for i in cuts if i != j]
                for j in range(n)
            ]
        else:  # fewer blocks than CPUs (spread them) or very many: hash buckets of the ids
            parts = max(cpus, n)
            cut = _remote("_ray_split").options(num_returns=parts)
            pieces = [cut.remote(b, key, parts) for b in blocks]
            groups = [pieces] if parts == 1 else [[p[j] for p in pieces] for j in range(parts)]
    run = _remote("_ray_apply")
    return _ray_result([run.remote(task, source, options, empty, threads, *g) for g in groups], empty)


def _count_split(ids: Sequence[np.ndarray]) -> int:
    """How many ids occur in more than one of the per-partition arrays of distinct ids."""
    if not ids:
        return 0
    _, counts = np.unique(np.concatenate([np.asarray(a, dtype=object) for a in ids]), return_counts=True)
    return int((counts > 1).sum())


# ------------------------------------------------------------------------------------ conveniences
def to_engine(
    df: pd.DataFrame, engine: str, partitions: int, id_col: str = "unique_id", *, arrow: bool = False
) -> Any:
    """A pandas long frame as a Dask DataFrame or Ray Dataset of ``partitions`` partitions.

    Whole series go to one partition (consecutive series in order of first appearance), so the result
    is already grouped: the DataFrame functions count its ids and move nothing (:func:`by_series`
    declares it grouped instead). ``arrow``: Ray blocks as Arrow tables, as ``ray.data.read_parquet``
    gives them (default: pandas frames, as ``ray.data.from_pandas`` keeps them).
    """
    module = require_engine(engine)
    codes = pd.factorize(df[id_col], sort=False)[0]
    n_series = int(codes.max()) + 1 if len(codes) else 0
    parts = max(1, min(int(partitions), max(1, n_series)))
    bounds = np.searchsorted(
        np.sort(codes, kind="stable"), np.linspace(0, n_series, parts + 1)[1:-1].round().astype(int)
    )
    order = np.argsort(codes, kind="stable")
    if engine == "dask" and parts == 1 and not arrow:
        return module.from_pandas(df.iloc[order], npartitions=parts, sort=False)
    return from_pieces([df.iloc[idx] for idx in np.split(order, bounds)], engine, arrow=arrow)


def from_pieces(pieces: Sequence[pd.DataFrame], engine: str, *, arrow: bool = False) -> Any:
    """A Dask DataFrame or Ray Dataset whose partitions (blocks) are ``pieces``, as given.

    Parameters
    ----------
    pieces : sequence of pd.DataFrame
        At least one frame, all with the same columns.
    engine : {"dask", "ray"}
    arrow : bool
        Ray only: hold the blocks as Arrow tables (what ``ray.data.read_parquet`` gives) instead of
        pandas frames.
    """
    module = require_engine(engine)
    if arrow and engine != "ray":
        raise ValueError("arrow=True makes Ray Arrow blocks; a Dask DataFrame is made of pandas partitions")
    if engine == "dask":
        return module.from_delayed([_delayed(p) for p in pieces], meta=pieces[0].iloc[:0], verify_meta=False)
    if arrow:
        import pyarrow as pa

        return module.from_arrow([pa.Table.from_pandas(p, preserve_index=False) for p in pieces])
    return module.from_pandas(list(pieces))


def _numpy_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Arrow-backed columns (what Ray's ``to_pandas`` gives) as numpy ones: strings as objects."""
    out = frame.copy()
    for col in out.columns:
        dtype = out[col].dtype
        if isinstance(dtype, pd.ArrowDtype):
            is_text = pd.api.types.is_string_dtype(dtype)
            out[col] = out[col].astype(object if is_text else dtype.numpy_dtype)  # type: ignore[attr-defined]
    return out


def _delayed(part: pd.DataFrame) -> Any:
    import dask

    return dask.delayed(part)


def to_pandas(result: Any) -> pd.DataFrame:
    """A pandas frame from a Dask DataFrame (``compute``), a Ray Dataset (``to_pandas``) or pandas.

    A Ray Dataset returned by a DataFrame function (not a transformation of it) is collected by
    fetching its partitions' pandas frames (``ray.get``), the frames the workers' pandas functions
    returned, without a Ray Data execution; the same values and columns either way.
    """
    engine = engine_of(result)
    if engine == "dask":
        return result.compute()
    if engine == "ray":
        ours = _recall(_RESULTS, result)
        if ours is not None:
            import ray

            refs, empty = ours
            frames = [f for f in ray.get(refs) if len(f)]
            return pd.concat(frames, ignore_index=True) if frames else empty.copy()
        return _numpy_dtypes(result.to_pandas())
    if isinstance(result, pd.DataFrame):
        return result
    raise TypeError(f"expected a DataFrame, a Dask DataFrame or a Ray Dataset, got {type(result).__name__}")
