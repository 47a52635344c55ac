"""Reads with logic for the consent ledger: states, histories, current policies."""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.db.models import Max
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_supported_language_variant, ngettext
from django.utils.translation import gettext as _

from compliance_site import inventory
from compliance_site.client_address import client_ip_for
from compliance_site.errors import ApplicationError, Conflict, NotFound
from consent.identity.models import User
from consent.ledger.models import (
    AgeStatement,
    ConsentRecord,
    ImpactAssessment,
    MinorDeclaration,
    PolicyText,
    PolicyVersion,
    Purpose,
)
from consent.ledger.policies import LANGUAGES, text_paragraphs, text_sha256

# --- the consent ledger -------------------------------------------------------------------------

# Longer User-Agent headers are cut before hashing: the hash is evidence, not a fingerprint.
_USER_AGENT_MAX = 512
DPO_GROUP = "dpo"


@dataclass(frozen=True)
class ClientEvidence:
    """What a consent record keeps about the act itself: how it was given and from where,
    reduced to what proves it (no full address, no raw user agent)."""

    method: str  # ConsentRecord.Method
    user_agent_sha256: str = ""
    ip_network: str = ""


def ip_network_for(address: str) -> str:
    """The client's network, not the client: IPv4 /24, IPv6 /48 ("" if not an address)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return ""
    if parsed.version == 6 and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    prefix = 24 if parsed.version == 4 else 48
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False))


def client_evidence_for(request: HttpRequest, *, method: str) -> ClientEvidence:
    agent = request.headers.get("User-Agent", "")[:_USER_AGENT_MAX]
    return ClientEvidence(
        method=method,
        user_agent_sha256=hashlib.sha256(agent.encode("utf-8", "replace")).hexdigest()
        if agent
        else "",
        ip_network=ip_network_for(client_ip_for(request)),
    )


def check_language(value: str) -> str:
    """``en`` or ``zh-hans`` for a language code a person or client asked for
    (``zh``, ``zh-CN`` and ``zh-Hans`` mean Simplified Chinese; ``zh-TW`` does not); refuses
    others."""
    code = value.strip().lower()
    code = "zh-hans" if code == "zh" else code  # strict lookup: zh-hant/zh-tw are not ours
    try:
        language = get_supported_language_variant(code, strict=True)
    except LookupError:
        language = ""
    if language not in LANGUAGES:
        raise ApplicationError(
            _("Unsupported language. Use one of: %(languages)s.")
            % {"languages": ", ".join(LANGUAGES)},
            code="invalid_language",
        )
    return language


def active_language() -> str:
    """The language being answered in (the request's, or one ``translation.override`` set), as
    ``check_language`` names it; English where none is active or it is one we have no texts in."""
    try:
        return check_language(translation.get_language() or "en")
    except ApplicationError:
        return "en"


def requested_language(request: HttpRequest) -> str:
    """``?lang=`` if given (and valid), else the request's language (Accept-Language, via
    LocaleMiddleware), else English."""
    explicit = request.GET.get("lang")
    if explicit is not None:
        return check_language(explicit)
    try:
        return check_language(getattr(request, "LANGUAGE_CODE", "") or "en")
    except ApplicationError:
        return "en"


def page_language(request: HttpRequest) -> str:
    """The language a page asked for with ``?lang=``, else the one it is shown in."""
    try:
        return requested_language(request)
    except ApplicationError:
        return check_language(translation.get_language() or "en")


def retention_text(purpose: Purpose) -> str:
    """The purpose's retention rule (stored as data) in words, in the active language."""
    days = purpose.retention_days
    rule = Purpose.RetentionRule
    if purpose.retention_rule == rule.AFTER_LAST_USE:
        return ngettext(
            "Until you withdraw consent, or %(days)d day after you last used it.",
            "Until you withdraw consent, or %(days)d days after you last used it.",
            days,
        ) % {"days": days}
    if purpose.retention_rule == rule.UNLESS_STORED:
        hours = days * 24
        return ngettext(
            "Results are kept %(hours)d hour, unless you grant output storage.",
            "Results are kept %(hours)d hours, unless you grant output storage.",
            hours,
        ) % {"hours": hours}
    return ngettext(
        "Each item is kept %(days)d day, then erased.",
        "Each item is kept %(days)d days, then erased.",
        days,
    ) % {"days": days}


