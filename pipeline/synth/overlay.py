"""Burned-in scanner graphics: settings text, grey scale bar, depth dots, probe icon.

Placed as on the reference frame (text top-left and heart rate bottom-right, grey bar at the
right). Scanner settings only: frames never carry patient data.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pipeline.synth.scanner import Scanner

WHITE = 255
GREY_BAR = (0.94, 0.16, 0.017, 0.27)  # left x, top y, width, height as fractions of the frame
MARKER_BLUE = (52, 72, 150)
ECG_GREEN = (60, 220, 60)


def _text_block(draw: ImageDraw.ImageDraw, scanner: Scanner, fill: int | tuple) -> None:
    """Settings at the top-left and the heart rate at the bottom-right."""
    s = scanner.scale
    font = ImageFont.load_default(size=max(9, round(14 * s)))
    lines = (
        f"{scanner.frame_rate_hz}Hz",
        f"{scanner.depth_cm}cm",
        "",
        "2D",
        f" {scanner.gain_percent}%",
        "C 50",
        "P Low",
        " HPen",
    )
    x, y = 10 * s, 60 * s
    for line in lines:
        draw.text((x, y), line, fill=fill, font=font)
        y += 15.5 * s
    underline_y = 60 * s + 3 * 15.5 * s + 14 * s
    draw.line([(x, underline_y), (x + 19 * s, underline_y)], fill=fill, width=max(1, round(s)))
    draw.text((scanner.width - 10 * s, 59 * s), "M3", fill=fill, font=font, anchor="ra")
    draw.text(
        (scanner.width - 10 * s, scanner.height - 20 * s),
        f"{scanner.heart_rate_bpm} bpm",
        fill=fill,
        font=font,
        anchor="rs",
    )


def _depth_dots(draw: ImageDraw.ImageDraw, scanner: Scanner, fill: int | tuple) -> None:
    """One white dot per centimetre just outside the right edge of the fan."""
    s = scanner.scale
    step = scanner.radius / scanner.depth_cm
    edge = scanner.half_angle + math.radians(3.0)
    radius = 1.6 * s
    for k in range(1, scanner.depth_cm + 1):
        x = scanner.apex_x + k * step * math.sin(edge)
        y = scanner.apex_y + k * step * math.cos(edge)
        r = radius * (2.0 if k % 5 == 0 else 1.0)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=fill)


def _probe_icon(draw: ImageDraw.ImageDraw, scanner: Scanner, fill: int | tuple) -> None:
    """The small half-circle probe icon near the top-left."""
    s = scanner.scale
    box = [153 * s, 28 * s, 218 * s, 92 * s]
    draw.arc(box, 0, 180, fill=fill, width=max(1, round(s)))
    draw.line([(153 * s, 60 * s), (218 * s, 60 * s)], fill=fill, width=max(1, round(s)))


def _grey_bar(pixels: np.ndarray, scanner: Scanner) -> None:
    """A vertical grey ramp (white at the top) at the right of the frame, in place."""
    w, h = scanner.width, scanner.height
    left, top = round(GREY_BAR[0] * w), round(GREY_BAR[1] * h)
    width, height = max(4, round(GREY_BAR[2] * w)), round(GREY_BAR[3] * h)
    ramp = np.linspace(255, 0, height).astype(np.uint8)
    pixels[top : top + height, left : left + width] = ramp[:, None]


def _colour_marks(draw: ImageDraw.ImageDraw, scanner: Scanner) -> None:
    """Colour-only graphics of RGB frames: the blue orientation marker and an ECG tick."""
    s = scanner.scale
    cx, cy, r = scanner.apex_x + 58 * s, scanner.apex_y + 16 * s, 11 * s
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=MARKER_BLUE)
    font = ImageFont.load_default(size=max(8, round(12 * s)))
    draw.text((cx, cy), "P", fill=(220, 220, 235), font=font, anchor="mm")
    draw.line([(52 * s, 543 * s), (49 * s, 578 * s)], fill=ECG_GREEN, width=max(1, round(s)))


def finish_frame(grey: Image.Image, scanner: Scanner) -> Image.Image:
    """The rendered fan with the scanner graphics burned in, in the scanner's colour mode."""
    pixels = np.asarray(grey).copy()
    _grey_bar(pixels, scanner)
    image = Image.fromarray(pixels, "L").convert(scanner.mode)
    draw = ImageDraw.Draw(image)
    fill = (WHITE,) * 3 if scanner.mode == "RGB" else WHITE
    _text_block(draw, scanner, fill)
    _depth_dots(draw, scanner, fill)
    _probe_icon(draw, scanner, fill)
    if scanner.mode == "RGB":
        _colour_marks(draw, scanner)
    return image
