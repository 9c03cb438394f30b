"""Synthetic generator families for pre-training ("mix, don't pick").

Every family is a function ``generate(rng, n, length) -> (n, length)`` array (float32 or float64,
finite, no constant rows), vectorised over series and seeded only by ``rng``. :data:`FAMILIES`
maps a family name to it and :data:`DESCRIPTIONS` to a one-line description (for model cards).

New families (one module each): ``cauker`` (causal kernel graphs), ``sarima`` (superposed seasonal
ARIMA with heavy-tailed / intermittent noise), ``ou_regime`` (regime-switching Ornstein-Uhlenbeck),
``trend_seasonality`` (ForecastPFN-style trend x seasonality x noise), ``steps`` (level shifts),
``sawtooth``, ``spikes`` (spikes and shocks with recovery), ``counts`` (Poisson / negative binomial /
Croston-like intermittent demand); ``ets`` (random exponential-smoothing state-space models, added
for issue 18's short business series). The first three generators (``synth``, ``kernel``,
``multivariate_channel``) are wrapped in :mod:`tinyts.data.synth.families.existing`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinyts.data.synth.families import (
    cauker,
    counts,
    ets,
    existing,
    ou_regime,
    sarima,
    sawtooth,
    spikes,
    steps,
    trend_seasonality,
)

__all__ = ["DESCRIPTIONS", "FAMILIES", "NEW_FAMILIES", "Generator"]

Generator = Callable[[np.random.Generator, int, int], np.ndarray]

_NEW = (cauker, sarima, ou_regime, trend_seasonality, steps, sawtooth, spikes, counts, ets)
#: Names of the families added since the first three (issue 17; ``ets``: issue 18), in registry order.
NEW_FAMILIES: tuple[str, ...] = tuple(m.NAME for m in _NEW)

#: Family name -> ``generate(rng, n, length)``.
FAMILIES: dict[str, Generator] = {
    "synth": existing.synth,
    "kernel": existing.kernel,
    "multivariate_channel": existing.multivariate_channel,
    **{m.NAME: m.generate for m in _NEW},
}

#: Family name -> one-line description.
DESCRIPTIONS: dict[str, str] = {
    **existing.DESCRIPTIONS,
    **{m.NAME: m.DESCRIPTION for m in _NEW},
}
