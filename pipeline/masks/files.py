"""Writing every expert and consensus mask of an image as a PNG under masks/."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from pipeline.consensus.stage import ImageConsensus, expert_crop_masks
from pipeline.errors import writing
from pipeline.masks.raster import mask_png_bytes, rasterise
from pipeline.names import CURVE_METHODS, MASK_METHODS, Method, Rater

EXPERT = Method.EXPERT
CONSENSUS_RATER = Rater.CONSENSUS


def mask_path(folder: str, image_id: str) -> str:
    """masks/<expert_id or method>/<image_id>.png, relative to the release's data/."""
    return f"masks/{folder}/{image_id}.png"


def _image_masks(
    result: ImageConsensus, expert_masks: np.ndarray | None = None
) -> list[tuple[str, str, str, np.ndarray]]:
    """(rater, method, folder, crop mask) of every expert and consensus mask of one image."""
    crop, image = result.crop, result.image
    if expert_masks is None:
        expert_masks = expert_crop_masks(image, crop)
    masks = [
        (expert_id, EXPERT, expert_id, mask)
        for expert_id, mask in zip(image.expert_ids, expert_masks, strict=True)
    ]
    for method in CURVE_METHODS:
        if method in result.curves:
            mask = rasterise(result.curves[method] - crop.offset, crop.width, crop.height)
            masks.append((CONSENSUS_RATER, method, method, mask))
    masks += [
        (CONSENSUS_RATER, m, m, result.mask_crops[m])
        for m in MASK_METHODS
        if m in result.mask_crops
    ]
    return masks


def write_image_masks(
    result: ImageConsensus, data_dir: Path, expert_masks: np.ndarray | None = None
) -> list[dict]:
    """Write one image's masks below `data_dir`; rows of the `masks` table."""
    image, rows = result.image, []
    for rater, method, folder, crop_mask in _image_masks(result, expert_masks):
        png = mask_png_bytes(result.crop.paste(crop_mask, image.width, image.height))
        relative = mask_path(folder, image.image_id)
        target = data_dir / relative
        with writing(target):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(png)
        rows.append(
            {
                "image_id": image.image_id,
                "rater": rater,
                "method": method,
                "path": relative,
                "area_px": int(np.count_nonzero(crop_mask)),
                "sha256": hashlib.sha256(png).hexdigest(),
            }
        )
    return rows
