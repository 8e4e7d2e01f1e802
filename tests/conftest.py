"""Shared fixtures: sample sources made by the generator, and the releases cut from them.

A release is cut once per session and shared; tests must not modify one (copy it first). Tests
that use a release, or the 100-study sample, are end-to-end: they carry the `slow` marker, so
`pytest -m "not slow"` runs the unit tests alone (collection refuses an unmarked one).
"""

import json
import os
import shutil
import stat
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


# Session fixtures that cut a release or generate the whole sample.
SLOW_FIXTURES = frozenset({"sample_source", "sample_release", "tiny_release", "export_payload"})


# Tests sharing the costliest session fixture run on one worker under `pytest -n 2` (xdist's
# loadgroup), so the 100-study release is cut once, not once per worker.
SHARED_SAMPLE = frozenset({"sample_source", "sample_release"})


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SHARED_SAMPLE & set(item.fixturenames):
            item.add_marker(pytest.mark.xdist_group("sample"))
    unmarked = [
        item.nodeid
        for item in items
        if SLOW_FIXTURES & set(item.fixturenames) and item.get_closest_marker("slow") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "these tests use a release or the whole sample; mark them slow: " + " ".join(unmarked)
        )


@pytest.fixture
def decodes(monkeypatch) -> list[str]:
    """The names of the frames decoded from now on, by either decoding path of a bucket's
    validation (threads first, or one by one while its records are checked)."""
    from pipeline.source import buckets, validation

    names: list[str] = []
    real = buckets.decode_png

    def counted(path: Path):
        names.append(path.name)
        return real(path)

    monkeypatch.setattr(buckets, "decode_png", counted)
    monkeypatch.setattr(validation, "decode_png", counted)
    return names


@pytest.fixture(scope="session")
def tiny_source(tmp_path_factory) -> Path:
    """Two studies (4 images, 11 experts), generated once per session; do not modify."""
    out = tmp_path_factory.mktemp("tiny") / "source"
    synthesize(out, SynthOptions(studies=2, seed=4))
    return out


@pytest.fixture(scope="session")
def tiny_release(tiny_source, tmp_path_factory) -> Path:
    """Release 1.0.0 of the tiny source (its bag folder), cut through the Dagster job."""
    base = tmp_path_factory.mktemp("tiny_release")
    return cut(tiny_source, base)


@pytest.fixture(scope="session")
def export_payload(tmp_path_factory):
    """A released data/ folder of an irregular 3-study source, with its exports rewritten:
    (data folder, tables). See tests/export_payload.py."""
    from tests.export_payload import make_payload

    return make_payload(tmp_path_factory.mktemp("export_payload"))


def cut(
    source: Path, base: Path, version: str = "1.0.0", date: str = "", work: Path | None = None
) -> Path:
    """Cut `version` of `source` into base/releases (work in base/work); its bag folder."""
    from assets.runner import run_job

    result = run_job(
        "release",
        source,
        base / "releases",
        work or base / "work",
        version=version,
        progress=False,
        date=date,
    )
    return Path(result.output_for_node("release_bag"))


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
    return cut(sample_source, tmp_path_factory.mktemp("sample_release"))


def writable_copy(folder: Path, to: Path) -> Path:
    """A copy of `folder` (a published release is read-only on disk) that tests may change."""
    shutil.copytree(folder, to)
    for path in [to, *to.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return to


def read_annotations(source: Path) -> dict:
    return json.loads((source / ANNOTATIONS_FILE).read_text())


def write_annotations(source: Path, annotations: dict) -> None:
    (source / ANNOTATIONS_FILE).write_text(json.dumps(annotations))
