"""The shared look of tinyts plots: palette, time axes, legends beside the data, labelled spans.

Colours are the Okabe-Ito colour-blind-safe palette: observed data near-black, the tinyts model blue,
peers orange / green / purple, the truth grey and dashed, labelled anomalies shaded vermilion. Time
axes show dates when the data has them (concise date labels, no rotation needed). Legends sit to the
right of the axes, where they cannot cover data. Figures are written atomically
(:func:`tinyts.fileio.atomic_file`) at 90 dpi.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinyts.fileio import atomic_file

__all__ = [
    "ANOMALY",
    "FLAG",
    "MODEL",
    "OBSERVED",
    "PEERS",
    "TRUTH",
    "legend_right",
    "pyplot",
    "runs",
    "save_figure",
    "shade_runs",
    "time_axis",
    "to_numbers",
]

#: observed values / history
OBSERVED = "#222222"
#: the truth where it was hidden (drawn dashed)
TRUTH = "#666666"
#: the tinyts model (TinyPulse, TinyCast)
MODEL = "#0072B2"
#: peers and baselines, in order
PEERS = ("#E69F00", "#009E73", "#CC79A7", "#56B4E9")
#: labelled anomalies (shaded spans)
ANOMALY = "#D55E00"
#: points flagged by a detector
FLAG = "#CC79A7"
#: resolution of saved figures
DPI = 90
#: a shaded span is at least this share of the x range wide (a 12-point anomaly in 7,500 points
#: would otherwise be a 1-pixel line)
MIN_SPAN_FRACTION = 0.006


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend, with readable default font sizes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.size": 9,
            "axes.titlesize": 10,
            "axes.labelsize": 9,
            "xtick.labelsize": 8,
            "ytick.labelsize": 8,
            "legend.fontsize": 8,
            "figure.titlesize": 11,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt


def is_datetime(t: Any) -> bool:
    """True when ``t`` holds dates (numpy datetime64, pandas timestamps or ``datetime`` objects)."""
    arr = np.asarray(t)
    if np.issubdtype(arr.dtype, np.datetime64):
        return True
    if arr.dtype == object and arr.size:
        import datetime as dt

        return isinstance(arr.flat[0], (dt.datetime, dt.date, np.datetime64))
    return False


def to_numbers(t: Any) -> np.ndarray:
    """x positions as floats in matplotlib's units (days since the epoch for dates)."""
    if is_datetime(t):
        import matplotlib.dates as mdates

        return np.asarray(mdates.date2num(np.asarray(t, dtype="datetime64[ns]")), dtype=np.float64)
    return np.asarray(t, dtype=np.float64)


def time_axis(ax: Any, t: Any, label: str | None = None) -> None:
    """Label the x axis; concise date ticks when ``t`` holds dates.

    Parameters
    ----------
    ax : matplotlib Axes
    t : array-like
        The x positions plotted.
    label : str, optional
        Axis label; default ``"date"`` for dates, ``"time step"`` otherwise.
    """
    if is_datetime(t):
        import matplotlib.dates as mdates

        locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.set_xlabel(label or "date")
    else:
        ax.set_xlabel(label or "time step")


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Contiguous runs of True in a 1-D mask as ``(start, stop)`` index pairs (``stop`` exclusive)."""
    m = np.asarray(mask, dtype=bool).ravel()
    if not m.any():
        return []
    edges = np.diff(np.concatenate([[0], m.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]


def shade_runs(
    ax: Any,
    t: Any,
    mask: np.ndarray,
    *,
    color: str = ANOMALY,
    alpha: float = 0.25,
    label: str | None = None,
    min_fraction: float = MIN_SPAN_FRACTION,
) -> int:
    """Shade every run of True in ``mask`` as a vertical span over the whole height of ``ax``.

    A span covers its points and one step beyond the last, and is widened about its centre to at least
    ``min_fraction`` of the x range, so that short runs stay visible.

    Parameters
    ----------
    ax : matplotlib Axes
    t : array-like
        x positions of the points (numbers or dates), one per entry of ``mask``.
    mask : np.ndarray
        Bool (or 0/1; NaN counts as 0) per point.
    color, alpha : str, float
        Fill of the spans.
    label : str, optional
        Legend entry (given to the first span only).
    min_fraction : float
        Minimum width of a span as a share of the x range.

    Returns
    -------
    int
        The number of spans drawn.
    """
    m = np.nan_to_num(np.asarray(mask, dtype=np.float64)) > 0
    found = runs(m)
    if not found:
        return 0
    x = to_numbers(t)
    step = float(np.median(np.diff(x))) if len(x) > 1 else 1.0
    min_width = min_fraction * max(float(x[-1] - x[0]), step)
    for k, (a, b) in enumerate(found):
        left, right = float(x[a]), float(x[b - 1]) + step
        if right - left < min_width:
            mid = 0.5 * (left + right)
            left, right = mid - min_width / 2, mid + min_width / 2
        ax.axvspan(left, right, color=color, alpha=alpha, lw=0, label=label if k == 0 else None, zorder=0)
    return len(found)


def legend_right(ax: Any, handles: Sequence[Any] | None = None, **kwargs: Any) -> Any:
    """A legend to the right of ``ax`` (outside the data), top-aligned, without a frame."""
    options = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "borderaxespad": 0.0, "frameon": False}
    options.update(kwargs)
    if handles is not None:
        return ax.legend(handles=list(handles), **options)
    return ax.legend(**options)


def save_figure(fig: Any, path: str | Path, dpi: int = DPI) -> Path:
    """Lay out, write atomically (folders are created) and close ``fig``; return the path."""
    plt = pyplot()
    p = Path(path)
    fig.tight_layout()
    with atomic_file(p) as tmp:
        fig.savefig(tmp, dpi=dpi)
    plt.close(fig)
    return p
