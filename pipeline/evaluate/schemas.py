"""Schemas of an evaluation's tables: the one place that names their columns.

They are not release tables (`pipeline.tables.schemas.TABLES`): an evaluation lives beside the
releases, in `<evaluations>/<submission>/<table>.parquet`, and every row names its submission
so that the tables of many submissions read as one.
"""

from __future__ import annotations

import pyarrow as pa

from pipeline.evaluate.names import METRIC_NAMES
from pipeline.tables.schemas import DISTANCES, IMAGE_ID, Column, TableSpec

S, I64, F64 = pa.string(), pa.int64(), pa.float64()
OPT = True
SUBMISSION = Column(
    "submission", S, "the submission's name (its folder under the evaluations root)"
)
RELEASE_VERSION = Column("release_version", S, "the release the submission was scored against")

EVALUATION = TableSpec(
    "evaluation",
    "submission x image x reference",
    (
        SUBMISSION,
        IMAGE_ID,
        Column("study_id", S, "the study"),
        Column("phase", S, "ED or ES"),
        Column("reference", S, "an expert_id (E01..) or a consensus method"),
        Column("reference_kind", S, "expert or consensus"),
        Column(
            "prediction",
            S,
            "predicted; missing or rejected: scored as an empty mask (see prediction_rejects)",
        ),
        DISTANCES[0],
        DISTANCES[1],
        *(
            Column(c.name, c.type, c.description + "; null when a mask is empty", OPT)
            for c in DISTANCES[2:]
        ),
        Column("model_area_px", I64, "pixels in the model's mask"),
        Column("reference_area_px", I64, "pixels in the reference's mask"),
        Column("area_difference_px", I64, "model_area_px - reference_area_px"),
        Column(
            "model_volume_px3",
            F64,
            "disc volume of the model's curve (20 discs), px³; null unless curves were given",
            OPT,
        ),
        Column(
            "reference_volume_px3",
            F64,
            "disc volume of the reference's curve, px³; null for mask references (majority, "
            "staple) or without model curves",
            OPT,
        ),
        Column("volume_error_px3", F64, "model_volume_px3 - reference_volume_px3", OPT),
        Column(
            "ef_error_pts",
            F64,
            "the study's ejection fraction from the model's curves minus the reference's, "
            "percentage points (the same on both images of a study)",
            OPT,
        ),
    ),
    ("submission", "image_id", "reference"),
)

EVALUATION_SUMMARY = TableSpec(
    "evaluation_summary",
    "submission x metric",
    (
        SUBMISSION,
        RELEASE_VERSION,
        Column("metric", S, "one of " + ", ".join(METRIC_NAMES)),
        Column("kind", S, "similarity (higher agrees more) or distance (lower agrees more)"),
        Column("images", I64, "images scored (every image of the release, or the --images list)"),
        Column("experts", I64, "experts in the release"),
        Column(
            "model_mean",
            F64,
            "the model's agreement with the experts: the mean over experts of its mean over "
            "images (distances: an empty mask counts as the image's diagonal)",
        ),
        Column(
            "experts_mean",
            F64,
            "the experts' agreement with each other: the mean over pairs of experts of their "
            "mean over the same images",
        ),
        Column(
            "williams_index",
            F64,
            "Williams index (Chalana & Kim 1997): the model's agreement with the experts over "
            "the experts' agreement with each other (reciprocal distances); above 1: the model "
            "agrees with the experts better than they agree with each other",
        ),
        Column("williams_jackknife", F64, "the mean of the leave-one-image-out pseudo-values", OPT),
        Column("williams_se", F64, "jackknife standard error over images", OPT),
        Column("williams_ci_low", F64, "williams_jackknife - 1.96 williams_se", OPT),
        Column("williams_ci_high", F64, "williams_jackknife + 1.96 williams_se", OPT),
        Column(
            "expert_williams_min",
            F64,
            "the lowest Williams index of an expert scored the same way against the others",
        ),
        Column("expert_williams_median", F64, "the experts' median Williams index"),
        Column("expert_williams_max", F64, "the highest Williams index of an expert"),
        Column(
            "rank_among_experts", I64, "the model's rank among itself and the experts (1: best)"
        ),
        Column(
            "percentile",
            F64,
            "percentage of experts whose Williams index is below the model's (ties count half)",
        ),
        Column("images_predicted", I64, "release images with a usable prediction"),
        Column("images_missing", I64, "release images without a prediction: scored as empty"),
        Column(
            "images_rejected", I64, "release images whose prediction was rejected: scored as empty"
        ),
        Column("rejected_entries", I64, "rows of prediction_rejects (missing images included)"),
    ),
    ("submission", "metric"),
)

PREDICTION_REJECTS = TableSpec(
    "prediction_rejects",
    "rejected, extra or missing prediction",
    (
        SUBMISSION,
        Column(
            "entry",
            S,
            "the file name (mask folder), the record (curves JSON) or 'annotation <n>' "
            "(COCO results, 1-based) the row is about; the image_id for a missing image",
        ),
        Column("image_id", S, "the release image it was for; null when it names none", OPT),
        Column("check", S, "the check that failed"),
        Column(
            "scored_as",
            S,
            "empty mask (the image scored as if nothing was predicted) or not scored",
        ),
        Column("message", S, "what is wrong"),
    ),
    ("submission", "entry", "check"),
)

EVALUATION_TABLES: dict[str, TableSpec] = {
    t.name: t for t in (EVALUATION, EVALUATION_SUMMARY, PREDICTION_REJECTS)
}
