"""TinyPulse embeddings: one fixed-size vector per series, for similarity search, clustering and features.

How a series becomes a vector
-----------------------------
1. **Length.** Every series (each channel of it) is resampled to the model's context (512 points):
   shorter series by linear interpolation (``torch.nn.functional.interpolate(mode="linear",
   align_corners=False)``, as the TSPulse retrieval protocol does), longer ones by averaging the
   points that fall in each of the 512 bins (an anti-aliasing mean; ``adaptive_avg_pool1d``). A series
   of exactly 512 points is used as is. The whole series is summarised; nothing is cut off.
2. **Missing values.** NaN marks a missing point. Missing points stay unobserved through the resampling
   (a resampled point is observed when every input point it is computed from is observed; a bin is
   observed when at least one of its points is) and the model sees them through its observed mask, as
   in imputation. A channel with no observed value at all is an error.
3. **Model.** Each channel goes through TinyPulse on its own (the pre-trained model is
   channel-independent); scaling happens inside the model, so raw values are fine (channels beyond
   ``2**40`` in magnitude are first divided by a power of two, see :mod:`tinyts.nn.scaling`).
   ``kind="register"`` (default, the *semantic* embedding, as TSPulse's): the register tokens after
   the register mini-decoder, flattened, ``num_registers * d_model`` = 192 values per channel.
   ``kind="detail"``: the time and FFT tokens of the decoder output, flattened in token order
   ``[time patches | FFT patches]``, ``(context / patch + context / fft_patch) * d_model`` = 2,304 values
   per channel; they keep *where* things happen and are for fine-grained comparison, not for
   shift-robust search. ``kind="pooled"``: the time tokens at every depth (the input tokens and the
   output of each encoder and decoder layer, ``1 + num_layers + decoder_layers`` = 14 levels) pooled
   over time by max, min and the proportion of positive values (MiniRocket's PPV), ``14 * 3 * d_model``
   = 1,008 values per channel, standardised per value with fixed statistics (the same pooled features
   of :data:`REF_SERIES` seeded synthetic series, computed once per model). Pooling over time makes it
   nearly invariant to shifts without shift averaging: the cheap embedding for large collections.
4. **Shift averaging** (register and pooled embeddings). The model's tokens are positional, so a series and a
   copy of it shifted by a few points get different register tokens. With ``shifts=S`` the series is
   circularly rolled by ``round(i * 512 / S)`` points, ``i = 0..S-1``, and the ``S`` embeddings are
   averaged; the result changes little when the series is shifted. This costs ``S`` forward passes.
   The default ``S=16`` is what the retrieval benchmark uses (UCR protocol with shifted queries: family
   P@3 0.43 with one pass, 0.91 with 16 passes on our data folder); ``shifts=1`` is the single pass for
   very large collections (about 16x the throughput). Pooled embeddings are already shift-robust
   across patches; their shifts are spread *within one patch* (``round(i * patch_length / S)``), so
   that patch boundaries fall at several phases: the default ``S=2`` (offsets 0 and half a patch).
5. **Channels.** ``channels="concat"`` (default) concatenates the per-channel vectors in channel order
   (L2 distance is then the sum over channels; every series of a collection must have the same
   channel count); ``channels="mean"`` averages them (one width whatever the channel count, channel
   order ignored).

The output is a ``(n_series, dim)`` float32 array; the same input always gives the same output.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tinyts.data.convert.arrays import Batch, to_batch
from tinyts.models.base import resolve
from tinyts.models.pulse import TinyPulse
from tinyts.nn.scaling import row_scale
from tinyts.options import EmbedChannels, EmbedKind, check_choice, choices

__all__ = ["KINDS", "EmbedConfig", "embed", "embed_batch", "embedding_dim", "to_context"]

KINDS = choices(EmbedKind)
CHANNELS = choices(EmbedChannels)
#: shift passes averaged for register embeddings when ``shifts`` is not given
DEFAULT_SHIFTS = 16
#: shift passes averaged for pooled embeddings when ``shifts`` is not given (offsets within one patch)
DEFAULT_POOLED_SHIFTS = 2
#: seeded synthetic series whose pooled features give the fixed standardisation of ``kind="pooled"``
REF_SERIES, REF_SEED = 256, 20261205
#: rows per forward pass (series x shifts x channels); small batches are the fastest on one core
DEFAULT_BATCH = 64


@dataclass(frozen=True)
class EmbedConfig:
    """How embeddings are computed; stored with a similarity index so that queries match the database.

    Attributes
    ----------
    kind : {"register", "detail", "pooled"}
        Semantic register embedding, positional detail (time + FFT token) embedding, or time tokens
        of every depth pooled over time.
    shifts : int
        Circular shifts averaged (register and pooled; 1 = a single pass).
    channels : {"concat", "mean"}
        How per-channel vectors are combined.
    """

    kind: EmbedKind = "register"
    shifts: int = DEFAULT_SHIFTS
    channels: EmbedChannels = "concat"

    def __post_init__(self) -> None:
        check_choice(self.kind, EmbedKind, "kind")
        check_choice(self.channels, EmbedChannels, "channels")
        s = self.shifts
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1:
            raise ValueError(f"shifts must be an int >= 1, got {s!r}")
        if self.kind == "detail" and s != 1:
            raise ValueError(
                f"detail embeddings are positional (one vector per patch position), so they cannot be "
                f"averaged over shifts; use shifts=1 with kind='detail' (got shifts={s})"
            )

    @classmethod
    def make(
        cls, kind: EmbedKind = "register", shifts: int | None = None, channels: EmbedChannels = "concat"
    ) -> EmbedConfig:
        """The config with ``shifts=None`` resolved: 16 for register embeddings, 1 for detail ones."""
        if shifts is None:
            shifts = {"detail": 1, "pooled": DEFAULT_POOLED_SHIFTS}.get(kind, DEFAULT_SHIFTS)
        return cls(
            kind=kind, shifts=int(shifts) if isinstance(shifts, np.integer) else shifts, channels=channels
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def embedding_dim(
    model: TinyPulse, kind: EmbedKind = "register", n_channels: int = 1, channels: EmbedChannels = "concat"
) -> int:
    """Width of the vectors :func:`embed` returns for ``n_channels``-channel series."""
    c = model.config
    per = {
        "register": c.num_registers * c.d_model,
        "detail": (c.num_patches + c.num_fft_patches) * c.d_model,
        "pooled": _levels(model) * len(POOLS) * c.d_model,
    }[kind]
    return per * (n_channels if channels == "concat" else 1)


#: how ``kind="pooled"`` summarises the time tokens of one depth over time
POOLS = ("max", "min", "ppv")


def _levels(model: TinyPulse) -> int:
    """Depths whose time tokens ``kind="pooled"`` pools: the input tokens and every layer's output."""
    return 1 + len(model.encoder) + len(model.decoder)