@dataclass(frozen=True)
class PolicyView:
    """A purpose's current policy in one language, as shown and as the API returns it."""

    purpose: Purpose
    version: int
    language: str
    title: str
    text: str
    sha256: str
    retention: str
    works_with_title: str  # "" unless the purpose is useless without another one

    @property
    def paragraphs(self) -> list[str]:
        """The text after its title, reflowed for a screen (``text`` is the exact text)."""
        return text_paragraphs(self.text)


def policies_current(language: str) -> list[PolicyView]:
    """Every purpose's current policy text in ``language`` (purposes in display order)."""
    purposes = Purpose.objects.select_related("current_version").exclude(current_version=None)
    # Each with its current version (the query's filter again, for the type checker).
    current = [(p, p.current_version) for p in purposes if p.current_version is not None]
    texts = {
        text.policy_id: text
        for text in PolicyText.objects.filter(
            language=language, policy_id__in=[v.pk for _p, v in current]
        )
    }
    titles: dict[int | None, str] = {p.pk: texts[v.pk].title for p, v in current}
    with translation.override(language):
        return [
            PolicyView(
                purpose=p,
                version=v.version,
                language=language,
                title=titles[p.pk],
                text=texts[v.pk].text,
                sha256=texts[v.pk].sha256,
                retention=retention_text(p),
                works_with_title=titles.get(p.works_with_id, ""),
            )
            for p, v in current
        ]


def purpose_by_code(code: str) -> Purpose:
    purpose = Purpose.objects.select_related("current_version").filter(code=code).first()
    if purpose is None:
        raise NotFound(
            _("There is no purpose called “%(code)s”.") % {"code": code[:64]},
            code="unknown_purpose",
        )
    return purpose


class ConsentState:
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"
    OUTDATED = "outdated"
    NEVER = "never"


def state_of(record: ConsentRecord | None, purpose: Purpose) -> str:
    """The state a subject's latest record for ``purpose`` puts them in."""
    if record is None:
        return ConsentState.NEVER
    if record.action == ConsentRecord.Action.WITHDRAW:
        return ConsentState.WITHDRAWN
    if record.policy_id != purpose.current_version_id:
        return ConsentState.OUTDATED
    return ConsentState.GRANTED


def latest_record_for(subject: User, purpose: Purpose) -> ConsentRecord | None:
    return (
        ConsentRecord.objects.select_related("policy")
        .filter(subject=subject, purpose=purpose)
        .order_by("-id")
        .first()
    )


def granted_record_for(subject: User, purpose: Purpose) -> ConsentRecord:
    """The grant a withdrawal would withdraw (current or outdated); ``not_granted`` (409)
    when the latest record is no grant."""
    latest = latest_record_for(subject, purpose)
    if latest is None or latest.action != ConsentRecord.Action.GRANT:
        raise Conflict(
            _("You have not given this consent, so there is nothing to withdraw."),
            code="not_granted",
            extra={"purpose": purpose.code},
        )
    return latest


# --- what a withdrawal will erase ---------------------------------------------------------------


@dataclass(frozen=True)
class PreviewLine:
    """One store in a withdrawal preview, in the active language."""

    store: str  # the store's stable name
    count: int
    items: str  # the count in plain words: "2 face captures"
    what: str  # what the store holds
    retention: str  # how long it is kept: why what remains remains


