"""Whole tables from bucket files: a streamed merge equal to sorting every row at once."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.buckets import assemble
from pipeline.buckets.assemble import assemble_table, write_part
from pipeline.tables.schemas import TABLES

SPEC = TABLES["points"]


def points(image_ids: list[str], n: int = 3) -> pa.Table:
    ids = [i for i in image_ids for _ in range(n)]
    return pa.table(
        {
            "image_id": ids,
            "expert_id": ["E01"] * len(ids),
            "point_index": pa.array([k % n for k in range(len(ids))], pa.int32()),
            "x": [float(k) for k in range(len(ids))],
            "y": [0.5] * len(ids),
        }
    )


def image_id(site: str, bucket: str, rest: str, frame: int) -> str:
    return f"{site}-{bucket}{rest * 63}-{frame:04d}"


def test_merged_buckets_equal_one_sort_over_every_row(tmp_path, monkeypatch):
    # Tiny batches, so groups span batches and batches hold several groups.
    monkeypatch.setattr(assemble, "PART_ROW_GROUP_ROWS", 4)
    by_bucket = {
        b: [image_id(site, b, r, f) for site in ("01", "03", "05") for r in "07" for f in (1, 9)]
        for b in ("0", "7", "f")
    }
    by_bucket["7"] = [i for i in by_bucket["7"] if not i.startswith("03")]  # a site it lacks
    tables = {b: points(ids) for b, ids in by_bucket.items()}
    paths = [  # rows in reverse: write_part sorts them
        write_part(
            t.take(list(range(t.num_rows - 1, -1, -1))), SPEC, tmp_path / "parts" / f"{b}.parquet"
        )
        for b, t in tables.items()
    ]
    out = tmp_path / "points.parquet"
    rows = assemble_table(SPEC, paths[::-1], out, {"k": "v"}, tmp_path / "spill")

    merged = pq.read_table(out)
    every_row = pa.concat_tables(tables.values())
    expected = every_row.sort_by([(c, "ascending") for c in SPEC.sort_by])
    assert rows == expected.num_rows == 3 * (12 + 8 + 12)
    assert merged.select(SPEC.column_names).to_pylist() == expected.to_pylist()
    assert merged.schema.metadata[b"k"] == b"v"


def test_a_group_in_two_bucket_files_is_refused(tmp_path):
    same = [image_id("01", "a", "1", 1)]
    paths = [write_part(points(same), SPEC, tmp_path / f"{b}.parquet") for b in ("a", "b")]
    with pytest.raises(ValueError, match="in two bucket files"):
        assemble_table(SPEC, paths, tmp_path / "out.parquet", {}, tmp_path / "spill")
    assert not (tmp_path / "out.parquet").exists()
