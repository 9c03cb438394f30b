"""``search``: similarity search at scale -- embedding throughput, index build, memory, latency, recall.

A corpus of ``N`` synthetic series of 512 points (:func:`tinyts.data.synth.core.synth_ts`, the project's
SynthTS-style generator) is generated and embedded in chunks of :data:`CHUNK` series (bounded memory:
only the ``(N, 192)`` float32 embeddings are kept, never the raw corpus), with the bundled TinyPulse's
register embeddings in their single-pass setting (``shifts=1``: the fast setting for large collections;
the default 16-shift setting costs 16x) at :data:`BATCH` rows per forward pass. The sizes of
:data:`SIZES` are prefixes of one corpus, so the largest is embedded once.

For each size and engine of :class:`~tinyts.tasks.search.retrieve.SimilarityIndex` (``exact`` brute force,
faiss ``hnsw`` and ``ivf`` with the index's default parameters) the suite measures:

- ``fit_seconds``: index build time from the embeddings (for ``exact``: copying the vectors in and
  their norms);
- ``peak_mem_mb``: ``memory`` ``index`` = the index's own size (faiss: its serialised bytes; exact: the
  vectors), ``rss_growth`` = growth of the process' resident memory across the build;
- ``latency_ms``: ``stage`` ``search`` = one query embedding searched alone (k=10), ``embed+search`` = a
  raw 512-point query series embedded (``shifts=1``) and searched; ``quantile`` p50 / p99 over the
  queries;
- ``recall_at_10``: the fraction of the exact top 10 that the engine returns, averaged over the
  queries (1 for ``exact``).

Queries are fresh synthetic series (another seed), not corpus members. ``throughput`` (method
``tinypulse``) is corpus series embedded per second of wall time; ``cpu_series_per_s`` divides by the
process' CPU time instead, and ``foreign_cores`` is the CPU that other processes used meanwhile (the
machine may be shared). Select sizes with ``--datasets 100000`` and engines with ``--methods hnsw``.
"""

from __future__ import annotations

import gc
import os
import time
from typing import Any, cast

import numpy as np

from tinyts.bench.core import BenchContext, Row, SuiteResult
from tinyts.options import SearchMethod

NAME = "search"
DESCRIPTION = (
    "Similarity search at scale on synthetic series: TinyPulse embedding throughput, then exact / "
    "faiss HNSW / faiss IVF index build time, memory, query latency (p50/p99, k=10) and recall@10"
)
#: measured on generated inputs: runs without a data folder
NEEDS_DATA = False

#: corpus sizes (prefixes of one corpus); ``--quick``: :data:`QUICK_SIZES`
SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (2_000,)
ENGINES = ("exact", "hnsw", "ivf")
LENGTH = 512
CHUNK = 8192
BATCH = 64
SHIFTS = 1
K = 10
N_QUERIES, QUICK_QUERIES = 200, 30
#: raw queries embedded and searched end to end (a subset of the queries)
N_E2E = 50
DATASET = "synthetic"
#: the fraction of the true 10 nearest neighbours found
RECALL_METRIC = "recall_at_10"


