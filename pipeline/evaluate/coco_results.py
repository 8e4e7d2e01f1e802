"""A COCO results file: `[{image_id, category_id, segmentation, score}, ...]`.

Image ids are the release's COCO ids, as in `coco/consensus.json`: 1, 2, ... in image_id order
(`pipeline.exports.payload_tables.ImageIds`). Category 1 is the left ventricle; an image with
several annotations is scored on its highest-scoring one (the first of equal scores), the
others are listed as not scored. Segmentations are decoded only for the annotation used.
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any

from pipeline.errors import EvaluationError
from pipeline.evaluate.coco_masks import segmentation_prediction
from pipeline.evaluate.names import ScoredAs
from pipeline.evaluate.predictions import (
    MAX_JSON_FILE_BYTES,
    Prediction,
    PredictionProblem,
    PredictionReject,
)
from pipeline.evaluate.release_data import ReleaseImage
from pipeline.exports.coco import CATEGORY


class CocoResults:
    """The annotations of a results file, the one used per release image."""

    format = "coco"

    def __init__(self, path: Path, images: list[ReleaseImage]):
        coco_ids = {n: image for n, image in enumerate(sorted(images, key=_image_id), start=1)}
        self.unmatched: list[PredictionReject] = []
        self.used: dict[str, tuple[str, Any]] = {}  # image_id -> (entry, segmentation)
        best: dict[str, tuple[float, str]] = {}  # image_id -> (score, entry) used so far
        for n, annotation in enumerate(_load(path), start=1):
            entry = f"annotation {n}"
            try:
                image, score = _match(annotation, coco_ids)
            except PredictionProblem as problem:
                self.unmatched.append(problem.reject(entry, None, ScoredAs.NOT_SCORED))
                continue
            previous = best.get(image.image_id)
            if previous is not None and previous[0] >= score:
                self.unmatched.append(_not_used(entry, image.image_id, previous[1]))
                continue
            if previous is not None:
                self.unmatched.append(_not_used(previous[1], image.image_id, entry))
            best[image.image_id] = (score, entry)
            self.used[image.image_id] = (entry, annotation.get("segmentation"))

    def for_image(self, image: ReleaseImage) -> Prediction | PredictionReject | None:
        if image.image_id not in self.used:
            return None
        entry, segmentation = self.used[image.image_id]
        try:
            return segmentation_prediction(segmentation, image.width, image.height)
        except PredictionProblem as problem:
            return problem.reject(entry, image.image_id, ScoredAs.EMPTY_MASK)


def _not_used(entry: str, image_id: str, used: str) -> PredictionReject:
    return PredictionReject(
        entry,
        image_id,
        "duplicate_image",
        ScoredAs.NOT_SCORED,
        f"the image is scored on {used}, which scores higher (or as high and comes first)",
    )


def _image_id(image: ReleaseImage) -> str:
    return image.image_id


def _match(annotation: Any, coco_ids: dict[int, ReleaseImage]) -> tuple[ReleaseImage, float]:
    """The release image an annotation is for, and its score; PredictionProblem if unusable."""
    if not isinstance(annotation, dict):
        raise PredictionProblem("not_an_annotation", "is not a JSON object")
    coco_id = annotation.get("image_id")
    if type(coco_id) is not int or coco_id not in coco_ids:
        raise PredictionProblem(
            "unknown_image",
            f"image_id {str(coco_id)[:40]!r} is not a COCO image id of the release "
            f"(1..{len(coco_ids)}, as in coco/consensus.json)",
        )
    if annotation.get("category_id") != CATEGORY["id"]:
        raise PredictionProblem(
            "wrong_category",
            f"category_id is {str(annotation.get('category_id'))[:40]!r}, not "
            f"{CATEGORY['id']} ({CATEGORY['name']})",
        )
    score = annotation.get("score", 1.0)
    if type(score) not in (int, float) or not math.isfinite(score):
        raise PredictionProblem("bad_score", f"score {str(score)[:40]!r} is not a finite number")
    return coco_ids[coco_id], float(score)


def _load(path: Path) -> list:
    """The parsed file, checked to be a list; EvaluationError when it cannot be."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise EvaluationError("is not a regular file", file=str(path))
        if info.st_size > MAX_JSON_FILE_BYTES:
            raise EvaluationError(
                f"is {info.st_size} bytes, over the {MAX_JSON_FILE_BYTES}-byte limit",
                file=str(path),
            )
        data = path.read_bytes()
    except OSError as exc:
        raise EvaluationError(f"cannot be read ({exc.strerror})", file=str(path)) from None
    try:
        document = json.loads(data.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise EvaluationError(f"is not UTF-8 text (byte {exc.start})", file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise EvaluationError(
            f"JSON does not parse at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            file=str(path),
        ) from None
    except RecursionError:
        raise EvaluationError("JSON nests too deep to be COCO results", file=str(path)) from None
    if not isinstance(document, list):
        raise EvaluationError("is not a COCO results list [...]", file=str(path))
    return document
