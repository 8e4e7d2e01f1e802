"""Agreement between two raters: overlap of masks and distances between contour boundaries.

Not the authors' evaluation code (DESIGN.md §1): overlap is computed on binary masks at
native resolution, and distances are between the contours' boundaries as continuous curves,
never between image rows or pixel sets.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import shapely
from scipy.spatial import cKDTree

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


def _segment_keys(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """One comparable value per segment, equal for equal segments whichever way they run."""
    forward = (starts[:, 0] < ends[:, 0]) | (
        (starts[:, 0] == ends[:, 0]) & (starts[:, 1] <= ends[:, 1])
    )
    low = np.where(forward[:, None], starts, ends)
    high = np.where(forward[:, None], ends, starts)
    # + 0.0 turns -0.0 into 0.0, so equal coordinates have equal bytes.
    packed = np.ascontiguousarray(np.concatenate([low, high], axis=1) + 0.0)
    return packed.view(np.dtype((np.void, packed.itemsize * 4))).ravel()


_HASH_FACTORS = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93],
    dtype=np.uint64,
)


def _key_hashes(keys: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each segment key (equal keys, equal hashes), for a fast first match."""
    words = keys.view(np.uint64).reshape(len(keys), 4)
    return (words * _HASH_FACTORS).sum(axis=1, dtype=np.uint64)  # wraps around, as meant


def _shared_segments(keys: np.ndarray, hashes: np.ndarray, target: _Boundary) -> np.ndarray:
    """Which of these segments (keys and their hashes) the target has too: `np.isin` on the
    keys, but on integer hashes first (the keys, 32 bytes each, are compared only where a
    hash matches; the flags are the same)."""
    shared = np.isin(hashes, target.key_hashes)
    if shared.any():
        shared[shared] = np.isin(keys[shared], target.keys)
    return shared


class _Boundary:
    """A contour's boundary as segments, and points sampled evenly along it.

    Segments run ring by ring, end to start; repeated points (segments of length 0, which add
    no boundary) are left out. Samples are at most `spacing` apart by arc length along every
    ring; each knows the segment it lies on.
    """

    def __init__(self, shape: shapely.Geometry | np.ndarray, spacing: float):
        self.geometry = _as_polygonal(shape)
        rings = _rings(self.geometry)
        pairs = np.concatenate([np.stack([ring[:-1], ring[1:]], axis=1) for ring in rings])
        ring = np.repeat(np.arange(len(rings)), [len(r) - 1 for r in rings])
        keep = np.any(pairs[:, 0] != pairs[:, 1], axis=1)
        self.starts, self.ends, self.ring = pairs[keep, 0], pairs[keep, 1], ring[keep]
        self.lengths = np.hypot(*(self.ends - self.starts).T)
        self.keys = _segment_keys(self.starts, self.ends)
        self.key_hashes = _key_hashes(self.keys)
        self.samples, self.sample_segment = self._sample(spacing)
        vertices = np.concatenate([r[:-1] for r in rings])
        self.queries = np.concatenate([self.samples, vertices])  # vertices for the maxima

    def _sample(self, spacing: float) -> tuple[np.ndarray, np.ndarray]:
        ring_bounds = np.flatnonzero(np.diff(self.ring)) + 1
        segment, fraction = [], []
        for first, stop in zip([0, *ring_bounds], [*ring_bounds, len(self.ring)], strict=True):
            offsets = np.concatenate([[0.0], np.cumsum(self.lengths[first:stop])])
            n_steps = max(int(np.ceil(offsets[-1] / spacing)), 3)
            along = np.arange(n_steps) * (offsets[-1] / n_steps)
            on = np.searchsorted(offsets, along, side="right") - 1  # lengths are all > 0
            segment.append(first + on)
            fraction.append((along - offsets[on]) / self.lengths[first:stop][on])
        segment, fraction = np.concatenate(segment), np.concatenate(fraction)
        direction = self.ends[segment] - self.starts[segment]
        return self.starts[segment] + fraction[:, None] * direction, segment

    def directed(self, query_distances: np.ndarray, shared: np.ndarray) -> tuple[np.ndarray, float]:
        """(distances of the samples, largest distance of any query point) to a target, given
        the distances of every query point and which of this boundary's segments the target
        has too (`shared`, one flag per segment).

        A sample on a segment the target has too lies on the target's boundary: its distance
        is 0, where measuring it would give a rounding error (~1e-14 px) and keep identical
        contours from scoring exactly 0. (Vertices need no such care: a vertex that is also
        the target's measures exactly 0.)
        """
        n = len(self.samples)
        query_distances[:n][shared[self.sample_segment]] = 0.0
        return query_distances[:n], float(query_distances.max())


