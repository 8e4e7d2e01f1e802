"""Where a run's per-bucket intermediates live, and whether a bucket's outputs are current.

<work>/buckets/<table>/<bucket>.parquet     one bucket's rows of a table (sorted, unstamped)
<work>/buckets/<table>/source.parquet       rows that belong to no bucket (the scan's rejects)
<work>/buckets/published/<bucket>.parquet   the source's consensus curves of the bucket
<work>/buckets/counts/<bucket>.json         the bucket's record totals
<work>/buckets/frames/<bucket>.parquet      what decoding the bucket's frames found (a memo)
<work>/buckets/current/<stage>-<bucket>     the fingerprint the stage's outputs were made from

A stage's outputs for a bucket are current when its fingerprint file holds the fingerprint of
its inputs now (source records and images of the bucket, the code, the calibration) and every
output file is there: such a bucket is reused, not derived again. The fingerprint file is
written last, so a run killed half-way leaves the bucket to be derived again.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.constants import STUDY_BUCKETS
from pipeline.errors import writing
from pipeline.source.outcomes import RecordCounts
from pipeline.tables.parquet_io import write_parquet_atomic

BUCKETS = STUDY_BUCKETS
SOURCE_PART = "source"
BUCKETS_DIR = "buckets"
SPILL_DIR = ".spill"
FRAMES_DIR = "frames"  # the frame memo of each bucket (pipeline/source/frame_memo.py)


def part_path(work: Path, table: str, part: str) -> Path:
    return work / BUCKETS_DIR / table / f"{part}.parquet"


def table_parts(work: Path, table: str) -> list[Path]:
    """Every existing part file of a table: the buckets', then the no-bucket part."""
    return [p for p in (part_path(work, table, b) for b in (*BUCKETS, SOURCE_PART)) if p.is_file()]


def spill_dir(work: Path) -> Path:
    return work / SPILL_DIR


def fingerprint(*parts: str) -> str:
    """One digest of several fingerprints (a stage's inputs)."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _current_path(work: Path, stage: str, bucket: str) -> Path:
    return work / BUCKETS_DIR / "current" / f"{stage}-{bucket}"


def is_current(work: Path, stage: str, bucket: str, digest: str, outputs: list[Path]) -> bool:
    """The stage's outputs for `bucket` exist and were made from inputs with this digest."""
    marker = _current_path(work, stage, bucket)
    return (
        marker.is_file()
        and marker.read_text(encoding="ascii", errors="replace") == digest
        and all(p.is_file() for p in outputs)
    )


def mark_current(work: Path, stage: str, bucket: str, digest: str) -> None:
    """Record that the stage's outputs for `bucket` are those of `digest` (written last)."""
    write_atomic(_current_path(work, stage, bucket), digest.encode("ascii"))


def forget(work: Path, stage: str, bucket: str) -> None:
    """The stage's outputs for `bucket` are about to change: no longer current."""
    _current_path(work, stage, bucket).unlink(missing_ok=True)


def write_atomic(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(data)
        os.replace(partial, path)


@dataclass(frozen=True)
class Counts:
    """Record totals: images and curves, accepted and rejected."""

    images_total: int = 0
    images_rejected: int = 0
    curves_total: int = 0
    curves_rejected: int = 0

    @property
    def images(self) -> RecordCounts:
        return RecordCounts(
            self.images_total, self.images_total - self.images_rejected, self.images_rejected
        )

    @property
    def curves(self) -> RecordCounts:
        return RecordCounts(
            self.curves_total, self.curves_total - self.curves_rejected, self.curves_rejected
        )

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            *(a + b for a, b in zip(asdict(self).values(), asdict(other).values(), strict=True))
        )


def write_counts(work: Path, part: str, counts: Counts) -> None:
    path = work / BUCKETS_DIR / "counts" / f"{part}.json"
    write_atomic(path, json.dumps(asdict(counts), sort_keys=True).encode())


def read_counts(work: Path) -> Counts:
    """The totals over every bucket and the no-bucket part."""
    total = Counts()
    for part in (*BUCKETS, SOURCE_PART):
        path = work / BUCKETS_DIR / "counts" / f"{part}.json"
        if path.is_file():
            total = total + Counts(**json.loads(path.read_text(encoding="utf-8")))
    return total


def write_published(work: Path, bucket: str, curves: dict[str, np.ndarray]) -> Path:
    """The source's consensus curves of a bucket (image_id, point_index, x, y)."""
    ids = sorted(curves)
    table = pa.table(
        {
            "image_id": pa.array([i for i in ids for _ in range(len(curves[i]))], pa.string()),
            "point_index": pa.array(
                np.concatenate([np.arange(len(curves[i])) for i in ids]) if ids else [],
                pa.int32(),
            ),
            "x": pa.array(
                np.concatenate([curves[i][:, 0] for i in ids]) if ids else [], pa.float64()
            ),
            "y": pa.array(
                np.concatenate([curves[i][:, 1] for i in ids]) if ids else [], pa.float64()
            ),
        }
    )
    return write_parquet_atomic(table, part_path(work, "published", bucket))


def read_published(work: Path, bucket: str) -> dict[str, np.ndarray]:
    path = part_path(work, "published", bucket)
    if not path.is_file():
        return {}
    table = pq.read_table(path)
    ids = table["image_id"].to_numpy(zero_copy_only=False)
    xy = np.column_stack([table["x"].to_numpy(), table["y"].to_numpy()])
    curves: dict[str, np.ndarray] = {}
    if len(ids):
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        for start, end in zip(starts, [*starts[1:], len(ids)], strict=True):
            curves[str(ids[start])] = xy[start:end]
    return curves
