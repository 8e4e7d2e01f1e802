"""Smooth open curves as (N, 2) arrays: spline through control points, arc-length sampling."""

from __future__ import annotations

import numpy as np


def catmull_rom(control_xy: np.ndarray, samples_per_segment: int = 32) -> np.ndarray:
    """A centripetal Catmull-Rom spline through (K, 2) control points, ends included."""
    padded = np.vstack(
        [2 * control_xy[0] - control_xy[1], control_xy, 2 * control_xy[-1] - control_xy[-2]]
    )
    p0, p1, p2, p3 = (padded[i : i + len(control_xy) - 1] for i in range(4))
    knot = lambda a, b: np.sqrt(np.linalg.norm(b - a, axis=1)).clip(1e-6)[:, None]  # noqa: E731
    t1 = knot(p0, p1)
    t2 = t1 + knot(p1, p2)
    t3 = t2 + knot(p2, p3)
    frac = np.linspace(0.0, 1.0, samples_per_segment, endpoint=False)[None, :, None]
    t = t1[:, None] + frac * (t2 - t1)[:, None]
    t1, t2, t3 = t1[:, None], t2[:, None], t3[:, None]
    p0, p1, p2, p3 = p0[:, None], p1[:, None], p2[:, None], p3[:, None]
    a1 = (t1 - t) / t1 * p0 + t / t1 * p1
    a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
    a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
    b1 = (t2 - t) / t2 * a1 + t / t2 * a2
    b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
    curve = (t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2
    return np.vstack([curve.reshape(-1, 2), control_xy[-1:]])


def arc_length(curve_xy: np.ndarray) -> np.ndarray:
    """Cumulative length along the curve, starting at 0, one value per point."""
    steps = np.linalg.norm(np.diff(curve_xy, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(steps)])


def sample(curve_xy: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """Points at the given fractions (0..1) of the curve's length."""
    s = arc_length(curve_xy)
    at = np.clip(fractions, 0.0, 1.0) * s[-1]
    return np.column_stack([np.interp(at, s, curve_xy[:, 0]), np.interp(at, s, curve_xy[:, 1])])


def resample(curve_xy: np.ndarray, n_points: int) -> np.ndarray:
    """n_points equally spaced by arc length, ends kept."""
    return sample(curve_xy, np.linspace(0.0, 1.0, n_points))


def smooth(curve_xy: np.ndarray, sigma_points: float) -> np.ndarray:
    """Gaussian smoothing along the curve; the ends stay put (point-reflected padding)."""
    half = int(3 * sigma_points)
    offsets = np.arange(-half, half + 1)
    kernel = np.exp(-0.5 * (offsets / sigma_points) ** 2)
    kernel /= kernel.sum()
    head = 2 * curve_xy[0] - curve_xy[half:0:-1]
    tail = 2 * curve_xy[-1] - curve_xy[-2 : -half - 2 : -1]
    padded = np.vstack([head, curve_xy, tail])
    return np.column_stack([np.convolve(padded[:, i], kernel, mode="valid") for i in (0, 1)])


def outward_normals(curve_xy: np.ndarray) -> np.ndarray:
    """Unit normals pointing out of the cavity, for a curve traced septal hinge first.

    With y down, that tracing runs clockwise on screen, so (ty, -tx) points outward.
    """
    tangent = np.gradient(curve_xy, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True).clip(1e-9)
    return np.column_stack([tangent[:, 1], -tangent[:, 0]])


def polygon_area(curve_xy: np.ndarray) -> float:
    """Area enclosed by the curve closed along its chord (shoelace formula)."""
    x, y = curve_xy[:, 0], curve_xy[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)
