"""Checkpoint configs are validated before anything is allocated (issue 15, item 12).

Each case here was a crash or a runaway allocation before: ``num_layers: 10**7`` grew to gigabytes,
``d_model: 1e9`` was a raw RuntimeError, ``patch_length: 0`` a ZeroDivisionError, deep JSON a
RecursionError. Now every one is a :class:`CheckpointError` that names the field, and the model is
built for real only once the ``model.safetensors`` header agrees with the config (before that only on
the ``meta`` device, which allocates nothing).
"""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from tinyts.models import CheckpointError, load
from tinyts.models.cast import CastConfig, TinyCast
from tinyts.models.checks import (
    MAX_CONFIG_BYTES,
    MAX_JSON_DEPTH,
    check_fields,
    expected_tensors,
    field_problems,
)
from tinyts.models.lens import PulseLens, lens_config_for
from tinyts.models.linear import LinearConfig, LinearStudent
from tinyts.models.pulse import TinyPulse
from tinyts.testing import random_tiny
from tinyts.train.recipes import load_recipe


class Builds:
    """Models built outside the ``meta`` device; once armed, such a build fails the test at once."""

    def __init__(self) -> None:
        self.armed = False

    def arm(self) -> None:
        self.armed = True


@pytest.fixture
def no_real_build(monkeypatch: pytest.MonkeyPatch) -> Builds:
    """Fail the test if a model is built with real memory after ``arm()`` (meta-device builds are fine).

    On an unguarded loader the absurd configs below would allocate gigabytes; the spy stops them before
    the constructor runs.
    """
    builds = Builds()
    for cls in (TinyPulse, TinyCast, LinearStudent, PulseLens):
        original = cls.__init__

        def spy(self: Any, config: Any, _original: Callable[..., None] = original, _name: str = cls.__name__):
            if builds.armed and torch.empty(0).device.type != "meta":
                raise AssertionError(f"a {_name} was built for real before its config was checked")
            _original(self, config)

        monkeypatch.setattr(cls, "__init__", spy)
    return builds


def _saved(tmp_path: Path, kind: str) -> Path:
    return random_tiny(kind).save_pretrained(tmp_path / kind)


def _edit(folder: Path, **changes: Any) -> None:
    cfg = json.loads((folder / "config.json").read_text())
    cfg.update(changes)
    (folder / "config.json").write_text(json.dumps(cfg))


# --------------------------------------------------------------------------- field types and bounds
@pytest.mark.parametrize("kind", ["pulse", "cast"])
def test_absurd_num_layers_is_refused_before_any_build(
    tmp_path: Path, kind: str, no_real_build: Builds
) -> None:
    folder = _saved(tmp_path, kind)
    no_real_build.arm()
    _edit(folder, num_layers=10**7)
    with pytest.raises(CheckpointError, match=r"num_layers must be in \[1, 256\], got 10000000"):
        load(folder)


@pytest.mark.parametrize("kind", ["pulse", "cast"])
@pytest.mark.parametrize("value", [1e9, 10**9, 24.0, "24", True, None])
def test_d_model_of_the_wrong_type_or_size(
    tmp_path: Path, kind: str, value: Any, no_real_build: Builds
) -> None:
    folder = _saved(tmp_path, kind)
    no_real_build.arm()
    _edit(folder, d_model=value)
    with pytest.raises(CheckpointError, match=r"invalid config: d_model must be (an integer )?in \["):
        load(folder)


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("pulse", "patch_length"),
        ("pulse", "fft_patch_length"),
        ("pulse", "context_length"),
        ("cast", "patch_length"),
        ("cast", "context_length"),
        ("cast", "num_heads"),
    ],
)
def test_zero_sizes_are_clear_errors(tmp_path: Path, kind: str, field: str, no_real_build: Builds) -> None:
    folder = _saved(tmp_path, kind)
    no_real_build.arm()
    _edit(folder, **{field: 0})
    with pytest.raises(CheckpointError, match=f"{field} must be in"):
        load(folder)


