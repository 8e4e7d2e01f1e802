"""Writing a release's payload (what becomes the bag's `data/` folder)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from pipeline.constants import IMAGES_DIR as SOURCE_IMAGES_DIR
from pipeline.errors import ReleaseError, writing
from pipeline.exports import layout
from pipeline.exports.coco import write_coco
from pipeline.exports.croissant import write_croissant
from pipeline.exports.dataset_card import write_dataset_card, write_licence
from pipeline.exports.nnunet import nnunet_integrity_problems, write_nnunet
from pipeline.memory import give_back_memory
from pipeline.progress import Progress, no_progress
from pipeline.release.catalog import catalog_sql
from pipeline.release.changelog import write_changelog
from pipeline.release.cut import previous_version, release_path
from pipeline.release.info import ReleaseInfo
from pipeline.review.report import Review, write_review
from pipeline.source.licence import DatasetMetadata
from pipeline.tables.parquet_io import restamp_table
from pipeline.tables.schemas import TABLES
from pipeline.tables.table_files import TableFiles

# Files copied per progress report (masks and images are copied a batch of rows at a time).
COPY_BATCH_ROWS = 256


def write_payload(
    folder: Path,
    tables: TableFiles,
    info: ReleaseInfo,
    source_root: Path,
    work_dir: Path,
    releases_root: Path,
    progress: Progress = no_progress,
) -> Review:
    """Everything a release holds, written into `folder` (the future data/); its review.

    Tables are read a few columns and a batch at a time, never whole (`TableFiles`).
    """
    checksums = write_tables(folder, tables, info.meta, info.version)
    for batch in _copy_batches(tables, "masks", ["path", "sha256"], "masks copied", progress):
        copy_masks(batch, work_dir, folder)
    for batch in _copy_batches(
        tables, "images", ["file_name", "sha256"], "images copied", progress
    ):
        copy_images(batch, source_root, folder)
    # From the frames just copied (hash-checked) and the tables: data/qa/.
    review = write_review(folder, tables, info, progress)
    give_back_memory()
    write_catalog(folder, sorted(tables.names))
    write_coco(folder, tables, info)
    give_back_memory()
    problems = nnunet_integrity_problems(write_nnunet(folder, tables, info, work_dir))
    give_back_memory()
    if problems:
        raise ReleaseError(f"nnU-Net export breaks nnU-Net's rules: {'; '.join(problems[:5])}")
    write_dataset_card(folder, tables, info)
    write_licence(folder, info)
    previous = previous_version(releases_root, info.version)
    older = (previous, release_path(releases_root, previous) / "data") if previous else None
    write_changelog(folder, info, older)
    # Last: it records the other files' checksums (the tables' from when they were written).
    write_croissant(folder, tables, info, checksums)
    return review


def _copy_batches(
    tables: TableFiles, name: str, columns: list[str], task: str, progress: Progress
) -> Iterator[pa.RecordBatch]:
    """A table's rows a small batch at a time, reporting `task` as each batch is done."""
    total, done = tables.num_rows(name), 0
    progress(task, 0, total)
    for batch in tables.batches(name, columns, batch_size=COPY_BATCH_ROWS):
        yield batch
        done += batch.num_rows
        progress(task, done, total)


def write_tables(
    data_dir: Path, tables: TableFiles, meta: DatasetMetadata, version: str
) -> dict[str, str]:
    """`tables/<table>.parquet` for every table, stamped with licence and version.

    Each is the run's file with the release's stamp instead of "unreleased", copied a row group
    at a time (the bytes `write_table` would write); returns relative path -> sha256.
    """
    stamp = meta.parquet_stamp(version)
    checksums = {}
    for name in sorted(tables.names):
        relative = layout.table_path(name)
        checksums[relative] = restamp_table(
            tables.existing(name), TABLES[name], data_dir / relative, stamp
        )
    return checksums


def write_catalog(data_dir: Path, table_names: list[str]) -> None:
    """`catalog.sql`: views over the tables, with relative paths."""
    (data_dir / layout.CATALOG_FILE).write_text(catalog_sql(table_names), encoding="utf-8")


def copy_masks(masks: pa.Table | pa.RecordBatch, work_dir: Path, data_dir: Path) -> None:
    """Copy every mask file named in these `masks` rows from the work folder, hash-checked."""
    for relative, sha256 in zip(
        masks["path"].to_pylist(), masks["sha256"].to_pylist(), strict=True
    ):
        copy_checked(work_dir / relative, data_dir / relative, sha256, "written")


def copy_images(images: pa.Table | pa.RecordBatch, source_root: Path, data_dir: Path) -> None:
    """`images/<file name>`: exactly the bytes that were validated (sha256 checked on copy)."""
    for name, sha256 in zip(
        images["file_name"].to_pylist(), images["sha256"].to_pylist(), strict=True
    ):
        source = source_root / SOURCE_IMAGES_DIR / name
        copy_checked(source, data_dir / layout.IMAGES_DIR / name, sha256, "validated")


def copy_checked(source: Path, target: Path, sha256: str, when: str) -> None:
    """Copy `source` to `target` hashing the bytes as they go; refuse if they are not `sha256`.

    One read: the bytes hashed are the bytes written, so a file swapped between the check and
    the copy cannot slip in.
    """
    digest = hashlib.sha256()
    try:
        with source.open("rb") as reader:
            data = reader.read()
    except OSError as exc:
        raise ReleaseError(f"cannot read: {exc.strerror or exc}", file=str(source)) from None
    digest.update(data)
    if digest.hexdigest() != sha256:
        raise ReleaseError(
            f"changed since it was {when} (sha256 {digest.hexdigest()[:16]}…, expected "
            f"{sha256[:16]}…); nothing was released. Run the release again.",
            file=str(source),
        )
    with writing(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
