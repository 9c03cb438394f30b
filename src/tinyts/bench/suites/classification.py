"""``classification``: TRAIN -> TEST accuracy on every UCR and UEA problem of the data folder.

Methods are :data:`METHODS` (method name -> factory ``seed -> classifier`` with ``fit``/``predict``):
the peers of :mod:`tinyts.bench.peers.classifiers` (aeon's MiniRocket, MultiRocket, Hydra-MultiRocket
and 1-NN Euclidean), which see the same prepared arrays (NaN linearly interpolated, unequal lengths
zero-padded to the longest case of either split, series shorter than 9 points padded to 9 for aeon),
and :class:`tinyts.PulseClassifier` by method (:data:`PULSE_METHODS`): ``tinypulse`` is the default
method, the others are ``tinypulse_<method>``; they read the cases as given.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, ClassVar

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from tinyts.bench.core import BenchContext, Row, SuiteResult, timer
from tinyts.bench.ours import bundled_model
from tinyts.bench.peers.classifiers import (
    CLASSIFIERS,
    MINIROCKET_MIN_LENGTH,
    AeonConvolutionPeer,
    ClassifierFactory,
    prepare_splits,
    warm_up_minirocket,
)
from tinyts.bench.peers.detectors import NotApplicable
from tinyts.options import ClassifyMethod

NAME = "classification"
DESCRIPTION = (
    "UCR/UEA TRAIN -> TEST accuracy and fit/predict seconds of TinyPulse (hybrid with MiniRocket, frozen "
    "features, TSLens fine-tuning and its pooling ablation), aeon MiniRocket, MultiRocket, "
    "Hydra-MultiRocket and 1-NN Euclidean on every classification problem found in the data folder"
)
#: reads the data folder (--data-dir / $TINYTS_DATA)
NEEDS_DATA = True


class PulseMethod:
    """Suite method: :class:`tinyts.PulseClassifier` from the bundled TinyPulse with one ``method``.

    It takes the problem's cases as read (``raw_input``: NaN as missing, unequal lengths as a list),
    because the classifier resamples each case on its own length; fit sees TRAIN only.
    """

    raw_input = True
    #: extra keyword arguments of PulseClassifier (empty: its defaults; tests shorten TSLens here)
    options: ClassVar[dict[str, Any]] = {}

    def __init__(self, seed: int, method: ClassifyMethod, **kwargs: Any) -> None:
        self.seed = seed
        self.method = method
        self.kwargs = kwargs
        self._clf: Any = None

    def fit(self, X: Any, y: np.ndarray) -> PulseMethod:
        from tinyts.tasks.classify.api import PulseClassifier

        opts = {**self.kwargs, **(self.options if self.method == "tslens" else {})}
        self._clf = PulseClassifier(bundled_model("tinypulse"), method=self.method, seed=self.seed, **opts)
        self._clf.fit(X, y)
        return self

    def predict(self, X: Any) -> np.ndarray:
        if self._clf is None:
            raise RuntimeError("call fit before predict")
        return np.asarray(self._clf.predict(X))


def _pulse(method: ClassifyMethod, **kwargs: Any) -> ClassifierFactory:
    def factory(seed: int) -> PulseMethod:
        return PulseMethod(seed, method, **kwargs)

    return factory


#: tinyts methods: ``tinypulse`` = PulseClassifier's default method, the others by name
PULSE_METHODS: dict[str, ClassifierFactory] = {
    "tinypulse": _pulse("hybrid"),
    "tinypulse_frozen": _pulse("frozen"),
    "tinypulse_tslens": _pulse("tslens"),
    "tinypulse_avgpool": _pulse("tslens", pooling="avg"),
    "tinypulse_maxpool": _pulse("tslens", pooling="max"),
}

#: method name -> factory; the suite runs them in this order.
METHODS: dict[str, ClassifierFactory] = {**CLASSIFIERS, **PULSE_METHODS}

#: ``--quick``: the smallest problem (by file size) of each archive, at most this many.
QUICK_PROBLEMS = 2


def _quick_subset(problems: list[Any], result: SuiteResult) -> list[Any]:
    def size(p: Any) -> int:
        return int(p.train_path.stat().st_size + p.test_path.stat().st_size)

    chosen: dict[str, Any] = {}
    for p in sorted(problems, key=lambda p: (size(p), p.name)):
        chosen.setdefault(p.archive, p)
    keep = sorted(chosen.values(), key=lambda p: (size(p), p.name))[:QUICK_PROBLEMS]
    left = [p.name for p in problems if p not in keep]
    if left:
        result.skip(f"{len(left)} problems", "not in the --quick subset: " + ", ".join(left))
    return keep


def _run_problem(problem: Any, methods: list[str], seed: int, result: SuiteResult) -> str | None:
    """Fit and score every method on one problem; returns a one-line description for the notes."""
    try:
        train, test = problem.load()
        X_train, X_test, prep = prepare_splits(train.X, test.X)
    except (ValueError, OSError) as exc:
        result.skip(problem.name, f"could not be read: {exc}")
        return None
    y_train, y_test = np.asarray(train.y).astype(str), np.asarray(test.y).astype(str)
    unseen = sorted(set(y_test) - set(y_train))
    if len(set(y_train)) < 2:
        result.skip(problem.name, f"TRAIN has {len(set(y_train))} class; a classifier needs at least 2")
        return None
    if X_train.shape[2] < MINIROCKET_MIN_LENGTH and "minirocket" in methods:
        prep.append(f"zero-padded to {MINIROCKET_MIN_LENGTH} for minirocket")
    extra = {"archive": problem.archive}
    threads = torch.get_num_threads()
    for method in methods:
        # aeon's MiniRocket resets the OpenMP thread count that torch shares (to numba's default): every
        # method starts with the thread count the run began with, so the timings are comparable
        torch.set_num_threads(threads)
        try:
            clf = METHODS[method](seed)
            raw = bool(getattr(clf, "raw_input", False))
            # numpy's BLAS (the ridge classifiers' eigendecompositions) gets the same thread count as
            # torch: its own default is every core, and on a busy machine a 2-thread OpenBLAS eigh of a
            # 270 x 270 matrix took 1 s instead of 10 ms, which timed the machine, not the method
            with threadpool_limits(limits=threads, user_api="blas"):
                with timer() as t_fit:
                    clf.fit(train.X if raw else X_train, y_train)
                with timer() as t_pred:
                    pred = np.asarray(clf.predict(test.X if raw else X_test)).astype(str)
        except NotApplicable as exc:
            result.skip(f"{problem.name} / {method}", str(exc))
            continue
        except Exception as exc:  # a peer failing on one problem must not stop the run; it is recorded
            result.skip(f"{problem.name} / {method}", f"failed: {type(exc).__name__}: {exc}")
            continue
        if pred.shape != y_test.shape:
            reason = f"predicted {pred.shape[0]} labels for {len(y_test)} cases"
            result.skip(f"{problem.name} / {method}", reason)
            continue
        acc = float(np.mean(pred == y_test))
        result.add(
            Row(problem.name, method, "accuracy", acc, t_fit[0] + t_pred[0], dict(extra)),
            Row(problem.name, method, "fit_seconds", t_fit[0], None, dict(extra)),
            Row(problem.name, method, "predict_seconds", t_pred[0], None, dict(extra)),
        )
    classes = len(set(y_train) | set(y_test))
    desc = (
        f"{problem.name} [{problem.archive}, {problem.train_path.suffix}] "
        f"{len(y_train)}/{len(y_test)} cases, "
        f"{X_train.shape[1]}x{X_train.shape[2]}, {classes} classes"
    )
    if unseen:
        prep.append(f"TEST has classes absent from TRAIN: {', '.join(unseen)}")
    return desc + (f" ({'; '.join(prep)})" if prep else "")


def _warm_up_pulse(methods: list[str]) -> None:
    """Fit and predict once on tiny data (imports, first-call set-up) before anything is timed."""
    rng = np.random.default_rng(0)
    y = np.array(["a", "b"] * 5)
    for method in methods:
        for channels in (1, 2):
            X = rng.standard_normal((10, channels, 32))
            METHODS[method](0).fit(X, y).predict(X)


def _mean_notes(result: SuiteResult) -> list[str]:
    acc: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in result.rows:
        if row.metric == "accuracy":
            for group in (f"archive {row.extra['archive']}", "all problems"):
                acc[group][row.method].append(row.value)
    order = sorted(g for g in acc if g.startswith("archive ")) + (["all problems"] if acc else [])
    return [
        f"Mean accuracy, {g}: " + ", ".join(f"{m} {np.mean(v):.4f} (n={len(v)})" for m, v in acc[g].items())
        for g in order
    ]


def run(ctx: BenchContext) -> SuiteResult:
    """Run the classification suite on ``ctx.data_dir``."""
    from tinyts.data.io.discover import find_classification

    result = SuiteResult()
    problems = [p for p in find_classification(ctx.data_dir) if ctx.wants(p.name) or ctx.wants(p.archive)]
    if ctx.quick:
        problems = _quick_subset(problems, result)
    methods = [m for m in METHODS if ctx.wants_method(m)]
    aeon = [m for m in methods if m in AeonConvolutionPeer.CLASSES]
    if aeon or "tinypulse" in methods:
        warm_up_minirocket(names=aeon or ["minirocket"])
    _warm_up_pulse([m for m in methods if m in ("tinypulse", "tinypulse_frozen")])
    described = [d for p in problems if (d := _run_problem(p, methods, ctx.seed, result))]
    result.notes += [
        "Protocol: the official TRAIN/TEST split of each problem, fit on TRAIN, accuracy on TEST; one "
        f"seed ({ctx.seed}, MiniRocket's `random_state`). Rows: `accuracy` (its `seconds` = fit + predict "
        "wall time), `fit_seconds` and `predict_seconds`; extra key `archive`. Every method runs with "
        f"torch's thread count ({torch.get_num_threads()}) for torch and for numpy's BLAS alike.",
        "Preparation shared by every method (as peers.md): NaN linearly interpolated along time, unequal "
        "lengths zero-padded at the end to the longest case of either split; MiniRocket also zero-pads "
        f"series shorter than aeon's minimum of {MINIROCKET_MIN_LENGTH} points.",
        "`minirocket`: aeon `MiniRocketClassifier` defaults (10,000 kernels, RidgeClassifierCV), n_jobs=1; "
        "`multirocket`: aeon `MultiRocketClassifier` defaults; `hydra_multirocket`: aeon "
        "`MultiRocketHydraClassifier` defaults; all seeded, n_jobs=1, numba compiled by a warm-up fit "
        "before any timing. `nn1_euclidean`: scikit-learn "
        "`KNeighborsClassifier(n_neighbors=1, algorithm='brute')` on the flattened series (all channels "
        "concatenated, raw values).",
        "`tinypulse`: `tinyts.PulseClassifier` with its defaults (method='hybrid': frozen TinyPulse "
        "features at 4 layers and 2 input lengths with a ridge, MiniRocket with a ridge, probabilities "
        "averaged 0.2 / 0.8), from the bundled TinyPulse, seeded with the run's seed; `tinypulse_frozen`: "
        "method='frozen' (the TinyPulse features and ridge alone); `tinypulse_tslens`: method='tslens' "
        "(fine-tuning with the TSLens head; early stopping on a stratified 20% of TRAIN, then a refit on "
        "all of TRAIN for that many steps when TRAIN has < 1,000 cases); `tinypulse_avgpool` / "
        "`tinypulse_maxpool`: TSLens with the head over average / max pooled tokens (the pooling "
        "ablation). They read the cases as given: NaN as missing, each case resampled on its own length; "
        "the tinypulse methods that fit in seconds are warmed up once before timing. Single-threaded if "
        "OMP_NUM_THREADS=1.",
        "Timings: wall time on a machine shared with other jobs, so they are indicative only.",
    ]
    if ctx.quick:
        result.notes.append(
            "--quick: the smallest problem (by file size) of each archive, "
            f"at most {QUICK_PROBLEMS} problems."
        )
    result.notes += _mean_notes(result)
    if described:
        result.notes.append("Problems: " + "; ".join(described))
    return result