def _rss_mb() -> float:
    """Resident memory of this process in MB (Linux /proc, else psutil, else NaN)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    try:
        import psutil

        return float(psutil.Process().memory_info().rss) / 2**20
    except ImportError:  # pragma: no cover
        return float("nan")


def _busy_seconds() -> float | None:
    try:
        import psutil
    except ImportError:  # pragma: no cover
        return None
    t = psutil.cpu_times()
    return float(sum(t) - t.idle - getattr(t, "iowait", 0.0))


def embed_corpus(model: Any, n: int, seed: int, progress: bool = True) -> tuple[np.ndarray, dict[str, float]]:
    """Generate and embed ``n`` synthetic series chunk by chunk; ``(n, dim)`` float32 and timings."""
    from tinyts.data.synth.core import synth_ts
    from tinyts.tasks.pulse.embed import embed

    rng = np.random.default_rng(seed)
    out: np.ndarray | None = None
    gen_s = emb_s = cpu_s = 0.0
    busy0, wall0 = _busy_seconds(), time.perf_counter()
    cpu_all0 = time.process_time()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, unit="series", desc="embedding corpus", disable=None)
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        t0 = time.perf_counter()
        x = synth_ts(hi - lo, LENGTH, rng=rng)
        t1, c1 = time.perf_counter(), time.process_time()
        vec = embed(model, x[:, None, :], shifts=SHIFTS, batch_size=BATCH)
        emb_s += time.perf_counter() - t1
        cpu_s += time.process_time() - c1
        gen_s += t1 - t0
        if out is None:
            out = np.empty((n, vec.shape[1]), dtype=np.float32)
        out[lo:hi] = vec
        if bar is not None:
            bar.update(hi - lo)
    if bar is not None:
        bar.close()
    wall = time.perf_counter() - wall0
    busy1 = _busy_seconds()
    own = time.process_time() - cpu_all0
    foreign = float("nan") if busy0 is None or busy1 is None else max(0.0, (busy1 - busy0 - own) / wall)
    assert out is not None
    return out, {"embed_s": emb_s, "cpu_s": cpu_s, "gen_s": gen_s, "foreign_cores": foreign}


def _queries(model: Any, seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    from tinyts.data.synth.core import synth_ts
    from tinyts.tasks.pulse.embed import embed

    raw = synth_ts(n, LENGTH, seed=seed + 1_000_003).astype(np.float64)
    return raw, embed(model, raw[:, None, :], shifts=SHIFTS, batch_size=BATCH)


def _index_mb(index: Any) -> float:
    ann = index._ann
    if ann is None:
        return float(index.vectors.nbytes) / 2**20
    from tinyts.tasks.search.engines import faiss_module

    return float(faiss_module().serialize_index(ann).nbytes) / 2**20


def _latencies(call: Any, n: int) -> np.ndarray:
    out = np.empty(n)
    for i in range(n):
        t0 = time.perf_counter()
        call(i)
        out[i] = (time.perf_counter() - t0) * 1000.0
    return out


def measure_engine(
    engine: SearchMethod,
    vectors: np.ndarray,
    q_vec: np.ndarray,
    q_raw: np.ndarray,
    truth: np.ndarray,
    model: Any,
) -> dict[str, Any]:
    """Build one engine over ``vectors`` and time it; ``truth`` = exact top-k rows of the queries."""
    from tinyts.tasks.pulse.embed import embed
    from tinyts.tasks.search.retrieve import SimilarityIndex

    gc.collect()
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    index = SimilarityIndex(None, method=engine).add_vectors(vectors)
    build_s = time.perf_counter() - t0
    if engine == "exact":  # its squared norms are computed at the first search: part of the build
        t0 = time.perf_counter()
        index.search_vectors(q_vec[:1], K)
        build_s += time.perf_counter() - t0
    rss_growth = _rss_mb() - rss0
    index_mb = _index_mb(index)
    hits = index.search_vectors(q_vec, K)
    recall = float(np.mean([len(set(h) & set(t)) / K for h, t in zip(hits.positions, truth, strict=True)]))
    search_ms = _latencies(lambda i: index.search_vectors(q_vec[i : i + 1], K), len(q_vec))
    n_e2e = min(N_E2E, len(q_raw))

    def end_to_end(i: int) -> None:
        vec = embed(model, q_raw[i], shifts=SHIFTS, batch_size=BATCH)
        index.search_vectors(vec, K)

    e2e_ms = _latencies(end_to_end, n_e2e)
    info = {
        "build_s": build_s,
        "index_mb": index_mb,
        "rss_growth_mb": rss_growth,
        "recall": recall,
        "search_ms": search_ms,
        "e2e_ms": e2e_ms,
        "params": _params(index, len(vectors)),
    }
    return info  # the index is freed on return (the next build starts with gc.collect())


def _params(index: Any, n: int) -> str:
    from tinyts.tasks.search.engines import ivf_params

    if index.engine == "hnsw":
        return f"M={index.hnsw_m}, efConstruction={index.ef_construction}, efSearch={max(index.ef_search, K)}"
    if index.engine == "ivf":
        nlist, nprobe = ivf_params(n, index.nlist, index.nprobe)
        return f"nlist={nlist}, nprobe={nprobe}"
    return "numpy brute force, float64 re-ranking"


def run(ctx: BenchContext) -> SuiteResult:
    """Run the search suite (synthetic data; ``ctx.data_dir`` is not read)."""
    from tinyts.bench.ours import bundled_model
    from tinyts.tasks.search.engines import exact_search

    result = SuiteResult()
    engines = ctx.select_methods(ENGINES, result, NAME)
    sizes = [n for n in (QUICK_SIZES if ctx.quick else SIZES) if ctx.wants(str(n)) or ctx.wants(DATASET)]
    if not sizes:
        result.skip(", ".join(ctx.datasets or ()), f"no corpus size selected; sizes: {SIZES}")
        return result
    model = bundled_model("tinypulse")
    threads = _threads()
    corpus, timing = embed_corpus(model, max(sizes), ctx.seed, progress=True)
    n_max = len(corpus)
    extra = {"n": n_max, "length": LENGTH, "batch_size": BATCH, "shifts": SHIFTS}
    result.add(
        Row(
            DATASET,
            "tinypulse",
            "throughput",
            n_max / timing["embed_s"],
            seconds=timing["embed_s"],
            extra={
                **extra,
                "cpu_series_per_s": round(n_max / max(timing["cpu_s"], 1e-9), 1),
                "foreign_cores": round(timing["foreign_cores"], 2),
            },
        )
    )
    q_raw, q_vec = _queries(model, ctx.seed, QUICK_QUERIES if ctx.quick else N_QUERIES)
    notes = []
    for n in sorted(sizes):
        vectors = corpus[:n]
        _, truth = exact_search(vectors, q_vec, K)
        for engine in engines:
            try:
                info = measure_engine(cast(SearchMethod, engine), vectors, q_vec, q_raw, truth, model)
            except Exception as exc:  # e.g. faiss missing: recorded, the other engines still run
                result.skip(f"{engine} n={n}", f"failed: {type(exc).__name__}: {exc}")
                continue
            base = {"n": n}
            result.add(
                Row(DATASET, engine, "fit_seconds", info["build_s"], seconds=info["build_s"], extra=base),
                Row(DATASET, engine, "peak_mem_mb", info["index_mb"], extra={**base, "memory": "index"}),
                Row(
                    DATASET,
                    engine,
                    "peak_mem_mb",
                    info["rss_growth_mb"],
                    extra={**base, "memory": "rss_growth"},
                ),
            )
            for stage, ms in (("search", info["search_ms"]), ("embed+search", info["e2e_ms"])):
                for quantile, q in (("p50", 50), ("p99", 99)):
                    row_extra = {**base, "k": K, "stage": stage, "quantile": quantile}
                    value = float(np.percentile(ms, q))
                    result.add(Row(DATASET, engine, "latency_ms", value, extra=row_extra))
            recall_extra = {**base, "k": K}
            result.add(Row(DATASET, engine, RECALL_METRIC, info["recall"], extra=recall_extra))
            notes.append(
                f"n={n:,} {engine} ({info['params']}): build {info['build_s']:.1f} s, index "
                f"{info['index_mb']:.0f} MB, search p50 {np.percentile(info['search_ms'], 50):.2f} ms / p99 "
                f"{np.percentile(info['search_ms'], 99):.2f} ms, recall@10 {info['recall']:.3f}"
            )
    result.notes += [
        f"Corpus: {n_max:,} synth_ts series of {LENGTH} points (seed {ctx.seed}), generated and embedded in "
        f"chunks of {CHUNK:,}; sizes {sorted(sizes)} are prefixes of it. Embedding: bundled tinypulse "
        f"register embeddings (192-d), shifts={SHIFTS} (one pass; the default 16-shift setting costs 16x), "
        f"{BATCH} rows per forward, torch threads {threads['torch']}, faiss threads {threads['faiss']}. "
        f"Embedding {timing['embed_s']:.0f} s wall ({n_max / timing['embed_s']:.0f} series/s), "
        f"{timing['cpu_s']:.0f} s CPU, generation {timing['gen_s']:.0f} s (not counted); other processes "
        f"used {timing['foreign_cores']:.2f} cores on average meanwhile.",
        f"Queries: {len(q_vec)} fresh synth_ts series (another seed); search latency = one query vector "
        f"per call, k={K}; embed+search = {min(N_E2E, len(q_raw))} raw series embedded (shifts={SHIFTS}) "
        "and searched, one per call. recall_at_10 = overlap with the exact top 10, averaged over queries.",
        *notes,
    ]
    return result


def _threads() -> dict[str, Any]:
    import torch

    try:
        from tinyts.tasks.search.engines import faiss_module

        faiss_threads: Any = faiss_module().omp_get_max_threads()
    except ImportError:
        faiss_threads = "n/a (faiss not installed)"
    return {"torch": torch.get_num_threads(), "faiss": faiss_threads or os.environ.get("OMP_NUM_THREADS")}
