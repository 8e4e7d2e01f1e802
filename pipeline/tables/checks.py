"""Integrity rules of the derived tables, as plain functions returning the failures."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.checksums import sha256_file
from pipeline.names import CONSENSUS_METHODS, Method

PUBLISHED_TOLERANCE_PX = 0.01
# Mean curves may cut a corner of the experts' range by a hair; this much is not a failure.
AREA_RANGE_SLACK = 0.01


def missing_consensus(images: pa.Table, consensus: pa.Table, notes: pa.Table) -> list[str]:
    """Image x method pairs with neither a consensus row nor a note saying why."""
    have = set(zip(consensus["image_id"].to_pylist(), consensus["method"].to_pylist(), strict=True))
    have |= set(zip(notes["image_id"].to_pylist(), notes["method"].to_pylist(), strict=True))
    return [
        f"{image_id} / {method}"
        for image_id in images["image_id"].to_pylist()
        for method in CONSENSUS_METHODS
        if (image_id, method) not in have
    ]


def published_deviation(consensus: pa.Table) -> float | None:
    """The largest published_mean deviation from the source's file, None without a file."""
    rows = consensus.filter(pc.equal(consensus["method"], Method.PUBLISHED_MEAN))
    return pc.max(rows["published_file_max_deviation_px"]).as_py()


def areas_outside_expert_range(consensus: pa.Table, contours: pa.Table) -> list[str]:
    """Consensus rows (all but leave-one-out) whose area lies outside the experts' range."""
    ranges = contours.group_by("image_id").aggregate([("area_px", "min"), ("area_px", "max")])
    bounds = {
        i: (lo, hi)
        for i, lo, hi in zip(
            ranges["image_id"].to_pylist(),
            ranges["area_px_min"].to_pylist(),
            ranges["area_px_max"].to_pylist(),
            strict=True,
        )
    }
    failures = []
    for row in consensus.select(
        ["image_id", "method", "left_out_expert_id", "area_px"]
    ).to_pylist():
        if row["left_out_expert_id"] is not None:
            continue
        lo, hi = bounds[row["image_id"]]
        if not lo * (1 - AREA_RANGE_SLACK) <= row["area_px"] <= hi * (1 + AREA_RANGE_SLACK):
            failures.append(
                f"{row['image_id']} / {row['method']}: {row['area_px']:.0f} not in "
                f"[{lo:.0f}, {hi:.0f}]"
            )
    return failures


def broken_mask_files(masks: pa.Table, data_dir: Path) -> list[str]:
    """Mask files that are missing or whose sha256 differs from the `masks` table."""
    failures = []
    for path, digest in zip(masks["path"].to_pylist(), masks["sha256"].to_pylist(), strict=True):
        target = data_dir / path
        if not target.is_file():
            failures.append(f"{path} is missing")
        elif sha256_file(target) != digest:
            failures.append(f"{path} has a different sha256")
    return failures


def scores_outside_unit_interval(table: pa.Table) -> int:
    """Rows whose Dice or IoU is not within [0, 1] (or is null)."""
    bad = 0
    for column in ("dice", "iou"):
        values = table[column]
        inside = pc.and_(pc.greater_equal(values, 0.0), pc.less_equal(values, 1.0))
        bad += table.num_rows - pc.sum(pc.fill_null(inside, False)).as_py() if table.num_rows else 0
    return bad
