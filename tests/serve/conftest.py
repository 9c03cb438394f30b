"""Fixtures of the service tests: the bundled TinyPulse, a tiny random TinyCast and classifier on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tinyts.models.base import load
from tinyts.models.cast import CastConfig, TinyCast
from tinyts.models.pulse import PulseConfig, TinyPulse
from tinyts.tasks.classify_head import PulseLens, lens_config_for

#: a TinyCast small enough to build and run in milliseconds (random weights: shapes, not skill)
CAST = dict(
    context_length=64,
    patch_length=8,
    d_model=16,
    num_layers=2,
    num_heads=2,
    coarse_block=8,
    coarse_horizon=48,
)
PULSE = dict(
    context_length=64, patch_length=8, fft_patch_length=16, d_model=8, num_layers=2, decoder_layers=1
)
CLASSES = ["down", "up"]


@pytest.fixture(scope="session")
def pulse() -> TinyPulse:
    model = load("tinypulse")
    assert isinstance(model, TinyPulse)
    return model


@pytest.fixture(scope="session")
def cast_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("models") / "tinycast-tiny"
    TinyCast(CastConfig(**CAST)).eval().save_pretrained(folder)  # type: ignore[arg-type]
    return folder


@pytest.fixture(scope="session")
def classifier_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained (random head) two-class TSLens classifier on a tiny TinyPulse."""
    torch.manual_seed(0)
    backbone = TinyPulse(PulseConfig(**PULSE))  # type: ignore[arg-type]
    config = lens_config_for(backbone, 1, CLASSES, "lens", 4, 0.0)
    folder = tmp_path_factory.mktemp("models") / "clf-tiny"
    PulseLens.from_backbone(backbone, config).eval().save_pretrained(folder)
    return folder
