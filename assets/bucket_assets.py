"""Per-bucket work, partitioned by study bucket: record validation, then every derivation.

Each asset is one step over the run's buckets (a single-run backfill), so a full run costs
one step per stage, and a bucket whose inputs have not changed since its outputs were made
(same source records and images, same code, same calibration) is reused, not derived again.
"""

from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from assets.errors import user_errors_as_failures
from assets.fingerprint import code_fingerprint
from assets.partitions import ONE_RUN, STUDY_BUCKETS
from assets.progress import progress_reporter
from assets.resources import CalibrationFile, SourceFolder, WorkFolder
from pipeline.buckets import layout
from pipeline.buckets.assemble import write_part
from pipeline.buckets.derive import DERIVED_TABLES
from pipeline.buckets.records import RECORD_TABLES, counts_of
from pipeline.buckets.rederive import STAGE as DERIVED
from pipeline.buckets.rederive import DerivedBucket, derive_buckets, plan_bucket
from pipeline.checksums import sha256_file
from pipeline.constants import IMAGES_DIR
from pipeline.measurements.calibration import read_calibration
from pipeline.parallel import image_pool, worker_count
from pipeline.source.buckets import validate_bucket
from pipeline.source.frame_memo import FrameMemo
from pipeline.source.shards import SourceScan
from pipeline.tables.schemas import TABLES
from pipeline.tables.source_tables import bucket_tables

RECORDS = "records"
IMAGES_TASK = "images: consensus, masks, agreement"  # progress, counted a bucket at a time


def bucket_key(table: str) -> dg.AssetKey:
    """The partitioned asset of a table: buckets/<table>."""
    return dg.AssetKey([layout.BUCKETS_DIR, table])


def _specs(tables: tuple[str, ...], group: str, deps: list) -> list[dg.AssetSpec]:
    return [
        dg.AssetSpec(
            bucket_key(t),
            group_name=group,
            kinds={"parquet"},
            deps=deps,
            partitions_def=STUDY_BUCKETS,
            description=f"{TABLES[t].grain} rows of one study bucket",
        )
        for t in tables
    ]


def _results(tables: tuple[str, ...], derived: list[str], reused: list[str], **counts: int):
    for table in tables:
        yield dg.MaterializeResult(
            asset_key=bucket_key(table),
            metadata={"buckets_derived": len(derived), "buckets_reused": len(reused)} | counts,
        )


@dg.multi_asset(
    specs=_specs(RECORD_TABLES, "validated", ["source_scan"]),
    ins={"source_scan": dg.AssetIn("source_scan")},
    partitions_def=STUDY_BUCKETS,
    backfill_policy=ONE_RUN,
    can_subset=False,
    description="Each bucket's records validated: images, studies, points, contours, rejects.",
)
def bucket_records(
    context: dg.AssetExecutionContext,
    work: WorkFolder,
    source_scan: SourceScan,
):
    scan = source_scan
    code = code_fingerprint()
    derived, reused = [], []
    threads = worker_count()
    for bucket in context.partition_keys:
        digest = layout.fingerprint(scan.buckets[bucket].fingerprint, str(scan.user_ids), code)
        outputs = [layout.part_path(work.root, t, bucket) for t in RECORD_TABLES]
        if layout.is_current(work.root, RECORDS, bucket, digest, outputs):
            reused.append(bucket)
            continue
        layout.forget(work.root, RECORDS, bucket)
        with user_errors_as_failures():
            frames = FrameMemo(layout.part_path(work.root, layout.FRAMES_DIR, bucket), code)
            validated = validate_bucket(
                scan.root, work.root / "shards", bucket, scan.expert_ids, threads, frames
            )
            for name, table in bucket_tables(validated).items():
                write_part(table, TABLES[name], layout.part_path(work.root, name, bucket))
            layout.write_published(work.root, bucket, validated.consensus)
            layout.write_counts(
                work.root, bucket, counts_of(validated.image_counts, validated.curve_counts)
            )
        layout.mark_current(work.root, RECORDS, bucket, digest)
        derived.append(bucket)
    context.log.info(f"buckets validated: {len(derived)}, reused: {len(reused)}")
    yield from _results(RECORD_TABLES, derived, reused)


@dg.multi_asset(
    specs=_specs(DERIVED_TABLES, "derived", [bucket_key("images"), bucket_key("points")]),
    partitions_def=STUDY_BUCKETS,
    backfill_policy=ONE_RUN,
    can_subset=False,
    description="Each bucket's consensus, masks, agreement and measurements, image by image.",
)
def bucket_derivations(
    context: dg.AssetExecutionContext,
    work: WorkFolder,
    source: SourceFolder,
    calibration: CalibrationFile,
):
    with user_errors_as_failures():
        spacing = read_calibration(Path(calibration.path)) if calibration.path else {}
    calibration_digest = sha256_file(Path(calibration.path)) if calibration.path else ""
    code = code_fingerprint()
    bucket_images = {
        b: pq.ParquetFile(p).metadata.num_rows if p.is_file() else 0
        for b in context.partition_keys
        for p in [layout.part_path(work.root, "images", b)]
    }
    n_images = sum(bucket_images.values())
    progress = progress_reporter(context)
    frames_from = source.root / IMAGES_DIR
    with user_errors_as_failures():
        stale = {}  # bucket -> the fingerprint of its inputs, for buckets not current
        for bucket in context.partition_keys:
            inputs = [layout.part_path(work.root, t, bucket) for t in ("images", "points")]
            published = layout.part_path(work.root, "published", bucket)
            digest = layout.fingerprint(
                *(sha256_file(p) for p in [*inputs, published] if p.is_file()),
                code,
                calibration_digest,
            )
            outputs = [layout.part_path(work.root, t, bucket) for t in DERIVED_TABLES]
            if not layout.is_current(work.root, DERIVED, bucket, digest, outputs):
                stale[bucket] = digest
        reused = [b for b in context.partition_keys if b not in stale]
        done = sum(bucket_images[b] for b in reused)
        progress(IMAGES_TASK, done, n_images)
        plans = (
            plan_bucket(work.root, b, d, spacing, code + calibration_digest, frames_from)
            for b, d in stale.items()
        )
        written: list[DerivedBucket] = []
        with image_pool(expected_items=n_images) as pool:
            for derived in derive_buckets(work.root, plans, pool):
                written.append(derived)
                done += bucket_images[derived.name]
                progress(IMAGES_TASK, done, n_images)
    images_kept = sum(b.images_kept for b in written)
    images_derived = sum(b.images_derived for b in written)
    context.log.info(
        f"buckets derived: {len(written)} ({images_derived} images derived, {images_kept} kept),"
        f" reused: {len(reused)}"
    )
    yield from _results(
        DERIVED_TABLES,
        [b.name for b in written],
        reused,
        images_derived=images_derived,
        images_kept=images_kept,
    )


BUCKET_ASSETS = [bucket_records, bucket_derivations]
