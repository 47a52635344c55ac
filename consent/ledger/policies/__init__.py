"""The published policy texts shipped with the code, and the purposes they belong to.

``v<N>/<purpose>.<language>.txt`` holds the exact text of version N (UTF-8, read as bytes so
no newline is translated): its SHA-256 is what a grant quotes. A published text never
changes: ``tests/consent/ledger/test_ledger_policies.py`` pins the SHA-256 of every shipped file.
Later versions are published by the DPO in the admin (``consent.ledger.services.policy_publish``).

Purposes and how they depend on each other (decided here, shown to people as notes):
- ``face_swap`` works only with ``biometric_enrolment`` (a swap needs the face template). The
  ledger still lets it be granted alone: every purpose is its own explicit act, never bundled.
- ``output_storage`` does NOT require ``face_swap``: it is about results already made as much
  as future ones. Granted alone it simply keeps nothing new; withdrawing ``face_swap`` cancels
  queued swaps but leaves results already kept under ``output_storage`` until that is
  withdrawn or their 30 days end.

What each withdrawal erases is written in the texts of version 2 and in docs/ARCHITECTURE.md
("Purposes and what withdrawal does"); shipped versions after the first are published by a
data migration through ``publish_shipped``, the DPO's through ``policy_publish``, both by
``version_publish``. ``text_sentences`` splits a text into the sentences the promise table
(``tests/consent/ledger/test_policy_promises.py``) maps to their tests.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from compliance_site.pdf import has_cjk

POLICY_DIR = Path(__file__).resolve().parent
LANGUAGES = ("en", "zh-hans")


@dataclass(frozen=True)
class PurposeSpec:
    code: str
    position: int
    sensitive: bool
    retention_days: int
    retention_rule: str
    works_with: str = ""


PURPOSES = (
    PurposeSpec("biometric_enrolment", 1, True, 365, "after_last_use"),
    PurposeSpec("face_swap", 2, True, 1, "unless_stored", works_with="biometric_enrolment"),
    PurposeSpec("output_storage", 3, False, 30, "after_creation"),
    # A swap without enrolment: the photo and video are checked in memory and destroyed, only
    # the labelled result is kept (24 hours, or 30 days under output_storage). Added after the
    # first three: its version 1 is published by migration 0015 (``publish_new_purposes``).
    PurposeSpec("ephemeral_swap", 4, True, 1, "unless_stored"),
)


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def text_paragraphs(text: str) -> list[str]:
    """The body of a policy text (after its title line) as paragraphs to reflow on a page or
    screen: the files' hard line breaks are for editors. Chinese lines join without a space."""
    body = text.replace("\r\n", "\n").partition("\n")[2]
    paragraphs = []
    for block in body.split("\n\n"):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if lines:
            paragraphs.append(("" if has_cjk(block) else " ").join(lines))
    return paragraphs


_SENTENCE_END = re.compile(r"(?<=[。！？])\s*|(?<=[.!?])\s+")


def text_sentences(text: str) -> list[str]:
    """A policy text as sentences, deterministically, in either language: the title line, then
    each paragraph (``text_paragraphs``) cut after every full stop, question or exclamation
    mark followed by a space (English) or after every 。！？ (Chinese). The promise table
    (``tests/consent/ledger/test_policy_promises.py``) maps each one to the test proving it."""
    title = text.replace("\r\n", "\n").partition("\n")[0].strip()
    sentences = [title]
    for paragraph in text_paragraphs(text):
        sentences += [part.strip() for part in _SENTENCE_END.split(paragraph) if part.strip()]
    return sentences


def policy_texts(version: int) -> dict[str, dict[str, str]]:
    """``{purpose: {language: text}}`` of a shipped version, read exactly as stored: the
    purposes that have that version (a purpose added later has none of the earlier ones)."""
    folder = POLICY_DIR / f"v{version}"
    return {
        spec.code: {
            lang: (folder / f"{spec.code}.{lang}.txt").read_bytes().decode("utf-8")
            for lang in LANGUAGES
        }
        for spec in PURPOSES
        if (folder / f"{spec.code}.{LANGUAGES[0]}.txt").is_file()
    }


