"""Arrow tables of the consensus stage: consensus, consensus_points, notes, STAPLE performance."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import shapely

from pipeline.consensus.stage import ImageConsensus
from pipeline.geometry import cavity
from pipeline.names import CURVE_METHODS, MASK_METHODS, Method
from pipeline.tables import schemas
from pipeline.tables.parquet_io import conform, table_from_rows


def _curves(result: ImageConsensus):
    """(method, left-out expert, curve) of every curve consensus of one image."""
    for method in CURVE_METHODS:
        if method in result.curves:
            yield method, None, result.curves[method]
    for expert_id, curve in result.leave_one_out.items():
        yield Method.ARCLENGTH_MEAN_LOO, expert_id, curve


def consensus_table(results: list[ImageConsensus]) -> pa.Table:
    rows = []
    for r in results:
        n = len(r.image.curves)
        for method, left_out, curve in _curves(r):
            polygon = cavity(curve)
            deviation = r.published_file_deviation_px if method == Method.PUBLISHED_MEAN else None
            rows.append(
                _row(
                    r, method, left_out, n - (left_out is not None), len(curve), polygon, deviation
                )
            )
        for method in MASK_METHODS:
            if method in r.outlines:
                rows.append(_row(r, method, None, n, None, cavity(r.outlines[method])))
    return table_from_rows(rows, schemas.CONSENSUS)


def _row(r, method, left_out, n_experts, n_points, polygon, deviation=None) -> dict:
    return {
        "image_id": r.image.image_id,
        "method": method,
        "left_out_expert_id": left_out,
        "n_experts": n_experts,
        "n_points": n_points,
        "area_px": float(shapely.area(polygon)),
        "published_file_max_deviation_px": deviation,
        "geometry": shapely.to_wkb(polygon, byte_order=1, output_dimension=2),
    }


def consensus_points_table(results: list[ImageConsensus]) -> pa.Table:
    parts = []
    for r in results:
        for method, left_out, curve in _curves(r):
            n = len(curve)
            parts.append(
                pa.table(
                    {
                        "image_id": pa.array([r.image.image_id] * n, pa.string()),
                        "method": pa.array([method] * n, pa.string()),
                        "left_out_expert_id": pa.array([left_out] * n, pa.string()),
                        "point_index": np.arange(n, dtype=np.int32),
                        "x": curve[:, 0],
                        "y": curve[:, 1],
                    }
                )
            )
    spec = schemas.CONSENSUS_POINTS
    table = pa.concat_tables(parts) if parts else spec.schema.empty_table()
    return conform(table, spec)


def consensus_notes_table(results: list[ImageConsensus]) -> pa.Table:
    rows = [
        {"image_id": r.image.image_id, "method": m, "severity": s, "message": msg}
        for r in results
        for m, s, msg in r.notes
    ]
    spec = schemas.CONSENSUS_NOTES
    return table_from_rows(rows, spec)


def staple_performance_table(results: list[ImageConsensus]) -> pa.Table:
    rows = [
        {
            "image_id": r.image.image_id,
            "expert_id": e,
            "sensitivity": float(p),
            "specificity": float(q),
        }
        for r in results
        if r.staple_sensitivity is not None
        for e, p, q in zip(
            r.image.expert_ids, r.staple_sensitivity, r.staple_specificity, strict=True
        )
    ]
    spec = schemas.STAPLE_PERFORMANCE
    return table_from_rows(rows, spec)
