"""Writing a release's payload (what becomes the bag's `data/` folder)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa

from pipeline.catalog import catalog_sql
from pipeline.changelog import write_changelog
from pipeline.constants import IMAGES_DIR as SOURCE_IMAGES_DIR
from pipeline.errors import ReleaseError
from pipeline.exports import layout
from pipeline.exports.coco import write_coco
from pipeline.exports.croissant import write_croissant
from pipeline.exports.dataset_card import write_dataset_card, write_licence
from pipeline.exports.nnunet import nnunet_integrity_problems, write_nnunet
from pipeline.licence import DatasetMetadata
from pipeline.parquet_io import write_table
from pipeline.release import previous_version, release_path
from pipeline.release_info import ReleaseInfo
from pipeline.schemas import TABLES


def write_payload(
    folder: Path,
    tables: dict[str, pa.Table],
    info: ReleaseInfo,
    source_root: Path,
    work_dir: Path,
    releases_root: Path,
) -> None:
    """Everything a release holds, written into `folder` (the future data/)."""
    write_tables(folder, tables, info.meta, info.version)
    copy_masks(tables["masks"], work_dir, folder)
    copy_images(tables["images"], source_root, folder)
    write_catalog(folder, sorted(tables))
    write_coco(folder, tables, info)
    problems = nnunet_integrity_problems(write_nnunet(folder, tables, info))
    if problems:
        raise ReleaseError(f"nnU-Net export breaks nnU-Net's rules: {'; '.join(problems[:5])}")
    write_dataset_card(folder, tables, info)
    write_licence(folder, info)
    previous = previous_version(releases_root, info.version)
    older = (previous, release_path(releases_root, previous) / "data") if previous else None
    write_changelog(folder, info, older)
    write_croissant(folder, tables, info)  # last: it records the other files' checksums


def write_tables(
    data_dir: Path, tables: dict[str, pa.Table], meta: DatasetMetadata, version: str
) -> None:
    """`tables/<table>.parquet` for every table, stamped with licence and version."""
    stamp = meta.parquet_stamp(version)
    for name in sorted(tables):
        write_table(tables[name], TABLES[name], data_dir / layout.table_path(name), stamp)


def write_catalog(data_dir: Path, table_names: list[str]) -> None:
    """`catalog.sql`: views over the tables, with relative paths."""
    (data_dir / layout.CATALOG_FILE).write_text(catalog_sql(table_names), encoding="utf-8")


def copy_masks(masks: pa.Table, work_dir: Path, data_dir: Path) -> None:
    """Copy every mask file named in the `masks` table from the work folder."""
    for relative in masks["path"].to_pylist():
        _copy(work_dir / relative, data_dir / relative)


def copy_images(images: pa.Table, source_root: Path, data_dir: Path) -> None:
    """`images/<file name>`: the accepted source frames, byte for byte."""
    for name in images["file_name"].to_pylist():
        _copy(source_root / SOURCE_IMAGES_DIR / name, data_dir / layout.IMAGES_DIR / name)


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
