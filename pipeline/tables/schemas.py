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
        _c(
            "area_px",
            F64,
            "area of the cavity: the curve closed along the mitral plane, filled by the "
            "even-odd rule as the masks are (every lobe of a self-crossing curve counts), px²",
        ),
        _c("perimeter_px", F64, "boundary length of the cavity, mitral plane included, px"),
        _c(
            "is_valid",
            B,
            "the curve closed along the mitral plane is a simple polygon; when false, "
            "geometry holds its even-odd cavity",
        ),
        _c(
            "geometry",
            pa.binary(),
            "the cavity as WKB (pixel space, no CRS): the traced polygon, or for a "
            "self-crossing curve its even-odd region (a valid Polygon or MultiPolygon)",
        ),
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

I64, OPT = pa.int64(), True
METHOD = _c(
    "method",
    S,
    "consensus method: published_mean, arclength_mean, arclength_mean_loo, majority, staple",
)
LEFT_OUT = _c(
    "left_out_expert_id", S, "for arclength_mean_loo: the expert left out; else null", OPT
)
DISTANCES = (
    _c("dice", F64, "Dice coefficient of the two masks (native resolution)"),
    _c("iou", F64, "intersection over union of the two masks"),
    _c("hausdorff_px", F64, "symmetric Hausdorff distance between the two contours, px"),
    _c("hd95_px", F64, "95th percentile of contour-to-contour distances (both directions), px"),
    _c("mean_contour_distance_px", F64, "mean contour-to-contour distance (both directions), px"),
)

CONSENSUS = TableSpec(
    "consensus",
    "image x consensus method (x left-out expert)",
    (
        IMAGE_ID,
        METHOD,
        LEFT_OUT,
        _c("n_experts", I32, "expert curves combined"),
        _c("n_points", I32, "points of the consensus curve; null for mask methods", OPT),
        _c("area_px", F64, "area of the consensus cavity (even-odd rule, as in the masks), px²"),
        _c(
            "published_file_max_deviation_px",
            F64,
            "published_mean only: largest distance to the source's consensus file, px",
            OPT,
        ),
        _c(
            "geometry",
            pa.binary(),
            "consensus cavity polygon as WKB (mask methods: its boundary at 0.5)",
        ),
    ),
    ("image_id", "method", "left_out_expert_id"),
    geometry_column="geometry",
)
CONSENSUS_POINTS = TableSpec(
    "consensus_points",
    "point of a consensus curve",
    (
        IMAGE_ID,
        METHOD,
        LEFT_OUT,
        _c("point_index", I32, "index along the curve, septal hinge first for arclength methods"),
        _c("x", F64, "x in pixels"),
        _c("y", F64, "y in pixels"),
    ),
    ("image_id", "method", "left_out_expert_id", "point_index"),
)
CONSENSUS_NOTES = TableSpec(
    "consensus_notes",
    "image x method without a consensus, or with a caveat",
    (
        IMAGE_ID,
        METHOD,
        _c("severity", S, "warning: no row for this method; info: a caveat"),
        _c("message", S, "why"),
    ),
    ("image_id", "method", "message"),
)
STAPLE_PERFORMANCE = TableSpec(
    "staple_performance",
    "image x expert",
    (
        IMAGE_ID,
        EXPERT_ID,
        _c("sensitivity", F64, "STAPLE's estimated sensitivity of the expert on this image"),
        _c("specificity", F64, "STAPLE's estimated specificity (over the whole frame)"),
    ),
    ("image_id", "expert_id"),
)
MASKS = TableSpec(
    "masks",
    "mask file",
    (
        IMAGE_ID,
        _c("rater", S, "expert_id for an expert's mask, consensus for a consensus mask"),
        _c("method", S, "expert, or the consensus method"),
        _c("path", S, "masks/<expert_id or method>/<image_id>.png, relative to the release data/"),
        _c("area_px", I64, "pixels in the mask (pixel centre inside the polygon)"),
        _c("sha256", S, "sha256 of the PNG file"),
    ),
    ("image_id", "rater", "method"),
)
AGREEMENT = TableSpec(
    "agreement",
    "image x expert x reference",
    (
        IMAGE_ID,
        EXPERT_ID,
        _c("reference", S, "arclength_mean, arclength_mean_loo (without this expert) or staple"),
        *DISTANCES,
    ),
    ("image_id", "expert_id", "reference"),
)
PAIRWISE_AGREEMENT = TableSpec(
    "pairwise_agreement",
    "image x pair of experts",
    (
        IMAGE_ID,
        _c("expert_a", S, "the first expert of the pair (expert_a < expert_b)"),
        _c("expert_b", S, "the second expert of the pair"),
        *DISTANCES,
    ),
    ("image_id", "expert_a", "expert_b"),
)
MEASUREMENTS = TableSpec(
    "measurements",
    "image x rater",
    (
        IMAGE_ID,
        _c("study_id", S, "the study"),
        _c("phase", S, "ED or ES"),
        _c("rater", S, "expert_id, or consensus"),
        _c("method", S, "expert, or the consensus method"),
        _c("area_px", F64, "cavity area (even-odd rule, as in the masks), px²"),
        _c("long_axis_px", F64, "mitral annulus midpoint to apex, px; null for mask methods", OPT),
        _c(
            "volume_px3",
            F64,
            "single-plane method of discs, 20 discs, px³; null for mask methods",
            OPT,
        ),
        _c("mm_per_pixel", F64, "from the calibration file; null when none is given", OPT),
        _c("area_mm2", F64, "area in mm²; null without calibration", OPT),
        _c("long_axis_mm", F64, "long axis in mm; null without calibration", OPT),
        _c("volume_ml", F64, "volume in ml; null without calibration", OPT),
    ),
    ("image_id", "rater", "method"),
)
STUDY_MEASUREMENTS = TableSpec(
    "study_measurements",
    "study x rater",
    (
        _c("study_id", S, "the study"),
        _c("rater", S, "expert_id, or consensus"),
        _c("method", S, "expert, or the consensus method"),
        _c("edv_px3", F64, "end-diastolic volume, px³", OPT),
        _c("esv_px3", F64, "end-systolic volume, px³", OPT),
        _c("stroke_volume_px3", F64, "EDV - ESV, px³", OPT),
        _c("ef_percent", F64, "ejection fraction 100 (EDV - ESV) / EDV; needs no calibration", OPT),
        _c("edv_ml", F64, "EDV in ml; null without calibration", OPT),
        _c("esv_ml", F64, "ESV in ml; null without calibration", OPT),
        _c("stroke_volume_ml", F64, "stroke volume in ml; null without calibration", OPT),
        _c("ed_area_smaller_than_es", B, "this rater's ED area is below its ES area: suspicious"),
        _c("ef_minus_consensus_pts", F64, "experts: EF minus the arclength_mean consensus EF", OPT),
        _c("ef_outlier", B, "experts: EF more than 15 points from the consensus EF"),
    ),
    ("study_id", "rater", "method"),
)

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        IMAGES,
        STUDIES,
        EXPERTS,
        POINTS,
        CONTOURS,
        REJECTS,
        CONSENSUS,
        CONSENSUS_POINTS,
        CONSENSUS_NOTES,
        STAPLE_PERFORMANCE,
        MASKS,
        AGREEMENT,
        PAIRWISE_AGREEMENT,
        MEASUREMENTS,
        STUDY_MEASUREMENTS,
    )
}
