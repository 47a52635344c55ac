"""The printable erasure certificate (reportlab, through the house layout in
``compliance_site.pdf``); the signed JSON stays the proof. Pure rendering."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Spacer

from compliance_site import pdf
from compliance_site.pdf import PAGE_WIDTH, SERVICE_NAME, Story, para, text, when


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
        [[row["store"], str(row["erased"])] for row in certificate["stores"]],
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
