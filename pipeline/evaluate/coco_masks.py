"""COCO segmentations (RLE or polygons) as 0/1 masks, checked before anything is decoded.

RLE is decoded here, vectorised, rather than by pycocotools: its C decoder trusts the counts
(counts summing past height x width write past the mask), and a results file is untrusted.
The compressed `counts` string is pycocotools' own format (`rleToString`): each count a run
of 5-bit groups in characters '0' + value, 0x20 marking that another group follows, the last
group's 0x10 the sign; from the third count on, each is stored as the difference from the
count two before it. Counts run down the columns (Fortran order), starting with background.

Polygons follow the release's pixel convention (`pipeline.masks.raster`: a pixel is inside
when its centre is), as the release's own COCO files do; the polygons of one segmentation are
united, as pycocotools merges them, and their region is kept as the model's contour.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from pipeline.evaluate.predictions import Prediction, PredictionProblem
from pipeline.geometry import cavity
from pipeline.masks.raster import rasterise

FIRST_CODE, LAST_CODE = 48, 48 + 63
# Groups in one count: 7 x 5 bits hold any run of an image within the pixel limit (no overflow).
MAX_GROUPS = 7
OUTSIDE_TOLERANCE_PX = 20.0


def segmentation_prediction(segmentation: Any, width: int, height: int) -> Prediction:
    """The prediction of a COCO segmentation (polygons keep their region), or PredictionProblem."""
    if isinstance(segmentation, dict):
        return Prediction(rle_mask(segmentation, width, height))
    if isinstance(segmentation, list) and segmentation:
        polygons = polygon_arrays(segmentation, width, height)
        mask = np.zeros((height, width), dtype=np.uint8)
        for xy in polygons:
            mask |= rasterise(xy, width, height)
        return Prediction(mask, region=shapely.union_all([cavity(xy) for xy in polygons]))
    raise PredictionProblem(
        "bad_segmentation", "segmentation is neither an RLE {size, counts} nor a polygon list"
    )


def rle_mask(rle: dict, width: int, height: int) -> np.ndarray:
    """The mask of an RLE `{"size": [h, w], "counts": string or list of ints}`."""
    size, counts = rle.get("size"), rle.get("counts")
    if not (isinstance(size, list) and len(size) == 2 and all(type(v) is int for v in size)):
        raise PredictionProblem("bad_segmentation", "RLE size is not [height, width]")
    if size != [height, width]:
        raise PredictionProblem(
            "wrong_size", f"RLE is {size[1]}x{size[0]}, its image is {width}x{height}"
        )
    if isinstance(counts, str):
        runs = decode_counts(counts)
    elif isinstance(counts, list) and all(type(v) is int for v in counts):
        runs = np.array(counts, dtype=object)
        if runs.size and (runs.min() < 0 or runs.max() > height * width):
            raise PredictionProblem("bad_segmentation", "RLE counts hold an impossible run")
        runs = runs.astype(np.int64)
    else:
        raise PredictionProblem("bad_segmentation", "RLE counts are neither a string nor ints")
    if runs.sum() != height * width:
        raise PredictionProblem(
            "bad_segmentation",
            f"RLE counts cover {int(runs.sum())} pixels, the image has {height * width}",
        )
    labels = (np.arange(len(runs)) % 2).astype(np.uint8)
    return np.repeat(labels, runs).reshape(width, height).T.copy()


def decode_counts(text: str) -> np.ndarray:
    """The run lengths of a compressed RLE counts string (pycocotools' `rleFrString`)."""
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise PredictionProblem("bad_segmentation", "RLE counts are not ASCII") from None
    codes = np.frombuffer(raw, np.uint8).astype(np.int64)
    if codes.size == 0:
        return codes
    if codes.min() < FIRST_CODE or codes.max() > LAST_CODE:
        raise PredictionProblem("bad_segmentation", "RLE counts hold a character out of range")
    codes -= FIRST_CODE
    last = (codes & 0x20) == 0  # a group without the continuation bit ends its count
    if not last[-1]:
        raise PredictionProblem("bad_segmentation", "RLE counts end inside a count")
    ends = np.flatnonzero(last)
    starts = np.r_[0, ends[:-1] + 1]
    group = np.arange(codes.size) - np.repeat(starts, ends - starts + 1)
    if group.max() >= MAX_GROUPS:
        raise PredictionProblem("bad_segmentation", "RLE counts hold an impossible run")
    values = np.add.reduceat((codes & 0x1F) << (5 * group), starts)
    negative = (codes[ends] & 0x10) != 0
    values -= np.where(negative, np.left_shift(1, 5 * (group[ends] + 1)), 0)
    runs = values.copy()
    runs[1::2] = np.cumsum(values[1::2])  # each count from the third on adds the one two back
    runs[2::2] = np.cumsum(values[2::2])
    if runs.min() < 0:
        raise PredictionProblem("bad_segmentation", "RLE counts hold a negative run")
    return runs


def polygon_arrays(polygons: list, width: int, height: int) -> list[np.ndarray]:
    """(N, 2) rings of polygons given as flat [x0, y0, x1, y1, ...] lists, checked."""
    rings = []
    for n, polygon in enumerate(polygons, start=1):
        if not (
            isinstance(polygon, list)
            and len(polygon) >= 6
            and len(polygon) % 2 == 0
            and all(type(v) in (int, float) for v in polygon)
        ):
            raise PredictionProblem(
                "bad_segmentation", f"polygon {n} is not a list of at least 3 x, y pairs"
            )
        xy = np.array(polygon, dtype=np.float64).reshape(-1, 2)
        tol = OUTSIDE_TOLERANCE_PX
        if not np.isfinite(xy).all() or (
            (xy < -tol).any() or (xy[:, 0] > width + tol).any() or (xy[:, 1] > height + tol).any()
        ):
            raise PredictionProblem(
                "bad_segmentation", f"polygon {n} has a point far outside the image"
            )
        rings.append(xy)
    return rings
