"""Boundary properties of ``tinyts.load``: damaged checkpoint folders load correctly or fail clearly.

A tiny TinyPulse and TinyCast are saved once; each example rewrites the ``config.json`` (one to three
field mutations, or damage to the JSON text) or damages ``model.safetensors``, then loads the folder.
The load must either succeed with exactly the saved tensors (names, shapes, values) or raise
:class:`~tinyts.models.base.CheckpointError` with a clear message: never another exception, and never a
large allocation (the peak resident memory of the process may not grow by more than
:data:`MAX_GROWTH_MB` during one load; ``num_layers: 10**7`` used to take gigabytes).

The oracle (:func:`expect_set`) knows, independently of the library's rule table, which fields change
parameter shapes: a shape field set to another value must be refused, a shape-neutral field set to a
valid value must load, and a value of the wrong type or an absurd size must be refused.
"""

from __future__ import annotations

import json
import math
import resource
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from hardening_checks import cases, check_clear_error
from hypothesis import given
from hypothesis import strategies as st

from tinyts.models.base import CheckpointError, TinyModel, load
from tinyts.testing import random_tiny

Tally = Callable[[str], None]

#: the most the peak resident memory may grow during one load (the tiny models weigh ~100 kB)
MAX_GROWTH_MB = 256

#: field -> (JSON type, effect on parameter shapes): "shape" (another value changes them), "neutral"
#: (no parameter depends on it) or "either" (some other values keep the shapes, e.g. a head count)
FIELDS: dict[str, dict[str, tuple[str, str]]] = {
    "pulse": {
        "context_length": ("int", "shape"),
        "patch_length": ("int", "shape"),
        "fft_patch_length": ("int", "shape"),
        "d_model": ("int", "shape"),
        "num_layers": ("int", "shape"),
        "decoder_layers": ("int", "shape"),
        "num_registers": ("int", "shape"),
        "register_decoder_layers": ("int", "shape"),
        "expansion": ("float", "either"),
        "dropout": ("float", "neutral"),
        "forecast_length": ("int", "shape"),
        "min_var": ("float", "neutral"),
        "gated": ("bool", "shape"),
        "channel_mixing": ("int", "shape"),
        "activation": ("str", "neutral"),
        "fill": ("str", "shape"),
        "pruning": ("pruning", "either"),
    },
    "cast": {
        "context_length": ("int", "either"),
        "patch_length": ("int", "shape"),
        "d_model": ("int", "shape"),
        "num_layers": ("int", "shape"),
        "num_heads": ("int", "either"),
        "mlp_ratio": ("float", "either"),
        "feature_every": ("int", "either"),
        "quantiles": ("levels", "either"),
        "coarse_block": ("int", "either"),
        "coarse_horizon": ("int", "either"),
        "norm": ("str", "neutral"),
        "min_std": ("float", "neutral"),
        "rel_min_std": ("float", "neutral"),
        "input_clip": ("float", "neutral"),
        "dropout": ("float", "neutral"),
        "rope_base": ("float", "neutral"),
        "pruning": ("pruning", "either"),
    },
}

#: valid values of the shape-neutral fields (each must load)
NEUTRAL: dict[str, dict[str, list[Any]]] = {
    "pulse": {
        "dropout": [0.0, 0.3, 0],
        "min_var": [1e-5, 0.5, 1],
        "activation": ["gelu", "gelu_tanh", "relu"],
    },
    "cast": {
        "norm": ["dart", "instance"],
        "min_std": [1e-8, 0.01],
        "rel_min_std": [0.0, 1e-3, 0],
        "input_clip": [5.0, 1000.0],
        "dropout": [0.0, 0.2],
        "rope_base": [100.0, 1e6, 10000],
    },
}

#: values of the wrong JSON type, per expected type
JUNK: dict[str, list[Any]] = {
    "int": ["12", "", None, [], [4], {}, {"a": 1}, True, False, 8.0, 1e9, 2.5],
    "float": ["0.1", "", None, [], [0.1], {}, True, False],
    "bool": [0, 1, "true", None, [], {}],
    "str": [0, None, [], {}, True, "", "swish", "GELU", "x" * 5000],
    "levels": [0.5, "0.5", None, {}, [], [0.5, 2.0], [0.5, "a"], [True], [0.0, 0.5, 1.0]],
    "pruning": [3, "x", [1], True, {"version": 2}, {"version": 1, "linears": {"nope": 1}}, {"other": {}}],
}

#: numbers far beyond any real model (and beyond the library's documented bounds), by type
ABSURD_FLOATS = [10**13, 10**30, 10**400, -1, -(10**7), math.nan, math.inf, -math.inf, 1e300]
ABSURD = {"int": [10**7, 10**9, *ABSURD_FLOATS], "float": ABSURD_FLOATS}
SMALL_SIZES = [0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128]


