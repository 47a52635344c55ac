"""The layout of the user-data report (reportlab, through the house layout in
``compliance_site.pdf``). Pure rendering: the caller hands over the document
``consent.reports.services.report_document`` made, and the thumbnails; nothing here reads the
database.

Stores with a section of their own: the account and the pseudonym (you), the ledger (consents),
the reports and erasure requests (requests), and the sections the apps above register
(``consent.reports.sections``: captures, swaps...), placed after the consents. Every other
store, including ones added later, is rendered from its export as it comes (tables for lists of
objects, label/value pairs for objects).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image as PILImage
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Image, KeepTogether, Spacer

from compliance_site import pdf
from compliance_site.pdf import PAGE_WIDTH, SERVICE_NAME, Story, label, para, text, when
from consent.reports import sections

THUMBNAIL_PX = 240
_EVENT_WIDTHS = (14 * mm, 30 * mm, 38 * mm, 20 * mm, PAGE_WIDTH - 102 * mm)
_GENERIC_COLUMNS = 6
_LONG_TABLE = 60  # rows: past this, a generic table is drawn one line per row
_OWN_SECTIONS = (
    "consent.subject",
    "audit.pseudonyms",
    "consent.ledger",
    "consent.reports",
    "consent.erasure_requests",
)

# What people read for the events they are most likely to see; others are spelled out.
_EVENT_LABELS = {
    "SUBJECT_CREATED": gettext_lazy("Account created"),
    "OTP_VERIFIED": gettext_lazy("Sign-in code accepted"),
    "OTP_FAILED": gettext_lazy("Sign-in code refused"),
    "LOGIN": gettext_lazy("Signed in"),
    "LOGOUT": gettext_lazy("Signed out"),
    "STAFF_VIEWED_SUBJECT": gettext_lazy("Staff opened your record"),
    "CONSENT_GRANTED": gettext_lazy("Consent given"),
    "CONSENT_WITHDRAWN": gettext_lazy("Consent withdrawn"),
    "MINOR_DECLARED": gettext_lazy("Age under 14 declared"),
    "AGE_STATED": gettext_lazy("Age of 14 or over stated"),
    "LIVENESS_CHALLENGE_ISSUED": gettext_lazy("Liveness challenge issued"),
    "LIVENESS_CHALLENGE_USED": gettext_lazy("Liveness challenge used"),
    "CAPTURE_CREATED": gettext_lazy("Face captured"),
    "CAPTURE_REFUSED": gettext_lazy("Capture refused"),
    "CAPTURE_DELETED": gettext_lazy("Capture deleted"),
    "CAPTURE_USED": gettext_lazy("Capture used"),
    "SUBJECT_KEY_CREATED": gettext_lazy("Your data key created"),
    "ERASURE_REQUESTED": gettext_lazy("Erasure requested"),
    "ERASURE_STORE_ERASED": gettext_lazy("Data erased"),
    "ERASURE_COMPLETED": gettext_lazy("Erasure completed"),
    "REPORT_GENERATED": gettext_lazy("Data report made"),
    "REPORT_REQUESTED": gettext_lazy("Data report requested"),
    "REPORT_DOWNLOADED": gettext_lazy("Data report downloaded"),
    "REPORT_FAILED": gettext_lazy("Data report failed"),
    "DATA_EXPORTED": gettext_lazy("Data exported"),
    "SWAP_JOB_REQUESTED": gettext_lazy("Swap requested"),
    "SWAP_JOB_STARTED": gettext_lazy("Swap started"),
    "SWAP_JOB_DONE": gettext_lazy("Swap made"),
    "SWAP_JOB_FAILED": gettext_lazy("Swap failed"),
    "SWAP_JOB_CANCELLED": gettext_lazy("Swap cancelled"),
    "SWAP_JOB_RETRIED": gettext_lazy("Swap tried again"),
    "SWAP_RESULT_DOWNLOADED": gettext_lazy("Swap result downloaded"),
    "SWAP_RESULT_DELETED": gettext_lazy("Swap result deleted"),
    "SWAP_RESULT_ERASED": gettext_lazy("Swap result erased"),
    "SWAP_EPHEMERAL_DONE": gettext_lazy("One-off swap made"),
    "SWAP_SHARE_LINK_CREATED": gettext_lazy("Share link created"),
    "SWAP_SHARE_LINK_REVOKED": gettext_lazy("Share link revoked"),
    "SWAP_SHARE_LINK_VIEWED": gettext_lazy("Share link viewed"),
}


# --- building blocks ----------------------------------------------------------------------------


def event_label(name: str) -> str:
    known = _EVENT_LABELS.get(name)
    return str(known) if known is not None else label(name.lower())


def _stores(document: dict) -> dict[str, dict]:
    return document["stores"]


def store_data(document: dict, name: str):
    """What the store ``name`` exports for the subject, or None if it is not in the report."""
    entry = _stores(document).get(name)
    return entry["data"] if entry else None


def thumbnail(jpeg: bytes) -> Image | str:
    """A photo the size of a table cell (the subject's own, decrypted in memory)."""
    try:
        with PILImage.open(io.BytesIO(jpeg)) as image:
            image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=80)
            width, height = image.size
    except OSError:
        return "—"
    out.seek(0)
    side = 22 * mm
    scale = side / max(width, height)
    return Image(out, width=width * scale, height=height * scale)


