"""TinyCast pre-training: seeded synthetic windows and the dense quantile loss.

Batch (a pure function of ``seed, step, rank``): ``context_length + H`` points per series, with
``H = max(patch_length, coarse_horizon)``, from :func:`tinyts.data.synth.corpus.synth_batch`
(SynthTS-style, KernelSynth-style and channels of multivariate samples), plus, when
``mv_batch_size > 0``, a few :func:`tinyts.data.synth.core.synth_multivariate` samples of ``mv_channels``
related channels so that the cross-variate blocks learn to use other channels. Augmentations per
series: random scale (log-uniform), random offset (a multiple of the series' spread), sign flip,
scattered missing points and, for a share of the series, an unobserved prefix (short histories are
left-padded at inference). Targets are always the complete synthetic values.

Loss (pinball, i.e. the quantile loss whose average over the levels approximates CRPS):

- ``fine``: at every patch position ``k`` (``dense=True``; only the last position with
  ``dense=False``), the next patch in position ``k``'s own DART frame -- no leakage, because the
  frame and the attention only see data up to the end of patch ``k``;
- ``coarse_short`` / ``coarse_long``: the coarse head of position ``k`` against the points of each
  coarse block after patch ``k`` (the block quantile is scored against the points of its block: all of
  them, or ``coarse_points`` random ones per step, an unbiased and cheaper estimate), split
  into blocks that end within ``short_horizon`` steps and those beyond, each averaged on its own and
  weighted explicitly (``coarse_short_weight``, ``coarse_long_weight``), so that neither the many far
  blocks nor the accurate near ones dominate.

Positions whose prefix has fewer than ``min_points`` observed points are not scored; normalised targets
are clipped at ``target_clip`` (an early position with a tiny std can see enormous normalised values;
the pinball gradient is bounded anyway, the clip bounds the logged loss).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from tinyts.data.synth.core import synth_multivariate
from tinyts.data.synth.corpus import real_corpus, resolve_mix, synth_batch
from tinyts.models.cast import CastConfig
from tinyts.nn.dartnorm import PrefixStats, to_frame
from tinyts.train.pulse_objective import SeriesFn

__all__ = ["CastObjective", "pinball"]


def pinball(pred: torch.Tensor, target: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Elementwise quantile (pinball) loss ``max(tau * u, (tau - 1) * u)``, ``u = target - pred``.

    ``levels`` broadcasts against the last axis of ``pred``.
    """
    u = target - pred
    return torch.maximum(levels * u, (levels - 1.0) * u)


