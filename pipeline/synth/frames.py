"""The echo frame: a sector fan of speckle with a dark LV cavity inside bright walls.

Rendering is vectorised: an echogenicity map is drawn with Pillow (chambers, walls, valve),
blurred, multiplied by Rayleigh speckle looked up in polar (fan) coordinates, log-compressed
and cut to the sector; the scanner's burned-in text is added by `overlay`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from pipeline.synth.anatomy import LVShape
from pipeline.synth.curves import outward_normals
from pipeline.synth.scanner import Scanner

TISSUE, CHAMBER, CAVITY, WALL, LEAFLET, ANNULUS = 26, 5, 3, 175, 110, 210
CHAMBER_WALL, CHAMBER_WALL_PX = (
    105,
    14.0,
)  # other chambers' walls, reference px  # echogenicity, 0-255
WALL_PX = {"ED": 17.0, "ES": 22.0}  # myocardium thickness at reference scale
SPECKLE_RADIAL_PX = 3.0  # speckle grain along the beam, reference px
SPECKLE_LATERAL_PX = 6.0  # speckle grain across the beam (along the arc)
PATCHINESS = (0.6, 22.0)  # log-brightness spread of tissue patches, patch size (reference px)
FAR_FIELD_BAND = (0.22, 0.94, 0.05)  # bright far field: strength, depth and width (x radius)
NEAR_FIELD_HAZE = (0.25, 30.0)  # clutter at the transducer: strength, decay (reference px)
EDGE_FADE_RAD = 0.06  # the fan darkens over this angle at its sides
DEPTH_LOSS = 0.3  # fraction of brightness lost at full depth
DISPLAY_GAIN, DISPLAY_GAMMA = 1.6, 0.85


@dataclass(frozen=True)
class FanGrid:
    """Polar coordinates of every pixel about the sector apex, and the sector mask."""

    radius: np.ndarray  # (H, W) px from the apex
    angle: np.ndarray  # (H, W) radians from straight down, + to image right
    inside: np.ndarray  # (H, W) bool, inside the fan


def fan_grid(scanner: Scanner) -> FanGrid:
    """Per-pixel fan coordinates for this scanner's frame size and sector."""
    yy, xx = np.mgrid[0 : scanner.height, 0 : scanner.width].astype(np.float32)
    dx, dy = xx - np.float32(scanner.apex_x), yy - np.float32(scanner.apex_y)
    radius = np.hypot(dx, dy)
    angle = np.arctan2(dx, dy)
    inside = (radius <= scanner.radius) & (np.abs(angle) <= scanner.half_angle) & (dy > 0)
    return FanGrid(radius, angle, inside)


def _ellipse(
    center: np.ndarray,
    axis: np.ndarray,
    normal: np.ndarray,
    along: float,
    across: float,
    twist: float,
) -> list[tuple[float, float]]:
    """A slightly irregular ellipse outline oriented on the LV long axis (twist: its bumps)."""
    phi = np.linspace(0.0, 2 * np.pi, 48, endpoint=False)
    bumps = 1.0 + 0.06 * np.sin(2 * phi + twist) + 0.04 * np.sin(3 * phi)
    outline = center + bumps[:, None] * (
        along * np.cos(phi)[:, None] * axis + across * np.sin(phi)[:, None] * normal
    )
    return [tuple(p) for p in outline.tolist()]


def _draw_chambers(
    draw: ImageDraw.ImageDraw, lv: LVShape, scale: float, rng: np.random.Generator
) -> None:
    """The right ventricle and both atria as dark blobs around the LV (apical 4-chamber)."""
    b, a, n, length = lv.base_mid, lv.axis, lv.normal, lv.length
    chambers = (  # centre (along axis, across), semi-axes (along, across), in LV lengths
        ((0.42, -0.60), (0.38, 0.16)),  # right ventricle, septal side
        ((-0.30, -0.50), (0.24, 0.19)),  # right atrium
        ((-0.32, 0.06), (0.25, 0.22)),  # left atrium
    )
    wall = CHAMBER_WALL_PX * scale
    for (u, v), (along, across) in chambers:
        centre = b + length * (u * a + v * n)
        twist = rng.uniform(0.0, 2 * np.pi)
        for grow, fill in ((wall, CHAMBER_WALL), (0.0, CHAMBER)):  # wall first, then inside
            size = (along * length + grow, across * length + grow)
            draw.polygon(_ellipse(centre, a, n, *size, twist), fill=fill)


