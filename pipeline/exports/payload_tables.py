"""Table readers shared by the exports: images in id order, mask areas, curves, consensus rows.

Every export reads the release tables through these, so "which images, in what order, with
which mask" is decided in one place. They read only the columns asked for, a bounded batch at
a time (`pipeline.tables.table_files.sorted_batches`); what they keep whole is columnar and one
row per image or per mask, never per point.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from pipeline.errors import ReleaseError
from pipeline.exports.layout import table_path
from pipeline.names import DEFAULT_METHOD
from pipeline.tables.table_files import BATCH_ROWS, TableReader, sorted_batches

CurveKey = tuple[str, str]  # (image_id, expert_id or other key)


def rows(batches: Iterable[pa.RecordBatch]) -> Iterator[dict]:
    """The rows of the batches as dicts, one batch converted at a time."""
    for batch in batches:
        yield from batch.to_pylist()


def image_batches(
    tables: TableReader, columns: list[str], batch_size: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """`images` rows in image_id order: the order of every export."""
    return sorted_batches(tables, "images", columns, ("image_id",), batch_size)


def contour_batches(
    tables: TableReader, columns: list[str], batch_size: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """Expert curves (`contours` rows) in (image_id, expert_id) order."""
    return sorted_batches(tables, "contours", columns, ("image_id", "expert_id"), batch_size)


def default_consensus_batches(
    tables: TableReader,
    columns: list[str],
    batch_size: int = BATCH_ROWS,
    method: str = DEFAULT_METHOD,
) -> Iterator[pa.RecordBatch]:
    """`consensus` rows of one method (leave-one-out rows excluded), in image_id order."""
    wanted = list(dict.fromkeys([*columns, "method", "left_out_expert_id"]))
    for batch in sorted_batches(tables, "consensus", wanted, ("image_id",), batch_size):
        keep = pc.and_(pc.equal(batch["method"], method), pc.is_null(batch["left_out_expert_id"]))
        yield batch.filter(keep)


class ImageIds:
    """COCO's integer image ids: 1.. in image_id order, looked up a column at a time."""

    def __init__(self, tables: TableReader):
        image_ids = tables.columns("images", ["image_id"])["image_id"].combine_chunks()
        self.image_ids = image_ids.take(pc.array_sort_indices(image_ids))

    def ids(self, image_ids: pa.Array) -> list[int]:
        """The COCO id of each image_id; ReleaseError for one the images table lacks."""
        index = pc.index_in(image_ids, value_set=self.image_ids)
        if index.null_count:
            missing = image_ids.filter(pc.is_null(index))[0].as_py()
            raise ReleaseError(
                "image not in the images table", file=table_path("images"), record=missing
            )
        return (np.asarray(index) + 1).tolist()


class MaskAreas:
    """`area_px` of the masks, looked up a batch of (image_id, rater) at a time."""

    def __init__(self, tables: TableReader):
        self.masks = tables.columns("masks", ["image_id", "rater", "method", "area_px"])

    def areas(self, image_ids: pa.Array, raters: pa.Array, method: str) -> list[int]:
        """The area of each (image_id, rater)'s `method` mask; ReleaseError if one is missing."""
        n = len(image_ids)
        wanted = pa.table(
            {
                "image_id": image_ids,
                "rater": raters,
                "method": pa.array([method] * n, pa.string()),
                "row": pa.array(np.arange(n)),
            }
        )
        found = wanted.join(
            self.masks, keys=["image_id", "rater", "method"], join_type="left outer"
        ).sort_by("row")
        if found.num_rows != n:
            raise ReleaseError(
                "more than one mask for a rater and method", file=table_path("masks")
            )
        missing = pc.is_null(found["area_px"])
        if pc.any(missing).as_py():
            first = found.filter(missing).slice(0, 1).to_pylist()[0]
            record = "/".join((first["image_id"], first["rater"], method))
            raise ReleaseError(
                "no mask for this rater and method", file=table_path("masks"), record=record
            )
        return found["area_px"].to_pylist()


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


def curve_batches(tables: TableReader, key_column: str = "expert_id") -> Iterator[pa.RecordBatch]:
    """`points` in (image_id, key, point_index) order, only the columns a curve needs."""
    keys = ("image_id", key_column, "point_index")
    return sorted_batches(tables, "points", ["x", "y"], keys)


def curves_in_order(
    batches: Iterable[pa.RecordBatch], key_column: str
) -> Iterator[tuple[CurveKey, np.ndarray]]:
    """Open curves of points batches: ((image_id, key), (N, 2) points), in the batches' order.

    The batches come sorted by (image_id, key, point_index) (`curve_batches`); a curve split
    between two batches is joined.
    """
    pending_key: CurveKey | None = None
    pending: list[np.ndarray] = []
    for batch in batches:
        if batch.num_rows == 0:
            continue
        image_ids, keys = batch["image_id"], batch[key_column]
        xy = np.column_stack([batch["x"].to_numpy(), batch["y"].to_numpy()])
        # Where a curve starts, found in Arrow: only the starts' keys become Python strings.
        new_curve = np.ones(len(xy), dtype=bool)
        new_curve[1:] = pc.or_(
            pc.not_equal(image_ids[1:], image_ids[:-1]), pc.not_equal(keys[1:], keys[:-1])
        ).to_numpy(zero_copy_only=False)
        starts = np.flatnonzero(new_curve)
        curve_keys = zip(
            image_ids.take(starts).to_pylist(), keys.take(starts).to_pylist(), strict=True
        )
        for key, part in zip(curve_keys, np.split(xy, starts[1:]), strict=True):
            if key != pending_key:
                if pending_key is not None:
                    yield pending_key, np.concatenate(pending)
                pending_key, pending = key, []
            pending.append(part)
    if pending_key is not None:
        yield pending_key, np.concatenate(pending)


class CurvesInOrder:
    """Curves of an ordered stream (`curves_in_order`), asked for in the same order."""

    def __init__(self, curves: Iterator[tuple[CurveKey, np.ndarray]]):
        self._curves = curves
        self._current = next(self._curves, None)

    def curve(self, key: CurveKey) -> np.ndarray:
        """The curve of `key`; the curves before it are passed over for good."""
        while self._current is not None and self._current[0] < key:
            self._current = next(self._curves, None)
        if self._current is None or self._current[0] != key:
            raise ReleaseError(
                "no points for this curve", file=table_path("points"), record="/".join(key)
            )
        return self._current[1]
