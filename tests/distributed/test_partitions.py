"""Every series is computed independently of the series that share its partition (in-process).

This is what makes the distributed results equal to the in-memory ones: a worker runs the pandas
function on its partition. Here the partitions are cut by hand (singletons, uneven chunks, reversed
order) and run through :func:`tinyts.tasks.distributed.apply_partition`, the workers' code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import tinyts
from tinyts.tasks.distributed import MIN_ROWS, _empty_result, apply_partition
from tinyts.tasks.forecast.api import forecast_df
from tinyts.tasks.frames import classify_df, detect_df, embed_df, impute_df

COLS = {"id_col": "unique_id", "time_col": "ds", "target_col": "y"}


def _partitionings(ids: list[str]) -> dict[str, list[list[str]]]:
    return {
        "singletons": [[i] for i in ids],
        "uneven": [ids[:1], ids[1:6], ids[6:7], ids[7:]],
        "reversed": [ids[::-1]],
    }


def _check(
    task: str,
    source: str,
    frame: pd.DataFrame,
    options: dict[str, Any],
    full: pd.DataFrame,
    keys: list[str],
    same: Any,
) -> None:
    ids = list(frame["unique_id"].unique())
    empty = _empty_result(task, source, dict(frame.dtypes.items()), options)
    assert list(empty.columns) == list(full.columns)
    for name, parts in _partitionings(ids).items():
        outs = [
            apply_partition(frame[frame["unique_id"].isin(p)], task, source, options, empty, threads=None)
            for p in parts
        ]
        same(full, pd.concat(outs, ignore_index=True), keys)
        assert name  # every partitioning was compared


def test_embed_and_impute_do_not_depend_on_the_partition(frame: pd.DataFrame, same: Any) -> None:
    pulse = tinyts.load("tinypulse")
    data = frame.drop(columns="cls")
    _check(
        "embed",
        "tinypulse",
        data,
        {**COLS, "shifts": 2},
        embed_df(pulse, data, shifts=2),
        ["unique_id"],
        same,
    )
    _check("impute", "tinypulse", data, dict(COLS), impute_df(pulse, data), ["unique_id", "ds"], same)


def test_detect_does_not_depend_on_the_partition(frame: pd.DataFrame, same: Any) -> None:
    data = frame.drop(columns="cls")
    full = detect_df(tinyts.load("tinypulse"), data, mode="time")
    _check("detect", "tinypulse", data, {**COLS, "mode": "time"}, full, ["unique_id", "ds"], same)


def test_forecast_does_not_depend_on_the_partition(frame: pd.DataFrame, same: Any) -> None:
    data = frame.drop(columns="cls")
    full = forecast_df(tinyts.load("tinycast"), data, 12)
    _check("forecast", "tinycast", data, {**COLS, "horizon": 12}, full, ["unique_id", "ds"], same)


def test_forecast_of_a_series_alone_equals_it_in_a_batch() -> None:
    # the pitfall this guards against: BLAS kernels for tiny matrices give other last bits, and SIFI's
    # stride once followed the longest series of the call; both made a series depend on its neighbours
    cast = tinyts.load("tinycast")
    rng = np.random.default_rng(3)
    xs = [np.sin(np.arange(n) / 5.0) + rng.normal(0, 0.2, n) for n in (100, 700, 1500, 700, 3000)]
    together = cast.forecast(xs, 24).mean
    for k, x in enumerate(xs):
        alone = cast.forecast(x, 24).mean
        assert alone.tobytes() == np.asarray(together[k]).tobytes()
    assert MIN_ROWS >= 4


def test_classify_does_not_depend_on_the_partition(
    frame: pd.DataFrame, classifier_dir: Path, same: Any
) -> None:
    from tinyts.tasks.classify.api import PulseClassifier

    data = frame.drop(columns="cls")
    full = classify_df(PulseClassifier.from_pretrained(classifier_dir), data)
    assert full.filter(like="proba_").shape[1] == 2
    _check("classify", str(classifier_dir), data, dict(COLS, label_col="label"), full, ["unique_id"], same)


def test_a_model_object_is_refused_with_a_clear_message(frame: pd.DataFrame) -> None:
    from tinyts.tasks.distributed import _source

    with pytest.raises(TypeError, match="bundled name"):
        _source(tinyts.load("tinypulse"), "embed")
    assert _source(Path("some/folder"), "embed") == "some/folder"


def test_tslens_classify_does_not_depend_on_the_partition(
    frame: pd.DataFrame, tmp_path: Path, same: Any
) -> None:
    from tinyts.tasks.classify.api import PulseClassifier
    from tinyts.tasks.frames import fit_classifier_df

    data = frame.drop(columns="cls")
    tiny_fit = {"min_steps": 4, "max_steps": 4, "epochs": 1, "n_views": 1, "encoder_layers": 1}
    clf = PulseClassifier("tinypulse", method="tslens", seed=0, **tiny_fit)
    clf = fit_classifier_df(clf, data, frame.groupby("unique_id")["cls"].first())
    clf.save_pretrained(tmp_path / "lens")
    full = classify_df(PulseClassifier.from_pretrained(tmp_path / "lens"), data)
    _check("classify", str(tmp_path / "lens"), data, dict(COLS, label_col="label"), full, ["unique_id"], same)


def test_malloc_is_tuned_only_under_a_low_trim_threshold() -> None:
    # Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536 (2.4x slower torch here);
    # tune_malloc raises glibc's thresholds then, once, and leaves other processes alone
    import os
    import subprocess
    import sys

    code = "from tinyts.tasks.distributed import tune_malloc; print(tune_malloc(), tune_malloc())"
    base = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    for extra, want in (({"MALLOC_TRIM_THRESHOLD_": "65536"}, "True False"), ({}, "False False")):
        env = {**base, **extra}
        run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert run.stdout.split() == want.split(), run.stderr


def test_ids_in_more_than_one_partition_are_counted() -> None:
    from tinyts.tasks.distributed import _count_split

    parts = [np.array(ids, dtype=object) for ids in (["a", "b"], ["c"], ["b", "a"])]
    assert _count_split(parts) == 2
    assert _count_split(parts[:2]) == 0 and _count_split([]) == 0


def test_the_regroup_plan_moves_only_split_series() -> None:
    from tinyts.tasks.distributed import _cut_by_plan, _id_counts, regroup_plan

    parts = [
        pd.DataFrame({"id": ["a", "a", "a", "b", "b"], "v": range(5)}),
        pd.DataFrame({"id": ["b", "b", "b", "b", "b", "c"], "v": range(6)}),
        pd.DataFrame({"id": ["c", "d"], "v": range(2)}),
    ]
    plan = regroup_plan([_id_counts(p, "id") for p in parts])
    # b: most rows in partition 1; c: a tie (1 row each), dealt by order of first appearance
    assert plan.to_dict() == {"b": 1, "c": 2}
    cuts = [_cut_by_plan(p, plan, i, 3, "id") for i, p in enumerate(parts)]
    out = [pd.concat([cuts[i][j] for i in range(3)]) for j in range(3)]
    assert [sorted(set(o["id"])) for o in out] == [["a"], ["b"], ["c", "d"]]
    assert list(out[1]["v"]) == [3, 4, 0, 1, 2, 3, 4]  # row order kept within a partition's piece
    assert sum(len(o) for o in out) == 13
    # grouped partitions: an empty plan, each partition passed on whole (the same object)
    grouped = [parts[0], parts[2]]
    assert len(regroup_plan([_id_counts(p, "id") for p in grouped])) == 0
    assert _cut_by_plan(parts[0], regroup_plan([]), 0, 2, "id")[0] is parts[0]
    # categorical ids: the categories a partition does not use are not counted as being there
    cat = [p.assign(id=pd.Categorical(p["id"], categories=["a", "b", "c", "d"])) for p in grouped]
    assert len(regroup_plan([_id_counts(p, "id") for p in cat])) == 0
    # every series in every partition (data cut by time): dealt out evenly
    ids = pd.DataFrame({"id": [f"s{i}" for i in range(1000)]})
    plan = regroup_plan([_id_counts(ids, "id")] * 4)
    assert np.bincount(plan.to_numpy()).tolist() == [250] * 4
