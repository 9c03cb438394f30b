"""The anomaly, classification and retrieval suites end to end on the tiny data folder, and their helpers."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tinyts.bench import run_suite
from tinyts.bench.ours import OTHER_HEAD_SCALE
from tinyts.bench.peers.classifiers import (
    MINIROCKET_MIN_LENGTH,
    MiniRocketPeer,
    NearestNeighbourEuclidean,
    interpolate_nan,
    prepare_splits,
)
from tinyts.bench.peers.detectors import (
    DETECTORS,
    NotApplicable,
    diff_score,
    random_score,
    sub_iforest,
    zscore_score,
)
from tinyts.bench.suites import retrieval


def _values(payload: dict[str, Any], metric: str) -> dict[tuple[str, str], float]:
    return {(r["dataset"], r["method"]): r["value"] for r in payload["rows"] if r["metric"] == metric}


# ----------------------------------------------------------------------------------------- anomaly
@pytest.fixture(scope="module")
def anomaly_payload(mini_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_suite("anomaly", data_dir=mini_data_dir, quick=True, out_dir=tmp_path_factory.mktemp("a"))


def _by_family(payload: dict[str, Any]) -> dict[str, str]:
    """family -> the one series of that family in the mini folder."""
    return {r["family"]: r["dataset"] for r in payload["rows"]}


def test_anomaly_rows_for_every_method_and_series(anomaly_payload: dict[str, Any]) -> None:
    vus = _values(anomaly_payload, "vus_pr")
    auc = _values(anomaly_payload, "auc_pr")
    # --quick: two TSB-AD detectors, the baselines and the TinyPulse modes (+ their triangulation)
    pulse = {
        "tinypulse",
        "tinypulse_mean",
        "tinypulse_time",
        "tinypulse_fft",
        "tinypulse_forecast",
        "tinypulse_boost",
        "tinypulse_tta",
        f"tinypulse_{OTHER_HEAD_SCALE}",
        "tinypulse_tri",
    }
    methods = {"sub_pca", "iforest", "zscore", "diff", "random"} | pulse
    families = _by_family(anomaly_payload)
    assert set(families) == {"TSB-AD-U", "UCR_Anomaly"}
    for dataset in families.values():
        for method in methods:
            assert math.isfinite(vus[(dataset, method)]) and 0 <= vus[(dataset, method)] <= 1
            assert math.isfinite(auc[(dataset, method)])
    assert {m for _, m in vus} == methods
    assert any(n.startswith("Mean VUS-PR, all series") for n in anomaly_payload["notes"])


def test_anomaly_obvious_anomaly_beats_random(anomaly_payload: dict[str, Any]) -> None:
    vus = _values(anomaly_payload, "vus_pr")
    auc = _values(anomaly_payload, "auc_pr")
    families = _by_family(anomaly_payload)
    spike = families["TSB-AD-U"]
    # The TSB-AD-U toy has a +3 spike over 20 points of a clean sine: every real detector finds it.
    for method in ("sub_pca", "iforest", "zscore", "tinypulse"):
        assert vus[(spike, method)] > vus[(spike, "random")] + 0.3
        assert auc[(spike, method)] > auc[(spike, "random")] + 0.3
    # The UCR toy flattens 30 points of a sine to 0, which lies close to the windows' mean, so PCA and
    # IForest miss it (as they would in TSB-AD); the jump at its edges still beats random with `diff`.
    flat = families["UCR_Anomaly"]
    assert max(vus[(flat, m)] for m in ("sub_pca", "iforest", "zscore", "diff")) > vus[(flat, "random")]


def test_anomaly_payload_and_timing_field(anomaly_payload: dict[str, Any]) -> None:
    assert anomaly_payload["suite"] == "anomaly" and anomaly_payload["quick"] is True
    timed = [r for r in anomaly_payload["rows"] if r["seconds"] is not None]
    assert timed and all(r["metric"] == "vus_pr" for r in timed)


def test_anomaly_multivariate_and_unlabelled_series_are_recorded(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 1500
    data = rng.standard_normal((n, 2))
    label = np.zeros(n, dtype=int)
    data[900:910] += 6.0
    label[900:910] = 1
    folder = tmp_path / "data" / "TSB-AD-M"
    folder.mkdir(parents=True)
    frame = pd.DataFrame({"a": data[:, 0], "b": data[:, 1], "Label": label})
    frame.to_csv(folder / "001_Toy_id_1_Sensor_tr_500_1st_900.csv", index=False)
    frame.assign(Label=0).to_csv(folder / "002_Toy_id_2_Sensor_tr_500_1st_900.csv", index=False)
    payload = run_suite(
        "anomaly", data_dir=tmp_path / "data", methods=["sub_iforest", "zscore"], out_dir=tmp_path / "out"
    )
    skipped = dict((case, reason) for case, reason in payload["skipped"])
    assert "no labelled anomalies" in skipped["002_Toy_id_2_Sensor_tr_500_1st_900"]
    assert "multivariate" in skipped["001_Toy_id_1_Sensor_tr_500_1st_900 / sub_iforest"]
    vus = _values(payload, "vus_pr")
    assert set(vus) == {("001_Toy_id_1_Sensor_tr_500_1st_900", "zscore")}
    assert vus[("001_Toy_id_1_Sensor_tr_500_1st_900", "zscore")] > 0.5


def test_baseline_detectors() -> None:
    x = np.zeros((2, 50))  # (channels, time)
    x[0] = np.sin(np.arange(50))
    x[0, 20] = 10.0  # channel 1 is constant and must not produce NaN
    for fn in (zscore_score, diff_score, random_score):
        s = fn(x, None, 0)
        assert s.shape == (50,) and np.isfinite(s).all()
    assert zscore_score(x, None, 0).argmax() == 20
    assert diff_score(x, None, 0).argmax() in (20, 21)
    np.testing.assert_array_equal(random_score(x, None, 3), random_score(x, None, 3))
    with pytest.raises(NotApplicable, match="multivariate"):
        sub_iforest(x, None, 0)
    with pytest.raises(ValueError, match="NaN"):
        zscore_score(np.array([[1.0, np.nan]]), None, 0)
    assert list(DETECTORS) == ["sub_pca", "iforest", "sub_iforest", "zscore", "diff", "random"]


# ---------------------------------------------------------------------------------- classification
def test_classification_suite_quick(mini_data_dir: Path, tmp_path: Path) -> None:
    payload = run_suite(
        "classification",
        data_dir=mini_data_dir,
        quick=True,
        out_dir=tmp_path,
        methods=["minirocket", "nn1_euclidean"],
    )
    acc = _values(payload, "accuracy")
    assert set(acc) == {(d, m) for d in ("ToyUni", "ToyMulti") for m in ("minirocket", "nn1_euclidean")}
    assert all(math.isfinite(v) and 0 <= v <= 1 for v in acc.values())
    # Two balanced-ish classes (3 vs 6 cycles): chance is about 0.5.
    assert acc[("ToyUni", "minirocket")] >= 0.8
    assert acc[("ToyMulti", "minirocket")] >= 0.8
    for metric in ("fit_seconds", "predict_seconds"):
        times = _values(payload, metric)
        assert len(times) == 4 and all(v >= 0 for v in times.values())
    archives = {r["dataset"]: r["archive"] for r in payload["rows"]}
    assert archives == {"ToyUni": "UCR", "ToyMulti": "UEA"}
    assert (tmp_path / "classification-quick.json").is_file()
    assert json.loads((tmp_path / "classification-quick.json").read_text())["rows"]


def test_prepare_splits_pads_and_interpolates() -> None:
    train = [np.array([[1.0, np.nan, 3.0]]), np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])]
    test = [np.array([[np.nan, 2.0]])]
    a, b, notes = prepare_splits(train, test)
    assert a.shape == (2, 1, 5) and b.shape == (1, 1, 5)
    np.testing.assert_allclose(a[0, 0], [1, 2, 3, 0, 0])
    np.testing.assert_allclose(b[0, 0], [2, 2, 0, 0, 0])
    assert any("NaN" in n for n in notes) and any("zero-padded to 5" in n for n in notes)
    filled, n = interpolate_nan(np.array([[np.nan, np.nan]]))
    assert n == 2 and np.all(filled == 0)
    with pytest.raises(ValueError, match="channel counts"):
        prepare_splits([np.zeros((1, 3))], [np.zeros((2, 3))])


def test_minirocket_pads_short_series_and_nn1_is_exact() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 2, 5))
    y = np.array(["a", "b"] * 6)
    clf = MiniRocketPeer(0).fit(X, y)
    assert clf.padded_to == MINIROCKET_MIN_LENGTH and clf.predict(X).shape == (12,)
    nn = NearestNeighbourEuclidean().fit(X, y)
    np.testing.assert_array_equal(nn.predict(X), y)  # each case is its own nearest neighbour


# --------------------------------------------------------------------------------------- retrieval
def test_retrieval_suite_quick(mini_data_dir: Path, tmp_path: Path) -> None:
    payload = run_suite("retrieval", data_dir=mini_data_dir, quick=True, out_dir=tmp_path)
    rows = payload["rows"]
    got: dict[tuple[str, str, str], float] = {}
    for r in rows:
        if r["dataset"] == "UCR":
            got[(r["method"], r["level"], r["metric"])] = r["value"]
    metrics = ("p_at_3", "ap_at_3", "ndcg_at_3", "mrr_at_3")
    for method in ("raw_euclidean", "minirocket"):
        for level in ("family", "fine"):
            for metric in metrics:
                assert math.isfinite(got[(method, level, metric)])
            # One UCR problem in the folder: every hit is in the query's family.
            assert got[(method, "family", "p_at_3")] == pytest.approx(1.0)
    # Fine level: 2 classes (3 vs 6 cycles, random phase), shifted noisy queries: chance P@3 ~ 0.5.
    assert got[("minirocket", "fine", "p_at_3")] > 0.7
    skipped = dict(payload["skipped"])
    assert "univariate UCR" in skipped["ToyMulti"]
    per_group: dict[str, int] = defaultdict(int)
    for r in rows:
        per_group[r["queries"]] += 1
    n_methods = len(retrieval.METHODS)  # peers and the TinyPulse variants
    assert per_group["all"] == per_group["problem"] == n_methods * 2 * 4  # methods x 2 levels x 4 metrics
    assert {"tinypulse", "tinypulse_1pass", "tinypulse_detail"} <= {r["method"] for r in rows}


def test_retrieval_queries_and_search() -> None:
    rng = np.random.default_rng(0)
    db = retrieval.znorm(rng.standard_normal((6, 512)))
    q1 = retrieval.make_queries(db, np.random.default_rng(5))
    q2 = retrieval.make_queries(db, np.random.default_rng(5))
    np.testing.assert_array_equal(q1, q2)
    assert q1.shape == db.shape and not np.allclose(q1, db)
    hits = retrieval.search(db, db, k=3)
    np.testing.assert_array_equal(hits[:, 0], np.arange(6))  # exact search finds the item itself first
    # torch's linear interpolate (align_corners=False): sources (i + 0.5) * 2 / 5 - 0.5, clamped.
    np.testing.assert_allclose(retrieval.resample(np.array([0.0, 1.0]), 5), [0, 0.1, 0.5, 0.9, 1])
    np.testing.assert_allclose(retrieval.resample(np.arange(4.0), 4), np.arange(4.0))
    with pytest.raises(ValueError, match="one width"):
        retrieval.search(db, db[:, :10])
