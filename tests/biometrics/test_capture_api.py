"""Challenges and captures through the API: the gate, the challenge, liveness, upload limits,
and "nothing stored" for every refusal (rows and files counted before and after)."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import timedelta
from uuid import UUID

import pytest
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from biometrics.analysis.liveness import ACTIONS, OUT_OF_PLANE
from biometrics.models import Capture, LivenessChallenge, SubjectKey
from biometrics.uploads import MEGABYTE
from tests.biometrics import synth
from tests.erasure.kit import (
    CAPTURES_URL,
    CHALLENGE_URL,
    challenge_for,
    client_for,
    enrol,
    huge_upload,
    upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(alice, grant_consent):
    grant_consent(alice, "biometric_enrolment")
    return client_for(alice)


def stored(media_root) -> tuple[int, int, list[str]]:
    """What is kept: capture rows, subject keys, files under MEDIA_ROOT."""
    files = sorted(str(p.relative_to(media_root)) for p in media_root.rglob("*") if p.is_file())
    return Capture.objects.count(), SubjectKey.objects.count(), files


def png_header(width: int, height: int) -> bytes:
    """A valid PNG declaring ``width`` x ``height`` pixels, with almost no data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


# --- challenges ---------------------------------------------------------------------------------


def test_a_challenge_is_four_timed_random_actions_valid_two_minutes(api, alice, audit_events):
    before = timezone.now()
    body = challenge_for(api)

    assert set(body) == {"id", "steps", "record_seconds", "expires_at"}
    names = [step["step"] for step in body["steps"]]
    assert len(names) == 4 and set(names) <= set(ACTIONS)
    assert all(a != b for a, b in zip(names, names[1:], strict=False))  # no action twice in a row
    assert set(names) & set(OUT_OF_PLANE)  # at least one move a flat picture cannot make
    starts = [step["start"] for step in body["steps"]]
    assert all(step["end"] - step["start"] == pytest.approx(1.5) for step in body["steps"])
    assert all(b - a >= 1.69 for a, b in zip(starts, starts[1:], strict=False))
    assert 0.6 <= starts[0] and body["steps"][-1]["end"] < body["record_seconds"] <= 9.8
    expires = parse_datetime(body["expires_at"])
    assert timedelta(seconds=119) <= expires - before <= timedelta(seconds=121)
    assert LivenessChallenge.objects.get(pk=UUID(body["id"])).subject == alice
    assert audit_events() == []  # issuing is no event; using it is (with its steps)


def test_challenges_vary_and_a_new_one_voids_the_previous(api, alice):
    seen = {repr(challenge_for(api)["steps"]) for _ in range(30)}

    assert len(seen) == 30  # over 10^5 possible timed challenges (README)
    assert LivenessChallenge.objects.filter(subject=alice).count() == 1


def test_a_challenge_is_refused_without_biometric_consent(alice, policies):
    response = client_for(alice).get(CHALLENGE_URL)

    assert response.status_code == 403
    assert response.json()["code"] == "consent_required"
    assert response.json()["purpose"] == "biometric_enrolment"
    assert not LivenessChallenge.objects.exists()


# --- a successful capture -----------------------------------------------------------------------


def test_a_live_capture_is_stored_and_answered_201(
    api, alice, capture_media, audit_events, settings, _media_root
):
    challenge = challenge_for(api)

    response = upload(
        api,
        challenge=challenge["id"],
        photo=capture_media.photo,
        video=capture_media.video(challenge["steps"]),
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "liveness"}
    assert body["liveness"]["passed"] is True
    names = [step["step"] for step in challenge["steps"]]
    assert [s["step"] for s in body["liveness"]["steps"]] == names
    assert all(s["seen"] for s in body["liveness"]["steps"])
    capture = Capture.objects.get(pk=body["id"])
    assert capture.subject == alice and capture.engine == "classic"
    assert stored(_media_root) == (1, 1, [f"captures/{capture.pk}.photo"])
    assert not LivenessChallenge.objects.exists()  # spent
    assert audit_events() == [
        ("LIVENESS_CHALLENGE_USED", {"steps": challenge["steps"]}),
        ("SUBJECT_KEY_CREATED", {"key_id": "test1"}),
        ("CAPTURE_CREATED", {"engine": "classic", "steps": names}),
    ]


