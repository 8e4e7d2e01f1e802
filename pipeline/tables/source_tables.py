"""Arrow tables of the validated source: images, studies, experts, points, contours, rejects.

Each builder takes a ValidatedSource (the whole source) or a BucketSource (one bucket of
studies): both hold `images`, `curves` and `rejects`. Built per bucket,
concatenated and conformed (sorted by each spec's key), they equal the whole source's tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pyarrow as pa
import shapely

from pipeline.geometry import cavity, is_traced_lateral_first, traced_polygon
from pipeline.source.outcomes import (
    AcceptedCurve,
    AcceptedImage,
    Reject,
    ValidatedSource,
    number_experts,
)
from pipeline.tables import schemas
from pipeline.tables.parquet_io import conform, table_from_rows

if TYPE_CHECKING:
    from pipeline.source.buckets import BucketSource


class Source(Protocol):
    """What the builders read: a ValidatedSource or a BucketSource (each builder only the
    attributes it needs). A BucketSource carries the scan's `expert_ids`; any other source's
    experts are numbered from its own accepted curves."""

    images: list[AcceptedImage]
    curves: list[AcceptedCurve]
    rejects: list[Reject]


def _expert_ids(source: Source) -> dict[str, str]:
    ids = getattr(source, "expert_ids", None)
    return ids if ids is not None else expert_ids(source.curves)


def expert_ids(curves: list[AcceptedCurve]) -> dict[str, str]:
    """Stable short ids: source userIds sorted, numbered E01, E02, ..."""
    return number_experts(c.user_id for c in curves)


def images_table(source: Source) -> pa.Table:
    rows = [
        {
            "image_id": i.name.image_id,
            "study_id": i.name.study_id,
            "site": i.name.site,
            "frame": i.name.frame,
            "phase": i.phase,
            "file_name": i.name.file_name,
            "width": i.facts.width,
            "height": i.facts.height,
            "mode": i.facts.mode,
            "sha256": i.facts.sha256,
            "n_experts": i.n_curves,
        }
        for i in source.images
    ]
    return table_from_rows(rows, schemas.IMAGES)


def studies_table(source: Source) -> pa.Table:
    by_study: dict[str, dict] = {}
    for i in source.images:
        row = by_study.setdefault(
            i.name.study_id, {"study_id": i.name.study_id, "site": i.name.site}
        )
        phase = i.phase.lower()
        row[f"{phase}_image_id"] = i.name.image_id
        row[f"{phase}_frame"] = i.name.frame
    return table_from_rows(list(by_study.values()), schemas.STUDIES)


def experts_table(source: ValidatedSource) -> pa.Table:
    counts: dict[str, int] = {}
    for c in source.curves:
        counts[c.user_id] = counts.get(c.user_id, 0) + 1
    return experts_table_for(_expert_ids(source), counts)


def experts_table_for(ids: Mapping[str, str], curves_per_user: Mapping[str, int]) -> pa.Table:
    """The experts table of expert ids (userId -> E..) and accepted curves per userId.

    For the partitioned pipeline: `scan.expert_ids` and the buckets' `curves_per_user()`
    summed; an expert all of whose curves were rejected keeps a row with n_curves = 0.
    """
    rows = [
        {"expert_id": e, "user_id": u, "n_curves": curves_per_user.get(u, 0)}
        for u, e in ids.items()
    ]
    return table_from_rows(rows, schemas.EXPERTS)


def points_table(source: Source) -> pa.Table:
    """Every accepted source point, in source order within each curve."""
    ids = _expert_ids(source)
    lengths = np.array([len(c.xy) for c in source.curves], dtype=np.int64)
    xy = np.concatenate([c.xy for c in source.curves]) if len(lengths) else np.zeros((0, 2))
    curve_of_point = pa.array(np.repeat(np.arange(len(lengths)), lengths))
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    columns = {
        "image_id": pa.array([c.image_id for c in source.curves], pa.string()).take(curve_of_point),
        "expert_id": pa.array([ids[c.user_id] for c in source.curves], pa.string()).take(
            curve_of_point
        ),
        "point_index": (np.arange(len(xy)) - starts).astype(np.int32),
        "x": xy[:, 0],
        "y": xy[:, 1],
    }
    return conform(pa.table(columns), schemas.POINTS)


def contours_table(source: Source) -> pa.Table:
    """One row per accepted expert curve with its cavity and its measures.

    is_valid says whether the curve as traced closes to a simple polygon; geometry, area_px and
    perimeter_px are its cavity's (`pipeline.geometry.cavity`), the region its mask holds. For
    a simple curve that is the traced polygon itself; for one that crosses itself it is the
    even-odd region, a valid Polygon or MultiPolygon, so ST_Area(geometry) = area_px throughout.
    """
    ids = _expert_ids(source)
    traced = np.array([traced_polygon(c.xy) for c in source.curves], dtype=object)
    is_valid = shapely.is_valid(traced)
    cavities = traced.copy()
    for i in np.flatnonzero(~is_valid):
        cavities[i] = cavity(source.curves[i].xy)
    columns = {
        "image_id": [c.image_id for c in source.curves],
        "expert_id": [ids[c.user_id] for c in source.curves],
        "n_points": [len(c.xy) for c in source.curves],
        "reversed": [is_traced_lateral_first(c.xy) for c in source.curves],
        "area_px": shapely.area(cavities),
        "perimeter_px": shapely.length(cavities),
        "is_valid": is_valid,
        "geometry": shapely.to_wkb(cavities, byte_order=1, output_dimension=2),
    }
    columns = {k: np.asarray(v) if k != "geometry" else list(v) for k, v in columns.items()}
    return conform(pa.table(columns, schema=None), schemas.CONTOURS)


def rejects_table(source: Source) -> pa.Table:
    return rejects_table_of(source.rejects)


def rejects_table_of(rejects: Iterable[Reject]) -> pa.Table:
    """The rejects table of any rejects (`scan.rejects`: those belonging to no bucket)."""
    return table_from_rows([r.__dict__ for r in rejects], schemas.REJECTS)


BUCKET_TABLES = {
    schemas.IMAGES.name: images_table,
    schemas.STUDIES.name: studies_table,
    schemas.POINTS.name: points_table,
    schemas.CONTOURS.name: contours_table,
    schemas.REJECTS.name: rejects_table,
}


def bucket_tables(source: BucketSource) -> dict[str, pa.Table]:
    """One bucket's images, studies, points, contours and rejects tables (today's schemas).

    The whole source's tables: concatenate every bucket's (rejects: with
    `rejects_table_of(scan.rejects)`) and conform to the spec, which sorts by its key; the
    experts table comes from `experts_table_for`.
    """
    return {name: build(source) for name, build in BUCKET_TABLES.items()}
