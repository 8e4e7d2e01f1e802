"""DuckDB over S3: the httpfs extension from its PyPI package, the secret from the AWS
variables. Nothing is downloaded at run time (extension autoinstall stays off)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import duckdb

from pipeline.errors import StorageError
from pipeline.storage.s3 import ENDPOINT_ENV, REGION_ENV


def httpfs_extension_path() -> Path:
    """The httpfs extension shipped by `duckdb-extension-httpfs` for this DuckDB version."""
    import duckdb_extension_httpfs

    version = duckdb.__version__
    path = Path(duckdb_extension_httpfs.__file__).parent / f"extensions/v{version}"
    return path / "httpfs.duckdb_extension"


def s3_secret_sql(quote: callable) -> str:
    """CREATE SECRET for S3 from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
    AWS_DEFAULT_REGION and AWS_ENDPOINT_URL (path-style URLs, and no TLS for an http://
    endpoint). `quote` makes a SQL string literal."""
    options = {
        "KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", ""),
        "SECRET": os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
        "SESSION_TOKEN": os.environ.get("AWS_SESSION_TOKEN", ""),
        "REGION": os.environ.get(REGION_ENV, ""),
    }
    endpoint = os.environ.get(ENDPOINT_ENV, "")
    clauses = [f"{k} {quote(v)}" for k, v in options.items() if v]
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise StorageError(f"{ENDPOINT_ENV} is not an http(s)://host[:port] URL: {endpoint}")
        clauses += [
            f"ENDPOINT {quote(parts.netloc)}",
            "URL_STYLE 'path'",
            f"USE_SSL {'true' if parts.scheme == 'https' else 'false'}",
        ]
    return f"CREATE SECRET unitylv_s3 ({', '.join(['TYPE S3', *clauses])})"
