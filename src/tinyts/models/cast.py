"""TinyCast: a small causal patch transformer for probabilistic forecasting (after Tiny-TSM's ideas).

Per channel the context is cut into patches of ``patch_length`` points. Each patch is normalised with
DART-Norm (:mod:`tinyts.nn.dartnorm`: the mean and std of all observed points up to the end of that
patch) and embedded by a residual MLP from

- the normalised patch (``P`` values, 0 at unobserved points) and its observed mask (``P``),
- ``asinh(mu_k / sigma_k)`` (where the level sits relative to zero: non-negative and intermittent data),
- ``log(sigma_k / sigma_{k-1})`` and ``(mu_k - mu_{k-1}) / sigma_k`` (how the frame moved since the
  previous patch, so that tokens in different frames can be related),
- ``log(1 + count_k) / log(1 + context_length)`` (how much history the statistics rest on).

A stack of pre-norm blocks follows: causal attention along patches with rotary positions, and every
``feature_every``-th block attention across the channels of a series at a fixed patch index (the 2:1
time-to-feature pattern for ``feature_every=3``; with one channel it reduces exactly to a per-token
linear map, so univariate input is channel-independent). Per position two heads read the final state:

- ``fine``: quantiles (``quantiles``, default 0.1 ... 0.9) of each point of the next patch;
- ``coarse``: quantiles of the points of each block of ``coarse_block`` steps after the patch, up to
  ``coarse_horizon`` steps (0 switches the coarse head off).

All outputs are in the frame (DART statistics) of their position; :meth:`TinyCast.denormalize` maps
them back. Because statistics and attention are causal, the outputs at position ``k`` depend only on
data up to the end of patch ``k``: every position is a forecast origin for the dense training loss.
``norm="instance"`` (statistics of the whole context at every position) is the ablation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from tinyts.models.base import TinyModel, register_model
from tinyts.nn.causal import TimeBlock, VariateBlock
from tinyts.nn.dartnorm import PrefixStats, dart_stats, from_frame, normalize_patches
from tinyts.options import ForecastStrategy

if TYPE_CHECKING:
    import pandas as pd

    from tinyts.tasks.forecast.api import ForecastResult

DEFAULT_QUANTILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
NORMS = ("dart", "instance")


@dataclass
class CastConfig:
    """Hyper-parameters of :class:`TinyCast` (defaults = the bundled ``tinycast`` size)."""

    context_length: int = 512
    patch_length: int = 16
    d_model: int = 128
    num_layers: int = 9
    num_heads: int = 4
    mlp_ratio: float = 4.0
    #: every ``feature_every``-th block attends across channels (3 = the 2:1 pattern); 0 = never
    feature_every: int = 3
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES
    #: steps per coarse-grid block and the horizon the coarse head covers (0 = no coarse head)
    coarse_block: int = 16
    coarse_horizon: int = 768
    #: "dart" (causal prefix statistics) or "instance" (whole-context statistics; ablation)
    norm: str = "dart"
    min_std: float = 1e-5
    rel_min_std: float = 1e-4
    #: bound of the normalised inputs (a tiny early std must not blow up the tokens)
    input_clip: float = 50.0
    dropout: float = 0.0
    rope_base: float = 10000.0
    #: shapes of a structurally pruned model (written by tinyts.compress; None = unpruned)
    pruning: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.quantiles = tuple(float(q) for q in self.quantiles)
        for name in ("context_length", "patch_length", "d_model", "num_layers", "num_heads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.context_length % self.patch_length:
            raise ValueError(
                f"context_length ({self.context_length}) must be a multiple of patch_length "
                f"({self.patch_length})"
            )
        if self.d_model % self.num_heads or (self.d_model // self.num_heads) % 2:
            raise ValueError(
                f"d_model ({self.d_model}) / num_heads ({self.num_heads}) must be an even integer "
                "(rotary embeddings)"
            )
        if self.feature_every < 0:
            raise ValueError(f"feature_every must be >= 0, got {self.feature_every}")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        q = self.quantiles
        if not q or any(not 0 < v < 1 for v in q) or any(b <= a for a, b in itertools.pairwise(q)):
            raise ValueError(f"quantiles must be strictly increasing levels in (0, 1), got {q}")
        if 0.5 not in q or any(not any(math.isclose(1 - a, b) for b in q) for a in q):
            raise ValueError(f"quantiles must contain 0.5 and be symmetric (tau and 1 - tau), got {q}")
        if self.coarse_horizon < 0 or self.coarse_block < 1:
            raise ValueError("coarse_horizon must be >= 0 and coarse_block >= 1")
        if self.coarse_horizon % self.coarse_block:
            raise ValueError(
                f"coarse_horizon ({self.coarse_horizon}) must be a multiple of coarse_block "
                f"({self.coarse_block})"
            )

    @property
    def num_patches(self) -> int:
        return self.context_length // self.patch_length

    @property
    def num_blocks(self) -> int:
        """Coarse-grid blocks per position (0 without a coarse head)."""
        return self.coarse_horizon // self.coarse_block

    @property
    def median_index(self) -> int:
        return self.quantiles.index(0.5)

    @property
    def num_features(self) -> int:
        return 2 * self.patch_length + 4

    def is_variate_block(self, i: int) -> bool:
        return self.feature_every > 0 and (i + 1) % self.feature_every == 0


class ResidualEmbed(nn.Module):
    """``linear(x) + mlp(x)``: the patch embedding."""

    def __init__(self, d_in: int, d_model: int) -> None:
        super().__init__()
        self.skip = nn.Linear(d_in, d_model)
        self.up = nn.Linear(d_in, d_model)
        self.down = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x) + self.down(nn.functional.gelu(self.up(x)))


@register_model("tinycast")
class TinyCast(TinyModel):
    """The TinyCast network. Inputs are raw values; scaling (DART-Norm) happens inside."""

    config_class = CastConfig
    config: CastConfig

    def __init__(self, config: CastConfig) -> None:
        super().__init__(config)
        c = config
        self.embed = ResidualEmbed(c.num_features, c.d_model)
        self.blocks = nn.ModuleList(
            (
                VariateBlock(c.d_model, c.num_heads, c.mlp_ratio, c.dropout)
                if c.is_variate_block(i)
                else TimeBlock(c.d_model, c.num_heads, c.mlp_ratio, c.dropout, c.rope_base)
            )
            for i in range(c.num_layers)
        )
        self.norm = nn.LayerNorm(c.d_model)
        nq = len(c.quantiles)
        self.fine_head = nn.Linear(c.d_model, c.patch_length * nq)
        self.coarse_head = nn.Linear(c.d_model, c.num_blocks * nq) if c.num_blocks else None
        if c.pruning:  # a pruned checkpoint: rebuild the smaller layers before weights are loaded
            from tinyts.nn.structure import apply_structure

            apply_structure(self, c.pruning)

    # ------------------------------------------------------------------ pieces
    def stats(self, x: torch.Tensor, observed: torch.Tensor) -> PrefixStats:
        """DART-Norm (or instance-norm) statistics ``(B, C, N)`` of a context."""
        c = self.config
        return dart_stats(
            x,
            observed,
            c.patch_length,
            min_std=c.min_std,
            rel_min_std=c.rel_min_std,
            causal=c.norm == "dart",
        )

    def features(self, x: torch.Tensor, observed: torch.Tensor, stats: PrefixStats) -> torch.Tensor:
        """Token features ``(B, C, N, 2P + 4)`` (see the module docstring)."""
        c = self.config
        z = normalize_patches(x, observed, stats, c.patch_length, c.input_clip)
        mask = observed.to(x.dtype).reshape(z.shape)
        mean, std = stats.mean, stats.std
        prev_mean = torch.cat([mean[..., :1], mean[..., :-1]], dim=-1)
        prev_std = torch.cat([std[..., :1], std[..., :-1]], dim=-1)
        prev_has = torch.cat([torch.zeros_like(stats.n_obs[..., :1]), stats.n_obs[..., :-1]], dim=-1) > 0
        zero = torch.zeros((), dtype=x.dtype, device=x.device)
        d_log_std = torch.where(prev_has, torch.log(std / prev_std), zero).clamp(-10.0, 10.0)
        d_mean = torch.where(prev_has, (mean - prev_mean) / std, zero).clamp(-10.0, 10.0)
        level = torch.asinh(mean / std).clamp(-15.0, 15.0)
        amount = torch.log1p(stats.n_obs) / math.log1p(c.context_length)
        extra = torch.stack([level, d_log_std, d_mean, amount], dim=-1)
        return torch.cat([z, mask, extra], dim=-1)

    def backbone(self, tokens: torch.Tensor, patch_ok: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        """Blocks over ``(B, C, N, d)`` tokens; returns the final-normed states, same shape."""
        b, ch, n, d = tokens.shape
        time_ok = None if bool(patch_ok.all()) else patch_ok.reshape(b * ch, n)
        has = count > 0
        var_ok = None if bool(has.all()) else has.permute(0, 2, 1).reshape(b * n, ch)
        h = tokens
        for blk in self.blocks:
            if isinstance(blk, VariateBlock):
                hv = h.permute(0, 2, 1, 3).reshape(b * n, ch, d)
                h = blk(hv, var_ok).reshape(b, n, ch, d).permute(0, 2, 1, 3)
            else:
                h = blk(h.reshape(b * ch, n, d), time_ok).reshape(b, ch, n, d)
        return self.norm(h)

    # ------------------------------------------------------------------ forward
    def forward(
        self, x: torch.Tensor, observed: torch.Tensor, *, last_only: bool = False
    ) -> dict[str, torch.Tensor]:
        """Quantile forecasts at every patch position (or only the last).

        Parameters
        ----------
        x : torch.Tensor
            ``(B, C, T)`` raw values, ``T`` a multiple of ``patch_length`` and at most
            ``context_length``; anything at unobserved points is ignored.
        observed : torch.Tensor
            Bool, same shape; True where a value is observed.
        last_only : bool
            Compute the heads at the last position only (inference).

        Returns
        -------
        dict
            ``fine`` ``(B, C, N', patch_length, Q)`` and, with a coarse head, ``coarse``
            ``(B, C, N', num_blocks, Q)``: quantiles in each position's frame, for the patch / the
            coarse blocks after position ``k``; ``mean``, ``std``, ``count`` ``(B, C, N')``: that frame
            (``N' = N`` or 1). Raw values are ``y * std + mean`` (:meth:`denormalize`).
        """
        c = self.config
        if x.ndim != 3 or x.shape != observed.shape:
            raise ValueError(
                f"x and observed must both be (batch, channels, time), got {tuple(x.shape)} and "
                f"{tuple(observed.shape)}"
            )
        t = x.shape[-1]
        if t % c.patch_length or t > c.context_length or t == 0:
            raise ValueError(
                f"TinyCast needs a time axis that is a positive multiple of {c.patch_length} and at most "
                f"{c.context_length} points, got {t}"
            )
        observed = observed.bool()
        stats = self.stats(x, observed)
        tokens = self.embed(self.features(x, observed, stats))
        patch_ok = observed.reshape(*x.shape[:2], -1, c.patch_length).any(-1)
        h = self.backbone(tokens, patch_ok, stats.n_obs)
        if last_only:
            h = h[:, :, -1:]
            stats = PrefixStats(*(s[..., -1:] for s in stats))
        b, ch, n, _ = h.shape
        nq = len(c.quantiles)
        out = {
            "fine": self.fine_head(h).view(b, ch, n, c.patch_length, nq),
            "mean": stats.mean,
            "std": stats.std,
            "count": stats.n_obs,
        }
        if self.coarse_head is not None:
            out["coarse"] = self.coarse_head(h).view(b, ch, n, c.num_blocks, nq)
        return out

    def denormalize(self, y: torch.Tensor, out: dict[str, torch.Tensor]) -> torch.Tensor:
        """Map ``out["fine"]`` or ``out["coarse"]`` (or any ``(B, C, N', *extra)``) to raw values."""
        stats = PrefixStats(out["mean"], out["std"], out["count"])
        return from_frame(y, stats, y.ndim - out["mean"].ndim)

    # ------------------------------------------------------------------ tasks
    # One-line delegations to the task functions (imported here: the task layer sits above the
    # models). tests/models/test_facades.py checks that each signature matches its task function's.
    def forecast(
        self,
        x: Any,
        horizon: int,
        *,
        quantiles: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
        strategy: ForecastStrategy = "auto",
        near_steps: int = 96,
        sifi: bool = True,
        sifi_max_stride: int = 4,
        sifi_weight: float = 0.5,
        symmetry: bool = True,
        multivariate: bool = True,
        batch_size: int = 256,
    ) -> ForecastResult:
        """Probabilistic forecast of arrays / ragged lists; see :func:`tinyts.tasks.forecast.api.forecast`."""
        from tinyts.tasks.forecast.api import forecast

        return forecast(
            self,
            x,
            horizon,
            quantiles=quantiles,
            strategy=strategy,
            near_steps=near_steps,
            sifi=sifi,
            sifi_max_stride=sifi_max_stride,
            sifi_weight=sifi_weight,
            symmetry=symmetry,
            multivariate=multivariate,
            batch_size=batch_size,
        )

    def forecast_df(
        self,
        df: pd.DataFrame,
        horizon: int,
        *,
        id_col: str | None = "unique_id",
        time_col: str = "ds",
        target_col: str | Sequence[str] = "y",
        quantiles: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
        freq: Any = None,
        strategy: ForecastStrategy = "auto",
        near_steps: int = 96,
        sifi: bool = True,
        sifi_max_stride: int = 4,
        sifi_weight: float = 0.5,
        symmetry: bool = True,
        multivariate: bool = True,
        batch_size: int = 256,
    ) -> pd.DataFrame:
        """Forecast a long DataFrame; see :func:`tinyts.tasks.forecast.api.forecast_df`."""
        from tinyts.tasks.forecast.api import forecast_df

        return forecast_df(
            self,
            df,
            horizon,
            id_col=id_col,
            time_col=time_col,
            target_col=target_col,
            quantiles=quantiles,
            freq=freq,
            strategy=strategy,
            near_steps=near_steps,
            sifi=sifi,
            sifi_max_stride=sifi_max_stride,
            sifi_weight=sifi_weight,
            symmetry=symmetry,
            multivariate=multivariate,
            batch_size=batch_size,
        )
