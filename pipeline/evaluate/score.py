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
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.agreement.metrics import (
    BoundaryDistances,
    SampledBoundary,
    dice_many,
    iou_many,
    pooled_distances,
)
from pipeline.evaluate.names import Status
from pipeline.evaluate.predictions import Prediction, empty_mask
from pipeline.evaluate.references import Reference
from pipeline.evaluate.release_data import ReleaseImage
from pipeline.evaluate.schemas import EVALUATION
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


# The columns `score_image` fills: `evaluation` but for the submission and the EF error.
SCORE_SCHEMA = pa.schema(
    [f for f in EVALUATION.schema if f.name not in ("submission", "ef_error_pts")]
)


def scores_table(rows: list[dict]) -> pa.Table:
    """Rows of `score_image` as a table of SCORE_SCHEMA."""
    return pa.Table.from_pylist(rows, schema=SCORE_SCHEMA)


def score_image(
    image: ReleaseImage,
    references: Sequence[Reference],
    prediction: Prediction | None,
    status: Status,
) -> list[dict]:
    """One row per reference (SCORE_SCHEMA: `submission` and `ef_error_pts` come later)."""
    if not references:
        return []
    mask = prediction.mask if prediction is not None else empty_mask(image)
    reference_masks = np.stack([reference.mask for reference in references])
    dice, iou = dice_many(reference_masks, mask), iou_many(reference_masks, mask)
    model_area = int(np.count_nonzero(mask))
    distances = _distances(model_boundary(prediction), references)
    curve = prediction.curve if prediction is not None else None
    model_volume = measure_curve(curve).volume_px3 if curve is not None else None
    rows = []
    for i, reference in enumerate(references):
        reference_area = int(np.count_nonzero(reference.mask))
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
                "hausdorff_px": None if distances is None else distances[i].hausdorff,
                "hd95_px": None if distances is None else distances[i].hd95,
                "mean_contour_distance_px": (
                    None if distances is None else distances[i].mean_contour_distance
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


def _distances(
    boundary: SampledBoundary | None, references: Sequence[Reference]
) -> list[BoundaryDistances] | None:
    """The model's boundary distances to each reference (`sampled_boundary_distances`, with
    the model's boundary searched once for every reference); None without a boundary."""
    if boundary is None:
        return None
    to_model = boundary.distances_from_each([r.boundary for r in references])
    return [
        pooled_distances(reference.boundary.distances_from(boundary), back)
        for reference, back in zip(references, to_model, strict=True)
    ]


def with_ef_errors(scores: pa.Table) -> pa.Table:
    """`scores` with `ef_error_pts`: the study's EF from the model's volumes minus the
    reference's, where both have an ED and an ES volume (else null)."""
    has_volume = pc.is_valid(scores["reference_volume_px3"])
    if not pc.any(has_volume).as_py():
        return scores.append_column("ef_error_pts", pa.nulls(scores.num_rows, pa.float64()))
    columns = ["study_id", "reference", "phase", "model_volume_px3", "reference_volume_px3"]
    volumes: dict[tuple[str, str], dict[str, tuple[float, float]]] = {}
    for row in scores.filter(has_volume).select(columns).to_pylist():
        pair = (row["model_volume_px3"], row["reference_volume_px3"])
        volumes.setdefault((row["study_id"], row["reference"]), {})[row["phase"]] = pair
    errors = {}
    for key, phases in volumes.items():
        if set(phases) == {"ED", "ES"}:
            (model_ed, reference_ed), (model_es, reference_es) = phases["ED"], phases["ES"]
            error = ejection_fraction(model_ed, model_es) - ejection_fraction(
                reference_ed, reference_es
            )
            errors[key] = None if math.isnan(error) else error
    keys = zip(scores["study_id"].to_pylist(), scores["reference"].to_pylist(), strict=True)
    return scores.append_column(
        "ef_error_pts", pa.array([errors.get(k) for k in keys], pa.float64())
    )
