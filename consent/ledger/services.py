"""The consent ledger: grants, withdrawals, minors and their guardians, policy publishing.

Every write is here, with its audit event in the same transaction (invariant "audited",
docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import uuid

import phonenumbers
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit.actions import AuditAction
from audit.services import audit_record, pseudonym_for
from compliance_site import inventory
from compliance_site.errors import (
    ApplicationError,
    Conflict,
    Forbidden,
)
from consent.identity.models import User
from consent.identity.selectors import (
    e164,
)
from consent.identity.services import (
    CodeUse,
    check_phone,
    otp_check,
    otp_request,
)
from consent.ledger.gate import lock_subject
from consent.ledger.models import (
    ConsentRecord,
    MinorDeclaration,
    PolicyText,
    PolicyVersion,
    Purpose,
)
from consent.ledger.policies import LANGUAGES, text_sha256
from consent.ledger.receipts import ReceiptFacts, receipt_issue
from consent.ledger.selectors import (
    ClientEvidence,
    check_language,
    is_dpo,
    latest_record_for,
    minor_declared_on,
    purpose_by_code,
)

# --- the consent ledger -------------------------------------------------------------------------
#
# Every grant and withdrawal locks the subject's row first, so one subject's records (and
# their audit events) are written one at a time, in order: the latest record is the state.
# ``consent.ledger.gate.require_consent(lock=True)`` takes the same lock.

_MAX_POLICY_TEXT = 100_000


def check_policy(*, purpose: str, version: int, sha256: str) -> tuple[Purpose, PolicyText]:
    """The purpose's current text whose version and SHA-256 the client quoted, proving which
    text was shown; ``policy_mismatch`` (409) for anything else, including older versions."""
    row = purpose_by_code(purpose)
    text = (
        PolicyText.objects.select_related("policy")
        .filter(policy_id=row.current_version_id, policy__version=version, sha256=sha256)
        .first()
    )
    if text is None:
        current = row.current_version.version if row.current_version else None
        raise Conflict(
            _(
                "This is not the current text of “%(purpose)s”. Reload it, read it and "
                "consent again."
            )
            % {"purpose": purpose},
            code="policy_mismatch",
            extra={"purpose": purpose, "version": current},
        )
    return row, text


def check_no_guardian_needed(*, subject: User) -> None:
    """PIPL Art. 31: a subject who declared an age under 14 cannot consent alone."""
    if minor_declared_on(subject) is not None:
        raise Forbidden(
            _("You told us you are under 14: a parent or guardian must give this consent."),
            code="guardian_required",
        )


def _check_not_granted(record: ConsentRecord | None, purpose: Purpose) -> None:
    if record is None or record.action != ConsentRecord.Action.GRANT:
        return
    if record.policy_id == purpose.current_version_id:
        raise Conflict(
            _("You have already given this consent."),
            code="already_granted",
            extra={"purpose": purpose.code},
        )


def consent_grant(
    *, subject: User, purpose: str, version: int, sha256: str, evidence: ClientEvidence
) -> ConsentRecord:
    """Record the subject's explicit consent to one purpose's current text and issue a
    signed receipt. Refused (nothing written): a text that is not current (409
    ``policy_mismatch``), a consent already current (409), a declared minor (403)."""
    row, text = check_policy(purpose=purpose, version=version, sha256=sha256)
    with transaction.atomic(durable=True):
        lock_subject(subject.pk)
        check_no_guardian_needed(subject=subject)
        _check_not_granted(latest_record_for(subject, row), row)
        return _record_write(
            subject=subject,
            purpose=row,
            text=text,
            action=ConsentRecord.Action.GRANT,
            evidence=evidence,
            actor=subject,
        )


def consent_withdraw(*, subject: User, purpose: str, evidence: ClientEvidence) -> ConsentRecord:
    """Withdraw consent to one purpose: one action, effective at once. Later gate checks
    refuse, and the data collected under it is erased in the same transaction."""
    row = purpose_by_code(purpose)
    with transaction.atomic(durable=True):
        lock_subject(subject.pk)
        return _consent_withdraw(subject=subject, purpose=row, evidence=evidence)


def _consent_withdraw(
    *, subject: User, purpose: Purpose, evidence: ClientEvidence, reason: str = ""
) -> ConsentRecord:
    """Runs in the caller's transaction, with the subject's row locked.

    Order matters: the stores registered for the purpose erase first, while the consent
    still stands (a store may check the gate before deleting), then the withdrawal is
    recorded and audited with what was erased. Any failure rolls all of it back.
    """
    latest = latest_record_for(subject, purpose)
    if latest is None or latest.action != ConsentRecord.Action.GRANT:
        raise Conflict(
            _("You have not given this consent, so there is nothing to withdraw."),
            code="not_granted",
            extra={"purpose": purpose.code},
        )
    # mutant: skip erase — tests/biometrics/test_capture_api.py
    #   test_withdrawing_biometric_consent_erases_captures_and_challenges
    #   tests/swap/test_jobs_lifecycle.py
    #   test_each_withdrawal_erases_the_results_kept_under_its_own_purpose
    erased = {
        store.name: store.erase(subject.pk) for store in inventory.stores_for_purpose(purpose.code)
    }
    text = PolicyText.objects.get(policy_id=latest.policy_id, language=latest.language)
    return _record_write(
        subject=subject,
        purpose=purpose,
        text=text,
        action=ConsentRecord.Action.WITHDRAW,
        evidence=evidence,
        actor=subject,
        reason=reason,
        erased=erased,
    )


def _record_write(
    *,
    subject: User,
    purpose: Purpose,
    text: PolicyText,
    action: str,
    evidence: ClientEvidence,
    actor: User,
    guardian: User | None = None,
    reason: str = "",
    erased: dict[str, int] | None = None,
) -> ConsentRecord:
    """Insert one record with its signed receipt, and its audit event. Caller's transaction."""
    now, receipt_id = timezone.now(), uuid.uuid4()
    guardian_id = pseudonym_for(guardian) if guardian is not None else ""
    facts = ReceiptFacts(
        receipt_id=receipt_id,
        moment=now,
        action=action,
        method=evidence.method,
        reason=reason,
        principal_id=pseudonym_for(subject),
        guardian_id=guardian_id,
        purpose=purpose,
        text=text,
        version=text.policy.version,
    )
    record = ConsentRecord.objects.create(
        subject=subject,
        purpose=purpose,
        policy_id=text.policy_id,
        action=action,
        created_at=now,
        method=evidence.method,
        reason=reason,
        language=text.language,
        text_sha256=text.sha256,
        user_agent_sha256=evidence.user_agent_sha256,
        ip_network=evidence.ip_network,
        guardian_pseudonym=guardian_id,
        receipt_id=receipt_id,
        receipt=receipt_issue(facts),
    )
    _record_audit(record, actor=actor, version=text.policy.version, erased=erased)
    return record


