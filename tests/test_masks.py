"""Rasterising cavity polygons (pixel-centre rule) and mask PNGs."""

from __future__ import annotations

import io

import numpy as np
import pytest
import shapely
from PIL import Image
from pycocotools import mask as coco_mask

from pipeline.masks.raster import mask_png_bytes, rasterise, read_mask_png

WIDTH, HEIGHT = 800, 600

# pycocotools 2.0.11 trips a numpy 2 DeprecationWarning inside its own decode().
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools")


def noisy_ellipse(rng: np.random.Generator, n_points: int = 200) -> np.ndarray:
    """A rotated ellipse with 5% radial noise, roughly LV-sized, inside an 800x600 frame."""
    t = np.linspace(0.0, 2.0 * np.pi, n_points, endpoint=False)
    radius = 1.0 + 0.05 * rng.standard_normal(n_points)
    x = rng.uniform(60, 250) * np.cos(t) * radius
    y = rng.uniform(40, 200) * np.sin(t) * radius
    angle = rng.uniform(0.0, np.pi)
    cx, cy = rng.uniform(250, 550), rng.uniform(200, 400)
    return np.column_stack(
        [cx + x * np.cos(angle) - y * np.sin(angle), cy + x * np.sin(angle) + y * np.cos(angle)]
    )


def pixel_centres_inside(polygon_xy: np.ndarray, width: int, height: int) -> np.ndarray:
    """Slow exact reference: shapely's point-in-polygon test at every pixel centre."""
    xs, ys = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    return shapely.contains_xy(shapely.Polygon(polygon_xy), xs, ys).astype(np.uint8)


def coco_rasterise(polygon_xy: np.ndarray, width: int, height: int) -> np.ndarray:
    rles = coco_mask.frPyObjects([polygon_xy.ravel().tolist()], height, width)
    return coco_mask.decode(coco_mask.merge(rles))


def square(x0: float, y0: float, side: float) -> np.ndarray:
    return np.array([[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side]])


def test_square_on_pixel_edges_covers_exactly_its_pixels():
    mask = rasterise(square(100, 50, 100), WIDTH, HEIGHT)
    assert mask.dtype == np.uint8
    assert mask.shape == (HEIGHT, WIDTH)
    assert set(np.unique(mask)) == {0, 1}
    assert mask.sum(dtype=np.int64) == 100 * 100
    assert mask[50:150, 100:200].all()
    assert mask[49, 100] == 0 and mask[150, 100] == 0 and mask[50, 99] == 0 and mask[50, 200] == 0


