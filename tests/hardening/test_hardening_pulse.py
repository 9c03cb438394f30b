"""Boundary properties of the TinyPulse tasks: impute, anomaly_scores and embed on any input."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hardening_checks import (
    assert_finite,
    assert_observed_kept,
    cases,
    n_channels,
    n_series,
    n_time,
    outcome,
    series_inputs,
    verdict,
)
from hypothesis import given
from hypothesis import strategies as st

from tinyts.models.pulse import TinyPulse
from tinyts.tasks.pulse.embed import embedding_dim

Tally = Callable[[str], None]


@cases(210)
@given(series_inputs(), st.sampled_from(["avg", "time", "fft"]), st.sampled_from([None, 16, 64]))
def test_impute(tally: Tally, tiny_pulse: TinyPulse, x: object, head: str, stride: int | None) -> None:
    kind, out = outcome(lambda: tiny_pulse.impute(x, head=head, stride=stride), verdict(x))
    tally(kind)
    if kind == "ok":
        assert_observed_kept(x, out)  # same form and shape, finite, observed values exact


@cases(180)
@given(
    series_inputs(max_time=140, ndims=(0, 1, 1, 1, 2, 2, 3, 4), max_items=2),
    st.sampled_from(["ensemble", "time", "fft", "forecast"]),
)
def test_anomaly_scores(tally: Tally, tiny_pulse: TinyPulse, x: object, mode: str) -> None:
    expected = verdict(x, min_length=2)
    if expected is None and n_series(x) != 1:
        expected = ValueError  # one series per call
    kind, out = outcome(lambda: tiny_pulse.anomaly_scores(x, mode=mode, agg=16, smooth=8), expected)
    tally(kind)
    if kind == "ok":
        assert out.shape == (n_time(x),)
        assert_finite(out, "anomaly scores")
        # robust scale: the typical score of the points the mode scores is 0
        assert abs(float(np.median(out[_scored(tiny_pulse, x, mode)]))) < 1e-9


def _scored(model: TinyPulse, x: object, mode: str) -> np.ndarray:
    """The points a mode's stream scores, as anomaly_scores finds them (the forecast head: none in its
    first context; a series without any keeps all points)."""
    from tinyts.data.convert.arrays import to_batch
    from tinyts.tasks.pulse.anomaly import scored_points, series_errors

    batch = to_batch(x, min_length=2, name="x")
    vals = batch.values[0].numpy().astype(np.float64)
    vals[~batch.observed[0].numpy()] = np.nan
    errors = series_errors(model, vals, agg=16, smooth=8)
    scored = scored_points(errors, mode)
    return scored if scored.any() else np.ones(scored.size, dtype=bool)


@cases(180)
@given(
    series_inputs(), st.sampled_from(["register", "detail", "pooled"]), st.sampled_from(["concat", "mean"])
)
def test_embed(tally: Tally, tiny_pulse: TinyPulse, x: object, emb_kind: str, channels: str) -> None:
    shifts = 2 if emb_kind == "register" else 1
    call = lambda: tiny_pulse.embed(x, kind=emb_kind, shifts=shifts, channels=channels)  # noqa: E731
    kind, out = outcome(call, verdict(x, min_length=2))
    tally(kind)
    if kind == "ok":
        dim = embedding_dim(tiny_pulse, emb_kind, n_channels(x), channels)
        assert out.shape == (n_series(x), dim) and out.dtype == np.float32
        assert_finite(out, "embeddings")


@cases(90)
@given(
    st.sampled_from([1e6, 1e12, 1e15, 1e20, 1e30, 1e37]),
    st.integers(8, 150),
    st.integers(0, 99),
)
def test_scale_does_not_change_the_answer(
    tally: Tally, tiny_pulse: TinyPulse, scale: float, length: int, seed: int
) -> None:
    """Huge series (down-scaled inside before the model) give the answers of the same series at 1024.

    (At 1024 the absolute variance floor of a constant series is already negligible; a power of two
    keeps the reference free of rounding.)
    """
    rng = np.random.default_rng(seed)
    x = (np.sin(np.arange(length) / 3.0) + 0.3 * rng.standard_normal(length) + 2.0) * 1024.0
    x[rng.random(length) < 0.25] = np.nan
    x[:3] = 1024.0 * np.array([1.0, 3.0, 2.0])  # observed and varied: not a near-constant series, whose
    # normalised values are float32 noise magnified by the variance floor at any scale
    ref = x / 1024.0 * scale
    np.testing.assert_allclose(tiny_pulse.impute(ref) / scale * 1024.0, tiny_pulse.impute(x), rtol=1e-4)
    emb = tiny_pulse.embed(ref, shifts=1)
    np.testing.assert_allclose(emb, tiny_pulse.embed(x, shifts=1), rtol=1e-3, atol=1e-3)
    tally("ok")
