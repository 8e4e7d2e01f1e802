"""Shared fixtures: sample sources made by the generator, and a release of the full sample."""

import json
import os
import shutil
from pathlib import Path

import pytest

from pipeline.constants import ANNOTATIONS_FILE
from pipeline.synth import SynthOptions, synthesize

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(autouse=True, scope="session")
def _no_dagster_home():
    """Runs in tests use an ephemeral Dagster instance, never the developer's."""
    saved = os.environ.pop("DAGSTER_HOME", None)
    yield
    if saved is not None:
        os.environ["DAGSTER_HOME"] = saved


@pytest.fixture(scope="session")
def small_source(tmp_path_factory) -> Path:
    """Six studies (12 images, 11 experts), generated once per session; do not modify."""
    out = tmp_path_factory.mktemp("small") / "source"
    synthesize(out, SynthOptions(studies=6, experts=11, seed=7))
    return out


@pytest.fixture
def source_copy(small_source, tmp_path) -> Path:
    """A private copy of the small source, free to corrupt."""
    return Path(shutil.copytree(small_source, tmp_path / "source"))


@pytest.fixture(scope="session")
def sample_source(tmp_path_factory) -> Path:
    """The default sample: 100 studies, 11 experts, seed 0."""
    out = tmp_path_factory.mktemp("sample") / "source"
    synthesize(out, SynthOptions())
    return out


@pytest.fixture(scope="session")
def sample_release(sample_source, tmp_path_factory) -> Path:
    """Release 1.0.0 of the default sample, cut through the Dagster job as the CLI does."""
    from assets.runner import run_job

    base = tmp_path_factory.mktemp("sample_release")
    result = run_job(
        "release", sample_source, base / "releases", base / "work", version="1.0.0", progress=False
    )
    return Path(result.output_for_node("release_bag"))


def read_annotations(source: Path) -> dict:
    return json.loads((source / ANNOTATIONS_FILE).read_text())


def write_annotations(source: Path, annotations: dict) -> None:
    (source / ANNOTATIONS_FILE).write_text(json.dumps(annotations))
