"""Streaming a source JSON file record by record: memory follows one record, never the file.

The top level is `{name: value, ...}`. The file is read in fixed-size chunks and scanned with
numpy (`jsonscan`); a comma or the closing brace at depth 1 ends a record; each record's text
is then parsed alone (`jsonparse`). Whole-file faults raise SourceError naming the file, and,
for text that is not JSON, the line and column as json reports them for the whole file.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from pipeline.constants import MAX_JSON_BYTES, MAX_RECORD_BYTES, STREAM_CHUNK_BYTES
from pipeline.errors import SourceError
from pipeline.source.jsonparse import JsonTextError, parse_text
from pipeline.source.jsonscan import (
    COMMA,
    NEWLINE,
    WHITESPACE,
    ScanState,
    as_array,
    first_non_utf8,
    first_structural,
    line_column,
    scan,
)
from pipeline.source.jsonvalues import describe_value, json_kind

BOM = b"\xef\xbb\xbf"
_JSON_SPACE = b" \t\n\r"
# The key of a record and the colon after it (json has already accepted the text).
_KEY = re.compile(rb'[ \t\n\r]*("(?:[^"\\]|\\.)*+")[ \t\n\r]*:[ \t\n\r]*', re.DOTALL)


@dataclass(frozen=True)
class SourceRecord:
    """One `name: value` pair of the top-level object, in file order."""

    order: int  # 0, 1, 2, ... over the file's records, duplicates included
    key: str
    raw_key: bytes  # the key's JSON text, quotes included
    raw_value: bytes  # the value's JSON text, exactly as in the file
    value: Any  # parsed: objects as JsonObject pairs, LongInteger, NestedValue markers
    line: int  # line of the key in the file (1-based)
    depth: int  # how deep the value nests (0 for a scalar)


def not_regular_reason(mode: int) -> str | None:
    """Why a file of this st_mode is not a regular file, or None when it is one."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a FIFO, not a regular file"
    return "is not a regular file"


@contextmanager
def open_regular(path: Path, rel: str) -> Iterator[BinaryIO]:
    """A regular file opened for reading; a folder, FIFO or device is refused unread."""
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
            yield handle
    finally:
        os.close(fd)


def stream_records(
    path: Path, root: Path, keep: int, shape: str, *, chunk_bytes: int = STREAM_CHUNK_BYTES
) -> Iterator[SourceRecord]:
    """The records of the JSON object in `path`, one at a time, in file order.

    Values keep `keep` levels of nesting (deeper containers become NestedValue markers).
    A top level that is not an object raises SourceError "top level is ..., expected {shape}"
    once the whole value is known to parse. A UTF-8 byte-order mark is skipped.
    """
    rel = path.relative_to(root).as_posix()
    with open_regular(path, rel) as handle:
        splitter = _Splitter(handle, rel, keep, max(chunk_bytes, len(BOM)))
        try:
            yield from splitter.records(shape)
        except JsonTextError as exc:
            raise _source_error(path, rel, exc, splitter.bom) from None


