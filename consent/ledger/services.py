"""The consent ledger: grants, withdrawals, minors and their guardians, policy publishing.

Every write is here, with its audit event in the same transaction (invariant "audited",
docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import phonenumbers
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.actions import AuditAction
from audit.leaves import jcs
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
    keyed_digest,
)
from consent.identity.services import (
    CodeUse,
    check_phone,
    otp_check,
    otp_request,
)
from consent.ledger.gate import lock_subject
from consent.ledger.models import (
    AgeStatement,
    ConsentRecord,
    GuardianRelationship,
    ImpactAssessment,
    MinorDeclaration,
    PolicyText,
    PolicyVersion,
    Purpose,
)
from consent.ledger.policies import LANGUAGES, text_sha256, version_publish
from consent.ledger.receipts import ReceiptFacts, receipt_issue, record_27560_issue
from consent.ledger.selectors import (
    ClientEvidence,
    active_language,
    age_stated,
    assessment_content,
    assessment_current,
    granted_record_for,
    is_dpo,
    is_possibly_under_14,
    latest_record_for,
    minor_declared_on,
    policy_preview_fingerprint,
    policy_texts_current,
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
    # PIPL Art. 55: the assessment comes before the processing, which starts with a consent. A
    # text shipped by a migration is published without the DPO's step, so this asks too.
    # mutant: delete — tests/consent/ledger/test_assessments.py
    #   test_no_one_can_consent_to_a_purpose_without_a_current_assessment
    if assessment_current(row) is None:
        raise Conflict(
            _(
                "“%(purpose)s” cannot be agreed to at the moment: its impact assessment is "
                "under review. Nothing was recorded; try again later."
            )
            % {"purpose": purpose},
            code="assessment_required",
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
    ``policy_mismatch``), a consent already current (409), a declared minor (403
    ``guardian_required``), a subject who has not answered the age step (403 ``age_required``)."""
    row, text = check_policy(purpose=purpose, version=version, sha256=sha256)
    with transaction.atomic(durable=True):
        lock_subject(subject.pk)
        # mutant: delete — tests/consent/ledger/test_minors.py
        #   test_a_child_cannot_grant_alone
        check_no_guardian_needed(subject=subject)
        # mutant: delete — tests/consent/ledger/test_age_and_guardian.py
        #   test_no_grant_before_the_year_of_birth
        check_age_stated(subject=subject)
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

    Order matters: the stores registered for the purpose do what its withdrawal does first
    (``inventory.withdraw``: each store's ``Withdrawal`` or erase, in erasure order, then the
    data key if nothing readable needs it), while the consent still stands (a store may check
    the gate before deleting), then the withdrawal is recorded and audited with what was
    erased, store by store. Any failure rolls all of it back. Files are deleted at once, inside
    the transaction (``capture_erase``); should it roll back, a row may be left without its
    file, never a file without its row.
    """
    latest = granted_record_for(subject, purpose)
    erased = inventory.withdraw(purpose.code, subject.pk)
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


@dataclass(frozen=True)
class GuardianFacts:
    """Who granted for a child: their pseudonym and the relationship they stated."""

    pseudonym: str
    relationship: str


def _record_write(
    *,
    subject: User,
    purpose: Purpose,
    text: PolicyText,
    action: str,
    evidence: ClientEvidence,
    actor: User | None,
    guardian: GuardianFacts | None = None,
    reason: str = "",
    erased: dict[str, int] | None = None,
) -> ConsentRecord:
    """Insert one record with its signed receipt, and its audit event. Caller's transaction."""
    now, receipt_id = timezone.now(), uuid.uuid4()
    guardian_id = guardian.pseudonym if guardian is not None else ""
    relationship = guardian.relationship if guardian is not None else ""
    facts = ReceiptFacts(
        receipt_id=receipt_id,
        moment=now,
        action=action,
        method=evidence.method,
        reason=reason,
        principal_id=pseudonym_for(subject),
        guardian_id=guardian_id,
        guardian_relationship=relationship,
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
        guardian_relationship=relationship,
        receipt_id=receipt_id,
        receipt=receipt_issue(facts),
        record_27560=record_27560_issue(facts),
    )
    _record_audit(record, actor=actor, version=text.policy.version, erased=erased)
    return record


