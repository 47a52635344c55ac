"""Where the tests' files live: this test's folder (the default), or, with ``STORAGE_BACKEND=s3``
in the test run's environment, a bucket of its own on an S3 API server the run starts on
127.0.0.1 (moto's server mode, a separate process).

``_media_root`` (tests/conftest.py) gives each test a raw view of its store with the few
``pathlib.Path`` operations the tests use: on the folder a real ``Path``; on the bucket a
``BucketPath``, which reads the bucket itself through boto3 (every object *version*, so an
erased file kept as an old version would still be found), never through the code under test.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

S3 = os.environ.get("STORAGE_BACKEND", "filesystem") == "s3"
REGION = "us-east-1"
ACCESS_KEY = "test-only-access-key"
SECRET_KEY = "test-only-secret-key"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def s3_server(log_path: Path) -> Iterator[str]:
    """An S3 API on 127.0.0.1 in a process of its own; yields its endpoint URL."""
    port = _free_port()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the S3 server did not start: {log_path.read_text()}")
            time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


def client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


def bucket_env(endpoint: str, bucket: str) -> dict[str, str]:
    """The environment that points the service (and its worker processes) at ``bucket``."""
    return {
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": endpoint,
        "S3_REGION": REGION,
        "S3_ACCESS_KEY_ID": ACCESS_KEY,
        "S3_SECRET_ACCESS_KEY": SECRET_KEY,
    }


def new_bucket(endpoint: str, *, versioned: bool = False) -> str:
    name = f"t-{uuid.uuid4().hex}"
    s3 = client(endpoint)
    s3.create_bucket(Bucket=name)
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


class BucketPath:
    """A key (or key prefix) in a bucket, read and written straight through boto3."""

    def __init__(self, s3: Any, bucket: str, key: str = "") -> None:
        self._s3, self.bucket, self.key = s3, bucket, key.strip("/")

    def __truediv__(self, part: object) -> BucketPath:
        key = f"{self.key}/{part}" if self.key else str(part)
        return BucketPath(self._s3, self.bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BucketPath) and (self.bucket, self.key) == (
            other.bucket,
            other.key,
        )

    def __hash__(self) -> int:
        return hash((self.bucket, self.key))

    def __lt__(self, other: BucketPath) -> bool:
        return self.key < other.key

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    def _versions(self, prefix: str) -> Iterator[dict]:
        """Every version of every object under ``prefix`` (current, old and delete markers)."""
        pages = self._s3.get_paginator("list_object_versions").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        for page in pages:
            yield from page.get("Versions", [])

    def _keys(self) -> set[str]:
        prefix = f"{self.key}/" if self.key else ""
        return {version["Key"] for version in self._versions(prefix)}

    def is_file(self) -> bool:
        return any(version["Key"] == self.key for version in self._versions(self.key))

    def exists(self) -> bool:
        return self.is_file() or bool(self._keys())

    def read_bytes(self) -> bytes:
        return self._s3.get_object(Bucket=self.bucket, Key=self.key)["Body"].read()

    def versions_bytes(self) -> list[bytes]:
        """The content of every version kept under this key."""
        return [
            self._s3.get_object(Bucket=self.bucket, Key=self.key, VersionId=v["VersionId"])[
                "Body"
            ].read()
            for v in self._versions(self.key)
            if v["Key"] == self.key
        ]

    def write_bytes(self, data: bytes) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=self.key, Body=data)

    def mkdir(self, *args: object, **kwargs: object) -> None:
        """Buckets have no folders."""

    def iterdir(self) -> list[BucketPath]:
        prefix = f"{self.key}/" if self.key else ""
        children = {key[len(prefix) :].split("/", 1)[0] for key in self._keys()}
        return [self / child for child in sorted(children)]

    def rglob(self, pattern: str) -> list[BucketPath]:
        """Every object under here (``*``) or every one whose name has a dot (``*.*``)."""
        paths = [BucketPath(self._s3, self.bucket, key) for key in sorted(self._keys())]
        return [p for p in paths if pattern == "*" or (pattern == "*.*" and "." in p.name)]

    def relative_to(self, other: BucketPath) -> Path:
        prefix = f"{other.key}/" if other.key else ""
        return Path(self.key[len(prefix) :])


def read_all(path: Any) -> bytes:
    """Everything stored under ``path``: every version on a bucket, the file on a folder."""
    if isinstance(path, BucketPath):
        return b"".join(path.versions_bytes())
    return path.read_bytes() if path.is_file() else b""


def store_view() -> Any:
    """The raw view of the store the settings name now: the folder, or the bucket."""
    from django.conf import settings

    from compliance_site.storage import S3_BACKEND

    config = settings.STORAGES["default"]
    if config["BACKEND"] != S3_BACKEND:
        return Path(settings.MEDIA_ROOT)
    options = config["OPTIONS"]
    return BucketPath(client(options["endpoint_url"]), options["bucket_name"])
