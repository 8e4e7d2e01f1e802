"""Image by image reuse inside a bucket that must be derived again.

A bucket is derived again when any of its inputs changed, but most of its images usually did
not: one edited study re-derives two images, not the bucket's hundred. Each image's inputs
(its `images` row, its experts' points, its published curve, its pixel size) get a digest;
`<work>/buckets/image_digests/<bucket>.parquet` holds the digests the bucket's derived files
were made from. An image whose digest is unchanged keeps its rows of the old files (and its
mask and frame files); the others are derived.

The digests file is removed before any of the bucket's files is rewritten and written again
after the last, so a run killed in between leaves no digests: the next run derives the whole
bucket.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.buckets import layout
from pipeline.tables.codes import runs, sorted_codes
from pipeline.tables.parquet_io import write_parquet_atomic

DIGESTS = "image_digests"


def _runs(ids: pa.ChunkedArray | pa.Array) -> dict[str, tuple[int, int]]:
    """image_id -> (first row, row count) of a table sorted by image_id (plain or
    dictionary-encoded strings)."""
    codes, names = sorted_codes(ids)
    starts, lengths = runs(codes)
    return {names[codes[s]]: (s, n) for s, n in zip(starts.tolist(), lengths.tolist(), strict=True)}


def _rows_bytes(table: pa.Table) -> bytes:
    """The values of some rows, column by column, as bytes (strings NUL-separated)."""
    parts = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_dictionary(column.type):
            parts.append("\0".join(column.to_pylist()).encode("utf-8"))
        else:
            parts.append(np.ascontiguousarray(column.to_numpy()).tobytes())
        parts.append(b"\1")
    return b"".join(parts)


def image_digests(
    images: pa.Table,
    points: pa.Table,
    published: dict[str, np.ndarray],
    mm_per_pixel: dict[str, float],
    context: str,
) -> dict[str, str]:
    """image_id -> digest of everything its derivation reads; `context` covers what every
    image shares (the code, the calibration file)."""
    point_runs = _runs(points["image_id"])
    digests = {}
    for row in images.to_pylist():
        image_id = row["image_id"]
        digest = hashlib.sha256(context.encode())
        digest.update(repr(sorted(row.items())).encode())
        first, count = point_runs.get(image_id, (0, 0))
        digest.update(_rows_bytes(points.slice(first, count)))
        curve = published.get(image_id)
        digest.update(b"-" if curve is None else np.ascontiguousarray(curve).tobytes())
        digest.update(repr(mm_per_pixel.get(image_id)).encode())
        digests[image_id] = digest.hexdigest()
    return digests


def digests_path(work: Path, bucket: str) -> Path:
    return layout.part_path(work, DIGESTS, bucket)


def read_digests(work: Path, bucket: str) -> dict[str, str]:
    """The digests the bucket's derived files were made from ({} when unknown)."""
    path = digests_path(work, bucket)
    if not path.is_file():
        return {}
    table = pq.read_table(path)
    return dict(zip(table["image_id"].to_pylist(), table["digest"].to_pylist(), strict=True))


def forget_digests(work: Path, bucket: str) -> None:
    """The bucket's derived files are about to be rewritten."""
    digests_path(work, bucket).unlink(missing_ok=True)


def write_digests(work: Path, bucket: str, digests: dict[str, str]) -> None:
    ids = sorted(digests)
    table = pa.table({"image_id": pa.array(ids, pa.string()), "digest": [digests[i] for i in ids]})
    write_parquet_atomic(table, digests_path(work, bucket))


def unchanged_images(old: dict[str, str], new: dict[str, str], old_files: list[Path]) -> set[str]:
    """Images whose rows can be kept: same digest as when the old files (all there) were made."""
    if not old or not all(p.is_file() for p in old_files):
        return set()
    return {image_id for image_id, digest in new.items() if old.get(image_id) == digest}
