"""Record-level validation of one bucket of studies, from the shards a scan wrote.

A bucket holds whole studies (a study's images share its hash, so its bucket), so each bucket
validates alone: its records, its Images/ entries, its consensus curves. The partitioned flow:

    scan = scan_source(root, shards_dir)                   # once: SourceScan, small
    source = validate_bucket(scan.root, shards_dir, b, scan.expert_ids)   # per bucket b
    bucket_tables(source)   # per bucket: images, studies, points, contours, rejects
    experts_table_for(scan.expert_ids, sum of every bucket's source.curves_per_user())
    rejects_table_of(scan.rejects)   # the rejects that belong to no bucket

Concatenated and conformed (sorted by each spec's key), the buckets' tables plus the scan's
rejects equal the whole source's tables. A bucket's inputs are its fingerprint
(`scan.buckets[b].fingerprint`) and the expert numbering (`scan.expert_ids`, global: a new
userId in one bucket renumbers every bucket's expert ids).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.source.frame_memo import FrameMemo
from pipeline.source.images import (
    ImageFacts,
    ImageProblem,
    decode_png,
    file_stamp,
    list_image_files,
)
from pipeline.source.outcomes import (
    AcceptedCurve,
    AcceptedImage,
    RecordCounts,
    Reject,
    ValidatedSource,
)
from pipeline.source.reader import ANNOTATIONS_KEEP, CONSENSUS_KEEP
from pipeline.source.shards import (
    BUCKETS,
    SourceScan,
    consensus_shard_path,
    image_bucket,
    read_shard,
    scan_source,
    shard_path,
)
from pipeline.source.validation import check_records


@dataclass
class BucketSource:
    """The accepted records of one bucket, its rejects and its totals.

    `images` are ED then ES per study, studies in the order of their ED image in the
    annotations file (`ed_orders`); `curves` follow the images, each image's in file order.
    """

    bucket: str
    images: list[AcceptedImage]
    curves: list[AcceptedCurve]
    ed_orders: list[int]
    consensus: dict[str, np.ndarray]  # image_id -> published consensus curve
    rejects: list[Reject]
    image_counts: RecordCounts
    curve_counts: RecordCounts
    expert_ids: dict[str, str]  # userId -> E01..., assigned over the whole source by the scan

    def curves_per_user(self) -> Counter[str]:
        """Accepted curves per userId (summed over buckets: the experts table's n_curves)."""
        return Counter(c.user_id for c in self.curves)


def validate_bucket(
    root: Path,
    shards_dir: Path,
    bucket: str,
    expert_ids: dict[str, str],
    decode_threads: int = 1,
    frames: FrameMemo | None = None,
) -> BucketSource:
    """Validate one bucket: decode and check its images, check its curves, pair each study's
    two images (ED first in file order), check its consensus curves.

    `root` is the source folder (`scan.root`), `shards_dir` where `scan_source` wrote, and
    `expert_ids` the scan's (`scan.expert_ids`): every bucket numbers experts alike. With
    `decode_threads` > 1, the bucket's image files are decoded on that many threads first.
    With `frames`, the facts of frames unchanged since the memo was kept are recalled, not
    decoded, and the memo is kept again for the next validation.
    """
    files, refused = list_image_files(root)
    files = {name: path for name, path in files.items() if image_bucket(name) == bucket}
    refused = {name: why for name, why in refused.items() if image_bucket(name) == bucket}
    names = sorted(files)
    stamps = {name: file_stamp(files[name]) for name in names} if frames else {}
    decoded: dict[str, ImageFacts | ImageProblem] = dict(frames.recall(stamps)) if frames else {}
    to_decode = [name for name in names if name not in decoded]
    if decode_threads > 1 and len(to_decode) > 1:
        # Pillow releases the GIL while it decodes: threads decode side by side.
        with ThreadPoolExecutor(max_workers=decode_threads) as threads:
            paths = [files[n] for n in to_decode]
            decoded.update(zip(to_decode, threads.map(decode_png, paths), strict=True))
    records = read_shard(shard_path(shards_dir, bucket), ANNOTATIONS_KEEP)
    consensus = (
        (key, value)
        for _, key, value in read_shard(consensus_shard_path(shards_dir, bucket), CONSENSUS_KEEP)
    )
    checked = check_records(records, files, refused, consensus, decoded=decoded)
    if frames is not None:
        found = {n: f for n, f in decoded.items() if isinstance(f, ImageFacts)}
        found.update((image.name.file_name, image.facts) for image in checked.images)
        frames.keep(stamps, found)
    return BucketSource(
        bucket=bucket,
        images=checked.images,
        curves=checked.curves,
        ed_orders=checked.ed_orders,
        consensus=checked.consensus,
        rejects=checked.ledger.rejects,
        image_counts=checked.ledger.image_counts(len(checked.images)),
        curve_counts=checked.ledger.curve_counts(len(checked.curves)),
        expert_ids=expert_ids,
    )


def merge_buckets(scan: SourceScan, buckets: list[BucketSource]) -> ValidatedSource:
    """The whole source's ValidatedSource from the scan and every bucket (in memory: for the
    whole-dataset path and tests, not for the partitioned pipeline).

    Images and curves come out in the order `validate_raw` gives; rejects the scan's first,
    then bucket by bucket.
    """
    studies = []  # (ED order, the study's two images, their curves)
    for source in buckets:
        at = 0
        for k, ed_order in enumerate(source.ed_orders):
            pair = source.images[2 * k : 2 * k + 2]
            n_curves = sum(image.n_curves for image in pair)
            studies.append((ed_order, pair, source.curves[at : at + n_curves]))
            at += n_curves
    studies.sort(key=lambda study: study[0])
    images = [image for _, pair, _ in studies for image in pair]
    curves = [curve for *_, block in studies for curve in block]
    return ValidatedSource(
        images=images,
        curves=curves,
        consensus={k: v for source in buckets for k, v in source.consensus.items()},
        rejects=[*scan.rejects, *(r for source in buckets for r in source.rejects)],
        image_counts=_total(scan.image_counts, (s.image_counts for s in buckets)),
        curve_counts=_total(scan.curve_counts, (s.curve_counts for s in buckets)),
    )


def _total(first: RecordCounts, others) -> RecordCounts:
    counts = [first, *others]
    return RecordCounts(
        total=sum(c.total for c in counts),
        accepted=sum(c.accepted for c in counts),
        rejected=sum(c.rejected for c in counts),
    )


def validate_all(path: Path) -> ValidatedSource:
    """Scan the source at `path` into temporary shards and validate every bucket."""
    with tempfile.TemporaryDirectory(prefix="unitylv-shards-") as shards:
        scan = scan_source(path, Path(shards))
        buckets = [validate_bucket(scan.root, Path(shards), b, scan.expert_ids) for b in BUCKETS]
    return merge_buckets(scan, buckets)
