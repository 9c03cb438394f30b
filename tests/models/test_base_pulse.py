"""Checkpoint folders (save/load, corrupt files, unknown names) and the TinyPulse network's contracts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from tinyts.models import CheckpointError, load
from tinyts.models.pulse import PulseConfig, TinyPulse
from tinyts.testing import TINY_PULSE

#: the ``disk_full`` fixture of conftest.py
DiskFull = Callable[[Any, str], None]

SMALL = PulseConfig(**{**TINY_PULSE, "fft_patch_length": 16, "forecast_length": 4})


def _model(seed: int = 0) -> TinyPulse:
    torch.manual_seed(seed)
    return TinyPulse(SMALL).eval()


def test_forward_shapes() -> None:
    m = _model()
    x = torch.randn(3, 2, 64)
    out = m(x, torch.ones_like(x, dtype=torch.bool))
    assert out["recon"].shape == (3, 2, 64)
    assert out["recon_fft"].shape == (3, 2, 64)
    assert out["log_prob"].shape == (3, 2, 32)
    assert out["forecast"].shape == (3, 2, 4)
    assert out["embedding"].shape == (3, 2, 16)
    assert torch.allclose(out["log_prob"].exp().sum(-1), torch.ones(3, 2), atol=1e-5)


def test_hidden_values_do_not_leak() -> None:
    """Whatever sits at hidden points must not change any output."""
    m = _model()
    x = torch.randn(2, 1, 64)
    obs = torch.ones_like(x, dtype=torch.bool)
    obs[..., 10:30] = False
    y = x.clone()
    y[..., 10:30] = 1e6
    a, b = m(x, obs), m(y, obs)
    for key in ("recon", "recon_fft", "forecast", "embedding", "mean", "std"):
        assert torch.allclose(a[key], b[key], atol=1e-5), key


def test_channels_independent_without_channel_mixing() -> None:
    m = _model()
    x = torch.randn(1, 2, 64)
    obs = torch.ones_like(x, dtype=torch.bool)
    y = x.clone()
    y[:, 1] = torch.randn(64)
    assert torch.allclose(m(x, obs)["recon"][:, 0], m(y, obs)["recon"][:, 0], atol=1e-6)


def test_channel_mixer_starts_as_identity() -> None:
    torch.manual_seed(0)
    base = TinyPulse(SMALL).eval()
    mixed = TinyPulse(PulseConfig(**{**SMALL.__dict__, "channel_mixing": 2})).eval()
    missing = mixed.load_state_dict(base.state_dict(), strict=False).missing_keys
    assert missing and all("channel" in k for k in missing)
    x = torch.randn(2, 2, 64)
    obs = torch.ones_like(x, dtype=torch.bool)
    assert torch.allclose(base(x, obs)["recon"], mixed(x, obs)["recon"], atol=1e-6)


def test_wrong_length_is_a_clear_error() -> None:
    x = torch.randn(1, 1, 60)
    with pytest.raises(ValueError, match="64 time steps"):
        _model()(x, torch.ones_like(x, dtype=torch.bool))


def test_bad_config() -> None:
    with pytest.raises(ValueError, match="multiple"):
        PulseConfig(context_length=100, patch_length=8)


def test_save_load_round_trip(tmp_path: Path) -> None:
    m = _model()
    m.save_pretrained(tmp_path / "ck", card="# card\n")
    assert {p.name for p in (tmp_path / "ck").iterdir()} == {
        "config.json",
        "model.safetensors",
        "MODEL_CARD.md",
    }
    loaded = load(tmp_path / "ck")
    assert isinstance(loaded, TinyPulse) and not loaded.training
    x = torch.randn(2, 1, 64)
    obs = torch.ones_like(x, dtype=torch.bool)
    assert torch.equal(m(x, obs)["recon"], loaded(x, obs)["recon"])
    assert TinyPulse.from_pretrained(tmp_path / "ck").config == SMALL


def test_failed_save_keeps_config_and_weights_paired(tmp_path: Path, disk_full: DiskFull) -> None:
    import safetensors.torch

    folder = _model(seed=0).save_pretrained(tmp_path / "ck")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    other = TinyPulse(PulseConfig(**{**SMALL.__dict__, "d_model": SMALL.d_model * 2}))
    disk_full(safetensors.torch, "save_file")
    with pytest.raises(OSError, match="disk full"):
        other.save_pretrained(folder)
    # neither the new config nor a half-written weights file landed beside the old pair
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert load(folder).config == SMALL


def test_unknown_name_lists_what_exists() -> None:
    with pytest.raises(CheckpointError, match="unknown model 'no-such-model'"):
        load("no-such-model")


def test_corrupt_and_truncated_checkpoints(tmp_path: Path) -> None:
    folder = _model().save_pretrained(tmp_path / "ck")
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load(folder)
    weights.write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointError):
        load(folder)
    (folder / "config.json").write_text("{broken")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load(folder)


def test_mismatched_config(tmp_path: Path) -> None:
    folder = _model().save_pretrained(tmp_path / "ck")
    cfg = json.loads((folder / "config.json").read_text())
    cfg["d_model"] = 16
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="does not match"):
        load(folder)
    cfg["d_model"] = 8
    cfg["bogus"] = 1
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="unknown config fields"):
        load(folder)
    cfg.pop("bogus")
    cfg["model_type"] = "nope"
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="unknown model_type"):
        load(folder)


def test_missing_weights(tmp_path: Path) -> None:
    folder = _model().save_pretrained(tmp_path / "ck")
    (folder / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        load(folder)


def test_linear_fill_mode_starts_at_linear_interpolation() -> None:
    """With fill="linear" the time head is a residual on the interpolated input: zero head = interp."""
    m = _model()
    torch.nn.init.zeros_(m.time_head.weight)
    torch.nn.init.zeros_(m.time_head.bias)
    x = torch.linspace(0, 1, 64).repeat(1, 1, 1) * 5
    obs = torch.ones_like(x, dtype=torch.bool)
    obs[..., 20:30] = False
    out = m(x, obs)
    assert torch.allclose(m.denormalize(out["recon"], out), x, atol=1e-4)


def test_token_mode_matches_tspulse_style() -> None:
    torch.manual_seed(0)
    m = TinyPulse(PulseConfig(**{**SMALL.__dict__, "fill": "token"})).eval()
    assert m.mask_token is not None
    x = torch.randn(2, 1, 64)
    obs = torch.ones_like(x, dtype=torch.bool)
    obs[..., :8] = False
    assert m(x, obs)["recon"].shape == (2, 1, 64)
    with pytest.raises(ValueError, match="fill"):
        PulseConfig(fill="zeros")


def test_bundled_tinypulse_loads_offline() -> None:
    import tinyts

    assert "tinypulse" in tinyts.bundled_names()
    model = tinyts.load("tinypulse")
    assert isinstance(model, TinyPulse) and not model.training
    assert 800_000 <= model.num_parameters() <= 1_500_000
    card = (Path(tinyts.models.base.WEIGHTS_DIR) / "tinypulse" / "MODEL_CARD.md").read_text()
    assert "samples seen" in card and "Data sources" in card
    x = torch.randn(1, 1, model.config.context_length)
    out = model(x, torch.ones_like(x, dtype=torch.bool))
    assert torch.isfinite(out["recon"]).all()
