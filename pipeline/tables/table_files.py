"""Reading a run's tables a few columns and a bounded batch at a time, never whole.

The exporters read tables through a `TableReader`: `TableFiles` over the run's Parquet files
(what a release uses), or `TablesInMemory` over Arrow tables already in memory (tests, small
tools). `sorted_batches` gives a table's rows in a chosen order, streamed when the files are
already in that order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.errors import ReleaseError
from pipeline.tables.parquet_io import row_group_batches
from pipeline.tables.schemas import TABLES

BATCH_ROWS = 65_536


@runtime_checkable
class TableReader(Protocol):
    """Tables by name, read in parts. `batches` yields rows in the table's key order."""

    names: tuple[str, ...]

    def columns(self, name: str, columns: list[str]) -> pa.Table: ...

    def batches(
        self, name: str, columns: list[str] | None = None, batch_size: int = BATCH_ROWS
    ) -> Iterator[pa.RecordBatch]: ...

    def num_rows(self, name: str) -> int: ...


class TableFiles:
    """`<folder>/<table>.parquet` for every table of the schema, read only as far as asked.

    The files are written by `pipeline.tables.parquet_io.write_table`, which sorts every table
    by its key: file order is key order.
    """

    def __init__(self, folder: Path, names: tuple[str, ...] = tuple(sorted(TABLES))):
        self.folder = folder
        self.names = names

    def path(self, name: str) -> Path:
        if name not in self.names:
            raise KeyError(name)
        return self.folder / f"{name}.parquet"

    def columns(self, name: str, columns: list[str]) -> pa.Table:
        """Only these columns of a table."""
        return pq.read_table(self.existing(name), columns=columns)

    def batches(
        self, name: str, columns: list[str] | None = None, batch_size: int = BATCH_ROWS
    ) -> Iterator[pa.RecordBatch]:
        """A table's rows in file order, one bounded batch at a time."""
        with pq.ParquetFile(self.existing(name), pre_buffer=False) as parquet:
            yield from row_group_batches(parquet, columns, batch_size)

    def num_rows(self, name: str) -> int:
        """Rows of a table, from its footer (no data read)."""
        with pq.ParquetFile(self.existing(name)) as parquet:
            return parquet.metadata.num_rows

    def existing(self, name: str) -> Path:
        path = self.path(name)
        if not path.is_file():
            raise ReleaseError("derived table missing: run the derive job first", file=str(path))
        return path


class TablesInMemory:
    """A `TableReader` over Arrow tables in memory, in any row order."""

    def __init__(self, tables: Mapping[str, pa.Table]):
        self._tables = dict(tables)
        self.names = tuple(sorted(self._tables))

    def columns(self, name: str, columns: list[str]) -> pa.Table:
        return self._tables[name].select(columns)

    def batches(
        self, name: str, columns: list[str] | None = None, batch_size: int = BATCH_ROWS
    ) -> Iterator[pa.RecordBatch]:
        table = self._tables[name]
        if name in TABLES and table.num_rows:
            table = _sorted(table, TABLES[name].sort_by)
        if columns is not None:
            table = table.select(columns)
        yield from table.to_batches(max_chunksize=batch_size)

    def num_rows(self, name: str) -> int:
        return self._tables[name].num_rows


def table_reader(tables: TableReader | Mapping[str, pa.Table]) -> TableReader:
    """`tables` as a `TableReader` (Arrow tables in a mapping are wrapped)."""
    return tables if isinstance(tables, TableReader) else TablesInMemory(tables)


def sorted_batches(
    tables: TableReader,
    name: str,
    columns: list[str],
    keys: tuple[str, ...],
    batch_size: int = BATCH_ROWS,
) -> Iterator[pa.RecordBatch]:
    """`columns` (and `keys`) of a table in `keys` order, ascending, one batch at a time.

    When `keys` lead the table's own sort key the rows already come in that order: they are
    streamed, and checked on the way (a file out of order is a ReleaseError, never a silently
    different export). Any other order reads the columns whole and sorts them in Arrow: meant
    for the small tables (one row per image or mask).
    """
    wanted = list(dict.fromkeys([*columns, *keys]))
    if TABLES[name].sort_by[: len(keys)] == keys:
        yield from _checked_order(tables.batches(name, wanted, batch_size), keys, name)
        return
    table = tables.columns(name, wanted)
    if table.num_rows:
        table = _sorted(table, keys)
    yield from table.to_batches(max_chunksize=batch_size)


def _sorted(table: pa.Table, keys: tuple[str, ...]) -> pa.Table:
    return table.take(pc.sort_indices(table, [(k, "ascending") for k in keys]))


def _checked_order(
    batches: Iterator[pa.RecordBatch], keys: tuple[str, ...], name: str
) -> Iterator[pa.RecordBatch]:
    """The batches unchanged, once each is known to continue the `keys` order (stable sort)."""
    previous = None  # the keys of the last row so far, as a one-row table
    for batch in batches:
        if batch.num_rows == 0:
            continue
        rows = pa.Table.from_batches([batch.select(list(keys))])
        if previous is not None:
            rows = pa.concat_tables([previous, rows])
        order = pc.sort_indices(rows, [(k, "ascending") for k in keys]).to_numpy()
        if not np.array_equal(order, np.arange(rows.num_rows)):
            raise ReleaseError(
                f"rows are not in {', '.join(keys)} order: run the derive job again",
                file=f"{name}.parquet",
            )
        previous = rows.slice(rows.num_rows - 1)
        yield batch
