"""TSLens: TinyPulse's decoder re-used as a classifier, with a small head over every token.

:class:`PulseLens` holds a complete :class:`~tinyts.models.pulse.TinyPulse` (the pre-trained weights;
its decoder gets a channel mixer, identity-initialised, when the data has more than one channel) and a
head over the decoder's output tokens ``(B, C, P, d)`` -- ``P`` = time tokens, FFT tokens and register
tokens:

- ``pooling="lens"`` (TSLens, the default): :class:`TokenLens`, a learned reduction of the token axis to
  ``2 + R`` tokens (initialised as the mean of the time tokens, the mean of the FFT tokens and the R
  register tokens), then flattened over channels (``C * (2 + R) * d`` features);
- ``pooling="flat"`` (TSPulse's form): a linear map ``d -> reduce_dim`` per token, then all tokens of
  all channels flattened (``C * P * reduce_dim`` features);
- ``pooling="avg"`` / ``"max"`` (the ablation): mean / max over the tokens of each channel
  (``C * d`` features).

The features are concatenated with a projection of each channel's level and log-scale (instance
normalisation inside the model removes them; TSPulse appends them the same way), then LayerNorm,
dropout and a linear layer give the class logits.

The encoder is channel-independent and frozen during fine-tuning (:mod:`tinyts.tasks.classify.api` caches
its output), so the forward pass is split into :meth:`PulseLens.encoder_tokens` and
:meth:`PulseLens.head_logits`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from tinyts.models.base import TinyModel, register_model
from tinyts.models.pulse import PulseConfig, TinyPulse
from tinyts.nn.scaling import row_scale_torch
from tinyts.options import LensPooling, choices

POOLINGS = choices(LensPooling)


@dataclass
class LensConfig:
    """Configuration of :class:`PulseLens` (written to ``config.json`` by ``save_pretrained``).

    Attributes
    ----------
    pulse : dict
        The backbone's :class:`~tinyts.models.pulse.PulseConfig` fields (``channel_mixing`` set to the
        channel count when it is above one).
    n_channels : int
        Channels of every case.
    classes : list
        The class labels (str or int), in the order of the logits.
    pooling : str
        ``"lens"`` (token-axis reduction, flattened), ``"flat"`` (per-token reduction, every token
        flattened), ``"avg"`` or ``"max"`` (pool over tokens).
    reduce_dim : int
        Per-token feature size after the reduction (``"flat"`` only).
    head_dropout : float
        Dropout before the final linear layer.
    """

    pulse: dict[str, Any] = field(default_factory=dict)
    n_channels: int = 1
    classes: list[Any] = field(default_factory=lambda: [0, 1])
    pooling: LensPooling = "lens"
    reduce_dim: int = 4
    head_dropout: float = 0.2

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.n_channels < 1:
            raise ValueError(f"n_channels must be at least 1, got {self.n_channels}")
        if len(self.classes) < 2:
            raise ValueError(f"a classifier needs at least 2 classes, got {len(self.classes)}")
        if self.reduce_dim < 1:
            raise ValueError(f"reduce_dim must be at least 1, got {self.reduce_dim}")
        if not 0.0 <= self.head_dropout < 1.0:
            raise ValueError(f"head_dropout must be in [0, 1), got {self.head_dropout}")

    @property
    def pulse_config(self) -> PulseConfig:
        return PulseConfig(**self.pulse)


def lens_config_for(
    pulse: TinyPulse,
    n_channels: int,
    classes: list[Any],
    pooling: LensPooling,
    reduce_dim: int,
    head_dropout: float,
    channel_mixing: bool = True,
) -> LensConfig:
    """A :class:`LensConfig` for ``pulse``; channel mixing is switched on for multichannel data."""
    pulse_cfg = dataclasses.asdict(pulse.config)
    pulse_cfg["channel_mixing"] = n_channels if n_channels > 1 and channel_mixing else 0
    return LensConfig(pulse_cfg, n_channels, list(classes), pooling, reduce_dim, head_dropout)


def pulse_tokens(
    pulse: TinyPulse, x: torch.Tensor, observed: torch.Tensor, upto: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokens of ``pulse`` after ``upto`` encoder layers (all by default) and each channel's level/scale.

    Parameters
    ----------
    pulse : TinyPulse
        The model (any channel-mixing setting: the encoder is channel-independent).
    x, observed : torch.Tensor
        ``(B, C, context_length)`` raw values and bool observed mask.
    upto : int, optional
        Encoder layers to run; 0 gives the input tokens.

    Returns
    -------
    tokens : torch.Tensor
        ``(B, C, P, d)``.
    stats : torch.Tensor
        ``(B, 2C)``: each channel's mean and log standard deviation (of its observed points).
    """
    p = pulse
    # huge channels are divided by a power of two (exact) so that RevIN's float32 variance cannot
    # overflow; the level and scale features are then put back in raw units (scale 1 = no change)
    scale = row_scale_torch(torch.where(observed, x, torch.zeros((), dtype=x.dtype)))
    xin, (mean, std), spec = p.prepare(x / scale, observed)
    b, ch, _ = xin.shape
    h = p.input_tokens(xin, spec, observed)
    for layer in p.encoder[:upto]:
        h = layer(h)
    mean, log_std = mean * scale, torch.log(std) + torch.log(scale)
    stats = torch.cat([mean.reshape(b, ch), log_std.reshape(b, ch)], dim=1)
    return h, stats


