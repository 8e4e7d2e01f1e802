"""Agreement between two raters: overlap of masks and distances between contour boundaries.

Not the authors' evaluation code (DESIGN.md §1): overlap is computed on binary masks at
native resolution, and distances are between the contours' boundaries as continuous curves,
never between image rows or pixel sets.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import shapely
from scipy.spatial import cKDTree

from pipeline.consensus.methods import resample_by_arclength
from pipeline.geometry import cavity

# Boundary samples are at most this far apart along the boundary (pixels). The Hausdorff
# distance also uses every vertex, so it is exact for translated shapes; elsewhere sampling
# can underestimate it by at most half this step.
BOUNDARY_SPACING_PX = 0.5


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape[-2:] != b.shape[-2:]:
        raise ValueError(f"mask shapes differ: {a.shape} vs {b.shape}")


def _count_inside(masks: np.ndarray) -> np.ndarray:
    """Pixels set in each (H, W) mask of a boolean stack (one count per leading index)."""
    flat = masks.reshape(-1, masks.shape[-2] * masks.shape[-1])
    # count_nonzero per mask is ~10x faster than count_nonzero(..., axis=(-2, -1)).
    counts = np.array([np.count_nonzero(m) for m in flat], dtype=np.int64)
    return counts.reshape(masks.shape[:-2])


def _overlap_counts(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
    """Pixel counts |A and B|, |A|, |B| over the last two axes (nonzero = inside)."""
    _check_pair(a, b)
    a, b = np.asarray(a) != 0, np.asarray(b) != 0
    return _count_inside(a & b), _count_inside(a), _count_inside(b)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, with 0 / 0 (both masks empty) meaning perfect agreement."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, numerator / safe, 1.0)


def dice_many(masks: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(k,) Dice 2|A and R| / (|A| + |R|) of each mask in a (k, H, W) stack against one (H, W)."""
    both, size_a, size_b = _overlap_counts(masks, reference)
    return _ratio(2 * both, size_a + size_b)


