"""The DataFrame functions on a Dask DataFrame: a local cluster of 2 worker processes, 1 thread each.

Every result equals the in-memory call's bit for bit (after sorting: partitions come in the engine's
order), for several partitionings, and each worker loads each model once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dask.dataframe as dd
import pandas as pd
import pytest

import tinyts
from tinyts.tasks.distributed import (
    by_series,
    from_pieces,
    load_counts,
    local_client,
    to_engine,
    to_pandas,
    warm_up,
)
from tinyts.tasks.forecast.api import forecast_df
from tinyts.tasks.frames import classify_df, detect_df, embed_df, impute_df


@pytest.fixture(scope="module")
def data(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns="cls")


def _run(fn: Any, data: pd.DataFrame, parts: int) -> pd.DataFrame:
    ddf = to_engine(data, "dask", parts)
    assert ddf.npartitions == parts
    out = fn(ddf)
    assert isinstance(out, dd.DataFrame)  # the same engine's frame, lazy
    return to_pandas(out)


def test_embed_and_forecast_match_in_memory_for_several_partitionings(
    dask_client: Any, data: pd.DataFrame, same: Any
) -> None:
    pulse, cast = tinyts.load("tinypulse"), tinyts.load("tinycast")
    emb = embed_df(pulse, data, shifts=2)
    fc = forecast_df(cast, data, 12, quantiles=(0.1, 0.5, 0.9))
    # (test_partitions.py checks many more partitionings in-process, on the workers' code)
    same(emb, _run(lambda d: embed_df("tinypulse", d, shifts=2), data, 5), ["unique_id"])
    got = _run(lambda d: forecast_df("tinycast", d, 12, quantiles=(0.1, 0.5, 0.9)), data, 2)
    same(fc, got, ["unique_id", "ds"])
    counts = dask_client.run(load_counts)
    assert len(counts) == 2
    for per_worker in counts.values():  # each worker loaded each model at most once, over two runs
        assert set(per_worker.values()) <= {1}
    assert sum(c.get("tinypulse:tinypulse", 0) for c in counts.values()) >= 1


def test_impute_and_detect_match_in_memory(dask_client: Any, data: pd.DataFrame, same: Any) -> None:
    pulse = tinyts.load("tinypulse")
    got = _run(lambda d: impute_df("tinypulse", d), data, 3)
    same(impute_df(pulse, data), got, ["unique_id", "ds"])
    assert got["imputed"].sum() == data["y"].isna().sum()
    got = _run(lambda d: detect_df("tinypulse", d, mode="time"), data, 3)
    same(detect_df(pulse, data, mode="time"), got, ["unique_id", "ds"])


def test_classify_matches_in_memory(
    dask_client: Any, data: pd.DataFrame, classifier_dir: Path, same: Any
) -> None:
    from tinyts.tasks.classify.api import PulseClassifier

    expected = classify_df(PulseClassifier.from_pretrained(classifier_dir), data)
    same(expected, _run(lambda d: classify_df(str(classifier_dir), d), data, 4), ["unique_id"])


def test_errors_are_raised_on_the_driver_before_any_work(dask_client: Any, data: pd.DataFrame) -> None:
    ddf = to_engine(data, "dask", 2)
    with pytest.raises(TypeError, match="bundled name"):
        embed_df(tinyts.load("tinypulse"), ddf)
    with pytest.raises(ValueError, match="no column"):
        embed_df("tinypulse", ddf, target_col="value")
    with pytest.raises(ValueError, match="id_col"):
        embed_df("tinypulse", ddf, id_col=None)
    with pytest.raises(ValueError, match="quantile"):
        forecast_df("tinycast", ddf, 12, quantiles=(0.05,))


def test_grouped_frames_skip_the_shuffle_with_the_same_results(
    dask_client: Any, data: pd.DataFrame, same: Any
) -> None:
    pulse = tinyts.load("tinypulse")

    def layers(out: Any) -> str:
        return " ".join(str(k) for k in out.__dask_graph__())

    default = layers(embed_df("tinypulse", to_engine(data, "dask", 3), shifts=2))
    assert "shuffle" not in default and "_cut_by_plan" in default  # regrouped, not hashed
    out = embed_df("tinypulse", by_series(to_engine(data, "dask", 3)), shifts=2)
    assert "_cut_by_plan" not in layers(out) and "_apply_checked" in layers(out)
    same(embed_df(pulse, data, shifts=2), to_pandas(out), ["unique_id"])
    # grouped=True through the function's options does the same, for one call
    ddf = to_engine(data, "dask", 3)
    same(impute_df(pulse, data), to_pandas(impute_df("tinypulse", ddf, grouped=True)), ["unique_id", "ds"])
    assert "_cut_by_plan" in layers(impute_df("tinypulse", ddf))


def test_the_default_path_moves_only_split_series(dask_client: Any, data: pd.DataFrame, same: Any) -> None:
    """Grouped partitions come back as they were (one output partition per input partition, the same
    series in each); partitions cut by time (every series in every partition) are regrouped whole."""
    pulse = tinyts.load("tinypulse")
    expected = embed_df(pulse, data, shifts=1)
    ddf = to_engine(data, "dask", 3)
    out = embed_df("tinypulse", ddf, shifts=1)
    got = [p.compute() for p in out.to_delayed()]
    for src, res in zip(ddf.to_delayed(), got, strict=True):
        assert sorted(res["unique_id"]) == sorted(src.compute()["unique_id"].unique())
    same(expected, pd.concat(got, ignore_index=True), ["unique_id"])
    # by time: the k-th third of every series in partition k
    third = data.groupby("unique_id").cumcount() * 3 // data.groupby("unique_id")["y"].transform("size")
    by_time = from_pieces([data[third == k] for k in range(3)], "dask")
    got = [p.compute() for p in embed_df("tinypulse", by_time, shifts=1).to_delayed()]
    assert sorted(len(g) for g in got) == [3, 3, 4]  # 10 series dealt out evenly, none split
    same(expected, pd.concat(got, ignore_index=True), ["unique_id"])
    fc = forecast_df(tinyts.load("tinycast"), data, 12)
    same(fc, to_pandas(forecast_df("tinycast", by_time, 12)), ["unique_id", "ds"])


def test_a_broken_grouping_promise_raises_instead_of_a_wrong_answer(
    dask_client: Any, data: pd.DataFrame
) -> None:
    split = dd.from_pandas(data.sample(frac=1.0, random_state=0), npartitions=3, sort=False)
    out = embed_df("tinypulse", by_series(split))  # lazy: the check is part of the graph
    with pytest.raises(ValueError, match=r"10 series id\(s\) of 'unique_id' lie in more than one partition"):
        to_pandas(out)
    with pytest.raises(ValueError, match=r"declared grouped by 'series' \(by_series\), not by 'unique_id'"):
        embed_df("tinypulse", by_series(split, "series"), id_col="unique_id")
    with pytest.raises(TypeError, match="Dask DataFrame or a Ray Dataset"):
        by_series(data)


def test_series_split_over_partitions_are_put_back_whole(
    dask_client: Any, data: pd.DataFrame, same: Any
) -> None:
    """Rows shuffled over 3 partitions (every series split), with integer, boolean, text, time-zone
    and nullable columns besides, give the in-memory results after the default shuffle by id."""
    pulse = tinyts.load("tinypulse")
    rich = data.assign(
        step=range(len(data)),
        up=data["y"] > 0,
        site=data["unique_id"].str.upper(),
        stamp=pd.date_range("2024-01-01", periods=len(data), freq="min", tz="UTC"),
        count=pd.array(range(len(data)), dtype="Int64"),
    )
    split = dd.from_pandas(rich.sample(frac=1.0, random_state=0), npartitions=3, sort=False)
    same(impute_df(pulse, rich), to_pandas(impute_df("tinypulse", split)), ["unique_id", "ds"])
    same(embed_df(pulse, rich), to_pandas(embed_df("tinypulse", split)), ["unique_id"])


def test_warm_up_loads_the_model_in_every_worker(dask_client: Any) -> None:
    assert warm_up("dask", "tinypulse", "embed") == 2
    counts = dask_client.run(load_counts)
    assert all(c.get("tinypulse:tinypulse") == 1 for c in counts.values())  # once, even if warmed again
    with pytest.raises(TypeError, match="bundled name"):
        warm_up("dask", tinyts.load("tinypulse"), "embed")


def test_arrow_blocks_are_a_ray_option(data: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="arrow=True makes Ray Arrow blocks"):
        to_engine(data, "dask", 2, arrow=True)


def test_local_client_quiets_the_tick_monitor_unless_the_user_set_it(dask_client: Any) -> None:
    import dask

    # 2 worker processes of 1 thread; the scheduler's event-loop tick every 500 ms, not Dask's 20 ms
    assert len(dask_client.scheduler_info()["workers"]) == 2
    assert dask_client.cluster.scheduler.periodic_callbacks["tick"].callback_time == 500
    with dask.config.set({"distributed.admin.tick.interval": "50ms"}), local_client(1) as client:
        assert client.cluster.scheduler.periodic_callbacks["tick"].callback_time == 50
