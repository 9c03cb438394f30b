"""Training state on disk without pickle: weights and optimizer tensors in safetensors, the rest JSON.

A run folder holds ``checkpoint/`` (``model.safetensors``, ``optimizer.safetensors``, ``state.json``, and
``ema.safetensors`` when the run keeps a weight average, ``tail.safetensors`` when it keeps a uniform average
of its last steps),
replaced atomically: written to a temporary folder, then renamed over the old one, so a run killed at
any moment leaves either the previous or the new checkpoint, never a half-written one.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

CHECKPOINT = "checkpoint"
#: the weight average's file in the checkpoint folder (runs with ``train.ema_decay`` > 0)
EMA_FILE = "ema.safetensors"
#: the uniform tail average's file (runs with ``train.tail_from`` > 0, once that step is passed)
TAIL_FILE = "tail.safetensors"


def optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimizer state dict into flat tensors and a JSON-able remainder."""
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, pstate in sd["state"].items():
        for key, val in pstate.items():
            if torch.is_tensor(val):
                tensors[f"{pid}.{key}"] = val.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[key] = val
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def load_optimizer_tensors(
    opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> None:
    """Inverse of :func:`optimizer_tensors`."""
    state: dict[int, dict[str, Any]] = {}
    for name, val in tensors.items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = val
    for pid, extra in meta.get("scalars", {}).items():
        state.setdefault(int(pid), {}).update(extra)
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def save_checkpoint(
    run_dir: Path,
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    state: dict[str, Any],
    ema: dict[str, torch.Tensor] | None = None,
    tail: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write the checkpoint folder atomically and return its path (``ema``: the weight average, written
    as ``ema.safetensors`` beside the weights; ``tail``: the uniform tail average, ``tail.safetensors``)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    final = run_dir / CHECKPOINT
    tmp = run_dir / f".{CHECKPOINT}.tmp"
    old = run_dir / f".{CHECKPOINT}.old"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(weights, str(tmp / "model.safetensors"))
    if ema is not None:
        save_file({k: v.contiguous() for k, v in ema.items()}, str(tmp / EMA_FILE))
    if tail is not None:
        save_file({k: v.contiguous() for k, v in tail.items()}, str(tmp / TAIL_FILE))
    tensors, meta = optimizer_tensors(opt)
    save_file(tensors, str(tmp / "optimizer.safetensors"))
    (tmp / "state.json").write_text(json.dumps({**state, "optimizer": meta}, indent=1), encoding="utf-8")
    _fsync_dir(tmp)
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
    # else a previous run died between the two renames and ``old`` is the only complete checkpoint:
    # it is kept until the new one is in place
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(
    run_dir: Path, model: torch.nn.Module, opt: torch.optim.Optimizer | None
) -> dict[str, Any] | None:
    """Restore model (and optimizer) from ``run_dir``; None when there is no checkpoint yet.

    A crash between the two renames of :func:`save_checkpoint` leaves only ``.checkpoint.old``,
    which is then used.
    """
    folder = checkpoint_folder(run_dir)
    if not (folder / "state.json").is_file():
        return None
    state: dict[str, Any] = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    model.load_state_dict(load_file(str(folder / "model.safetensors")), strict=True)
    if opt is not None:
        load_optimizer_tensors(opt, load_file(str(folder / "optimizer.safetensors")), state["optimizer"])
    return state


def checkpoint_folder(run_dir: Path) -> Path:
    """The folder :func:`load_checkpoint` reads (``.checkpoint.old`` after a crash between the renames)."""
    folder = run_dir / CHECKPOINT
    if not folder.exists() and (run_dir / f".{CHECKPOINT}.old").exists():
        folder = run_dir / f".{CHECKPOINT}.old"
    return folder


def load_ema(run_dir: Path) -> dict[str, torch.Tensor] | None:
    """The weight average of the run's checkpoint (``ema.safetensors``), or None if it has none."""
    path = checkpoint_folder(Path(run_dir)) / EMA_FILE
    return load_file(str(path)) if path.is_file() else None


def load_tail(run_dir: Path) -> dict[str, torch.Tensor] | None:
    """The uniform tail average of the run's checkpoint (``tail.safetensors``), or None if it has none."""
    path = checkpoint_folder(Path(run_dir)) / TAIL_FILE
    return load_file(str(path)) if path.is_file() else None


def _fsync_dir(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
