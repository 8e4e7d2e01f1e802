"""The outline of a binary mask as a polygon ring, or its whole region, by marching squares
(scikit-image)."""

from __future__ import annotations

import numpy as np
import shapely
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


def mask_region(mask: np.ndarray) -> shapely.Geometry | None:
    """Every component of `mask` as a polygonal region in image pixels, holes included.

    Each boundary is traced at level 0.5 by marching squares, as in `mask_outline` (halfway
    between inside and outside pixel centres). The traced rings never cross or touch, so a
    ring inside an even number of others bounds a piece and one inside an odd number a hole
    of the piece just around it. A model's mask may hold several pieces: every one counts in
    its boundary distances, where `mask_outline` keeps only the longest. None for an empty mask.
    """
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return None
    r0, c0 = rows.min(), cols.min()
    window = mask[r0 : rows.max() + 1, c0 : cols.max() + 1] != 0
    padded = np.pad(window.astype(np.float32), 1)
    offset = np.array([c0, r0], dtype=np.float64) - 1.0 + 0.5
    rings = [r[:, ::-1] + offset for r in measure.find_contours(padded, 0.5) if len(r) >= 4]
    polygons = [shapely.Polygon(ring) for ring in rings]
    inside, around = shapely.STRtree(polygons).query(
        shapely.points([ring[0] for ring in rings]), predicate="within"
    )
    depth = np.bincount(inside, minlength=len(rings))
    holes: dict[int, list[np.ndarray]] = {i: [] for i in np.flatnonzero(depth % 2 == 0)}
    for ring, shell in zip(inside.tolist(), around.tolist(), strict=True):
        if depth[ring] % 2 == 1 and depth[shell] == depth[ring] - 1:
            holes[shell].append(rings[ring])
    parts = [shapely.Polygon(rings[shell], inner) for shell, inner in sorted(holes.items())]
    # Tolerance 0 drops only the vertices lying exactly on a straight run (most of marching
    # squares' vertices, 1 in 2 px): the same region, a third of the vertices to measure.
    region = shapely.multipolygons(parts) if len(parts) > 1 else parts[0]
    return shapely.simplify(region, 0.0)
