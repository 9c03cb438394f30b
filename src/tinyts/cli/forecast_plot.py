"""Plot of a forecast: the end of the history, the median, the 10-90 % band and the truth, per channel."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


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
    truth: np.ndarray | None = None,
    others: Mapping[str, np.ndarray] | None = None,
    model_name: str = "TinyCast",
    title: str | None = None,
    value_label: str = "value",
) -> Path:
    """Write a png with one panel per channel.

    Parameters
    ----------
    path : str or Path
        Output file (written atomically; folders are created).
    history : np.ndarray
        ``(channels, time)`` observed values (NaN = missing).
    median, low, high : np.ndarray
        ``(channels, horizon)``: the median and the band edges (the 0.1 and 0.9 quantiles).
    names : list of str, optional
        Channel names (panel titles).
    history_time, future_time : array-like, optional
        x positions of history and forecast (e.g. timestamps: the axis then shows dates); default
        ``0..time-1`` and ``time..time+horizon-1``.
    max_channels : int
        Panels at most (the first channels).
    max_history : int, optional
        History points shown; default ``max(4 * horizon, 200)``.
    truth : np.ndarray, optional
        ``(channels, horizon)`` actual values over the forecast period, where known (drawn dashed).
    others : mapping of str to np.ndarray, optional
        Other forecasts to compare with (e.g. baselines), ``name -> (channels, horizon)``.
    model_name : str
        The forecaster's name in the legend.
    title : str, optional
        Figure title; default: the horizon and the band.
    value_label : str
        y-axis label (the unit when known).

    Returns
    -------
    Path
    """
    from tinyts.cli import plotting

    plt = plotting.pyplot()
    hist = np.atleast_2d(np.asarray(history, dtype=np.float64))
    med, lo, hi = (np.atleast_2d(np.asarray(a, dtype=np.float64)) for a in (median, low, high))
    actual = None if truth is None else np.atleast_2d(np.asarray(truth, dtype=np.float64))
    extra = {k: np.atleast_2d(np.asarray(v, dtype=np.float64)) for k, v in (others or {}).items()}
    n_time, horizon = hist.shape[1], med.shape[1]
    t_hist = np.arange(n_time) if history_time is None else np.asarray(history_time)
    t_fut = np.arange(n_time, n_time + horizon) if future_time is None else np.asarray(future_time)
    keep = max(4 * horizon, 200) if max_history is None else max_history
    start = max(0, n_time - keep)
    n = min(hist.shape[0], max_channels)
    fig, axes = plt.subplots(n, 1, figsize=(11, max(3.6, 2.2 * n + 0.9)), sharex=True, squeeze=False)
    for i in range(n):
        ax = axes[i, 0]
        ax.plot(t_hist[start:], hist[i, start:], lw=1.0, color=plotting.OBSERVED, label="history")
        if actual is not None:
            ax.plot(t_fut, actual[i], lw=1.2, ls="--", color=plotting.TRUTH, label="actual (held out)")
        ax.fill_between(
            t_fut, lo[i], hi[i], color=plotting.MODEL, alpha=0.22, lw=0, label=f"{model_name} 10-90 % band"
        )
        ax.plot(t_fut, med[i], lw=1.5, color=plotting.MODEL, label=f"{model_name} median")
        for k, (name, values) in enumerate(extra.items()):
            color = plotting.PEERS[k % len(plotting.PEERS)]
            ax.plot(t_fut, values[i], lw=1.2, ls="-.", color=color, label=name)
        if names is not None and i < len(names):
            ax.set_title(names[i], loc="left")
        ax.set_ylabel(value_label)
    plotting.legend_right(axes[0, 0])
    plotting.time_axis(axes[n - 1, 0], t_hist)
    fig.suptitle(title or f"Forecast: {horizon} steps ahead, median and 10-90 % band")
    return plotting.save_figure(fig, path)
