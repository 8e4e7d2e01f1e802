"""Clinical measurements from one LV curve: area, long axis, disc-summation volume, ejection
fraction.

All of them are taken from the curve's cavity (`pipeline.geometry.cavity`), the region its mask
holds, so a curve that crosses itself measures the same cavity it rasterises to. Lengths are in
pixels, areas in square pixels and volumes in cubic pixels; the dataset carries no pixel spacing.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import shapely

from pipeline.geometry import cavity

DEFAULT_DISCS = 20


class LongAxis(NamedTuple):
    base_mid: np.ndarray  # (2,) the mitral annulus midpoint
    apex: np.ndarray  # (2,)
    length: float


class CavityMeasures(NamedTuple):
    area_px: float
    long_axis_px: float
    volume_px3: float


def measure_curve(curve_xy: np.ndarray, n_discs: int = DEFAULT_DISCS) -> CavityMeasures:
    """Area, long-axis length and disc volume of one curve, all from one cavity."""
    curve_xy = np.asarray(curve_xy, dtype=np.float64)
    region = cavity(curve_xy)
    axis = _long_axis(curve_xy, region)
    return CavityMeasures(
        area_px=float(shapely.area(region)),
        long_axis_px=axis.length,
        volume_px3=_disc_volume(axis, _disc_diameters(axis, region, n_discs)),
    )


def long_axis(curve_xy: np.ndarray) -> LongAxis:
    """(base_mid (2,), apex (2,), length): the LV long axis of an open curve.

    base_mid is the mitral annulus midpoint, halfway between the curve's two ends; the apex is
    the point of the cavity farthest from it, always one of the cavity's vertices (for a simple
    curve, one of the curve's points). A curve that encloses nothing has length 0.
    """
    curve_xy = np.asarray(curve_xy, dtype=np.float64)
    return _long_axis(curve_xy, cavity(curve_xy))


def _long_axis(curve_xy: np.ndarray, region: shapely.Geometry) -> LongAxis:
    base_mid = (curve_xy[0] + curve_xy[-1]) / 2.0
    vertices = shapely.get_coordinates(region)
    if len(vertices) == 0:
        return LongAxis(base_mid, base_mid.copy(), 0.0)
    reach = np.hypot(*(vertices - base_mid).T)
    apex_index = int(np.argmax(reach))
    return LongAxis(base_mid, vertices[apex_index].copy(), float(reach[apex_index]))


def disc_diameters(curve_xy: np.ndarray, n_discs: int = DEFAULT_DISCS) -> np.ndarray:
    """(n_discs,) cavity widths across the long axis, at each disc's mid-height.

    Disc i (0 at the base) spans heights [i, i + 1] * L / n_discs along the axis from base_mid
    to the apex; its diameter is the total length of the cavity cut by the perpendicular line
    through height (i + 0.5) * L / n_discs.
    """
    curve_xy = np.asarray(curve_xy, dtype=np.float64)
    region = cavity(curve_xy)
    return _disc_diameters(_long_axis(curve_xy, region), region, n_discs)


def _disc_diameters(axis: LongAxis, region: shapely.Geometry, n_discs: int) -> np.ndarray:
    if n_discs < 1:
        raise ValueError(f"n_discs must be at least 1, got {n_discs}")
    if axis.length == 0.0:
        return np.zeros(n_discs)
    along = (axis.apex - axis.base_mid) / axis.length
    across = np.array([-along[1], along[0]])
    heights = (np.arange(n_discs) + 0.5) * axis.length / n_discs
    centres = axis.base_mid + heights[:, None] * along
    # Every cavity vertex is within `length` of base_mid, so lines reaching 2 * length either
    # side of a centre cross the whole cavity.
    reach = (2.0 * axis.length + 1.0) * across
    lines = shapely.linestrings(np.stack([centres - reach, centres + reach], axis=1))
    return shapely.length(shapely.intersection(lines, region))


def disc_volume(curve_xy: np.ndarray, n_discs: int = DEFAULT_DISCS) -> float:
    """LV volume (px^3) by the single-plane method of discs (modified Simpson's rule).

    V = sum over discs of pi / 4 * d_i^2 * L / n_discs, with L the long-axis length and d_i
    from `disc_diameters`.
    """
    curve_xy = np.asarray(curve_xy, dtype=np.float64)
    region = cavity(curve_xy)
    axis = _long_axis(curve_xy, region)
    return _disc_volume(axis, _disc_diameters(axis, region, n_discs))


def _disc_volume(axis: LongAxis, diameters: np.ndarray) -> float:
    return float(math.pi / 4.0 * np.sum(diameters**2) * axis.length / len(diameters))


def ejection_fraction(edv: float, esv: float) -> float:
    """Ejection fraction in percent, 100 * (EDV - ESV) / EDV; NaN when EDV is not positive
    or either volume is not finite (a negative value means ES is larger than ED: kept, as a
    sign of swapped phases, not clipped)."""
    if not (math.isfinite(edv) and math.isfinite(esv)) or edv <= 0:
        return math.nan
    return 100.0 * (edv - esv) / edv
