"""The Williams index and its jackknife, against hand-made cases and a loop-by-loop reading of
Chalana and Kim's formula."""

import itertools
import math

import numpy as np
import pytest

from pipeline.evaluate.names import Kind
from pipeline.evaluate.williams import (
    RECIPROCAL_FLOOR,
    rank_among,
    rater_indices,
    williams_index,
)


def pair_list(n_raters: int) -> list[tuple[int, int]]:
    return list(itertools.combinations(range(n_raters), 2))


def paper_index(model, pairs, n_raters, kind) -> float:
    """The formula written out with loops: per-pair means over the images both traced, a = D or
    1 / max(D, floor), WI = mean_j a(0, j) / mean_{j<j'} a(j, j')."""

    def agreement(values):
        present = [v for v in values if not math.isnan(v)]
        mean = sum(present) / len(present)
        return mean if kind == Kind.SIMILARITY else 1.0 / max(mean, RECIPROCAL_FLOOR)

    numerator = [agreement(model[:, j]) for j in range(n_raters)]
    denominator = [agreement(pairs[:, p]) for p in range(pairs.shape[1])]
    return (sum(numerator) / len(numerator)) / (sum(denominator) / len(denominator))


def random_case(n_images: int, n_raters: int, seed: int, holes: bool = True):
    rng = np.random.default_rng(seed)
    model = rng.uniform(2.0, 6.0, (n_images, n_raters))
    pairs = rng.uniform(2.0, 6.0, (n_images, len(pair_list(n_raters))))
    if holes:  # a rater who did not trace an image: no score with them there
        model[1, 2] = np.nan
        for p, (a, b) in enumerate(pair_list(n_raters)):
            if 2 in (a, b):
                pairs[1, p] = np.nan
    return model, pairs


def test_constant_agreements_give_their_ratio():
    n_images, n_raters = 7, 5
    pairs = np.full((n_images, len(pair_list(n_raters))), 0.8)
    similar = williams_index(np.full((n_images, n_raters), 0.9), pairs, Kind.SIMILARITY)
    assert similar.index == pytest.approx(0.9 / 0.8, rel=1e-15)
    # Distances: the model 2 px from every rater, raters 4 px apart -> (1/2) / (1/4) = 2.
    distant = williams_index(np.full((n_images, n_raters), 2.0), pairs * 5, Kind.DISTANCE)
    assert distant.index == pytest.approx(2.0, rel=1e-15)
    assert distant.model_mean == pytest.approx(2.0) and distant.raters_mean == pytest.approx(4.0)
    # Every image alike: no spread, an interval of width 0 around the index.
    assert similar.se == pytest.approx(0.0, abs=1e-12)
    assert similar.ci_low == pytest.approx(similar.index) == similar.ci_high


@pytest.mark.parametrize("kind", [Kind.SIMILARITY, Kind.DISTANCE])
def test_index_matches_the_formula_written_out(kind):
    model, pairs = random_case(9, 4, seed=1)
    result = williams_index(model, pairs, kind)
    assert result.index == pytest.approx(paper_index(model, pairs, 4, kind), rel=1e-12)


def test_jackknife_matches_leaving_each_image_out_by_hand():
    model, pairs = random_case(12, 4, seed=2)
    result = williams_index(model, pairs, Kind.DISTANCE)
    n = model.shape[0]
    left_out = [
        paper_index(np.delete(model, i, 0), np.delete(pairs, i, 0), 4, Kind.DISTANCE)
        for i in range(n)
    ]
    pseudo = [n * result.index - (n - 1) * v for v in left_out]
    mean = sum(pseudo) / n
    se = math.sqrt(sum((p - mean) ** 2 for p in pseudo) / (n - 1) / n)
    assert result.jackknife == pytest.approx(mean, rel=1e-12)
    assert result.se == pytest.approx(se, rel=1e-9)
    assert result.ci_low == pytest.approx(mean - 1.96 * se, rel=1e-9)
    assert result.ci_high == pytest.approx(mean + 1.96 * se, rel=1e-9)


def test_interval_narrows_as_images_are_added():
    model, pairs = random_case(400, 5, seed=3, holes=False)
    widths = [williams_index(model[:n], pairs[:n], Kind.SIMILARITY).se for n in (10, 40, 160, 400)]
    assert widths == sorted(widths, reverse=True) and widths[-1] < widths[0] / 4


def test_a_model_identical_to_a_rater_stays_finite():
    n_images, n_raters = 5, 3
    model = np.full((n_images, n_raters), 3.0)
    model[:, 0] = 0.0  # the model is rater 0's copy: no distance at all
    pairs = np.full((n_images, 3), 3.0)
    result = williams_index(model, pairs, Kind.DISTANCE)
    # a(0, rater 0) = 1 / floor (1 px) = 1, the others 1/3: WI = ((1 + 2/3) / 3) / (1/3).
    assert result.index == pytest.approx((1 + 2 / 3) / 3 * 3)


def test_one_image_has_no_interval():
    result = williams_index(np.array([[0.9, 0.8]]), np.array([[0.85]]), Kind.SIMILARITY)
    assert result.index == pytest.approx((0.9 + 0.8) / 2 / 0.85)
    assert result.jackknife is None and result.ci_low is None


def test_each_rater_is_scored_against_the_others():
    n_raters = 4
    pairs_of = pair_list(n_raters)
    _, pairs = random_case(6, n_raters, seed=4, holes=False)
    indices = rater_indices(pairs, np.array(pairs_of), n_raters, Kind.SIMILARITY)
    for k in range(n_raters):
        # Rater k as the model: its pairs are its scores, the others' pairs its raters'.
        mine = [p for p, pair in enumerate(pairs_of) if k in pair]
        theirs = [p for p, pair in enumerate(pairs_of) if k not in pair]
        expected = paper_index(pairs[:, mine], pairs[:, theirs], n_raters - 1, Kind.SIMILARITY)
        assert indices[k] == pytest.approx(expected, rel=1e-12)


def test_rank_and_percentile_among_raters():
    raters = np.array([0.95, 1.0, 1.02, 1.05])
    assert rank_among(1.03, raters) == (2, 75.0)
    assert rank_among(1.10, raters) == (1, 100.0)
    assert rank_among(0.90, raters) == (5, 0.0)
    assert rank_among(1.0, raters) == (3, 37.5)  # a tie counts half
