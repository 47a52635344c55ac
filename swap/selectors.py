"""Reads with logic: which templates are usable, a subject's jobs, retention, C2PA credentials,
and the inventory's views of the swap stores (references and facts, never a result's bytes)."""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from biometrics import vault
from compliance_site import inventory
from compliance_site.crypto import DecryptionError
from compliance_site.dates import date_text, datetime_text
from compliance_site.errors import NotFound, Unprocessable
from consent.ledger.selectors import purpose_by_code
from swap.engines.content_credentials import C2paCredentials, C2paSetupError, c2pa_available
from swap.models import DepictedPersonConsent, ShareLink, SwapJob, SwapNotice, SwapTemplate

PURPOSE = "face_swap"
STORAGE_PURPOSE = "output_storage"
# A swap without enrolment: the photo and the video checked in memory, only the result kept.
EPHEMERAL_PURPOSE = "ephemeral_swap"

# Why a template cannot be used now (stable codes; the API and job errors carry them).
TEMPLATE_REFUSALS = {
    "licence_missing": gettext_lazy("This template has no licence on record."),
    "licence_expired": gettext_lazy("This template's licence has expired."),
    "depicted_consent_missing": gettext_lazy(
        "The consent of the person in this template is not on record."
    ),
    "depicted_consent_withdrawn": gettext_lazy(
        "The person in this template has withdrawn their consent."
    ),
    "depicted_consent_expired": gettext_lazy(
        "The consent of the person in this template has expired."
    ),
}


class TemplateUnavailable(Unprocessable):
    code = "template_unavailable"


def _as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# --- templates ----------------------------------------------------------------------------------


def template_refusal(template: SwapTemplate, now: datetime) -> str | None:
    """Why ``template`` is not usable at ``now`` (a ``TEMPLATE_REFUSALS`` code), or None."""
    licence, consent = template.licence, template.depicted_consent
    # mutant: delete — tests/swap/test_jobs_api.py
    #   test_a_template_without_a_licence_or_depicted_consent_on_record_is_refused
    if licence is None:
        return "licence_missing"
    # mutant: delete — tests/swap/test_jobs_api.py
    #   test_a_template_whose_licence_or_depicted_consent_expired_is_refused
    if licence.expires_at is not None and licence.expires_at <= now:
        return "licence_expired"
    # mutant: delete — tests/swap/test_jobs_api.py
    #   test_a_template_without_a_licence_or_depicted_consent_on_record_is_refused
    if consent is None:
        return "depicted_consent_missing"
    # mutant: delete — tests/swap/test_jobs_lifecycle.py
    #   test_a_job_that_slipped_in_past_the_depicted_withdrawal_fails_when_claimed
    if consent.withdrawn_at is not None:
        return "depicted_consent_withdrawn"
    # mutant: delete — tests/swap/test_jobs_api.py
    #   test_a_template_whose_licence_or_depicted_consent_expired_is_refused
    if consent.expires_at <= now:
        return "depicted_consent_expired"
    return None


def templates_usable(now: datetime | None = None) -> QuerySet[SwapTemplate]:
    """Templates with a current licence and the depicted person's current consent (invariant
    "other-face", docs/ARCHITECTURE.md): the same test as ``template_refusal``, in one query."""
    now = now or timezone.now()
    licence_valid = Q(licence__expires_at__isnull=True) | Q(licence__expires_at__gt=now)
    return (
        SwapTemplate.objects.select_related("licence", "depicted_consent")
        .filter(licence__isnull=False, depicted_consent__isnull=False)
        .filter(licence_valid)
        .filter(depicted_consent__withdrawn_at__isnull=True, depicted_consent__expires_at__gt=now)
        .order_by("title")
    )


