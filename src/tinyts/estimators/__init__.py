"""aeon-compatible estimators around the tinyts models.

::

    from tinyts.estimators import TinyPulseClassifier, TinyPulseAnomalyDetector, TinyCastForecaster
    TinyPulseClassifier(random_state=0).fit(X_train, y_train).predict(X_test)
    TinyPulseAnomalyDetector(mode="ensemble").fit_predict(series)      # one score per time point
    TinyCastForecaster(horizon=12).forecast(series)                     # the value 12 steps ahead

They subclass aeon's base classes (``BaseClassifier``, ``BaseSeriesAnomalyDetector``,
``BaseForecaster``), so aeon's input conversion, capability tags, ``get_params`` / ``set_params`` /
``clone`` and estimator checks apply, and they fit in aeon pipelines and benchmarks. aeon is imported
with the class that needs it (``import tinyts`` does not import it). The wrappers target aeon, not
sktime. See ``docs/estimators.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["TinyCastForecaster", "TinyPulseAnomalyDetector", "TinyPulseClassifier"]

_LAZY = {
    "TinyCastForecaster": "tinyts.estimators.forecaster",
    "TinyPulseAnomalyDetector": "tinyts.estimators.anomaly",
    "TinyPulseClassifier": "tinyts.estimators.classifier",
}

if TYPE_CHECKING:  # pragma: no cover
    from tinyts.estimators.anomaly import TinyPulseAnomalyDetector
    from tinyts.estimators.classifier import TinyPulseClassifier
    from tinyts.estimators.forecaster import TinyCastForecaster


def __getattr__(name: str) -> Any:
    # aeon is imported with the class that needs it, not with the package
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tinyts.estimators' has no attribute {name!r}")
