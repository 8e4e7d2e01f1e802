"""`evaluation_summary`: per metric, the model's Williams index among the experts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.evaluate.expert_pairs import ExpertPairs
from pipeline.evaluate.names import METRICS, Status
from pipeline.evaluate.references import EXPERT_KIND
from pipeline.evaluate.release_data import ReleaseImage, positions
from pipeline.evaluate.williams import rank_among, rater_indices, williams_index


@dataclass(frozen=True)
class Coverage:
    """What the submission held for the images scored."""

    statuses: dict[str, Status]  # image_id -> status
    rejected_entries: int

    def count(self, status: Status) -> int:
        return Counter(self.statuses.values())[status]


def model_scores(
    scores: pa.Table, images: list[ReleaseImage], expert_ids: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """metric -> (images, experts) scores of the model against each expert (NaN: the expert
    did not trace the image). An empty mask's distances count as the image's diagonal."""
    experts = scores.filter(pc.equal(scores["reference_kind"], EXPERT_KIND))
    rows = positions(experts["image_id"], pa.array([image.image_id for image in images]))
    columns = positions(experts["reference"], pa.array(expert_ids, pa.string()))
    keep = (rows >= 0) & (columns >= 0)
    diagonals = np.array([image.diagonal_px for image in images])[rows[keep]]
    by_metric = {}
    for metric in METRICS:
        values = experts[metric.name].to_numpy(zero_copy_only=False)[keep].astype(np.float64)
        grid = np.full((len(images), len(expert_ids)), np.nan)
        grid[rows[keep], columns[keep]] = np.where(np.isnan(values), diagonals, values)
        by_metric[metric.name] = grid
    return by_metric


def summary_rows(
    scores: dict[str, np.ndarray],
    pairs: ExpertPairs,
    coverage: Coverage,
    release_version: str,
) -> list[dict]:
    """One row per metric (without `submission`, added by the caller)."""
    pair_raters = np.array(pairs.pairs, dtype=np.int64).reshape(-1, 2)
    rows = []
    for metric in METRICS:
        model, expert_pairs = scores[metric.name], pairs.values[metric.name]
        result = williams_index(model, expert_pairs, metric.kind)
        experts = rater_indices(expert_pairs, pair_raters, len(pairs.expert_ids), metric.kind)
        rank, percentile = rank_among(result.index, experts)
        rows.append(
            {
                "release_version": release_version,
                "metric": metric.name,
                "kind": str(metric.kind),
                "images": int(model.shape[0]),
                "experts": len(pairs.expert_ids),
                "model_mean": result.model_mean,
                "experts_mean": result.raters_mean,
                "williams_index": result.index,
                "williams_jackknife": result.jackknife,
                "williams_se": result.se,
                "williams_ci_low": result.ci_low,
                "williams_ci_high": result.ci_high,
                "expert_williams_min": float(np.nanmin(experts)),
                "expert_williams_median": float(np.nanmedian(experts)),
                "expert_williams_max": float(np.nanmax(experts)),
                "rank_among_experts": rank,
                "percentile": percentile,
                "images_predicted": coverage.count(Status.PREDICTED),
                "images_missing": coverage.count(Status.MISSING),
                "images_rejected": coverage.count(Status.REJECTED),
                "rejected_entries": coverage.rejected_entries,
            }
        )
    return rows