def pooled_distances(
    a_to_b: tuple[np.ndarray, float], b_to_a: tuple[np.ndarray, float]
) -> BoundaryDistances:
    """The three distances from both directions' (sample distances, directed Hausdorff)."""
    pooled = np.concatenate([a_to_b[0], b_to_a[0]])
    return BoundaryDistances(
        hausdorff=max(a_to_b[1], b_to_a[1]),
        hd95=float(np.percentile(pooled, 95)),
        mean_contour_distance=float(pooled.mean()),
    )


def segment_tree(boundary: _Boundary) -> shapely.STRtree:
    """An R-tree of the boundary's segments."""
    lines = shapely.linestrings(np.stack([boundary.starts, boundary.ends], axis=1))
    # Two-entry nodes measured fastest for nearest-segment queries (about 2x a linear scan).
    return shapely.STRtree(lines, node_capacity=2)


def _nearest_segment_distances(queries: np.ndarray, tree: shapely.STRtree) -> np.ndarray:
    """Exact distances of (n, 2) points to the nearest segment of an R-tree of segments."""
    (point_index, _), nearest = tree.query_nearest(
        shapely.points(queries), return_distance=True, all_matches=False
    )
    distances = np.empty(len(queries))
    distances[point_index] = nearest
    return distances


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

    Identical contours give exactly 0 for all three.
    """
    a, b = _Boundary(a_polygon, spacing_px), _Boundary(b_polygon, spacing_px)
    return pooled_distances(
        a.directed(
            _nearest_segment_distances(a.queries, segment_tree(b)),
            _shared_segments(a.keys, a.key_hashes, b),
        ),
        b.directed(
            _nearest_segment_distances(b.queries, segment_tree(a)),
            _shared_segments(b.keys, b.key_hashes, a),
        ),
    )


# Batched distances for many pairs of contours (the agreement tables, ~18,000 pairs on the
# sample): each boundary is sampled once (every QUERY_SPACING_PX, plus its vertices) and gets
# a k-d tree of anchors, points on its segments at most ANCHOR_SPACING_PX apart, each vertex
# standing for the two segments that meet there. A query point is measured exactly against
# the segments of its NEAREST_ANCHORS nearest anchors. That is its true distance d when the
# k-th anchor is at least r = sqrt(d² + (ANCHOR_SPACING_PX / 2)²) away: a segment none of
# whose anchors is that near is farther than d (two anchors >= r from the point, at most
# ANCHOR_SPACING_PX apart, leave no point between them nearer than sqrt(r² - (spacing/2)²)).
# The few points where that fails (about 1 in 200 on the sample) are measured against the
# whole boundary. The result equals `boundary_distances` at the same spacing.
QUERY_SPACING_PX = 1.0
ANCHOR_SPACING_PX = 2.0
NEAREST_ANCHORS = 3


class SampledBoundary(_Boundary):
    """A contour's boundary prepared for fast distance queries against other boundaries."""

    def __init__(self, shape: shapely.Geometry | np.ndarray, spacing_px: float = QUERY_SPACING_PX):
        super().__init__(shape, spacing_px)
        counts = np.ceil(self.lengths / ANCHOR_SPACING_PX).astype(np.int64)
        segment = np.repeat(np.arange(len(counts)), counts)
        position = np.arange(len(segment)) - np.repeat(np.cumsum(counts) - counts, counts)
        direction = self.ends - self.starts
        anchors = self.starts[segment] + (position / counts[segment])[:, None] * direction[segment]
        # An anchor at a segment's start is also the end of the ring's previous segment.
        ring_first = np.flatnonzero(np.diff(self.ring, prepend=-1))
        previous = np.arange(len(counts)) - 1
        previous[ring_first] = np.append(ring_first[1:], len(counts)) - 1
        self.anchor_segments = np.stack(
            [segment, np.where(position == 0, previous[segment], segment)], axis=1
        )
        self.tree = cKDTree(anchors)

    def distances_from(self, other: SampledBoundary) -> tuple[np.ndarray, float]:
        """Distances of `other`'s even samples to this boundary, and the directed Hausdorff
        (the largest distance of any of `other`'s samples or vertices)."""
        return self.distances_from_each([other])[0]

    def distances_from_each(
        self, others: Sequence[SampledBoundary]
    ) -> list[tuple[np.ndarray, float]]:
        """`distances_from` of each of `others`, their points measured together in one search
        (the same numbers as one search each, point by point, at a fraction of the calls)."""
        queries = np.concatenate([o.queries for o in others])
        distances = self._query_distances(queries)
        shared = _shared_segments(
            np.concatenate([o.keys for o in others]),
            np.concatenate([o.key_hashes for o in others]),
            self,
        )
        query_ends = np.cumsum([len(o.queries) for o in others])
        segment_ends = np.cumsum([len(o.keys) for o in others])
        return [
            other.directed(d, s)
            for other, d, s in zip(
                others,
                np.split(distances, query_ends[:-1]),
                np.split(shared, segment_ends[:-1]),
                strict=True,
            )
        ]

    def _query_distances(self, queries: np.ndarray) -> np.ndarray:
        """Exact distances of (n, 2) points to this boundary (nearest anchors, then proof)."""
        k = min(NEAREST_ANCHORS, self.tree.n)
        anchor_distances, anchors = self.tree.query(queries, k=list(range(1, k + 1)))
        # Each anchor's own segment; an anchor at a vertex also stands for the segment ending
        # there, measured only for the points that have such an anchor among their nearest.
        own = self.anchor_segments[anchors, 0]
        distances = _row_min(_point_segment_distances(queries, self._segment_columns, own))
        other = self.anchor_segments[anchors, 1]
        at_vertex = np.flatnonzero(functools.reduce(np.logical_or, (other != own).T))
        if len(at_vertex):
            distances[at_vertex] = np.minimum(
                distances[at_vertex],
                _row_min(
                    _point_segment_distances(
                        queries[at_vertex], self._segment_columns, other[at_vertex]
                    )
                ),
            )
        # 1e-9 px² of margin covers rounding in the anchors' positions.
        unproven = (
            anchor_distances[:, -1] ** 2 <= distances**2 + (ANCHOR_SPACING_PX / 2) ** 2 + 1e-9
        )
        if k < self.tree.n and unproven.any():
            distances[unproven] = _nearest_segment_distances(queries[unproven], self.segment_tree)
        return distances

    @functools.cached_property
    def segment_tree(self) -> shapely.STRtree:
        """An R-tree of the boundary's segments, for the points the anchors do not settle."""
        return segment_tree(self)

    @functools.cached_property
    def _segment_columns(self) -> _SegmentColumns:
        sx, sy = np.ascontiguousarray(self.starts.T)
        ex, ey = np.ascontiguousarray(self.ends.T)
        dx, dy = ex - sx, ey - sy
        return _SegmentColumns(sx, sy, ex, ey, dx, dy, dx * dx + dy * dy)


