"""Releases on S3: a local mirror of the complete ones, and publishing a new one atomically.

A release is cut locally exactly as on disk (staged, bagged, archived, renamed into place in
the mirror), then uploaded: every file of its folder, its archive and the archive's `.sha256`,
and LAST the completion marker `unitylv-multix/<version>.complete`, which holds the sha256 of
the bag's tag manifest (so of every file) and of the archive. A version without its marker
does not exist: readers refuse it, the mirror leaves it out, and a new cut of that version
overwrites what an interrupted upload left. The marker sits beside the bag, not in it, so the
bag on S3 is file for file the bag on disk.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.checksums import sha256_file
from pipeline.constants import DATASET_SLUG
from pipeline.errors import StorageError
from pipeline.locks import exclusive_lock
from pipeline.release.cut import (
    RELEASE_LOCK,
    SEMVER,
    STAGING_PREFIX,
    archive_path,
    remove_stale_staging,
    version_key,
)
from pipeline.release.publish import crash_point, remove_tree
from pipeline.storage.location import S3Location
from pipeline.storage.mirror import SYNC_LOCK, Index, local_files, pull, send
from pipeline.storage.s3 import ObjectInfo, list_objects, s3_errors

MARKER_SUFFIX = ".complete"
TAG_MANIFEST = "tagmanifest-sha256.txt"


def marker_name(version: str) -> str:
    return f"{version}{MARKER_SUFFIX}"


def archive_names(version: str) -> tuple[str, str]:
    """The archive and its checksum file, as named beside the release folders."""
    archive = archive_path(Path(), version).name
    return archive, f"{archive}.sha256"


def complete_versions(objects: dict[str, ObjectInfo]) -> list[str]:
    """Versions whose completion marker is among `objects` (keys below unitylv-multix/)."""
    versions = [
        key.removesuffix(MARKER_SUFFIX)
        for key in objects
        if key.endswith(MARKER_SUFFIX) and SEMVER.fullmatch(key.removesuffix(MARKER_SUFFIX))
    ]
    return sorted(versions, key=version_key)


def pull_releases(fs, root: S3Location, local_root: Path) -> list[str]:
    """Mirror the complete releases below `root` into `local_root` (folders, archives and
    checksums; changed objects only); what is not a complete release there is removed from
    the mirror. Returns the complete versions, oldest first."""
    dataset = root.child(DATASET_SLUG)
    objects = list_objects(fs, dataset)
    versions = complete_versions(objects)
    wanted = {key: info for key, info in objects.items() if _belongs(key, versions)}
    local_dataset = local_root / DATASET_SLUG
    local_dataset.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(local_dataset / SYNC_LOCK):
        pull(fs, dataset, local_dataset, wanted, keep=_local_only)
        for entry in local_dataset.iterdir():
            if entry.is_dir() and SEMVER.fullmatch(entry.name) and entry.name not in versions:
                remove_tree(entry)  # a cut whose upload never completed
        remove_stale_staging(local_dataset)
    return versions


def publish_release(fs, root: S3Location, local_root: Path, version: str) -> bool:
    """Upload the release `version` cut in the mirror `local_root`, marker last.

    Returns False when S3 already holds it complete (the cut was a no-op). Refuses when a
    higher version was completed on S3 while this one was being cut: versions only go up.
    """
    dataset = root.child(DATASET_SLUG)
    local_dataset = local_root / DATASET_SLUG
    objects = list_objects(fs, dataset)
    versions = complete_versions(objects)
    if version in versions:
        return False
    higher = [v for v in versions if version_key(v) > version_key(version)]
    if higher:
        raise StorageError(
            f"version {higher[-1]} was published there while {version} was being cut: "
            f"versions only go up. Cut a version above {higher[-1]}.",
            file=dataset.url,
        )
    keys = [f"{version}/{relative}" for relative in local_files(local_dataset / version)]
    keys += archive_names(version)
    for done, key in enumerate(keys):
        if done == len(keys) // 2:
            crash_point("upload")  # the crash tests' kill half-way through
        send(fs, local_dataset / key, dataset.child(key))
    for key in sorted(k for k in objects if k.startswith(f"{version}/") and k not in keys):
        with s3_errors(dataset.child(key)):  # left by an interrupted upload of other content
            fs.rm_file(dataset.child(key).path)
    _record_uploads(fs, dataset, local_dataset, keys)
    text = marker_text(version, local_dataset)
    with s3_errors(dataset.child(marker_name(version))):
        fs.pipe_file(dataset.child(marker_name(version)).path, text.encode("utf-8"))
    return True


def marker_text(version: str, local_dataset: Path) -> str:
    """`<sha256>  <key>` lines: the tag manifest (which covers every file) and the archive."""
    archive, _ = archive_names(version)
    tag_manifest = f"{version}/{TAG_MANIFEST}"
    return "".join(
        f"{sha256_file(local_dataset / key)}  {key}\n" for key in (tag_manifest, archive)
    )


def read_marker(fs, dataset: S3Location, version: str) -> dict[str, str] | None:
    """key -> sha256 from the completion marker of `version`; None when there is none."""
    marker = dataset.child(marker_name(version))
    with s3_errors(marker):
        if not fs.exists(marker.path):
            return None
        text = fs.cat_file(marker.path).decode("utf-8", "replace")
    entries = {}
    for line in text.splitlines():
        digest, _, key = line.partition("  ")
        if digest and key:
            entries[key] = digest
    return entries


def _belongs(key: str, versions: list[str]) -> bool:
    top = key.split("/", 1)[0]
    return top in versions or any(key in archive_names(v) for v in versions)


def _local_only(relative: str) -> bool:
    """Entries of the mirror that are this machine's own: the cut lock, staging folders."""
    return relative == RELEASE_LOCK or relative.startswith(STAGING_PREFIX)


def _record_uploads(fs, dataset: S3Location, local_dataset: Path, keys: list[str]) -> None:
    """Note the uploaded objects in the mirror's index, so the next pull fetches none."""
    after = list_objects(fs, dataset)
    index = Index(local_dataset)
    for key in keys:
        if key in after:
            index.record(key, after[key], local_dataset / key)
    index.save()
