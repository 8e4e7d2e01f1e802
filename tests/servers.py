"""Real servers for the scaling tests, started on 127.0.0.1 by the tests themselves: moto's S3
server (a thread of the test process), PostgreSQL (the binaries of the `pgserver` package, run
as a child process) and a Dask LocalCluster (separate worker processes)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

LOCALHOST = "127.0.0.1"
S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "unitylv-test",
    "AWS_SECRET_ACCESS_KEY": "unitylv-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextmanager
def moto_s3() -> Iterator[dict[str, str]]:
    """moto's S3 server on a free port of 127.0.0.1; yields the AWS variables that point at it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=LOCALHOST, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield {**S3_CREDENTIALS, "AWS_ENDPOINT_URL": f"http://{host}:{port}"}
    finally:
        server.stop()


def s3_client(env: dict[str, str]):
    """A boto3 client of that server (the tests' own way in, independent of the pipeline's)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )


def upload_folder(client, folder: Path, bucket: str, prefix: str) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        key = f"{prefix}/{path.relative_to(folder).as_posix()}"
        client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())


def objects(client, bucket: str, prefix: str) -> dict[str, bytes]:
    """Every object below `prefix/`, by key relative to it, with its bytes."""
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
            found[entry["Key"].removeprefix(prefix).lstrip("/")] = body
    return found


def postgres_bin() -> Path:
    """The PostgreSQL binaries the `pgserver` wheel ships (found without importing it: its
    import sets up a runtime folder of its own)."""
    import importlib.util

    spec = importlib.util.find_spec("pgserver")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def reachable_copy(site_packages: Path, to: Path) -> Path:
    """pgserver's PostgreSQL (bin, lib, share) and the libraries its binaries load (rpath
    $ORIGIN/../../../pgserver.libs) below `to`, laid out as in site-packages: hard links where
    the filesystem allows, copies elsewhere. Returns the install folder (holding bin/)."""

    def link_or_copy(source: str, target: str) -> None:
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)

    install = Path("pgserver") / "pginstall"
    for part in (install / "bin", install / "lib", install / "share", Path("pgserver.libs")):
        shutil.copytree(site_packages / part, to / part, symlinks=True, copy_function=link_or_copy)
    return to / install


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        return sock.getsockname()[1]


@contextmanager
def postgres() -> Iterator[dict[str, str]]:
    """A throw-away PostgreSQL server on 127.0.0.1 (binaries from the `pgserver` package, data
    in a temporary folder); yields the DAGSTER_PG_* variables of deploy/postgres/dagster.yaml.

    PostgreSQL refuses to run as root: as root, the server runs as the user `nobody`."""
    user = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("nobody")
        except KeyError:
            pytest.skip("running as root with no user 'nobody' to run PostgreSQL as")
    home = Path(tempfile.mkdtemp(prefix="unitylv-pg-"))
    data = home / "data"
    data.mkdir()
    if user is not None:
        for path in (home, data):
            os.chown(path, user.pw_uid, user.pw_gid)
    run_as = {"user": user.pw_uid, "group": user.pw_gid} if user else {}
    port, bin_dir = free_port(), postgres_bin()
    if user is not None:  # `nobody` may not reach the virtualenv (a clone under /root, say)
        bin_dir = reachable_copy(bin_dir.parents[2], home / "site") / "bin"
    subprocess.run(
        [bin_dir / "initdb", "-D", data, "-U", "dagster", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
        **run_as,
    )
    options = f"-h {LOCALHOST} -p {port} -k {home} -c fsync=off"
    subprocess.run(
        [bin_dir / "pg_ctl", "-D", data, "-o", options, "-l", home / "log", "-w", "start"],
        check=True,
        capture_output=True,
        **run_as,
    )
    try:
        subprocess.run(
            [bin_dir / "createdb", "-h", LOCALHOST, "-p", str(port), "-U", "dagster", "dagster"],
            check=True,
            capture_output=True,
        )
        yield {
            "DAGSTER_PG_USERNAME": "dagster",
            "DAGSTER_PG_PASSWORD": "unused-trust-auth",
            "DAGSTER_PG_HOST": LOCALHOST,
            "DAGSTER_PG_PORT": str(port),
            "DAGSTER_PG_DB": "dagster",
        }
    finally:
        subprocess.run(
            [bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "stop"],
            capture_output=True,
            **run_as,
        )
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def dask_cluster(workers: int = 2) -> Iterator[str]:
    """A Dask LocalCluster on 127.0.0.1 with `workers` worker processes of one thread each;
    yields its scheduler's address. Start it after setting the variables its workers need:
    they copy this process's environment when they start."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=workers,
        processes=True,
        threads_per_worker=1,
        host=LOCALHOST,
        dashboard_address=None,
    ) as cluster:
        yield cluster.scheduler_address
