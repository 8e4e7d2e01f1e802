"""Curves as numpy arrays and LV cavity polygons as shapely geometries.

A curve is an (N, 2) float64 array of (x, y) image pixel coordinates: x right, y down, the
origin at the top-left corner of the image. It runs open from one mitral annulus hinge round the
apex to the other; closing it along the mitral plane gives the LV cavity polygon.

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


def cavity_polygon(curve_xy: np.ndarray) -> shapely.Polygon:
    """The LV cavity: the open curve closed along the mitral plane (last point to first)."""
    return shapely.Polygon(curve_xy)
