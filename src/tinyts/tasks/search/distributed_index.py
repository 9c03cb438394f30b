"""A similarity index built from a distributed embedding: :func:`build_index`.

For collections too large for one process to embed (tens of millions of series), the embedding runs
on Dask or Ray (:func:`tinyts.tasks.frames.embed_df` on the engine's frame) and the faiss IVF index is
built the way faiss builds large indexes:

1. the embeddings are computed once and kept on the cluster (Dask ``persist``, Ray ``materialize``);
2. the IVF lists (``nlist = 4 sqrt(n)``, as :class:`~tinyts.tasks.search.retrieve.SimilarityIndex` picks) are
   trained by k-means on the driver, on a seeded sample of about ``64 * nlist`` embeddings;
3. every partition adds its embeddings to a copy of the trained, empty index: a shard, serialised
   by faiss (``serialize_index``, no pickle) and sent back;
4. the shards are merged on the driver (``IndexIVF.merge_from``) in partition order, next to the
   embeddings and ids, into an ordinary :class:`~tinyts.tasks.search.retrieve.SimilarityIndex`.

The result is the same kind of index with the same ``nlist`` / ``nprobe`` as a single-process build of
``n`` series, so a query costs the same; it only differs in the k-means sample. Saving, loading and
querying are unchanged (``index.save(DIR)``, ``tinyts search query``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from tinyts.options import EmbedChannels, SearchMethod
from tinyts.tasks.distributed import engine_of, require_engine
from tinyts.tasks.search.engines import faiss_module, ivf_params
from tinyts.tasks.search.retrieve import SimilarityIndex

__all__ = ["build_index", "ivf_shard"]


def ivf_shard(part: pd.DataFrame, trained: np.ndarray, columns: list[str], id_col: str) -> pd.DataFrame:
    """One partition's shard: its embeddings added to a copy of the trained empty IVF index.

    Parameters
    ----------
    part : pd.DataFrame
        Embedding rows (``id_col`` and ``columns``) of one partition.
    trained : np.ndarray
        The trained empty index, serialised with ``faiss.serialize_index``.
    columns : list of str
        The embedding columns.
    id_col : str
        The id column.

    Returns
    -------
    pd.DataFrame
        One row: ``ids`` (the partition's ids, in shard order), ``vectors`` (float32 bytes) and
        ``shard`` (the serialised shard), so that the driver merges ids, vectors and lists alike.
    """
    faiss = faiss_module()
    index = faiss.deserialize_index(np.asarray(trained, dtype=np.uint8))
    vectors = np.ascontiguousarray(part[columns].to_numpy(), dtype=np.float32)
    if len(part):
        index.add(vectors)
    ids = [i.item() if isinstance(i, np.generic) else i for i in part[id_col]]
    data = faiss.serialize_index(index).tobytes()
    return pd.DataFrame({"ids": [ids], "vectors": [vectors.tobytes()], "shard": [data]})


def _count(emb: Any, engine: str) -> int:
    return len(emb) if engine == "dask" else int(emb.count())


def _sample(emb: Any, engine: str, n: int, size: int, seed: int) -> pd.DataFrame:
    frac = min(1.0, size / max(n, 1))
    if engine == "dask":
        return emb.sample(frac=frac, random_state=seed).compute() if frac < 1.0 else emb.compute()
    from tinyts.tasks.distributed import to_pandas

    return to_pandas(emb.random_sample(frac, seed=seed) if frac < 1.0 else emb)


def _shards(emb: Any, engine: str, trained: np.ndarray, columns: list[str], id_col: str) -> pd.DataFrame:
    if engine == "dask":
        meta = pd.DataFrame({k: pd.Series(dtype=object) for k in ("ids", "vectors", "shard")})
        return emb.map_partitions(ivf_shard, trained, columns, id_col, meta=meta).compute()
    from tinyts.tasks.distributed import to_pandas

    out = emb.map_batches(
        ivf_shard,
        batch_size=None,
        batch_format="pandas",
        fn_args=(trained, columns, id_col),
        num_cpus=1,
    )
    return to_pandas(out)


def _collect(emb: Any, engine: str) -> pd.DataFrame:
    if engine == "dask":
        return emb.compute()
    from tinyts.tasks.distributed import to_pandas

    return to_pandas(emb)


def build_index(
    df: Any,
    model: str | os.PathLike[str] = "tinypulse",
    *,
    id_col: str = "unique_id",
    time_col: str = "ds",
    target_col: str | Sequence[str] = "y",
    shifts: int | None = None,
    channels: EmbedChannels = "concat",
    method: SearchMethod = "auto",
    exact_max: int = 100_000,
    nlist: int | None = None,
    nprobe: int | None = None,
    seed: int = 0,
) -> SimilarityIndex:
    """Embed every series of a Dask DataFrame or Ray Dataset on the cluster and index them.

    Parameters
    ----------
    df : dask.dataframe.DataFrame or ray.data.Dataset
        Long format with ``id_col``, ``time_col`` and ``target_col``; the ids become the index ids.
    model : str or path
        Bundled name or checkpoint folder of the TinyPulse model (loaded once per worker).
    id_col, time_col, target_col
        Column names, as in :func:`tinyts.tasks.frames.embed_df`.
    shifts, channels
        Embedding settings, as in :class:`~tinyts.tasks.search.retrieve.SimilarityIndex`.
    method : {"auto", "exact", "ivf"}
        ``"ivf"`` builds the faiss IVF index from shards (module docstring); ``"exact"`` keeps the
        vectors only; ``"auto"``: exact up to ``exact_max`` series, IVF beyond.
    exact_max, nlist, nprobe, seed
        As in :class:`~tinyts.tasks.search.retrieve.SimilarityIndex` (``seed``: the k-means sample).

    Returns
    -------
    SimilarityIndex
        The index (embeddings, ids, faiss IVF when built), ready to save or query.

    Raises
    ------
    TypeError
        ``df`` is not a Dask DataFrame or Ray Dataset, or ``model`` is a model object.
    ValueError
        Bad options or columns (checked before any work), duplicate ids.
    ImportError
        faiss (``tinyts[bench]``) or the engine is missing.
    """
    from tinyts.tasks.frames import embed_df

    engine = engine_of(df)
    if engine is None:
        raise TypeError(
            f"build_index takes a Dask DataFrame or a Ray Dataset, got {type(df).__name__}; for a "
            "pandas frame use SimilarityIndex(model).add_df(df)"
        )
    if method not in ("auto", "exact", "ivf"):
        raise ValueError(f"method must be 'auto', 'exact' or 'ivf' for a distributed build, got {method!r}")
    require_engine(engine)
    index = SimilarityIndex(
        os.fspath(model) if isinstance(model, (str, os.PathLike)) else model,
        shifts=shifts,
        channels=channels,
        method=method,
        exact_max=exact_max,
        nlist=nlist,
        nprobe=nprobe,
        seed=seed,
    )
    c = index.embed_config
    emb: Any = embed_df(
        model,
        df,
        id_col=id_col,
        time_col=time_col,
        target_col=target_col,
        kind=c.kind,
        shifts=c.shifts,
        channels=c.channels,
    )
    emb = emb.persist() if engine == "dask" else emb.materialize()
    n = _count(emb, engine)
    columns = [f"emb_{k}" for k in range(len(emb.columns) - 1)] if engine == "dask" else []
    if engine == "ray":
        columns = [name for name in emb.schema().names if name != id_col]
    ivf = method == "ivf" or (method == "auto" and n > exact_max)
    if not ivf:
        rows = _collect(emb, engine)
        return index.add_vectors(rows[columns].to_numpy(dtype=np.float32), list(rows[id_col]))
    faiss = faiss_module()
    lists, probe = ivf_params(n, nlist, nprobe)
    sample = _sample(emb, engine, n, 64 * lists, seed)
    train = np.ascontiguousarray(sample[columns].to_numpy(), dtype=np.float32)
    empty = faiss.IndexIVFFlat(faiss.IndexFlatL2(len(columns)), len(columns), lists)
    empty.cp.seed = seed
    empty.train(train)
    empty.nprobe = probe
    shards = _shards(emb, engine, faiss.serialize_index(empty), columns, id_col)
    merged = faiss.clone_index(empty)
    ids: list[Any] = []
    blocks = []
    for part_ids, vectors, data in zip(shards["ids"], shards["vectors"], shards["shard"], strict=True):
        shard = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        merged.merge_from(shard, merged.ntotal)  # ids (positions) continue after the shards before
        ids.extend(list(part_ids))
        blocks.append(np.frombuffer(vectors, dtype=np.float32).reshape(-1, len(columns)))
    merged.nprobe = probe
    if merged.ntotal != len(ids) or len(ids) != n:
        raise RuntimeError(f"the shards hold {merged.ntotal} vectors and {len(ids)} ids for {n} series")
    return _assemble(index, np.concatenate(blocks), ids, merged)


def _assemble(index: SimilarityIndex, vectors: np.ndarray, ids: list[Any], ann: Any) -> SimilarityIndex:
    """Fill an empty index with vectors, ids and a ready faiss IVF over them (in that order)."""
    method = index.method
    index.method = "exact"  # add_vectors must not build an index of its own
    index.add_vectors(vectors, [i.item() if isinstance(i, np.generic) else i for i in ids])
    index.method = method
    index._ann, index._ann_kind, index._trained_n = ann, "ivf", len(ids)
    return index
