"""The Williams index of a model among raters, with a jackknife confidence interval over images.

Chalana and Kim (IEEE TMI 16(5), 1997), for a model 0 and raters 1..n:

    WI = [ (1/n) sum_j a(0, j) ]  /  [ (2 / (n (n - 1))) sum_{j < j'} a(j, j') ]

where a(j, j') is the agreement of j and j' over the whole image set. As in the paper, each
pair's per-image scores are averaged over the images first, D(j, j') = mean over the images
both traced; then a = D for a similarity (Dice, IoU) and a = 1 / D for a distance (Hausdorff,
HD95, mean contour distance), the paper's reciprocal, with D taken as at least RECIPROCAL_FLOOR
(1 px) so that a model identical to a rater stays finite. WI near 1:
the model agrees with the raters as well as they agree with each other; above 1, better.

Confidence interval: the jackknife over images. WI_(i) is the index without image i (every D
recomputed without it); the pseudo-values are p_i = N WI - (N - 1) WI_(i); the interval is
mean(p) +/- 1.96 SE, SE = sd(p) / sqrt(N). It narrows as images are added.

Each rater is scored the same way against the others (rater k as the model, the other n - 1 as
raters), which places the model among them.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from pipeline.evaluate.names import Kind

Z_95 = 1.96
# Mean distances below one pixel are taken as one pixel when inverted: a mask does not resolve
# less (its outline lies up to ~0.7 px from the polygon it was rasterised from), and a model
# identical to a rater would otherwise score 1 / 0.
RECIPROCAL_FLOOR = 1.0


@dataclass(frozen=True)
class WilliamsIndex:
    """The index of a model over a set of images, and its jackknife interval."""

    index: float
    model_mean: float  # mean over raters of D(0, j)
    raters_mean: float  # mean over pairs of raters of D(j, j')
    jackknife: float | None  # the mean of the pseudo-values; None with fewer than 2 images
    se: float | None
    ci_low: float | None
    ci_high: float | None


def _sums(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(values with NaN as 0, present, column sums, column counts) of an (images, k) array."""
    present = ~np.isnan(values)
    filled = np.where(present, values, 0.0)
    return filled, present, filled.sum(axis=0), present.sum(axis=0)


def _agreement(means: np.ndarray, kind: Kind) -> np.ndarray:
    """a = D for similarities, 1 / max(D, floor) for distances (NaN stays NaN)."""
    if kind == Kind.SIMILARITY:
        return means
    return 1.0 / np.maximum(means, RECIPROCAL_FLOOR)


@contextmanager
def _quiet() -> Iterator[None]:
    """No warnings for 0 / 0 or the mean of an all-NaN row: both are NaN, as meant."""
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _ratio(model_means: np.ndarray, pair_means: np.ndarray, kind: Kind) -> np.ndarray:
    """WI from mean agreements over the last axis (raters, pairs); NaN where undefined."""
    with _quiet():
        numerator = np.nanmean(_agreement(model_means, kind), axis=-1)
        denominator = np.nanmean(_agreement(pair_means, kind), axis=-1)
        return numerator / denominator


def williams_index(model: np.ndarray, pairs: np.ndarray, kind: Kind) -> WilliamsIndex:
    """The index of a model from its per-image scores against each rater, `model` (images,
    raters), and the raters' against each other, `pairs` (images, pairs); NaN: not traced."""
    if model.shape[0] != pairs.shape[0]:
        raise ValueError(f"model has {model.shape[0]} images, pairs {pairs.shape[0]}")
    m_filled, m_present, m_sum, m_count = _sums(model)
    p_filled, p_present, p_sum, p_count = _sums(pairs)
    with _quiet():
        model_means, pair_means = m_sum / m_count, p_sum / p_count
        index = float(_ratio(model_means, pair_means, kind))
        model_mean = float(np.nanmean(model_means))
        raters_mean = float(np.nanmean(pair_means))
        n = model.shape[0]
        if n < 2 or not math.isfinite(index):
            return WilliamsIndex(index, model_mean, raters_mean, None, None, None, None)
        left_out = _ratio(
            (m_sum - m_filled) / (m_count - m_present),
            (p_sum - p_filled) / (p_count - p_present),
            kind,
        )
    if not np.isfinite(left_out).all():
        return WilliamsIndex(index, model_mean, raters_mean, None, None, None, None)
    pseudo = n * index - (n - 1) * left_out
    jackknife = float(pseudo.mean())
    se = float(pseudo.std(ddof=1) / math.sqrt(n))
    return WilliamsIndex(
        index, model_mean, raters_mean, jackknife, se, jackknife - Z_95 * se, jackknife + Z_95 * se
    )


def rater_indices(
    pairs: np.ndarray, pair_raters: np.ndarray, n_raters: int, kind: Kind
) -> np.ndarray:
    """(raters,) each rater's index as the model against the other raters (no interval).

    `pair_raters` (pairs, 2) names the two raters of each column of `pairs`.
    """
    _, _, p_sum, p_count = _sums(pairs)
    with _quiet():
        pair_means = p_sum / p_count
    indices = np.full(n_raters, np.nan)
    for k in range(n_raters):
        involves = (pair_raters == k).any(axis=1)
        indices[k] = _ratio(pair_means[involves], pair_means[~involves], kind)
    return indices


def rank_among(index: float, rater_indices: np.ndarray) -> tuple[int, float]:
    """(rank of the model among itself and the raters, 1 the highest index; the percentage of
    raters whose index is below the model's, ties counting half)."""
    known = rater_indices[np.isfinite(rater_indices)]
    above = int(np.count_nonzero(known > index))
    below = int(np.count_nonzero(known < index))
    ties = known.size - above - below
    percentile = 100.0 * (below + 0.5 * ties) / known.size if known.size else math.nan
    return above + 1, percentile
