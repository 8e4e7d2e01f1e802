"""The release streams: tables copied a row group at a time, exports read in batches, each
file hashed once. Expected bytes come from `write_table` and `json.dumps` of whole documents."""

import hashlib
import json
import tracemalloc
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.checksums import tree_manifest
from pipeline.errors import ReleaseError, UnityLVError
from pipeline.exports.coco import FILE_CONTENTS, coco_json_bytes, write_coco
from pipeline.exports.layout import table_path
from pipeline.exports.payload_tables import curve_batches, curves_in_order
from pipeline.release.bag import bag_manifest
from pipeline.release.info import ReleaseInfo
from pipeline.release.publish import WRITABLE_DIR
from pipeline.source.licence import load_metadata
from pipeline.tables import parquet_io
from pipeline.tables.parquet_io import read_table, restamp_table, write_table
from pipeline.tables.schemas import TABLES
from pipeline.tables.table_files import TableFiles, TablesInMemory, sorted_batches

META = load_metadata()
INFO = ReleaseInfo("1.0.0", "2024-01-01", META)


@pytest.fixture(scope="module")
def work_tables(sample_release) -> Path:
    """The run's own table files the sample release was cut from (stamped "unreleased")."""
    return sample_release.parents[2] / "work" / "tables"


@pytest.mark.slow
def test_release_tables_are_the_bytes_write_table_writes(sample_release, work_tables, tmp_path):
    stamp = META.parquet_stamp("1.0.0")
    for name, spec in TABLES.items():
        table = read_table(work_tables / f"{name}.parquet")
        expected = write_table(table, spec, tmp_path / f"{name}.parquet", stamp).read_bytes()
        released = (sample_release / "data" / table_path(name)).read_bytes()
        assert released == expected, name


@pytest.mark.slow
@pytest.mark.parametrize("name", ["contours", "points", "rejects"])
def test_restamp_copies_every_row_group_and_empty_tables(work_tables, tmp_path, monkeypatch, name):
    monkeypatch.setattr(parquet_io, "ROW_GROUP_ROWS", 7)  # many row groups from a few rows
    spec = TABLES[name]
    rows = read_table(work_tables / f"{name}.parquet").slice(0, 50)
    for table in (rows, rows.slice(0, 0)):
        work = write_table(table, spec, tmp_path / "work.parquet", META.parquet_stamp("x"))
        assert pq.ParquetFile(work).num_row_groups == max(1, -(-table.num_rows // 7))
        stamp = META.parquet_stamp("2.0.0")
        digest = restamp_table(work, spec, tmp_path / "release.parquet", stamp)
        expected = write_table(table, spec, tmp_path / "expected.parquet", stamp).read_bytes()
        assert (tmp_path / "release.parquet").read_bytes() == expected
        assert digest == hashlib.sha256(expected).hexdigest()


def test_restamp_refuses_a_file_of_another_schema(tmp_path):
    other = tmp_path / "points.parquet"
    pq.write_table(pa.table({"image_id": ["a"], "x": [1.0]}), other)
    with pytest.raises(ReleaseError, match="not a points table"):
        restamp_table(other, TABLES["points"], tmp_path / "out.parquet", {})
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.slow
def test_streamed_coco_files_are_their_documents_serialised_whole(sample_release):
    for name in FILE_CONTENTS:
        written = (sample_release / "data" / "coco" / name).read_bytes()
        assert coco_json_bytes(json.loads(written)) == written, name


@pytest.mark.slow
def test_coco_export_holds_no_table_as_python_objects(sample_release, tmp_path):
    tables = TableFiles(sample_release / "data" / "tables")
    sample = tables.columns("points", TABLES["points"].column_names).slice(0, 20_000)
    tracemalloc.start()
    as_dicts = sample.to_pylist()
    per_row = tracemalloc.get_traced_memory()[0] / len(as_dicts)
    tracemalloc.stop()
    del as_dicts
    points_as_python = per_row * tables.num_rows("points")  # about 440,000 rows: ~180 MB
    write_coco(tmp_path, tables, INFO)  # once untraced: the modules it imports are not counted
    tracemalloc.start()
    write_coco(tmp_path, tables, INFO)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < points_as_python / 10, (peak, points_as_python)


def test_rows_out_of_key_order_are_refused(tmp_path):
    rows = pa.table(
        {"image_id": ["a", "b", "a"], "expert_id": ["E01", "E01", "E02"], "point_index": [0, 0, 0]}
    )
    pq.write_table(rows, tmp_path / "points.parquet")
    keys = ("image_id", "expert_id")
    with pytest.raises(ReleaseError, match="not in image_id, expert_id order"):
        list(sorted_batches(TableFiles(tmp_path), "points", [], keys, batch_size=2))
    # the same rows in memory are sorted, not refused
    batches = sorted_batches(TablesInMemory({"points": rows}), "points", [], keys, batch_size=2)
    assert pa.Table.from_batches(list(batches))["image_id"].to_pylist() == ["a", "a", "b"]


@pytest.mark.slow
def test_curves_split_between_batches_are_joined(sample_release):
    tables = TableFiles(sample_release / "data" / "tables")
    whole = dict(curves_in_order(curve_batches(tables), "expert_id"))
    small = sorted_batches(
        tables, "points", ["x", "y"], ("image_id", "expert_id", "point_index"), 997
    )
    split = list(curves_in_order(small, "expert_id"))
    assert [key for key, _ in split] == list(whole)
    assert all(np.array_equal(whole[key], curve) for key, curve in split)
    assert len(whole) == tables.num_rows("contours")


@pytest.mark.slow
def test_the_bag_manifest_read_from_bagit_is_every_file_hashed(sample_release):
    assert bag_manifest(sample_release) == tree_manifest(sample_release)


@pytest.mark.slow
def test_a_recut_sees_a_file_added_to_or_removed_from_the_existing_release(small_source, tmp_path):
    from assets.runner import run_job

    def cut() -> Path:
        result = run_job(
            "release", small_source, tmp_path / "releases", tmp_path / "work", progress=False
        )
        return Path(result.output_for_node("release_bag"))

    folder = cut()
    assert bag_manifest(folder) == tree_manifest(folder)
    assert cut() == folder  # identical: a no-op
    (folder / "data").chmod(WRITABLE_DIR)
    (folder / "data" / "notes.txt").write_text("mine")
    with pytest.raises(UnityLVError, match=r"data/notes.txt \(only in the existing release\)"):
        cut()
    (folder / "data" / "notes.txt").unlink()
    (folder / "data" / "catalog.sql").unlink()
    with pytest.raises(UnityLVError, match=r"data/catalog.sql \(only in the new build\)"):
        cut()
