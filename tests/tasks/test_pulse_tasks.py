"""TinyPulse tasks on a small random model: contracts (shapes, observed values kept, alignment, errors)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tinyts.models.pulse import PulseConfig, TinyPulse
from tinyts.testing import TINY_PULSE

CFG = PulseConfig(**{**TINY_PULSE, "fft_patch_length": 16, "num_layers": 1, "forecast_length": 8})


@pytest.fixture(scope="module")
def model() -> TinyPulse:
    torch.manual_seed(0)
    return TinyPulse(CFG).eval()


def _series(n: int = 300, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sin(np.arange(n) / 5.0) + 0.1 * rng.standard_normal(n)


@pytest.mark.parametrize("shape", [(300,), (2, 300), (3, 2, 200), (40,)])
def test_impute_fills_nan_and_keeps_observed(model: TinyPulse, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).cumsum(-1)
    hidden = rng.random(shape) < 0.2
    x_missing = np.where(hidden, np.nan, x)
    out = model.impute(x_missing, stride=16)
    assert out.shape == x.shape
    assert not np.isnan(out).any()
    np.testing.assert_array_equal(out[~hidden], x[~hidden])


def test_impute_ragged_list_and_long_gap(model: TinyPulse) -> None:
    a, b = _series(150), _series(400)
    b[100:300] = np.nan  # a gap much longer than the context: falls back to linear interpolation
    out = model.impute([a, b])
    assert [o.shape for o in out] == [(150,), (400,)]
    assert not np.isnan(out[1]).any()
    # points farther than one context (64) from any observation are linearly interpolated between
    # the nearest model-filled points, so the middle of the gap is a straight line
    np.testing.assert_allclose(np.diff(out[1][170:230], 2), 0.0, atol=1e-9)


def test_impute_test_time_views_are_the_mean_of_four_mapped_back_passes(model: TinyPulse) -> None:
    from tinyts.tasks.pulse.impute import reconstruct

    rng = np.random.default_rng(3)
    x = _series(64, seed=3)  # one window of the context: reversal maps the window onto itself
    hidden = rng.random(64) < 0.3
    obs = ~hidden[None, :]
    vals = np.where(obs, x[None, :], 0.0)
    one = lambda v, o: reconstruct(model, v, o, tta=False)  # noqa: E731
    r = lambda a: np.ascontiguousarray(a[:, ::-1])  # noqa: E731
    expected = (one(vals, obs) - one(-vals, obs) + r(one(r(vals), r(obs))) - r(one(r(-vals), r(obs)))) / 4
    np.testing.assert_allclose(reconstruct(model, vals, obs, tta=True), expected, rtol=1e-5, atol=1e-5)
    # the four views are closed under negation and reversal, so the fill is odd and reversal-symmetric
    x_missing = np.where(hidden, np.nan, x)
    out = model.impute(x_missing)  # tta=True is the default
    np.testing.assert_allclose(model.impute(-x_missing), -out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.impute(x_missing[::-1].copy())[::-1], out, rtol=1e-5, atol=1e-5)
    single = model.impute(x_missing, tta=False)
    np.testing.assert_array_equal(single[~hidden], out[~hidden])
    assert not np.allclose(single[hidden], out[hidden])


def test_anomaly_test_time_views_make_scores_sign_invariant(model: TinyPulse) -> None:
    x = _series(400, seed=5)
    x[200:204] += 3.0
    plain = model.anomaly_scores(x)
    with_views = model.anomaly_scores(x, tta=True)
    assert with_views.shape == plain.shape and np.isfinite(with_views).all()
    assert not np.allclose(with_views, plain)
    # every head's output is averaged over views closed under negation: -x gets the same errors
    np.testing.assert_allclose(model.anomaly_scores(-x, tta=True), with_views, rtol=1e-4, atol=1e-4)


def test_views_forward_with_one_view_is_one_plain_pass(model: TinyPulse) -> None:
    from tinyts.tasks.pulse.views import ONE_VIEW, views_forward

    rng = np.random.default_rng(4)
    x = torch.from_numpy(rng.standard_normal((3, 1, 64)).astype(np.float32))
    o = torch.from_numpy(rng.random((3, 1, 64)) > 0.2)
    with torch.no_grad():
        out = model(x, o)
        got = views_forward(model, x, o, ONE_VIEW)
    for name in ("recon", "recon_fft", "forecast"):
        torch.testing.assert_close(got[name], model.denormalize(out[name], out), rtol=0, atol=0)
    with pytest.raises(ValueError, match="direction"):
        views_forward(model, x, o, ((1.0, True),))


def test_impute_rejects_bad_input(model: TinyPulse) -> None:
    with pytest.raises(ValueError, match="inf"):
        model.impute(np.array([1.0, np.inf, 2.0]))
    with pytest.raises(ValueError):
        model.impute(np.full(10, np.nan))
    with pytest.raises(TypeError):
        model.impute(np.array(["a", "b"]))


def _scored(model: TinyPulse, x: np.ndarray, mode: str, **kwargs: int) -> np.ndarray:
    """The points a mode's stream scores (the forecast head: none in its first context)."""
    from tinyts.tasks.pulse.anomaly import scored_points, window_errors

    return scored_points(window_errors(model, x, agg=16, **kwargs), mode)


