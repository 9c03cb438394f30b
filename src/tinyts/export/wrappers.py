"""Export wrappers: TinyPulse and TinyCast as ``(values, observed) -> named tensors`` modules.

The wrappers compute exactly what the models compute, from the models' own layers, with two changes
that make the graph traceable by :func:`torch.export.export` (and so by the ONNX exporter):

- TinyPulse fills hidden points by linear interpolation (:func:`tinyts.nn.interp.linear_fill`),
  which finds the previous / next observed point with ``cummax`` / ``cummin``; ONNX has no such
  operators, so :func:`scan_linear_fill` computes the same indices with a log-step (Hillis-Steele)
  prefix scan of ``max`` / ``min`` (``log2(T)`` elementwise steps, integer-exact: it returns the same
  tensor bit for bit, a tested equivalence).
- TinyCast's backbone chooses between an unmasked and a masked attention path with a data-dependent
  ``bool(mask.all())``; the wrapper always takes the masked path, which gives the same result when
  every key is allowed (the mask is then the plain causal one).

``torch.fft.rfft`` / ``irfft`` stay as they are: the dynamo exporter maps them to the ONNX ``DFT``
operator. :func:`reference_outputs` computes the wrapper's outputs through the models' own
``forward`` (and the forecasting engine), the reference of the parity checks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tinyts.models.base import TinyModel
from tinyts.models.cast import TinyCast
from tinyts.models.pulse import TinyPulse
from tinyts.nn.causal import VariateBlock
from tinyts.nn.dartnorm import PrefixStats, from_frame
from tinyts.nn.spectral import fft_series
from tinyts.options import ForecastStrategy

#: output names of each exported model, in graph order
PULSE_OUTPUTS = ("recon", "recon_fft", "forecast", "embedding", "mean", "std")
CAST_OUTPUTS = ("quantiles", "mean", "coarse")


def _scan(x: torch.Tensor, op: str, pad: int) -> torch.Tensor:
    """Inclusive prefix (``op="max"``) or suffix (``op="min"``) scan over the last axis in log2(T) steps."""
    t = x.shape[-1]
    k = 1
    while k < t:
        if op == "max":  # x[i] = max(x[i], x[i - k]); positions before 0 hold the identity `pad`
            x = torch.maximum(x, F.pad(x[..., :-k], (k, 0), value=pad))
        else:  # x[i] = min(x[i], x[i + k]); positions after T - 1 hold `pad`
            x = torch.minimum(x, F.pad(x[..., k:], (0, k), value=pad))
        k *= 2
    return x


def scan_linear_fill(x: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    """:func:`tinyts.nn.interp.linear_fill` without ``cummax`` / ``cummin`` (exportable to ONNX).

    Same contract and the same result: unobserved points of ``x`` ``(..., T)`` are linearly
    interpolated between observed neighbours, extended as constants at the ends, zeros in rows
    without any observed point; observed points are returned unchanged.
    """
    t = x.shape[-1]
    pos = torch.arange(t, device=x.device).expand_as(x)
    prev = _scan(torch.where(observed, pos, torch.full_like(pos, -1)), "max", -1)
    nxt = _scan(torch.where(observed, pos, torch.full_like(pos, t)), "min", t)
    has_prev, has_next = prev >= 0, nxt < t
    zero = torch.zeros((), dtype=x.dtype, device=x.device)
    xv = torch.where(observed, x, zero)
    x_prev = xv.gather(-1, prev.clamp(0, t - 1))
    x_next = xv.gather(-1, nxt.clamp(0, t - 1))
    span = (nxt - prev).clamp_min(1).to(x.dtype)
    w = ((pos - prev).to(x.dtype) / span).clamp(0.0, 1.0)
    inner = x_prev + w * (x_next - x_prev)
    filled = torch.where(has_prev & has_next, inner, torch.where(has_prev, x_prev, x_next))
    filled = torch.where(has_prev | has_next, filled, zero)
    return torch.where(observed, x, filled)


def _as_mask(observed: torch.Tensor) -> torch.Tensor:
    return observed if observed.dtype == torch.bool else observed != 0


class PulseExport(nn.Module):
    """TinyPulse for export: ``(values, observed)`` -> :data:`PULSE_OUTPUTS`.

    ``recon``, ``recon_fft`` ``(B, C, T)`` and ``forecast`` ``(B, C, forecast_length)`` are in raw
    units (de-normalised, as :meth:`TinyPulse.denormalize` gives them); ``embedding`` ``(B, C, R*d)``
    is the semantic register embedding; ``mean`` and ``std`` ``(B, C, 1)`` are the instance-norm
    statistics of the observed points.
    """

    def __init__(self, model: TinyPulse) -> None:
        super().__init__()
        self.model = model

    def forward(self, values: torch.Tensor, observed: torch.Tensor) -> tuple[torch.Tensor, ...]:
        m, c = self.model, self.model.config
        obs = _as_mask(observed)
        # TinyPulse.prepare, with the exportable linear fill
        x = torch.where(obs, values, torch.zeros((), dtype=values.dtype))
        xn, (mean, std) = m.revin(x, obs)
        fill = scan_linear_fill(xn, obs) if m.mask_token is None else m.mask_token.repeat(c.num_patches)
        xin = torch.where(obs, xn, fill)
        spec = fft_series(xin)
        out = m.heads(xin, spec, obs)
        stats = (mean, std)
        raw = [m.revin.inverse(out[k], stats) for k in ("recon", "recon_fft", "forecast")]
        return (*raw, out["embedding"], mean, std)


def cast_horizon(model: TinyCast) -> int:
    """The horizon one TinyCast call covers: ``coarse_horizon`` (or one patch without a coarse head)."""
    c = model.config
    return c.coarse_horizon if model.coarse_head is not None else c.patch_length


class CastExport(nn.Module):
    """TinyCast for export: ``(values, observed)`` -> ``quantiles``, ``mean`` [, ``coarse``].

    One model call at the last position (with sign-flip symmetry: two), read as the forecasting
    engine's ``strategy="coarse"``: ``quantiles`` ``(B, C, H, Q)`` in raw units over the trained
    horizon ``H`` = :func:`cast_horizon` (the first patch from the fine head, the rest from the coarse
    block quantiles interpolated between block centres, with the seam correction), sorted along the
    quantile axis; ``mean`` ``(B, C, H)`` is their average over the levels; ``coarse`` ``(B, C, G, Q)``
    the raw block quantiles (only with a coarse head).
    """

    def __init__(self, model: TinyCast, symmetry: bool = True) -> None:
        super().__init__()
        self.model = model
        self.symmetry = symmetry

    def _heads(self, v: torch.Tensor, o: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """TinyCast.forward(last_only=True) + denormalize, always on the masked attention path."""
        m, c = self.model, self.model.config
        stats = m.stats(v, o)
        tokens = m.embed(m.features(v, o, stats))
        b, ch, n, d = tokens.shape
        time_ok = o.reshape(b, ch, n, c.patch_length).any(-1).reshape(-1, n)
        var_ok = (stats.n_obs > 0).permute(0, 2, 1).reshape(-1, ch)
        h = tokens
        for blk in m.blocks:
            if isinstance(blk, VariateBlock):
                hv = h.permute(0, 2, 1, 3).reshape(-1, ch, d)
                h = blk(hv, var_ok).reshape(b, n, ch, d).permute(0, 2, 1, 3)
            else:
                h = blk(h.reshape(-1, n, d), time_ok).reshape(b, ch, n, d)
        h = m.norm(h[:, :, -1:])
        last = PrefixStats(*(s[..., -1:] for s in stats))
        nq = len(c.quantiles)
        fine = from_frame(m.fine_head(h).reshape(b, ch, 1, c.patch_length, nq), last, 2)[:, :, 0]
        coarse = None
        if m.coarse_head is not None:
            coarse = from_frame(m.coarse_head(h).reshape(b, ch, 1, c.num_blocks, nq), last, 2)[:, :, 0]
        return fine, coarse

    def forward(self, values: torch.Tensor, observed: torch.Tensor) -> tuple[torch.Tensor, ...]:
        c = self.model.config
        obs = _as_mask(observed)
        v, o = values, obs
        if self.symmetry:
            v, o = torch.cat([values, -values]), torch.cat([obs, obs])
        fine, coarse = self._heads(v, o)
        if self.symmetry:  # average q_tau(x) with -q_(1-tau)(-x), as the forecasting engine does
            n = values.shape[0]
            fine = 0.5 * (fine[:n] - fine[n:].flip(-1))
            coarse = None if coarse is None else 0.5 * (coarse[:n] - coarse[n:].flip(-1))
        fine = fine.sort(dim=-1).values
        if coarse is None:
            return fine, fine.mean(-1)
        coarse = coarse.sort(dim=-1).values
        horizon, p, block = cast_horizon(self.model), c.patch_length, c.coarse_block
        # engine.predict_quantiles with strategy="coarse": fine patch, then the coarse curve
        g = coarse.shape[2]
        pos = (torch.arange(horizon, dtype=coarse.dtype) - (block - 1) / 2) / block
        g0 = pos.floor().clamp(0, g - 1).long()
        g1 = (g0 + 1).clamp(max=g - 1)
        frac = (pos - g0).clamp(0.0, 1.0)[:, None]
        far = coarse[:, :, g0] * (1 - frac) + coarse[:, :, g1] * frac
        near = min(p, horizon)
        seam = fine[:, :, near - 1] - far[:, :, near - 1]
        lead = torch.arange(1, horizon - near + 1, dtype=far.dtype)
        decay = (1.0 - lead / block).clamp_min(0.0)[:, None]
        tail = far[:, :, near:] + seam[:, :, None] * decay
        quant = torch.cat([fine[:, :, :near], tail], dim=2).sort(dim=-1).values
        return quant, quant.mean(-1), coarse


def export_wrapper(model: TinyModel, *, symmetry: bool = True) -> tuple[nn.Module, tuple[str, ...]]:
    """The export wrapper of a model and its output names; ``ValueError`` for unsupported models."""
    if isinstance(model, TinyPulse):
        return PulseExport(model).eval(), PULSE_OUTPUTS
    if isinstance(model, TinyCast):
        names = CAST_OUTPUTS if model.coarse_head is not None else CAST_OUTPUTS[:2]
        return CastExport(model, symmetry).eval(), names
    raise ValueError(
        f"ONNX export supports TinyPulse and TinyCast models, got a {type(model).__name__} "
        f"({model.model_type!r})"
    )


@torch.no_grad()
def reference_outputs(
    model: TinyModel, values: torch.Tensor, observed: torch.Tensor, *, symmetry: bool = True
) -> dict[str, torch.Tensor]:
    """What the exported graph should return, computed through the model's own ``forward``.

    TinyPulse: ``model(values, observed)`` and :meth:`TinyPulse.denormalize`. TinyCast: the
    forecasting engine (:func:`tinyts.tasks.forecast.engine.predict_quantiles`, ``strategy="coarse"``,
    or one ``"rollout"`` step without a coarse head) for the horizon :func:`cast_horizon`.
    """
    obs = _as_mask(observed)
    if isinstance(model, TinyPulse):
        out = model(values, obs)
        raw = {k: model.denormalize(out[k], out) for k in ("recon", "recon_fft", "forecast")}
        return {**raw, "embedding": out["embedding"], "mean": out["mean"], "std": out["std"]}
    if isinstance(model, TinyCast):
        from tinyts.tasks.forecast.engine import Options, predict_quantiles, quantile_heads

        horizon = cast_horizon(model)
        strategy: ForecastStrategy = "coarse" if model.coarse_head is not None else "rollout"
        opts = Options(strategy, model.config.patch_length, False, 1, 0.0, symmetry)
        quant = predict_quantiles(model, values, obs, horizon, opts)
        res = {"quantiles": quant, "mean": quant.mean(-1)}
        if model.coarse_head is not None:
            coarse = quantile_heads(model, values, obs, symmetry)[1]
            assert coarse is not None
            res["coarse"] = coarse
        return res
    raise ValueError(f"no ONNX export reference for a {type(model).__name__}")
