"""BagIt bags (RFC 8493, via the `bagit` library) and their deterministic tar.gz archives."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import bagit
from isal import igzip

from pipeline.checksums import HashingWriter
from pipeline.errors import ReleaseError, writing
from pipeline.progress import Progress, counted, no_progress
from pipeline.release.info import ReleaseInfo

ARCHIVE_MODE_FILE = 0o644
ARCHIVE_MODE_DIR = 0o755
MANIFEST = "manifest-sha256.txt"
TAGMANIFEST = "tagmanifest-sha256.txt"
# ISA-L's igzip at its default level: a standard gzip stream (any gunzip, Python's tarfile and
# `gzip -t` read it) at a fifth of zlib's level-6 CPU time, about 1% larger on this payload of
# mostly PNGs. Like zlib's, its bytes are fixed for a given library version: isal is pinned.
ARCHIVE_GZIP_LEVEL = 2

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


def make_bag(folder: Path, fields: dict[str, str]) -> dict[str, str]:
    """Turn `folder` into a bag in place: its contents move under data/, sha256 manifests.

    Returns relative path -> sha256 of every file of the bag, as bagit hashed them
    (`bag_manifest`): the payload is not read again.
    """
    with writing(folder):
        bagit.make_bag(str(folder), bag_info=dict(fields), checksums=["sha256"])
    # bagit lists tag files in directory order, which varies between file systems; sort them
    # so that the same release is the same bytes everywhere.
    tagmanifest = folder / TAGMANIFEST
    lines = sorted(tagmanifest.read_text(encoding="utf-8").splitlines(), key=lambda s: s.split()[1])
    tagmanifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    manifest = bag_manifest(folder)
    unlisted = unlisted_files(folder, manifest)
    if unlisted:
        raise ReleaseError(f"bagit's manifests miss {', '.join(unlisted[:5])}", file=str(folder))
    return manifest


def bag_manifest(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file of a bag, read from its sha256 manifests.

    Only the tag manifest, which no manifest lists, is hashed. The manifests say what the bag
    held when it was made; `pipeline.release.verify` checks that the files still match them.
    """
    manifest = {}
    for name in (MANIFEST, TAGMANIFEST):
        manifest.update(_manifest_entries(folder / name))
    manifest[TAGMANIFEST] = hashlib.sha256((folder / TAGMANIFEST).read_bytes()).hexdigest()
    return dict(sorted(manifest.items()))


def _manifest_entries(path: Path) -> dict[str, str]:
    """path -> checksum lines of a BagIt manifest, read by bagit's rules (`Bag._load_manifests`)
    without its per-line path resolution, which costs more than hashing this bag's files."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReleaseError(f"not a readable BagIt manifest ({exc})", file=str(path)) from None
    entries = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        entry = line.split(None, 1)
        if len(entry) != 2:
            continue  # bagit skips it too: the file it meant shows as unlisted
        name = os.path.normpath(entry[1].lstrip("*"))
        entries[name.replace("%0D", "\r").replace("%0A", "\n")] = entry[0].lower()
    return entries


def unlisted_files(folder: Path, manifest: dict[str, str]) -> list[str]:
    """Files of the bag its manifest does not list, and listed files that are not there."""
    on_disk = {
        (Path(dirpath) / name).relative_to(folder).as_posix()
        for dirpath, _, filenames in os.walk(folder)
        for name in filenames
        if (Path(dirpath) / name).is_file()
    }
    extra = [f"{p} (on disk, not in the manifests)" for p in sorted(on_disk - manifest.keys())]
    missing = [f"{p} (in the manifests, not on disk)" for p in sorted(manifest.keys() - on_disk)]
    return extra + missing


ARCHIVE_TASK = "archive entries"


def write_archive(
    folder: Path, archive: Path, top_name: str, mtime: int, progress: Progress = no_progress
) -> str:
    """A deterministic tar.gz of `folder` under `top_name/`; returns its sha256.

    The compressed bytes are hashed on their way to the file, never read back.
    """
    with writing(archive), archive.open("wb") as raw:
        hashing = HashingWriter(raw)
        _write_tar_gz(folder, hashing, top_name, mtime, progress)
    return hashing.hexdigest()


def archive_digest(
    folder: Path, top_name: str, mtime: int, progress: Progress = no_progress
) -> str:
    """The sha256 `write_archive` would return, without writing the archive anywhere."""
    hashing = HashingWriter()
    _write_tar_gz(folder, hashing, top_name, mtime, progress)
    return hashing.hexdigest()


def _write_tar_gz(
    folder: Path, out: BinaryIO, top_name: str, mtime: int, progress: Progress
) -> None:
    """Entries are sorted, owned by 0:0 with no names, mode 644/755, all stamped `mtime`;
    the gzip header carries no file name and the same time. The tree is walked one folder
    listing at a time, and no entry is kept once written (a bag of any size costs the same)."""
    total = 1 + sum(len(dirs) + len(files) for _, dirs, files in os.walk(folder))
    with (
        igzip.IGzipFile(
            filename="", mode="wb", fileobj=out, mtime=mtime, compresslevel=ARCHIVE_GZIP_LEVEL
        ) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        entries = _sorted_tree(folder, top_name)
        for name, path, status in counted(entries, ARCHIVE_TASK, total, progress):
            entry = tarfile.TarInfo(name)  # owned by 0:0, no user or group names
            entry.mtime = mtime
            if stat.S_ISDIR(status.st_mode):
                entry.type, entry.mode = tarfile.DIRTYPE, ARCHIVE_MODE_DIR
                tar.addfile(entry)
            elif stat.S_ISREG(status.st_mode):
                entry.mode, entry.size = ARCHIVE_MODE_FILE, status.st_size
                with path.open("rb") as handle:
                    tar.addfile(entry, handle)
            else:
                raise ReleaseError("neither a file nor a folder: not archived", file=str(path))
            tar.members.clear()  # TarFile lists every entry added; a writer never reads it


def _sorted_tree(folder: Path, name: str) -> Iterator[tuple[str, Path, os.stat_result]]:
    """(archive name, path, lstat) of `folder` and everything under it, in the order of
    sorted paths: each folder before its contents, siblings by name."""
    status = folder.lstat()
    yield name, folder, status
    if stat.S_ISDIR(status.st_mode):
        with os.scandir(folder) as listing:
            children = sorted(entry.name for entry in listing)
        for child in children:
            yield from _sorted_tree(folder / child, f"{name}/{child}")
