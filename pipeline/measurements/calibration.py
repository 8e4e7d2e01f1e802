"""An optional pixel-spacing file: image_id,mm_per_pixel (CSV with a header)."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

from pipeline.errors import SourceError

COLUMNS = ("image_id", "mm_per_pixel")
# A plain decimal in ASCII (use with fullmatch): float() alone would also take "1_0",
# "inf" and Arabic-Indic or full-width digits.
DECIMAL = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def read_calibration(path: Path) -> dict[str, float]:
    """image_id -> mm per pixel; any bad row raises SourceError naming the file and line."""
    if not path.is_file():
        raise SourceError("calibration file does not exist", file=str(path))
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not set(COLUMNS) <= set(reader.fieldnames):
            raise SourceError(f"header must name the columns {', '.join(COLUMNS)}", file=str(path))
        spacing = {}
        for line, row in enumerate(reader, start=2):
            image_id, value = (row["image_id"] or "").strip(), (row["mm_per_pixel"] or "").strip()
            mm = float(value) if DECIMAL.fullmatch(value) else math.nan
            if not image_id or not math.isfinite(mm) or mm <= 0:
                raise SourceError(
                    f"needs an image_id and a positive mm_per_pixel, got {value!r}",
                    file=str(path),
                    record=f"line {line}",
                )
            if image_id in spacing:
                raise SourceError("image_id given twice", file=str(path), record=f"line {line}")
            spacing[image_id.removesuffix(".png")] = mm
    return spacing
