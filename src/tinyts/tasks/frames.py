"""DataFrame twins of the TinyPulse tasks: imputation, anomaly scores, embeddings, classification, search.

Same conventions as :func:`tinyts.tasks.forecast.api.forecast_df`: a long DataFrame with ``id_col``,
``time_col`` and ``target_col`` (Nixtla naming ``unique_id``, ``ds``, ``y`` by default; several
target columns are the channels of one multivariate series), read once with
:func:`tinyts.data.convert.arrays.df_to_batch`. Internally the rows are sorted by series and time; the
per-row results (:func:`impute_df`, :func:`detect_df`) come back in the input's row order, with the
input's index and columns. Rows are used as consecutive time steps (no ``freq`` regridding, so that
the output has exactly the input's rows).

Each series is processed on its own: series of different lengths in one frame are fine.
:func:`classify_df` and :func:`fit_classifier_df` treat every series of the frame as one case of a
classification problem (one row per series out).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tinyts.data.convert.arrays import Batch, df_to_batch
from tinyts.data.convert.frames import time_key
from tinyts.models.base import resolve
from tinyts.models.pulse import TinyPulse
from tinyts.options import AnomalyMode, EmbedKind
from tinyts.tasks.distributed import engine_of, run_distributed, task_model


def _targets(target_col: str | Sequence[str]) -> list[str]:
    targets = [target_col] if isinstance(target_col, str) else list(target_col)
    if not targets:
        raise ValueError("target_col must name at least one column")
    return targets


def _check(
    model: Any, df: Any, id_col: str | None, time_col: str, targets: list[str], pulse: bool = True
) -> None:
    """Validation with the messages this module promises (ValueError for every data problem).

    ``pulse=False`` skips the TinyPulse check (the classifier functions check their ``clf``).
    """
    if pulse:
        resolve(model, TinyPulse)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}; use the array API instead")
    if len(df) == 0:
        raise ValueError(
            "df is empty (no rows); pass a long DataFrame with one row per series and time "
            f"(columns {id_col!r}, {time_col!r}, {targets})"
        )
    cols = ([id_col] if id_col is not None else []) + [time_col, *targets]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(
            f"DataFrame has no column(s) {missing}; its columns are {list(df.columns)}. "
            "Name the columns with id_col=, time_col=, target_col="
        )
    api = pd.api.types
    for col in targets:
        dt = df[col].dtype
        if api.is_bool_dtype(dt) or not api.is_numeric_dtype(dt) or api.is_complex_dtype(dt):
            raise ValueError(
                f"target column {col!r} has dtype {dt}; values must be real numbers (NaN = missing). "
                f"Convert it first, e.g. df[{col!r}] = pd.to_numeric(df[{col!r}], errors='coerce')"
            )


def _prepare(
    model: Any,
    df: Any,
    id_col: str | None,
    time_col: str,
    target_col: str | Sequence[str],
    min_length: int = 1,
    pulse: bool = True,
) -> tuple[Batch, np.ndarray]:
    """The batch (series in order of first appearance) and the sorting permutation of the rows.

    ``order[j]`` is the input row (position) of the ``j``-th row in (series, time) order, i.e. the
    row order of the concatenated ``batch.source`` arrays.
    """
    targets = _targets(target_col)
    _check(model, df, id_col, time_col, targets, pulse)
    batch = df_to_batch(
        df, id_col=id_col, time_col=time_col, target_col=targets, align="left", min_length=min_length
    )
    # the same ordering df_to_batch uses
    if id_col is not None:
        codes = pd.factorize(df[id_col], sort=False)[0]
    else:
        codes = np.zeros(len(df), dtype=np.int64)
    order = np.lexsort((time_key(df[time_col], time_col), codes))
    return batch, order


def _unsort(sorted_values: np.ndarray, order: np.ndarray) -> np.ndarray:
    out = np.empty_like(sorted_values)
    out[order] = sorted_values
    return out


def _new_column(df: pd.DataFrame, name: str) -> None:
    if name in df.columns:
        raise ValueError(f"df already has a column {name!r}; rename or drop it first")


def _by_length(batch: Batch) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = {}
    for i, n in enumerate(batch.lengths):
        groups.setdefault(int(n), []).append(i)
    return groups


def impute_df(
    model: TinyPulse | str | os.PathLike[str],
    df: pd.DataFrame,
    *,
    id_col: str | None = "unique_id",
    time_col: str = "ds",
    target_col: str | Sequence[str] = "y",
    **kwargs: Any,
) -> pd.DataFrame:
    """Fill the NaN targets of a long DataFrame with TinyPulse reconstructions.

    Parameters
    ----------
    model : TinyPulse, str or path
        E.g. ``tinyts.load("tinypulse")``, or a bundled name / checkpoint folder (loaded once per
        process; the only form a Dask DataFrame or Ray Dataset takes, see :mod:`tinyts.tasks.distributed`).
    df : pd.DataFrame, dask.dataframe.DataFrame or ray.data.Dataset
        Long format with ``id_col``, ``time_col`` and ``target_col``; NaN targets are filled. A Dask
        or Ray frame gives the same engine's frame back (rows partition by partition, values as the
        in-memory call's; pandas index kept by Dask only).
    id_col, time_col, target_col
        Column names (see :func:`tinyts.data.convert.arrays.df_to_batch`); ``id_col=None`` means the whole
        frame is one series; several target columns are the channels of one multivariate series.
    **kwargs
        Options of :func:`tinyts.tasks.pulse.impute.impute` (``stride``, ``batch_size``, ``head``).

    Returns
    -------
    pd.DataFrame
        The input's rows (same order and index) and columns, target NaNs filled (observed values
        untouched), plus a bool column ``imputed`` (one target) or ``<col>_imputed`` per target column,
        True where a value was filled. Time steps missing from a series' rows are not added (the rows
        are taken as consecutive steps, with a warning): :func:`tinyts.data.fill_gaps` inserts them.
        A nullable integer target with missing values comes back as float64.

    Raises
    ------
    TypeError
        A model that is not a TinyPulse, ``df`` not a DataFrame, a non-datetime, non-numeric time column.
    ValueError
        An empty frame, missing columns, non-numeric targets, duplicate ``(id, time)`` rows, a series
        whose target (or one of whose target channels) is entirely NaN, an existing output column.
    """
    from tinyts.tasks.pulse.impute import impute

    if engine_of(df) is not None:
        cols = {"id_col": id_col, "time_col": time_col, "target_col": target_col}
        return run_distributed("impute", model, df, {**cols, **kwargs})
    pulse: TinyPulse = task_model(model, "impute")
    targets = _targets(target_col)
    flags = ["imputed"] if len(targets) == 1 else [f"{c}_imputed" for c in targets]
    if isinstance(df, pd.DataFrame):
        for name in flags:
            _new_column(df, name)
    batch, order = _prepare(pulse, df, id_col, time_col, targets)
    filled: list[np.ndarray] = [np.empty(0)] * batch.n_series
    for _, members in _by_length(batch).items():
        # series of one length are imputed together (each row on its own, as in impute)
        stack = np.stack([batch.source[i] for i in members])  # (k, C, L)
        out = np.asarray(impute(pulse, stack, **kwargs))
        for k, i in enumerate(members):
            filled[i] = out[k]
    sorted_vals = np.concatenate([f.T for f in filled], axis=0)  # (rows, C) in (series, time) order
    values = _unsort(sorted_vals, order)
    result = df.copy()
    for c, col in enumerate(targets):
        missing = result[col].isna().to_numpy()
        if missing.any():
            if not pd.api.types.is_float_dtype(result[col].dtype):
                # a nullable integer column (Int64 ...) cannot hold the filled values: it becomes float64
                # (its observed integers stay exact up to 2**53)
                result[col] = result[col].to_numpy(dtype=np.float64, na_value=np.nan)
            result[col] = result[col].mask(missing, pd.Series(values[:, c], index=result.index))
        result[flags[c]] = missing
    return result


def detect_df(
    model: TinyPulse | str | os.PathLike[str],
    df: pd.DataFrame,
    *,
    mode: AnomalyMode = "ensemble",
    id_col: str | None = "unique_id",
    time_col: str = "ds",
    target_col: str | Sequence[str] = "y",
    threshold: float | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """One anomaly score per row of a long DataFrame, and a flag per row to act on.

    Parameters
    ----------
    model : TinyPulse, str or path
        As in :func:`impute_df`.
    df : pd.DataFrame, dask.dataframe.DataFrame or ray.data.Dataset
        Long format with ``id_col``, ``time_col`` and ``target_col``; NaN targets allowed.
    mode : {"time", "fft", "forecast", "ensemble"}
        Which head(s) score; see :func:`tinyts.tasks.pulse.anomaly.anomaly_scores`.
    id_col, time_col, target_col
        Column names, as in :func:`impute_df`; several targets are scored jointly (one score per row).
    threshold : float, optional
        Flag rule: ``anomaly_flag`` is ``anomaly_score > threshold`` (default
        :data:`tinyts.tasks.pulse.anomaly.DEFAULT_THRESHOLD` robust standard deviations; with
        ``scale="minmax"`` pass a threshold in [0, 1]).
    **kwargs
        Options of :func:`tinyts.tasks.pulse.anomaly.anomaly_scores` (``agg``, ``groups``, ``smooth``,
        ``fuse``, ``batch_size``, ``scale``).

    Returns
    -------
    pd.DataFrame
        The input's rows (same order and index) and columns plus a float column ``anomaly_score``
        (higher = more anomalous; robust standard deviations above the series' typical score unless
        ``scale="minmax"``), scored per series, and a bool column ``anomaly_flag``.

    Raises
    ------
    TypeError, ValueError
        As :func:`impute_df`; also a series with fewer than 2 rows and an unknown ``mode``.
    """
    from tinyts.tasks.pulse.anomaly import DEFAULT_THRESHOLD, anomaly_flags, anomaly_scores

    if engine_of(df) is not None:
        cols = {"id_col": id_col, "time_col": time_col, "target_col": target_col}
        return run_distributed("detect", model, df, {**cols, "mode": mode, "threshold": threshold, **kwargs})
    pulse: TinyPulse = task_model(model, "detect")
    if kwargs.get("scale", "robust") == "minmax" and threshold is None:
        raise ValueError("scale='minmax' scores lie in [0, 1]: pass a threshold in [0, 1] for the flags")
    limit = DEFAULT_THRESHOLD if threshold is None else float(threshold)
    if isinstance(df, pd.DataFrame):
        _new_column(df, "anomaly_score")
        _new_column(df, "anomaly_flag")
    batch, order = _prepare(pulse, df, id_col, time_col, target_col, min_length=2)
    scores = []
    for src in batch.source:  # (C, L), NaN = missing
        x = src[0] if src.shape[0] == 1 else src
        scores.append(np.asarray(anomaly_scores(pulse, x, mode=mode, **kwargs), dtype=np.float64))
    result = df.copy()
    result["anomaly_score"] = _unsort(np.concatenate(scores), order)
    result["anomaly_flag"] = anomaly_flags(result["anomaly_score"].to_numpy(), limit)
    return result


def _series_ids(batch: Batch) -> pd.Index:
    """The input's series ids, one per series in order of first appearance, with the id column's dtype
    (string, categorical, integer, object; ``[0]`` without an id column): one-row-per-series outputs keep
    the input's id dtype, as the long outputs do."""
    ids: pd.Index = batch.ids if batch.ids is not None else pd.Index([0])
    return ids


