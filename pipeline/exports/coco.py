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
separators, ASCII, floats as Python's repr, no wall-clock time. Each file is written as it is
made (`CocoFile`: header and images, then one annotation at a time, then the categories), the
bytes `coco_json_bytes` gives for the whole document, without holding every annotation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import numpy as np
import pyarrow as pa

from pipeline.errors import writing
from pipeline.exports.layout import COCO_DIR, IMAGES_DIR
from pipeline.exports.payload_tables import (
    CurvesInOrder,
    ImageIds,
    MaskAreas,
    contour_batches,
    curve_batches,
    curves_in_order,
    default_consensus_batches,
    image_batches,
    polygon_rings,
    rows,
)
from pipeline.geometry import septal_first
from pipeline.masks.files import CONSENSUS_RATER, EXPERT
from pipeline.measurements.lv import long_axis
from pipeline.names import DEFAULT_METHOD
from pipeline.release.info import ReleaseInfo
from pipeline.tables.table_files import TableReader, table_reader

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
IMAGE_COLUMNS = ["image_id", "width", "height", "file_name", "study_id", "phase"]
# Curve rows (each with its WKB polygon) per batch: the annotations in memory at a time.
CURVE_BATCH_ROWS = 512


def write_coco(
    data_dir: Path, tables: TableReader | dict[str, pa.Table], info: ReleaseInfo
) -> list[Path]:
    """Write data/coco/{experts,consensus,keypoints}.json; the paths written."""
    tables = table_reader(tables)
    out = data_dir / COCO_DIR
    out.mkdir(parents=True, exist_ok=True)
    coco_ids, areas = ImageIds(tables), MaskAreas(tables)
    paths = {name: out / name for name in FILE_CONTENTS}

    def coco_file(name: str) -> CocoFile:
        category = _keypoint_category() if name == "keypoints.json" else dict(CATEGORY)
        images = (_image(row, i) for i, row in enumerate(_image_rows(tables), start=1))
        return CocoFile(paths[name], _header(info, FILE_CONTENTS[name]), images, category)

    # experts.json and keypoints.json in one pass over the curves: the same annotations.
    curves = CurvesInOrder(curves_in_order(curve_batches(tables), "expert_id"))
    with coco_file("experts.json") as experts, coco_file("keypoints.json") as keypoints:
        for batch in contour_batches(tables, ["geometry"], CURVE_BATCH_ROWS):
            ids = coco_ids.ids(batch["image_id"])
            mask_areas = areas.areas(batch["image_id"], batch["expert_id"], EXPERT)
            for row, coco_id, area in zip(batch.to_pylist(), ids, mask_areas, strict=True):
                annotation = _expert_annotation(row, coco_id, area)
                experts.add(annotation)
                curve = curves.curve((row["image_id"], row["expert_id"]))
                keypoints.add(_keypoint_annotation(annotation, curve))
    with coco_file("consensus.json") as consensus:
        columns = ["image_id", "n_experts", "geometry"]
        for batch in default_consensus_batches(tables, columns, CURVE_BATCH_ROWS):
            ids = coco_ids.ids(batch["image_id"])
            raters = pa.array([CONSENSUS_RATER] * batch.num_rows, pa.string())
            mask_areas = areas.areas(batch["image_id"], raters, DEFAULT_METHOD)
            for row, coco_id, area in zip(batch.to_pylist(), ids, mask_areas, strict=True):
                consensus.add(_consensus_annotation(row, coco_id, area))
    return list(paths.values())


def coco_json_bytes(document: dict) -> bytes:
    """The deterministic serialisation used for every COCO file."""
    return (_json(document) + "\n").encode("ascii")


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False)


class CocoFile:
    """One COCO file written in order, exactly the bytes of `coco_json_bytes(document)`.

    The document is {**header, "images": [...], "annotations": [...], "categories": [...]}:
    the header and images are written on opening, each `add`ed annotation as it comes (ids
    1..), the categories on closing. A file left by an error is incomplete JSON: the payload
    it is in is never published.
    """

    def __init__(self, path: Path, header: dict, images: Iterator[dict], category: dict):
        self.path = path
        self._header, self._images, self._category = header, images, category
        self._count = 0

    def __enter__(self) -> CocoFile:
        with writing(self.path):
            self._file = self.path.open("wb")
        try:
            # The header's members without its closing brace, then the other keys.
            self._write(_json(self._header)[:-1] + ',"images":[')
            for i, image in enumerate(self._images):
                self._write(("," if i else "") + _json(image))
            self._write('],"annotations":[')
        except BaseException:
            self._file.close()
            raise
        return self

    def add(self, annotation: dict) -> None:
        self._count += 1
        self._write(("," if self._count > 1 else "") + _json({"id": self._count, **annotation}))

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if kind is None:
                self._write('],"categories":' + _json([self._category]) + "}\n")
        finally:
            with writing(self.path):
                self._file.close()

    def _write(self, text: str) -> None:
        with writing(self.path):
            self._file.write(text.encode("ascii"))


def _image_rows(tables: TableReader) -> Iterator[dict]:
    return rows(image_batches(tables, IMAGE_COLUMNS))


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


def _expert_annotation(row: dict, coco_id: int, area_px: int) -> dict:
    expert_id = row["expert_id"]
    return {
        "image_id": coco_id,
        "category_id": CATEGORY["id"],
        **_region(row["geometry"], area_px),
        "expert_id": expert_id,
        "attributes": {"expert_id": expert_id},
    }


def _consensus_annotation(row: dict, coco_id: int, area_px: int) -> dict:
    return {
        "image_id": coco_id,
        "category_id": CATEGORY["id"],
        **_region(row["geometry"], area_px),
        "attributes": {"method": row["method"], "n_experts": int(row["n_experts"])},
    }


def _keypoint_annotation(annotation: dict, curve: np.ndarray) -> dict:
    """An expert annotation with its curve's hinges and apex as keypoints."""
    curve = septal_first(curve)
    _, apex, _ = long_axis(curve)
    keypoints = []
    for x, y in (curve[0], curve[-1], apex):
        keypoints += [float(x), float(y), VISIBLE]
    return {**annotation, "keypoints": keypoints, "num_keypoints": len(KEYPOINT_NAMES)}
