"""Ranking metrics of the retrieval suite, on rankings computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinyts.bench.retrieval_metrics import (
    average_precision_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    relevance_matrix,
    retrieval_scores,
)

# Four queries, top-3 hits each (True = relevant), and how many relevant items the database holds.
REL = np.array(
    [
        [True, False, True],  # n_rel 2
        [False, True, False],  # n_rel 5
        [False, False, False],  # n_rel 1
        [True, True, True],  # n_rel 3
    ]
)
N_REL = np.array([2, 5, 1, 3])
L2, L3 = 1 / math.log2(3), 1 / math.log2(4)  # discounts at ranks 2 and 3 (rank 1 has 1)


def test_precision_by_hand() -> None:
    np.testing.assert_allclose(precision_at_k(REL, 3), [2 / 3, 1 / 3, 0, 1])
    np.testing.assert_allclose(precision_at_k(REL, 1), [1, 0, 0, 1])


def test_average_precision_by_hand() -> None:
    # q0: (P@1 + P@3) / min(2, 3) = (1 + 2/3) / 2; q1: P@2 / min(5, 3) = (1/2) / 3.
    np.testing.assert_allclose(average_precision_at_k(REL, N_REL, 3), [5 / 6, 1 / 6, 0, 1])
    # At k = 2, q0 keeps only its first hit: P@1 / min(2, 2) = 1/2.
    np.testing.assert_allclose(average_precision_at_k(REL, N_REL, 2), [1 / 2, (1 / 2) / 2, 0, 1])


def test_ndcg_by_hand() -> None:
    q0 = (1 + L3) / (1 + L2)
    q1 = L2 / (1 + L2 + L3)
    np.testing.assert_allclose(ndcg_at_k(REL, N_REL, 3), [q0, q1, 0, 1])


def test_mrr_by_hand() -> None:
    np.testing.assert_allclose(mrr_at_k(REL, 3), [1, 1 / 2, 0, 1])
    np.testing.assert_allclose(mrr_at_k(REL, 1), [1, 0, 0, 1])


def test_means_over_queries() -> None:
    s = retrieval_scores(REL, N_REL, k=3)
    assert s.n_queries == 4
    assert s.p_at_k == pytest.approx((2 / 3 + 1 / 3 + 0 + 1) / 4)
    assert s.ap_at_k == pytest.approx((5 / 6 + 1 / 6 + 0 + 1) / 4)
    assert s.mrr_at_k == pytest.approx((1 + 0.5 + 0 + 1) / 4)
    assert set(s.as_metrics(3)) == {"p_at_3", "ap_at_3", "ndcg_at_3", "mrr_at_3"}


def test_query_without_relevant_items_scores_zero() -> None:
    rel = np.zeros((1, 3), dtype=bool)
    assert average_precision_at_k(rel, np.array([0]), 3)[0] == 0
    assert ndcg_at_k(rel, np.array([0]), 3)[0] == 0


def _brute_force(rel_row: np.ndarray, n_rel: int, k: int) -> tuple[float, float, float, float]:
    hits = [bool(v) for v in rel_row[:k]]
    p = sum(hits) / k
    ap_num, seen, rr = 0.0, 0, 0.0
    for i, h in enumerate(hits, start=1):
        if h:
            seen += 1
            ap_num += seen / i
            if rr == 0.0:
                rr = 1 / i
    ap = ap_num / min(n_rel, k) if n_rel else 0.0
    dcg = sum(1 / math.log2(i + 1) for i, h in enumerate(hits, start=1) if h)
    idcg = sum(1 / math.log2(i + 1) for i in range(1, min(n_rel, k) + 1))
    return p, ap, (dcg / idcg if idcg else 0.0), rr


def test_agrees_with_brute_force_on_random_rankings() -> None:
    rng = np.random.default_rng(0)
    rel = rng.random((200, 5)) < 0.4
    n_rel = rel.sum(axis=1) + rng.integers(0, 4, size=200)
    for k in (1, 3, 5):
        want = np.array([_brute_force(r, int(n), k) for r, n in zip(rel, n_rel, strict=True)])
        np.testing.assert_allclose(precision_at_k(rel, k), want[:, 0])
        np.testing.assert_allclose(average_precision_at_k(rel, n_rel, k), want[:, 1])
        np.testing.assert_allclose(ndcg_at_k(rel, n_rel, k), want[:, 2])
        np.testing.assert_allclose(mrr_at_k(rel, k), want[:, 3])


def test_relevance_matrix_from_labels() -> None:
    db = np.array(["a", "b", "a", "c", "a"])
    queries = np.array(["a", "c", "d"])
    hits = np.array([[0, 1, 2], [3, 0, 4], [1, 2, 3]])
    rel, n_rel = relevance_matrix(queries, db, hits)
    np.testing.assert_array_equal(rel, [[True, False, True], [True, False, False], [False, False, False]])
    np.testing.assert_array_equal(n_rel, [3, 1, 0])


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="2-D"):
        precision_at_k(np.zeros(3, dtype=bool), 3)
    with pytest.raises(ValueError, match="at least k"):
        precision_at_k(np.zeros((2, 2), dtype=bool), 3)
    with pytest.raises(ValueError, match="positive integer"):
        mrr_at_k(np.zeros((2, 3), dtype=bool), 0)
    with pytest.raises(ValueError, match="smaller than"):
        average_precision_at_k(np.ones((1, 3), dtype=bool), np.array([1]), 3)
    with pytest.raises(ValueError, match="outside the database"):
        relevance_matrix(np.array(["a"]), np.array(["a"]), np.array([[-1]]))


def test_triangulation_is_leave_one_out() -> None:
    from tinyts.bench.ours import triangulate

    vus = {
        "a": {"m1": 0.9, "m2": 0.1},  # a's own labels favour m1 ...
        "b": {"m1": 0.2, "m2": 0.8},  # ... but the rest of its family favours m2
        "c": {"m1": 0.3, "m2": 0.7},
        "solo": {"m1": 0.0, "m2": 1.0},
    }
    families = {"a": "F", "b": "F", "c": "F", "solo": "G"}
    chosen = triangulate(vus, families, ("m1", "m2"))
    assert chosen["a"] == "m2"
    # b: others a, c -> m1 mean 0.6 vs m2 0.4; c: others a, b -> m1 0.55 vs m2 0.45
    assert chosen["b"] == "m1" and chosen["c"] == "m1"
    assert chosen["solo"] == "m1"  # a family of one falls back to the first mode
