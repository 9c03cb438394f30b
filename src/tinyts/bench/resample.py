"""Paired bootstrap of a geometric mean of relative errors: how sure a ranking of candidates is.

Export gates compare a few checkpoints on validation sets of 20-170 cases each (``pretrain_ablation``);
checkpoints a few thousand steps apart differ by about 1 % in the geometric mean of relative MASE, which
is the size of the noise of such sets. :func:`gmean_ratio_bootstrap` resamples the cases of every set
(with replacement, the same draw for every method: paired) and recomputes each method's geometric mean
over the sets of ``mean(method's errors) / mean(reference's errors)``, the statistic the gate reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from tinyts.bench.core import Row, SuiteResult

__all__ = [
    "BOOTSTRAP_SAMPLES",
    "add_bootstrap_rows",
    "gmean_ratio",
    "gmean_ratio_bootstrap",
    "p_lower",
    "pool_small_sets",
]

#: resamples of the gate's bootstrap
BOOTSTRAP_SAMPLES = 2000


def gmean_ratio_bootstrap(
    cases: Mapping[str, Mapping[str, np.ndarray]],
    reference: str,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Bootstrap replicates of every method's geometric mean (over sets) of its relative error.

    Parameters
    ----------
    cases : mapping
        ``{set: {method: (n_cases,) errors}}``, every method of a set scored on the same cases in the
        same order, ``reference`` among them; NaN marks a case left out (for every method alike: the
        reference's NaN cases are left out of every method's mean).
    reference : str
        The method whose mean error divides the others' (seasonal naive in the gates).
    samples : int
        Bootstrap replicates.
    seed : int
        Seed of the case draws.

    Returns
    -------
    dict
        ``{method: (samples,) replicates}`` for every method but ``reference`` found in every set; the
        point estimate (no resampling) is not included.

    Raises
    ------
    ValueError
        A set without the reference, or methods of one set with different numbers of cases.
    """
    rng = np.random.default_rng(seed)
    return _gmean_over_sets(cases, reference, lambda n: rng.integers(0, n, size=(samples, n)))


def gmean_ratio(cases: Mapping[str, Mapping[str, np.ndarray]], reference: str) -> dict[str, float]:
    """The point estimate that :func:`gmean_ratio_bootstrap` resamples: every method's geometric mean over
    the sets of ``mean(method's errors) / mean(reference's errors)`` (the same cases left out)."""
    reps = _gmean_over_sets(cases, reference, lambda n: np.arange(n)[None, :])
    return {m: float(v[0]) for m, v in reps.items()}


def _gmean_over_sets(
    cases: Mapping[str, Mapping[str, np.ndarray]],
    reference: str,
    draw: Callable[[int], np.ndarray],
) -> dict[str, np.ndarray]:
    """Each method's geometric mean of mean-error ratios for every row of case indices ``draw(n)`` gives
    (``(replicates, n)`` indices into the ``n`` kept cases of a set)."""
    methods: set[str] | None = None
    logs: dict[str, np.ndarray] = {}
    n_sets = 0
    for name in sorted(cases):
        by_method = cases[name]
        if reference not in by_method:
            raise ValueError(f"set {name!r} has no {reference!r} errors to divide by")
        ref = np.asarray(by_method[reference], dtype=np.float64)
        keep = np.isfinite(ref)
        for m, errs in by_method.items():
            if len(errs) != len(ref):
                raise ValueError(f"set {name!r}: {m!r} has {len(errs)} cases, {reference!r} {len(ref)}")
            keep &= np.isfinite(np.asarray(errs, dtype=np.float64))
        n = int(keep.sum())
        if n == 0:
            continue
        idx = draw(n)
        ref_mean = ref[keep][idx].mean(axis=1)
        here = {m for m in by_method if m != reference}
        methods = here if methods is None else methods & here
        for m in here:
            errs = np.asarray(by_method[m], dtype=np.float64)[keep][idx].mean(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                logs[m] = logs.get(m, np.zeros(len(idx))) + np.log(errs / ref_mean)
        n_sets += 1
    if not methods:
        return {}
    return {m: np.exp(logs[m] / n_sets) for m in sorted(methods)}


def pool_small_sets(
    cases: Mapping[str, Mapping[str, np.ndarray]],
    min_cases: int,
    name: str,
    poolable: Callable[[str], bool] = lambda _: True,
) -> dict[str, dict[str, np.ndarray]]:
    """``cases`` with the poolable sets of fewer than ``min_cases`` cases merged into one set ``name``.

    A geometric mean over sets gives a set of 2 cases the weight of one of 300; merged, the small sets
    count once together, each case equally (MASE is scale-free, so cases of different frequencies can share
    a mean). Only methods present in every merged set are kept in the merged one. A lone small set is
    merged too (renamed), so the set names say which rule made them.
    """
    small = [k for k in sorted(cases) if poolable(k) and len(next(iter(cases[k].values()))) < min_cases]
    out = {k: dict(v) for k, v in cases.items() if k not in small}
    if small:
        if name in out:
            raise ValueError(f"a set named {name!r} exists already: choose another name for the pooled set")
        common = set.intersection(*(set(cases[k]) for k in small))
        out[name] = {
            m: np.concatenate([np.asarray(cases[k][m], dtype=np.float64) for k in small])
            for m in sorted(common)
        }
    return out


def p_lower(a: np.ndarray, b: np.ndarray) -> float:
    """Share of paired replicates in which ``a`` is below ``b`` (ties count half)."""
    a, b = np.asarray(a), np.asarray(b)
    return float(np.mean(a < b) + 0.5 * np.mean(a == b))


def add_bootstrap_rows(
    result: SuiteResult,
    cases: Mapping[str, Mapping[str, np.ndarray]],
    reference: str,
    metric: str,
    seed: int,
    what: str,
    p_metric: str = "p_lower_gmean",
) -> None:
    """Rows and notes of :func:`gmean_ratio_bootstrap`, on ``dataset: "all"``.

    Each method's 5 % and 95 % quantiles (``{metric}_p05`` / ``{metric}_p95``, ``metric`` naming the
    point estimate's row, e.g. ``gmean_rel_mase``) and, for every ordered pair, ``p_lower_gmean``: the
    share of replicates in which the method is below ``extra["than"]`` (``p_metric`` names those rows, so
    that two statistics of one run can each have theirs). ``what`` says in the notes what a case is.
    """
    reps = gmean_ratio_bootstrap(cases, reference, BOOTSTRAP_SAMPLES, seed)
    if not reps:
        return
    result.notes.append(
        f"bootstrap of {metric}: the {what} of every dataset resampled {BOOTSTRAP_SAMPLES:,} times (paired: "
        f"the same draw for every method); {p_metric} = share of resamples in which a method's figure is "
        "below the other's"
    )
    names = sorted(reps)
    for m in names:
        lo, hi = np.quantile(reps[m], [0.05, 0.95])
        result.add(Row("all", m, f"{metric}_p05", float(lo)))
        result.add(Row("all", m, f"{metric}_p95", float(hi)))
        result.notes.append(f"bootstrap: {m}: {metric} 90 % interval [{lo:.4f}, {hi:.4f}]")
    for a in names:
        for b in names:
            if a != b:
                result.add(Row("all", a, p_metric, p_lower(reps[a], reps[b]), extra={"than": b}))
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            result.notes.append(f"bootstrap: P({a} < {b}) = {p_lower(reps[a], reps[b]):.3f}")
