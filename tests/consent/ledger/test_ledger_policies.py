"""Purposes and policy versions: pinned v1 texts, the purposes API, immutability, publishing."""

from __future__ import annotations

import hashlib

import pytest
from django.contrib.auth.models import Group
from django.db import DatabaseError, IntegrityError, transaction
from rest_framework.test import APIClient

from compliance_site.errors import ApplicationError, Conflict, Forbidden
from consent.ledger.models import ConsentRecord, PolicyText, PolicyVersion, Purpose
from consent.ledger.policies import LANGUAGES, POLICY_DIR, PURPOSES
from consent.ledger.services import policy_publish
from tests.consent.conftest import quote
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

PURPOSES_URL = "/api/v1/purposes"

# The SHA-256 of every published v1 text. A published text never changes: editing one of
# these files must fail here. Publish a new version through the admin instead.
PINNED_V1 = {
    ("biometric_enrolment", "en"): (
        "d8f23de06bb88fa4d9ced4005083fa5a6931184a0d253f33287c70c48ae75b1e"
    ),
    ("biometric_enrolment", "zh-hans"): (
        "0dca9eaa03ff45cfb4552fdc56028a87bde972f332c9f3e3c675fecaafc52a0c"
    ),
    ("face_swap", "en"): "c19c24444f096d1741c1e89bff442b5b64b3253f6a5a23afd456f012cf9f69a1",
    ("face_swap", "zh-hans"): "17c00cd8f8d60814c5567913481ce071bd1ab69d818d0b4ea441fda892f3a5ee",
    ("output_storage", "en"): "b9927a208455e4c50b3848c53d46c2feaec4b903689502b3063f6394f40a6e37",
    ("output_storage", "zh-hans"): (
        "a6d247f903a3b612b2fe210e305e1263064d10df54c79ce5a33e88652b7d7c09"
    ),
    # Added later (migration 0015): its first text already says what withdrawal erases.
    ("ephemeral_swap", "en"): "409d8181edd049de182f70fcb9fe3352379d8c01386f190759294e56d724f6e3",
    ("ephemeral_swap", "zh-hans"): (
        "09c3f719fd80ccb4c090b8f564a7111ee86731013e7580afde22e3e0e89e2566"
    ),
}

# Version 2, published by the data migration 0013 (what each withdrawal erases).
PINNED_V2 = {
    ("biometric_enrolment", "en"): (
        "9cdc40247457af46caa4ae4284fc24ea7ab3a0857b06522b7324e48c9ce0df12"
    ),
    ("biometric_enrolment", "zh-hans"): (
        "a8ca038dcf8fd876969365ebd31cce3ae9e34054dc5c73099633c036e5659900"
    ),
    ("face_swap", "en"): "d7841c1da68131bc5521478f90716f8acf6319057e754fe35898e32d91f1408f",
    ("face_swap", "zh-hans"): "f343251119cde43e9e1de6bd4dce6576d1286039162a73fb74baa1123b25441b",
    ("output_storage", "en"): "f3ee4ff11d5cb8ef23d5a684d416e4fea7b542c9c4b3f712e40da72b9f5bff6c",
    ("output_storage", "zh-hans"): (
        "be35da11d2bf7d201d6c6c2aa196f2f02719583005c8f9069c4e1e485632148d"
    ),
}
SHIPPED = {1: PINNED_V1, 2: PINNED_V2}
CURRENT = 2
# The current version of each purpose: the latest shipped version that has its text.
CURRENT_OF = {"ephemeral_swap": 1}
# Every version the migrations publish: v1 and v2 of three purposes, v1 of ephemeral_swap.
PUBLISHED = 7
PINNED_CURRENT = {
    key: SHIPPED[CURRENT_OF.get(key[0], CURRENT)][key] for key in {**PINNED_V1, **PINNED_V2}
}

