"""The study buckets: how per-study work is partitioned in Dagster."""

import dagster as dg

from pipeline.buckets.layout import BUCKETS

# 16 buckets by the first hex digit of the study hash: a study's derivations live in exactly
# one partition; at the published size a bucket holds ~6 studies, at 100x ~625 (a bounded
# slice), and 16 steps' worth of bookkeeping keeps a full run cheap.
STUDY_BUCKETS = dg.StaticPartitionsDefinition(list(BUCKETS))
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
ALL_BUCKETS = {RANGE_START: BUCKETS[0], RANGE_END: BUCKETS[-1]}
# Every bucket in one run (one step per stage, one worker pool), not one run per bucket.
ONE_RUN = dg.BackfillPolicy.single_run()