@dataclass(frozen=True)
class WithdrawalPreview:
    purpose: Purpose
    erases: list[PreviewLine]  # every store the withdrawal acts on (0 included)
    remains: list[PreviewLine]  # every store that will still hold something

    @property
    def summary(self) -> str:
        """ "2 face captures, 3 swap results", or "nothing": what will be erased."""
        words = [line.items for line in self.erases if line.count]
        return _(", ").join(words) if words else _("nothing")


def preview_line(store: inventory.Store, count: int) -> PreviewLine:
    items = str(store.items % {"count": count}) if store.items is not None else str(count)
    return PreviewLine(
        store=store.name,
        count=count,
        items=items,
        what=_(store.what),
        retention=_(store.retention),
    )


def withdrawal_preview_for(subject: User, purpose: str) -> WithdrawalPreview:
    """What withdrawing ``purpose`` now would erase, store by store, and what would remain,
    computed by the inventory exactly as the withdrawal will act (``inventory.withdraw``):
    the counts are the ones the withdrawal's audit event then records. Refused like the
    withdrawal: ``unknown_purpose`` (404), ``not_granted`` (409)."""
    row = purpose_by_code(purpose)
    granted_record_for(subject, row)
    preview = inventory.withdrawal_preview(row.code, subject.pk)
    return WithdrawalPreview(
        purpose=row,
        erases=[preview_line(store, n) for store, n in preview.erased],
        remains=[preview_line(store, n) for store, n in preview.remaining],
    )


@dataclass(frozen=True)
class SubjectConsent:
    purpose: Purpose
    state: str
    version: int | None  # the version of the latest record (granted or withdrawn)
    updated_at: datetime | None
    guardian: bool


@cache
def _states_sql() -> str:
    """Every purpose in force, with the subject's latest record for it (or NULLs).

    Written out rather than built by the ORM on each call: this answers every consent-list
    request, and building the query cost several times what the database needs to answer it
    (``load.consent_list_ratio``, bench/load_bench.py). The latest record per purpose is read
    from the index (subject, purpose, id) backwards, one row each."""
    record, purpose = ConsentRecord._meta.db_table, Purpose._meta.db_table
    version = PolicyVersion._meta.db_table
    columns = ", ".join(f"p.{field.column}" for field in Purpose._meta.concrete_fields)
    return (
        f"SELECT {columns}, r.action AS last_action, r.policy_id AS last_policy_id, "  # noqa: S608
        "v.version AS last_version, r.created_at AS last_created_at, "
        "r.guardian_pseudonym AS last_guardian "
        f"FROM {purpose} p "
        f"LEFT JOIN {record} r ON r.id = (SELECT MAX(id) FROM {record} "
        "WHERE subject_id = %s AND purpose_id = p.id) "
        f"LEFT JOIN {version} v ON v.id = r.policy_id "
        "WHERE p.current_version_id IS NOT NULL ORDER BY p.position, p.code"
    )


def _moment(value: Any) -> datetime | None:
    # A raw column is not converted by the ORM: SQLite gives text, PostgreSQL a datetime.
    if value is None or isinstance(value, datetime):
        return value
    moment = parse_datetime(value)
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    return moment


def _state(purpose: Any) -> str:
    if purpose.last_action is None:
        return ConsentState.NEVER
    if purpose.last_action == ConsentRecord.Action.WITHDRAW:
        return ConsentState.WITHDRAWN
    if purpose.last_policy_id != purpose.current_version_id:
        return ConsentState.OUTDATED
    return ConsentState.GRANTED


def consent_states_for(subject: User) -> list[SubjectConsent]:
    """Every purpose with the subject's state, derived from their latest record for it (as
    ``state_of`` does, in one statement)."""
    # Each row is a Purpose with the latest record's columns as extra attributes.
    rows: list[Any] = list(Purpose.objects.raw(_states_sql(), [subject.pk]))
    return [
        SubjectConsent(
            purpose=row,
            state=_state(row),
            version=row.last_version,
            updated_at=_moment(row.last_created_at),
            guardian=bool(row.last_guardian),
        )
        for row in rows
    ]


