"""tinyts.models.resolve: the one loader of every entry point."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tinyts.errors import CheckpointError, ModelTypeError
from tinyts.models import TinyModel, resolve
from tinyts.models.cast import TinyCast
from tinyts.models.pulse import TinyPulse
from tinyts.testing import random_tiny


def test_a_model_is_returned_as_it_is_and_checked() -> None:
    pulse = random_tiny("pulse")
    assert resolve(pulse, TinyPulse) is pulse
    assert resolve(pulse, TinyModel) is pulse
    with pytest.raises(ModelTypeError, match=r"model must be a TinyCast .*'tinycast'.*; got a TinyPulse"):
        resolve(pulse, TinyCast)
    with pytest.raises(TypeError, match=r"pulse must be a TinyPulse .*; got int"):
        resolve(3, TinyPulse, what="pulse")  # type: ignore[arg-type]


def test_a_folder_loads_and_a_wrong_kind_names_the_folder(tmp_path: Path) -> None:
    folder = random_tiny("cast").save_pretrained(tmp_path / "cast")
    cast = resolve(folder, TinyCast)
    assert isinstance(cast, TinyCast) and not cast.training
    with pytest.raises(ModelTypeError, match=rf"--model must be a TinyPulse .*'{folder}' holds a TinyCast"):
        resolve(str(folder), TinyPulse, what="--model")
    with pytest.raises(CheckpointError, match="unknown model 'no-such-model'"):
        resolve("no-such-model", TinyPulse)


def test_cache_shares_one_copy_until_the_weights_change(tmp_path: Path) -> None:
    folder = random_tiny("pulse").save_pretrained(tmp_path / "pulse")
    a = resolve(folder, TinyPulse, cache=True)
    assert resolve(str(folder), TinyPulse, cache=True) is a
    assert resolve(folder, TinyPulse) is not a  # without cache: a fresh copy
    random_tiny("pulse", seed=1).save_pretrained(folder)  # new weights, same folder
    weights = folder / "model.safetensors"
    stamp = weights.stat().st_mtime_ns + 10**9
    os.utime(weights, ns=(stamp, stamp))  # a distinct modification time even on coarse clocks
    b = resolve(folder, TinyPulse, cache=True)
    assert b is not a
    assert any((p != q).any() for p, q in zip(a.parameters(), b.parameters(), strict=True))
