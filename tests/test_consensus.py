"""Arc-length consensus curves, majority vote and STAPLE."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.consensus.methods import (
    arclength_mean,
    leave_one_out_means,
    majority_mask,
    resample_by_arclength,
    staple,
    staple_simpleitk,
)
from pipeline.masks.raster import rasterise


def lv_curve(
    rng: np.random.Generator, n_points: int = 200, width: float = 120.0, depth: float = 250.0
) -> np.ndarray:
    """A noisy half-ellipse LV curve, septal hinge (left, bottom) first, apex at the top."""
    t = np.linspace(np.pi, 2.0 * np.pi, n_points)
    scale = 1.0 + 0.04 * rng.standard_normal()
    x = 400.0 + width * scale * np.cos(t) + rng.normal(0.0, 2.0)
    y = 420.0 + depth * scale * np.sin(t) + rng.normal(0.0, 2.0)
    return np.column_stack([x, y])


def expert_masks(n_experts: int = 11, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rasterise(lv_curve(rng), 800, 600) for _ in range(n_experts)])


def test_resample_straight_line_is_evenly_spaced_and_keeps_ends():
    line = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [7.5, 0.0], [10.0, 0.0]])
    out = resample_by_arclength(line, 11)
    np.testing.assert_allclose(out[:, 0], np.arange(11.0), atol=1e-12)
    np.testing.assert_allclose(out[:, 1], 0.0)


def test_resample_follows_corners_by_arc_length():
    # An L of length 3 + 4 = 7, sampled every unit.
    corner = np.array([[0.0, 0.0], [3.0, 0.0], [3.0, 4.0]])
    out = resample_by_arclength(corner, 8)
    expected = [[0, 0], [1, 0], [2, 0], [3, 0], [3, 1], [3, 2], [3, 3], [3, 4]]
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_resample_degenerate_curves():
    np.testing.assert_allclose(resample_by_arclength(np.array([[2.0, 3.0]] * 4), 5), [[2, 3]] * 5)
    with pytest.raises(ValueError):
        resample_by_arclength(np.array([[0.0, 0.0], [1.0, 1.0]]), 1)
    with pytest.raises(ValueError):
        resample_by_arclength(np.zeros((0, 2)), 5)


def test_mean_ignores_tracing_direction_and_point_count():
    rng = np.random.default_rng(1)
    curve = lv_curve(rng, n_points=200)
    midpoints = (curve[1:] + curve[:-1]) / 2.0
    denser = np.insert(curve, np.arange(1, len(curve)), midpoints, axis=0)  # same polyline
    expected = resample_by_arclength(curve, 150)
    mean = arclength_mean([curve, denser[::-1], curve[::-1]], n_points=150)
    # Resampling the linear interpolant is exact, so only rounding separates them.
    np.testing.assert_allclose(mean, expected, atol=1e-9)
    assert mean[0, 0] < mean[-1, 0]  # septal (smaller x) end first


def test_mean_of_offset_copies_is_the_midway_curve():
    curve = lv_curve(np.random.default_rng(2))
    mean = arclength_mean([curve + [3.0, -2.0], curve - [3.0, -2.0]], n_points=120)
    np.testing.assert_allclose(mean, resample_by_arclength(curve, 120), atol=1e-9)


def test_leave_one_out_matches_explicit_subsets():
    rng = np.random.default_rng(3)
    curves = [lv_curve(rng, n_points=int(n)) for n in rng.integers(150, 260, size=5)]
    curves[2] = curves[2][::-1]
    loo = leave_one_out_means(curves, n_points=90)
    assert len(loo) == 5
    for i, mean in enumerate(loo):
        assert mean.shape == (90, 2)
        others = curves[:i] + curves[i + 1 :]
        np.testing.assert_allclose(mean, arclength_mean(others, n_points=90), atol=1e-9)
    with pytest.raises(ValueError):
        leave_one_out_means(curves[:1])


def test_majority_needs_at_least_half_the_votes():
    votes = np.zeros((4, 1, 5), dtype=np.uint8)
    votes[:1, 0, 1] = 1  # 1 of 4
    votes[:2, 0, 2] = 1  # 2 of 4: half counts
    votes[:3, 0, 3] = 1
    votes[:, 0, 4] = 1
    assert majority_mask(votes).tolist() == [[0, 0, 1, 1, 1]]
    assert majority_mask(votes[:3]).tolist() == [[0, 0, 1, 1, 1]]  # 2 of 3
    assert majority_mask(votes[1:]).tolist() == [[0, 0, 0, 1, 1]]  # 1 of 3 at index 2
    assert majority_mask(votes).dtype == np.uint8


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_staple_equals_simpleitk_filter_on_the_whole_frame(seed):
    masks = expert_masks(seed=seed)
    # One careless rater, so the rater weights matter.
    masks[4] = np.roll(masks[4], 80, axis=1)
    ours, reference = staple(masks), staple_simpleitk(masks)
    np.testing.assert_array_equal(ours.mask, reference.mask)
    np.testing.assert_allclose(ours.sensitivity, reference.sensitivity, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.specificity, reference.specificity, rtol=0, atol=1e-9)
    assert ours.sensitivity[4] == min(ours.sensitivity)


def test_staple_of_identical_raters_is_their_mask():
    one = expert_masks(n_experts=1)[0]
    result = staple(np.stack([one] * 5))
    np.testing.assert_array_equal(result.mask, one)
    np.testing.assert_allclose(result.sensitivity, 1.0)
    np.testing.assert_allclose(result.specificity, 1.0)


def test_staple_is_deterministic_and_typed():
    masks = expert_masks(seed=4)
    first, second = staple(masks), staple(masks.copy())
    np.testing.assert_array_equal(first.mask, second.mask)
    np.testing.assert_array_equal(first.sensitivity, second.sensitivity)
    assert first.mask.dtype == np.uint8 and first.mask.shape == masks.shape[1:]
    assert first.sensitivity.shape == first.specificity.shape == (11,)


def test_staple_with_many_raters_uses_the_general_path():
    masks = np.concatenate([expert_masks(seed=5), expert_masks(seed=6)])[:18]
    ours, reference = staple(masks), staple_simpleitk(masks)
    np.testing.assert_array_equal(ours.mask, reference.mask)
    np.testing.assert_allclose(ours.sensitivity, reference.sensitivity, rtol=0, atol=1e-9)


def test_staple_of_empty_masks():
    result = staple(np.zeros((3, 10, 12), dtype=np.uint8))
    assert result.mask.shape == (10, 12) and not result.mask.any()
    assert np.isnan(result.sensitivity).all()
    np.testing.assert_array_equal(result.specificity, 1.0)
    with pytest.raises(ValueError):
        staple(np.zeros((0, 10, 12), dtype=np.uint8))
