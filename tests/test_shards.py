"""Study buckets: the scan's shards, one bucket's validation, and tables that add up to the
whole source's tables."""

import json
import os
import pickle
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from pipeline.constants import ANNOTATIONS_FILE, CONSENSUS_FILE, IMAGES_DIR
from pipeline.errors import SourceError
from pipeline.source.buckets import validate_bucket
from pipeline.source.reader import ANNOTATIONS_KEEP, read_source
from pipeline.source.shards import (
    BUCKETS,
    consensus_shard_path,
    image_bucket,
    read_shard,
    scan_source,
    shard_path,
    study_bucket,
)
from pipeline.source.stream import stream_records
from pipeline.source.validation import validate_raw, validate_source
from pipeline.tables import schemas
from pipeline.tables import source_tables as tables
from pipeline.tables.parquet_io import conform, write_table
from tests import corrupt
from tests.conftest import read_annotations, write_annotations

SOURCE_TABLES = ("images", "studies", "experts", "points", "contours", "rejects")


def scan_and_validate(source: Path, shards: Path):
    scan = scan_source(source, shards)
    return scan, [validate_bucket(scan.root, shards, b, scan.expert_ids) for b in BUCKETS]


def bucketed_tables(scan, buckets) -> dict[str, pa.Table]:
    """The whole source's tables as the partitioned pipeline assembles them."""
    per_bucket = [tables.bucket_tables(b) for b in buckets]
    assembled = {
        name: conform(pa.concat_tables([t[name] for t in per_bucket]), schemas.TABLES[name])
        for name in tables.BUCKET_TABLES
    }
    scan_rejects = tables.rejects_table_of(scan.rejects)
    assembled["rejects"] = conform(
        pa.concat_tables([scan_rejects, assembled["rejects"]]), schemas.REJECTS
    )
    curves = sum((b.curves_per_user() for b in buckets), Counter())
    assembled["experts"] = tables.experts_table_for(scan.expert_ids, curves)
    return assembled


def assert_same_tables(got: dict[str, pa.Table], expected_source, tmp_path: Path) -> None:
    stamp = {"unitylv.version": "test"}
    for name in SOURCE_TABLES:
        expected = getattr(tables, f"{name}_table")(expected_source)
        assert got[name].equals(expected, check_metadata=True), name
        spec = schemas.TABLES[name]
        a = write_table(got[name], spec, tmp_path / f"{name}.bucketed.parquet", stamp)
        b = write_table(expected, spec, tmp_path / f"{name}.whole.parquet", stamp)
        assert a.read_bytes() == b.read_bytes(), name


# --- buckets -------------------------------------------------------------------------------


def test_sixteen_buckets_by_the_first_hex_digit_of_the_study_hash():
    assert tuple("0123456789abcdef") == BUCKETS
    assert study_bucket("0" * 64) == "0"
    assert study_bucket("f" + "0" * 63) == "f"
    assert image_bucket("02-" + "a7" * 32 + "-0003.png") == "a"
    assert image_bucket("../a.png") is None and image_bucket("02-AB.png") is None
    for bad in ("", "A" * 64, "g" * 64):
        with pytest.raises(ValueError):
            study_bucket(bad)


# --- the sample: bucket by bucket equals the whole source -----------------------------------


@pytest.fixture(scope="module")
def sample_scan(sample_source, tmp_path_factory):
    shards = tmp_path_factory.mktemp("sample_shards")
    scan, buckets = scan_and_validate(sample_source, shards)
    return scan, buckets, shards


@pytest.mark.slow
def test_sample_bucketed_tables_equal_the_whole_source_tables(sample_source, sample_scan, tmp_path):
    scan, buckets, _ = sample_scan
    whole = validate_raw(read_source(sample_source))
    assert sum(len(b.images) for b in buckets) == len(whole.images) == 200
    assert sum(1 for b in buckets if b.images) > 8  # the studies really are spread
    assert scan.expert_ids == whole.expert_ids and len(scan.expert_ids) == 11
    assert_same_tables(bucketed_tables(scan, buckets), whole, tmp_path)


@pytest.mark.slow
def test_sample_scan_is_small_and_picklable(sample_scan):
    scan = sample_scan[0]
    data = pickle.dumps(scan)
    assert pickle.loads(data) == scan
    assert len(data) < 10_000
    assert not any(isinstance(v, np.ndarray) for v in vars(scan).values())
    assert (scan.n_records, scan.has_consensus, scan.folder_problem) == (200, True, None)
    assert sum(m.n_records for m in scan.buckets.values()) == 200
    assert sum(m.n_files for m in scan.buckets.values()) == 200


