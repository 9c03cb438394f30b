"""Similarity search over TinyPulse embeddings: :class:`SimilarityIndex`.

>>> index = SimilarityIndex(pulse).add(X, ids)          # doctest: +SKIP
>>> hits = index.search(query, k=10)                     # doctest: +SKIP
>>> hits.ids[0], hits.distances[0]                       # doctest: +SKIP

Series are embedded with :func:`tinyts.tasks.pulse.embed.embed` (register embeddings averaged over 16
circular shifts by default; the settings are stored with the index so that queries are embedded the
same way) and compared by Euclidean distance.

Search engines (``method``):

- ``"exact"``: brute force in numpy (no faiss needed); candidates are re-ranked with float64 distances,
  so the results are the exact top ``k`` (ties broken by insertion order).
- ``"hnsw"``: faiss ``IndexHNSWFlat`` (``hnsw_m`` links per node, ``ef_construction``, ``ef_search``);
  vectors can be added at any time.
- ``"ivf"``: faiss ``IndexIVFFlat`` with ``nlist`` lists (default ``4 * sqrt(n)``, trained by k-means on
  a sample of up to ``64 * nlist`` vectors when the index is first built, and again whenever it has
  grown 8-fold since) and ``nprobe`` lists visited per query (default ``max(16, nlist // 32)``).
- ``"auto"`` (default): exact while the index holds at most ``exact_max`` (100,000) series, IVF once it
  grows past that (built from every stored vector at the :meth:`~SimilarityIndex.add` that crosses it).
  IVF rather than HNSW because at 1,000,000 TinyPulse embeddings (``tinyts bench search``, one core) it
  built in 67 s against 386 s, took 743 MB against 992 MB and had recall@10 0.998 against 0.969, for a
  query latency of 2.0 ms against 0.4 ms (see docs/search.md).

The embeddings themselves are always kept (they are the source of truth: exact search, rebuilding,
saving). :meth:`~SimilarityIndex.save` writes a folder: ``config.json`` (settings, model fingerprint),
``ids.json``, ``embeddings.npy`` and, for an approximate index, ``index.faiss`` (faiss's own writer).
Nothing is pickled.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from tinyts.options import EmbedChannels, EmbedKind, SearchMethod, check_choice, choices
from tinyts.tasks.pulse.embed import DEFAULT_BATCH, EmbedConfig, embed
from tinyts.tasks.search.engines import SearchHits, build_hnsw, build_ivf, exact_search, ivf_params
from tinyts.tasks.search.store import model_fingerprint, read_folder, write_folder

__all__ = ["METHODS", "SearchHits", "SimilarityIndex", "exact_search"]

METHODS = choices(SearchMethod)
#: constructor arguments stored in config.json (besides the embedding settings)
SETTINGS = (
    "method",
    "exact_max",
    "hnsw_m",
    "ef_construction",
    "ef_search",
    "nlist",
    "nprobe",
    "batch_size",
    "seed",
)


def _positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _check_ids(ids: Any, n: int, start: int, known: dict[Any, int]) -> list[Any]:
    """Validate new ids (str or int, unique, one per series); default: running integers."""
    if ids is None:
        out: list[Any] = list(range(start, start + n))
        clash = [i for i in out if i in known]
        if clash:
            raise ValueError(f"default ids {clash[0]}... are already used in the index; pass ids explicitly")
        return out
    if isinstance(ids, (str, bytes)):
        raise TypeError("ids must be a sequence with one id per series, not a single string")
    ids_list = [i.item() if isinstance(i, np.generic) else i for i in list(ids)]
    if len(ids_list) != n:
        hint = (
            "; note that a 2-D array is ONE series (channels, time): pass (n_series, 1, time) or a "
            "list of 1-D arrays for many univariate series"
            if n == 1 and len(ids_list) > 1
            else ""
        )
        raise ValueError(f"got {len(ids_list)} ids for {n} series; pass exactly one id per series{hint}")
    for i in ids_list:
        if isinstance(i, bool) or not isinstance(i, (str, int)):
            raise TypeError(f"ids must be str or int (stored as JSON), got {type(i).__name__}: {i!r}")
    counts = Counter(ids_list)
    dupes = [i for i, count in counts.items() if count > 1]
    if dupes:
        raise ValueError(f"duplicate ids among the new ones: {sorted(map(str, set(dupes)))[:5]}")
    clash = [i for i in ids_list if i in known]
    if clash:
        raise ValueError(f"ids already in the index: {[str(c) for c in clash[:5]]}; ids must be unique")
    return ids_list


# ------------------------------------------------------------------------------------- the index


class SimilarityIndex:
    """Nearest-neighbour search over TinyPulse embeddings of time series.

    Parameters
    ----------
    model : TinyPulse or str or None
        The embedding model, or a bundled name / checkpoint folder (loaded when first needed). ``None``
        for an index of precomputed vectors (:meth:`add_vectors` / :meth:`search_vectors` only).
    kind, shifts, channels
        Embedding settings, see :func:`tinyts.tasks.pulse.embed.embed` (defaults: register embedding, 16
        shifts averaged, channels concatenated).
    method : {"auto", "exact", "hnsw", "ivf"}
        Search engine (see the module docstring); ``auto`` = exact up to ``exact_max`` series, then IVF.
    exact_max : int
        Largest size searched exactly by ``method="auto"``.
    hnsw_m, ef_construction, ef_search : int
        HNSW links per node, build-time and query-time beam widths (``ef_search`` is at least ``k``).
    nlist, nprobe : int, optional
        IVF lists and lists visited per query (defaults ``4 * sqrt(n)`` and ``max(16, nlist // 32)``).
    batch_size : int
        Model rows per forward pass when embedding.
    seed : int
        Seed of the IVF training sample.
    """

    def __init__(
        self,
        model: Any = "tinypulse",
        *,
        kind: EmbedKind = "register",
        shifts: int | None = None,
        channels: EmbedChannels = "concat",
        method: SearchMethod = "auto",
        exact_max: int = 100_000,
        hnsw_m: int = 32,
        ef_construction: int = 80,
        ef_search: int = 128,
        nlist: int | None = None,
        nprobe: int | None = None,
        batch_size: int = DEFAULT_BATCH,
        seed: int = 0,
    ) -> None:
        check_choice(method, SearchMethod, "method")
        self.embed_config = EmbedConfig.make(kind, shifts, channels)
        self.method = method
        self.exact_max = _positive_int(exact_max, "exact_max")
        self.hnsw_m = _positive_int(hnsw_m, "hnsw_m", 2)
        self.ef_construction = _positive_int(ef_construction, "ef_construction")
        self.ef_search = _positive_int(ef_search, "ef_search")
        self.nlist = None if nlist is None else _positive_int(nlist, "nlist")
        self.nprobe = None if nprobe is None else _positive_int(nprobe, "nprobe")
        self.batch_size = _positive_int(batch_size, "batch_size")
        self.seed = int(seed)
        self._model: Any = None
        self.model_name: str | None = None
        if isinstance(model, (str, os.PathLike)):
            self.model_name = os.fspath(model)
        elif model is not None:
            self._check_model(model)
            self._model = model
        self.model_fingerprint: str | None = None
        self._vectors = np.empty((0, 0), dtype=np.float32)
        self._ids: list[Any] = []
        self._pos: dict[Any, int] = {}
        self._ann: Any = None
        self._ann_kind: str | None = None
        self._trained_n = 0
        self._norms: np.ndarray | None = None  # squared norms for exact search, computed on demand

    # ---------------------------------------------------------------- properties
    def __len__(self) -> int:
        return len(self._ids)

    def __repr__(self) -> str:
        c = self.embed_config
        return (
            f"SimilarityIndex(n={len(self)}, dim={self.dim}, engine={self.engine!r}, kind={c.kind!r}, "
            f"shifts={c.shifts}, channels={c.channels!r})"
        )

    @property
    def ids(self) -> list[Any]:
        """The ids, in insertion order (a copy)."""
        return list(self._ids)

    @property
    def dim(self) -> int | None:
        """Embedding width, or None while the index is empty."""
        return int(self._vectors.shape[1]) if len(self) else None

    @property
    def vectors(self) -> np.ndarray:
        """The stored embeddings ``(n, dim)`` (read-only view)."""
        v = self._vectors[: len(self)]
        v.flags.writeable = False
        return v

    @property
    def engine(self) -> str:
        """The engine that answers searches now: ``exact``, ``hnsw`` or ``ivf``."""
        if self.method != "auto":
            return self.method
        return "exact" if len(self) <= self.exact_max else "ivf"

    @property
    def model(self) -> Any:
        """The embedding model (loaded on first use when given by name)."""
        if self._model is None:
            if self.model_name is None:
                raise ValueError(
                    "this index has no model (created with model=None): use add_vectors/search_vectors, "
                    "or pass a TinyPulse model or name"
                )
            self._model = self._check_model(self.model_name)
        return self._model

    @staticmethod
    def _check_model(model: Any) -> Any:
        from tinyts.models.base import resolve
        from tinyts.models.pulse import TinyPulse

        return resolve(model, TinyPulse)

    def _fingerprint(self) -> str:
        if self.model_fingerprint is None:
            self.model_fingerprint = model_fingerprint(self.model)
        return self.model_fingerprint

    # ---------------------------------------------------------------- embedding
    def embed(self, x: Any, *, progress: bool = False) -> np.ndarray:
        """Embed ``x`` as the index does (any input :func:`~tinyts.tasks.pulse.embed.embed` accepts)."""
        c = self.embed_config
        vec = embed(
            self.model,
            x,
            kind=c.kind,
            shifts=c.shifts,
            channels=c.channels,
            batch_size=self.batch_size,
            progress=progress,
        )
        self._fingerprint()
        return vec

    # ---------------------------------------------------------------- adding
    def add(self, X: Any, ids: Any = None, *, progress: bool = False) -> SimilarityIndex:
        """Embed series and add them.

        Parameters
        ----------
        X : array-like or list of arrays
            Series as :func:`tinyts.tasks.pulse.embed.embed` accepts them: ``(batch, channels, time)``, a list
            of ``(time,)`` / ``(channels, time)`` arrays of any lengths, or one series (1-D / 2-D).
        ids : sequence of str or int, optional
            One unique id per series (default: running integers from ``len(index)``).
        progress : bool
            Show a progress bar while embedding.

        Returns
        -------
        SimilarityIndex
            ``self``, so that calls chain.
        """
        vectors = self.embed(X, progress=progress)
        return self.add_vectors(vectors, ids)

    def add_vectors(self, vectors: Any, ids: Any = None) -> SimilarityIndex:
        """Add precomputed embeddings ``(n, dim)`` (e.g. from :meth:`embed`) with their ids."""
        v = self._check_vectors(vectors, "vectors")
        new_ids = _check_ids(ids, len(v), len(self), self._pos)
        n0 = len(self)
        if n0 == 0:
            self._vectors = np.empty((max(len(v), 16), v.shape[1]), dtype=np.float32)
        elif len(self._vectors) < n0 + len(v):  # grow geometrically: amortised O(1) appends
            grown = np.empty((max(n0 + len(v), 2 * len(self._vectors)), v.shape[1]), dtype=np.float32)
            grown[:n0] = self._vectors[:n0]
            self._vectors = grown
        self._vectors[n0 : n0 + len(v)] = v
        self._ids.extend(new_ids)
        self._pos.update({i: n0 + j for j, i in enumerate(new_ids)})
        self._norms = None
        self._update_ann(n0)
        return self

    def _check_vectors(self, vectors: Any, name: str) -> np.ndarray:
        v = np.asarray(vectors)
        if v.dtype.kind not in "iuf":
            raise TypeError(f"{name} must be a numeric array, got dtype {v.dtype}")
        if v.ndim == 1:
            v = v[None, :]
        if v.ndim != 2 or v.shape[0] == 0 or v.shape[1] == 0:
            raise ValueError(f"{name} must be a non-empty 2-D array (n, dim), got shape {v.shape}")
        if not np.isfinite(v).all():
            raise ValueError(f"{name} contains NaN or inf; embeddings must be finite")
        if len(self) and v.shape[1] != self.dim:
            raise ValueError(
                f"{name} have width {v.shape[1]} but the index holds width {self.dim}: series must have "
                "the channel count of the indexed ones (with channels='concat') and the same embedding "
                "settings"
            )
        return np.ascontiguousarray(v, dtype=np.float32)

    def _update_ann(self, n_before: int) -> None:
        engine = self.engine
        if engine == "exact":
            self._ann, self._ann_kind = None, None
            return
        regrow = engine == "ivf" and len(self) > 8 * self._trained_n  # lists trained on too few vectors
        if self._ann is not None and self._ann_kind == engine and not regrow:
            self._ann.add(self._vectors[n_before : len(self)])
            return
        self._ann, self._ann_kind = self._build(engine), engine
        self._trained_n = len(self)

    def _build(self, engine: str) -> Any:
        data = self._vectors[: len(self)]
        if engine == "hnsw":
            return build_hnsw(data, self.hnsw_m, self.ef_construction)
        nlist, nprobe = ivf_params(len(data), self.nlist, self.nprobe)
        return build_ivf(data, nlist, nprobe, self.seed)

    # ---------------------------------------------------------------- searching
    def _check_k(self, k: int) -> int:
        if len(self) == 0:
            raise ValueError("the index is empty: add series with index.add(X, ids) before searching")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive int, got {k!r}")
        if k > len(self):
            raise ValueError(f"k={k} exceeds the {len(self)} series in the index; pass k <= {len(self)}")
        return int(k)

    def add_df(self, df: Any, **kwargs: Any) -> SimilarityIndex:
        """Add every series of a long DataFrame under its id: :func:`tinyts.tasks.frames.index_df`."""
        from tinyts.tasks.frames import index_df

        return index_df(self, df, **kwargs)

    def search_df(self, df: Any, k: int = 10, **kwargs: Any) -> Any:
        """Nearest series of each series of a long DataFrame: :func:`tinyts.tasks.frames.search_df`."""
        from tinyts.tasks.frames import search_df

        return search_df(self, df, k, **kwargs)

    def search(self, query: Any, k: int = 10) -> SearchHits:
        """The ``k`` nearest indexed series of each query series.

        Parameters
        ----------
        query : array-like or list of arrays
            Query series in any form :meth:`add` accepts; one series (1-D / 2-D) gives one row of hits.
        k : int
            Hits per query, ``1 <= k <= len(index)``.

        Returns
        -------
        SearchHits
            ``ids`` ``(n_queries, k)``, ``distances`` and ``positions``, nearest first.
        """
        k = self._check_k(k)
        return self.search_vectors(self.embed(query), k)

    def search_vectors(self, vectors: Any, k: int = 10) -> SearchHits:
        """Like :meth:`search`, for precomputed query embeddings ``(n, dim)``."""
        k = self._check_k(k)
        q = self._check_vectors(vectors, "query vectors")
        if self._ann is None:
            data = self._vectors[: len(self)]
            if self._norms is None:
                self._norms = np.einsum("ij,ij->i", data, data)
            dist, pos = exact_search(data, q, k, norms=self._norms)
        else:
            if self._ann_kind == "hnsw":
                self._ann.hnsw.efSearch = max(self.ef_search, k)
            d2, pos = self._ann.search(q, k)
            pos = pos.astype(np.int64)
            dist = np.sqrt(np.maximum(d2, 0.0)).astype(np.float32)
            if (pos < 0).any():  # fewer than k found (tiny IVF lists): fill from exact search
                bad = np.flatnonzero((pos < 0).any(axis=1))
                dist[bad], pos[bad] = exact_search(self._vectors[: len(self)], q[bad], k)
        ids = [[self._ids[p] for p in row] for row in pos.tolist()]
        return SearchHits(ids=ids, distances=dist, positions=pos)

    # ---------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the index to a folder (see :mod:`tinyts.tasks.search.store`); no pickle.

        Returns
        -------
        Path
            The folder.
        """
        if len(self) == 0:
            raise ValueError("the index is empty: add series before saving")
        has_model = self._model is not None or self.model_name is not None
        config = {
            "count": len(self),
            "dim": self.dim,
            "engine": self._ann_kind or "exact",
            "embed": self.embed_config.to_dict(),
            **{key: getattr(self, key) for key in SETTINGS},
            "model": {"name": self.model_name, "fingerprint": self._fingerprint() if has_model else None},
        }
        return write_folder(Path(path), config, self._ids, self._vectors[: len(self)], self._ann)

    @classmethod
    def load(cls, path: str | os.PathLike[str], model: Any = None) -> SimilarityIndex:
        """Read an index written by :meth:`save`.

        Parameters
        ----------
        path : str or Path
            The index folder.
        model : TinyPulse or str, optional
            Model for embedding queries; default: the model named in the index (else the bundled
            ``tinypulse``). Its weights must be those the index was built with (checked by fingerprint).

        Raises
        ------
        FileNotFoundError
            The folder does not exist.
        ValueError
            Missing or corrupt files, or a model whose weights differ from the index's.
        """
        folder = Path(path)
        cfg, ids, vectors, ann = read_folder(folder)
        try:
            emb, meta = cfg["embed"], cfg["model"]
            settings = {key: cfg[key] for key in SETTINGS}
            index = cls(None, kind=emb["kind"], shifts=emb["shifts"], channels=emb["channels"], **settings)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"{folder / 'config.json'} has missing or invalid fields ({exc}); rebuild the index"
            ) from exc
        index._vectors, index._ids = vectors, ids
        index._pos = {i: j for j, i in enumerate(ids)}
        index._ann, index._ann_kind = ann, (cfg["engine"] if ann is not None else None)
        index._trained_n = len(ids)
        index._attach_model(model, meta, folder)
        return index

    def _attach_model(self, model: Any, meta: Any, folder: Path) -> None:
        stored = meta.get("fingerprint") if isinstance(meta, dict) else None
        name = meta.get("name") if isinstance(meta, dict) else None
        self.model_fingerprint = stored
        if model is None and stored is None:
            return  # an index of precomputed vectors
        if model is None:
            model = name or "tinypulse"
        if isinstance(model, (str, os.PathLike)):
            self.model_name = os.fspath(model)
        else:
            self._check_model(model)
            self._model = model
        if stored is not None and model_fingerprint(self.model) != stored:
            raise ValueError(
                f"the model given for {folder} ({self.model_name or type(self.model).__name__}) is not the "
                "one the index was built with (its weights differ), so query embeddings would not be "
                "comparable; pass the original model: SimilarityIndex.load(path, model=...)"
            )
