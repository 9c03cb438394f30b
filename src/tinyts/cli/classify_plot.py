"""Plots of a classifier: the confusion matrix with per-class accuracy, next to the training curve.

``tinyts classify fit --plot`` (TSLens: the validation checks of the early-stopped run, and the
confusion matrix of the held-out validation cases at the kept step) and ``tinyts classify predict
--plot`` (the confusion matrix of a labelled file) draw through :func:`plot_classification`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["confusion", "draw_confusion", "draw_history", "plot_classification"]


def confusion(truth: Any, pred: Any, classes: Sequence[Any]) -> np.ndarray:
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


def draw_confusion(ax: Any, counts: np.ndarray, classes: Sequence[Any], title: str | None = None) -> None:
    """Draw a confusion matrix on ``ax``: counts in the cells, per-class accuracy in the row labels.

    Cells are shaded by the share of their row (the true class), so classes of different sizes read
    alike; the diagonal is the correct predictions.
    """
    from tinyts.cli import plotting

    counts = np.asarray(counts)
    k = counts.shape[0]
    per_row = counts.sum(axis=1, keepdims=True)
    share = counts / np.maximum(per_row, 1)
    ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
    size = 9 if k <= 6 else 7 if k <= 12 else 5
    if k <= 25:
        for i in range(k):
            for j in range(k):
                color = "white" if share[i, j] > 0.6 else plotting.OBSERVED
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


def draw_history(ax: Any, history: Sequence[dict[str, float]], best_step: int | None = None) -> None:
    """The training curve: train / validation loss (left axis) and validation accuracy (right axis)."""
    from tinyts.cli import plotting

    steps = [r["step"] for r in history]
    ax.plot(
        steps, [r["train_loss"] for r in history], "-o", ms=3, color=plotting.OBSERVED, label="train loss"
    )
    handles = ax.get_lines()[:]
    if any("val_loss" in r for r in history):
        val = [r.get("val_loss", np.nan) for r in history]
        handles += ax.plot(steps, val, "-o", ms=3, color=plotting.MODEL, label="validation loss")
        acc_ax = ax.twinx()
        acc = [r.get("val_accuracy", np.nan) for r in history]
        label = "validation accuracy, masked views too (right axis)"
        handles += acc_ax.plot(steps, acc, "--s", ms=3, color=plotting.PEERS[0], label=label)
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
    classes: Sequence[Any],
    truth: Any,
    pred: Any,
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
    from tinyts.cli import plotting

    plt = plotting.pyplot()
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
    return plotting.save_figure(fig, path)
