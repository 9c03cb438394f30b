"""Pre-training recipes (YAML) and the glue that turns one into a model, a batch function and a loss.

Bundled recipes live in ``tinyts/train/recipes/<name>.yaml``; a path to any YAML file of the same
shape works too. A recipe names the model, its config, the objective, the optimisation settings and
the list of data sources (copied into the model card).

An optional ``data`` section takes series from a pre-generated bank instead of generating them every
step (:mod:`tinyts.data.synth.bank`, :func:`tinyts.data.synth.augment.bank_batch`)::

    data:
      bank: {size: 131072, length: 1024, seed: 0}   # + chunk, cache_dir (default ~/.cache/tinyts/banks)
      augment: {reverse_prob: 0.5, mix_prob: 0.2}   # any BankAugment field

The bank holds what the objective's mix (and real corpus) would generate. Without ``data`` a recipe
trains exactly as before (on-the-fly generation).

A recipe may start from another with ``base: <bundled name or path>`` (a relative path is read from
the recipe's own folder) and give only what differs: mappings are merged key by key, at any depth;
any other value, a list such as ``data_sources`` included, replaces the base's. Bases may have bases
of their own; a cycle is an error. The loaded recipe has no ``base`` key and records the chain in
``_bases`` (nearest first)::

    base: tinycast-broad-short
    objective:
      mix: broad_ets          # everything else as in tinycast-broad-short.yaml
"""

from __future__ import annotations

import dataclasses
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from tinyts.train.dist import init_distributed
from tinyts.train.loop import TrainConfig, Trainer

RECIPE_DIR = Path(__file__).parent / "recipes"


def _recipe_path(name_or_path: str | os.PathLike[str], relative_to: Path | None = None) -> Path:
    """The file of a bundled recipe name or of a YAML path (relative paths: to ``relative_to``, else cwd)."""
    raw = os.fspath(name_or_path)
    path = RECIPE_DIR / f"{raw}.yaml"
    if path.is_file():
        return path
    path = Path(raw)
    if relative_to is not None and not path.is_absolute():
        path = relative_to / path
    if path.is_file():
        return path
    known = sorted(p.stem for p in RECIPE_DIR.glob("*.yaml"))
    raise ValueError(f"unknown recipe {raw!r}: not a bundled recipe ({', '.join(known)}) nor a YAML file")