def _record_audit(
    record: ConsentRecord, *, actor: User, version: int, erased: dict[str, int] | None
) -> None:
    # Evidence hashes and the network stay in the record: the log refuses addresses.
    data: dict = {
        "version": version,
        "language": record.language,
        "sha256": record.text_sha256,
        "method": record.method,
        "receipt": str(record.receipt_id),
    }
    if record.guardian_pseudonym:
        data["guardian"] = record.guardian_pseudonym
    if record.reason:
        data["reason"] = record.reason
    if erased is not None:
        data["erased"] = erased
    grant = record.action == ConsentRecord.Action.GRANT
    audit_record(
        actor=actor,
        subject=record.subject,
        action=AuditAction.CONSENT_GRANTED if grant else AuditAction.CONSENT_WITHDRAWN,
        object_type="consent_record",
        object_id=str(record.pk),
        purpose=record.purpose.code,
        data=data,
    )


# --- minors and their guardians (PIPL Art. 31) ------------------------------------------------


def minor_declaration_create(*, subject: User, evidence: ClientEvidence) -> MinorDeclaration:
    """Record that the subject declared an age under 14 (the fact and the day, nothing more).

    From then on only a parent or guardian can grant. Consents the subject gave alone were
    never valid, so they are withdrawn now, erasing what was collected under them.
    """
    with transaction.atomic(durable=True):
        lock_subject(subject.pk)
        if minor_declared_on(subject) is not None:
            raise Conflict(_("You have already told us you are under 14."), code="already_declared")
        declaration = MinorDeclaration.objects.create(
            subject=subject, declared_on=timezone.now().date()
        )
        audit_record(
            actor=subject,
            subject=subject,
            action=AuditAction.MINOR_DECLARED,
            object_type="minor_declaration",
            object_id=str(declaration.pk),
            data={"method": evidence.method},
        )
        for purpose in Purpose.objects.exclude(current_version=None):
            latest = latest_record_for(subject, purpose)
            if latest is not None and latest.action == ConsentRecord.Action.GRANT:
                if not latest.guardian_pseudonym:
                    _consent_withdraw(
                        subject=subject,
                        purpose=purpose,
                        evidence=evidence,
                        reason=ConsentRecord.Reason.MINOR_DECLARED,
                    )
    return declaration


