"""Whole-dataset tables assembled from per-bucket Parquet files, streamed, never held whole.

Every bucket's file is already sorted by the table's key. Tables keyed by image or study
(`<site>-<study hash>...`, the bucket being the hash's first digit) need no sort at all: in
key order, rows come site by site and, within a site, bucket by bucket, so the sorted table
is each site's slice of bucket 0's file, then of bucket 1's, ... read a batch at a time
(`_merged_batches`). Other tables (rejects, experts: small) are sorted by DuckDB with a
bounded memory budget, spilling to a temporary folder of the run's own.

The sorted rows go out through one ParquetWriter, a row group at a time, with the same
settings, schema and metadata as `write_table`, so the bytes are those of the whole table
written at once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely

from pipeline.constants import STUDY_BUCKETS as BUCKET_DIGITS
from pipeline.errors import writing
from pipeline.memory import give_back_memory
from pipeline.release.catalog import quote_identifier, quote_literal
from pipeline.tables.parquet_io import (
    GEOMETRY_TYPE_NAMES,
    GEOPARQUET_VERSION,
    PARQUET_COMPRESSION,
    conform,
    row_group_batches,
    row_group_rows,
    write_parquet_atomic,
)
from pipeline.tables.schemas import TableSpec

SORT_MEMORY_LIMIT = "256MB"
BATCH_ROWS = 65_536
# Bucket files are written (and read) in row groups this size, so that reading all sixteen at
# once holds a few MB each: rows of a table with a geometry column are ~4 KB.
PART_ROW_GROUP_ROWS = 4_096
GEOMETRY_PART_ROW_GROUP_ROWS = 512
# The keys whose values start "<site>-<bucket digit>": site (2 digits), "-", the hash.
BUCKETED_KEYS = ("image_id", "study_id")
SITE_AND_BUCKET = 4


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
    give_back_memory()
    return rows


def _row_groups(spec: TableSpec, parts: list[Path], spill_dir: Path) -> Iterator[pa.Table]:
    """The sorted rows in tables of `row_group_rows` rows (the last one shorter), typed."""
    if not parts:
        return
    group_rows = row_group_rows(spec)
    pending: list[pa.RecordBatch] = []
    count = 0
    bucketed = spec.sort_by[0] in BUCKETED_KEYS and all(p.stem in BUCKET_DIGITS for p in parts)
    batches = _merged_batches(spec, parts) if bucketed else _sorted_batches(spec, parts, spill_dir)
    for batch in batches:
        pending.append(batch)
        count += batch.num_rows
        while count >= group_rows:
            table = pa.Table.from_batches(pending)
            yield _typed(table.slice(0, group_rows), spec)
            rest = table.slice(group_rows)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield _typed(pa.Table.from_batches(pending), spec)


def runs_of(batch: pa.RecordBatch, values: pa.Array) -> list[tuple[str, pa.RecordBatch]]:
    """(value, its rows) for each run of equal `values` (one per row) along a batch."""
    changes = pc.not_equal(values[1:], values[:-1]).to_numpy(zero_copy_only=False)
    starts = [0, *(np.flatnonzero(changes) + 1).tolist()]
    ends = [*starts[1:], batch.num_rows]
    return [
        (values[start].as_py(), batch.slice(start, end - start))
        for start, end in zip(starts, ends, strict=True)
    ]


class _Part:
    """One bucket's sorted file, read a batch at a time: the rows of one group (site and
    bucket) after another."""

    def __init__(self, path: Path, spec: TableSpec):
        self.path = path
        self._file = pq.ParquetFile(path, pre_buffer=False)
        self._batches = row_group_batches(self._file, spec.column_names, part_row_group_rows(spec))
        self._key = spec.sort_by[0]
        self._runs: list[tuple[str, pa.RecordBatch]] = []  # (group, its rows), in file order
        self._next_batch()

    def _next_batch(self) -> None:
        """Split the next batch into its runs of one group (a sorted batch has few)."""
        batch = next(self._batches, None)
        if batch is None:
            return
        groups = pc.utf8_slice_codeunits(batch.column(self._key), 0, SITE_AND_BUCKET)
        self._runs = runs_of(batch, groups)

    @property
    def group(self) -> str | None:
        """The group of the next row (None when every row was read)."""
        return self._runs[0][0] if self._runs else None

    def take(self, group: str) -> Iterator[pa.RecordBatch]:
        """Every row of `group` from here on (its rows are contiguous: the file is sorted)."""
        while self._runs and self._runs[0][0] == group:
            yield self._runs.pop(0)[1]
            if not self._runs:
                self._next_batch()

    def close(self) -> None:
        self._file.close()


def _merged_batches(spec: TableSpec, paths: list[Path]) -> Iterator[pa.RecordBatch]:
    """The rows of bucket files of an image- or study-keyed table in key order, streamed:
    group by group (site, then bucket), each group from the one file that holds it."""
    parts = [_Part(path, spec) for path in paths]
    try:
        while True:
            heads = sorted((p.group, i) for i, p in enumerate(parts) if p.group is not None)
            if not heads:
                return
            group, index = heads[0]
            if len(heads) > 1 and heads[1][0] == group:
                raise ValueError(
                    f"{spec.name}: group {group!r} is in two bucket files "
                    f"({parts[index].path.name}, {parts[heads[1][1]].path.name})"
                )
            yield from parts[index].take(group)
    finally:
        for part in parts:
            part.close()


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
            for batch in row_group_batches(parquet, [column], part_row_group_rows(spec)):
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


def part_row_group_rows(spec: TableSpec) -> int:
    """Rows per row group (and per read batch) of a table's bucket files."""
    return GEOMETRY_PART_ROW_GROUP_ROWS if spec.geometry_column else PART_ROW_GROUP_ROWS


def write_part(table: pa.Table, spec: TableSpec, path: Path) -> Path:
    """One bucket's rows of a table, sorted, written atomically (an intermediate, unstamped)."""
    return write_parquet_atomic(
        conform(table, spec),
        path,
        compression=PARQUET_COMPRESSION,
        row_group_size=part_row_group_rows(spec),
    )
