"""Every derivation of one bucket of studies, image by image, each curve rasterised once.

For each image: the experts' crop masks are made once and reused by the consensus methods
(majority, STAPLE), the mask files and the agreement; then the measurements, and the frame as
nnU-Net wants it (8-bit grayscale). Results come back as the bucket's rows of the consensus,
mask, agreement and measurement tables.

A bucket's images are handed to the worker processes as soon as it is submitted
(`submit_bucket`) and its tables made when its last image is done (`collect_bucket`), so the
next bucket can be submitted before the previous one is collected and no worker waits while
a bucket's tables are written.
"""

from __future__ import annotations

from collections.abc import Iterator
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
from pipeline.exports.nnunet import frame_path, write_grayscale
from pipeline.masks.files import write_image_masks
from pipeline.measurements import stage as measurement_stage
from pipeline.parallel import ImagePool
from pipeline.tables import schemas
from pipeline.tables.parquet_io import conform, table_from_rows

# The tables one bucket's derivation gives, in the order they are written; all but the last
# (per study, made from the measurements) have a row per image and more.
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
    frame_file: Path | None = None  # the source frame, to write its nnU-Net copy from


def derive_image(item: ImageInput) -> dict[str, pa.Table | list[dict]]:
    """One image's rows of every derived table (mask files written under `work_dir`)."""
    image = item.image
    masks = expert_crop_masks(image, image.crop)
    result = image_consensus(image, item.published_curve, masks)
    agreement, pairwise = image_agreement(result, masks)
    spacing = {} if item.mm_per_pixel is None else {image.image_id: item.mm_per_pixel}
    if item.frame_file is not None:
        write_grayscale(item.frame_file, frame_path(item.work_dir, image.image_id))
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


@dataclass
class PendingBucket:
    """A bucket whose images are being derived; `collect_bucket` gives its tables."""

    results: Iterator[dict]


def submit_bucket(
    images: pa.Table,
    points: pa.Table,
    published: dict[str, np.ndarray],
    mm_per_pixel: dict[str, float],
    work_dir: Path,
    pool: ImagePool,
    frames_from: Path | None = None,
) -> PendingBucket:
    """Start deriving one bucket from its `images` and `points` tables; frames for nnU-Net
    are written when `frames_from` (the source's image folder) is given."""
    curves = image_curves(points, images) if points.num_rows else []
    ids, names = images["image_id"].to_pylist(), images["file_name"].to_pylist()
    file_names = dict(zip(ids, names, strict=True))
    items = [
        ImageInput(
            i,
            published.get(i.image_id),
            mm_per_pixel.get(i.image_id),
            work_dir,
            None if frames_from is None else frames_from / file_names[i.image_id],
        )
        for i in curves
    ]
    return PendingBucket(pool.map_lazy(derive_image, items))


def collect_bucket(
    pending: PendingBucket, kept: dict[str, pa.Table | None] | None = None
) -> dict[str, pa.Table]:
    """Every derived table of a submitted bucket (waits for its last image), with the `kept`
    rows of images not derived again."""
    per_image = list(pending.results)
    tables = {}
    for name in DERIVED_TABLES[:-1]:
        spec = schemas.TABLES[name]
        if name in _ROW_TABLES:
            new = table_from_rows([row for r in per_image for row in r[name]], spec)
        else:
            parts = [r[name] for r in per_image]
            new = conform(pa.concat_tables(parts) if parts else spec.schema.empty_table(), spec)
        old = (kept or {}).get(name)
        if old is not None and old.num_rows:
            new = conform(
                pa.concat_tables([new, old.select(spec.column_names).cast(new.schema)]), spec
            )
        tables[name] = new
    study_rows = measurement_stage.study_measurements(tables["measurements"].to_pylist())
    tables["study_measurements"] = table_from_rows(study_rows, schemas.STUDY_MEASUREMENTS)
    return tables


def derive_bucket(
    images: pa.Table,
    points: pa.Table,
    published: dict[str, np.ndarray],
    mm_per_pixel: dict[str, float],
    work_dir: Path,
    pool: ImagePool,
) -> dict[str, pa.Table]:
    """Every derived table of one bucket, from its `images` and `points` tables."""
    return collect_bucket(submit_bucket(images, points, published, mm_per_pixel, work_dir, pool))
