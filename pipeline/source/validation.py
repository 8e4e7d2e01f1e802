"""Record-level validation of a parsed source: every record is accepted or quarantined.

Each record (an image named in the annotations or found in Images/, and each expert curve)
ends in exactly one place: accepted, or a `rejects` row of severity "error". Warnings flag
records that are kept.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.constants import (
    ANNOTATIONS_FILE,
    CONSENSUS_FILE,
    IMAGES_DIR,
    MAX_MESSAGE_CHARS,
    USER_ID_LENGTH,
    USER_ID_PATTERN,
)
from pipeline.source.curves import (
    CurveProblem,
    check_inside_image,
    parse_curve,
    self_intersection_reason,
)
from pipeline.source.images import (
    ImageFacts,
    ImageName,
    ImageProblem,
    inspect_png,
    list_image_files,
    parse_image_name,
    unsafe_name_reason,
)
from pipeline.source.reader import (
    RawSource,
    annotation_shape_problem,
    describe_value,
    is_json_object,
    read_source,
)


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


@dataclass
class _Candidate:
    name: ImageName
    facts: ImageFacts
    order: int
    curves: list[AcceptedCurve] = field(default_factory=list)


@dataclass
class _Ledger:
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


class _Rejected(Exception):
    """A record fails a check: where it failed, which check, why."""

    def __init__(self, source: str, check: str, message: str):
        self.source, self.check, self.message = source, check, message
        super().__init__(message)


def capped(message: str) -> str:
    """A reject message cut to MAX_MESSAGE_CHARS."""
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return message[: MAX_MESSAGE_CHARS - 3] + "..."


def unexpected_message(exc: Exception, source: str, record: str) -> str:
    """What an unexpected error while checking one record was, short."""
    detail = str(exc)[:120]
    return f"unexpected {type(exc).__name__} while checking {source} record {record[:80]}: {detail}"


def validate_source(path: Path) -> ValidatedSource:
    """Read and validate the source folder at `path` (whole-source faults raise SourceError)."""
    raw = read_source(path)
    problem = annotation_shape_problem(raw)
    if problem:
        raise problem
    return validate_raw(raw)


def validate_raw(raw: RawSource) -> ValidatedSource:
    """Validate every record of a parsed source."""
    ledger = _Ledger()
    files, refused = list_image_files(raw.root)
    candidates = _annotated_images(raw, files, refused, ledger)
    _unannotated_files(raw, files, refused, ledger)
    images, curves = _studies(candidates, ledger)
    consensus = _consensus(raw, {i.name.file_name: i for i in images}, ledger)
    n_curves = len(curves)
    return ValidatedSource(
        images=images,
        curves=curves,
        consensus=consensus,
        rejects=ledger.rejects,
        image_counts=RecordCounts(ledger.images_total, len(images), ledger.images_rejected),
        curve_counts=RecordCounts(ledger.curves_total, n_curves, ledger.curves_rejected),
    )


def _annotated_images(
    raw: RawSource, files: dict[str, Path], refused: dict[str, str], ledger: _Ledger
) -> list[_Candidate]:
    seen: set[str] = set()
    candidates = []
    for order, (key, value) in enumerate(raw.annotations):
        n_curves = len(value) if is_json_object(value) else 0
        ledger.images_total += 1
        ledger.curves_total += n_curves
        try:
            facts = _image_facts(key, value, files, refused, seen)
        except _Rejected as rejected:
            ledger.reject_image(rejected.source, key, rejected.check, rejected.message, n_curves)
            continue
        except Exception as exc:
            # The one place broad catches belong (here, per curve and per consensus curve):
            # a fault nobody foresaw in one hostile record quarantines that record instead of
            # stopping the whole release.
            message = unexpected_message(exc, ANNOTATIONS_FILE, key)
            ledger.reject_image(ANNOTATIONS_FILE, key, "unexpected_error", message, n_curves)
            continue
        finally:
            seen.add(key)
        name = parse_image_name(key)
        candidate = _Candidate(name, facts, order)
        candidate.curves = _image_curves(key, name.image_id, value, facts, ledger)
        if not candidate.curves:
            ledger.reject_image(
                ANNOTATIONS_FILE,
                key,
                "no_valid_curves",
                "no expert curve on this image passed the checks",
                0,
            )
            continue
        candidates.append(candidate)
    return candidates


def _image_facts(
    key: str, value: object, files: dict[str, Path], refused: dict[str, str], seen: set[str]
) -> ImageFacts:
    """The decoded frame of an annotated image, or _Rejected."""
    problem = _image_record_problem(key, value, files, refused, seen)
    if problem:
        raise _Rejected(ANNOTATIONS_FILE, *problem)
    try:
        return inspect_png(files[key])
    except ImageProblem as exc:
        raise _Rejected(f"{IMAGES_DIR}/{key}", exc.check, f"{key} {exc}") from None


def _image_record_problem(
    key: str, value: object, files: dict[str, Path], refused: dict[str, str], seen: set[str]
) -> tuple[str, str] | None:
    reason = unsafe_name_reason(key)
    if reason:
        return "unsafe_image_name", f"image name {describe_value(key)} {reason}"
    if key in seen:
        return "duplicate_image", "image named again in the file; the first occurrence is kept"
    if parse_image_name(key) is None:
        return "image_name_pattern", "name does not match <site>-<64 hex study hash>-<frame>.png"
    if not is_json_object(value):
        return "image_record_shape", "value is not an object {userId: [[x...], [y...]]}"
    if key in refused:
        return "unsafe_image_file", f"{IMAGES_DIR}/{key} {refused[key]}"
    if key not in files:
        return "image_missing", f"annotated image is not in {IMAGES_DIR}/"
    return None


def _image_curves(
    key: str, image_id: str, value: list, facts: ImageFacts, ledger: _Ledger
) -> list[AcceptedCurve]:
    curves, users = [], set()
    for user_id, curve_value in value:
        record = f"{key} / {user_id}"
        try:
            if user_id in users:
                raise CurveProblem("duplicate_expert", "expert appears twice on this image")
            users.add(user_id)
            xy = parse_curve(curve_value)
            check_inside_image(xy, facts.width, facts.height)
            _curve_warnings(record, user_id, xy, ledger)
        except CurveProblem as exc:
            ledger.reject_curve(record, exc.check, str(exc))
            continue
        except Exception as exc:  # see _annotated_images: one bad curve, not the whole run
            message = unexpected_message(exc, ANNOTATIONS_FILE, record)
            ledger.reject_curve(record, "unexpected_error", message)
            continue
        curves.append(AcceptedCurve(image_id, user_id, xy))
    return curves


def _curve_warnings(record: str, user_id: str, xy: np.ndarray, ledger: _Ledger) -> None:
    reason = self_intersection_reason(xy)
    if reason:
        ledger.warn(
            ANNOTATIONS_FILE,
            record,
            "self_intersecting",
            f"cavity polygon is not simple ({reason}); kept with is_valid = false",
        )
    if not USER_ID_PATTERN.fullmatch(user_id):
        ledger.warn(
            ANNOTATIONS_FILE,
            record,
            "user_id_format",
            f"userId is not {USER_ID_LENGTH} ASCII letters and digits ({len(user_id)} characters)",
        )


def _unannotated_files(
    raw: RawSource, files: dict[str, Path], refused: dict[str, str], ledger: _Ledger
) -> None:
    annotated = {key for key, _ in raw.annotations}
    for name, reason in refused.items():
        if name not in annotated:
            ledger.images_total += 1
            ledger.reject_image(f"{IMAGES_DIR}/{name}", name, "unsafe_image_file", reason, 0)
    for name in files:
        if name in annotated:
            continue
        ledger.images_total += 1
        if parse_image_name(name) is None:
            ledger.reject_image(
                f"{IMAGES_DIR}/{name}",
                name,
                "image_name_pattern",
                "file name does not match <site>-<64 hex>-<frame>.png",
                0,
            )
        else:
            ledger.reject_image(
                f"{IMAGES_DIR}/{name}",
                name,
                "image_unannotated",
                f"no expert annotated this image in {ANNOTATIONS_FILE}",
                0,
            )


def _studies(
    candidates: list[_Candidate], ledger: _Ledger
) -> tuple[list[AcceptedImage], list[AcceptedCurve]]:
    by_study: dict[str, list[_Candidate]] = defaultdict(list)
    for c in candidates:
        by_study[c.name.study_id].append(c)
    images, curves = [], []
    for study_id, members in by_study.items():
        if len(members) != 2:
            for c in members:
                ledger.reject_image(
                    ANNOTATIONS_FILE,
                    c.name.file_name,
                    "study_image_count",
                    f"study {study_id} has {len(members)} usable image(s), expected 2 (ED, ES)",
                    len(c.curves),
                )
            continue
        for phase, c in zip(("ED", "ES"), sorted(members, key=lambda m: m.order), strict=True):
            images.append(AcceptedImage(c.name, c.facts, phase, len(c.curves)))
            curves.extend(c.curves)
    return images, curves


def _consensus(
    raw: RawSource, accepted: dict[str, AcceptedImage], ledger: _Ledger
) -> dict[str, np.ndarray]:
    if raw.consensus is None:
        return {}
    consensus = {}
    for key, value in raw.consensus:
        if key not in accepted:
            ledger.warn(
                CONSENSUS_FILE,
                key,
                "consensus_unknown_image",
                "consensus curve for an image that is not an accepted image; ignored",
            )
            continue
        try:
            consensus[accepted[key].name.image_id] = parse_curve(value)
        except CurveProblem as exc:
            ledger.warn(CONSENSUS_FILE, key, f"consensus_{exc.check}", f"{exc}; ignored")
        except Exception as exc:  # see _annotated_images: one bad curve, not the whole run
            message = unexpected_message(exc, CONSENSUS_FILE, key)
            ledger.warn(CONSENSUS_FILE, key, "consensus_unexpected_error", f"{message}; ignored")
    return consensus


def image_folder_problem(raw: RawSource) -> str | None:
    """Why Images/ cannot be the frames of these annotations (none of them is there), or None."""
    files, _ = list_image_files(raw.root)
    if not any(name.endswith(".png") for name in files):
        return f"{IMAGES_DIR}/ holds no PNG files"
    annotated = {key for key, _ in raw.annotations} if isinstance(raw.annotations, list) else set()
    if annotated and not annotated & files.keys():
        return (
            f"none of the {len(annotated)} annotated images is in {IMAGES_DIR}/: "
            "is this the folder of the same download?"
        )
    return None