@dataclass
class CastObjective:
    """Data and loss settings of TinyCast pre-training (every switch is an ablation)."""

    batch_size: int = 64
    #: multivariate samples per step (0 = univariate only) and their channel count
    mv_batch_size: int = 4
    mv_channels: int = 4
    mix: dict[str, float] | str | None = None
    seed: int = 0
    #: augmentations
    scale_log10_range: tuple[float, float] = (-2.0, 3.0)
    offset_prob: float = 0.3
    offset_log10_range: tuple[float, float] = (-1.0, 2.0)
    sign_flip_prob: float = 0.5
    missing_prob: float = 0.2
    missing_max_ratio: float = 0.3
    short_prob: float = 0.15
    #: fewest observed points an unobserved prefix leaves (0 = the patch length, the first recipes' rule)
    short_min_keep: int = 0
    #: how the observed length of a prefixed row is drawn: "uniform" (the first recipes) or
    #: "log_uniform" (short histories as common per octave as long ones)
    short_keep: str = "uniform"
    #: loss
    dense: bool = True
    fine_weight: float = 1.0
    coarse_short_weight: float = 0.5
    coarse_long_weight: float = 0.5
    short_horizon: int = 96
    #: score the coarse head at every ``coarse_every``-th position (counted back from the last)
    coarse_every: int = 1
    #: points per coarse block scored in a step (random offsets, an unbiased estimate; 0 = all)
    coarse_points: int = 4
    min_points: int = 16
    target_clip: float = 50.0
    #: folder of real ``.tsf`` series and their share of each batch (see ``synth_corpus.resolve_mix``)
    real_dir: str | None = None
    real_share: float = 0.0
    #: share of each univariate batch cut from the corpus' *short* series at a random forecast origin
    #: (``RealCorpus.cut_windows``: left-padded history, no targets after the series' end); needs
    #: ``real_dir``. 0 = none (the batch is then exactly what it was before this option).
    real_short_share: float = 0.0
    #: fewest points of history before the origin of a ``real_short`` window
    real_short_min_history: int = 16
    #: how far the ``real_short`` draws are evened out between frequencies (``cut_windows``' ``balance``):
    #: 0 = by series weight (monthly series take ~77 % of the draws), 1 = every frequency equal
    real_short_balance: float = 0.0

    def __post_init__(self) -> None:
        self.scale_log10_range = tuple(self.scale_log10_range)  # type: ignore[assignment]
        self.offset_log10_range = tuple(self.offset_log10_range)  # type: ignore[assignment]
        if self.batch_size < 1 or self.mv_batch_size < 0 or self.mv_channels < 1:
            raise ValueError("batch_size must be >= 1, mv_batch_size >= 0 and mv_channels >= 1")
        if self.coarse_every < 1 or self.min_points < 1 or self.short_horizon < 1:
            raise ValueError("coarse_every, min_points and short_horizon must be >= 1")
        if self.coarse_points < 0:
            raise ValueError(f"coarse_points must be >= 0 (0 = every point), got {self.coarse_points}")
        if not 0.0 <= self.real_short_share < 1.0:
            raise ValueError(f"real_short_share must be in [0, 1), got {self.real_short_share!r}")
        if self.real_short_share > 0 and not self.real_dir:
            raise ValueError("real_short_share > 0 needs real_dir (the folder of the real corpus)")
        if self.real_short_min_history < 1:
            raise ValueError(f"real_short_min_history must be >= 1, got {self.real_short_min_history}")
        if not 0.0 <= self.real_short_balance <= 1.0:
            raise ValueError(f"real_short_balance must be in [0, 1], got {self.real_short_balance!r}")
        if self.short_min_keep < 0:
            raise ValueError(f"short_min_keep must be >= 0 (0 = the patch length), got {self.short_min_keep}")
        if self.short_keep not in ("uniform", "log_uniform"):
            raise ValueError(f"short_keep must be 'uniform' or 'log_uniform', got {self.short_keep!r}")
        for name in ("offset_prob", "sign_flip_prob", "missing_prob", "missing_max_ratio", "short_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")

    # ------------------------------------------------------------------ data
    @staticmethod
    def window_length(config: CastConfig) -> int:
        """Points per training series: the context plus the farthest target."""
        return config.context_length + max(config.patch_length, config.coarse_horizon)

    def _augment(self, rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
        """Scale, offset and sign flip per row of ``(rows, length)`` float64."""
        rows = x.shape[0]
        lo, hi = self.scale_log10_range
        x = x * 10.0 ** rng.uniform(lo, hi, (rows, 1))
        # NaN only in real_short rows (padding); np.std keeps the old draws bit for bit without them
        std = np.nanstd if np.isnan(x).any() else np.std
        spread = std(x, axis=1, keepdims=True) + 1e-8
        lo, hi = self.offset_log10_range
        off = rng.standard_normal((rows, 1)) * spread * 10.0 ** rng.uniform(lo, hi, (rows, 1))
        x = x + off * (rng.random((rows, 1)) < self.offset_prob)
        return x * np.where(rng.random((rows, 1)) < self.sign_flip_prob, -1.0, 1.0)

    def _observed(self, rng: np.random.Generator, rows: int, t: int, p: int) -> np.ndarray:
        """Context mask ``(rows, t)``: scattered missing points and unobserved prefixes."""
        obs = np.ones((rows, t), dtype=bool)
        miss = rng.random(rows) < self.missing_prob
        if miss.any():
            ratio = rng.uniform(0.0, self.missing_max_ratio, (int(miss.sum()), 1))
            obs[miss] = rng.random((int(miss.sum()), t)) >= ratio
        short = rng.random(rows) < self.short_prob
        if short.any():
            lo = self.short_min_keep or p
            hi = max(lo + 1, t - p)  # exclusive
            if self.short_keep == "uniform":
                keep = rng.integers(lo, hi, size=int(short.sum()))
            else:
                u = rng.uniform(np.log(lo), np.log(hi), size=int(short.sum()))
                keep = np.minimum(np.floor(np.exp(u)).astype(np.int64), hi - 1)
            obs[short] &= np.arange(t)[None, :] >= (t - keep)[:, None]
        obs[:, -1] = True  # the last point is always there (as at inference, where it is the origin)
        return obs

    def batch(
        self, step: int, rank: int, config: CastConfig, series: SeriesFn | None = None
    ) -> dict[str, torch.Tensor]:
        """The batch of ``step`` on ``rank``: ``x (B, 1, L)``, ``observed (B, 1, T)``, and the
        multivariate ``x_mv (Bm, C, L)`` / ``observed_mv`` when ``mv_batch_size > 0``.

        ``series`` replaces the on-the-fly univariate generator (:func:`synth_batch` with the
        objective's mix), e.g. by crops of a pre-generated bank; the multivariate samples are always
        generated on the fly.
        """
        rng = np.random.default_rng([self.seed, step, rank])
        t, p = config.context_length, config.patch_length
        length = self.window_length(config)
        n_short = round(self.batch_size * self.real_short_share)
        n_main = self.batch_size - n_short
        if series is None:
            mix = resolve_mix(self.mix, self.real_share)
            raw = synth_batch(n_main, length, rng, mix=mix, real=self.real_dir)
        else:
            raw = series(n_main, length, rng)
        raw = raw.astype(np.float64)
        if n_short:
            corpus = real_corpus(self.real_dir)
            assert corpus is not None  # real_dir is checked in __post_init__
            cut = corpus.cut_windows(
                rng,
                n_short,
                length,
                t,
                min_history=self.real_short_min_history,
                balance=self.real_short_balance,
            )
            raw = np.concatenate([raw, cut], axis=0)
        x = self._augment(rng, raw)
        observed = self._observed(rng, self.batch_size, t, p)
        ok = np.isfinite(x) if n_short else None
        if ok is not None:  # NaN marks padding / missing / beyond the series' end: never observed or a target
            observed &= ok[:, :t]
            x = np.where(ok, x, 0.0)
        out = {
            "x": torch.from_numpy(x[:, None, :].astype(np.float32)),
            "observed": torch.from_numpy(observed[:, None, :]),
        }
        if ok is not None:
            out["target_ok"] = torch.from_numpy(ok[:, None, :])
        if self.mv_batch_size:
            m, c = self.mv_batch_size, self.mv_channels
            rows = synth_multivariate(m, c, length, rng=rng).reshape(m * c, length).astype(np.float64)
            mv = self._augment(rng, rows).reshape(m, c, length)
            obs = self._observed(rng, m * c, t, p).reshape(m, c, t)
            obs[:, :, -1] = True
            out["x_mv"] = torch.from_numpy(mv.astype(np.float32))
            out["observed_mv"] = torch.from_numpy(obs)
        return out

    # ------------------------------------------------------------------ loss
    def _sums(
        self,
        model: nn.Module,
        x: torch.Tensor,
        observed: torch.Tensor,
        config: CastConfig,
        target_ok: torch.Tensor | None = None,
    ) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Summed loss and number of scored terms per component, for one ``(B, C, L)`` part.

        ``target_ok`` ``(B, C, L)`` marks the points that exist (``real_short`` windows end early):
        each patch and coarse block is then averaged over its existing points only, and a position
        is scored where it has any. Without it (every point exists) the arithmetic is as before.
        """
        t, p = config.context_length, config.patch_length
        out = model(x[..., :t], observed)
        stats = PrefixStats(out["mean"], out["std"], out["count"])
        b, ch, n = stats.mean.shape
        valid = out["count"] >= self.min_points
        if not self.dense:
            last = torch.zeros(n, dtype=torch.bool, device=x.device)
            last[-1] = True
            valid = valid & last
        w = valid.to(x.dtype)
        levels = torch.tensor(config.quantiles, dtype=x.dtype, device=x.device)
        clip = self.target_clip
        fut = x[..., p : t + p].reshape(b, ch, n, p)
        target = to_frame(fut, stats, 1).clamp(-clip, clip)
        pin = pinball(out["fine"], target[..., None], levels)
        if target_ok is None:
            fine = pin.mean((-1, -2))
            wf = w
        else:
            m = target_ok[..., p : t + p].reshape(b, ch, n, p).to(x.dtype)
            present = m.sum(-1)  # existing points of each patch
            fine = (pin.mean(-1) * m).sum(-1) / present.clamp_min(1.0)
            wf = w * (present > 0).to(x.dtype)
        sums = {"fine": ((fine * wf).sum(), wf.sum())}
        if "coarse" in out:
            g, blk = config.num_blocks, config.coarse_block
            pos = torch.arange(n - 1, -1, -self.coarse_every, device=x.device).flip(0)
            win = x[..., p:].unfold(-1, config.coarse_horizon, p)[:, :, pos]
            sub = PrefixStats(*(s[..., pos] for s in stats))
            tgt = to_frame(win, sub, 1).clamp(-clip, clip).reshape(b, ch, len(pos), g, blk, 1)
            mb = None
            if target_ok is not None:
                mb = target_ok[..., p:].unfold(-1, config.coarse_horizon, p)[:, :, pos]
                mb = mb.reshape(b, ch, len(pos), g, blk).to(x.dtype)
            if 0 < self.coarse_points < blk:
                # the Trainer seeds torch's generator per step, so the draw is reproducible on resume
                pick = torch.randperm(blk)[: self.coarse_points].to(x.device)
                tgt = tgt[..., pick, :]
                mb = None if mb is None else mb[..., pick]
            pred = out["coarse"][:, :, pos, :, None, :]
            wc = w[..., pos]
            short = (torch.arange(1, g + 1, device=x.device) * blk) <= self.short_horizon
            if mb is None:
                per_block = pinball(pred, tgt, levels).mean((-1, -2))  # (B, C, n_pos, G)
                for name, sel in (("coarse_short", short), ("coarse_long", ~short)):
                    if bool(sel.any()):
                        sums[name] = ((per_block[..., sel].mean(-1) * wc).sum(), wc.sum())
            else:
                per_point = pinball(pred, tgt, levels).mean(-1)  # (B, C, n_pos, G, points)
                present = mb.sum(-1)  # existing (picked) points of each block
                per_block = (per_point * mb).sum(-1) / present.clamp_min(1.0)
                has = (present > 0).to(x.dtype)  # blocks with any existing point
                for name, sel in (("coarse_short", short), ("coarse_long", ~short)):
                    if bool(sel.any()):
                        hs = has[..., sel]
                        per_pos = (per_block[..., sel] * hs).sum(-1) / hs.sum(-1).clamp_min(1.0)
                        wp = wc * (hs.sum(-1) > 0).to(x.dtype)
                        sums[name] = ((per_pos * wp).sum(), wp.sum())
        return sums

    def loss(
        self, model: nn.Module, batch: Mapping[str, torch.Tensor], config: CastConfig
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Weighted sum of the fine and coarse losses, and the value of each part."""
        sums = self._sums(model, batch["x"], batch["observed"], config, batch.get("target_ok"))
        if "x_mv" in batch:
            for key, (s, c) in self._sums(model, batch["x_mv"], batch["observed_mv"], config).items():
                s0, c0 = sums.get(key, (0.0 * s, 0.0 * c))
                sums[key] = (s0 + s, c0 + c)
        weights = {
            "fine": self.fine_weight,
            "coarse_short": self.coarse_short_weight,
            "coarse_long": self.coarse_long_weight,
        }
        parts = {k: s / c.clamp_min(1.0) for k, (s, c) in sums.items()}
        total = sum((weights[k] * v for k, v in parts.items()), torch.zeros((), device=batch["x"].device))
        return total, {k: float(v.detach()) for k, v in parts.items()}