@pytest.mark.slow
def test_shards_hold_each_bucket_records_in_file_order(sample_source, sample_scan):
    _, _, shards = sample_scan
    path = sample_source / ANNOTATIONS_FILE
    records = list(stream_records(path, sample_source, ANNOTATIONS_KEEP, ""))
    for bucket in BUCKETS:
        expected = [(r.order, r.key, r.value) for r in records if image_bucket(r.key) == bucket]
        assert list(read_shard(shard_path(shards, bucket), ANNOTATIONS_KEEP)) == expected
        assert consensus_shard_path(shards, bucket).is_file()
    assert not list(shards.glob("*.partial"))


# --- a source with every kind of fault ---------------------------------------------------


@pytest.fixture(scope="module")
def broken_source(small_source, tmp_path_factory) -> Path:
    source = Path(shutil.copytree(small_source, tmp_path_factory.mktemp("broken") / "source"))
    names = list(read_annotations(source))
    corrupt.edit_curve(source, lambda c: [c[0][:-1], c[1]], image=0, expert=0)
    corrupt.edit_curve(source, lambda c: [["x", *c[0][1:]], c[1]], image=0, expert=1)
    corrupt.image_path(source, names[2]).unlink()
    png = corrupt.image_path(source, names[4])
    png.write_bytes(png.read_bytes()[:2000])  # (a bad signature's message holds an address)
    corrupt.add_image_record(source, names[6], [[1, 2], [3, 4]])
    first = read_annotations(source)[names[0]]
    corrupt.add_image_record(source, "../escape.png", first)
    corrupt.add_image_record(source, "not-a-published-name.png", {"u": [[1, 2, 3], [4, 5, 6]]})
    corrupt.copy_image_as(source, names[8], "stray.png")
    corrupt.copy_image_as(source, names[8], names[8][:-8] + "0998.png")
    consensus = json.loads((source / CONSENSUS_FILE).read_text())
    consensus["not-a-published-name.png"] = [[1, 2, 3], [4, 5, 6]]
    consensus[names[10]] = [[1, 2], [3]]
    (source / CONSENSUS_FILE).write_text(json.dumps(consensus))
    corrupt.duplicate_image_key(source, image=9)  # rewriting the JSON would drop it
    # last, as text: json.loads (which the helpers above use) refuses both
    annotations = read_annotations(source)
    long_x, deep = (next(iter(annotations[names[i]].values())) for i in (1, 3))
    text = (source / ANNOTATIONS_FILE).read_text()
    first_x = f"[[{json.dumps(long_x[0][0])}, "
    text = text.replace(
        json.dumps(long_x), json.dumps(long_x).replace(first_x, "[[" + "4" * 4401 + ", ")
    )
    text = text.replace(json.dumps(deep), corrupt.deep_array(900))
    (source / ANNOTATIONS_FILE).write_text(text)
    corrupt.add_byte_order_mark(source / ANNOTATIONS_FILE)
    return source


def test_broken_source_bucketed_tables_equal_the_whole_source_tables(broken_source, tmp_path):
    scan, buckets = scan_and_validate(broken_source, tmp_path / "shards")
    whole = validate_raw(read_source(broken_source))
    checks = Counter(r.check for r in whole.rejects)
    assert {"coordinate_out_of_range", "curve_shape", "png_invalid", "duplicate_image"} <= set(
        checks
    )
    assert len(checks) >= 14, checks  # the faults above really are there
    assert_same_tables(bucketed_tables(scan, buckets), whole, tmp_path)
    for what in ("image_counts", "curve_counts"):
        counts = [getattr(scan, what), *(getattr(b, what) for b in buckets)]
        total = [sum(getattr(c, f) for c in counts) for f in ("total", "accepted", "rejected")]
        expected = getattr(whole, what)
        assert total == [expected.total, expected.accepted, expected.rejected]
        assert expected.accepted + expected.rejected == expected.total


def test_names_with_no_bucket_are_the_scan_own_rejects(broken_source, tmp_path):
    scan = scan_source(broken_source, tmp_path / "shards")
    assert {(r.record, r.check, r.severity) for r in scan.rejects} == {
        ("../escape.png", "unsafe_image_name", "error"),
        ("not-a-published-name.png", "image_name_pattern", "error"),
        ("stray.png", "image_name_pattern", "error"),
        ("not-a-published-name.png", "consensus_unknown_image", "warning"),
    }
    assert (scan.image_counts.total, scan.image_counts.rejected) == (3, 3)
    assert (scan.curve_counts.total, scan.curve_counts.rejected) == (12, 12)


