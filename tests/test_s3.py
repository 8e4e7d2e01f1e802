"""Releases, verify and sql over S3, against moto's S3 server on 127.0.0.1 (started here)."""

import hashlib
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.errors import ReleaseError, StorageError
from pipeline.release.publish import CRASH_ENV
from tests.cli import ROOT, unitylv
from tests.servers import moto_s3, objects, s3_client, upload_folder

BUCKET = "unitylv-test"
RELEASES = f"s3://{BUCKET}/releases"
DATASET = f"{RELEASES}/unitylv-multix"


@pytest.fixture(scope="module")
def s3():
    """moto's server, the AWS variables pointing at it (for this process and the CLI's), and
    an empty bucket."""
    with moto_s3() as env, pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        client = s3_client(env)
        client.create_bucket(Bucket=BUCKET)
        yield client


def local_release_files(bag) -> dict[str, bytes]:
    """The tiny release on disk as S3 keys below unitylv-multix/: folder, archive, checksum."""
    dataset = bag.parent
    files = {
        f"1.0.0/{p.relative_to(bag).as_posix()}": p.read_bytes()
        for p in bag.rglob("*")
        if p.is_file()
    }
    for name in ("unitylv-multix-1.0.0.tar.gz", "unitylv-multix-1.0.0.tar.gz.sha256"):
        files[name] = (dataset / name).read_bytes()
    return files


def release_date(bag) -> str:
    for line in (bag / "bag-info.txt").read_text().splitlines():
        if line.startswith("Bagging-Date:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("no Bagging-Date in bag-info.txt")


def kill_upload_half_way(local_root, version: str) -> subprocess.CompletedProcess:
    """Upload a cut release from another process that is killed (SIGKILL) half-way."""
    code = (
        "from pathlib import Path; from pipeline.storage.location import parse_s3; "
        "from pipeline.storage.releases import publish_release; "
        "from pipeline.storage.s3 import filesystem; "
        f"publish_release(filesystem(), parse_s3({RELEASES!r}), Path({str(local_root)!r}), "
        f"{version!r})"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), CRASH_ENV: "upload"}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60)


