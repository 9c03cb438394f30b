"""Every figure of the ``tinyts`` commands and the demo, and their shared look.

Figures: :func:`plot_imputation` (``tinyts impute --plot``), :func:`plot_scores` (``tinyts detect
--plot``), :func:`plot_forecast` (``tinyts forecast --plot``) and :func:`plot_classification`
(``tinyts classify fit|predict --plot``: the confusion matrix with per-class accuracy, next to the
TSLens training curve when there is one). The demo draws with the same pieces.

The look: colours are the Okabe-Ito colour-blind-safe palette: observed data near-black, the tinyts
model blue, peers orange / green / purple, the truth grey and dashed, labelled anomalies shaded
vermilion. Time axes show dates when the data has them (concise date labels, no rotation needed).
Legends sit to the right of the axes, where they cannot cover data. Every figure is written by
:func:`save_figure`: atomically (:func:`tinyts.fileio.atomic_file`) at 90 dpi.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from tinyts.fileio import atomic_file

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.legend import Legend
    from numpy.typing import ArrayLike

    from tinyts.data.types import TableSeries

__all__ = [
    "ANOMALY",
    "FLAG",
    "MODEL",
    "OBSERVED",
    "PEERS",
    "TRUTH",
    "confusion",
    "draw_confusion",
    "draw_history",
    "legend_right",
    "plot_classification",
    "plot_forecast",
    "plot_imputation",
    "plot_scores",
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


def pyplot() -> ModuleType:
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


def is_datetime(t: ArrayLike) -> bool:
    """True when ``t`` holds dates (numpy datetime64, pandas timestamps or ``datetime`` objects)."""
    arr = np.asarray(t)
    if np.issubdtype(arr.dtype, np.datetime64):
        return True
    if arr.dtype == object and arr.size:
        import datetime as dt

        return isinstance(arr.flat[0], (dt.datetime, dt.date, np.datetime64))
    return False


def to_numbers(t: ArrayLike) -> np.ndarray:
    """x positions as floats in matplotlib's units (days since the epoch for dates)."""
    if is_datetime(t):
        import matplotlib.dates as mdates

        return np.asarray(mdates.date2num(np.asarray(t, dtype="datetime64[ns]")), dtype=np.float64)
    return np.asarray(t, dtype=np.float64)


def time_axis(ax: Axes, t: ArrayLike, label: str | None = None) -> None:
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
    ax: Axes,
    t: ArrayLike,
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


def legend_right(ax: Axes, handles: Sequence[Artist] | None = None, **kwargs: Any) -> Legend:
    """A legend to the right of ``ax`` (outside the data), top-aligned, without a frame."""
    options: dict[str, Any] = {
        "loc": "upper left",
        "bbox_to_anchor": (1.01, 1.0),
        "borderaxespad": 0.0,
        "frameon": False,
    }
    options.update(kwargs)
    if handles is not None:
        return ax.legend(handles=list(handles), **options)
    return ax.legend(**options)


def save_figure(fig: Figure, path: str | Path, dpi: int = DPI) -> Path:
    """Lay out, write atomically (folders are created) and close ``fig``; return the path."""
    plt = pyplot()
    p = Path(path)
    fig.tight_layout()
    with atomic_file(p) as tmp:
        fig.savefig(tmp, dpi=dpi)
    plt.close(fig)
    return p


# ------------------------------------------------------------ figures of series (impute, detect, forecast)
def x_axis(table: TableSeries) -> np.ndarray:
    """x positions of a table's rows: its dates when it has a date column, else row numbers."""
    return table.time.to_numpy() if table.time is not None else np.arange(table.n_rows)


def _time_label(table: TableSeries) -> str:
    return table.time_name or ("date" if table.time is not None else "row")