# --- the sections -------------------------------------------------------------------------------


def _title(story: Story, document: dict) -> None:
    story.text(_("Your personal data"), "title")
    story.text(
        _("Report under GDPR Art. 15 and PIPL Art. 45 · generated %(when)s")
        % {"when": when(document["generated_at"])},
        "label",
    )
    story.items.append(Spacer(1, 6))
    story.text(
        _(
            "This report lists everything we hold about you, store by store, the consents you "
            "gave, and every event about you in our tamper-evident audit log. The same content "
            "is available as machine-readable JSON (with your photos as a ZIP) from your account."
        )
    )


def _who_we_are(story: Story, document: dict) -> None:
    controller = document["controller"]
    story.heading(_("Who we are"))
    rows = [
        (_("Controller"), controller["name"]),
        (_("Address"), controller["address"]),
        (_("Contact"), f"{controller['contact']} <{controller['email']}>"),
    ]
    if controller.get("phone"):
        rows.append((_("Phone"), controller["phone"]))
    rows += [
        (_("Privacy notice"), controller["privacy_notice"]),
        (_("How long we keep data"), controller["retention_schedule"]),
    ]
    story.facts(rows)


def _you(story: Story, document: dict) -> None:
    account = store_data(document, "consent.subject") or {}
    ledger = store_data(document, "consent.ledger") or {}
    story.heading(_("You"))
    rows = [
        (_("Phone number"), document["subject"]["phone_number_masked"]),
        (_("Account created"), when(account.get("date_joined"))),
        (_("Last sign-in"), when(account.get("last_login"))),
        (_("Your pseudonym in the audit log"), text(document["subject"]["pseudonym"])),
    ]
    if ledger.get("under_14_declared_on"):
        rows.append((_("Age under 14 declared on"), ledger["under_14_declared_on"]))
    story.facts(rows)
    story.text(
        _(
            "Your phone number is the only identity we hold: no name, e-mail, documents, "
            "contacts or location. It is shown here in part only."
        ),
        "small",
    )


def _titles(document: dict) -> dict[str, str]:
    return {policy["purpose"]: policy["title"] for policy in document["policies"]}


def _consents(story: Story, document: dict) -> None:
    if "consent.ledger" not in _stores(document):
        return
    records = (store_data(document, "consent.ledger") or {}).get("consent_records", [])
    titles = _titles(document)
    story.heading(_("Your consents"))
    latest: dict[str, dict] = {}
    for record in records:
        latest[record["purpose"]] = record
    rows = []
    for policy in document["policies"]:
        record = latest.get(policy["purpose"])
        state = _("never given")
        if record is not None:
            granted = record["action"] == "grant"
            current = record.get("policy_version") == policy["version"]
            state = _("withdrawn")
            if granted:
                state = _("given") if current else _("given to an older text")
        rows.append(
            [
                story.cell(policy["title"]),
                state,
                text(record.get("policy_version") if record else None),
                when(record["time"]) if record else "—",
            ]
        )
    story.table(
        [_("Purpose"), _("State"), _("Version"), _("Since")],
        rows,
        [70 * mm, 40 * mm, 18 * mm, PAGE_WIDTH - 128 * mm],
    )
    _consent_history(story, records, titles)


