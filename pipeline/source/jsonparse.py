"""Parsing one record's JSON text with the json module, however deep the record nests.

json's C parser recurses once per level, so it never sees more than JSON_RECORD_DEPTH levels
at once. A shallower record is parsed as is. A deeper one is checked in bands: the text with
every container at level 64 replaced by ` 0 ` parses alone, then each of those containers with
its own level-128 containers replaced, and so on; the first error in file order wins, with
json's own message. Its value is then parsed with the containers below the published shape
replaced by NestedValue markers (kind and depth measured by the scan).
"""

from __future__ import annotations

import bisect
import codecs
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.constants import JSON_RECORD_DEPTH, STREAM_CHUNK_BYTES
from pipeline.source.jsonscan import (
    DeepSpans,
    ScanState,
    as_array,
    deep_spans,
    scan,
)
from pipeline.source.jsonvalues import JsonObject, NestedValue, cut_below, parse_int

KINDS = {ord("["): "an array", ord("{"): "an object"}


class JsonTextError(ValueError):
    """The text is not JSON (or not UTF-8) at byte `offset` of the file."""

    def __init__(self, offset: int, message: str, *, utf8: bool = False):
        self.offset, self.message, self.utf8 = offset, message, utf8
        super().__init__(f"{message} (byte {offset})")


@dataclass(frozen=True)
class _Piece:
    at: int  # offset in the built text
    source: int  # offset in the record text
    built_length: int
    source_length: int
    stand_in: bool  # a container replaced by a short placeholder


class _Built:
    """A record text with some containers replaced, and the way back to record offsets."""

    def __init__(self, text: bytes, lo: int, hi: int, holes, stand_in):
        parts, self.pieces, at, cursor = [], [], 0, lo
        for start, end in holes:
            for source, length, replacement in (
                (cursor, start - cursor, None),
                (start, end + 1 - start, stand_in(text[start])),
            ):
                chunk = text[source : source + length] if replacement is None else replacement
                self.pieces.append(_Piece(at, source, len(chunk), length, replacement is not None))
                parts.append(chunk)
                at += len(chunk)
            cursor = end + 1
        self.pieces.append(_Piece(at, cursor, hi - cursor, hi - cursor, False))
        parts.append(text[cursor:hi])
        self.text = b"".join(parts).decode("utf-8")
        self._ats = [p.at for p in self.pieces]

    def source_offset(self, built_offset: int) -> int:
        piece = self.pieces[max(bisect.bisect_right(self._ats, built_offset) - 1, 0)]
        inside = built_offset - piece.at
        if inside >= piece.built_length:
            return piece.source + piece.source_length + inside - piece.built_length
        return piece.source if piece.stand_in else piece.source + inside


def _loads(text: str, prefix: str, suffix: str, built: _Built | None, offset: int) -> Any:
    """json.loads(prefix + text + suffix); an error is raised at its offset in the file."""
    try:
        return json.loads(prefix + text + suffix, object_pairs_hook=JsonObject, parse_int=parse_int)
    except json.JSONDecodeError as exc:
        raise JsonTextError(_error_offset(exc.pos, text, prefix, built, offset), exc.msg) from None


def _error_offset(pos: int, text: str, prefix: str, built: _Built | None, offset: int) -> int:
    if pos < len(prefix):  # the prefix stands for the comma or bracket before the record
        return offset - 1
    inside = len(text[: pos - len(prefix)].encode("utf-8"))
    if pos - len(prefix) > len(text):  # past the text: the suffix, the byte after it
        inside += pos - len(prefix) - len(text)
    return offset + (built.source_offset(inside) if built else inside)


def _decode(text: bytes, offset: int) -> str:
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonTextError(offset + exc.start, "not UTF-8 text", utf8=True) from None