def consent_history_for(subject: User) -> list[ConsentRecord]:
    return list(
        ConsentRecord.objects.filter(subject=subject)
        .select_related("purpose", "policy")
        .order_by("-id")
    )


def consent_record_for_receipt(subject: User, receipt_id: UUID) -> ConsentRecord:
    """The subject's own record with this receipt; anyone else's is "not found"."""
    record = (
        ConsentRecord.objects.select_related("purpose", "policy")
        .filter(subject=subject, receipt_id=receipt_id)
        .first()
    )
    if record is None:
        raise NotFound(_("There is no such receipt."), code="receipt_not_found")
    return record


def consent_record_27560_for(subject: User, receipt_id: UUID) -> ConsentRecord:
    """The subject's own record with its ISO/IEC TS 27560 form; anyone else's, or a record
    written before that form existed, is "not found"."""
    record = consent_record_for_receipt(subject, receipt_id)
    if not record.record_27560:
        raise NotFound(_("There is no such receipt."), code="receipt_not_found")
    return record


def policy_text_for(record: ConsentRecord) -> PolicyText:
    return PolicyText.objects.get(policy_id=record.policy_id, language=record.language)


# A child's status lasts while they may be under 14. From the year alone, someone born in Y
# may still be 13 on the last day of Y + 14; from 1 January of Y + 15 they are certainly 14.
MINOR_AGE = 14


