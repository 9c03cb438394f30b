"""The on-disk form of a :class:`tinyts.tasks.search.retrieve.SimilarityIndex`: a folder, no pickle.

::

    INDEX/
      config.json       format, version, count, dim, embedding settings, engine and its parameters,
                        the model's name and weight fingerprint (sha256)
      ids.json          the ids, in insertion order (str or int)
      embeddings.npy    (count, dim) float32, written and read with allow_pickle=False
      index.faiss       the faiss index (faiss.write_index), only for the hnsw / ivf engines

Reading checks every piece against ``config.json`` and raises a ``ValueError`` that names the bad file
and says to rebuild the index; a missing folder is a ``FileNotFoundError``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from tinyts.fileio import atomic_file
from tinyts.tasks.search.engines import faiss_module

__all__ = ["FORMAT", "VERSION", "model_fingerprint", "read_folder", "write_folder"]

FORMAT = "tinyts-similarity-index"
VERSION = 1
CONFIG_FILE, IDS_FILE, EMB_FILE, FAISS_FILE = "config.json", "ids.json", "embeddings.npy", "index.faiss"
ENGINES = ("exact", "hnsw", "ivf")


def model_fingerprint(model: Any) -> str:
    """sha256 of a model's weights (names, shapes and bytes): queries must use the index's model."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def _write_json(path: Path, obj: Any) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=1), encoding="utf-8")


def _read_json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise ValueError(
            f"{path.parent} is not a complete similarity index: {path.name} ({what}) is missing; "
            "rebuild it (tinyts search build / SimilarityIndex.save)"
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); the index is corrupt: rebuild it") from exc


def write_folder(folder: Path, config: dict[str, Any], ids: list[Any], vectors: np.ndarray, ann: Any) -> Path:
    """Write an index folder; ``config.json`` goes last, so a folder with a config is complete."""
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} exists and is not a folder; an index is saved as a folder")
    folder.mkdir(parents=True, exist_ok=True)
    old = folder / CONFIG_FILE
    if old.exists():
        old.unlink()  # a crash half-way must not leave an old config next to new files
    faiss_path = folder / FAISS_FILE
    if ann is not None:
        with atomic_file(faiss_path) as tmp:
            faiss_module().write_index(ann, str(tmp))
    elif faiss_path.exists():
        faiss_path.unlink()
    with atomic_file(folder / EMB_FILE) as tmp:
        np.save(tmp, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
    _write_json(folder / IDS_FILE, ids)
    _write_json(old, {"format": FORMAT, "version": VERSION, **config})
    return folder


def read_folder(folder: Path) -> tuple[dict[str, Any], list[Any], np.ndarray, Any]:
    """Read and check an index folder: ``(config, ids, vectors, faiss index or None)``."""
    if not folder.is_dir():
        raise FileNotFoundError(f"no similarity index folder at {folder}")
    cfg = _read_json(folder / CONFIG_FILE, "settings")
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
        raise ValueError(f"{folder / CONFIG_FILE} is not the config of a tinyts similarity index")
    if cfg.get("version") != VERSION:
        raise ValueError(
            f"{folder}: index format version {cfg.get('version')!r} is not supported (this tinyts reads "
            f"version {VERSION}); rebuild the index"
        )
    ids = _read_json(folder / IDS_FILE, "ids")
    emb_path = folder / EMB_FILE
    if not emb_path.is_file():
        raise ValueError(f"{folder} is missing {EMB_FILE}; the index is incomplete: rebuild it")
    try:
        vectors = np.load(emb_path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{emb_path} could not be read ({exc}); the index is corrupt: rebuild it") from exc
    count, dim = cfg.get("count"), cfg.get("dim")
    if not isinstance(ids, list) or len(ids) != count or vectors.shape != (count, dim):
        got = len(ids) if isinstance(ids, list) else type(ids).__name__
        raise ValueError(
            f"{folder}: config.json says {count} series of width {dim}, but {EMB_FILE} is {vectors.shape} "
            f"and {IDS_FILE} holds {got} ids; the index is corrupt: rebuild it"
        )
    if vectors.dtype.kind != "f" or not np.isfinite(vectors).all():
        raise ValueError(f"{emb_path} holds non-finite or non-float values; the index is corrupt: rebuild it")
    if any(isinstance(i, bool) or not isinstance(i, (str, int)) for i in ids) or len(set(ids)) != len(ids):
        raise ValueError(f"{folder / IDS_FILE} holds non-str/int or duplicate ids; the index is corrupt")
    engine = cfg.get("engine")
    if engine not in ENGINES:
        raise ValueError(f"{folder / CONFIG_FILE}: unknown engine {engine!r}; rebuild the index")
    ann = None if engine == "exact" else _read_faiss(folder, engine, len(ids), vectors.shape[1])
    return cfg, ids, np.ascontiguousarray(vectors, dtype=np.float32), ann


def _read_faiss(folder: Path, engine: str, count: int, dim: int) -> Any:
    path = folder / FAISS_FILE
    if not path.is_file():
        raise ValueError(
            f"{folder} is missing {FAISS_FILE} for its {engine} engine; the index is incomplete: rebuild it"
        )
    faiss = faiss_module()
    try:
        ann = faiss.read_index(str(path))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(
            f"{path} could not be read by faiss ({first}); the index is corrupt: rebuild it"
        ) from None
    if ann.ntotal != count or ann.d != dim:
        raise ValueError(
            f"{path} holds {ann.ntotal} vectors of width {ann.d}, config.json {count} of width {dim}; "
            "the index is corrupt: rebuild it"
        )
    return ann