@pytest.mark.parametrize(
    ("kind", "changes", "message"),
    [
        ("pulse", {"dropout": 1.5}, r"dropout must be a finite number in \[0, 1\)"),
        ("pulse", {"expansion": -1.0}, r"expansion must be a finite number in \(0, 64\]"),
        ("pulse", {"min_var": float("nan")}, "min_var must be a finite number"),
        ("pulse", {"activation": "swish"}, "activation must be one of"),
        ("pulse", {"gated": 1}, "gated must be true or false"),
        ("pulse", {"channel_mixing": 10**6}, r"channel_mixing must be in \[0, 4096\]"),
        ("cast", {"quantiles": 0.5}, "quantiles must be a list"),
        ("cast", {"quantiles": [0.5, 2.0]}, r"quantiles must hold quantile levels in \(0, 1\)"),
        ("cast", {"mlp_ratio": float("inf")}, "mlp_ratio must be a finite number"),
        ("cast", {"norm": 3}, "norm must be one of"),
    ],
)
def test_bad_values_name_the_field(tmp_path: Path, kind: str, changes: dict[str, Any], message: str) -> None:
    folder = _saved(tmp_path, kind)
    _edit(folder, **changes)
    with pytest.raises(CheckpointError, match=message):
        load(folder)


def test_every_bad_field_is_listed_with_what_to_do(tmp_path: Path) -> None:
    folder = _saved(tmp_path, "cast")
    _edit(folder, d_model=-1, num_layers="many")
    with pytest.raises(CheckpointError) as info:
        load(folder)
    text = str(info.value)
    assert "d_model must be in [2, 65536], got -1" in text
    assert "num_layers must be an integer in [1, 256], got 'many'" in text
    assert "Restore the config.json saved with these weights" in text


def test_model_type_must_be_a_string(tmp_path: Path) -> None:
    folder = _saved(tmp_path, "pulse")
    _edit(folder, model_type=["tinypulse"])
    with pytest.raises(CheckpointError, match="model_type must be a string"):
        load(folder)


def test_student_and_classifier_configs_are_bounded_too(tmp_path: Path, no_real_build: Builds) -> None:
    linear = LinearStudent(LinearConfig(context_length=32, horizon=8, hidden=4)).save_pretrained(
        tmp_path / "s"
    )
    pulse = random_tiny("pulse")
    torch.manual_seed(0)
    lens = PulseLens.from_backbone(pulse, lens_config_for(pulse, 1, ["a", "b"], "lens", 4, 0.0))
    folder = lens.save_pretrained(tmp_path / "clf")
    no_real_build.arm()
    _edit(linear, horizon=10**9)
    with pytest.raises(CheckpointError, match=r"horizon must be in \[1, 1048576\]"):
        load(linear)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["pulse"]["num_layers"] = 10**7
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=r"pulse num_layers must be in \[1, 256\]"):
        load(folder)
    cfg["pulse"]["num_layers"] = 2
    cfg["pulse"]["bogus"] = 1
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=r"pulse has unknown tinypulse fields \['bogus'\]"):
        load(folder)
    cfg["pulse"].pop("bogus")
    cfg["classes"] = ["a"]
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="classes must be a list of 2 to"):
        load(folder)


