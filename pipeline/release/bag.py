"""BagIt bags (RFC 8493, via the `bagit` library) and their deterministic tar.gz archives."""

from __future__ import annotations

import gzip
import logging
import tarfile
from pathlib import Path

import bagit

from pipeline.checksums import sha256_file
from pipeline.errors import writing
from pipeline.release.info import ReleaseInfo

ARCHIVE_MODE_FILE = 0o644
ARCHIVE_MODE_DIR = 0o755
TAGMANIFEST = "tagmanifest-sha256.txt"

# bagit logs every file it moves and hashes at INFO.
logging.getLogger("bagit").setLevel(logging.WARNING)


def bag_info(info: ReleaseInfo, name: str) -> dict[str, str]:
    """bag-info.txt fields: who, what, which licence, and the release date as Bagging-Date."""
    meta = info.meta
    return {
        "Bagging-Date": info.date,
        "Source-Organization": meta["dataset"]["publisher"],
        "External-Identifier": name,
        "External-Description": meta["dataset"]["title"],
        "Version": info.version,
        "License": f"{info.licence_spdx} {info.licence_url}",
        "Attribution": meta["attribution"]["text"],
        "Ethics": f"IRAS {meta['ethics']['iras_id']}, REC {meta['ethics']['rec_reference']}",
    }


def make_bag(folder: Path, fields: dict[str, str]) -> None:
    """Turn `folder` into a bag in place: its contents move under data/, sha256 manifests."""
    with writing(folder):
        bagit.make_bag(str(folder), bag_info=dict(fields), checksums=["sha256"])
    # bagit lists tag files in directory order, which varies between file systems; sort them
    # so that the same release is the same bytes everywhere.
    tagmanifest = folder / TAGMANIFEST
    lines = sorted(tagmanifest.read_text(encoding="utf-8").splitlines(), key=lambda s: s.split()[1])
    tagmanifest.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_archive(folder: Path, archive: Path, top_name: str, mtime: int) -> str:
    """A deterministic tar.gz of `folder` under `top_name/`; returns its sha256.

    Entries are sorted, owned by 0:0 with no names, mode 644/755, all stamped `mtime`;
    the gzip header carries no file name and the same time.
    """
    with (
        writing(archive),
        archive.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=mtime, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path in [folder, *sorted(folder.rglob("*"))]:
            name = (
                top_name if path == folder else f"{top_name}/{path.relative_to(folder).as_posix()}"
            )
            entry = tar.gettarinfo(str(path), arcname=name)
            entry.uid = entry.gid = 0
            entry.uname = entry.gname = ""
            entry.mtime = mtime
            entry.mode = ARCHIVE_MODE_DIR if path.is_dir() else ARCHIVE_MODE_FILE
            if path.is_file():
                with path.open("rb") as handle:
                    tar.addfile(entry, handle)
            else:
                tar.addfile(entry)
    return sha256_file(archive)
