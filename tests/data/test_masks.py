"""Seeded block / point / hybrid masks: exact counts, alignment, determinism, validation."""

from __future__ import annotations

import numpy as np
import pytest

from tinyts.data.masks import (
    _points_outside,
    as_generator,
    block_mask,
    hybrid_counts,
    hybrid_mask,
    point_mask,
    var_hybrid_mask,
)


def _patch_table(mask: np.ndarray, patch: int, offset: int = 0) -> np.ndarray:
    """(n, n_patches, patch) view of the patch grid of a 2-D mask."""
    n, t = mask.shape
    n_patches = (t - offset) // patch
    return mask[:, offset : offset + n_patches * patch].reshape(n, n_patches, patch)


@pytest.mark.parametrize("ratio", [0.0, 0.125, 0.3, 0.5, 1.0])
def test_block_mask_counts_and_alignment(ratio: float) -> None:
    m = block_mask((50, 3, 512), ratio, rng=0)
    assert m.shape == (50, 3, 512) and m.dtype == bool
    flat = m.reshape(-1, 512)
    assert (flat.sum(axis=1) == int(64 * ratio) * 8).all()
    table = _patch_table(flat, 8)
    # every patch is all-hidden or all-visible
    assert np.all(table.all(axis=2) | ~table.any(axis=2))


def test_block_mask_offset_and_ragged_tail() -> None:
    m = block_mask((20, 100), 0.5, patch=8, rng=1, offset=3)
    n_patches = (100 - 3) // 8  # 12
    assert (m.sum(axis=1) == int(n_patches * 0.5) * 8).all()
    assert not m[:, :3].any() and not m[:, 3 + n_patches * 8 :].any()
    table = _patch_table(m, 8, 3)
    assert np.all(table.all(axis=2) | ~table.any(axis=2))


@pytest.mark.parametrize("ratio", [0.0, 0.1, 0.37, 0.6, 1.0])
def test_point_mask_exact_counts(ratio: float) -> None:
    m = point_mask((7, 4, 97), ratio, rng=2)
    assert (m.sum(axis=-1) == int(ratio * 97)).all()


@pytest.mark.parametrize(("ratio", "patches"), [(0.125, 4), (0.25, 8), (0.375, 12), (0.5, 16)])
def test_hybrid_counts_match_tspulse_protocol(ratio: float, patches: int) -> None:
    # tspulse.md 4.3: int(r*512) points, of which 4*r/0.125 whole patches of 8 (half the points)
    assert hybrid_counts(512, ratio) == (patches, int(512 * ratio) - 8 * patches)
    assert patches == round(4 * ratio / 0.125)


@pytest.mark.parametrize("ratio", [0.125, 0.25, 0.375, 0.5, 0.9])
def test_hybrid_mask_structure(ratio: float) -> None:
    m = hybrid_mask((30, 7, 512), ratio, rng=42).reshape(-1, 512)
    n_full, n_points = hybrid_counts(512, ratio)
    assert (m.sum(axis=1) == int(ratio * 512)).all()
    # at least n_full whole patches (single points may complete another patch by chance) ...
    whole = _patch_table(m, 8).all(axis=2).sum(axis=1)
    assert (whole >= n_full).all()
    # ... and the points outside them are at most the single-point budget
    assert ((m.sum(axis=1) - whole * 8) <= n_points).all()


def test_points_are_added_outside_the_patches() -> None:
    rng = np.random.default_rng(0)
    full = block_mask((300, 128), 0.25, rng=1)  # 4 whole patches per row
    k = rng.integers(0, 128 - 32 + 1, size=300)
    out = _points_outside(full.copy(), k, rng)
    assert (out[full]).all()  # the patches are kept
    assert ((out & ~full).sum(axis=1) == k).all()  # exactly k new points, none inside a patch


def test_hybrid_mask_overrides() -> None:
    shape = (200, 256)
    assert hybrid_counts(256, 0.25) == (4, 32)
    assert (hybrid_mask(shape, 0.25, rng=5).sum(axis=1) == 64).all()
    none = hybrid_mask(shape, 0.25, rng=5, full_patches=0)
    assert (none.sum(axis=1) == 64).all()
    too_many = hybrid_mask(shape, 0.0625, rng=5, full_patches=3)  # 24 > quota 16 -> no patches
    assert (too_many.sum(axis=1) == 16).all()


