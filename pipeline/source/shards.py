"""One streaming pass over the source that splits it into per-bucket shards.

A study's bucket is the first hex digit of its study hash (16 buckets, "0".."f"): stable, and
even, since the hash is uniform. `scan_source` streams the annotations (and consensus) file
once and writes, for each bucket, `<bucket>.jsonl` (its image records) and
`<bucket>.consensus.jsonl` (its consensus curves): one JSON line per record, in file order,
holding the record's order in the file, its line, how deep it nests, the image name and the
value's JSON text exactly as in the source, so a bucket re-parses its records exactly. A record
whose name is not a published image name belongs to no bucket: the scan checks it itself, as
it does Images/ entries with such names. Every bucket gets both files (perhaps empty), written
atomically; the same source always gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.constants import (
    ANNOTATIONS_FILE,
    CONSENSUS_FILE,
    IMAGES_DIR,
    STUDY_BUCKETS,
)
from pipeline.errors import writing
from pipeline.source.images import file_stamp, list_image_files, parse_image_name
from pipeline.source.jsonparse import parse_text
from pipeline.source.jsonvalues import is_json_object, json_kind
from pipeline.source.outcomes import Ledger, RecordCounts, Reject, number_experts
from pipeline.source.reader import (
    ANNOTATIONS_KEEP,
    CONSENSUS_KEEP,
    CONSENSUS_SHAPE,
    PUBLISHED_SHAPE,
    records_shape_problem,
    source_root,
)
from pipeline.source.stream import SourceRecord, stream_records
from pipeline.source.validation import check_records

BUCKETS = STUDY_BUCKETS


def study_bucket(study_hash: str) -> str:
    """The bucket of a study: the first hex digit of its 64-hex study hash, "0".."f"."""
    bucket = study_hash[:1]
    if bucket not in BUCKETS:
        raise ValueError(f"not a study hash: {study_hash[:80]!r}")
    return bucket


def image_bucket(file_name: str) -> str | None:
    """The bucket of a published image file name; None for a name off the pattern."""
    name = parse_image_name(file_name)
    return study_bucket(name.study_hash) if name else None


def shard_path(shards_dir: Path, bucket: str) -> Path:
    """The shard of a bucket's image records."""
    return shards_dir / f"{bucket}.jsonl"


def consensus_shard_path(shards_dir: Path, bucket: str) -> Path:
    """The shard of a bucket's consensus curves."""
    return shards_dir / f"{bucket}.consensus.jsonl"


@dataclass(frozen=True)
class BucketManifest:
    """What a scan wrote for one bucket."""

    bucket: str
    # sha256 over the bucket's two shards and, for each Images/ entry named for the bucket,
    # its name, size and mtime_ns: it changes exactly when the bucket's input does.
    fingerprint: str
    n_records: int  # image records in the shard
    n_consensus: int  # consensus curves in the consensus shard
    n_files: int  # Images/ entries named for this bucket


@dataclass(frozen=True)
class SourceScan:
    """The result of `scan_source`: small (no curves), picklable.

    `rejects` and the counts cover what belongs to no bucket: records and Images/ entries
    whose names are not published image names. A bucket's own records are counted by
    `validate_bucket`; images and curves add up over the scan and all buckets.
    """

    root: Path
    buckets: dict[str, BucketManifest]  # all 16, in bucket order
    rejects: tuple[Reject, ...]
    image_counts: RecordCounts
    curve_counts: RecordCounts
    user_ids: tuple[str, ...]  # every userId on a bucket's image record, sorted
    has_consensus: bool
    n_records: int  # image records in the annotations file
    folder_problem: str | None  # why Images/ cannot be these annotations' frames, or None

    @property
    def expert_ids(self) -> dict[str, str]:
        """userId -> E01, E02, ... over the whole source, for every bucket's tables."""
        return number_experts(self.user_ids)


def scan_source(root: Path, shards_dir: Path) -> SourceScan:
    """Stream the source folder's JSON files once into per-bucket shards under `shards_dir`.

    Whole-source faults (missing files, JSON that does not parse, a top level that is not
    the published shape, one record over MAX_RECORD_BYTES) raise SourceError and leave no
    shard behind. Memory follows one record, plus the names of the images.
    """
    root = source_root(root)
    files, refused = list_image_files(root)
    outside = _Outside(files)
    has_consensus = os.path.lexists(root / CONSENSUS_FILE)
    with _ShardWriter(shards_dir) as writer:
        for record in stream_records(
            root / ANNOTATIONS_FILE, root, ANNOTATIONS_KEEP, PUBLISHED_SHAPE
        ):
            bucket = image_bucket(record.key)
            outside.annotation(record, bucket)
            if bucket is not None:
                writer.write(bucket, record, consensus=False)
        problem = records_shape_problem(outside.n_records, outside.any_object, outside.first_kind)
        if problem:
            raise problem
        if has_consensus:
            for record in stream_records(
                root / CONSENSUS_FILE, root, CONSENSUS_KEEP, CONSENSUS_SHAPE
            ):
                bucket = image_bucket(record.key)
                if bucket is None:
                    check_records([], {}, {}, [(record.key, record.value)], outside.ledger)
                else:
                    writer.write(bucket, record, consensus=True)
        manifests = writer.commit(root / IMAGES_DIR, [*files, *refused])
    outside.unannotated(files, refused)
    ledger = outside.ledger
    return SourceScan(
        root=root,
        buckets=manifests,
        rejects=tuple(ledger.rejects),
        image_counts=ledger.image_counts(0),
        curve_counts=ledger.curve_counts(0),
        user_ids=tuple(sorted(outside.user_ids)),
        has_consensus=has_consensus,
        n_records=outside.n_records,
        folder_problem=outside.folder_problem(),
    )


