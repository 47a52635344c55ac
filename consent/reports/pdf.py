"""The layout of the user-data report and of the erasure certificate (reportlab, through the
house layout in ``compliance_site.pdf``). Pure rendering: the caller hands over the document
``consent.reports.report_document`` made, and the thumbnails; nothing here reads the database.

Stores with a section of their own: the account and the pseudonym (you), the ledger (consents),
``biometrics.*`` (captures), ``swap.*`` (swaps and templates), the reports and erasure requests
(requests). Every other store, including ones added later, is rendered from its export as it
comes (tables for lists of objects, label/value pairs for objects).
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image as PILImage
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Image, KeepTogether, Paragraph, Spacer, Table

from compliance_site import pdf
from compliance_site.pdf import PAGE_WIDTH, para

SERVICE_NAME = "Faceledger"
THUMBNAIL_PX = 240
# Events table: one line per event (plain strings, fixed height: fast for long histories).
_EVENT_FONT = 7
_EVENT_ROW = 10
_EVENT_WIDTHS = (14 * mm, 30 * mm, 38 * mm, 20 * mm, PAGE_WIDTH - 102 * mm)
_GENERIC_COLUMNS = 6
_LONG_TABLE = 60  # rows: past this, a generic table is drawn one line per row
# The columns a swap row is read by, when its store has them (the export holds the rest).
_SWAP_COLUMNS = ("created_at", "template", "status", "finished_at", "result", "expires_at")
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
}


# --- values -------------------------------------------------------------------------------------


def when(value: object) -> str:
    """An ISO time as ``2026-11-26 12:44 UTC``; anything else unchanged."""
    if not isinstance(value, str):
        return text(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.utcoffset() is None:
        return value
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def text(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    if isinstance(value, str) and len(value) >= 16 and value[4:5] == "-" and value[10:11] == "T":
        return when(value)
    return str(value)


def label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def event_label(name: str) -> str:
    known = _EVENT_LABELS.get(name)
    return str(known) if known is not None else label(name.lower())


# --- building blocks ----------------------------------------------------------------------------


class _Story:
    """The flowables, and how many table rows they hold (for progress reports)."""

    def __init__(self) -> None:
        self.style = pdf.styles()
        self.items: list[Flowable] = []
        self.rows = 0

    def heading(self, value: str) -> None:
        self.items += pdf.heading(value, self.style["heading"])

    def subheading(self, value: str) -> None:
        self.items += pdf.heading(value, self.style["subheading"], room=25 * mm)

    def text(self, value: str, style: str = "text") -> None:
        self.items.append(para(value, self.style[style]))

    def facts(self, rows: list[tuple[str, str]]) -> None:
        self.items.append(pdf.facts_table(rows, self.style))

    def table(self, header: list[str], rows: list[list], widths=None, **kw) -> Table:
        widths = widths or [PAGE_WIDTH / len(header)] * len(header)
        table = pdf.data_table(header, rows, widths, **kw)
        self.items.append(table)
        self.rows += len(rows)
        return table

    def paged_table(self, header: list[str], rows: list[list[str]], widths: list[float]) -> None:
        """One line per row, fast for long lists (``pdf.PagedTable``)."""
        self.items.append(
            pdf.PagedTable(header, rows, widths, font_size=_EVENT_FONT, row_height=_EVENT_ROW)
        )
        self.rows += len(rows)

    def cell(self, value: object, style: str = "cell") -> Paragraph:
        return para(text(value), self.style[style])

    def nothing(self) -> None:
        self.text(_("Nothing held."), "small")


def _stores(document: dict) -> dict[str, dict]:
    return document["stores"]


def _data(document: dict, name: str):
    entry = _stores(document).get(name)
    return entry["data"] if entry else None


# --- the sections -------------------------------------------------------------------------------


def _title(story: _Story, document: dict) -> None:
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


def _who_we_are(story: _Story, document: dict) -> None:
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


def _you(story: _Story, document: dict) -> None:
    account = _data(document, "consent.subject") or {}
    ledger = _data(document, "consent.ledger") or {}
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


def _consents(story: _Story, document: dict) -> None:
    if "consent.ledger" not in _stores(document):
        return
    records = (_data(document, "consent.ledger") or {}).get("consent_records", [])
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


def _consent_history(story: _Story, records: list[dict], titles: dict[str, str]) -> None:
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


def _thumbnail(jpeg: bytes) -> Image | str:
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


def _captures(story: _Story, document: dict, photos: dict[str, bytes]) -> None:
    if "biometrics.captures" not in _stores(document):
        return
    captures = _data(document, "biometrics.captures") or []
    story.heading(_("Your face captures"))
    story.text(_(_stores(document)["biometrics.captures"]["what"]), "small")
    if not captures:
        story.nothing()
    else:
        rows = [
            _capture_row(story, capture, photos.get(capture.get("id", ""))) for capture in captures
        ]
        story.table(
            [_("Photo"), _("Taken"), _("Last used"), _("Liveness check"), _("Kept until")],
            rows,
            [26 * mm, 30 * mm, 30 * mm, 50 * mm, PAGE_WIDTH - 136 * mm],
        )
    key = _data(document, "biometrics.subject_key")
    if key:
        story.text(
            _("Your data key exists since %(when)s, stored encrypted under master key %(key)s.")
            % {"when": when(key.get("created_at")), "key": key.get("master_key_id", "—")},
            "small",
        )


def _capture_row(story: _Story, capture: dict, jpeg: bytes | None) -> list:
    liveness = capture.get("liveness") or {}
    steps = ", ".join(
        str(s.get("step", s) if isinstance(s, dict) else s).replace("_", " ")
        for s in liveness.get("steps", [])
    )
    result = _("passed") if liveness.get("passed") else _("failed")
    return [
        _thumbnail(jpeg) if jpeg else "—",
        when(capture.get("created_at")),
        when(capture.get("last_used_at")),
        story.cell(f"{result} ({steps})" if steps else result),
        when(capture.get("retention_expires_at")),
    ]


def _swaps(story: _Story, document: dict) -> None:
    names = [name for name in _stores(document) if name.startswith("swap.")]
    if not names:
        return
    story.heading(_("Your swaps and the templates used"))
    templates: Counter[str] = Counter()
    for name in names:
        entry = _stores(document)[name]
        story.subheading(entry["what"])
        _generic(story, entry["data"], prefer=_SWAP_COLUMNS)
        for row in entry["data"] if isinstance(entry["data"], list) else []:
            if isinstance(row, dict):
                templates.update(_template_names(row))
    if templates:
        story.subheading(_("Templates used"))
        story.table(
            [_("Template"), _("Swaps")],
            [[story.cell(name), str(count)] for name, count in templates.most_common()],
            [PAGE_WIDTH - 30 * mm, 30 * mm],
        )


def _template_names(row: dict) -> list[str]:
    """The template a swap used, by whatever key its store names it (``template``,
    ``template_title``, ...); one per row at most."""
    for key in sorted(row):
        if "template" in key and isinstance(row[key], str | int) and row[key] != "":
            return [str(row[key])]
    return []


def _requests(story: _Story, document: dict) -> None:
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
    for erasure in _data(document, "consent.erasure_requests") or []:
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
    for job in _data(document, "consent.reports") or []:
        status = {"done": _("done"), "failed": _("failed")}.get(job["status"], _("in progress"))
        rows.append(
            (
                job["requested_at"],
                _("Data report (PDF, made in the background)"),
                status,
                job["completed_at"],
            )
        )
    for erasure in _data(document, "consent.erasure_requests") or []:
        rows.append(
            (erasure["requested_at"], _("Erasure of your account"), erasure["status"], None)
        )
    return sorted(rows, key=lambda row: row[0], reverse=True)


def _certificate_facts(story: _Story, certificate: dict) -> None:
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


def _other_stores(story: _Story, document: dict) -> None:
    own = set(_OWN_SECTIONS)
    others = [
        entry
        for name, entry in _stores(document).items()
        if name not in own
        and not name.startswith(("biometrics.captures", "biometrics.subject_key", "swap."))
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
        _generic(story, entry["data"])


def _generic(story: _Story, data, depth: int = 0, prefer: tuple[str, ...] = ()) -> None:
    """Any store's export: lists of objects as tables, objects as label/value pairs."""
    if data in (None, [], {}, ""):
        story.nothing()
    elif isinstance(data, list) and all(isinstance(row, dict) for row in data):
        _generic_table(story, data, prefer)
    elif isinstance(data, dict) and depth < 2:
        scalars = [(label(k), text(v)) for k, v in data.items() if not isinstance(v, dict | list)]
        if scalars:
            story.facts(scalars)
        for key, value in data.items():
            if isinstance(value, dict | list):
                story.text(label(key), "label")
                _generic(story, value, depth + 1)
    else:
        story.text(text(data), "body")


