"""Templates: added by staff in the admin through the services (files checked with the safe
decoders, stored as uploaded, every record audited), listed and usable only while their
licence and the depicted person's consent are both current, and seeded for the demo."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from swap import demo
from swap.demo import CLIP_TITLE, STILL_TITLE
from swap.engines.video import iter_frames
from swap.models import DepictedPersonConsent, SwapTemplate, TemplateLicence
from swap.selectors import template_refusal, templates_usable
from swap.services import TemplateRefused, check_template_file, swap_template_consent_withdraw
from tests.erasure.kit import client_for
from tests.factories import admin_signed_in
from tests.swap.conftest import encode_clip
from tests.swap.jobkit import (
    SIGNED_PDF,
    TEMPLATES_URL,
    make_template,
    template_clip,
    template_png,
)

pytestmark = pytest.mark.django_db

ADD_TEMPLATE = reverse("admin:swap_swaptemplate_add")


@pytest.fixture
def admin_client(staff, audit_events):
    """A superuser staff client past the real admin login (password and TOTP code)."""
    staff.is_superuser = True
    staff.save(update_fields=["is_superuser"])
    return admin_signed_in(staff)


def _split(moment) -> dict[str, str]:
    local = timezone.localtime(moment)
    return {"0": local.strftime("%Y-%m-%d"), "1": local.strftime("%H:%M:%S")}


def add_form(upload: bytes, name: str = "template.png", **overrides) -> dict:
    licence_end = _split(timezone.now() + timedelta(days=200))
    consent_end = _split(timezone.now() + timedelta(days=100))
    form = {
        "title": "Beach walk",
        "upload": SimpleUploadedFile(name, upload),
        "licence_source": "Stock library, item 1234",
        "licence_terms": "Editing allowed; shown only to the user who made it.",
        "licence_expires_at_0": licence_end["0"],
        "licence_expires_at_1": licence_end["1"],
        "person": "Model release MR-7",
        "document": SimpleUploadedFile("release.pdf", SIGNED_PDF),
        "scope": "Face editing by users of the service.",
        "consent_expires_at_0": consent_end["0"],
        "consent_expires_at_1": consent_end["1"],
    }
    form.update(overrides)
    return form


def stored_files(media_root) -> list[str]:
    return sorted(str(p.relative_to(media_root)) for p in media_root.rglob("*") if p.is_file())


def staff_events(start: int) -> list[str]:
    from audit.actions import AuditAction

    rows = AuditEvent.objects.filter(id__gt=start).order_by("id").values_list("action", flat=True)
    return [AuditAction(action).name for action in rows]


def last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


# --- the admin ---------------------------------------------------------------------------------


def test_staff_add_a_template_in_the_admin_and_every_record_is_audited(
    admin_client, staff, _media_root
):
    start = last_event_id()

    response = admin_client.post(ADD_TEMPLATE, add_form(template_png()))

    # The answer is the printable consent record with the depicted person's withdrawal secret.
    assert response.status_code == 201, response.content
    assert "no-store" in response["Cache-Control"]
    template = SwapTemplate.objects.get()
    assert template.depicted_consent.withdrawal_digest
    assert b"/depicted/withdraw/" in response.content
    assert (template.kind, template.title) == ("image", "Beach walk")
    assert staff_events(start) == [
        "SWAP_TEMPLATE_ADDED",
        "SWAP_TEMPLATE_LICENCE_RECORDED",
        "SWAP_TEMPLATE_CONSENT_RECORDED",
    ]
    events = AuditEvent.objects.filter(id__gt=start).order_by("id")
    assert {event.actor for event in events} == {f"staff:{staff.pk}"}
    # The depicted person is named in their record only, never in the log.
    assert not any("MR-7" in event.data_jcs for event in events)
    # Stored as uploaded: the depicted person's file, not subject data under a subject key.
    assert (_media_root / template.file.name).read_bytes() == template_png()
    assert (_media_root / template.depicted_consent.document.name).read_bytes() == SIGNED_PDF
    assert (_media_root / template.poster.name).read_bytes()[:3] == b"\xff\xd8\xff"
    assert template_refusal(template, timezone.now()) is None


def test_the_admin_pages_of_the_swap_app_render(admin_client, alice, enrolled, grant_consent):
    from swap.services import swap_job_request

    template = make_template()
    [capture] = enrolled(alice)
    grant_consent(alice, "face_swap")
    swap_job_request(subject=alice, capture_id=capture.pk, template_id=template.pk)
    pages = [ADD_TEMPLATE, reverse("admin:swap_swaptemplate_change", args=[template.pk])]
    for model in ("swaptemplate", "templatelicence", "depictedpersonconsent", "swapjob"):
        pages.append(reverse(f"admin:swap_{model}_changelist"))
    pages += [
        reverse("admin:swap_templatelicence_add"),
        reverse("admin:swap_depictedpersonconsent_add"),
    ]

    for page in pages:
        assert admin_client.get(page).status_code == 200, page
    add_page = admin_client.get(ADD_TEMPLATE).content.decode()
    assert 'enctype="multipart/form-data"' in add_page and 'name="document"' in add_page


def test_a_clip_is_added_with_its_duration(admin_client):
    response = admin_client.post(ADD_TEMPLATE, add_form(template_clip(), "clip.mp4"))

    assert response.status_code == 201, response.content
    template = SwapTemplate.objects.get()
    assert template.kind == "video" and 1.0 < template.duration_seconds < 1.5
    assert (template.width, template.height) == (320, 240)


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "cannot be read"),
        (b"GIF89a" + b"\0" * 64, "Send a JPEG"),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 400, "clip cannot be read"),
        (b"", "The submitted file is empty"),
    ],
)
def test_a_corrupt_template_file_is_a_clean_form_error_and_stores_nothing(
    admin_client, upload, message, _media_root
):
    start = last_event_id()

    response = admin_client.post(ADD_TEMPLATE, add_form(upload))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not SwapTemplate.objects.exists() and stored_files(_media_root) == []
    assert staff_events(start) == []


def test_a_truncated_image_is_refused(admin_client, _media_root):
    response = admin_client.post(ADD_TEMPLATE, add_form(template_png()[: len(template_png()) // 2]))

    assert response.status_code == 400 and "cannot be read" in response.content.decode()
    assert stored_files(_media_root) == []


def test_a_picture_without_a_face_is_refused():
    import cv2
    import numpy as np

    ok, png = cv2.imencode(".png", np.full((200, 300, 3), 120, np.uint8))

    with pytest.raises(TemplateRefused) as refused:
        check_template_file(png.tobytes())

    assert refused.value.extra == {"reason": "no_template_face"}


def test_a_clip_longer_than_30_seconds_is_refused():
    import numpy as np

    long_clip = encode_clip([np.full((32, 32, 3), 90, np.uint8)] * 32, fps=1)

    with pytest.raises(TemplateRefused) as refused:
        check_template_file(long_clip)

    assert refused.value.extra == {"reason": "video_too_long"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"document": SimpleUploadedFile("release.txt", b"I agree")}, "must be a PDF"),
        ({"consent_expires_at_0": "2020-01-01"}, "consent has already expired"),
        ({"licence_expires_at_0": "2020-01-01"}, "licence has already expired"),
        ({"person": ""}, "This field is required"),
    ],
)
def test_incomplete_or_expired_records_are_form_errors(
    admin_client, overrides, message, _media_root
):
    response = admin_client.post(ADD_TEMPLATE, add_form(template_png(), **overrides))

    assert response.status_code == 400 and message in response.content.decode()
    assert not SwapTemplate.objects.exists() and stored_files(_media_root) == []


def test_a_licence_without_expiry_is_accepted_for_a_public_domain_work(admin_client):
    form = add_form(template_png(), licence_expires_at_0="", licence_expires_at_1="")

    assert admin_client.post(ADD_TEMPLATE, form).status_code == 201
    assert SwapTemplate.objects.get().licence.expires_at is None


def test_templates_are_never_changed_or_deleted_in_the_admin(admin_client):
    template = make_template()
    change = reverse("admin:swap_swaptemplate_change", args=[template.pk])
    delete = reverse("admin:swap_swaptemplate_delete", args=[template.pk])

    assert admin_client.get(change).status_code == 200  # view only
    assert admin_client.post(change, {"title": "Renamed"}).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert SwapTemplate.objects.get().title == template.title


def test_staff_record_a_new_licence_and_a_renewed_consent_through_the_admin(
    admin_client, _media_root
):
    template = make_template(licence_expires=timezone.now() + timedelta(days=5))
    start = last_event_id()
    ends = _split(timezone.now() + timedelta(days=400))

    licence = admin_client.post(
        reverse("admin:swap_templatelicence_add"),
        {
            "template": template.pk,
            "source": "Stock library, renewed",
            "terms": "Two more years.",
            "expires_at_0": ends["0"],
            "expires_at_1": ends["1"],
        },
    )
    consent = admin_client.post(
        reverse("admin:swap_depictedpersonconsent_add"),
        {
            "template": template.pk,
            "person": "Model release MR-7b",
            "document": SimpleUploadedFile("renewal.pdf", SIGNED_PDF),
            "scope": "Same as before.",
            "expires_at_0": ends["0"],
            "expires_at_1": ends["1"],
        },
    )

    assert licence.status_code == 302 and consent.status_code == 201, consent.content
    template.refresh_from_db()
    assert template.licence.source == "Stock library, renewed"
    assert template.depicted_consent.person == "Model release MR-7b"
    assert TemplateLicence.objects.count() == 2 and DepictedPersonConsent.objects.count() == 2
    assert staff_events(start) == [
        "SWAP_TEMPLATE_LICENCE_RECORDED",
        "SWAP_TEMPLATE_CONSENT_RECORDED",
    ]


def test_staff_record_a_withdrawal_of_the_depicted_persons_consent(admin_client):
    template = make_template()
    start = last_event_id()

    response = admin_client.post(
        reverse("admin:swap_depictedpersonconsent_changelist"),
        {"action": "withdraw", "_selected_action": [template.depicted_consent_id]},
    )

    assert response.status_code == 302
    template.refresh_from_db()
    assert template.depicted_consent.withdrawn_at is not None
    assert template_refusal(template, timezone.now()) == "depicted_consent_withdrawn"
    assert staff_events(start) == ["SWAP_TEMPLATE_CONSENT_WITHDRAWN"]


def test_opening_a_job_in_the_admin_is_audited_as_a_staff_view_of_its_subject(
    admin_client, alice, enrolled, grant_consent
):
    from swap.services import swap_job_request

    [capture] = enrolled(alice)
    grant_consent(alice, "face_swap")
    job = swap_job_request(subject=alice, capture_id=capture.pk, template_id=make_template().pk)
    start = last_event_id()

    response = admin_client.get(reverse("admin:swap_swapjob_change", args=[job.pk]))

    assert response.status_code == 200
    assert staff_events(start) == ["STAFF_VIEWED_SUBJECT"]


# --- listed and usable only while both records are current ------------------------------------


def test_the_api_lists_only_templates_with_a_current_licence_and_consent(alice):
    soon = timezone.now() + timedelta(minutes=20)  # within the API token's hour
    listed = make_template(title="A current one")
    licence_ends = make_template(title="Licence ends", licence_expires=soon)
    consent_ends = make_template(title="Consent ends", consent_expires=soon)
    withdrawn = make_template(title="Withdrawn")
    swap_template_consent_withdraw(consent=withdrawn.depicted_consent, actor=None)
    api = client_for(alice)

    now_listed = [t["title"] for t in api.get(TEMPLATES_URL).json()]
    with time_machine.travel(soon + timedelta(seconds=1)):
        later = api.get(TEMPLATES_URL).json()

    assert now_listed == ["A current one", "Consent ends", "Licence ends"]
    assert [t["id"] for t in later] == [str(listed.pk)]
    [entry] = later
    assert entry["licence"]["source"] == "Test photo library, picture 42"
    assert entry["kind"] == "image" and entry["poster"].endswith(f"/{listed.pk}/poster")
    assert {t.pk for t in templates_usable()} == {listed.pk, licence_ends.pk, consent_ends.pk}


def test_a_usable_templates_poster_is_served_and_an_unusable_ones_is_refused(alice):
    usable = make_template(title="Usable")
    withdrawn = make_template(title="Withdrawn")
    swap_template_consent_withdraw(consent=withdrawn.depicted_consent, actor=None)
    api = client_for(alice)

    poster = api.get(f"{TEMPLATES_URL}/{usable.pk}/poster")
    refused = api.get(f"{TEMPLATES_URL}/{withdrawn.pk}/poster")
    unknown = api.get(f"{TEMPLATES_URL}/nope/poster")

    assert poster.status_code == 200 and poster["Content-Type"] == "image/jpeg"
    assert b"".join(poster.streaming_content)[:3] == b"\xff\xd8\xff"
    assert refused.status_code == 422 and refused.json()["reason"] == "depicted_consent_withdrawn"
    assert unknown.status_code == 404 and unknown.json()["code"] == "template_not_found"


# --- the demo ------------------------------------------------------------------------------------


def test_seed_demo_adds_two_usable_public_domain_templates_once(settings, policies):
    settings.DEBUG = True

    first, second = io.StringIO(), io.StringIO()
    call_command("seed_demo", stdout=first)
    call_command("seed_demo", stdout=second)

    templates = {t.title: t for t in templates_usable()}
    assert set(templates) == {STILL_TITLE, CLIP_TITLE}
    still, clip = templates[STILL_TITLE], templates[CLIP_TITLE]
    assert still.kind == "image" and clip.kind == "video" and clip.duration_seconds <= 30
    assert "astronaut" in still.licence.source and "Public domain" in still.licence.terms
    assert still.licence.expires_at is None
    assert "PLACEHOLDER" in still.depicted_consent.scope
    assert SwapTemplate.objects.count() == 2
    assert f"Demo template added: {CLIP_TITLE}" in first.getvalue()
    assert f"Demo template kept: {CLIP_TITLE}" in second.getvalue()


def test_the_demo_clip_shows_the_face_in_every_frame(analyser):
    clip = demo._clip_bytes()

    frames = list(iter_frames(clip))
    media = check_template_file(clip)

    assert len(frames) == demo.CLIP_FRAMES and frames[0].shape == (360, 480, 3)
    assert [len(analyser.detect(frame)) for frame in frames] == [1] * demo.CLIP_FRAMES
    assert media.kind == "video" and (media.width, media.height) == demo.CLIP_SIZE
