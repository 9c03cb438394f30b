"""Model base: a config dataclass, Hugging Face style folders, and the registry of bundled weights.

A checkpoint is a folder with ``config.json`` (the config dataclass plus ``model_type``) and
``model.safetensors`` (weights only; never pickle). Bundled checkpoints live in
``tinyts/models/weights/<name>/`` and load with no network.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from torch import nn

from tinyts.errors import CheckpointError, ModelTypeError
from tinyts.fileio import atomic_files

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "MODEL_CARD.md"
WEIGHTS_DIR = Path(__file__).parent / "weights"

M = TypeVar("M", bound="TinyModel")

#: model_type -> model class, filled by :func:`register_model`
MODEL_TYPES: dict[str, type[TinyModel]] = {}


def register_model(model_type: str) -> Callable[[type[M]], type[M]]:
    """Class decorator: make a model class loadable by its ``model_type`` string."""

    def wrap(cls: type[M]) -> type[M]:
        cls.model_type = model_type
        MODEL_TYPES[model_type] = cls
        return cls

    return wrap


class TinyModel(nn.Module):
    """Base class of tinyts models: config handling and ``save_pretrained`` / ``from_pretrained``."""

    model_type: ClassVar[str] = ""
    config_class: ClassVar[type[Any]]

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config

    def num_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def save_pretrained(self, path: str | os.PathLike[str], *, card: str | None = None) -> Path:
        """Write ``config.json`` and ``model.safetensors`` (and ``MODEL_CARD.md`` if given) atomically."""
        from safetensors.torch import save_file

        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        config = {"model_type": self.model_type, **dataclasses.asdict(self.config)}
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        # every file is complete under a temporary name before any is renamed into place, so a failed
        # save never pairs a new config with old weights, or a model with another model's card
        names = [CONFIG_NAME, WEIGHTS_NAME] + ([CARD_NAME] if card is not None else [])
        with atomic_files(*(folder / n for n in names)) as (tmp_config, tmp_weights, *tmp_card):
            tmp_config.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
            save_file(state, str(tmp_weights), metadata={"model_type": self.model_type})
            os.chmod(tmp_weights, 0o644)  # shipped weights must be readable by everyone, whatever the umask
            for tmp in tmp_card:
                tmp.write_text(card or "", encoding="utf-8")
        return folder

    @classmethod
    def from_pretrained(cls: type[M], path: str | os.PathLike[str]) -> M:
        """Load a model from a folder written by :meth:`save_pretrained` (or a bundled name)."""
        model = load(path)
        if not isinstance(model, cls):
            raise CheckpointError(
                f"{path} holds a {type(model).__name__} ({model.model_type!r}), not a {cls.__name__}"
            )
        return model


def bundled_names() -> list[str]:
    """Names of the checkpoints shipped inside the package."""
    if not WEIGHTS_DIR.is_dir():
        return []
    return sorted(p.name for p in WEIGHTS_DIR.iterdir() if (p / CONFIG_NAME).is_file())


def resolve_checkpoint(name_or_path: str | os.PathLike[str]) -> Path:
    """A bundled name (``"tinypulse"``) or a local folder, as a folder path; clear error otherwise."""
    raw = os.fspath(name_or_path)
    bundled = WEIGHTS_DIR / raw
    if "/" not in raw and os.sep not in raw and (bundled / CONFIG_NAME).is_file():
        return bundled
    folder = Path(raw).expanduser()
    if folder.is_dir():
        return folder
    names = bundled_names()
    raise CheckpointError(
        f"unknown model {raw!r}: not a bundled name ({', '.join(names) or 'none bundled yet'}) "
        "and not a folder with config.json and model.safetensors"
    )


def read_config(folder: Path) -> dict[str, Any]:
    """Read and check ``config.json`` of a checkpoint folder.

    The file must be at most 1 MiB and nested at most 16 levels (see :mod:`tinyts.models.checks`), an
    object with a string ``model_type``.

    Raises
    ------
    CheckpointError
        Missing, too large, too deep, not valid JSON, or without ``model_type``.
    """
    from tinyts.models.checks import read_json_capped

    cfg_path = folder / CONFIG_NAME
    if not cfg_path.is_file():
        raise CheckpointError(f"{folder} has no {CONFIG_NAME}: not a tinyts checkpoint folder")
    try:
        raw = read_json_capped(cfg_path, str(cfg_path))
    except OSError as exc:
        raise CheckpointError(f"{cfg_path} could not be read ({exc})") from exc
    if not isinstance(raw, dict) or "model_type" not in raw:
        raise CheckpointError(f"{cfg_path} has no 'model_type' field")
    if not isinstance(raw["model_type"], str):
        raise CheckpointError(
            f"{cfg_path}: model_type must be a string such as 'tinypulse', got {raw['model_type']!r}"
        )
    return raw


def load(name_or_path: str | os.PathLike[str]) -> TinyModel:
    """Load a tinyts model by bundled name or from a local folder, offline.

    Parameters
    ----------
    name_or_path : str or path
        A bundled name (see :func:`bundled_names`) or a folder with ``config.json`` and
        ``model.safetensors``.

    Returns
    -------
    TinyModel
        The model in eval mode.

    Raises
    ------
    CheckpointError
        Unknown name, missing or corrupt files, a config with fields of the wrong type or out of
        bounds, or weights that do not match the config.

    Notes
    -----
    Nothing is allocated before the config is validated and the weights header agrees with it: field
    types and bounds are checked, the ``model.safetensors`` header (not the tensors) is read, and the
    model is first built on the ``meta`` device to compare tensor names and shapes; see
    :mod:`tinyts.models.checks`.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from tinyts.models.checks import (
        check_fields,
        compare_tensors,
        expected_tensors,
        read_safetensors_header,
    )

    folder = resolve_checkpoint(name_or_path)
    raw = read_config(folder)
    model_type = raw.pop("model_type")
    cls = MODEL_TYPES.get(model_type)
    if cls is None:
        import_model_modules()
        cls = MODEL_TYPES.get(model_type)
    if cls is None:
        raise CheckpointError(f"{folder}: unknown model_type {model_type!r}; known: {sorted(MODEL_TYPES)}")
    fields = {f.name for f in dataclasses.fields(cls.config_class)}
    unknown = set(raw) - fields
    if unknown:
        raise CheckpointError(f"{folder / CONFIG_NAME}: unknown config fields {sorted(unknown)}")
    check_fields(model_type, raw, cls.config_class, folder / CONFIG_NAME)
    try:
        config = cls.config_class(**raw)
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise CheckpointError(f"{folder / CONFIG_NAME}: invalid config ({exc})") from exc
    weights = folder / WEIGHTS_NAME
    if not weights.is_file():
        raise CheckpointError(f"{folder} has no {WEIGHTS_NAME}")
    found = read_safetensors_header(weights)
    mismatch = f"{weights} does not match {folder / CONFIG_NAME}"
    try:
        expected = expected_tensors(cls, config)
    except CheckpointError as exc:
        raise CheckpointError(f"{folder / CONFIG_NAME}: {exc}") from exc
    compare_tensors(expected, found, mismatch)
    model = cls(config)
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(
            f"{weights} could not be read ({exc}); the file is corrupt or truncated"
        ) from exc
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{mismatch}: {exc}") from exc
    return model.eval()


