"""The ``forecasting_broad`` suite on a tiny generated folder: .tsf and M4 pair, NaN in test, metrics."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tinyts.bench import ours, run_suite
from tinyts.bench.metrics import QUANTILES
from tinyts.bench.peers.forecasters import STATSFORECAST_PEERS, ForecastSetup, seasonal_naive_forecast
from tinyts.bench.suites import forecasting_broad as fb
from tinyts.models.cast import CastConfig, TinyCast
from tinyts.testing import TINY_CAST

TINY = {**TINY_CAST, "context_length": 64, "patch_length": 8, "coarse_block": 8, "coarse_horizon": 16}
H_TSF, H_M4 = 6, 8  # @horizon of the toy .tsf; the M4 quarterly horizon


def _rows(payload: dict[str, Any], **match: Any) -> list[dict[str, Any]]:
    return [r for r in payload["rows"] if all(r.get(k) == v for k, v in match.items())]


def _value(payload: dict[str, Any], **match: Any) -> float:
    rows = _rows(payload, **match)
    assert len(rows) == 1, (match, rows)
    return float(rows[0]["value"])


def _series(rng: np.random.Generator, n: int, period: int) -> np.ndarray:
    t = np.arange(n)
    return 50 + 0.3 * t + 5 * np.sin(2 * np.pi * t / period) + rng.standard_normal(n)


@pytest.fixture
def broad_dir(tmp_path: Path) -> Path:
    """toy_monthly .tsf (unequal lengths, '?' in one train and one test part) and an M4 quarterly pair."""
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    lines = []
    for i, n in enumerate((40, 45, 30, 52)):
        vals = [f"{v:.3f}" for v in _series(rng, n, 12)]
        if i == 1:
            vals[10] = "?"  # training part
            vals[-2] = "?"  # test part: skipped in scoring
        lines.append(f"T{i + 1}:2000-01-01 00-00-00:" + ",".join(vals))
    tsf = (
        "@relation Toy\n@attribute series_name string\n@attribute start_timestamp date\n@frequency monthly\n"
        f"@horizon {H_TSF}\n@missing true\n@equallength false\n@data\n" + "\n".join(lines) + "\n"
    )
    (root / "forecast" / "monash_tsf").mkdir(parents=True)
    (root / "forecast" / "monash_tsf" / "toy_monthly_dataset.tsf").write_text(tsf)
    m4 = root / "forecast" / "M4"
    m4.mkdir(parents=True)
    trains = [_series(rng, n, 4) for n in (20, 24, 17)]
    width = max(len(t) for t in trains)
    head = ",".join(f'"V{i}"' for i in range(1, width + 2))
    rows = [
        f'"Q{k + 1}",' + ",".join(f'"{v:.3f}"' for v in t) + ',""' * (width - len(t))
        for k, t in enumerate(trains)
    ]
    (m4 / "Quarterly-train.csv").write_text(head + "\n" + "\n".join(rows) + "\n")
    tests = [_series(rng, len(t) + H_M4, 4)[-H_M4:] for t in trains]
    thead = ",".join(f'"V{i}"' for i in range(1, H_M4 + 2))
    trows = [f'"Q{k + 1}",' + ",".join(f'"{v:.3f}"' for v in t) for k, t in enumerate(tests)]
    (m4 / "Quarterly-test.csv").write_text(thead + "\n" + "\n".join(trows) + "\n")
    return root


def test_suite_rows_relative_scores_and_gmean(
    broad_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.manual_seed(0)
    tiny = TinyCast(CastConfig(**TINY)).eval()
    monkeypatch.setattr(ours, "bundled_model", lambda name: tiny)
    methods = ["seasonal_naive", "autoets", "autotheta", "tinycast"]
    payload = run_suite("forecasting_broad", broad_dir, methods=methods, out_dir=tmp_path / "out")
    assert payload["skipped"] == []
    datasets = ["m4_quarterly", "toy_monthly"]
    for name in datasets:
        for m in methods:
            metrics = {r["metric"] for r in _rows(payload, dataset=name, method=m)}
            assert metrics == {"mase", "wql", "smape", "rel_mase", "rel_wql"}
            assert _rows(payload, dataset=name, method=m, metric="mase")[0]["seconds"] > 0
            for metric in ("mase", "wql"):
                v = _value(payload, dataset=name, method=m, metric=metric)
                ref = _value(payload, dataset=name, method="seasonal_naive", metric=metric)
                assert math.isfinite(v) and v > 0
                assert _value(payload, dataset=name, method=m, metric=f"rel_{metric}") == pytest.approx(
                    v / ref
                )
        assert _value(payload, dataset=name, method="seasonal_naive", metric="rel_mase") == 1.0
        assert _value(payload, dataset=name, method="seasonal_naive", metric="rel_wql") == 1.0
    for m in methods:
        for metric in ("mase", "wql"):
            rels = [_value(payload, dataset=d, method=m, metric=f"rel_{metric}") for d in datasets]
            row = _rows(payload, dataset="all", method=m, metric=f"gmean_rel_{metric}")[0]
            assert row["value"] == pytest.approx(math.sqrt(rels[0] * rels[1]))
            assert row["n_datasets"] == 2
    assert _value(payload, dataset="all", method="seasonal_naive", metric="gmean_rel_mase") == 1.0
    # the paired bootstrap of gmean_rel_mase: every method but the reference, and each pair's P(lower)
    others = [m for m in methods if m != "seasonal_naive"]
    for m in others:
        lo = _value(payload, dataset="all", method=m, metric="gmean_rel_mase_p05")
        hi = _value(payload, dataset="all", method=m, metric="gmean_rel_mase_p95")
        assert 0 < lo <= hi
        pairs = {
            r["than"]: r["value"] for r in _rows(payload, dataset="all", method=m, metric="p_lower_gmean")
        }
        assert set(pairs) == set(others) - {m} and all(0 <= p <= 1 for p in pairs.values())
    ab = {
        r["than"]: r["value"] for r in _rows(payload, dataset="all", method="autoets", metric="p_lower_gmean")
    }
    ba = {
        r["than"]: r["value"]
        for r in _rows(payload, dataset="all", method="tinycast", metric="p_lower_gmean")
    }
    assert ab["tinycast"] + ba["autoets"] == pytest.approx(1.0)
    # the NaN in the test part is counted and reported, the one in the training part filled
    notes = "\n".join(payload["notes"])
    assert "toy_monthly: 4 series scored" in notes
    assert "1 missing training values filled; 1 missing test values in 1 series skipped in scoring" in notes
    assert "m4_quarterly: 3 series scored" in notes and "horizon 8, season length 4" in notes
    assert (tmp_path / "out" / "forecasting_broad.md").is_file()


def test_quick_subset_and_dataset_selection(
    broad_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fb, "QUICK_SERIES", 2)
    payload = run_suite(
        "forecasting_broad",
        broad_dir,
        datasets=["toy_monthly"],
        methods=["seasonal_naive"],
        quick=True,
        out_dir=tmp_path / "out",
    )
    assert {r["dataset"] for r in payload["rows"]} == {"toy_monthly", "all"}
    assert any("toy_monthly: 2 series scored (of 4 in the file" in n for n in payload["notes"])
    assert (tmp_path / "out" / "forecasting_broad-quick.md").is_file()


def _toy_data(train: list[np.ndarray], test: list[np.ndarray], period: int = 1) -> fb.BroadData:
    return fb.BroadData(
        name="d",
        train=train,
        filled=[fb.fill_missing(t) for t in train],
        test=test,
        horizon=len(test[0]),
        period=period,
        frequency=None,
        n_total=len(train),
    )


def test_score_by_hand_with_nan_in_test() -> None:
    train = [np.array([1.0, 3.0, 2.0, 4.0]), np.array([10.0, 10.0, 12.0])]
    test = [np.array([5.0, np.nan]), np.array([11.0, 13.0])]
    data = _toy_data(train, test)
    points = [np.array([4.0, 100.0]), np.array([12.0, 12.0])]
    quants = [np.repeat(p[:, None], len(QUANTILES), axis=1) for p in points]
    scores, counts = fb.score(data, points, quants)
    assert counts == {"zero_scale": 0, "missing_test": 1}
    # series 1: |5-4| = 1 (the NaN step, and its wild forecast, are skipped), scale mean(2,1,2) = 5/3
    # series 2: mean(1, 1) = 1, scale mean(0, 2) = 1
    assert scores["mase"] == pytest.approx((1 / (5 / 3) + 1.0) / 2)
    # point forecasts at every level: 2 * sum pinball = sum |e| for every level
    assert scores["wql"] == pytest.approx((1 + 1 + 1) / (5 + 11 + 13))
    assert scores["smape"] == pytest.approx((200 * 1 / 9 + (200 / 23 + 200 / 25) / 2) / 2)


def test_wql_matches_the_pinball_definition() -> None:
    rng = np.random.default_rng(3)
    y = rng.uniform(1, 5, size=(3, 4))
    q = np.sort(rng.uniform(0, 6, size=(3, 4, 9)), axis=-1)
    data = _toy_data([np.arange(6.0)] * 3, list(y))
    scores, _ = fb.score(data, [qq[:, 4] for qq in q], list(q))
    expect = np.mean(
        [
            2 * np.sum(np.maximum(lv * (y - q[..., k]), (lv - 1) * (y - q[..., k]))) / np.abs(y).sum()
            for k, lv in enumerate(QUANTILES)
        ]
    )
    assert scores["wql"] == pytest.approx(expect)


def test_zero_scale_series_left_out_and_counted() -> None:
    data = _toy_data([np.full(5, 2.0), np.array([1.0, 2.0, 3.0])], [np.array([2.0]), np.array([5.0])])
    p = [np.array([3.0]), np.array([4.0])]
    scores, counts = fb.score(data, p, [np.repeat(x[:, None], 9, axis=1) for x in p])
    assert counts["zero_scale"] == 1
    assert scores["mase"] == pytest.approx(1.0)


def test_series_scale_falls_back_to_lag_one() -> None:
    y = np.array([1.0, 4.0, 2.0, 8.0])
    assert fb.series_scale(y, 12) == pytest.approx(np.mean([3, 2, 6]))
    assert fb.series_scale(y, 2) == pytest.approx(np.mean([1, 4]))
    assert fb.series_scale(np.array([1.0, np.nan, 3.0, 5.0]), 1) == pytest.approx(2.0)


def test_fill_missing_and_build_dataset() -> None:
    np.testing.assert_allclose(fb.fill_missing(np.array([np.nan, 1.0, np.nan, 3.0, np.nan])), [1, 1, 2, 3, 3])
    whole = [np.arange(10.0), np.array([1.0, 2.0, 3.0, 4.0]), np.array([np.nan, np.nan, 1.0, 2.0, 3.0, 4.0])]
    d = fb.build_dataset("x", whole, horizon=2, period=1, frequency="yearly")
    assert d.dropped == 2  # 2 training points; 2 observed training points out of 4
    assert len(d.train) == 1 and d.test[0].tolist() == [8.0, 9.0]


def test_statsforecast_seasonal_naive_matches_numpy_and_has_quantiles() -> None:
    rng = np.random.default_rng(0)
    ctx = rng.standard_normal((3, 30)).cumsum(axis=1)
    setup = ForecastSetup(period=7)
    out = STATSFORECAST_PEERS["seasonal_naive"](setup)(ctx, 10)
    np.testing.assert_allclose(out.point, seasonal_naive_forecast(ctx, 10, 7))
    assert out.quantiles is not None and out.quantiles.shape == (3, 10, 9)
    assert np.all(np.diff(out.quantiles, axis=-1) >= 0) and np.all(
        out.quantiles[..., 0] < out.quantiles[..., 8]
    )
    assert setup.info["fallbacks"] == 0


def test_statsforecast_fallback_is_counted() -> None:
    setup = ForecastSetup(period=1)
    ctx = np.array([[1.0, 2.0, np.nan, 4.0, 5.0]])  # NaN: statsforecast fails or returns NaN
    out = STATSFORECAST_PEERS["autoets"](setup)(ctx, 2)
    assert setup.info["fallbacks"] == 1 and "first_fallback" in setup.info
    np.testing.assert_allclose(out.point, [[5.0, 5.0]])