@pytest.mark.slow
def test_release_to_s3_is_atomic_and_the_local_release_byte_for_byte(
    s3, tiny_source, tiny_release, tmp_path
):
    expected = local_release_files(tiny_release)
    # An upload killed half-way: some objects there, no marker; and an object of another cut.
    killed = kill_upload_half_way(tiny_release.parents[1], "1.0.0")
    assert killed.returncode == -9
    s3.put_object(Bucket=BUCKET, Key="releases/unitylv-multix/1.0.0/data/tables/old.parquet")
    left = objects(s3, BUCKET, "releases/unitylv-multix")
    assert 0 < len(left) < len(expected) and "1.0.0.complete" not in left
    from pipeline.storage.readers import remote_release_tables, verify_remote

    for read in (verify_remote, remote_release_tables):  # what `verify` and `sql` call
        with pytest.raises(StorageError) as refused:
            read(f"{DATASET}/1.0.0")
        assert refused.value.one_line() == (
            f"{DATASET}/1.0.0: release 1.0.0 is not complete: no 1.0.0.complete beside it "
            "(an upload unfinished or interrupted); nothing was read"
        )

    upload_folder(s3, tiny_source, BUCKET, "src")
    done = unitylv(
        "release",
        "--source", f"s3://{BUCKET}/src",
        "--releases", RELEASES,
        "--work", f"s3://{BUCKET}/work",
        "--version", "1.0.0",
        "--date", release_date(tiny_release),
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == f"{DATASET}/1.0.0"

    published = objects(s3, BUCKET, "releases/unitylv-multix")
    marker = published.pop("1.0.0.complete").decode()
    assert published == expected  # every object, byte for byte; the stale one is gone
    tag_manifest = hashlib.sha256(expected["1.0.0/tagmanifest-sha256.txt"]).hexdigest()
    archive = hashlib.sha256(expected["unitylv-multix-1.0.0.tar.gz"]).hexdigest()
    assert marker == (
        f"{tag_manifest}  1.0.0/tagmanifest-sha256.txt\n{archive}  unitylv-multix-1.0.0.tar.gz\n"
    )
    assert any(key.startswith("tables/") for key in objects(s3, BUCKET, "work"))

    verified = unitylv("verify", f"{DATASET}/1.0.0", cwd=tmp_path)
    assert verified.returncode == 0, verified.stderr
    query = "SELECT phase, count(*) AS n FROM images GROUP BY phase ORDER BY phase"
    answered = unitylv("sql", "--release", f"{DATASET}/1.0.0", query, cwd=tmp_path)
    assert answered.returncode == 0, answered.stderr
    rows = [
        line.split()
        for line in answered.stdout.splitlines()
        if line.split()[:1] in (["ED"], ["ES"])
    ]
    assert rows == [["ED", "│", "2"], ["ES", "│", "2"]]  # two studies, ED and ES each


def test_a_mirror_fetches_only_what_changed(s3, tmp_path):
    from pipeline.storage.location import parse_s3
    from pipeline.storage.mirror import pull
    from pipeline.storage.s3 import filesystem

    for name, body in {"a.txt": b"one", "b/c.txt": b"two", "d.txt": b"three"}.items():
        s3.put_object(Bucket=BUCKET, Key=f"mirror/{name}", Body=body)
    remote, local = parse_s3(f"s3://{BUCKET}/mirror"), tmp_path / "copy"
    assert pull(filesystem(), remote, local) == ["a.txt", "b/c.txt", "d.txt"]
    s3.put_object(Bucket=BUCKET, Key="mirror/a.txt", Body=b"changed")
    s3.delete_object(Bucket=BUCKET, Key="mirror/d.txt")
    assert pull(filesystem(), remote, local) == ["a.txt"]
    assert (local / "a.txt").read_bytes() == b"changed"
    assert (local / "b" / "c.txt").read_bytes() == b"two"
    assert not (local / "d.txt").exists()


def test_an_object_key_cannot_write_outside_the_copy(s3, tmp_path):
    from pipeline.storage.location import parse_s3
    from pipeline.storage.mirror import pull
    from pipeline.storage.s3 import filesystem

    s3.put_object(Bucket=BUCKET, Key="hostile/../../escaped.txt", Body=b"x")
    with pytest.raises(StorageError, match=r"object key '\.\./\.\./escaped\.txt'"):
        pull(filesystem(), parse_s3(f"s3://{BUCKET}/hostile"), tmp_path / "copy")
    assert not any(p.name == "escaped.txt" for p in tmp_path.rglob("*"))


def put_release(s3, version: str, extra: dict[str, bytes], marker: bool = True) -> str:
    """A hand-made release on S3: an images table of three rows, `extra` objects beside it."""
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({"image_id": ["a", "b", "c"]}), sink)
    prefix = f"hand/unitylv-multix/{version}"
    bodies = {"data/tables/images.parquet": sink.getvalue().to_pybytes(), **extra}
    for key, body in bodies.items():
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{key}", Body=body)
    if marker:
        s3.put_object(Bucket=BUCKET, Key=f"hand/unitylv-multix/{version}.complete", Body=b"")
    return f"s3://{BUCKET}/{prefix}"


def test_sql_over_s3_reads_the_release_tables_and_nothing_else(s3):
    from pipeline.evaluate.catalog import open_catalog
    from pipeline.release.catalog import fetch, run_read_only
    from pipeline.storage.readers import remote_release_tables

    url = put_release(s3, "2.0.0", {"data/secret.parquet": b"not for reading"})
    con = open_catalog(remote_release_tables(url))
    assert fetch(run_read_only(con, "SELECT count(*) FROM images"), 5) == [(3,)]
    with pytest.raises(ReleaseError, match="disabled by configuration"):
        fetch(run_read_only(con, f"SELECT * FROM read_parquet('{url}/data/secret.parquet')"), 5)
    with pytest.raises(ReleaseError, match="query failed"):
        run_read_only(con, "SELECT * FROM read_csv('/etc/hostname')")


def test_an_s3_release_with_a_strange_table_or_no_marker_is_not_opened(s3):
    from pipeline.storage.readers import remote_release_tables

    hostile = put_release(s3, "2.0.1", {"data/tables/x'); DROP TABLE t; --.parquet": b""})
    with pytest.raises(ReleaseError, match="not a table file of a release"):
        remote_release_tables(hostile)
    unfinished = put_release(s3, "2.0.2", {}, marker=False)
    with pytest.raises(StorageError, match=r"release 2\.0\.2 is not complete"):
        remote_release_tables(unfinished)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("s3://b/releases", "is not an S3 bucket name"),
        ("s3://unitylv-test/a/../b", "'.' or '..'"),
        ("s3://unitylv-test/releases/1.0.0", "not a release"),
    ],
)
def test_bad_s3_urls_are_one_line_errors(s3, url, why):
    from pipeline.storage.readers import verify_remote

    with pytest.raises(StorageError, match=why):
        verify_remote(url)