#: What each model class is called in error messages, and a bundled name to suggest.
_EXAMPLES = {"TinyPulse": "tinypulse", "TinyCast": "tinycast"}


def resolve(
    model: str | os.PathLike[str] | TinyModel,
    kind: type[M],
    *,
    what: str = "model",
    cache: bool = False,
) -> M:
    """The model ``model`` names (or ``model`` itself), checked to be a ``kind``.

    The one way every entry point (tasks, the command line, the service, export, the estimators and
    the benchmarks) turns a user's ``model`` argument into a model.

    Parameters
    ----------
    model : str, os.PathLike or TinyModel
        A bundled name (``"tinypulse"``, ``"tinycast"``), a checkpoint folder, or a loaded model
        (returned as it is).
    kind : type
        The model class the caller needs (``TinyPulse``, ``TinyCast``, or ``TinyModel`` for any).
    what : str
        The argument's name in error messages (``"model"``, ``"pulse"``, ``"--model"``).
    cache : bool
        Load each folder once per process and share the model (it must then only be read, never
        changed); a folder is reloaded when its weights file changes. For callers that resolve the
        same name again and again (estimators, benchmark methods, distributed workers).

    Returns
    -------
    TinyModel
        The model, an instance of ``kind``, in eval mode when it was loaded here.

    Raises
    ------
    ModelTypeError
        ``model`` is neither a name, a folder nor a model, or is (or names) a model of another kind.
        A ``TypeError``.
    CheckpointError
        Unknown name, missing or corrupt checkpoint files. A ``ValueError``.
    """
    if isinstance(model, (str, os.PathLike)):
        if cache:
            folder = resolve_checkpoint(model)
            weights = folder / WEIGHTS_NAME
            stamp = weights.stat().st_mtime_ns if weights.is_file() else 0
            loaded: object = _load_cached(str(folder.resolve()), stamp)
        else:
            loaded = load(model)
        source = f"{os.fspath(model)!r} holds"
    else:
        loaded, source = model, "got"
    if not isinstance(loaded, kind):
        example = _EXAMPLES.get(kind.__name__)
        hint = f"a bundled name such as {example!r}, " if example else "a bundled name, "
        found = f"a {type(loaded).__name__}" if isinstance(loaded, TinyModel) else type(loaded).__name__
        raise ModelTypeError(
            f"{what} must be a {kind.__name__} ({hint}a checkpoint folder or a loaded model); "
            f"{source} {found}"
        )
    return loaded


@functools.lru_cache(maxsize=8)
def _load_cached(folder: str, stamp: int) -> TinyModel:
    del stamp  # part of the cache key only
    return load(folder)


def import_model_modules() -> None:
    """Import every model module so that its ``register_model`` runs."""
    import importlib

    for mod in (
        "tinyts.models.pulse",
        "tinyts.models.cast",
        "tinyts.models.lens",
        "tinyts.models.frozen",
        "tinyts.models.linear",
    ):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