def embed_df(
    model: TinyPulse | str | os.PathLike[str],
    df: pd.DataFrame,
    *,
    id_col: str | None = "unique_id",
    time_col: str = "ds",
    target_col: str | Sequence[str] = "y",
    kind: EmbedKind = "register",
    **kwargs: Any,
) -> pd.DataFrame:
    """One embedding vector per series of a long DataFrame.

    Parameters
    ----------
    model : TinyPulse, str or path
        As in :func:`impute_df`.
    df : pd.DataFrame, dask.dataframe.DataFrame or ray.data.Dataset
        Long format with ``id_col``, ``time_col`` and ``target_col``; NaN targets allowed.
    id_col, time_col, target_col
        Column names, as in :func:`impute_df`.
    kind : {"register", "detail", "pooled"}
        Embedding kind; see :func:`tinyts.tasks.pulse.embed.embed`.
    **kwargs
        Options of :func:`tinyts.tasks.pulse.embed.embed` (``shifts``, ``channels``, ``batch_size``,
        ``progress``).

    Returns
    -------
    pd.DataFrame
        One row per series, in order of first appearance: ``id_col`` (with the input's id
        dtype; ``"unique_id"`` = 0 when ``id_col`` is None) and ``emb_0 .. emb_{d-1}`` (float32).

    Raises
    ------
    TypeError, ValueError
        As :func:`impute_df`; also a series with fewer than 2 rows and bad ``embed`` options.
    """
    from tinyts.tasks.pulse.embed import embed

    if engine_of(df) is not None:
        cols = {"id_col": id_col, "time_col": time_col, "target_col": target_col}
        return run_distributed("embed", model, df, {**cols, "kind": kind, **kwargs})
    pulse: TinyPulse = task_model(model, "embed")
    batch, _ = _prepare(pulse, df, id_col, time_col, target_col, min_length=2)
    vectors = np.asarray(embed(pulse, list(batch.source), kind=kind, **kwargs))
    frame = pd.DataFrame(vectors, columns=[f"emb_{k}" for k in range(vectors.shape[1])])
    frame.insert(0, id_col or "unique_id", _series_ids(batch))
    return frame


