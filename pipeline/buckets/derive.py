"""Every derivation of one bucket of studies, image by image, each curve rasterised once.

For each image: the experts' crop masks are made once and reused by the consensus methods
(majority, STAPLE), the mask files and the agreement; then the measurements. Results come
back as the bucket's rows of the consensus, mask, agreement and measurement tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipeline.agreement.stage import image_agreement
from pipeline.consensus.image_curves import ImageCurves, image_curves
from pipeline.consensus.stage import expert_crop_masks, image_consensus
from pipeline.consensus.tables import (
    consensus_notes_table,
    consensus_points_table,
    consensus_table,
    staple_performance_table,
)
from pipeline.masks.files import write_image_masks
from pipeline.measurements import stage as measurement_stage
from pipeline.parallel import ImagePool
from pipeline.tables import schemas
from pipeline.tables.parquet_io import conform, table_from_rows

# The tables one bucket's derivation gives, in the order they are written.
DERIVED_TABLES = (
    "consensus",
    "consensus_points",
    "consensus_notes",
    "staple_performance",
    "masks",
    "agreement",
    "pairwise_agreement",
    "measurements",
    "study_measurements",
)
_ROW_TABLES = ("masks", "agreement", "pairwise_agreement", "measurements")


@dataclass(frozen=True)
class ImageInput:
    """What one image's derivation needs: its curves, the published curve, its pixel size."""

    image: ImageCurves
    published_curve: np.ndarray | None
    mm_per_pixel: float | None
    work_dir: Path


def derive_image(item: ImageInput) -> dict[str, pa.Table | list[dict]]:
    """One image's rows of every derived table (mask files written under `work_dir`)."""
    image = item.image
    masks = expert_crop_masks(image, image.crop)
    result = image_consensus(image, item.published_curve, masks)
    agreement, pairwise = image_agreement(result, masks)
    spacing = {} if item.mm_per_pixel is None else {image.image_id: item.mm_per_pixel}
    return {
        "consensus": consensus_table([result]),
        "consensus_points": consensus_points_table([result]),
        "consensus_notes": consensus_notes_table([result]),
        "staple_performance": staple_performance_table([result]),
        "masks": write_image_masks(result, item.work_dir, masks),
        "agreement": agreement,
        "pairwise_agreement": pairwise,
        "measurements": measurement_stage.calibrate(
            measurement_stage.image_measurements(result), spacing
        ),
    }


def derive_bucket(
    images: pa.Table,
    points: pa.Table,
    published: dict[str, np.ndarray],
    mm_per_pixel: dict[str, float],
    work_dir: Path,
    pool: ImagePool,
) -> dict[str, pa.Table]:
    """Every derived table of one bucket, from its `images` and `points` tables."""
    curves = image_curves(points, images) if points.num_rows else []
    items = [
        ImageInput(i, published.get(i.image_id), mm_per_pixel.get(i.image_id), work_dir)
        for i in curves
    ]
    per_image = pool.map(derive_image, items)
    tables = {}
    for name in DERIVED_TABLES[:-1]:
        spec = schemas.TABLES[name]
        if name in _ROW_TABLES:
            tables[name] = table_from_rows([row for r in per_image for row in r[name]], spec)
        else:
            parts = [r[name] for r in per_image]
            tables[name] = conform(
                pa.concat_tables(parts) if parts else spec.schema.empty_table(), spec
            )
    study_rows = measurement_stage.study_measurements(tables["measurements"].to_pylist())
    tables["study_measurements"] = table_from_rows(study_rows, schemas.STUDY_MEASUREMENTS)
    return tables