# What a DPO publishes next in these tests (version 3).
V3 = {
    "en": "Face swap (v3) — consent to use my face template\n\nNew text.\n",
    "zh-hans": "换脸（第三版）——同意使用我的人脸模板\n\n新文本。\n",
}


@pytest.fixture
def dpo(db):
    user = StaffFactory()
    user.groups.add(Group.objects.get_or_create(name="dpo")[0])
    return user


@pytest.mark.parametrize("version", sorted(SHIPPED))
def test_the_shipped_texts_are_exactly_the_published_ones(version):
    for (purpose, language), digest in SHIPPED[version].items():
        raw = (POLICY_DIR / f"v{version}" / f"{purpose}.{language}.txt").read_bytes()
        assert hashlib.sha256(raw).hexdigest() == digest, f"v{version} {purpose}.{language} edited"
    having = {spec.code for spec in PURPOSES if CURRENT_OF.get(spec.code, CURRENT) >= version}
    assert having == {p for p, _lang in SHIPPED[version]}
    assert sorted(path.name for path in POLICY_DIR.glob("v*")) == [f"v{v}" for v in SHIPPED]


def test_the_migrations_published_v1_then_v2_of_every_purpose_with_its_retention(policies):
    for version, pinned in SHIPPED.items():
        for (purpose, language), digest in pinned.items():
            text = PolicyText.objects.get(
                policy__purpose__code=purpose, policy__version=version, language=language
            )
            assert text.sha256 == digest
            assert hashlib.sha256(text.text.encode("utf-8")).hexdigest() == digest
    for purpose in policies:
        assert purpose.current_version.version == CURRENT_OF.get(purpose.code, CURRENT)
    rules = {p.code: (p.retention_days, p.retention_rule, p.sensitive) for p in policies}
    assert rules == {
        "biometric_enrolment": (365, "after_last_use", True),
        "face_swap": (1, "unless_stored", True),
        "output_storage": (30, "after_creation", False),
        "ephemeral_swap": (1, "unless_stored", True),
    }
    assert Purpose.objects.get(code="face_swap").works_with.code == "biometric_enrolment"
    assert Purpose.objects.get(code="output_storage").works_with is None


def test_the_purposes_api_returns_each_text_with_the_sha256_of_exactly_that_text(policies):
    rows = APIClient().get(PURPOSES_URL).json()

    assert [row["code"] for row in rows] == [
        "biometric_enrolment",
        "face_swap",
        "output_storage",
        "ephemeral_swap",
    ]
    for row in rows:
        assert row["version"] == CURRENT_OF.get(row["code"], CURRENT)
        assert row["language"] == "en"
        assert row["sha256"] == hashlib.sha256(row["text"].encode("utf-8")).hexdigest()
        assert row["sha256"] == PINNED_CURRENT[(row["code"], "en")]
        assert row["title"] == row["text"].split("\n")[0]
    by_code = {row["code"]: row for row in rows}
    assert by_code["biometric_enrolment"]["retention"] == (
        "Until you withdraw consent, or 365 days after you last used it."
    )
    assert by_code["face_swap"]["retention"] == (
        "Results are kept 24 hours, unless you grant output storage."
    )
    assert by_code["output_storage"]["retention"] == "Each item is kept 30 days, then erased."
    assert by_code["face_swap"]["works_with"] == "biometric_enrolment"
    assert by_code["ephemeral_swap"]["retention"] == by_code["face_swap"]["retention"]


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("?lang=zh-hans", {}),
        ("?lang=zh-Hans", {}),
        ("", {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9,en;q=0.5"}),
        ("", {"HTTP_ACCEPT_LANGUAGE": "zh-Hans"}),
    ],
)
def test_the_purposes_api_speaks_simplified_chinese_when_asked(policies, query, headers):
    rows = APIClient().get(PURPOSES_URL + query, **headers).json()

    assert {row["language"] for row in rows} == {"zh-hans"}
    assert rows[0]["title"] == "生物识别登记——同意采集并保存我的人脸数据"
    for row in rows:
        assert row["sha256"] == PINNED_CURRENT[(row["code"], "zh-hans")]


