"""Cost follows the work that changed: one changed study re-derives its bucket only."""

import json
import shutil
from pathlib import Path

import dagster as dg
import pytest

from assets.runner import run_job
from pipeline.buckets.layout import BUCKETS
from pipeline.checksums import tree_manifest
from pipeline.constants import ANNOTATIONS_FILE
from pipeline.source.images import parse_image_name
from pipeline.source.shards import study_bucket
from tests import corrupt
from tests.conftest import read_annotations


def derivation_metadata(result: dg.ExecuteInProcessResult, table: str = "consensus") -> dict:
    """The metadata of the run's bucket_derivations step (bucket_records': table="images")."""
    [event] = [
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey(["buckets", table]) and e.partition == BUCKETS[0]
    ]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def derived_counts(result: dg.ExecuteInProcessResult) -> tuple[int, int]:
    """(buckets derived, buckets reused) of the run's bucket_derivations step."""
    metadata = derivation_metadata(result)
    return metadata["buckets_derived"], metadata["buckets_reused"]


def tables_of(work: Path) -> dict[str, str]:
    return tree_manifest(work / "tables")


def buckets_holding_studies(source: Path) -> int:
    """How many buckets the source's frames fall in (from their names)."""
    return len(
        {study_bucket(parse_image_name(p.name).study_hash) for p in (source / "Images").iterdir()}
    )


@pytest.mark.slow
def test_one_changed_study_rederives_one_bucket(small_source, tmp_path):
    source = Path(shutil.copytree(small_source, tmp_path / "source"))
    work = tmp_path / "work"
    first = run_job("derive", source, tmp_path / "releases", work, progress=False)
    buckets_with_studies = buckets_holding_studies(source)
    assert derived_counts(first) == (16, 0)
    again = run_job("derive", source, tmp_path / "releases", work, progress=False)
    assert derived_counts(again) == (0, 16)

    name = corrupt.edit_curve(source, lambda c: [[x + 2 for x in c[0]], c[1]], image=3, expert=1)
    changed = study_bucket(parse_image_name(name.split(" / ")[0]).study_hash)
    third = run_job("derive", source, tmp_path / "releases", work, progress=False)
    assert derived_counts(third) == (1, 15), changed
    assert buckets_with_studies > 1
    # Inside the changed bucket, only the edited image is derived again.
    images_in_bucket = sum(
        study_bucket(parse_image_name(p.name).study_hash) == changed
        for p in (source / "Images").iterdir()
    )
    metadata = derivation_metadata(third)
    assert (metadata["images_derived"], metadata["images_kept"]) == (1, images_in_bucket - 1)

    # Two studies of two other buckets change at once: both buckets are derived in one stream
    # of images, each keeping its unchanged images.
    names = list(read_annotations(source))
    bucket_of = [study_bucket(parse_image_name(n).study_hash) for n in names]
    first_two = {}
    for index, bucket in enumerate(bucket_of):
        if bucket != changed:
            first_two.setdefault(bucket, index)
    edited = sorted(first_two.values())[:2]
    for index in edited:
        corrupt.edit_curve(source, lambda c: [[x - 1 for x in c[0]], c[1]], image=index)
    fourth = run_job("derive", source, tmp_path / "releases", work, progress=False)
    assert derived_counts(fourth) == (2, 14)
    in_both = sum(bucket_of.count(bucket_of[index]) for index in edited)
    metadata = derivation_metadata(fourth)
    assert (metadata["images_derived"], metadata["images_kept"]) == (2, in_both - 2)

    # The reused buckets and the re-derived ones make exactly the tables of a fresh derive.
    fresh = tmp_path / "fresh"
    run_job("derive", source, tmp_path / "releases", fresh, progress=False)
    assert tables_of(work) == tables_of(fresh)


@pytest.mark.slow
def test_a_reformatted_annotations_file_decodes_no_frame_and_derives_nothing(
    small_source, tmp_path, decodes
):
    source = Path(shutil.copytree(small_source, tmp_path / "source"))
    work = tmp_path / "work"
    run_job("derive", source, tmp_path / "releases", work, progress=False)
    before = tables_of(work)

    annotations = source / ANNOTATIONS_FILE
    annotations.write_text(json.dumps(json.loads(annotations.read_text()), indent=2))
    decodes.clear()
    again = run_job("derive", source, tmp_path / "releases", work, progress=False)

    records = derivation_metadata(again, "images")
    # Every record's text changed, so every bucket holding a study has its records checked
    # again, but no frame changed: none is decoded again, and no image is derived again.
    with_studies = buckets_holding_studies(source)
    assert 1 < with_studies < 16
    assert (records["buckets_derived"], records["buckets_reused"]) == (
        with_studies,
        16 - with_studies,
    )
    assert decodes == []
    assert derived_counts(again) == (0, 16)
    assert tables_of(work) == before
