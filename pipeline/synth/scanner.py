"""The scanner side of a study: frame size and colour mode, sector geometry, displayed settings.

Calibrated on the reference 800x600 frame: sector apex near (400, 62), ~78 degree opening,
radius ~495 px; other sizes are scaled by frame height.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pipeline.synth import seeds

REFERENCE_HEIGHT = 600
# (width, height, probability): 800x600 dominates, as in the release.
FRAME_SIZES = (
    (800, 600, 0.70),
    (1016, 708, 0.08),
    (640, 480, 0.08),
    (1024, 768, 0.08),
    (720, 540, 0.06),
)
RGB_PROBABILITY = 0.75


@dataclass(frozen=True)
class Scanner:
    """Frame size and mode, sector fan geometry and the settings burned into the frame."""

    width: int
    height: int
    mode: str  # "RGB" or "L"
    apex_x: float
    apex_y: float
    radius: float
    half_angle: float  # radians, either side of straight down
    frame_rate_hz: int
    depth_cm: int
    gain_percent: int
    heart_rate_bpm: int

    @property
    def scale(self) -> float:
        """Pixel scale relative to the 600-px-high reference frame."""
        return self.height / REFERENCE_HEIGHT


def draw_scanner(seed: int, index: int) -> Scanner:
    """The scanner set-up of study `index` (shared by its ED and ES frames)."""
    rng = seeds.stream(seed, seeds.STUDY_SCANNER, index)
    size = int(rng.choice(len(FRAME_SIZES), p=[p for *_, p in FRAME_SIZES]))
    width, height, _ = FRAME_SIZES[size]
    mode = "RGB" if rng.random() < RGB_PROBABILITY else "L"
    scale = height / REFERENCE_HEIGHT
    apex_y = (62.0 + rng.uniform(-3.0, 3.0)) * scale
    radius = min(495.0 * scale * rng.uniform(0.97, 1.01), height - apex_y - 8.0 * scale)
    return Scanner(
        width=width,
        height=height,
        mode=mode,
        apex_x=width / 2.0 + rng.uniform(-2.0, 2.0),
        apex_y=apex_y,
        radius=radius,
        half_angle=math.radians(rng.uniform(37.5, 40.0)),
        frame_rate_hz=int(rng.integers(42, 78)),
        depth_cm=int(rng.integers(15, 21)),
        gain_percent=int(rng.integers(45, 75)),
        heart_rate_bpm=int(rng.integers(48, 105)),
    )
