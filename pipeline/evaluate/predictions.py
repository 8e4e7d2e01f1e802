"""A model's predictions, in any of the three formats, as one mask (and maybe a curve) per image.

`open_predictions` recognises the format:

- a folder holding `<image_id>.png` masks (what `nnUNetv2_predict` writes: the release's
  nnU-Net case id is the image_id) -> `pipeline.evaluate.mask_folder`;
- a COCO results JSON, a list of `{image_id, category_id, segmentation, score}` ->
  `pipeline.evaluate.coco_results`;
- a curves JSON in the source's layout, `{image file name: [[x...], [y...]]}` ->
  `pipeline.evaluate.curves_file`.

A folder holding no PNG but exactly one JSON file (nnU-Net's own side files aside) stands for
that file, so `data/predictions/<name>/` may hold any of the three.

Predictions are untrusted: anything wrong with one entry is a `PredictionReject` naming the
entry, the check and why, never an exception; only a submission that cannot be read at all
(no such path, not one of the formats, a JSON file that does not parse) is an EvaluationError.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import shapely

from pipeline.errors import EvaluationError
from pipeline.evaluate.names import ScoredAs
from pipeline.evaluate.release_data import ReleaseImage

# Files nnUNetv2_predict writes beside its masks: not predictions, and not rejects.
NNUNET_SIDE_FILES = frozenset({"dataset.json", "plans.json", "predict_from_raw_data_args.json"})
# A prediction file (mask PNG) or a predictions JSON far above any real one is refused unread:
# a mask PNG is ~5 KB, a COCO results file for 20,000 images ~20 MB.
MAX_MASK_FILE_BYTES = 64 * 1024**2
MAX_JSON_FILE_BYTES = 1024**3
MAX_NAME_CHARS = 200
FORMAT_SNIFF_BYTES = 1024**2


@dataclass(frozen=True)
class Prediction:
    """One image's prediction: a full-frame 0/1 mask, and what it was drawn from, if anything:
    an open LV curve (curves JSON) or a polygonal region (COCO polygons)."""

    mask: np.ndarray
    curve: np.ndarray | None = None
    region: shapely.Geometry | None = None


@dataclass(frozen=True)
class PredictionReject:
    """An entry of the submission that cannot be used, or a release image with no entry."""

    entry: str
    image_id: str | None
    check: str
    scored_as: ScoredAs
    message: str

    def row(self) -> dict:
        return {
            "entry": self.entry,
            "image_id": self.image_id,
            "check": self.check,
            "scored_as": str(self.scored_as),
            "message": self.message,
        }


class PredictionProblem(ValueError):
    """Why one entry cannot be used; `check` names the failed check."""

    def __init__(self, check: str, message: str):
        self.check = check
        super().__init__(message)

    def reject(self, entry: str, image_id: str | None, scored_as: ScoredAs) -> PredictionReject:
        return PredictionReject(entry, image_id, self.check, scored_as, str(self))


class Predictions(Protocol):
    """A submission read as predictions per release image."""

    format: str  # masks, coco or curves
    unmatched: list[PredictionReject]  # entries that name no release image, or repeat one

    def for_image(self, image: ReleaseImage) -> Prediction | PredictionReject | None:
        """The image's prediction, why it was rejected, or None when there is none."""
        ...


def shown_name(name: str) -> str:
    """A file or record name as text fit for a table: lone surrogates (undecodable file-name
    bytes, JSON escapes) shown as backslash escapes, long names shortened."""
    text = name.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= MAX_NAME_CHARS else text[:MAX_NAME_CHARS] + "…"


def open_predictions(path: Path, images: list[ReleaseImage]) -> Predictions:
    """The submission at `path` (a mask folder or a JSON file), matched to the release images."""
    from pipeline.evaluate.coco_results import CocoResults
    from pipeline.evaluate.curves_file import CurvesFile
    from pipeline.evaluate.mask_folder import MaskFolder

    if path.is_dir():
        names = _folder_names(path)
        if any(name.lower().endswith(".png") for name in names):
            return MaskFolder(path, names, images)
        documents = [n for n in names if n.endswith(".json") and n not in NNUNET_SIDE_FILES]
        if len(documents) != 1:
            raise EvaluationError(
                "holds no <image_id>.png masks, nor exactly one predictions JSON file",
                file=str(path),
            )
        path = path / documents[0]
    if not path.is_file():
        raise EvaluationError("no such predictions file or folder", file=str(path))
    first = _first_byte(path)
    if first == b"[":
        return CocoResults(path, images)
    if first == b"{":
        return CurvesFile(path, images)
    raise EvaluationError(
        "is neither a COCO results list [...] nor a curves object {...} in JSON", file=str(path)
    )


def _folder_names(folder: Path) -> list[str]:
    try:
        return sorted(entry.name for entry in folder.iterdir())
    except OSError as exc:
        raise EvaluationError(f"cannot be listed ({exc.strerror})", file=str(folder)) from None


def _first_byte(path: Path) -> bytes:
    """The first byte that is not JSON whitespace (a UTF-8 byte-order mark skipped)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(FORMAT_SNIFF_BYTES)
    except OSError as exc:
        raise EvaluationError(f"cannot be read ({exc.strerror})", file=str(path)) from None
    return head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")[:1]


def empty_mask(image: ReleaseImage) -> np.ndarray:
    """What an image without a usable prediction is scored as."""
    return np.zeros((image.height, image.width), dtype=np.uint8)
