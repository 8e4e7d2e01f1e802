"""Reading the published source layout; whole-source faults raise SourceError."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.constants import ANNOTATIONS_FILE, CONSENSUS_FILE, IMAGES_DIR
from pipeline.errors import SourceError
from pipeline.source.jsonvalues import (  # noqa: F401 (the names this module always offered)
    JsonObject,
    LongInteger,
    NestedValue,
    cut_below,
    describe_value,
    is_json_object,
    json_kind,
    nesting_depth,
)
from pipeline.source.stream import not_regular_reason, stream_records  # noqa: F401

PUBLISHED_SHAPE = "{image file name: {userId: [[x...], [y...]]}}"
CONSENSUS_SHAPE = "{image file name: [[x...], [y...]]}"
# Arrays and objects a record's value keeps before a value is replaced by a NestedValue:
# annotations image / curve / axis, consensus curve / axis.
ANNOTATIONS_KEEP = 3
CONSENSUS_KEEP = 2

# A JSON object read with every key kept, duplicates included, in file order.
Pairs = list[tuple[str, Any]]


@dataclass(frozen=True)
class RawSource:
    """The source files as parsed, before any record-level check."""

    root: Path
    annotations: Pairs  # [(image name, [(userId, curve), ...] or other JSON value), ...]
    consensus: Pairs | None  # [(image name, curve), ...], None when the file is absent


def read_json_pairs(path: Path, root: Path, keep: int, shape: str) -> JsonObject:
    """The top-level object of a source JSON file as (key, value) pairs, streamed record by
    record (see `pipeline.source.stream`); a parse error names line and column."""
    return JsonObject((r.key, r.value) for r in stream_records(path, root, keep, shape))


def source_root(path: Path) -> Path:
    """The resolved source folder, checked to hold the published layout."""
    if not path.is_dir():
        raise SourceError("source folder does not exist", file=str(path))
    root = path.resolve()
    images = root / IMAGES_DIR
    if not images.is_dir():
        raise SourceError(f"missing the {IMAGES_DIR}/ folder of PNG frames", file=str(path))
    if images.is_symlink() and root not in images.resolve().parents:
        raise SourceError(f"{IMAGES_DIR}/ is a link out of the source folder", file=str(path))
    if not os.path.lexists(root / ANNOTATIONS_FILE):
        raise SourceError("missing the annotations file", file=str(path / ANNOTATIONS_FILE))
    return root


def read_source(path: Path) -> RawSource:
    """Parse the annotations (and consensus, when present) of the source folder at `path`.

    Holds every record in memory: the whole-dataset path. `pipeline.source.shards.scan_source`
    streams the same files into per-bucket shards instead.
    """
    root = source_root(path)
    annotations = read_json_pairs(root / ANNOTATIONS_FILE, root, ANNOTATIONS_KEEP, PUBLISHED_SHAPE)
    consensus = None
    if os.path.lexists(root / CONSENSUS_FILE):  # present but unreadable is an error, not absent
        consensus = read_json_pairs(root / CONSENSUS_FILE, root, CONSENSUS_KEEP, CONSENSUS_SHAPE)
    return RawSource(root=root, annotations=annotations, consensus=consensus)


def records_shape_problem(n_records: int, any_object: bool, first_kind: str) -> SourceError | None:
    """Why annotations of `n_records` records are not the published shape, or None."""
    if not n_records:
        return SourceError("holds no annotated images", file=ANNOTATIONS_FILE)
    if not any_object:
        return SourceError(
            f"no image maps to an object of curves (values are {first_kind}); "
            f"expected {PUBLISHED_SHAPE}",
            file=ANNOTATIONS_FILE,
        )
    return None