def _consent_history(story: Story, records: list[dict], titles: dict[str, str]) -> None:
    story.subheading(_("History"))
    if not records:
        story.nothing()
        return
    rows = []
    for record in reversed(records):
        action = _("given") if record["action"] == "grant" else _("withdrawn")
        if record.get("given_by_guardian"):
            action += " " + _("(by a parent or guardian)")
        evidence = f"SHA-256 {record['text_sha256']}\n{_('Receipt')} {record['receipt_id']}"
        rows.append(
            [
                when(record["time"]),
                story.cell(titles.get(record["purpose"], record["purpose"])),
                story.cell(action),
                text(record.get("policy_version")),
                story.cell(evidence, "mono"),
            ]
        )
    story.table(
        [_("Time"), _("Purpose"), _("Action"), _("Version"), _("Text shown, and receipt")],
        rows,
        [31 * mm, 36 * mm, 22 * mm, 14 * mm, PAGE_WIDTH - 103 * mm],
    )


def _requests(story: Story, document: dict) -> None:
    story.heading(_("Your requests"))
    rows = _request_rows(document)
    if rows:
        story.table(
            [_("Requested"), _("Request"), _("Status"), _("Completed")],
            [[when(r[0]), story.cell(r[1]), story.cell(r[2]), when(r[3])] for r in rows],
            [30 * mm, 70 * mm, 36 * mm, PAGE_WIDTH - 136 * mm],
        )
    else:
        story.nothing()
    for erasure in store_data(document, "consent.erasure_requests") or []:
        if erasure.get("certificate"):
            _certificate_facts(story, erasure["certificate"])


def _request_rows(document: dict) -> list[tuple]:
    kinds = {"json": _("Export (JSON)"), "zip": _("Export (JSON and files)")}
    rows: list[tuple] = []
    for event in document["audit"]["events"]:
        name, data = event["action_name"], event["data"]
        if name == "REPORT_GENERATED" and data.get("delivery") == "direct":
            rows.append((event["time"], _("Data report (PDF)"), _("done"), event["time"]))
        elif name == "DATA_EXPORTED":
            rows.append(
                (event["time"], kinds.get(data.get("format"), name), _("done"), event["time"])
            )
    for job in store_data(document, "consent.reports") or []:
        status = {"done": _("done"), "failed": _("failed")}.get(job["status"], _("in progress"))
        rows.append(
            (
                job["requested_at"],
                _("Data report (PDF, made in the background)"),
                status,
                job["completed_at"],
            )
        )
    for erasure in store_data(document, "consent.erasure_requests") or []:
        rows.append(
            (
                erasure["requested_at"],
                _("Erasure of your account"),
                pdf.status_label(erasure["status"]),
                None,
            )
        )
    return sorted(rows, key=lambda row: row[0], reverse=True)


def _certificate_facts(story: Story, certificate: dict) -> None:
    story.subheading(_("Erasure certificate %(id)s") % {"id": certificate["erasure_request"]})
    story.facts(
        [
            (_("Completed"), when(certificate["completed_at"])),
            (_("Audit log entry"), str(certificate["audit_event"]["leaf_index"])),
            (_("Checkpoint"), _checkpoint_text(certificate["checkpoint"])),
        ]
    )


def _checkpoint_text(checkpoint: dict) -> str:
    return f"{checkpoint['tree_size']} · {checkpoint['root_hash']}"