def test_a_second_capture_reuses_the_subjects_key(api, capture_media, audit_events):
    assert enrol(api, capture_media).status_code == 201
    first_key = bytes(SubjectKey.objects.get().wrapped_key)
    start = len(audit_events())

    assert enrol(api, capture_media).status_code == 201

    assert [name for name, _ in audit_events()[start:]] == [
        "LIVENESS_CHALLENGE_USED",
        "CAPTURE_CREATED",
    ]
    assert bytes(SubjectKey.objects.get().wrapped_key) == first_key
    assert Capture.objects.count() == 2


# --- refusals: a 4xx with a code, and nothing stored --------------------------------------------


def _replayed_still(api, media, **_):
    challenge = challenge_for(api)
    return upload(api, challenge=challenge["id"], photo=media.photo, video=media.replay())


def _expired_challenge(api, media, time_machine, **_):
    challenge = challenge_for(api)
    time_machine.move_to(timezone.now() + timedelta(seconds=121))
    return upload(
        api, challenge=challenge["id"], photo=media.photo, video=media.video(challenge["steps"])
    )


def _reused_challenge(api, media, **_):
    challenge = challenge_for(api)
    first = upload(api, challenge=challenge["id"], photo=b"not an image", video=b"nor a video")
    assert first.status_code == 422 and first.json()["code"] == "unsupported_image"
    return upload(
        api, challenge=challenge["id"], photo=media.photo, video=media.video(challenge["steps"])
    )


def _someone_elses_challenge(api, media, bob, grant_consent, **_):
    grant_consent(bob, "biometric_enrolment")
    challenge = challenge_for(client_for(bob))
    response = upload(
        api, challenge=challenge["id"], photo=media.photo, video=media.video(challenge["steps"])
    )
    assert LivenessChallenge.objects.filter(pk=challenge["id"]).exists()  # bob's is untouched
    return response


def _malformed_challenge(api, media, **_):
    return upload(api, challenge="not-a-uuid", photo=media.photo, video=media.replay())


def _a_clip_from_the_old_six_clip_library(api, media, **_):
    # Two steps in order with no timing: it covered every challenge of the old space. The
    # challenge is pinned to start with two turns, so the clip moves (a random one starting with
    # a blink and a smile is refused as ``no_motion`` instead, about 1 time in 13).
    challenge = challenge_for(api)
    steps = synth.layout(["turn_left", "turn_right", "blink", "open_mouth"])
    LivenessChallenge.objects.filter(pk=challenge["id"]).update(steps=steps)
    video = media.video(["turn_left", "turn_right"])
    return upload(api, challenge=challenge["id"], photo=media.photo, video=video)


def _a_photo_tilted_through_the_turns(api, media, **_):
    challenge = challenge_for(api)
    turns = synth.layout(["turn_left", "turn_right"])
    LivenessChallenge.objects.filter(pk=challenge["id"]).update(steps=turns)
    frames = synth.planar_frames(media.face, turns, fps=10, size=(320, 240), gain=(1.5, 1.0))
    video = synth.encode(frames, fps=10)
    return upload(api, challenge=challenge["id"], photo=media.photo, video=video)


def _two_faces(api, media, **_):
    challenge = challenge_for(api)
    video = media.two_faces(challenge["steps"])
    return upload(api, challenge=challenge["id"], photo=media.photo, video=video)


def _not_an_image(api, media, **_):
    challenge = challenge_for(api)
    photo = b"%PDF-1.4 this is a document, not a face"
    return upload(
        api, challenge=challenge["id"], photo=photo, video=media.video(challenge["steps"])
    )