def template_usable_until(template: SwapTemplate) -> datetime | None:
    """When the first of the licence and the depicted person's consent runs out (of a usable
    template: it has both)."""
    licence, consent = template.licence, template.depicted_consent
    assert licence is not None and consent is not None
    ends = [consent.expires_at]
    if licence.expires_at is not None:
        ends.append(licence.expires_at)
    return min(ends)


def template_for(template_id: Any) -> SwapTemplate:
    key = _as_uuid(template_id)
    template = (
        SwapTemplate.objects.select_related("licence", "depicted_consent").filter(pk=key).first()
        if key
        else None
    )
    if template is None:
        raise NotFound(_("There is no such template."), code="template_not_found")
    return template


def template_usable_for(template_id: Any, *, now: datetime | None = None) -> SwapTemplate:
    """The template, if usable now; ``TemplateUnavailable`` (422, with the reason) if not."""
    template = template_for(template_id)
    reason = template_refusal(template, now or timezone.now())
    # mutant: delete — tests/swap/test_jobs_api.py
    #   test_a_template_whose_licence_or_depicted_consent_expired_is_refused
    if reason is not None:
        raise TemplateUnavailable(str(TEMPLATE_REFUSALS[reason]), extra={"reason": reason})
    return template


# --- the depicted person's withdrawal secret ----------------------------------------------------

# Crockford's base32: no I, L, O or U, so it reads aloud and types back without confusion.
SECRET_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # noqa: S105 (an alphabet, not a secret)
SECRET_LENGTH = 28  # 140 bits, in 7 groups of 4
_SECRET_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})
_SECRET_IGNORED = re.compile(r"[\s\-]")


def withdrawal_secret_digest(secret: str) -> str | None:
    """The keyed digest a withdrawal secret is stored as (HMAC-SHA256 under SECRET_KEY, a key
    of its own), or None when ``secret`` cannot be one. Spaces, hyphens and case are ignored;
    I, L and O are read as 1, 1 and 0."""
    if len(secret) > 4 * SECRET_LENGTH:
        return None
    typed = _SECRET_IGNORED.sub("", secret).upper().translate(_SECRET_READ_AS)
    if len(typed) != SECRET_LENGTH or any(c not in SECRET_ALPHABET for c in typed):
        return None
    return salted_hmac("faceledger.swap.depicted-withdrawal", typed, algorithm="sha256").hexdigest()


def consent_for_withdrawal_secret(
    secret: str, *, lock: bool = False
) -> DepictedPersonConsent | None:
    """The depicted person's consent record this secret was issued for, while it is not
    withdrawn; None for a wrong, malformed or used secret alike (invariant "no-oracle",
    docs/ARCHITECTURE.md)."""
    digest = withdrawal_secret_digest(secret)
    if digest is None:
        return None
    rows = DepictedPersonConsent.objects.filter(withdrawal_digest=digest, withdrawn_at__isnull=True)
    if lock:
        rows = rows.select_for_update()
    return rows.first()


# --- jobs ---------------------------------------------------------------------------------------


def swap_job_for(*, subject: Any, job_id: Any, lock: bool = False) -> SwapJob:
    """The subject's own job; anyone else's, or none, is the same "not found"."""
    key = _as_uuid(job_id)
    jobs = SwapJob.objects.filter(pk=key, subject_id=subject.pk) if key else SwapJob.objects.none()
    if lock:
        jobs = jobs.select_for_update()
    job = jobs.select_related("template").first()
    if job is None:
        raise NotFound(_("There is no such swap."), code="swap_not_found")
    return job


def swap_jobs_of(subject: Any) -> list[SwapJob]:
    jobs = SwapJob.objects.filter(subject_id=subject.pk)
    return list(jobs.select_related("template__depicted_consent").order_by("-created_at"))


def swap_jobs_of_template(template_id: Any, *, statuses: tuple[str, ...]) -> QuerySet[SwapJob]:
    """Every subject's jobs on a template in ``statuses``, locked (the depicted person's
    withdrawal stops and erases them)."""
    jobs = SwapJob.objects.select_for_update().filter(template_id=template_id, status__in=statuses)
    return jobs.order_by("created_at", "pk")


