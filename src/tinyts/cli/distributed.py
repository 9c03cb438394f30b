"""``--engine dask|ray --workers N``: the batch commands on a distributed engine.

``tinyts forecast|impute|detect`` (long csv), ``tinyts embed``, ``tinyts search build`` and
``tinyts classify predict`` take these options. The file is read on this machine, handed to the engine
as a frame of whole series (declared with ``by_series``: no shuffle), processed by the workers (each
loads the model once, by name or folder) and written back in the order the command writes without an
engine, with the same values bit for bit.

Which cluster: Dask connects to ``DASK_SCHEDULER_ADDRESS`` when it is set, Ray to ``RAY_ADDRESS``;
otherwise a local cluster of ``--workers`` processes (one torch thread each) is started for the
command and stopped after it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tinyts.cli.common import fail

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import ArrayLike

#: ``--engine``
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="dask | ray: run on a distributed engine (a local cluster of --workers processes, or the "
        "cluster in DASK_SCHEDULER_ADDRESS / RAY_ADDRESS); needs tinyts[dask] / tinyts[ray].",
    ),
]
#: ``--workers``
WorkersOpt = Annotated[int, typer.Option("--workers", min=1, help="Worker processes of a local cluster.")]


def check_engine(engine: str | None) -> None:
    """Exit 2 for an unknown engine; raise ``ImportError`` naming the extra when it is missing.

    Called before any work (the command's handler turns the ``ImportError`` into exit 2).
    """
    if engine is None:
        return
    from tinyts.tasks.distributed import ENGINES, require_engine

    if engine not in ENGINES:
        fail(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    require_engine(engine)


@contextmanager
def cluster(engine: str, workers: int) -> Iterator[None]:
    """A local cluster of ``workers`` processes for the duration of a command (or the configured one)."""
    if engine == "dask":
        from distributed import Client
        from tinyts.tasks.distributed import local_client

        if os.environ.get("DASK_SCHEDULER_ADDRESS"):
            with Client(os.environ["DASK_SCHEDULER_ADDRESS"]):
                yield
            return
        with local_client(workers):
            yield
        return
    import ray

    started = not ray.is_initialized()
    if started:
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if not os.environ.get("RAY_ADDRESS"):
            kwargs["num_cpus"] = workers
        ray.init(configure_logging=False, **kwargs)
        ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def run_frame(
    engine: str,
    workers: int,
    fn: Callable[[Any], Any],
    frame: pd.DataFrame,
    id_col: str,
    *,
    per_row: bool,
) -> pd.DataFrame:
    """``fn`` on ``frame`` distributed; the result as pandas, rows in the order of the in-memory call.

    ``fn`` maps the engine's frame (a Dask DataFrame or a Ray Dataset of whole series) to another.

    ``per_row``: the output has the input's rows (impute, detect): back in input order and index.
    Otherwise rows follow the series' first appearance in ``frame`` (the engine keeps each series'
    own rows in order).
    """
    import numpy as np

    from tinyts.tasks.distributed import by_series, to_engine, to_pandas

    work = frame.copy()
    row_key = "__tinyts_row__"
    if per_row:
        while row_key in work.columns:
            row_key += "_"
        work[row_key] = np.arange(len(work))
    with cluster(engine, workers):
        # to_engine puts whole series in each partition: no shuffle needed (checked, see by_series)
        result = to_pandas(fn(by_series(to_engine(work, engine, 2 * workers, id_col=id_col), id_col)))
    if per_row:
        result = result.sort_values(row_key, kind="stable").drop(columns=row_key)
        result.index = frame.index
        return result
    # engines may store ids as another dtype (Dask: object -> string): match them as text
    first = {str(key): k for k, key in enumerate(frame[id_col].drop_duplicates())}
    rank = result[id_col].astype(str).map(first)
    if rank.isna().any():
        raise RuntimeError(f"the engine returned series ids that are not in the input ({id_col!r})")
    return result.iloc[np.argsort(rank.to_numpy(), kind="stable")].reset_index(drop=True)


def cases_frame(series: Sequence[ArrayLike], ids: Sequence[object]) -> tuple[pd.DataFrame, list[str]]:
    """A long frame of ``(channels, time)`` cases: ``unique_id``, ``ds`` and one target per channel.

    Returns the frame and the target column names (``y``, or ``y0 .. y{C-1}``).
    """
    import numpy as np
    import pandas as pd

    arrays = [np.atleast_2d(np.asarray(s, dtype=np.float64)) for s in series]
    channels = {a.shape[0] for a in arrays}
    if len(channels) != 1:
        raise ValueError(f"the series have different channel counts {sorted(channels)}")
    c = channels.pop()
    targets = ["y"] if c == 1 else [f"y{k}" for k in range(c)]
    lengths = [a.shape[1] for a in arrays]
    data: dict[str, Any] = {
        "unique_id": np.repeat(np.asarray(ids, dtype=object), lengths),
        "ds": np.concatenate([np.arange(n) for n in lengths]),
    }
    values = np.concatenate(arrays, axis=1)
    for k, name in enumerate(targets):
        data[name] = values[k]
    return pd.DataFrame(data), targets