def _draw_left_ventricle(draw: ImageDraw.ImageDraw, lv: LVShape, phase: str, scale: float) -> None:
    """Bright myocardium round the dark cavity, bright annulus, the mitral leaflets."""
    wall = lv.curve + WALL_PX[phase] * scale * outward_normals(lv.curve)
    draw.polygon([tuple(p) for p in wall.tolist()], fill=WALL)
    draw.polygon([tuple(p) for p in lv.curve.tolist()], fill=CAVITY)
    septal, lateral = lv.curve[0], lv.curve[-1]
    # Leaflets point into the LV as the valve closes at ED; closed, bowing back, at ES.
    tip_depth = 0.10 if phase == "ED" else -0.03
    tip = lv.base_mid + tip_depth * lv.length * lv.axis
    for hinge, side in ((septal, -0.05), (lateral, 0.05)):
        end = tip + side * lv.length * lv.normal
        draw.line([tuple(hinge), tuple(end)], fill=LEAFLET, width=max(2, round(3 * scale)))
        r = 7 * scale
        draw.ellipse([hinge[0] - r, hinge[1] - r, hinge[0] + r, hinge[1] + r], fill=ANNULUS)


def echogenicity(scanner: Scanner, lv: LVShape, phase: str, rng: np.random.Generator) -> np.ndarray:
    """How bright each pixel's tissue reflects, 0..1, before speckle."""
    canvas = Image.new("L", (scanner.width, scanner.height), TISSUE)
    draw = ImageDraw.Draw(canvas)
    _draw_chambers(draw, lv, scanner.scale, rng)
    _draw_left_ventricle(draw, lv, phase, scanner.scale)
    blurred = canvas.filter(ImageFilter.GaussianBlur(2.5 * scanner.scale))
    return np.asarray(blurred, dtype=np.float32) / 255.0


def _smooth_noise(shape: tuple[int, int], cell: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with a correlation length of about `cell` pixels, (H, W) float32."""
    h, w = shape
    coarse = rng.standard_normal((h // cell + 2, w // cell + 2)).astype(np.float32)
    return np.asarray(Image.fromarray(coarse, "F").resize((w, h), Image.Resampling.BICUBIC))


def speckle(grid: FanGrid, scanner: Scanner, rng: np.random.Generator) -> np.ndarray:
    """Rayleigh speckle power (mean 1) in grains laid along the fan's arcs, (H, W) float32."""
    radial, lateral = SPECKLE_RADIAL_PX * scanner.scale, SPECKLE_LATERAL_PX * scanner.scale
    rows = int(scanner.radius / radial) + 2
    cols = int(2 * scanner.half_angle * scanner.radius / lateral) + 2
    # Rayleigh amplitude with sigma 1/sqrt(2) has mean power 1.
    table = rng.rayleigh(np.sqrt(0.5), size=(rows, cols)).astype(np.float32) ** 2
    r_index = np.clip((grid.radius / radial).astype(np.int32), 0, rows - 1)
    arc = (grid.angle + scanner.half_angle) * grid.radius / lateral
    return table[r_index, np.clip(arc.astype(np.int32), 0, cols - 1)]


def _fan_shading(grid: FanGrid, scanner: Scanner) -> tuple[np.ndarray, np.ndarray]:
    """Brightness the scan adds (far-field band, near-field haze) and the gain it applies."""
    depth = grid.radius / scanner.radius
    strength, centre, width = FAR_FIELD_BAND
    haze, decay = NEAR_FIELD_HAZE
    added = strength * np.exp(-(((depth - centre) / width) ** 2))
    added += haze * np.exp(-grid.radius / (decay * scanner.scale))
    edge = np.clip((scanner.half_angle - np.abs(grid.angle)) / EDGE_FADE_RAD, 0.0, 1.0)
    return added, edge * (1.0 - DEPTH_LOSS * depth)


def render_frame(
    grid: FanGrid, scanner: Scanner, lv: LVShape, phase: str, rng: np.random.Generator
) -> Image.Image:
    """The grey-level ultrasound image of one phase (mode "L", no text yet)."""
    tissue = echogenicity(scanner, lv, phase, rng)
    spread, size = PATCHINESS
    tissue *= np.exp(spread * _smooth_noise(tissue.shape, int(size * scanner.scale), rng))
    added, gain = _fan_shading(grid, scanner)
    signal = (tissue + added) * speckle(grid, scanner, rng) * gain
    grey = 255.0 * np.clip(DISPLAY_GAIN * signal, 0.0, 1.0) ** DISPLAY_GAMMA
    blur = ImageFilter.GaussianBlur(1.0 * scanner.scale)  # softens speckle grain edges
    pixels = np.asarray(Image.fromarray(grey.astype(np.uint8), "L").filter(blur)).copy()
    pixels[~grid.inside] = 0
    return Image.fromarray(pixels, "L")
