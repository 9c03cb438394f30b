"""Training and evaluation windows for compression: univariate ``(context, future)`` pairs.

Every channel of a series is its own univariate series (the channel-independent protocol of the
forecasting benchmark). :func:`ltsf_windows` cuts the standard LTSF splits (scaled with train
statistics, :func:`tinyts.data.windows.split_and_scale`), so validation and test windows never leak
into training.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Windows", "ltsf_windows", "make_windows"]


@dataclass
class Windows:
    """Paired windows: ``x`` ``(n, context)`` and ``y`` ``(n, future)``, float32 tensors."""

    x: torch.Tensor
    y: torch.Tensor

    def __post_init__(self) -> None:
        if self.x.ndim != 2 or self.y.ndim != 2 or self.x.shape[0] != self.y.shape[0]:
            raise ValueError(
                f"windows need x (n, context) and y (n, future) with the same n, got {tuple(self.x.shape)} "
                f"and {tuple(self.y.shape)}"
            )

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def context(self) -> int:
        return int(self.x.shape[1])

    @property
    def future(self) -> int:
        return int(self.y.shape[1])

    def subset(self, index: torch.Tensor | np.ndarray | slice) -> Windows:
        if isinstance(index, np.ndarray):
            index = torch.from_numpy(index)
        return Windows(self.x[index], self.y[index])

    def head(self, future: int) -> Windows:
        """The same windows with the first ``future`` target points."""
        if future > self.future:
            raise ValueError(f"the windows hold {self.future} future points, {future} requested")
        return Windows(self.x, self.y[:, :future])

    def sample(self, n: int, seed: int = 0) -> Windows:
        """At most ``n`` windows, drawn without replacement (all of them if there are fewer)."""
        if n >= len(self):
            return self
        g = torch.Generator().manual_seed(seed)
        return self.subset(torch.randperm(len(self), generator=g)[:n].sort().values)

    def batches(
        self, batch_size: int, *, shuffle: bool = False, seed: int = 0
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """``(x, y)`` batches; a seeded permutation when ``shuffle``."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        n = len(self)
        order = (
            torch.randperm(n, generator=torch.Generator().manual_seed(seed)) if shuffle else torch.arange(n)
        )
        for lo in range(0, n, batch_size):
            idx = order[lo : lo + batch_size]
            yield self.x[idx], self.y[idx]


def make_windows(series: np.ndarray, context: int, future: int, stride: int = 1) -> Windows:
    """Cut ``(time,)`` or ``(channels, time)`` arrays into univariate windows.

    Windows containing a non-finite value are dropped.

    Raises
    ------
    ValueError
        A series shorter than ``context + future`` or bad sizes.
    """
    arr = np.asarray(series, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"series must be (time,) or (channels, time), got shape {arr.shape}")
    for name, v in (("context", context), ("future", future), ("stride", stride)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    length = context + future
    if arr.shape[1] < length:
        raise ValueError(f"series of {arr.shape[1]} points are shorter than context + future = {length}")
    view = np.lib.stride_tricks.sliding_window_view(arr, length, axis=-1)[:, ::stride]  # (C, n, L)
    flat = view.reshape(-1, length)
    flat = flat[np.isfinite(flat).all(axis=1)]
    t = torch.from_numpy(np.ascontiguousarray(flat, dtype=np.float32))
    return Windows(t[:, :context].contiguous(), t[:, context:].contiguous())


def ltsf_windows(
    values: np.ndarray,
    name: str,
    context: int,
    future: int,
    *,
    strides: dict[str, int] | None = None,
    splits: tuple[str, ...] = ("train", "val", "test"),
) -> dict[str, Windows]:
    """Windows of the train, val and test splits of a ``(channels, time)`` table.

    Splits and scaling follow :func:`tinyts.data.windows.split_and_scale` (ETT 12/4/4 months, else
    70/10/20; train statistics); val and test start ``context`` rows early, as the LTSF loaders do,
    so every row of those splits can be a target.

    Parameters
    ----------
    values : np.ndarray
        ``(channels, time)`` raw values.
    name : str
        Dataset name (decides the split rule).
    context, future : int
        Window sizes.
    strides : dict, optional
        Stride per split (default 1).
    splits : tuple of str
        Which splits to cut.
    """
    from tinyts.data.windows import split_and_scale

    parts = split_and_scale(values, name, context=context)
    strides = strides or {}
    return {
        split: make_windows(parts[split], context, future, int(strides.get(split, 1))) for split in splits
    }
