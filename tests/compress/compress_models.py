"""Tiny random-initialised models of every adapter (no downloads) and toy windows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from tinyts.compress import Windows, make_windows
from tinyts.models.cast import CastConfig, TinyCast
from tinyts.models.pulse import PulseConfig, TinyPulse
from tinyts.testing import TINY_CAST, TINY_PULSE

CONTEXT = 64


def tiny_cast(seed: int = 0, **kw: Any) -> TinyCast:
    torch.manual_seed(seed)
    return TinyCast(CastConfig(**{**TINY_CAST, "context_length": CONTEXT, "num_layers": 3, **kw})).eval()


def tiny_pulse(seed: int = 0) -> TinyPulse:
    torch.manual_seed(seed)
    return TinyPulse(PulseConfig(**{**TINY_PULSE, "context_length": CONTEXT})).eval()


def tiny_patchtst(seed: int = 0, horizon: int = 16) -> Any:
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(seed)
    cfg = transformers.PatchTSTConfig(
        num_input_channels=1,
        context_length=CONTEXT,
        prediction_length=horizon,
        patch_length=8,
        patch_stride=8,
        d_model=16,
        num_attention_heads=2,
        num_hidden_layers=2,
        ffn_dim=32,
    )
    return transformers.PatchTSTForPrediction(cfg).eval()


def tiny_t5(seed: int = 0, gated: bool = False) -> Any:
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(seed)
    cfg = transformers.T5Config(
        vocab_size=40,
        d_model=16,
        d_kv=4,
        d_ff=32,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=3,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
        feed_forward_proj="gated-gelu" if gated else "relu",
    )
    return transformers.T5ForConditionalGeneration(cfg).eval()


T5_OPTIONS = {"context_length": CONTEXT, "prediction_length": 16}


def sine_windows(n_points: int = 1200, future: int = 32, stride: int = 3, seed: int = 0) -> Windows:
    rng = np.random.default_rng(seed)
    t = np.arange(n_points)
    s = np.sin(2 * np.pi * t / 24) + 0.5 * np.sin(2 * np.pi * t / 7) + 0.1 * rng.standard_normal(n_points)
    return make_windows(s, CONTEXT, future, stride)
