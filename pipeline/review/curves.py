"""Each image's curves for its overlay, streamed from the tables in image_id order.

The expert curves (`points`) and the default consensus curves (`consensus_points`) are read a
bounded batch at a time, in key order, and handed out image by image: never a whole table.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from pipeline.exports.layout import IMAGES_DIR
from pipeline.exports.payload_tables import curve_batches, curves_in_order, image_batches, rows
from pipeline.names import DEFAULT_METHOD
from pipeline.review.flags import ReviewFlags
from pipeline.review.overlays import OVERLAY_EXTENSION, ExpertCurve, OverlayInput
from pipeline.tables.table_files import TableReader, sorted_batches

OVERLAYS_DIR = "overlays"
CONSENSUS_KEYS = ("image_id", "method", "left_out_expert_id", "point_index")


def overlay_path(image_id: str) -> str:
    """overlays/<image_id>.jpg, relative to the review folder."""
    return f"{OVERLAYS_DIR}/{image_id}.{OVERLAY_EXTENSION}"


class _ByImage:
    """Curves of an ordered stream ((image_id, key), curve), taken one image at a time, in order."""

    def __init__(self, curves: Iterator[tuple[tuple[str, str], np.ndarray]]):
        self._curves = curves
        self._next = next(curves, None)

    def take(self, image_id: str) -> list[tuple[str, np.ndarray]]:
        """(key, curve) of every curve of `image_id`; those of earlier images are passed over."""
        while self._next is not None and self._next[0][0] < image_id:
            self._next = next(self._curves, None)
        found = []
        while self._next is not None and self._next[0][0] == image_id:
            found.append((self._next[0][1], self._next[1]))
            self._next = next(self._curves, None)
        return found


def _default_consensus_curves(tables: TableReader) -> Iterator[tuple[tuple[str, str], np.ndarray]]:
    batches = sorted_batches(tables, "consensus_points", ["x", "y"], CONSENSUS_KEYS)
    kept = (
        b.filter(
            pc.and_(pc.equal(b["method"], DEFAULT_METHOD), pc.is_null(b["left_out_expert_id"]))
        )
        for b in batches
    )
    return curves_in_order(kept, "method")


def _rejected_labels(tables: TableReader, flags: ReviewFlags) -> dict[str, list[str]]:
    """image_id -> labels of its quarantined curves: expert_id when the userId has one."""
    experts = tables.columns("experts", ["expert_id", "user_id"]).to_pylist()
    expert_of = {row["user_id"]: row["expert_id"] for row in experts}
    labels: dict[str, list[str]] = {}
    for flag in flags.rejected:
        label = expert_of.get(flag.expert_id) or f"userId {flag.expert_id[:8]}…"
        labels.setdefault(flag.subject, []).append(label)
    return labels


def overlay_inputs(
    tables: TableReader,
    data_dir: Path,
    review_dir: Path,
    flags: ReviewFlags,
    colours: dict[str, str],
) -> Iterator[OverlayInput]:
    """One `OverlayInput` per image of the release, in image_id order.

    The frames are read from the release's own `images/` (already hash-checked on copy).
    """
    studies = tables.columns("studies", ["study_id", "ed_image_id", "es_image_id"]).to_pylist()
    images_of_study = {s["study_id"]: [s["ed_image_id"], s["es_image_id"]] for s in studies}
    curve_flags = flags.by_curve(images_of_study)
    rejected = _rejected_labels(tables, flags)
    legend = tuple(sorted(colours.items()))
    expert_curves = _ByImage(curves_in_order(curve_batches(tables), "expert_id"))
    consensus_curves = _ByImage(_default_consensus_curves(tables))
    for row in rows(image_batches(tables, ["image_id", "file_name"])):
        image_id = row["image_id"]
        experts = tuple(
            ExpertCurve(expert_id, curve, tuple(curve_flags.get((image_id, expert_id), ())))
            for expert_id, curve in expert_curves.take(image_id)
        )
        consensus = consensus_curves.take(image_id)
        yield OverlayInput(
            image_id=image_id,
            frame=data_dir / IMAGES_DIR / row["file_name"],
            target=review_dir / overlay_path(image_id),
            experts=experts,
            consensus=consensus[0][1] if consensus else None,
            legend=legend,
            rejected=tuple(rejected.get(image_id, ())),
        )
