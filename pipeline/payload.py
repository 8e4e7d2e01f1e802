"""Writing a release's payload (the `data/` folder): tables stamped with the version, catalog."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa

from pipeline.catalog import catalog_sql
from pipeline.licence import DatasetMetadata
from pipeline.parquet_io import write_table
from pipeline.schemas import TABLES


def write_tables(
    data_dir: Path, tables: dict[str, pa.Table], meta: DatasetMetadata, version: str
) -> None:
    """`data/tables/<table>.parquet` for every table, stamped with licence and version."""
    stamp = meta.parquet_stamp(version)
    for name in sorted(tables):
        write_table(tables[name], TABLES[name], data_dir / "tables" / f"{name}.parquet", stamp)


def write_catalog(data_dir: Path, table_names: list[str]) -> None:
    """`data/catalog.sql`: views over the tables, with relative paths."""
    (data_dir / "catalog.sql").write_text(catalog_sql(table_names), encoding="utf-8")


def copy_masks(masks: pa.Table, work_dir: Path, data_dir: Path) -> None:
    """Copy every mask file named in the `masks` table from the work folder."""
    for relative in masks["path"].to_pylist():
        target = data_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(work_dir / relative, target)
