"""The imputation, forecasting and speed suites, their peers, on tiny data (``--quick`` semantics)."""

from __future__ import annotations

import json
import math
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinyts.bench import run_suite
from tinyts.bench.peers import imputers
from tinyts.bench.peers.forecasters import FORECASTERS, ForecastSetup, seasonal_naive_forecast
from tinyts.bench.peers.imputers import (
    ImputeSetup,
    _chunk_starts,
    linear_fill,
    saits_factory,
    seasonal_linear_fill,
)
from tinyts.bench.suites import forecasting, imputation, speed


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test (peers must not download)."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _rows(payload: dict[str, Any], **match: Any) -> list[dict[str, Any]]:
    return [r for r in payload["rows"] if all(r.get(k) == v for k, v in match.items())]


# ------------------------------------------------------------------------------------------ imputers


def test_linear_fill_matches_np_interp_including_the_ends() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 40))
    hidden = rng.random(x.shape) < 0.5
    hidden[:, :3] = True  # hidden start and end: constant extension
    hidden[:, -2:] = True
    hidden[0, :] = True
    hidden[0, 10] = False  # a single observed point
    masked = np.where(hidden, np.nan, x)
    t = np.arange(x.shape[1])
    expected = np.stack([np.interp(t, t[~h], row[~h]) for row, h in zip(masked, hidden, strict=True)])
    np.testing.assert_allclose(linear_fill(masked), expected, atol=1e-12)
    assert np.all(linear_fill(np.full((2, 5), np.nan)) == 0.0)


def test_seasonal_linear_recovers_a_periodic_series_that_linear_cannot() -> None:
    t = np.arange(512)
    x = (np.sin(2 * np.pi * t / 24) + 0.002 * t)[None, :]
    masked = x.copy()
    masked[0, 100:116] = np.nan  # a 16-point gap: linear draws a chord across the wave
    seasonal = seasonal_linear_fill(masked, 24)
    linear = linear_fill(masked)
    err_s = np.abs(seasonal - x)[0, 100:116].max()
    err_l = np.abs(linear - x)[0, 100:116].max()
    assert err_s < 0.01 < err_l
    np.testing.assert_array_equal(seasonal[0, :100], x[0, :100])  # observed points are kept
    with pytest.raises(ValueError, match="period"):
        seasonal_linear_fill(masked, 0)


@pytest.mark.parametrize(
    ("t_len", "n_steps", "stride"), [(512, 64, 32), (512, 64, 64), (500, 64, 32), (64, 64, 32)]
)
def test_saits_chunks_cover_every_point_once(t_len: int, n_steps: int, stride: int) -> None:
    starts, lo, hi = _chunk_starts(t_len, n_steps, stride)
    covered = np.zeros(t_len, dtype=int)
    for s, a, b in zip(starts, lo, hi, strict=True):
        assert s <= a < b <= s + n_steps
        covered[a:b] += 1
    assert np.all(covered == 1)


def test_saits_trains_one_epoch_and_imputes(no_network: None) -> None:
    rng = np.random.default_rng(0)
    t = np.arange(900)
    table = np.stack([np.sin(2 * np.pi * t / 24), np.cos(2 * np.pi * t / 12)], axis=1)
    table = table + 0.05 * rng.standard_normal(table.shape)
    setup = ImputeSetup(period=24, train=table[:600].T, val=table[600:].T, seed=0, quick=True, epochs=1)
    impute = saits_factory(setup)
    assert setup.info["max_epochs"] == 1 and setup.info["train_chunks"] > 0
    windows = np.stack([table[600:856, 0], table[644:900, 1]])
    masked = windows.copy()
    masked[:, 40:48] = np.nan
    masked[:, 200] = np.nan
    filled = impute(masked)
    assert filled.shape == windows.shape and np.all(np.isfinite(filled))
    observed = ~np.isnan(masked)
    np.testing.assert_array_equal(filled[observed], windows[observed])


# --------------------------------------------------------------------------------------- forecasters


