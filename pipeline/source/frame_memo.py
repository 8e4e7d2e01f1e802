"""What decoding a bucket's frames found, kept for the bucket's next validation.

A frame whose name, size and modification time are those it had when it was decoded is not
decoded again: the stamp the scan's bucket fingerprint already trusts (a file rewritten with
its old size and a forged mtime goes unnoticed by both). Only frames that decoded are kept,
so a refused frame is decoded again and its message is always today's; the whole memo is
dropped when the code changed, and a memo that cannot be read is no memo.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.source.images import UNKNOWN_STAMP, ImageFacts, Stamp
from pipeline.tables.parquet_io import write_parquet_atomic

SCHEMA = pa.schema(
    [
        ("name", pa.string()),
        ("size", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("width", pa.int64()),
        ("height", pa.int64()),
        ("mode", pa.string()),
        ("sha256", pa.string()),
    ]
)
CODE_KEY = b"unitylv.code"


class FrameMemo:
    """The decoded facts of one bucket's frames, in one Parquet file, for one code version."""

    def __init__(self, path: Path, code: str):
        self.path = path
        self.code = code

    def recall(self, stamps: Mapping[str, Stamp]) -> dict[str, ImageFacts]:
        """The remembered facts of each frame whose stamp is still the one it had."""
        remembered = self._read()
        recalled = {}
        for name, stamp in stamps.items():
            kept = remembered.get(name)
            if kept is not None and stamp != UNKNOWN_STAMP and kept[0] == stamp:
                recalled[name] = kept[1]
        return recalled

    def keep(self, stamps: Mapping[str, Stamp], found: Mapping[str, ImageFacts]) -> None:
        """Remember the facts found for the frames of `stamps` (taken before decoding)."""
        names = sorted(n for n in found if stamps.get(n, UNKNOWN_STAMP) != UNKNOWN_STAMP)
        table = pa.table(
            {
                "name": names,
                "size": [stamps[n][0] for n in names],
                "mtime_ns": [stamps[n][1] for n in names],
                "width": [found[n].width for n in names],
                "height": [found[n].height for n in names],
                "mode": [found[n].mode for n in names],
                "sha256": [found[n].sha256 for n in names],
            },
            schema=SCHEMA.with_metadata({CODE_KEY: self.code.encode("ascii")}),
        )
        write_parquet_atomic(table, self.path)

    def _read(self) -> dict[str, tuple[Stamp, ImageFacts]]:
        try:
            table = pq.read_table(self.path)
        except (OSError, pa.ArrowException):  # none yet, or not a Parquet file: no memo
            return {}
        metadata = table.schema.metadata or {}
        if (
            metadata.get(CODE_KEY) != self.code.encode("ascii")
            or not table.schema.equals(SCHEMA)
            or any(column.null_count for column in table.columns)
        ):
            return {}
        columns = table.to_pydict()
        return {
            name: ((size, mtime), ImageFacts(width, height, mode, sha256))
            for name, size, mtime, width, height, mode, sha256 in zip(
                *(columns[f] for f in SCHEMA.names), strict=True
            )
        }
