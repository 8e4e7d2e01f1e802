"""Resources: where the source is, where releases go, and where intermediate results live."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from pipeline.storage import folders

DEFAULT_SOURCE = os.environ.get("UNITYLV_SOURCE", "data/raw")
DEFAULT_RELEASES = os.environ.get("UNITYLV_RELEASES", "data/releases")
DEFAULT_WORK = os.environ.get("UNITYLV_WORK", "data/work")
DEFAULT_PREDICTIONS = os.environ.get("UNITYLV_PREDICTIONS", "data/predictions")
DEFAULT_EVALUATIONS = os.environ.get("UNITYLV_EVALUATIONS", "data/evaluations")


class SourceFolder(dg.ConfigurableResource):
    """The UnityLV-MultiX download (or the sample data) in the published layout: a folder or
    an s3://bucket/prefix URL."""

    path: str = DEFAULT_SOURCE

    @property
    def root(self) -> Path:
        """The folder to read (an S3 source's local mirror, brought up to date)."""
        return folders.source_root(self.path)


class ReleasesRoot(dg.ConfigurableResource):
    """What holds `unitylv-multix/<version>/` releases: a folder or an s3://bucket/prefix URL."""

    path: str = DEFAULT_RELEASES

    @property
    def root(self) -> Path:
        """The folder to cut into (an S3 root's local mirror of its complete releases)."""
        return folders.releases_root(self.path)


class WorkFolder(dg.ConfigurableResource):
    """Intermediate results: tables, objects and mask files of the latest derive; a folder or
    an s3://bucket/prefix URL (worked on in its local copy, synced by the run's lock holder)."""

    path: str = DEFAULT_WORK

    @property
    def root(self) -> Path:
        return folders.local_path(self.path)


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