def _other_stores(story: Story, document: dict) -> None:
    own = set(_OWN_SECTIONS)
    others = [
        entry
        for name, entry in _stores(document).items()
        if name not in own and not sections.covers(name)
    ]
    if not others:
        return
    story.heading(_("Everything else we hold"))
    for entry in others:
        block: list[Flowable] = [
            para(entry["what"], story.style["subheading"]),
            para(
                _("Why: %(why)s · Kept: %(retention)s")
                % {"why": entry["why"], "retention": entry["retention"]},
                story.style["small"],
            ),
        ]
        story.items.append(KeepTogether(block))
        generic(story, entry["data"])


def generic(story: Story, data, depth: int = 0, prefer: tuple[str, ...] = ()) -> None:
    """Any store's export: lists of objects as tables, objects as label/value pairs."""
    if data in (None, [], {}, ""):
        story.nothing()
    elif isinstance(data, list) and all(isinstance(row, dict) for row in data):
        _generic_table(story, data, prefer)
    elif isinstance(data, dict) and depth < 2:
        scalars = [
            (label(k), pdf.field_text(k, v))
            for k, v in data.items()
            if not isinstance(v, dict | list)
        ]
        if scalars:
            story.facts(scalars)
        for key, value in data.items():
            if isinstance(value, dict | list):
                story.text(label(key), "label")
                generic(story, value, depth + 1)
    else:
        story.text(text(data), "body")


def _generic_table(story: Story, rows: list[dict], prefer: tuple[str, ...] = ()) -> None:
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    preferred = [c for c in prefer if c in columns]
    if len(preferred) >= 3:
        shown, rest = preferred, []
    else:
        shown, rest = columns[:_GENERIC_COLUMNS], columns[_GENERIC_COLUMNS:]
    header = [label(c) for c in shown] + ([_("More")] if rest else [])
    if len(rows) > _LONG_TABLE:  # plain strings, each shown whole over as many lines as needed
        width = PAGE_WIDTH / len(header)
        cells = [
            [
                pdf.lines(pdf.field_text(k, v), width - 6, pdf.PAGED_FONT)
                for k, v in _values(row, shown, rest)
            ]
            for row in rows
        ]
        story.paged_table(header, cells, [width] * len(header))
        return
    body = []
    for row in rows:
        cells = [story.cell(pdf.field_text(c, row.get(c))) for c in shown]
        if rest:
            cells.append(story.cell({c: row[c] for c in rest if c in row}))
        body.append(cells)
    story.table(header, body)


def _values(row: dict, shown: list[str], rest: list[str]) -> list[tuple[str, object]]:
    """(key, value) of each cell; the last, "More", holds the rest."""
    values = [(c, row.get(c)) for c in shown]
    return [*values, ("", {c: row[c] for c in rest if c in row})] if rest else values


def _audit_log(story: Story, document: dict) -> None:
    audit = document["audit"]
    events = audit["events"]
    story.heading(_("The audit log about you"))
    story.text(
        _(
            "Every change to your data, every sign-in, every staff view of your record and "
            "every export is an event in our append-only, tamper-evident log (RFC 9162 Merkle "
            "tree). Events name you only by your pseudonym %(pseudonym)s. There are %(count)d "
            "events about you."
        )
        % {"pseudonym": audit["pseudonym"] or "—", "count": len(events)}
    )
    _checkpoint(story, audit)
    _how_to_check(story, audit)
    _events_table(story, events, audit["pseudonym"])


def _checkpoint(story: Story, audit: dict) -> None:
    checkpoint = audit["checkpoint"]
    story.subheading(_("Latest signed checkpoint"))
    if checkpoint is None:
        story.text(_("No checkpoint has been issued yet."), "small")
        return
    story.facts(
        [
            (_("Log"), checkpoint["log_id"]),
            (_("Events in the log"), str(checkpoint["tree_size"])),
            (_("Root hash"), checkpoint["root_hash"]),
            (_("Signed at"), when(checkpoint["timestamp"])),
            (_("Signature (Ed25519)"), checkpoint["signature"]),
            (_("Public key"), audit["public_key_url"]),
        ]
    )