def is_possibly_under_14(birth_year: int, *, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    return today.year - birth_year <= MINOR_AGE


def minor_declared_on(subject: User) -> date | None:
    """The day the subject said they may be under 14, while that may still be true."""
    row = (
        MinorDeclaration.objects.filter(subject=subject)
        .values_list("declared_on", "birth_year")
        .first()
    )
    if row is None:
        return None
    declared_on, birth_year = row
    if birth_year is not None and not is_possibly_under_14(birth_year):
        return None
    return declared_on


def age_stated(subject: User) -> bool:
    """Whether the subject has answered the age step (or declared an age under 14)."""
    return (
        AgeStatement.objects.filter(subject=subject).exists()
        or MinorDeclaration.objects.filter(subject=subject).exists()
    )


# --- impact assessments -------------------------------------------------------------------------


def assessment_content(assessment: ImpactAssessment) -> dict:
    """What an assessment states, as JSON: its ``sha256`` is over the RFC 8785 form of this,
    and the auditor bundle carries it (``assessments_record``)."""
    return {
        "purpose": assessment.purpose.code,
        "version": assessment.version,
        "scope": assessment.scope,
        "necessity": assessment.necessity,
        "risks": assessment.risks,
        "measures": assessment.measures,
        "residual_risk": assessment.residual_risk,
        "decision": assessment.decision,
        "review_on": assessment.review_on.isoformat(),
        "signer": assessment.signer,
        "published_at": assessment.published_at.isoformat(),
    }


def assessment_current(purpose: Purpose, *, today: date | None = None) -> ImpactAssessment | None:
    """The purpose's latest assessment if it allows the processing and is not past its review
    date; None otherwise (no assessment, a decision not to proceed, or a review overdue)."""
    latest = purpose.assessments.order_by("-version").first()
    today = today or timezone.localdate()
    if latest is None or latest.decision == ImpactAssessment.Decision.STOP:
        return None
    return latest if latest.review_on >= today else None


def assessments_record(*, today: date | None = None) -> list[dict]:
    """Every assessment ever published, oldest first per purpose, with when a later version
    superseded it and whether it is the current one: for the auditor bundle."""
    rows: list[dict] = []
    today = today or timezone.localdate()
    for purpose in Purpose.objects.order_by("position", "code"):
        versions = list(purpose.assessments.order_by("version"))
        current = assessment_current(purpose, today=today)
        # Each with the version after it (None for the latest); a purpose without any: no row.
        for assessment, later in zip(versions, [*versions[1:], None][: len(versions)], strict=True):
            rows.append(
                {
                    **assessment_content(assessment),
                    "sha256": assessment.sha256,
                    "superseded_at": later.published_at.isoformat() if later else None,
                    "current": current is not None and current.pk == assessment.pk,
                }
            )
    return rows


# --- a policy version before it is published ----------------------------------------------------

# A Latin word (letters and digits, not Han characters), a run of white space, or one other
# character: a Han character is a word of its own, so Chinese texts diff by character.
_DIFF_TOKEN = re.compile(r"[^\W\u2e80-\u9fff\uf900-\ufaff]+|\s+|.", re.DOTALL)


@dataclass(frozen=True)
class DiffPart:
    kind: str  # "same", "added" or "removed"
    text: str


def text_diff(old: str, new: str) -> list[DiffPart]:
    """``old`` → ``new`` as runs of kept, added and removed text: lines first (difflib), then
    words within each changed block, so that one changed word is not a changed paragraph."""
    parts: list[DiffPart] = []
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    lines = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for op, i1, i2, j1, j2 in lines.get_opcodes():
        before, after = "".join(old_lines[i1:i2]), "".join(new_lines[j1:j2])
        if op == "equal":
            parts.append(DiffPart("same", before))
        elif op == "replace":
            parts += _words_diff(before, after)
        else:
            parts += [DiffPart("removed", before), DiffPart("added", after)]
    return _joined(parts)


def _words_diff(old: str, new: str) -> list[DiffPart]:
    old_words, new_words = _DIFF_TOKEN.findall(old), _DIFF_TOKEN.findall(new)
    words = difflib.SequenceMatcher(None, old_words, new_words, autojunk=False)
    parts = []
    for op, i1, i2, j1, j2 in words.get_opcodes():
        if op == "equal":
            parts.append(DiffPart("same", "".join(old_words[i1:i2])))
            continue
        parts.append(DiffPart("removed", "".join(old_words[i1:i2])))
        parts.append(DiffPart("added", "".join(new_words[j1:j2])))
    return parts


def _joined(parts: list[DiffPart]) -> list[DiffPart]:
    """Empty runs dropped, neighbours of one kind joined."""
    joined: list[DiffPart] = []
    for part in parts:
        if not part.text:
            continue
        if joined and joined[-1].kind == part.kind:
            joined[-1] = DiffPart(part.kind, joined[-1].text + part.text)
        else:
            joined.append(part)
    return joined


@dataclass(frozen=True)
class LanguageDiff:
    language: str
    parts: list[DiffPart]

    @property
    def changed(self) -> bool:
        return any(part.kind != "same" for part in self.parts)


@dataclass(frozen=True)
class PublishPreview:
    """What publishing ``texts`` as the purpose's next version changes, for the DPO to check."""

    purpose: Purpose
    current: PolicyVersion | None
    version: int  # the number the new version will take
    diffs: list[LanguageDiff]
    holders: int  # people whose consent in force is to the current version: asked again
    assessment: ImpactAssessment | None
    fingerprint: str  # ``policy_preview_fingerprint``: what the DPO saw


def policy_texts_current(purpose: Purpose) -> dict[str, str]:
    if purpose.current_version_id is None:
        return {}
    rows = PolicyText.objects.filter(policy_id=purpose.current_version_id)
    return dict(rows.values_list("language", "text"))


def consent_holders_count(purpose: Purpose) -> int:
    """How many people's latest record for ``purpose`` is a grant of its current version."""
    latest = (
        ConsentRecord.objects.filter(purpose=purpose)
        .values("subject_id")
        .annotate(last=Max("id"))
        .values("last")
    )
    return ConsentRecord.objects.filter(
        id__in=latest, action=ConsentRecord.Action.GRANT, policy_id=purpose.current_version_id
    ).count()


def policy_preview_fingerprint(purpose: Purpose, texts: dict[str, str]) -> str:
    """The purpose, the version it replaces, the current impact assessment and the new texts:
    a preview stays good while none of them changes (``policy_publish(previewed=...)``
    compares it under the lock)."""
    digests = {language: text_sha256(text) for language, text in sorted(texts.items())}
    assessment = assessment_current(purpose)
    assessed = assessment.pk if assessment is not None else 0
    seen = f"{purpose.code}|{purpose.current_version_id or 0}|{assessed}|{digests}"
    return hashlib.sha256(seen.encode()).hexdigest()


def policy_publish_preview(purpose: Purpose, texts: dict[str, str]) -> PublishPreview:
    current = purpose.current_version
    old = policy_texts_current(purpose)
    return PublishPreview(
        purpose=purpose,
        current=current,
        version=(current.version + 1) if current else 1,
        diffs=[
            LanguageDiff(language, text_diff(old.get(language, ""), texts[language]))
            for language in LANGUAGES
        ],
        holders=consent_holders_count(purpose),
        assessment=assessment_current(purpose),
        fingerprint=policy_preview_fingerprint(purpose, texts),
    )


def is_dpo(user) -> bool:
    """Staff who may publish policies: superusers and members of the ``dpo`` group."""
    if user is None or not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    return user.is_superuser or user.groups.filter(name=DPO_GROUP).exists()


# The ledger's entries in the personal-data inventory (registered in ConsentConfig.ready()).


def ledger_locate(subject_id: int) -> list[str]:
    records = ConsentRecord.objects.filter(subject_id=subject_id).values_list("pk", flat=True)
    found = [f"consent_record:{pk}" for pk in records]
    if MinorDeclaration.objects.filter(subject_id=subject_id).exists():
        found.append(f"minor_declaration:{subject_id}")
    if AgeStatement.objects.filter(subject_id=subject_id).exists():
        found.append(f"age_statement:{subject_id}")
    return found


def ledger_export(subject_id: int) -> dict:
    records = ConsentRecord.objects.filter(subject_id=subject_id).select_related(
        "purpose", "policy"
    )
    declared = (
        MinorDeclaration.objects.filter(subject_id=subject_id)
        .values_list("declared_on", "birth_year")
        .first()
    )
    stated = (
        AgeStatement.objects.filter(subject_id=subject_id)
        .values_list("stated_on", flat=True)
        .first()
    )
    return {
        "consent_records": [
            {
                "purpose": r.purpose.code,
                "action": r.action,
                "policy_version": r.policy.version,
                "time": r.created_at.isoformat(),
                "method": r.method,
                "language": r.language,
                "text_sha256": r.text_sha256,
                "user_agent_sha256": r.user_agent_sha256,
                "ip_network": r.ip_network,
                "given_by_guardian": bool(r.guardian_pseudonym),
                "guardian_relationship": r.guardian_relationship,
                "receipt_id": str(r.receipt_id),
                # Both signed documents byte for byte as issued: they verify as they are.
                "receipt": r.receipt,
                "record_27560": r.record_27560,
            }
            for r in records.order_by("id")
        ],
        "under_14_declared_on": declared[0].isoformat() if declared else None,
        "year_of_birth": declared[1] if declared else None,
        "age_14_or_over_stated_on": stated.isoformat() if stated else None,
    }


def consent_centre_url(purpose: str, *, back: str = "") -> str:
    """The consent centre at ``purpose``'s card; with ``back`` (a path of this site), a grant
    there returns to it (the page that needed the consent)."""
    query = f"?{urlencode({'next': back}, safe='/')}" if back else ""
    return f"{reverse('consent:centre')}{query}#purpose-{purpose}"


def safe_back_path(value: str) -> str:
    """``value`` if it is a path of this site ("/swaps/"), else "" (never another host)."""
    if value.startswith("/") and not value.startswith(("//", "/\\")):
        if url_has_allowed_host_and_scheme(value, allowed_hosts=None):
            return value
    return ""
