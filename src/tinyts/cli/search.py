"""``tinyts search build|query`` and ``tinyts embed``: TinyPulse embeddings and similarity search.

Series files (FILES / FILE):

- UCR/UEA classification files (``.ts``, ``.arff``, ``.tsv``, ``.txt``, headerless label-first ``.csv``):
  one series per case, id ``STEM:ROW`` (0-based row in the file; labels are not used);
- ``.npy``: ``(time,)`` one series, ``(n, time)`` n univariate series, ``(n, channels, time)`` n series;
  id ``STEM:ROW``;
- any other ``.csv``: a wide table (one numeric column per channel, optional leading date column) holding
  one series, id ``STEM``;
- a long-format ``.csv`` (one row per series and time step) with ``--id-col --time-col --target-col``:
  one series per id, the ids as written.

Series may have any length (resampled to the model's context) and missing values (empty cells / NaN).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from tinyts.cli.common import (
    IdCol,
    Overwrite,
    TargetCol,
    TimeCol,
    check_outputs,
    command,
    fail,
    group,
    nixtla_long,
)
from tinyts.cli.distributed import EngineOpt, WorkersOpt, cases_frame, check_engine, run_frame
from tinyts.options import EmbedChannels, EmbedKind, SearchMethod, choices

if TYPE_CHECKING:
    import numpy as np

_CLASSIFICATION = (".ts", ".arff", ".tsv", ".txt")
_FILES_HELP = (
    "Series files: UCR/UEA .ts/.arff/.tsv/.txt (or label-first .csv), one series per case; .npy "
    "(n, time) or (n, channels, time); a wide .csv (one column per channel) is one series."
)


def read_series_file(path: Path) -> tuple[list[np.ndarray], list[str]]:
    """Series of one file (see the module docstring) and their ids.

    Returns
    -------
    series, ids : list
        ``(channels, time)`` float64 arrays and ``STEM:ROW`` (or ``STEM``) ids.
    """
    import numpy as np

    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise ValueError(f"{path} could not be read as a numeric .npy array ({exc})") from exc
        if arr.ndim == 1:
            arr = arr[None, None, :]
        elif arr.ndim == 2:
            arr = arr[:, None, :]
        elif arr.ndim != 3:
            raise ValueError(
                f"{path} has shape {arr.shape}; expected (time,), (n, time) or (n, channels, time)"
            )
        return list(arr), [f"{path.stem}:{i}" for i in range(len(arr))]
    from tinyts.data.io.discover import is_label_first_csv

    if suffix in _CLASSIFICATION or (suffix == ".csv" and is_label_first_csv(path)):
        from tinyts.data.io.ltsf import read_classification

        split = read_classification(path)
        return list(split.X), [f"{path.stem}:{i}" for i in range(split.n_cases)]
    if suffix == ".csv":
        from tinyts.cli.files import read_wide_csv

        return [read_wide_csv(path).values], [path.stem]
    raise ValueError(f"{path}: unsupported file type {suffix!r}; {_FILES_HELP}")


def read_long_series(
    path: Path, id_col: str | None, time_col: str | None, target_col: str | None
) -> tuple[list[np.ndarray], list[str]]:
    """Series of a long-format csv (one row per series and time step): one ``(1, time)`` array per id,
    in time order and in order of first appearance; ids as written (``STEM`` when ``id_col`` is None).
    Rows are consecutive steps (the embedding resamples every series to the model's context)."""
    import numpy as np

    from tinyts.cli.files import read_long_csv
    from tinyts.data.convert.frames import df_to_batch

    if time_col is None or target_col is None:
        fail("a long-format csv needs --time-col and --target-col (and --id-col for several series)")
    frame = read_long_csv(path, id_col=id_col, time_col=time_col, target_col=target_col)
    batch = df_to_batch(frame, id_col=id_col, time_col=time_col, target_col=target_col)
    assert batch.source is not None
    series = [np.asarray(a, dtype=np.float64) for a in batch.source]
    ids = [str(i) for i in batch.ids] if id_col is not None and batch.ids is not None else [path.stem]
    return series, ids


def _series(path: Path, long: tuple[str | None, str | None, str | None]) -> tuple[list[Any], list[str]]:
    """A file's series: long-format when any of the long options is given or the csv's header is exactly
    ``unique_id,ds,y`` (a note says so), else by its type."""
    if any(c is not None for c in long):
        return read_long_series(path, *long)
    found = nixtla_long(path)
    if found is not None:
        return read_long_series(path, *found)
    return read_series_file(path)


def _read_all(
    files: list[Path], long: tuple[str | None, str | None, str | None] = (None, None, None)
) -> tuple[list[np.ndarray], list[str]]:
    series: list[np.ndarray] = []
    ids: list[str] = []
    for f in files:
        s, i = _series(f, long)
        series += s
        ids += i
    dupes = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
    if dupes:
        raise ValueError(
            f"two input files give the same ids {dupes[:3]}: rename one (ids come from file names)"
        )
    return series, ids


_MODEL = Annotated[str, typer.Option(help="Bundled model name or checkpoint folder.")]
_SHIFTS = Annotated[
    int | None,
    typer.Option(help="Circular shifts averaged per series (default 16; 1 = one pass, ~16x faster)."),
]
_CHANNELS = Annotated[
    str, typer.Option(help=" | ".join(choices(EmbedChannels)) + ": how channel embeddings combine.")
]


def embed_on_engine(
    engine: str, workers: int, model: str, series: list[np.ndarray], ids: list[str], **options: Any
) -> np.ndarray:
    """Embeddings ``(n, dim)`` of ``series`` (in their order) computed by ``engine``'s workers."""
    import numpy as np

    from tinyts.tasks.frames import embed_df

    frame, targets = cases_frame(series, ids)
    out = run_frame(
        engine,
        workers,
        lambda f: embed_df(model, f, target_col=targets, **options),
        frame,
        "unique_id",
        per_row=False,
    )
    return np.ascontiguousarray(out.drop(columns="unique_id").to_numpy(), dtype=np.float32)


def build(
    files: Annotated[list[Path], typer.Argument(help=_FILES_HELP)],
    out: Annotated[Path, typer.Option("--out", help="Index folder to write.")],
    method: Annotated[
        str, typer.Option(help="auto (exact up to 100,000 series, then IVF) | exact | hnsw | ivf")
    ] = "auto",
    shifts: _SHIFTS = None,
    channels: _CHANNELS = "concat",
    model: _MODEL = "tinypulse",
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    overwrite: Overwrite = False,
    id_col: IdCol = None,
    time_col: TimeCol = None,
    target_col: TargetCol = None,
    engine: EngineOpt = None,
    workers: WorkersOpt = 2,
) -> None:
    """Embed every series of FILES with TinyPulse and write a similarity index folder.

    Long-format csv files (``--id-col --time-col --target-col``) give one series per id, with the ids
    as written.
    """
    from tinyts.fileio import atomic_dir
    from tinyts.tasks.search.retrieve import SimilarityIndex

    check_outputs([(out, "--out", "dir")], overwrite=overwrite, inputs=files)
    check_engine(engine)
    series, ids = _read_all(files, (id_col, time_col, target_col))
    # the option values are checked by SimilarityIndex / build_index (ValueError naming the choices)
    channel_mode, engine_method = cast(EmbedChannels, channels), cast(SearchMethod, method)
    index = SimilarityIndex(model, shifts=shifts, channels=channel_mode, method=engine_method)
    if engine is None:
        index.add(series, ids, progress=progress)
    elif method == "hnsw":  # no shards for HNSW: embedded on the cluster, built here
        c = index.embed_config
        options = {"kind": c.kind, "shifts": c.shifts, "channels": c.channels}
        index.add_vectors(embed_on_engine(engine, workers, model, series, ids, **options), ids)
    else:  # exact, or IVF trained on a sample and filled by shards (tasks.search.distributed_index)
        from tinyts.cli.distributed import cluster
        from tinyts.tasks.distributed import to_engine
        from tinyts.tasks.search.distributed_index import build_index

        frame, targets = cases_frame(series, ids)
        with cluster(engine, workers):
            index = build_index(
                to_engine(frame, engine, 2 * workers),
                model,
                target_col=targets,
                shifts=shifts,
                channels=channel_mode,
                method=engine_method,
            )
    with atomic_dir(out) as tmp:
        index.save(tmp)
    folder = out
    typer.echo(f"indexed {len(index)} series (dim {index.dim}, engine {index.engine}) -> {folder}")


def query(
    index_dir: Annotated[Path, typer.Argument(help="Index folder written by `tinyts search build`.")],
    file: Annotated[Path, typer.Argument(help="Query series file (same formats as build).")],
    k: Annotated[int, typer.Option("-k", "--k", help="Hits per query.")] = 10,
    out: Annotated[Path | None, typer.Option(help="Also write the hits as csv here.")] = None,
    model: Annotated[
        str | None, typer.Option(help="Model for the queries (default: the index's own).")
    ] = None,
    overwrite: Overwrite = False,
    id_col: IdCol = None,
    time_col: TimeCol = None,
    target_col: TargetCol = None,
) -> None:
    """The K nearest indexed series of every series in FILE (long-format csv: one query per id)."""
    from tinyts.fileio import atomic_file

    check_outputs([(out, "--out", "file")], overwrite=overwrite, inputs=[file, index_dir])
    from tinyts.tasks.search.retrieve import SimilarityIndex

    index = SimilarityIndex.load(index_dir, model=model)
    series, qids = _series(file, (id_col, time_col, target_col))
    hits = index.search(series, k=k)
    frame = hits.to_frame()
    frame.insert(1, "query_id", [qids[q] for q in frame["query"]])
    for q, qid in enumerate(qids):
        typer.echo(f"{qid}:")
        for rank, (hid, dist) in enumerate(zip(hits.ids[q], hits.distances[q], strict=True), start=1):
            typer.echo(f"  {rank:>3}  {hid}  {dist:.4f}")
    if out is not None:
        with atomic_file(out) as tmp:
            frame.to_csv(tmp, index=False)
        typer.echo(f"hits -> {out}")


def embed_command(
    file: Annotated[Path, typer.Argument(help=_FILES_HELP)],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Output .npy (n, dim) or .csv (the id column, named as in the input or unique_id, then "
            "emb_0 .. emb_{dim-1}, as embed_df returns).",
        ),
    ] = None,
    kind: Annotated[
        str,
        typer.Option(
            help="register (semantic) | detail (time + FFT tokens) | pooled (shift-robust, 2 passes)"
        ),
    ] = "register",
    shifts: _SHIFTS = None,
    channels: _CHANNELS = "concat",
    model: _MODEL = "tinypulse",
    overwrite: Overwrite = False,
    id_col: IdCol = None,
    time_col: TimeCol = None,
    target_col: TargetCol = None,
    engine: EngineOpt = None,
    workers: WorkersOpt = 2,
) -> None:
    """Write one TinyPulse embedding vector per series of FILE (long-format csv: one per id)."""
    import numpy as np

    from tinyts.fileio import atomic_file
    from tinyts.models.base import resolve
    from tinyts.models.pulse import TinyPulse
    from tinyts.tasks.pulse.embed import embed

    target = out or file.with_suffix(".embeddings.npy")
    if target.suffix.lower() not in (".npy", ".csv"):
        fail(f"--out must end in .npy or .csv, got {target.name}")
    check_outputs([(target, "--out", "file")], overwrite=overwrite, inputs=[file])
    check_engine(engine)
    pulse = resolve(model, TinyPulse, what="--model")
    series, ids = _series(file, (id_col, time_col, target_col))
    if engine is None:
        vectors = embed(
            pulse,
            series,
            kind=cast(EmbedKind, kind),
            shifts=shifts,
            channels=cast(EmbedChannels, channels),
            progress=True,
        )
    else:
        options = {"kind": kind, "shifts": shifts, "channels": channels}
        vectors = embed_on_engine(engine, workers, model, series, ids, **options)
    with atomic_file(target) as tmp:
        if target.suffix.lower() == ".npy":
            np.save(tmp, vectors, allow_pickle=False)
        else:
            import pandas as pd

            # the columns of embed_df: the id column under the input's name, then emb_0 .. emb_{d-1}
            frame = pd.DataFrame(vectors, columns=[f"emb_{j}" for j in range(vectors.shape[1])])
            frame.insert(0, id_col or "unique_id", ids)
            frame.to_csv(tmp, index=False)
    typer.echo(f"{vectors.shape[0]} series x {vectors.shape[1]} dims -> {target}")


def register(app: typer.Typer) -> None:
    """Add the ``search build|query`` commands and ``embed`` to the root app."""
    group(
        app,
        "search",
        "Build and query a similarity index of TinyPulse embeddings.",
        {"build": build, "query": query},
    )
    command(app, embed_command, "embed")
