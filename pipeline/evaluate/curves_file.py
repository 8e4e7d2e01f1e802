"""A curves JSON in the source's own layout: `{image file name: [[x...], [y...]]}`.

Each value is an open LV curve (hinge, apex, hinge) in image pixels, checked as the source's
curves are (`pipeline.source.curves`: shape, numbers, at least 3 points, not far outside the
image). Its mask is the rasterised cavity, exactly as the release's masks are made, and the
curve itself gives the contour, the long axis, the disc volume and, per study, the EF. The
file is read record by record (`pipeline.source.stream`), as the source's files are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.evaluate.names import ScoredAs
from pipeline.evaluate.predictions import (
    Prediction,
    PredictionProblem,
    PredictionReject,
    shown_name,
)
from pipeline.evaluate.release_data import ReleaseImage
from pipeline.masks.raster import rasterise
from pipeline.source.curves import CurveProblem, check_inside_image, parse_curve
from pipeline.source.reader import CONSENSUS_KEEP, CONSENSUS_SHAPE
from pipeline.source.stream import stream_records

SUFFIX = ".png"


class CurvesFile:
    """The curves of a file, one per release image (the first, when a name repeats)."""

    format = "curves"

    def __init__(self, path: Path, images: list[ReleaseImage]):
        by_id = {image.image_id: image for image in images}
        self.unmatched: list[PredictionReject] = []
        self.found: dict[str, np.ndarray | PredictionReject] = {}
        for record in stream_records(path, path.parent, CONSENSUS_KEEP, CONSENSUS_SHAPE):
            entry = shown_name(record.key)
            image_id = record.key.removesuffix(SUFFIX) if record.key.endswith(SUFFIX) else None
            if image_id not in by_id:
                problem = PredictionProblem(
                    "unknown_image", "names no image of the release (<image_id>.png)"
                )
                self.unmatched.append(problem.reject(entry, None, ScoredAs.NOT_SCORED))
            elif image_id in self.found:
                self.unmatched.append(
                    PredictionReject(
                        entry,
                        image_id,
                        "duplicate_image",
                        ScoredAs.NOT_SCORED,
                        "the image is named again: its first curve is scored",
                    )
                )
            else:
                self.found[image_id] = _curve(record.value, by_id[image_id], entry)

    def for_image(self, image: ReleaseImage) -> Prediction | PredictionReject | None:
        found = self.found.get(image.image_id)
        if found is None or isinstance(found, PredictionReject):
            return found
        return Prediction(rasterise(found, image.width, image.height), found)


def _curve(value, image: ReleaseImage, entry: str) -> np.ndarray | PredictionReject:
    try:
        curve = parse_curve(value)
        check_inside_image(curve, image.width, image.height)
    except CurveProblem as exc:
        return PredictionReject(entry, image.image_id, exc.check, ScoredAs.EMPTY_MASK, str(exc))
    return curve
