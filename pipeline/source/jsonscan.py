"""Where a JSON text's strings, brackets and commas are, found with numpy, never by recursion.

A quote is escaped when an odd run of backslashes precedes it; a byte is inside a string when
an odd number of unescaped quotes precede it; depth counts `[` and `{` outside strings up and
`]` and `}` down. A ScanState carries all three from one chunk to the next, so a file streams
in fixed-size chunks and a record's own bytes can be scanned again alone.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.constants import STREAM_CHUNK_BYTES

QUOTE, BACKSLASH, COMMA, NEWLINE = (ord(c) for c in '"\\,\n')
_DELTA = np.zeros(256, np.int8)
_DELTA[[ord("["), ord("{")]] = 1
_DELTA[[ord("]"), ord("}")]] = -1
_STRUCTURAL = _DELTA != 0
_STRUCTURAL[COMMA] = True
WHITESPACE = np.zeros(256, bool)  # JSON's four whitespace bytes
WHITESPACE[[ord(c) for c in " \t\n\r"]] = True


@dataclass
class ScanState:
    """What a scan carries from one chunk to the next."""

    in_string: bool = False
    backslashes: int = 0  # length of the run of backslashes that ended the previous chunk
    depth: int = 0


@dataclass(frozen=True)
class Structure:
    """The commas and brackets outside strings of one chunk, in byte order."""

    positions: np.ndarray  # int64 offsets in the chunk
    codes: np.ndarray  # uint8: the byte
    depths: np.ndarray  # int64: the depth after it

    @property
    def steps(self) -> np.ndarray:
        """+1 for an opening bracket, -1 for a closing one, 0 for a comma."""
        return _DELTA[self.codes]

    @property
    def levels(self) -> np.ndarray:
        """The depth of the container each bracket opens or closes (a comma: its container)."""
        return self.depths + (self.steps < 0)


def as_array(data: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(data, np.uint8)


def scan(chunk: np.ndarray, state: ScanState) -> Structure:
    """The structure of `chunk`, continuing from `state`, which is updated for the next."""
    quotes = np.flatnonzero(chunk == QUOTE)
    backslashes = np.flatnonzero(chunk == BACKSLASH)
    if backslashes.size or state.backslashes:
        if quotes.size:
            quotes = quotes[~_escaped(quotes, backslashes, state.backslashes)]
        state.backslashes = _trailing_run(chunk.size, backslashes, state.backslashes)
    positions = np.flatnonzero(_STRUCTURAL[chunk])
    if quotes.size:  # keep those after an even number of quotes (in-place: no temporaries)
        parity = np.searchsorted(quotes, positions)
        parity += state.in_string
        parity &= 1
        positions = positions[parity == 0]
        del parity
    elif state.in_string:
        positions = positions[:0]
    codes = chunk[positions]
    depths = state.depth + np.cumsum(_DELTA[codes], dtype=np.int64)
    state.in_string = bool((state.in_string + quotes.size) & 1)
    if depths.size:
        state.depth = int(depths[-1])
    return Structure(positions, codes, depths)


def _runs(backslashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last offsets of each run of consecutive backslashes."""
    breaks = np.flatnonzero(np.diff(backslashes) != 1)
    return backslashes[np.r_[0, breaks + 1]], backslashes[np.r_[breaks, backslashes.size - 1]]


def _escaped(quotes: np.ndarray, backslashes: np.ndarray, carried: int) -> np.ndarray:
    """Which quotes follow an odd run of backslashes (a run may begin in the last chunk)."""
    run = np.zeros(quotes.size, np.int64)
    if backslashes.size:
        starts, ends = _runs(backslashes)
        j = np.minimum(np.searchsorted(ends, quotes - 1), ends.size - 1)
        follows_run = ends[j] == quotes - 1
        length = quotes - starts[j] + np.where(starts[j] == 0, carried, 0)
        run = np.where(follows_run, length, 0)
    if carried:
        run = np.where(quotes == 0, carried, run)
    return (run & 1).astype(bool)


def _trailing_run(size: int, backslashes: np.ndarray, carried: int) -> int:
    """Length of the run of backslashes that ends the chunk (0 when its last byte is not one)."""
    if not backslashes.size or backslashes[-1] != size - 1:
        return 0 if size else carried
    start = _runs(backslashes)[0][-1]
    return int(size - start) + (carried if start == 0 else 0)


def max_depth(text: bytes, chunk_bytes: int) -> int:
    """How deep `text`, one JSON value, nests (0 for a scalar)."""
    state, deepest = ScanState(), 0
    for base in range(0, len(text), chunk_bytes):
        structure = scan(as_array(memoryview(text)[base : base + chunk_bytes]), state)
        if structure.depths.size:
            deepest = max(deepest, int(structure.depths.max()))
    return deepest


def first_structural(text: bytes, chunk_bytes: int) -> int:
    """Offset of the first comma or bracket outside strings (len(text) when there is none)."""
    state = ScanState()
    for base in range(0, len(text), chunk_bytes):
        structure = scan(as_array(memoryview(text)[base : base + chunk_bytes]), state)
        if structure.positions.size:
            return base + int(structure.positions[0])
    return len(text)