def _how_to_check(story: Story, audit: dict) -> None:
    checkpoint = audit["checkpoint"] or {"tree_size": "N"}
    example = audit["inclusion_proof_url"].format(index="I", tree_size=checkpoint["tree_size"])
    steps = [
        _(
            "Take the event from your JSON export (audit.events), drop action_name and "
            "leaf_hash, and write it as RFC 8785 canonical JSON: its SHA-256 after a 0x00 byte "
            "is the event's leaf hash."
        ),
        _("Ask for the inclusion proof of its index I: %(url)s") % {"url": example},
        _(
            "Hash the leaf up the audit path (RFC 9162 §2.1.3): the result must equal the "
            "checkpoint's root hash, whose signature checks with our public key."
        ),
        _("Or check a whole export offline with the verifier at %(url)s")
        % {"url": audit["verifier_url"]},
    ]
    story.subheading(_("How to check that an event is in the log"))
    for number, step in enumerate(steps, start=1):
        story.text(f"{number}. {step}", "body")


def _actor(actor: str, pseudonym: str | None) -> str:
    if pseudonym and actor == f"subject:{pseudonym}":
        return _("you")
    if actor.startswith("staff:"):
        return _("staff")
    if actor == "system":
        return _("the service")
    return _("another person")


def _details(event: dict) -> str:
    """The purpose, then the event's data, short values first (a long hash or id goes last,
    over as many lines as it needs)."""
    items = []
    for key, value in event["data"].items():
        shown = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        items.append((len(shown) > 20, f"{key} {shown}"))
    parts = [event["purpose"]] if event["purpose"] else []
    parts += [item for _long, item in sorted(items, key=lambda pair: pair[0])]
    return " · ".join(parts)


def _events_table(story: Story, events: list[dict], pseudonym: str | None) -> None:
    story.subheading(_("Events"))
    if not events:
        story.nothing()
        return
    width = _EVENT_WIDTHS[4] - 6
    rows = [
        [
            str(e["index"]) if e["index"] is not None else "—",
            pdf.lines(when(e["time"]), _EVENT_WIDTHS[1] - 6, pdf.PAGED_FONT),
            pdf.lines(event_label(e["action_name"]), _EVENT_WIDTHS[2] - 6, pdf.PAGED_FONT),
            _actor(e["actor"], pseudonym),
            pdf.lines(_details(e), width, pdf.PAGED_FONT),
        ]
        for e in events
    ]
    story.paged_table(
        [_("#"), _("Time"), _("Event"), _("By"), _("Details")], rows, list(_EVENT_WIDTHS)
    )
    if any(e["index"] is None for e in events):
        story.text(_("— : not sealed into the log yet (this happens within seconds)."), "small")


# --- the documents ------------------------------------------------------------------------------


class _RowProgress:
    """Turns the table rows placed so far into a fraction for ``progress``."""

    def __init__(self, total: int, progress: Callable[[float], None] | None):
        self.total, self.done, self.progress = max(total, 1), 0, progress

    def __call__(self, flowable: Flowable) -> None:
        rows = getattr(flowable, "_nrows", 0)  # tables, and the pages of paged tables
        if self.progress is not None and rows:
            self.done += rows - 1
            self.progress(min(self.done / self.total, 1.0))


def report_pdf(
    document: dict, *, photos: dict[str, bytes], progress: Callable[[float], None] | None = None
) -> bytes:
    """The report in the active language. ``photos``: JPEG bytes by capture id."""
    story = Story()
    _title(story, document)
    _who_we_are(story, document)
    _you(story, document)
    _consents(story, document)
    for section in sections.registered():
        section.render(story, document, photos)
    _requests(story, document)
    _other_stores(story, document)
    _audit_log(story, document)
    footer = _("%(service)s · your personal data · generated %(when)s") % {
        "service": SERVICE_NAME,
        "when": when(document["generated_at"]),
    }
    return pdf.build(
        story.items,
        title=_("Your personal data"),
        author=SERVICE_NAME,
        footer=footer,
        page_label=_("Page %(page)d of %(pages)d"),
        after_flowable=_RowProgress(story.rows, progress),
    )
