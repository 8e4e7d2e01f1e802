"""Dice / IoU on masks and boundary distances between contours."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import shapely

from pipeline.agreement.metrics import (
    QUERY_SPACING_PX,
    BoundaryDistances,
    SampledBoundary,
    _shared_segments,
    boundary_distances,
    dice,
    dice_many,
    iou,
    iou_many,
    sampled_boundary_distances,
)
from pipeline.geometry import curve_array
from pipeline.masks.raster import rasterise
from tests.conftest import read_annotations


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


def square_mask(x0: int, y0: int, side: int, shape=(300, 400)) -> np.ndarray:
    """A filled square by array slicing: pixels x0..x0+side-1, y0..y0+side-1."""
    mask = np.zeros(shape, dtype=np.uint8)
    mask[y0 : y0 + side, x0 : x0 + side] = 1
    return mask


@pytest.mark.parametrize("shift", [0, 1, 25, 50, 99, 100, 150])
def test_shifted_squares_have_the_analytic_overlap(shift):
    # Two 100 x 100 squares, one shifted right by `shift` px, overlap in a
    # (100 - shift) x 100 rectangle: Dice = overlap / 10,000, IoU = overlap / (20,000 - overlap).
    overlap = max(100 - shift, 0) * 100
    reference = square_mask(100, 100, 100)
    shifted = square_mask(100 + shift, 100, 100)
    assert dice_many(shifted[None], reference)[0] == overlap / 10_000
    assert iou_many(shifted[None], reference)[0] == overlap / (20_000 - overlap)


def test_batched_overlap_of_a_stack_against_one_and_pair_by_pair():
    shifts = [0, 25, 50, 100, 150]
    stack = np.stack([square_mask(100 + s, 100, 100) for s in shifts])
    reference = square_mask(100, 100, 100)
    np.testing.assert_array_equal(dice_many(stack, reference), [1.0, 0.75, 0.5, 0.0, 0.0])
    np.testing.assert_array_equal(iou_many(stack, reference), [1.0, 0.6, 1 / 3, 0.0, 0.0])
    # Pairs: a stack against a stack of the same length, mask by mask (as for expert pairs).
    # A 100-square against a 50-square in its corner: |A and B| = 2,500, |A or B| = 10,000.
    small = np.stack([square_mask(100, 100, 50), square_mask(150, 150, 50)])
    big = np.stack([reference, square_mask(300, 200, 50)])
    np.testing.assert_array_equal(dice_many(small, big), [5_000 / 12_500, 0.0])
    np.testing.assert_array_equal(iou_many(small, big), [0.25, 0.0])


def test_nested_discs():
    # A disc inside a larger one: the overlap is the small disc, so Dice = 2|S| / (|S| + |L|)
    # and IoU = |S| / |L|, whatever the pixel counts of the discs are.
    y, x = np.mgrid[0:300, 0:400] + 0.5
    r2 = (x - 200.0) ** 2 + (y - 150.0) ** 2
    small, large = (r2 < 40.0**2).astype(np.uint8), (r2 < 90.0**2).astype(np.uint8)
    n_small, n_large = int(small.sum()), int(large.sum())
    assert dice(small, large) == pytest.approx(2 * n_small / (n_small + n_large), rel=1e-15)
    assert iou(small, large) == pytest.approx(n_small / n_large, rel=1e-15)
    # The pixel counts are near the discs' areas: about (40 / 90)² apart.
    assert n_small / n_large == pytest.approx((40 / 90) ** 2, rel=0.01)


def kdtree_distances(a, b) -> BoundaryDistances:
    return sampled_boundary_distances(SampledBoundary(a), SampledBoundary(b))


# Every known answer holds for both searches: the exact R-tree one and the k-d tree batch one.
@pytest.fixture(params=[boundary_distances, kdtree_distances], ids=["rtree", "kdtree"])
def distances(request):
    return request.param


@pytest.mark.parametrize("degrees", [0.0, 37.0, 90.0, 200.0])
def test_translated_copy_is_at_hausdorff_distance_of_the_shift(distances, degrees):
    shift = 10.0 * np.array([math.cos(math.radians(degrees)), math.sin(math.radians(degrees))])
    curve = lv_like()
    result = distances(curve, curve + shift)
    # The farthest point is a vertex (support point in the shift direction) and vertices are
    # always measured, so only floating-point rounding remains.
    assert result.hausdorff == pytest.approx(10.0, rel=1e-9)
    assert 0.0 < result.mean_contour_distance < result.hd95 <= result.hausdorff


def test_straight_walls_shifted_sideways(distances):
    # A 20 x 200 rectangle A and its copy B moved 3 px right. Distances to the other boundary,
    # integrated along each side (total boundary 2 x 440 px):
    # - the outer long sides (A's left, B's right) are 3 from the other's: 200 x 3 = 600 each;
    # - the inner ones (A's right, B's left) are 3 away but for their ends, within 3 px of the
    #   other's short sides: min(y, 200 - y, 3), integral 600 - 2 x 4.5 = 591 each;
    # - each short side lies on the other's for 17 px and ramps from 3 to 0 over 3 px: 4.5.
    # So the mean is (2 x 600 + 2 x 591 + 4 x 4.5) / 880 = 30 / 11, and over 5% of the boundary
    # is nearer than 3, none farther: HD95 = Hausdorff = 3.
    rect = np.array([[100.0, 100.0], [120.0, 100.0], [120.0, 300.0], [100.0, 300.0]])
    result = distances(shapely.Polygon(rect), shapely.Polygon(rect + [3.0, 0.0]))
    assert result.hausdorff == pytest.approx(3.0, rel=1e-12)
    assert result.hd95 == pytest.approx(3.0, rel=1e-12)
    # Samples every 1 or 0.5 px, at the ramps' ends: the sampled mean is the integral's.
    assert result.mean_contour_distance == pytest.approx(30 / 11, rel=1e-9)


def test_concentric_circles_are_the_radius_difference_apart(distances):
    inner, outer = shapely.Polygon(circle(100.0)), shapely.Polygon(circle(107.0))
    result = distances(inner, outer)
    # 4000-gons deviate from true circles by r * (1 - cos(pi / 4000)) < 4e-5 px.
    assert result.hausdorff == pytest.approx(7.0, abs=1e-4)
    assert result.hd95 == pytest.approx(7.0, abs=1e-4)
    assert result.mean_contour_distance == pytest.approx(7.0, abs=1e-4)


def test_distances_are_to_the_boundary_not_the_vertices_or_the_area(distances):
    # A big square with few vertices and a small square inside it: boundary distances are
    # measured to edges (inner points are not at distance 0 just for being inside).
    outer, inner = square(0, 0, 100), square(40, 40, 20)
    result = distances(shapely.Polygon(outer), shapely.Polygon(inner))
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


def with_repeated_points(curve: np.ndarray) -> np.ndarray:
    """The same curve with every 7th point traced twice and the first three times."""
    repeats = np.ones(len(curve), dtype=int)
    repeats[::7] = 2
    repeats[0] = 3
    return np.repeat(curve, repeats, axis=0)


def generator_curves(source) -> list[np.ndarray]:
    annotations = read_annotations(source)
    first_image = next(iter(annotations.values()))
    return [curve_array(xs, ys) for xs, ys in first_image.values()]


def identical_shapes(small_source):
    hole = shapely.Polygon(square(0, 0, 100), [square(30, 30, 20)[::-1]])
    two_parts = shapely.MultiPolygon([shapely.box(0, 0, 10, 10), shapely.box(20, 0, 35, 50)])
    return {
        "lv_like": lv_like(),
        "square": square(10, 10, 50),
        "circle": circle(50.0, 360),
        "repeated_points": with_repeated_points(lv_like(157)),
        "hole": hole,
        "two_parts": two_parts,
    } | {f"generator_{i}": c for i, c in enumerate(generator_curves(small_source))}


def test_identical_contours_are_exactly_zero_apart(distances, small_source):
    for name, shape in identical_shapes(small_source).items():
        result = distances(shape, shape)
        assert tuple(result) == (0.0, 0.0, 0.0), name


def test_repeated_points_change_no_distance(distances):
    # A point traced twice adds no boundary: the curve and its repeated-point copy coincide.
    curve = lv_like(157)
    assert tuple(distances(curve, with_repeated_points(curve))) == (0.0, 0.0, 0.0)


def test_symmetric():
    curve = lv_like()
    other = lv_like(157) * [1.05, 1.0] - [20.0, 0.0]
    ab, ba = boundary_distances(curve, other), boundary_distances(other, curve)
    assert ab.hausdorff == pytest.approx(ba.hausdorff, rel=1e-12)
    assert ab.mean_contour_distance == pytest.approx(ba.mean_contour_distance, rel=1e-3)


def test_kdtree_and_rtree_searches_agree_on_generator_curves(small_source):
    # Two independent nearest-segment searches over the same samples: they agree to rounding.
    curves = generator_curves(small_source)
    for a, b in itertools.pairwise(curves):
        fast = kdtree_distances(a, b)
        exact = boundary_distances(a, b, spacing_px=QUERY_SPACING_PX)
        np.testing.assert_allclose(fast, exact, rtol=0, atol=1e-9)
        assert fast.hausdorff > 0.5


def test_rejects_empty_contours():
    with pytest.raises(ValueError):
        boundary_distances(shapely.Polygon(), shapely.Polygon(square(0, 0, 1)))
    with pytest.raises(ValueError, match="polygonal"):
        boundary_distances(shapely.LineString(square(0, 0, 1)), shapely.Polygon(square(0, 0, 1)))


def test_a_shared_edge_is_found_whichever_way_it_runs():
    # The unit square and a 1 x 2 rectangle share the bottom edge, traced in opposite
    # directions; the square's other three edges are its own.
    unit = SampledBoundary(shapely.Polygon(square(0, 0, 1)))
    tall = SampledBoundary(shapely.Polygon([[1, 0], [0, 0], [0, 2], [1, 2]]))
    flags = _shared_segments(unit.keys, unit.key_hashes, tall)
    bottom = (unit.starts[:, 1] == 0) & (unit.ends[:, 1] == 0)
    assert bottom.sum() == 1
    np.testing.assert_array_equal(flags, bottom)
    np.testing.assert_array_equal(flags, np.isin(unit.keys, tall.keys))
