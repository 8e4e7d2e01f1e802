"""One overlay per image: the frame with every expert's curve, the consensus on top, and a legend.

Each expert's curve is drawn as traced (open, hinge to hinge) in its fixed colour
(`pipeline.review.palette`); a flagged curve (low agreement, self-intersecting, EF outlier) is
drawn thicker over a magenta halo, after the others. The default consensus is drawn last as its
cavity polygon (closed along the mitral plane), white over a black casing; its hinges (the ends
of the mitral plane) are marked with squares and its apex with a ring, joined to the mitral
plane's midpoint by the dashed long axis. A legend strip to the right of the frame names every
expert of the release (the same on every image), marks the flagged ones and lists the curves
quarantined at validation. Pixels of the frame keep their coordinates: overlay pixel (x, y) is
frame pixel (x, y).

JPEG at a fixed quality without chroma subsampling (thin coloured lines keep their colour), no
EXIF, no timestamp: the same inputs give the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pipeline.errors import ReleaseError, writing
from pipeline.measurements.lv import long_axis
from pipeline.review.palette import CASING_COLOUR, CONSENSUS_COLOUR, FLAG_COLOUR, rgb

OVERLAY_EXTENSION = "jpg"
JPEG_QUALITY = 75
LEGEND_WIDTH = 180  # pixels at a 600-pixel-high frame; scaled with the frame
REFERENCE_HEIGHT = 600
DASH, GAP = 6.0, 5.0  # the long axis, pixels at the reference height


@dataclass(frozen=True)
class ExpertCurve:
    """One expert's curve on the image, as traced, and what it is flagged for."""

    expert_id: str
    curve: np.ndarray  # (N, 2) x, y in frame pixels
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class OverlayInput:
    """Everything one overlay needs (small: the curves, not the frame's pixels)."""

    image_id: str
    frame: Path
    target: Path
    experts: tuple[ExpertCurve, ...]
    consensus: np.ndarray | None  # the default consensus curve, open, septal hinge first
    legend: tuple[tuple[str, str], ...]  # (expert_id, #colour) of every expert of the release
    rejected: tuple[str, ...] = field(default=())  # labels of curves quarantined on this image


class _Pen:
    """Line widths and sizes scaled to the frame's height."""

    def __init__(self, height: int):
        self.scale = max(height / REFERENCE_HEIGHT, 0.5)

    def px(self, value: float) -> int:
        return max(1, round(value * self.scale))


def overlay_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) of the overlay of a `width` x `height` frame: the frame and its legend."""
    return width + _Pen(height).px(LEGEND_WIDTH), height


def write_overlay(item: OverlayInput) -> int:
    """Render one overlay to `item.target`; its size in bytes. Module-level: runs in workers."""
    data = overlay_jpeg(render_overlay(item))
    with writing(item.target):
        item.target.parent.mkdir(parents=True, exist_ok=True)
        item.target.write_bytes(data)
    return len(data)


def overlay_jpeg(image: Image.Image) -> bytes:
    """The overlay's JPEG bytes: fixed quality, 4:4:4, no metadata."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, subsampling=0, optimize=True)
    return buffer.getvalue()


def render_overlay(item: OverlayInput) -> Image.Image:
    """The overlay of one image as an RGB image (frame, curves, consensus, legend)."""
    frame = _read_frame(item.frame)
    pen = _Pen(frame.height)
    canvas = Image.new("RGB", overlay_size(frame.width, frame.height), "black")
    canvas.paste(frame, (0, 0))
    draw = ImageDraw.Draw(canvas)
    colours = dict(item.legend)
    ordered = sorted(item.experts, key=lambda e: (bool(e.flags), e.expert_id))
    for expert in ordered:
        _expert_curve(draw, pen, expert, colours.get(expert.expert_id, CONSENSUS_COLOUR))
    if item.consensus is not None and len(item.consensus) >= 2:
        _consensus(draw, pen, item.consensus)
    flagged = {e.expert_id: e.flags for e in item.experts if e.flags}
    _legend(draw, pen, frame.width, item, flagged)
    return canvas


