"""Classification with TinyPulse features: the estimator (:mod:`.api`), frozen features
(:mod:`.frozen`) and the series/label containers (:mod:`.data`)."""

from __future__ import annotations

from tinyts.tasks.classify.api import (
    METHODS,
    REFIT_BELOW,
    PulseClassifier,
)

__all__ = [
    "METHODS",
    "REFIT_BELOW",
    "PulseClassifier",
]