def test_pixel_belongs_when_its_centre_is_inside():
    # [0.4, 0.6] x [0.4, 0.6] holds the centre (0.5, 0.5) of pixel (0, 0) and nothing else.
    assert rasterise(square(0.4, 0.4, 0.2), 4, 4).tolist() == [
        [1, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
    ]
    # [0.6, 1.4]^2 covers most of pixel (0, 0)'s area but no pixel centre.
    assert rasterise(square(0.6, 0.6, 0.8), 4, 4).sum() == 0
    # A triangle whose hypotenuse passes just outside the centre of pixel (1, 1).
    triangle = np.array([[0.0, 0.0], [2.9, 0.0], [0.0, 2.9]])
    assert rasterise(triangle, 3, 3).tolist() == [[1, 1, 0], [1, 0, 0], [0, 0, 0]]


def test_centres_on_edges_follow_the_half_open_rule():
    # Edges through pixel centres: left/top included, right/bottom excluded, so tiles tile.
    left = rasterise(square(0.5, 0.5, 2.0), 4, 4)
    right = rasterise(square(2.5, 0.5, 2.0), 4, 4)
    assert left[0:2, 0:2].all() and left.sum() == 4
    assert not (left & right).any()
    assert (left | right)[0:2, 0:4].all()


def test_matches_exact_pixel_centre_reference():
    rng = np.random.default_rng(7)
    for _ in range(25):
        polygon = noisy_ellipse(rng)
        np.testing.assert_array_equal(
            rasterise(polygon, WIDTH, HEIGHT), pixel_centres_inside(polygon, WIDTH, HEIGHT)
        )


def test_area_agrees_with_pycocotools_and_analytic_area():
    rng = np.random.default_rng(2024)
    frame = shapely.box(0, 0, WIDTH, HEIGHT)
    worst_coco, worst_analytic = 0.0, 0.0
    for _ in range(200):
        polygon = noisy_ellipse(rng)
        ours = int(rasterise(polygon, WIDTH, HEIGHT).sum(dtype=np.int64))
        coco = int(coco_rasterise(polygon, WIDTH, HEIGHT).sum(dtype=np.int64))
        analytic = shapely.Polygon(polygon).intersection(frame).area
        worst_coco = max(worst_coco, abs(ours - coco) / coco)
        worst_analytic = max(worst_analytic, abs(ours - analytic) / analytic)
    # Measured with this seed: worst 0.074% against pycocotools, 0.11% against the exact area.
    assert worst_coco < 0.01
    assert worst_analytic < 0.005


def test_pixelwise_agreement_with_pycocotools_is_boundary_only():
    rng = np.random.default_rng(5)
    polygon = noisy_ellipse(rng)
    ours = rasterise(polygon, WIDTH, HEIGHT)
    coco = coco_rasterise(polygon, WIDTH, HEIGHT)
    differing = np.count_nonzero(ours != coco)
    # A half-pixel shift would differ along the whole perimeter (~1000 px); rounding does not.
    perimeter = shapely.Polygon(polygon).length
    assert differing < 0.25 * perimeter


def test_clips_to_frame_and_handles_degenerate_polygons():
    mask = rasterise(square(-10, -10, 15), 8, 8)  # covers [-10, 5]^2
    assert mask.sum() == 25 and mask[:5, :5].all()
    assert rasterise(square(20, 20, 5), 8, 8).sum() == 0
    assert rasterise(np.array([[1.0, 1.0], [5.0, 5.0]]), 8, 8).sum() == 0
    full = rasterise(square(-100, -100, 1000), 8, 6)
    assert full.all()


def test_self_crossing_polygon_fills_both_lobes():
    bowtie = np.array([[0.0, 0.0], [40.0, 40.0], [40.0, 0.0], [0.0, 40.0]])
    left = np.array([[0.0, 0.0], [20.0, 20.0], [0.0, 40.0]])
    right = np.array([[40.0, 0.0], [40.0, 40.0], [20.0, 20.0]])
    mask = rasterise(bowtie, 40, 40)
    np.testing.assert_array_equal(mask, rasterise(left, 40, 40) | rasterise(right, 40, 40))
    assert mask.sum() == 800


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        rasterise(np.zeros((5, 3)), 8, 8)
    with pytest.raises(ValueError):
        rasterise(np.array([[0.0, 0.0], [np.nan, 1.0], [1.0, 1.0]]), 8, 8)


def test_png_round_trip_is_exact_and_deterministic(tmp_path):
    mask = rasterise(noisy_ellipse(np.random.default_rng(3)), WIDTH, HEIGHT)
    png = mask_png_bytes(mask)
    assert png == mask_png_bytes(mask.copy())
    with Image.open(io.BytesIO(png)) as image:
        assert image.mode == "L" and image.size == (WIDTH, HEIGHT)
    np.testing.assert_array_equal(read_mask_png(png), mask)
    path = tmp_path / "mask.png"
    path.write_bytes(png)
    np.testing.assert_array_equal(read_mask_png(path), mask)


def test_read_rejects_non_mask_pngs():
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG")
    with pytest.raises(ValueError, match="mode"):
        read_mask_png(buffer.getvalue())
    buffer = io.BytesIO()
    Image.fromarray(np.full((4, 4), 255, dtype=np.uint8)).save(buffer, format="PNG")
    with pytest.raises(ValueError, match="above 1"):
        read_mask_png(buffer.getvalue())
