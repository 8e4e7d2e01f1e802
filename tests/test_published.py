"""The authors' published consensus rule (DESIGN.md §1), on curves built by hand.

The rule: reverse a curve when its point nearest the pixel (x, y) = (0, 511) has an index above
150; then average x and y index by index over all experts. Every expected value below is
worked out from the construction of the curves, not from the code.
"""

import numpy as np
import pytest

from pipeline.consensus.published import (
    RuleUndefined,
    published_mean,
    published_orientation_flip,
)

INDEX = np.arange(201.0)


def test_a_curve_traced_backwards_is_turned_round_before_averaging():
    # Two 201-point horizontal lines from x = 100 to x = 300, one at y = 500 traced left to
    # right, one at y = 520 traced right to left. The anchor (0, 511) is nearest x = 100: index
    # 0 on the first (kept), index 200 on the second (200 > 150: reversed). The mean is the
    # line y = 510 from x = 100 to 300, one pixel a step.
    forward = np.column_stack([100.0 + INDEX, np.full(201, 500.0)])
    backward = np.column_stack([300.0 - INDEX, np.full(201, 520.0)])
    expected = np.column_stack([100.0 + INDEX, np.full(201, 510.0)])
    np.testing.assert_array_equal(published_mean([forward, backward]), expected)
    # Whichever expert comes first.
    np.testing.assert_array_equal(published_mean([backward, forward]), expected)


def test_without_the_turn_the_two_directions_would_cancel():
    # The same two lines averaged as traced would collapse to the point (200, 510): the rule is
    # what keeps them apart. Three experts: the mean is over all of them.
    forward = np.column_stack([100.0 + INDEX, np.full(201, 500.0)])
    backward = np.column_stack([300.0 - INDEX, np.full(201, 520.0)])
    upper = np.column_stack([100.0 + INDEX, np.full(201, 490.0)])
    mean = published_mean([forward, backward, upper])
    np.testing.assert_allclose(mean, np.column_stack([100.0 + INDEX, np.full(201, 1510 / 3)]))


def test_the_anchor_is_x_0_y_511():
    # A vertical line x = 5 traced downwards, y = 300 to 500: its point nearest (x 0, y 511) is
    # the last one, so it is reversed (an anchor read as (x 511, y 0) would pick the first).
    down = np.column_stack([np.full(201, 5.0), 300.0 + INDEX])
    assert published_orientation_flip(down)
    assert not published_orientation_flip(down[::-1])
    np.testing.assert_array_equal(published_mean([down]), down[::-1])


@pytest.mark.parametrize(("nearest", "reversed_"), [(0, False), (150, False), (151, True)])
def test_reversed_only_above_index_150(nearest, reversed_):
    # 201 points on the line y = 511, at x = 10 + |i - nearest|: index `nearest` is nearest.
    curve = np.column_stack([10.0 + np.abs(INDEX - nearest), np.full(201, 511.0)])
    assert published_orientation_flip(curve) is reversed_
    np.testing.assert_array_equal(published_mean([curve]), curve[::-1] if reversed_ else curve)


def test_short_curves_are_never_turned_round():
    # 100 points: no index is above 150, so a curve traced backwards stays backwards and the
    # mean of the line (0..99, 0) with the same line traced back at y = 10 is x = 49.5, y = 5
    # at every index: the rule's known failure on short curves, reproduced.
    index = np.arange(100.0)
    forward = np.column_stack([index, np.zeros(100)])
    backward = np.column_stack([99.0 - index, np.full(100, 10.0)])
    assert not published_orientation_flip(backward)
    np.testing.assert_array_equal(
        published_mean([forward, backward]), np.tile([49.5, 5.0], (100, 1))
    )


def test_unequal_point_counts_are_refused_not_truncated():
    # The authors' code averages over the first expert's point count: it would cut a longer
    # curve and run past the end of a shorter one. We refuse, and say why.
    first = np.column_stack([100.0 + INDEX, np.full(201, 500.0)])
    with pytest.raises(RuleUndefined, match=r"point counts differ \(200, 201\)"):
        published_mean([first, first[:200]])
    with pytest.raises(RuleUndefined, match="no expert curves"):
        published_mean([])
