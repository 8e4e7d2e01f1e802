"""Evaluations of submitted predictions: one dynamic partition per `<predictions>/<name>/`.

The sensor `predictions_changed` watches the predictions root: when a submission folder
appears or changes (or a newer release is cut), it adds the folder's name as a partition of
`evaluation` and requests a run of it. Runs of different submissions never share files: each
writes only `<evaluations>/<name>/`, atomically.
"""

import json
from pathlib import Path

import dagster as dg

from assets.errors import user_errors_as_failures
from assets.fingerprint import folder_fingerprint
from assets.resources import EvaluationsFolder, PredictionsFolder, ReleasesRoot
from pipeline.evaluate.names import HEADLINE_METRIC, SUBMISSION_NAME
from pipeline.evaluate.run import evaluate_submission, newest_release
from pipeline.release.cut import existing_versions

PREDICTIONS = dg.DynamicPartitionsDefinition(name="predictions")
EVALUATION_IO_MANAGER = "evaluation_io_manager"


class EvaluationConfig(dg.Config):
    """Empty fields take the defaults: the newest release under the releases root, the
    partition's folder under the predictions root, and every image of the release."""

    release: str = ""  # a release folder
    predictions: str = ""  # a mask folder or a predictions JSON file
    images: str = ""  # a text file of image ids, one a line


@dg.asset(
    partitions_def=PREDICTIONS,
    group_name="evaluation",
    kinds={"parquet"},
    # It writes its own files and returns metadata only: no work folder, so not its lock.
    io_manager_key=EVALUATION_IO_MANAGER,
    description="<evaluations>/<name>/: a submission scored against every expert and consensus "
    "of a release, with its Williams index among the experts.",
)
def evaluation(
    context: dg.AssetExecutionContext,
    config: EvaluationConfig,
    releases: ReleasesRoot,
    predictions: PredictionsFolder,
    evaluations: EvaluationsFolder,
) -> dg.MaterializeResult:
    name = context.partition_key
    with user_errors_as_failures():
        release = Path(config.release) if config.release else newest_release(releases.root)
        outcome = evaluate_submission(
            release,
            Path(config.predictions) if config.predictions else predictions.root / name,
            name,
            evaluations.root,
            Path(config.images) if config.images else None,
        )
    headline = next(row for row in outcome.summary if row["metric"] == HEADLINE_METRIC)
    interval = (
        f"{headline['williams_ci_low']:.4f} to {headline['williams_ci_high']:.4f}"
        if headline["williams_ci_low"] is not None
        else "n/a"
    )
    return dg.MaterializeResult(
        metadata={
            "path": str(outcome.path),
            "release_version": outcome.release_version,
            "format": outcome.format,
            "williams_index_dice": headline["williams_index"],
            "williams_ci95_dice": interval,
            "percentile_among_experts_dice": headline["percentile"],
            "images": headline["images"],
            "images_predicted": headline["images_predicted"],
            "images_missing": headline["images_missing"],
            "images_rejected": headline["images_rejected"],
        }
    )


evaluate_job = dg.define_asset_job(
    "evaluate",
    selection=[evaluation],
    description="Score one submission (a partition of `predictions`) against a release.",
    # One step, its value held in memory (EVALUATION_IO_MANAGER): in-process whatever the
    # dataset jobs' executor is.
    executor_def=dg.in_process_executor,
)


def submission_fingerprints(root: Path) -> dict[str, str]:
    """name -> fingerprint of every submission folder under the predictions root (entries
    whose name is not a safe submission name are passed over)."""
    if not root.is_dir():
        return {}
    return {
        entry.name: folder_fingerprint(entry)
        for entry in sorted(root.iterdir())
        if SUBMISSION_NAME.fullmatch(entry.name) and entry.is_dir() and not entry.is_symlink()
    }


@dg.sensor(
    job=evaluate_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Evaluate a submission when its folder under the predictions root appears or "
    "changes, or when a newer release is cut.",
)
def predictions_changed(
    context: dg.SensorEvaluationContext, predictions: PredictionsFolder, releases: ReleasesRoot
):
    versions = existing_versions(releases.root)
    if not versions:
        return dg.SkipReason(f"no release under {releases.root} to evaluate against")
    current = {
        name: f"{fingerprint[:16]}-{versions[-1]}"
        for name, fingerprint in submission_fingerprints(predictions.root).items()
    }
    seen = json.loads(context.cursor) if context.cursor else {}
    changed = sorted(name for name, key in current.items() if seen.get(name) != key)
    if not changed:
        return dg.SkipReason("no submission appeared or changed")
    known = set(context.instance.get_dynamic_partitions(PREDICTIONS.name))
    new = [name for name in changed if name not in known]
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(partition_key=name, run_key=f"{name}-{current[name]}") for name in changed
        ],
        dynamic_partitions_requests=[PREDICTIONS.build_add_request(new)] if new else [],
        cursor=json.dumps(current, sort_keys=True),
    )


EVALUATION_ASSETS = [evaluation]
