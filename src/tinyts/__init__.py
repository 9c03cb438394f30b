"""tinyts: tiny pre-trained time-series models that run fast on a plain CPU.

The public surface is small on purpose::

    import tinyts
    pulse = tinyts.load("tinypulse")          # bundled weights, offline
    filled = pulse.impute(x)                  # NaNs filled, observed values untouched
    scores = pulse.anomaly_scores(x)          # one score per time point

Sub-packages, bottom to top (docs/architecture.md): :mod:`tinyts.nn`, :mod:`tinyts.models`,
:mod:`tinyts.data`, :mod:`tinyts.train`, :mod:`tinyts.tasks`, then :mod:`tinyts.compress`,
:mod:`tinyts.export`, :mod:`tinyts.serve`, :mod:`tinyts.estimators`, :mod:`tinyts.bench` and
:mod:`tinyts.cli`. Every exception tinyts raises on purpose derives from :class:`TinytsError`
(:mod:`tinyts.errors`).
Names are imported lazily so that ``import tinyts`` (and the CLI) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "CastConfig",
    "PulseClassifier",
    "PulseConfig",
    "SimilarityIndex",
    "TinyCast",
    "TinyPulse",
    "TinytsError",
    "__version__",
    "bundled_names",
    "distill",
    "load",
    "prune",
]

_LAZY = {
    "load": ("tinyts.models.base", "load"),
    "TinytsError": ("tinyts.errors", "TinytsError"),
    "bundled_names": ("tinyts.models.base", "bundled_names"),
    "TinyPulse": ("tinyts.models.pulse", "TinyPulse"),
    "PulseConfig": ("tinyts.models.pulse", "PulseConfig"),
    "TinyCast": ("tinyts.models.cast", "TinyCast"),
    "CastConfig": ("tinyts.models.cast", "CastConfig"),
    "PulseClassifier": ("tinyts.tasks.classify.api", "PulseClassifier"),
    "SimilarityIndex": ("tinyts.tasks.search.retrieve", "SimilarityIndex"),
    "prune": ("tinyts.compress.prune", "prune"),
    "distill": ("tinyts.compress.distill", "distill"),
}

if TYPE_CHECKING:  # pragma: no cover
    from tinyts.compress.distill import distill
    from tinyts.compress.prune import prune
    from tinyts.errors import TinytsError
    from tinyts.models.base import bundled_names, load
    from tinyts.models.cast import CastConfig, TinyCast
    from tinyts.models.pulse import PulseConfig, TinyPulse
    from tinyts.tasks.classify.api import PulseClassifier
    from tinyts.tasks.search.retrieve import SimilarityIndex


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'tinyts' has no attribute {name!r}")
