"""One cavity, one area: curves that cross themselves measure the region their mask holds.

Expected values are worked out by hand from the shapes (squares, triangles, a straight-walled
LV), and checked against pixel counts from the project's rasteriser and from pycocotools.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import shapely
from pycocotools import mask as coco_mask

from pipeline.agreement.metrics import boundary_distances
from pipeline.geometry import cavity, traced_polygon
from pipeline.masks.raster import rasterise
from pipeline.measurements.lv import disc_diameters, long_axis, measure_curve
from pipeline.source.validation import AcceptedCurve
from pipeline.tables.source_tables import contours_table

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools")

WIDTH, HEIGHT = 800, 600
ORIGIN = np.array([100.0, 100.0])

# Two 40x40 squares, A = [0, 40]^2 and B = [40, 80]^2, meeting at (40, 40). The curve runs down
# x = 40 and back along y = 40, so it crosses itself there and goes round A and B in opposite
# senses: the signed shoelace sum is 0, the even-odd region is both squares, 3200 px².
FIGURE_EIGHT = ORIGIN + np.array(
    [[0.0, 0.0], [40.0, 0.0], [40.0, 80.0], [80.0, 80.0], [80.0, 40.0], [0.0, 40.0]]
)
FIGURE_EIGHT_LOBES = shapely.MultiPolygon(
    [shapely.box(100.0, 100.0, 140.0, 140.0), shapely.box(140.0, 140.0, 180.0, 180.0)]
)
# Two triangles meeting at (30, 30) + ORIGIN, each half of 60 x 30: 900 px² each.
BOWTIE = ORIGIN + np.array([[0.0, 0.0], [60.0, 60.0], [60.0, 0.0], [0.0, 60.0]])
# An 80x40 rectangle whose middle edge x = 40 is traced down and back up: the even-odd rule
# cancels an edge traced twice, leaving the whole rectangle, 3200 px².
DOUBLED_EDGE = ORIGIN + np.array(
    [[0, 0], [80, 0], [80, 40], [40, 40], [40, 0], [40, 40], [0, 40]], dtype=np.float64
)
# A 60x60 square and, through a connector traced out and back, a 20x20 square inside it: the
# inner square is wound twice, so even-odd leaves a square ring of 3600 - 400 = 3200 px².
LOOP_IN_LOOP = ORIGIN + np.array(
    [[0, 0], [60, 0], [60, 60], [0, 60], [0, 0], [20, 20], [40, 20], [40, 40], [20, 40], [20, 20]],
    dtype=np.float64,
)

# The 60x60 square again, with the inner 20x20 square traced round and straight back: every
# inner edge is crossed twice, so even-odd keeps the whole 3600 px² (as the mask does), where
# shapely.make_valid(method="linework") cuts the inner square out (3200).
THERE_AND_BACK = ORIGIN + np.array(
    [
        [0, 0], [60, 0], [60, 60], [0, 60], [0, 0], [20, 20], [40, 20], [40, 40], [20, 40],
        [20, 20], [20, 40], [40, 40], [40, 20], [20, 20],
    ],
    dtype=np.float64,
)  # fmt: skip


def shoelace(ring: np.ndarray) -> float:
    """|signed area| of a simple ring, by the shoelace formula."""
    x, y = ring[:, 0], ring[:, 1]
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))) / 2.0


def mask_pixels(curve: np.ndarray) -> int:
    return int(rasterise(curve, WIDTH, HEIGHT).sum(dtype=np.int64))


def coco_pixels(curve: np.ndarray) -> int:
    rles = coco_mask.frPyObjects([curve.ravel().tolist()], HEIGHT, WIDTH)
    return int(coco_mask.area(coco_mask.merge(rles)))


def lv_with_hooked_first_click() -> tuple[np.ndarray, float]:
    """A straight-walled LV traced lateral first, whose first click F lands past the lateral
    wall; and its even-odd area worked out by hand.

    The lateral wall runs straight from the hinge H = (455, 330) up to W = (460, 300), an
    elliptical dome (semi-axes 60 across, 120 up) goes over the apex to (340, 300), and the
    septal wall comes down to S = (345, 330). The mitral plane S -> F crosses the lateral wall
    at X, cutting the cavity into the main part (X, W, dome, S) and the triangle (X, F, H),
    which the shoelace sum subtracts and the mask adds.
    """
    s, h, w, f = (
        np.array(p) for p in ([345.0, 330.0], [455.0, 330.0], [460.0, 300.0], [475.0, 318.0])
    )
    t = np.linspace(0.0, np.pi, 181)
    dome = np.column_stack([400.0 + 60.0 * np.cos(t), 300.0 - 120.0 * np.sin(t)])
    curve = np.vstack([f, h, dome, s])  # dome[0] is W
    # X = S + u (F - S) = H + v (W - H).
    u, _ = np.linalg.solve(np.column_stack([f - s, h - w]), h - s)
    x = s + u * (f - s)
    main = np.vstack([x, dome, s])
    lobe = np.vstack([x, f, h])
    return curve, shoelace(main) + shoelace(lobe)


@pytest.mark.parametrize(
    ("curve", "expected"),
    [
        (FIGURE_EIGHT, 3200.0),
        (BOWTIE, 1800.0),
        (DOUBLED_EDGE, 3200.0),
        (LOOP_IN_LOOP, 3200.0),
        (THERE_AND_BACK, 3600.0),
    ],
    ids=["figure_eight", "bowtie", "doubled_edge", "loop_in_loop", "there_and_back"],
)
def test_self_crossing_curves_measure_their_even_odd_region(curve, expected):
    assert not traced_polygon(curve).is_valid
    region = cavity(curve)
    assert region.is_valid
    assert region.area == pytest.approx(expected, rel=1e-12)
    assert measure_curve(curve).area_px == pytest.approx(expected, rel=1e-12)
    assert mask_pixels(curve) == pytest.approx(expected, rel=0.01)
    assert coco_pixels(curve) == pytest.approx(expected, rel=0.01)


def test_figure_eight_is_its_two_squares():
    assert shapely.area(traced_polygon(FIGURE_EIGHT)) == 0.0  # the fault this guards against
    region = cavity(FIGURE_EIGHT)
    assert region.geom_type == "MultiPolygon" and len(region.geoms) == 2
    assert shapely.symmetric_difference(region, FIGURE_EIGHT_LOBES).area < 1e-9
    assert mask_pixels(FIGURE_EIGHT) == 3200
    # Hinges (0, 0) and (0, 40): base midpoint (0, 20); the farthest corner is (80, 80).
    base_mid, apex, length = long_axis(FIGURE_EIGHT)
    np.testing.assert_allclose(base_mid, ORIGIN + [0.0, 20.0])
    np.testing.assert_allclose(apex, ORIGIN + [80.0, 80.0])
    assert length == pytest.approx(100.0, rel=1e-12)
    # Cavalieri: the discs' widths summed along the axis give back the area between heights 0
    # and L. Behind the base (0.8 x + 0.6 (y - 20) < 0) lies the triangle (0, 0), (0, 20),
    # (15, 0) of A, 150 px², so the discs hold 3200 - 150 (each width is exact: piecewise
    # linear in height, the midpoint rule integrates it exactly away from the kinks).
    widths = disc_diameters(FIGURE_EIGHT, n_discs=200)
    assert widths.sum() * length / 200 == pytest.approx(3050.0, rel=1e-3)
    assert measure_curve(FIGURE_EIGHT).volume_px3 > 0.0


def test_hooked_first_click_measures_the_mask():
    curve, expected = lv_with_hooked_first_click()
    assert not traced_polygon(curve).is_valid
    # Before: the shoelace sum came out more than 1% small.
    assert shapely.area(traced_polygon(curve)) < 0.99 * expected
    area = measure_curve(curve).area_px
    assert area == pytest.approx(expected, rel=1e-9)
    assert area == pytest.approx(mask_pixels(curve), rel=0.01)
    assert area == pytest.approx(coco_pixels(curve), rel=0.01)
    # The apex is the dome's top, its farthest point from the hinges' midpoint.
    base_mid, apex, length = long_axis(curve)
    np.testing.assert_allclose(base_mid, [410.0, 324.0])
    assert length == pytest.approx(np.hypot(*(curve - base_mid).T).max(), rel=1e-12)
    assert 140.0 < length < 150.0 and apex[1] < 190.0


def test_simple_lv_curve_is_unchanged():
    t = np.linspace(np.pi * 0.95, np.pi * 2.05, 200)
    radius = 1.0 + 0.02 * np.sin(7.0 * t)
    curve = np.column_stack([400.0 + 70.0 * np.cos(t) * radius, 300.0 + 130.0 * np.sin(t) * radius])
    region = cavity(curve)
    assert region.is_valid and region.geom_type == "Polygon"
    np.testing.assert_array_equal(shapely.get_coordinates(region)[:-1], curve)
    measures = measure_curve(curve)
    assert measures.area_px == pytest.approx(shoelace(curve), rel=1e-12)
    base_mid = (curve[0] + curve[-1]) / 2.0
    assert measures.long_axis_px == pytest.approx(np.hypot(*(curve - base_mid).T).max(), rel=1e-12)
    assert measures.area_px == pytest.approx(mask_pixels(curve), rel=0.01)


def test_degenerate_curve_encloses_nothing():
    spike = np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0], [10.0, 0.0]])
    assert cavity(spike).is_empty
    assert measure_curve(spike) == (0.0, 0.0, 0.0)


def test_boundary_distances_use_the_cavity_boundary():
    # The connector traced out and back is no part of the cavity: the boundary is the two
    # squares, exactly.
    ring = shapely.Polygon(
        shapely.box(100.0, 100.0, 160.0, 160.0).exterior.coords,
        [shapely.box(120.0, 120.0, 140.0, 140.0).exterior.coords],
    )
    assert boundary_distances(LOOP_IN_LOOP, ring).hausdorff == pytest.approx(0.0, abs=1e-9)
    assert boundary_distances(FIGURE_EIGHT, FIGURE_EIGHT_LOBES).hausdorff == pytest.approx(
        0.0, abs=1e-9
    )


def test_contours_store_the_cavity_so_spatial_area_equals_area_px():
    curves = [
        AcceptedCurve("img", "user-a", FIGURE_EIGHT),
        AcceptedCurve("img", "user-b", ORIGIN + np.array([[0.0, 0.0], [30.0, 0.0], [30.0, 20.0]])),
    ]
    ids = {"user-a": "E01", "user-b": "E02"}
    table = contours_table(SimpleNamespace(curves=curves, expert_ids=ids)).to_pylist()
    eight, triangle = table
    assert (eight["is_valid"], triangle["is_valid"]) == (False, True)
    assert eight["area_px"] == pytest.approx(3200.0, rel=1e-12)
    assert eight["perimeter_px"] == pytest.approx(2 * 160.0, rel=1e-12)
    assert triangle["area_px"] == pytest.approx(300.0, rel=1e-12)
    for row in table:
        geometry = shapely.from_wkb(row["geometry"])
        assert geometry.is_valid and geometry.area == pytest.approx(row["area_px"], rel=1e-12)
    assert math.isclose(shapely.from_wkb(triangle["geometry"]).length, 30 + 20 + math.hypot(30, 20))
