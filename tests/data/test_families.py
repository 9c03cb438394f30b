"""Tests of the generator families (tinyts.data.synth.families): the common contract for every family
(shape, dtype, finiteness, seeded determinism, variety, scale) and one property per new family."""

from __future__ import annotations

import numpy as np
import pytest

from tinyts.data.synth.families import DESCRIPTIONS, FAMILIES, NEW_FAMILIES
from tinyts.data.synth.families import counts as counts_mod
from tinyts.data.synth.families import ou_regime as ou_mod

N, L = 64, 256


def draw(name: str, seed: int = 0, n: int = N, length: int = L) -> np.ndarray:
    return FAMILIES[name](np.random.default_rng(seed), n, length)


def test_registry() -> None:
    assert set(NEW_FAMILIES) == {
        "cauker",
        "sarima",
        "ou_regime",
        "trend_seasonality",
        "steps",
        "sawtooth",
        "spikes",
        "counts",
        "ets",
    }
    assert list(FAMILIES)[:3] == ["synth", "kernel", "multivariate_channel"]
    assert set(DESCRIPTIONS) == set(FAMILIES)
    assert all(isinstance(d, str) and 20 < len(d) < 200 for d in DESCRIPTIONS.values())


@pytest.mark.parametrize("name", list(FAMILIES))
def test_contract(name: str) -> None:
    x = draw(name)
    assert x.shape == (N, L) and x.dtype in (np.float32, np.float64)
    assert np.isfinite(x).all()
    np.testing.assert_array_equal(x, draw(name))  # same seed, same series
    assert not np.array_equal(x, draw(name, seed=1))
    assert (np.ptp(x, axis=1) > 0).all()  # no constant row
    assert len({round(float(v), 6) for v in x[:, -1]}) > N // 4  # rows differ from each other
    assert np.abs(x).max() < 1e6
    sd = x.std(axis=1)
    assert np.median(sd) > 1e-3 and np.median(sd) < 1e4


@pytest.mark.parametrize("name", NEW_FAMILIES)
@pytest.mark.parametrize("length", [2, 5, 17, 1024])
def test_odd_lengths_and_single_series(name: str, length: int) -> None:
    x = draw(name, seed=3, n=1, length=length)
    assert x.shape == (1, length) and np.isfinite(x).all() and np.ptp(x) > 0


@pytest.mark.parametrize("name", NEW_FAMILIES)
def test_invalid_arguments(name: str) -> None:
    g = FAMILIES[name]
    with pytest.raises(ValueError):
        g(np.random.default_rng(0), 0, 64)
    with pytest.raises(ValueError):
        g(np.random.default_rng(0), 4, 1)
    with pytest.raises(TypeError):
        g(0, 4, 64)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", NEW_FAMILIES)
def test_rng_advances(name: str) -> None:
    rng = np.random.default_rng(5)
    a, b = FAMILIES[name](rng, 8, 64), FAMILIES[name](rng, 8, 64)
    assert not np.array_equal(a, b)


def test_counts_are_nonnegative_integers_with_intermittency() -> None:
    x = draw("counts", n=300)
    assert (x >= 0).all() and np.array_equal(x, np.round(x))
    zero_share = (x == 0).mean(axis=1)
    assert (zero_share > 0.5).sum() > 30  # Croston-like intermittent rows
    assert (zero_share < 0.05).sum() > 30  # high-rate Poisson / NB rows
    assert set(counts_mod.KINDS) == {"poisson", "negbin", "croston"}


def test_sawtooth_has_periodic_drops() -> None:
    x = draw("sawtooth", n=100, length=512)
    checked = 0
    for row in x:
        d = np.diff(row)
        big = np.abs(d) > 0.4 * np.abs(d).max()  # the drops (or jumps) of the ramp
        pos = np.flatnonzero(big)
        assert pos.size >= 2, "at least two drops in every series"
        assert np.all(np.sign(d[pos]) == np.sign(d[pos[0]]))  # all in one direction
        gaps = np.diff(pos)
        if gaps.size >= 2:
            assert gaps.max() - gaps.min() <= 1  # periodic (period rounded to whole points)
            checked += 1
    assert checked > 50


def test_steps_are_piecewise_constant() -> None:
    x = draw("steps", n=100, length=512)
    d = np.abs(np.diff(x, axis=1))
    typical = np.median(d, axis=1, keepdims=True)
    shift = np.abs(x[:, 20:] - x[:, :-20]).max(axis=1, keepdims=True)  # a shift, or a ramp of <= 20
    assert (shift > 5 * typical).all()  # at least one level shift per series
    assert np.median((d > 8 * typical).mean(axis=1)) < 0.05  # shifts are rare: flat in between


