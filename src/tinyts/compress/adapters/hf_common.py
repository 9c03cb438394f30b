"""Shared pieces of the Hugging Face adapters: the optional import, unit groups of attention and MLP
layers, and saving / loading pruned models.

``transformers`` is optional (``pip install 'tinyts[compress]'``); models are only ever read from local
folders (``local_files_only``), nothing is downloaded.

A pruned Hugging Face model is saved as a folder with the original ``config.json`` (unchanged, so the
architecture is still described by its own library), ``model.safetensors`` and
``tinyts_structure.json`` (the pruned shapes and the adapter's options). :func:`load_hf` builds the
full model from the config, applies the shapes, then loads the weights.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tinyts.compress.heads import HeadPlan, plan_heads
from tinyts.compress.session import GateSession
from tinyts.fileio import atomic_files
from tinyts.nn.gates import GatedLinear
from tinyts.nn.sliced import build_linear, linear_record, make_linear
from tinyts.nn.structure import STRUCTURE_VERSION, get_module, set_module

__all__ = ["STRUCTURE_FILE", "load_hf", "require_transformers", "save_hf"]

STRUCTURE_FILE = "tinyts_structure.json"
INSTALL_HINT = "pip install 'tinyts[compress]'  (or: pip install 'transformers>=4.40')"


def require_transformers() -> Any:
    """Import ``transformers`` or raise an ImportError with the install hint."""
    from tinyts.errors import require

    return require("transformers", INSTALL_HINT, "Pruning and distilling Hugging Face models")


# ---------------------------------------------------------------------------------------- groups


def attention_groups(
    session: GateSession,
    prefix: str,
    names: tuple[str, str, str, str],
    heads: int,
    head_dim: int,
) -> None:
    """Unit groups of one attention layer with separate q, k, v, o projections (no rotary).

    ``names`` are the projection attribute names (e.g. ``("q_proj", "k_proj", "v_proj", "out_proj")``).
    """
    q, k, v, o = (session.linear(f"{prefix}.{n}") for n in names)
    inner = heads * head_dim
    ar = torch.arange
    for lin, n in ((q, names[0]), (k, names[1]), (v, names[2])):
        session.group(
            f"{prefix}.{n}.in",
            "in",
            lin.in_features,
            [(lin, "in", ar(lin.in_features), ar(lin.in_features))],
            params_per_unit=inner,
        )
    session.group(
        f"{prefix}.qk", "qk", inner, [(q, "out", ar(inner), ar(inner))], params_per_unit=2 * q.in_features
    )
    session.group(
        f"{prefix}.vo",
        "vo",
        inner,
        [(o, "in", ar(inner), ar(inner))],
        params_per_unit=v.in_features + o.out_features,
    )
    session.group(
        f"{prefix}.heads",
        "heads",
        heads,
        [(o, "in", ar(inner), ar(inner) // head_dim)],
        params_per_unit=head_dim * (2 * q.in_features + v.in_features + o.out_features),
    )
    session.group(
        f"{prefix}.{names[3]}.out",
        "out",
        o.out_features,
        [(o, "out", ar(o.out_features), ar(o.out_features))],
        params_per_unit=inner,
    )


def attention_surgery(
    session: GateSession, prefix: str, names: tuple[str, str, str, str], heads: int, head_dim: int
) -> tuple[HeadPlan, dict[str, Any]]:
    """Shrink the four projections of an attention layer; q/k/v share the widest head's width."""
    alive = {s: session.get(f"{prefix}.{s}").alive for s in ("heads", "qk", "vo")}
    plan = plan_heads(
        alive["heads"],
        alive["qk"].reshape(heads, head_dim),
        alive["vo"].reshape(heads, head_dim),
        shared_width=True,
    )
    qk_rows = plan.qk_index(head_dim, 1)
    v_rows = plan.v_index(head_dim)

    def keep(n: str) -> torch.Tensor:
        return session.get(f"{prefix}.{n}").kept()

    q, k, v, o = (session.linears[f"{prefix}.{n}"] for n in names)
    new = {
        names[0]: make_linear(q.weight, q.bias, rows=qk_rows, in_keep=keep(f"{names[0]}.in")),
        names[1]: make_linear(k.weight, k.bias, rows=qk_rows, in_keep=keep(f"{names[1]}.in")),
        names[2]: make_linear(v.weight, v.bias, rows=v_rows, in_keep=keep(f"{names[2]}.in")),
        names[3]: make_linear(o.weight, o.bias, cols=v_rows, out_keep=keep(f"{names[3]}.out")),
    }
    return plan, _install(session, prefix, new)


