"""Long axis, method-of-discs volume and ejection fraction."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.measurements.lv import disc_diameters, disc_volume, ejection_fraction, long_axis

# Sum over the 20 disc mid-heights h_i = (i + 0.5) / 20 of h_i^2: 2665 / 400.
SUM_SQUARED_MID_HEIGHTS = 6.6625


def half_ellipse(long_semi_axis: float, short_semi_axis: float, n_points: int = 2001):
    """Curve from (-b, 0) round the apex (0, -a) to (b, 0): a prolate spheroid's half section."""
    t = np.linspace(np.pi, 2.0 * np.pi, n_points)
    return np.column_stack([short_semi_axis * np.cos(t), long_semi_axis * np.sin(t)])


def rotate(curve: np.ndarray, degrees: float, offset=(0.0, 0.0)) -> np.ndarray:
    angle = math.radians(degrees)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return curve @ rotation.T + np.asarray(offset)


def test_long_axis_of_a_triangle():
    base_mid, apex, length = long_axis(np.array([[-5.0, 0.0], [1.0, -20.0], [5.0, 0.0]]))
    np.testing.assert_allclose(base_mid, [0.0, 0.0])
    np.testing.assert_allclose(apex, [1.0, -20.0])
    assert length == pytest.approx(math.hypot(1.0, 20.0), rel=1e-15)


def test_long_axis_of_a_circular_arc():
    # Three quarters of a circle of radius 10 centred at the origin, hinges 45 degrees either
    # side of the bottom: the apex is the top of the circle.
    t = np.linspace(math.radians(225), math.radians(-45), 271)
    arc = np.column_stack([10 * np.cos(t), -10 * np.sin(t)])
    base_mid, apex, length = long_axis(arc)
    np.testing.assert_allclose(base_mid, [0.0, 10 * math.cos(math.radians(45))], atol=1e-12)
    np.testing.assert_allclose(apex, [0.0, -10.0], atol=1e-12)
    assert length == pytest.approx(10 * (1 + math.cos(math.radians(45))), rel=1e-12)


def test_cone_matches_the_disc_formula_exactly():
    # A triangle is a cone's section, here radius 10 and height 20. Disc i has diameter
    # 20 * (1 - h_i), so V = pi * R^2 * H * SUM_SQUARED_MID_HEIGHTS / 20.
    triangle = np.array([[-10.0, 0.0], [0.0, -20.0], [10.0, 0.0]])
    np.testing.assert_allclose(
        disc_diameters(triangle), 20.0 * (1 - (np.arange(20) + 0.5) / 20), rtol=1e-12
    )
    expected = math.pi * 100.0 * 20.0 * SUM_SQUARED_MID_HEIGHTS / 20.0
    assert disc_volume(triangle) == pytest.approx(expected, rel=1e-12)
    # ...which is within 0.1% of the true cone volume pi R^2 H / 3.
    assert disc_volume(triangle) == pytest.approx(math.pi * 2000.0 / 3.0, rel=1e-3)


@pytest.mark.parametrize(("a", "b"), [(200.0, 100.0), (260.0, 90.0), (120.0, 110.0)])
def test_half_prolate_spheroid_volume(a, b):
    curve = half_ellipse(a, b)
    analytic = 2.0 / 3.0 * math.pi * b * b * a
    volume = disc_volume(curve)
    assert volume == pytest.approx(analytic, rel=0.02)
    # The mid-height discs give V = pi b^2 a (20 - SUM_SQUARED_MID_HEIGHTS) / 20 exactly for
    # the smooth shape; the 2001-gon is smaller by well under 1e-5.
    discrete = math.pi * b * b * a * (20.0 - SUM_SQUARED_MID_HEIGHTS) / 20.0
    assert volume == pytest.approx(discrete, rel=1e-5)


def test_volume_ignores_position_orientation_and_tracing_direction():
    curve = half_ellipse(210.0, 95.0, n_points=200)
    volume = disc_volume(curve)
    moved = rotate(curve, 33.0, offset=(400.0, 300.0))
    assert disc_volume(moved) == pytest.approx(volume, rel=1e-9)
    assert disc_volume(moved[::-1]) == pytest.approx(volume, rel=1e-9)
    assert disc_volume(curve * 2.0) == pytest.approx(8.0 * volume, rel=1e-9)


def test_volume_of_degenerate_and_self_crossing_curves():
    assert disc_volume(np.array([[3.0, 4.0]] * 5)) == 0.0
    crossing = np.array([[0.0, 0.0], [10.0, -40.0], [-10.0, -40.0], [20.0, 0.0]])
    assert math.isfinite(disc_volume(crossing)) and disc_volume(crossing) > 0.0
    with pytest.raises(ValueError):
        disc_volume(half_ellipse(10.0, 5.0), n_discs=0)


def test_ejection_fraction():
    assert ejection_fraction(100.0, 40.0) == pytest.approx(60.0)
    assert ejection_fraction(50.0, 60.0) == pytest.approx(-20.0)
    assert math.isnan(ejection_fraction(0.0, 10.0))
    assert math.isnan(ejection_fraction(-5.0, 10.0))
    assert math.isnan(ejection_fraction(math.nan, 10.0))
    assert math.isnan(ejection_fraction(100.0, math.inf))
