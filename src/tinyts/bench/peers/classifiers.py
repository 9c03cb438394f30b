"""Classification peers of the ``classification`` suite and the input preparation they share.

Every entry of :data:`CLASSIFIERS` is a factory ``seed -> classifier``; the classifier has the sklearn
methods ``fit(X, y)`` and ``predict(X)`` on ``(n_cases, n_channels, n_timepoints)`` float64 arrays of
one length without NaN (the suite prepares them with :func:`prepare_splits`). A tinyts model joins the
suite by adding a factory here or to the suite's ``METHODS``.

- ``minirocket``: aeon's ``MiniRocketClassifier`` with its defaults (10,000 kernels, ridge CV), seeded
  through ``random_state``; series shorter than aeon's minimum of 9 points are zero-padded to 9.
- ``multirocket``: aeon's ``MultiRocketClassifier`` with its defaults (10,000 kernels x 4 pooling
  operators on the series and its first difference, ridge CV), seeded, same padding;
- ``hydra_multirocket``: aeon's ``MultiRocketHydraClassifier`` with its defaults (Hydra's competing
  convolutions concatenated with MultiRocket, ridge CV), seeded, same padding;
- ``nn1_euclidean``: 1-nearest neighbour with the Euclidean distance on the flattened series (all
  channels concatenated), scikit-learn's ``KNeighborsClassifier`` with brute-force search.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Protocol

import numpy as np

__all__ = [
    "CLASSIFIERS",
    "MINIROCKET_MIN_LENGTH",
    "AeonConvolutionPeer",
    "Classifier",
    "ClassifierFactory",
    "MiniRocketPeer",
    "NearestNeighbourEuclidean",
    "interpolate_nan",
    "minirocket_features",
    "pad_to_length",
    "prepare_splits",
    "warm_up_minirocket",
]

#: aeon's MiniRocket refuses series shorter than this; its error message asks for zero padding.
MINIROCKET_MIN_LENGTH = 9


class Classifier(Protocol):
    """What the classification suite needs from a method."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> Any: ...

    def predict(self, X: np.ndarray) -> np.ndarray: ...


ClassifierFactory = Callable[[int], Classifier]


def _aeon_import_error() -> ImportError:
    return ImportError("this peer needs aeon: pip install 'tinyts[bench]'")


def interpolate_nan(series: np.ndarray) -> tuple[np.ndarray, int]:
    """Fill NaN by linear interpolation along time, per channel; constant beyond the first/last value.

    Parameters
    ----------
    series : np.ndarray
        ``(n_channels, n_timepoints)``.

    Returns
    -------
    filled : np.ndarray
        Same shape, float64; a channel with no observed value becomes zeros.
    n_filled : int
        How many values were filled.
    """
    x = np.array(series, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"series must be (n_channels, n_timepoints), got shape {x.shape}")
    missing = np.isnan(x)
    n_filled = int(missing.sum())
    if not n_filled:
        return x, 0
    t = np.arange(x.shape[1])
    for c in range(x.shape[0]):
        m = missing[c]
        if m.all():
            x[c] = 0.0
        elif m.any():
            x[c, m] = np.interp(t[m], t[~m], x[c, ~m])
    return x, n_filled


def pad_to_length(X: np.ndarray, length: int) -> np.ndarray:
    """Zero-pad ``(n, c, t)`` at the end of the time axis to ``length`` (no-op when already long enough)."""
    if X.shape[2] >= length:
        return X
    out = np.zeros((*X.shape[:2], length), dtype=X.dtype)
    out[:, :, : X.shape[2]] = X
    return out