def iou_many(masks: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(k,) IoU |A and R| / |A or R| of each mask in a (k, H, W) stack against one (H, W)."""
    both, size_a, size_b = _overlap_counts(masks, reference)
    return _ratio(both, size_a + size_b - both)


def dice(a_mask: np.ndarray, b_mask: np.ndarray) -> float:
    """Dice coefficient 2|A and B| / (|A| + |B|) of two binary masks; 1.0 when both are empty."""
    return float(dice_many(a_mask, b_mask))


def iou(a_mask: np.ndarray, b_mask: np.ndarray) -> float:
    """Intersection over union |A and B| / |A or B| of two masks; 1.0 when both are empty."""
    return float(iou_many(a_mask, b_mask))


class BoundaryDistances(NamedTuple):
    """Symmetric boundary distances between two contours, in pixels."""

    hausdorff: float
    hd95: float
    mean_contour_distance: float


def _as_polygonal(shape: shapely.Geometry | np.ndarray) -> shapely.Geometry:
    """A polygonal geometry from a shapely geometry or an (N, 2) open curve (its cavity)."""
    geometry = shape if isinstance(shape, shapely.Geometry) else cavity(shape)
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValueError(f"contour must be polygonal, got a {geometry.geom_type}")
    if geometry.is_empty:
        raise ValueError("empty contour")
    return geometry


def _rings(geometry: shapely.Geometry) -> list[np.ndarray]:
    """Closed coordinate arrays (first point repeated last) of every ring of a polygonal shape."""
    rings = shapely.get_rings(shapely.get_parts(geometry))
    return [shapely.get_coordinates(ring) for ring in rings]


def _boundary_samples(geometry: shapely.Geometry, spacing: float) -> np.ndarray:
    """Points evenly spaced by arc length (at most `spacing` apart) along every ring."""
    samples = []
    for ring in _rings(geometry):
        length = shapely.length(shapely.LineString(ring))
        n_steps = max(int(np.ceil(length / spacing)), 3)
        samples.append(resample_by_arclength(ring, n_steps + 1)[:-1])  # drop the repeated start
    return np.concatenate(samples)


def _vertices(geometry: shapely.Geometry) -> np.ndarray:
    return np.concatenate([ring[:-1] for ring in _rings(geometry)])


def _boundary_segments(geometry: shapely.Geometry) -> shapely.STRtree:
    """A spatial index of the two-point segments of every ring of a polygonal shape."""
    ends = np.concatenate([np.stack([ring[:-1], ring[1:]], axis=1) for ring in _rings(geometry)])
    # Two-entry nodes measured fastest for nearest-segment queries (about 2x a linear scan).
    return shapely.STRtree(shapely.linestrings(ends), node_capacity=2)


def _distances_to_boundary(
    source: shapely.Geometry, target: shapely.Geometry, spacing: float
) -> tuple[np.ndarray, float]:
    """Distances from the even samples of source's boundary to target's boundary, and the
    largest distance from any sample or vertex of source (directed Hausdorff)."""
    samples = _boundary_samples(source, spacing)
    points = shapely.points(np.concatenate([samples, _vertices(source)]))
    (point_index, _), nearest = _boundary_segments(target).query_nearest(
        points, return_distance=True, all_matches=False
    )
    distances = np.empty(len(points))
    distances[point_index] = nearest
    return distances[: len(samples)], float(distances.max())


def boundary_distances(
    a_polygon: shapely.Geometry | np.ndarray,
    b_polygon: shapely.Geometry | np.ndarray,
    spacing_px: float = BOUNDARY_SPACING_PX,
) -> BoundaryDistances:
    """Hausdorff, HD95 and mean contour distance between the boundaries of two contours.

    Inputs are cavity polygons or (N, 2) open curves (closed along the mitral plane). Each
    boundary dA, dB is sampled evenly by arc length, at most `spacing_px` apart, and each
    sample's Euclidean distance to the OTHER boundary (the continuous polyline, not its
    vertices) is measured: d(a, dB) = min over b in dB of |a - b|.

    - hausdorff = max(max_a d(a, dB), max_b d(b, dA)), the symmetric Hausdorff distance; the
      maxima also include every vertex, where e.g. a translated copy attains it.
    - hd95 = the 95th percentile (linear interpolation) of the pooled distances of both
      directions; as samples are evenly spaced, each boundary weighs by its length.
    - mean_contour_distance = the mean of the same pooled distances, i.e.
      (integral of d over dA + integral of d over dB) / (|dA| + |dB|).
    """
    a, b = _as_polygonal(a_polygon), _as_polygonal(b_polygon)
    a_to_b, a_max = _distances_to_boundary(a, b, spacing_px)
    b_to_a, b_max = _distances_to_boundary(b, a, spacing_px)
    pooled = np.concatenate([a_to_b, b_to_a])
    return BoundaryDistances(
        hausdorff=max(a_max, b_max),
        hd95=float(np.percentile(pooled, 95)),
        mean_contour_distance=float(pooled.mean()),
    )


# Batched distances for many pairs of contours (the agreement tables, ~18,000 pairs on the
# sample): each boundary is sampled once into query points (every QUERY_SPACING_PX plus its
# vertices) and a k-d tree over dense points (every TREE_SPACING_PX). A point-to-boundary
# distance d is overestimated by at most sqrt(d² + (TREE_SPACING_PX / 2)²) - d (0.125 px at
# d = 0, 0.008 px at d = 1). Against the exact `boundary_distances`, on the sample data:
# Hausdorff within 0.1 px, HD95 within 0.2 px, mean contour distance within 0.02 px, at about
# a fifth of the cost. Vertices are always queried and the largest distances re-measured
# exactly, so a translated copy gives the shift exactly.
QUERY_SPACING_PX = 1.0
TREE_SPACING_PX = 0.25


class SampledBoundary:
    """A contour's boundary prepared for fast distance queries against other boundaries."""

    def __init__(self, shape: shapely.Geometry | np.ndarray):
        geometry = _as_polygonal(shape)
        self.samples = _boundary_samples(geometry, QUERY_SPACING_PX)
        self.queries = np.concatenate([self.samples, _vertices(geometry)])
        self.tree = cKDTree(_boundary_samples(geometry, TREE_SPACING_PX))
        self.boundary = geometry.boundary
        shapely.prepare(self.boundary)

    def distances_from(self, other: SampledBoundary) -> tuple[np.ndarray, float]:
        """Distances of `other`'s even samples to this boundary, and the directed Hausdorff.

        The Hausdorff maximum is exact over the query points: every point whose tree distance
        could be the largest is measured again against the continuous boundary.
        """
        distances, _ = self.tree.query(other.queries, k=1)
        contenders = other.queries[distances >= distances.max() - TREE_SPACING_PX / 2]
        exact = shapely.distance(shapely.points(contenders), self.boundary)
        return distances[: len(other.samples)], float(exact.max())


def sampled_boundary_distances(a: SampledBoundary, b: SampledBoundary) -> BoundaryDistances:
    """`boundary_distances` of two prepared boundaries (same definitions, k-d tree search)."""
    a_to_b, a_max = b.distances_from(a)
    b_to_a, b_max = a.distances_from(b)
    pooled = np.concatenate([a_to_b, b_to_a])
    return BoundaryDistances(
        hausdorff=max(a_max, b_max),
        hd95=float(np.percentile(pooled, 95)),
        mean_contour_distance=float(pooled.mean()),
    )
