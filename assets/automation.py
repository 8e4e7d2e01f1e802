"""Jobs, the nightly schedule, and the sensor that re-derives when source or code change.

Every job runs all study buckets in one run; inside it a bucket whose inputs are unchanged
since its outputs were made is reused, so a run's cost follows what changed.
"""

import dagster as dg

from assets.fingerprint import code_fingerprint, source_fingerprint
from assets.partitions import ALL_BUCKETS
from assets.resources import SourceFolder

# The dataset's assets: everything but the evaluations of submissions (their own job).
DATASET = dg.AssetSelection.all() - dg.AssetSelection.groups("evaluation")

derive_job = dg.define_asset_job(
    "derive",
    selection=DATASET - dg.AssetSelection.groups("release"),
    description="Validate the source and re-derive what changed (no release).",
    tags=ALL_BUCKETS,
)
release_job = dg.define_asset_job(
    "release",
    selection=DATASET,
    description="Validate, derive and cut a release (config: ops.release_bag.config.version).",
    tags=ALL_BUCKETS,
)
validate_job = dg.define_asset_job(
    "validate",
    selection=dg.AssetSelection.groups("source", "validated"),
    description="Check the source and quarantine bad records (source tables, no derivations).",
    tags=ALL_BUCKETS,
)

nightly_derive = dg.ScheduleDefinition(
    name="nightly_derive",
    job=derive_job,
    cron_schedule="0 2 * * *",
    execution_timezone="Europe/London",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Re-derive what changed every night at 02:00 London time.",
)


@dg.sensor(
    job=derive_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Start a derive run when the source files or the pipeline code change.",
)
def source_or_code_changed(context: dg.SensorEvaluationContext, source: SourceFolder):
    source_digest = source_fingerprint(source.root)
    if source_digest is None:
        return dg.SkipReason(f"no source at {source.root}")
    key = f"{source_digest[:16]}-{code_fingerprint()[:16]}"
    if key == context.cursor:
        return dg.SkipReason("source and code unchanged")
    context.update_cursor(key)
    return dg.RunRequest(run_key=key, tags=ALL_BUCKETS)
