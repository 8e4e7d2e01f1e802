"""Record-level checks of one expert curve: the published [[x...], [y...]] shape."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely

from pipeline.constants import MIN_CURVE_POINTS, OUTSIDE_IMAGE_TOLERANCE_PX
from pipeline.geometry import curve_array
from pipeline.source.jsonvalues import LongInteger, describe_value, is_json_object


class CurveProblem(ValueError):
    """A curve that cannot be used; `check` names the failed check."""

    def __init__(self, check: str, message: str):
        self.check = check
        super().__init__(message)


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _is_axis(value: Any) -> bool:
    return isinstance(value, list) and not is_json_object(value)


def parse_curve(value: Any) -> np.ndarray:
    """An (N, 2) float64 curve from a JSON [[x...], [y...]] value, or CurveProblem."""
    if not (_is_axis(value) and len(value) == 2 and all(_is_axis(v) for v in value)):
        raise CurveProblem(
            "curve_shape",
            f"is {describe_value(value)}, not a pair of coordinate lists [[x...], [y...]]",
        )
    xs, ys = value
    if len(xs) != len(ys):
        raise CurveProblem(
            "curve_length_mismatch", f"has {len(xs)} x values but {len(ys)} y values"
        )
    for axis, values in (("x", xs), ("y", ys)):
        bad = next((i for i, v in enumerate(values) if isinstance(v, LongInteger)), None)
        if bad is not None:
            raise CurveProblem(
                "coordinate_out_of_range", f"{axis}[{bad}] is {values[bad]}, not a pixel position"
            )
        bad = next((i for i, v in enumerate(values) if not _is_number(v)), None)
        if bad is not None:
            raise CurveProblem(
                "non_numeric_coordinate",
                f"{axis}[{bad}] is {describe_value(values[bad])}, not a number",
            )
        bad = next((i for i, v in enumerate(values) if not math.isfinite(v)), None)
        if bad is not None:
            raise CurveProblem("non_finite_coordinate", f"{axis}[{bad}] is {values[bad]!r}")
    if len(xs) < MIN_CURVE_POINTS:
        raise CurveProblem(
            "too_few_points", f"has {len(xs)} points; a cavity needs at least {MIN_CURVE_POINTS}"
        )
    return curve_array(xs, ys)


def check_inside_image(curve_xy: np.ndarray, width: int, height: int) -> None:
    """CurveProblem when a point lies far outside the image."""
    tol = OUTSIDE_IMAGE_TOLERANCE_PX
    outside = (
        (curve_xy[:, 0] < -tol)
        | (curve_xy[:, 0] > width + tol)
        | (curve_xy[:, 1] < -tol)
        | (curve_xy[:, 1] > height + tol)
    )
    if outside.any():
        i = int(np.argmax(outside))
        x, y = curve_xy[i]
        raise CurveProblem(
            "point_outside_image",
            f"point {i} ({x:g}, {y:g}) lies more than {tol:g} px outside the "
            f"{width}x{height} image ({int(outside.sum())} such points)",
        )


def self_intersection_reason(curve_xy: np.ndarray) -> str | None:
    """Why the cavity polygon is not simple, or None when it is valid."""
    polygon = shapely.Polygon(curve_xy)
    if shapely.is_valid(polygon):
        return None
    return shapely.is_valid_reason(polygon)
