"""Helpers for the capture and erasure tests: synthetic uploads, a lazily generated request
body, and raw scans of the database, storage, cache and temp folder for a person's traces."""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from consent.identity.models import User
from tests.biometrics import synth

CHALLENGE_URL = "/api/v1/liveness/challenge"
CAPTURES_URL = "/api/v1/captures"
ERASURE_URL = "/api/v1/me/erasure"
# Small frames at 10 fps keep the analysis near 1.5 s a clip; the face is still ~115 px wide.
CLIP = {"fps": 10, "size": (320, 240)}


@dataclass
class Media:
    """Synthetic uploads made once per test session: the public-domain astronaut portrait as a
    JPEG, and clips of it (challenge videos, a replayed still, two faces) encoded like uploads."""

    face: object
    photo: bytes
    _clips: dict = field(default_factory=dict)

    def video(self, steps, codec: str = "libx264") -> bytes:
        return self._clip(
            ("challenge", repr(steps), codec),
            lambda: synth.make_challenge_video(self.face, list(steps), codec=codec, **CLIP),
        )

    def replay(self) -> bytes:
        return self._clip(("replay",), lambda: synth.make_replay_video(self.face, **CLIP))

    def two_faces(self, steps) -> bytes:
        return self._clip(
            ("two", repr(steps)),
            lambda: synth.make_two_faces_video(self.face, list(steps), **CLIP),
        )

    def _clip(self, key, make) -> bytes:
        if key not in self._clips:
            self._clips[key] = make()
        return self._clips[key]


def make_media() -> Media:
    face = synth.astronaut_bgr()
    ok, jpeg = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return Media(face=face, photo=jpeg.tobytes())


def client_for(user: User) -> APIClient:
    from tests.consent.conftest import token_client

    return token_client(user)


def challenge_for(api: APIClient) -> dict:
    response = api.get(CHALLENGE_URL)
    assert response.status_code == 200, response.content
    return response.json()


def upload(api: APIClient, *, challenge: str, photo: bytes, video: bytes, **extra):
    files = {
        "challenge": challenge,
        "photo": _named(photo, "photo.jpg"),
        "video": _named(video, "video.mp4"),
    }
    return api.post(CAPTURES_URL, files, format="multipart", **extra)


