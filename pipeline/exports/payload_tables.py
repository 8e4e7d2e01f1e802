"""Table readers shared by the exports: images in id order, mask rows, default consensus rows.

Every export reads the release tables through these, so "which images, in what order, with
which mask" is decided in one place.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from pipeline.errors import ReleaseError
from pipeline.masks.files import CONSENSUS_RATER, EXPERT
from pipeline.names import DEFAULT_METHOD

MaskKey = tuple[str, str, str]  # (image_id, rater, method)


def sorted_rows(table: pa.Table, keys: tuple[str, ...]) -> list[dict]:
    """The table's rows as dicts, sorted by `keys` (ascending), whatever order it came in."""
    if table.num_rows == 0:
        return []
    order = pc.sort_indices(table, [(k, "ascending") for k in keys])
    return table.take(order).to_pylist()


def image_rows(tables: dict[str, pa.Table]) -> list[dict]:
    """Rows of the `images` table in image_id order: the order of every export."""
    return sorted_rows(tables["images"], ("image_id",))


def mask_rows(tables: dict[str, pa.Table]) -> dict[MaskKey, dict]:
    """Rows of the `masks` table by (image_id, rater, method)."""
    return {(r["image_id"], r["rater"], r["method"]): r for r in tables["masks"].to_pylist()}


def expert_mask_key(image_id: str, expert_id: str) -> MaskKey:
    return (image_id, expert_id, EXPERT)


def consensus_mask_key(image_id: str, method: str = DEFAULT_METHOD) -> MaskKey:
    return (image_id, CONSENSUS_RATER, method)


def mask_row(masks: dict[MaskKey, dict], key: MaskKey) -> dict:
    """The mask row for `key`, or a ReleaseError naming what is missing."""
    if key not in masks:
        raise ReleaseError(
            "no mask for this rater and method", file="tables/masks.parquet", record="/".join(key)
        )
    return masks[key]


def contour_rows(tables: dict[str, pa.Table]) -> list[dict]:
    """Expert curves (`contours` rows) in (image_id, expert_id) order."""
    return sorted_rows(tables["contours"], ("image_id", "expert_id"))


def default_consensus_rows(tables: dict[str, pa.Table], method: str = DEFAULT_METHOD) -> list[dict]:
    """`consensus` rows of one method (leave-one-out rows excluded), in image_id order."""
    consensus = tables["consensus"]
    keep = pc.and_(
        pc.equal(consensus["method"], method), pc.is_null(consensus["left_out_expert_id"])
    )
    return sorted_rows(consensus.filter(keep), ("image_id",))


def polygon_rings(wkb: bytes) -> list[np.ndarray]:
    """(N, 2) exterior rings of a WKB polygon or multipolygon, without the repeated last point.

    Interior rings are dropped: the cavity polygons have none, and COCO polygons cannot hold
    holes.
    """
    geometry = shapely.from_wkb(wkb)
    parts = shapely.get_parts(geometry)
    rings = shapely.get_coordinates(shapely.get_exterior_ring(parts), return_index=True)
    coords, index = rings
    return [coords[index == i][:-1] for i in range(len(parts))]


def curves_by_key(points: pa.Table, key_column: str) -> dict[tuple[str, str], np.ndarray]:
    """Open curves of a points table: (image_id, key) -> (N, 2) points in point_index order."""
    order = pc.sort_indices(
        points, [("image_id", "ascending"), (key_column, "ascending"), ("point_index", "ascending")]
    )
    points = points.take(order)
    image_ids = points["image_id"].to_numpy(zero_copy_only=False)
    keys = points[key_column].to_numpy(zero_copy_only=False)
    xy = np.column_stack([points["x"].to_numpy(), points["y"].to_numpy()])
    new_curve = np.ones(len(xy), dtype=bool)
    new_curve[1:] = (image_ids[1:] != image_ids[:-1]) | (keys[1:] != keys[:-1])
    starts = np.flatnonzero(new_curve)
    return {
        (str(image_ids[s]), str(keys[s])): part
        for s, part in zip(starts, np.split(xy, starts[1:]), strict=True)
    }