def _truncated_video(api, media, **_):
    challenge = challenge_for(api)
    video = media.video(challenge["steps"])
    return upload(
        api, challenge=challenge["id"], photo=media.photo, video=video[: len(video) * 6 // 10]
    )


def _decompression_bomb(api, media, **_):
    challenge = challenge_for(api)
    photo = png_header(50_000, 50_000)
    return upload(
        api, challenge=challenge["id"], photo=photo, video=media.video(challenge["steps"])
    )


def _upload_of_100_mb(api, media, **_):
    challenge = challenge_for(api)
    response, body = huge_upload(
        api, challenge=challenge["id"], photo=media.photo, video_size=100 * MEGABYTE
    )
    assert body.position == 0  # refused by its Content-Length, before reading the body
    return response


REFUSALS = [
    (_replayed_still, 422, "no_motion"),
    (_expired_challenge, 422, "challenge_expired"),
    (_reused_challenge, 422, "challenge_invalid"),
    (_someone_elses_challenge, 422, "challenge_invalid"),
    (_malformed_challenge, 422, "challenge_invalid"),
    (_a_clip_from_the_old_six_clip_library, 422, "challenge_failed"),
    (_a_photo_tilted_through_the_turns, 422, "flat_motion"),
    (_two_faces, 422, "multiple_faces"),
    (_not_an_image, 422, "unsupported_image"),
    (_truncated_video, 422, "corrupt_video"),
    (_decompression_bomb, 422, "image_too_large"),
    (_upload_of_100_mb, 413, "upload_too_large"),
]


@pytest.mark.parametrize(
    ("attempt", "status", "code"), REFUSALS, ids=[f.__name__.strip("_") for f, *_ in REFUSALS]
)
def test_a_bad_capture_is_refused_and_nothing_is_stored(
    attempt,
    status,
    code,
    api,
    bob,
    grant_consent,
    capture_media,
    settings,
    time_machine,
    _media_root,
):
    before = stored(_media_root)

    response = attempt(
        api, capture_media, bob=bob, grant_consent=grant_consent, time_machine=time_machine
    )

    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert response.json()["detail"]
    assert stored(_media_root) == before == (0, 0, [])


def test_a_refused_capture_spends_the_challenge_and_says_so(api, capture_media, audit_events):
    challenge = challenge_for(api)

    response = upload(
        api, challenge=challenge["id"], photo=capture_media.photo, video=capture_media.replay()
    )

    body = response.json()
    assert response.status_code == 422
    assert body["code"] == "no_motion"
    assert body["new_challenge_required"] is True
    assert "record again" in body["detail"] and "challenge" not in body["detail"]
    assert body["liveness"]["passed"] is False
    assert not LivenessChallenge.objects.exists()
    assert [name for name, _ in audit_events()] == [
        "LIVENESS_CHALLENGE_USED",
        "CAPTURE_REFUSED",
    ]
    assert audit_events()[-1][1] == {"code": "no_motion"}


def test_a_capture_is_refused_without_biometric_consent(
    alice, policies, capture_media, settings, _media_root
):
    response = upload(
        client_for(alice),
        challenge="00000000-0000-4000-8000-000000000000",
        photo=capture_media.photo,
        video=capture_media.replay(),
    )

    assert response.status_code == 403
    assert response.json() == {
        "code": "consent_required",
        "detail": response.json()["detail"],
        "purpose": "biometric_enrolment",
    }
    assert stored(_media_root) == (0, 0, [])


@pytest.mark.parametrize(("field", "limit"), [("photo", 10), ("video", 20)])
def test_a_file_over_its_cap_is_refused_reading_no_further_than_the_cap(
    api, capture_media, field, limit
):
    challenge = challenge_for(api)
    size = (limit + 1) * MEGABYTE
    if field == "video":
        response, body = huge_upload(
            api, challenge=challenge["id"], photo=capture_media.photo, video_size=size
        )
    else:
        response, body = huge_upload(
            api, challenge=challenge["id"], photo=b"\xff\xd8\xff" + b"\0" * size, video_size=1024
        )

    assert response.status_code == 413
    assert response.json()["code"] == "upload_too_large"
    assert response.json()["field"] == field
    assert response.json()["max_bytes"] == limit * MEGABYTE
    assert body.position < (limit + 0.5) * MEGABYTE  # stopped at the cap, not at the end
    assert LivenessChallenge.objects.filter(pk=challenge["id"]).exists()  # not spent


def test_a_lying_content_length_cannot_make_the_server_read_more(api, capture_media):
    challenge = challenge_for(api)

    response, body = huge_upload(
        api,
        challenge=challenge["id"],
        photo=capture_media.photo,
        video_size=100 * MEGABYTE,
        declared=5 * MEGABYTE,
    )

    assert response.status_code in (400, 413, 422)
    assert "code" in response.json()
    assert body.position <= 5 * MEGABYTE


def test_uploads_are_read_in_memory_and_never_written_to_a_temp_file(
    api, capture_media, settings, tmp_path
):
    # Django's default handlers would spill the video into this (missing) folder and fail.
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "no-such-folder")
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    challenge = challenge_for(api)
    video = capture_media.replay() * 3  # a few hundred KB, far over the memory threshold

    response = upload(api, challenge=challenge["id"], photo=b"not an image", video=video)

    assert response.status_code == 422  # parsed fine, refused by the analysis
    request = response.wsgi_request
    assert all(isinstance(f, InMemoryUploadedFile) for f in request.FILES.values())
    assert not (tmp_path / "no-such-folder").exists()
    assert not any(tmp_path.glob("**/*.upload*"))