def test_seasonal_naive_matches_statsforecast() -> None:
    from statsforecast.models import SeasonalNaive

    rng = np.random.default_rng(0)
    contexts = rng.standard_normal((3, 100))
    ours = seasonal_naive_forecast(contexts, 30, 24)
    for row, fc in zip(contexts, ours, strict=True):
        ref = SeasonalNaive(season_length=24).forecast(y=row, h=30)["mean"]
        np.testing.assert_allclose(fc, ref)
    np.testing.assert_allclose(seasonal_naive_forecast(contexts, 5, 500), np.repeat(contexts[:, -1:], 5, 1))


def test_ets_and_fracast_give_quantiles_around_their_point(no_network: None) -> None:
    t = np.arange(300)
    contexts = np.stack([np.sin(2 * np.pi * t / 24), np.cos(2 * np.pi * t / 24) + 0.01 * t])
    for name in ("autoets_zza", "fracast"):
        out = FORECASTERS[name](ForecastSetup(period=24))(contexts, 60)
        assert out.point.shape == (2, 60) and out.quantiles is not None
        assert out.quantiles.shape == (2, 60, 9) and np.all(np.isfinite(out.quantiles))
        np.testing.assert_allclose(out.point, out.quantiles[..., 4])
        # ETS: Gaussian intervals, ordered. fracast's quantiles can cross; they are used as returned.
        if name == "autoets_zza":
            assert np.all(np.diff(out.quantiles, axis=-1) >= 0)


# ----------------------------------------------------------------------------------- stride choices


def test_strides_avoid_the_patch_and_season_phase() -> None:
    assert imputation.choose_stride(imputation.MAX_WINDOWS, 24, quick=False) == 1
    for n, period in ((2881, 24), (11521, 96), (1518, 7), (50_000, 144)):
        s = imputation.choose_stride(n, period, quick=False)
        assert math.gcd(s, 8 * 24 * period) == 1 and n / s <= imputation.MAX_WINDOWS
    assert math.gcd(imputation.QUICK_STRIDE, 24) == 1
    for n, period in ((2785, 24), (11425, 96), (170, 52)):
        s = forecasting.choose_stride(n, period, quick=False)
        assert s == 1 or math.gcd(s, period) == 1
    assert forecasting.choose_setting(8640, 2880) == forecasting.LONG
    assert forecasting.choose_setting(676, 193) == forecasting.SHORT
    assert forecasting.choose_setting(40, 20) is None


# ------------------------------------------------------------------------------------------- suites


