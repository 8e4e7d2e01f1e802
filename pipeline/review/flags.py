"""What the review flags: curves and studies a reviewer should look at first.

- low agreement: an expert curve whose Dice against the leave-one-out consensus (the other
  experts' arc-length mean) is below `LOW_DICE`;
- self-intersecting: an expert curve whose cavity polygon is not simple (`contours.is_valid`);
- EF outlier: an expert whose EF of a study is more than 15 points from the consensus EF
  (`study_measurements.ef_outlier`), flagged on both images of the study;
- phase order: a study whose default-consensus ED area is smaller than its ES area;
- rejected: a curve quarantined at validation (`rejects`, severity error): not in the tables,
  so it is named, not drawn.

Each rule reads only the columns it needs. The Dagster checks and the review page share them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.masks.files import CONSENSUS_RATER, EXPERT
from pipeline.names import DEFAULT_METHOD, Method
from pipeline.tables.table_files import TableReader

LOW_DICE = 0.85
LOO = Method.ARCLENGTH_MEAN_LOO
RECORD_SEPARATOR = " / "  # rejects.record of a curve: "<image file> / <userId>"

# Kinds, short enough for an overlay's legend.
LOW_AGREEMENT, SELF_INTERSECTING, EF_OUTLIER = "low Dice", "self-intersecting", "EF outlier"
PHASE_ORDER, REJECTED = "phase order", "rejected"


@dataclass(frozen=True, order=True)
class Flag:
    """One flagged curve or study: `subject` is an image_id or a study_id."""

    kind: str
    subject: str
    expert_id: str  # "" for a study flag; the source userId for a rejected curve
    detail: str

    def line(self) -> str:
        """`subject / expert: kind (detail)`, as checks and logs print it."""
        who = f"{self.subject} / {self.expert_id}" if self.expert_id else self.subject
        return f"{who}: {self.kind} ({self.detail})"


def _rows(table: pa.Table, keep: pa.ChunkedArray | pa.Array) -> list[dict]:
    return table.filter(keep).to_pylist()


def low_agreement(tables: TableReader, threshold: float = LOW_DICE) -> list[Flag]:
    """Expert curves whose Dice against their leave-one-out consensus is below `threshold`."""
    table = tables.columns("agreement", ["image_id", "expert_id", "reference", "dice"])
    keep = pc.and_(pc.equal(table["reference"], LOO), pc.less(table["dice"], threshold))
    return sorted(
        Flag(
            LOW_AGREEMENT,
            r["image_id"],
            r["expert_id"],
            f"Dice {r['dice']:.3f} against the leave-one-out consensus, below {threshold:g}",
        )
        for r in _rows(table, keep)
    )


def self_intersecting(tables: TableReader) -> list[Flag]:
    """Expert curves whose cavity polygon is not simple."""
    table = tables.columns("contours", ["image_id", "expert_id", "is_valid"])
    return sorted(
        Flag(SELF_INTERSECTING, r["image_id"], r["expert_id"], "the curve crosses itself")
        for r in _rows(table, pc.invert(table["is_valid"]))
    )


def ef_outliers(tables: TableReader) -> list[Flag]:
    """Experts whose EF of a study is an outlier against the consensus EF (per study)."""
    columns = ["study_id", "rater", "method", "ef_percent", "ef_minus_consensus_pts", "ef_outlier"]
    table = tables.columns("study_measurements", columns)
    keep = pc.and_(pc.equal(table["method"], EXPERT), table["ef_outlier"])
    return sorted(
        Flag(
            EF_OUTLIER,
            r["study_id"],
            r["rater"],
            f"EF {r['ef_percent']:.1f}%, {r['ef_minus_consensus_pts']:+.1f} points from the "
            "consensus EF",
        )
        for r in _rows(table, keep)
    )


def phase_order(tables: TableReader) -> list[Flag]:
    """Studies whose default-consensus ED area is smaller than their ES area
    (`study_measurements.ed_area_smaller_than_es`): phases swapped, or a suspicious study."""
    columns = ["study_id", "rater", "method", "ed_area_smaller_than_es"]
    table = tables.columns("study_measurements", columns)
    keep = pc.and_(
        pc.and_(
            pc.equal(table["rater"], CONSENSUS_RATER), pc.equal(table["method"], DEFAULT_METHOD)
        ),
        table["ed_area_smaller_than_es"],
    )
    detail = f"the {DEFAULT_METHOD} consensus ED area is smaller than its ES area"
    return sorted(Flag(PHASE_ORDER, r["study_id"], "", detail) for r in _rows(table, keep))


def rejected_curves(tables: TableReader) -> list[Flag]:
    """Curves quarantined at validation, by image and source userId (not expert_id: a
    quarantined curve may be the only one of its userId)."""
    table = tables.columns("rejects", ["record", "check", "severity", "message"])
    keep = pc.and_(
        pc.equal(table["severity"], "error"), pc.match_substring(table["record"], RECORD_SEPARATOR)
    )
    flags = []
    for r in _rows(table, keep):
        file_name, _, user_id = r["record"].partition(RECORD_SEPARATOR)
        image_id = file_name.removesuffix(".png")
        flags.append(Flag(REJECTED, image_id, user_id, f"{r['check']}: {r['message']}"))
    return sorted(flags)


@dataclass(frozen=True)
class ReviewFlags:
    """Every flag of a release, and the flags of each drawn curve."""

    curves: tuple[Flag, ...]  # low agreement, self-intersecting, EF outlier
    studies: tuple[Flag, ...]  # phase order
    rejected: tuple[Flag, ...]

    @property
    def all(self) -> tuple[Flag, ...]:
        return (*self.rejected, *self.curves, *self.studies)

    def by_curve(self, images_of_study: dict[str, list[str]]) -> dict[tuple[str, str], list[str]]:
        """(image_id, expert_id) -> the kinds it is flagged for (EF outliers on both images)."""
        found: dict[tuple[str, str], list[str]] = defaultdict(list)
        for flag in self.curves:
            images = images_of_study.get(flag.subject, []) if flag.kind == EF_OUTLIER else None
            for image_id in images if images is not None else [flag.subject]:
                if flag.kind not in found[(image_id, flag.expert_id)]:
                    found[(image_id, flag.expert_id)].append(flag.kind)
        return dict(found)


def review_flags(tables: TableReader) -> ReviewFlags:
    """Every flag of the tables."""
    curves = [*low_agreement(tables), *self_intersecting(tables), *ef_outliers(tables)]
    return ReviewFlags(tuple(curves), tuple(phase_order(tables)), tuple(rejected_curves(tables)))