# ------------------------------------------------------------------------------------ classification
def _check_classifier(clf: Any, method: str) -> None:
    if not callable(getattr(type(clf), method, None)):
        raise TypeError(
            f"clf must be a classifier with {method}() (tinyts.PulseClassifier, "
            "tinyts.estimators.TinyPulseClassifier or any scikit-learn / aeon classifier), "
            f"got {type(clf).__name__}"
        )


def _series_labels(df: pd.DataFrame, batch: Batch, labels: Any, id_col: str | None) -> np.ndarray:
    """One label per series of ``batch`` (in its order) from a column name or an id -> label mapping."""
    ids = list(batch.ids) if batch.ids is not None else [0]
    if isinstance(labels, str):
        if labels not in df.columns:
            raise ValueError(
                f"DataFrame has no label column {labels!r}; its columns are {list(df.columns)}. "
                "Pass labels= a column name or a mapping from series id to label"
            )
        keys = df[id_col] if id_col is not None else pd.Series(0, index=df.index)
        per = df[labels].groupby(keys.to_numpy(), sort=False, dropna=False)
        if per.count().lt(per.size()).any():
            raise ValueError(f"label column {labels!r} has missing values; every row needs its series' label")
        varying = per.nunique()
        if (varying > 1).any():
            bad = varying.index[varying.to_numpy() > 1][0]
            raise ValueError(
                f"label column {labels!r} is not constant within series {bad!r}; a series has one label"
            )
        first = per.first()
        return np.asarray([first.loc[i] for i in ids])
    if isinstance(labels, (Mapping, pd.Series)):
        lookup = labels.to_dict() if isinstance(labels, pd.Series) else dict(labels)
        missing = [i for i in ids if i not in lookup]
        if missing:
            raise ValueError(
                f"labels has no entry for {len(missing)} series, e.g. {missing[0]!r}; "
                "give a label for every series id of the frame"
            )
        return np.asarray([lookup[i] for i in ids])
    raise TypeError(
        f"labels must be a column name or a mapping / pd.Series from series id to label, "
        f"got {type(labels).__name__}"
    )


