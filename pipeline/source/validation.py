"""Record-level validation of a parsed source: every record is accepted or quarantined.

Each record (an image named in the annotations or found in Images/, and each expert curve)
ends in exactly one place: accepted, or a `rejects` row of severity "error". Warnings flag
records that are kept.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.constants import (
    ANNOTATIONS_FILE,
    CONSENSUS_FILE,
    IMAGES_DIR,
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
    UNEXPECTED_ERROR,
    ImageFacts,
    ImageName,
    ImageProblem,
    decode_png,
    list_image_files,
    parse_image_name,
    unsafe_name_reason,
)
from pipeline.source.jsonvalues import describe_value, is_json_object
from pipeline.source.outcomes import (  # noqa: F401 (importable from here, as they always were)
    AcceptedCurve,
    AcceptedImage,
    CheckedRecords,
    Ledger,
    RecordCounts,
    Reject,
    ValidatedSource,
    capped,
    number_experts,
    unexpected_message,
)
from pipeline.source.reader import RawSource

# One image record of the annotations: (its position in the file, image name, value).
ImageRecord = tuple[int, str, Any]


@dataclass
class _Candidate:
    name: ImageName
    facts: ImageFacts
    order: int
    curves: list[AcceptedCurve] = field(default_factory=list)


class _Rejected(Exception):
    """A record fails a check: where it failed, which check, why."""

    def __init__(self, source: str, check: str, message: str):
        self.source, self.check, self.message = source, check, message
        super().__init__(message)


def validate_source(path: Path) -> ValidatedSource:
    """Read and validate the source folder at `path` (whole-source faults raise SourceError).

    Streams the source into per-bucket shards in a temporary folder and validates bucket by
    bucket, as the partitioned pipeline does (`pipeline.source.buckets.validate_all`).
    """
    from pipeline.source.buckets import validate_all

    return validate_all(path)


def validate_raw(raw: RawSource) -> ValidatedSource:
    """Validate every record of a parsed source (the whole dataset in memory at once)."""
    files, refused = list_image_files(raw.root)
    records = ((order, key, value) for order, (key, value) in enumerate(raw.annotations))
    checked = check_records(records, files, refused, raw.consensus)
    return ValidatedSource(
        images=checked.images,
        curves=checked.curves,
        consensus=checked.consensus,
        rejects=checked.ledger.rejects,
        image_counts=checked.ledger.image_counts(len(checked.images)),
        curve_counts=checked.ledger.curve_counts(len(checked.curves)),
    )


def check_records(
    records: Iterable[ImageRecord],
    files: dict[str, Path],
    refused: dict[str, str],
    consensus: Iterable[tuple[str, Any]] | None,
    ledger: Ledger | None = None,
    seen: set[str] | None = None,
    decoded: Mapping[str, ImageFacts | ImageProblem] | None = None,
) -> CheckedRecords:
    """Check image records, the image files they may name, and consensus curves.

    `files` and `refused` (from `list_image_files`) are the Images/ entries these records
    answer for: each one not named by a record is rejected as unannotated. Studies are made
    of these records only, so every image of a study must be among them (a bucket holds
    whole studies). `ledger` and `seen` (the names already seen) carry over between calls.
    `decoded` holds what `decode_png` found for files decoded beforehand (in parallel);
    others are decoded here.
    """
    ledger = Ledger() if ledger is None else ledger
    seen = set() if seen is None else seen
    candidates = _annotated_images(records, files, refused, ledger, seen, decoded or {})
    _unannotated_files(seen, files, refused, ledger)
    images, curves, ed_orders = _studies(candidates, ledger)
    accepted = {i.name.file_name: i for i in images}
    published = _consensus(consensus, accepted, ledger) if consensus is not None else {}
    return CheckedRecords(images, curves, ed_orders, published, ledger)


def _annotated_images(
    records: Iterable[ImageRecord],
    files: dict[str, Path],
    refused: dict[str, str],
    ledger: Ledger,
    seen: set[str],
    decoded: Mapping[str, ImageFacts | ImageProblem],
) -> list[_Candidate]:
    candidates = []
    for order, key, value in records:
        n_curves = len(value) if is_json_object(value) else 0
        ledger.images_total += 1
        ledger.curves_total += n_curves
        try:
            facts = _image_facts(key, value, files, refused, seen, decoded)
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
    key: str,
    value: object,
    files: dict[str, Path],
    refused: dict[str, str],
    seen: set[str],
    decoded: Mapping[str, ImageFacts | ImageProblem],
) -> ImageFacts:
    """The decoded frame of an annotated image, or _Rejected."""
    problem = _image_record_problem(key, value, files, refused, seen)
    if problem:
        raise _Rejected(ANNOTATIONS_FILE, *problem)
    facts = decoded[key] if key in decoded else decode_png(files[key])
    if isinstance(facts, ImageProblem) and facts.check == UNEXPECTED_ERROR:
        raise _UnexpectedDecodeError(str(facts))  # quarantined like any unforeseen fault
    if isinstance(facts, ImageProblem):
        raise _Rejected(f"{IMAGES_DIR}/{key}", facts.check, f"{key} {facts}")
    return facts


class _UnexpectedDecodeError(Exception):
    """An unforeseen fault while decoding an image (its type and message are the text)."""


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
    key: str, image_id: str, value: list, facts: ImageFacts, ledger: Ledger
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


def _curve_warnings(record: str, user_id: str, xy: np.ndarray, ledger: Ledger) -> None:
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
    annotated: set[str], files: dict[str, Path], refused: dict[str, str], ledger: Ledger
) -> None:
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
    candidates: list[_Candidate], ledger: Ledger
) -> tuple[list[AcceptedImage], list[AcceptedCurve], list[int]]:
    by_study: dict[str, list[_Candidate]] = defaultdict(list)
    for c in candidates:
        by_study[c.name.study_id].append(c)
    images, curves, ed_orders = [], [], []
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
        members = sorted(members, key=lambda m: m.order)
        for phase, c in zip(("ED", "ES"), members, strict=True):
            images.append(AcceptedImage(c.name, c.facts, phase, len(c.curves)))
            curves.extend(c.curves)
        ed_orders.append(members[0].order)
    return images, curves, ed_orders


def _consensus(
    records: Iterable[tuple[str, Any]], accepted: dict[str, AcceptedImage], ledger: Ledger
) -> dict[str, np.ndarray]:
    consensus = {}
    for key, value in records:
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