def _generic_table(story: _Story, rows: list[dict], prefer: tuple[str, ...] = ()) -> None:
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    preferred = [c for c in prefer if c in columns]
    if len(preferred) >= 3:
        shown, rest = preferred, []
    else:
        shown, rest = columns[:_GENERIC_COLUMNS], columns[_GENERIC_COLUMNS:]
    header = [label(c) for c in shown] + ([_("More")] if rest else [])
    if len(rows) > _LONG_TABLE:  # one line each, cut to fit: the export holds every value
        width = PAGE_WIDTH / len(header)
        lines = [
            [pdf.fit(text(v), width - 6, _EVENT_FONT) for v in _values(row, shown, rest)]
            for row in rows
        ]
        story.paged_table(header, lines, [width] * len(header))
        return
    body = []
    for row in rows:
        cells = [story.cell(row.get(c)) for c in shown]
        if rest:
            cells.append(story.cell({c: row[c] for c in rest if c in row}))
        body.append(cells)
    story.table(header, body)


def _values(row: dict, shown: list[str], rest: list[str]) -> list:
    values = [row.get(c) for c in shown]
    return [*values, {c: row[c] for c in rest if c in row}] if rest else values


def _audit_log(story: _Story, document: dict) -> None:
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


def _checkpoint(story: _Story, audit: dict) -> None:
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