@dataclass
class DeepSpans:
    """The containers of one deeply nested text that its parse cuts out.

    `cut_*`: containers opening at level `keep + 1` (below the published shape): offsets of
    their brackets and how deep each nests. `band_*`: containers opening at levels k*band
    (k >= 1), sorted by (level, start), so that each band of levels parses alone.
    """

    size: int
    cut_starts: np.ndarray
    cut_ends: np.ndarray
    cut_depths: np.ndarray
    band_keys: np.ndarray = field(repr=False)
    band_starts: np.ndarray = field(repr=False)
    band_ends: np.ndarray = field(repr=False)
    balanced: bool

    def inside(self, level: int, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """(starts, ends) of the band containers at `level` between offsets start and end."""
        lo, hi = np.searchsorted(self.band_keys, [self._key(level, start), self._key(level, end)])
        return self.band_starts[lo:hi], self.band_ends[lo:hi]

    def _key(self, level: int, offset: int) -> int:
        return level * (self.size + 1) + offset


def deep_spans(text: bytes, keep: int, band: int, chunk_bytes: int) -> DeepSpans:
    """Find the cut and band containers of `text` in one chunked pass (memory: a chunk, plus
    one entry per cut container and per band container)."""
    state = ScanState()
    cut_opens, cut_closes, cut_maxima = [], [], []
    band_opens, band_closes = [], []  # (level, offset) arrays
    n_cut = 0
    for base in range(0, len(text), chunk_bytes):
        structure = scan(as_array(memoryview(text)[base : base + chunk_bytes]), state)
        brackets = structure.codes != COMMA
        offsets = structure.positions[brackets] + base
        levels = structure.levels[brackets]
        opening = structure.steps[brackets] > 0
        at_cut = levels == keep + 1
        cut_opens.append(offsets[at_cut & opening])
        cut_closes.append(offsets[at_cut & ~opening])
        at_band = (levels > 0) & (levels % band == 0)
        band_opens.append(np.stack([levels, offsets])[:, at_band & opening])
        band_closes.append(np.stack([levels, offsets])[:, at_band & ~opening])
        n_cut = _track_maxima(cut_maxima, at_cut & opening, levels, keep, n_cut)
    opens, closes = np.concatenate(band_opens, axis=1), np.concatenate(band_closes, axis=1)
    cut_starts, cut_ends = np.concatenate(cut_opens), np.concatenate(cut_closes)
    balanced = state.depth == 0 and not state.in_string and len(cut_starts) == len(cut_ends)
    balanced = balanced and opens.shape[1] == closes.shape[1]
    if balanced:
        opens = opens[:, np.lexsort((opens[1], opens[0]))]
        closes = closes[:, np.lexsort((closes[1], closes[0]))]
        balanced = bool((opens[0] == closes[0]).all())
    maxima = np.concatenate(cut_maxima) if cut_maxima else np.zeros(0, np.int64)
    return DeepSpans(
        size=len(text),
        cut_starts=cut_starts,
        cut_ends=cut_ends,
        cut_depths=maxima - keep,
        band_keys=opens[0] * (len(text) + 1) + opens[1],
        band_starts=opens[1],
        band_ends=closes[1] if balanced else np.zeros(0, np.int64),
        balanced=balanced,
    )


def _track_maxima(
    maxima: list[np.ndarray], cut_opening: np.ndarray, levels: np.ndarray, keep: int, n_cut: int
) -> int:
    """Append the deepest level inside each cut container of this chunk to `maxima` (merging
    with the container left open by the last chunk); returns the cut containers opened so far.
    """
    index = n_cut + np.cumsum(cut_opening) - 1  # the cut container each bracket belongs to
    inside = levels >= keep + 1
    if inside.any():
        index, deepest = index[inside], levels[inside]
        firsts = np.flatnonzero(np.r_[True, np.diff(index) != 0])
        group_max = np.maximum.reduceat(deepest, firsts)
        if maxima and index[0] == n_cut - 1:  # continues the last chunk's open container
            maxima[-1][-1] = max(maxima[-1][-1], group_max[0])
            group_max = group_max[1:]
        if group_max.size:
            maxima.append(group_max.astype(np.int64))
    return n_cut + int(cut_opening.sum())


def line_column(path: Path, offset: int, bom: int) -> tuple[int, int]:
    """json's line and column (in characters, from 1) of byte `offset` of the file."""
    line, line_start, read = 1, bom, 0
    with open(path, "rb") as handle:
        while read < offset:
            data = handle.read(min(STREAM_CHUNK_BYTES, offset - read))
            if not data:
                break
            newlines = np.flatnonzero(as_array(data) == NEWLINE)
            if newlines.size:
                line += newlines.size
                line_start = read + int(newlines[-1]) + 1
            read += len(data)
        handle.seek(line_start)
        characters, left = 0, max(offset - line_start, 0)
        while left:
            data = handle.read(min(STREAM_CHUNK_BYTES, left))
            if not data:
                break
            characters += int(np.count_nonzero((as_array(data) & 0xC0) != 0x80))
            left -= len(data)
    return line, characters + 1


def first_non_utf8(path: Path, bom: int) -> int | None:
    """Offset of the first byte that is not UTF-8 text (after the byte-order mark), or None."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    read = bom
    with open(path, "rb") as handle:
        handle.seek(bom)
        while data := handle.read(STREAM_CHUNK_BYTES):
            carried = len(decoder.getstate()[0])  # bytes of a character begun in the last chunk
            try:
                decoder.decode(data)
            except UnicodeDecodeError as exc:
                return read - carried + exc.start
            read += len(data)
    pending = len(decoder.getstate()[0])  # a character cut short by the end of the file
    return read - pending if pending else None