class _Splitter:
    """Cuts the file into records, carrying the scan state across chunks."""

    def __init__(self, handle: BinaryIO, rel: str, keep: int, chunk_bytes: int):
        self.handle, self.rel, self.keep, self.chunk_bytes = handle, rel, keep, chunk_bytes
        self.is_object = True
        self.bom = 0
        self.size = 0  # bytes read so far
        self.line = 1  # the line at the start of the chunk being scanned

    def _chunks(self) -> Iterator[tuple[int, bytes]]:
        """(file offset, bytes) of each chunk, the byte-order mark left out."""
        while True:
            try:
                data = self.handle.read(self.chunk_bytes)
            except OSError as exc:
                raise SourceError(f"cannot be read ({exc.strerror})", file=self.rel) from None
            if not data:
                return
            base, self.size = self.size, self.size + len(data)
            if base == 0 and data.startswith(BOM):
                self.bom, base, data = len(BOM), len(BOM), data[len(BOM) :]
            if data:
                yield base, data

    def records(self, shape: str) -> Iterator[SourceRecord]:
        chunks = self._chunks()
        for base, data in chunks:
            start = _first_text(as_array(data))
            if start is not None:
                self.line += data.count(b"\n", 0, start)
                top_at = base + start
                break
            self.line += data.count(b"\n")
        else:
            raise JsonTextError(self.size, "Expecting value")
        if data[start] not in b"{[":
            self._top_scalar(top_at, data[start:], chunks, shape)
        self.is_object = data[start] == ord("{")
        head = [(top_at + 1, data[start + 1 :])]
        del data
        yield from self._container(top_at + 1, _drain(head, chunks))
        if not self.is_object:
            raise SourceError(f"top level is an array, expected {shape}", file=self.rel)

    def _top_scalar(self, offset: int, head: bytes, chunks, shape: str) -> None:
        """A top level that is a string, number, ...: parse it (it may not be JSON) and refuse."""
        parts, size = [head], len(head)
        for _, data in chunks:
            parts.append(data)
            size += len(data)
            if size > MAX_RECORD_BYTES:
                raise SourceError(f"top level is over {MAX_RECORD_BYTES} bytes", file=self.rel)
        text = b"".join(parts)
        bracket = first_structural(text, self.chunk_bytes)  # a scalar holds none outside strings
        value = parse_text(text[:bracket], offset=offset, depth=0, keep=0, prefix="", suffix="")
        if bracket < len(text):
            raise JsonTextError(offset + bracket, "Extra data")
        raise SourceError(f"top level is {json_kind(value)}, expected {shape}", file=self.rel)

    def _container(self, record_at: int, pieces) -> Iterator[SourceRecord]:
        """The records of the top-level object (or array: checked, none yielded)."""
        state = ScanState(depth=1)
        pending: list[bytes] = []
        pending_size, pending_depth, order, record_line = 0, 1, 0, self.line
        done = False
        for base, data in pieces:
            a = as_array(data)
            if done:
                self._only_whitespace(a, base)
                continue
            structure = scan(a, state)
            ends = np.flatnonzero(
                ((structure.codes == COMMA) & (structure.depths == 1))
                | ((structure.steps < 0) & (structure.depths == 0))
            )
            # the deepest level of each record ending here, and of the unfinished one
            deepest = np.maximum.reduceat(np.append(structure.depths, 0), np.r_[0, ends + 1])
            newlines = np.flatnonzero(a == NEWLINE)
            cursor = 0
            for k, at in enumerate(structure.positions[ends].tolist()):
                text = b"".join([*pending, data[cursor:at]])
                self._check_size(len(text), text, record_line)
                depth = max(pending_depth, int(deepest[k])) - 1
                record = self._record(text, record_at, record_line, depth, order, int(a[at]))
                if record is not None:
                    yield record
                order += 1
                pending, pending_size, pending_depth = [], 0, 1
                cursor, record_at = at + 1, base + at + 1
                record_line = self.line + int(np.searchsorted(newlines, at + 1))
                if a[at] != COMMA:
                    done = True
                    self._only_whitespace(a[at + 1 :], base + at + 1)
                    break
            if not done:
                pending.append(data[cursor:])
                pending_size += len(data) - cursor
                pending_depth = max(pending_depth, int(deepest[-1]))
                self._check_size(pending_size, pending[0], record_line)
            self.line += newlines.size
            del a, data, structure, ends, deepest, newlines  # not alive while the next is read
        if not done:  # the file ends inside the top level: json names the fault
            text = b"".join(pending)
            self._record(text, record_at, record_line, pending_depth - 1, order, None)
            raise JsonTextError(self.size, "Expecting ',' delimiter")

    def _record(
        self, text: bytes, offset: int, line: int, depth: int, order: int, code: int | None
    ) -> SourceRecord | None:
        """Parse one record's text; `code` is the byte that ended it (None: end of file)."""
        first = order == 0
        if self.is_object:
            prefix, closing = ("{" if first else '{"":0,'), "}"
        else:
            prefix, closing = ("[" if first else "[0,"), "]"
        suffix = "" if code is None else closing if code == COMMA else chr(code)
        if not text.strip(_JSON_SPACE):
            if first and code == ord(closing):
                return None  # {} (or [])
            # a comma or bracket where a name or value belongs: json says so, and where
            suffix = "," if code == COMMA else suffix
            parse_text(text, offset=offset, depth=0, keep=0, prefix=prefix, suffix=suffix)
            raise JsonTextError(offset + len(text), "Expecting value")
        value = parse_text(
            text, offset=offset, depth=depth, keep=self.keep, prefix=prefix, suffix=suffix
        )
        if not self.is_object:
            return None
        key, item = value[-1]
        match = _KEY.match(text)
        raw_value = text[match.end() :].rstrip(_JSON_SPACE)
        line += text.count(b"\n", 0, match.start(1))
        return SourceRecord(order, key, match.group(1), raw_value, item, line, depth)

    def _only_whitespace(self, a: np.ndarray, base: int) -> None:
        extra = _first_text(a)
        if extra is not None:
            raise JsonTextError(base + extra, "Extra data")

    def _check_size(self, size: int, head: bytes, line: int) -> None:
        if size <= MAX_RECORD_BYTES:
            return
        match = _KEY.match(head)
        try:
            name = json.loads(match.group(1)) if match else None
        except ValueError:
            name = None
        record = describe_value(name, 100) if name is not None else f"the record at line {line}"
        raise SourceError(
            f"one record is over the {MAX_RECORD_BYTES}-byte limit", file=self.rel, record=record
        )


def _first_text(a: np.ndarray) -> int | None:
    """Offset of the first byte that is not JSON whitespace, or None."""
    text = ~WHITESPACE[a]
    return int(text.argmax()) if text.any() else None


def _drain(head: list, rest: Iterator) -> Iterator:
    """`head`'s items (dropped as they are handed out), then `rest`'s."""
    while head:
        yield head.pop(0)
    yield from rest


def _source_error(path: Path, rel: str, exc: JsonTextError, bom: int) -> SourceError:
    # Text that is not UTF-8 is reported before a JSON fault, wherever it is, as when the
    # whole file was decoded first.
    offset = exc.offset if exc.utf8 else first_non_utf8(path, bom)
    if offset is not None:
        return SourceError(f"not UTF-8 text (byte {offset - bom})", file=rel)
    line, column = line_column(path, exc.offset, bom)
    return SourceError(
        f"JSON does not parse at line {line}, column {column}: {exc.message}", file=rel
    )
