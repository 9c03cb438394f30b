"""Boundary properties of SimilarityIndex (add, search) and PulseClassifier (predict, predict_proba)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hardening_checks import (
    CLASSES,
    _as_np,
    assert_finite,
    cases,
    is_item_list,
    make_values,
    n_channels,
    n_series,
    outcome,
    series_inputs,
    verdict,
)
from hypothesis import given
from hypothesis import strategies as st

from tinyts.models.pulse import TinyPulse
from tinyts.tasks.classify.api import PulseClassifier
from tinyts.tasks.search.retrieve import SimilarityIndex

Tally = Callable[[str], None]
N_INDEXED = 5


@pytest.fixture(scope="module")
def index(tiny_pulse: TinyPulse) -> SimilarityIndex:
    """Five univariate series of different lengths, ids "a".."e"."""
    series = [make_values((20 + 15 * i,), "smooth", i) for i in range(N_INDEXED)]
    return SimilarityIndex(tiny_pulse, shifts=2).add(series, ids=list("abcde"))


@cases(150)
@given(
    series_inputs(max_time=120, ndims=(1, 1, 2, 3, 0, 4)),
    st.sampled_from([1, 3, 5, 1, 3, 5, 0, 6, -1, 2.0, True, None]),
)
def test_search(tally: Tally, index: SimilarityIndex, x: Any, k: Any) -> None:
    expected = verdict(x, min_length=2)
    if expected is None and n_channels(x) != 1:
        expected = ValueError  # the index holds univariate series (embedding width differs)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= N_INDEXED:
        expected = ValueError  # checked first, before the query is embedded
    kind, hits = outcome(lambda: index.search(x, k=k), expected, strict_type=False)
    tally(kind)
    if kind == "error":
        return
    n = n_series(x)
    assert hits.distances.shape == (n, k) and hits.positions.shape == (n, k)
    assert_finite(hits.distances, "distances")
    assert (np.diff(hits.distances, axis=1) >= 0).all(), "hits are not nearest first"
    assert all(len(row) == k and set(row) <= set("abcde") for row in hits.ids)


IDS = ("none", "right", "none", "right", "short", "duplicate", "float", "none_item", "string")


@cases(120)
@given(series_inputs(max_time=120, ndims=(1, 1, 2, 3, 0, 4), max_items=3), st.sampled_from(IDS))
def test_add_then_find_itself(tally: Tally, tiny_pulse: TinyPulse, x: Any, ids_kind: str) -> None:
    expected = verdict(x, min_length=2)
    n = n_series(x) if expected is None else 2
    ids: Any = {
        "none": None,
        "right": [f"id{i}" for i in range(n)],
        "short": [f"id{i}" for i in range(n - 1)],
        "duplicate": ["same"] * n,
        "float": [float(i) for i in range(n)],
        "none_item": [None] * n,
        "string": "abc",
    }[ids_kind]
    if expected is None and not (ids_kind in ("none", "right") or (ids_kind == "duplicate" and n == 1)):
        expected = ValueError
    index = SimilarityIndex(tiny_pulse, shifts=1)
    kind, _ = outcome(lambda: index.add(x, ids=ids), expected, strict_type=False)
    tally(kind)
    if kind == "error":
        assert len(index) == 0  # nothing half-added
        return
    assert len(index) == n and index.dim is not None
    assert_finite(index.vectors, "stored embeddings")
    first = x[0] if is_item_list(x) else _as_np(x)[0] if _as_np(x).ndim == 3 else x
    hits = index.search(first, k=1)
    assert hits.distances[0, 0] <= 1e-3 * (1.0 + float(np.linalg.norm(index.vectors[0])))


def _classifier_verdict(x: Any) -> type[Exception] | None:
    """``as_cases``: a list of cases, a 2-D (cases, time) or 3-D array; one channel (as fitted)."""
    if is_item_list(x):
        err = verdict(x)
        return err or (None if n_channels(x) == 1 else ValueError)
    if isinstance(x, (list, tuple)) and len(x) == 0:
        return ValueError
    try:
        arr = _as_np(x)
    except ValueError:
        return ValueError  # ragged nested list
    if arr.ndim not in (2, 3):
        return ValueError  # checked before the dtype
    arr3 = arr[:, None, :] if arr.ndim == 2 else arr
    err = verdict(arr3)
    return err or (None if arr3.shape[1] == 1 else ValueError)


@cases(150)
@given(series_inputs(max_time=120, ndims=(2, 2, 3, 3, 1, 0, 4)))
def test_classifier_predict(tally: Tally, tiny_classifier: PulseClassifier, x: Any) -> None:
    kind, proba = outcome(lambda: tiny_classifier.predict_proba(x), _classifier_verdict(x), strict_type=False)
    tally(kind)
    if kind == "error":
        return
    n = len(x) if is_item_list(x) else _as_np(x).shape[0]
    assert proba.shape == (n, len(CLASSES))
    assert_finite(proba, "class probabilities")
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
    labels = tiny_classifier.predict(x)
    assert labels.shape == (n,) and set(labels) <= set(CLASSES)


@cases(60)
@given(st.sampled_from([1e13, 1e20, 1e30, 1e37]), st.integers(16, 120), st.integers(0, 99))
def test_classifier_is_unchanged_by_huge_scales_of_the_shape(
    tally: Tally, tiny_classifier: PulseClassifier, scale: float, length: int, seed: int
) -> None:
    """The shape part of the classifier's input is scale-free: a huge case differs only through the
    level and log-scale features, which stay finite (they were NaN before the overflow fix)."""
    x = make_values((1, 1, length), "noise", seed)
    x = x / np.abs(x).max() + 3.0  # in [2, 4]: every scale stays within float32
    proba = tiny_classifier.predict_proba(x * scale)
    assert_finite(proba, "class probabilities")
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
    tally("ok")
