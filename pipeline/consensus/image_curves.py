"""Per-image bundles of expert curves, read back from the `points` and `images` tables."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pipeline.tables.codes import runs, sorted_codes

# Crop margin around all of an image's curves: rasterising inside the crop gives exactly the
# full-frame mask's pixels there (the offset is whole pixels), at a fraction of the memory.
CROP_MARGIN_PX = 3


@dataclass(frozen=True)
class Crop:
    """A whole-pixel window of an image: columns x0..x0+width, rows y0..y0+height."""

    x0: int
    y0: int
    width: int
    height: int

    @property
    def offset(self) -> np.ndarray:
        return np.array([self.x0, self.y0], dtype=np.float64)

    def paste(self, crop_mask: np.ndarray, image_width: int, image_height: int) -> np.ndarray:
        """The crop's mask placed in an empty full-size frame."""
        full = np.zeros((image_height, image_width), dtype=np.uint8)
        full[self.y0 : self.y0 + self.height, self.x0 : self.x0 + self.width] = crop_mask
        return full


@dataclass(frozen=True)
class ImageCurves:
    """One image's accepted expert curves, ordered by expert_id."""

    image_id: str
    study_id: str
    phase: str
    width: int
    height: int
    expert_ids: tuple[str, ...]
    curves: tuple[np.ndarray, ...]

    @property
    def crop(self) -> Crop:
        """The window holding every curve (and so every mean of them), plus a margin."""
        points = np.concatenate(self.curves)
        x0 = max(int(np.floor(points[:, 0].min())) - CROP_MARGIN_PX, 0)
        y0 = max(int(np.floor(points[:, 1].min())) - CROP_MARGIN_PX, 0)
        x1 = min(int(np.ceil(points[:, 0].max())) + CROP_MARGIN_PX, self.width)
        y1 = min(int(np.ceil(points[:, 1].max())) + CROP_MARGIN_PX, self.height)
        return Crop(x0, y0, max(x1 - x0, 1), max(y1 - y0, 1))


def image_curves(points: pa.Table, images: pa.Table) -> list[ImageCurves]:
    """Every image's curves, from `points` in any order (image_id and expert_id plain or
    dictionary-encoded strings), each curve by point index.

    The keys become integer codes (a bucket at 100x holds millions of points: no Python string
    and no sorted copy of the table per point)."""
    image_codes, image_names = sorted_codes(points["image_id"])
    expert_codes, expert_names = sorted_codes(points["expert_id"])
    order = np.lexsort((points["point_index"].to_numpy(), expert_codes, image_codes))
    image_codes, expert_codes = image_codes[order], expert_codes[order]
    xy = np.column_stack([points["x"].to_numpy()[order], points["y"].to_numpy()[order]])
    del order
    # A curve is a run of one (image, expert) pair.
    starts, _ = runs(image_codes * len(expert_names) + expert_codes)
    bounds = np.r_[starts, len(xy)]
    image_ids = [image_names[c] for c in image_codes[starts]]
    expert_ids = [expert_names[c] for c in expert_codes[starts]]
    by_image: dict[str, list[tuple[str, np.ndarray]]] = {}
    for i, (image_id, expert_id) in enumerate(zip(image_ids, expert_ids, strict=True)):
        by_image.setdefault(image_id, []).append((expert_id, xy[bounds[i] : bounds[i + 1]]))
    info = {row["image_id"]: row for row in images.to_pylist()}
    return [
        ImageCurves(
            image_id=image_id,
            study_id=info[image_id]["study_id"],
            phase=info[image_id]["phase"],
            width=info[image_id]["width"],
            height=info[image_id]["height"],
            expert_ids=tuple(e for e, _ in curves),
            curves=tuple(c for _, c in curves),
        )
        for image_id, curves in sorted(by_image.items())
    ]
