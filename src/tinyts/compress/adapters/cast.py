"""TinyCast through the adapter interface: dense quantile loss, forecasts, hidden states, pruning.

Loss (``per_sample_loss``): TinyCast's own pre-training objective on the window ``[x, y]``: the pinball
loss of the fine head on the next patch at every patch position and of the coarse head on every coarse
block after it (short blocks, ending within ``short_horizon`` steps, and long blocks averaged on their
own), each in the position's DART frame; targets beyond the window are not scored. One value per
window, weights ``1 / 0.5 / 0.5`` as in pre-training.

Prunable structures per block (``blocks.i``): the residual channels read by ``qkv`` and ``mlp.up``
(``in``), written by ``out`` and ``mlp.down`` (``out``); the heads; query/key units (rotary pairs in
time blocks, single dimensions in variate blocks; the gate sits on the query, so removing the unit from
query and key is exact); value/output dimensions; MLP hidden units (``up`` outputs with ``down``
inputs). Embedding and heads of the model are not pruned.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tinyts.compress.adapters.base import ForecastAdapter, check_windows
from tinyts.compress.heads import plan_heads
from tinyts.compress.session import GateSession
from tinyts.models.cast import TinyCast
from tinyts.nn.causal import TimeBlock
from tinyts.nn.dartnorm import PrefixStats, to_frame
from tinyts.nn.prunable import PrunableTimeBlock, make_prunable
from tinyts.nn.sliced import linear_record, make_linear
from tinyts.nn.structure import STRUCTURE_VERSION, set_module
from tinyts.options import ForecastStrategy
from tinyts.train.cast_objective import pinball

__all__ = ["CastAdapter", "cast_dense_loss"]


def cast_dense_loss(
    model: TinyCast,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    min_points: int = 16,
    weights: tuple[float, float, float] = (1.0, 0.5, 0.5),
    short_horizon: int = 96,
    target_clip: float = 50.0,
) -> torch.Tensor:
    """TinyCast's dense quantile loss, one value per window ``(batch,)`` (see the module docstring)."""
    c = model.config
    b, t = x.shape
    p = c.patch_length
    n = t // p
    reach = max(p, c.coarse_horizon if model.coarse_head is not None else 0)
    window = torch.cat([x, y], dim=-1)
    need = t + reach
    if window.shape[1] < need:
        window = nn.functional.pad(window, (0, need - window.shape[1]), value=float("nan"))
    window = window[:, :need]
    out = model(x[:, None, :], torch.ones(b, 1, t, dtype=torch.bool, device=x.device))
    stats = PrefixStats(out["mean"], out["std"], out["count"])
    levels = torch.tensor(c.quantiles, dtype=x.dtype, device=x.device)
    pos_ok = (out["count"] >= min_points).to(x.dtype)  # (B, 1, N)

    fut = window[:, None, p : t + p].reshape(b, 1, n, p)
    ok = (~torch.isnan(fut)).to(x.dtype) * pos_ok[..., None]
    tgt = to_frame(torch.nan_to_num(fut), stats, 1).clamp(-target_clip, target_clip)
    fine = pinball(out["fine"], tgt[..., None], levels).mean(-1)
    total = weights[0] * (fine * ok).sum((1, 2, 3)) / ok.sum((1, 2, 3)).clamp_min(1.0)
    if "coarse" in out:
        g, blk = c.num_blocks, c.coarse_block
        win = window[:, None, p:].unfold(-1, c.coarse_horizon, p)[:, :, :n]  # (B, 1, N, CH)
        okc = (~torch.isnan(win)).to(x.dtype).reshape(b, 1, n, g, blk)
        tgt_c = to_frame(torch.nan_to_num(win), stats, 1).clamp(-target_clip, target_clip)
        tgt_c = tgt_c.reshape(b, 1, n, g, blk, 1)
        per_point = pinball(out["coarse"][:, :, :, :, None, :], tgt_c, levels).mean(-1)  # (B,1,N,G,blk)
        per_block = (per_point * okc).sum(-1) / okc.sum(-1).clamp_min(1.0)
        block_ok = (okc.sum(-1) > 0).to(x.dtype) * pos_ok[..., None]  # (B, 1, N, G)
        short = (torch.arange(1, g + 1, device=x.device) * blk) <= short_horizon
        for wgt, sel in ((weights[1], short), (weights[2], ~short)):
            if bool(sel.any()) and wgt:
                pb, ok_b = per_block[..., sel], block_ok[..., sel]
                total = total + wgt * (pb * ok_b).sum((1, 2, 3)) / ok_b.sum((1, 2, 3)).clamp_min(1.0)
    return total