def _check_utf8(text: bytes, offset: int) -> None:
    """Decode in chunks, keeping nothing: memory stays one chunk whatever the text's size."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    for base in range(0, len(text), STREAM_CHUNK_BYTES):
        carried = len(decoder.getstate()[0])  # bytes of a character begun in the last chunk
        try:
            decoder.decode(text[base : base + STREAM_CHUNK_BYTES])
        except UnicodeDecodeError as exc:
            start = offset + base - carried + exc.start
            raise JsonTextError(start, "not UTF-8 text", utf8=True) from None
    pending = len(decoder.getstate()[0])  # a character cut short at the end
    if pending:
        raise JsonTextError(offset + len(text) - pending, "not UTF-8 text", utf8=True)


def parse_text(
    text: bytes, *, offset: int, depth: int, keep: int, prefix: str = "[", suffix: str = "]"
) -> Any:
    """json.loads(prefix + text + suffix), objects as JsonObject pairs, long integers as
    LongInteger, and every container nested more than `keep` levels inside `text` as a
    NestedValue.

    `depth` is how deep `text` nests (from the scan); `offset` is where `text` starts in the
    file, so that a JsonTextError names a file offset. The prefix stands for what precedes the
    text in the file (`{` or `,`), so json reports errors as it would for the whole file.
    """
    if depth < JSON_RECORD_DEPTH:  # with the bracket of the prefix, at most 64 levels
        value = _loads(_decode(text, offset), prefix, suffix, None, offset)
        return cut_below(value, keep + 1) if depth > keep else value
    _check_utf8(text, offset)
    spans = deep_spans(text, keep, JSON_RECORD_DEPTH, STREAM_CHUNK_BYTES)
    if not spans.balanced:
        raise _truncated(text, prefix, offset)
    _check_bands(text, spans, prefix, suffix, offset)
    cuts = list(zip(spans.cut_starts.tolist(), spans.cut_ends.tolist(), strict=True))
    skeleton = _Built(text, 0, len(text), cuts, lambda code: b"[]" if code == 91 else b"{}")
    value = _loads(skeleton.text, prefix, suffix, skeleton, offset)
    markers = (
        NestedValue(KINDS[text[start]], int(depth_))
        for (start, _), depth_ in zip(cuts, spans.cut_depths.tolist(), strict=True)
    )
    _put_markers(value, keep + 2, markers)
    return value


def _check_bands(text: bytes, spans: DeepSpans, prefix: str, suffix: str, offset: int) -> None:
    """Parse each band of JSON_RECORD_DEPTH levels alone; raise the first error in the file."""
    first: JsonTextError | None = None
    band = JSON_RECORD_DEPTH
    work = [(0, 0, len(text), prefix, suffix)]  # (level, start, end exclusive, prefix, suffix)
    while work:
        level, start, end, before, after = work.pop()
        starts, ends = spans.inside(level + band, start, end)
        holes = list(zip(starts.tolist(), ends.tolist(), strict=True))
        built = _Built(text, start, end, holes, lambda _: b" 0 ")
        try:
            _loads(built.text, before, after, built, offset)
        except JsonTextError as exc:
            if first is None or exc.offset < first.offset:
                first = exc
        work.extend((level + band, s, e + 1, "", "") for s, e in holes)
    if first is not None:
        raise first


def _truncated(text: bytes, prefix: str, offset: int) -> JsonTextError:
    """The first fault of a deep text that the end of the file cuts short: close it with the
    brackets (and quote) it lacks, check it, and report any fault before the end; else the end.
    """
    state, open_kinds = ScanState(), {}  # level -> the bracket that opened it last
    for base in range(0, len(text), STREAM_CHUNK_BYTES):
        structure = scan(as_array(memoryview(text)[base : base + STREAM_CHUNK_BYTES]), state)
        opening = structure.steps > 0
        levels, codes = structure.levels[opening][::-1], structure.codes[opening][::-1]
        last_levels, last_at = np.unique(levels, return_index=True)
        open_kinds.update(zip(last_levels.tolist(), codes[last_at].tolist(), strict=True))
    end = offset + len(text)
    quote = (b"n" if state.backslashes % 2 else b"") + b'"' if state.in_string else b""
    brackets = bytes(open_kinds[level] + 2 for level in range(state.depth, 0, -1))  # [ -> ], { -> }
    closed = text + quote + brackets
    wrapper_close = "}" if prefix.startswith("{") else "]" if prefix.startswith("[") else ""
    spans = deep_spans(closed, 0, JSON_RECORD_DEPTH, STREAM_CHUNK_BYTES)
    try:
        _check_bands(closed, spans, prefix, wrapper_close, offset)
    except JsonTextError as exc:
        if exc.offset < end:
            return exc
        if not state.in_string:
            return JsonTextError(end, exc.message)
    if state.in_string:
        return JsonTextError(offset + _string_start(text), "Unterminated string starting at")
    tail = text.rstrip(b" \t\n\r")[-1:]
    expecting = {b"[": "Expecting value", b"{": "Expecting property name enclosed in double quotes"}
    return JsonTextError(end, expecting.get(tail, "Expecting ',' delimiter"))


def _string_start(text: bytes) -> int:
    """Where the string left open at the end of `text` starts (its last unescaped quote)."""
    at = len(text)
    while True:
        at = text.rfind(b'"', 0, at)
        backslashes = at - len(text[:at].rstrip(b"\\"))
        if backslashes % 2 == 0:
            return at


def _put_markers(container: Any, cut_depth: int, markers: Iterator[NestedValue]) -> None:
    """Replace, in file order, each container at `cut_depth` (the stand-ins `[]`/`{}` of the
    cut containers; the top is at depth 1) by the next marker. The skeleton is shallow."""
    stack = [(container, 1, 0)]
    while stack:
        node, depth, i = stack.pop()
        is_object = isinstance(node, JsonObject)
        while i < len(node):
            item = node[i]
            child = item[1] if is_object else item
            if isinstance(child, list):
                if depth + 1 == cut_depth:
                    marker = next(markers)
                    node[i] = (item[0], marker) if is_object else marker
                else:
                    stack.append((node, depth, i + 1))
                    stack.append((child, depth + 1, 0))
                    break
            i += 1
