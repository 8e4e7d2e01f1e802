"""The dataset's licensing metadata (`dataset.toml`), its completeness check, and stamps."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from pipeline.constants import SOURCE_LICENCE_FILES
from pipeline.errors import LicenceError

METADATA_FILE = "dataset.toml"
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "dataset": ("name", "title", "description", "source_url", "publisher"),
    "licence": ("spdx", "name", "url"),
    "attribution": ("text", "citation"),
    "ethics": ("iras_id", "rec_reference", "statement"),
}
SOURCE_SPDX = "CC-BY-NC-SA-4.0"
EXPECTED_ETHICS = {"iras_id": "279328", "rec_reference": "20/SC/0386"}
# How the licence is named in a licence file that ships with a source folder.
LICENCE_NAME_MARKERS = {
    "CC-BY-NC-SA-4.0": (
        "cc-by-nc-sa-4.0",
        "cc by-nc-sa 4.0",
        "attribution-noncommercial-sharealike 4.0",
        "creativecommons.org/licenses/by-nc-sa/4.0",
    ),
}


@dataclass(frozen=True)
class DatasetMetadata:
    """The parsed `dataset.toml`: sections of plain strings."""

    sections: dict[str, dict[str, str]]

    def __getitem__(self, section: str) -> dict[str, str]:
        return self.sections[section]

    @property
    def spdx(self) -> str:
        return self.sections["licence"]["spdx"]

    def parquet_stamp(self, release_version: str) -> dict[str, str]:
        """Key-value metadata stamped on every Parquet file."""
        return {
            "unitylv.dataset": self["dataset"]["name"],
            "unitylv.release_version": release_version,
            "unitylv.licence": self.spdx,
            "unitylv.licence_url": self["licence"]["url"],
            "unitylv.attribution": self["attribution"]["text"],
        }


def load_metadata(path: Path | None = None) -> DatasetMetadata:
    """Read the reviewed metadata file (the packaged one unless `path` is given)."""
    path = path or Path(__file__).with_name(METADATA_FILE)
    text, where = path.read_text(encoding="utf-8"), path.name
    try:
        return DatasetMetadata(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise LicenceError(f"not valid TOML ({exc})", file=where) from None


def licence_problems(meta: DatasetMetadata, source_dir: Path | None = None) -> list[str]:
    """Every reason the licensing is not fit to release; empty when it is."""
    problems = []
    for section, fields in REQUIRED_FIELDS.items():
        values = meta.sections.get(section, {})
        problems += [
            f"metadata field {section}.{f} is missing or empty"
            for f in fields
            if not str(values.get(f, "")).strip()
        ]
    if problems:
        return problems
    if meta.spdx != SOURCE_SPDX:
        problems.append(
            f"release licence {meta.spdx} differs from the source licence {SOURCE_SPDX} "
            "(ShareAlike requires the same licence)"
        )
    for key, expected in EXPECTED_ETHICS.items():
        if meta["ethics"][key] != expected:
            problems.append(f"ethics.{key} is {meta['ethics'][key]!r}, expected {expected!r}")
    if source_dir is not None:
        problems += _source_licence_problems(meta, source_dir)
    return problems


def _source_licence_problems(meta: DatasetMetadata, source_dir: Path) -> list[str]:
    problems = []
    for name in SOURCE_LICENCE_FILES:
        path = source_dir / name
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace").lower()
        markers = LICENCE_NAME_MARKERS.get(meta.spdx, (meta.spdx.lower(),))
        if not any(m in text for m in markers):
            problems.append(f"{name} in the source does not name the licence {meta.spdx}")
    return problems


def check_licence(meta: DatasetMetadata, source_dir: Path | None = None) -> None:
    """Raise a LicenceError naming the first problem, if any."""
    problems = licence_problems(meta, source_dir)
    if problems:
        raise LicenceError("; ".join(problems), file=f"pipeline/source/{METADATA_FILE}")
