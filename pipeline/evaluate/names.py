"""The names an evaluation uses: submissions, metrics, prediction statuses and reject checks."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import NamedTuple

from pipeline.errors import EvaluationError

# A submission's name is a folder name under the evaluations root and a Dagster partition key:
# ASCII letters, digits, '.', '_' and '-', starting with a letter or digit (so never hidden,
# never '..'), at most 64 characters. Use with fullmatch.
SUBMISSION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class Kind(StrEnum):
    """How a metric agrees: a similarity grows with agreement, a distance shrinks."""

    SIMILARITY = "similarity"
    DISTANCE = "distance"


class Metric(NamedTuple):
    name: str  # a column of `evaluation` and a `metric` of `evaluation_summary`
    kind: Kind
    description: str


METRICS = (
    Metric("dice", Kind.SIMILARITY, "Dice coefficient of the masks"),
    Metric("iou", Kind.SIMILARITY, "intersection over union of the masks"),
    Metric("hausdorff_px", Kind.DISTANCE, "symmetric Hausdorff distance of the contours, px"),
    Metric("hd95_px", Kind.DISTANCE, "95th percentile contour distance, px"),
    Metric("mean_contour_distance_px", Kind.DISTANCE, "mean contour distance, px"),
)
METRIC_NAMES = tuple(m.name for m in METRICS)
HEADLINE_METRIC = "dice"


class Status(StrEnum):
    """What a release image got from the submission."""

    PREDICTED = "predicted"
    MISSING = "missing"  # no prediction: scored as an empty mask
    REJECTED = "rejected"  # a prediction that cannot be used: scored as an empty mask


class ScoredAs(StrEnum):
    """What became of a rejected entry."""

    EMPTY_MASK = "empty mask"  # the image it was for is scored as if nothing was predicted
    NOT_SCORED = "not scored"  # no release image to score it on, or another entry was used


def check_submission_name(name: str) -> str:
    """`name` if it is a safe submission name, else EvaluationError."""
    if not SUBMISSION_NAME.fullmatch(name):
        shown = name if len(name) <= 80 else name[:80] + "…"
        raise EvaluationError(
            f"submission name {shown!r} is not 1-64 ASCII letters, digits, '.', '_' or '-' "
            "starting with a letter or digit (choose one with --name)"
        )
    return name