def test_validate_source_through_buckets_equals_the_whole_source(broken_source):
    whole, bucketed = validate_raw(read_source(broken_source)), validate_source(broken_source)
    assert [i.name.file_name for i in bucketed.images] == [i.name.file_name for i in whole.images]
    assert [(c.image_id, c.user_id) for c in bucketed.curves] == [
        (c.image_id, c.user_id) for c in whole.curves
    ]
    assert all(
        np.array_equal(a.xy, b.xy) for a, b in zip(bucketed.curves, whole.curves, strict=True)
    )
    assert bucketed.consensus.keys() == whole.consensus.keys()
    assert Counter(bucketed.rejects) == Counter(whole.rejects)
    assert (bucketed.image_counts, bucketed.curve_counts) == (
        whole.image_counts,
        whole.curve_counts,
    )


# --- fingerprints and writes ---------------------------------------------------------------


def fingerprints(source: Path, shards: Path) -> dict[str, str]:
    return {b: m.fingerprint for b, m in scan_source(source, shards).buckets.items()}


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {b for b in BUCKETS if before[b] != after[b]}


def test_fingerprint_changes_only_for_the_bucket_whose_input_changed(source_copy, tmp_path):
    write_annotations(source_copy, read_annotations(source_copy))  # as corrupt.* writes it
    consensus_text = json.dumps(json.loads((source_copy / CONSENSUS_FILE).read_text()))
    (source_copy / CONSENSUS_FILE).write_text(consensus_text)
    names = list(read_annotations(source_copy))
    by_bucket = {}
    for name in names:
        by_bucket.setdefault(image_bucket(name), name)
    (a, name_a), (b, name_b), (c, name_c) = list(by_bucket.items())[:3]
    first = fingerprints(source_copy, tmp_path / "1")
    assert fingerprints(source_copy, tmp_path / "2") == first
    for bucket in BUCKETS:  # the same source gives the same bytes
        for path in (shard_path, consensus_shard_path):
            assert (
                path(tmp_path / "1", bucket).read_bytes()
                == path(tmp_path / "2", bucket).read_bytes()
            )

    corrupt.edit_curve(
        source_copy, lambda curve: [curve[0][::-1], curve[1][::-1]], names.index(name_a)
    )
    second = fingerprints(source_copy, tmp_path / "3")
    assert changed(first, second) == {a}

    image = corrupt.image_path(source_copy, name_b)
    os.utime(image, ns=(image.stat().st_atime_ns, image.stat().st_mtime_ns + 10**9))
    third = fingerprints(source_copy, tmp_path / "3")
    assert changed(second, third) == {b}

    corrupt.copy_image_as(source_copy, name_c, name_c[:-8] + "0998.png")  # unannotated, in c
    fourth = fingerprints(source_copy, tmp_path / "3")
    assert changed(third, fourth) == {c}

    consensus = json.loads((source_copy / CONSENSUS_FILE).read_text())
    consensus[name_a] = consensus[name_a][::-1]
    (source_copy / CONSENSUS_FILE).write_text(json.dumps(consensus))
    assert changed(fourth, fingerprints(source_copy, tmp_path / "3")) == {a}


def test_a_failed_scan_leaves_the_last_shards_untouched(source_copy, tmp_path):
    shards = tmp_path / "shards"
    scan_source(source_copy, shards)
    before = {p.name: p.read_bytes() for p in shards.iterdir()}
    text = (source_copy / ANNOTATIONS_FILE).read_text()
    (source_copy / ANNOTATIONS_FILE).write_text(text[:-1] + ', "late": oops}')
    with pytest.raises(SourceError, match="JSON does not parse at line 1"):
        scan_source(source_copy, shards)
    assert {p.name: p.read_bytes() for p in shards.iterdir()} == before
    assert len(before) == 2 * len(BUCKETS)


def test_whole_source_shape_faults_stop_the_scan(source_copy, tmp_path):
    (source_copy / ANNOTATIONS_FILE).write_text(json.dumps({"x.png": [1, 2]}))
    with pytest.raises(SourceError, match="no image maps to an object of curves"):
        scan_source(source_copy, tmp_path / "shards")
    (source_copy / ANNOTATIONS_FILE).write_text("{}")
    with pytest.raises(SourceError, match="holds no annotated images"):
        scan_source(source_copy, tmp_path / "shards")
    assert not list((tmp_path / "shards").glob("*"))


def test_folder_problem_is_reported_not_raised(source_copy, tmp_path):
    for image in (source_copy / IMAGES_DIR).iterdir():
        image.rename(image.with_suffix(".bak"))
    scan = scan_source(source_copy, tmp_path / "shards")
    assert scan.folder_problem == f"{IMAGES_DIR}/ holds no PNG files"
