"""What the review's plots and page show, read from the release tables a few columns at a time.

Everything here is one value per image, curve or study (no points): the agreement of each
expert with its leave-one-out consensus, the experts' pairwise Dice, EFs, consensus areas,
point counts and tracing directions, the flags and the rejects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.exports.dataset_card import release_counts
from pipeline.masks.files import CONSENSUS_RATER, EXPERT
from pipeline.names import DEFAULT_METHOD
from pipeline.review.flags import LOO, ReviewFlags, review_flags
from pipeline.review.palette import expert_colours
from pipeline.tables.table_files import TableReader

SHOWN_REJECTS = 200


@dataclass(frozen=True)
class ImageAgreement:
    """One image of the gallery: its phase and each expert's Dice against its LOO consensus."""

    image_id: str
    study_id: str
    phase: str
    width: int
    height: int
    dice: dict[str, float]  # expert_id -> Dice against the leave-one-out consensus

    @property
    def mean_dice(self) -> float | None:
        return float(np.mean(list(self.dice.values()))) if self.dice else None


@dataclass(frozen=True)
class ReviewData:
    """The numbers behind the review, each kept as small arrays or per-image rows."""

    experts: tuple[str, ...]
    colours: dict[str, str]
    counts: list[tuple[str, int, str]]
    images: list[ImageAgreement]  # worst agreement first (lowest mean Dice), then image_id
    loo_dice: dict[str, np.ndarray]  # expert_id -> Dice against LOO, one per image
    loo_hd95: dict[str, np.ndarray]  # expert_id -> HD95 (px) against LOO
    pairwise_dice: np.ndarray  # (experts, experts) mean Dice over images, NaN where none
    ef_expert: dict[str, np.ndarray]  # expert_id -> EF % per study
    ef_consensus: dict[str, np.ndarray]  # expert_id -> the consensus EF % of the same studies
    study_ids: list[str]  # studies with both consensus areas, in study_id order
    ed_area: np.ndarray
    es_area: np.ndarray
    n_points: dict[str, np.ndarray]  # expert_id -> points per curve
    lateral_first: dict[str, int]  # expert_id -> curves traced from the lateral hinge
    curves: dict[str, int]  # expert_id -> curves
    flags: ReviewFlags
    rejects: list[dict]  # the first SHOWN_REJECTS rows of `rejects`
    n_rejects: int

    def flagged_images(self) -> set[str]:
        """Images with a flag: of a flagged curve, of a flagged study, or a quarantined curve."""
        subjects = {flag.subject for flag in self.flags.all}
        return {i.image_id for i in self.images if {i.image_id, i.study_id} & subjects}


def _by_expert(table: pa.Table, column: str, experts: tuple[str, ...]) -> dict[str, np.ndarray]:
    """expert_id -> the column's values on that expert's rows, in table order."""
    ids = table["expert_id"].to_numpy(zero_copy_only=False)
    values = table[column].to_numpy(zero_copy_only=False).astype(np.float64)
    return {e: values[ids == e] for e in experts}


def _gallery(tables: TableReader, loo: pa.Table) -> list[ImageAgreement]:
    columns = ["image_id", "study_id", "phase", "width", "height"]
    images = tables.columns("images", columns).to_pylist()
    dice: dict[str, dict[str, float]] = {row["image_id"]: {} for row in images}
    for image_id, expert_id, value in zip(
        loo["image_id"].to_pylist(),
        loo["expert_id"].to_pylist(),
        loo["dice"].to_pylist(),
        strict=True,
    ):
        if image_id in dice:
            dice[image_id][expert_id] = value
    gallery = [ImageAgreement(**r, dice=dict(sorted(dice[r["image_id"]].items()))) for r in images]
    # Worst first; images without an agreement (a single expert) last.
    return sorted(gallery, key=lambda g: (g.mean_dice is None, g.mean_dice or 0.0, g.image_id))


def _pairwise(tables: TableReader, experts: tuple[str, ...]) -> np.ndarray:
    table = tables.columns("pairwise_agreement", ["expert_a", "expert_b", "dice"])
    means = table.group_by(["expert_a", "expert_b"]).aggregate([("dice", "mean")])
    index = {e: i for i, e in enumerate(experts)}
    matrix = np.full((len(experts), len(experts)), np.nan)
    np.fill_diagonal(matrix, 1.0)
    for a, b, value in zip(
        means["expert_a"].to_pylist(),
        means["expert_b"].to_pylist(),
        means["dice_mean"].to_pylist(),
        strict=True,
    ):
        if a in index and b in index:
            matrix[index[a], index[b]] = matrix[index[b], index[a]] = value
    return matrix


