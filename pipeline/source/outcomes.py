"""What validating records gives: accepted images and curves, rejects, counts.

Each record ends in exactly one place, accepted or a Reject; a Ledger keeps the account.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from pipeline.constants import ANNOTATIONS_FILE, MAX_MESSAGE_CHARS
from pipeline.source.images import ImageFacts, ImageName


@dataclass(frozen=True)
class Reject:
    source_file: str
    record: str
    check: str
    severity: str  # "error" (quarantined) or "warning" (kept, flagged)
    message: str


@dataclass(frozen=True)
class AcceptedImage:
    name: ImageName
    facts: ImageFacts
    phase: str
    n_curves: int


@dataclass(frozen=True)
class AcceptedCurve:
    image_id: str
    user_id: str
    xy: np.ndarray


@dataclass(frozen=True)
class RecordCounts:
    total: int
    accepted: int
    rejected: int

    def line(self, what: str) -> str:
        return f"{what}: {self.accepted} accepted + {self.rejected} rejected = {self.total}"


@dataclass
class ValidatedSource:
    """The accepted records of a source, the rejects and the totals."""

    images: list[AcceptedImage]
    curves: list[AcceptedCurve]
    consensus: dict[str, np.ndarray]
    rejects: list[Reject]
    image_counts: RecordCounts
    curve_counts: RecordCounts

    @property
    def expert_ids(self) -> dict[str, str]:
        """userId -> E01, E02, ...: the accepted curves' userIds, sorted, numbered."""
        return number_experts(c.user_id for c in self.curves)


def number_experts(user_ids: Iterable[str]) -> dict[str, str]:
    """Stable short expert ids: the distinct userIds sorted, numbered E01, E02, ..."""
    users = sorted(set(user_ids))
    width = max(2, len(str(len(users))))
    return {u: f"E{i:0{width}d}" for i, u in enumerate(users, start=1)}


@dataclass
class Ledger:
    """Collects outcomes so that each record ends in exactly one place."""

    rejects: list[Reject] = field(default_factory=list)
    images_total: int = 0
    curves_total: int = 0
    images_rejected: int = 0
    curves_rejected: int = 0

    def reject_image(self, source: str, record: str, check: str, msg: str, n_curves: int) -> None:
        self.rejects.append(Reject(source, record, check, "error", capped(msg)))
        self.images_rejected += 1
        self.curves_rejected += n_curves

    def reject_curve(self, record: str, check: str, msg: str) -> None:
        self.rejects.append(Reject(ANNOTATIONS_FILE, record, check, "error", capped(msg)))
        self.curves_rejected += 1

    def warn(self, source: str, record: str, check: str, msg: str) -> None:
        self.rejects.append(Reject(source, record, check, "warning", capped(msg)))

    def image_counts(self, accepted: int) -> RecordCounts:
        return RecordCounts(self.images_total, accepted, self.images_rejected)

    def curve_counts(self, accepted: int) -> RecordCounts:
        return RecordCounts(self.curves_total, accepted, self.curves_rejected)


@dataclass
class CheckedRecords:
    """What checking a set of image records gives: accepted studies' images (ED then ES, in
    the order of their ED image in the file), their curves, consensus curves, outcomes."""

    images: list[AcceptedImage]
    curves: list[AcceptedCurve]
    ed_orders: list[int]  # per accepted study (images[2k], images[2k + 1]): its ED record's order
    consensus: dict[str, np.ndarray]
    ledger: Ledger


def capped(message: str) -> str:
    """A reject message cut to MAX_MESSAGE_CHARS."""
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return message[: MAX_MESSAGE_CHARS - 3] + "..."


def unexpected_message(exc: Exception, source: str, record: str) -> str:
    """What an unexpected error while checking one record was, short."""
    detail = str(exc)[:120]
    return f"unexpected {type(exc).__name__} while checking {source} record {record[:80]}: {detail}"
