"""The DataFrame functions on a Ray Dataset: a local Ray runtime with 2 CPUs.

Ray starts an actor per worker (each loads the model once, in its constructor); a run costs seconds of
fixed overhead here, so this module checks two calls (forecast: timestamps and floats through Arrow;
classify: a classifier folder loaded by the actors) against the in-memory call, bit for bit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import ray.data

import tinyts
from tinyts.tasks.distributed import to_engine, to_pandas
from tinyts.tasks.forecast import forecast_df
from tinyts.tasks.frames import classify_df


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


def test_classify_matches_in_memory(
    ray_runtime: Any, frame: pd.DataFrame, classifier_dir: Path, same: Any
) -> None:
    from tinyts.tasks.classify import PulseClassifier

    data = frame.drop(columns="cls")
    expected = classify_df(PulseClassifier.from_pretrained(classifier_dir), data)
    same(expected, _run(lambda d: classify_df(str(classifier_dir), d), data, 2), ["unique_id"])