class CastAdapter(ForecastAdapter):
    """Adapter of :class:`~tinyts.models.cast.TinyCast`.

    Parameters
    ----------
    model : TinyCast
    symmetry : bool
        Sign-flip symmetry in :meth:`predict` (twice the compute; the forecast API's default is on).
    strategy : str
        Horizon rule of :meth:`predict` (see :func:`tinyts.tasks.forecast.api.forecast`).
    point : {"median", "mean"}
        Point forecast: the 0.5 quantile or the average of the levels.
    """

    name = "tinycast"
    model: TinyCast

    def __init__(
        self,
        model: TinyCast,
        *,
        symmetry: bool = True,
        strategy: ForecastStrategy = "auto",
        point: str = "median",
    ) -> None:
        super().__init__(model)
        if point not in ("median", "mean"):
            raise ValueError(f"point must be 'median' or 'mean', got {point!r}")
        self.symmetry, self.strategy, self.point = symmetry, strategy, point
        self.pruned = model.config.pruning is not None if hasattr(model.config, "pruning") else False

    @property
    def context_length(self) -> int:
        return int(self.model.config.context_length)

    # ------------------------------------------------------------------ model calls
    def per_sample_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        check_windows(x, y, self.context_length)
        return cast_dense_loss(self.model, x, y)

    @torch.no_grad()
    def predict(self, x: torch.Tensor, horizon: int) -> torch.Tensor:
        from tinyts.tasks.forecast.engine import Options, predict_sifi

        self.check_horizon(horizon)
        check_windows(x)
        was = self.model.training
        self.model.eval()
        c = self.model.config
        try:
            if self.model.coarse_head is not None and c.coarse_block == 1 and c.coarse_horizon >= horizon:
                return self.forecast_train(x, horizon)[0]  # a direct (student) TinyCast: one call
            v = x[:, None, :]
            o = torch.ones_like(v, dtype=torch.bool)
            opts = Options(self.strategy, 96, False, 4, 0.5, self.symmetry)
            long_rows = torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
            q = predict_sifi(self.model, v, o, long_rows, horizon, opts)[:, 0]  # (B, H, Q)
        finally:
            self.model.train(was)
        if self.point == "mean":
            return q.mean(-1)
        return q[..., c.median_index]

    def _capture(self) -> tuple[list[torch.Tensor], Any]:
        store: list[torch.Tensor] = []

        def hook(_m: nn.Module, _i: Any, out: torch.Tensor) -> None:
            store.append(out)

        return store, self.model.norm.register_forward_hook(hook)

    def forecast_train(self, x: torch.Tensor, horizon: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Direct point forecast from one call: the coarse head (block 1: every step) or the fine
        patch followed by the coarse curve; tokens = the final states of the patches."""
        self.check_horizon(horizon)
        check_windows(x, None, None)
        c = self.model.config
        if self.model.coarse_head is None or c.coarse_horizon < horizon:
            raise ValueError(
                f"a TinyCast student needs a coarse head reaching the horizon ({horizon}); this one "
                f"reaches {c.coarse_horizon if self.model.coarse_head is not None else 0} steps"
            )
        store, handle = self._capture()
        try:
            out = self.model(x[:, None, :], torch.ones(x.shape[0], 1, x.shape[1], dtype=torch.bool))
        finally:
            handle.remove()
        pick = (lambda q: q.mean(-1)) if self.point == "mean" else (lambda q: q[..., c.median_index])
        coarse = self.model.denormalize(out["coarse"], out)[:, 0, -1]  # (B, G, Q)
        if c.coarse_block == 1:
            pred = pick(coarse)[:, :horizon]
        else:
            fine = pick(self.model.denormalize(out["fine"], out)[:, 0, -1])  # (B, P)
            curve = _coarse_curve(pick(coarse), c.coarse_block, horizon)
            pred = torch.cat([fine, curve[:, fine.shape[1] :]], dim=1)[:, :horizon]
        return pred, store[0][:, 0]

    @torch.no_grad()
    def hidden_states(self, x: torch.Tensor) -> torch.Tensor:
        """Final (normed) patch states ``(batch, patches, d_model)``."""
        check_windows(x)
        store, handle = self._capture()
        try:
            self.model(x[:, None, :], torch.ones(x.shape[0], 1, x.shape[1], dtype=torch.bool), last_only=True)
        finally:
            handle.remove()
        return store[0][:, 0]

    # ------------------------------------------------------------------ pruning
    def build_gates(self, session: GateSession) -> None:
        if self.pruned or getattr(self.model.config, "pruning", None):
            raise ValueError("this TinyCast is already pruned; prune the original model instead")
        c = self.model.config
        d, nh = c.d_model, c.num_heads
        hd = d // nh
        for i, blk in enumerate(self.model.blocks):
            make_prunable(blk, d)
            p = f"blocks.{i}"
            qkv, out = session.linear(f"{p}.qkv"), session.linear(f"{p}.out")
            up, down = session.linear(f"{p}.mlp.up"), session.linear(f"{p}.mlp.down")
            hidden = up.out_features
            ar = torch.arange
            session.group(f"{p}.qkv.in", "in", d, [(qkv, "in", ar(d), ar(d))], params_per_unit=3 * d)
            per = 2 if isinstance(blk, TimeBlock) else 1  # rotary pairs in time blocks
            session.group(
                f"{p}.attn.qk",
                "qk",
                d // per,
                [(qkv, "out", ar(d), ar(d) // per)],
                params_per_unit=2 * per * (d + 1),
            )
            session.group(f"{p}.attn.vo", "vo", d, [(out, "in", ar(d), ar(d))], params_per_unit=2 * d + 1)
            session.group(
                f"{p}.attn.heads",
                "heads",
                nh,
                [(out, "in", ar(d), ar(d) // hd)],
                params_per_unit=hd * (4 * d + 3),
            )
            session.group(f"{p}.out.out", "out", d, [(out, "out", ar(d), ar(d))], params_per_unit=d + 1)
            session.group(f"{p}.mlp.up.in", "in", d, [(up, "in", ar(d), ar(d))], params_per_unit=hidden)
            session.group(
                f"{p}.mlp.hidden",
                "hidden",
                hidden,
                [(down, "in", ar(hidden), ar(hidden))],
                params_per_unit=2 * d + 1,
            )
            session.group(
                f"{p}.mlp.down.out", "out", d, [(down, "out", ar(d), ar(d))], params_per_unit=hidden + 1
            )

    def surgery(self, session: GateSession) -> None:
        c = self.model.config
        d, nh = c.d_model, c.num_heads
        hd = d // nh
        attention: dict[str, dict[str, int]] = {}
        linears: dict[str, Any] = {}
        for i, blk in enumerate(self.model.blocks):
            p = f"blocks.{i}"
            time = isinstance(blk, TimeBlock)
            per = 2 if time else 1
            alive = {name: session.get(f"{p}.{name}").alive for name in _GROUPS}
            plan = plan_heads(
                alive["attn.heads"], alive["attn.qk"].reshape(nh, -1), alive["attn.vo"].reshape(nh, hd)
            )
            q_rows = plan.qk_index(hd // per, per)
            k_rows = torch.where(q_rows >= 0, q_rows + d, q_rows)
            v_rows = plan.v_index(hd, 2 * d)
            qkv, out = session.linears[f"{p}.qkv"], session.linears[f"{p}.out"]
            up, down = session.linears[f"{p}.mlp.up"], session.linears[f"{p}.mlp.down"]
            keep = {name: session.get(f"{p}.{name}").kept() for name in _GROUPS}
            new = {
                "qkv": make_linear(
                    qkv.weight, qkv.bias, rows=torch.cat([q_rows, k_rows, v_rows]), in_keep=keep["qkv.in"]
                ),
                "out": make_linear(out.weight, out.bias, cols=plan.v_index(hd), out_keep=keep["out.out"]),
                "mlp.up": make_linear(up.weight, up.bias, rows=keep["mlp.hidden"], in_keep=keep["mlp.up.in"]),
                "mlp.down": make_linear(
                    down.weight, down.bias, cols=keep["mlp.hidden"], out_keep=keep["mlp.down.out"]
                ),
            }
            for name, mod in new.items():
                set_module(self.model, f"{p}.{name}", mod)
                session.linears.pop(f"{p}.{name}")
                linears[f"{p}.{name}"] = linear_record(mod)
            qk_width = plan.qk_slots * per
            make_prunable(blk, d, len(plan.heads), qk_width, plan.v_slots)
            if isinstance(blk, PrunableTimeBlock):
                blk.rope_index = plan.rope_index()
            attention[p] = {"heads": len(plan.heads), "qk_width": qk_width, "v_width": plan.v_slots}
        self.model.config.pruning = {"version": STRUCTURE_VERSION, "linears": linears, "attention": attention}
        self.pruned = True

    def structure(self) -> dict[str, Any] | None:
        return getattr(self.model.config, "pruning", None)

    def save(self, path: str | os.PathLike[str]) -> Path:
        return self.model.save_pretrained(path)


_GROUPS = (
    "qkv.in",
    "attn.qk",
    "attn.vo",
    "attn.heads",
    "out.out",
    "mlp.up.in",
    "mlp.hidden",
    "mlp.down.out",
)


def _coarse_curve(values: torch.Tensor, block: int, horizon: int) -> torch.Tensor:
    """Block values ``(B, G)`` at their centres, linearly interpolated to leads ``0..horizon-1``."""
    g = values.shape[-1]
    pos = (torch.arange(horizon, dtype=values.dtype, device=values.device) - (block - 1) / 2) / block
    g0 = pos.floor().clamp(0, g - 1).long()
    g1 = (g0 + 1).clamp(max=g - 1)
    frac = (pos - g0).clamp(0.0, 1.0)
    return values[..., g0] * (1 - frac) + values[..., g1] * frac
