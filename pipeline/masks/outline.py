"""The outline of a binary mask as a polygon ring, by marching squares (scikit-image)."""

from __future__ import annotations

import numpy as np
from skimage import measure


def mask_outline(mask: np.ndarray, offset_xy: np.ndarray) -> np.ndarray | None:
    """The longest outer boundary of `mask` at level 0.5 as an (N, 2) ring in image pixels.

    Pixel (row r, column c) of the mask has its centre at (c + 0.5, r + 0.5) + offset_xy, so the
    ring passes halfway between inside and outside pixel centres. None for an empty mask.
    """
    if not mask.any():
        return None
    padded = np.pad(mask.astype(np.float32), 1)
    contours = measure.find_contours(padded, 0.5)
    ring = max(contours, key=len)
    # (row, col) in the padded array -> (x, y) of pixel centres in the image.
    return ring[:, ::-1] - 1.0 + 0.5 + offset_xy
