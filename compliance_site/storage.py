"""Where files live: the local folder (``MEDIA_ROOT``, the embedded default) or an S3-compatible
bucket (``STORAGE_BACKEND=s3``), both through Django's storage API (``default_storage``).

Storage only ever receives our own AES-GCM ciphertext (``biometrics/vault.py``) or the files the
DPO uploads for a template; deleting an object must leave nothing behind, so a bucket that keeps
old versions of objects is refused (``bucket_problem``: the system check ``faceledger.E120``,
and ``storage_check`` at the start of every web and worker process).

Also the raw view of the store used by erasure's proof and the tests: ``names(prefix)`` lists
every object under a prefix straight from the backend (the bucket's listing, or the folder).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage

S3_BACKEND = "storages.backends.s3.S3Storage"
FILESYSTEM_BACKEND = "django.core.files.storage.FileSystemStorage"


def storages_setting(
    *,
    backend: str,
    bucket: str = "",
    endpoint_url: str = "",
    region: str = "",
    access_key: str = "",
    secret_key: str = "",
    addressing_style: str = "path",
) -> dict[str, dict[str, Any]]:
    """The ``STORAGES`` setting for ``backend`` (``filesystem`` or ``s3``)."""
    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    if backend == "filesystem":
        return {"default": {"BACKEND": FILESYSTEM_BACKEND}, "staticfiles": static}
    if backend != "s3":
        raise ImproperlyConfigured(f"STORAGE_BACKEND={backend!r} must be filesystem or s3.")
    if not bucket:
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs S3_BUCKET.")
    options: dict[str, Any] = {
        "bucket_name": bucket,
        "region_name": region or None,
        "endpoint_url": endpoint_url or None,
        "access_key": access_key or None,
        "secret_key": secret_key or None,
        # Never a public URL: files are served by our views, decrypted for their owner only.
        "querystring_auth": True,
        "default_acl": None,
        # Same name again is an error in our code, never an overwrite of someone's object.
        "file_overwrite": False,
        "addressing_style": addressing_style,
    }
    return {"default": {"BACKEND": S3_BACKEND, "OPTIONS": options}, "staticfiles": static}


def is_bucket() -> bool:
    return settings.STORAGES["default"]["BACKEND"] == S3_BACKEND


def _bucket() -> Any:
    """The boto3 Bucket of ``default_storage`` (S3 only)."""
    return default_storage.bucket  # type: ignore[attr-defined]  # S3Storage


def bucket_problem() -> str | None:
    """Why the configured bucket cannot hold our files, or None (always None on the folder).

    A versioned bucket keeps every deleted object as an old version: erasure could never prove
    that nothing is left. A bucket that does not answer is a problem too."""
    if not is_bucket():
        return None
    bucket = _bucket()
    try:
        status = bucket.meta.client.get_bucket_versioning(Bucket=bucket.name).get("Status")
    except Exception as exc:  # noqa: BLE001 - botocore raises many kinds; each is a refusal
        return f"the bucket {bucket.name!r} cannot be reached: {exc}"
    # mutant: negate — tests/compliance_site/test_storage.py
    #   test_a_bucket_that_keeps_versions_fails_the_system_check
    if status in {"Enabled", "Suspended"}:
        return (
            f"the bucket {bucket.name!r} keeps object versions (versioning {status}): a deleted "
            "file would stay readable as an old version. Use a bucket that never had versioning."
        )
    return None


@register("faceledger_storage")
def check_bucket(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    problem = bucket_problem()
    return [Error(problem, id="faceledger.E120")] if problem else []


def storage_check() -> None:
    """Refuse to start a web or worker process on a bucket that keeps versions (they run no
    system checks)."""
    problem = bucket_problem()
    if problem:
        raise ImproperlyConfigured(f"{problem}.")


def names(prefix: str) -> list[str]:
    """Every stored name under ``prefix`` (a folder name, no trailing slash), sorted, read from
    the backend itself: on a bucket the object listing, so nothing the bucket holds is missed."""
    if is_bucket():
        return sorted(obj.key for obj in _bucket().objects.filter(Prefix=f"{prefix}/"))
    return sorted(_folder_names(prefix))


def _folder_names(prefix: str) -> Iterator[str]:
    try:
        folders, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{prefix}/{name}"
    for folder in folders:
        yield from _folder_names(f"{prefix}/{folder}")


CHUNK = 256 * 1024


def chunks(name: str, size: int = CHUNK) -> Iterator[bytes]:
    """The stored file ``name`` in pieces of ``size`` bytes, read as they are needed: from the
    bucket's response body (nothing spooled to disk or memory), or from the file.
    ``FileNotFoundError`` at the first piece when there is no such file."""
    if is_bucket():
        client = _bucket().meta.client
        try:
            body = client.get_object(Bucket=_bucket().name, Key=name)["Body"]
        except client.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(name) from exc
        return _body_chunks(body, size)
    return _file_chunks(default_storage.open(name, "rb"), size)


def _body_chunks(body: Any, size: int) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(size)
    finally:
        body.close()


def _file_chunks(fh: Any, size: int) -> Iterator[bytes]:
    with fh:
        while piece := fh.read(size):
            yield piece


def read(name: str) -> bytes:
    """The whole stored file, read straight into memory (no temporary file on the way, which
    ``default_storage.open`` on a bucket would make)."""
    return b"".join(chunks(name))


def size(name: str) -> int:
    return default_storage.size(name)
