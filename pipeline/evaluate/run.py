"""Evaluating a submission against a release: everything `unitylv evaluate` does.

The release is read, never written; the submission's entries are matched to its images, each
image is scored against its references as it streams by, and the three tables are written
atomically to `<out>/<name>/`. The same inputs give byte-identical tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from pipeline.errors import EvaluationError
from pipeline.evaluate.expert_pairs import expert_pairs
from pipeline.evaluate.names import ScoredAs, Status, check_submission_name
from pipeline.evaluate.output import write_evaluation
from pipeline.evaluate.predictions import (
    Prediction,
    PredictionReject,
    Predictions,
    open_predictions,
)
from pipeline.evaluate.references import image_references
from pipeline.evaluate.release_data import EvaluationRelease, ReleaseImage
from pipeline.evaluate.schemas import EVALUATION_SUMMARY, PREDICTION_REJECTS
from pipeline.evaluate.score import score_image, scores_table, with_ef_errors
from pipeline.evaluate.summary import Coverage, model_scores, summary_rows
from pipeline.release.cut import existing_versions, release_path
from pipeline.source.licence import load_metadata
from pipeline.tables.parquet_io import table_from_rows

DEFAULT_EVALUATIONS = Path("data/evaluations")
MAX_IMAGE_LIST_BYTES = 16 * 1024**2
# Images whose score rows are turned into one Arrow table at a time.
CHUNK_IMAGES = 256


@dataclass(frozen=True)
class EvaluationOutcome:
    """Where an evaluation was written, and what it found."""

    path: Path
    release_version: str
    format: str
    summary: list[dict]
    coverage: Coverage


def evaluate_submission(
    release_path: Path,
    predictions_path: Path,
    name: str,
    out_root: Path = DEFAULT_EVALUATIONS,
    image_list: Path | None = None,
    on_image: Callable[[], None] | None = None,
) -> EvaluationOutcome:
    """Score the predictions at `predictions_path` against the release at `release_path` and
    write `<out_root>/<name>/`; `image_list` (one image_id a line) limits the images scored."""
    release = check_inputs(release_path, predictions_path, name, out_root)
    images = release.images if image_list is None else read_image_list(image_list, release.images)
    predictions = open_predictions(predictions_path, release.images)
    scores, statuses, rejects = _score(release, images, predictions, on_image)
    coverage = Coverage(statuses, len(rejects))
    summary = summary_rows(
        model_scores(scores, images, release.expert_ids),
        expert_pairs(release, images),
        coverage,
        release.version,
    )
    named = {"submission": name}
    submission = pa.array([name] * scores.num_rows, pa.string())
    tables = {
        "evaluation": scores.append_column("submission", submission),
        "evaluation_summary": table_from_rows([named | row for row in summary], EVALUATION_SUMMARY),
        "prediction_rejects": table_from_rows(
            [named | reject.row() for reject in rejects], PREDICTION_REJECTS
        ),
    }
    stamp = load_metadata().parquet_stamp(release.version) | {
        "unitylv.submission": name,
        "unitylv.predictions_format": predictions.format,
    }
    path = write_evaluation(out_root, name, tables, stamp)
    return EvaluationOutcome(path, release.version, predictions.format, summary, coverage)


def _score(
    release: EvaluationRelease,
    images: list[ReleaseImage],
    predictions: Predictions,
    on_image: Callable[[], None] | None,
) -> tuple[pa.Table, dict[str, Status], list[PredictionReject]]:
    """Every image scored: (the scores, status per image, rejects). Rows become Arrow a
    chunk of images at a time, so memory follows the table, not Python's dicts."""
    chunks: list[pa.Table] = []
    rows: list[dict] = []
    statuses: dict[str, Status] = {}
    rejects = list(predictions.unmatched)
    for n, (image, references) in enumerate(image_references(release, images), start=1):
        found = predictions.for_image(image)
        if isinstance(found, Prediction):
            status = Status.PREDICTED
        elif found is None:
            status = Status.MISSING
            rejects.append(
                PredictionReject(
                    image.image_id,
                    image.image_id,
                    "missing",
                    ScoredAs.EMPTY_MASK,
                    "the submission has no prediction for this image",
                )
            )
        else:
            status = Status.REJECTED
            rejects.append(found)
        statuses[image.image_id] = status
        prediction = found if isinstance(found, Prediction) else None
        rows += score_image(image, references, prediction, status)
        if n % CHUNK_IMAGES == 0:
            chunks.append(scores_table(rows))
            rows = []
        if on_image is not None:
            on_image()
    chunks.append(scores_table(rows))
    return with_ef_errors(pa.concat_tables(chunks)), statuses, rejects


def newest_release(releases_root: Path) -> Path:
    """The folder of the highest version under a releases root; EvaluationError if none."""
    versions = existing_versions(releases_root)
    if not versions:
        raise EvaluationError("holds no release to evaluate against", file=str(releases_root))
    return release_path(releases_root, versions[-1])


def read_image_list(path: Path, images: list[ReleaseImage]) -> list[ReleaseImage]:
    """The release images named in a text file, one image_id (or file name) a line; blank
    lines and lines starting with # are skipped. An unknown id is an EvaluationError."""
    try:
        if path.stat().st_size > MAX_IMAGE_LIST_BYTES:
            raise EvaluationError("is too big for a list of image ids", file=str(path))
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise EvaluationError(f"cannot be read ({reason})", file=str(path)) from None
    by_id = {image.image_id: image for image in images}
    chosen = set()
    for number, line in enumerate(text.splitlines(), start=1):
        image_id = line.strip().removesuffix(".png")
        if not image_id or image_id.startswith("#"):
            continue
        if image_id not in by_id:
            raise EvaluationError(
                f"{image_id[:80]!r} is not an image of the release",
                file=str(path),
                record=f"line {number}",
            )
        chosen.add(image_id)
    if not chosen:
        raise EvaluationError("names no image", file=str(path))
    return [by_id[image_id] for image_id in sorted(chosen)]


def check_inputs(
    release_path: Path, predictions_path: Path, name: str, out_root: Path
) -> EvaluationRelease:
    """The release opened, once the name is safe and the output can harm neither the release
    nor the predictions; EvaluationError or ReleaseError otherwise (cheap: no image read)."""
    check_submission_name(name)
    release = EvaluationRelease(release_path)
    _check_apart(release, predictions_path, out_root / name)
    if not predictions_path.exists():
        raise EvaluationError("no such predictions file or folder", file=str(predictions_path))
    return release


def _check_apart(release: EvaluationRelease, predictions: Path, target: Path) -> None:
    """The evaluation may neither write into the release nor replace the predictions."""
    release_root = release.path.resolve()
    target = target.resolve()
    if target == release_root or release_root in target.parents:
        raise EvaluationError(
            "the evaluation would be written inside the release: choose another --out",
            file=str(target),
        )
    predictions = predictions.resolve()
    if predictions == target or target in predictions.parents:
        raise EvaluationError(
            "the evaluation would replace the predictions: choose another --out or --name",
            file=str(target),
        )
