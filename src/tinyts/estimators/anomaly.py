"""``TinyPulseAnomalyDetector``: zero-shot TinyPulse anomaly scores as an aeon series anomaly detector."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from aeon.anomaly_detection.series import BaseSeriesAnomalyDetector

from tinyts.estimators._models import tiny_checkpoint
from tinyts.models.base import resolve
from tinyts.models.pulse import TinyPulse
from tinyts.options import AnomalyFuse, AnomalyMode, AnomalyScale

__all__ = ["TinyPulseAnomalyDetector"]


class TinyPulseAnomalyDetector(BaseSeriesAnomalyDetector):
    """Zero-shot TinyPulse anomaly scores with aeon's ``BaseSeriesAnomalyDetector`` interface.

    Unsupervised and zero-shot: ``fit`` learns nothing (aeon's ``fit_is_empty``), ``predict`` /
    ``fit_predict`` return one score per time point (higher = more anomalous), exactly
    :func:`tinyts.tasks.pulse.anomaly.anomaly_scores`: robust standard deviations above the series'
    typical score by default (threshold with :func:`tinyts.tasks.pulse.anomaly.anomaly_flags`), or in
    [0, 1] with ``scale="minmax"``. Multichannel series are scored per channel and
    combined by the max; NaN is missing.

    Parameters
    ----------
    model : str, os.PathLike or TinyPulse, default="tinypulse"
        A bundled name, a checkpoint folder or a loaded model (only read). Names and folders are
        loaded once per process.
    mode : {"ensemble", "time", "fft", "forecast"}, default="ensemble"
        Which head(s) score.
    agg : int, default=64
        Scoring block length, a multiple of the model's patch length.
    groups : int, default=2
        Interleaved mask groups per block.
    smooth : int, default=96
        Moving-average length of the squared errors (the window score).
    fuse : {"max", "mean"}, default="max"
        How ``"ensemble"`` combines the three heads.
    batch_size : int, default=256
        Windows per forward pass.
    scale : {"robust", "minmax"}, default="robust"
        Robust scores (median 0, in robust standard deviations) or min-max scaled to [0, 1].

    Examples
    --------
    >>> from aeon.datasets import load_kdd_tsad_135
    >>> from tinyts.estimators import TinyPulseAnomalyDetector
    >>> X, y = load_kdd_tsad_135()
    >>> scores = TinyPulseAnomalyDetector().fit_predict(X)  # doctest: +SKIP
    """

    _tags: ClassVar[dict[str, Any]] = {
        "capability:multivariate": True,
        "capability:missing_values": True,
        "fit_is_empty": True,
        "learning_type:unsupervised": True,
        "anomaly_output_type": "anomaly_scores",
        "algorithm_type": "deeplearning",
    }

    def __init__(
        self,
        model: Any = "tinypulse",
        mode: AnomalyMode = "ensemble",
        agg: int = 64,
        groups: int = 2,
        smooth: int = 96,
        fuse: AnomalyFuse = "max",
        batch_size: int = 256,
        scale: AnomalyScale = "robust",
    ) -> None:
        self.model = model
        self.mode = mode
        self.agg = agg
        self.groups = groups
        self.smooth = smooth
        self.fuse = fuse
        self.batch_size = batch_size
        self.scale = scale
        super().__init__(axis=1)

    def _predict(self, X: np.ndarray) -> np.ndarray:
        from tinyts.tasks.pulse.anomaly import anomaly_scores

        pulse = resolve(self.model, TinyPulse, cache=True)
        x = X[0] if X.shape[0] == 1 else X  # (channels, time) from aeon (axis=1)
        return anomaly_scores(
            pulse,
            x,
            mode=self.mode,
            agg=self.agg,
            groups=self.groups,
            smooth=self.smooth,
            fuse=self.fuse,
            batch_size=self.batch_size,
            scale=self.scale,
        )

    @classmethod
    def _get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        """Fast settings for aeon's estimator checks: a tiny random-initialised TinyPulse.

        Two instances: the fused ensemble and the time head alone with short windows.
        """
        tiny = tiny_checkpoint("pulse")
        return [{"model": tiny}, {"model": tiny, "mode": "time", "agg": 8, "smooth": 4}]