def check_guardian_request(*, subject: User, number: phonenumbers.PhoneNumber) -> None:
    if minor_declared_on(subject) is None:
        raise Conflict(
            _("Only accounts of children under 14 need a parent or guardian to consent."),
            code="guardian_not_needed",
        )
    if e164(number) == str(subject.phone_number):
        raise Conflict(
            _("A parent or guardian must use their own phone number, not the child's."),
            code="guardian_is_subject",
        )


def guardian_code_request(*, subject: User, phone: str, purpose: str, client_ip: str) -> str:
    """Text a code to the parent or guardian of ``subject`` (a declared minor) so that they
    can consent on the child's behalf to ``purpose``, which the text names; the code grants
    that purpose for that child and nothing else (``CodeUse``). The same sending limits as
    signing in apply."""
    check_guardian_request(subject=subject, number=check_phone(phone))
    purpose_by_code(purpose)  # unknown_purpose, before anything is sent
    use = _guardian_use(subject=subject, purpose=purpose, title=_purpose_title(purpose))
    return otp_request(phone=phone, client_ip=client_ip, use=use)


def _guardian_use(*, subject: User, purpose: str, title: str = "") -> CodeUse:
    """What a guardian's code is for: this child and this purpose, nothing else."""
    return CodeUse(
        CodeUse.GUARDIAN_GRANT, subject_id=subject.pk, purpose=purpose, purpose_title=title
    )


def _purpose_title(purpose: str) -> str:
    """The title of the purpose's current text in the active language (the request's)."""
    try:
        language = check_language(translation.get_language() or "en")
    except ApplicationError:
        language = "en"
    current = purpose_by_code(purpose).current_version_id
    text = PolicyText.objects.filter(policy_id=current, language=language).first()
    return text.title if text is not None else purpose


def consent_guardian_grant(
    *,
    subject: User,
    phone: str,
    code: str,
    purpose: str,
    version: int,
    sha256: str,
    evidence: ClientEvidence,
    client_ip: str,
) -> ConsentRecord:
    """A parent or guardian grants one purpose for a child under 14, proving control of their
    own phone with the code texted to it. The guardian's account is created or used as at
    sign-in; the record, its receipt and the audit event name them by pseudonym. The code
    must have been sent for this child and this purpose (``guardian_code_request``); any
    other code fails as a wrong one. Wrong codes count per client network, as at sign-in.

    The policy and the child's state are checked before the code, so a mistake does not use
    the code up. A wrong code is refused after its failure is committed (back-off, audit).
    """
    number = check_phone(phone)
    check_guardian_request(subject=subject, number=number)
    row, text = check_policy(purpose=purpose, version=version, sha256=sha256)
    _check_not_granted(latest_record_for(subject, row), row)
    record = None
    with transaction.atomic(durable=True):
        use = _guardian_use(subject=subject, purpose=row.code)
        attempt = otp_check(number=number, code=code, use=use, client_ip=client_ip)
        guardian = attempt.user
        if guardian is not None and minor_declared_on(guardian) is not None:
            attempt.refusal = Forbidden(
                _("A parent or guardian must be 14 or older."), code="guardian_is_minor"
            )
        elif guardian is not None:
            lock_subject(subject.pk)
            _check_not_granted(latest_record_for(subject, row), row)
            record = _record_write(
                subject=subject,
                purpose=row,
                text=text,
                action=ConsentRecord.Action.GRANT,
                evidence=evidence,
                actor=guardian,
                guardian=guardian,
            )
    if attempt.refusal is not None:
        raise attempt.refusal
    assert record is not None  # a verified guardian and no refusal means a record
    return record


