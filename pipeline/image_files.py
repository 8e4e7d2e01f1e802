"""Finding and inspecting the PNG frames under Images/, guarded against hostile files."""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from pipeline.constants import IMAGE_NAME_PATTERN, IMAGES_DIR, MAX_IMAGE_PIXELS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class ImageName:
    """The parts of a published image file name."""

    file_name: str
    site: str
    study_hash: str
    frame: int

    @property
    def image_id(self) -> str:
        return self.file_name.removesuffix(".png")

    @property
    def study_id(self) -> str:
        return f"{self.site}-{self.study_hash}"


@dataclass(frozen=True)
class ImageFacts:
    """What a fully decoded PNG is."""

    width: int
    height: int
    mode: str
    sha256: str


class ImageProblem(ValueError):
    """The file is not a usable PNG frame (the message says why)."""


def parse_image_name(name: str) -> ImageName | None:
    """Split a published file name, or None when it does not follow the pattern."""
    match = IMAGE_NAME_PATTERN.match(name)
    if match is None:
        return None
    return ImageName(name, match["site"], match["hash"], int(match["frame"]))


def unsafe_name_reason(name: str) -> str | None:
    """Why a name could leave Images/ (a path, not a file name), or None when it cannot."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "is an absolute path"
    if "/" in name or "\\" in name or name in (".", ".."):
        return "is a path, not a file name inside Images/"
    if "\x00" in name:
        return "contains a NUL character"
    return None


def list_image_files(root: Path) -> tuple[dict[str, Path], dict[str, str]]:
    """PNG-named files in Images/ (name -> path) and the entries refused (name -> reason)."""
    found, refused = {}, {}
    images_dir = root / IMAGES_DIR
    with os.scandir(images_dir) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            path = Path(entry.path)
            if entry.is_symlink() and root not in path.resolve().parents:
                refused[entry.name] = "is a link to a file outside the source folder"
            elif not entry.is_file():
                refused[entry.name] = "is not a regular file"
            else:
                found[entry.name] = path
    return found, refused


def inspect_png(path: Path) -> ImageFacts:
    """Decode the whole PNG (refusing non-PNGs, truncation and decompression bombs)."""
    data = path.read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        raise ImageProblem("is not a PNG file (bad signature)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise ImageProblem(
                        f"is {width}x{height}, over the {MAX_IMAGE_PIXELS}-pixel limit "
                        "(possible decompression bomb)"
                    )
                image.load()
                mode = image.mode
    except ImageProblem:
        raise
    except (
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise ImageProblem(f"does not decode fully as PNG ({exc})") from None
    return ImageFacts(width, height, mode, hashlib.sha256(data).hexdigest())
