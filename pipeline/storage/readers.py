"""Reading a release on S3: only a complete one (its marker there), verified or queried."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pipeline.checksums import sha256_file
from pipeline.constants import DATASET_SLUG
from pipeline.errors import ReleaseError, StorageError
from pipeline.exports import layout
from pipeline.release.cut import SEMVER
from pipeline.release.verify import verify_archive, verify_bag
from pipeline.storage.location import S3Location, parse_s3
from pipeline.storage.mirror import safe_relative
from pipeline.storage.releases import TAG_MANIFEST, archive_names, marker_name, read_marker
from pipeline.storage.s3 import filesystem, list_objects, s3_errors
from pipeline.tables.schemas import TABLES

ARCHIVE_SUFFIX = ".tar.gz"


class RemoteRelease:
    """A complete release on S3, named by its folder URL or its archive's."""

    def __init__(self, fs, url: str):
        location = parse_s3(url)
        self.fs, self.url = fs, url
        self.is_archive = location.name.endswith(ARCHIVE_SUFFIX)
        name = location.name
        if self.is_archive:
            name = name.removeprefix(f"{DATASET_SLUG}-").removesuffix(ARCHIVE_SUFFIX)
        if not SEMVER.fullmatch(name) or location.parent.name != DATASET_SLUG:
            raise StorageError(
                f"not a release: give s3://.../{DATASET_SLUG}/<version> or "
                f"s3://.../{DATASET_SLUG}/{DATASET_SLUG}-<version>{ARCHIVE_SUFFIX}",
                file=url,
            )
        self.version, self.dataset = name, location.parent
        marker = read_marker(fs, self.dataset, self.version)
        if marker is None:
            raise StorageError(
                f"release {self.version} is not complete: no {marker_name(self.version)} beside "
                "it (an upload unfinished or interrupted); nothing was read",
                file=url,
            )
        self.marker = marker

    @property
    def folder(self) -> S3Location:
        return self.dataset.child(self.version)

    def marker_problems(self, key: str, local: Path) -> list[str]:
        """The local copy of `key` against the digest the marker recorded for it."""
        if local.is_file() and sha256_file(local) != self.marker.get(key):
            return [
                f"{key}: differs from the completion marker {marker_name(self.version)} "
                "(changed after the release was published)"
            ]
        return []


def verify_remote(url: str) -> list[str]:
    """Problems of a release on S3 (folder or archive): fetched into a temporary folder and
    checked as on disk, and its tag manifest or archive checked against the marker."""
    release = RemoteRelease(filesystem(), url)
    with tempfile.TemporaryDirectory(prefix="unitylv-verify-") as tmp:
        if release.is_archive:
            problems = []
            for name in archive_names(release.version):
                key = release.dataset.child(name)
                if release.fs.exists(key.path):
                    download(release.fs, key, Path(tmp) / name)
            archive = Path(tmp) / archive_names(release.version)[0]
            if not archive.is_file():
                return [f"{archive.name}: missing"]
            problems += release.marker_problems(archive.name, archive)
            return problems + verify_archive(archive)
        bag = Path(tmp) / release.version
        for key in list_objects(release.fs, release.folder):
            target = bag / safe_relative(release.folder, key)
            download(release.fs, release.folder.child(key), target)
        problems = release.marker_problems(f"{release.version}/{TAG_MANIFEST}", bag / TAG_MANIFEST)
        return problems + verify_bag(bag)


def remote_release_tables(url: str) -> dict[str, str]:
    """The schema's tables of a complete release on S3, as s3:// URLs; any other object in
    its tables/ refuses the release (as `release_tables` does on disk)."""
    release = RemoteRelease(filesystem(), url)
    if release.is_archive:
        raise StorageError("give the release folder, not its archive, to query it", file=url)
    tables = release.folder.child("data", layout.TABLES_DIR)
    expected = {f"{name}.parquet": name for name in TABLES}
    found = {}
    for key in sorted(list_objects(release.fs, tables)):
        if key not in expected:
            shown = key if len(key) <= 80 else key[:80] + "…"
            raise ReleaseError(
                f"tables/ holds {shown!r}, which is not a table file of a release: refusing "
                "to open it (run `unitylv verify` on the release)",
                file=url,
            )
        found[expected[key]] = tables.child(key).url
    if not found:
        raise ReleaseError("no tables/<table>.parquet here: not a release", file=url)
    return found


def download(fs, key: S3Location, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with s3_errors(key):
        fs.get_file(key.path, str(target))