def test_an_explicit_lang_wins_over_accept_language(policies):
    rows = APIClient().get(PURPOSES_URL + "?lang=en", HTTP_ACCEPT_LANGUAGE="zh-CN").json()

    assert rows[0]["language"] == "en"


@pytest.mark.parametrize("lang", ["fr", "", "zh-hant", "x" * 500])
def test_an_unsupported_lang_is_a_400(policies, lang):
    response = APIClient().get(PURPOSES_URL, {"lang": lang})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_language"


def test_an_unsupported_accept_language_falls_back_to_english(policies):
    rows = APIClient().get(PURPOSES_URL, HTTP_ACCEPT_LANGUAGE="fr-FR").json()

    assert rows[0]["language"] == "en"


@pytest.mark.parametrize(
    ("model", "change"),
    [(PolicyText, {"text": "A quietly edited text"}), (PolicyVersion, {"version": 9})],
)
def test_the_database_refuses_to_change_a_published_policy(policies, model, change):
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        model.objects.update(**change)
    assert not model.objects.filter(**change).exists()


def test_the_database_refuses_to_change_a_consent_record(alice, grant_consent):
    grant_consent(alice, "face_swap")

    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        ConsentRecord.objects.update(action="withdraw")
    assert ConsentRecord.objects.get().action == "grant"


def test_a_dpo_publishes_the_next_version_and_it_is_audited(policies, dpo, ledger_events):
    policy = policy_publish(purpose="face_swap", texts=V3, actor=dpo)

    assert policy.version == 3
    purpose = Purpose.objects.get(code="face_swap")
    assert purpose.current_version == policy
    digests = {lang: hashlib.sha256(V3[lang].encode()).hexdigest() for lang in LANGUAGES}
    assert dict(policy.texts.values_list("language", "sha256")) == digests
    assert ledger_events() == [
        ("POLICY_PUBLISHED", "face_swap", {"version": 3, "sha256": digests}),
    ]
    assert PolicyText.objects.filter(policy__purpose=purpose, policy__version=1).count() == 2
    rows = {row["code"]: row for row in APIClient().get(PURPOSES_URL).json()}
    assert rows["face_swap"]["version"] == 3
    assert rows["face_swap"]["text"] == V3["en"]


def test_a_new_version_makes_existing_grants_outdated_in_the_consent_list(
    alice, grant_consent, dpo
):
    from tests.consent.conftest import token_client

    grant_consent(alice, "face_swap", "biometric_enrolment")
    policy_publish(purpose="face_swap", texts=V3, actor=dpo)

    states = {r["purpose"]: r["state"] for r in token_client(alice).get("/api/v1/consents").json()}

    assert states == {
        "biometric_enrolment": "granted",
        "face_swap": "outdated",
        "output_storage": "never",
        "ephemeral_swap": "never",
    }
    assert quote("face_swap")["version"] == 3


def test_only_the_dpo_or_a_superuser_may_publish(policies, ledger_events):
    for actor in (StaffFactory(), StaffFactory(is_active=False, is_superuser=True), None):
        with pytest.raises(Forbidden):
            policy_publish(purpose="face_swap", texts=V3, actor=actor)
    superuser = StaffFactory(is_superuser=True)

    assert policy_publish(purpose="face_swap", texts=V3, actor=superuser).version == 3
    assert [name for name, _p, _d in ledger_events()] == ["POLICY_PUBLISHED"]