def retention_for(purpose: str) -> timedelta:
    """How long a result made under ``purpose`` is kept: its retention rule, read from the
    consent ledger (face_swap: 1 day; output_storage: 30 days)."""
    return timedelta(days=purpose_by_code(purpose).retention_days)


def results_expired(*, now: datetime, limit: int) -> list[SwapJob]:
    expired = SwapJob.objects.select_for_update().filter(expires_at__lt=now)
    return list(expired.order_by("expires_at")[:limit])


# --- outputs ------------------------------------------------------------------------------------


def c2pa_credentials() -> C2paCredentials | None:
    """The operator's C2PA signing credentials, or None when none are set (production then
    requires ``C2PA_DISABLED_REASON``). Set while c2pa-python does not load here is an error,
    never an output silently left unsigned."""
    chain, key = settings.SWAP_C2PA_CERT_CHAIN, settings.SWAP_C2PA_PRIVATE_KEY
    if not (chain and key):
        return None
    if not c2pa_available():
        raise C2paSetupError("C2PA credentials are set but c2pa-python does not load here")
    return _credentials(chain, key, settings.SWAP_C2PA_ALGORITHM)


@functools.cache
def _credentials(chain: str, key: str, algorithm: str) -> C2paCredentials:
    return C2paCredentials(chain.encode(), key.encode(), algorithm)


def result_aad(job_id: Any) -> str:
    """What a result's ciphertext is, bound into it."""
    return f"swap_job:{job_id}:result"


# --- the inventory's views ----------------------------------------------------------------------


def _located(jobs: QuerySet[SwapJob]) -> list[str]:
    found = []
    for pk, result in jobs.values_list("pk", "result"):
        found.append(f"swap_job:{pk}")
        if vault.blob_exists(result):
            found.append(f"file:{result}")
    return found


def _exported(jobs: QuerySet[SwapJob]) -> list[dict]:
    return [
        {
            "id": str(job.pk),
            "template": job.template.title,
            "capture": str(job.capture_id) if job.capture_id else None,
            "status": job.status,
            "error": job.error,
            "created_at": job.created_at.isoformat(),
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
            "result": job.media_type if job.result else None,
            "expires_at": job.expires_at.isoformat(),
        }
        for job in jobs.select_related("template").order_by("created_at")
    ]


def _files(jobs: QuerySet[SwapJob]) -> Iterator[inventory.StoreFile]:
    """Each result, decrypted in memory for the subject's own copy (the export zip). A result
    whose key or file is already gone (an erasure under way) is skipped, not an error."""
    done = jobs.filter(status=SwapJob.Status.DONE).exclude(result="").order_by("created_at")
    for job in done:
        try:
            data = vault.unseal(job.subject_id, vault.blob_read(job.result), aad=result_aad(job.pk))
        except (DecryptionError, FileNotFoundError):
            continue
        extension = "png" if job.media_type == "image/png" else "mp4"
        yield inventory.StoreFile(
            ref=str(job.pk), name=f"{job.pk}.{extension}", content_type=job.media_type, data=data
        )


def results_of(subject_id: int, *, stored: bool, ephemeral: bool | None) -> QuerySet[SwapJob]:
    """A store's share of the subject's jobs: ``swap.jobs`` (not kept, made from a capture),
    ``swap.ephemeral_results`` (not kept, made without enrolment), ``swap.stored_results``
    (kept under output_storage, either way: ``ephemeral`` None)."""
    jobs = SwapJob.objects.filter(subject_id=subject_id, stored=stored)
    return jobs if ephemeral is None else jobs.filter(ephemeral=ephemeral)


def jobs_locate(subject_id: int) -> list[str]:
    return _located(results_of(subject_id, stored=False, ephemeral=False))