def _read_frame(path: Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ReleaseError(
            f"cannot read the frame for its overlay ({exc})", file=str(path)
        ) from None


def _points(curve: np.ndarray) -> list[float]:
    return np.asarray(curve, dtype=np.float64).ravel().tolist()


def _expert_curve(draw: ImageDraw.ImageDraw, pen: _Pen, expert: ExpertCurve, colour: str) -> None:
    points = _points(expert.curve)
    if expert.flags:
        draw.line(points, fill=rgb(FLAG_COLOUR), width=pen.px(10), joint="curve")
        draw.line(points, fill=rgb(colour), width=pen.px(4), joint="curve")
    else:
        draw.line(points, fill=rgb(colour), width=pen.px(2), joint="curve")


def _consensus(draw: ImageDraw.ImageDraw, pen: _Pen, curve: np.ndarray) -> None:
    closed = _points(np.vstack([curve, curve[:1]]))
    draw.line(closed, fill=rgb(CASING_COLOUR), width=pen.px(5), joint="curve")
    draw.line(closed, fill=rgb(CONSENSUS_COLOUR), width=pen.px(3), joint="curve")
    axis = long_axis(curve)
    for start, end in _dashes(axis.base_mid, axis.apex, DASH * pen.scale, GAP * pen.scale):
        draw.line([*start, *end], fill=rgb(CONSENSUS_COLOUR), width=pen.px(1))
    half = pen.px(4)
    for hinge in (curve[0], curve[-1]):  # the ends of the mitral plane
        x, y = hinge
        draw.rectangle(
            [x - half, y - half, x + half, y + half],
            fill=rgb(CONSENSUS_COLOUR),
            outline=rgb(CASING_COLOUR),
        )
    r = pen.px(6)
    x, y = axis.apex
    draw.ellipse([x - r, y - r, x + r, y + r], outline=rgb(CASING_COLOUR), width=pen.px(4))
    draw.ellipse([x - r, y - r, x + r, y + r], outline=rgb(CONSENSUS_COLOUR), width=pen.px(2))


def _dashes(
    start: np.ndarray, end: np.ndarray, dash: float, gap: float
) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """(from, to) of the dashes of a dashed straight line."""
    length = float(np.hypot(*(end - start)))
    if length == 0.0:
        return []
    direction = (end - start) / length
    offsets = np.arange(0.0, length, dash + gap)
    heads = start + offsets[:, None] * direction
    tails = start + np.minimum(offsets + dash, length)[:, None] * direction
    return [(tuple(h), tuple(t)) for h, t in zip(heads.tolist(), tails.tolist(), strict=True)]


def _legend(
    draw: ImageDraw.ImageDraw,
    pen: _Pen,
    left: int,
    item: OverlayInput,
    flagged: dict[str, tuple[str, ...]],
) -> None:
    font = ImageFont.load_default(size=pen.px(13))
    small = ImageFont.load_default(size=pen.px(11))
    line = pen.px(17)
    x, y = left + pen.px(10), pen.px(10)
    swatch = pen.px(22)
    white = rgb(CONSENSUS_COLOUR)
    draw.text((x, y), "experts", fill=white, font=font)
    y += line
    for expert_id, colour in item.legend:
        mid = y + line // 2
        if expert_id in flagged:
            draw.line([x, mid, x + swatch, mid], fill=rgb(FLAG_COLOUR), width=pen.px(10))
        draw.line([x, mid, x + swatch, mid], fill=rgb(colour), width=pen.px(4))
        label = (
            f"{expert_id} ! {', '.join(flagged[expert_id])}" if expert_id in flagged else expert_id
        )
        draw.text((x + swatch + pen.px(6), mid), label, fill=white, font=small, anchor="lm")
        y += line
    y += line // 2
    mid = y + line // 2
    draw.line([x, mid, x + swatch, mid], fill=rgb(CASING_COLOUR), width=pen.px(5))
    draw.line([x, mid, x + swatch, mid], fill=white, width=pen.px(3))
    draw.text((x + swatch + pen.px(6), mid), "consensus", fill=white, font=small, anchor="lm")
    y += line
    _legend_markers(draw, pen, x, y, line, small)
    y += 2 * line
    for label in _wrapped_rejections(item.rejected):
        draw.text((x, y), label, fill=rgb(FLAG_COLOUR), font=small)
        y += line


def _legend_markers(
    draw: ImageDraw.ImageDraw, pen: _Pen, x: int, y: int, line: int, font: ImageFont.FreeTypeFont
) -> None:
    white, black = rgb(CONSENSUS_COLOUR), rgb(CASING_COLOUR)
    half, r, text_x = pen.px(4), pen.px(6), x + pen.px(28)
    mid = y + line // 2
    centre = x + pen.px(11)
    draw.rectangle(
        [centre - half, mid - half, centre + half, mid + half], fill=white, outline=black
    )
    draw.text((text_x, mid), "mitral plane end", fill=white, font=font, anchor="lm")
    mid += line
    draw.ellipse([centre - r, mid - r, centre + r, mid + r], outline=white, width=pen.px(2))
    draw.text((text_x, mid), "apex", fill=white, font=font, anchor="lm")


MAX_REJECTED_SHOWN = 6


def _wrapped_rejections(rejected: Sequence[str]) -> list[str]:
    if not rejected:
        return []
    lines = ["rejected curves:"] + [f" {label[:18]}" for label in rejected[:MAX_REJECTED_SHOWN]]
    if len(rejected) > MAX_REJECTED_SHOWN:
        lines.append(f" +{len(rejected) - MAX_REJECTED_SHOWN} more")
    return lines