def _ejection_fractions(
    tables: TableReader, experts: tuple[str, ...]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    columns = ["study_id", "rater", "method", "ef_percent", "ef_minus_consensus_pts"]
    table = tables.columns("study_measurements", columns)
    keep = pc.and_(
        pc.equal(table["method"], EXPERT),
        pc.and_(pc.is_valid(table["ef_percent"]), pc.is_valid(table["ef_minus_consensus_pts"])),
    )
    table = table.filter(keep)
    table = pa.table(
        {
            "expert_id": table["rater"],
            "study_id": table["study_id"],
            "ef_percent": table["ef_percent"],
            "ef_minus_consensus_pts": table["ef_minus_consensus_pts"],
        }
    ).sort_by([("expert_id", "ascending"), ("study_id", "ascending")])
    expert_ef = _by_expert(table, "ef_percent", experts)
    minus = _by_expert(table, "ef_minus_consensus_pts", experts)
    return expert_ef, {e: expert_ef[e] - minus[e] for e in experts}


def _consensus_areas(tables: TableReader) -> tuple[list[str], np.ndarray, np.ndarray]:
    table = tables.columns("measurements", ["study_id", "phase", "rater", "method", "area_px"])
    table = table.filter(
        pc.and_(
            pc.equal(table["rater"], CONSENSUS_RATER), pc.equal(table["method"], DEFAULT_METHOD)
        )
    )
    areas: dict[str, dict[str, float]] = {}
    for study_id, phase, area in zip(
        table["study_id"].to_pylist(),
        table["phase"].to_pylist(),
        table["area_px"].to_pylist(),
        strict=True,
    ):
        areas.setdefault(study_id, {})[phase] = area
    studies = sorted(s for s, a in areas.items() if {"ED", "ES"} <= a.keys())
    return (
        studies,
        np.array([areas[s]["ED"] for s in studies], dtype=np.float64),
        np.array([areas[s]["ES"] for s in studies], dtype=np.float64),
    )


def _counts(tables: TableReader) -> list[tuple[str, int, str]]:
    """The dataset card's counts, the consensus rows broken down by method (the card refers
    to its methods section instead)."""
    methods = pc.value_counts(tables.columns("consensus", ["method"])["method"]).to_pylist()
    by_method = ", ".join(
        f"{m['counts']} {m['values']}" for m in sorted(methods, key=lambda m: m["values"])
    )
    return [
        (what, n, by_method if what == "consensus rows" else parts)
        for what, n, parts in release_counts(tables)
    ]


def read_review_data(tables: TableReader) -> ReviewData:
    """Every number the review shows, from the release's tables."""
    experts = tuple(sorted(tables.columns("experts", ["expert_id"])["expert_id"].to_pylist()))
    agreement = tables.columns(
        "agreement", ["image_id", "expert_id", "reference", "dice", "hd95_px"]
    )
    loo = agreement.filter(pc.equal(agreement["reference"], LOO))
    contours = tables.columns("contours", ["expert_id", "n_points", "reversed"])
    n_points = _by_expert(contours, "n_points", experts)
    lateral = _by_expert(contours, "reversed", experts)
    ef_expert, ef_consensus = _ejection_fractions(tables, experts)
    study_ids, ed_area, es_area = _consensus_areas(tables)
    columns = ["severity", "check", "source_file", "record", "message"]
    shown = next(tables.batches("rejects", columns, batch_size=SHOWN_REJECTS), None)
    return ReviewData(
        experts=experts,
        colours=expert_colours(experts),
        counts=_counts(tables),
        images=_gallery(tables, loo),
        loo_dice=_by_expert(loo, "dice", experts),
        loo_hd95=_by_expert(loo, "hd95_px", experts),
        pairwise_dice=_pairwise(tables, experts),
        ef_expert=ef_expert,
        ef_consensus=ef_consensus,
        study_ids=study_ids,
        ed_area=ed_area,
        es_area=es_area,
        n_points=n_points,
        lateral_first={e: int(lateral[e].sum()) for e in experts},
        curves={e: len(n_points[e]) for e in experts},
        flags=review_flags(tables),
        rejects=[] if shown is None else shown.to_pylist(),
        n_rejects=tables.num_rows("rejects"),
    )
