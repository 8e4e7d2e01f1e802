"""The experts' agreement with each other, per image, from a release's own tables.

The release's `pairwise_agreement` was made by the same metrics (`pipeline.agreement`) as a
model's scores, so the model and the experts are measured alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pipeline.evaluate.release_data import EvaluationRelease, ReleaseImage, positions

PAIR_METRICS = ("dice", "iou", "hausdorff_px", "hd95_px", "mean_contour_distance_px")


@dataclass(frozen=True)
class ExpertPairs:
    """Every pair of experts' agreement per image, from the release's own tables.

    `values[metric]` is (images, pairs), NaN where a pair did not both trace an image;
    pair p joins experts `pairs[p]` (indices into `expert_ids`).
    """

    expert_ids: tuple[str, ...]
    pairs: tuple[tuple[int, int], ...]
    values: dict[str, np.ndarray]


def expert_pairs(release: EvaluationRelease, images: list[ReleaseImage]) -> ExpertPairs:
    """Each pair of experts' agreement on each of `images`: the release's own
    `pairwise_agreement`, made by the same metrics as the model's scores."""
    experts = release.expert_ids
    pairs = tuple((a, b) for a in range(len(experts)) for b in range(a + 1, len(experts)))
    pair_of = np.full((len(experts), len(experts)), -1)
    for p, (a, b) in enumerate(pairs):
        pair_of[a, b] = pair_of[b, a] = p
    image_ids = pa.array([image.image_id for image in images], pa.string())
    expert_array = pa.array(experts, pa.string())
    with release.reading("pairwise_agreement"):
        table = release.tables.columns(
            "pairwise_agreement", ["image_id", "expert_a", "expert_b", *PAIR_METRICS]
        )
    rows = positions(table["image_id"], image_ids)
    a, b = (
        positions(table["expert_a"], expert_array),
        positions(table["expert_b"], expert_array),
    )
    keep = (rows >= 0) & (a >= 0) & (b >= 0) & (a != b)
    columns = pair_of[a[keep], b[keep]]
    values = {}
    for metric in PAIR_METRICS:
        grid = np.full((len(images), len(pairs)), np.nan)
        grid[rows[keep], columns] = table[metric].to_numpy()[keep]
        values[metric] = grid
    return ExpertPairs(experts, pairs, values)
