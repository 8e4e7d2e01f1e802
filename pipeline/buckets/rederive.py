"""Deriving one bucket again: only its changed images, the others' rows kept.

`start_bucket` reads the bucket's inputs, finds the images whose inputs are unchanged since
the bucket's files were made (`pipeline.buckets.reuse`) and hands the others to the workers;
`finish_bucket` waits for them and writes the bucket's files, then its image digests and its
fingerprint, last.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.buckets import layout, reuse
from pipeline.buckets.assemble import write_part
from pipeline.buckets.derive import DERIVED_TABLES, PendingBucket, collect_bucket, submit_bucket
from pipeline.parallel import ImagePool
from pipeline.tables.schemas import TABLES

STAGE = "derived"
INPUT_TABLES = ("images", "points")


@dataclass
class StartedBucket:
    """A bucket being derived: the digest of its inputs and of each image's, the images kept."""

    name: str
    digest: str
    image_digests: dict[str, str]
    kept_images: set[str]
    pending: PendingBucket

    @property
    def images_derived(self) -> int:
        return len(self.image_digests) - len(self.kept_images)


def start_bucket(
    work: Path,
    bucket: str,
    digest: str,
    mm_per_pixel: dict[str, float],
    shared_digest: str,
    pool: ImagePool,
    frames_from: Path | None,
) -> StartedBucket:
    """Hand the bucket's changed images to the pool. `digest` fingerprints the whole bucket's
    inputs, `shared_digest` what every image shares (code, calibration)."""
    layout.forget(work, STAGE, bucket)
    images, points = (pq.read_table(layout.part_path(work, t, bucket)) for t in INPUT_TABLES)
    curves = layout.read_published(work, bucket)
    digests = reuse.image_digests(images, points, curves, mm_per_pixel, shared_digest)
    outputs = [layout.part_path(work, t, bucket) for t in DERIVED_TABLES]
    keep = reuse.unchanged_images(reuse.read_digests(work, bucket), digests, outputs)
    reuse.forget_digests(work, bucket)
    todo = pc.invert(pc.is_in(images["image_id"], pa.array(sorted(keep), pa.string())))
    images = images.filter(todo)
    points = points.filter(pc.is_in(points["image_id"], images["image_id"]))
    pending = submit_bucket(images, points, curves, mm_per_pixel, work, pool, frames_from)
    return StartedBucket(bucket, digest, digests, keep, pending)


def finish_bucket(work: Path, bucket: StartedBucket) -> StartedBucket:
    """Write a started bucket's files once its images are done (the kept rows read first)."""
    kept = {
        name: reuse.kept_rows(layout.part_path(work, name, bucket.name), bucket.kept_images)
        for name in DERIVED_TABLES[:-1]
    }
    for name, table in collect_bucket(bucket.pending, kept).items():
        write_part(table, TABLES[name], layout.part_path(work, name, bucket.name))
    reuse.write_digests(work, bucket.name, bucket.image_digests)
    layout.mark_current(work, STAGE, bucket.name, bucket.digest)
    return bucket
