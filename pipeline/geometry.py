"""Curves as numpy arrays and LV cavities as shapely geometries.

A curve is an (N, 2) float64 array of (x, y) image pixel coordinates: x right, y down, the
origin at the top-left corner of the image. It runs open from one mitral annulus hinge round the
apex to the other; closing it along the mitral plane gives the LV cavity. Every area, axis and
volume comes from `cavity`, the region the curve's mask holds (even-odd rule).

Orientation: frames are shown with the septum on the image left (as in the dataset's
reference frames), so the septal hinge is the curve end with the smaller x. A curve traced
from the lateral hinge first is "reversed".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely


def curve_array(xs: Sequence[float], ys: Sequence[float]) -> np.ndarray:
    """Stack x and y lists into an (N, 2) float64 curve."""
    return np.column_stack([np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)])


def is_traced_lateral_first(curve_xy: np.ndarray) -> bool:
    """True when the curve starts at the lateral hinge (the end with the larger x)."""
    return bool(curve_xy[0, 0] > curve_xy[-1, 0])


def septal_first(curve_xy: np.ndarray) -> np.ndarray:
    """The same curve, oriented to start at the septal hinge whatever way it was traced."""
    return curve_xy[::-1] if is_traced_lateral_first(curve_xy) else curve_xy


def traced_polygon(curve_xy: np.ndarray) -> shapely.Polygon:
    """The open curve closed along the mitral plane, vertex for vertex as traced.

    This is the cavity when the curve is simple; a curve that crosses itself gives an invalid
    polygon whose shapely area is a signed shoelace sum (a figure-eight's is 0). Use `cavity`
    for areas and shapes; this is for asking whether the tracing is simple.
    """
    return shapely.Polygon(curve_xy)


def cavity(curve_xy: np.ndarray) -> shapely.Polygon | shapely.MultiPolygon:
    """The LV cavity of an open curve: the region its mask holds (`pipeline.masks.rasterise`).

    The curve is closed along the mitral plane and filled with the even-odd rule: a point is
    inside when a ray from it crosses the closed curve an odd number of times. A simple curve
    gives its traced polygon unchanged; one that crosses itself gives every lobe (a
    figure-eight's two, a hooked hinge's small one), with parts wound twice left out, as a
    valid Polygon or MultiPolygon (empty when the curve encloses nothing).
    """
    curve_xy = np.asarray(curve_xy, dtype=np.float64)
    traced = traced_polygon(curve_xy)
    if shapely.is_valid(traced):
        return traced
    return _even_odd_region(curve_xy)


def _even_odd_region(curve_xy: np.ndarray) -> shapely.Polygon | shapely.MultiPolygon:
    """The even-odd region of the closed curve, from the faces of its noded linework.

    The crossings cut the plane into faces of constant parity; one interior point per face
    decides it. (shapely.make_valid(method="linework") is not this: it keeps an edge traced
    twice as a boundary, where the even-odd rule cancels it.)
    """
    noded = shapely.node(shapely.linearrings(curve_xy))
    faces = shapely.get_parts(shapely.polygonize([noded]))
    if len(faces) == 0:
        return shapely.Polygon()
    inside = _even_odd_inside(curve_xy, shapely.get_coordinates(shapely.point_on_surface(faces)))
    region = shapely.union_all(faces[inside])
    return region if not region.is_empty else shapely.Polygon()


def _even_odd_inside(curve_xy: np.ndarray, points_xy: np.ndarray) -> np.ndarray:
    """(P,) bool: each point is inside the closed curve by the even-odd rule.

    Rightward rays against every edge at once; an edge counts when it spans the ray's y
    half-open (the rasteriser's scanline rule), so a ray through a vertex is counted once.
    """
    start, end = curve_xy, np.roll(curve_xy, -1, axis=0)
    px, py = points_xy[:, :1], points_xy[:, 1:]
    spans = (start[:, 1] > py) != (end[:, 1] > py)
    rise = np.where(spans, end[:, 1] - start[:, 1], 1.0)
    x_at = start[:, 0] + (py - start[:, 1]) * (end[:, 0] - start[:, 0]) / rise
    return (np.count_nonzero(spans & (x_at > px), axis=1) % 2).astype(bool)
