"""Reading the published source layout; whole-source faults raise SourceError."""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.constants import (
    ANNOTATIONS_FILE,
    CONSENSUS_FILE,
    IMAGES_DIR,
    JSON_MAX_DEPTH,
    JSON_PARSER_STACK_BYTES,
    MAX_INT_DIGITS,
    MAX_JSON_BYTES,
)
from pipeline.errors import SourceError

PUBLISHED_SHAPE = "{image file name: {userId: [[x...], [y...]]}}"
CONSENSUS_SHAPE = "{image file name: [[x...], [y...]]}"
# Arrays and objects a file may nest before a value is replaced by a NestedValue:
# annotations top / image / curve / axis, consensus top / curve / axis.
ANNOTATIONS_DEPTH = 4
CONSENSUS_DEPTH = 3

# A JSON object read with every key kept, duplicates included, in file order.
Pairs = list[tuple[str, Any]]


@dataclass(frozen=True)
class RawSource:
    """The source files as parsed, before any record-level check."""

    root: Path
    annotations: Pairs  # [(image name, [(userId, curve), ...] or other JSON value), ...]
    consensus: Pairs | None  # [(image name, curve), ...], None when the file is absent


@dataclass(frozen=True)
class LongInteger:
    """An integer literal too long to be a coordinate, kept as its digit count."""

    digits: int

    def __str__(self) -> str:
        return f"an integer of {self.digits} digits"


@dataclass(frozen=True)
class NestedValue:
    """An array or object found below the published shape, replaced by what it was."""

    kind: str  # "an array" or "an object"
    depth: int

    def __str__(self) -> str:
        return f"{self.kind} nested {self.depth} levels deep" if self.depth > 1 else self.kind


class _JsonObject(list):
    """A JSON object kept as its list of (key, value) pairs, so duplicate keys survive."""


def is_json_object(value: Any) -> bool:
    """True for a JSON object parsed by `read_json_pairs`."""
    return isinstance(value, _JsonObject)


def _parse_int(literal: str) -> int | LongInteger:
    digits = len(literal.lstrip("-"))
    return LongInteger(digits) if digits > MAX_INT_DIGITS else int(literal)


def _parse(text: str, max_depth: int) -> Any:
    value = json.loads(text, object_pairs_hook=_JsonObject, parse_int=_parse_int)
    return cut_below(value, max_depth)


def _parse_in_deep_thread(text: str, max_depth: int) -> Any:
    """Parse in a thread whose stack and recursion limit allow JSON_MAX_DEPTH levels."""
    # The limit is per interpreter in Python 3.11: raised only while the parser runs.
    old_limit = sys.getrecursionlimit()
    old_stack = threading.stack_size(JSON_PARSER_STACK_BYTES)
    try:
        sys.setrecursionlimit(max(old_limit, JSON_MAX_DEPTH + 100))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="json") as pool:
            future = pool.submit(_parse, text, max_depth)
            return future.result()
    finally:
        threading.stack_size(old_stack)
        sys.setrecursionlimit(old_limit)


def _children(container: list) -> list:
    return [v for _, v in container] if is_json_object(container) else container


def nesting_depth(value: Any) -> int:
    """How many arrays and objects deep `value` nests (0 for a scalar); iterative."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, NestedValue):
            deepest = max(deepest, depth + item.depth)
        elif isinstance(item, list):
            deepest = max(deepest, depth + 1)
            stack.extend((child, depth + 1) for child in _children(item))
    return deepest


def cut_below(value: Any, max_depth: int) -> Any:
    """`value` with every array or object deeper than `max_depth` replaced by a NestedValue.

    Iterative, never recursive: the value may nest thousands of levels deep.
    """
    stack = [(value, 1)] if isinstance(value, list) else []
    while stack:
        container, depth = stack.pop()
        is_object = is_json_object(container)
        for i, item in enumerate(container):
            child = item[1] if is_object else item
            if not isinstance(child, list):
                continue
            if depth < max_depth:
                stack.append((child, depth + 1))
                continue
            marker = NestedValue(json_kind(child), nesting_depth(child))
            container[i] = (item[0], marker) if is_object else marker
    return value


def _read_regular_file(path: Path, rel: str) -> bytes:
    """The bytes of a regular file; a folder, FIFO or device is refused without reading it."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise SourceError(f"cannot be opened ({exc.strerror})", file=rel) from None
    try:
        info = os.fstat(fd)
        reason = not_regular_reason(info.st_mode)
        if reason:
            raise SourceError(reason, file=rel)
        if info.st_size > MAX_JSON_BYTES:
            raise SourceError(
                f"file is {info.st_size} bytes, over the {MAX_JSON_BYTES}-byte limit", file=rel
            )
        with open(fd, "rb", closefd=False) as handle:
            return handle.read()
    except OSError as exc:
        raise SourceError(f"cannot be read ({exc.strerror})", file=rel) from None
    finally:
        os.close(fd)


