"""Table schemas: the one place that names every column, its type and what it holds.

Writers, checks, the SQL catalog, the Croissant file and the README's table reference all
read from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    description: str
    nullable: bool = False


@dataclass(frozen=True)
class TableSpec:
    name: str
    grain: str
    columns: tuple[Column, ...]
    sort_by: tuple[str, ...]
    geometry_column: str | None = None

    @property
    def schema(self) -> pa.Schema:
        return pa.schema(
            [
                pa.field(
                    c.name, c.type, nullable=c.nullable, metadata={"description": c.description}
                )
                for c in self.columns
            ]
        )

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name: str, type_: pa.DataType, description: str, nullable: bool = False) -> Column:
    return Column(name, type_, description, nullable)


S, I32, F64, B = pa.string(), pa.int32(), pa.float64(), pa.bool_()
IMAGE_ID = _c("image_id", S, "image file name without .png: <site>-<study hash>-<frame>")
EXPERT_ID = _c("expert_id", S, "stable short expert id (E01..), see experts")

IMAGES = TableSpec(
    "images",
    "image",
    (
        IMAGE_ID,
        _c("study_id", S, "<site>-<study hash>: the echo video the frame comes from"),
        _c("site", S, "two-digit site/dataset class from the file name"),
        _c("frame", I32, "frame number within the video"),
        _c("phase", S, "ED or ES, from the order of the study's images in the annotations"),
        _c("file_name", S, "file name under Images/ in the source"),
        _c("width", I32, "image width in pixels"),
        _c("height", I32, "image height in pixels"),
        _c("mode", S, "Pillow image mode: RGB, L, ..."),
        _c("sha256", S, "sha256 of the PNG file"),
        _c("n_experts", I32, "accepted expert curves on this image"),
    ),
    ("image_id",),
)
STUDIES = TableSpec(
    "studies",
    "study",
    (
        _c("study_id", S, "<site>-<study hash>"),
        _c("site", S, "two-digit site/dataset class"),
        _c("ed_image_id", S, "end-diastolic image"),
        _c("es_image_id", S, "end-systolic image"),
        _c("ed_frame", I32, "end-diastolic frame number"),
        _c("es_frame", I32, "end-systolic frame number"),
    ),
    ("study_id",),
)
EXPERTS = TableSpec(
    "experts",
    "expert",
    (
        EXPERT_ID,
        _c("user_id", S, "anonymised annotator account id in the source"),
        _c("n_curves", I32, "accepted curves by this expert"),
    ),
    ("expert_id",),
)
POINTS = TableSpec(
    "points",
    "source point",
    (
        IMAGE_ID,
        EXPERT_ID,
        _c("point_index", I32, "index of the point in the source curve (source order)"),
        _c("x", F64, "x in pixels, right from the image's left edge"),
        _c("y", F64, "y in pixels, down from the image's top edge"),
    ),
    ("image_id", "expert_id", "point_index"),
)
CONTOURS = TableSpec(
    "contours",
    "expert curve",
    (
        IMAGE_ID,
        EXPERT_ID,
        _c("n_points", I32, "points in the source curve"),
        _c("reversed", B, "traced from the lateral hinge first (image right), not the septal"),
        _c("area_px", F64, "area of the cavity polygon (curve closed along the mitral plane), px²"),
        _c("perimeter_px", F64, "perimeter of the cavity polygon, mitral plane included, px"),
        _c("is_valid", B, "the cavity polygon is simple (no self-intersection)"),
        _c("geometry", pa.binary(), "cavity polygon as WKB (pixel space, no CRS)"),
    ),
    ("image_id", "expert_id"),
    geometry_column="geometry",
)
REJECTS = TableSpec(
    "rejects",
    "rejected or flagged record",
    (
        _c("source_file", S, "file the record comes from, relative to the source folder"),
        _c("record", S, "the record: image name, or image name / userId"),
        _c("check", S, "the check that failed"),
        _c("severity", S, "error: quarantined; warning: kept but flagged"),
        _c("message", S, "what is wrong"),
    ),
    ("source_file", "record", "check"),
)

TABLES: dict[str, TableSpec] = {
    t.name: t for t in (IMAGES, STUDIES, EXPERTS, POINTS, CONTOURS, REJECTS)
}
