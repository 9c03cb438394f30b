"""Input handling of :class:`tinyts.tasks.classify.api.PulseClassifier`: cases, labels, resampling, splits.

Cases go through the library's one input boundary (:func:`tinyts.data.convert.arrays.to_batch`), then each
case is resampled, on its own true length, to the model's context: linear interpolation when it is
shorter, anti-aliased (area-weighted) linear interpolation when it is longer. Missing points are first
filled by linear interpolation along time and stay marked as hidden, so the model treats them as it
does in imputation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from tinyts.data.convert.arrays import to_batch

ACCEPTED = (
    "accepted: a 3-D array (n_cases, n_channels, n_timepoints), a 2-D array (n_cases, n_timepoints) "
    "for univariate cases, or a list of (n_channels, n_timepoints_i) / (n_timepoints_i,) arrays"
)


def as_cases(X: Any, name: str = "X") -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Validate a collection of cases; return padded values, observed mask and true lengths.

    Parameters
    ----------
    X : array-like or list of arrays
        See :data:`ACCEPTED`. NaN means missing; inf, empty input and all-NaN series are errors.
    name : str
        How to call the input in messages.

    Returns
    -------
    values, observed : torch.Tensor
        ``(n_cases, n_channels, max_length)``; padding (at the end) is unobserved.
    lengths : list of int
        Each case's length.
    """
    if isinstance(X, (list, tuple)) and len(X) == 0:
        raise ValueError(f"{name} is empty (no cases); {ACCEPTED}")
    items = isinstance(X, (list, tuple)) and any(isinstance(el, (np.ndarray, torch.Tensor)) for el in X)
    if not items:
        if isinstance(X, torch.Tensor):
            X = X.detach().cpu().numpy()
        try:
            arr = np.asarray(X)
        except ValueError:
            raise ValueError(
                f"{name} is a ragged nested list; for cases of unequal length pass a list of numpy "
                f"arrays ({ACCEPTED})"
            ) from None
        if arr.ndim == 1:
            raise ValueError(
                f"{name} is 1-D (shape {arr.shape}): that is one series, not a collection of cases; "
                f"pass X[None, None, :] for a single univariate case ({ACCEPTED})"
            )
        if arr.ndim == 2:
            arr = arr[:, None, :]
        if arr.ndim != 3:
            raise ValueError(f"{name} has ndim {arr.ndim} (shape {arr.shape}); {ACCEPTED}")
        X = arr
    batch = to_batch(X, align="left", allow_nan=True, name=name)
    return batch.values, batch.observed, list(batch.lengths)


def check_labels(y: Any, n_cases: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate labels; return ``(classes, codes)`` (sorted unique labels and each case's index)."""
    if y is None:
        raise ValueError("y is None; fit needs one class label per case")
    arr = np.asarray(y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else y)
    if arr.ndim != 1:
        raise ValueError(f"y must be 1-D (one label per case), got shape {arr.shape}")
    if len(arr) != n_cases:
        raise ValueError(f"X has {n_cases} cases but y has {len(arr)} labels; pass one label per case")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError(f"y has {int(np.isnan(arr).sum())} NaN label(s); every case needs a class label")
    if arr.dtype.kind == "O":
        arr = arr.astype(str)
    classes, codes = np.unique(arr, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"y has a single class ({classes[0]!r}); a classifier needs cases of at least 2 classes"
        )
    return classes, codes.astype(np.int64)


def stratified_split(
    codes: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Split case indices into (train, validation), about ``fraction`` of each class to validation.

    A class keeps at least one case in train; classes with a single case give none to validation.
    Returns an empty validation set when ``fraction`` is 0.
    """
    train: list[int] = []
    val: list[int] = []
    for k in np.unique(codes):
        idx = rng.permutation(np.flatnonzero(codes == k))
        n_val = min(len(idx) - 1, round(fraction * len(idx))) if fraction > 0 else 0
        val.extend(idx[:n_val].tolist())
        train.extend(idx[n_val:].tolist())
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(val, dtype=np.int64))
