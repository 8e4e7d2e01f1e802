"""The true LV endocardial border of a study at end-diastole (ED) and end-systole (ES).

Shapes live in a local frame: u runs along the long axis from the mitral plane (0) to the apex
(1), v across it in units of the ED length, positive towards the lateral wall (image right).
Calibrated on the reference 800x600 frame: apex near (395, 110), mitral hinges near y=385 at
x~360 (septal) and x~485 (lateral), ED cavity ~150 px wide and ~280 px long.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pipeline.synth import seeds
from pipeline.synth.curves import catmull_rom, polygon_area, resample, smooth
from pipeline.synth.scanner import Scanner

# (u, v) control points from the septal hinge round the apex to the lateral hinge.
TEMPLATE_UV = np.array(
    [
        (0.00, -0.215),
        (0.10, -0.225),
        (0.25, -0.215),
        (0.45, -0.190),
        (0.65, -0.175),
        (0.80, -0.155),
        (0.905, -0.115),
        (0.97, -0.065),
        (1.00, 0.000),
        (0.97, 0.070),
        (0.905, 0.135),
        (0.80, 0.200),
        (0.65, 0.260),
        (0.45, 0.300),
        (0.25, 0.310),
        (0.10, 0.280),
        (0.00, 0.215),
    ]
)
HINGES = (0, len(TEMPLATE_UV) - 1)
APEX = 8
ED_LENGTH_PX = 280.0  # at the 600-px reference height
APEX_FROM_SECTOR_APEX = (-5.0, 48.0)  # reference px: LV apex relative to the sector apex
MEAN_TILT_DEG = -4.0  # apex leans towards the septum (image left)
ES_AREA_RATIO = (0.63, 0.72)  # true ES/ED cavity area; experts' curves stay within 0.55-0.80
DENSE_POINTS = 600
APEX_ROUNDING = 14.0  # Gaussian sigma along the dense curve, in points (~1.3 px each)


@dataclass(frozen=True)
class LVShape:
    """One phase's true border (dense, septal hinge first) and its long-axis frame."""

    curve: np.ndarray  # (DENSE_POINTS, 2) image px
    base_mid: np.ndarray  # middle of the mitral plane, image px
    axis: np.ndarray  # unit vector from base to apex
    normal: np.ndarray  # unit vector towards the lateral wall
    length: float  # base to apex, px


@dataclass(frozen=True)
class StudyAnatomy:
    """The LV at both phases of one study."""

    ed: LVShape
    es: LVShape


@dataclass(frozen=True)
class _Pose:
    apex: np.ndarray
    axis: np.ndarray
    normal: np.ndarray
    length: float


def _study_uv(rng: np.random.Generator) -> np.ndarray:
    """The template with this study's width, septal S-bend and small shape jitter."""
    uv = TEMPLATE_UV.copy()
    uv[:, 1] *= rng.uniform(0.88, 1.12)
    septal = uv[1:APEX, 0]
    bend = np.where(septal < 0.8, np.sin(np.pi * septal / 0.4), 0.0)  # S-bend below the apex
    uv[1:APEX, 1] += rng.uniform(-0.03, 0.03) * bend
    # Jitter the walls, not the apical cap, so the apex stays round.
    walls = np.flatnonzero(uv[:, 0] < 0.85)
    walls = walls[~np.isin(walls, HINGES)]
    uv[walls, 1] += rng.normal(0.0, 0.01, walls.size)
    uv[walls, 0] += rng.normal(0.0, 0.008, walls.size)
    return uv


def _pose(scanner: Scanner, rng: np.random.Generator) -> _Pose:
    """Where the ED apex sits, which way the long axis points and how long it is."""
    s = scanner.scale
    tilt = math.radians(MEAN_TILT_DEG + float(np.clip(rng.normal(0.0, 3.0), -7.0, 7.0)))
    axis = np.array([math.sin(tilt), -math.cos(tilt)])
    normal = np.array([-axis[1], axis[0]])
    apex = np.array(
        [
            scanner.apex_x + (APEX_FROM_SECTOR_APEX[0] + rng.uniform(-10.0, 10.0)) * s,
            scanner.apex_y + (APEX_FROM_SECTOR_APEX[1] + rng.uniform(-6.0, 6.0)) * s,
        ]
    )
    return _Pose(apex, axis, normal, ED_LENGTH_PX * s * rng.uniform(0.9, 1.06))


def _shape(uv: np.ndarray, pose: _Pose) -> LVShape:
    """Place local (u, v) control points in the image and spline them densely."""
    origin = pose.apex - pose.length * pose.axis  # where u = 0, v = 0
    control = origin + pose.length * (uv[:, :1] * pose.axis + uv[:, 1:] * pose.normal)
    # The spline can turn sharply at the apex; rounding it keeps experts' offset curves simple.
    curve = resample(
        smooth(resample(catmull_rom(control), DENSE_POINTS), APEX_ROUNDING), DENSE_POINTS
    )
    base_u = 0.5 * (uv[HINGES[0], 0] + uv[HINGES[1], 0])
    base_mid = origin + pose.length * base_u * pose.axis
    return LVShape(curve, base_mid, pose.axis, pose.normal, pose.length * (uv[APEX, 0] - base_u))


def _systole(uv: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """ES control points before width scaling (the base rises, the apex dips), target ratio."""
    rise, dip = rng.uniform(0.07, 0.14), rng.uniform(0.0, 0.03)
    es_uv = uv.copy()
    es_uv[:, 0] = rise + uv[:, 0] * (1.0 - rise - dip)
    return es_uv, float(rng.uniform(*ES_AREA_RATIO))


def study_anatomy(seed: int, index: int, scanner: Scanner) -> StudyAnatomy:
    """The true ED and ES borders of study `index`; ES area is 63-72% of ED area."""
    rng = seeds.stream(seed, seeds.STUDY_ANATOMY, index)
    uv = _study_uv(rng)
    pose = _pose(scanner, rng)
    ed = _shape(uv, pose)
    es_uv, ratio = _systole(uv, rng)
    # Area is linear in the across-axis scale, so one correction hits the target exactly.
    unscaled = polygon_area(_shape(es_uv, pose).curve)
    es_uv[:, 1] *= ratio * polygon_area(ed.curve) / unscaled
    return StudyAnatomy(ed, _shape(es_uv, pose))