# --- publishing policies --------------------------------------------------------------------


def check_policy_texts(texts: dict[str, str]) -> None:
    """One non-empty text per language, each opening with a title line."""
    if not isinstance(texts, dict) or set(texts) != set(LANGUAGES):
        raise ApplicationError(
            _("Give the text in every language: %(languages)s.")
            % {"languages": ", ".join(LANGUAGES)},
            code="invalid_policy",
        )
    for language, text in texts.items():
        if not isinstance(text, str) or not text.strip() or not text.split("\n", 1)[0].strip():
            raise ApplicationError(
                _("The %(language)s text is empty or has no title line.") % {"language": language},
                code="invalid_policy",
            )
        if len(text) > _MAX_POLICY_TEXT or "\x00" in text:
            raise ApplicationError(
                _("The %(language)s text is too long or contains a NUL character.")
                % {"language": language},
                code="invalid_policy",
            )


def policy_publish(*, purpose: str, texts: dict[str, str], actor: User) -> PolicyVersion:
    """Publish the next version of a purpose's texts (DPO or superuser only).

    From the commit on, the gate refuses every grant of an older version as outdated until
    the subject consents to the new text. Published texts are never changed afterwards.
    """
    if not is_dpo(actor):
        raise Forbidden(_("Only the data protection officer can publish policies."), code="not_dpo")
    check_policy_texts(texts)
    purpose_by_code(purpose)  # unknown_purpose
    with transaction.atomic(durable=True):
        # Locked: two publishes of one purpose cannot both take the next version number.
        row = Purpose.objects.select_for_update().get(code=purpose)
        current = {}
        if row.current_version_id:
            current = dict(
                PolicyText.objects.filter(policy_id=row.current_version_id).values_list(
                    "language", "text"
                )
            )
        if current == texts:
            raise Conflict(
                _("These texts are the ones already published."), code="policy_unchanged"
            )
        return _policy_version_create(purpose=row, texts=texts, actor=actor)


def _policy_version_create(
    *, purpose: Purpose, texts: dict[str, str], actor: User
) -> PolicyVersion:
    latest = PolicyVersion.objects.filter(purpose=purpose).order_by("-version").first()
    policy = PolicyVersion.objects.create(
        purpose=purpose, version=(latest.version if latest else 0) + 1, published_at=timezone.now()
    )
    digests = {language: text_sha256(text) for language, text in texts.items()}
    PolicyText.objects.bulk_create(
        PolicyText(policy=policy, language=language, text=text, sha256=digests[language])
        for language, text in texts.items()
    )
    purpose.current_version = policy
    purpose.save(update_fields=["current_version"])
    audit_record(
        actor=actor,
        subject=None,
        action=AuditAction.POLICY_PUBLISHED,
        object_type="policy_version",
        object_id=str(policy.pk),
        purpose=purpose.code,
        data={"version": policy.version, "sha256": digests},
    )
    return policy


def ledger_erase(subject_id: int) -> int:
    """The inventory's erase for the ledger: the subject's records and declaration.
    Idempotent; the audit log keeps its pseudonymised events (invariant "pseudonymous-log",
    docs/ARCHITECTURE.md)."""
    records = ConsentRecord.objects.filter(subject_id=subject_id).delete()[0]
    declarations = MinorDeclaration.objects.filter(subject_id=subject_id).delete()[0]
    return records + declarations