# --------------------------------------------------------------------------- the JSON file itself
def test_deeply_nested_json_is_refused(tmp_path: Path) -> None:
    folder = _saved(tmp_path, "pulse")
    (folder / "config.json").write_text(
        '{"model_type": "tinypulse", "pruning": ' + "[" * 100_000 + "]" * 100_000 + "}"
    )
    with pytest.raises(
        CheckpointError,
        match=f"nested too deeply \\(a tinyts checkpoint needs at most {MAX_JSON_DEPTH} levels\\)",
    ):
        load(folder)
    shallow_but_too_deep = {
        "model_type": "tinypulse",
        "pruning": {"linears": {"a": [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}},
    }
    (folder / "config.json").write_text(json.dumps(shallow_but_too_deep))
    with pytest.raises(CheckpointError, match="nested too deeply"):
        load(folder)


def test_oversized_config_is_refused(tmp_path: Path) -> None:
    folder = _saved(tmp_path, "pulse")
    text = (folder / "config.json").read_text()
    (folder / "config.json").write_text(" " * MAX_CONFIG_BYTES + text)  # valid JSON, absurd size
    with pytest.raises(CheckpointError, match="bytes, more than the"):
        load(folder)


def test_integer_with_thousands_of_digits(tmp_path: Path) -> None:
    folder = _saved(tmp_path, "cast")
    text = (folder / "config.json").read_text().replace('"d_model": 16', '"d_model": 1' + "0" * 5000)
    (folder / "config.json").write_text(text)
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load(folder)


# --------------------------------------------------------------------------- the weights header
def test_config_and_header_are_compared_before_the_real_build(tmp_path: Path, no_real_build: Builds) -> None:
    folder = _saved(tmp_path, "cast")
    no_real_build.arm()
    _edit(folder, d_model=4096, num_layers=200)  # within bounds: 4 billion values if built for real
    with pytest.raises(CheckpointError, match="does not match") as info:
        load(folder)
    text = str(info.value)
    assert "the config describes" in text and "the weights hold 9,372 in 36" in text
    assert "missing: " in text and "wrong shape or dtype: " in text
    assert "restore the one saved with them" in text


def test_weights_of_another_shape_in_the_same_names(tmp_path: Path) -> None:
    folder = _saved(tmp_path, "pulse")
    random_tiny("pulse", forecast_length=8).save_pretrained(tmp_path / "other")
    (folder / "model.safetensors").write_bytes((tmp_path / "other" / "model.safetensors").read_bytes())
    with pytest.raises(
        CheckpointError, match=r"wrong shape or dtype: forecast_head.bias: config \[16\] float"
    ):
        load(folder)


def _write_header(path: Path, header: dict[str, Any], data: bytes = b"") -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


@pytest.mark.parametrize(
    ("header", "data"),
    [
        ({"w": {"dtype": "F32", "shape": [10**6, 10**6], "data_offsets": [0, 4 * 10**12]}}, b"\0" * 16),
        ({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 8]}}, b"\0" * 16),
        ({"w": {"dtype": "Q4", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 16),
        ({"w": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}, b"\0" * 16),
        ({"w": [1, 2]}, b""),
    ],
)
def test_lying_or_malformed_headers(tmp_path: Path, header: dict[str, Any], data: bytes) -> None:
    folder = _saved(tmp_path, "pulse")
    _write_header(folder / "model.safetensors", header, data)
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load(folder)


def test_header_length_beyond_the_file(tmp_path: Path) -> None:
    folder = _saved(tmp_path, "pulse")
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", 2**62) + b"{}")
    with pytest.raises(CheckpointError, match="header length .* corrupt or truncated"):
        load(folder)


def test_bad_pruning_record_is_a_checkpoint_error(tmp_path: Path) -> None:
    folder = _saved(tmp_path, "cast")
    rec = {"in_features": 16, "out_features": 48, "n_in": 16, "n_out": 48, "bias": True}
    rec |= {"gather": False, "scatter": False}
    _edit(folder, pruning={"version": 1, "linears": {"no.such.layer": rec}, "attention": {}})
    with pytest.raises(CheckpointError, match="no buildable TinyCast .*no sub-module 'no.such.layer'"):
        load(folder)
    _edit(folder, pruning={"version": 1, "linears": {"blocks.0.qkv": {**rec, "n_in": "16"}}})
    with pytest.raises(CheckpointError, match=r"pruning linears\['blocks.0.qkv'\].n_in must be an integer"):
        load(folder)
    _edit(folder, pruning={"version": 1, "linears": {"blocks.0.qkv": {**rec, "n_in": 10**9}}})
    with pytest.raises(CheckpointError, match=r"n_in must be in \[0, 1048576\]"):
        load(folder)


# --------------------------------------------------------------------------- valid models still load
def test_tinycast_base_is_within_the_bounds() -> None:
    """The largest recipe (21.7M parameters) passes the field checks; its meta build allocates nothing."""
    cfg = dict(load_recipe("tinycast-base")["model_config"])
    assert field_problems("tinycast", cfg, CastConfig) == []
    check_fields("tinycast", cfg, CastConfig, Path("config.json"))
    specs = expected_tensors(TinyCast, CastConfig(**cfg))
    n = sum(math.prod(s.shape) for s in specs.values())
    assert 21_000_000 < n < 22_500_000


@pytest.mark.parametrize("kind", ["pulse", "cast"])
def test_valid_round_trip_is_unchanged(tmp_path: Path, kind: str) -> None:
    model = random_tiny(kind, seed=3)
    back = load(model.save_pretrained(tmp_path / kind))
    assert type(back) is type(model) and back.config == model.config
    for (ka, va), (kb, vb) in zip(model.state_dict().items(), back.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)


def test_meta_build_stays_cheap(tmp_path: Path) -> None:
    """The meta-device check must not pull in torch's compiler stack (3-5 s on the first load).

    On meta tensors torch runs ``randn``, ``arange``, ``eye`` and elementwise arithmetic through Python
    reference kernels whose first use imports ``torch._dynamo`` and sympy; the check handles those ops
    itself. Run in a fresh interpreter, since another test may have imported them already.
    """
    folders = [str(random_tiny(kind).save_pretrained(tmp_path / kind)) for kind in ("pulse", "cast")]
    code = (
        "import sys; from tinyts.models.base import load\n"
        f"for f in {folders!r}: load(f)\n"
        "print(sorted(m for m in ('torch._dynamo', 'sympy') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