class TokenLens(nn.Module):
    """A learned reduction of the token axis: ``(B, C, P, d) -> (B, C, 2 + R, d)``.

    Output token 0 is a weighted sum of the time tokens, token 1 of the FFT tokens, tokens 2.. of all
    tokens. At initialisation they are the mean of the time tokens, the mean of the FFT tokens and the
    R register tokens themselves; fine-tuning re-weights every token (the "lens").
    """

    def __init__(self, n_time: int, n_fft: int, n_registers: int) -> None:
        super().__init__()
        p = n_time + n_fft + n_registers
        self.weight = nn.Parameter(torch.zeros(2 + n_registers, p))
        with torch.no_grad():
            self.weight[0, :n_time] = 1.0 / n_time
            self.weight[1, n_time : n_time + n_fft] = 1.0 / n_fft
            self.weight[2:, n_time + n_fft :] = torch.eye(n_registers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("kp,bcpd->bckd", self.weight, x)


@register_model("tinypulse_classifier")
class PulseLens(TinyModel):
    """TinyPulse backbone plus the TSLens (or pooling) classification head."""

    config_class = LensConfig
    config: LensConfig
    feat_loc: torch.Tensor
    feat_scale: torch.Tensor

    def __init__(self, config: LensConfig) -> None:
        super().__init__(config)
        pc = config.pulse_config
        c = config.n_channels
        self.pulse = TinyPulse(pc)
        if config.pooling == "lens":
            self.reduce: nn.Module = TokenLens(pc.num_patches, pc.num_fft_patches, pc.num_registers)
            n_feat = c * (2 + pc.num_registers) * pc.d_model
        elif config.pooling == "flat":
            self.reduce = nn.Linear(pc.d_model, config.reduce_dim)
            n_feat = c * pc.num_tokens * config.reduce_dim
        else:
            self.reduce = nn.Identity()
            n_feat = c * pc.d_model
        n_in = n_feat + 2 * c
        # per-feature standardisation, fitted on the training cases before fine-tuning
        self.register_buffer("feat_loc", torch.zeros(n_in))
        self.register_buffer("feat_scale", torch.ones(n_in))
        self.drop = nn.Dropout(config.head_dropout)
        self.out = nn.Linear(n_in, len(config.classes))

    @classmethod
    def from_backbone(cls, pulse: TinyPulse, config: LensConfig) -> PulseLens:
        """A new classifier whose backbone carries ``pulse``'s weights (new channel mixers at identity)."""
        model = cls(config)
        missing, unexpected = model.pulse.load_state_dict(pulse.state_dict(), strict=False)
        if unexpected or any(".channel." not in k for k in missing):
            raise ValueError(
                f"the backbone does not match the classifier's config (missing {missing}, "
                f"unexpected {unexpected})"
            )
        return model

    # ----------------------------------------------------------------------------- the two halves
    def encoder_tokens(
        self, x: torch.Tensor, observed: torch.Tensor, upto: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The frozen, channel-independent part: tokens after the encoder and the level/scale features.

        Parameters
        ----------
        x, observed : torch.Tensor
            ``(B, C, context_length)`` raw values and bool observed mask.
        upto : int, optional
            Stop after this many encoder layers (default: all of them).

        Returns
        -------
        tokens : torch.Tensor
            ``(B, C, P, d)``, what :meth:`TinyPulse.encode` computes before its decoder.
        stats : torch.Tensor
            ``(B, 2C)``: each channel's mean and log standard deviation (of its observed points).
        """
        return pulse_tokens(self.pulse, x, observed, upto)

    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """The pre-trained decoder (with its channel mixers): ``(B, C, P, d)`` -> ``(B, C, P, d)``."""
        for layer in self.pulse.decoder:
            tokens = layer(tokens)
        return tokens

    def features(self, decoded: torch.Tensor) -> torch.Tensor:
        """Decoder tokens to the head's feature vector ``(B, F)`` (before the stats are appended)."""
        if self.config.pooling in ("lens", "flat"):
            return self.reduce(decoded).flatten(1)
        if self.config.pooling == "avg":
            return decoded.mean(dim=2).flatten(1)
        return decoded.amax(dim=2).flatten(1)

    def head_inputs(
        self, tokens: torch.Tensor, stats: torch.Tensor, start: int | None = None
    ) -> torch.Tensor:
        """Encoder tokens and stats -> the head's (unstandardised) input ``(B, F + 2C)``.

        ``start``: the tokens are the output of that many encoder layers (default: all of them); the
        remaining encoder layers run first, then the decoder.
        """
        if start is not None:
            for layer in self.pulse.encoder[start:]:
                tokens = layer(tokens)
        return torch.cat([self.features(self.decode(tokens)), stats], dim=1)

    def head_logits(
        self, tokens: torch.Tensor, stats: torch.Tensor, start: int | None = None
    ) -> torch.Tensor:
        """Encoder tokens and stats -> class logits ``(B, n_classes)`` (see :meth:`head_inputs`)."""
        z = (self.head_inputs(tokens, stats, start) - self.feat_loc) / self.feat_scale
        if self.training or not isinstance(self.out, nn.Linear):
            return self.out(self.drop(z))
        # inference: products summed per case, not a BLAS matmul, whose kernels (few classes, many
        # features) give other last bits by a case's position in the batch; a case's logits must not
        # depend on the cases that come with it (distributed runs match in-memory ones bit for bit)
        return (z[:, None, :] * self.out.weight[None]).sum(-1) + self.out.bias

    def forward(self, x: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """Class logits of ``(B, C, context_length)`` cases (raw values, bool observed mask)."""
        tokens, stats = self.encoder_tokens(x, observed)
        return self.head_logits(tokens, stats)

    def trainable_parameters(self, encoder_layers: int = 0) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
        """(backbone parameters, head parameters) that fine-tuning updates.

        The backbone part is the decoder (with its channel mixers) and the last ``encoder_layers``
        encoder layers.
        """
        top = list(self.pulse.encoder)[len(self.pulse.encoder) - encoder_layers :] if encoder_layers else []
        decoder = [p for layer in top for p in layer.parameters()] + list(self.pulse.decoder.parameters())
        head = [*self.reduce.parameters(), *self.out.parameters()]
        return decoder, head