@pytest.mark.parametrize("mode", ["time", "fft", "forecast", "ensemble"])
def test_anomaly_scores_one_per_point_robust_or_unit_range(model: TinyPulse, mode: str) -> None:
    x = _series(500)
    s = model.anomaly_scores(x, mode=mode, agg=16)
    assert s.shape == (500,) and np.isfinite(s).all()
    scored = _scored(model, x, mode)
    assert abs(float(np.median(s[scored]))) < 1e-9  # robust: 0 = the series' typical score
    u = model.anomaly_scores(x, mode=mode, agg=16, scale="minmax")
    assert u.min() >= 0.0 and u.max() == 1.0
    np.testing.assert_array_equal(np.argsort(u, kind="stable"), np.argsort(s, kind="stable"))


def test_forecast_scores_are_scaled_by_the_points_the_head_scores(model: TinyPulse) -> None:
    # the forecast head has no score over the first context: on a series shorter than two contexts those
    # points were most of the stream, so its robust median and spread were 0 and every scored point came
    # out at ~1,000 robust units (a clean 600-point sine had 87 points flagged by the bundled model)
    x = _series(120)  # context 64: the forecast head scores the last 56 points
    scored = _scored(model, x, "forecast")
    assert 0 < scored.sum() < x.size / 2
    s = model.anomaly_scores(x, mode="forecast", agg=16)
    ref = s[scored]
    assert abs(float(np.median(ref))) < 1e-9
    assert 1.4826 * float(np.median(np.abs(ref))) == pytest.approx(1.0)
    assert (s[~scored] <= ref.min() + 1e-12).all()  # unscored points: the head's lowest score


def test_anomaly_scores_multichannel_and_short(model: TinyPulse) -> None:
    x = np.stack([_series(300), _series(300, seed=2)])
    assert model.anomaly_scores(x, agg=16).shape == (300,)
    assert model.anomaly_scores(_series(40), agg=16).shape == (40,)


def test_anomaly_scores_errors(model: TinyPulse) -> None:
    with pytest.raises(ValueError, match="mode"):
        model.anomaly_scores(_series(), mode="bogus")
    with pytest.raises(ValueError, match="multiple of the patch"):
        model.anomaly_scores(_series(), agg=12)
    with pytest.raises(ValueError, match="one series"):
        model.anomaly_scores(np.zeros((2, 2, 100)))


