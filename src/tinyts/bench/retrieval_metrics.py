"""Ranking metrics of the TSPulse similarity-search protocol: P@k, AP@k, nDCG@k and MRR@k.

The definitions follow ``notebooks/hfdemo/tspulse/search/benchmark.py`` of granite-tsfm (the TSPulse
retrieval benchmark), computed per query and averaged over queries:

- ``P@k``: the fraction of the top ``k`` hits that are relevant.
- ``AP@k``: ``sum_i P@i * rel_i / min(n_relevant, k)`` over the ranks ``i <= k``.
- ``nDCG@k``: ``sum_i rel_i / log2(i + 1)`` divided by the same sum for an ideal ranking that puts
  ``min(n_relevant, k)`` relevant items first.
- ``MRR@k``: ``1 / rank`` of the first relevant hit within the top ``k``, 0 when there is none.

A query with no relevant item in the whole database scores 0 on every metric (the reference script
never meets that case: its queries are distorted copies of database items).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "RetrievalScores",
    "average_precision_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "precision_at_k",
    "relevance_matrix",
    "retrieval_scores",
]


def _check(relevant: np.ndarray, k: int) -> np.ndarray:
    rel = np.asarray(relevant)
    if rel.ndim != 2:
        raise ValueError(f"relevance must be 2-D (n_queries, n_hits), got shape {rel.shape}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if rel.shape[1] < k:
        raise ValueError(f"need at least k={k} hits per query, got {rel.shape[1]}")
    return rel[:, :k].astype(bool)


def _check_n_relevant(n_relevant: np.ndarray, rel: np.ndarray) -> np.ndarray:
    n_rel = np.asarray(n_relevant)
    if n_rel.shape != (rel.shape[0],):
        raise ValueError(f"n_relevant must have shape ({rel.shape[0]},), got {n_rel.shape}")
    if np.any(n_rel < rel.sum(axis=1)):
        raise ValueError("n_relevant is smaller than the number of relevant hits for some query")
    return n_rel.astype(np.int64)


def precision_at_k(relevant: np.ndarray, k: int) -> np.ndarray:
    """Per-query precision at ``k``.

    Parameters
    ----------
    relevant : np.ndarray
        ``(n_queries, n_hits)`` booleans, ``True`` where the hit at that rank is relevant.
    k : int
        Cut-off rank.

    Returns
    -------
    np.ndarray
        ``(n_queries,)`` float64.
    """
    rel = _check(relevant, k)
    return rel.sum(axis=1) / k


def average_precision_at_k(relevant: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Per-query average precision at ``k``, normalised by ``min(n_relevant, k)``.

    Parameters
    ----------
    relevant : np.ndarray
        ``(n_queries, n_hits)`` booleans.
    n_relevant : np.ndarray
        ``(n_queries,)`` number of relevant items in the whole database for each query.
    k : int
        Cut-off rank.
    """
    rel = _check(relevant, k)
    n_rel = _check_n_relevant(n_relevant, rel)
    ranks = np.arange(1, k + 1)
    prec_at_i = np.cumsum(rel, axis=1) / ranks
    num = (prec_at_i * rel).sum(axis=1)
    den = np.minimum(n_rel, k)
    return np.divide(num, den, out=np.zeros(len(num)), where=den > 0)


def ndcg_at_k(relevant: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Per-query normalised discounted cumulative gain at ``k`` (binary relevance)."""
    rel = _check(relevant, k)
    n_rel = _check_n_relevant(n_relevant, rel)
    discount = 1.0 / np.log2(np.arange(1, k + 1) + 1.0)
    dcg = (rel * discount).sum(axis=1)
    ideal = np.cumsum(discount)[np.clip(np.minimum(n_rel, k) - 1, 0, None)]
    ideal = np.where(n_rel > 0, ideal, 0.0)
    return np.divide(dcg, ideal, out=np.zeros(len(dcg)), where=ideal > 0)


def mrr_at_k(relevant: np.ndarray, k: int) -> np.ndarray:
    """Per-query reciprocal rank of the first relevant hit within the top ``k`` (0 if none)."""
    rel = _check(relevant, k)
    first = rel.argmax(axis=1)
    hit = rel[np.arange(len(rel)), first]
    return np.where(hit, 1.0 / (first + 1), 0.0)


def relevance_matrix(
    query_labels: np.ndarray, database_labels: np.ndarray, hits: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Relevance of each hit and the number of relevant database items, by label equality.

    Parameters
    ----------
    query_labels : np.ndarray
        ``(n_queries,)`` label of each query.
    database_labels : np.ndarray
        ``(n_database,)`` label of each database item.
    hits : np.ndarray
        ``(n_queries, n_hits)`` database indices, best first (as returned by a faiss search).

    Returns
    -------
    relevant : np.ndarray
        ``(n_queries, n_hits)`` booleans.
    n_relevant : np.ndarray
        ``(n_queries,)`` count of database items sharing the query's label.
    """
    q = np.asarray(query_labels)
    db = np.asarray(database_labels)
    idx = np.asarray(hits)
    if idx.ndim != 2 or idx.shape[0] != q.shape[0]:
        raise ValueError(f"hits must have shape (n_queries={q.shape[0]}, n_hits), got {idx.shape}")
    if idx.size and (idx.min() < 0 or idx.max() >= db.shape[0]):
        raise ValueError("hits contain indices outside the database (faiss returns -1 for missing hits)")
    relevant = db[idx] == q[:, None]
    labels, counts = np.unique(db, return_counts=True)
    per_label = dict(zip(labels.tolist(), counts.tolist(), strict=True))
    n_relevant = np.array([per_label.get(label, 0) for label in q.tolist()], dtype=np.int64)
    return relevant, n_relevant


@dataclass(frozen=True)
class RetrievalScores:
    """Mean ranking metrics over a set of queries."""

    p_at_k: float
    ap_at_k: float
    ndcg_at_k: float
    mrr_at_k: float
    n_queries: int

    def as_metrics(self, k: int = 3) -> dict[str, float]:
        """``{"p_at_3": ..., "ap_at_3": ..., "ndcg_at_3": ..., "mrr_at_3": ...}`` for cut-off ``k``."""
        return {
            f"p_at_{k}": self.p_at_k,
            f"ap_at_{k}": self.ap_at_k,
            f"ndcg_at_{k}": self.ndcg_at_k,
            f"mrr_at_{k}": self.mrr_at_k,
        }


def retrieval_scores(relevant: np.ndarray, n_relevant: np.ndarray, k: int = 3) -> RetrievalScores:
    """All four metrics at ``k``, averaged over queries."""
    rel = _check(relevant, k)
    if rel.shape[0] == 0:
        raise ValueError("no queries to score")
    return RetrievalScores(
        p_at_k=float(precision_at_k(rel, k).mean()),
        ap_at_k=float(average_precision_at_k(rel, n_relevant, k).mean()),
        ndcg_at_k=float(ndcg_at_k(rel, n_relevant, k).mean()),
        mrr_at_k=float(mrr_at_k(rel, k).mean()),
        n_queries=int(rel.shape[0]),
    )
