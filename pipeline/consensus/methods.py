"""Robust consensus of expert curves and masks: arc-length mean, majority vote and STAPLE.

Unlike the authors' rule (`published_consensus`), curves are oriented by anatomy
(`geometry.septal_first`) and resampled by arc length, so any point counts can be combined.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from pipeline.geometry import septal_first

DEFAULT_CURVE_POINTS = 200
# ITK's STAPLE stops when every rater's sensitivity and specificity moved by at most
# sqrt(1e-14) in one iteration; we add an iteration cap so a pathological input cannot hang.
STAPLE_CONVERGENCE = 1.0e-14
STAPLE_MAX_ITERATIONS = 10_000
STAPLE_THRESHOLD = 0.5


def resample_by_arclength(curve_xy: np.ndarray, n_points: int) -> np.ndarray:
    """(n_points, 2) points evenly spaced by arc length along the curve, both ends kept."""
    if n_points < 2:
        raise ValueError(f"n_points must be at least 2, got {n_points}")
    curve_xy = np.asarray(curve_xy, dtype=np.float64)
    if curve_xy.ndim != 2 or curve_xy.shape[1] != 2 or len(curve_xy) == 0:
        raise ValueError(f"curve must be a non-empty (N, 2) array, got shape {curve_xy.shape}")
    step = np.hypot(*np.diff(curve_xy, axis=0).T)
    # Repeated points add no length; dropping them keeps np.interp's abscissae increasing.
    keep = np.concatenate([[True], step > 0])
    points = curve_xy[keep]
    if len(points) == 1:
        return np.repeat(points, n_points, axis=0)
    cumulative = np.concatenate([[0.0], np.cumsum(step[step > 0])])
    targets = np.linspace(0.0, cumulative[-1], n_points)
    return np.column_stack(
        [np.interp(targets, cumulative, points[:, 0]), np.interp(targets, cumulative, points[:, 1])]
    )


def _oriented_resampled(curves_xy: Sequence[np.ndarray], n_points: int) -> np.ndarray:
    """(k, n_points, 2): each curve septal-first and resampled by arc length."""
    if len(curves_xy) == 0:
        raise ValueError("no curves to average")
    return np.stack([resample_by_arclength(septal_first(c), n_points) for c in curves_xy])


def arclength_mean(
    curves_xy: Sequence[np.ndarray], n_points: int = DEFAULT_CURVE_POINTS
) -> np.ndarray:
    """Mean curve: each curve oriented septal-first, resampled by arc length, then averaged."""
    return _oriented_resampled(curves_xy, n_points).mean(axis=0)


def leave_one_out_means(
    curves_xy: Sequence[np.ndarray], n_points: int = DEFAULT_CURVE_POINTS
) -> list[np.ndarray]:
    """Element i is `arclength_mean` of all curves but curve i (needs at least two curves)."""
    if len(curves_xy) < 2:
        raise ValueError(f"leave-one-out needs at least 2 curves, got {len(curves_xy)}")
    stacked = _oriented_resampled(curves_xy, n_points)
    others = (stacked.sum(axis=0) - stacked) / (len(stacked) - 1)
    return list(others)


def _check_stack(masks: np.ndarray) -> np.ndarray:
    masks = np.asarray(masks)
    if masks.ndim != 3 or masks.shape[0] == 0:
        raise ValueError(f"masks must be a non-empty (k, H, W) stack, got shape {masks.shape}")
    return masks


def majority_mask(masks: np.ndarray) -> np.ndarray:
    """(H, W) uint8: pixels inside at least half of the k expert masks (2 * votes >= k)."""
    masks = _check_stack(masks)
    votes = (masks != 0).sum(axis=0, dtype=np.int32)
    return (2 * votes >= len(masks)).astype(np.uint8)


@dataclass(frozen=True)
class StapleResult:
    """STAPLE's estimated truth (0/1 mask) and each rater's sensitivity and specificity."""

    mask: np.ndarray
    sensitivity: np.ndarray
    specificity: np.ndarray


def _union_box(masks: np.ndarray) -> tuple[slice, slice] | None:
    """Row and column slices of the bounding box of all masks' foreground (None if empty)."""
    rows = np.flatnonzero(masks.any(axis=(0, 2)))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(masks[:, rows[0] : rows[-1] + 1].any(axis=(0, 1)))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _rater_patterns(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct per-pixel patterns of the k rater decisions.

    Returns (decisions (U, k) bool, pixel counts (U,), pattern index of each pixel (H', W')).
    Pattern 0 is all-background.
    """
    k = len(masks)
    foreground = (masks != 0).reshape(k, -1)
    if k <= 16:
        codes = np.zeros(foreground.shape[1], dtype=np.int32)
        for rater, rater_foreground in enumerate(foreground):
            codes |= rater_foreground.astype(np.int32) << rater
        counts = np.bincount(codes, minlength=1 << k)
        counts[0] += 1  # keep the all-background pattern even when no pixel shows it
        present = np.flatnonzero(counts)
        counts[0] -= 1
        lookup = np.zeros(1 << k, dtype=np.int64)
        lookup[present] = np.arange(present.size)
        decisions = ((present[:, None] >> np.arange(k)) & 1).astype(bool)
        return decisions, counts[present], lookup[codes].reshape(masks.shape[1:])
    background = np.zeros((1, k), dtype=bool)
    decisions, index, counts = np.unique(
        np.vstack([background, foreground.T]), axis=0, return_inverse=True, return_counts=True
    )
    counts[0] -= 1
    return decisions, counts, index[1:].reshape(masks.shape[1:])


def _staple_em(decisions: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, ...]:
    """ITK's binary STAPLE EM over pattern counts: (truth probability per pattern, p, q)."""
    n = counts.astype(np.float64)
    d = decisions.astype(np.float64)
    truth = d.mean(axis=1)
    prior = float(n @ truth) / n.sum()
    last_p = last_q = np.full(d.shape[1], -10.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        for iteration in range(STAPLE_MAX_ITERATIONS):
            w_in, w_out = n * truth, n * (1.0 - truth)
            p = (w_in @ d) / w_in.sum()
            q = (w_out @ (1.0 - d)) / w_out.sum()
            alpha = np.prod(np.where(decisions, p, 1.0 - p), axis=1)
            beta = np.prod(np.where(decisions, 1.0 - q, q), axis=1)
            truth = prior * alpha / (prior * alpha + (1.0 - prior) * beta)
            converged = (
                iteration > 0
                and np.all((p - last_p) ** 2 <= STAPLE_CONVERGENCE)
                and np.all((q - last_q) ** 2 <= STAPLE_CONVERGENCE)
            )
            if converged:
                break
            last_p, last_q = p, q
    return truth, p, q


def staple(masks: np.ndarray, frame_pixels: int | None = None) -> StapleResult:
    """STAPLE (Warfield et al. 2004) of k binary masks over the whole frame, as ITK computes it.

    Same algorithm, starting point, prior and stopping rule as SimpleITK's STAPLEImageFilter
    with foreground value 1 and confidence weight 1 (`staple_simpleitk` runs that filter; the
    tests hold the two equal). The truth probability is thresholded at >= 0.5.

    Why not call the filter: its EM loop visits every pixel for every rater on each
    iteration (about 0.25 s per 800x600 frame with 11 raters). A pixel's update depends only
    on its pattern of k rater decisions, so running the same EM over the counts of distinct
    patterns (a few hundred) gives the same result in milliseconds. Running the filter on a
    crop instead would change the answer: the prior (mean foreground fraction) and the
    specificities are computed over the region, so the result would depend on the margin.
    Sensitivity and specificity are therefore over the whole frame, like the filter's.

    `frame_pixels`: the pixel count of the whole frame when `masks` are crops of it holding all
    foreground; the pixels outside the crop then count as all-background, so the result equals
    the whole frame's. Deterministic. No foreground in any mask gives an empty mask, NaN
    sensitivities (undefined) and specificities of 1.
    """
    masks = _check_stack(masks)
    k = len(masks)
    box = _union_box(masks)
    if box is None:
        return StapleResult(
            mask=np.zeros(masks.shape[1:], dtype=np.uint8),
            sensitivity=np.full(k, np.nan),
            specificity=np.ones(k),
        )
    decisions, counts, index = _rater_patterns(masks[:, box[0], box[1]])
    # Pixels outside the union's box are all-background: they count, but need no visit.
    counts[0] += (frame_pixels or masks[0].size) - index.size
    truth, p, q = _staple_em(decisions, counts)
    inside = truth >= STAPLE_THRESHOLD
    mask = np.full(masks.shape[1:], inside[0], dtype=np.uint8)
    mask[box] = inside.astype(np.uint8)[index]
    # EM arithmetic can overshoot a probability of 1 by an ulp or two.
    return StapleResult(mask=mask, sensitivity=np.clip(p, 0, 1), specificity=np.clip(q, 0, 1))


def staple_simpleitk(masks: np.ndarray) -> StapleResult:
    """Reference: SimpleITK's STAPLEImageFilter (foreground 1) on the whole frame; slow."""
    masks = _check_stack(masks)
    images = [sitk.GetImageFromArray((m != 0).astype(np.uint8)) for m in masks]
    staple_filter = sitk.STAPLEImageFilter()
    staple_filter.SetForegroundValue(1.0)
    probability = sitk.GetArrayFromImage(staple_filter.Execute(images))
    return StapleResult(
        mask=(probability >= STAPLE_THRESHOLD).astype(np.uint8),
        sensitivity=np.asarray(staple_filter.GetSensitivity()),
        specificity=np.asarray(staple_filter.GetSpecificity()),
    )
