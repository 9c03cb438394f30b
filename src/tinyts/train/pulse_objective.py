"""TinyPulse pre-training: seeded synthetic batches with masks, and the multi-head loss.

Batch (a pure function of ``seed, step, rank``): ``context_length + forecast_length`` points per
series from :func:`tinyts.data.synth.corpus.synth_batch`; the first ``context_length`` are the input,
the rest the forecast target. The mask is a TSPulse ``var_hybrid`` mask (whole patches and single
points, per-series ratio) and, for a share of the series, a block of whole patches at the end, the
shape that anomaly scoring and short forecasting use at inference.

Loss (all in the instance-normalised space of each series, because synthetic scales span orders of
magnitude; TSPulse computes time losses in the raw scale):

- ``time``: MSE of the time head on hidden points;
- ``fft``: MSE of the FFT head against the normalised FFT series of the *unmasked* series;
- ``ifft``: MSE of the inverse-FFT reconstruction on hidden points;
- ``prob``: cross-entropy of the frequency signature (log-amplitude softmax of the unmasked series);
- ``forecast``: MSE of the register forecast of the next ``forecast_length`` points.

Per-series losses are clipped at ``clip`` before averaging so that a rare wild synthetic series does
not dominate a step (the CPU probe saw such spikes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from tinyts.data.masks import var_hybrid_mask
from tinyts.data.synth.corpus import resolve_mix, synth_batch
from tinyts.models.pulse import PulseConfig
from tinyts.nn.norm import MaskedRevIN, masked_mean_std
from tinyts.nn.spectral import fft_series, frequency_signature

SeriesFn = Callable[[int, int, np.random.Generator], np.ndarray]
"""``series(n, length, rng) -> (n, length)`` float32: where a batch's raw series come from (e.g. a bank)."""


@dataclass
class PulseObjective:
    """Data and loss settings of TinyPulse pre-training."""

    batch_size: int = 64
    max_mask_ratio: float = 0.5
    min_mask_ratio: float = 0.05
    full_patch_share: float = 0.5
    tail_mask_prob: float = 0.15
    weights: dict[str, float] = field(
        default_factory=lambda: {"time": 1.0, "fft": 1.0, "ifft": 1.0, "prob": 0.05, "forecast": 0.5}
    )
    clip: float = 20.0
    mix: dict[str, float] | str | None = None
    seed: int = 0
    #: folder of real ``.tsf`` series and their share of each batch (see ``synth_corpus.resolve_mix``)
    real_dir: str | None = None
    real_share: float = 0.0

    def batch(
        self, step: int, rank: int, config: PulseConfig, series: SeriesFn | None = None
    ) -> dict[str, torch.Tensor]:
        """The batch of ``step`` on ``rank``: ``x (B, 1, T+F)`` and ``hidden (B, 1, T)``.

        ``series`` replaces the on-the-fly generator (:func:`synth_batch` with the objective's mix),
        e.g. by crops of a pre-generated bank; it draws from the same per-step generator, so the batch
        stays a pure function of ``(seed, step, rank)``.
        """
        rng = np.random.default_rng([self.seed, step, rank])
        t, f, p = config.context_length, config.forecast_length, config.patch_length
        if series is None:
            mix = resolve_mix(self.mix, self.real_share)
            x = synth_batch(self.batch_size, t + f, rng, mix=mix, real=self.real_dir)
        else:
            x = series(self.batch_size, t + f, rng)
        hidden = var_hybrid_mask(
            (self.batch_size, t),
            self.max_mask_ratio,
            patch=p,
            full_patch_share=self.full_patch_share,
            rng=rng,
            min_ratio=self.min_mask_ratio,
        )
        tail = rng.random(self.batch_size) < self.tail_mask_prob
        if tail.any():
            k = rng.integers(1, 9, size=self.batch_size) * p
            pos = np.arange(t)
            hidden |= tail[:, None] & (pos[None, :] >= t - k[:, None])
        return {
            "x": torch.from_numpy(np.ascontiguousarray(x[:, None, :], dtype=np.float32)),
            "hidden": torch.from_numpy(hidden[:, None, :]),
        }

    def loss(
        self, model: nn.Module, batch: Mapping[str, torch.Tensor], config: PulseConfig
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Weighted sum of the head losses and the value of each part."""
        t = config.context_length
        x, hidden = batch["x"], batch["hidden"]
        ctx, future = x[..., :t], x[..., t:]
        observed = ~hidden
        out = model(ctx, observed)
        mean, std = out["mean"], out["std"]
        inner = getattr(model, "module", model)  # unwrap DistributedDataParallel
        revin = inner.revin
        if not isinstance(revin, MaskedRevIN):
            raise TypeError("the pre-training loss needs a TinyPulse model")
        w, b = revin.weight, revin.bias
        target = (ctx - mean) / std
        hid = hidden.to(ctx.dtype)
        n_hid = hid.sum(-1).clamp_min(1.0)

        def masked_mse(pred: torch.Tensor) -> torch.Tensor:
            err = ((pred - b) / w - target) ** 2
            return ((err * hid).sum(-1) / n_hid).clamp_max(self.clip).mean()

        full_mean, full_std = masked_mean_std(ctx, torch.ones_like(hidden), config.min_var)
        full = (ctx - full_mean) / full_std
        parts: dict[str, torch.Tensor] = {
            "time": masked_mse(out["recon"]),
            "ifft": masked_mse(out["recon_fft"]),
            "fft": ((out["fft"] - fft_series(full).series) ** 2).mean(-1).clamp_max(self.clip).mean(),
            "prob": -(frequency_signature(full) * out["log_prob"]).sum(-1).mean(),
            "forecast": ((((out["forecast"] - b) / w - (future - mean) / std) ** 2).mean(-1))
            .clamp_max(self.clip)
            .mean(),
        }
        total = sum(self.weights.get(k, 0.0) * v for k, v in parts.items())
        assert isinstance(total, torch.Tensor)
        return total, {k: float(v.detach()) for k, v in parts.items()}
