"""Fixtures of the service tests: the bundled TinyPulse, a tiny random TinyCast and classifier on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tinyts.models.base import load
from tinyts.models.cast import CastConfig, TinyCast
from tinyts.models.lens import PulseLens, lens_config_for
from tinyts.models.pulse import PulseConfig, TinyPulse
from tinyts.testing import TINY_CAST, TINY_PULSE

#: a TinyCast small enough to build and run in milliseconds (random weights: shapes, not skill)
CAST = {**TINY_CAST, "coarse_horizon": 48}
PULSE = {**TINY_PULSE, "fft_patch_length": 16, "num_registers": 8, "dropout": 0.1}
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
    TinyCast(CastConfig(**CAST)).eval().save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def classifier_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained (random head) two-class TSLens classifier on a tiny TinyPulse."""
    torch.manual_seed(0)
    backbone = TinyPulse(PulseConfig(**PULSE))
    config = lens_config_for(backbone, 1, CLASSES, "lens", 4, 0.0)
    folder = tmp_path_factory.mktemp("models") / "clf-tiny"
    PulseLens.from_backbone(backbone, config).eval().save_pretrained(folder)
    return folder
