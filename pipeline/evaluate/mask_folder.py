"""A folder of predicted masks, `<image_id>.png` each (nnUNetv2_predict's output folder).

A mask is used when it is a regular file, a PNG that decodes, single-channel (modes 1, L, P or
16-bit grey), the size of its image, and holds only 0, 1 and 255 (nonzero is the left
ventricle). Anything else is a reject: an entry for a release image makes that image scored
as an empty mask; an entry that names no release image is not scored.
"""

from __future__ import annotations

import io
import os
import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline.evaluate.names import ScoredAs
from pipeline.evaluate.predictions import (
    MAX_MASK_FILE_BYTES,
    NNUNET_SIDE_FILES,
    Prediction,
    PredictionProblem,
    PredictionReject,
    shown_name,
)
from pipeline.evaluate.release_data import ReleaseImage
from pipeline.source.images import PNG_DECODE_ERRORS, PNG_SIGNATURE

SUFFIX = ".png"
# Pillow modes with one band of integer labels.
SINGLE_CHANNEL_MODES = frozenset({"1", "L", "P", "I", "I;16", "I;16B", "I;16L"})
ALLOWED_VALUES = (0, 1, 255)
SHOWN_VALUES = 5


class MaskFolder:
    """The masks of a folder, matched to the release's images by file name."""

    format = "masks"

    def __init__(self, folder: Path, names: list[str], images: list[ReleaseImage]):
        known = {image.image_id for image in images}
        self.files: dict[str, Path] = {}
        self.unmatched: list[PredictionReject] = []
        for name in names:
            if name in NNUNET_SIDE_FILES:
                continue
            entry = shown_name(name)
            image_id = name[: -len(SUFFIX)] if name.endswith(SUFFIX) else None
            if image_id is None:
                problem = PredictionProblem("not_png", f"is not a mask: the name must end {SUFFIX}")
            elif image_id not in known:
                problem = PredictionProblem(
                    "unknown_image", "names no image of the release (<image_id>.png)"
                )
            else:
                self.files[image_id] = folder / name
                continue
            self.unmatched.append(problem.reject(entry, None, ScoredAs.NOT_SCORED))

    def for_image(self, image: ReleaseImage) -> Prediction | PredictionReject | None:
        path = self.files.get(image.image_id)
        if path is None:
            return None
        try:
            return Prediction(read_prediction_png(path, image.width, image.height))
        except PredictionProblem as problem:
            return problem.reject(shown_name(path.name), image.image_id, ScoredAs.EMPTY_MASK)


def read_prediction_png(path: Path, width: int, height: int) -> np.ndarray:
    """The (height, width) 0/1 mask in a predicted PNG, or PredictionProblem saying why not."""
    data = _read_regular(path)
    if not data.startswith(PNG_SIGNATURE):
        raise PredictionProblem("not_png", "is not a PNG file (bad signature)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["PNG"]) as png:
                if png.size != (width, height):
                    raise PredictionProblem(
                        "wrong_size",
                        f"is {png.size[0]}x{png.size[1]}, its image is {width}x{height}",
                    )
                if png.mode not in SINGLE_CHANNEL_MODES:
                    raise PredictionProblem(
                        "not_single_channel",
                        f"has mode {png.mode} ({len(png.getbands())} channels), not one channel",
                    )
                values = np.asarray(png)
    except PredictionProblem:
        raise
    except PNG_DECODE_ERRORS as exc:
        raise PredictionProblem(
            "unreadable", f"does not decode as a PNG ({type(exc).__name__})"
        ) from None
    return _binary(values)


def _read_regular(path: Path) -> bytes:
    """The bytes of a regular file (a link, folder or FIFO is refused unread)."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise PredictionProblem("unreadable", f"cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a link" if stat.S_ISLNK(info.st_mode) else "not a regular file"
        raise PredictionProblem("not_a_file", f"is {kind}, not a mask file")
    if info.st_size > MAX_MASK_FILE_BYTES:
        raise PredictionProblem("unreadable", f"is {info.st_size} bytes: too big for a mask")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PredictionProblem("unreadable", f"cannot be read ({exc.strerror})") from None


def _binary(values: np.ndarray) -> np.ndarray:
    """0/1 uint8 from labels 0, 1 and 255; PredictionProblem naming any other value."""
    if values.dtype == bool:
        return values.astype(np.uint8)
    if values.dtype == np.uint8:
        present = np.flatnonzero(np.bincount(values.ravel(), minlength=256))
    else:
        present = np.unique(values)
    other = np.setdiff1d(present, ALLOWED_VALUES)
    if other.size:
        shown = ", ".join(str(v) for v in other[:SHOWN_VALUES].tolist())
        more = f" and {other.size - SHOWN_VALUES} more" if other.size > SHOWN_VALUES else ""
        raise PredictionProblem(
            "bad_values", f"holds values other than 0, 1 and 255: {shown}{more}"
        )
    return (values != 0).astype(np.uint8)
