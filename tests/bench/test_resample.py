"""The paired bootstrap that export gates read (``tinyts.bench.resample``)."""

from __future__ import annotations

import numpy as np
import pytest

from tinyts.bench.resample import gmean_ratio, gmean_ratio_bootstrap, p_lower, pool_small_sets


def _sets(rng: np.random.Generator) -> dict[str, dict[str, np.ndarray]]:
    out = {}
    for name, n in (("a", 40), ("b", 25), ("c", 60)):
        ref = rng.gamma(2.0, 1.0, n)
        out[name] = {
            "naive": ref,
            "half": 0.5 * ref,
            "same": ref.copy(),
            "noisy": ref * rng.uniform(0.6, 1.0, n),
        }
    return out


def test_exact_ratios_have_no_spread_and_ties_count_half() -> None:
    reps = gmean_ratio_bootstrap(_sets(np.random.default_rng(0)), "naive", samples=300)
    assert set(reps) == {"half", "same", "noisy"}
    np.testing.assert_allclose(reps["half"], 0.5)  # mean(0.5 x) / mean(x) in every resample
    np.testing.assert_allclose(reps["same"], 1.0)
    assert p_lower(reps["same"], reps["same"]) == 0.5
    assert p_lower(reps["half"], reps["same"]) == 1.0
    assert p_lower(reps["noisy"], reps["same"]) == 1.0  # below the reference in every case
    assert 0.5 < np.median(reps["noisy"]) < 1.0


def test_the_draw_is_paired_and_seeded() -> None:
    sets = _sets(np.random.default_rng(1))
    r1 = gmean_ratio_bootstrap(sets, "naive", samples=200, seed=3)
    r2 = gmean_ratio_bootstrap(sets, "naive", samples=200, seed=3)
    np.testing.assert_array_equal(r1["noisy"], r2["noisy"])
    # a method that equals another plus a constant factor keeps that factor in every paired replicate
    for s in sets.values():
        s["noisy_x2"] = 2.0 * s["noisy"]
    r3 = gmean_ratio_bootstrap(sets, "naive", samples=200, seed=3)
    np.testing.assert_allclose(r3["noisy_x2"], 2.0 * r3["noisy"])


def test_cases_left_out_and_bad_input() -> None:
    sets = _sets(np.random.default_rng(2))
    sets["a"]["naive"] = sets["a"]["naive"].copy()
    sets["a"]["naive"][:5] = np.nan  # a zero-scale case: left out for every method
    reps = gmean_ratio_bootstrap(sets, "naive", samples=50)
    np.testing.assert_allclose(reps["half"], 0.5)
    with pytest.raises(ValueError, match="no 'other' errors"):
        gmean_ratio_bootstrap(sets, "other")
    sets["b"]["half"] = sets["b"]["half"][:-1]
    with pytest.raises(ValueError, match="cases"):
        gmean_ratio_bootstrap(sets, "naive")


def test_point_estimate_is_the_unresampled_statistic() -> None:
    sets = _sets(np.random.default_rng(4))
    point = gmean_ratio(sets, "naive")
    assert point["half"] == pytest.approx(0.5) and point["same"] == pytest.approx(1.0)
    by_hand = np.exp(np.mean([np.log(s["noisy"].mean() / s["naive"].mean()) for s in sets.values()]))
    assert point["noisy"] == pytest.approx(by_hand)
    # the bootstrap replicates scatter around it
    reps = gmean_ratio_bootstrap(sets, "naive", samples=400)
    assert np.quantile(reps["noisy"], 0.05) < point["noisy"] < np.quantile(reps["noisy"], 0.95)


def test_small_sets_are_pooled_into_one() -> None:
    rng = np.random.default_rng(5)
    sets = _sets(rng)  # a: 40, b: 25, c: 60 cases
    one, half, nine = np.ones(2), np.full(2, 0.5), np.full(2, 9.0)
    sets["tiny"] = {"naive": one, "half": half, "noisy": nine, "same": one.copy()}
    pooled = pool_small_sets(sets, 30, "small", poolable=lambda name: name != "b")
    # only "tiny" is small and poolable ("b" has 25 cases but is not poolable)
    assert sorted(pooled) == ["a", "b", "c", "small"]
    np.testing.assert_array_equal(pooled["small"]["noisy"], [9.0, 9.0])
    both = pool_small_sets(sets, 30, "small")
    assert sorted(both) == ["a", "c", "small"]
    assert len(both["small"]["naive"]) == 25 + 2  # sorted order: b then tiny
    np.testing.assert_array_equal(both["small"]["noisy"][25:], [9.0, 9.0])
    # the tiny set's large error counts as 2 cases of 27 in the pooled mean, not as a quarter of the gmean
    assert gmean_ratio(both, "naive")["noisy"] < gmean_ratio(sets, "naive")["noisy"]
    assert pool_small_sets(sets, 2, "small").keys() == sets.keys()  # nothing below 2 cases
    with pytest.raises(ValueError, match="exists already"):
        pool_small_sets(sets, 30, "a")
