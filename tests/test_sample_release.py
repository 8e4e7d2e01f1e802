"""The default sample, released through the Dagster job and read back through DuckDB."""

import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipeline.constants import ANNOTATIONS_FILE
from pipeline.errors import ReleaseError
from pipeline.release.catalog import connect, open_catalog, run_read_only
from pipeline.tables.parquet_io import file_metadata


@pytest.fixture(scope="module")
def catalog(sample_release):
    return open_catalog(sample_release / "data")


def scalar(con, sql):
    return run_read_only(con, sql).fetchone()[0]


@pytest.mark.slow
def test_counts_on_the_default_sample(catalog, sample_source):
    assert scalar(catalog, "SELECT count(*) FROM images") == 200
    assert scalar(catalog, "SELECT count(*) FROM studies") == 100
    assert scalar(catalog, "SELECT count(*) FROM experts") == 11
    assert scalar(catalog, "SELECT count(*) FROM contours") == 2200
    assert scalar(catalog, "SELECT count(*) FROM rejects") == 0
    annotations = json.loads((sample_source / ANNOTATIONS_FILE).read_text())
    n_points = sum(len(c[0]) for curves in annotations.values() for c in curves.values())
    assert scalar(catalog, "SELECT count(*) FROM points") == n_points


@pytest.mark.slow
def test_points_keep_source_order(catalog, sample_source):
    annotations = json.loads((sample_source / ANNOTATIONS_FILE).read_text())
    name = list(annotations)[5]
    user, curve = list(annotations[name].items())[3]
    rows = run_read_only(
        catalog,
        "SELECT p.x, p.y FROM points p JOIN experts e USING (expert_id) "
        f"WHERE p.image_id = '{name[:-4]}' AND e.user_id = '{user}' ORDER BY point_index",
    ).fetchall()
    assert [r[0] for r in rows] == curve[0]
    assert [r[1] for r in rows] == curve[1]


@pytest.mark.slow
def test_phase_follows_annotation_order(catalog, sample_source):
    annotations = json.loads((sample_source / ANNOTATIONS_FILE).read_text())
    first, second = list(annotations)[:2]
    rows = dict(run_read_only(catalog, "SELECT file_name, phase FROM images").fetchall())
    assert (rows[first], rows[second]) == ("ED", "ES")


@pytest.mark.slow
def test_spatial_area_equals_area_px(catalog):
    gap = scalar(catalog, "SELECT max(abs(ST_Area(geometry) - area_px)) FROM contours")
    assert gap < 1e-6
    assert scalar(catalog, "SELECT min(area_px) FROM contours") > 1000


@pytest.mark.slow
def test_every_parquet_carries_licence_version_and_geo(sample_release):
    files = sorted((sample_release / "data" / "tables").glob("*.parquet"))
    assert {f.stem for f in files} >= {
        "images",
        "studies",
        "experts",
        "points",
        "contours",
        "rejects",
    }
    for path in files:
        meta = file_metadata(path)
        assert meta["unitylv.licence"] == "CC-BY-NC-SA-4.0"
        assert meta["unitylv.release_version"] == "1.0.0"
    geo = json.loads(file_metadata(sample_release / "data/tables/contours.parquet")["geo"])
    assert geo["version"] == "1.1.0"
    assert geo["columns"]["geometry"]["crs"] is None
    assert geo["columns"]["geometry"]["encoding"] == "WKB"
    assert pq.read_schema(sample_release / "data/tables/contours.parquet").field("geometry")


@pytest.mark.slow
def test_catalog_sql_works_in_plain_duckdb(sample_release, monkeypatch):
    data = sample_release / "data"
    monkeypatch.chdir(data)
    con = duckdb.connect()
    con.execute(Path("catalog.sql").read_text())
    assert con.sql("SELECT count(*) FROM contours").fetchone()[0] == 2200


@pytest.mark.slow
def test_sql_is_read_only(catalog):
    for statement in ("CREATE TABLE t AS SELECT 1", "COPY images TO 'x.csv'", "DROP VIEW images"):
        with pytest.raises(ReleaseError, match="only read-only"):
            run_read_only(catalog, statement)
    with pytest.raises(ReleaseError, match="query failed"):
        run_read_only(catalog, "SELECT * FROM read_csv('/etc/passwd')")


def test_spatial_extension_loads_without_network():
    assert connect().sql(
        "SELECT ST_Area(ST_GeomFromText('POLYGON((0 0,2 0,2 2,0 0))'))"
    ).fetchone() == (2.0,)
