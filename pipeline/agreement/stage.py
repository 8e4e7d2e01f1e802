"""Agreement of each expert with the consensus references, and of every pair of experts."""

from __future__ import annotations

from itertools import combinations

import numpy as np

from pipeline.agreement.metrics import (
    SampledBoundary,
    dice_many,
    iou_many,
    pooled_distances,
)
from pipeline.consensus.stage import ImageConsensus, expert_crop_masks
from pipeline.masks.raster import rasterise
from pipeline.names import Method

REFERENCES = (Method.ARCLENGTH_MEAN, Method.ARCLENGTH_MEAN_LOO, Method.STAPLE)


def _directed_by_target(
    comparisons: list[tuple[SampledBoundary, SampledBoundary]],
) -> dict[tuple[int, int], tuple[np.ndarray, float]]:
    """(id(source), id(target)) -> source's distances to target, both ways for each pair;
    every target's boundary is searched once for all the sources it is compared with."""
    sources_of: dict[int, tuple[SampledBoundary, dict[int, SampledBoundary]]] = {}
    for a, b in comparisons:
        for source, target in ((a, b), (b, a)):
            sources_of.setdefault(id(target), (target, {}))[1].setdefault(id(source), source)
    directed = {}
    for target, sources in sources_of.values():
        results = target.distances_from_each(list(sources.values()))
        for source_id, result in zip(sources, results, strict=True):
            directed[(source_id, id(target))] = result
    return directed


def _distance_columns(directed: dict, a: SampledBoundary, b: SampledBoundary) -> dict:
    distances = pooled_distances(directed[(id(a), id(b))], directed[(id(b), id(a))])
    return {
        "hausdorff_px": distances.hausdorff,
        "hd95_px": distances.hd95,
        "mean_contour_distance_px": distances.mean_contour_distance,
    }


def image_agreement(
    result: ImageConsensus, expert_masks: np.ndarray | None = None
) -> tuple[list[dict], list[dict]]:
    """(agreement rows, pairwise rows) of one image: masks compared in the image's crop."""
    image, crop = result.image, result.crop
    masks = expert_crop_masks(image, crop) if expert_masks is None else expert_masks
    boundaries = [SampledBoundary(c) for c in image.curves]
    references = _references(result)
    pairs = list(combinations(range(len(image.expert_ids)), 2))
    comparisons = [
        (boundaries[i], per_expert[i % len(per_expert)][1])
        for per_expert in references.values()
        for i in range(len(image.expert_ids))
    ] + [(boundaries[i], boundaries[j]) for i, j in pairs]
    directed = _directed_by_target(comparisons)
    agreement = []
    for reference, per_expert in references.items():
        # One reference for every expert, or one per expert (broadcast either way).
        ref_masks = np.stack([mask for mask, _ in per_expert])
        dice, iou = dice_many(masks, ref_masks), iou_many(masks, ref_masks)
        for i, expert_id in enumerate(image.expert_ids):
            ref_boundary = per_expert[i % len(per_expert)][1]
            agreement.append(
                {"image_id": image.image_id, "expert_id": expert_id, "reference": reference}
                | {"dice": float(dice[i]), "iou": float(iou[i])}
                | _distance_columns(directed, boundaries[i], ref_boundary)
            )
    if not pairs:
        return agreement, []
    first, second = (list(side) for side in zip(*pairs, strict=True))
    dice, iou = dice_many(masks[first], masks[second]), iou_many(masks[first], masks[second])
    pairwise = [
        {
            "image_id": image.image_id,
            "expert_a": image.expert_ids[i],
            "expert_b": image.expert_ids[j],
            "dice": float(dice[n]),
            "iou": float(iou[n]),
        }
        | _distance_columns(directed, boundaries[i], boundaries[j])
        for n, (i, j) in enumerate(pairs)
    ]
    return agreement, pairwise


def _references(result: ImageConsensus) -> dict[str, list[tuple[np.ndarray, SampledBoundary]]]:
    """Reference -> one (mask, boundary) for all experts, or one per expert (leave-one-out)."""
    crop = result.crop
    references = {}
    if Method.ARCLENGTH_MEAN in result.curves:
        curve = result.curves[Method.ARCLENGTH_MEAN]
        references[Method.ARCLENGTH_MEAN] = [
            (rasterise(curve - crop.offset, crop.width, crop.height), SampledBoundary(curve))
        ]
    if result.leave_one_out:
        references[Method.ARCLENGTH_MEAN_LOO] = [
            (rasterise(c - crop.offset, crop.width, crop.height), SampledBoundary(c))
            for c in (result.leave_one_out[e] for e in result.image.expert_ids)
        ]
    if Method.STAPLE in result.mask_crops:
        references[Method.STAPLE] = [
            (result.mask_crops[Method.STAPLE], SampledBoundary(result.outlines[Method.STAPLE]))
        ]
    return references
