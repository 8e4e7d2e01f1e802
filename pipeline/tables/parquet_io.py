"""Writing tables as deterministic Parquet files with licence, version and GeoParquet metadata."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely

from pipeline.checksums import HashingWriter
from pipeline.errors import ReleaseError, writing
from pipeline.tables.schemas import TableSpec

GEOPARQUET_VERSION = "1.1.0"
# How every table file is written (`restamp_table` and the bucket assembly copy them).
PARQUET_COMPRESSION = "zstd"
# A row group is the unit every reader and writer holds in memory at once: ~30 MB of the point
# tables' rows. Tables with a geometry column hold a polygon per row (~4 KB): fewer rows.
ROW_GROUP_ROWS = 262_144
GEOMETRY_ROW_GROUP_ROWS = 4_096


def row_group_rows(spec: TableSpec) -> int:
    """Rows per row group of a table's Parquet file."""
    if spec.geometry_column:
        return min(ROW_GROUP_ROWS, GEOMETRY_ROW_GROUP_ROWS)
    return ROW_GROUP_ROWS


GEOMETRY_TYPE_NAMES = {3: "Polygon", 6: "MultiPolygon", 1: "LineString", 0: "Point"}


def row_group_batches(
    parquet: pq.ParquetFile, columns: list[str] | None, batch_size: int
) -> Iterator[pa.RecordBatch]:
    """A file's rows in file order, batches of at most `batch_size` rows, read a row group at
    a time. (`ParquetFile.iter_batches` keeps memory it no longer needs as it goes: about 1 MB
    a batch on a 52-million-row table, over a GB in all.)"""
    for group in range(parquet.num_row_groups):
        yield from parquet.read_row_group(group, columns=columns).to_batches(batch_size)


def conform(table: pa.Table, spec: TableSpec) -> pa.Table:
    """Cast to the spec's schema (column order and types) and sort by its key."""
    table = table.select(spec.column_names).cast(spec.schema)
    if table.num_rows and spec.sort_by:
        table = table.take(pc.sort_indices(table, [(k, "ascending") for k in spec.sort_by]))
    return table


def table_from_rows(rows: list[dict], spec: TableSpec) -> pa.Table:
    """A table of the spec's schema from row dicts, conformed (typed and sorted)."""
    return conform(pa.Table.from_pylist(rows, schema=spec.schema), spec)


def geo_metadata(table: pa.Table, column: str) -> dict:
    """GeoParquet 1.1 `geo` metadata for a WKB column in pixel space (crs explicitly null)."""
    geoms = shapely.from_wkb(table.column(column).to_numpy(zero_copy_only=False))
    types = sorted({t for t in shapely.get_type_id(geoms).tolist()})
    bbox = [float(v) for v in shapely.total_bounds(geoms)] if len(geoms) else []
    column_meta = {
        "encoding": "WKB",
        "geometry_types": [GEOMETRY_TYPE_NAMES.get(t, "Geometry") for t in types],
        "crs": None,
        "edges": "planar",
    }
    if bbox and all(v == v for v in bbox):
        column_meta["bbox"] = bbox
    return {
        "version": GEOPARQUET_VERSION,
        "primary_column": column,
        "columns": {column: column_meta},
    }


def table_metadata(spec: TableSpec, stamp: dict[str, str], geo: str | None) -> dict[str, str]:
    """A table file's key-value metadata: the schema's, `stamp`, the table's name, `geo`."""
    metadata = dict(stamp)
    metadata["unitylv.table"] = spec.name
    if geo is not None:
        metadata["geo"] = geo
    return {**(spec.schema.metadata or {}), **metadata}


def write_table(table: pa.Table, spec: TableSpec, path: Path, stamp: dict[str, str]) -> Path:
    """Write `table` conformed to `spec` at `path` atomically, `stamp` as key-value metadata."""
    table = conform(table, spec)
    geo = None
    if spec.geometry_column:
        geo = json.dumps(geo_metadata(table, spec.geometry_column), sort_keys=True)
    table = table.replace_schema_metadata(table_metadata(spec, stamp, geo))
    return write_parquet_atomic(
        table, path, compression=PARQUET_COMPRESSION, row_group_size=row_group_rows(spec)
    )


def write_parquet_atomic(table: pa.Table, path: Path, **options) -> Path:
    """`pq.write_table(table, path, **options)` through a `.partial` file renamed into place:
    a reader never sees half a file, and a failed write leaves the old one."""
    partial = path.with_name(path.name + ".partial")
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, partial, **options)
        os.replace(partial, path)
    return path


def restamp_table(source: Path, spec: TableSpec, path: Path, stamp: dict[str, str]) -> str:
    """Copy a file written by `write_table` to `path` with another `stamp`; its sha256.

    The rows are not read whole: one row group at a time goes from `source` to `path` through
    the same writer settings, so `path` holds exactly the bytes `write_table` would write for
    the same table and stamp (the `geo` metadata, a summary of the unchanged rows, is kept).
    The bytes are hashed as they are written.
    """
    with pq.ParquetFile(source) as reader:
        written = reader.schema_arrow
        geo = (written.metadata or {}).get(b"geo") if spec.geometry_column else None
        if not written.remove_metadata().equals(spec.schema.remove_metadata()) or (
            spec.geometry_column and geo is None
        ):
            raise ReleaseError(
                f"not a {spec.name} table written by this version: run the derive job again",
                file=str(source),
            )
        metadata = table_metadata(spec, stamp, geo.decode() if geo is not None else None)
        schema = written.with_metadata(metadata)
        partial = path.with_name(path.name + ".partial")
        with writing(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            with partial.open("wb") as raw:
                hashing = HashingWriter(raw)
                with pq.ParquetWriter(hashing, schema, compression=PARQUET_COMPRESSION) as writer:
                    for group in range(reader.num_row_groups):
                        rows = reader.read_row_group(group).replace_schema_metadata(metadata)
                        writer.write_table(rows, row_group_size=row_group_rows(spec))
            os.replace(partial, path)
    return hashing.hexdigest()


def read_table(path: Path) -> pa.Table:
    """Read a Parquet file written by `write_table`."""
    return pq.read_table(path)


def file_metadata(path: Path) -> dict[str, str]:
    """The key-value metadata of a Parquet file, decoded."""
    raw = pq.read_schema(path).metadata or {}
    return {k.decode(): v.decode() for k, v in raw.items() if k != b"ARROW:schema"}
