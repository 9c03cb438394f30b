"""The plots read without the docs: dates on the x axis, labelled anomalies as spans, threshold, flags."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import Rectangle

from tinyts.cli import plots
from tinyts.cli.files import read_wide_csv
from tinyts.cli.plots import confusion, plot_classification, plot_forecast, plot_imputation, plot_scores
from tinyts.data.types import TableSeries


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every figure the plot functions save, kept open for inspection (and still written)."""
    kept: list[Any] = []

    def keep(fig: Any, path: str | Path, dpi: int = plots.DPI) -> Path:
        kept.append(fig)
        fig.canvas.draw()
        p = Path(path)
        with open(p, "wb") as fh:
            fig.savefig(fh, dpi=dpi)
        return p

    monkeypatch.setattr(plots, "save_figure", keep)
    yield kept
    plt = plots.pyplot()
    for fig in kept:
        plt.close(fig)


def _table(tmp_path: Path, n: int = 600, dates: bool = True) -> TableSeries:
    rng = np.random.default_rng(0)
    t = np.arange(n)
    load = np.sin(2 * np.pi * t / 24) + 0.1 * rng.standard_normal(n)
    load[100:110] = np.nan
    labels = np.zeros(n)
    labels[300:312] = 1  # a 12-point anomaly
    labels[450] = 1  # and a 1-point one
    frame = pd.DataFrame({"load": load, "temp": np.cos(t / 9), "label": labels})
    if dates:
        frame.insert(0, "timestamp", pd.date_range("2024-03-01", periods=n, freq="h"))
    path = tmp_path / "x.csv"
    frame.to_csv(path, index=False)
    return read_wide_csv(path, label_col="label")


def _spans(ax: Any) -> list[Rectangle]:
    """The vertical spans of an axes: rectangles covering its whole height (axes coordinates)."""
    out = []
    for p in ax.patches:
        if isinstance(p, Rectangle) and p.get_y() == 0 and p.get_height() == 1:
            out.append(p)
    return out


def _is_date_axis(ax: Any) -> bool:
    return isinstance(ax.xaxis.get_major_formatter(), (mdates.ConciseDateFormatter, mdates.AutoDateFormatter))


def test_runs_are_contiguous_true_stretches() -> None:
    m = np.array([0, 1, 1, 0, 0, 1, 0, 1, 1, 1], dtype=bool)
    assert plots.runs(m) == [(1, 3), (5, 6), (7, 10)]
    assert plots.runs(np.zeros(4, dtype=bool)) == []
    assert plots.runs(np.ones(3, dtype=bool)) == [(0, 3)]


def test_detection_plot_shades_each_labelled_run_on_every_panel(tmp_path: Path, figures: list[Any]) -> None:
    table = _table(tmp_path)
    scores = np.abs(np.random.default_rng(1).standard_normal(table.n_rows)) * 5  # not in [0, 1]
    scores[300:312] = 40.0
    flags = scores > 10.0
    png = plot_scores(tmp_path / "s.png", table, scores, threshold=10.0, flags=flags)
    assert png.stat().st_size > 1000
    (fig,) = figures
    data_axes = [ax for ax in fig.axes if ax.get_ylabel() == "value"]
    score_ax = next(ax for ax in fig.axes if ax.get_ylabel() == "score")
    assert len(data_axes) == 2
    x_range = np.ptp(plots.to_numbers(table.time.to_numpy()))
    for ax in [*data_axes, score_ax]:
        spans = _spans(ax)
        assert len(spans) == 2  # one per labelled run, on the data and the score panels
        # the 1-point anomaly is still visible: at least 0.6 % of the x range wide
        assert min(s.get_width() for s in spans) >= 0.006 * x_range * 0.999
        assert _is_date_axis(ax)  # the csv has dates: the x axis shows them
    # the score axis follows the data, not [0, 1]; the threshold is a horizontal line at 10
    assert score_ax.get_ylim()[1] > 40
    hlines = [ln for ln in score_ax.get_lines() if np.allclose(ln.get_ydata(), 10.0)]
    assert hlines and "threshold" in hlines[0].get_label()
    # flagged rows are marked on the data panels (markers only, one per flagged row)
    marked = [ln for ln in data_axes[0].get_lines() if ln.get_label().startswith("flagged")]
    assert marked and len(marked[0].get_xdata()) == int(flags.sum()) and marked[0].get_linestyle() == "None"
    # the score's colour is not the colour of the label shading
    score_line = next(ln for ln in score_ax.get_lines() if ln.get_label() == "anomaly score")
    assert score_line.get_color() != _spans(score_ax)[0].get_facecolor()
    assert score_line.get_color() == plots.MODEL