def prepare_splits(
    X_train: np.ndarray | Sequence[np.ndarray], X_test: np.ndarray | Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Make both splits ``(n, c, t)`` float64 of one length without NaN, as peers.md did.

    NaN are linearly interpolated along time (per case and channel); cases of unequal length are
    zero-padded at the end to the longest case of either split.

    Returns
    -------
    X_train, X_test : np.ndarray
        Prepared arrays.
    notes : list of str
        What was done (empty when the data needed nothing).
    """
    cases = {"train": list(X_train), "test": list(X_test)}
    notes: list[str] = []
    filled = 0
    for split, items in cases.items():
        out = []
        for case in items:
            arr, n = interpolate_nan(np.asarray(case, dtype=np.float64))
            filled += n
            out.append(arr)
        cases[split] = out
    if filled:
        notes.append(f"{filled} NaN linearly interpolated")
    lengths = {c.shape[1] for items in cases.values() for c in items}
    channels = {c.shape[0] for items in cases.values() for c in items}
    if len(channels) != 1:
        raise ValueError(f"cases have different channel counts {sorted(channels)}; expected one count")
    n_channels, length = channels.pop(), max(lengths)
    if len(lengths) > 1:
        notes.append(f"unequal lengths {min(lengths)}..{length}, zero-padded to {length}")

    def stack(items: list[np.ndarray]) -> np.ndarray:
        out = np.zeros((len(items), n_channels, length))
        for i, case in enumerate(items):
            out[i, :, : case.shape[1]] = case
        return out

    return stack(cases["train"]), stack(cases["test"]), notes


class AeonConvolutionPeer:
    """An aeon convolution classifier (defaults), seeded, zero-padding series shorter than 9 points.

    ``name``: ``"minirocket"`` (``MiniRocketClassifier``), ``"multirocket"`` (``MultiRocketClassifier``)
    or ``"hydra_multirocket"`` (``MultiRocketHydraClassifier``).
    """

    CLASSES: ClassVar[dict[str, str]] = {
        "minirocket": "MiniRocketClassifier",
        "multirocket": "MultiRocketClassifier",
        "hydra_multirocket": "MultiRocketHydraClassifier",
    }

    def __init__(self, seed: int, n_jobs: int = 1, name: str = "minirocket") -> None:
        if name not in self.CLASSES:
            raise ValueError(f"name must be one of {sorted(self.CLASSES)}, got {name!r}")
        self.seed = seed
        self.n_jobs = n_jobs
        self.name = name
        self.padded_to: int | None = None
        self._clf: Any = None

    def _pad(self, X: np.ndarray) -> np.ndarray:
        if X.shape[2] < MINIROCKET_MIN_LENGTH:
            self.padded_to = MINIROCKET_MIN_LENGTH
            return pad_to_length(X, MINIROCKET_MIN_LENGTH)
        return X

    def fit(self, X: np.ndarray, y: np.ndarray) -> AeonConvolutionPeer:
        try:
            from aeon.classification import convolution_based
        except ImportError as exc:  # pragma: no cover
            raise _aeon_import_error() from exc
        cls = getattr(convolution_based, self.CLASSES[self.name])
        self._clf = cls(random_state=self.seed, n_jobs=self.n_jobs)
        self._clf.fit(self._pad(X), y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self._clf is None:
            raise RuntimeError("call fit before predict")
        return np.asarray(self._clf.predict(self._pad(X)))


class MiniRocketPeer(AeonConvolutionPeer):
    """aeon ``MiniRocketClassifier`` (defaults), seeded, zero-padding series shorter than 9 points."""

    def __init__(self, seed: int, n_jobs: int = 1) -> None:
        super().__init__(seed, n_jobs, "minirocket")


class NearestNeighbourEuclidean:
    """1-NN, Euclidean distance on the flattened series (scikit-learn, brute force)."""

    def __init__(self, seed: int = 0) -> None:
        from sklearn.neighbors import KNeighborsClassifier

        self._clf = KNeighborsClassifier(n_neighbors=1, algorithm="brute", metric="euclidean")

    def fit(self, X: np.ndarray, y: np.ndarray) -> NearestNeighbourEuclidean:
        self._clf.fit(X.reshape(len(X), -1), y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self._clf.predict(X.reshape(len(X), -1)))


def minirocket_features(
    X_fit: np.ndarray, X_other: np.ndarray, seed: int, n_jobs: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """aeon ``MiniRocket`` features: fitted (without labels) on ``X_fit``, applied to both arrays.

    Returns float32 ``(n, n_features)`` arrays (PPV features, 9,996 with the default 10,000 kernels).
    """
    try:
        from aeon.transformations.collection.convolution_based import MiniRocket
    except ImportError as exc:  # pragma: no cover
        raise _aeon_import_error() from exc
    length = max(X_fit.shape[2], MINIROCKET_MIN_LENGTH)
    tr = MiniRocket(random_state=seed, n_jobs=n_jobs)
    a = np.asarray(tr.fit_transform(pad_to_length(X_fit, length)), dtype=np.float32)
    b = np.asarray(tr.transform(pad_to_length(X_other, length)), dtype=np.float32)
    return a, b


def warm_up_minirocket(n_jobs: int = 1, names: Sequence[str] = ("minirocket",)) -> None:
    """Fit and predict once on tiny data so that numba compiles before anything is timed.

    ``names``: the :class:`AeonConvolutionPeer` classifiers to warm up.
    """
    rng = np.random.default_rng(0)
    y = np.array(["a", "b"] * 5)
    for name in names:
        for channels in (1, 2):
            X = rng.standard_normal((10, channels, 32))
            AeonConvolutionPeer(0, n_jobs=n_jobs, name=name).fit(X, y).predict(X)


#: Method name -> factory ``seed -> unfitted classifier``; the suite runs them in this order.
CLASSIFIERS: dict[str, ClassifierFactory] = {
    "minirocket": lambda seed: MiniRocketPeer(seed, n_jobs=1),
    "multirocket": lambda seed: AeonConvolutionPeer(seed, n_jobs=1, name="multirocket"),
    "hydra_multirocket": lambda seed: AeonConvolutionPeer(seed, n_jobs=1, name="hydra_multirocket"),
    "nn1_euclidean": lambda seed: NearestNeighbourEuclidean(seed),
}
