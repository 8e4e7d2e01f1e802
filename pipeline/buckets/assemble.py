"""Whole-dataset tables assembled from per-bucket Parquet files, streamed, never held whole.

DuckDB reads the bucket files and sorts by the table's key with a bounded memory budget
(spilling to a temporary folder of the run's own); the sorted rows come back as Arrow batches
and go out through one ParquetWriter, a row group at a time, with the same settings, schema
and metadata as `write_table`, so the bytes are those of the whole table written at once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from pipeline.errors import writing
from pipeline.release.catalog import quote_identifier, quote_literal
from pipeline.tables.parquet_io import (
    GEOMETRY_TYPE_NAMES,
    GEOPARQUET_VERSION,
    PARQUET_COMPRESSION,
    ROW_GROUP_ROWS,
    conform,
)
from pipeline.tables.schemas import TableSpec

SORT_MEMORY_LIMIT = "512MB"
BATCH_ROWS = 65_536


def assemble_table(
    spec: TableSpec, parts: list[Path], out: Path, stamp: dict[str, str], spill_dir: Path
) -> int:
    """Write `out`: the rows of every part file, sorted by the spec's key; returns the rows."""
    parts = sorted(p for p in parts if p.is_file())
    metadata = dict(stamp) | {"unitylv.table": spec.name}
    if spec.geometry_column:
        metadata["geo"] = json.dumps(_geo_metadata(spec, parts), sort_keys=True)
    schema = spec.schema.with_metadata({**(spec.schema.metadata or {}), **metadata})
    partial = out.with_name(out.name + ".partial")
    rows = 0
    with writing(out):
        out.parent.mkdir(parents=True, exist_ok=True)
        with pq.ParquetWriter(partial, schema, compression=PARQUET_COMPRESSION) as writer:
            for group in _row_groups(spec, parts, spill_dir):
                writer.write_table(group.replace_schema_metadata(schema.metadata))
                rows += group.num_rows
            if rows == 0:
                writer.write_table(schema.empty_table())
        os.replace(partial, out)
    return rows


def _row_groups(spec: TableSpec, parts: list[Path], spill_dir: Path) -> Iterator[pa.Table]:
    """The sorted rows in tables of ROW_GROUP_ROWS rows (the last one shorter), typed."""
    if not parts:
        return
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in _sorted_batches(spec, parts, spill_dir):
        pending.append(batch)
        count += batch.num_rows
        while count >= ROW_GROUP_ROWS:
            table = pa.Table.from_batches(pending)
            yield _typed(table.slice(0, ROW_GROUP_ROWS), spec)
            rest = table.slice(ROW_GROUP_ROWS)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield _typed(pa.Table.from_batches(pending), spec)


def _typed(table: pa.Table, spec: TableSpec) -> pa.Table:
    return table.select(spec.column_names).cast(spec.schema).combine_chunks()


def _sorted_batches(
    spec: TableSpec, parts: list[Path], spill_dir: Path
) -> Iterator[pa.RecordBatch]:
    spill_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        config={
            "memory_limit": SORT_MEMORY_LIMIT,
            "temp_directory": spill_dir.as_posix(),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
    )
    try:
        # WKB stays bytes: no conversion to DuckDB's GEOMETRY on the way through.
        con.execute("SET enable_geoparquet_conversion = false")
        columns = ", ".join(quote_identifier(c) for c in spec.column_names)
        # The key first, then every other column: a total order, so ties never depend on
        # the order the bucket files were read in.
        keys = [*spec.sort_by, *(c for c in spec.column_names if c not in spec.sort_by)]
        order = ", ".join(f"{quote_identifier(k)} ASC NULLS LAST" for k in keys)
        files = ", ".join(quote_literal(p.as_posix()) for p in parts)
        query = f"SELECT {columns} FROM read_parquet([{files}]) ORDER BY {order}"
        reader = con.execute(query).to_arrow_reader(BATCH_ROWS)
        yield from reader
    finally:
        con.close()


def _geo_metadata(spec: TableSpec, parts: list[Path]) -> dict:
    """GeoParquet 1.1 `geo` metadata over every part, computed a batch at a time."""
    column = spec.geometry_column
    bounds, types = None, set()
    for part in parts:
        with pq.ParquetFile(part) as parquet:
            for batch in parquet.iter_batches(columns=[column], batch_size=BATCH_ROWS):
                geoms = shapely.from_wkb(batch.column(0).to_numpy(zero_copy_only=False))
                types |= set(shapely.get_type_id(geoms).tolist())
                box = shapely.total_bounds(geoms)
                if all(v == v for v in box):
                    bounds = (
                        box
                        if bounds is None
                        else [
                            min(bounds[0], box[0]),
                            min(bounds[1], box[1]),
                            max(bounds[2], box[2]),
                            max(bounds[3], box[3]),
                        ]
                    )
    column_meta = {
        "encoding": "WKB",
        "geometry_types": [GEOMETRY_TYPE_NAMES.get(t, "Geometry") for t in sorted(types)],
        "crs": None,
        "edges": "planar",
    }
    if bounds is not None:
        column_meta["bbox"] = [float(v) for v in bounds]
    return {
        "version": GEOPARQUET_VERSION,
        "primary_column": column,
        "columns": {column: column_meta},
    }


def write_part(table: pa.Table, spec: TableSpec, path: Path) -> Path:
    """One bucket's rows of a table, sorted, written atomically (an intermediate, unstamped)."""
    partial = path.with_name(path.name + ".partial")
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(conform(table, spec), partial, compression=PARQUET_COMPRESSION)
        os.replace(partial, path)
    return path