def test_detection_plot_keeps_the_old_call_and_takes_labels_as_an_argument(
    tmp_path: Path, figures: list[Any]
) -> None:
    table = _table(tmp_path, dates=False)
    plot_scores(tmp_path / "old.png", table, np.zeros(table.n_rows))  # no labels, threshold, flags
    labels = np.zeros(table.n_rows)
    labels[10:20] = 1
    labels[40:42] = 1
    labels[50:52] = 1
    unlabelled = TableSeries(table.name, table.values, table.columns)
    plot_scores(tmp_path / "new.png", unlabelled, np.zeros(table.n_rows), labels=labels)
    old, new = figures
    assert len(_spans(old.axes[-1])) == 2  # from the table's label column
    assert len(_spans(new.axes[-1])) == 3  # the labels argument
    assert new.axes[-1].get_xlabel() == "row" and not _is_date_axis(new.axes[-1])
    with pytest.raises(ValueError, match="one value per row"):
        plot_scores(tmp_path / "bad.png", table, np.zeros(table.n_rows), flags=np.zeros(3, dtype=bool))


def test_imputation_plot_uses_the_dates_and_marks_the_filled_points(
    tmp_path: Path, figures: list[Any]
) -> None:
    table = _table(tmp_path)
    filled = np.where(np.isnan(table.values), 0.5, table.values)
    plot_imputation(tmp_path / "i.png", table, filled)
    (fig,) = figures
    ax = fig.axes[0]
    assert _is_date_axis(ax) and fig.axes[-1].get_xlabel() == "timestamp"
    dots = next(ln for ln in ax.get_lines() if ln.get_label().startswith("filled"))
    assert len(dots.get_xdata()) == 10 and np.issubdtype(np.asarray(dots.get_xdata()).dtype, np.datetime64)
    assert ax.get_ylabel() == "value" and ax.get_legend() is not None
    # the legend sits outside the axes (to the right), where it cannot hide data
    fig.canvas.draw()
    legend_box = ax.get_legend().get_window_extent()
    assert legend_box.x0 >= ax.get_window_extent().x1


def test_forecast_plot_shows_history_band_median_truth_and_dates(tmp_path: Path, figures: list[Any]) -> None:
    dates = pd.date_range("2020-01-01", periods=60, freq="MS").to_numpy()
    history = np.arange(48, dtype=float)[None]
    median, truth = np.full((1, 12), 50.0), np.full((1, 12), 52.0)
    plot_forecast(
        tmp_path / "f.png",
        history,
        median,
        median - 3,
        median + 3,
        history_time=dates[:48],
        future_time=dates[48:],
        truth=truth,
        others={"seasonal naive": np.full((1, 12), 40.0)},
    )
    (fig,) = figures
    ax = fig.axes[0]
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels == ["history", "actual (held out)", "TinyCast median", "seasonal naive"]
    assert any("10-90 % band" in c.get_label() for c in ax.collections)
    assert _is_date_axis(ax) and ax.get_ylabel() == "value"


def test_confusion_matrix_next_to_the_training_curve(tmp_path: Path, figures: list[Any]) -> None:
    counts = confusion(["a", "a", "b", "b", "b"], ["a", "b", "b", "b", "a"], ["a", "b"])
    np.testing.assert_array_equal(counts, [[1, 1], [1, 2]])
    with pytest.raises(ValueError, match="not among the classes"):
        confusion(["c"], ["a"], ["a", "b"])
    history = [
        {"step": 10.0, "train_loss": 1.0, "val_loss": 0.9, "val_accuracy": 0.5},
        {"step": 20.0, "train_loss": 0.6, "val_loss": 0.7, "val_accuracy": 0.8},
    ]
    plot_classification(tmp_path / "c.png", ["a", "b"], ["a", "b"], ["a", "a"], history=history, best_step=20)
    plot_classification(tmp_path / "m.png", [1, 2], [1, 2, 2], [1, 2, 1])
    with_curve, matrix_only = figures
    curve = with_curve.axes[0]
    assert curve.get_xlabel() == "optimisation step" and len(with_curve.axes) == 3  # curve, twin, matrix
    assert any(ax.get_title() == "accuracy 0.500 on 2 cases" for ax in with_curve.axes)
    (mat,) = matrix_only.axes
    rows = [t.get_text() for t in mat.get_yticklabels()]
    assert rows == ["1  (100%)", "2  (50%)"]  # per-class accuracy
