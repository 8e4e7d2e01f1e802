"""Reading the published source layout; whole-source faults raise SourceError."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.constants import ANNOTATIONS_FILE, CONSENSUS_FILE, IMAGES_DIR, MAX_JSON_BYTES
from pipeline.errors import SourceError

PUBLISHED_SHAPE = "{image file name: {userId: [[x...], [y...]]}}"
CONSENSUS_SHAPE = "{image file name: [[x...], [y...]]}"

# A JSON object read with every key kept, duplicates included, in file order.
Pairs = list[tuple[str, Any]]


@dataclass(frozen=True)
class RawSource:
    """The source files as parsed, before any record-level check."""

    root: Path
    annotations: Pairs  # [(image name, [(userId, curve), ...] or other JSON value), ...]
    consensus: Pairs | None  # [(image name, curve), ...], None when the file is absent


def _pairs_hook(pairs: list[tuple[str, Any]]) -> Pairs:
    return _JsonObject(pairs)


class _JsonObject(list):
    """A JSON object kept as its list of (key, value) pairs, so duplicate keys survive."""


def is_json_object(value: Any) -> bool:
    """True for a JSON object parsed by `read_json_pairs`."""
    return isinstance(value, _JsonObject)


def read_json_pairs(path: Path, root: Path) -> Any:
    """Parse a JSON file keeping duplicate keys; a parse error names line and column."""
    rel = path.relative_to(root).as_posix()
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise SourceError(f"file is {size} bytes, over the {MAX_JSON_BYTES}-byte limit", file=rel)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"not UTF-8 text (byte {exc.start})", file=rel) from None
    try:
        return json.loads(text, object_pairs_hook=_pairs_hook)
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"JSON does not parse at line {exc.lineno}, column {exc.colno}: {exc.msg}", file=rel
        ) from None
    except RecursionError:
        raise SourceError("JSON nests too deeply", file=rel) from None


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
    annotations = root / ANNOTATIONS_FILE
    if not annotations.is_file():
        raise SourceError("missing the annotations file", file=str(path / ANNOTATIONS_FILE))
    return root


def read_source(path: Path) -> RawSource:
    """Parse the annotations (and consensus, when present) of the source folder at `path`."""
    root = source_root(path)
    annotations = read_json_pairs(root / ANNOTATIONS_FILE, root)
    consensus = None
    if (root / CONSENSUS_FILE).is_file():
        consensus = read_json_pairs(root / CONSENSUS_FILE, root)
        if not is_json_object(consensus):
            raise SourceError(
                f"top level is {_json_kind(consensus)}, expected {CONSENSUS_SHAPE}",
                file=CONSENSUS_FILE,
            )
    return RawSource(root=root, annotations=annotations, consensus=consensus)


def annotation_shape_problem(raw: RawSource) -> SourceError | None:
    """Why the annotations file does not have the published top-level shape, or None."""
    value, file = raw.annotations, ANNOTATIONS_FILE
    if not is_json_object(value):
        return SourceError(
            f"top level is {_json_kind(value)}, expected {PUBLISHED_SHAPE}", file=file
        )
    if not value:
        return SourceError("holds no annotated images", file=file)
    if not any(is_json_object(v) for _, v in value):
        first = _json_kind(value[0][1])
        return SourceError(
            f"no image maps to an object of curves (values are {first}); "
            f"expected {PUBLISHED_SHAPE}",
            file=file,
        )
    return None


def _json_kind(value: Any) -> str:
    if is_json_object(value):
        return "an object"
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )
