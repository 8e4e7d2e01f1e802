"""Reading one prediction: COCO RLE and polygons (checked against pycocotools), predicted PNG
masks of every kind a user may hand in, and the region of a predicted mask."""

import os

import numpy as np
import pytest
import shapely
from PIL import Image
from pycocotools import mask as coco_mask

from pipeline.agreement.metrics import boundary_distances
from pipeline.evaluate.coco_masks import decode_counts, rle_mask, segmentation_prediction
from pipeline.evaluate.mask_folder import read_prediction_png
from pipeline.evaluate.predictions import PredictionProblem
from pipeline.masks.outline import mask_region
from pipeline.masks.raster import rasterise

W, H = 64, 48


def blobs(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mask = np.zeros((H, W), np.uint8)
    for _ in range(4):
        x, y, r = rng.integers(5, W - 5), rng.integers(5, H - 5), rng.integers(2, 9)
        yy, xx = np.mgrid[:H, :W]
        mask |= ((xx - x) ** 2 + (yy - y) ** 2 <= r * r).astype(np.uint8)
    return mask


@pytest.mark.parametrize("seed", range(6))
def test_compressed_rle_decodes_as_pycocotools_does(seed):
    mask = blobs(seed)
    rle = coco_mask.encode(np.asfortranarray(mask))
    expected = coco_mask.decode(rle)
    decoded = rle_mask({"size": [H, W], "counts": rle["counts"].decode("ascii")}, W, H)
    assert np.array_equal(decoded, expected) and np.array_equal(decoded, mask)


def test_uncompressed_rle_counts_run_down_the_columns():
    # Column-major: 3 background, 2 inside (the rest of column 0 and the top of column 1)...
    counts = [3, 2, 2 * 5 - 5]
    mask = rle_mask({"size": [5, 2], "counts": counts}, 2, 5)
    assert mask[:, 0].tolist() == [0, 0, 0, 1, 1] and mask[:, 1].tolist() == [0] * 5


@pytest.mark.parametrize(
    ("rle", "check"),
    [
        ({"size": [H, W], "counts": [H * W + 5]}, "bad_segmentation"),  # runs past the mask
        ({"size": [H, W], "counts": [-1, H * W + 1]}, "bad_segmentation"),
        ({"size": [H, W], "counts": "\x7f\x7f"}, "bad_segmentation"),  # out of the alphabet
        ({"size": [H, W], "counts": "o"}, "bad_segmentation"),  # ends inside a count
        ({"size": [H, W], "counts": "oooooooo0"}, "bad_segmentation"),  # an absurd run
        ({"size": [H, W], "counts": "é"}, "bad_segmentation"),
        ({"size": [H, W], "counts": None}, "bad_segmentation"),
        ({"size": [W, H], "counts": [H * W]}, "wrong_size"),
        ({"size": "big", "counts": []}, "bad_segmentation"),
    ],
)
def test_broken_rle_is_a_problem_not_a_crash(rle, check):
    with pytest.raises(PredictionProblem) as problem:
        rle_mask(rle, W, H)
    assert problem.value.check == check


def test_negative_deltas_decode():
    # pycocotools stores counts from the third on as differences, which may be negative.
    mask = np.zeros((H, W), np.uint8)
    mask[10:30, 5:9] = 1
    mask[2:4, 20:50] = 1
    counts = coco_mask.encode(np.asfortranarray(mask))["counts"].decode()
    runs = decode_counts(counts)
    assert runs.sum() == H * W and np.array_equal(
        rle_mask({"size": [H, W], "counts": counts}, W, H), mask
    )


def test_polygons_are_united_in_the_release_convention():
    first = [10, 10, 30, 10, 30, 30, 10, 30]
    second = [20, 20, 40, 20, 40, 40, 20, 40]
    prediction = segmentation_prediction([first, second], W, H)
    expected = rasterise(np.reshape(first, (-1, 2)), W, H) | rasterise(
        np.reshape(second, (-1, 2)), W, H
    )
    assert np.array_equal(prediction.mask, expected)
    assert prediction.mask.sum() == 20 * 20 * 2 - 10 * 10
    assert prediction.region.area == pytest.approx(700.0)


@pytest.mark.parametrize(
    "segmentation",
    [
        [[1, 2, 3]],
        [[0, 0, 1, 1, "x", 2]],
        [[0, 0, 1e9, 0, 0, 5]],
        [],
        "polygon",
        [[float("nan")] * 6],
    ],
)
def test_broken_polygons_are_problems(segmentation):
    with pytest.raises(PredictionProblem) as problem:
        segmentation_prediction(segmentation, W, H)
    assert problem.value.check == "bad_segmentation"


def save(path, array, mode=None):
    Image.fromarray(array, mode).save(path) if mode else Image.fromarray(array).save(path)
    return path


def test_masks_of_0_1_and_0_255_and_bilevel_read_alike(tmp_path):
    mask = blobs(1)
    for path in (
        save(tmp_path / "one.png", mask),
        save(tmp_path / "full.png", mask * 255),
        save(tmp_path / "wide.png", mask.astype(np.uint16) * 255),
    ):
        assert np.array_equal(read_prediction_png(path, W, H), mask), path.name
    Image.fromarray(mask.astype(bool)).save(tmp_path / "bits.png")
    assert np.array_equal(read_prediction_png(tmp_path / "bits.png", W, H), mask)


@pytest.mark.parametrize(
    ("make", "check"),
    [
        (lambda p: save(p, np.zeros((H + 1, W), np.uint8)), "wrong_size"),
        (lambda p: save(p, np.zeros((H, W, 3), np.uint8)), "not_single_channel"),
        (lambda p: save(p, np.zeros((H, W, 2), np.uint8), "LA"), "not_single_channel"),
        (lambda p: save(p, np.full((H, W), 2, np.uint8)), "bad_values"),
        (lambda p: p.write_bytes(b"GIF89a not a png"), "not_png"),
        (lambda p: p.write_bytes(Image.new("L", (W, H)).tobytes()[:10] + b"\x89PNG"), "not_png"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40), "unreadable"),
        (lambda p: os.symlink("/dev/zero", p), "not_a_file"),
        (lambda p: p.mkdir(), "not_a_file"),
    ],
)
def test_unusable_masks_say_why(tmp_path, make, check):
    path = tmp_path / "mask.png"
    make(path)
    with pytest.raises(PredictionProblem) as problem:
        read_prediction_png(path, W, H)
    assert problem.value.check == check