def fit_classifier_df(
    clf: Any,
    df: pd.DataFrame,
    labels: str | Mapping[Any, Any] | pd.Series,
    *,
    id_col: str | None = "unique_id",
    time_col: str = "ds",
    target_col: str | Sequence[str] = "y",
) -> Any:
    """Fit a classifier on a long DataFrame: every series is one case, with one label.

    Parameters
    ----------
    clf : classifier
        E.g. ``tinyts.PulseClassifier(pulse)``, ``tinyts.estimators.TinyPulseClassifier()`` or
        any classifier whose ``fit(X, y)`` takes a list of ``(channels, time)`` arrays.
    df : pd.DataFrame
        Long format with ``id_col``, ``time_col`` and ``target_col``; NaN targets allowed; series may
        differ in length.
    labels : str, mapping or pd.Series
        A column of ``df`` holding each series' label (constant within a series), or a mapping /
        Series from series id to label (every series needs one; extra ids are ignored).
    id_col, time_col, target_col
        Column names, as in :func:`impute_df`; several targets are the channels of each case.

    Returns
    -------
    classifier
        ``clf``, fitted (what ``clf.fit`` returns).

    Raises
    ------
    TypeError, ValueError
        As :func:`impute_df` (``clf`` without ``fit``); also a series with fewer than 2 rows, a
        missing label column, labels missing or varying within a series, a single class.
    """
    _check_classifier(clf, "fit")
    if isinstance(labels, str) and labels in _targets(target_col):
        raise ValueError(f"labels column {labels!r} is also a target column; name the label column")
    batch, _ = _prepare(clf, df, id_col, time_col, target_col, min_length=2, pulse=False)
    y = _series_labels(df, batch, labels, id_col)
    return clf.fit(list(batch.source), y)