class Saved(dict[str, tuple[Path, dict[str, Any], TinyModel]]):
    """kind -> (folder, config dict, model) of the tiny saved models (a short repr for failure reports)."""

    def __repr__(self) -> str:
        return f"Saved({sorted(self)})"


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Saved:
    """The tiny TinyPulse and TinyCast, saved once (read-only: every example works on a copy)."""
    root = tmp_path_factory.mktemp("checkpoints")
    out = Saved()
    for kind in ("pulse", "cast"):
        model = random_tiny(kind)
        folder = model.save_pretrained(root / kind)
        out[kind] = (folder, json.loads((folder / "config.json").read_text()), model)
    return out


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("work")


def mutations(kind: str) -> st.SearchStrategy[tuple[str, str, Any]]:
    """One mutation ``(what, field, value)`` of a config of ``kind``."""
    fields = sorted(FIELDS[kind])
    junk = st.sampled_from(fields).flatmap(
        lambda f: st.tuples(st.just("junk"), st.just(f), st.sampled_from(JUNK[FIELDS[kind][f][0]]))
    )
    absurd = st.sampled_from([f for f in fields if FIELDS[kind][f][0] in ABSURD]).flatmap(
        lambda f: st.tuples(st.just("absurd"), st.just(f), st.sampled_from(ABSURD[FIELDS[kind][f][0]]))
    )
    size = st.tuples(
        st.just("size"),
        st.sampled_from([f for f in fields if FIELDS[kind][f][0] == "int"]),
        st.sampled_from(SMALL_SIZES),
    )
    neutral = st.sampled_from(sorted(NEUTRAL[kind])).flatmap(
        lambda f: st.tuples(st.just("neutral"), st.just(f), st.sampled_from(NEUTRAL[kind][f]))
    )
    other = st.tuples(
        st.sampled_from(["delete", "unknown", "deep", "model_type"]),
        st.sampled_from(fields),
        st.integers(0, 3),
    )
    same = st.tuples(st.just("same"), st.sampled_from(fields), st.none())
    flags = [f for f in fields if FIELDS[kind][f][0] == "bool"]
    if not flags:
        return st.one_of(junk, absurd, size, neutral, neutral, same, same, other)
    flag = st.tuples(st.just("size"), st.sampled_from(flags), st.booleans())
    return st.one_of(junk, absurd, size, neutral, neutral, same, same, flag, other)


def expect_set(kind: str, original: dict[str, Any], what: str, field: str, value: Any) -> str:
    """``"ok"``, ``"error"`` or ``"either"`` for one mutation (see the module docstring)."""
    if what in ("junk", "absurd", "unknown", "deep", "model_type"):
        return "error"
    if what == "delete":
        return "either"  # the default may or may not equal the saved value
    if what in ("neutral", "same"):
        return "ok"
    # "size": a small int (or a bool for a bool field) of the right type
    if kind == "cast" and field == "context_length":
        return "ok" if value >= 8 and value % original["patch_length"] == 0 else "error"
    if value == original.get(field) and type(value) is type(original.get(field)):
        return "ok"
    return "error" if FIELDS[kind][field][1] == "shape" else "either"


def _apply(cfg: dict[str, Any], original: dict[str, Any], what: str, field: str, value: Any) -> None:
    if what == "same":  # the saved value, written again (absent fields: their default, written out)
        cfg[field] = original[field] if field in original else None
    elif what == "delete":
        cfg.pop(field, None)
    elif what == "unknown":
        cfg[f"{field}_extra"] = value
    elif what == "deep":
        cfg[field] = f"{DEEP}{(17, 40, 1000, 200_000)[value]}"
    elif what == "model_type":
        cfg["model_type"] = (
            "tinycast" if cfg["model_type"] == "tinypulse" else "tinypulse",
            "nope",
            7,
            None,
        )[value]
    else:
        cfg[field] = value


DEEP = "__nested_lists__:"


def _deepen(text: str) -> str:
    """Replace a ``DEEP`` marker by that many nested lists (too deep for ``json.dumps`` to write)."""
    start = text.find(f'"{DEEP}')
    if start < 0:
        return text
    end = text.index('"', start + 1)
    depth = int(text[start + 1 + len(DEEP) : end])
    return text[:start] + "[" * depth + "0" + "]" * depth + text[end + 1 :]