def test_values_other_than_labels_are_named(tmp_path):
    values = np.zeros((H, W), np.uint8)
    values[0, :8] = [1, 2, 3, 4, 5, 6, 7, 255]
    with pytest.raises(PredictionProblem, match="2, 3, 4, 5, 6 and 1 more"):
        read_prediction_png(save(tmp_path / "m.png", values), W, H)


def test_mask_region_keeps_every_piece_and_hole():
    mask = np.zeros((40, 40), np.uint8)
    mask[5:25, 5:25] = 1
    mask[10:20, 10:20] = 0  # a hole
    mask[12:15, 12:15] = 1  # an island in the hole
    mask[30:35, 30:38] = 1  # another piece
    region = mask_region(mask)
    parts = shapely.get_parts(region)
    assert region.is_valid and len(parts) == 3
    assert sorted(shapely.get_num_interior_rings(parts).tolist()) == [0, 0, 1]
    # Traced halfway between pixel centres: within half a pixel of the pixel count.
    assert abs(region.area - mask.sum()) < 0.5 * shapely.length(region)
    assert mask_region(np.zeros((5, 5), np.uint8)) is None


def test_a_rasterised_polygon_region_lies_within_a_pixel_of_the_polygon():
    t = np.linspace(0, 2 * np.pi, 300, endpoint=False)
    polygon = np.column_stack([50 + 30 * np.cos(t), 40 + 25 * np.sin(t)])
    region = mask_region(rasterise(polygon, 100, 80))
    distances = boundary_distances(region, shapely.Polygon(polygon))
    assert distances.hausdorff < 0.75 and distances.mean_contour_distance < 0.4