def plot_imputation(
    path: str | Path,
    table: TableSeries,
    filled: np.ndarray,
    max_channels: int = 6,
    *,
    model_name: str = "TinyPulse",
) -> Path:
    """Observed values as a line, filled values as a line with dots across each gap, one panel per channel.

    Parameters
    ----------
    path : str or Path
        Output png (written atomically; folders are created).
    table : TableSeries
        The input; its dates, when it has a date column, are the x axis.
    filled : np.ndarray
        ``(channels, time)``: the table with its missing values filled.
    max_channels : int
        Panels at most (the first channels).
    model_name : str
        Name of the filler in the legend.

    Returns
    -------
    Path
    """
    plt = pyplot()
    n = min(len(table.columns), max_channels)
    fig, axes = plt.subplots(n, 1, figsize=(11, 1.9 * n + 0.9), sharex=True, squeeze=False)
    t = x_axis(table)
    for i in range(n):
        ax = axes[i, 0]
        missing = np.isnan(table.values[i])
        # the filled line runs from the last observed point before a gap to the first one after it
        near = missing | np.convolve(missing, np.ones(3), mode="same").astype(bool)
        shade_runs(ax, t, missing, color=TRUTH, alpha=0.15, label="missing", min_fraction=0.0)
        ax.plot(t, table.values[i], lw=0.9, color=OBSERVED, label="observed")
        ax.plot(t, np.where(near, filled[i], np.nan), lw=1.1, color=MODEL)
        ax.plot(t[missing], filled[i][missing], "o", ms=2.5, color=MODEL, label=f"filled ({model_name})")
        ax.set_title(f"{table.columns[i]}: {int(missing.sum())} missing", loc="left")
        ax.set_ylabel("value")
    legend_right(axes[0, 0])
    time_axis(axes[n - 1, 0], t, _time_label(table))
    shown = "" if n == len(table.columns) else f" (first {n} of {len(table.columns)} channels)"
    fig.suptitle(f"Imputation: {int(np.isnan(table.values).sum())} missing values filled{shown}")
    return save_figure(fig, path)


def plot_scores(
    path: str | Path,
    table: TableSeries,
    scores: np.ndarray,
    max_channels: int = 4,
    *,
    labels: np.ndarray | None = None,
    threshold: float | None = None,
    flags: np.ndarray | None = None,
    title: str | None = None,
) -> Path:
    """Series (first channels) above the anomaly score; labelled anomalies shaded on every panel.

    Parameters
    ----------
    path : str or Path
        Output png (written atomically; folders are created).
    table : TableSeries
        The input; its dates, when it has a date column, are the x axis.
    scores : np.ndarray
        ``(time,)`` anomaly score per row (any scale; the axis follows the data).
    max_channels : int
        Data panels at most (the first channels).
    labels : np.ndarray, optional
        ``(time,)`` known anomalies, 1 = anomalous (0 or NaN = not); default: the table's label column.
        Each contiguous run is shaded on the data and score panels (at least 0.6 % of the x range wide).
    threshold : float, optional
        Drawn as a horizontal line on the score panel.
    flags : np.ndarray, optional
        ``(time,)`` bool: rows a detector flagged; marked on the data panels.
    title : str, optional
        Figure title; default: how many labelled anomalies and flagged rows are shown.

    Returns
    -------
    Path
    """
    score = np.asarray(scores, dtype=np.float64).reshape(-1)
    rows = table.n_rows
    known = table.labels if labels is None else np.asarray(labels, dtype=np.float64).reshape(-1)
    flagged = None if flags is None else np.asarray(flags, dtype=bool).reshape(-1)
    for name, arr in (("scores", score), ("labels", known), ("flags", flagged)):
        if arr is not None and arr.shape != (rows,):
            raise ValueError(f"{name} must have one value per row ({rows}), got shape {arr.shape}")
    plt = pyplot()
    n = min(len(table.columns), max_channels)
    fig, axes = plt.subplots(n + 1, 1, figsize=(11, 1.7 * (n + 1) + 0.9), sharex=True, squeeze=False)
    t = x_axis(table)
    n_runs = 0
    for i in range(n):
        ax = axes[i, 0]
        if known is not None:
            n_runs = shade_runs(ax, t, known, label="labelled anomaly")
        ax.plot(t, table.values[i], lw=0.7, color=OBSERVED, label="series")
        if flagged is not None and flagged.any():
            ax.plot(
                t[flagged],
                table.values[i][flagged],
                "o",
                ms=4,
                mfc="none",
                mew=1.2,
                color=FLAG,
                label=f"flagged ({int(flagged.sum())} rows)",
            )
        ax.set_title(table.columns[i], loc="left")
        ax.set_ylabel("value")
    legend_right(axes[0, 0])
    ax = axes[n, 0]
    if known is not None:
        shade_runs(ax, t, known, label="labelled anomaly")
    ax.plot(t, score, lw=0.8, color=MODEL, label="anomaly score")
    if threshold is not None:
        ax.axhline(float(threshold), color="black", ls="--", lw=1.0, label=f"threshold {threshold:g}")
    ax.set_title("anomaly score (higher = more anomalous)", loc="left")
    ax.set_ylabel("score")
    legend_right(ax)
    time_axis(ax, t, _time_label(table))
    parts = []
    if known is not None:
        parts.append(f"{n_runs} labelled anomal{'y' if n_runs == 1 else 'ies'} shaded")
    if flagged is not None:
        parts.append(f"{int(flagged.sum())} rows flagged")
    fig.suptitle(title or "Anomaly detection" + (": " + ", ".join(parts) if parts else ""))
    return save_figure(fig, path)


