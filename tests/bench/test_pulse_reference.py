"""TSPulse's reference scoring procedure on a small random TinyPulse: alignment, scaling, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tinyts.bench.pulse_reference import reference_scores
from tinyts.models.pulse import PulseConfig, TinyPulse
from tinyts.testing import TINY_PULSE

CFG = PulseConfig(**{**TINY_PULSE, "fft_patch_length": 16, "num_layers": 1, "forecast_length": 8})


@pytest.fixture(scope="module")
def model() -> TinyPulse:
    torch.manual_seed(0)
    return TinyPulse(CFG).eval()


def _series(n: int, channels: int = 1) -> np.ndarray:
    """``(channels, n)``, the library's convention."""
    rng = np.random.default_rng(0)
    t = np.arange(n)[:, None]
    x = np.sin(2 * np.pi * t / 16 + np.arange(channels)) + 0.1 * rng.standard_normal((n, channels))
    return np.ascontiguousarray(x.T)


def test_one_score_per_point_scaled(model: TinyPulse) -> None:
    scores = reference_scores(model, _series(150), agg=16, windows_per_batch=7)
    assert set(scores) == {"time", "fft", "forecast", "ensemble"}
    for key, s in scores.items():
        assert s.shape == (150,) and np.isfinite(s).all(), key
        assert s.min() >= 0 and s.max() <= 1 + 1e-9, key
    assert scores["ensemble"].max() == pytest.approx(1.0)
    assert np.all(scores["ensemble"] >= np.maximum(scores["time"], scores["forecast"]) - 1e-12)


def test_batching_does_not_change_scores(model: TinyPulse) -> None:
    x = _series(120)
    a = reference_scores(model, x, agg=16, windows_per_batch=3)
    b = reference_scores(model, x, agg=16, windows_per_batch=50)
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-4, atol=1e-6)


def test_a_spike_after_the_first_context_is_found(model: TinyPulse) -> None:
    x = _series(200)
    x[0, 150] += 25.0
    scores = reference_scores(model, x, agg=16)
    assert abs(int(np.argmax(scores["forecast"])) - 150) <= 1


def test_channels_are_averaged(model: TinyPulse) -> None:
    scores = reference_scores(model, _series(100, channels=3), agg=8)
    assert scores["ensemble"].shape == (100,)


@pytest.mark.parametrize("bad", [np.zeros((64, 1)), np.zeros(100)])
def test_too_short_or_wrong_shape(model: TinyPulse, bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="T > 64"):
        reference_scores(model, bad)


def test_agg_must_be_whole_patches(model: TinyPulse) -> None:
    with pytest.raises(ValueError, match="multiple of 8"):
        reference_scores(model, _series(100), agg=12)


def test_reference_method_is_opt_in_and_recorded() -> None:
    from pathlib import Path

    from tinyts.bench.core import BenchContext, SuiteResult
    from tinyts.bench.suites.anomaly import _methods

    result = SuiteResult()
    default = _methods(BenchContext(Path("."), Path(".")), result)
    assert "tinypulse_ref" not in default and "tinypulse" in default
    assert any(case == "tinypulse_ref" and "opt-in" in why for case, why in result.skipped)
    named = _methods(BenchContext(Path("."), Path("."), methods=["tinypulse_ref"]), SuiteResult())
    assert named == ["tinypulse_ref"]
