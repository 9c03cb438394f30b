"""The DataFrame functions on a Ray Dataset: a local Ray runtime with 2 CPUs.

The work runs as plain Ray tasks on pooled worker processes (each keeps the model it loaded); this
module checks forecast (timestamps and floats through Arrow), classify (a classifier folder loaded by
the workers) and embed (the grouped path, a broken grouping promise, the hash grouping of blocks that
split series) against the in-memory call, bit for bit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import ray.data

import tinyts
from tinyts.tasks.distributed import (
    _numpy_dtypes,
    _ray_block,
    _ray_blocks,
    _ray_counts,
    by_series,
    from_pieces,
    to_engine,
    to_pandas,
    warm_up,
)
from tinyts.tasks.forecast.api import forecast_df
from tinyts.tasks.frames import classify_df, embed_df


def _run(fn: Any, data: pd.DataFrame, parts: int) -> pd.DataFrame:
    ds = to_engine(data, "ray", parts)
    out = fn(ds)
    assert isinstance(out, ray.data.Dataset)  # the same engine's frame
    return to_pandas(out)


def test_forecast_matches_in_memory(ray_runtime: Any, frame: pd.DataFrame, same: Any) -> None:
    # (embed_df on Ray: in tinyts bench distributed, which checks every result against in memory)
    data = frame.drop(columns="cls")
    fc = forecast_df(tinyts.load("tinycast"), data, 12)
    same(fc, _run(lambda d: forecast_df("tinycast", d, 12), data, 4), ["unique_id", "ds"])
    # to_pandas fetches the workers' frames; Ray Data's own collection gives the same values
    out = forecast_df("tinycast", to_engine(data, "ray", 3), 12)
    same(fc, _numpy_dtypes(out.to_pandas()), ["unique_id", "ds"])
    same(fc, to_pandas(out.map_batches(lambda b: b, batch_format="pandas")), ["unique_id", "ds"])


def test_classify_matches_in_memory(
    ray_runtime: Any, frame: pd.DataFrame, classifier_dir: Path, same: Any
) -> None:
    from tinyts.tasks.classify.api import PulseClassifier

    data = frame.drop(columns="cls")
    expected = classify_df(PulseClassifier.from_pretrained(classifier_dir), data)
    same(expected, _run(lambda d: classify_df(str(classifier_dir), d), data, 2), ["unique_id"])


def test_grouped_blocks_skip_the_shuffle_and_a_broken_promise_raises(
    ray_runtime: Any, frame: pd.DataFrame, same: Any
) -> None:
    data = frame.drop(columns="cls")
    expected = embed_df(tinyts.load("tinypulse"), data, shifts=1)
    same(expected, _run(lambda d: embed_df("tinypulse", by_series(d), shifts=1), data, 3), ["unique_id"])
    shuffled = data.sample(frac=1.0, random_state=0)
    split = ray.data.from_pandas([shuffled.iloc[: len(data) // 2], shuffled.iloc[len(data) // 2 :]])
    with pytest.raises(ValueError, match=r"10 series id\(s\) of 'unique_id' lie in more than one partition"):
        embed_df("tinypulse", by_series(split))
    # the default path groups the same blocks by id and gets the in-memory result: 2 blocks on 2 CPUs
    # (the rows of split series move), 1 block (hash buckets, one per CPU), 3 grouped blocks (nothing moves)
    same(expected, to_pandas(embed_df("tinypulse", split, shifts=1)), ["unique_id"])
    same(expected, to_pandas(embed_df("tinypulse", ray.data.from_pandas(shuffled), shifts=1)), ["unique_id"])
    same(expected, to_pandas(embed_df("tinypulse", to_engine(data, "ray", 3), shifts=1)), ["unique_id"])


def test_arrow_blocks_match_in_memory(ray_runtime: Any, frame: pd.DataFrame, same: Any) -> None:
    data = frame.drop(columns="cls")
    expected = embed_df(tinyts.load("tinypulse"), data, shifts=1)
    shuffled = data.sample(frac=1.0, random_state=1)
    split = from_pieces([shuffled.iloc[: len(data) // 2], shuffled.iloc[len(data) // 2 :]], "ray", arrow=True)
    assert all(isinstance(ray.get(b), pa.Table) for b in _ray_blocks(split))
    same(expected, to_pandas(embed_df("tinypulse", split, shifts=1)), ["unique_id"])  # split series move
    grouped = to_engine(data, "ray", 3, arrow=True)
    same(expected, to_pandas(embed_df("tinypulse", grouped, shifts=1)), ["unique_id"])  # none move
    same(expected, to_pandas(embed_df("tinypulse", by_series(grouped), shifts=1)), ["unique_id"])
    fc = forecast_df(tinyts.load("tinycast"), data, 12)  # timestamps read from Arrow blocks
    same(fc, to_pandas(forecast_df("tinycast", split, 12)), ["unique_id", "ds"])


@pytest.mark.parametrize(
    "ids",
    [["b", "a", None, "b", "c", None, "a"], [3, 1, 3, 2, 2, 7, 1]],
    ids=["text with missing", "integers"],
)
def test_arrow_ids_are_counted_as_their_pandas_rows(ids: list[Any]) -> None:
    table = pa.Table.from_pandas(pd.DataFrame({"unique_id": ids, "y": np.arange(7.0)}), preserve_index=False)
    got, want = _ray_counts(table, "unique_id"), _ray_counts(_ray_block(table), "unique_id")
    assert got.index.equals(want.index)  # the same ids, dtype and order as the converted block's
    assert got.to_numpy(dtype=np.int64).tolist() == want.to_numpy(dtype=np.int64).tolist()
    cats = pa.table({"unique_id": pa.array(["x", "y", "x"]).dictionary_encode(), "y": [1.0, 2.0, 3.0]})
    assert _ray_counts(cats, "unique_id").to_dict() == {"x": 2, "y": 1}


def test_warm_up_reaches_one_process_per_cpu(ray_runtime: Any) -> None:
    assert warm_up("ray", "tinypulse", "embed") == 2  # two distinct worker processes on 2 CPUs
