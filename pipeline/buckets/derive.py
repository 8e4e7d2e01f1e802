"""Every derivation of one bucket of studies, image by image, each curve rasterised once.

For each image: the experts' crop masks are made once and reused by the consensus methods
(majority, STAPLE), the mask files and the agreement; then the measurements, and the frame as
nnU-Net wants it (8-bit grayscale). Results come back as the image's rows of the consensus,
mask, agreement and measurement tables.

`derive_images` streams images (of one bucket or of many, one after another) through the pool
a chunk at a time and yields each image's rows in order, so any number of images holds two
chunks' results at most; `pipeline.buckets.rederive` writes them out as they come.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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


def derive_image(item: ImageInput) -> dict[str, pa.Table]:
    """One image's rows of every per-image derived table, typed and sorted (mask files
    written under `work_dir`)."""
    image = item.image
    masks = expert_crop_masks(image, image.crop)
    result = image_consensus(image, item.published_curve, masks)
    agreement, pairwise = image_agreement(result, masks)
    spacing = {} if item.mm_per_pixel is None else {image.image_id: item.mm_per_pixel}
    if item.frame_file is not None:
        write_grayscale(item.frame_file, frame_path(item.work_dir, image.image_id))
    return image_tables(
        {
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
    )


# Images handed to the pool at a time: two chunks' results (~0.4 MB an image) at most are held.
CHUNK_IMAGES = 32


def image_tables(result: dict[str, pa.Table | list[dict]]) -> dict[str, pa.Table]:
    """One image's rows of each per-image derived table, typed and sorted."""
    tables = {}
    for name in DERIVED_TABLES[:-1]:
        spec = schemas.TABLES[name]
        rows = result[name]
        tables[name] = table_from_rows(rows, spec) if name in _ROW_TABLES else conform(rows, spec)
    return tables


def image_inputs(
    images: pa.Table,
    points: pa.Table,
    published: dict[str, np.ndarray],
    mm_per_pixel: dict[str, float],
    work_dir: Path,
    frames_from: Path | None = None,
) -> list[ImageInput]:
    """What `derive_image` needs for every image with points, in image_id order; frames for
    nnU-Net are written when `frames_from` (the source's image folder) is given."""
    curves = image_curves(points, images) if points.num_rows else []
    ids, names = images["image_id"].to_pylist(), images["file_name"].to_pylist()
    file_names = dict(zip(ids, names, strict=True))
    return [
        ImageInput(
            i,
            published.get(i.image_id),
            mm_per_pixel.get(i.image_id),
            work_dir,
            None if frames_from is None else frames_from / file_names[i.image_id],
        )
        for i in curves
    ]


def derive_images(items: Iterable[ImageInput], pool: ImagePool) -> Iterator[dict[str, pa.Table]]:
    """Each item's tables (`derive_image`), in order, the stream handed to the pool a chunk
    at a time."""
    return pool.imap(derive_image, items, CHUNK_IMAGES)


def study_table(measurements: list[dict]) -> pa.Table:
    """The study_measurements rows of a bucket, from its measurement rows."""
    rows = measurement_stage.study_measurements(measurements)
    return table_from_rows(rows, schemas.STUDY_MEASUREMENTS)