def test_unexpected_file_fields_are_refused(api, capture_media):
    challenge = challenge_for(api)
    files = {
        "challenge": challenge["id"],
        "photo": io.BytesIO(capture_media.photo),
        "video": io.BytesIO(b"x"),
        "extra": io.BytesIO(b"y" * 1000),
    }

    response = api.post(CAPTURES_URL, files, format="multipart")

    assert response.status_code == 400
    assert response.json()["code"] in {"unexpected_file", "invalid"}


def test_a_capture_without_files_is_refused_with_a_code(api):
    response = api.post(CAPTURES_URL, {"challenge": "x"}, format="multipart")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


# --- reading and deleting -----------------------------------------------------------------------


def test_captures_are_listed_and_read_by_their_subject_only(alice, bob, enrolled):
    [mine] = enrolled(alice)
    [theirs] = enrolled(bob)
    api = client_for(alice)

    listed = api.get(CAPTURES_URL).json()
    one = api.get(f"{CAPTURES_URL}/{mine.pk}")

    assert [c["id"] for c in listed] == [str(mine.pk)]
    assert one.status_code == 200
    body = one.json()
    assert set(body) == {"id", "created_at", "last_used_at", "expires_at", "liveness"}
    expires = parse_datetime(body["expires_at"])
    assert expires - parse_datetime(body["last_used_at"]) == timedelta(days=365)
    assert body["liveness"]["passed"] is True
    for other in (theirs.pk, "not-a-uuid", "00000000-0000-4000-8000-000000000000"):
        response = api.get(f"{CAPTURES_URL}/{other}")
        assert response.status_code == 404
        assert response.json()["code"] == "capture_not_found"


def test_deleting_a_capture_erases_its_file_and_row_and_records_the_consent_state(
    alice, enrolled, settings, audit_events, _media_root
):
    [capture] = enrolled(alice)
    api = client_for(alice)
    start = len(audit_events())

    response = api.delete(f"{CAPTURES_URL}/{capture.pk}")

    assert response.status_code == 204
    assert not Capture.objects.filter(pk=capture.pk).exists()
    assert not (_media_root / capture.photo).exists()
    # Her only capture: nothing else needs her data key, so it is destroyed with it.
    assert audit_events()[start:] == [
        ("CAPTURE_DELETED", {"consent": "granted"}),
        (
            "SUBJECT_KEY_DESTROYED",
            {"reason": "capture_deleted", "erased": {"biometrics.subject_key": 1}},
        ),
    ]
    assert api.delete(f"{CAPTURES_URL}/{capture.pk}").status_code == 404