def _named(data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def enrol(api: APIClient, media: Media):
    """A capture through the API: a fresh challenge and a clip that performs it."""
    challenge = challenge_for(api)
    return upload(
        api, challenge=challenge["id"], photo=media.photo, video=media.video(challenge["steps"])
    )


# --- a request body made on the fly ------------------------------------------------------------


class LazyBody:
    """A WSGI input of ``size`` bytes: a multipart prefix, then filler made as it is read.
    Counts what the server read, to show that a refusal did not read (or buffer) the body."""

    def __init__(self, prefix: bytes, size: int, suffix: bytes = b""):
        self.prefix, self.size, self.suffix = prefix, size, suffix
        self.position = 0

    @property
    def total(self) -> int:
        return len(self.prefix) + self.size + len(self.suffix)

    def read(self, size: int = -1) -> bytes:
        remaining = self.total - self.position
        size = remaining if size is None or size < 0 else min(size, remaining)
        out = bytearray()
        while len(out) < size:
            at = self.position + len(out)
            if at < len(self.prefix):
                out += self.prefix[at : at + size - len(out)]
            elif at < len(self.prefix) + self.size:
                out += b"\0" * min(size - len(out), len(self.prefix) + self.size - at)
            else:
                start = at - len(self.prefix) - self.size
                out += self.suffix[start : start + size - len(out)]
        self.position += len(out)
        return bytes(out)

    def readline(self, size: int = -1) -> bytes:  # WSGI asks for it; multipart never does
        return self.read(size)


BOUNDARY = "FaceledgerTestBoundary"


def multipart_part(name: str, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return (
        f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


def huge_upload(api: APIClient, *, challenge: str, photo: bytes, video_size: int, declared=None):
    """POST a capture whose video is ``video_size`` filler bytes, streamed lazily."""
    prefix = (
        multipart_part("challenge") + challenge.encode() + b"\r\n"
        + multipart_part("photo", "photo.jpg") + photo + b"\r\n"
        + multipart_part("video", "video.webm")
    )  # fmt: skip
    body = LazyBody(prefix, video_size, f"\r\n--{BOUNDARY}--\r\n".encode())
    response = api.generic(
        "POST",
        CAPTURES_URL,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        **{"wsgi.input": body, "CONTENT_LENGTH": str(declared or body.total)},
    )
    return response, body


# --- raw scans ----------------------------------------------------------------------------------


def _as_bytes(value) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False).encode()
    return str(value).encode()


def table_names() -> list[str]:
    with connection.cursor() as cursor:
        return connection.introspection.table_names(cursor)


def database_hits(needles: list[bytes], *, skip: dict[str, set[str]] | None = None) -> list[str]:
    """``table.column`` of every value, in every column of every table, that contains one
    of ``needles``. ``skip`` maps a table to columns not to look at."""
    skip = skip or {}
    hits = set()
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in table_names():
            columns = [
                c.name for c in connection.introspection.get_table_description(cursor, table)
            ]
            cursor.execute(f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(table)}")
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    if column in skip.get(table, set()):
                        continue
                    data = _as_bytes(value)
                    if any(needle in data for needle in needles):
                        hits.add(f"{table}.{column}")
    return sorted(hits)


def subject_reference_hits(subject_id: int) -> list[str]:
    """Columns that still hold ``subject_id`` as a reference to a person: every foreign key to
    the user table, and the plain integer columns that name a subject (no foreign key)."""
    user_table = User._meta.db_table
    hits = []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in table_names():
            relations = connection.introspection.get_relations(cursor, table)
            columns = {
                col for col, (_ref, ref_table) in relations.items() if ref_table == user_table
            }
            described = connection.introspection.get_table_description(cursor, table)
            columns |= {c.name for c in described if c.name in {"subject_id", "subject_ref"}}
            if table == user_table:
                columns.add("id")
            for column in sorted(columns):
                cursor.execute(
                    f"SELECT COUNT(*) FROM {quote(table)} WHERE {quote(column)} = %s", [subject_id]
                )
                if cursor.fetchone()[0]:
                    hits.append(f"{table}.{column}")
    return hits


def folder_hits(folder: Any, needles: list[bytes]) -> list[str]:
    """Files under ``folder`` (a folder, or a bucket's raw view: tests/media.py) whose name or
    content contains one of ``needles``."""
    from tests.media import read_all

    hits: list[str] = []
    if not folder.exists():
        return hits
    for path in folder.rglob("*"):
        name = str(path.relative_to(folder)).encode()
        content = read_all(path)  # on a bucket: every version kept of the object
        if any(needle in name or needle in content for needle in needles):
            hits.append(str(path))
    return hits


def cache_hits(needles: list[bytes]) -> list[str]:
    """Keys of the local-memory cache whose key or pickled value contains one of ``needles``."""
    store = getattr(cache, "_cache", {})
    hits = []
    for key, value in list(store.items()):
        data = key.encode() + (value if isinstance(value, bytes) else pickle.dumps(value))
        if any(needle in data for needle in needles):
            hits.append(key)
    return hits


def phone_forms(e164: str) -> list[bytes]:
    """The number in every form people and libraries write it: E.164 (``+447400123456``),
    international and national with and without spaces (``07400 123456``), digits only with
    the country code (``447400123456``) or the international prefix (``00447400123456``), and
    the national significant number alone, which every other form contains."""
    import phonenumbers

    number = phonenumbers.parse(e164, None)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    forms = {
        e164,
        e164.lstrip("+"),
        "00" + e164.lstrip("+"),
        national,
        national.replace(" ", ""),
        international,
        international.replace(" ", ""),
        phonenumbers.national_significant_number(number),
    }
    return [form.encode() for form in forms]


def session_hits(needles: list[bytes]) -> list[str]:
    """Stored sessions whose decoded data contains one of ``needles``. The raw column is
    signed and often zlib-compressed, so a plain column scan cannot see inside it."""
    from importlib import import_module

    from django.conf import settings

    store = import_module(settings.SESSION_ENGINE).SessionStore
    hits = []
    for key, data in store.get_model_class().objects.values_list("session_key", "session_data"):
        decoded = json.dumps(store().decode(data), ensure_ascii=False, default=str).encode()
        if any(needle in decoded for needle in needles):
            hits.append(f"django_session:{key[:6]}…")
    return hits


def raw_scan(needles: list[bytes], *, skip: dict[str, set[str]] | None = None) -> list[str]:
    """Everywhere ``needles`` still occur, found without asking any store: every column of
    every table of every app, every session decoded, every stored file (the folder, or every
    object version in the bucket) and the upload temp folder, and the cache. Empty means nothing
    is left."""
    from django.conf import settings

    from tests.media import store_view

    return (
        database_hits(needles, skip=skip)
        + session_hits(needles)
        + folder_hits(store_view(), needles)
        + folder_hits(Path(settings.FILE_UPLOAD_TEMP_DIR), needles)
        + cache_hits(needles)
    )


def distinctive_runs(data: bytes, *, length: int = 48, count: int = 3) -> list[bytes]:
    """A few runs of ``data`` from its middle, long enough to occur nowhere by chance."""
    step = max(1, (len(data) - length) // (count + 1))
    return [data[step * (i + 1) : step * (i + 1) + length] for i in range(count)]


ACCOUNT_DELETE_URL = "/account/delete/"
ERASE_WORDS = "erase my account"


def portal_erase(browser, outbox, *, words: str = ERASE_WORDS):
    """The portal's erasure as a person does it: ask for a fresh code, then post it with the
    typed confirmation. Returns the final response."""
    from tests.consent.conftest import last_code

    sent = browser.post(ACCOUNT_DELETE_URL, {"step": "send"})
    assert sent.status_code == 200, sent.content
    return browser.post(
        ACCOUNT_DELETE_URL, {"step": "erase", "code": last_code(outbox), "confirm": words}
    )