@pytest.mark.parametrize(
    "texts",
    [
        {"en": V3["en"]},
        {**V3, "fr": "Texte"},
        {**V3, "en": ""},
        {**V3, "en": "\n\nno title line"},
        {**V3, "zh-hans": 5},
        {**V3, "en": "Title\n" + "x" * 100_001},
        {**V3, "en": "Title\x00"},
    ],
)
def test_a_publish_with_bad_texts_is_refused_and_writes_nothing(policies, dpo, texts):
    with pytest.raises(ApplicationError) as refused:
        policy_publish(purpose="face_swap", texts=texts, actor=dpo)

    assert refused.value.code == "invalid_policy"
    assert PolicyVersion.objects.count() == PUBLISHED


def test_publishing_the_current_texts_again_is_refused(policies, dpo):
    current = dict(
        PolicyText.objects.filter(
            policy__purpose__code="output_storage", policy__version=CURRENT
        ).values_list("language", "text")
    )

    with pytest.raises(Conflict) as refused:
        policy_publish(purpose="output_storage", texts=current, actor=dpo)
    assert refused.value.code == "policy_unchanged"


def test_publishing_for_an_unknown_purpose_is_refused(policies, dpo):
    with pytest.raises(ApplicationError) as refused:
        policy_publish(purpose="marketing", texts=V3, actor=dpo)

    assert refused.value.code == "unknown_purpose"


def test_a_grant_of_v1_made_before_the_v2_migration_is_outdated_and_publishing_runs_once(
    alice, policies
):
    from django.utils import timezone

    from consent.ledger.gate import consent_state
    from consent.ledger.policies import publish_shipped
    from consent.ledger.selectors import ClientEvidence
    from consent.ledger.services import _record_write

    purpose = Purpose.objects.get(code="face_swap")
    v1 = PolicyText.objects.get(policy__purpose=purpose, policy__version=1, language="en")
    with transaction.atomic():  # a grant recorded while v1 was current, as the ledger wrote it
        _record_write(
            subject=alice,
            purpose=purpose,
            text=v1,
            action=ConsentRecord.Action.GRANT,
            evidence=ClientEvidence(method=ConsentRecord.Method.API),
            actor=alice,
        )

    assert consent_state(subject=alice, purpose="face_swap") == "consent_outdated"
    models = {"version_model": PolicyVersion, "text_model": PolicyText, "now": timezone.now()}
    assert publish_shipped(2, purpose_model=Purpose, **models) == []  # already published
    assert PolicyVersion.objects.count() == PUBLISHED


def test_a_purpose_added_later_is_created_and_its_v1_published_once(
    policies, monkeypatch, tmp_path
):
    """What migration 0015 did for ephemeral_swap on databases seeded before it existed: the
    missing purpose is created and its version 1 published through ``version_publish``."""
    import shutil

    from django.utils import timezone

    from consent.ledger import policies as shipped

    folder = tmp_path / "v1"
    shutil.copytree(POLICY_DIR / "v1", folder)
    for language in LANGUAGES:
        (folder / f"later_purpose.{language}.txt").write_text(f"Later ({language})\n\nText.\n")
    later = shipped.PurposeSpec("later_purpose", 9, False, 30, "after_creation")
    monkeypatch.setattr(shipped, "POLICY_DIR", tmp_path)
    monkeypatch.setattr(shipped, "PURPOSES", (*shipped.PURPOSES, later))
    models = {"version_model": PolicyVersion, "text_model": PolicyText, "now": timezone.now()}

    assert shipped.publish_new_purposes(purpose_model=Purpose, **models) == ["later_purpose"]
    assert shipped.publish_new_purposes(purpose_model=Purpose, **models) == []

    purpose = Purpose.objects.get(code="later_purpose")
    assert purpose.current_version.version == 1
    assert (purpose.retention_days, purpose.retention_rule) == (30, "after_creation")
    texts = dict(purpose.current_version.texts.values_list("language", "text"))
    assert texts == {"en": "Later (en)\n\nText.\n", "zh-hans": "Later (zh-hans)\n\nText.\n"}
    assert PolicyVersion.objects.count() == PUBLISHED + 1