def _combine(outcomes: list[str]) -> str:
    if "error" in outcomes:
        return "error"
    return "either" if "either" in outcomes else "ok"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _check_load(folder: Path, model: TinyModel, expected: str) -> str:
    """Load ``folder``: the saved tensors back exactly, or a clear CheckpointError; nothing else."""
    before = _peak_mb()
    try:
        back = load(folder)
    except CheckpointError as exc:
        grown = _peak_mb() - before
        assert grown < MAX_GROWTH_MB, f"the peak memory grew by {grown:.0f} MB before refusing"
        assert expected != "ok", f"a valid checkpoint was refused: {exc}"
        check_clear_error(exc, CheckpointError)
        return "error"
    grown = _peak_mb() - before
    assert grown < MAX_GROWTH_MB, f"the peak memory grew by {grown:.0f} MB"
    assert expected != "error", f"a checkpoint that must be refused was loaded: {back.config}"
    assert type(back) is type(model)
    saved_state, loaded_state = model.state_dict(), back.state_dict()
    assert list(saved_state) == list(loaded_state)
    for name, tensor in saved_state.items():
        assert torch.equal(tensor, loaded_state[name]), name
    return "ok"


@cases(240)
@given(
    st.sampled_from(["pulse", "cast"]).flatmap(
        lambda kind: st.tuples(
            st.just(kind), st.lists(mutations(kind), min_size=1, max_size=3, unique_by=lambda m: m[1])
        )
    )
)
def test_mutated_config_loads_or_is_refused_clearly(
    tally: Tally,
    saved: Saved,
    work: Path,
    drawn: tuple[str, list[tuple[str, str, Any]]],
) -> None:
    kind, muts = drawn
    source, original, model = saved[kind]
    cfg = json.loads(json.dumps(original))
    for what, field, value in muts:
        _apply(cfg, original, what, field, value)
    expected = _combine([expect_set(kind, original, *m) for m in muts])
    folder = work / "mutated"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(source, folder)
    (folder / "config.json").write_text(_deepen(json.dumps(cfg)))
    tally(_check_load(folder, model, expected))


#: damage to config.json; the first three are harmless rewrites that must still load
TEXT_DAMAGE = ("pad_small", "reindent", "crlf", "truncate", "pad_huge", "garbage", "empty", "nested_deep")
TEXT_DAMAGE = (*TEXT_DAMAGE, "not_object", "bom", "nan_token")
WEIGHT_DAMAGE = ("truncate", "header_length", "swap", "zero", "flip_header_byte", "empty")


@cases(90)
@given(
    st.sampled_from(["pulse", "cast"]),
    st.sampled_from(("text",) * len(TEXT_DAMAGE) + ("weights",) * len(WEIGHT_DAMAGE)),
    st.sampled_from(TEXT_DAMAGE),
    st.sampled_from(WEIGHT_DAMAGE),
    st.integers(0, 2**32),
)
def test_damaged_files_load_or_are_refused_clearly(
    tally: Tally,
    saved: Saved,
    work: Path,
    kind: str,
    target: str,
    text_damage: str,
    weight_damage: str,
    seed: int,
) -> None:
    source, _, model = saved[kind]
    folder = work / "damaged"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(source, folder)
    expected = "error"
    if target == "text":
        text = (source / "config.json").read_text()
        cut = seed % (len(text.rstrip()) - 1)  # drops at least the closing brace
        damaged = {
            "truncate": text[:cut],
            "pad_small": " " * (seed % 5000) + text,
            "pad_huge": text + " " * (1 << 20),
            "garbage": bytes(seed.to_bytes(5, "little")).decode("latin-1") + text,
            "empty": "",
            "nested_deep": "[" * (20 + seed % 200_000) + "]" * (20 + seed % 200_000),
            "not_object": json.dumps([json.loads(text)]),
            "bom": "\ufeff" + text,
            "reindent": json.dumps(json.loads(text), sort_keys=True, indent=seed % 9),
            "crlf": text.replace("\n", "\r\n"),
            "nan_token": text.replace('"dropout": 0.0', '"dropout": NaN'),
        }[text_damage]
        if text_damage in ("pad_small", "reindent", "crlf"):
            expected = "ok"
        if text_damage == "garbage" and not damaged[:5].strip():
            expected = "ok"  # five whitespace characters are not damage
        (folder / "config.json").write_text(damaged, encoding="utf-8")
    else:
        path = folder / "model.safetensors"
        data = path.read_bytes()
        (n,) = struct.unpack("<Q", data[:8])
        other = saved["cast" if kind == "pulse" else "pulse"][0] / "model.safetensors"
        if weight_damage == "truncate":
            data = data[: seed % (len(data) - 1)]
        elif weight_damage == "header_length":
            bad = seed * 7919 % 2**64
            data = struct.pack("<Q", bad if bad != n else n + 1) + data[8:]
        elif weight_damage == "swap":
            data = other.read_bytes()
        elif weight_damage == "zero":
            data = b"\0" * len(data)
        elif weight_damage == "flip_header_byte":
            pos = 8 + seed % n
            flipped = bytes([data[pos] ^ (1 + seed % 255)])
            data = data[:pos] + flipped + data[pos + 1 :]
            expected = "either"  # e.g. a flipped letter in a key that is still valid JSON, or a digit
        else:
            data = b""
        path.write_bytes(data)
    tally(_check_load(folder, model, expected))
