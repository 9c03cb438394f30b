"""Pruned shapes of tinyts models: the record kept in the config, and rebuilding from it.

A pruned TinyCast or TinyPulse stores ``config.pruning``::

    {"version": 1,
     "linears": {"blocks.0.qkv": {"in_features": 128, "out_features": 240, "n_in": 97, "n_out": 240,
                                  "bias": true, "gather": true, "scatter": false}, ...},
     "attention": {"blocks.0": {"heads": 3, "qk_width": 16, "v_width": 12}, ...}}

``TinyCast.__init__`` / ``TinyPulse.__init__`` build the full network and then call
:func:`apply_structure`, which swaps in layers of the recorded shapes (values, including the kept
channel indices of sliced layers and the rotary index of pruned heads, come from
``model.safetensors``). So ``tinyts.load(folder)`` returns the small model directly.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from tinyts.nn.sliced import build_linear

__all__ = ["STRUCTURE_VERSION", "apply_structure", "get_module", "set_module"]

STRUCTURE_VERSION = 1


def get_module(root: nn.Module, path: str) -> nn.Module:
    """``root.get_submodule(path)`` with a clear error."""
    try:
        return root.get_submodule(path)
    except AttributeError as exc:
        raise ValueError(f"the model has no sub-module {path!r}") from exc


def set_module(root: nn.Module, path: str, module: nn.Module) -> None:
    """Replace the sub-module at dotted ``path``."""
    parent_path, _, name = path.rpartition(".")
    parent = get_module(root, parent_path) if parent_path else root
    setattr(parent, name, module)


def apply_structure(model: nn.Module, record: dict[str, Any]) -> None:
    """Reshape ``model`` (freshly built at full size) to the pruned shapes in ``record``.

    Raises
    ------
    ValueError
        A record of an unknown version or naming layers the model does not have.
    """
    if not isinstance(record, dict) or record.get("version") != STRUCTURE_VERSION:
        raise ValueError(f"unsupported pruning record (version {record.get('version')!r})")
    attention = record.get("attention", {})
    if attention:
        from tinyts.nn.prunable import make_prunable

        config: Any = getattr(model, "config")  # noqa: B009
        d_model = int(config.d_model)
        for path, rec in attention.items():
            make_prunable(get_module(model, path), d_model, rec["heads"], rec["qk_width"], rec["v_width"])
    for path, rec in record.get("linears", {}).items():
        old = get_module(model, path)
        if not isinstance(old, nn.Linear):
            raise ValueError(f"pruning record names {path}, which is a {type(old).__name__}, not a linear")
        set_module(model, path, build_linear(rec))