def _record_audit(
    record: ConsentRecord, *, actor: User | None, version: int, erased: dict[str, int] | None
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
        data["relationship"] = record.guardian_relationship
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
#
# The age step comes before the first grant of any purpose (``check_age_stated``): a year of
# birth, nothing more. 14 or over keeps only that fact and the day (``AgeStatement``); a child
# keeps the year too (``MinorDeclaration``), so that their status ends once they are certainly
# 14 (invariant "minimum-data", docs/ARCHITECTURE.md). A parent or guardian then grants the
# purposes chosen with ONE code bound to this child and that set of purposes, and gets no
# account: the records name them by ``guardian_pseudonym`` and the relationship they stated.

# Nobody alive was born before this many years ago: an older year is a typing mistake.
_OLDEST_AGE = 120


def check_age_stated(*, subject: User) -> None:
    """No grant before the age step (``age_required``, 403)."""
    if not age_stated(subject):
        raise Forbidden(
            _("First tell us your year of birth: children under 14 need a parent or guardian."),
            code="age_required",
        )


def check_birth_year(value: object) -> int:
    """A year of 4 digits, not in the future and not absurdly old; else ``invalid_year``."""
    this_year = timezone.localdate().year
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or len(text) != 4 or not text.isascii() or not text.isdigit():
        raise ApplicationError(_("Enter your year of birth as 4 digits."), code="invalid_year")
    year = int(text)
    if not this_year - _OLDEST_AGE <= year <= this_year:
        raise ApplicationError(
            _("Enter a year of birth between %(first)d and %(last)d.")
            % {"first": this_year - _OLDEST_AGE, "last": this_year},
            code="invalid_year",
        )
    return year


def age_state(*, subject: User, birth_year: object, evidence: ClientEvidence) -> bool:
    """Record the subject's answer to the age step, once; True if they may be under 14 (then
    only a parent or guardian grants for them, and the year is kept to end that status), False
    if 14 or over (only the fact and the day are kept, never the year)."""
    year = check_birth_year(birth_year)
    with transaction.atomic(durable=True):
        lock_subject(subject.pk)
        if age_stated(subject):
            raise Conflict(_("You have already told us your year of birth."), code="age_stated")
        if is_possibly_under_14(year):
            _minor_declare(subject=subject, evidence=evidence, birth_year=year)
            return True
        statement = AgeStatement.objects.create(subject=subject, stated_on=timezone.localdate())
        audit_record(
            actor=subject,
            subject=subject,
            action=AuditAction.AGE_STATED,
            object_type="age_statement",
            object_id=str(statement.pk),
            data={"method": evidence.method},
        )
        return False


def minor_declaration_create(*, subject: User, evidence: ClientEvidence) -> MinorDeclaration:
    """A correction: the subject says they are under 14 after all (no year kept), replacing a
    statement of 14 or over. From then on only a parent or guardian can grant; consents the
    subject gave alone were never valid, so they are withdrawn now, erasing their data."""
    with transaction.atomic(durable=True):
        lock_subject(subject.pk)
        if MinorDeclaration.objects.filter(subject=subject).exists():
            raise Conflict(_("You have already told us you are under 14."), code="already_declared")
        AgeStatement.objects.filter(subject=subject).delete()
        return _minor_declare(subject=subject, evidence=evidence, birth_year=None)


def _minor_declare(
    *, subject: User, evidence: ClientEvidence, birth_year: int | None
) -> MinorDeclaration:
    """Caller's transaction, subject locked. The audit event holds no year."""
    declaration = MinorDeclaration.objects.create(
        subject=subject, declared_on=timezone.localdate(), birth_year=birth_year
    )
    audit_record(
        actor=subject,
        subject=subject,
        action=AuditAction.MINOR_DECLARED,
        object_type="minor_declaration",
        object_id=str(declaration.pk),
        data={"method": evidence.method, "step": "age" if birth_year else "correction"},
    )
    for purpose in Purpose.objects.exclude(current_version=None):
        latest = latest_record_for(subject, purpose)
        if latest is not None and latest.action == ConsentRecord.Action.GRANT:
            # mutant: delete — tests/consent/ledger/test_minors.py
            #   test_declaring_an_age_under_14_withdraws_consents_given_alone_and_erases_their_data
            if not latest.guardian_pseudonym:
                _consent_withdraw(
                    subject=subject,
                    purpose=purpose,
                    evidence=evidence,
                    reason=ConsentRecord.Reason.MINOR_DECLARED,
                )
    return declaration


def guardian_pseudonym(number: phonenumbers.PhoneNumber) -> str:
    """How the ledger names a parent or guardian: a keyed digest of their number (the same
    number always gives the same name; the name does not give the number back)."""
    return keyed_digest("guardian", e164(number))[:32]


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


def check_guardian_purposes(purposes: Sequence[str]) -> list[Purpose]:
    """One or more known purposes, each once (``invalid_purposes``; ``unknown_purpose``)."""
    if not purposes or len(set(purposes)) != len(purposes):
        raise ApplicationError(
            _("Choose one or more purposes, each once."), code="invalid_purposes"
        )
    return [purpose_by_code(code) for code in purposes]


def check_relationship(relationship: str) -> str:
    if relationship not in GuardianRelationship.values:
        raise ApplicationError(
            _(
                "Say how you are related to the child: parent, legal guardian, or another person "
                "with parental responsibility."
            ),
            code="invalid_relationship",
        )
    return relationship


def guardian_code_request(
    *,
    subject: User,
    phone: str,
    purposes: Sequence[str],
    client_ip: str,
    region: str | None = None,
) -> str:
    """Text ONE code to the parent or guardian of ``subject`` (a child under 14) so that they
    can consent on the child's behalf to ``purposes``, which the text names; the code grants
    exactly that set for that child and nothing else (``CodeUse``). National input is read in
    ``region``. The same sending limits as signing in apply."""
    check_guardian_request(subject=subject, number=check_phone(phone, region))
    rows = check_guardian_purposes(purposes)  # before anything is sent
    use = CodeUse.guardian_grant(
        subject_id=subject.pk,
        purposes=[row.code for row in rows],
        titles=[_purpose_title(row) for row in rows],
    )
    return otp_request(phone=phone, client_ip=client_ip, use=use, region=region)


def _purpose_title(purpose: Purpose) -> str:
    """The title of the purpose's current text in the active language (the request's)."""
    text = PolicyText.objects.filter(
        policy_id=purpose.current_version_id, language=active_language()
    )
    first = text.first()
    return first.title if first is not None else purpose.code


@dataclass(frozen=True)
class PolicyQuote:
    """Which text the client showed for a purpose: its version and SHA-256."""

    purpose: str
    version: int
    sha256: str


def consent_guardian_grant(
    *,
    subject: User,
    phone: str,
    code: str,
    relationship: str,
    quotes: Sequence[PolicyQuote],
    evidence: ClientEvidence,
    client_ip: str,
) -> list[ConsentRecord]:
    """A parent or guardian grants, in one step, every purpose quoted for a child under 14,
    proving control of their own phone with the ONE code texted to it for this child and
    exactly this set of purposes (``guardian_code_request``); any other code, or this code for
    another set, fails as a wrong one. One record per purpose, each with its receipt naming the
    guardian by ``guardian_pseudonym`` and the relationship they stated. No account is made for
    the guardian; one who has an account and declared an age under 14 is refused.

    The policies and the child's state are checked before the code, so a mistake does not use
    the code up. A wrong code is refused after its failure is committed (back-off, audit).
    """
    number = check_phone(phone)
    check_guardian_request(subject=subject, number=number)
    check_relationship(relationship)
    check_guardian_purposes([quote.purpose for quote in quotes])
    texts = [check_policy(purpose=q.purpose, version=q.version, sha256=q.sha256) for q in quotes]
    for row, _text in texts:
        _check_not_granted(latest_record_for(subject, row), row)
    records: list[ConsentRecord] = []
    with transaction.atomic(durable=True):
        use = CodeUse.guardian_grant(subject_id=subject.pk, purposes=[r.code for r, _t in texts])
        attempt = otp_check(number=number, code=code, use=use, client_ip=client_ip, account=False)
        if attempt.verified and attempt.user is not None and minor_declared_on(attempt.user):
            attempt.refusal = Forbidden(
                _("A parent or guardian must be 14 or older."), code="guardian_is_minor"
            )
        elif attempt.verified:
            lock_subject(subject.pk)
            for row, text in texts:
                _check_not_granted(latest_record_for(subject, row), row)
                records.append(
                    _record_write(
                        subject=subject,
                        purpose=row,
                        text=text,
                        action=ConsentRecord.Action.GRANT,
                        evidence=evidence,
                        actor=None,
                        guardian=GuardianFacts(guardian_pseudonym(number), relationship),
                    )
                )
    if attempt.refusal is not None:
        raise attempt.refusal
    return records


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


def check_assessment_current(purpose: Purpose) -> None:
    """PIPL Art. 55 / GDPR Art. 35: an assessment comes before the processing. A version is
    published only while the purpose has a current one (``assessment_current``)."""
    if assessment_current(purpose) is None:
        raise Conflict(
            _(
                "Record a current impact assessment of “%(purpose)s” first: there is none, its "
                "decision is not to proceed, or its review date has passed."
            )
            % {"purpose": purpose.code},
            code="assessment_required",
        )


def check_policy_publishable(purpose: Purpose, texts: dict[str, str]) -> None:
    """What the purpose's state must allow: a current assessment and texts that change."""
    # mutant: delete — tests/consent/ledger/test_assessments.py
    #   test_a_policy_cannot_be_published_without_a_current_assessment
    check_assessment_current(purpose)
    if policy_texts_current(purpose) == texts:
        raise Conflict(_("These texts are the ones already published."), code="policy_unchanged")


def policy_publish(
    *, purpose: str, texts: dict[str, str], actor: User, previewed: str | None = None
) -> PolicyVersion:
    """Publish the next version of a purpose's texts (DPO or superuser only).

    From the commit on, the gate refuses every grant of an older version as outdated until
    the subject consents to the new text. Published texts are never changed afterwards.
    ``previewed`` (the admin's preview, ``policy_preview_fingerprint``) is refused as
    ``preview_stale`` if the texts or the version they replace changed since it was shown.
    """
    if not is_dpo(actor):
        raise Forbidden(_("Only the data protection officer can publish policies."), code="not_dpo")
    check_policy_texts(texts)
    purpose_by_code(purpose)  # unknown_purpose
    with transaction.atomic(durable=True):
        # Locked: two publishes of one purpose cannot both take the next version number.
        row = Purpose.objects.select_for_update().get(code=purpose)
        check_policy_publishable(row, texts)
        if previewed is not None and previewed != policy_preview_fingerprint(row, texts):
            raise Conflict(
                _("The texts or the current version changed since the preview: check again."),
                code="preview_stale",
            )
        return _policy_version_create(purpose=row, texts=texts, actor=actor)


def _policy_version_create(
    *, purpose: Purpose, texts: dict[str, str], actor: User
) -> PolicyVersion:
    policy = version_publish(
        purpose=purpose,
        texts=texts,
        version_model=PolicyVersion,
        text_model=PolicyText,
        now=timezone.now(),
    )
    digests = {language: text_sha256(text) for language, text in texts.items()}
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


# --- impact assessments ------------------------------------------------------------------------


@dataclass(frozen=True)
class AssessmentFacts:
    """What the DPO states in an assessment (``ImpactAssessment``)."""

    scope: str
    necessity: str
    risks: str
    measures: str
    residual_risk: str
    decision: str
    review_on: date
    signer: str


def check_assessment(facts: AssessmentFacts, *, today: date) -> None:
    texts = (facts.scope, facts.necessity, facts.risks, facts.measures, facts.signer)
    if any(not isinstance(t, str) or not t.strip() or "\x00" in t for t in texts):
        raise ApplicationError(
            _("Fill in the scope, necessity, risks, measures and signer."),
            code="invalid_assessment",
        )
    if facts.residual_risk not in ImpactAssessment.Risk.values:
        raise ApplicationError(_("Choose the residual risk."), code="invalid_assessment")
    if facts.decision not in ImpactAssessment.Decision.values:
        raise ApplicationError(_("Choose the decision."), code="invalid_assessment")
    if not isinstance(facts.review_on, date) or facts.review_on <= today:
        raise ApplicationError(
            _("The review date must be in the future."), code="invalid_assessment"
        )


def assessment_publish(*, purpose: str, facts: AssessmentFacts, actor: User) -> ImpactAssessment:
    """Record and publish the next assessment of a purpose (DPO or superuser only), audited.
    Never changed afterwards (the database refuses it); it supersedes the previous version."""
    if not is_dpo(actor):
        raise Forbidden(
            _("Only the data protection officer can publish assessments."), code="not_dpo"
        )
    check_assessment(facts, today=timezone.localdate())
    purpose_by_code(purpose)  # unknown_purpose
    with transaction.atomic(durable=True):
        row = Purpose.objects.select_for_update().get(code=purpose)
        last = row.assessments.order_by("-version").first()
        assessment = ImpactAssessment(
            purpose=row,
            version=(last.version + 1) if last else 1,
            published_at=timezone.now(),
            **{name: getattr(facts, name) for name in AssessmentFacts.__dataclass_fields__},
        )
        assessment.sha256 = hashlib.sha256(jcs(assessment_content(assessment))).hexdigest()
        assessment.save(force_insert=True)
        audit_record(
            actor=actor,
            subject=None,
            action=AuditAction.ASSESSMENT_PUBLISHED,
            object_type="impact_assessment",
            object_id=str(assessment.pk),
            purpose=row.code,
            data={
                "version": assessment.version,
                "sha256": assessment.sha256,
                "decision": assessment.decision,
                "residual_risk": assessment.residual_risk,
                "review_on": assessment.review_on.isoformat(),
            },
        )
    return assessment


def ledger_erase(subject_id: int) -> int:
    """The inventory's erase for the ledger: the subject's records and age answer.
    Idempotent; the audit log keeps its pseudonymised events (invariant "pseudonymous-log",
    docs/ARCHITECTURE.md)."""
    records = ConsentRecord.objects.filter(subject_id=subject_id).delete()[0]
    declarations = MinorDeclaration.objects.filter(subject_id=subject_id).delete()[0]
    statements = AgeStatement.objects.filter(subject_id=subject_id).delete()[0]
    return records + declarations + statements
