"""Publishing a staged bag: archive, then folder, then the archive's checksum; all read-only.

The order makes every moment safe to crash in:
1. the archive is moved into place: with no `.sha256` beside it, `verify` refuses it, and with
   no folder beside it the version does not exist, so no reader can take it for a release;
2. the bag folder is renamed into place: from here the version exists;
3. the `.sha256` is written last: it is what makes the archive verifiable.
A rerun with the same inputs builds the same bytes and completes whatever step was missing; a
rerun with other inputs never replaces a left-over archive silently: it refuses, naming it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

from pipeline.checksums import sha256_file, tree_manifest
from pipeline.constants import DATASET_SLUG
from pipeline.errors import ReleaseError
from pipeline.progress import Progress, no_progress
from pipeline.release.bag import archive_digest, write_archive
from pipeline.release.info import ReleaseInfo

# Fault injection for the crash tests: the process kills itself (SIGKILL) at this step.
CRASH_ENV = "UNITYLV_CRASH_AT"
STEPS = ("payload", "bag", "archive", "archive_in_place", "renamed", "checksum_in_place")
READ_ONLY_FILE, READ_ONLY_DIR, WRITABLE_DIR = 0o444, 0o555, 0o755
SHOWN_DIFFERENCES = 5


@dataclass(frozen=True)
class ReleaseOutcome:
    path: Path
    created: bool  # False: the identical release already existed (a no-op)
    archive_sha256: str
    manifest: dict[str, str]  # relative path -> sha256 of every file of the bag
    notes: tuple[str, ...] = ()  # what a rerun had to complete or repair, for the user


def publish(
    bag: Path,
    staging: Path,
    final: Path,
    archive: Path,
    info: ReleaseInfo,
    manifest: dict,
    progress: Progress = no_progress,
) -> ReleaseOutcome:
    """Move a new version into place (see the module docstring for the order)."""
    staged_archive, digest = _build_archive(bag, staging, info, progress)
    crash_point("archive")
    notes = []
    left_over = _existing_archive_digest(archive, info.version)
    if left_over is None:
        os.chmod(staged_archive, READ_ONLY_FILE)
        os.replace(staged_archive, archive)
    elif left_over == digest:
        notes.append("completed an interrupted release of this version")
    else:
        raise ReleaseError(
            f"an interrupted release of {info.version} left this archive, with other content "
            "and no release folder beside it (it was never published). Delete it and its "
            ".sha256 to cut this version again, or cut a new version.",
            file=str(archive),
        )
    crash_point("archive_in_place")
    make_read_only(bag, top=False)
    os.rename(bag, final)
    os.chmod(final, READ_ONLY_DIR)
    crash_point("renamed")
    _write_sidecar(archive, digest, staging)
    crash_point("checksum_in_place")
    return ReleaseOutcome(final, True, digest, manifest, tuple(notes))


def recheck_existing(
    final: Path,
    archive: Path,
    bag: Path,
    staging: Path,
    manifest: dict,
    info: ReleaseInfo,
    progress: Progress = no_progress,
) -> ReleaseOutcome:
    """An existing version: refuse different content; for identical content check the archive.

    The existing release's files are hashed again (a fraction of a second for the sample):
    a byte changed in place, even with its manifest left as it was, is a different content.
    A missing archive or `.sha256` (a cut interrupted after
    the rename) is written again, with a note; an archive whose bytes differ from the
    identical build is refused, never replaced.
    """
    existing = tree_manifest(final)
    differences = manifest_difference(existing, manifest)
    if differences:
        shown = "; ".join(differences[:SHOWN_DIFFERENCES])
        more = len(differences) - SHOWN_DIFFERENCES
        raise ReleaseError(
            f"version {info.version} exists with different content and is immutable: {shown}"
            f"{f'; and {more} more' if more > 0 else ''}. Cut a new version instead.",
            file=str(final),
        )
    notes = []
    actual = _existing_archive_digest(archive, info.version)
    if actual is None:
        staged_archive, digest = _build_archive(bag, staging, info, progress)
        os.chmod(staged_archive, READ_ONLY_FILE)
        os.replace(staged_archive, archive)
        notes.append(f"its archive {archive.name} was missing: written again")
    else:
        digest = archive_digest(bag, *_archive_top_and_mtime(info), progress)
        if actual != digest:
            raise ReleaseError(
                f"version {info.version} exists with identical content, but its archive differs "
                f"from it (sha256 {actual[:16]}…, the release builds {digest[:16]}…): it was "
                "changed after release. Delete it and its .sha256 to have them written again.",
                file=str(archive),
            )
    sidecar = _sidecar(archive)
    if not sidecar.is_file() or sidecar.read_text(encoding="utf-8") != _sidecar_text(
        archive, digest
    ):
        _write_sidecar(archive, digest, staging)
        notes.append(f"{sidecar.name} was missing or wrong: written again")
    return ReleaseOutcome(final, False, digest, existing, tuple(notes))


def manifest_difference(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """Paths that differ between two manifests, each with how."""
    changed = [f"{p} (changed)" for p in sorted(old.keys() & new.keys()) if old[p] != new[p]]
    missing = [f"{p} (only in the existing release)" for p in sorted(old.keys() - new.keys())]
    extra = [f"{p} (only in the new build)" for p in sorted(new.keys() - old.keys())]
    return changed + missing + extra


def make_read_only(folder: Path, *, top: bool = True) -> None:
    """Take every write bit off the files and folders below `folder` (and `folder` itself).

    The top folder is left writable when asked: renaming a folder into another one needs write
    access to it (its `..` entry changes), so it is made read-only after the rename.
    """
    # os.walk holds one folder's listing at a time (Path.rglob remembers every path it gave).
    for dirpath, dirnames, filenames in os.walk(folder):
        for names, mode in ((dirnames, READ_ONLY_DIR), (filenames, READ_ONLY_FILE)):
            for name in names:
                path = os.path.join(dirpath, name)
                if not os.path.islink(path):
                    os.chmod(path, mode)
    if top:
        os.chmod(folder, READ_ONLY_DIR)


def remove_tree(folder: Path) -> None:
    """Remove a folder even when its contents are read-only (a staging bag made read-only)."""
    if not folder.exists():
        return
    for dirpath, _, _ in os.walk(folder):
        os.chmod(dirpath, WRITABLE_DIR)
    shutil.rmtree(folder, ignore_errors=True)


def crash_point(step: str) -> None:
    if os.environ.get(CRASH_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def _build_archive(
    bag: Path, staging: Path, info: ReleaseInfo, progress: Progress = no_progress
) -> tuple[Path, str]:
    """The release's deterministic archive, written in the staging folder; (path, sha256)."""
    staged = staging / f"{DATASET_SLUG}-{info.version}.tar.gz"
    digest = write_archive(bag, staged, *_archive_top_and_mtime(info), progress)
    return staged, digest


def _archive_top_and_mtime(info: ReleaseInfo) -> tuple[str, int]:
    """The archive's top folder name and the time stamped on every entry: the release date."""
    mtime = int(dt.datetime.fromisoformat(info.date).replace(tzinfo=dt.UTC).timestamp())
    return f"{DATASET_SLUG}-{info.version}", mtime


def _existing_archive_digest(archive: Path, version: str) -> str | None:
    """sha256 of the archive in place, None when there is none; refuses a non-file there."""
    if not os.path.lexists(archive):
        return None
    if archive.is_symlink() or not archive.is_file():
        raise ReleaseError(
            f"the archive of {version} is not a regular file; remove it to cut this version",
            file=str(archive),
        )
    return sha256_file(archive)


def _sidecar(archive: Path) -> Path:
    return archive.with_name(archive.name + ".sha256")


def _sidecar_text(archive: Path, digest: str) -> str:
    return f"{digest}  {archive.name}\n"


def _write_sidecar(archive: Path, digest: str, staging: Path) -> None:
    staged = staging / _sidecar(archive).name
    staged.write_text(_sidecar_text(archive, digest), encoding="utf-8")
    os.chmod(staged, READ_ONLY_FILE)
    os.replace(staged, _sidecar(archive))
