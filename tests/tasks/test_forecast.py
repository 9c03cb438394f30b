"""TinyCast forecasting: every input form, NaN and ragged histories, SIFI, symmetry, long horizons,
bad inputs, the DataFrame twin and the `tinyts forecast` command (tiny random-init models)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from tinyts.cli.main import app
from tinyts.models.cast import CastConfig, TinyCast
from tinyts.tasks.forecast.api import forecast, forecast_df
from tinyts.testing import TINY_CAST

LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
CFG = {**TINY_CAST, "num_layers": 3, "coarse_horizon": 48}


def _make(**kw: object) -> TinyCast:
    torch.manual_seed(0)
    return TinyCast(CastConfig(**{**CFG, **kw})).eval()  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def model() -> TinyCast:
    return _make()


def _wave(n: int, seed: int = 0, level: float = 10.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return level + 3 * np.sin(2 * np.pi * t / 12) + 0.3 * rng.standard_normal(n)


# ------------------------------------------------------------------------- shapes


def test_shapes_for_every_input_form(model: TinyCast) -> None:
    r = forecast(model, _wave(100), 20)
    assert r.mean.shape == (20,) and r.quantiles.shape == (20, 9) and r.levels == LEVELS
    r = forecast(model, np.stack([_wave(100, 1), _wave(100, 2)]), 20, quantiles=(0.1, 0.5, 0.9))
    assert r.mean.shape == (2, 20) and r.quantiles.shape == (2, 20, 3) and r.levels == (0.1, 0.5, 0.9)
    r = forecast(model, np.random.default_rng(0).standard_normal((3, 2, 50)), 12)
    assert r.mean.shape == (3, 2, 12) and r.quantiles.shape == (3, 2, 12, 9)
    assert r.quantile(0.5).shape == (3, 2, 12)
    r = forecast(model, [_wave(30), _wave(90, 1)], 10)
    assert [a.shape for a in r.mean] == [(10,), (10,)]
    assert [a.shape for a in r.quantiles] == [(10, 9), (10, 9)]
    r = forecast(model, [np.stack([_wave(30), _wave(30, 1)]), np.stack([_wave(70), _wave(70, 2)])], 10)
    assert [a.shape for a in r.mean] == [(2, 10), (2, 10)]
    t = forecast(model, torch.tensor(_wave(80), dtype=torch.float32), 9)
    assert isinstance(t.mean, torch.Tensor) and t.mean.shape == (9,) and t.mean.dtype == torch.float32


def test_quantiles_are_sorted_finite_and_mean_is_their_average(model: TinyCast) -> None:
    r = forecast(model, np.stack([_wave(120), _wave(120, 3) * 100]), 40)
    q = r.quantiles
    assert np.isfinite(q).all() and (np.diff(q, axis=-1) >= 0).all()
    np.testing.assert_allclose(r.mean, q.mean(-1))
    sub = forecast(model, np.stack([_wave(120), _wave(120, 3) * 100]), 40, quantiles=(0.9, 0.1))
    np.testing.assert_allclose(sub.quantiles[..., 0], q[..., 8])
    np.testing.assert_allclose(sub.mean, r.mean)  # the mean always uses every level


def test_model_methods_delegate(model: TinyCast) -> None:
    x = _wave(70)
    np.testing.assert_allclose(model.forecast(x, 16).mean, forecast(model, x, 16).mean)
    df = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2024", periods=70, freq="D"), "y": x})
    pd.testing.assert_frame_equal(model.forecast_df(df, 5), forecast_df(model, df, 5))


# ------------------------------------------------------------------------- history handling


def test_short_history_is_left_padded_and_leading_nan_is_the_same(model: TinyCast) -> None:
    x = _wave(30)
    a = forecast(model, x, 16).quantiles
    b = forecast(model, np.concatenate([np.full(20, np.nan), x]), 16).quantiles
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_nan_in_history_is_unobserved(model: TinyCast) -> None:
    x = _wave(100)
    holed = x.copy()
    holed[[5, 40, 41, 42, 90]] = np.nan
    r = forecast(model, holed, 24)
    assert np.isfinite(r.quantiles).all()
    assert not np.allclose(r.mean, forecast(model, np.nan_to_num(holed), 24).mean)


def test_ragged_list_equals_items_alone(model: TinyCast) -> None:
    items = [_wave(25), _wave(64, 1), _wave(50, 2)]
    together = forecast(model, items, 12, sifi=False)
    for item, q in zip(items, together.quantiles, strict=True):
        np.testing.assert_allclose(q, forecast(model, item, 12, sifi=False).quantiles, rtol=1e-5, atol=1e-5)


def test_sifi_switch(model: TinyCast) -> None:
    x = _wave(64 * 3 + 5)
    off = forecast(model, x, 30, sifi=False).quantiles
    np.testing.assert_allclose(off, forecast(model, x[-64:], 30, sifi=False).quantiles, rtol=1e-6)
    on = forecast(model, x, 30, sifi=True).quantiles
    assert not np.allclose(on, off)
    np.testing.assert_allclose(on[0], off[0], rtol=0.05, atol=0.5)  # lead 1: mostly the stride-1 view
    np.testing.assert_allclose(forecast(model, x, 30, sifi_weight=0.0).quantiles, off)
    short = _wave(60)  # no longer than the context: SIFI does nothing
    np.testing.assert_allclose(
        forecast(model, short, 30).quantiles, forecast(model, short, 30, sifi=False).quantiles
    )


def test_symmetry_makes_the_forecast_odd(model: TinyCast) -> None:
    x = _wave(90)
    pos = forecast(model, x, 20, symmetry=True).quantiles
    neg = forecast(model, -x, 20, symmetry=True).quantiles
    np.testing.assert_allclose(neg, -pos[..., ::-1], rtol=1e-5, atol=1e-4)
    raw = forecast(model, x, 20, symmetry=False).quantiles
    assert not np.allclose(raw, pos)


def test_batch_size_only_changes_the_chunking(model: TinyCast) -> None:
    x = np.random.default_rng(1).standard_normal((5, 2, 90)).cumsum(-1)
    np.testing.assert_allclose(
        forecast(model, x, 20, batch_size=2).quantiles, forecast(model, x, 20).quantiles, rtol=1e-5, atol=1e-5
    )


def test_multivariate_switch(model: TinyCast) -> None:
    x = np.stack([_wave(64), _wave(64, 1) * 2])
    joint = forecast(model, x, 8).quantiles
    alone = forecast(model, x, 8, multivariate=False).quantiles
    np.testing.assert_allclose(alone[0], forecast(model, x[0], 8).quantiles, rtol=1e-5, atol=1e-5)
    assert not np.allclose(joint, alone)


# ------------------------------------------------------------------------- horizons


@pytest.mark.parametrize("strategy", ["auto", "hybrid", "rollout", "coarse", "anchored"])
def test_horizons_beyond_one_patch_and_beyond_the_coarse_reach(model: TinyCast, strategy: str) -> None:
    x = _wave(100)
    for h in (1, 8, 20, 48, 130):
        r = forecast(model, x, h, strategy=strategy, near_steps=16)
        assert r.quantiles.shape == (h, 9) and np.isfinite(r.quantiles).all()
    first = forecast(model, x, 8, strategy="rollout").quantiles
    np.testing.assert_allclose(forecast(model, x, 40, strategy=strategy).quantiles[:8], first, rtol=1e-5)


def test_strategies_differ_and_hybrid_with_long_near_equals_rollout(model: TinyCast) -> None:
    x = _wave(100)
    roll = forecast(model, x, 40, strategy="rollout").quantiles
    coarse = forecast(model, x, 40, strategy="coarse").quantiles
    assert not np.allclose(roll[8:], coarse[8:])
    np.testing.assert_allclose(forecast(model, x, 40, strategy="hybrid", near_steps=40).quantiles, roll)
    hybrid = forecast(model, x, 40, strategy="hybrid", near_steps=16).quantiles
    np.testing.assert_allclose(hybrid[:16], roll[:16])
    anchored = forecast(model, x, 40, strategy="anchored", near_steps=16).quantiles
    np.testing.assert_allclose(anchored[:16], roll[:16])
    assert not np.allclose(anchored[24:], roll[24:])
    np.testing.assert_allclose(forecast(model, x, 40, strategy="anchored", near_steps=40).quantiles, roll)


def test_model_without_coarse_head_rolls_out() -> None:
    m = _make(coarse_horizon=0)
    x = _wave(80)
    auto = forecast(m, x, 30).quantiles
    np.testing.assert_allclose(auto, forecast(m, x, 30, strategy="rollout").quantiles)
    with pytest.raises(ValueError, match="coarse head"):
        forecast(m, x, 30, strategy="hybrid")


# ------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("x", "kw", "err", "match"),
    [
        (np.full(20, np.nan), {}, ValueError, "entirely NaN"),
        (np.array([1.0, np.inf, 2.0]), {}, ValueError, "infinite"),
        (np.array([]), {}, ValueError, "empty"),
        (np.array([np.nan, 3.0, np.nan]), {}, ValueError, "at least 2 observed"),
        (np.ones((2, 3, 1)), {}, ValueError, "at least 2 observed"),
        (np.array(["a", "b"]), {}, TypeError, "not numeric"),
        (np.arange(10.0), {"horizon": 0}, ValueError, "horizon"),
        (np.arange(10.0), {"quantiles": (0.05,)}, ValueError, "levels among"),
        (np.arange(10.0), {"quantiles": ()}, ValueError, "at least one level"),
        (np.arange(10.0), {"strategy": "direct"}, ValueError, "strategy"),
        (np.arange(10.0), {"near_steps": 0}, ValueError, "near_steps"),
        (np.arange(10.0), {"sifi_weight": 2.0}, ValueError, "sifi_weight"),
    ],
)
def test_bad_inputs_raise_clear_errors(
    model: TinyCast, x: np.ndarray, kw: dict[str, object], err: type[Exception], match: str
) -> None:
    horizon = kw.pop("horizon", 5)
    with pytest.raises(err, match=match):
        forecast(model, x, horizon, **kw)  # type: ignore[arg-type]


def test_wrong_model_type() -> None:
    with pytest.raises(TypeError, match="TinyCast"):
        forecast(torch.nn.Linear(2, 2), np.arange(10.0), 3)  # type: ignore[arg-type]


# ------------------------------------------------------------------------- DataFrames


def _long(n_a: int = 60, n_b: int = 45) -> pd.DataFrame:
    a = pd.DataFrame(
        {"unique_id": "a", "ds": pd.date_range("2024-01-01", periods=n_a, freq="h"), "y": _wave(n_a)}
    )
    b = pd.DataFrame(
        {
            "unique_id": "b",
            "ds": pd.date_range("2024-03-01", periods=n_b, freq="D"),
            "y": _wave(n_b, 1, 100.0),
        }
    )
    return pd.concat([a, b], ignore_index=True)


def test_forecast_df_columns_and_future_timestamps(model: TinyCast) -> None:
    df = _long()
    out = forecast_df(model, df, 6, quantiles=(0.1, 0.5, 0.9))
    assert list(out.columns) == ["unique_id", "ds", "mean", "0.1", "0.5", "0.9"]
    assert list(out["unique_id"]) == ["a"] * 6 + ["b"] * 6
    a_last, b_last = df["ds"].iloc[59], df["ds"].iloc[-1]
    assert list(out["ds"][:6]) == list(pd.date_range(a_last, periods=7, freq="h")[1:])
    assert list(out["ds"][6:]) == list(pd.date_range(b_last, periods=7, freq="D")[1:])
    ref = forecast(model, [_wave(60), _wave(45, 1, 100.0)], 6)
    np.testing.assert_allclose(out["mean"].to_numpy(), np.concatenate(ref.mean), rtol=1e-6)
    np.testing.assert_allclose(out["0.9"].to_numpy()[6:], ref.quantiles[1][:, 8], rtol=1e-6)


def test_forecast_df_custom_columns_and_several_targets(model: TinyCast) -> None:
    df = _long().rename(columns={"unique_id": "item", "ds": "when"})
    df["z"] = df["y"] * 2
    out = forecast_df(model, df, 4, id_col="item", time_col="when", target_col=["y", "z"], quantiles=(0.5,))
    assert list(out.columns) == ["item", "when", "target_name", "mean", "0.5"]
    assert list(out["target_name"][:8]) == ["y"] * 4 + ["z"] * 4
    assert list(out["item"]) == ["a"] * 8 + ["b"] * 8
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        forecast_df(model, df, 4, id_col="item", time_col="when", colour="red")
    with pytest.raises(ValueError, match="no column"):
        forecast_df(model, df, 4)


def test_forecast_df_fails_before_the_model_runs_when_a_future_cannot_be_dated(
    model: TinyCast, monkeypatch: pytest.MonkeyPatch
) -> None:
    import warnings

    import tinyts.tasks.forecast.api as api

    df = _long()
    semi = pd.Series(pd.date_range("2020-01-01", periods=60, freq="SMS"))  # pandas infers no step
    df.loc[df["unique_id"] == "a", "ds"] = semi.to_numpy()

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model ran")

    monkeypatch.setattr(api, "_run", never)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match=r"series 'a'.*pass freq="):
            forecast_df(model, df, 3)
    assert not [w for w in said if "consecutive steps" in str(w.message)]  # only the error, no contradiction
    monkeypatch.undo()
    out = forecast_df(model, df[df["unique_id"] == "a"], 3, freq="SMS")
    assert list(out["ds"]) == list(pd.date_range(semi.iloc[-1], periods=4, freq="SMS")[1:])


# ------------------------------------------------------------------------- CLI


def test_cli_forecast(tmp_path: Path, model: TinyCast) -> None:
    folder = model.save_pretrained(tmp_path / "cast")
    n = 150
    src = tmp_path / "x.csv"
    vals = {"a": _wave(n), "b": _wave(n, 2, 50.0)}
    vals["a"][[3, 4, 77]] = np.nan
    pd.DataFrame({"date": pd.date_range("2024-01-01", periods=n, freq="h"), **vals}).to_csv(src, index=False)
    out, png = tmp_path / "f.csv", tmp_path / "f.png"
    res = CliRunner().invoke(
        app,
        [
            "forecast",
            str(src),
            "--horizon",
            "24",
            "--model",
            str(folder),
            "--out",
            str(out),
            "--plot",
            str(png),
        ],
    )
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out, parse_dates=["date"])
    assert list(got.columns) == [
        "date",
        "a_mean",
        "a_0.1",
        "a_0.5",
        "a_0.9",
        "b_mean",
        "b_0.1",
        "b_0.5",
        "b_0.9",
    ]
    assert len(got) == 24 and got.notna().all().all()
    assert got["date"].iloc[0] == pd.Timestamp("2024-01-01") + pd.Timedelta(hours=n)
    assert png.stat().st_size > 1000
    res = CliRunner().invoke(
        app, ["forecast", str(src), "--horizon", "5", "--model", str(folder), "--quantiles", "0.25"]
    )
    assert res.exit_code == 2 and "not available" in res.output


def test_cli_forecast_without_bundled_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tinyts.models.base as base

    monkeypatch.setattr(base, "bundled_names", lambda: [])
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "x.csv"
    pd.DataFrame({"a": _wave(40)}).to_csv(src, index=False)
    res = CliRunner().invoke(app, ["forecast", str(src), "--horizon", "5"])
    assert res.exit_code == 2
    assert "tinyts pretrain tinycast" in res.output


def test_coarse_curve_and_anchor_rules() -> None:
    from tinyts.tasks.forecast.engine import _anchor, _coarse_curve

    coarse = torch.tensor([0.0, 8.0, 16.0]).reshape(1, 1, 3, 1)  # block means of a line with slope 1
    curve = _coarse_curve(coarse, 8, 24)[0, 0, :, 0]
    # block centres at leads 3.5, 11.5, 19.5 hit the block values; flat outside the first/last centre
    np.testing.assert_allclose(curve[:4].numpy(), 0.0)
    np.testing.assert_allclose(curve[20:].numpy(), 16.0)
    np.testing.assert_allclose(curve[4:20].numpy(), np.arange(4, 20) - 3.5, atol=1e-6)
    roll = torch.zeros(1, 1, 24, 3)  # a flat rolled-out path, 3 quantile levels
    target = torch.full((1, 1, 3, 3), 5.0)
    out = _anchor(roll, target, 8, 1, near=8)[0, 0]
    np.testing.assert_allclose(out[:8].numpy(), 0.0)  # before near_steps: the rollout itself
    np.testing.assert_allclose(out[16:].numpy(), 5.0, atol=1e-6)  # after one block: the coarse level


def test_divergent_rollout_stays_within_the_history_band(
    model: TinyCast, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tinyts.tasks.forecast import engine as forecast_engine

    def exploding(m: TinyCast, v: torch.Tensor, o: torch.Tensor, symmetry: bool) -> tuple[torch.Tensor, None]:
        # positive feedback: every patch is 3x the last value, so a plain rollout grows 3^k
        nxt = 3.0 * v[..., -1:, None].expand(*v.shape[:-1], m.config.patch_length, len(m.config.quantiles))
        return nxt.contiguous(), None

    monkeypatch.setattr(forecast_engine, "quantile_heads", exploding)
    x = 1.0 + 0.5 * np.sin(np.arange(64) / 3.0)  # history in [0.5, 1.5]: range 1
    res = forecast(model, x, 64, strategy="rollout", sifi=False, symmetry=False)
    q = np.asarray(res.quantiles)
    assert np.isfinite(q).all()
    p = model.config.patch_length
    band = x.max() + forecast_engine.ROLLOUT_BAND * (x.max() - x.min())
    assert q[p:].max() <= band + 1e-5  # without the guard: 3^8 times the last value by the end
    np.testing.assert_allclose(q[:p], 3.0 * x[-1], rtol=1e-5)  # the first patch (real history) is kept


def test_the_band_is_the_real_historys_beyond_the_coarse_reach(
    model: TinyCast, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tinyts.tasks.forecast import engine as forecast_engine

    c = model.config
    q_n = len(c.quantiles)

    def exploding(
        m: TinyCast, v: torch.Tensor, o: torch.Tensor, symmetry: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # every patch and coarse block 3x the last value: each chunk of `coarse_horizon` steps starts from
        # the last one's forecasts, which used to widen the band chunk by chunk
        last = 3.0 * v[..., -1:, None]
        fine = last.expand(*v.shape[:-1], c.patch_length, q_n).contiguous()
        coarse = last.expand(*v.shape[:-1], c.coarse_horizon // c.coarse_block, q_n).contiguous()
        return fine, coarse

    monkeypatch.setattr(forecast_engine, "quantile_heads", exploding)
    x = 1.0 + 0.5 * np.sin(np.arange(64) / 3.0)  # history in [0.5, 1.5]: range 1
    horizon = 6 * c.coarse_horizon
    res = forecast(model, x, horizon, strategy="anchored", sifi=False, symmetry=False)
    q = np.asarray(res.quantiles)
    band = x.max() + forecast_engine.ROLLOUT_BAND * (x.max() - x.min())
    assert np.isfinite(q).all() and q.shape[0] == horizon
    assert q[c.coarse_horizon :].max() <= band + 1e-5  # every later chunk, not only its rolled-out patches
