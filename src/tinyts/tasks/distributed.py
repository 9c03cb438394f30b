"""Batch inference on Dask and Ray: the DataFrame functions on a distributed frame.

:func:`tinyts.tasks.forecast.forecast_df` and the functions of :mod:`tinyts.tasks.frames`
(``impute_df``, ``detect_df``, ``embed_df``, ``classify_df``) accept, besides a pandas DataFrame, a
Dask DataFrame or a Ray Dataset in the same long format, and return the same engine's frame (lazy,
like the engine's own transformations). The work is the in-memory function itself, run once per
partition on the workers:

1. The rows are shuffled by ``id_col`` (Dask: ``shuffle(on=id_col)``; Ray: a hash repartition by
   key, what ``groupby(...).map_groups`` does), so that every series lies whole in one partition; a
   series is never split.
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

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from tinyts._errors import require

__all__ = [
    "ENGINES",
    "Engine",
    "apply_partition",
    "engine_of",
    "fill_rows",
    "load_counts",
    "require_engine",
    "resolve",
    "run_distributed",
    "to_engine",
    "to_pandas",
]

Engine = Literal["dask", "ray"]
ENGINES: tuple[str, ...] = ("dask", "ray")
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
        from tinyts.tasks.classify import PulseClassifier

        return PulseClassifier.from_pretrained(source)
    from tinyts.models.base import load

    return load(source)


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


def resolve(model: Any, task: str) -> Any:
    """A model given by name or folder, loaded (and cached in this process); any other object as is.

    Lets the DataFrame functions take ``"tinypulse"`` / a folder for pandas frames too.
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
    from tinyts.tasks.forecast import forecast_df

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
    model = worker_model(KINDS[task], source, threads)
    return _task_function(task)(model, part, **options)


class RayPartition:
    """Ray Data callable class: loads the model once per actor, then runs :func:`apply_partition`."""

    def __init__(self, task: str, source: str, options: dict[str, Any], empty: pd.DataFrame, threads: Any):
        self.task, self.source, self.options, self.empty, self.threads = task, source, options, empty, threads
        worker_model(KINDS[task], source, threads)

    def __call__(self, part: pd.DataFrame) -> pd.DataFrame:
        return apply_partition(part, self.task, self.source, self.options, self.empty, self.threads)


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
    task: str, model: Any, df: Any, options: dict[str, Any], threads: int | None = DEFAULT_THREADS
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
    threads : int, optional
        torch threads per worker process (default 1; None leaves the worker's setting).

    Returns
    -------
    dask.dataframe.DataFrame or ray.data.Dataset
        The results, partition by partition (lazy).

    Raises
    ------
    TypeError
        A model object instead of its name or folder.
    ValueError
        No ``id_col``, missing columns, bad options (checked on the driver before any work).
    ImportError
        The engine is not installed (the message names the extra).
    """
    engine = engine_of(df)
    if engine is None:
        raise TypeError(f"expected a Dask DataFrame or a Ray Dataset, got {type(df).__name__}")
    require_engine(engine)
    source = _source(model, task)
    _check_columns(_columns(df, engine), options)
    empty = _empty_result(task, source, _dtypes(df, engine), options)
    if engine == "dask":
        return _run_dask(df, task, source, options, empty, threads)
    return _run_ray(df, task, source, options, empty, threads)


def _run_dask(df: Any, task: str, source: str, options: dict[str, Any], empty: Any, threads: Any) -> Any:
    grouped = df if df.npartitions == 1 else df.shuffle(on=options["id_col"])
    return grouped.map_partitions(
        apply_partition, task, source, options, empty, threads, meta=empty, enforce_metadata=False
    )


def _run_ray(ds: Any, task: str, source: str, options: dict[str, Any], empty: Any, threads: Any) -> Any:
    import ray
    from ray.data.context import DataContext, ShuffleStrategy

    key = options["id_col"]
    ctx = DataContext.get_current()
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    hashed = {getattr(ShuffleStrategy, n, None) for n in ("HASH_SHUFFLE", "SHUFFLE_V2", "GPU_SHUFFLE")}
    if ctx.shuffle_strategy in hashed - {None}:
        # what GroupedData.map_groups does: a hash repartition by key, sorted, one block per batch
        try:
            parts = max(cpus, int(ds.num_blocks()))
        except Exception:  # not known without executing the input
            parts = cpus
        grouped = ds.repartition(parts, keys=[key], sort=True)
    else:
        grouped = ds.sort(key)
    # the shuffle runs first, on its own: an actor pool holding every CPU would starve its tasks
    grouped = grouped.materialize()
    return grouped.map_batches(
        RayPartition,
        batch_size=None,  # a batch is a whole block: whole series
        batch_format="pandas",
        zero_copy_batch=False,
        # a fixed pool, one actor per CPU: an autoscaling pool started with one actor and, for a
        # job of a few blocks, never grew (measured: 2 CPUs, 1 actor)
        compute=ray.data.ActorPoolStrategy(size=cpus),
        fn_constructor_args=(task, source, options, empty, threads),
        num_cpus=1,
    )


# ------------------------------------------------------------------------------------ conveniences
def to_engine(df: pd.DataFrame, engine: str, partitions: int, id_col: str = "unique_id") -> Any:
    """A pandas long frame as a Dask DataFrame or Ray Dataset of ``partitions`` partitions.

    Whole series go to one partition (consecutive series in order of first appearance), so the result
    is already grouped; :func:`run_distributed` shuffles anyway, which is cheap then.
    """
    module = require_engine(engine)
    codes = pd.factorize(df[id_col], sort=False)[0]
    n_series = int(codes.max()) + 1 if len(codes) else 0
    parts = max(1, min(int(partitions), max(1, n_series)))
    bounds = np.searchsorted(
        np.sort(codes, kind="stable"), np.linspace(0, n_series, parts + 1)[1:-1].round().astype(int)
    )
    order = np.argsort(codes, kind="stable")
    pieces = [df.iloc[idx] for idx in np.split(order, bounds)]
    if engine == "dask":
        return (
            module.from_pandas(df.iloc[order], npartitions=parts, sort=False)
            if parts == 1
            else (module.from_delayed([_delayed(p) for p in pieces], meta=df.iloc[:0], verify_meta=False))
        )
    return module.from_pandas(pieces)


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
    """A pandas frame from a Dask DataFrame (``compute``), a Ray Dataset (``to_pandas``) or pandas."""
    engine = engine_of(result)
    if engine == "dask":
        return result.compute()
    if engine == "ray":
        return _numpy_dtypes(result.to_pandas())
    if isinstance(result, pd.DataFrame):
        return result
    raise TypeError(f"expected a DataFrame, a Dask DataFrame or a Ray Dataset, got {type(result).__name__}")