def test_another_subjects_capture_cannot_be_deleted(alice, bob, enrolled, settings, _media_root):
    [theirs] = enrolled(bob)
    enrolled(alice)

    response = client_for(alice).delete(f"{CAPTURES_URL}/{theirs.pk}")

    assert response.status_code == 404
    assert Capture.objects.filter(pk=theirs.pk).exists()
    assert (_media_root / theirs.photo).exists()


def test_a_deletion_is_not_refused_when_consent_is_outdated(alice, staff, enrolled, audit_events):
    from consent.ledger.models import PolicyText, Purpose
    from consent.ledger.services import policy_publish

    [capture] = enrolled(alice)
    staff.is_superuser = True
    staff.save(update_fields=["is_superuser"])
    current = Purpose.objects.get(code="biometric_enrolment").current_version
    texts = {t.language: t.text + "\n\nRevised." for t in PolicyText.objects.filter(policy=current)}
    policy_publish(purpose="biometric_enrolment", texts=texts, actor=staff)
    start = len(audit_events())

    response = client_for(alice).delete(f"{CAPTURES_URL}/{capture.pk}")

    assert response.status_code == 204
    assert audit_events()[start:][0] == ("CAPTURE_DELETED", {"consent": "consent_outdated"})


def test_withdrawing_biometric_consent_erases_captures_and_challenges(
    alice, enrolled, settings, audit_events, _media_root
):
    captures = enrolled(alice, captures=2)
    api = client_for(alice)
    challenge_for(api)
    start = len(audit_events())

    response = api.delete("/api/v1/consents/biometric_enrolment")

    assert response.status_code == 200
    assert not Capture.objects.filter(subject=alice).exists()
    assert not LivenessChallenge.objects.filter(subject=alice).exists()
    assert not any((_media_root / c.photo).exists() for c in captures)
    [(name, data)] = audit_events()[start:]
    assert name == "CONSENT_WITHDRAWN"
    assert data["erased"] == {
        "biometrics.captures": 2,
        "biometrics.challenges": 1,
        "consent.reports": 0,  # stored reports hold thumbnails of the photos
        "swap.access_links": 0,  # every withdrawal ends the person's share links
        "swap.jobs": 0,  # results made from the captures
        "swap.stored_results": 0,
        "biometrics.subject_key": 1,  # nothing readable needs it any more
    }
    assert not SubjectKey.objects.filter(subject=alice).exists()


def test_a_withdrawal_during_the_analysis_wins_and_nothing_is_stored(
    alice, grant_consent, capture_analysis, settings, _media_root
):
    from biometrics.services import capture_store
    from consent.ledger.gate import ConsentRequired
    from consent.ledger.models import ConsentRecord
    from consent.ledger.selectors import ClientEvidence
    from consent.ledger.services import consent_withdraw

    grant_consent(alice, "biometric_enrolment")
    # The analysis ran (capture_analysis); the subject withdraws before it is stored.
    consent_withdraw(
        subject=alice,
        purpose="biometric_enrolment",
        evidence=ClientEvidence(method=ConsentRecord.Method.API),
    )

    with pytest.raises(ConsentRequired):
        capture_store(subject=alice, analysis=capture_analysis)
    assert stored(_media_root) == (0, 0, [])


def test_a_failure_after_the_photo_is_written_leaves_no_file(
    alice, grant_consent, capture_analysis, settings, monkeypatch, _media_root
):
    from biometrics.services import capture_store

    grant_consent(alice, "biometric_enrolment")

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(Capture.objects, "create", broken)

    with pytest.raises(RuntimeError):
        capture_store(subject=alice, analysis=capture_analysis)
    assert stored(_media_root) == (0, 0, [])


@pytest.mark.parametrize(
    "content_type, body",
    [("application/json", b'{"photo": 1}'), ("text/plain", b"photo"), ("multipart/mixed", b"x")],
)
def test_a_capture_body_that_is_not_multipart_is_a_documented_415(api, content_type, body):
    response = api.generic("POST", "/api/v1/captures", body, content_type=content_type)

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    schema = api.get("/api/schema/?format=json").json()
    documented = schema["paths"]["/api/v1/captures"]["post"]["responses"]
    assert "415" in documented
