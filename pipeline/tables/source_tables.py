"""Arrow tables of the validated source: images, studies, experts, points, contours, rejects."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import shapely

from pipeline.geometry import cavity, is_traced_lateral_first, traced_polygon
from pipeline.source.validation import AcceptedCurve, ValidatedSource
from pipeline.tables import schemas
from pipeline.tables.parquet_io import conform, table_from_rows


def expert_ids(curves: list[AcceptedCurve]) -> dict[str, str]:
    """Stable short ids: source userIds sorted, numbered E01, E02, ..."""
    return number_experts({c.user_id for c in curves})


def number_experts(user_ids: set[str]) -> dict[str, str]:
    """userId -> E01, E02, ... in sorted userId order."""
    users = sorted(user_ids)
    width = max(2, len(str(len(users))))
    return {u: f"E{i:0{width}d}" for i, u in enumerate(users, start=1)}


def images_table(source: ValidatedSource) -> pa.Table:
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


def studies_table(source: ValidatedSource) -> pa.Table:
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
    ids = expert_ids(source.curves)
    counts: dict[str, int] = {}
    for c in source.curves:
        counts[c.user_id] = counts.get(c.user_id, 0) + 1
    rows = [{"expert_id": e, "user_id": u, "n_curves": counts[u]} for u, e in ids.items()]
    return table_from_rows(rows, schemas.EXPERTS)


def points_table(source: ValidatedSource, ids: dict[str, str] | None = None) -> pa.Table:
    """Every accepted source point, in source order within each curve.

    `ids` maps userIds to expert ids when they were numbered over more than this source (a
    bucket's records use the whole source's numbering).
    """
    ids = ids or expert_ids(source.curves)
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


def contours_table(source: ValidatedSource, ids: dict[str, str] | None = None) -> pa.Table:
    """One row per accepted expert curve with its cavity and its measures.

    is_valid says whether the curve as traced closes to a simple polygon; geometry, area_px and
    perimeter_px are its cavity's (`pipeline.geometry.cavity`), the region its mask holds. For
    a simple curve that is the traced polygon itself; for one that crosses itself it is the
    even-odd region, a valid Polygon or MultiPolygon, so ST_Area(geometry) = area_px throughout.
    """
    ids = ids or expert_ids(source.curves)
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


def rejects_table(source: ValidatedSource) -> pa.Table:
    rows = [r.__dict__ for r in source.rejects]
    return table_from_rows(rows, schemas.REJECTS)
