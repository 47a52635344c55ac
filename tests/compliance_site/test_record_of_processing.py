"""The record of processing (GDPR Art. 30(1); PIPL Art. 17 for what the notice must say) is
complete: every store declares its categories of data subjects, recipients, transfers and
security measures, the record refuses a store that leaves one out, the controller,
representative and DPO come from settings, and recipients located abroad bring their transfer
and its safeguard."""

from __future__ import annotations

import pytest

from compliance_site import inventory
from tests.compliance_site.test_inventory import _store

ART30_KEYS = {
    "store",  # (c) categories of personal data, per store
    "data",
    "subjects",  # (c) categories of data subjects
    "purpose",  # (b)
    "legal_basis",
    "recipients",  # (d)
    "transfers",  # (e)
    "retention",  # (f)
    "security",  # (g)
}


@pytest.mark.parametrize(
    "store", [*inventory.stores(), *inventory.service_stores()], ids=lambda store: store.name
)
def test_every_store_declares_what_article_30_requires(store):
    assert inventory.record_gaps(store) == []
    assert store.subjects and store.security and store.recipients is not None
    assert store.transfers is not None
    assert set(store.recipients) <= set(inventory.RECIPIENTS)


def test_the_record_of_processing_has_every_article_30_field_for_every_store():
    record = inventory.record_of_processing()

    assert [row["store"] for row in record] == [
        store.name for store in [*inventory.stores(), *inventory.service_stores()]
    ]
    # The people a template depicts are data subjects too (Art. 30(1)(c)).
    [depicted] = [row for row in record if row["store"] == "swap.templates"]
    assert depicted["subjects"] == [inventory.Subjects.DEPICTED]
    for row in record:
        assert set(row) == ART30_KEYS
        assert row["subjects"] and row["security"] and row["recipients"], row["store"]


@pytest.mark.parametrize(
    "missing",
    [
        {"recipients": None},
        {"transfers": None},
        {"subjects": ()},
        {"security": ()},
        {"recipients": ("a_gateway_nobody_declared",)},
    ],
    ids=["recipients", "transfers", "subjects", "security", "unknown recipient"],
)
def test_the_record_refuses_a_store_that_lacks_a_field_article_30_requires(monkeypatch, missing):
    monkeypatch.setattr(inventory, "_stores", {})
    inventory.register(_store("consent.complete"))
    inventory.register(_store("consent.incomplete", **missing))

    with pytest.raises(inventory.RecordIncomplete, match="consent.incomplete"):
        inventory.record_of_processing()


def test_the_sms_gateway_receives_the_number_and_the_codes_and_is_named_as_recipient():
    gateway = inventory.RECIPIENTS[inventory.SMS_GATEWAY].role
    record = {row["store"]: row for row in inventory.record_of_processing()}

    for store in ("consent.subject", "consent.sms_devices", "consent.session_numbers"):
        assert gateway in record[store]["recipients"], store
    assert gateway not in record["biometrics.captures"]["recipients"]


def test_a_recipient_abroad_is_a_transfer_with_its_safeguard(settings):
    settings.CONTROLLER_JURISDICTION = "CN"
    settings.RECIPIENT_SMS_GATEWAY = "Example SMS Ltd"
    settings.RECIPIENT_SMS_GATEWAY_COUNTRY = "SG"
    settings.RECIPIENT_SMS_GATEWAY_SAFEGUARD = "CAC standard contract (PIPL Art. 38(1)(3))"
    settings.RECIPIENT_HOSTING_COUNTRY = ""
    record = {row["store"]: row for row in inventory.record_of_processing()}

    assert record["consent.subject"]["transfers"] == [
        "Example SMS Ltd (SG): CAC standard contract (PIPL Art. 38(1)(3))"
    ]
    assert record["biometrics.captures"]["transfers"] == []


def test_the_controller_representative_and_dpo_come_from_settings(settings):
    settings.CONTROLLER_NAME = "Faceledger Ltd"
    settings.CONTROLLER_REPRESENTATIVE = "Rep GmbH, Berlin"
    settings.DPO_NAME = "Jane Doe"
    settings.DPO_EMAIL = "dpo@faceledger.example"

    block = inventory.controller_record()

    assert block["controller"] == "Faceledger Ltd" and block["representative"] == "Rep GmbH, Berlin"
    assert block["dpo"] == "Jane Doe" and block["dpo_email"] == "dpo@faceledger.example"


@pytest.mark.django_db
def test_the_privacy_notice_names_recipients_transfers_dpo_and_log_retention_in_both_languages(
    client, settings
):
    from tests.browser.text_check import english_words, html_texts

    settings.RECIPIENT_SMS_GATEWAY = "Example SMS Ltd"
    settings.RECIPIENT_SMS_GATEWAY_COUNTRY = "SG"
    settings.RECIPIENT_SMS_GATEWAY_SAFEGUARD = "Standard contract"
    settings.RECIPIENT_HOSTING_COUNTRY = ""
    settings.DPO_NAME = "Jane Doe"
    settings.CONTROLLER_REPRESENTATIVE = "Rep GmbH, Berlin"

    english = " ".join(client.get("/privacy/").content.decode().split())
    chinese = client.get("/privacy/?lang=zh-hans").content.decode()

    assert "SMS gateway (processor): delivers sign-in codes to mobile numbers" in english
    assert "Hosting provider (processor)" in english and "Example SMS Ltd" in english
    assert "out of the controller's country, with this safeguard:" in english
    assert "Standard contract" in english and "No transfer out of the controller" in english
    assert "Jane Doe" in english and "Rep GmbH, Berlin" in english
    assert "kept 183 days" in english and "within one month" in english
    assert "短信网关（受托处理者）" in chinese and "托管服务商（受托处理者）" in chinese
    assert "数据保护官" in chinese and "183 天" in chinese
    assert english_words(html_texts(chinese)) == []