def test_ensemble_fuse_mean_is_the_mean_of_the_heads(model: TinyPulse) -> None:
    from tinyts.tasks.pulse.anomaly import score_channel, window_errors

    # the fusion of min-max heads (head_scale="robust" fuses robust z: test_robust_head_scale_...)
    kw = {"agg": 16, "smooth": 24, "sharpen": 0.0, "boost": 0.0, "head_scale": "minmax"}
    scores = score_channel(model, _series(400), fuse="mean", **kw)
    has_forecast = np.isfinite(window_errors(model, _series(400), agg=16, smooth=24)["forecast"])
    assert not has_forecast[:64].any() and has_forecast[64:].all()  # none in the first context (64)
    heads = np.mean([scores["time"], scores["fft"], scores["forecast"]], axis=0)
    np.testing.assert_allclose(scores["ensemble"][has_forecast], heads[has_forecast])
    first = np.mean([scores["time"], scores["fft"]], axis=0)  # there: the other two heads
    np.testing.assert_allclose(scores["ensemble"][~has_forecast], first[~has_forecast])
    maxed = score_channel(model, _series(400), fuse="max", **kw)
    np.testing.assert_allclose(
        maxed["ensemble"], np.maximum.reduce([maxed["time"], maxed["fft"], maxed["forecast"]])
    )
    with pytest.raises(ValueError, match="fuse"):
        model.anomaly_scores(_series(), fuse="median")
    with pytest.raises(ValueError, match="smooth"):
        model.anomaly_scores(_series(), smooth=0)


def test_robust_head_scale_sees_an_anomaly_that_one_head_cannot() -> None:
    """Min-max heads each contribute a 1.0: an anomaly in the first context, where the forecast head has
    no score, ties with the forecast head's largest normal error elsewhere; robust heads keep it on top."""
    from tinyts.bench.ours import OTHER_HEAD_SCALE
    from tinyts.tasks.pulse.anomaly import HEAD_SCALE, fuse_heads

    rng = np.random.default_rng(0)
    n = 1200
    errors = {k: 0.1 + 0.02 * rng.random(n) for k in ("time", "fft", "forecast")}
    errors["forecast"][:512] = np.nan  # the first context: no forecast score
    for k in ("time", "fft"):
        errors[k][100:110] = 1.0  # the anomaly, seen by the two heads that score there
    spike = slice(100, 110)
    rest = np.r_[600:n]
    mm = fuse_heads(errors, "max", sharpen=0.0, head_scale="minmax")
    rb = fuse_heads(errors, "max", sharpen=0.0, head_scale="robust")
    assert mm["ensemble"][spike].max() == pytest.approx(mm["ensemble"][rest].max())  # a tie: blind spot
    assert rb["ensemble"][spike].min() > 5 * rb["ensemble"][rest].max()
    assert rb["ensemble"].max() == 1.0 and rb["ensemble"].min() == 0.0
    for k in ("time", "fft", "forecast"):  # the head streams are the same either way
        np.testing.assert_array_equal(mm[k], rb[k])
    assert {HEAD_SCALE, OTHER_HEAD_SCALE} == {"minmax", "robust"}  # the benchmark's extra row is the other
    with pytest.raises(ValueError, match="head_scale"):
        fuse_heads(errors, head_scale="zscore")  # type: ignore[arg-type]


def test_window_smoothing_is_a_centred_moving_average() -> None:
    from tinyts.tasks.pulse.anomaly import _smooth

    s = np.zeros(50)
    s[20] = 6.0
    out = _smooth(s, 6)
    assert out.shape == (50,)
    np.testing.assert_allclose(out[18:24], 1.0)  # the spike spread evenly over its 6-point window
    assert out[:18].sum() == 0 and out[24:].sum() == 0
    # the window is capped at the series length and shrinks at the ends (no repeated edge values)
    np.testing.assert_allclose(_smooth(np.arange(3.0), 96), [0.5, 1.0, 1.5])
    # NaN (no error there) is left out of the mean; a window with fewer than half its points finite
    # stays NaN (the forecast stream's start after its empty first context)
    gap = np.array([np.nan, np.nan, np.nan, 4.0, 2.0])
    np.testing.assert_allclose(_smooth(gap, 3), [np.nan, np.nan, 4.0, 3.0, 3.0])
    late = np.concatenate([np.full(10, np.nan), [9.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]])
    out = _smooth(late, 8)  # 4 finite points needed
    assert np.isnan(out[:10]).all() and out[10] == 3.0  # (9 + 1 + 1 + 1) / 4, not 9 alone


def test_constant_series_gets_zero_scores(model: TinyPulse) -> None:
    s = model.anomaly_scores(np.full(200, 3.0), agg=16)
    assert np.isfinite(s).all()


