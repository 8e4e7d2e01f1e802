"""Deriving one bucket: its changed images on the pool, the others' rows kept, streamed.

`derive_bucket_files` reads the bucket's inputs, finds the images whose inputs are unchanged
since the bucket's files were made (`pipeline.buckets.reuse`), derives the others a chunk at a
time, and writes each table's new bucket file image by image in image order, taking a kept
image's rows from the old file as it goes: a bucket of any size holds two chunks of results
and a row group per table. The files are renamed into place at the end; then the image
digests and the bucket's fingerprint are written, last.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.buckets import layout, reuse
from pipeline.buckets.assemble import part_row_group_rows, runs_of, write_part
from pipeline.buckets.derive import DERIVED_TABLES, derive_images, study_table
from pipeline.errors import writing
from pipeline.parallel import ImagePool
from pipeline.tables.parquet_io import PARQUET_COMPRESSION
from pipeline.tables.schemas import TABLES, TableSpec

STAGE = "derived"
INPUT_TABLES = ("images", "points")
IMAGE_TABLES = DERIVED_TABLES[:-1]  # a row per image and more; the last is per study


@dataclass(frozen=True)
class DerivedBucket:
    """What deriving a bucket did."""

    name: str
    images_derived: int
    images_kept: int


class _PartWriter:
    """A table's new bucket file, written whole images at a time, in image order (so sorted),
    to a partial file renamed into place by `close`."""

    def __init__(self, spec: TableSpec, path: Path):
        self.spec, self.path = spec, path
        self.partial = path.with_name(path.name + ".partial")
        self.group_rows = part_row_group_rows(spec)
        with writing(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(
                self.partial, spec.schema, compression=PARQUET_COMPRESSION
            )
        self.pending: list[pa.Table] = []
        self.pending_rows = 0

    def add(self, table: pa.Table) -> None:
        """One image's rows (sorted)."""
        self.pending.append(table.cast(self.spec.schema))
        self.pending_rows += table.num_rows
        if self.pending_rows >= self.group_rows:
            self._flush()

    def _flush(self) -> None:
        if self.pending:
            with writing(self.path):
                self.writer.write_table(
                    pa.concat_tables(self.pending), row_group_size=self.group_rows
                )
        self.pending, self.pending_rows = [], 0

    def close(self) -> None:
        self._flush()
        with writing(self.path):
            self.writer.close()
            os.replace(self.partial, self.path)

    def abandon(self) -> None:
        self.writer.close()
        self.partial.unlink(missing_ok=True)


class _OldRows:
    """An old bucket file read in image order: `take(image_id)` gives that image's rows,
    skipping those of images before it."""

    def __init__(self, path: Path, spec: TableSpec):
        self._file = pq.ParquetFile(path, pre_buffer=False)
        self._batches = self._file.iter_batches(
            batch_size=part_row_group_rows(spec), columns=spec.column_names
        )
        self._runs: list[tuple[str, pa.RecordBatch]] = []
        self._more = True

    def _fill(self) -> bool:
        batch = next(self._batches, None)
        if batch is None:
            self._more = False
            return False
        self._runs = runs_of(batch, batch.column("image_id"))
        return True

    def take(self, image_id: str) -> pa.Table | None:
        found: list[pa.RecordBatch] = []
        while self._runs or (self._more and self._fill()):
            run_id, rows = self._runs[0]
            if run_id > image_id:
                break
            self._runs.pop(0)
            if run_id == image_id:
                found.append(rows)
        return pa.Table.from_batches(found, schema=found[0].schema) if found else None

    def close(self) -> None:
        self._file.close()


def derive_bucket_files(
    work: Path,
    bucket: str,
    digest: str,
    mm_per_pixel: dict[str, float],
    shared_digest: str,
    pool: ImagePool,
    frames_from: Path | None,
) -> DerivedBucket:
    """Derive the bucket's changed images and write its files. `digest` fingerprints the
    whole bucket's inputs, `shared_digest` what every image shares (code, calibration)."""
    layout.forget(work, STAGE, bucket)
    images, points = (pq.read_table(layout.part_path(work, t, bucket)) for t in INPUT_TABLES)
    curves = layout.read_published(work, bucket)
    digests = reuse.image_digests(images, points, curves, mm_per_pixel, shared_digest)
    paths = {name: layout.part_path(work, name, bucket) for name in DERIVED_TABLES}
    keep = reuse.unchanged_images(reuse.read_digests(work, bucket), digests, list(paths.values()))
    reuse.forget_digests(work, bucket)
    if keep:  # (a full derive keeps nothing: no copy of the bucket's points)
        todo = pc.invert(pc.is_in(images["image_id"], pa.array(sorted(keep), pa.string())))
        images = images.filter(todo)
        points = points.filter(pc.is_in(points["image_id"], images["image_id"]))
    new = derive_images(images, points, curves, mm_per_pixel, work, pool, frames_from)

    old = {name: _OldRows(paths[name], TABLES[name]) for name in IMAGE_TABLES} if keep else {}
    writers = {name: _PartWriter(TABLES[name], paths[name]) for name in IMAGE_TABLES}
    measurements: list[dict] = []
    derived = 0
    try:
        for image_id, tables in _in_image_order(sorted(keep), new, old):
            derived += image_id not in keep
            for name, writer in writers.items():
                if tables[name] is not None and tables[name].num_rows:
                    writer.add(tables[name])
            if tables["measurements"] is not None:
                measurements += tables["measurements"].to_pylist()
    except BaseException:
        for writer in writers.values():
            writer.abandon()
        raise
    finally:
        for rows in old.values():
            rows.close()
    for writer in writers.values():
        writer.close()
    write_part(study_table(measurements), TABLES["study_measurements"], paths["study_measurements"])
    reuse.write_digests(work, bucket, digests)
    layout.mark_current(work, STAGE, bucket, digest)
    return DerivedBucket(bucket, derived, len(keep))


def _in_image_order(
    kept: list[str],
    new: Iterator[tuple[str, dict[str, pa.Table]]],
    old: dict[str, _OldRows],
) -> Iterator[tuple[str, dict[str, pa.Table | None]]]:
    """Each image's tables, kept and new merged by image_id."""
    upcoming = next(new, None)
    at = 0
    while upcoming is not None or at < len(kept):
        if at < len(kept) and (upcoming is None or kept[at] < upcoming[0]):
            image_id = kept[at]
            at += 1
            yield image_id, {name: rows.take(image_id) for name, rows in old.items()}
        else:
            yield upcoming
            upcoming = next(new, None)
