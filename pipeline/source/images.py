"""Finding and inspecting the PNG frames under Images/, guarded against hostile files."""

from __future__ import annotations

import hashlib
import io
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline.constants import IMAGE_NAME_PATTERN, IMAGES_DIR, MAX_IMAGE_PIXELS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
Stamp = tuple[int, int]  # size, mtime_ns
UNKNOWN_STAMP: Stamp = (-1, -1)  # a file that could not be stat'ed
# What Pillow raises for a file that is not a whole, decodable PNG (bombs included).
PNG_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)


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
    """The file is not a usable PNG frame; `check` names the failed check, the message why."""

    def __init__(self, message: str, check: str = "png_invalid"):
        self.check = check
        super().__init__(message)

    def __reduce__(self):  # pickled whole, check included (it crosses processes)
        return (ImageProblem, (str(self), self.check))


def file_stamp(path: Path) -> Stamp:
    """Size and mtime_ns of a file (of what a link points to, else of the link);
    UNKNOWN_STAMP when neither can be read: the stamp that scans and memos trust."""
    for look in (os.stat, os.lstat):
        try:
            info = look(path)
        except OSError:
            continue
        return info.st_size, info.st_mtime_ns
    return UNKNOWN_STAMP


def parse_image_name(name: str) -> ImageName | None:
    """Split a published file name, or None when it does not follow the pattern."""
    match = IMAGE_NAME_PATTERN.fullmatch(name)
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
    """Decode the whole PNG (refusing non-PNGs, truncation, decompression bombs and modes
    `to_grey8` cannot convert)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ImageProblem(
            f"cannot be read ({type(exc).__name__}: {reason})", "image_unreadable"
        ) from None
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
    except PNG_DECODE_ERRORS as exc:
        raise ImageProblem(f"does not decode fully as PNG ({_stable(exc)})") from None
    if mode not in GREY_CONVERSIONS:
        raise _mode_problem(mode)
    return ImageFacts(width, height, mode, hashlib.sha256(data).hexdigest())


UNEXPECTED_ERROR = "unexpected_error"


def decode_png(path: Path) -> ImageFacts | ImageProblem:
    """`inspect_png`, its refusal returned rather than raised (it crosses processes); a fault
    nobody foresaw comes back as a problem of check `unexpected_error`, so one hostile file
    quarantines its record, never the run."""
    try:
        return inspect_png(path)
    except ImageProblem as exc:
        return exc
    except Exception as exc:
        return ImageProblem(f"{type(exc).__name__}: {exc}", UNEXPECTED_ERROR)


# ITU-R 601-2 luma in Pillow's own fixed point, so an RGB frame comes out exactly as Pillow's
# convert("L") gives it: L = (19595 R + 38470 G + 7471 B + 2**15) >> 16.
LUMA_WEIGHTS = np.array([19595, 38470, 7471], dtype=np.uint32)


def _luma(rgb: np.ndarray) -> np.ndarray:
    return ((rgb.astype(np.uint32) @ LUMA_WEIGHTS + 0x8000) >> 16).astype(np.uint8)


def _over_black(grey: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Grey composited over black: round(grey * alpha / 255), exact (255 is odd: no ties).

    Over black, so that nothing an image hides under transparency shows in a release.
    """
    return ((grey.astype(np.uint32) * alpha + 127) // 255).astype(np.uint8)


def _stretch(values: np.ndarray) -> np.ndarray:
    """The image's own min..max mapped to 0..255, rounded half up in integers; flat -> 0."""
    wide = values.astype(np.int64)
    low, span = wide.min(), wide.max() - wide.min()
    if span == 0:
        return np.zeros(wide.shape, np.uint8)
    return (((wide - low) * 510 + span) // (2 * span)).astype(np.uint8)


def _palette_grey(image: Image.Image) -> np.ndarray:
    colours = np.zeros((256, 3), np.uint8)
    palette = np.asarray(image.getpalette("RGB") or [], np.uint8).reshape(-1, 3)[:256]
    colours[: len(palette)] = palette
    alpha = np.full(256, 255, np.uint8)
    transparency = image.info.get("transparency")
    if isinstance(transparency, bytes):  # tRNS: one alpha per palette entry
        alpha[: len(transparency)] = np.frombuffer(transparency, np.uint8)[:256]
    elif isinstance(transparency, int):
        alpha[transparency] = 0
    return _over_black(_luma(colours), alpha)[np.asarray(image)]


def _with_alpha(grey_of, pixels: np.ndarray) -> np.ndarray:
    return _over_black(grey_of(pixels[..., :-1]), pixels[..., -1])


# Pixel mode -> the frame as 8-bit grey. These are all the modes Pillow opens a PNG as.
# A colour-key transparency (tRNS on an L or RGB frame) is ignored.
GREY_CONVERSIONS = {
    "L": np.asarray,
    "1": lambda image: np.asarray(image).astype(np.uint8) * np.uint8(255),
    "LA": lambda image: _with_alpha(lambda g: g[..., 0], np.asarray(image)),
    "P": _palette_grey,
    "RGB": lambda image: _luma(np.asarray(image)),
    "RGBA": lambda image: _with_alpha(_luma, np.asarray(image)),
    "I;16": lambda image: _stretch(np.asarray(image)),
    "I;16B": lambda image: _stretch(np.asarray(image)),
    "I;16L": lambda image: _stretch(np.asarray(image)),
    "I": lambda image: _stretch(np.asarray(image)),
}


def to_grey8(image: Image.Image) -> np.ndarray:
    """The frame as a (height, width) uint8 grey array; every conversion to grey goes here.

    8-bit grey is kept; colour is ITU-R 601-2 luma; alpha (and palette transparency) is
    composited over black; 16- and 32-bit grey is stretched from its own min..max to 0..255.
    """
    convert = GREY_CONVERSIONS.get(image.mode)
    if convert is None:
        raise _mode_problem(image.mode)
    return np.ascontiguousarray(convert(image), dtype=np.uint8)


def _mode_problem(mode: str) -> ImageProblem:
    supported = ", ".join(GREY_CONVERSIONS)
    return ImageProblem(f"has pixel mode {mode}, not one of {supported}", "png_mode")


# Pillow names the in-memory file it read by its address ("<_io.BytesIO object at 0x7f...>"),
# which differs from run to run; a reject message must not.
_OBJECT_REPR = re.compile(r"<[^<>]* at 0x[0-9a-fA-F]+>")


def _stable(exc: Exception) -> str:
    """An exception's message with object addresses taken out (same input, same message)."""
    return _OBJECT_REPR.sub("the file's bytes", str(exc))
