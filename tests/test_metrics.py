"""Dice / IoU on masks and boundary distances between contours."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from pipeline.agreement.metrics import (
    BoundaryDistances,
    boundary_distances,
    dice,
    dice_many,
    iou,
    iou_many,
)
from pipeline.masks.raster import rasterise


def square(x0: float, y0: float, side: float) -> np.ndarray:
    return np.array([[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side]])


def circle(radius: float, n_points: int = 4000, centre=(400.0, 300.0)) -> np.ndarray:
    t = np.linspace(0.0, 2.0 * np.pi, n_points, endpoint=False)
    return np.column_stack([centre[0] + radius * np.cos(t), centre[1] + radius * np.sin(t)])


def lv_like(n_points: int = 200) -> np.ndarray:
    """An irregular open LV-like curve (half ellipse with a bulge), hinges at the bottom."""
    t = np.linspace(np.pi, 2.0 * np.pi, n_points)
    bulge = 1.0 + 0.08 * np.sin(3.0 * t)
    return np.column_stack([400 + 110 * bulge * np.cos(t), 430 + 260 * np.sin(t)])


def test_half_overlapping_squares_have_known_dice_and_iou():
    a = rasterise(square(100, 100, 100), 400, 300)
    b = rasterise(square(150, 100, 100), 400, 300)
    assert a.sum() == b.sum() == 10_000 and (a & b).sum() == 5_000
    assert dice(a, b) == 0.5
    assert iou(a, b) == pytest.approx(1.0 / 3.0, abs=1e-15)


def test_overlap_edge_cases():
    empty = np.zeros((5, 5), dtype=np.uint8)
    full = np.ones((5, 5), dtype=np.uint8)
    assert dice(empty, empty) == 1.0 and iou(empty, empty) == 1.0
    assert dice(empty, full) == 0.0 and iou(empty, full) == 0.0
    assert dice(full, full) == 1.0
    # 255-valued masks count as inside too.
    assert dice(full * 255, full) == 1.0
    with pytest.raises(ValueError):
        dice(empty, np.zeros((5, 6), dtype=np.uint8))


def test_batched_overlap_matches_pairwise():
    reference = rasterise(square(100, 100, 100), 400, 300)
    stack = np.stack(
        [rasterise(square(100 + shift, 100, 100), 400, 300) for shift in (0, 25, 50, 100, 150)]
    )
    expected_dice = [dice(m, reference) for m in stack]
    expected_iou = [iou(m, reference) for m in stack]
    np.testing.assert_allclose(dice_many(stack, reference), expected_dice, rtol=0, atol=0)
    np.testing.assert_allclose(iou_many(stack, reference), expected_iou, rtol=0, atol=0)
    np.testing.assert_allclose(dice_many(stack, reference), [1.0, 0.75, 0.5, 0.0, 0.0])


@pytest.mark.parametrize("degrees", [0.0, 37.0, 90.0, 200.0])
def test_translated_copy_is_at_hausdorff_distance_of_the_shift(degrees):
    shift = 10.0 * np.array([math.cos(math.radians(degrees)), math.sin(math.radians(degrees))])
    curve = lv_like()
    result = boundary_distances(curve, curve + shift)
    # The farthest point is a vertex (support point in the shift direction) and vertices are
    # always measured, so only floating-point rounding remains.
    assert result.hausdorff == pytest.approx(10.0, rel=1e-9)
    assert 0.0 < result.mean_contour_distance < result.hd95 <= result.hausdorff


def test_concentric_circles_are_the_radius_difference_apart():
    inner, outer = shapely.Polygon(circle(100.0)), shapely.Polygon(circle(107.0))
    result = boundary_distances(inner, outer)
    # 4000-gons deviate from true circles by r * (1 - cos(pi / 4000)) < 4e-5 px.
    assert result.hausdorff == pytest.approx(7.0, abs=1e-4)
    assert result.hd95 == pytest.approx(7.0, abs=1e-4)
    assert result.mean_contour_distance == pytest.approx(7.0, abs=1e-4)


def test_distances_are_to_the_boundary_not_the_vertices_or_the_area():
    # A big square with few vertices and a small square inside it: boundary distances are
    # measured to edges (inner points are not at distance 0 just for being inside).
    outer, inner = square(0, 0, 100), square(40, 40, 20)
    result = boundary_distances(shapely.Polygon(outer), shapely.Polygon(inner))
    # Outer corners are farthest from the inner square: sqrt(40^2 + 40^2).
    assert result.hausdorff == pytest.approx(40.0 * math.sqrt(2.0), rel=1e-12)
    # From the inner boundary every point is exactly 40 from the outer edges.
    assert result.hd95 > 40.0 and result.mean_contour_distance > 40.0


def test_mean_contour_distance_pools_both_directions_by_length():
    outer, inner = square(0, 0, 100), square(40, 40, 20)
    result = boundary_distances(shapely.Polygon(outer), shapely.Polygon(inner))
    # Inner boundary (length 80): all points 40 from the outer one. Outer boundary (length 400):
    # the distance to the inner square's boundary, integrated per side of 100.
    s = np.linspace(-50.0, 50.0, 2_000_001)
    dx = np.maximum(np.abs(s) - 10.0, 0.0)
    side_mean = np.mean(np.hypot(dx, 40.0))
    expected = (80 * 40.0 + 400 * side_mean) / 480
    assert result.mean_contour_distance == pytest.approx(expected, rel=1e-4)


def test_identical_and_symmetric():
    curve = lv_like()
    same = boundary_distances(curve, curve)
    assert isinstance(same, BoundaryDistances)
    np.testing.assert_allclose(same, 0.0, atol=1e-9)  # samples lie on the edges, up to rounding
    other = lv_like(157) * [1.05, 1.0] - [20.0, 0.0]
    ab, ba = boundary_distances(curve, other), boundary_distances(other, curve)
    assert ab.hausdorff == pytest.approx(ba.hausdorff, rel=1e-12)
    assert ab.mean_contour_distance == pytest.approx(ba.mean_contour_distance, rel=1e-3)


def test_rejects_empty_contours():
    with pytest.raises(ValueError):
        boundary_distances(shapely.Polygon(), shapely.Polygon(square(0, 0, 1)))
    with pytest.raises(ValueError, match="polygonal"):
        boundary_distances(shapely.LineString(square(0, 0, 1)), shapely.Polygon(square(0, 0, 1)))
