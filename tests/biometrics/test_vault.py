"""The key vault: only ciphertext at rest, AAD and key context binding, crypto-shredding, and
data that does not open once its master key is gone (rotation: test_key_schedule.py)."""

from __future__ import annotations

import io
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone
from PIL import Image

from biometrics import vault
from biometrics.models import Capture, SubjectKey
from biometrics.services import capture_analyse, capture_decrypt, capture_use
from compliance_site import keystore
from compliance_site.crypto import DecryptionError
from consent.ledger.gate import ConsentRequired
from tests.biometrics.synth import layout
from tests.erasure.kit import database_hits, distinctive_runs, folder_hits

pytestmark = pytest.mark.django_db


def test_no_plaintext_photo_embedding_or_landmarks_is_kept_anywhere(
    alice, enrolled, capture_analysis, capture_media, settings, _media_root
):
    [capture] = enrolled(alice)
    needles = (
        distinctive_runs(capture_media.photo)  # the upload
        + distinctive_runs(capture_analysis.photo_jpeg)  # the photo as stored, before encryption
        + [capture_analysis.embedding.tobytes()]
        + distinctive_runs(capture_analysis.embedding.tobytes(), length=32)
        + distinctive_runs(capture_analysis.landmarks.tobytes(), length=32)
    )

    assert database_hits(needles) == []
    assert folder_hits(_media_root, needles) == []
    # ...yet it is all there, encrypted:
    opened = capture_decrypt(capture)
    assert opened.photo_jpeg == capture_analysis.photo_jpeg
    assert np.array_equal(opened.embedding, capture_analysis.embedding)
    assert np.array_equal(opened.landmarks, capture_analysis.landmarks)
    assert opened.landmarks.shape == (68, 2)


def test_the_stored_photo_is_ciphertext_without_image_metadata(
    alice, enrolled, settings, _media_root
):
    [capture] = enrolled(alice)

    data = (_media_root / capture.photo).read_bytes()

    assert data.startswith(b"FLD1")
    assert b"\xff\xd8\xff" not in data[:64] and b"Exif" not in data
    assert capture_decrypt(capture).photo_jpeg.startswith(b"\xff\xd8\xff")


def test_a_ciphertext_moved_to_another_capture_does_not_open(
    alice, enrolled, settings, _media_root
):
    first, second = enrolled(alice, captures=2)

    Capture.objects.filter(pk=second.pk).update(embedding=first.embedding)
    (_media_root / second.photo).write_bytes((_media_root / first.photo).read_bytes())
    second.refresh_from_db()

    with pytest.raises(DecryptionError):
        vault.unseal(alice.pk, second.embedding, aad=f"capture:{second.pk}:embedding")
    with pytest.raises(DecryptionError):
        capture_decrypt(second)
    assert capture_decrypt(first).photo_jpeg  # the original still opens


def test_a_wrapped_key_moved_to_another_subject_does_not_open(alice, bob, enrolled):
    [capture] = enrolled(alice)
    enrolled(bob)
    alices = SubjectKey.objects.get(subject=alice)

    SubjectKey.objects.filter(subject=bob).update(wrapped_key=alices.wrapped_key)

    with pytest.raises(DecryptionError):
        vault.subject_key(bob.pk)
    assert capture_decrypt(capture).embedding.shape == (128,)


def test_destroying_the_subject_key_makes_every_copy_unreadable(
    alice, enrolled, settings, tmp_path, _media_root
):
    [capture] = enrolled(alice)
    aside = tmp_path / "backup.photo"
    aside.write_bytes((_media_root / capture.photo).read_bytes())
    embedding = bytes(capture.embedding)

    assert vault.subject_key_destroy(subject_id=alice.pk) == 1

    with pytest.raises(DecryptionError):
        vault.unseal(alice.pk, aside.read_bytes(), aad=f"capture:{capture.pk}:photo")
    with pytest.raises(DecryptionError):
        vault.unseal(alice.pk, embedding, aad=f"capture:{capture.pk}:embedding")
    assert vault.subject_key_destroy(subject_id=alice.pk) == 0  # idempotent


def test_data_does_not_open_once_its_master_key_is_gone_before_rotation(alice, enrolled):
    [capture] = enrolled(alice)
    keystore.create()

    keystore.destroy("test1")

    with pytest.raises(DecryptionError):
        capture_decrypt(capture)


def test_using_a_capture_needs_the_use_purpose_and_marks_it_used(
    alice, enrolled, grant_consent, capture_analysis, audit_events, time_machine
):
    [capture] = enrolled(alice)
    with pytest.raises(ConsentRequired):
        capture_use(subject=alice, capture_id=capture.pk, purpose="face_swap")
    grant_consent(alice, "face_swap")
    time_machine.move_to(timezone.now() + timedelta(hours=1))
    start = len(audit_events())

    opened = capture_use(subject=alice, capture_id=capture.pk, purpose="face_swap")

    capture.refresh_from_db()
    assert capture.last_used_at > capture.created_at
    assert np.array_equal(opened.embedding, capture_analysis.embedding)
    assert audit_events(names_only=True)[start:] == ["CAPTURE_USED"]


def test_a_photo_uploaded_with_its_location_is_kept_without_it(capture_media):
    """The text's "no ... location": a phone's JPEG carries GPS coordinates in its EXIF block.
    The stored photo is re-encoded from the pixels, so neither the block nor the coordinates
    survive. (The test above looks for "Exif" in the ciphertext, where it never is.)"""
    image = Image.open(io.BytesIO(capture_media.photo))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)})
    tagged = io.BytesIO()
    image.save(tagged, format="JPEG", exif=exif, quality=95)
    photo = tagged.getvalue()
    assert b"Exif" in photo and b"PhoneMaker" in photo

    steps = layout(["turn_left", "blink"])
    analysis = capture_analyse(photo=photo, video=capture_media.video(steps), steps=steps)

    kept = analysis.photo_jpeg
    assert kept.startswith(b"\xff\xd8\xff")
    assert b"Exif" not in kept and b"PhoneMaker" not in kept
    assert not Image.open(io.BytesIO(kept)).getexif()
