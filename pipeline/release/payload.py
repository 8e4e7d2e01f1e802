"""Writing a release's payload (what becomes the bag's `data/` folder)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa

from pipeline.constants import IMAGES_DIR as SOURCE_IMAGES_DIR
from pipeline.errors import ReleaseError, writing
from pipeline.exports import layout
from pipeline.exports.coco import write_coco
from pipeline.exports.croissant import write_croissant
from pipeline.exports.dataset_card import write_dataset_card, write_licence
from pipeline.exports.nnunet import nnunet_integrity_problems, write_nnunet
from pipeline.release.catalog import catalog_sql
from pipeline.release.changelog import write_changelog
from pipeline.release.cut import previous_version, release_path
from pipeline.release.info import ReleaseInfo
from pipeline.source.licence import DatasetMetadata
from pipeline.tables.parquet_io import write_table
from pipeline.tables.schemas import TABLES


def write_payload(
    folder: Path,
    tables: Mapping[str, pa.Table],
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
    data_dir: Path, tables: Mapping[str, pa.Table], meta: DatasetMetadata, version: str
) -> None:
    """`tables/<table>.parquet` for every table, stamped with licence and version."""
    stamp = meta.parquet_stamp(version)
    for name in sorted(tables):
        write_table(tables[name], TABLES[name], data_dir / layout.table_path(name), stamp)


def write_catalog(data_dir: Path, table_names: list[str]) -> None:
    """`catalog.sql`: views over the tables, with relative paths."""
    (data_dir / layout.CATALOG_FILE).write_text(catalog_sql(table_names), encoding="utf-8")


def copy_masks(masks: pa.Table, work_dir: Path, data_dir: Path) -> None:
    """Copy every mask file named in the `masks` table from the work folder, hash-checked."""
    for relative, sha256 in zip(
        masks["path"].to_pylist(), masks["sha256"].to_pylist(), strict=True
    ):
        copy_checked(work_dir / relative, data_dir / relative, sha256, "written")


def copy_images(images: pa.Table, source_root: Path, data_dir: Path) -> None:
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
