"""Clinical measurements from one LV curve: long axis, disc-summation volume, ejection fraction.

Lengths are in pixels and volumes in cubic pixels; the dataset carries no pixel spacing.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

from pipeline.geometry import cavity_polygon

DEFAULT_DISCS = 20


def long_axis(curve_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(base_mid (2,), apex (2,), length): the LV long axis of an open curve.

    base_mid is the mitral annulus midpoint, halfway between the curve's two ends; the apex is
    the curve point farthest from it (on a polyline the farthest point is always a vertex).
    """
    curve_xy = np.asarray(curve_xy, dtype=np.float64)
    base_mid = (curve_xy[0] + curve_xy[-1]) / 2.0
    reach = np.hypot(*(curve_xy - base_mid).T)
    apex_index = int(np.argmax(reach))
    return base_mid, curve_xy[apex_index].copy(), float(reach[apex_index])


def _polygonal_cavity(curve_xy: np.ndarray) -> shapely.Geometry:
    """The cavity polygon, repaired into its polygonal parts if the curve crosses itself."""
    polygon = cavity_polygon(curve_xy)
    if polygon.is_valid:
        return polygon
    parts = shapely.get_parts(shapely.make_valid(polygon))
    polygonal = parts[shapely.get_type_id(parts) == shapely.GeometryType.POLYGON]
    return shapely.multipolygons(polygonal)


def disc_diameters(curve_xy: np.ndarray, n_discs: int = DEFAULT_DISCS) -> np.ndarray:
    """(n_discs,) cavity widths across the long axis, at each disc's mid-height.

    Disc i (0 at the base) spans heights [i, i + 1] * L / n_discs along the axis from base_mid
    to the apex; its diameter is the total length of the cavity cut by the perpendicular line
    through height (i + 0.5) * L / n_discs.
    """
    if n_discs < 1:
        raise ValueError(f"n_discs must be at least 1, got {n_discs}")
    base_mid, apex, length = long_axis(curve_xy)
    if length == 0.0:
        return np.zeros(n_discs)
    axis = (apex - base_mid) / length
    across = np.array([-axis[1], axis[0]])
    heights = (np.arange(n_discs) + 0.5) * length / n_discs
    centres = base_mid + heights[:, None] * axis
    # Every curve point is within `length` of base_mid, so the cavity is too: half-lines of
    # 2 * length reach past it from any centre.
    reach = (2.0 * length + 1.0) * across
    lines = shapely.linestrings(np.stack([centres - reach, centres + reach], axis=1))
    return shapely.length(shapely.intersection(lines, _polygonal_cavity(curve_xy)))


def disc_volume(curve_xy: np.ndarray, n_discs: int = DEFAULT_DISCS) -> float:
    """LV volume (px^3) by the single-plane method of discs (modified Simpson's rule).

    V = sum over discs of pi / 4 * d_i^2 * L / n_discs, with L the long-axis length and d_i
    from `disc_diameters`.
    """
    _, _, length = long_axis(curve_xy)
    diameters = disc_diameters(curve_xy, n_discs)
    return float(math.pi / 4.0 * np.sum(diameters**2) * length / n_discs)


def ejection_fraction(edv: float, esv: float) -> float:
    """Ejection fraction in percent, 100 * (EDV - ESV) / EDV; NaN when EDV is not positive
    or either volume is not finite (a negative value means ES is larger than ED: kept, as a
    sign of swapped phases, not clipped)."""
    if not (math.isfinite(edv) and math.isfinite(esv)) or edv <= 0:
        return math.nan
    return 100.0 * (edv - esv) / edv
