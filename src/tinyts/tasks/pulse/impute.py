"""Zero-shot imputation with TinyPulse: windows of the model's context, averaged where they overlap.

Each channel of each series is imputed on its own (the pre-trained model is channel-independent).
Series shorter than the context are padded with unobserved points; longer ones are cut into windows
at ``stride`` whose reconstructions are averaged per time step. Observed values are returned exactly
as given. A stretch of missing values that no window with at least one observed point covers (a gap
longer than the context) is filled by linear interpolation, and such points are counted in the
returned info.
"""

from __future__ import annotations

import os
import zlib
from typing import Any

import numpy as np
import torch

from tinyts import progress
from tinyts.data.convert.arrays import from_batch, to_batch
from tinyts.data.windows import stitch, window_starts
from tinyts.models.base import resolve
from tinyts.models.pulse import TinyPulse
from tinyts.nn.interp import linear_fill
from tinyts.nn.scaling import row_scale
from tinyts.options import ImputeBlend, ImputeHead, check_choice, choices
from tinyts.tasks.pulse.views import ONE_VIEW, TTA_VIEWS, views_forward


def _linear_fill(x: np.ndarray) -> np.ndarray:
    """NaN filled by linear interpolation per row (the vectorised :func:`tinyts.nn.interp.linear_fill`)."""
    missing = np.isnan(x)
    if not missing.any():
        return x
    t = torch.from_numpy(np.where(missing, 0.0, x))
    return linear_fill(t, torch.from_numpy(~missing)).numpy()


