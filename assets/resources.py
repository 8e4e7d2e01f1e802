"""Resources: where the source is, where releases go, and where intermediate results live."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

DEFAULT_SOURCE = os.environ.get("UNITYLV_SOURCE", "data/raw")
DEFAULT_RELEASES = os.environ.get("UNITYLV_RELEASES", "data/releases")
DEFAULT_WORK = os.environ.get("UNITYLV_WORK", "data/work")
DEFAULT_PREDICTIONS = os.environ.get("UNITYLV_PREDICTIONS", "data/predictions")
DEFAULT_EVALUATIONS = os.environ.get("UNITYLV_EVALUATIONS", "data/evaluations")


class SourceFolder(dg.ConfigurableResource):
    """The UnityLV-MultiX download (or the sample data) in the published layout."""

    path: str = DEFAULT_SOURCE

    @property
    def root(self) -> Path:
        return Path(self.path)


class ReleasesRoot(dg.ConfigurableResource):
    """The folder that holds `unitylv-multix/<version>/` releases."""

    path: str = DEFAULT_RELEASES

    @property
    def root(self) -> Path:
        return Path(self.path)


class WorkFolder(dg.ConfigurableResource):
    """Intermediate results: tables, objects and mask files of the latest derive."""

    path: str = DEFAULT_WORK

    @property
    def root(self) -> Path:
        return Path(self.path)


class CalibrationFile(dg.ConfigurableResource):
    """Optional CSV image_id,mm_per_pixel; empty means no calibration (mm and ml are null)."""

    path: str = os.environ.get("UNITYLV_CALIBRATION", "")


class PredictionsFolder(dg.ConfigurableResource):
    """Submitted model predictions: one folder per submission, `<predictions>/<name>/`."""

    path: str = DEFAULT_PREDICTIONS

    @property
    def root(self) -> Path:
        return Path(self.path)


class EvaluationsFolder(dg.ConfigurableResource):
    """Evaluations of the submissions: `<evaluations>/<name>/<table>.parquet`."""

    path: str = DEFAULT_EVALUATIONS

    @property
    def root(self) -> Path:
        return Path(self.path)
