"""Every consensus of one image: the published rule, arc-length means, majority and STAPLE."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipeline.consensus.image_curves import Crop, ImageCurves
from pipeline.consensus.methods import arclength_mean, leave_one_out_means, majority_mask, staple
from pipeline.consensus.published import RuleUndefined, published_mean
from pipeline.masks.outline import mask_outline
from pipeline.masks.raster import rasterise
from pipeline.names import Method


@dataclass
class ImageConsensus:
    """The consensus results of one image (mask-method masks kept only inside the crop)."""

    image: ImageCurves
    crop: Crop
    curves: dict[str, np.ndarray] = field(default_factory=dict)  # curve methods -> open curve
    leave_one_out: dict[str, np.ndarray] = field(default_factory=dict)  # expert_id -> curve
    mask_crops: dict[str, np.ndarray] = field(default_factory=dict)  # mask methods -> crop mask
    outlines: dict[str, np.ndarray] = field(default_factory=dict)  # mask methods -> ring
    staple_sensitivity: np.ndarray | None = None
    staple_specificity: np.ndarray | None = None
    published_file_deviation_px: float | None = None
    notes: list[tuple[str, str, str]] = field(default_factory=list)  # (method, severity, msg)


def expert_crop_masks(image: ImageCurves, crop: Crop) -> np.ndarray:
    """(k, h, w) masks of the experts' cavities inside the crop."""
    return np.stack([rasterise(c - crop.offset, crop.width, crop.height) for c in image.curves])


def image_consensus(
    image: ImageCurves,
    published_file_curve: np.ndarray | None = None,
    expert_masks: np.ndarray | None = None,
) -> ImageConsensus:
    """Every consensus method of one image; a method that cannot be made leaves a note.

    `expert_masks` are the experts' crop masks when the caller has them already
    (`expert_crop_masks`): each curve is rasterised once per run.
    """
    result = ImageConsensus(image=image, crop=image.crop)
    _published(result, published_file_curve)
    result.curves[Method.ARCLENGTH_MEAN] = arclength_mean(image.curves)
    if len(image.curves) >= 2:
        loo = leave_one_out_means(image.curves)
        result.leave_one_out = dict(zip(image.expert_ids, loo, strict=True))
    else:
        result.notes.append((Method.ARCLENGTH_MEAN_LOO, "warning", "needs at least two experts"))
    masks = expert_crop_masks(image, result.crop) if expert_masks is None else expert_masks
    frame_pixels = image.width * image.height
    staple_result = staple(masks, frame_pixels=frame_pixels)
    result.staple_sensitivity = staple_result.sensitivity
    result.staple_specificity = staple_result.specificity
    for method, mask in (
        (Method.MAJORITY, majority_mask(masks)),
        (Method.STAPLE, staple_result.mask),
    ):
        outline = mask_outline(mask, result.crop.offset)
        if outline is None:
            result.notes.append((method, "warning", "the consensus mask is empty"))
            continue
        result.mask_crops[method] = mask
        result.outlines[method] = outline
    return result


def _published(result: ImageConsensus, published_file_curve: np.ndarray | None) -> None:
    try:
        curve = published_mean(result.image.curves)
    except RuleUndefined as exc:
        result.notes.append((Method.PUBLISHED_MEAN, "warning", f"authors' rule undefined: {exc}"))
        return
    result.curves[Method.PUBLISHED_MEAN] = curve
    if published_file_curve is None:
        return
    if published_file_curve.shape != curve.shape:
        result.published_file_deviation_px = float("inf")
        result.notes.append(
            (
                Method.PUBLISHED_MEAN,
                "warning",
                f"source consensus has {len(published_file_curve)} points, "
                f"the rule gives {len(curve)}",
            )
        )
        return
    result.published_file_deviation_px = float(np.hypot(*(curve - published_file_curve).T).max())
