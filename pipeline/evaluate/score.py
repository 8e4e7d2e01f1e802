"""One image's prediction scored against each of its references: rows of `evaluation`.

The metrics are the agreement stage's own (`pipeline.agreement.metrics`: Dice and IoU on the
binary masks at native resolution, boundary distances between contours), so a model is
measured exactly as the experts are measured against each other. The model's contour is its
curve's cavity when curves were given, its polygons' region for COCO polygons, else its mask's
region traced at 0.5 by marching squares (`pipeline.masks.outline.mask_region`, every piece
and hole). An empty mask has no contour:
its distances are null here (the summary counts them as the image's diagonal).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from pipeline.agreement.metrics import (
    SampledBoundary,
    dice_many,
    iou_many,
    sampled_boundary_distances,
)
from pipeline.evaluate.names import Status
from pipeline.evaluate.predictions import Prediction, empty_mask
from pipeline.evaluate.release_data import Reference, ReleaseImage
from pipeline.geometry import cavity
from pipeline.masks.outline import mask_region
from pipeline.measurements.lv import ejection_fraction, measure_curve


def model_boundary(prediction: Prediction | None) -> SampledBoundary | None:
    """The contour of a prediction, or None when it encloses nothing: its curve's cavity, its
    polygons' region, else its mask's region."""
    if prediction is None:
        return None
    if prediction.curve is not None:
        region = cavity(prediction.curve)
    elif prediction.region is not None:
        region = prediction.region
    else:
        region = mask_region(prediction.mask)
    return None if region is None or region.is_empty else SampledBoundary(region)


def score_image(
    image: ReleaseImage,
    references: Sequence[Reference],
    prediction: Prediction | None,
    status: Status,
) -> list[dict]:
    """One row per reference (without `submission` and `ef_error_pts`, added later)."""
    if not references:
        return []
    mask = prediction.mask if prediction is not None else empty_mask(image)
    reference_masks = np.stack([reference.mask for reference in references])
    dice, iou = dice_many(reference_masks, mask), iou_many(reference_masks, mask)
    model_area = int(np.count_nonzero(mask))
    boundary = model_boundary(prediction)
    curve = prediction.curve if prediction is not None else None
    model_volume = measure_curve(curve).volume_px3 if curve is not None else None
    rows = []
    for i, reference in enumerate(references):
        reference_area = int(np.count_nonzero(reference.mask))
        distances = (
            None if boundary is None else sampled_boundary_distances(boundary, reference.boundary)
        )
        reference_volume = (
            measure_curve(reference.curve).volume_px3
            if model_volume is not None and reference.curve is not None
            else None
        )
        rows.append(
            {
                "image_id": image.image_id,
                "study_id": image.study_id,
                "phase": image.phase,
                "reference": reference.name,
                "reference_kind": reference.kind,
                "prediction": str(status),
                "dice": float(dice[i]),
                "iou": float(iou[i]),
                "hausdorff_px": None if distances is None else distances.hausdorff,
                "hd95_px": None if distances is None else distances.hd95,
                "mean_contour_distance_px": (
                    None if distances is None else distances.mean_contour_distance
                ),
                "model_area_px": model_area,
                "reference_area_px": reference_area,
                "area_difference_px": model_area - reference_area,
                "model_volume_px3": model_volume,
                "reference_volume_px3": reference_volume,
                "volume_error_px3": (
                    None if reference_volume is None else model_volume - reference_volume
                ),
            }
        )
    return rows


def add_ef_errors(rows: list[dict]) -> list[dict]:
    """Set `ef_error_pts` on every row: the study's EF from the model's volumes minus the
    reference's, where both have an ED and an ES volume (else null)."""
    volumes: dict[tuple[str, str], dict[str, tuple[float, float]]] = {}
    for row in rows:
        if row["reference_volume_px3"] is not None:
            key = (row["study_id"], row["reference"])
            pair = (row["model_volume_px3"], row["reference_volume_px3"])
            volumes.setdefault(key, {})[row["phase"]] = pair
    errors = {}
    for key, phases in volumes.items():
        if set(phases) == {"ED", "ES"}:
            (model_ed, reference_ed), (model_es, reference_es) = phases["ED"], phases["ES"]
            error = ejection_fraction(model_ed, model_es) - ejection_fraction(
                reference_ed, reference_es
            )
            errors[key] = None if math.isnan(error) else error
    for row in rows:
        row["ef_error_pts"] = errors.get((row["study_id"], row["reference"]))
    return rows
