"""``retrieval``: the TSPulse UCR similarity-search protocol (P@3, AP@3, nDCG@3, MRR@3).

Protocol (granite-tsfm ``notebooks/hfdemo/tspulse/search``: ``ucr_preprocessing.py``, ``datautils.py``,
``benchmark.py``), applied to the univariate UCR problems of the data folder:

- database: every UCR problem whose classes all have at least 10 TRAIN series; 10 TRAIN series drawn
  at random (without replacement) from each class; each series linearly resampled to 512 points and
  z-normalised; all problems pooled in one database;
- queries: one per database series, the series circularly shifted by an integer drawn from
  ``[-round(0.2 * 512), round(0.2 * 512))``, scaled by U(0.8, 1.2), plus Gaussian noise with
  sigma = 10 % of the scaled series' mean absolute value;
- relevance: ``family`` = same problem, ``fine`` = same problem and class; ``n_relevant`` counts
  database items (the query's own source included, as in the reference script);
- top 3 by L2 distance in a faiss index; metrics of :mod:`tinyts.bench.retrieval_metrics`.

Methods are :data:`METHODS`: name -> embedder ``(database, queries, seed) -> (db_vectors,
query_vectors)`` taking ``(n, 512)`` float64 arrays; every method's vectors go into the same kind of
index (``faiss.IndexFlatL2``, exact search).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinyts.bench.core import BenchContext, Row, SuiteResult, timer
from tinyts.bench.ours import pulse_retrieval_embedder
from tinyts.bench.peers.classifiers import minirocket_features
from tinyts.bench.retrieval_metrics import relevance_matrix, retrieval_scores

NAME = "retrieval"
DESCRIPTION = (
    "TSPulse UCR retrieval protocol: distorted copies of 10-per-class UCR TRAIN series as queries, "
    "P@3/AP@3/nDCG@3/MRR@3 at family (problem) and fine (problem+class) level; peers: z-normalised "
    "raw series and MiniRocket features, against TinyPulse embeddings; each in a faiss IndexFlatL2"
)
#: reads the data folder (--data-dir / $TINYTS_DATA)
NEEDS_DATA = True

LENGTH = 512
PER_CLASS = 10
MAX_SHIFT, MAX_SCALE, NOISE_RATIO = 0.2, 0.2, 0.1
K = 3
#: ``--quick``: at most this many problems (smallest files first), this many series per class.
QUICK_PROBLEMS, QUICK_PER_CLASS = 3, 5

Embedder = Callable[[np.ndarray, np.ndarray, int], tuple[np.ndarray, np.ndarray]]


def znorm(X: np.ndarray) -> np.ndarray:
    """Z-normalise each row (population std, as scikit-learn's StandardScaler); constant rows -> 0."""
    mean = X.mean(axis=1, keepdims=True)
    std = X.std(axis=1, keepdims=True)
    return (X - mean) / np.where(std > 0, std, 1.0)


def resample(x: np.ndarray, length: int = LENGTH) -> np.ndarray:
    """Linear resampling of a 1-D series to ``length`` points, as the reference does it.

    Same as ``torch.nn.functional.interpolate(x, length, mode="linear")`` (``align_corners=False``):
    output point ``i`` reads the input at ``(i + 0.5) * len(x) / length - 0.5``, clamped to the ends.
    """
    n = len(x)
    src = np.clip((np.arange(length) + 0.5) * n / length - 0.5, 0.0, n - 1)
    return np.interp(src, np.arange(n), np.asarray(x, dtype=np.float64))


def raw_euclidean(database: np.ndarray, queries: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The z-normalised series themselves as vectors."""
    return znorm(database).astype(np.float32), znorm(queries).astype(np.float32)


def minirocket_embed(database: np.ndarray, queries: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """aeon MiniRocket features (10,000 kernels), fitted without labels on the z-normalised database."""
    db, q = minirocket_features(znorm(database)[:, None, :], znorm(queries)[:, None, :], seed=seed)
    return db, q


#: method name -> embedder; the suite runs them in this order. ``tinypulse``: register embeddings
#: averaged over 16 circular shifts (the default of ``tinyts.tasks.pulse.embed.embed``); ``tinypulse_1pass``:
#: one pass (the fast setting for very large collections); ``tinypulse_detail``: the positional time +
#: FFT token embeddings (one pass); ``tinypulse_pooled``: time tokens of every depth pooled over time
#: (max, min, PPV), standardised, averaged over 2 passes (offsets 0 and half a patch);
#: ``tinypulse_pooled_1pass``: the same in one pass.
METHODS: dict[str, Embedder] = {
    "raw_euclidean": raw_euclidean,
    "minirocket": minirocket_embed,
    "tinypulse": pulse_retrieval_embedder("register", 16),
    "tinypulse_1pass": pulse_retrieval_embedder("register", 1),
    "tinypulse_detail": pulse_retrieval_embedder("detail", 1),
    "tinypulse_pooled": pulse_retrieval_embedder("pooled", 2),
    "tinypulse_pooled_1pass": pulse_retrieval_embedder("pooled", 1),
}


@dataclass
class Database:
    """The pooled retrieval database and its queries."""

    series: list[np.ndarray] = field(default_factory=list)
    family: list[str] = field(default_factory=list)
    fine: list[str] = field(default_factory=list)
    used: list[str] = field(default_factory=list)
    described: list[str] = field(default_factory=list)


def _add_problem(
    db: Database, problem: Any, per_class: int, rng: np.random.Generator, result: SuiteResult
) -> None:
    try:
        train, _ = problem.load()
    except (ValueError, OSError) as exc:
        result.skip(problem.name, f"could not be read: {exc}")
        return
    if train.n_channels != 1:
        result.skip(problem.name, f"{train.n_channels} channels: the protocol uses univariate series only")
        return
    y = np.asarray(train.y).astype(str)
    labels, counts = np.unique(y, return_counts=True)
    small = [f"{lab} ({n})" for lab, n in zip(labels, counts, strict=True) if n < per_class]
    if small:
        result.skip(problem.name, f"classes with fewer than {per_class} TRAIN series: {', '.join(small)}")
        return
    lengths, filled = set(), 0
    for lab in labels:
        for i in rng.choice(np.flatnonzero(y == lab), size=per_class, replace=False):
            x = np.asarray(train.X[i], dtype=np.float64)[0]
            filled += int(np.isnan(x).sum())
            lengths.add(len(x))
            db.series.append(znorm(resample(np.nan_to_num(x, nan=0.0))[None, :])[0])
            db.family.append(problem.name)
            db.fine.append(f"{problem.name}_{lab}")
    db.used.append(problem.name)
    span = f"{min(lengths)}..{max(lengths)}" if len(lengths) > 1 else str(lengths.pop())
    db.described.append(
        f"{problem.name} ({len(labels)} classes x {per_class}, length {span}"
        + (f", {filled} NaN set to 0" if filled else "")
        + ")"
    )


def make_queries(database: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shifted, scaled and noisy copies of the database rows (TSPulse's TransformedSyntheticTestDataset)."""
    length = database.shape[1]
    max_shift = round(length * MAX_SHIFT)
    out = np.empty_like(database)
    for i, x in enumerate(database):
        shifted = np.roll(x, int(rng.integers(-max_shift, max_shift)))
        scaled = shifted * rng.uniform(1.0 - MAX_SCALE, 1.0 + MAX_SCALE)
        noise = np.mean(np.abs(scaled)) * NOISE_RATIO
        out[i] = scaled + noise * rng.standard_normal(length)
    return out


def search(db_vectors: np.ndarray, query_vectors: np.ndarray, k: int = K) -> np.ndarray:
    """Top-``k`` database indices per query from a faiss ``IndexFlatL2`` (exact L2 search)."""
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover
        raise ImportError("the retrieval suite needs faiss: pip install 'tinyts[bench]'") from exc
    db = np.ascontiguousarray(db_vectors, dtype=np.float32)
    q = np.ascontiguousarray(query_vectors, dtype=np.float32)
    if db.ndim != 2 or q.ndim != 2 or db.shape[1] != q.shape[1]:
        raise ValueError(f"vectors must be 2-D with one width, got {db.shape} and {q.shape}")
    index = faiss.IndexFlatL2(db.shape[1])
    index.add(db)
    _, hits = index.search(q, k)
    return np.asarray(hits)


def _rows(method: str, hits: np.ndarray, db: Database, seconds: float, result: SuiteResult) -> None:
    for level, labels in (("family", np.array(db.family)), ("fine", np.array(db.fine))):
        rel, n_rel = relevance_matrix(labels, labels, hits)
        scopes: list[tuple[str, str, np.ndarray]] = [("UCR", "all", np.ones(len(labels), dtype=bool))]
        scopes += [(name, "problem", np.array(db.family) == name) for name in db.used]
        for dataset, queries, mask in scopes:
            scores = retrieval_scores(rel[mask], n_rel[mask], k=K).as_metrics(K)
            for metric, value in scores.items():
                timed = dataset == "UCR" and level == "family" and metric == f"p_at_{K}"
                extra = {"level": level, "queries": queries}
                result.add(Row(dataset, method, metric, value, seconds if timed else None, extra))


def run(ctx: BenchContext) -> SuiteResult:
    """Run the retrieval suite on ``ctx.data_dir``."""
    from tinyts.data.io.discover import find_classification

    result = SuiteResult()
    rng = np.random.default_rng(ctx.seed)
    problems = []
    for p in find_classification(ctx.data_dir):
        if not (ctx.wants(p.name) or ctx.wants(p.archive)):
            continue
        if p.archive != "UCR":
            reason = f"{p.archive} problem: the TSPulse retrieval protocol uses univariate UCR problems"
            result.skip(p.name, reason)
            continue
        problems.append(p)
    per_class = QUICK_PER_CLASS if ctx.quick else PER_CLASS
    if ctx.quick:
        problems.sort(key=lambda p: (p.train_path.stat().st_size, p.name))
        if len(problems) > QUICK_PROBLEMS:
            left = [p.name for p in problems[QUICK_PROBLEMS:]]
            result.skip(f"{len(left)} problems", "not in the --quick subset: " + ", ".join(left))
            problems = problems[:QUICK_PROBLEMS]
    db = Database()
    for p in sorted(problems, key=lambda p: p.name):
        _add_problem(db, p, per_class, rng, result)
    if not db.series:
        result.notes.append("No UCR problem qualified for the retrieval database; nothing was scored.")
        return result
    database = np.stack(db.series)
    queries = make_queries(database, rng)
    timing: list[str] = []
    for method in ctx.select_methods(METHODS, result, NAME):
        try:
            with timer() as t:
                with timer() as t_embed:
                    db_vec, q_vec = METHODS[method](database, queries, ctx.seed)
                hits = search(db_vec, q_vec, K)
        except Exception as exc:  # recorded, not fatal: other methods still run
            result.skip(f"UCR / {method}", f"failed: {type(exc).__name__}: {exc}")
            continue
        _rows(method, hits, db, t[0], result)
        timing.append(
            f"{method} {t_embed[0]:.1f} s ({2 * len(database) / max(t_embed[0], 1e-9):.0f} series/s, "
            f"dim {db_vec.shape[1]})"
        )
    result.notes += [
        "Protocol: TSPulse `search/` scripts (granite-tsfm) on the UCR problems of this data folder instead "
        "of the 129 UCR problems of the paper: a problem enters the database when every class has at least "
        f"{per_class} TRAIN series; {per_class} random TRAIN series per class (seed {ctx.seed}); NaN set "
        f"to 0 (tsfm's `nan_to_num`, as the reference), linearly resampled to {LENGTH} points (torch "
        "`interpolate`, align_corners=False), z-normalised; all problems pooled "
        f"in one database of {len(database)} series from {len(db.used)} problems. Queries: each database "
        f"series circularly shifted by up to {MAX_SHIFT:.0%} of its length, scaled by U({1 - MAX_SCALE:.1f}, "
        f"{1 + MAX_SCALE:.1f}), plus Gaussian noise of {NOISE_RATIO:.0%} of its mean |x| (the source series "
        "stays in the database and counts as relevant, as in the reference script).",
        f"Relevance: `level` family = same problem, fine = same problem and class. Metrics at k={K}: P, AP "
        "(normalised by min(#relevant, k)), nDCG, MRR. Rows with `queries` all = the protocol's figure over "
        "every query (dataset `UCR`); `queries` problem = the queries of one problem, searched in the same "
        "pooled database. The `seconds` field (embedding both sets + index + search) is on the pooled "
        "family `p_at_3` row.",
        "Methods: every method's vectors go into a faiss `IndexFlatL2` (exact search; the reference used "
        "IndexIVFFlat with 20 lists and nprobe 5, an approximation that only matters for large databases). "
        "`raw_euclidean`: the z-normalised series (queries z-normalised too, as a model with instance "
        "normalisation sees them). `minirocket`: aeon `MiniRocket` (10,000 kernels, seed "
        f"{ctx.seed}) fitted without labels on the z-normalised database, PPV features of database and "
        "z-normalised queries, unscaled. `tinypulse`: the bundled TinyPulse's register embeddings (192-d, "
        "zero-shot) averaged over 16 circular shifts of the series (the `embed` default); "
        "`tinypulse_1pass`: the same from a single pass (no shift averaging; the fast setting); "
        "`tinypulse_detail`: the decoder's time + FFT tokens flattened (2,304-d, one pass); "
        "`tinypulse_pooled`: `embed(kind='pooled')`, the time tokens of all 14 depths pooled over time by "
        "max, min and PPV (1,008-d), standardised with fixed statistics of 256 seeded synthetic series, "
        "averaged over 2 passes (offsets 0 and 4 points, half a patch); `tinypulse_pooled_1pass`: one "
        "pass. Shift averaging "
        "makes the embedding nearly invariant to circular shifts, which is exactly the protocol's main "
        "distortion (queries are shifted by up to 20%); MiniRocket's pooled features are shift-invariant "
        "by construction.",
        "Embedding time (database + queries, single process, threads as the machine line says): "
        + ("; ".join(timing) or "none"),
        "Database problems: " + "; ".join(db.described),
    ]
    if ctx.quick:
        result.notes.append(
            f"--quick: at most {QUICK_PROBLEMS} UCR problems (smallest TRAIN files) and {QUICK_PER_CLASS} "
            "series per class (a problem qualifies with that many per class)."
        )
    return result