def mlp_groups(session: GateSession, prefix: str, ups: tuple[str, ...], down: str) -> None:
    """Groups of an MLP ``down(act(up(x)))`` (several ``ups`` for gated variants, coupled together)."""
    ar = torch.arange
    up_layers = [session.linear(f"{prefix}.{u}") for u in ups]
    dn = session.linear(f"{prefix}.{down}")
    hidden, d_in = up_layers[0].out_features, up_layers[0].in_features
    for lin, u in zip(up_layers, ups, strict=True):
        session.group(
            f"{prefix}.{u}.in", "in", d_in, [(lin, "in", ar(d_in), ar(d_in))], params_per_unit=hidden
        )
    session.group(
        f"{prefix}.hidden",
        "hidden",
        hidden,
        [(dn, "in", ar(hidden), ar(hidden))],
        params_per_unit=(len(ups) * d_in + dn.out_features),
    )
    session.group(
        f"{prefix}.{down}.out",
        "out",
        dn.out_features,
        [(dn, "out", ar(dn.out_features), ar(dn.out_features))],
        params_per_unit=hidden,
    )


def mlp_surgery(session: GateSession, prefix: str, ups: tuple[str, ...], down: str) -> dict[str, Any]:
    hid = session.get(f"{prefix}.hidden").kept()
    new: dict[str, nn.Module] = {}
    for u in ups:
        lin = session.linears[f"{prefix}.{u}"]
        new[u] = make_linear(lin.weight, lin.bias, rows=hid, in_keep=session.get(f"{prefix}.{u}.in").kept())
    dn = session.linears[f"{prefix}.{down}"]
    new[down] = make_linear(dn.weight, dn.bias, cols=hid, out_keep=session.get(f"{prefix}.{down}.out").kept())
    return _install(session, prefix, new)


def _install(session: GateSession, prefix: str, new: dict[str, nn.Module]) -> dict[str, Any]:
    records = {}
    for name, mod in new.items():
        path = f"{prefix}.{name}"
        set_module(session.model, path, mod)
        session.linears.pop(path)
        records[path] = linear_record(mod)
    return records


def check_unpruned(model: nn.Module) -> None:
    for mod in model.modules():
        if isinstance(mod, GatedLinear):
            raise ValueError("the model is already gated by a pruning session")


# ---------------------------------------------------------------------------------------- save / load


def save_hf(
    model: Any,
    path: str | os.PathLike[str],
    adapter: str,
    structure: dict[str, Any] | None,
    options: dict[str, Any],
) -> Path:
    """Write ``config.json``, ``model.safetensors`` and ``tinyts_structure.json``.

    All three are written under temporary names and renamed into place only when every one is
    complete (:func:`tinyts.fileio.atomic_files`), so an interrupted save leaves the previous model
    whole, never a new config beside old weights.
    """
    from safetensors.torch import save_model

    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"version": STRUCTURE_VERSION, "adapter": adapter, "structure": structure, "options": options}
    names = ("config.json", "model.safetensors", STRUCTURE_FILE)
    with atomic_files(*(folder / n for n in names)) as (tmp_config, tmp_weights, tmp_structure):
        model.config.to_json_file(str(tmp_config), use_diff=True)
        save_model(model, str(tmp_weights))
        tmp_structure.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return folder


def apply_hf_structure(model: nn.Module, structure: dict[str, Any], adapter: str) -> None:
    """Reshape a freshly built full model to the recorded pruned shapes."""
    for path, rec in structure.get("linears", {}).items():
        set_module(model, path, build_linear(rec))
    for path, rec in structure.get("attention", {}).items():
        mod: Any = get_module(model, path)
        if adapter == "patchtst":
            mod.num_heads, mod.head_dim = int(rec["num_heads"]), int(rec["head_dim"])
        else:
            from tinyts.compress.adapters.hf_t5 import shrink_t5_attention

            shrink_t5_attention(
                mod, int(rec["n_heads"]), int(rec["kv_dim"]), rec["pruned_heads"], bool(rec["cross"])
            )


def load_hf(path: str | os.PathLike[str]) -> tuple[nn.Module, dict[str, Any]]:
    """A Hugging Face model from a local folder (pruned by tinyts or not) and the adapter options."""
    tf = require_transformers()
    folder = Path(path)
    raw = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    model_type = raw.get("model_type")
    classes = {
        "patchtst": ("PatchTSTConfig", "PatchTSTForPrediction"),
        "t5": ("T5Config", "T5ForConditionalGeneration"),
    }
    if model_type not in classes:
        raise ValueError(f"unknown target: Hugging Face model_type {model_type!r}; supported: patchtst, t5")
    cfg_cls, model_cls = (getattr(tf, n) for n in classes[model_type])
    meta_path = folder / STRUCTURE_FILE
    if not meta_path.is_file():
        return model_cls.from_pretrained(str(folder), local_files_only=True).eval(), {}
    from safetensors.torch import load_model

    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    config = cfg_cls.from_pretrained(str(folder), local_files_only=True)
    model = model_cls(config)
    if meta.get("structure"):
        apply_hf_structure(model, meta["structure"], meta.get("adapter", ""))
        model.tinyts_structure = meta["structure"]
    load_model(model, str(folder / "model.safetensors"), strict=True)
    return model.eval(), dict(meta.get("options") or {})
