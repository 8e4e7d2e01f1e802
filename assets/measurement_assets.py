"""LV measurements per image and rater, and volumes and ejection fractions per study."""

from pathlib import Path

import dagster as dg
import pyarrow as pa

from assets.errors import user_errors_as_failures
from assets.metadata import table_metadata
from assets.resources import CalibrationFile
from pipeline.consensus.stage import ImageConsensus
from pipeline.measurements import stage as measurement_stage
from pipeline.measurements.calibration import read_calibration
from pipeline.names import Rater
from pipeline.tables import schemas
from pipeline.tables.parquet_io import table_from_rows


@dg.asset(group_name="measurements", kinds={"parquet"}, description="One row per image x rater.")
def measurements(
    context: dg.AssetExecutionContext,
    consensus_set: list[ImageConsensus],
    calibration: CalibrationFile,
) -> pa.Table:
    with user_errors_as_failures():
        spacing = read_calibration(Path(calibration.path)) if calibration.path else {}
    per_image = [r for res in consensus_set for r in measurement_stage.image_measurements(res)]
    rows = measurement_stage.calibrate(per_image, spacing)
    table = table_from_rows(rows, schemas.MEASUREMENTS)
    context.add_output_metadata(
        table_metadata(table, schemas.MEASUREMENTS) | {"calibrated": bool(spacing)}
    )
    return table


@dg.asset(group_name="measurements", kinds={"parquet"}, description="One row per study x rater.")
def study_measurements(context: dg.AssetExecutionContext, measurements: pa.Table) -> pa.Table:
    rows = measurement_stage.study_measurements(measurements.to_pylist())
    table = table_from_rows(rows, schemas.STUDY_MEASUREMENTS)
    flagged = sum(r["ed_area_smaller_than_es"] for r in rows if r["rater"] == Rater.CONSENSUS)
    outliers = sum(r["ef_outlier"] for r in rows)
    context.add_output_metadata(
        table_metadata(table, schemas.STUDY_MEASUREMENTS)
        | {"consensus_ed_smaller_than_es": flagged, "ef_outliers": outliers}
    )
    return table