def test_hybrid_mask_generalises_to_other_lengths() -> None:
    n_full, n_points = hybrid_counts(96, 0.5, patch=4)
    assert (n_full, n_points) == (6, 24)  # quota 48, round(48 / 2 / 4) = 6 patches
    m = hybrid_mask((40, 96), 0.5, patch=4, rng=3)
    assert (m.sum(axis=1) == 48).all()
    assert (_patch_table(m, 4).all(axis=2).sum(axis=1) >= 6).all()
    assert hybrid_counts(10, 0.3, patch=8) == (0, 3)  # a patch would exceed the quota of 3


def test_var_hybrid_mask_ratio_range_and_patches() -> None:
    m = var_hybrid_mask((4000, 512), 0.5, rng=7)
    counts = m.sum(axis=1)
    assert counts.min() >= 1 and counts.max() <= 256
    assert 0.2 < counts.mean() / 512 < 0.3  # U(0, 0.5) has mean 0.25
    lo = var_hybrid_mask((2000, 512), 0.5, rng=7, min_ratio=0.1)
    assert lo.sum(axis=1).min() >= int(0.1 * 512)
    whole = _patch_table(m, 8).all(axis=2).sum(axis=1) * 8
    expected_full = np.floor(0.5 * counts / 8) * 8
    assert (whole >= expected_full).all()
    assert not var_hybrid_mask((10, 64), 0.0, rng=1).any()


def test_var_hybrid_share_zero_and_one() -> None:
    pts = var_hybrid_mask((500, 128), 0.5, full_patch_share=0.0, rng=1, min_ratio=0.5)
    assert (pts.sum(axis=1) == 64).all()
    full = var_hybrid_mask((500, 128), 0.5, full_patch_share=1.0, rng=1, min_ratio=0.5)
    table = _patch_table(full, 8)
    assert np.all(table.all(axis=2) | ~table.any(axis=2))
    assert (full.sum(axis=1) == 64).all()


@pytest.mark.parametrize(
    "make",
    [
        lambda seed: block_mask((5, 3, 64), 0.3, rng=seed),
        lambda seed: point_mask((5, 3, 64), 0.3, rng=seed),
        lambda seed: hybrid_mask((5, 3, 64), 0.3, rng=seed),
        lambda seed: var_hybrid_mask((5, 3, 64), 0.5, rng=seed),
    ],
)
def test_determinism_and_seed_dependence(make) -> None:  # type: ignore[no-untyped-def]
    a, b, c = make(42), make(42), make(43)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.array_equal(make(np.random.default_rng(42)), a)


def test_rows_are_independent() -> None:
    m = hybrid_mask((100, 512), 0.25, rng=0)
    assert len({row.tobytes() for row in m}) == 100


@pytest.mark.parametrize("shape", [64, (64,), (3, 64), (2, 3, 64), (2, 1, 3, 64)])
def test_shapes(shape: int | tuple[int, ...]) -> None:
    expected = (shape,) if isinstance(shape, int) else shape
    for m in (
        block_mask(shape, 0.5, rng=0),
        point_mask(shape, 0.5, rng=0),
        hybrid_mask(shape, 0.5, rng=0),
        var_hybrid_mask(shape, 0.5, rng=0),
    ):
        assert m.shape == expected and m.dtype == bool
    assert hybrid_mask((0, 64), 0.5, rng=0).shape == (0, 64)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "half"])
def test_bad_ratio(bad: object) -> None:
    for fn in (block_mask, point_mask, hybrid_mask, var_hybrid_mask):
        with pytest.raises(ValueError, match="ratio"):
            fn((4, 64), bad)  # type: ignore[operator]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="patch"):
        block_mask((4, 64), 0.5, patch=0)
    with pytest.raises(ValueError, match="offset"):
        hybrid_mask((4, 64), 0.5, offset=8)
    with pytest.raises(ValueError, match="time axis"):
        point_mask((4, 0), 0.5)
    with pytest.raises(ValueError, match="shape"):
        point_mask((4, -1, 8), 0.5)
    with pytest.raises(ValueError, match="min_ratio"):
        var_hybrid_mask((4, 64), 0.2, min_ratio=0.3)
    with pytest.raises(ValueError, match="full_patches"):
        hybrid_mask((4, 64), 0.5, full_patches=9)
    with pytest.raises(TypeError, match="rng"):
        as_generator("seed")  # type: ignore[arg-type]


def test_point_positions_are_uniform() -> None:
    m = hybrid_mask((20000, 64), 0.25, rng=11)
    rate = m.mean(axis=0)
    assert np.allclose(rate, 0.25, atol=0.02)


def test_large_hybrid_mask_shape_and_counts() -> None:
    m = hybrid_mask((2000, 7, 512), 0.375, rng=42)
    assert (m.sum(axis=-1) == 192).all()
