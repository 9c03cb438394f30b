"""Plot of a forecast: the end of the history, the median and the 80% band (0.1 to 0.9), per channel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tinyts.fileio import atomic_file


def plot_forecast(
    path: str | Path,
    history: np.ndarray,
    median: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    *,
    names: list[str] | None = None,
    history_time: Any = None,
    future_time: Any = None,
    max_channels: int = 6,
    max_history: int | None = None,
) -> Path:
    """Write a png with one panel per channel.

    Parameters
    ----------
    path : str or Path
        Output file (folders are created).
    history : np.ndarray
        ``(channels, time)`` observed values (NaN = missing).
    median, low, high : np.ndarray
        ``(channels, horizon)``: the median and the band edges (the 0.1 and 0.9 quantiles).
    names : list of str, optional
        Channel names for the y labels.
    history_time, future_time : array-like, optional
        x positions of history and forecast (e.g. timestamps); default ``0..time-1`` and
        ``time..time+horizon-1``.
    max_channels : int
        Panels at most (the first channels).
    max_history : int, optional
        History points shown; default ``max(4 * horizon, 200)``.

    Returns
    -------
    Path
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hist = np.atleast_2d(np.asarray(history, dtype=np.float64))
    med, lo, hi = (np.atleast_2d(np.asarray(a, dtype=np.float64)) for a in (median, low, high))
    n_time, horizon = hist.shape[1], med.shape[1]
    t_hist = np.arange(n_time) if history_time is None else np.asarray(history_time)
    t_fut = np.arange(n_time, n_time + horizon) if future_time is None else np.asarray(future_time)
    keep = max(4 * horizon, 200) if max_history is None else max_history
    start = max(0, n_time - keep)
    n = min(hist.shape[0], max_channels)
    fig, axes = plt.subplots(n, 1, figsize=(10, 1.9 * n + 0.6), sharex=True, squeeze=False)
    for i in range(n):
        ax = axes[i, 0]
        ax.plot(t_hist[start:], hist[i, start:], lw=0.8, color="C0", label="history")
        ax.fill_between(t_fut, lo[i], hi[i], color="C1", alpha=0.25, lw=0, label="80% band (0.1-0.9)")
        ax.plot(t_fut, med[i], lw=1.0, color="C1", label="median")
        if names is not None and i < len(names):
            ax.set_ylabel(names[i], fontsize=8)
    axes[0, 0].legend(fontsize=7, loc="upper left")
    axes[0, 0].set_title(f"forecast: {horizon} steps, median and 80% band", fontsize=9)
    p = Path(path)
    fig.autofmt_xdate()
    fig.tight_layout()
    with atomic_file(p) as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)
    return p