def classify_df(
    clf: Any,
    df: pd.DataFrame,
    *,
    id_col: str | None = "unique_id",
    time_col: str = "ds",
    target_col: str | Sequence[str] = "y",
    label_col: str = "label",
) -> pd.DataFrame:
    """Classify every series of a long DataFrame with a fitted classifier.

    Parameters
    ----------
    clf : classifier, str or path
        Fitted, with ``predict_proba`` and ``classes_``: ``tinyts.PulseClassifier``,
        ``tinyts.estimators.TinyPulseClassifier`` or any scikit-learn / aeon style classifier that
        takes a list of ``(channels, time)`` arrays; or the folder of a saved ``PulseClassifier``
        (``clf.save_pretrained(DIR)``, ``tinyts classify fit``), the form Dask and Ray frames take.
    df : pd.DataFrame, dask.dataframe.DataFrame or ray.data.Dataset
        Long format with ``id_col``, ``time_col`` and ``target_col``; NaN targets allowed. The series
        need the channels the classifier was fitted on.
    id_col, time_col, target_col
        Column names, as in :func:`impute_df`; several targets are the channels of each case.
    label_col : str
        Name of the predicted-label column.

    Returns
    -------
    pd.DataFrame
        One row per series, in order of first appearance: ``id_col`` (with the input's id
        dtype; ``"unique_id"`` = 0 when ``id_col`` is None), ``label_col`` (the most probable class)
        and one float column ``proba_<class>`` per class of ``clf.classes_``, in that order (rows sum to 1).

    Raises
    ------
    TypeError, ValueError
        As :func:`impute_df` (``clf`` without ``predict_proba``); also a series with fewer than 2
        rows, an unfitted classifier, a channel count other than at fit time.
    """
    if engine_of(df) is not None:
        cols = {"id_col": id_col, "time_col": time_col, "target_col": target_col, "label_col": label_col}
        return run_distributed("classify", clf, df, cols)
    clf = task_model(clf, "classify")
    _check_classifier(clf, "predict_proba")
    batch, _ = _prepare(clf, df, id_col, time_col, target_col, min_length=2, pulse=False)
    proba = np.asarray(clf.predict_proba(list(batch.source)), dtype=np.float64)
    classes = np.asarray(clf.classes_)
    names = [f"proba_{c}" for c in classes]
    key = id_col or "unique_id"
    if len({key, label_col, *names}) != len(names) + 2:
        raise ValueError(f"output columns {[key, label_col, *names]} repeat a name; choose another label_col")
    frame = pd.DataFrame(proba, columns=names)
    frame.insert(0, label_col, classes[proba.argmax(axis=1)])
    frame.insert(0, key, _series_ids(batch))
    return frame