def _merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """``child`` over ``base``: mappings merged key by key at any depth, other values replaced."""
    out = dict(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_recipe(path: Path, chain: tuple[Path, ...]) -> tuple[dict[str, Any], list[str]]:
    """A recipe file with its ``base`` chain resolved; also the chain's files, nearest first."""
    recipe = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(recipe, dict):
        raise ValueError(f"{path}: a recipe is a YAML mapping")
    if "base" not in recipe:
        return recipe, []
    base_name = recipe.pop("base")
    if not isinstance(base_name, str) or not base_name:
        raise ValueError(f"{path}: 'base' names a bundled recipe or a YAML file, got {base_name!r}")
    base_path = _recipe_path(base_name, relative_to=path.parent)
    if base_path.resolve() in chain:
        cycle = " -> ".join(str(p) for p in (*chain, base_path.resolve()))
        raise ValueError(f"{path}: recipe bases form a cycle ({cycle}); remove one 'base' key")
    base, bases = _read_recipe(base_path, (*chain, base_path.resolve()))
    return _merge(base, recipe), [str(base_path), *bases]


def load_recipe(name_or_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a bundled recipe by name, or a YAML file by path; resolve its ``base``; check its sections."""
    path = _recipe_path(name_or_path)
    recipe, bases = _read_recipe(path, (path.resolve(),))
    missing = {"model", "model_config", "objective", "train", "data_sources"} - set(recipe)
    if missing:
        raise ValueError(f"{path}: missing keys {sorted(missing)}")

    recipe["_path"] = str(path)
    if bases:
        recipe["_bases"] = bases
    return recipe


def _fields(cls: type, values: dict[str, Any], where: str) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"recipe section {where!r}: unknown keys {sorted(unknown)}; known: {sorted(names)}")
    return values


def _bank_series(
    data: dict[str, Any], objective: Any, length: int, progress: bool
) -> tuple[Callable[[int, int, np.random.Generator], np.ndarray], dict[str, Any]]:
    """The ``series`` function of a recipe's ``data`` section and its record for the run's meta.

    The bank generates the objective's mix (and real corpus) unless ``data.bank`` names its own;
    ``data.bank.length`` defaults to twice the training window.
    """
    from tinyts.data.synth.augment import BankAugment, bank_batch
    from tinyts.data.synth.bank import BankSpec, open_bank
    from tinyts.data.synth.corpus import resolve_mix

    unknown = set(data) - {"bank", "augment"}
    if unknown or not isinstance(data.get("bank"), dict):
        raise ValueError(
            "recipe section 'data': needs a 'bank' mapping (and optionally 'augment'); "
            f"unknown keys {sorted(unknown)}"
        )
    keys = {
        "length": 2 * length,
        "mix": resolve_mix(objective.mix, objective.real_share),
        "real": objective.real_dir,
        **data["bank"],
    }
    spec = BankSpec(**_fields(BankSpec, keys, "data.bank"))
    if spec.length < length:
        raise ValueError(f"data.bank.length {spec.length} is shorter than a training window ({length})")
    aug = BankAugment(**_fields(BankAugment, dict(data.get("augment") or {}), "data.augment"))
    bank = open_bank(spec, progress=progress)
    record = {
        "bank": spec.identity(),
        "sha256": bank.sha256,
        "augment": dataclasses.asdict(aug),
        "describe": bank.describe(),
    }

    def series(n: int, win: int, rng: np.random.Generator) -> np.ndarray:
        return bank_batch(bank.data, n, win, rng, aug)

    return series, record


#: recipe ``model`` -> (module, model class, config class, objective module, objective class)
_MODELS = {
    "tinypulse": (
        "tinyts.models.pulse",
        "TinyPulse",
        "PulseConfig",
        "tinyts.train.pulse_objective",
        "PulseObjective",
    ),
    "tinycast": (
        "tinyts.models.cast",
        "TinyCast",
        "CastConfig",
        "tinyts.train.cast_objective",
        "CastObjective",
    ),
}


def model_from_meta(meta: dict[str, Any]) -> Any:
    """A freshly initialised model of the kind and config recorded in a run's ``meta``."""
    import importlib

    if meta.get("model") not in _MODELS:
        raise ValueError(
            f"unknown model {meta.get('model')!r} in the run's state; known: {', '.join(_MODELS)}"
        )
    mod_name, model_name, config_name, _, _ = _MODELS[meta["model"]]
    module = importlib.import_module(mod_name)
    return getattr(module, model_name)(getattr(module, config_name)(**meta["model_config"]))


def build_trainer(
    recipe: dict[str, Any], run_dir: str | os.PathLike[str], overrides: dict[str, Any] | None = None
) -> Trainer:
    """Model, objective and :class:`Trainer` for a recipe (``overrides`` update the ``train`` section).

    The model is initialised from ``train.seed``, so a recipe always starts from the same weights.
    """
    import importlib

    import torch

    train_cfg = TrainConfig(**_fields(TrainConfig, {**recipe["train"], **(overrides or {})}, "train"))
    if recipe["model"] not in _MODELS:
        raise ValueError(f"recipe model {recipe['model']!r} is not known; known: {', '.join(_MODELS)}")
    mod_name, model_name, config_name, obj_mod, obj_name = _MODELS[recipe["model"]]
    module = importlib.import_module(mod_name)
    config_cls, objective_cls = (
        getattr(module, config_name),
        getattr(importlib.import_module(obj_mod), obj_name),
    )
    cfg = config_cls(**_fields(config_cls, recipe["model_config"], "model_config"))
    objective = objective_cls(**_fields(objective_cls, recipe["objective"], "objective"))
    meta = {
        "recipe": recipe["_path"],
        "model": recipe["model"],
        "model_config": dataclasses.asdict(cfg),
        "objective": dataclasses.asdict(objective),
        "data_sources": recipe["data_sources"],
    }
    series = None
    if recipe.get("data"):
        window = objective.window_length(cfg) if hasattr(objective, "window_length") else None
        window = window or cfg.context_length + getattr(cfg, "forecast_length", 0)
        info = init_distributed()
        series, meta["data"] = _bank_series(recipe["data"], objective, window, info.is_main)
    # the initial weights are a function of the recipe's seed (without it two fresh runs of one recipe
    # differed, and so did a resumed run from an uninterrupted one started in another process)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(train_cfg.seed)
        model = getattr(module, model_name)(cfg)
    return Trainer(
        model,
        lambda step, rank: objective.batch(step, rank, cfg, series),
        lambda m, batch: objective.loss(m, batch, cfg),
        train_cfg,
        run_dir,
        meta=meta,
    )


def hardware() -> str:
    """One line describing where training ran."""
    import torch

    from tinyts.machine import machine_info

    info = machine_info()
    dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU only"
    return f"{info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, {dev}, {platform.system()}"
