"""Files in an S3-compatible bucket (compliance_site/storage.py): a bucket that keeps object
versions is refused by the system check and by every web and worker process at start; results
stream out of the bucket a segment at a time. These run against the S3 server the test run
starts (tests/media.py), whichever store the rest of the run uses."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from biometrics import vault
from compliance_site import crypto, storage
from compliance_site.storage import storages_setting
from tests import media
from tests.celery_worker import ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_bucket(settings, s3_endpoint, monkeypatch):
    """``on_bucket(versioned=...)``: the service's files go to a new bucket of the S3 server;
    returns the environment that names it (for processes of the service)."""

    def use(*, versioned: bool = False) -> dict[str, str]:
        bucket = media.new_bucket(s3_endpoint, versioned=versioned)
        env = media.bucket_env(s3_endpoint, bucket)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings.STORAGES = storages_setting(
            backend="s3",
            bucket=bucket,
            endpoint_url=s3_endpoint,
            region=env["S3_REGION"],
            access_key=env["S3_ACCESS_KEY_ID"],
            secret_key=env["S3_SECRET_ACCESS_KEY"],
        )
        return env

    return use


def test_a_bucket_that_keeps_versions_fails_the_system_check(on_bucket):
    on_bucket(versioned=True)
    with pytest.raises(SystemCheckError, match=r"faceledger\.E120.*keeps object versions"):
        call_command("check")


def test_a_bucket_without_versions_passes_the_check_and_holds_the_files(on_bucket, alice, enrolled):
    env = on_bucket()
    call_command("check")
    [capture] = enrolled(alice)
    raw = media.store_view()
    assert raw.bucket == env["S3_BUCKET"]
    assert [str(p.relative_to(raw)) for p in raw.rglob("*")] == [capture.photo]
    assert (raw / capture.photo).read_bytes().startswith(b"FLD1")  # our ciphertext only
    assert storage.names("captures") == [capture.photo]


@pytest.mark.parametrize("program", ["web", "worker"])
def test_web_and_worker_processes_refuse_to_start_on_a_versioned_bucket(on_bucket, program):
    env = dict(os.environ, **on_bucket(versioned=True))
    env["DJANGO_SETTINGS_MODULE"] = "compliance_site.settings.test"
    if program == "web":
        command = [sys.executable, "-c", "import compliance_site.wsgi"]
    else:
        command = [sys.executable, "-m", "celery", "-A", "compliance_site", "worker", "--pool=solo"]
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "keeps object versions" in done.stdout + done.stderr


def test_a_large_result_streams_from_the_bucket_a_segment_at_a_time(on_bucket, alice, enrolled):
    on_bucket()
    enrolled(alice)
    key = vault.subject_key(alice.pk)
    plain = os.urandom(3 * crypto.SEGMENT_SIZE + 12345)
    name = vault.blob_save("swap_results/big.result", vault.seal_segmented(key, plain, aad="r:1"))

    stream = vault.unseal_stream(alice.pk, name, aad="r:1")
    sizes = [len(chunk) for chunk in stream.chunks]

    assert stream.size == len(plain) == sum(sizes)
    assert max(sizes) == crypto.SEGMENT_SIZE and len(sizes) == 4
    with default_storage.open(name, "rb") as fh:
        stored = fh.read()
    assert plain[:64] not in stored and plain[-64:] not in stored
    with pytest.raises(crypto.DecryptionError):
        list(vault.unseal_stream(alice.pk, name, aad="r:2").chunks)
