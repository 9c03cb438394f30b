"""TinyCast and DART-Norm: shapes, sizes, checkpoints, and causality (no leakage across time)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tinyts.models import load
from tinyts.models.cast import CastConfig, TinyCast
from tinyts.nn.causal import VariateBlock
from tinyts.nn.dartnorm import dart_stats, from_frame, normalize_patches, to_frame
from tinyts.testing import TINY_CAST
from tinyts.train.recipes import load_recipe

SMALL = CastConfig(**{**TINY_CAST, "num_layers": 3})


def _model(seed: int = 0, **kw: object) -> TinyCast:
    torch.manual_seed(seed)
    cfg = CastConfig(**{**SMALL.__dict__, **kw})  # type: ignore[arg-type]
    return TinyCast(cfg).eval()


def _series(b: int, c: int, t: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    base = torch.sin(torch.arange(t) / 3.0) * 5 + 20
    return base + torch.randn(b, c, t, generator=g)


# ----------------------------------------------------------------------------- DART-Norm


def test_dart_stats_match_a_direct_computation_with_missing_values() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 2, 48)) * 3 + 1e4  # a large level: the shifted sums must stay accurate
    obs = rng.random(x.shape) > 0.3
    obs[0, 0, :20] = False  # an unobserved prefix: the first two positions have no data
    st = dart_stats(torch.tensor(x, dtype=torch.float32), torch.tensor(obs), 8)
    for b in range(3):
        for c in range(2):
            for k in range(6):
                sel = x[b, c, : (k + 1) * 8][obs[b, c, : (k + 1) * 8]]
                if sel.size == 0:
                    assert st.mean[b, c, k] == 0 and st.std[b, c, k] == 1 and st.n_obs[b, c, k] == 0
                    continue
                assert st.n_obs[b, c, k] == sel.size
                np.testing.assert_allclose(float(st.mean[b, c, k]), sel.mean(), rtol=1e-6)
                expect = max(sel.std(), 1e-4 * np.abs(sel).mean(), 1e-5)
                np.testing.assert_allclose(float(st.std[b, c, k]), expect, rtol=2e-3)


def test_dart_floor_makes_constant_prefixes_safe() -> None:
    x = torch.cat([torch.full((1, 1, 16), 7.0), torch.randn(1, 1, 16)], -1)
    st = dart_stats(x, torch.ones_like(x, dtype=torch.bool), 8)
    assert torch.allclose(st.std[..., :2], torch.full((1, 1, 2), 7e-4))
    z = normalize_patches(x, torch.ones_like(x, dtype=torch.bool), st, 8, clip=50.0)
    assert torch.isfinite(z).all() and z.abs().max() <= 50.0
    zeros = torch.zeros(1, 1, 16)
    assert torch.all(dart_stats(zeros, torch.ones_like(zeros, dtype=torch.bool), 8).std == 1e-5)


def test_dart_stats_are_causal() -> None:
    x = _series(2, 3, 64)
    obs = torch.rand(x.shape, generator=torch.Generator().manual_seed(1)) > 0.2
    for k in range(7):
        y, o = x.clone(), obs.clone()
        y[..., (k + 1) * 8 :] = torch.randn_like(y[..., (k + 1) * 8 :]) * 100 + 1e3
        o[..., (k + 1) * 8 :] = ~o[..., (k + 1) * 8 :]
        a, b = dart_stats(x, obs, 8), dart_stats(y, o, 8)
        for u, v in zip(a, b, strict=True):
            assert torch.equal(u[..., : k + 1], v[..., : k + 1])
            assert not torch.equal(u[..., k + 1 :], v[..., k + 1 :])


def test_instance_mode_is_not_causal_and_round_trips() -> None:
    x = _series(1, 1, 32)
    obs = torch.ones_like(x, dtype=torch.bool)
    y = x.clone()
    y[..., 24:] += 50.0
    a, b = dart_stats(x, obs, 8, causal=False), dart_stats(y, obs, 8, causal=False)
    assert not torch.equal(a.mean[..., 0], b.mean[..., 0])  # the future scale leaks into position 0
    vals = torch.randn(1, 1, 4, 5)
    assert torch.allclose(from_frame(to_frame(vals, a, 1), a, 1), vals, atol=1e-5)


# ----------------------------------------------------------------------------- model


def test_forward_shapes() -> None:
    m = _model()
    x = _series(2, 3, 64)
    out = m(x, torch.ones_like(x, dtype=torch.bool))
    assert out["fine"].shape == (2, 3, 8, 8, 9)
    assert out["coarse"].shape == (2, 3, 8, 4, 9)
    assert out["mean"].shape == out["std"].shape == out["count"].shape == (2, 3, 8)
    last = m(x, torch.ones_like(x, dtype=torch.bool), last_only=True)
    assert last["fine"].shape == (2, 3, 1, 8, 9) and last["coarse"].shape == (2, 3, 1, 4, 9)
    assert torch.allclose(last["fine"][:, :, 0], out["fine"][:, :, -1], atol=1e-6)
    raw = m.denormalize(out["fine"], out)
    assert raw.shape == out["fine"].shape
    shorter = m(x[..., :32], torch.ones(2, 3, 32, dtype=torch.bool))  # a shorter multiple of the patch
    assert shorter["fine"].shape == (2, 3, 4, 8, 9)
    assert "coarse" not in _model(coarse_horizon=0)(x, torch.ones_like(x, dtype=torch.bool))


def test_forward_rejects_bad_shapes() -> None:
    m = _model()
    with pytest.raises(ValueError, match="multiple of 8"):
        m(torch.zeros(1, 1, 60), torch.ones(1, 1, 60, dtype=torch.bool))
    with pytest.raises(ValueError, match="at most 64"):
        m(torch.zeros(1, 1, 72), torch.ones(1, 1, 72, dtype=torch.bool))
    with pytest.raises(ValueError, match="batch, channels, time"):
        m(torch.zeros(1, 64), torch.ones(1, 64, dtype=torch.bool))


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"context_length": 60}, "multiple of patch_length"),
        ({"d_model": 18, "num_heads": 2}, "even integer"),
        ({"norm": "batch"}, "norm must be"),
        ({"quantiles": (0.1, 0.5)}, "symmetric"),
        ({"quantiles": (0.5, 0.1, 0.9)}, "increasing"),
        ({"coarse_horizon": 36}, "multiple of coarse_block"),
        ({"feature_every": -1}, "feature_every"),
    ],
)
def test_config_validation(kw: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        CastConfig(**{**SMALL.__dict__, **kw})  # type: ignore[arg-type]


def test_recipe_sizes_are_in_range() -> None:
    counts = {}
    for name in ("tinycast", "tinycast-base"):
        cfg = CastConfig(**load_recipe(name)["model_config"])
        counts[name] = TinyCast(cfg).num_parameters()
    assert counts == {"tinycast": 1_884_992, "tinycast-base": 21_692_352}
    assert 1_000_000 <= counts["tinycast"] <= 5_000_000
    assert 20_000_000 <= counts["tinycast-base"] <= 25_000_000


def test_save_load_round_trip(tmp_path: Path) -> None:
    m = _model(seed=3)
    m.save_pretrained(tmp_path / "ck")
    back = load(tmp_path / "ck")
    assert isinstance(back, TinyCast) and back.config == m.config
    assert back.config.quantiles == m.config.quantiles and isinstance(back.config.quantiles, tuple)
    x = _series(1, 2, 64)
    obs = torch.ones_like(x, dtype=torch.bool)
    a, b = m(x, obs), back(x, obs)
    assert torch.equal(a["fine"], b["fine"]) and torch.equal(a["coarse"], b["coarse"])
    assert TinyCast.from_pretrained(tmp_path / "ck").num_parameters() == m.num_parameters()


@pytest.mark.parametrize("norm", ["dart", "instance"])
def test_model_is_causal_along_time(norm: str) -> None:
    """Changing data after patch k changes no output at positions <= k (in every channel)."""
    m = _model(norm=norm)
    x = _series(2, 3, 64, seed=4)
    obs = torch.rand(x.shape, generator=torch.Generator().manual_seed(5)) > 0.1
    base = m(x, obs)
    for k in (0, 3, 6):
        y, o = x.clone(), obs.clone()
        y[..., (k + 1) * 8 :] = y[..., (k + 1) * 8 :] * -3.0 + 40.0
        o[:, 1, (k + 1) * 8 + 2] = False
        out = m(y, o)
        if norm == "dart":
            for key in ("fine", "coarse", "mean", "std", "count"):
                torch.testing.assert_close(
                    out[key][:, :, : k + 1], base[key][:, :, : k + 1], rtol=0, atol=1e-6
                )
        else:  # the ablation: instance statistics leak the future into every position
            assert not torch.allclose(out["fine"][:, :, : k + 1], base["fine"][:, :, : k + 1], atol=1e-4)
        assert not torch.allclose(out["fine"][:, :, k + 1 :], base["fine"][:, :, k + 1 :], atol=1e-4)


def test_cross_variate_blocks_mix_channels_without_leaking_time() -> None:
    m = _model()
    assert any(isinstance(b, VariateBlock) for b in m.blocks)
    x = _series(1, 3, 64, seed=6)
    obs = torch.ones_like(x, dtype=torch.bool)
    base = m(x, obs)
    k = 3
    y = x.clone()
    y[:, 2, (k + 1) * 8 :] += 25.0  # only channel 2, only after patch k
    out = m(y, obs)
    # channels 0 and 1 see channel 2 (through the variate blocks) but only at the same patch index
    torch.testing.assert_close(out["fine"][:, :, : k + 1], base["fine"][:, :, : k + 1], rtol=0, atol=1e-6)
    assert not torch.allclose(out["fine"][:, 0, k + 1 :], base["fine"][:, 0, k + 1 :], atol=1e-5)
    # without variate blocks the channels are independent
    ci = _model(feature_every=0)
    out_ci, base_ci = ci(y, obs), ci(x, obs)
    torch.testing.assert_close(out_ci["fine"][:, :2], base_ci["fine"][:, :2], rtol=0, atol=0)


def test_univariate_variate_block_equals_full_attention() -> None:
    torch.manual_seed(0)
    blk = VariateBlock(16, 2, 2.0, 0.0).eval()
    h = torch.randn(5, 1, 16)
    fast = blk(h)
    torch.testing.assert_close(fast, blk.train()(h), rtol=1e-5, atol=1e-6)  # training: the full path
    blk.eval()
    q, k, v = blk._heads(blk.norm1(h))
    a = blk._merge(torch.nn.functional.scaled_dot_product_attention(q, k, v))
    slow = h + a
    slow = slow + blk.mlp(blk.norm2(slow))
    torch.testing.assert_close(fast, slow, rtol=1e-5, atol=1e-6)


def test_left_padding_does_not_change_outputs() -> None:
    """Unobserved leading patches are hidden keys and positions are relative: padding is invisible."""
    m = _model()
    x = _series(1, 2, 32, seed=7)
    ones = torch.ones_like(x, dtype=torch.bool)
    a = m(x, ones, last_only=True)
    xp = torch.cat([torch.full((1, 2, 32), 123.0), x], -1)
    op = torch.cat([torch.zeros(1, 2, 32, dtype=torch.bool), ones], -1)
    b = m(xp, op, last_only=True)
    torch.testing.assert_close(a["fine"], b["fine"], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(a["coarse"], b["coarse"], rtol=1e-4, atol=1e-5)