class _Outside:
    """The scan's own checks: records with no bucket, and what the whole file shows."""

    def __init__(self, files: dict[str, Path]):
        self.files = files
        self.ledger, self.seen = Ledger(), set()  # seen: names with no bucket
        self.n_records, self.any_object, self.first_kind = 0, False, ""
        self.user_ids: set[str] = set()
        self.annotated: set[str] = set()  # every image name the annotations give

    def annotation(self, record: SourceRecord, bucket: str | None) -> None:
        is_object = is_json_object(record.value)
        if not self.n_records:
            self.first_kind = json_kind(record.value)
        self.n_records += 1
        self.any_object |= is_object
        self.annotated.add(record.key)
        if bucket is None:
            image = (record.order, record.key, record.value)
            check_records([image], {}, {}, None, self.ledger, self.seen)
        elif is_object:
            self.user_ids.update(user_id for user_id, _ in record.value)

    def unannotated(self, files: dict[str, Path], refused: dict[str, str]) -> None:
        """Images/ entries with no bucket (not published names) that no record names."""
        no_bucket = {n: p for n, p in files.items() if image_bucket(n) is None}
        no_bucket_refused = {n: r for n, r in refused.items() if image_bucket(n) is None}
        check_records([], no_bucket, no_bucket_refused, None, self.ledger, self.seen)

    def folder_problem(self) -> str | None:
        """Why Images/ cannot be the frames of these annotations (none of them is there)."""
        if not any(name.endswith(".png") for name in self.files):
            return f"{IMAGES_DIR}/ holds no PNG files"
        if self.annotated and not any(name in self.files for name in self.annotated):
            return (
                f"none of the {len(self.annotated)} annotated images is in {IMAGES_DIR}/: "
                "is this the folder of the same download?"
            )
        return None


class _ShardWriter:
    """Writes each bucket's two shards as .partial files, hashing them; renames on commit."""

    def __init__(self, shards_dir: Path):
        self.dir = shards_dir
        self.paths = {
            (bucket, consensus): (consensus_shard_path if consensus else shard_path)(
                shards_dir, bucket
            )
            for bucket in BUCKETS
            for consensus in (False, True)
        }
        self.handles: dict[tuple[str, bool], Any] = {}
        self.digests = {key: hashlib.sha256() for key in self.paths}
        self.counts = dict.fromkeys(self.paths, 0)

    def __enter__(self) -> _ShardWriter:
        with writing(self.dir):
            self.dir.mkdir(parents=True, exist_ok=True)
            for key, path in self.paths.items():
                self.handles[key] = open(_partial(path), "wb")
        return self

    def write(self, bucket: str, record: SourceRecord, *, consensus: bool) -> None:
        line = {
            "order": record.order,
            "line": record.line,
            "depth": record.depth,
            "key": record.key,
            "value": record.raw_value.decode("utf-8"),
        }
        data = (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with writing(self.paths[bucket, consensus]):
            self.handles[bucket, consensus].write(data)
        self.digests[bucket, consensus].update(data)
        self.counts[bucket, consensus] += 1

    def commit(self, images_dir: Path, names: list[str]) -> dict[str, BucketManifest]:
        """Rename the shards into place; the manifest of each bucket (`names`: Images/)."""
        for key, handle in self.handles.items():
            with writing(self.paths[key]):
                handle.close()
                os.replace(_partial(self.paths[key]), self.paths[key])
        by_bucket: dict[str, list[str]] = {}
        for name in sorted(names):
            bucket = image_bucket(name)
            if bucket is not None:
                by_bucket.setdefault(bucket, []).append(name)
        return {
            bucket: BucketManifest(
                bucket=bucket,
                fingerprint=self._fingerprint(bucket, images_dir, by_bucket.get(bucket, [])),
                n_records=self.counts[bucket, False],
                n_consensus=self.counts[bucket, True],
                n_files=len(by_bucket.get(bucket, [])),
            )
            for bucket in BUCKETS
        }

    def _fingerprint(self, bucket: str, images_dir: Path, names: list[str]) -> str:
        digest = hashlib.sha256()
        for consensus in (False, True):
            digest.update(self.digests[bucket, consensus].digest())
        for name in names:
            size, mtime = file_stamp(images_dir / name)
            digest.update(f"{name}\0{size}\0{mtime}\n".encode("utf-8", "surrogateescape"))
        return digest.hexdigest()

    def __exit__(self, *exc_info) -> None:
        for key, handle in self.handles.items():
            handle.close()
            if exc_info[0] is not None:
                _partial(self.paths[key]).unlink(missing_ok=True)


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def read_shard(path: Path, keep: int) -> Iterator[tuple[int, str, Any]]:
    """(order, image name, parsed value) of each record of a shard, in file order."""
    with open(path, "rb") as handle:
        for line in handle:
            entry = json.loads(line)
            text = entry["value"].encode("utf-8")
            value = parse_text(text, offset=0, depth=entry["depth"], keep=keep)[0]
            yield entry["order"], entry["key"], value
