"""CHANGELOG.md of a release: its diff against the previous version, then the older entries."""

from __future__ import annotations

from pathlib import Path

from pipeline.release.diff import diff_markdown, diff_releases
from pipeline.release.info import ReleaseInfo

TITLE = "# Changelog\n"


def changelog_text(info: ReleaseInfo, new_data: Path, previous: tuple[str, Path] | None) -> str:
    """The new entry (diff against `previous` = (version, its data/ folder)) above the old ones."""
    entry = f"## {info.version} ({info.date})\n\n"
    if previous is None:
        return f"{TITLE}\n{entry}First release.\n"
    old_version, old_data = previous
    entry += diff_markdown(diff_releases(old_data, new_data), old_version, info.version)
    older = ""
    old_changelog = old_data / "CHANGELOG.md"
    if old_changelog.is_file():
        older = old_changelog.read_text(encoding="utf-8").removeprefix(TITLE).lstrip("\n")
    return f"{TITLE}\n{entry}\n{older}".rstrip() + "\n"


def write_changelog(data_dir: Path, info: ReleaseInfo, previous: tuple[str, Path] | None) -> Path:
    path = data_dir / "CHANGELOG.md"
    path.write_text(changelog_text(info, data_dir, previous), encoding="utf-8")
    return path