def jobs_export(subject_id: int) -> list[dict]:
    return _exported(results_of(subject_id, stored=False, ephemeral=False))


def jobs_files(subject_id: int) -> Iterator[inventory.StoreFile]:
    return _files(results_of(subject_id, stored=False, ephemeral=False))


def ephemeral_results_locate(subject_id: int) -> list[str]:
    return _located(results_of(subject_id, stored=False, ephemeral=True))


def ephemeral_results_export(subject_id: int) -> list[dict]:
    return _exported(results_of(subject_id, stored=False, ephemeral=True))


def ephemeral_results_files(subject_id: int) -> Iterator[inventory.StoreFile]:
    return _files(results_of(subject_id, stored=False, ephemeral=True))


def stored_results_locate(subject_id: int) -> list[str]:
    return _located(SwapJob.objects.filter(subject_id=subject_id, stored=True))


def stored_results_export(subject_id: int) -> list[dict]:
    return _exported(SwapJob.objects.filter(subject_id=subject_id, stored=True))


def stored_results_files(subject_id: int) -> Iterator[inventory.StoreFile]:
    return _files(SwapJob.objects.filter(subject_id=subject_id, stored=True))


# --- notices ------------------------------------------------------------------------------------

NOTICE_REASONS = {
    SwapNotice.Reason.DEPICTED_CONSENT_WITHDRAWN: gettext_lazy(
        "Your swap into “%(template)s”, asked for on %(requested)s, was erased on %(erased)s: "
        "the person shown in the template withdrew their consent to face editing."
    ),
}


def notices_of(subject: Any) -> list[SwapNotice]:
    """The subject's notices, newest first."""
    notices = SwapNotice.objects.filter(subject_id=subject.pk).select_related("template")
    return list(notices.order_by("-created_at", "-pk"))


def notice_text(notice: SwapNotice) -> str:
    """The notice in the active language: the template's title and the dates, nothing about
    the depicted person."""
    return str(NOTICE_REASONS[SwapNotice.Reason(notice.reason)]) % {
        "template": notice.template.title,
        "requested": datetime_text(notice.swap_requested_at),
        "erased": date_text(notice.created_at),
    }


def notices_expired(*, now: datetime, limit: int) -> list[SwapNotice]:
    expired = SwapNotice.objects.select_for_update().filter(expires_at__lt=now)
    return list(expired.order_by("expires_at")[:limit])


def notices_locate(subject_id: int) -> list[str]:
    pks = SwapNotice.objects.filter(subject_id=subject_id).values_list("pk", flat=True)
    return [f"swap_notice:{pk}" for pk in pks.order_by("pk")]


def notices_export(subject_id: int) -> list[dict]:
    notices = SwapNotice.objects.filter(subject_id=subject_id).select_related("template")
    return [
        {
            "id": notice.pk,
            "template": notice.template.title,
            "reason": notice.reason,
            "swap_requested_at": notice.swap_requested_at.isoformat(),
            "created_at": notice.created_at.isoformat(),
            "expires_at": notice.expires_at.isoformat(),
        }
        for notice in notices.order_by("created_at", "pk")
    ]


# --- share links --------------------------------------------------------------------------------

# The token's form: ``secrets.token_urlsafe(32)``, 256 bits in 43 URL-safe characters.
SHARE_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


def share_token_digest(token: str) -> str | None:
    """The keyed digest a share token is stored as (HMAC-SHA256 under SECRET_KEY, a key of its
    own), or None when ``token`` cannot be one."""
    if not SHARE_TOKEN.fullmatch(token or ""):
        return None
    return salted_hmac("faceledger.swap.share-link", token, algorithm="sha256").hexdigest()


def share_link_live(link: ShareLink, now: datetime, *, counted: bool = False) -> bool:
    """A link shows its result while it has not expired or reached its view limit and the
    result is there and within its own retention. ``counted``: for the file of a view already
    counted (the limit was applied to that view)."""
    job = link.job
    return (
        link.expires_at > now
        and (counted or link.max_views is None or link.views < link.max_views)
        and job.status == SwapJob.Status.DONE
        and bool(job.result)
        and job.expires_at > now
    )


