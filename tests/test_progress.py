"""The progress bar of long model loops (``tinyts.progress``): counted when asked for, silent otherwise."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tinyts import progress
from tinyts.models.cast import CastConfig, TinyCast
from tinyts.models.pulse import PulseConfig, TinyPulse
from tinyts.tasks.forecast.api import forecast
from tinyts.tasks.pulse.anomaly import anomaly_scores
from tinyts.tasks.pulse.impute import impute


@pytest.fixture(scope="module")
def pulse() -> TinyPulse:
    return TinyPulse(PulseConfig()).eval()


def test_loops_count_their_batches(pulse: TinyPulse) -> None:
    x = np.sin(np.arange(3000) / 10.0)
    x[::7] = np.nan
    with progress.report("imputing", enable=True) as bar:
        bar.fp = io.StringIO()  # keep the test output clean
        impute(pulse, x, batch_size=16)
        assert bar.total > 1 and bar.n == bar.total
    with progress.report("scoring", enable=True) as bar:
        bar.fp = io.StringIO()
        anomaly_scores(pulse, np.nan_to_num(x), batch_size=16)
        assert bar.total > 1 and bar.n == bar.total
    cast = TinyCast(CastConfig()).eval()
    with progress.report("forecasting", enable=True) as bar:
        bar.fp = io.StringIO()
        forecast(cast, np.random.default_rng(0).standard_normal((5, 1, 100)), 8, batch_size=2)
        assert bar.total == 3 and bar.n == 3  # 5 series, 2 per call, one model call each


@pytest.mark.parametrize("strategy", ["auto", "rollout", "coarse", "hybrid"])
@pytest.mark.parametrize(("horizon", "length"), [(8, 100), (200, 100), (700, 100), (300, 1500)])
def test_forecast_counts_model_calls(
    strategy: str, horizon: int, length: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long horizon (one series, many rollout calls) moves the bar call by call, to exactly its total."""
    from tinyts.tasks.forecast import engine

    calls = []
    heads = engine.quantile_heads
    monkeypatch.setattr(engine, "quantile_heads", lambda *a, **k: calls.append(1) or heads(*a, **k))
    cast = TinyCast(CastConfig(context_length=512)).eval()
    x = np.random.default_rng(1).standard_normal((2, 1, length))
    x[1, 0, : length // 2] = np.nan  # a shorter history next to a long one: two SIFI groups when long
    with progress.report("forecasting", enable=True) as bar:
        bar.fp = io.StringIO()
        forecast(cast, x, horizon, strategy=strategy, batch_size=1)  # type: ignore[arg-type]
        assert bar.total == len(calls) and bar.n == bar.total
    if strategy == "rollout" and horizon >= 200:  # one call per patch of the horizon, per series
        assert len(calls) >= 2 * (horizon // cast.config.patch_length)


def test_nothing_is_counted_without_a_report() -> None:
    progress.plan(5)  # no active report: a no-op
    progress.advance()
    with progress.report("off", enable=False) as bar:
        progress.plan(5)
        progress.advance()
        assert bar.disable