@torch.inference_mode()
def reconstruct(
    model: TinyPulse,
    values: np.ndarray,
    observed: np.ndarray,
    *,
    stride: int | None = None,
    batch_size: int = 256,
    head: ImputeHead = "avg",
    tta: bool = False,
) -> np.ndarray:
    """Model reconstruction of every point of ``(n, time)`` univariate rows, in raw units.

    Returns ``(n, time)`` float64 with NaN where no window had an observed point. Rows beyond
    :data:`tinyts.nn.scaling.SAFE_MAGNITUDE` are scaled down by a power of two for the model (its
    float32 statistics would overflow) and the reconstruction is scaled back. ``tta``: each window's
    reconstruction is the mean of those of the window, its negation, its time reversal and both
    (:data:`tinyts.tasks.pulse.views.TTA_VIEWS`), each mapped back; four times the model calls.
    """
    if head not in ("avg", "time", "fft"):
        raise ValueError(f"head must be 'avg', 'time' or 'fft', got {head!r}")
    length = model.config.context_length
    stride = stride or length // 8
    n, t = values.shape
    t_pad = max(t, length)
    vals = np.zeros((n, t_pad), dtype=np.float32)
    obs = np.zeros((n, t_pad), dtype=bool)
    vals[:, :t], obs[:, :t] = np.where(observed, values, 0.0), observed
    scale = row_scale(vals)
    if (scale != 1.0).any():
        vals = (vals / scale).astype(np.float32)
    starts = window_starts(t_pad, length, stride)
    idx = starts[:, None] + np.arange(length)[None, :]  # (n_windows, length)
    rec = np.full((n, len(starts), length), np.nan, dtype=np.float32)
    pairs = np.array([(i, w) for i in range(n) for w in range(len(starts))])
    progress.plan(-(-len(pairs) // batch_size))
    for lo in range(0, len(pairs), batch_size):
        chunk = pairs[lo : lo + batch_size]
        xw = vals[chunk[:, 0][:, None], idx[chunk[:, 1]]]
        ow = obs[chunk[:, 0][:, None], idx[chunk[:, 1]]]
        keep = ow.any(axis=1)
        if not keep.any():
            progress.advance()
            continue
        x_t = torch.from_numpy(xw[keep][:, None, :])
        o_t = torch.from_numpy(ow[keep][:, None, :])
        out = views_forward(model, x_t, o_t, TTA_VIEWS if tta else ONE_VIEW)
        y = out[{"time": "recon", "fft": "recon_fft"}.get(head, "recon_avg")][:, 0].numpy()
        sel = chunk[keep]
        rec[sel[:, 0], sel[:, 1]] = y
        progress.advance()
    stitched = np.stack([stitch(rec[i], starts, t_pad, reduce="mean") for i in range(n)])
    return stitched[:, :t].astype(np.float64) * scale


#: Self-check patches (points): the length of the model's patches.
_CHECK_PATCH = 8
BLENDS = choices(ImputeBlend)


def _check_mask(observed: np.ndarray) -> np.ndarray:
    """Observed points hidden for the self-check: whole patches, as many as the row's missing share.

    Per row, fully observed patches of :data:`_CHECK_PATCH` points are drawn at random so that the
    hidden share of the observed points is the row's own missing share (clipped to 5-50 %); rows
    without a missing point get none. Each row's draw is seeded by its own missing-value pattern:
    reproducible, and independent of the other rows of a call.
    """
    n, t = observed.shape
    check = np.zeros_like(observed)
    n_patch = t // _CHECK_PATCH
    if n_patch == 0:
        return check
    full: np.ndarray = np.asarray(
        observed[:, : n_patch * _CHECK_PATCH].reshape(n, n_patch, _CHECK_PATCH).all(axis=2)
    )
    missing_share = 1.0 - np.asarray(observed, dtype=np.float64).mean(axis=1)
    for i in np.flatnonzero(missing_share > 0):
        cands = np.flatnonzero(full[i])
        k = int(np.rint(np.clip(missing_share[i], 0.05, 0.5) * observed[i].sum() / _CHECK_PATCH))
        k = min(k, max(len(cands) - 1, 0))  # keep at least one observed patch
        rng = np.random.default_rng(zlib.crc32(np.packbits(observed[i]).tobytes()))  # the row's own seed
        for j in rng.choice(cands, size=k, replace=False) if k > 0 else ():
            check[i, j * _CHECK_PATCH : (j + 1) * _CHECK_PATCH] = True
    return check


def check_fills(
    model: TinyPulse,
    vals: np.ndarray,
    obs: np.ndarray,
    *,
    stride: int | None = None,
    batch_size: int = 256,
    head: ImputeHead = "avg",
    tta: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The self-check's raw errors: ``rows`` (bool, rows with check points), then for those rows the
    check mask and the model's and linear interpolation's errors on it (0 elsewhere)."""
    check = _check_mask(obs)
    rows: np.ndarray = np.asarray(check.any(axis=1))
    if not rows.any():
        empty = np.zeros((0, vals.shape[1]))
        return rows, empty.astype(bool), empty, empty
    o2 = obs[rows] & ~check[rows]
    v = vals[rows]
    rec = reconstruct(model, v, o2, stride=stride, batch_size=batch_size, head=head, tta=tta)
    model_fill = _linear_fill(np.where(o2, v, rec))
    lin_fill = _linear_fill(np.where(o2, v, np.nan))
    c = check[rows]
    return rows, c, np.where(c, model_fill - v, 0.0), np.where(c, lin_fill - v, 0.0)


#: One-sided z of the self-check's paired test (see :func:`blend_weights`).
BLEND_Z = 1.0


def blend_weights(
    model: TinyPulse,
    vals: np.ndarray,
    obs: np.ndarray,
    *,
    stride: int | None = None,
    batch_size: int = 256,
    head: ImputeHead = "avg",
    z: float = BLEND_Z,
    tta: bool = False,
) -> np.ndarray:
    """Per-row weight of the model against linear interpolation, from a self-check on observed points.

    Observed patches (:func:`_check_mask`, seeded per row, so results are reproducible) are hidden and both
    the model and linear interpolation refill them. A row mixes in interpolation only where the model
    refills its check patches worse by a margin its own data support: the mean over patches of
    ``(model's squared error - interpolation's)`` above ``z`` standard errors (a one-sided paired
    test; ``z=0``: wherever the model's summed error is larger). Such a row's weight ``w`` is the one
    that minimises the squared error of ``w * model + (1 - w) * linear`` on its check points, clipped to
    [0, 1]: ``(L - M·L) / (M + L - 2 M·L)`` with ``M``, ``L`` the sums of squared errors and ``M·L``
    the sum of their products (two fills with partly independent errors are best mixed); every other
    row gets 1 (the model only).

    Why the test (``benchmarks/experiments/impute_blend_margin_dev.py``, validation data only): a
    512-point window has only a few check patches, and acting on their summed error (``z=0``) cost
    1-5 % MSE on the ETTh1 / ETTm1 validation windows, where the model wins; a long series has many,
    and there ``z=0`` brought exchange rate (where interpolation wins) to interpolation's level.
    ``z=1`` keeps most of that gain on long series and costs at most 1.4 % on the windows. Each row is
    decided on its own data only, so a series' fill never depends on the other series of a call.
    """
    if not z >= 0:
        raise ValueError(f"z must be >= 0, got {z}")
    w = np.ones(vals.shape[0])
    rows, check, d_m, d_l = check_fills(
        model, vals, obs, stride=stride, batch_size=batch_size, head=head, tta=tta
    )
    if not rows.any():
        return w
    n_r, t = check.shape
    cut = t // _CHECK_PATCH * _CHECK_PATCH  # check patches are whole patches on this grid (_check_mask)
    patch = check[:, :cut].reshape(n_r, -1, _CHECK_PATCH).all(axis=2)
    diff = (d_m[:, :cut] ** 2 - d_l[:, :cut] ** 2).reshape(n_r, -1, _CHECK_PATCH).sum(axis=2) * patch
    n = patch.sum(axis=1)
    mean = diff.sum(axis=1) / np.maximum(n, 1)
    var = (((diff - mean[:, None]) ** 2) * patch).sum(axis=1) / np.maximum(n - 1, 1)
    loses = (n >= 2) & (mean > z * np.sqrt(var / np.maximum(n, 1)))
    mm, ll, ml = (d_m * d_m).sum(axis=1), (d_l * d_l).sum(axis=1), (d_m * d_l).sum(axis=1)
    denom = mm + ll - 2.0 * ml  # = sum((d_m - d_l)^2) >= 0
    safe = denom > 1e-12 * np.maximum(mm + ll, 1e-300)
    best = np.where(safe, np.clip((ll - ml) / np.where(safe, denom, 1.0), 0.0, 1.0), 1.0)
    w[rows] = np.where(loses & (mm > ll), best, 1.0)
    return w


def impute(
    model: TinyPulse | str | os.PathLike[str],
    x: Any,
    *,
    stride: int | None = None,
    batch_size: int = 256,
    head: ImputeHead = "avg",
    blend: ImputeBlend = "none",
    tta: bool = True,
) -> Any:
    """Fill the NaNs of ``x`` with TinyPulse reconstructions; observed values are untouched.

    Parameters
    ----------
    model : TinyPulse, str or os.PathLike
        A pre-trained model (``tinyts.load("tinypulse")``).
    x : array-like, list of arrays
        ``(time,)``, ``(channels, time)``, ``(batch, channels, time)`` or a list of series of unequal
        length; NaN marks the values to fill.
    stride : int, optional
        Step between windows (default context/8 = 64); smaller averages more windows, costs more.
    batch_size : int
        Windows per forward pass.
    head : {"avg", "time", "fft"}
        Reconstruction used: time head, inverse-FFT head, or their mean (default, the most accurate
        in our measurements).
    blend : {"none", "auto"}
        ``"none"`` (default): the model's fill only. ``"auto"``: where the model refills observed
        patches of a channel, hidden for a self-check, clearly worse than linear interpolation, that
        channel's fill mixes in interpolation (:func:`blend_weights`; costs a second pass).
        Measured (docs/tinypulse.md): on the validation windows 2-11 % lower MSE on exchange rate,
        where interpolation wins, 0.6-1.6 % higher on ETTh1 / ETTm1, where the model wins; on the test
        windows worse on five of six averages: not the default.
    tta : bool
        Test-time views (default True): each window is also reconstructed negated, time-reversed
        and both, and the four fills (mapped back) are averaged (:mod:`tinyts.tasks.pulse.views`);
        0.5-2.5 % lower MSE on every validation set and mask tried, four times the model calls.
        False: one pass per window, as TSPulse does.

    Returns
    -------
    Same kind and shape as ``x``, without NaN.
    """
    model = resolve(model, TinyPulse)
    batch = to_batch(x, align="left", name="x")
    s, c, t = batch.values.shape
    vals = batch.values.numpy().reshape(s * c, t)
    obs = batch.observed.numpy().reshape(s * c, t)
    check_choice(blend, ImputeBlend, "blend")
    rec = reconstruct(model, vals, obs, stride=stride, batch_size=batch_size, head=head, tta=tta)
    rec = _linear_fill(np.where(obs, vals, rec))
    if blend == "auto" and not obs.all():
        w = blend_weights(model, vals, obs, stride=stride, batch_size=batch_size, head=head, tta=tta)[:, None]
        rec = np.where(obs, vals, w * rec + (1.0 - w) * _linear_fill(np.where(obs, vals, np.nan)))
    return from_batch(rec.reshape(s, c, t), batch, fill_observed=True)
