"""Sliding windows, stitching, LTSF borders and the train-split scaler."""

from __future__ import annotations

import numpy as np
import pytest

from tinyts.data.windows import (
    Scaler,
    fit_scaler,
    ltsf_borders,
    sliding_windows,
    split_and_scale,
    stitch,
    window_starts,
)


@pytest.mark.parametrize(
    ("n_time", "length", "stride"), [(100, 10, 1), (100, 10, 3), (100, 10, 10), (37, 8, 5)]
)
def test_window_starts_cover_the_series(n_time: int, length: int, stride: int) -> None:
    starts = window_starts(n_time, length, stride)
    assert starts[0] == 0 and starts[-1] == n_time - length
    assert np.all(np.diff(starts) > 0) and np.all(np.diff(starts) <= stride)
    covered = np.zeros(n_time, dtype=bool)
    for s in starts:
        covered[s : s + length] = True
    assert covered.all()


def test_window_starts_short_series_and_validation() -> None:
    assert window_starts(5, 10, 3).tolist() == [0]
    assert window_starts(10, 10, 3).tolist() == [0]
    assert window_starts(12, 10, 5).tolist() == [0, 2]
    for bad in ((0, 5, 1), (10, 0, 1), (10, 5, 0), (10, 5, 1.5)):
        with pytest.raises(ValueError, match="positive int"):
            window_starts(*bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("stride", [1, 4, 7, 16])
def test_sliding_windows_values_and_layout(stride: int) -> None:
    x = np.arange(2 * 3 * 50, dtype=float).reshape(2, 3, 50)
    w, starts = sliding_windows(x, 16, stride)
    assert w.shape == (len(starts), 2, 3, 16)
    for i, s in enumerate(starts):
        np.testing.assert_array_equal(w[i], x[..., s : s + 16])


def test_sliding_windows_is_a_read_only_view_when_regular() -> None:
    x = np.arange(40.0)
    w, starts = sliding_windows(x, 8, 4)  # 0, 4, ..., 32: regular
    assert np.shares_memory(w, x) and not w.flags.writeable
    assert starts.tolist() == list(range(0, 33, 4))


def test_sliding_windows_rejects_short_input() -> None:
    with pytest.raises(ValueError, match="pad it first"):
        sliding_windows(np.zeros((3, 5)), 8, 1)


@pytest.mark.parametrize("reduce", ["mean", "last", "max"])
@pytest.mark.parametrize(("length", "stride"), [(16, 1), (16, 5), (16, 16), (64, 3), (100, 7)])
def test_stitch_inverts_sliding_windows(reduce: str, length: int, stride: int) -> None:
    x = np.random.default_rng(0).standard_normal((3, 100))
    w, starts = sliding_windows(x, length, stride)
    np.testing.assert_allclose(stitch(w, starts, 100, reduce=reduce), x, rtol=1e-12, atol=1e-12)


def test_stitch_many_windows_both_loop_orders() -> None:
    # more windows than window length (loop over offsets) and fewer (loop over windows)
    x = np.random.default_rng(1).standard_normal(3000).astype(np.float32)
    for length, stride in ((8, 1), (512, 100)):
        w, s = sliding_windows(x, length, stride)
        y = stitch(w, s, x.size)
        assert y.dtype == np.float32
        np.testing.assert_allclose(y, x, rtol=1e-6)


def test_stitch_reductions_on_overlaps() -> None:
    w = np.array([[1.0, 1.0, 1.0], [3.0, 5.0, 3.0]])
    s = np.array([0, 1])
    np.testing.assert_allclose(stitch(w, s, 4, "mean"), [1.0, 2.0, 3.0, 3.0])
    np.testing.assert_allclose(stitch(w, s, 4, "last"), [1.0, 3.0, 5.0, 3.0])
    np.testing.assert_allclose(stitch(w, s, 4, "max"), [1.0, 3.0, 5.0, 3.0])
    # windows given out of order: "last" still means the largest start
    np.testing.assert_allclose(stitch(w[::-1], s[::-1], 4, "last"), [1.0, 3.0, 5.0, 3.0])
    gap = stitch(np.ones((2, 2)), np.array([0, 4]), 6)
    assert np.isnan(gap[2:4]).all() and (gap[[0, 1, 4, 5]] == 1).all()


def test_stitch_validation() -> None:
    w = np.ones((2, 4))
    with pytest.raises(ValueError, match="reduce"):
        stitch(w, np.array([0, 1]), 5, reduce="median")
    with pytest.raises(ValueError, match="inside"):
        stitch(w, np.array([0, 3]), 5)
    with pytest.raises(ValueError, match="distinct"):
        stitch(w, np.array([1, 1]), 5)
    with pytest.raises(ValueError, match="one entry per window"):
        stitch(w, np.array([0]), 5)


def test_ett_borders_match_published_splits() -> None:
    # tspulse.md 4.3: ETTh test rows 11520-14400, ETTm 46080-57600; 12/4/4 months of 30 days.
    h = ltsf_borders("ETTh1", 17420, context=512)
    assert h == {"train": (0, 8640), "val": (8640 - 512, 11520), "test": (11520 - 512, 14400)}
    m = ltsf_borders("ETTm2", 69680, context=512)
    assert m == {"train": (0, 34560), "val": (34560 - 512, 46080), "test": (46080 - 512, 57600)}
    assert ltsf_borders("etth2", 14400, context=0)["test"] == (11520, 14400)
    with pytest.raises(ValueError, match="14400 rows"):
        ltsf_borders("ETTh1", 14000)


def test_other_datasets_use_70_10_20() -> None:
    n = 52696  # weather
    b = ltsf_borders("weather", n, context=96)
    n_train, n_test = int(0.7 * n), int(0.2 * n)
    assert b["train"] == (0, n_train)
    assert b["val"] == (n_train - 96, n - n_test)
    assert b["test"] == (n - n_test - 96, n)
    # ETT-like names that are not ETT use 70/10/20 too
    assert ltsf_borders("ETTx_custom", 1000, context=0)["train"] == (0, 700)
    with pytest.raises(ValueError, match="too few"):
        ltsf_borders("tiny", 3, context=0)
    with pytest.raises(ValueError, match="context"):
        ltsf_borders("toy", 500, context=512)


def test_scaler_uses_train_rows_only() -> None:
    rng = np.random.default_rng(0)
    n = 1000
    values = np.vstack([rng.normal(5, 2, n), np.full(n, 3.0), rng.normal(0, 1, n)])  # (channels, time)
    values[:, 800:] += 100.0  # the test part is far off: it must not leak into the statistics
    values[0, 10] = np.nan
    out = split_and_scale(values, "toy", context=0)
    train = values[:, :700]
    np.testing.assert_allclose(out["mean"], np.nanmean(train, axis=1))
    assert out["std"][1] == 1.0  # constant channel: std floored to 1, no division by zero
    assert np.all(np.isfinite(out["train"][1])) and np.allclose(out["train"][1], 0.0)
    np.testing.assert_allclose(np.nanmean(out["train"], axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.nanstd(out["train"][[0, 2]], axis=1), 1.0)
    assert out["test"].shape == (3, 200) and out["val"].shape == (3, 100)
    assert np.isnan(out["train"][0, 10])
    scaler = Scaler(mean=out["mean"], std=out["std"])
    np.testing.assert_allclose(scaler.inverse_transform(out["test"]), values[:, 800:])


def test_scaler_channel_axis_and_errors() -> None:
    sc = fit_scaler(np.array([[0.0, 2.0], [10.0, 30.0]]))  # (channels, time)
    np.testing.assert_allclose(sc.mean, [1.0, 20.0])
    np.testing.assert_allclose(sc.std, [1.0, 10.0])
    x = np.array([[[1.0, 3.0], [20.0, 40.0]]])  # (batch, channels, time)
    np.testing.assert_allclose(sc.transform(x, channel_axis=1), [[[0.0, 2.0], [0.0, 2.0]]])
    with pytest.raises(ValueError, match="channels"):
        sc.transform(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="no observed"):
        fit_scaler(np.array([[np.nan, np.nan], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="inf"):
        fit_scaler(np.array([[np.inf, 1.0]]))
