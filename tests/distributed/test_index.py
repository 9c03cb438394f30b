"""A similarity index from a distributed embedding: IVF trained on a sample, shards merged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pandas as pd
import pytest

from tinyts.tasks.distributed import to_engine
from tinyts.tasks.search.distributed_index import build_index
from tinyts.tasks.search.retrieve import SimilarityIndex


def _frame(n: int, length: int = 64, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    y = np.sin(2 * np.pi * t[None, :] / rng.uniform(4, 40, (n, 1))) + rng.normal(0, 0.2, (n, length))
    ids = np.repeat([f"q{i:04d}" for i in range(n)], length)
    return pd.DataFrame({"unique_id": ids, "ds": np.tile(t, n), "y": y.reshape(-1)})


def test_ivf_from_shards_equals_one_index_over_all_vectors(dask_client: Any, tmp_path: Path) -> None:
    data = _frame(240)
    index = build_index(to_engine(data, "dask", 4), "tinypulse", shifts=1, method="ivf", nlist=6, nprobe=2)
    # the embeddings are the in-memory ones, bit for bit, under their ids
    ref = SimilarityIndex("tinypulse", shifts=1, method="exact").add_df(data)
    pos = {i: k for k, i in enumerate(ref.ids)}
    order = [pos[i] for i in index.ids]
    assert index.vectors.tobytes() == ref.vectors[order].tobytes()
    assert index.engine == "ivf" and index._ann.ntotal == 240 and index._ann.nlist == 6
    # the merged shards answer exactly as the trained index with every vector added at once
    whole = faiss.clone_index(index._ann)
    whole.reset()
    whole.add(index.vectors)
    q = index.vectors[::37]
    d_merged, p_merged = index._ann.search(q, 5)
    d_whole, p_whole = whole.search(q, 5)
    assert np.array_equal(p_merged, p_whole) and np.array_equal(d_merged, d_whole)
    # a query finds its own series first; save / load round trip keeps the answers
    hits = index.search_vectors(q, 3)
    assert [row[0] for row in hits.ids] == [index.ids[k] for k in range(0, 240, 37)]
    loaded = SimilarityIndex.load(index.save(tmp_path / "ix"))
    assert loaded.search_vectors(q, 3).ids == hits.ids


def test_small_collections_stay_exact_and_bad_input_is_refused(dask_client: Any) -> None:
    data = _frame(30)
    index = build_index(to_engine(data, "dask", 2), shifts=1)
    assert index.engine == "exact" and len(index) == 30
    with pytest.raises(TypeError, match="add_df"):
        build_index(data)
    with pytest.raises(ValueError, match="method"):
        build_index(to_engine(data, "dask", 2), method="hnsw")
