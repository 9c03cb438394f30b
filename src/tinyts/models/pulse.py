"""TinyPulse: a ~1M-parameter dual-space (time + FFT) masked-reconstruction model after TSPulse.

Per channel, the masked and instance-normalised series is cut into patches (time tokens); its rFFT,
normalised as in :mod:`tinyts.nn.spectral`, is cut the same way (FFT tokens); R learnable register
tokens follow. A TSMixer encoder and decoder mix the sequence; heads reconstruct the masked time points,
the FFT series (and, through an inverse FFT, time again), the frequency signature (softmax of the
log-amplitude spectrum, from the registers) and a short forecast (from the registers).
Channels are independent unless ``channel_mixing`` is on (classification fine-tuning, TSLens).

Our departure from TSPulse (``fill="linear"``, the default): hidden points enter the model as the
linear interpolation of their observed neighbours, not as a learnable mask token, the time patches
carry the hidden/observed indicator as extra inputs, and the time head predicts a residual on top of
that interpolation. At initialisation the model therefore already imputes as well as linear
interpolation, which on smooth, densely sampled data (ETTm1) is a strong baseline that a ~1M model
pre-trained for CPU-hours otherwise fails to reach. ``fill="token"`` gives the TSPulse behaviour for the
ablation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from tinyts.models.base import TinyModel, register_model
from tinyts.nn.interp import linear_fill
from tinyts.nn.mixer import MixerLayer
from tinyts.nn.norm import MaskedRevIN
from tinyts.nn.spectral import Spectrum, fft_series, inverse_fft_series
from tinyts.options import (
    AnomalyFuse,
    AnomalyHeadScale,
    AnomalyMode,
    AnomalyScale,
    BinaryChannels,
    EmbedChannels,
    EmbedKind,
    ImputeBlend,
    ImputeHead,
)

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class PulseConfig:
    """Hyper-parameters of :class:`TinyPulse` (defaults = the bundled ``tinypulse``)."""

    context_length: int = 512
    patch_length: int = 8
    #: patch length of the FFT series (longer than the time patches: fewer tokens, faster mixing)
    fft_patch_length: int = 16
    d_model: int = 24
    num_layers: int = 11
    decoder_layers: int = 2
    num_registers: int = 8
    register_decoder_layers: int = 1
    expansion: float = 2.0
    dropout: float = 0.1
    forecast_length: int = 16
    min_var: float = 1e-3
    gated: bool = True
    #: channel count of the decoder's channel mixer; 0 = channel-independent (pre-training)
    channel_mixing: int = 0
    #: MLP activation: "gelu" (exact), "gelu_tanh" or "relu" (see tinyts.nn.mixer.activation)
    activation: str = "gelu"
    #: how hidden points enter the model: "linear" (interpolation + residual head) or "token" (TSPulse)
    fill: str = "linear"
    #: shapes of a structurally pruned model (written by tinyts.compress; None = unpruned)
    pruning: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        for name in ("patch_length", "fft_patch_length"):
            if self.context_length % (2 * getattr(self, name)):
                raise ValueError(
                    f"context_length ({self.context_length}) must be a multiple of 2 * {name} "
                    f"({2 * getattr(self, name)})"
                )
        if self.fill not in ("linear", "token"):
            raise ValueError(f"fill must be 'linear' or 'token', got {self.fill!r}")
        for name in ("d_model", "num_layers", "num_registers", "forecast_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")

    @property
    def num_patches(self) -> int:
        return self.context_length // self.patch_length

    @property
    def num_fft_patches(self) -> int:
        return self.context_length // self.fft_patch_length

    @property
    def num_tokens(self) -> int:
        return self.num_patches + self.num_fft_patches + self.num_registers

    @property
    def num_bins(self) -> int:
        return self.context_length // 2


@register_model("tinypulse")
class TinyPulse(TinyModel):
    """The TinyPulse network. Inputs are raw values; scaling happens inside."""

    config_class = PulseConfig
    config: PulseConfig

    def __init__(self, config: PulseConfig) -> None:
        super().__init__(config)
        c = config
        self.revin = MaskedRevIN(c.min_var)
        # the learnable input-space mask token exists only in TSPulse mode (unused parameters break DDP)
        self.mask_token = nn.Parameter(torch.randn(c.patch_length) * 0.1) if c.fill == "token" else None
        time_in = 2 * c.patch_length if c.fill == "linear" else c.patch_length
        self.time_embed = nn.Linear(time_in, c.d_model)
        self.fft_embed = nn.Linear(c.fft_patch_length, c.d_model)
        self.registers = nn.Parameter(torch.randn(c.num_registers, c.d_model) * 0.1)
        self.base_norm = nn.LayerNorm(c.num_tokens * c.d_model)
        self.encoder = nn.ModuleList(
            MixerLayer(c.num_tokens, c.d_model, c.expansion, c.dropout, c.gated, act=c.activation)
            for _ in range(c.num_layers)
        )
        self.decoder = nn.ModuleList(
            MixerLayer(
                c.num_tokens,
                c.d_model,
                c.expansion,
                c.dropout,
                c.gated,
                c.channel_mixing or None,
                c.activation,
            )
            for _ in range(c.decoder_layers)
        )
        self.time_head = nn.Linear(c.d_model, c.patch_length)
        self.fft_head = nn.Linear(c.d_model, c.fft_patch_length)
        self.register_decoder = nn.ModuleList(
            MixerLayer(c.num_registers, c.d_model, c.expansion, c.dropout, c.gated, act=c.activation)
            for _ in range(c.register_decoder_layers)
        )
        reg_dim = c.num_registers * c.d_model
        self.register_norm = nn.LayerNorm(reg_dim)
        self.prob_head = nn.Linear(reg_dim, c.num_bins)
        self.forecast_head = nn.Linear(reg_dim, c.forecast_length)
        if c.pruning:  # a pruned checkpoint: rebuild the smaller layers before weights are loaded
            from tinyts.nn.structure import apply_structure

            apply_structure(self, c.pruning)

    # ------------------------------------------------------------------ encoding
    def prepare(
        self, x: torch.Tensor, observed: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], Spectrum]:
        """Normalise with observed points, put the mask token at hidden points, compute FFT features.

        Returns the model input series ``(B, C, T)``, the RevIN statistics and the input spectrum.
        """
        c = self.config
        if x.shape[-1] != c.context_length:
            raise ValueError(f"TinyPulse expects {c.context_length} time steps, got {x.shape[-1]}")
        x = torch.where(observed, x, torch.zeros((), dtype=x.dtype))
        xn, stats = self.revin(x, observed)
        if self.mask_token is None:
            fill = linear_fill(xn, observed)
        else:
            fill = self.mask_token.repeat(c.num_patches)
        xin = torch.where(observed, xn, fill)
        return xin, stats, fft_series(xin)

    def input_tokens(self, xin: torch.Tensor, spec: Spectrum, observed: torch.Tensor) -> torch.Tensor:
        """Time, FFT and register tokens before the encoder, normalised: ``(B, C, P, d)``."""
        c = self.config
        b, ch, _ = xin.shape
        patches = xin.reshape(b, ch, c.num_patches, c.patch_length)
        if c.fill == "linear":
            hidden = (~observed).to(xin.dtype).reshape(b, ch, c.num_patches, c.patch_length)
            patches = torch.cat([patches, hidden], dim=-1)
        time_tok = self.time_embed(patches)
        fft_tok = self.fft_embed(spec.series.reshape(b, ch, c.num_fft_patches, c.fft_patch_length))
        reg = self.registers.expand(b, ch, -1, -1)
        h = torch.cat([time_tok, fft_tok, reg], dim=2)
        return self.base_norm(h.reshape(b, ch, -1)).reshape(b, ch, c.num_tokens, c.d_model)

    def encode(self, xin: torch.Tensor, spec: Spectrum, observed: torch.Tensor) -> torch.Tensor:
        """Tokens after encoder and decoder: ``(B, C, P, d)``."""
        h = self.input_tokens(xin, spec, observed)
        for layer in self.encoder:
            h = layer(h)
        for layer in self.decoder:
            h = layer(h)
        return h

    def register_features(self, h: torch.Tensor) -> torch.Tensor:
        """The semantic embedding: register tokens through the mini-decoder, flattened ``(B, C, R*d)``."""
        r = h[:, :, -self.config.num_registers :, :]
        for layer in self.register_decoder:
            r = layer(r)
        return self.register_norm(r.flatten(2))

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor, observed: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run every head.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, C, context_length)`` raw values (anything at unobserved points is ignored).
        observed : torch.Tensor
            Bool, same shape; False = hidden (to reconstruct).

        Returns
        -------
        dict
            ``recon`` and ``recon_fft`` (time reconstructions from the time head and from the inverse
            FFT, in the normalised space), ``fft`` (predicted normalised FFT series), ``log_prob``
            (log frequency signature, ``(B, C, T/2)``), ``forecast`` (``(B, C, forecast_length)``,
            normalised), ``embedding`` (``(B, C, R*d)``), ``mean`` and ``std`` (``(B, C, 1)``), so that
            ``raw = (y - revin.bias) / revin.weight * std + mean``.
        """
        xin, (mean, std), spec = self.prepare(x, observed)
        return {**self.heads(xin, spec, observed), "mean": mean, "std": std}

    def heads(self, xin: torch.Tensor, spec: Spectrum, observed: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every head on a prepared input (see :meth:`prepare`): :meth:`forward` without mean and std."""
        c = self.config
        h = self.encode(xin, spec, observed)
        b, ch = xin.shape[:2]
        n = c.num_patches
        recon = self.time_head(h[:, :, :n]).reshape(b, ch, c.context_length)
        if c.fill == "linear":
            recon = recon + xin
        fft_pred = self.fft_head(h[:, :, n : n + c.num_fft_patches]).reshape(b, ch, c.context_length)
        recon_fft = inverse_fft_series(fft_pred, spec)
        emb = self.register_features(h)
        return {
            "recon": recon,
            "recon_fft": recon_fft,
            "fft": fft_pred,
            "log_prob": torch.log_softmax(self.prob_head(emb), dim=-1),
            "forecast": self.forecast_head(emb),
            "embedding": emb,
        }

    def denormalize(self, y: torch.Tensor, out: dict[str, torch.Tensor]) -> torch.Tensor:
        """Map a normalised output (``recon``, ``recon_fft``, ``forecast``) back to raw values."""
        return self.revin.inverse(y, (out["mean"], out["std"]))

    # ------------------------------------------------------------------ tasks
    # One-line delegations to the task functions (imported here: the task layer sits above the
    # models). tests/models/test_facades.py checks that each signature matches its task function's.
    def impute(
        self,
        x: Any,
        *,
        stride: int | None = None,
        batch_size: int = 256,
        head: ImputeHead = "avg",
        blend: ImputeBlend = "none",
        tta: bool = True,
    ) -> Any:
        """Fill NaNs; see :func:`tinyts.tasks.pulse.impute.impute`."""
        from tinyts.tasks.pulse.impute import impute

        return impute(self, x, stride=stride, batch_size=batch_size, head=head, blend=blend, tta=tta)

    def anomaly_scores(
        self,
        x: Any,
        *,
        mode: AnomalyMode = "ensemble",
        agg: int = 64,
        groups: int = 2,
        smooth: int = 96,
        fuse: AnomalyFuse = "max",
        batch_size: int = 256,
        scale: AnomalyScale = "robust",
        binary: BinaryChannels = "skip",
        sharpen: float = 0.3,
        boost: float = 0.0,
        tta: bool = False,
        head_scale: AnomalyHeadScale = "robust",
    ) -> np.ndarray:
        """One anomaly score per time point; see :func:`tinyts.tasks.pulse.anomaly.anomaly_scores`."""
        from tinyts.tasks.pulse.anomaly import anomaly_scores

        return anomaly_scores(
            self,
            x,
            mode=mode,
            agg=agg,
            groups=groups,
            smooth=smooth,
            fuse=fuse,
            batch_size=batch_size,
            scale=scale,
            binary=binary,
            sharpen=sharpen,
            boost=boost,
            tta=tta,
            head_scale=head_scale,
        )

    def embed(
        self,
        x: Any,
        *,
        kind: EmbedKind = "register",
        shifts: int | None = None,
        channels: EmbedChannels = "concat",
        batch_size: int = 64,
        progress: bool = False,
    ) -> np.ndarray:
        """One embedding per series, ``(n_series, dim)``; see :func:`~tinyts.tasks.pulse.embed.embed`."""
        from tinyts.tasks.pulse.embed import embed

        return embed(
            self, x, kind=kind, shifts=shifts, channels=channels, batch_size=batch_size, progress=progress
        )

    def impute_df(
        self,
        df: pd.DataFrame,
        *,
        id_col: str | None = "unique_id",
        time_col: str = "ds",
        target_col: str | Sequence[str] = "y",
        **kwargs: Any,
    ) -> pd.DataFrame:
        """Fill the NaN targets of a long DataFrame; see :func:`tinyts.tasks.frames.impute_df`."""
        from tinyts.tasks.frames import impute_df

        return impute_df(self, df, id_col=id_col, time_col=time_col, target_col=target_col, **kwargs)

    def detect_df(
        self,
        df: pd.DataFrame,
        *,
        mode: AnomalyMode = "ensemble",
        id_col: str | None = "unique_id",
        time_col: str = "ds",
        target_col: str | Sequence[str] = "y",
        threshold: float | None = None,
        **kwargs: Any,
    ) -> pd.DataFrame:
        """One anomaly score per row of a long DataFrame; see :func:`tinyts.tasks.frames.detect_df`."""
        from tinyts.tasks.frames import detect_df

        return detect_df(
            self,
            df,
            mode=mode,
            id_col=id_col,
            time_col=time_col,
            target_col=target_col,
            threshold=threshold,
            **kwargs,
        )

    def embed_df(
        self,
        df: pd.DataFrame,
        *,
        id_col: str | None = "unique_id",
        time_col: str = "ds",
        target_col: str | Sequence[str] = "y",
        kind: EmbedKind = "register",
        **kwargs: Any,
    ) -> pd.DataFrame:
        """One embedding row per series of a long DataFrame; see :func:`tinyts.tasks.frames.embed_df`."""
        from tinyts.tasks.frames import embed_df

        return embed_df(
            self, df, id_col=id_col, time_col=time_col, target_col=target_col, kind=kind, **kwargs
        )
