"""COCO instance files of a release: expert polygons, the default consensus, LV keypoints.

`write_coco` writes three complete COCO files under `data/coco/`:

- `experts.json`: one annotation per expert curve (`expert_id` on the annotation and in
  `attributes`);
- `consensus.json`: one annotation per image, the default consensus (arclength_mean);
- `keypoints.json`: the expert curves again, each with three keypoints, in the order
  septal_hinge, lateral_hinge, apex (v = 2, visible). The hinges are the curve's two ends, the
  septal one being the end with the smaller x (`pipeline.geometry`); the apex is the curve point
  farthest from the hinges' midpoint (`pipeline.measurements.long_axis`). The hinges come first
  because together they are the mitral plane that closes the polygon; the skeleton joins the
  hinges (mitral plane) and each hinge to the apex (the walls).

Images: integer `id` 1.. in image_id order; `file_name` is "images/<file name>", RELATIVE TO
THE RELEASE'S data/ FOLDER (so `COCO(...)` users pass data/ as the image root, not coco/);
`image_id`, `study_id` and `phase` are kept as extra keys. Every image has `license` 1.

Annotations: `segmentation` is one polygon [x0, y0, x1, y1, ...] in pixel coordinates with
the origin at the image's top-left CORNER (COCO's convention, as in `pipeline.masks.raster`): the
cavity ring without its repeated last point. `bbox` is the polygon's [x, y, w, h] in floats;
`area` is the pixel count of the released mask (`masks.area_px`: pixels whose centre is inside
the polygon), not the polygon's exact area. Ids run 1.. in each file, in (image_id, expert_id)
order.

The bytes depend only on the tables and the release info: fixed key order, compact
separators, ASCII, floats as Python's repr, no wall-clock time.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipeline.exports.layout import COCO_DIR, IMAGES_DIR
from pipeline.exports.payload_tables import (
    consensus_mask_key,
    contour_rows,
    curves_by_key,
    default_consensus_rows,
    expert_mask_key,
    image_rows,
    mask_row,
    mask_rows,
    polygon_rings,
)
from pipeline.geometry import septal_first
from pipeline.measurements.lv import long_axis
from pipeline.release.info import ReleaseInfo

CATEGORY = {"id": 1, "name": "left_ventricle", "supercategory": "heart"}
KEYPOINT_NAMES = ["septal_hinge", "lateral_hinge", "apex"]
# 1-based indices into KEYPOINT_NAMES, as COCO's skeleton expects.
SKELETON = [[1, 2], [1, 3], [2, 3]]
VISIBLE = 2
LICENCE_ID = 1
FILE_CONTENTS = {
    "experts.json": "expert annotations, one LV cavity polygon per expert curve",
    "consensus.json": "default consensus (arclength_mean), one LV cavity polygon per image",
    "keypoints.json": "expert curves with mitral hinge and apex keypoints",
}


def write_coco(data_dir: Path, tables: dict[str, pa.Table], info: ReleaseInfo) -> list[Path]:
    """Write data/coco/{experts,consensus,keypoints}.json; the paths written."""
    images = image_rows(tables)
    coco_ids = {row["image_id"]: i for i, row in enumerate(images, start=1)}
    masks = mask_rows(tables)
    contours = contour_rows(tables)
    curves = curves_by_key(tables["points"], "expert_id")
    annotations = {
        "experts.json": [_expert_annotation(row, coco_ids, masks) for row in contours],
        "consensus.json": [
            _consensus_annotation(row, coco_ids, masks) for row in default_consensus_rows(tables)
        ],
        "keypoints.json": [_keypoint_annotation(row, coco_ids, masks, curves) for row in contours],
    }
    out = data_dir / COCO_DIR
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, anns in annotations.items():
        category = _keypoint_category() if name == "keypoints.json" else dict(CATEGORY)
        document = {
            **_header(info, FILE_CONTENTS[name]),
            "images": [_image(row, coco_ids[row["image_id"]]) for row in images],
            "annotations": [{"id": i, **a} for i, a in enumerate(anns, start=1)],
            "categories": [category],
        }
        path = out / name
        path.write_bytes(coco_json_bytes(document))
        written.append(path)
    return written


def coco_json_bytes(document: dict) -> bytes:
    """The deterministic serialisation used for every COCO file."""
    text = json.dumps(document, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return (text + "\n").encode("ascii")


def _header(info: ReleaseInfo, contents: str) -> dict:
    dataset = info.meta["dataset"]
    return {
        "info": {
            "description": f"{dataset['title']}. This file: {contents}.",
            "url": dataset["source_url"],
            "version": info.version,
            "year": int(info.date[:4]),
            "contributor": dataset["publisher"],
            "date_created": info.date,
        },
        "licenses": [
            {"id": LICENCE_ID, "name": info.meta["licence"]["name"], "url": info.licence_url}
        ],
    }


def _image(row: dict, coco_id: int) -> dict:
    return {
        "id": coco_id,
        "width": int(row["width"]),
        "height": int(row["height"]),
        "file_name": f"{IMAGES_DIR}/{row['file_name']}",
        "license": LICENCE_ID,
        "image_id": row["image_id"],
        "study_id": row["study_id"],
        "phase": row["phase"],
    }


def _keypoint_category() -> dict:
    return {**CATEGORY, "keypoints": list(KEYPOINT_NAMES), "skeleton": [*SKELETON]}


def _region(wkb: bytes, area_px: int) -> dict:
    """segmentation, area and bbox of one cavity polygon."""
    rings = polygon_rings(wkb)
    points = np.concatenate(rings)
    low, high = points.min(axis=0), points.max(axis=0)
    return {
        "segmentation": [ring.ravel().tolist() for ring in rings],
        "area": float(area_px),
        "bbox": [float(low[0]), float(low[1]), float(high[0] - low[0]), float(high[1] - low[1])],
        "iscrowd": 0,
    }


def _expert_annotation(row: dict, coco_ids: dict[str, int], masks: dict) -> dict:
    image_id, expert_id = row["image_id"], row["expert_id"]
    area = mask_row(masks, expert_mask_key(image_id, expert_id))["area_px"]
    return {
        "image_id": coco_ids[image_id],
        "category_id": CATEGORY["id"],
        **_region(row["geometry"], area),
        "expert_id": expert_id,
        "attributes": {"expert_id": expert_id},
    }


def _consensus_annotation(row: dict, coco_ids: dict[str, int], masks: dict) -> dict:
    image_id, method = row["image_id"], row["method"]
    area = mask_row(masks, consensus_mask_key(image_id, method))["area_px"]
    return {
        "image_id": coco_ids[image_id],
        "category_id": CATEGORY["id"],
        **_region(row["geometry"], area),
        "attributes": {"method": method, "n_experts": int(row["n_experts"])},
    }


def _keypoint_annotation(
    row: dict, coco_ids: dict[str, int], masks: dict, curves: dict[tuple[str, str], np.ndarray]
) -> dict:
    annotation = _expert_annotation(row, coco_ids, masks)
    curve = septal_first(curves[(row["image_id"], row["expert_id"])])
    _, apex, _ = long_axis(curve)
    keypoints = []
    for x, y in (curve[0], curve[-1], apex):
        keypoints += [float(x), float(y), VISIBLE]
    return {**annotation, "keypoints": keypoints, "num_keypoints": len(KEYPOINT_NAMES)}