def test_finetuned_scores_leave_the_model_unchanged(model: TinyPulse) -> None:
    from tinyts.tasks.pulse.anomaly import finetuned_anomaly_scores
    from tinyts.train.finetune_anomaly import finetune_on_prefix

    x = _series(400)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    s = finetuned_anomaly_scores(model, x, train_end=200, steps=3)
    assert s.shape == (400,) and np.isfinite(s).all()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    tuned = finetune_on_prefix(model, x, train_end=200, steps=2)
    assert any(not torch.equal(before[k], v) for k, v in tuned.state_dict().items())


def test_finetune_errors(model: TinyPulse) -> None:
    from tinyts.train.finetune_anomaly import finetune_on_prefix

    with pytest.raises(ValueError, match="shorter than the context"):
        finetune_on_prefix(model, _series(400), train_end=30)
    bad = _series(400)
    bad[5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        finetune_on_prefix(model, bad, train_end=200)
    with pytest.raises(ValueError, match="train_end"):
        finetune_on_prefix(model, _series(400), train_end=0)


def test_channels_are_fused_by_their_raw_window_errors(model: TinyPulse) -> None:
    from tinyts.tasks.pulse.anomaly import fuse_heads, window_errors

    x = np.stack([_series(300), 5.0 * _series(300, seed=2)])
    errors = [window_errors(model, ch, agg=16, smooth=24) for ch in x]
    expected = fuse_heads({k: np.fmax(errors[0][k], errors[1][k]) for k in errors[0]}, "max", smooth=24)[
        "ensemble"
    ]
    # anomaly_scores reads the input as float32 (to_batch), hence the tolerance
    np.testing.assert_allclose(
        model.anomaly_scores(x, agg=16, smooth=24, scale="minmax"), expected, atol=1e-4
    )


def test_sharpening_ranks_a_spike_above_its_window_and_stays_in_unit_range(model: TinyPulse) -> None:
    from tinyts.tasks.pulse.anomaly import _point_evidence, fuse_heads, window_errors

    x = _series(600)
    x[400] += 8.0 * x.std()  # a one-point spike
    errors = window_errors(model, x, agg=16, smooth=48)
    # min-max heads: with these random weights the forecast head's own robust peak (after the spike) leads
    # the robust-z fusion, which is not what this test is about
    flat = fuse_heads(errors, sharpen=0.0, smooth=48, head_scale="minmax")["ensemble"]
    sharp = fuse_heads(errors, sharpen=0.3, smooth=48, head_scale="minmax")["ensemble"]
    assert sharp.min() == 0.0 and sharp.max() == 1.0
    near = slice(376, 425)  # the spike's window: flat scores are alike there, sharpened ones peak at it
    assert int(np.argmax(sharp[near])) + near.start == 400
    assert np.ptp(sharp[near]) > np.ptp(flat[near])
    ev = _point_evidence(np.array([np.nan, 1.0, 4.0, 2.0, 0.0]), 3)
    np.testing.assert_allclose(ev, [np.nan, 0.25, 1.0, 0.5, 0.0])
    with pytest.raises(ValueError, match="sharpen"):
        model.anomaly_scores(x, sharpen=1.0)
    with pytest.raises(ValueError, match="sharpen"):
        fuse_heads(errors, sharpen=-0.1)


def test_point_boost_marks_only_errors_far_above_the_series_own_and_spreads_them() -> None:
    from tinyts.tasks.pulse.anomaly import BOOST_FULL_RATIO, BOOST_SPREAD, point_boost

    rng = np.random.default_rng(0)
    base = rng.uniform(0.5, 1.0, 2000)  # 99th percentile just under 1
    a, b = base.copy(), base.copy()
    a[1000] = b[1000] = 2.0 * BOOST_FULL_RATIO  # extreme for both heads
    b[1500] = 2.0 * BOOST_FULL_RATIO  # extreme for one head only
    b[:100] = np.nan  # a head without errors there (the forecast head's first context)
    ev = point_boost([a, b])
    assert ev.shape == (2000,) and ((ev >= 0) & (ev <= 1)).all()
    # every point within the spread of the shared extreme gets full evidence, nothing else comes close
    lo, hi = 1000 - (BOOST_SPREAD - 1 - BOOST_SPREAD // 2), 1000 + BOOST_SPREAD // 2 + 1
    np.testing.assert_array_equal(ev[lo:hi], 1.0)
    assert hi - lo == BOOST_SPREAD and ev[lo - 1] < 0.05 and ev[hi] < 0.05
    assert ev[1500] < 0.5  # one head's quirk: geometric mean of 20x and ~1x
    assert ev[np.r_[0:900, 1100:1450, 1550:2000]].max() < 0.05
    np.testing.assert_array_equal(point_boost([np.full(50, 3.0)]), 0.0)  # flat errors: nothing is extreme


def test_boost_lifts_a_short_anomaly_over_busy_windows_and_zero_turns_it_off(model: TinyPulse) -> None:
    from tinyts.tasks.pulse.anomaly import fuse_heads, window_errors

    x = _series(600)
    x[400] += 8.0 * x.std()
    errors = window_errors(model, x, agg=16, smooth=48)
    off = fuse_heads(errors, smooth=48, boost=0.0)
    on = fuse_heads(errors, smooth=48, boost=1.0)
    for key in ("time", "fft", "forecast", "ensemble"):
        assert on[key].min() == 0.0 and on[key].max() == 1.0
    assert int(np.argmax(on["ensemble"])) in range(392, 409)
    # boost 0 is the sharpened score of before (what anomaly_scores(..., boost=0) returns)
    np.testing.assert_allclose(
        model.anomaly_scores(x, agg=16, smooth=48, scale="minmax", boost=0.0), off["ensemble"], atol=1e-4
    )
    for bad in (-1.0, float("nan"), True, "1"):
        with pytest.raises(ValueError, match="boost"):
            fuse_heads(errors, boost=bad)  # type: ignore[arg-type]


def test_binary_channels_are_left_out_unless_all_are_binary(model: TinyPulse) -> None:
    from tinyts.tasks.pulse.anomaly import scored_channels

    flag = (np.arange(300) % 37 < 5).astype(float)  # an on/off command that switches often
    x = np.stack([_series(300), flag, np.zeros(300)])
    x[1, 10] = np.nan  # NaN is not a third value
    np.testing.assert_array_equal(scored_channels(x), [True, False, False])
    np.testing.assert_array_equal(scored_channels(x, "score"), [True, True, True])
    np.testing.assert_array_equal(scored_channels(x[1:]), [True, True])  # all binary: all scored
    with pytest.raises(ValueError, match="binary"):
        scored_channels(x, "drop")
    # the skipped flag changes nothing: the score is the telemetry channel's own
    np.testing.assert_allclose(
        model.anomaly_scores(x, agg=16, smooth=24), model.anomaly_scores(x[0], agg=16, smooth=24), atol=1e-9
    )
    assert not np.allclose(
        model.anomaly_scores(x, agg=16, smooth=24, binary="score"),
        model.anomaly_scores(x[0], agg=16, smooth=24),
    )


def test_impute_blend_auto_falls_back_where_interpolation_refills_better(model: TinyPulse) -> None:
    from tinyts.tasks.pulse.impute import blend_weights

    smooth = np.linspace(0.0, 1.0, 400)  # a straight line: interpolation is exact
    x = np.stack([smooth, _series(400)])
    x[:, 100:140] = np.nan
    x[:, 260:268] = np.nan
    obs = np.isfinite(x)
    w = blend_weights(model, np.where(obs, x, 0.0), obs)
    assert w.shape == (2,) and ((w >= 0) & (w <= 1)).all()
    assert w[0] < 0.5  # the line: interpolation refills the check patches far better
    auto, none = model.impute(x, blend="auto"), model.impute(x, blend="none")
    np.testing.assert_array_equal(auto[obs], x[obs])  # observed values untouched
    line_err = lambda y: float(np.abs(y[0, 100:140] - smooth[100:140]).mean())  # noqa: E731
    assert line_err(auto) < line_err(none)
    np.testing.assert_array_equal(model.impute(smooth, blend="auto"), smooth)  # nothing missing
    assert np.array_equal(blend_weights(model, np.where(obs, x, 0.0), obs), w)  # seeded check
    with pytest.raises(ValueError, match="blend must be"):
        model.impute(x, blend="linear")


def test_blend_weights_mix_in_interpolation_only_on_evidence(model: TinyPulse) -> None:
    from tinyts.tasks.pulse.impute import BLEND_Z, blend_weights, check_fills

    smooth = np.linspace(0.0, 1.0, 400)
    x = np.stack([smooth, _series(400), _series(400, seed=1), smooth[::-1].copy()])
    x[:, 100:140] = np.nan
    x[:, 260:268] = np.nan
    obs = np.isfinite(x)
    vals = np.where(obs, x, 0.0)
    # z=0: the optimal mix wherever the model's summed check error is the larger one, else 1
    rows, _, d_m, d_l = check_fills(model, vals, obs)
    assert rows.all()
    mm, ll, ml = (d_m * d_m).sum(1), (d_l * d_l).sum(1), (d_m * d_l).sum(1)
    expect = np.where(mm <= ll, 1.0, np.clip((ll - ml) / (mm + ll - 2 * ml), 0.0, 1.0))
    np.testing.assert_allclose(blend_weights(model, vals, obs, z=0.0), expect)
    # a larger z asks for more evidence: a row is mixed at that same weight or left to the model
    for z in (BLEND_Z, 3.0, 1e9):
        w = blend_weights(model, vals, obs, z=z)
        assert (np.isclose(w, expect) | (w == 1.0)).all()
    assert (blend_weights(model, vals, obs, z=1e9) == 1.0).all()
    np.testing.assert_array_equal(blend_weights(model, vals, obs), blend_weights(model, vals, obs, z=BLEND_Z))
    # each row is decided on its own: the same row alone gets the same weight
    together = blend_weights(model, vals, obs)
    for i in range(len(x)):
        np.testing.assert_array_equal(
            blend_weights(model, vals[i : i + 1], obs[i : i + 1]), together[i : i + 1]
        )
    with pytest.raises(ValueError, match="z must be"):
        blend_weights(model, vals, obs, z=-1.0)


def test_edge_calibration_only_lowers_the_ends(model: TinyPulse) -> None:
    from tinyts.tasks.pulse.anomaly import window_errors

    x = _series(600)
    raw = window_errors(model, x, agg=16, edge_crops=0)
    cal = window_errors(model, x, agg=16, edge_crops=3)
    for k in ("time_point", "fft_point"):
        np.testing.assert_array_equal(cal[k][16:-16], raw[k][16:-16])  # the interior is untouched
        assert (cal[k] <= raw[k] + 1e-12).all()  # the ends are divided by ratios >= 1
    np.testing.assert_array_equal(cal["forecast_point"], raw["forecast_point"])
    short = _series(40)  # too short for a crop (an end block plus two more): unchanged
    for k, v in window_errors(model, short, agg=16, edge_crops=3).items():
        np.testing.assert_array_equal(v, window_errors(model, short, agg=16, edge_crops=0)[k])


def test_edge_calibration_removes_the_end_excess_and_keeps_a_spike_at_the_start() -> None:
    """Bundled weights: a clean short series' ends no longer score high; a real spike there still does."""
    import tinyts
    from tinyts.tasks.pulse.anomaly import DEFAULT_THRESHOLD, fuse_heads, robust_scale, series_errors

    pulse = tinyts.load("tinypulse")

    def score(x: np.ndarray, crops: int) -> np.ndarray:
        return robust_scale(fuse_heads(series_errors(pulse, x[None, :], edge_crops=crops))["ensemble"])

    x = np.sin(2 * np.pi * np.arange(400) / 24) + 0.1 * np.random.default_rng(3).standard_normal(400)
    before, after = score(x, 0), score(x, 3)
    assert after[:16].mean() < before[:16].mean() and after[-16:].mean() < before[-16:].mean()
    assert not (after > DEFAULT_THRESHOLD).any()
    x[3] += 4.0  # 40 noise standard deviations
    spiked = score(x, 3)
    assert int(np.argmax(spiked)) == 3 and spiked[3] > DEFAULT_THRESHOLD