def sharing_allowed(template: SwapTemplate) -> bool:
    """Whether the depicted person's consent in force (the template's newest record) lets
    results made with the template be shared by link beyond the user who made them. A record
    without the answer (made before it was asked) or a withdrawn one does not."""
    consent = template.depicted_consent
    return consent is not None and consent.withdrawn_at is None and consent.sharing_allowed is True


def share_link_for_token(
    token: str, *, lock: bool = False, counted: bool = False
) -> ShareLink | None:
    """The live link this token opens; None for an unknown, malformed, expired, used-up or
    revoked token alike (the viewer learns nothing from the difference), and for a link whose
    owner's account is disabled: an erasure request disables it at once, its worker may run
    later, and the link must not show the result meanwhile. Also None when the depicted
    person's consent in force no longer allows sharing (a newer record narrowed it)."""
    digest = share_token_digest(token)
    if digest is None:
        return None
    links = ShareLink.objects.filter(token_digest=digest).select_related(
        "job__template__depicted_consent"
    )
    # mutant: delete — tests/swap/test_share_link_erasure_window.py
    #   test_a_link_stops_showing_the_result_as_soon_as_its_owner_asks_for_erasure
    links = links.filter(subject__is_active=True)
    if lock:  # the link's row only: the template's consent is an outer join, read, not locked
        links = links.select_for_update(of=("self",))
    link = links.first()
    if link is None or not share_link_live(link, timezone.now(), counted=counted):
        return None
    # mutant: delete — tests/swap/test_share_scope.py
    #   test_a_link_stops_when_a_newer_consent_of_the_depicted_person_does_not_allow_sharing
    if not sharing_allowed(link.job.template):
        return None
    return link


def share_links_of(subject: Any, *, job_id: Any = None) -> list[ShareLink]:
    """The subject's live links, newest first (one result's, with ``job_id``)."""
    now = timezone.now()
    links = ShareLink.objects.filter(subject_id=subject.pk).select_related("job")
    if job_id is not None:
        links = links.filter(job_id=job_id)
    return [link for link in links.order_by("-created_at") if share_link_live(link, now)]


def share_link_for(*, subject: Any, link_id: Any, lock: bool = False) -> ShareLink:
    """The subject's own link; anyone else's, or none, is the same "not found"."""
    key = _as_uuid(link_id)
    links = (
        ShareLink.objects.filter(pk=key, subject_id=subject.pk) if key else ShareLink.objects.none()
    )
    if lock:
        links = links.select_for_update()
    link = links.first()
    if link is None:
        raise NotFound(_("There is no such share link."), code="share_link_not_found")
    return link


def share_links_expired(*, now: datetime, limit: int) -> list[ShareLink]:
    """Links past their expiry or their view limit: they can never show anything again."""
    from django.db.models import F

    dead = Q(expires_at__lt=now) | Q(max_views__isnull=False, views__gte=F("max_views"))
    return list(ShareLink.objects.select_for_update().filter(dead).order_by("expires_at")[:limit])


def access_links_locate(subject_id: int) -> list[str]:
    pks = ShareLink.objects.filter(subject_id=subject_id).values_list("pk", flat=True)
    return [f"share_link:{pk}" for pk in pks.order_by("pk")]


def access_links_export(subject_id: int) -> list[dict]:
    links = ShareLink.objects.filter(subject_id=subject_id)
    return [
        {
            "id": str(link.pk),
            "swap": str(link.job_id),
            "created_at": link.created_at.isoformat(),
            "expires_at": link.expires_at.isoformat(),
            "max_views": link.max_views,
            "views": link.views,
        }
        for link in links.order_by("created_at", "pk")
    ]
