"""Search engines behind :class:`tinyts.tasks.search.retrieve.SimilarityIndex`: exact (numpy) and faiss.

- :func:`exact_search`: brute force in numpy, exact top ``k`` by Euclidean distance (float64 re-ranking
  of float32 candidates, ties broken by row), bounded memory for any database size.
- :func:`build_hnsw`: faiss ``IndexHNSWFlat``; :func:`build_ivf`: faiss ``IndexIVFFlat`` trained by
  k-means on a seeded sample. faiss is imported lazily (:func:`faiss_module`); without it only exact
  search is available, and asking for more raises an ImportError that says what to install.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["SearchHits", "build_hnsw", "build_ivf", "exact_search", "faiss_module", "ivf_params"]


# ------------------------------------------------------------------------------------- results


@dataclass
class SearchHits:
    """The ``k`` nearest series of each query, nearest first.

    Attributes
    ----------
    ids : list of list
        ``ids[q][r]``: id of the ``r``-th hit of query ``q``.
    distances : np.ndarray
        ``(n_queries, k)`` float32 Euclidean distances between embeddings.
    positions : np.ndarray
        ``(n_queries, k)`` int64 row of each hit in the index (insertion order).
    """

    ids: list[list[Any]]
    distances: np.ndarray
    positions: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def to_frame(self) -> Any:
        """A long DataFrame: ``query`` (0-based), ``rank`` (1-based), ``id``, ``distance``."""
        import pandas as pd

        n, k = self.distances.shape
        return pd.DataFrame(
            {
                "query": np.repeat(np.arange(n), k),
                "rank": np.tile(np.arange(1, k + 1), n),
                "id": [i for row in self.ids for i in row],
                "distance": self.distances.reshape(-1),
            }
        )


# ------------------------------------------------------------------------------------- exact search


def exact_search(
    database: np.ndarray,
    queries: np.ndarray,
    k: int,
    *,
    norms: np.ndarray | None = None,
    block: int = 65536,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``k`` nearest rows of ``database`` for each query, by Euclidean distance (numpy only).

    Candidates are found with float32 matrix products in blocks of ``block`` database rows (bounded
    memory), then the ``2k + 8`` best are re-scored in float64 and sorted by (distance, row).
    ``norms`` (the squared row norms of ``database``) may be passed to save recomputing them.

    Returns
    -------
    distances, positions : np.ndarray
        ``(n_queries, k)`` float32 Euclidean distances and int64 rows.
    """
    db = np.ascontiguousarray(database, dtype=np.float32)
    q = np.ascontiguousarray(queries, dtype=np.float32)
    n = db.shape[0]
    sq = np.einsum("ij,ij->i", db, db) if norms is None else np.asarray(norms, dtype=np.float32)
    cand_k = min(n, 2 * k + 8)
    out_d = np.empty((len(q), k), dtype=np.float32)
    out_p = np.empty((len(q), k), dtype=np.int64)
    for qlo in range(0, len(q), 64):
        qb = q[qlo : qlo + 64]
        best_d = np.empty((len(qb), 0), dtype=np.float32)
        best_p = np.empty((len(qb), 0), dtype=np.int64)
        for lo in range(0, n, block):
            xb = db[lo : lo + block]
            d = sq[None, lo : lo + block] - 2.0 * (qb @ xb.T)
            m = min(cand_k, d.shape[1])
            part = (
                np.argpartition(d, m - 1, axis=1)[:, :m]
                if m < d.shape[1]
                else np.tile(np.arange(d.shape[1]), (len(qb), 1))
            )
            best_d = np.concatenate([best_d, np.take_along_axis(d, part, 1)], axis=1)
            best_p = np.concatenate([best_p, part + lo], axis=1)
            if best_d.shape[1] > cand_k:
                keep = np.argpartition(best_d, cand_k - 1, axis=1)[:, :cand_k]
                best_d, best_p = np.take_along_axis(best_d, keep, 1), np.take_along_axis(best_p, keep, 1)
        diff = db[best_p].astype(np.float64) - qb[:, None, :].astype(np.float64)
        dist = np.sqrt(np.einsum("qcd,qcd->qc", diff, diff))
        order = np.lexsort((best_p, dist), axis=1)[:, :k]
        out_d[qlo : qlo + len(qb)] = np.take_along_axis(dist, order, 1)
        out_p[qlo : qlo + len(qb)] = np.take_along_axis(best_p, order, 1)
    return out_d, out_p


def faiss_module() -> Any:
    """``import faiss``, or an ImportError naming what to install (and that exact search needs none)."""
    from tinyts.errors import require

    return require(
        "faiss",
        "pip install faiss-cpu (or pip install 'tinyts[bench]'); or use method='exact', which needs "
        "numpy only",
        "approximate similarity search (method 'hnsw' / 'ivf')",
    )


def ivf_params(n: int, nlist: int | None = None, nprobe: int | None = None) -> tuple[int, int]:
    """IVF lists and lists probed for ``n`` vectors: defaults ``4 * sqrt(n)`` (at most ``n / 39``, faiss's
    minimum of training points per list) and ``max(16, nlist // 32)``."""
    lists = nlist or max(1, min(int(4 * math.sqrt(n)), n // 39))
    probe = nprobe or max(16, lists // 32)
    return lists, min(probe, lists)


def build_hnsw(data: np.ndarray, m: int, ef_construction: int) -> Any:
    """A faiss ``IndexHNSWFlat`` (L2) over ``data`` with ``m`` links per node."""
    faiss = faiss_module()
    index = faiss.IndexHNSWFlat(data.shape[1], m)
    index.hnsw.efConstruction = ef_construction
    index.add(np.ascontiguousarray(data, dtype=np.float32))
    return index


def build_ivf(data: np.ndarray, nlist: int, nprobe: int, seed: int) -> Any:
    """A faiss ``IndexIVFFlat`` (L2): k-means on a seeded sample of up to ``64 * nlist`` rows, all added."""
    faiss = faiss_module()
    data = np.ascontiguousarray(data, dtype=np.float32)
    quantizer = faiss.IndexFlatL2(data.shape[1])
    index = faiss.IndexIVFFlat(quantizer, data.shape[1], nlist)
    sample = min(len(data), 64 * nlist)
    rows = np.sort(np.random.default_rng(seed).choice(len(data), size=sample, replace=False))
    index.cp.seed = seed
    index.train(data[rows])
    index.add(data)
    index.nprobe = nprobe
    return index