# ------------------------------------------------------------------------------------ similarity search
def _check_index(index: Any) -> None:
    from tinyts.tasks.search.retrieve import SimilarityIndex

    if not isinstance(index, SimilarityIndex):
        raise TypeError(f"index must be a tinyts SimilarityIndex, got {type(index).__name__}")


def index_df(
    index: Any,
    df: pd.DataFrame,
    *,
    id_col: str | None = "unique_id",
    time_col: str = "ds",
    target_col: str | Sequence[str] = "y",
    progress: bool = False,
) -> Any:
    """Add every series of a long DataFrame to a similarity index, under its series id.

    Parameters
    ----------
    index : tinyts.SimilarityIndex
        The index (its model and embedding settings are used).
    df : pd.DataFrame
        Long format with ``id_col``, ``time_col`` and ``target_col``; NaN targets allowed.
    id_col, time_col, target_col
        Column names, as in :func:`impute_df`; the values of ``id_col`` become the index ids (they
        must not be in the index yet). ``id_col=None``: the frame is one series with the next
        running integer id.
    progress : bool
        Show a progress bar while embedding.

    Returns
    -------
    SimilarityIndex
        ``index``, so that calls chain.

    Raises
    ------
    TypeError, ValueError
        As :func:`impute_df`; also a series with fewer than 2 rows and ids already in the index.
    """
    _check_index(index)
    batch, _ = _prepare(index.model, df, id_col, time_col, target_col, min_length=2)
    vectors = index.embed(list(batch.source), progress=progress)
    ids = None if batch.ids is None else list(batch.ids)
    return index.add_vectors(vectors, ids)


def search_df(
    index: Any,
    df: pd.DataFrame,
    k: int = 10,
    *,
    id_col: str | None = "unique_id",
    time_col: str = "ds",
    target_col: str | Sequence[str] = "y",
) -> pd.DataFrame:
    """The ``k`` nearest indexed series of every series of a long DataFrame.

    Parameters
    ----------
    index : tinyts.SimilarityIndex
    df : pd.DataFrame
        Query series, long format as in :func:`index_df`.
    k : int
        Hits per query, ``1 <= k <= len(index)``.
    id_col, time_col, target_col
        Column names, as in :func:`impute_df`.

    Returns
    -------
    pd.DataFrame
        ``k`` rows per query series, in order of first appearance and nearest first: ``id_col``
        (the query, with the input's id dtype; ``"unique_id"`` = 0 when ``id_col`` is None), ``rank``
        (1-based), ``match_id`` (the indexed series) and ``distance`` (Euclidean, between embeddings).

    Raises
    ------
    TypeError, ValueError
        As :func:`impute_df`; also an empty index and ``k`` out of range.
    """
    _check_index(index)
    batch, _ = _prepare(index.model, df, id_col, time_col, target_col, min_length=2)
    hits = index.search(list(batch.source), k)
    frame = hits.to_frame()
    return pd.DataFrame(
        {
            id_col or "unique_id": _series_ids(batch).take(frame["query"].to_numpy()),
            "rank": frame["rank"].to_numpy(),
            "match_id": frame["id"].to_numpy(),
            "distance": frame["distance"].to_numpy(),
        }
    )