class _SegmentColumns(NamedTuple):
    """A boundary's segments as one contiguous array per quantity (gathered per point)."""

    sx: np.ndarray
    sy: np.ndarray
    ex: np.ndarray
    ey: np.ndarray
    dx: np.ndarray  # ex - sx
    dy: np.ndarray  # ey - sy
    squared_length: np.ndarray  # dx * dx + dy * dy, never 0


def _row_min(values: np.ndarray) -> np.ndarray:
    """The smallest value of each row of an (n, c) array, c small: a minimum column by column
    (numpy's reduction along a short last axis is about 20x slower; the values are the same)."""
    return functools.reduce(np.minimum, values.T)


def _point_segment_distances(
    points: np.ndarray, segments: _SegmentColumns, candidates: np.ndarray
) -> np.ndarray:
    """(n, c) distances from each of n points (n, 2) to its c candidate segments (indices)."""
    px, py = points[:, :1], points[:, 1:]
    sx, sy, ex, ey, dx, dy, squared_length = (column[candidates] for column in segments)
    along = ((px - sx) * dx + (py - sy) * dy) / squared_length
    # Past either end the nearest point is that end itself, not start + 1 * (end - start), which
    # may round off it: a vertex the other boundary shares is at distance exactly 0.
    nx = np.where(along <= 0, sx, np.where(along >= 1, ex, sx + along * dx))
    ny = np.where(along <= 0, sy, np.where(along >= 1, ey, sy + along * dy))
    return np.hypot(px - nx, py - ny)


def sampled_boundary_distances(a: SampledBoundary, b: SampledBoundary) -> BoundaryDistances:
    """`boundary_distances` of two prepared boundaries (same definitions, k-d tree search)."""
    return pooled_distances(b.distances_from(a), a.distances_from(b))
