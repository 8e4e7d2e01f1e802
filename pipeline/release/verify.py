"""Checking a release bag or archive: every changed, missing or extra file is named."""

from __future__ import annotations

import tarfile
import tempfile
from pathlib import Path

import bagit

from pipeline.checksums import sha256_file
from pipeline.errors import ReleaseError

TAGMANIFEST_PREFIX = "tagmanifest-"


def verify_bag(folder: Path) -> list[str]:
    """Problems of a bag folder: files changed, missing from or unknown to its manifests."""
    try:
        bag = bagit.Bag(str(folder))
    except (bagit.BagError, UnicodeDecodeError) as exc:  # a damaged manifest may not decode
        # A damaged tag file (bag-info.txt, say) can stop bagit from reading the bag at all;
        # the tag manifest still says which file it is.
        damaged = _tag_files_not_matching(folder)
        if damaged:
            return damaged
        raise ReleaseError(f"not a BagIt bag ({exc})", file=str(folder)) from None
    only_in_manifest, only_on_disk = bag.compare_manifests_with_fs()
    problems = [f"{p}: missing" for p in sorted(only_in_manifest)]
    problems += [f"{p}: extra file, not in the manifest" for p in sorted(only_on_disk)]
    listed = set(bag.entries)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if (
            not relative.startswith("data/")
            and relative not in listed
            and not relative.startswith(TAGMANIFEST_PREFIX)
        ):
            problems.append(f"{relative}: extra file, not in the tag manifest")
    problems += _unlisted_folders(folder, listed)
    missing = set(only_in_manifest)
    for relative, hashes in sorted(bag.entries.items()):
        target = folder / relative
        if relative in missing or not target.is_file():
            if not relative.startswith("data/"):
                problems.append(f"{relative}: missing")
            continue
        if sha256_file(target) != hashes.get("sha256", "").lower():
            problems.append(f"{relative}: changed (sha256 differs from the manifest)")
    return problems


def verify_archive(archive: Path) -> list[str]:
    """Problems of a release archive: its .sha256 sidecar, then the bag inside it."""
    problems = []
    sidecar = archive.with_name(archive.name + ".sha256")
    if not sidecar.is_file():
        problems.append(
            f"{archive.name}: no {sidecar.name} beside it, so its bytes cannot be checked "
            "(an interrupted release, or a copy without its checksum)"
        )
    else:
        expected = (sidecar.read_text(encoding="utf-8", errors="replace").split() or [""])[0]
        if sha256_file(archive) != expected:
            problems.append(f"{archive.name}: changed (sha256 differs from {sidecar.name})")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            return [*problems, f"{archive.name}: not a readable tar.gz ({exc})"]
        tops = list(Path(tmp).iterdir())
        if len(tops) != 1 or not tops[0].is_dir():
            return [*problems, f"{archive.name}: expected one top-level folder"]
        problems += [f"{archive.name}!{p}" for p in verify_bag(tops[0])]
    return problems


def verify_release(path: Path) -> list[str]:
    """Problems of a release given as its folder or its .tar.gz archive."""
    if path.is_dir():
        return verify_bag(path)
    if path.is_file() and path.name.endswith(".tar.gz"):
        return verify_archive(path)
    raise ReleaseError("neither a release folder nor a .tar.gz archive", file=str(path))


def _tag_files_not_matching(folder: Path) -> list[str]:
    """Tag files missing or not matching tagmanifest-sha256.txt (empty if it is unreadable)."""
    manifest = folder / f"{TAGMANIFEST_PREFIX}sha256.txt"
    if not manifest.is_file():
        return []
    damaged = []
    for line in manifest.read_text(encoding="utf-8", errors="replace").splitlines():
        digest, _, name = line.partition(" ")
        name = name.strip()
        target = folder / name
        if not target.is_file():
            damaged.append(f"{name}: missing")
        elif sha256_file(target) != digest:
            damaged.append(f"{name}: changed (sha256 differs from the manifest)")
    return damaged


def _unlisted_folders(folder: Path, listed: set[str]) -> list[str]:
    """Folders of the bag that hold no listed file (an added empty folder, say)."""
    needed = {p for entry in listed for p in Path(entry).parents if p != Path(".")}
    return [
        f"{path.relative_to(folder).as_posix()}/: extra folder, not in the manifest"
        for path in sorted(p for p in folder.rglob("*") if p.is_dir() and not p.is_symlink())
        if path.relative_to(folder) not in needed
    ]
