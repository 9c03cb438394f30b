"""Configuration of the SynthTS-style generator (:func:`tinyts.data.synth.core.synth_ts`).

Every component has a probability of being present in a series and documented ranges for its
parameters. Amplitudes are expressed in one reference unit: the amplitude of the dominant seasonal
component (std 1). Ranges marked *log-uniform* are drawn as ``exp(U(log low, log high))``.
The defaults were chosen so that a batch looks like a mix of real series (electricity load with
daily and weekly cycles, random-walk exchange rates, weekly counts, noisy sensors, ECG-like beats,
spiky cloud metrics); they are ours, not Tiny-TSM's (whose generator is unpublished).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from tinyts.data.synth.common import check_int, check_prob, check_range, check_weights

__all__ = [
    "ENVELOPE_KINDS",
    "INTERMITTENCY_KINDS",
    "SEASONAL_SHAPES",
    "STOCHASTIC_KINDS",
    "TREND_KINDS",
    "SynthConfig",
]

TREND_KINDS = ("linear", "piecewise", "exponential", "logistic")
SEASONAL_SHAPES = ("sine", "harmonic", "sawtooth", "square", "pulse", "ecg")
STOCHASTIC_KINDS = ("ar", "random_walk", "integrated")
ENVELOPE_KINDS = ("level", "slow", "clustered")
INTERMITTENCY_KINDS = ("counts", "bernoulli", "threshold")

#: Period families of common sampling rates (hourly, 15-min, 10-min, 5-min, minute, half-hourly,
#: daily, weekly, monthly, quarterly). A seasonal slot that uses a common period takes it from one
#: family per series, so a series with two cycles gets e.g. (24, 168) rather than (24, 7).
DEFAULT_PERIOD_FAMILIES: tuple[tuple[float, ...], ...] = (
    (24.0, 168.0),
    (24.0, 168.0, 12.0),
    (96.0, 672.0),
    (144.0, 1008.0),
    (288.0, 2016.0),
    (60.0, 1440.0),
    (48.0, 336.0),
    (7.0, 365.25, 30.44),
    (7.0, 365.25),
    (52.18, 13.0),
    (12.0, 6.0),
    (4.0,),
)


def _trend_kinds() -> dict[str, float]:
    return {"linear": 0.3, "piecewise": 0.35, "exponential": 0.15, "logistic": 0.2}


def _shapes() -> dict[str, float]:
    return {"sine": 0.27, "harmonic": 0.37, "sawtooth": 0.07, "square": 0.11, "pulse": 0.1, "ecg": 0.08}


def _stochastic_kinds() -> dict[str, float]:
    return {"ar": 0.55, "random_walk": 0.3, "integrated": 0.15}


def _envelopes() -> dict[str, float]:
    return {"level": 0.35, "slow": 0.35, "clustered": 0.3}


def _intermittency() -> dict[str, float]:
    return {"counts": 0.5, "bernoulli": 0.25, "threshold": 0.25}


@dataclass(frozen=True)
class SynthConfig:
    """Probabilities and parameter ranges of every SynthTS component and augmentation.

    Build variants with :func:`dataclasses.replace`; :meth:`disabled` gives a config with every
    component and augmentation off, to switch single components on (tests, ablations).
    Invalid values raise ``ValueError`` at construction.

    Attributes
    ----------
    p_trend : float
        Probability of a trend. Kind drawn from ``trend_kinds`` (weights): ``linear``;
        ``piecewise`` (piecewise-linear, ``n_change_points`` random kinks in 5-95 % of the series);
        ``exponential`` (``exp(r s)`` on normalised time ``s`` in [0, 1], ``|r|`` in ``exp_rate_range``,
        bounded so nothing overflows); ``logistic`` (S-curve, steepness 4-40, mid-point 15-85 %).
    trend_range : (float, float)
        Log-uniform total rise (or fall, random sign) of the trend over the series.
    p_seasonal : float
        Probability of seasonality. The number of components (1 to ``len(n_seasonal_weights)``) has
        weights ``n_seasonal_weights``; the first has amplitude 1 (std), others log-uniform in
        ``seasonal_amp_range``. Shapes from ``seasonal_shapes``: ``sine``; ``harmonic`` (random
        Fourier profile with ``n_harmonics`` harmonics decaying as ``k^-a``, e.g. a daily load curve);
        ``sawtooth`` (rise over 50-97 % of the cycle: triangle to sawtooth); ``square`` (duty cycle
        0.2-0.8); ``pulse`` (narrow bumps, width 1-12 % of the period, at least one point);
        ``ecg`` (P-QRS-T beat of five Gaussians, period at least 60 points).
    p_common_period : float
        Per component, probability of taking the period from a family in ``period_families``
        (one family per series, periods longer than ``max_period_fraction * length`` skipped);
        otherwise the period is log-uniform in ``[min_period, max_period_fraction * length]``.
    p_amplitude_modulation : float
        Per component, probability that its amplitude is modulated by a slow sine (depth 0.2-0.8).
    p_period_jitter : float
        Per component, probability that its instantaneous period wanders (up to ``period_jitter``
        relative), as heart rate does.
    p_multiplicative : float
        Probability that the seasonal part is multiplied by ``exp(g * level)`` (standardised level =
        trend + level shifts + stochastic part, ``g`` in 0.2-0.6): seasonal amplitude grows with the level.
    p_level_shift : float
        Probability of level shifts; count ``clip(Poisson(level_shift_rate), 1, 3)``, log-uniform
        size in ``level_shift_range`` with random sign; each reverts after a while with
        probability ``p_shift_revert`` (an outage or holiday regime).
    p_spikes : float
        Probability of isolated spikes; per-point rate log-uniform in ``spike_rate_range`` (at least
        one spike), size log-uniform in ``spike_range`` times the series std, positive with
        probability 0.7.
    p_stochastic : float
        Probability of a stochastic component with log-uniform std ``stochastic_amp_range``. Kinds:
        ``ar`` (AR(1-3), poles with ``1 - |pole|`` log-uniform in ``ar_pole_gap_range``, complex pairs
        give quasi-cycles), ``random_walk``, ``integrated`` (cumulated AR(1), a smooth wander).
        Innovations are Student-t (df 2.5-6) with probability ``p_heavy_innovations``.
    p_noise : float
        Probability of observation noise; std = signal std / SNR with SNR log-uniform in
        ``snr_range``; Student-t (df log-uniform in ``student_df_range``) with probability
        ``p_student_t``; a heteroscedastic envelope with probability ``p_heteroscedastic``, kind from
        ``envelope_kinds``: ``level`` (noise grows with the signal), ``slow`` (slow log-sine),
        ``clustered`` (volatility clusters, an exponentiated AR(1) with phi 0.97).
    p_intermittent : float
        Probability that the series becomes non-negative and intermittent. ``counts``: Poisson
        counts with mean rate log-uniform in ``count_rate_range`` following the signal;
        ``bernoulli``: positive signal with zeros at rate ``zero_prob_range``; ``threshold``: the
        part of the signal above a quantile in ``zero_prob_range`` (zeros in runs, as solar power at
        night). Such a series is never constant: where it would be, one count (all zeros) or one
        zero (all counts equal) is set.
    p_time_warp : float
        Probability of a smooth monotone time warp (local speed ``exp(+-time_warp_range)``) applied to
        trend and seasonality.
    p_aggregate : float
        Probability that a series is generated ``k`` times longer (``k`` in ``aggregate_factors``) and
        summed over blocks of ``k`` (down-sampling by aggregation).
    p_mix : float
        Probability of TSMixup-style mixing with another (standardised) series of the batch, weight of
        the other in ``mix_weight_range``.
    p_clip : float
        Probability of clipping (sensor saturation) at a quantile in ``clip_quantile_range``
        (upper or lower tail at random).
    scale_log10_range : (float, float)
        Final std is ``10**U(range)`` (orders of magnitude).
    offset_weights : (float, float, float)
        Weights of the final offset modes: none (mean 0), random (``+-U_log(offset_range)`` stds) and
        positive (minimum lifted above 0 by ``U_log(offset_range)`` stds, as load data).
    """

    p_trend: float = 0.7
    trend_kinds: dict[str, float] = field(default_factory=_trend_kinds)
    trend_range: tuple[float, float] = (0.1, 4.0)
    n_change_points: tuple[int, int] = (1, 4)
    exp_rate_range: tuple[float, float] = (0.5, 4.0)

    p_seasonal: float = 0.85
    n_seasonal_weights: tuple[float, ...] = (0.35, 0.35, 0.2, 0.1)
    seasonal_shapes: dict[str, float] = field(default_factory=_shapes)
    period_families: tuple[tuple[float, ...], ...] = DEFAULT_PERIOD_FAMILIES
    p_common_period: float = 0.65
    min_period: float = 4.0
    max_period_fraction: float = 0.5
    n_harmonics: tuple[int, int] = (2, 6)
    seasonal_amp_range: tuple[float, float] = (0.1, 1.0)
    p_amplitude_modulation: float = 0.2
    p_period_jitter: float = 0.1
    period_jitter: tuple[float, float] = (0.02, 0.15)

    p_multiplicative: float = 0.25

    p_level_shift: float = 0.2
    level_shift_rate: float = 1.2
    level_shift_range: tuple[float, float] = (0.2, 3.0)
    p_shift_revert: float = 0.3

    p_spikes: float = 0.1
    spike_rate_range: tuple[float, float] = (0.0005, 0.01)
    spike_range: tuple[float, float] = (3.0, 10.0)

    p_stochastic: float = 0.6
    stochastic_kinds: dict[str, float] = field(default_factory=_stochastic_kinds)
    stochastic_amp_range: tuple[float, float] = (0.05, 2.0)
    ar_pole_gap_range: tuple[float, float] = (0.003, 0.6)
    p_heavy_innovations: float = 0.15

    p_noise: float = 0.9
    snr_range: tuple[float, float] = (2.0, 300.0)
    p_student_t: float = 0.3
    student_df_range: tuple[float, float] = (2.5, 10.0)
    p_heteroscedastic: float = 0.25
    envelope_kinds: dict[str, float] = field(default_factory=_envelopes)

    p_intermittent: float = 0.07
    intermittency_kinds: dict[str, float] = field(default_factory=_intermittency)
    count_rate_range: tuple[float, float] = (0.05, 50.0)
    zero_prob_range: tuple[float, float] = (0.3, 0.9)

    p_time_warp: float = 0.15
    time_warp_range: tuple[float, float] = (0.05, 0.35)
    p_aggregate: float = 0.1
    aggregate_factors: tuple[int, int] = (2, 4)
    p_mix: float = 0.1
    mix_weight_range: tuple[float, float] = (0.15, 0.5)
    p_clip: float = 0.03
    clip_quantile_range: tuple[float, float] = (0.85, 0.99)
    scale_log10_range: tuple[float, float] = (-2.0, 3.0)
    offset_weights: tuple[float, float, float] = (0.3, 0.4, 0.3)
    offset_range: tuple[float, float] = (0.1, 20.0)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if f.name.startswith("p_"):
                check_prob(f.name, getattr(self, f.name))
        check_weights("trend_kinds", self.trend_kinds, TREND_KINDS)
        check_weights("seasonal_shapes", self.seasonal_shapes, SEASONAL_SHAPES)
        check_weights("stochastic_kinds", self.stochastic_kinds, STOCHASTIC_KINDS)
        check_weights("envelope_kinds", self.envelope_kinds, ENVELOPE_KINDS)
        check_weights("intermittency_kinds", self.intermittency_kinds, INTERMITTENCY_KINDS)
        for name in (
            "trend_range",
            "exp_rate_range",
            "seasonal_amp_range",
            "level_shift_range",
            "spike_rate_range",
            "spike_range",
            "stochastic_amp_range",
            "snr_range",
            "count_rate_range",
            "offset_range",
            "period_jitter",
            "time_warp_range",
        ):
            check_range(name, getattr(self, name), positive=True)
        check_range("ar_pole_gap_range", self.ar_pole_gap_range, positive=True)
        if self.ar_pole_gap_range[1] >= 1:
            raise ValueError(f"ar_pole_gap_range must lie in (0, 1), got {self.ar_pole_gap_range}")
        check_range("student_df_range", self.student_df_range, minimum=2.1)
        for name in ("zero_prob_range", "clip_quantile_range"):
            lo, hi = check_range(name, getattr(self, name))
            if lo < 0 or hi > 1:
                raise ValueError(f"{name} must lie in [0, 1], got {(lo, hi)}")
        lo, hi = check_range("mix_weight_range", self.mix_weight_range)
        if lo < 0 or hi > 1:
            raise ValueError(f"mix_weight_range must lie in [0, 1], got {(lo, hi)}")
        check_range("scale_log10_range", self.scale_log10_range)
        if max(abs(v) for v in self.scale_log10_range) > 12:
            raise ValueError(
                f"scale_log10_range must lie in [-12, 12] (float32), got {self.scale_log10_range}"
            )
        for name, minimum in (("n_change_points", 1), ("n_harmonics", 1), ("aggregate_factors", 2)):
            pair = getattr(self, name)
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(f"{name} must be a (low, high) pair of ints, got {pair!r}")
            lo_i, hi_i = (check_int(f"{name}[{i}]", v, minimum) for i, v in enumerate(pair))
            if lo_i > hi_i:
                raise ValueError(f"{name} must have low <= high, got {pair!r}")
        w = [float(v) for v in self.n_seasonal_weights]
        if not w or any(v < 0 for v in w) or sum(w) <= 0:
            raise ValueError(f"n_seasonal_weights must be non-negative, not all zero, got {w}")
        ow = [float(v) for v in self.offset_weights]
        if len(ow) != 3 or any(v < 0 for v in ow) or sum(ow) <= 0:
            raise ValueError(f"offset_weights must be 3 non-negative weights, got {self.offset_weights!r}")
        for fam in self.period_families:
            if not fam or any(float(p) < 2 for p in fam):
                raise ValueError(f"period_families entries must be non-empty with periods >= 2, got {fam!r}")
        if self.min_period < 2:
            raise ValueError(f"min_period must be >= 2 (Nyquist), got {self.min_period}")
        if not 0 < self.max_period_fraction <= 1:
            raise ValueError(f"max_period_fraction must be in (0, 1], got {self.max_period_fraction}")
        if self.level_shift_rate < 0:
            raise ValueError(f"level_shift_rate must be >= 0, got {self.level_shift_rate}")

    @classmethod
    def disabled(cls) -> SynthConfig:
        """A config with every component, variation and augmentation off; unit scale, zero offset.

        All ``p_*`` probabilities are 0 except ``p_common_period`` (kept at its default), so a
        component switched on with :func:`dataclasses.replace` appears in its plain form
        (e.g. no amplitude modulation, no heavy tails) until its variations are switched on too.
        With nothing switched on a series would be constant; :func:`synth_ts` then falls back to
        unit white noise.
        """
        off: dict[str, Any] = {
            f.name: 0.0
            for f in dataclasses.fields(cls)
            if f.name.startswith("p_") and f.name != "p_common_period"
        }
        return cls(**off, scale_log10_range=(0.0, 0.0), offset_weights=(1.0, 0.0, 0.0))