# ------------------------------------------------------------------------------------ resampling


def _upsample(values: np.ndarray, observed: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Linear resampling (align_corners=False) of ``(m, n)`` rows to ``length``; ``n <= length``."""
    n = values.shape[1]
    src = np.clip((np.arange(length) + 0.5) * n / length - 0.5, 0.0, n - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    w = (src - lo).astype(np.float32)
    out = values[:, lo] * (1.0 - w) + values[:, hi] * w
    obs = observed[:, lo] & (observed[:, hi] | (w == 0.0))
    return out.astype(np.float32), obs


def _downsample(values: np.ndarray, observed: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the observed points in each of ``length`` bins (``adaptive_avg_pool1d``); ``n > length``."""
    v = torch.from_numpy(np.where(observed, values, 0.0).astype(np.float32))[:, None, :]
    o = torch.from_numpy(observed.astype(np.float32))[:, None, :]
    total = F.adaptive_avg_pool1d(v, length)[:, 0]
    count = F.adaptive_avg_pool1d(o, length)[:, 0]
    obs = count > 0
    out = torch.where(obs, total / count.clamp_min(1e-12), torch.zeros((), dtype=total.dtype))
    return out.numpy(), obs.numpy()


def _fill_missing(values: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Linear interpolation over missing points, so that resampling never mixes in placeholder zeros."""
    if observed.all():
        return values
    from tinyts.nn.interp import linear_fill

    return linear_fill(torch.from_numpy(values), torch.from_numpy(observed)).numpy()


def to_context(batch: Batch, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Resample every series of ``batch`` to ``length`` points (see the module docstring).

    Returns
    -------
    values, observed : np.ndarray
        ``(n_series, channels, length)`` float32 and bool.
    """
    n, c, _ = batch.values.shape
    values = batch.values.numpy()
    observed = batch.observed.numpy()
    lengths = np.asarray(batch.lengths)
    out_v = np.empty((n, c, length), dtype=np.float32)
    out_o = np.empty((n, c, length), dtype=bool)
    for n_time in np.unique(lengths):
        rows = np.flatnonzero(lengths == n_time)
        sl = batch.time_slice(int(rows[0]))
        v = values[rows][:, :, sl].reshape(len(rows) * c, int(n_time))
        o = observed[rows][:, :, sl].reshape(len(rows) * c, int(n_time))
        if n_time != length:
            v = _fill_missing(v, o)
            v, o = (_upsample if n_time < length else _downsample)(v, o, length)
        out_v[rows] = v.reshape(len(rows), c, length)
        out_o[rows] = o.reshape(len(rows), c, length)
    return out_v, out_o


# ------------------------------------------------------------------------------------ the model


def _offsets(shifts: int, length: int) -> list[int]:
    return [round(i * length / shifts) for i in range(shifts)]


def _pool(h: torch.Tensor, n_time: int) -> torch.Tensor:
    """``(B, C, 3d)``: max, min and proportion of positive values of the time tokens over time."""
    t = h[:, :, :n_time]
    return torch.cat([t.amax(2), t.amin(2), (t > 0).to(t.dtype).mean(2)], dim=2)


@torch.inference_mode()
def _vectors(model: TinyPulse, x: torch.Tensor, obs: torch.Tensor, kind: EmbedKind) -> torch.Tensor:
    """One pass: ``(B, C, dim)`` embeddings of ``(B, C, T)`` model inputs (pooled: unstandardised)."""
    xin, _, spec = model.prepare(x, obs)
    c = model.config
    if kind == "pooled":
        h = model.input_tokens(xin, spec, obs)
        levels = [_pool(h, c.num_patches)]
        for layer in [*model.encoder, *model.decoder]:
            h = layer(h)
            levels.append(_pool(h, c.num_patches))
        return torch.cat(levels, dim=2)
    h = model.encode(xin, spec, obs)
    if kind == "register":
        return model.register_features(h)
    return h[:, :, : c.num_patches + c.num_fft_patches].flatten(2)


def _pooled_stats(model: TinyPulse, shifts: int, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of the pooled features of :data:`REF_SERIES` seeded synthetic series (cached).

    The cache lives on the model and is recomputed when any parameter changed in place since (e.g.
    fine-tuning) or for another ``shifts``.
    """
    key = (shifts, tuple(int(p._version) for p in model.parameters()))
    cached = getattr(model, "_tinyts_pooled_stats", None)
    if cached is not None and cached[0] == key:
        return cached[1], cached[2]
    from tinyts.data.synth.corpus import synth_batch

    length = model.config.context_length
    ref = synth_batch(REF_SERIES, length, seed=REF_SEED, mix="default").astype(np.float32)
    group = model.config.channel_mixing or 1  # a channel-mixing model sees the series on every channel
    ref = np.repeat(ref[:, None, :], group, axis=1)
    feats = _raw_batch(model, ref, np.ones(ref.shape, dtype=bool), "pooled", shifts, batch_size)
    feats = feats.reshape(-1, feats.shape[-1])
    loc = feats.mean(axis=0)
    scale = feats.std(axis=0) + 1e-6
    object.__setattr__(model, "_tinyts_pooled_stats", (key, loc, scale))
    return loc, scale


def embed_batch(
    model: TinyPulse, values: np.ndarray, observed: np.ndarray, config: EmbedConfig, batch_size: int
) -> np.ndarray:
    """Embeddings of ``(n, C, context)`` model-ready arrays: ``(n, dim)`` float32.

    Rows go through the model ``batch_size`` at a time (series x channels x shifts per pass).
    """
    n, ch, _ = values.shape
    mixing = model.config.channel_mixing
    if mixing and ch != mixing:
        raise ValueError(f"this model mixes {mixing} channels; got series with {ch} channel(s)")
    per_channel = _raw_batch(model, values, observed, config.kind, config.shifts, batch_size)
    if config.kind == "pooled":
        loc, scale = _pooled_stats(model, config.shifts, batch_size)
        per_channel = (per_channel - loc) / scale
    if config.channels == "mean":
        return np.ascontiguousarray(per_channel.mean(axis=1), dtype=np.float32)
    return np.ascontiguousarray(per_channel.reshape(n, -1), dtype=np.float32)


def _raw_batch(
    model: TinyPulse, values: np.ndarray, observed: np.ndarray, kind: EmbedKind, shifts: int, batch_size: int
) -> np.ndarray:
    """Per-channel vectors ``(n, C, dim)`` of ``(n, C, context)`` arrays, averaged over the shifts."""
    n, ch, length = values.shape
    group = ch if model.config.channel_mixing else 1  # rows that must stay together in one forward
    x = torch.from_numpy(np.ascontiguousarray(values)).reshape(-1, group, length)
    o = torch.from_numpy(np.ascontiguousarray(observed)).reshape(-1, group, length)
    span = model.config.patch_length if kind == "pooled" else length
    offsets = _offsets(shifts, span)
    rows_per_pass = max(1, batch_size // (len(offsets) * group))
    chunks: list[torch.Tensor] = []
    for lo in range(0, x.shape[0], rows_per_pass):
        xb, ob = x[lo : lo + rows_per_pass], o[lo : lo + rows_per_pass]
        if len(offsets) == 1:
            chunks.append(_vectors(model, xb, ob, kind))
            continue
        xs = torch.cat([torch.roll(xb, s, dims=-1) for s in offsets])
        os_ = torch.cat([torch.roll(ob, s, dims=-1) for s in offsets])
        vec = _vectors(model, xs, os_, kind)
        chunks.append(vec.reshape(len(offsets), xb.shape[0], group, -1).mean(dim=0))
    return torch.cat(chunks).reshape(n, ch, -1).numpy()


def _check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    return int(batch_size)


def _chunks(n: int, size: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, n, size):
        yield lo, min(n, lo + size)


def embed(
    model: TinyPulse | str | os.PathLike[str],
    x: Any,
    *,
    kind: EmbedKind = "register",
    shifts: int | None = None,
    channels: EmbedChannels = "concat",
    batch_size: int = DEFAULT_BATCH,
    progress: bool = False,
) -> np.ndarray:
    """One embedding vector per series.

    Parameters
    ----------
    model : TinyPulse, str or os.PathLike
        A pre-trained model (``tinyts.load("tinypulse")``).
    x : array-like, tensor, list of arrays
        ``(time,)`` (one series), ``(channels, time)`` (one multichannel series), ``(batch, channels,
        time)``, or a list of ``(time,)`` / ``(channels, time)`` series of any lengths (at least 2
        points each, same channel count). NaN = missing. Any length is resampled to the model's context
        (see the module docstring).
    kind : {"register", "detail", "pooled"}
        ``"register"``: the semantic embedding (``num_registers * d_model`` = 192 per channel).
        ``"detail"``: the decoder's time and FFT tokens (2,304 per channel), positional.
        ``"pooled"``: time tokens of every depth pooled over time (1,008 per channel), standardised;
        shift-robust at 2 passes (see the module docstring).
    shifts : int, optional
        Circular shifts whose embeddings are averaged (register: default 16, spread over the context;
        1 = one pass, ~16x faster, less robust to shifted copies; pooled: default 2, spread within one
        patch). Detail embeddings need ``shifts=1`` (their default).
    channels : {"concat", "mean"}
        Per-channel vectors concatenated in channel order (``(n, C * dim)``) or averaged (``(n, dim)``).
    batch_size : int
        Model rows per forward pass (series x channels x shifts).
    progress : bool
        Show a progress bar (tqdm).

    Returns
    -------
    np.ndarray
        ``(n_series, dim)`` float32; ``n_series`` is 1 for 1-D and 2-D input.

    Raises
    ------
    ValueError
        Empty input, wrong ndim, inf, a channel with no observed value, series shorter than 2 points,
        an unknown ``kind`` / ``channels``, ``shifts < 1`` or ``shifts > 1`` with ``kind="detail"``.
    TypeError
        Non-numeric input.
    """
    model = resolve(model, TinyPulse)
    config = EmbedConfig.make(kind, shifts, channels)
    batch_size = _check_batch_size(batch_size)
    batch = to_batch(x, align="left", min_length=2, name="x")
    length = model.config.context_length
    n = batch.n_series
    # series per chunk: bounded memory for big inputs (values are resampled chunk by chunk)
    per_chunk = max(1, 65536 // (batch.n_channels * config.shifts))
    out = np.empty((n, embedding_dim(model, config.kind, batch.n_channels, config.channels)), np.float32)
    bar = _progress(n, progress)
    for lo, hi in _chunks(n, per_chunk):
        sub = _slice(batch, lo, hi)
        values, observed = to_context(sub, length)
        scale = row_scale(values)
        if (scale != 1.0).any():  # huge series: the model's float32 statistics would overflow
            values = (values / scale).astype(np.float32)
        out[lo:hi] = embed_batch(model, values, observed, config, batch_size)
        bar.update(hi - lo)
    bar.close()
    return out


def _slice(batch: Batch, lo: int, hi: int) -> Batch:
    """Series ``lo:hi`` of a batch (views; only the fields :func:`to_context` reads)."""
    if lo == 0 and hi == batch.n_series:
        return batch
    return Batch(
        values=batch.values[lo:hi],
        observed=batch.observed[lo:hi],
        lengths=batch.lengths[lo:hi],
        kind=batch.kind,
        align=batch.align,
    )


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, show: bool) -> Any:
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="series", desc="embedding")
