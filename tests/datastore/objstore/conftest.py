"""Fixtures of the object-store tests: an S3-compatible server on 127.0.0.1 (moto) and
``memory://``, a datastore URL on each, and a spool and shard cache under the test's folder."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The endpoint of an S3 server for this session (moto's, threaded, on loopback)."""
    pytest.importorskip("s3fs", reason="needs s3fs (the test extra: pip install -e .[test])")
    server_module = pytest.importorskip(
        "moto.server", reason="needs moto[server] (the test extra: pip install -e .[test])"
    )
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Credentials and endpoint of the test server in the environment (of this process and of
    the children it starts), with spool and cache under ``tmp_path``."""
    values = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture(autouse=True)
def local_places(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Spools and the shard cache under the test's folder (never the user's ~/.cache)."""
    monkeypatch.setenv("COGYM_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("COGYM_CACHE", str(tmp_path / "cache"))
    return tmp_path


def new_bucket() -> str:
    import boto3

    name = f"b-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_url(s3_env: dict[str, str]) -> str:
    """A datastore URL in a new bucket of the test server."""
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    return f"s3://{new_bucket()}/trials"


@pytest.fixture
def memory_url() -> Iterator[str]:
    """A datastore URL in fsspec's memory filesystem, emptied afterwards."""
    import fsspec

    path = f"cogym-{uuid.uuid4().hex}"
    yield f"memory://{path}/trials"
    fs = fsspec.filesystem("memory")
    if fs.exists(path):
        fs.rm(path, recursive=True)


@pytest.fixture(params=["memory", "s3"])
def url(request: pytest.FixtureRequest) -> str:
    """A datastore URL, on ``memory://`` and on the S3 server."""
    return request.getfixturevalue(f"{request.param}_url")