def plot_forecast(
    path: str | Path,
    history: np.ndarray,
    median: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    *,
    names: list[str] | None = None,
    history_time: ArrayLike | None = None,
    future_time: ArrayLike | None = None,
    max_channels: int = 6,
    max_history: int | None = None,
    truth: np.ndarray | None = None,
    others: Mapping[str, np.ndarray] | None = None,
    model_name: str = "TinyCast",
    title: str | None = None,
    value_label: str = "value",
    time_label: str | None = None,
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
    time_label : str, optional
        x-axis label (the file's time column); default ``"date"`` or ``"time step"``.

    Returns
    -------
    Path
    """
    plt = pyplot()
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
        ax.plot(t_hist[start:], hist[i, start:], lw=1.0, color=OBSERVED, label="history")
        if actual is not None:
            ax.plot(t_fut, actual[i], lw=1.2, ls="--", color=TRUTH, label="actual (held out)")
        ax.fill_between(
            t_fut, lo[i], hi[i], color=MODEL, alpha=0.22, lw=0, label=f"{model_name} 10-90 % band"
        )
        ax.plot(t_fut, med[i], lw=1.5, color=MODEL, label=f"{model_name} median")
        for k, (name, values) in enumerate(extra.items()):
            color = PEERS[k % len(PEERS)]
            ax.plot(t_fut, values[i], lw=1.2, ls="-.", color=color, label=name)
        if names is not None and i < len(names):
            ax.set_title(names[i], loc="left")
        ax.set_ylabel(value_label)
    legend_right(axes[0, 0])
    time_axis(axes[n - 1, 0], t_hist, time_label)
    fig.suptitle(title or f"Forecast: {horizon} steps ahead, median and 10-90 % band")
    return save_figure(fig, path)


# ------------------------------------------------------------------ figures of a classifier (classify --plot)
def confusion(truth: ArrayLike, pred: ArrayLike, classes: Sequence[object]) -> np.ndarray:
    """Counts ``(n_classes, n_classes)``: row = true class, column = predicted class.

    Labels are compared as strings, so ``1`` and ``"1"`` are the same class.
    """
    names = [str(c) for c in classes]
    index = {c: k for k, c in enumerate(names)}
    t = [index.get(str(v), -1) for v in np.asarray(truth).ravel()]
    p = [index.get(str(v), -1) for v in np.asarray(pred).ravel()]
    if len(t) != len(p):
        raise ValueError(f"truth has {len(t)} labels but pred has {len(p)}")
    unknown = sorted({str(v) for v, k in zip(np.asarray(truth).ravel(), t, strict=True) if k < 0})
    if unknown:
        raise ValueError(f"true labels {unknown[:5]} are not among the classes {names}")
    counts = np.zeros((len(names), len(names)), dtype=np.int64)
    for a, b in zip(t, p, strict=True):
        if b >= 0:
            counts[a, b] += 1
    return counts


def draw_confusion(ax: Axes, counts: np.ndarray, classes: Sequence[object], title: str | None = None) -> None:
    """Draw a confusion matrix on ``ax``: counts in the cells, per-class accuracy in the row labels.

    Cells are shaded by the share of their row (the true class), so classes of different sizes read
    alike; the diagonal is the correct predictions.
    """
    counts = np.asarray(counts)
    k = counts.shape[0]
    per_row = counts.sum(axis=1, keepdims=True)
    share = counts / np.maximum(per_row, 1)
    ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
    size = 9 if k <= 6 else 7 if k <= 12 else 5
    if k <= 25:
        for i in range(k):
            for j in range(k):
                color = "white" if share[i, j] > 0.6 else OBSERVED
                ax.text(j, i, str(int(counts[i, j])), ha="center", va="center", fontsize=size, color=color)
    acc = np.diag(counts) / np.maximum(per_row[:, 0], 1)
    names = [str(c) for c in classes]
    ax.set_xticks(range(k))
    ax.set_xticklabels(names, rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center")
    ax.set_yticks(range(k))
    ax.set_yticklabels([f"{n}  ({a:.0%})" for n, a in zip(names, acc, strict=True)])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class  (accuracy of the class)")
    total = counts.sum()
    overall = np.trace(counts) / total if total else float("nan")
    ax.set_title(title or f"accuracy {overall:.3f} on {int(total)} cases")
    ax.spines[["top", "right"]].set_visible(True)


def draw_history(ax: Axes, history: Sequence[dict[str, float]], best_step: int | None = None) -> None:
    """The training curve: train / validation loss (left axis) and validation accuracy (right axis)."""
    steps = [r["step"] for r in history]
    ax.plot(steps, [r["train_loss"] for r in history], "-o", ms=3, color=OBSERVED, label="train loss")
    handles = ax.get_lines()[:]
    if any("val_loss" in r for r in history):
        val = [r.get("val_loss", np.nan) for r in history]
        handles += ax.plot(steps, val, "-o", ms=3, color=MODEL, label="validation loss")
        acc_ax = ax.twinx()
        acc = [r.get("val_accuracy", np.nan) for r in history]
        label = "validation accuracy, masked views too (right axis)"
        handles += acc_ax.plot(steps, acc, "--s", ms=3, color=PEERS[0], label=label)
        acc_ax.set_ylabel("validation accuracy")
        acc_ax.set_ylim(-0.02, 1.02)
        acc_ax.spines["right"].set_visible(True)
    if best_step is not None:
        handles.append(ax.axvline(best_step, color="black", ls=":", lw=1.0, label=f"kept step {best_step}"))
    ax.set_xlabel("optimisation step")
    ax.set_ylabel("cross-entropy loss")
    ax.set_title("training curve")
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)


def plot_classification(
    path: str | Path,
    classes: Sequence[object],
    truth: ArrayLike,
    pred: ArrayLike,
    *,
    history: Sequence[dict[str, float]] | None = None,
    best_step: int | None = None,
    title: str | None = None,
    matrix_title: str | None = None,
) -> Path:
    """The confusion matrix with per-class accuracy, next to the training curve when there is one.

    Parameters
    ----------
    path : str or Path
        Output png (written atomically; folders are created).
    classes : sequence
        Class labels, in the order of the matrix.
    truth, pred : array-like
        True and predicted class of every case.
    history : sequence of dict, optional
        Validation checks (``step``, ``train_loss``, ``val_loss``, ``val_accuracy``), as
        :attr:`tinyts.tasks.classify.api.PulseClassifier.history_` holds them.
    best_step : int, optional
        The step kept by early stopping (a vertical line on the curve).
    title, matrix_title : str, optional
        Figure title and the matrix's own title.

    Returns
    -------
    Path
    """
    plt = pyplot()
    counts = confusion(truth, pred, classes)
    k = len(classes)
    side = min(7.0, 2.6 + 0.35 * k)
    if history:
        fig, (curve, mat) = plt.subplots(
            1, 2, figsize=(7.5 + side, max(4.2, side + 1.2)), gridspec_kw={"width_ratios": [6.0, side]}
        )
        draw_history(curve, history, best_step)
    else:
        fig, mat = plt.subplots(figsize=(side + 1.5, side + 0.6))
    draw_confusion(mat, counts, classes, matrix_title)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
