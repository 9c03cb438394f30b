"""DART-Norm: causal per-patch prefix statistics, so that every patch position is a valid forecast origin.

For one series ``x_1..x_T`` cut into patches of ``P`` points, position ``k`` (0-based) gets the mean and
standard deviation of all *observed* points up to the end of its patch, ``x_1..x_{(k+1)P}``:

    mu_k    = mean(x_i : i <= (k+1)P, observed)
    sigma_k = sqrt(max(var(x_i : i <= (k+1)P, observed), floor_k^2))
    floor_k = max(min_std, rel_min_std * mean(|x_i| : i <= (k+1)P, observed))

Patch ``k`` enters the model as ``(p_k - mu_k) / sigma_k`` and the outputs of position ``k`` (the next
patch, the coarse grid after it) are read in the same frame, ``y * sigma_k + mu_k``. Nothing after the
end of patch ``k`` enters ``mu_k`` or ``sigma_k``: the statistics are causal, so a dense loss at every
position has no leakage (the test suite checks it by perturbing the data after patch ``k``). At the
last position the statistics are those of the whole context, i.e. ordinary instance normalisation, so
training and inference agree where inference reads.

Everything is vectorised with cumulative sums. To keep ``E[x^2] - E[x]^2`` accurate in float32 when the
level is large compared with the spread, values are first shifted by the series' first observed value
(a causal reference: it lies in the prefix of every position that has an observed point). Positions
whose prefix has no observed point get ``mu = 0``, ``sigma = 1`` and ``n_obs = 0``.

The relative floor makes constant and near-constant prefixes safe without an absolute scale
(synthetic and real data span many orders of magnitude); the absolute ``min_std`` only matters for
prefixes that are exactly zero. ``causal=False`` gives plain instance normalisation (statistics of the
whole context at every position), the ablation that a dense loss would leak through.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class PrefixStats(NamedTuple):
    """Per-position statistics, each ``(..., num_patches)``.

    Attributes
    ----------
    mean, std : torch.Tensor
        The frame of each position (``std`` already floored).
    n_obs : torch.Tensor
        Observed points up to the end of each patch (always causal, also with ``causal=False``).
    """

    mean: torch.Tensor
    std: torch.Tensor
    n_obs: torch.Tensor


def _check(x: torch.Tensor, observed: torch.Tensor, patch_length: int) -> int:
    if x.shape != observed.shape:
        raise ValueError(
            f"x and observed must have the same shape, got {tuple(x.shape)} and {tuple(observed.shape)}"
        )
    if patch_length < 1 or x.shape[-1] % patch_length:
        raise ValueError(f"the time axis ({x.shape[-1]}) must be a multiple of patch_length ({patch_length})")
    return x.shape[-1] // patch_length


def dart_stats(
    x: torch.Tensor,
    observed: torch.Tensor,
    patch_length: int,
    *,
    min_std: float = 1e-5,
    rel_min_std: float = 1e-4,
    causal: bool = True,
) -> PrefixStats:
    """Causal prefix mean / std / count at the end of every patch.

    Parameters
    ----------
    x : torch.Tensor
        ``(..., time)`` values; anything at unobserved points is ignored.
    observed : torch.Tensor
        Bool, same shape; True where a value is observed.
    patch_length : int
        Points per patch; ``time`` must be a multiple of it.
    min_std : float
        Absolute floor of the standard deviation.
    rel_min_std : float
        Relative floor: ``std >= rel_min_std * mean(|x|)`` over the same prefix.
    causal : bool
        True: DART-Norm prefix statistics. False: every position gets the statistics of all observed
        points (plain instance normalisation; leaks the future scale into early positions).

    Returns
    -------
    PrefixStats
        ``mean``, ``std`` and ``n_obs``, each ``(..., time // patch_length)``, in ``x``'s dtype.
    """
    n_patches = _check(x, observed, patch_length)
    w = observed.to(x.dtype)
    # causal reference: the first observed value (0 for rows without any)
    first = torch.argmax(observed.to(torch.int8), dim=-1, keepdim=True)
    zero = torch.zeros((), dtype=x.dtype, device=x.device)
    ref = torch.where(observed.any(-1, keepdim=True), torch.gather(x, -1, first), zero)
    xs = torch.where(observed, x - ref, zero)
    shape = (*x.shape[:-1], n_patches, patch_length)
    s0 = w.reshape(shape).sum(-1).cumsum(-1)
    s1 = xs.reshape(shape).sum(-1).cumsum(-1)
    s2 = (xs * xs).reshape(shape).sum(-1).cumsum(-1)
    sa = torch.where(observed, x.abs(), zero)
    sa = sa.reshape(shape).sum(-1).cumsum(-1)
    count = s0
    if not causal:
        s0, s1, s2, sa = (s[..., -1:].expand_as(count) for s in (s0, s1, s2, sa))
    n = s0.clamp_min(1.0)
    m = s1 / n
    var = (s2 / n - m * m).clamp_min(0.0)
    floor = (rel_min_std * sa / n).clamp_min(min_std)
    std = torch.sqrt(torch.maximum(var, floor * floor))
    has = s0 > 0
    mean = torch.where(has, m + ref, torch.zeros_like(m))
    std = torch.where(has, std, torch.ones_like(std))
    return PrefixStats(mean, std, count)


def normalize_patches(
    x: torch.Tensor, observed: torch.Tensor, stats: PrefixStats, patch_length: int, clip: float | None = None
) -> torch.Tensor:
    """Patches of ``x`` in the frame of their own position: ``(..., num_patches, patch_length)``.

    Unobserved points are 0 in the output; ``clip`` bounds the normalised values (None = no bound).
    """
    n_patches = _check(x, observed, patch_length)
    shape = (*x.shape[:-1], n_patches, patch_length)
    z = (x.reshape(shape) - stats.mean[..., None]) / stats.std[..., None]
    if clip is not None:
        z = z.clamp(-clip, clip)
    return torch.where(observed.reshape(shape), z, torch.zeros((), dtype=z.dtype, device=z.device))


def to_frame(y: torch.Tensor, stats: PrefixStats, extra_dims: int) -> torch.Tensor:
    """Raw values ``y`` ``(..., num_patches, *extra)`` into each position's frame."""
    idx = (...,) + (None,) * extra_dims
    return (y - stats.mean[idx]) / stats.std[idx]


def from_frame(y: torch.Tensor, stats: PrefixStats, extra_dims: int) -> torch.Tensor:
    """De-normalise outputs ``(..., num_patches, *extra)`` of each position with its own statistics."""
    idx = (...,) + (None,) * extra_dims
    return y * stats.std[idx] + stats.mean[idx]
