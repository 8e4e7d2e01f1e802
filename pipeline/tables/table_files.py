"""A run's derived tables as Parquet files, opened lazily: nothing is read until asked for."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import ReleaseError
from pipeline.tables.schemas import TABLES


class TableFiles(Mapping[str, pa.Table]):
    """`<folder>/<table>.parquet` for every table of the schema, by name.

    `files["points"]` reads one whole table (and keeps it for the next caller); `batches`,
    `columns` and `num_rows` read only what they need, for the exporters that stream.
    """

    def __init__(self, folder: Path, names: tuple[str, ...] = tuple(sorted(TABLES))):
        self.folder = folder
        self.names = names
        self._loaded: dict[str, pa.Table] = {}

    def path(self, name: str) -> Path:
        if name not in self.names:
            raise KeyError(name)
        return self.folder / f"{name}.parquet"

    def __getitem__(self, name: str) -> pa.Table:
        if name not in self._loaded:
            self._loaded[name] = pq.read_table(self._existing(name))
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def columns(self, name: str, columns: list[str]) -> pa.Table:
        """Only these columns of a table."""
        return pq.read_table(self._existing(name), columns=columns)

    def batches(
        self, name: str, columns: list[str] | None = None, batch_size: int = 65_536
    ) -> Iterator[pa.RecordBatch]:
        """A table's rows in file order, one bounded batch at a time."""
        with pq.ParquetFile(self._existing(name)) as parquet:
            yield from parquet.iter_batches(batch_size=batch_size, columns=columns)

    def num_rows(self, name: str) -> int:
        """Rows of a table, from its footer (no data read)."""
        with pq.ParquetFile(self._existing(name)) as parquet:
            return parquet.metadata.num_rows

    def _existing(self, name: str) -> Path:
        path = self.path(name)
        if not path.is_file():
            raise ReleaseError("derived table missing: run the derive job first", file=str(path))
        return path