def test_trend_seasonality_is_positive_and_seasonal() -> None:
    x = draw("trend_seasonality", n=200, length=512)
    assert (x > 0).all()
    # remove the trend with a long moving average: most rows keep a clear periodic component
    z = np.log(x)
    k = 25
    smooth = np.apply_along_axis(lambda r: np.convolve(r, np.ones(k) / k, mode="same"), 1, z)
    resid = (z - smooth)[:, k:-k]
    power = np.abs(np.fft.rfft(resid - resid.mean(axis=1, keepdims=True), axis=1)) ** 2
    peak_share = power.max(axis=1) / power.sum(axis=1)
    assert np.median(peak_share) > 0.1


def test_ou_regimes_switch_and_revert() -> None:
    codes, k = ou_mod.regimes(np.random.default_rng(0), 200, 512)
    assert ((codes >= 0) & (codes < k[:, None])).all()
    switches = (np.diff(codes, axis=1) != 0).sum(axis=1)
    assert (switches > 0).mean() > 0.7 and np.median(switches) < 30
    x = draw("ou_regime", n=200, length=512)
    z = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
    lag1 = (z[:, 1:] * z[:, :-1]).mean(axis=1)
    assert np.median(lag1) > 0.5  # persistent, mean-reverting paths (not white noise)


def test_spikes_have_shocks_that_decay() -> None:
    x = draw("spikes", n=200, length=512)
    med = np.median(x, axis=1, keepdims=True)
    mad = np.median(np.abs(x - med), axis=1, keepdims=True) * 1.4826
    excursion = np.abs(x - med).max(axis=1, keepdims=True) / mad
    assert np.median(excursion) > 4
    # recovery: the excess right after the largest shock point fades within the series
    shrank = 0
    for row, m in zip(x, med[:, 0], strict=True):
        i = int(np.argmax(np.abs(row - m)))
        if i < 400:
            after = np.abs(row[i + 60 : i + 110] - m).mean()
            shrank += after < 0.5 * abs(row[i] - m)
    assert shrank > 120


def test_sarima_is_seasonal_and_heavy_tailed() -> None:
    x = draw("sarima", n=200, length=512)
    z = x - x.mean(axis=1, keepdims=True)
    z /= z.std(axis=1, keepdims=True)
    acf = np.array([[np.mean(r[lag:] * r[:-lag]) for lag in (4, 7, 12, 24)] for r in z])
    assert (acf.max(axis=1) > 0.3).mean() > 0.7  # most series correlate at a seasonal lag
    d = np.diff(x, axis=1)  # the noise dominates the increments
    dz = (d - d.mean(axis=1, keepdims=True)) / d.std(axis=1, keepdims=True)
    kurt = (dz**4).mean(axis=1)
    assert (kurt > 6).mean() > 0.08  # heavy-tailed (Student-t) or intermittent noise: Gaussian gives 3


def test_cauker_children_are_nonlinear_mixtures() -> None:
    x = draw("cauker", n=300, length=512)
    z = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
    skew = (z**3).mean(axis=1)
    assert (np.abs(skew) > 0.5).mean() > 0.2  # non-linear activations make skewed series
    assert (np.abs(skew) < 0.3).mean() > 0.1  # and near-Gaussian ones remain


def test_ets_paths_follow_their_models() -> None:
    """Seasonal ETS rows repeat at their period; positive (multiplicative) rows stay positive."""
    from tinyts.data.synth.families import ets as ets_mod

    x = draw("ets", n=400, length=240)
    assert ets_mod.NAME == "ets" and 3 * max(ets_mod.SEASONAL_PERIODS) > 120
    # lag-12 autocorrelation of the first differences: clearly positive for a sizeable share of rows
    d = np.diff(x, axis=1)
    d = (d - d.mean(axis=1, keepdims=True)) / d.std(axis=1, keepdims=True)
    seasonal = {p: (d[:, p:] * d[:, :-p]).mean(axis=1) > 0.3 for p in (4, 7, 12)}
    assert all(v.sum() > 10 for v in seasonal.values())
    assert ((x > 0).all(axis=1).mean()) > 0.3  # multiplicative error or season: level kept > 0
    short = draw("ets", n=64, length=20)  # periods above length / 3 are not drawn
    assert np.isfinite(short).all() and (np.ptp(short, axis=1) > 0).all()
