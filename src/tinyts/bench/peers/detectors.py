"""Anomaly detectors of the ``anomaly`` suite: TSB-AD's classic detectors with TSB-AD's own recommended
hyper-parameters, and three simple baselines.

Every detector has one signature, :data:`Detector`::

    detector(values, train_end, seed) -> scores

``values`` is ``(n_channels, n_time)`` float64 without NaN (the library's convention; TSB-AD's
detectors get the ``(n_time, n_channels)`` matrix they expect from :func:`_check`), ``train_end`` the
length of the anomaly-free train prefix when the source defines one (else None), ``seed`` the seed for
anything random; the result is one finite score per time point, higher = more anomalous. A detector
that has no setting for the series (a univariate-only detector on a multivariate series) raises
:class:`NotApplicable`, which the suite records as a skipped case.

TSB-AD peers (``TSB-AD==1.5``, installed with ``--no-deps``) are called through the ``run_<name>``
functions of ``TSB_AD.model_wrapper``, exactly as ``TSB_AD/main.py`` and ``benchmark_exp/Run_Detector_U.py``
/ ``Run_Detector_M.py`` do, but directly rather than through ``run_Unsupervise_AD`` (which turns any
error into a returned string) so that a failure surfaces:

- univariate series use ``Optimal_Uni_algo_HP_dict``: ``Sub_PCA`` (window = ACF period), ``IForest``
  (window 100), ``Sub_IForest`` (window = ACF period);
- multivariate series use ``Optimal_Multi_algo_HP_dict``: ``PCA`` (window 100) reported as ``sub_pca``,
  ``IForest`` (window 100); ``Sub_IForest`` has no multivariate setting.

To add a detector (a tinyts model, say), write a function with the :data:`Detector` signature and add it
to :data:`DETECTORS`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np

from tinyts.errors import NotApplicable

__all__ = [
    "BASELINES",
    "DETECTORS",
    "TSB_AD_SEED",
    "Detector",
    "NotApplicable",
    "diff_score",
    "iforest",
    "random_score",
    "seed_everything",
    "sub_iforest",
    "sub_pca",
    "tsb_ad_window",
    "zscore_score",
]

#: TSB-AD seeds numpy, random and torch with 2024 before running a detector.
TSB_AD_SEED = 2024

Detector = Callable[[np.ndarray, "int | None", int], np.ndarray]


def _tsb_ad() -> tuple[Any, Any, Any]:
    """``(model_wrapper, Optimal_Uni_algo_HP_dict, Optimal_Multi_algo_HP_dict)``, imported lazily."""
    try:
        from TSB_AD import model_wrapper
        from TSB_AD.HP_list import Optimal_Multi_algo_HP_dict, Optimal_Uni_algo_HP_dict
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the anomaly peers need TSB-AD: pip install 'tinyts[bench]' and then "
            "pip install --no-deps TSB-AD==1.5 hurst==0.0.5 (TSB-AD pins old numpy; see README)"
        ) from exc
    return model_wrapper, Optimal_Uni_algo_HP_dict, Optimal_Multi_algo_HP_dict


def seed_everything(seed: int = TSB_AD_SEED) -> None:
    """Seed numpy's global generator, ``random`` and torch (when importable), as TSB-AD does."""
    np.random.seed(seed)  # noqa: NPY002 - TSB-AD's detectors draw from the global generator
    random.seed(seed)
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.manual_seed(seed)


def tsb_ad_window(values: np.ndarray) -> int:
    """The metric's sliding window: ``find_length_rank(first channel, rank=1)``, as TSB-AD's scripts do."""
    from TSB_AD.utils.slidingWindows import find_length_rank

    return int(find_length_rank(np.asarray(values, dtype=np.float64)[0], rank=1))


def _check(values: np.ndarray) -> np.ndarray:
    """Validate ``(n_channels, n_time)`` values; return them as TSB-AD's ``(n_time, n_channels)``."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise ValueError(f"values must be (n_channels, n_time >= 2), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("values contain NaN or inf; drop or fill them before scoring")
    return np.ascontiguousarray(arr.T)


def _finish(score: Any, n_time: int, name: str) -> np.ndarray:
    out = np.asarray(score, dtype=np.float64).ravel()
    if out.shape != (n_time,):
        raise RuntimeError(f"{name} returned {out.shape[0]} scores for {n_time} time points")
    return out


def sub_pca(values: np.ndarray, train_end: int | None, seed: int) -> np.ndarray:
    """TSB-AD ``Sub_PCA`` (univariate) or ``PCA`` (multivariate) with the recommended settings."""
    arr = _check(values)
    wrapper, uni, multi = _tsb_ad()
    if arr.shape[1] == 1:
        score = wrapper.run_Sub_PCA(arr, **uni["Sub_PCA"])
    else:
        score = wrapper.run_PCA(arr, **multi["PCA"])
    return _finish(score, arr.shape[0], "sub_pca")


def iforest(values: np.ndarray, train_end: int | None, seed: int) -> np.ndarray:
    """TSB-AD ``IForest`` (window 100) with the univariate or multivariate recommended settings."""
    arr = _check(values)
    wrapper, uni, multi = _tsb_ad()
    hp = uni["IForest"] if arr.shape[1] == 1 else multi["IForest"]
    return _finish(wrapper.run_IForest(arr, **hp), arr.shape[0], "iforest")


def sub_iforest(values: np.ndarray, train_end: int | None, seed: int) -> np.ndarray:
    """TSB-AD ``Sub_IForest`` (window = ACF period, 150 trees); univariate only."""
    arr = _check(values)
    if arr.shape[1] != 1:
        raise NotApplicable("Sub_IForest has no TSB-AD-M (multivariate) setting")
    wrapper, uni, _ = _tsb_ad()
    return _finish(wrapper.run_Sub_IForest(arr, **uni["Sub_IForest"]), arr.shape[0], "sub_iforest")


def _channel_std(x: np.ndarray) -> np.ndarray:
    std = x.std(axis=0)
    return np.where(std > 0, std, np.inf)  # a constant channel scores 0 everywhere


def zscore_score(values: np.ndarray, train_end: int | None, seed: int) -> np.ndarray:
    """``|x - mean| / std`` per channel (whole-series statistics), maximum over channels."""
    arr = _check(values)
    return (np.abs(arr - arr.mean(axis=0)) / _channel_std(arr)).max(axis=1)


def diff_score(values: np.ndarray, train_end: int | None, seed: int) -> np.ndarray:
    """``|x_t - x_(t-1)|`` divided by the channel's std of differences, maximum over channels.

    The first point gets the score of the second.
    """
    arr = _check(values)
    d = np.abs(np.diff(arr, axis=0))
    d = (d / _channel_std(np.diff(arr, axis=0))).max(axis=1)
    return np.concatenate([d[:1], d])


def random_score(values: np.ndarray, train_end: int | None, seed: int) -> np.ndarray:
    """Uniform noise: the floor, whose VUS-PR / AUC-PR sit near the anomaly ratio."""
    arr = _check(values)
    return np.asarray(np.random.default_rng(seed).random(arr.shape[0]), dtype=np.float64)


#: TSB-AD peers, in report order.
TSB_AD_DETECTORS: dict[str, Detector] = {
    "sub_pca": sub_pca,
    "iforest": iforest,
    "sub_iforest": sub_iforest,
}

#: Simple baselines.
BASELINES: dict[str, Detector] = {
    "zscore": zscore_score,
    "diff": diff_score,
    "random": random_score,
}

#: Every detector of the anomaly suite: method name -> detector.
DETECTORS: dict[str, Detector] = {**TSB_AD_DETECTORS, **BASELINES}