def test_imputation_quick_on_the_mini_folder(
    mini_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    monkeypatch.setattr(imputers, "_SAITS_EPOCHS_QUICK", 1)
    payload = run_suite("imputation", mini_data_dir, quick=True, out_dir=tmp_path)
    assert json.loads((tmp_path / "imputation-quick.json").read_text())["suite"] == "imputation"
    assert payload["skipped"] == []
    for method in imputation.METHODS:
        for kind in imputation.MASKS:
            for ratio in (*imputation.QUICK_RATIOS, "avg"):
                rows = _rows(payload, dataset="toy_hourly", method=method, mask=kind, ratio=ratio)
                assert {r["metric"] for r in rows} == {"mse", "mae"}
                assert all(math.isfinite(r["value"]) and r["value"] >= 0 for r in rows)
    assert _rows(payload, method="saits", metric="fit_seconds")

    def avg(method: str, kind: str) -> float:
        return _rows(payload, method=method, mask=kind, ratio="avg", metric="mse")[0]["value"]

    # The toy channels are smooth (noise 0.1 on unit waves): linear interpolation is far better than
    # filling with the train mean (MSE about 1 in standardised units), and the seasonal fill beats
    # linear on whole-patch gaps of a 24-hour wave.
    assert avg("linear_interp", "hybrid") < 0.5
    assert avg("seasonal_linear", "block") < avg("linear_interp", "block")
    assert any("stride 97" in n for n in payload["notes"])


def test_imputation_split_option_scores_the_validation_rows(
    mini_data_dir: Path, tmp_path: Path, no_network: None
) -> None:
    kw = {"quick": True, "methods": ["linear_interp", "tinypulse", "tinypulse_blend"]}
    test = run_suite("imputation", mini_data_dir, out_dir=tmp_path / "test", **kw)
    val = run_suite("imputation", mini_data_dir, out_dir=tmp_path / "val", options={"split": "val"}, **kw)
    assert val["options"] == {"split": "val"} and any("split=val" in n for n in val["notes"])
    assert any("windows over the val rows" in n for n in val["notes"])
    assert not any("split=val" in n for n in test["notes"])

    def mse(payload: dict, method: str) -> list[float]:
        return [r["value"] for r in _rows(payload, method=method, metric="mse")]

    assert len(mse(val, "tinypulse_blend")) == len(mse(test, "tinypulse_blend")) > 0
    assert mse(val, "linear_interp") != mse(test, "linear_interp")  # other rows, other scores
    with pytest.raises(ValueError, match="split must be"):
        run_suite("imputation", mini_data_dir, out_dir=tmp_path / "bad", options={"split": "train"}, **kw)


def test_imputation_skips_short_and_unknown(tmp_path: Path, no_network: None) -> None:
    import pandas as pd

    folder = tmp_path / "data" / "short"
    folder.mkdir(parents=True)
    n = 900
    pd.DataFrame(
        {"date": pd.date_range("2020-01-01", periods=n, freq="W"), "x": np.sin(np.arange(n) / 5.0)}
    ).to_csv(folder / "weekly.csv", index=False)
    payload = run_suite(
        "imputation",
        tmp_path / "data",
        quick=True,
        methods=["linear_interp", "nope"],
        out_dir=tmp_path / "out",
    )
    reasons = dict(payload["skipped"])
    assert "rows <" in reasons["weekly"] and "unknown imputation method" in reasons["nope"]
    assert payload["rows"] == []


def test_forecasting_quick_on_the_mini_folder(mini_data_dir: Path, tmp_path: Path, no_network: None) -> None:
    from tinyts.models.base import bundled_names

    payload = run_suite("forecasting", mini_data_dir, quick=True, out_dir=tmp_path)
    methods = list(forecasting.METHODS)
    if "tinycast" not in bundled_names():  # recorded as skipped, with the reason, until it ships
        (case, reason), *others = payload["skipped"]
        assert case == "toy_hourly / tinycast" and "no bundled 'tinycast'" in reason and not others
        methods.remove("tinycast")
    else:
        assert payload["skipped"] == []
    horizon = forecasting.SHORT[1][0]  # the toy's test split (480 rows) gets the short setting
    for method in methods:
        rows = _rows(payload, dataset="toy_hourly", method=method, horizon=horizon)
        assert {r["metric"] for r in rows} == {"mse", "mae", "mase", "crps"}
        assert all(math.isfinite(r["value"]) and r["value"] >= 0 for r in rows)
        assert _rows(payload, method=method, metric="predict_seconds")

    def value(method: str, metric: str) -> float:
        return _rows(payload, method=method, metric=metric, horizon=horizon)[0]["value"]

    # On a clean 24-hour wave every peer should be well under a flat forecast's MASE of ~1.5-2.
    assert value("seasonal_naive", "mase") < 1.5
    assert value("fracast", "mse") < value("seasonal_naive", "mse") * 2


def test_forecast_origins_and_prefix_scoring(mini_data_dir: Path) -> None:
    from tinyts.data.io.ltsf import read_ltsf_csv

    table = read_ltsf_csv(mini_data_dir / "toy_ltsf" / "toy_hourly.csv")
    data = forecasting._Data(table, 104, (24, 36, 48, 60), quick=False)
    room = data.segment.shape[1] - 104 - data.starts
    assert np.all(data.h_max <= room) and np.all(np.isin(data.h_max, (24, 36, 48, 60)))
    ctx, tgt, chan = data.series(data.starts[:2], 24)
    assert ctx.shape == (2 * table.values.shape[0], 104) and tgt.shape == (ctx.shape[0], 24)
    first = data.starts[0] + 104
    np.testing.assert_array_equal(tgt[1, :3], data.segment[chan[1], first : first + 3])
    fn = FORECASTERS["seasonal_naive"](ForecastSetup(period=24))
    merged, _ = forecasting._forecast_all(fn, data)
    for h in data.horizons:
        direct, _, _ = data.series(data.starts[data.h_max >= h], h)
        np.testing.assert_allclose(merged[h][0], seasonal_naive_forecast(direct, h, 24))


def test_speed_quick(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: None) -> None:
    small = {
        "tspulse_ref": speed.SpeedMethod("impute", speed.METHODS["tspulse_ref"].build, batches=(1, 2)),
        "fracast": speed.SpeedMethod("forecast", speed.METHODS["fracast"].build, batches=(1,)),
        "synth_ts": speed.SpeedMethod("synth", speed.METHODS["synth_ts"].build, batches=(100,)),
        "tinypulse": speed.SpeedMethod("impute", speed.METHODS["tinypulse"].build, batches=(1, 2)),
        "tspulse_ref_detect": speed.SpeedMethod(
            "detect", speed.METHODS["tspulse_ref_detect"].build, batches=(4,)
        ),
        "tinypulse_detect": speed.SpeedMethod(
            "detect", speed.METHODS["tinypulse_detect"].build, batches=(600,)
        ),
    }
    monkeypatch.setattr(speed, "METHODS", small)
    payload = run_suite("speed", None, quick=True, out_dir=tmp_path)
    assert payload["skipped"] == []
    for name, method in small.items():
        for batch in method.batches:
            rows = [r for r in _rows(payload, method=name, batch=batch) if r["metric"] != "speedup"]
            assert {r["metric"] for r in rows} == {"latency_ms", "throughput", "peak_mem_mb"}
            assert all(math.isfinite(r["value"]) and r["value"] > 0 for r in rows)
    assert _rows(payload, method="tspulse_ref", metric="params")[0]["value"] == 1_061_934
    # speedups against the task's reference: same batch for impute, points per second for detect
    assert {r["batch"] for r in _rows(payload, method="tinypulse", metric="speedup")} == {1, 2}
    (detect,) = _rows(payload, method="tinypulse_detect", metric="speedup")
    assert (
        detect["reference"] == "tspulse_ref_detect" and detect["reference_batch"] == 4 and detect["value"] > 0
    )
    assert any("torch threads" in n for n in payload["notes"])


def test_tinycast_forecaster_shapes_and_skip_when_not_bundled(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from tinyts.bench import ours
    from tinyts.models.base import bundled_names
    from tinyts.models.cast import CastConfig, TinyCast
    from tinyts.testing import TINY_CAST

    if "tinycast" not in bundled_names():
        with pytest.raises(ours.NotBundled, match="tinycast"):
            ours.cast_forecaster(ForecastSetup(period=24))
    torch.manual_seed(0)
    tiny = TinyCast(CastConfig(**{**TINY_CAST, "num_layers": 3})).eval()
    monkeypatch.setattr(ours, "bundled_model", lambda name: tiny)
    setup = ForecastSetup(period=24)
    out = ours.cast_forecaster(setup)(np.random.default_rng(0).standard_normal((3, 100)).cumsum(axis=1), 20)
    assert out.point.shape == (3, 20) and out.quantiles is not None and out.quantiles.shape == (3, 20, 9)
    assert np.all(np.diff(out.quantiles, axis=-1) >= -1e-9)  # quantiles come back ordered
    np.testing.assert_allclose(out.point, out.quantiles[..., 4])  # the point forecast is the median
    assert setup.info["params"] == tiny.num_parameters()
    # each context is its own univariate series: a row's forecast does not depend on the other rows
    ctx = np.random.default_rng(0).standard_normal((3, 100)).cumsum(axis=1)
    alone = ours.cast_forecaster(setup)(ctx[:1], 20)
    np.testing.assert_allclose(alone.point, ours.cast_forecaster(setup)(ctx, 20).point[:1], atol=1e-5)
