"""DataFrame twins of the TinyPulse tasks and classification: row order, alignment, ragged series, errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import tinyts
from tinyts.models.pulse import TinyPulse
from tinyts.tasks.classify.api import PulseClassifier
from tinyts.tasks.frames import (
    classify_df,
    detect_df,
    embed_df,
    fit_classifier_df,
    impute_df,
    index_df,
    search_df,
)
from tinyts.tasks.pulse.anomaly import DEFAULT_THRESHOLD, anomaly_scores
from tinyts.tasks.pulse.embed import embed
from tinyts.tasks.search.retrieve import SimilarityIndex
from tinyts.testing import random_tiny


@pytest.fixture(scope="module")
def model() -> TinyPulse:
    m = tinyts.load("tinypulse")
    assert isinstance(m, TinyPulse)
    return m


def _frame(lengths: dict[str, int], seed: int = 0, channels: int = 1, hide: float = 0.15) -> pd.DataFrame:
    """A long frame of ragged series with some NaN targets, rows shuffled."""
    rng = np.random.default_rng(seed)
    parts = []
    for k, (uid, n) in enumerate(lengths.items()):
        t = np.arange(n)
        part = pd.DataFrame({"unique_id": uid, "ds": pd.date_range("2024-01-01", periods=n, freq="h")})
        for c in range(channels):
            y = np.sin(t / (6.0 + k + c)) + 0.1 * rng.standard_normal(n)
            y[rng.random(n) < hide] = np.nan
            part["y" if channels == 1 else f"y{c}"] = y
        parts.append(part)
    df = pd.concat(parts, ignore_index=True)
    df["extra"] = np.arange(len(df))
    return df.sample(frac=1.0, random_state=seed).set_index(pd.Index(np.arange(len(df)) * 3 + 7))


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["unique_id", "ds"])


def test_impute_df_order_observed_and_flags(model: TinyPulse) -> None:
    df = _frame({"a": 300, "b": 120})
    out = impute_df(model, df, stride=128)
    assert list(out.columns) == [*df.columns, "imputed"]
    assert out.index.equals(df.index)
    pd.testing.assert_frame_equal(out[["unique_id", "ds", "extra"]], df[["unique_id", "ds", "extra"]])
    missing = df["y"].isna().to_numpy()
    assert missing.any()
    np.testing.assert_array_equal(out["imputed"].to_numpy(), missing)
    assert out["imputed"].dtype == bool
    assert not out["y"].isna().any()
    # observed values untouched, bit for bit
    np.testing.assert_array_equal(out["y"].to_numpy()[~missing], df["y"].to_numpy()[~missing])


def test_impute_df_matches_array_impute_per_series(model: TinyPulse) -> None:
    df = _frame({"a": 250, "b": 100, "c": 250}, seed=1)
    out = _sorted(impute_df(model, df, stride=128))
    for uid, part in _sorted(df).groupby("unique_id"):
        expected = model.impute(part["y"].to_numpy(), stride=128)
        np.testing.assert_allclose(out.loc[out["unique_id"] == uid, "y"].to_numpy(), expected)


def test_impute_df_multi_target(model: TinyPulse) -> None:
    df = _frame({"a": 200, "b": 130}, seed=2, channels=2)
    out = impute_df(model, df, target_col=["y0", "y1"], stride=128)
    assert list(out.columns) == [*df.columns, "y0_imputed", "y1_imputed"]
    for col in ("y0", "y1"):
        missing = df[col].isna().to_numpy()
        np.testing.assert_array_equal(out[f"{col}_imputed"].to_numpy(), missing)
        np.testing.assert_array_equal(out[col].to_numpy()[~missing], df[col].to_numpy()[~missing])
        assert not out[col].isna().any()


def test_impute_df_custom_names_and_no_id(model: TinyPulse) -> None:
    df = _frame({"a": 150}, seed=3).rename(columns={"ds": "time", "y": "value"}).drop(columns="unique_id")
    out = impute_df(model, df, id_col=None, time_col="time", target_col="value", stride=128)
    assert out.index.equals(df.index)
    np.testing.assert_array_equal(out["imputed"].to_numpy(), df["value"].isna().to_numpy())
    assert not out["value"].isna().any()


def test_detect_df_aligned_with_rows(model: TinyPulse) -> None:
    df = _frame({"a": 200, "b": 140}, seed=4, hide=0.0)
    out = detect_df(model, df, mode="time")
    assert list(out.columns) == [*df.columns, "anomaly_score", "anomaly_flag"]
    assert out.index.equals(df.index)
    for _, part in _sorted(out).groupby("unique_id"):
        expected = anomaly_scores(model, part["y"].to_numpy(), mode="time")
        np.testing.assert_allclose(part["anomaly_score"].to_numpy(), expected)
    assert out.groupby("unique_id")["anomaly_score"].median().abs().max() < 1e-9  # robust scale
    assert list(out["anomaly_flag"]) == list(out["anomaly_score"] > DEFAULT_THRESHOLD)
    # the order of the input rows does not matter
    again = detect_df(model, _sorted(df), mode="time")
    pd.testing.assert_series_equal(again["anomaly_score"].loc[df.index], out["anomaly_score"])


def test_detect_df_spike_scores_high(model: TinyPulse) -> None:
    df = _frame({"a": 400}, seed=5, hide=0.0)
    spike = df.index[df["ds"] == df["ds"].min() + pd.Timedelta(hours=250)][0]
    df.loc[spike, "y"] += 8.0
    out = detect_df(model, df, mode="time")
    near = (out["ds"] - out.loc[spike, "ds"]).abs() <= pd.Timedelta(hours=48)
    assert out.loc[near, "anomaly_score"].max() > 3 * out.loc[~near, "anomaly_score"].max()
    assert out.loc[near, "anomaly_flag"].any()
    # nothing else is flagged, the series' first and last rows included: before the edge calibration
    # (docs/tinypulse.md, "Edges") the first two rows of this 400-row series scored 6.8 / 6.6
    assert not out.loc[~near, "anomaly_flag"].any()


def test_detect_df_multi_target(model: TinyPulse) -> None:
    df = _frame({"a": 160, "b": 100}, seed=6, channels=2, hide=0.0)
    out = detect_df(model, df, mode="time", target_col=["y0", "y1"])
    part = _sorted(out)[lambda d: d["unique_id"] == "b"]
    expected = anomaly_scores(model, part[["y0", "y1"]].to_numpy().T, mode="time")
    np.testing.assert_allclose(part["anomaly_score"].to_numpy(), expected)


def test_embed_df_one_row_per_series(model: TinyPulse) -> None:
    df = _frame({"b": 200, "a": 120, "c": 300}, seed=7)
    out = embed_df(model, df, shifts=1)
    first_seen = list(pd.unique(df["unique_id"]))
    assert list(out["unique_id"]) == first_seen
    d = out.shape[1] - 1
    assert list(out.columns) == ["unique_id", *[f"emb_{k}" for k in range(d)]]
    for uid in first_seen:
        series = _sorted(df)[lambda x, u=uid: x["unique_id"] == u]["y"].to_numpy()
        expected = embed(model, series, shifts=1)[0]
        row = out.loc[out["unique_id"] == uid].iloc[0, 1:].to_numpy(dtype=np.float32)
        np.testing.assert_allclose(row, expected, rtol=1e-4, atol=1e-5)


def test_embed_df_multi_target_and_id_name(model: TinyPulse) -> None:
    df = _frame({"a": 100, "b": 150}, seed=8, channels=2).rename(columns={"unique_id": "sid"})
    out = embed_df(model, df, id_col="sid", target_col=["y0", "y1"], shifts=1, channels="mean")
    assert out.columns[0] == "sid"
    assert len(out) == 2
    assert not out.iloc[:, 1:].isna().any().any()


def test_pulse_methods_delegate(model: TinyPulse) -> None:
    df = _frame({"a": 120}, seed=9)
    pd.testing.assert_frame_equal(model.impute_df(df, stride=128), impute_df(model, df, stride=128))
    pd.testing.assert_frame_equal(model.detect_df(df, mode="time"), detect_df(model, df, mode="time"))
    pd.testing.assert_frame_equal(model.embed_df(df, shifts=1), embed_df(model, df, shifts=1))


FUNCS = [
    pytest.param(lambda m, df, **kw: impute_df(m, df, **kw), id="impute"),
    pytest.param(lambda m, df, **kw: detect_df(m, df, mode="time", **kw), id="detect"),
    pytest.param(lambda m, df, **kw: embed_df(m, df, shifts=1, **kw), id="embed"),
]


@pytest.mark.parametrize("func", FUNCS)
def test_errors(model: TinyPulse, func: Callable[..., pd.DataFrame]) -> None:
    df = _frame({"a": 60, "b": 40}, seed=10)
    dup = pd.concat([df, df.iloc[:1]])
    with pytest.raises(ValueError, match="duplicate"):
        func(model, dup)
    with pytest.raises(ValueError, match=r"no column\(s\) \['value'\].*target_col="):
        func(model, df, target_col="value")
    with pytest.raises(ValueError, match="no column"):
        func(model, df.drop(columns="ds"))
    text = df.assign(y=df["y"].astype(str))
    with pytest.raises(ValueError, match="real numbers"):
        func(model, text)
    with pytest.raises(ValueError, match="empty"):
        func(model, df.iloc[:0])
    with pytest.raises(ValueError, match="empty"):
        func(model, pd.DataFrame())
    with pytest.raises(TypeError, match="DataFrame"):
        func(model, df["y"].to_numpy())
    all_nan = df.assign(y=np.where(df["unique_id"] == "b", np.nan, df["y"]))
    with pytest.raises(ValueError, match="'b'.*entirely NaN"):
        func(model, all_nan)


def test_existing_output_column_and_short_series(model: TinyPulse) -> None:
    df = _frame({"a": 60}, seed=11)
    with pytest.raises(ValueError, match="already has a column 'imputed'"):
        impute_df(model, df.assign(imputed=False))
    with pytest.raises(ValueError, match="already has a column 'anomaly_score'"):
        detect_df(model, df.assign(anomaly_score=0.0))
    one = pd.concat([df, pd.DataFrame({"unique_id": ["z"], "ds": [df["ds"].min()], "y": [1.0]})])
    with pytest.raises(ValueError, match="'z' has 1 time points"):
        detect_df(model, one)
    with pytest.raises(TypeError, match="TinyPulse"):
        impute_df(object(), df)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ classification
#: a few steps on a tiny random TinyPulse: contracts, not accuracy
TINY_FIT: dict[str, Any] = {"min_steps": 4, "max_steps": 4, "epochs": 1, "n_views": 1, "encoder_layers": 1}


def _labelled(n: int = 8, seed: int = 0, channels: int = 1) -> tuple[pd.DataFrame, dict[str, str]]:
    """Ragged series of two classes (slow / fast sine) with some NaN, rows shuffled, label column."""
    rng = np.random.default_rng(seed)
    parts, labels = [], {}
    for k in range(n):
        uid, label, length = f"s{k}", ("slow", "fast")[k % 2], 40 + 7 * k
        t = np.arange(length) / length
        part = pd.DataFrame({"unique_id": uid, "ds": pd.date_range("2024-01-01", periods=length, freq="D")})
        for c in range(channels):
            y = np.sin(2 * np.pi * (2 if label == "slow" else 7) * t + c) + 0.1 * rng.standard_normal(length)
            y[rng.random(length) < 0.05] = np.nan
            part["y" if channels == 1 else f"y{c}"] = y
        part["cls"] = label
        parts.append(part)
        labels[uid] = label
    df = pd.concat(parts, ignore_index=True)
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True), labels


def _cases(df: pd.DataFrame, targets: list[str]) -> list[np.ndarray]:
    """The series as (channels, time) arrays, in order of first appearance."""
    by_time = df.sort_values(["unique_id", "ds"])
    return [by_time.loc[by_time["unique_id"] == u, targets].to_numpy().T for u in pd.unique(df["unique_id"])]


@pytest.fixture(scope="module")
def tiny() -> TinyPulse:
    m = random_tiny("pulse")
    assert isinstance(m, TinyPulse)
    return m


def test_classify_df_matches_the_array_api(tiny: TinyPulse) -> None:
    df, labels = _labelled()
    clf = fit_classifier_df(PulseClassifier(tiny, seed=0, **TINY_FIT), df, "cls")
    first_seen = list(pd.unique(df["unique_id"]))
    ref = PulseClassifier(tiny, seed=0, **TINY_FIT).fit(_cases(df, ["y"]), [labels[u] for u in first_seen])
    out = classify_df(clf, df)
    assert list(out.columns) == ["unique_id", "label", "proba_fast", "proba_slow"]
    assert list(out["unique_id"]) == first_seen
    proba = out[["proba_fast", "proba_slow"]].to_numpy()
    np.testing.assert_allclose(proba, ref.predict_proba(_cases(df, ["y"])))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(out["label"], clf.classes_[proba.argmax(axis=1)])


def test_fit_classifier_df_labels_as_mapping_or_series(tiny: TinyPulse) -> None:
    df, labels = _labelled(seed=1)
    by_column = fit_classifier_df(PulseClassifier(tiny, seed=0, **TINY_FIT), df, "cls")
    shuffled = dict([*reversed(labels.items()), ("unused", "slow")])
    by_dict = fit_classifier_df(PulseClassifier(tiny, seed=0, **TINY_FIT), df.drop(columns="cls"), shuffled)
    by_series = PulseClassifier(tiny, seed=0, **TINY_FIT).fit_df(df, pd.Series(labels))
    expected = classify_df(by_column, df)
    pd.testing.assert_frame_equal(classify_df(by_dict, df), expected)
    pd.testing.assert_frame_equal(by_series.predict_df(df), expected)


def test_classify_df_multi_target_custom_names_and_aeon_wrapper(tiny: TinyPulse) -> None:
    from tinyts.estimators import TinyPulseClassifier

    df, _ = _labelled(seed=2, channels=2)
    df = df.rename(columns={"unique_id": "sid", "ds": "t"})
    clf = fit_classifier_df(
        TinyPulseClassifier(model=tiny, random_state=0, **TINY_FIT),
        df,
        "cls",
        id_col="sid",
        time_col="t",
        target_col=["y0", "y1"],
    )
    out = classify_df(clf, df, id_col="sid", time_col="t", target_col=["y0", "y1"], label_col="pred")
    assert list(out.columns) == ["sid", "pred", "proba_fast", "proba_slow"] and len(out) == 8
    one = df[df["sid"] == "s3"].drop(columns="sid")
    single = classify_df(clf, one, id_col=None, time_col="t", target_col=["y0", "y1"])
    assert list(single["unique_id"]) == [0]
    np.testing.assert_allclose(
        single[["proba_fast", "proba_slow"]].to_numpy(),
        out.loc[out["sid"] == "s3", ["proba_fast", "proba_slow"]].to_numpy(),
    )


def test_classification_frame_errors(tiny: TinyPulse) -> None:
    df, labels = _labelled(seed=3)
    fresh = PulseClassifier(tiny, seed=0, **TINY_FIT)
    with pytest.raises(ValueError, match="no label column 'label'"):
        fit_classifier_df(fresh, df, "label")
    varying = df.assign(cls=np.where(df.index % 2, "slow", "fast"))
    with pytest.raises(ValueError, match="not constant within series"):
        fit_classifier_df(fresh, varying, "cls")
    with pytest.raises(ValueError, match="missing values"):
        fit_classifier_df(fresh, df.assign(cls=df["cls"].where(df.index != 5)), "cls")
    with pytest.raises(ValueError, match=r"no entry for 1 series, e.g. 's0'"):
        fit_classifier_df(fresh, df, {k: v for k, v in labels.items() if k != "s0"})
    with pytest.raises(TypeError, match="labels must be"):
        fit_classifier_df(fresh, df, ["slow"] * 8)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="also a target column"):
        fit_classifier_df(fresh, df, "y")
    with pytest.raises(ValueError, match="single class"):
        fit_classifier_df(fresh, df, dict.fromkeys(labels, "slow"))
    with pytest.raises(TypeError, match=r"predict_proba\(\)"):
        classify_df(object(), df)
    with pytest.raises(ValueError, match="not fitted"):
        classify_df(fresh, df)
    clf = fit_classifier_df(fresh, df, "cls")
    with pytest.raises(ValueError, match=r"no column\(s\) \['value'\]"):
        classify_df(clf, df, target_col="value")
    with pytest.raises(ValueError, match="repeat a name"):
        classify_df(clf, df, label_col="unique_id")
    two = df.assign(y1=df["y"])
    with pytest.raises(ValueError, match="channel"):
        classify_df(clf, two, target_col=["y", "y1"])


# ------------------------------------------------------------------------------------ similarity search
def test_index_df_and_search_df_match_the_array_api(tiny: TinyPulse) -> None:
    df = _frame({"b": 90, "a": 70, "c": 120, "d": 64}, seed=11)
    index = index_df(SimilarityIndex(tiny, shifts=1), df)
    assert index.ids == list(pd.unique(df["unique_id"]))
    series = {u: _sorted(df)[lambda x, u=u: x["unique_id"] == u]["y"].to_numpy() for u in index.ids}
    reference = SimilarityIndex(tiny, shifts=1).add(list(series.values()), ids=list(series))
    np.testing.assert_allclose(index.vectors, reference.vectors, rtol=1e-5, atol=1e-6)
    queries = _frame({"q2": 80, "q1": 100}, seed=12).rename(columns={"unique_id": "qid"})
    out = index.search_df(queries, k=3, id_col="qid")
    assert list(out.columns) == ["qid", "rank", "match_id", "distance"]
    order = list(pd.unique(queries["qid"]))  # first appearance in the (shuffled) frame
    assert list(out["qid"]) == [order[0]] * 3 + [order[1]] * 3 and list(out["rank"]) == [1, 2, 3] * 2
    arrays = [queries.sort_values("ds")[lambda x, u=u: x["qid"] == u]["y"].to_numpy() for u in order]
    hits = reference.search(arrays, 3)
    assert list(out["match_id"]) == [i for row in hits.ids for i in row]
    np.testing.assert_allclose(out["distance"].to_numpy(), hits.distances.reshape(-1), rtol=1e-4, atol=1e-5)
    assert np.all(np.diff(out["distance"].to_numpy().reshape(2, 3), axis=1) >= 0)


def test_search_frame_errors(tiny: TinyPulse) -> None:
    df = _frame({"a": 60, "b": 40}, seed=13)
    index = SimilarityIndex(tiny, shifts=1)
    with pytest.raises(ValueError, match="index is empty"):
        search_df(index, df, k=1)
    index.add_df(df)
    with pytest.raises(ValueError, match="already"):
        index.add_df(df)  # the same ids again
    with pytest.raises(ValueError, match="exceeds"):
        search_df(index, df, k=3)
    with pytest.raises(TypeError, match="SimilarityIndex"):
        search_df(object(), df, k=1)
    with pytest.raises(ValueError, match="no column"):
        search_df(index, df.rename(columns={"y": "v"}), k=1)
    one = search_df(index, df[df["unique_id"] == "a"].drop(columns="unique_id"), k=2, id_col=None)
    assert list(one["unique_id"]) == [0, 0] and one["match_id"].iloc[0] == "a"


@pytest.mark.parametrize("id_dtype", ["object", "category", "int64", "string"])
def test_every_frame_function_keeps_the_id_dtype(tiny: TinyPulse, id_dtype: str) -> None:
    """One-row-per-series outputs (embed, classify, search) keep the input's id dtype, as the long
    outputs (impute, detect) do: a categorical or object id column came back as strings, integers as
    a numpy array's dtype."""
    df = _frame({"a": 90, "b": 70, "c": 64}, seed=5)
    if id_dtype == "int64":
        df["unique_id"] = df["unique_id"].map({"a": 10, "b": 20, "c": 30})
    df["unique_id"] = df["unique_id"].astype(id_dtype)
    expected = df["unique_id"].dtype
    first_seen = list(pd.unique(df["unique_id"]))
    labels = {u: ("x" if k % 2 else "y") for k, u in enumerate(first_seen)}
    clf = PulseClassifier(tiny, seed=0, **TINY_FIT).fit(_cases(df, ["y"]), [labels[u] for u in first_seen])
    index = index_df(SimilarityIndex(tiny, shifts=1), df)
    outs = {
        "impute": impute_df(tiny, df),
        "detect": detect_df(tiny, df),
        "embed": embed_df(tiny, df, shifts=1),
        "classify": classify_df(clf, df),
        "search": search_df(index, df, k=2),
    }
    for name, out in outs.items():
        assert out["unique_id"].dtype == expected, (name, out["unique_id"].dtype, expected)
        assert set(out["unique_id"]) == set(first_seen), name
    assert list(outs["embed"]["unique_id"]) == first_seen
    assert list(outs["classify"]["unique_id"]) == first_seen
    assert list(outs["search"]["unique_id"]) == [u for u in first_seen for _ in range(2)]