def not_regular_reason(mode: int) -> str | None:
    """Why a file of this st_mode is not a regular file, or None when it is one."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a FIFO, not a regular file"
    return "is not a regular file"


def read_json_pairs(path: Path, root: Path, max_depth: int = ANNOTATIONS_DEPTH) -> Any:
    """Parse a JSON file keeping duplicate keys; a parse error names line and column.

    Arrays and objects nested deeper than `max_depth` come back as NestedValue markers, and
    integer literals over MAX_INT_DIGITS digits as LongInteger markers.
    """
    rel = path.relative_to(root).as_posix()
    data = _read_regular_file(path, rel)
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark is not part of the JSON
    except UnicodeDecodeError as exc:
        raise SourceError(f"not UTF-8 text (byte {exc.start})", file=rel) from None
    try:
        return _parse_in_deep_thread(text, max_depth)
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"JSON does not parse at line {exc.lineno}, column {exc.colno}: {exc.msg}", file=rel
        ) from None
    except RecursionError:
        raise SourceError(f"JSON nests more than {JSON_MAX_DEPTH} levels deep", file=rel) from None


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
    """Parse the annotations (and consensus, when present) of the source folder at `path`."""
    root = source_root(path)
    annotations = read_json_pairs(root / ANNOTATIONS_FILE, root, ANNOTATIONS_DEPTH)
    consensus = None
    if os.path.lexists(root / CONSENSUS_FILE):  # present but unreadable is an error, not absent
        consensus = read_json_pairs(root / CONSENSUS_FILE, root, CONSENSUS_DEPTH)
        if not is_json_object(consensus):
            raise SourceError(
                f"top level is {json_kind(consensus)}, expected {CONSENSUS_SHAPE}",
                file=CONSENSUS_FILE,
            )
    return RawSource(root=root, annotations=annotations, consensus=consensus)


def annotation_shape_problem(raw: RawSource) -> SourceError | None:
    """Why the annotations file does not have the published top-level shape, or None."""
    value, file = raw.annotations, ANNOTATIONS_FILE
    if not is_json_object(value):
        return SourceError(
            f"top level is {json_kind(value)}, expected {PUBLISHED_SHAPE}", file=file
        )
    if not value:
        return SourceError("holds no annotated images", file=file)
    if not any(is_json_object(v) for _, v in value):
        first = json_kind(value[0][1])
        return SourceError(
            f"no image maps to an object of curves (values are {first}); "
            f"expected {PUBLISHED_SHAPE}",
            file=file,
        )
    return None


def json_kind(value: Any) -> str:
    """What sort of JSON value this is: "an object", "an array", "a string", ..."""
    if is_json_object(value):
        return "an object"
    if isinstance(value, NestedValue):
        return value.kind
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def describe_value(value: Any, limit: int = 40) -> str:
    """A short description of a parsed JSON value for a message; never its whole text."""
    if isinstance(value, list):
        depth = nesting_depth(value)
        if depth > 2:
            return f"{json_kind(value)} nested {depth} levels deep"
        n = len(value)
        return f"{json_kind(value)} of {n} item{'s' if n != 1 else ''}"
    if isinstance(value, LongInteger | NestedValue):
        return str(value)
    text = repr(value[: limit + 1]) if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
