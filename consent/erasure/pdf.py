"""The printable erasure certificate (reportlab, through the house layout in
``compliance_site.pdf``); the signed JSON stays the proof. Pure rendering."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Spacer

from compliance_site import inventory, pdf
from compliance_site.pdf import PAGE_WIDTH, SERVICE_NAME, Story, para, text, when


def _store_words(name: str) -> str:
    """A store as a person reads it: what it holds, in the active language (its code is in the
    signed JSON)."""
    if name == "accounts":  # the wind-down counts the accounts themselves too
        return _("Accounts")
    known = {store.name: store.what for store in inventory.stores()}
    known |= {store.name: store.what for store in inventory.service_stores()}
    return _(known[name]) if name in known else name


def certificate_pdf(certificate: dict) -> bytes:
    """A printable erasure certificate in the active language; the signed JSON is the proof."""
    story = Story()
    base = settings.PUBLIC_BASE_URL
    story.text(_("Certificate of erasure"), "title")
    story.text(f"{SERVICE_NAME} · {certificate['type']} v{certificate['version']}", "label")
    story.items.append(Spacer(1, 6))
    story.text(
        _(
            "This certifies that the account named in erasure request %(id)s was erased: every "
            "store of personal data was erased and then checked to hold nothing. Copies of "
            "encrypted data in database backups stay unreadable after the date given below, "
            "when the last key that could open them is destroyed. The audit log entry below "
            "records it; anyone can check that the entry is in the log."
        )
        % {"id": certificate["erasure_request"]}
    )
    event, checkpoint = certificate["audit_event"], certificate["checkpoint"]
    story.facts(
        [
            (_("Controller"), certificate["controller"]),
            (_("Requested"), when(certificate["requested_at"])),
            (_("Completed"), when(certificate["completed_at"])),
            (_("Verified empty"), text(certificate["verified_empty"])),
            # Version 1 certificates (issued before the key schedule) do not state it.
            (
                _("No backup can decrypt it after"),
                when(certificate.get("backups_unreadable_after")),
            ),
            (_("Audit log entry"), f"{event['action']} · #{event['leaf_index']}"),
            (_("Leaf hash"), event["leaf_hash"]),
            (_("Checkpoint"), f"{checkpoint['tree_size']} · {when(checkpoint['timestamp'])}"),
            (_("Root hash"), checkpoint["root_hash"]),
            (_("Inclusion proof"), base + certificate["inclusion_proof"]),
            (_("Public key"), base + certificate["public_key"]),
        ]
    )
    story.subheading(_("What was erased"))
    story.table(
        [_("Store"), _("Items erased")],
        [
            [story.cell(_store_words(row["store"])), str(row["erased"])]
            for row in certificate["stores"]
        ],
        [PAGE_WIDTH - 35 * mm, 35 * mm],
    )
    story.items.append(
        KeepTogether(
            [
                para(
                    _("Signature (Ed25519, over the certificate's RFC 8785 JSON without it)"),
                    story.style["subheading"],
                ),
                para(certificate["signature"], story.style["mono"]),
            ]
        )
    )
    return pdf.build(
        story.items,
        title=_("Certificate of erasure"),
        author=SERVICE_NAME,
        footer=f"{SERVICE_NAME} · {_('Certificate of erasure')} {certificate['erasure_request']}",
        page_label=_("Page %(page)d of %(pages)d"),
    )


def wind_down_report_pdf(report: dict) -> bytes:
    """The printable wind-down report in the active language; the signed JSON is the proof.
    Its first page sums it up: what happened, the counts per store before and after."""
    story = Story()
    checkpoint, proof = report["final_checkpoint"], report["proof"]["event"]
    story.text(_("Wind-down report"), "title")
    story.text(f"{SERVICE_NAME} · {report['type']} v{report['version']}", "label")
    story.items.append(Spacer(1, 6))
    story.text(
        _(
            "%(controller)s closed the service. Every account (%(accounts)d) was erased through "
            "the same path as a single erasure, each with its own signed certificate; then the "
            "templates and the documents of the people they depict. Every store was then "
            "checked to hold nothing, the audit log was sealed and exported, and this report "
            "was signed with the service's erasure key."
        )
        % {"controller": report["controller"], "accounts": report["accounts_erased"]}
    )
    story.facts(
        [
            (_("Controller"), report["controller"]),
            (_("Closing mode from"), when(report["closing_started_at"])),
            (_("Grace period ended"), when(report["grace_ends_at"])),
            (_("Completed"), when(report["completed_at"])),
            (_("Accounts erased"), str(report["accounts_erased"])),
            (_("Certificates issued"), str(len(report["certificates"]))),
            (_("Every store empty"), text(report["proof"]["every_store_empty"])),
            (_("Proof in the audit log"), f"{proof['action']} · #{proof['leaf_index']}"),
            (_("Final checkpoint"), f"{checkpoint['tree_size']} · {when(checkpoint['timestamp'])}"),
            (_("Root hash"), checkpoint["root_hash"]),
            *[
                (_("Key %(id)s") % {"id": key["key_id"]}, key["fingerprint"])
                for key in report["keys"]
            ],
            (
                _("Auditor bundle"),
                f"{report['audit_bundle']['file']} · SHA-256 {report['audit_bundle']['sha256']}",
            ),
        ]
    )
    story.subheading(_("What each store held"))
    story.table(
        [_("Store"), _("Before"), _("After")],
        [
            [story.cell(_store_words(row["store"])), str(row["before"]), str(row["after"])]
            for row in report["stores"]
        ],
        [PAGE_WIDTH - 50 * mm, 25 * mm, 25 * mm],
    )
    story.subheading(_("Certificates (audit log entry of each erasure)"))
    story.table(
        [_("Erasure request"), _("Audit log entry")],
        [[row["erasure_request"], f"#{row['leaf_index']}"] for row in report["certificates"]],
        [PAGE_WIDTH - 35 * mm, 35 * mm],
    )
    story.items.append(
        KeepTogether(
            [
                para(
                    _("Signature (Ed25519, over the report's RFC 8785 JSON without it)"),
                    story.style["subheading"],
                ),
                para(report["signature"], story.style["mono"]),
            ]
        )
    )
    return pdf.build(
        story.items,
        title=_("Wind-down report"),
        author=SERVICE_NAME,
        footer=f"{SERVICE_NAME} · {_('Wind-down report')}",
        page_label=_("Page %(page)d of %(pages)d"),
    )
