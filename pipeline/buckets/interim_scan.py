"""INTERIM: the source split into buckets by validating it whole (replaced by a streaming scan)."""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.buckets.layout import BUCKETS, Counts, bucket_of_study_hash, write_atomic
from pipeline.source.reader import read_source
from pipeline.source.validation import (
    RecordCounts,
    Reject,
    ValidatedSource,
    image_folder_problem,
    validate_source,
)
from pipeline.tables.source_tables import expert_ids as number_curves


@dataclass(frozen=True)
class SourceScan:
    fingerprints: dict[str, str]
    expert_ids: dict[str, str]
    rejects: list[Reject]
    counts: Counts
    image_folder_problem: str | None = None
    consensus_file: bool = False
    annotated_images: int = 0
    extra: dict = field(default_factory=dict)

    def bucket_fingerprint(self, bucket: str) -> str:
        return self.fingerprints.get(bucket, "")


def scan_source(root: Path, shards_dir: Path) -> SourceScan:
    raw = read_source(root)
    validated = validate_source(root)
    fingerprints = {}
    for bucket in BUCKETS:
        images = [i for i in validated.images if bucket_of_study_hash(i.name.study_hash) == bucket]
        ids = {i.name.image_id for i in images}
        part = ValidatedSource(
            images=images,
            curves=[c for c in validated.curves if c.image_id in ids],
            consensus={k: v for k, v in validated.consensus.items() if k in ids},
            rejects=[],
            image_counts=RecordCounts(0, 0, 0),
            curve_counts=RecordCounts(0, 0, 0),
        )
        data = pickle.dumps(part, protocol=5)
        write_atomic(shards_dir / f"{bucket}.pickle", data)
        fingerprints[bucket] = hashlib.sha256(data).hexdigest()
    ic, cc = validated.image_counts, validated.curve_counts
    return SourceScan(
        fingerprints=fingerprints,
        expert_ids=number_curves(validated.curves),
        rejects=validated.rejects,
        counts=Counts(ic.total, ic.rejected, cc.total, cc.rejected),
        image_folder_problem=image_folder_problem(raw),
        consensus_file=raw.consensus is not None,
        annotated_images=len(raw.annotations) if isinstance(raw.annotations, list) else 0,
    )


def validate_bucket(root: Path, shards_dir: Path, bucket: str, expert_ids: dict) -> ValidatedSource:
    return pickle.loads((shards_dir / f"{bucket}.pickle").read_bytes())
