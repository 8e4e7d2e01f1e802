"""Deriving buckets: their changed images on the pool, the others' rows kept, streamed.

`plan_bucket` reads a bucket's inputs and finds the images whose inputs are unchanged since
the bucket's files were made (`pipeline.buckets.reuse`); `derive_buckets` derives the others
of every planned bucket as one stream of images (so the pool never waits at a bucket's end)
and writes each table's new bucket file image by image in image order, taking a kept image's
rows from the old file as it goes: any number of buckets holds two chunks of results and a
row group per table. A bucket's files are renamed into place when its last image is written;
then its image digests and its fingerprint are written, last.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.buckets import layout, reuse
from pipeline.buckets.assemble import part_row_group_rows, runs_of, write_part
from pipeline.buckets.derive import (
    DERIVED_TABLES,
    ImageInput,
    derive_images,
    image_inputs,
    study_table,
)
from pipeline.errors import writing
from pipeline.memory import give_back_memory
from pipeline.parallel import ImagePool
from pipeline.tables.parquet_io import PARQUET_COMPRESSION, row_group_batches
from pipeline.tables.schemas import TABLES, TableSpec

STAGE = "derived"
POINT_KEYS = ("image_id", "expert_id")
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
        self._batches = row_group_batches(self._file, spec.column_names, part_row_group_rows(spec))
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


@dataclass(frozen=True)
class BucketPlan:
    """One bucket to derive: its fingerprint, the images to derive and the ones to keep."""

    bucket: str
    digest: str
    image_digests: pa.Table
    keep: list[str]  # image_ids whose rows are kept from the old files, sorted
    items: list[ImageInput]  # the images to derive, in image_id order


def plan_bucket(
    work: Path,
    bucket: str,
    digest: str,
    mm_per_pixel: dict[str, float],
    shared_digest: str,
    frames_from: Path | None,
) -> BucketPlan:
    """Read the bucket's inputs and find which images to derive. `digest` fingerprints the
    whole bucket's inputs, `shared_digest` what every image shares (code, calibration)."""
    layout.forget(work, STAGE, bucket)
    images = pq.read_table(layout.part_path(work, "images", bucket))
    # Keys dictionary-encoded: a bucket at 100x holds millions of points, a few thousand keys.
    points = pq.read_table(layout.part_path(work, "points", bucket), read_dictionary=POINT_KEYS)
    curves = layout.read_published(work, bucket)
    digests = reuse.image_digests(images, points, curves, mm_per_pixel, shared_digest)
    outputs = [layout.part_path(work, name, bucket) for name in DERIVED_TABLES]
    keep = reuse.unchanged_images(reuse.read_digests(work, bucket), digests, outputs)
    reuse.forget_digests(work, bucket)
    if keep:  # (a full derive keeps nothing: no copy of the bucket's points)
        todo = pc.invert(pc.is_in(images["image_id"], pa.array(sorted(keep), pa.string())))
        images = images.filter(todo)
        points = points.filter(pc.is_in(points["image_id"], images["image_id"]))
    items = image_inputs(images, points, curves, mm_per_pixel, work, frames_from)
    del images, points
    give_back_memory()  # the bucket's points tables, read whole, are gone
    return BucketPlan(bucket, digest, digests, sorted(keep), items)


class _BucketFiles:
    """A bucket's new files, written image by image in image order: each derived image's
    rows as they come, a kept image's rows from the old files when its turn comes."""

    def __init__(self, work: Path, plan: BucketPlan):
        self.work, self.plan = work, plan
        self.paths = {name: layout.part_path(work, name, plan.bucket) for name in DERIVED_TABLES}
        self.waiting = len(plan.items)  # derived images not yet written
        self._kept_at = 0
        self._old: dict[str, _OldRows] = {}
        self._writers: dict[str, _PartWriter] = {}
        self._measurements: list[dict] = []
        try:
            for name in IMAGE_TABLES:
                if plan.keep:
                    self._old[name] = _OldRows(self.paths[name], TABLES[name])
                self._writers[name] = _PartWriter(TABLES[name], self.paths[name])
        except BaseException:
            self.abandon()
            raise

    def add(self, image_id: str, tables: dict[str, pa.Table]) -> None:
        """The next derived image's tables (the kept images before it are written first)."""
        self._keep_until(image_id)
        self._write(tables)
        self.waiting -= 1

    def finish(self) -> DerivedBucket:
        """Write the last kept images, the per-study table, the image digests and the
        bucket's fingerprint (last: until then the bucket is not current)."""
        self._keep_until(None)
        for rows in self._old.values():
            rows.close()
        for writer in self._writers.values():
            writer.close()
        plan, paths = self.plan, self.paths
        write_part(
            study_table(self._measurements),
            TABLES["study_measurements"],
            paths["study_measurements"],
        )
        reuse.write_digests(self.work, plan.bucket, plan.image_digests)
        layout.mark_current(self.work, STAGE, plan.bucket, plan.digest)
        give_back_memory()
        return DerivedBucket(plan.bucket, len(plan.items), len(plan.keep))

    def abandon(self) -> None:
        """Remove the partial files (the old files, and the bucket's staleness, stay)."""
        for writer in self._writers.values():
            writer.abandon()
        for rows in self._old.values():
            rows.close()

    def _keep_until(self, image_id: str | None) -> None:
        keep = self.plan.keep
        while self._kept_at < len(keep) and (image_id is None or keep[self._kept_at] < image_id):
            kept = keep[self._kept_at]
            self._write({name: rows.take(kept) for name, rows in self._old.items()})
            self._kept_at += 1

    def _write(self, tables: dict[str, pa.Table | None]) -> None:
        for name, writer in self._writers.items():
            if tables[name] is not None and tables[name].num_rows:
                writer.add(tables[name])
        if tables["measurements"] is not None:
            self._measurements += tables["measurements"].to_pylist()


def derive_buckets(
    work: Path, plans: Iterable[BucketPlan], pool: ImagePool
) -> Iterator[DerivedBucket]:
    """Derive every planned bucket, as one stream of images over all of them: the pool never
    waits at a bucket's end, and each bucket's files are finished (and it is yielded) as soon
    as its last image is written. `plans` is pulled lazily, as the stream reaches each
    bucket, so a bucket's inputs are read only shortly before its images are derived."""
    open_buckets: deque[_BucketFiles] = deque()

    def items() -> Iterator[ImageInput]:
        for plan in plans:
            open_buckets.append(_BucketFiles(work, plan))
            yield from plan.items

    try:
        results = derive_images(items(), pool)
        for tables in results:
            yield from _finish_written(open_buckets)
            files = open_buckets[0]
            files.add(files.plan.items[-files.waiting].image.image_id, tables)
            yield from _finish_written(open_buckets)
        yield from _finish_written(open_buckets)
    except BaseException:
        for files in open_buckets:
            files.abandon()
        raise


def _finish_written(open_buckets: deque[_BucketFiles]) -> Iterator[DerivedBucket]:
    """Finish the leading buckets whose derived images are all written."""
    while open_buckets and open_buckets[0].waiting == 0:
        yield open_buckets[0].finish()
        open_buckets.popleft()