def _how_to_check(story: _Story, audit: dict) -> None:
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
    """The purpose, then the event's data, short values first (a long hash or id would push
    everything else off the line; the export holds them all)."""
    items = []
    for key, value in event["data"].items():
        shown = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        items.append((len(shown) > 20, f"{key} {shown}"))
    parts = [event["purpose"]] if event["purpose"] else []
    parts += [item for _long, item in sorted(items, key=lambda pair: pair[0])]
    return " · ".join(parts)


def _events_table(story: _Story, events: list[dict], pseudonym: str | None) -> None:
    story.subheading(_("Events (UTC)"))
    if not events:
        story.nothing()
        return
    width = _EVENT_WIDTHS[4] - 6
    rows = [
        [
            str(e["index"]) if e["index"] is not None else "—",
            e["time"][:19].replace("T", " "),
            pdf.fit(event_label(e["action_name"]), _EVENT_WIDTHS[2] - 6, _EVENT_FONT),
            _actor(e["actor"], pseudonym),
            pdf.fit(_details(e), width, _EVENT_FONT),
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
    story = _Story()
    _title(story, document)
    _who_we_are(story, document)
    _you(story, document)
    _consents(story, document)
    _captures(story, document, photos)
    _swaps(story, document)
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


def certificate_pdf(certificate: dict) -> bytes:
    """A printable erasure certificate in the active language; the signed JSON is the proof."""
    story = _Story()
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
