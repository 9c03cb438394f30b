"""Power-of-two down-scaling of huge series, so that the models' float32 statistics cannot overflow.

The models normalise every series inside (RevIN, DART-Norm) with float32 sums of squared deviations,
which overflow to ``inf`` once values pass about ``1.8e19`` (and sums of 512 squares well before
that): a series at the ``1e30`` level came back as NaN. The task functions therefore divide every row
whose largest magnitude exceeds :data:`SAFE_MAGNITUDE` (``2**40``, about ``1.1e12``) by a power of two
that brings it below that bound, run the model, and multiply raw-unit outputs back.

Rows below the bound get a scale of exactly 1.0, so ordinary inputs give bit-identical results. A
power of two divides and multiplies float values exactly (no rounding), and every model normalises
each channel by its own statistics, so the scaled call is the same computation in other units: the
only difference is that absolute variance floors (``min_var``, ``min_std``) act on the scaled values,
and at ``2**40`` they lie far below float32 resolution of any such series.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["SAFE_EXPONENT", "SAFE_MAGNITUDE", "row_scale", "row_scale_torch"]

#: rows whose largest magnitude exceeds ``2**SAFE_EXPONENT`` are scaled down to below it
SAFE_EXPONENT = 40
SAFE_MAGNITUDE = float(2**SAFE_EXPONENT)


def row_scale(values: np.ndarray) -> np.ndarray:
    """Per-row power-of-two scale along the last axis: 1.0, or ``2**k`` with ``max|row| / 2**k < 2**40``.

    Parameters
    ----------
    values : np.ndarray
        ``(..., time)`` finite values (unobserved points should be 0 or NaN; NaN is ignored).

    Returns
    -------
    np.ndarray
        ``(..., 1)`` float64 scales; divide the rows by them before a model call and multiply raw-unit
        outputs by them afterwards.
    """
    if values.shape[-1] == 0:
        return np.ones((*values.shape[:-1], 1))
    with np.errstate(invalid="ignore"):
        m = np.nanmax(np.abs(values.astype(np.float64, copy=False)), axis=-1, keepdims=True)
    m = np.nan_to_num(m, nan=0.0)
    _, exponent = np.frexp(m)  # m = f * 2**exponent with 0.5 <= f < 1, so m < 2**exponent
    return np.where(m > SAFE_MAGNITUDE, np.ldexp(1.0, exponent - SAFE_EXPONENT), 1.0)


def row_scale_torch(values: torch.Tensor) -> torch.Tensor:
    """:func:`row_scale` for a float tensor (same dtype and device; ``(..., 1)``)."""
    m = values.detach().abs().amax(dim=-1, keepdim=True)
    _, exponent = torch.frexp(m)
    one = torch.ones_like(m)
    return torch.where(m > SAFE_MAGNITUDE, torch.ldexp(one, exponent - SAFE_EXPONENT), one)