def seed_v1(*, purpose_model, version_model, text_model, now: datetime) -> bool:
    """Create the purposes and publish version 1 of their texts, unless already there.

    Takes the model classes so the data migration can pass its historical models and tests
    (whose transactional flushes empty these tables) the real ones. Returns True if it wrote.
    """
    if version_model.objects.exists():
        return False
    texts = policy_texts(1)
    made = {}
    for spec in PURPOSES:
        purpose, _ = purpose_model.objects.update_or_create(
            code=spec.code,
            defaults={
                "position": spec.position,
                "sensitive": spec.sensitive,
                "retention_days": spec.retention_days,
                "retention_rule": spec.retention_rule,
            },
        )
        made[spec.code] = purpose
        policy = version_model.objects.create(purpose=purpose, version=1, published_at=now)
        for lang, text in texts[spec.code].items():
            text_model.objects.create(
                policy=policy, language=lang, text=text, sha256=text_sha256(text)
            )
        purpose.current_version = policy
        purpose.save(update_fields=["current_version"])
    for spec in PURPOSES:
        if spec.works_with:
            made[spec.code].works_with = made[spec.works_with]
            made[spec.code].save(update_fields=["works_with"])
    return True


def version_publish(*, purpose, texts: dict[str, str], version_model, text_model, now: datetime):
    """Publish ``texts`` as the purpose's next version and make it current: from then on the
    gate treats every grant of an older version as outdated. The one way to publish, for the
    DPO's ``consent.ledger.services.policy_publish`` (which checks, locks and audits around
    it) and for the data migrations that publish shipped versions (historical models)."""
    latest = version_model.objects.filter(purpose=purpose).order_by("-version").first()
    policy = version_model.objects.create(
        purpose=purpose, version=(latest.version if latest else 0) + 1, published_at=now
    )
    text_model.objects.bulk_create(
        text_model(policy=policy, language=language, text=text, sha256=text_sha256(text))
        for language, text in texts.items()
    )
    purpose.current_version = policy
    purpose.save(update_fields=["current_version"])
    return policy


def publish_shipped(version: int, *, purpose_model, version_model, text_model, now: datetime):
    """Publish the shipped texts of ``version`` (``v<N>/``) for every purpose whose current
    texts differ from them, as its next version. Returns the purposes published, so that
    a data migration can run on a database where the DPO already published them."""
    published = []
    for code, texts in policy_texts(version).items():
        purpose = purpose_model.objects.get(code=code)
        current = dict(
            text_model.objects.filter(policy_id=purpose.current_version_id).values_list(
                "language", "text"
            )
        )
        if current != texts:
            version_publish(
                purpose=purpose,
                texts=texts,
                version_model=version_model,
                text_model=text_model,
                now=now,
            )
            published.append(code)
    return published


def publish_new_purposes(*, purpose_model, version_model, text_model, now: datetime):
    """Create each purpose of ``PURPOSES`` the database does not have yet and publish its
    version 1 (``v1/``) through ``version_publish``, as the DPO's publishing does. For a
    purpose added after the first release (``ephemeral_swap``, migration 0015); a database
    seeded since then already has it. Returns the purposes created."""
    texts = policy_texts(1)
    created = []
    for spec in PURPOSES:
        if purpose_model.objects.filter(code=spec.code).exists():
            continue
        purpose = purpose_model.objects.create(
            code=spec.code,
            position=spec.position,
            sensitive=spec.sensitive,
            retention_days=spec.retention_days,
            retention_rule=spec.retention_rule,
            works_with=(
                purpose_model.objects.get(code=spec.works_with) if spec.works_with else None
            ),
        )
        version_publish(
            purpose=purpose,
            texts=texts[spec.code],
            version_model=version_model,
            text_model=text_model,
            now=now,
        )
        created.append(spec.code)
    return created
