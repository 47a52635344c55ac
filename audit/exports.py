"""The auditor's and regulator's bundle: the verifiable export of the log (``audit_export_write``:
events.jsonl, leaf hashes, checkpoints, public key, verify_audit.py, signed manifest) plus a
summary PDF and CSVs computed from the exported events themselves and the inventory's
descriptions. Every change is an event (invariant "audited", docs/ARCHITECTURE.md), so the figures
are what the log proves, for the window asked: nothing is read from the tables the events describe.

The manifest lists every file with its SHA-256 and is signed, so the summary and the CSVs are
as tamper-evident as the events.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, PageBreak, Spacer

from audit.actions import AuditAction
from audit.models import AuditCheckpoint
from audit.services import audit_export_write, audit_seal, check_export_window
from audit.verification import audit_log_verify
from compliance_site import accountability, deadlines, inventory, pdf
from compliance_site.dates import datetime_text
from compliance_site.pdf import PAGE_WIDTH, para

# The PDF lists this many requests and template events at most; the CSVs hold them all.
PDF_ROWS = 200
# The kind of request a depicted person's withdrawal sent to staff is, in requests.csv.
DEPICTED_WITHDRAWAL = "withdrawal (depicted person)"
_CSV_UNSAFE = ("=", "+", "-", "@", "\t", "\r")
_EVENT_COLUMNS = (
    "index",
    "time",
    "action",
    "action_name",
    "actor",
    "subject",
    "object_type",
    "object_id",
    "purpose",
    "request_id",
    "data",
)


# The summary PDF says in words what the CSVs and JSON keep as codes. An assessment's risk and
# decision as the ledger's model labels them (``audit`` imports no upper app; a test keeps the
# two the same).
RISK_LABELS = {
    "low": gettext_lazy("low"),
    "medium": gettext_lazy("medium"),
    "high": gettext_lazy("high"),
}
DECISION_LABELS = {
    "proceed": gettext_lazy("proceed"),
    "conditions": gettext_lazy("proceed with the conditions stated"),
    "stop": gettext_lazy("do not proceed"),
}
_REQUEST_KINDS = {
    "erasure": gettext_lazy("erasure"),
    "access (report)": gettext_lazy("access (report)"),
    "portability (json)": gettext_lazy("portability (JSON)"),
    "portability (zip)": gettext_lazy("portability (ZIP)"),
    DEPICTED_WITHDRAWAL: gettext_lazy("withdrawal (depicted person)"),
}
_REQUEST_STATUSES = {
    deadlines.Deadline.OPEN: gettext_lazy("open"),
    deadlines.Deadline.OVERDUE: gettext_lazy("overdue"),
    deadlines.Deadline.ON_TIME: gettext_lazy("within deadline"),
    deadlines.Deadline.LATE: gettext_lazy("late"),
    "completed (asked before the window)": gettext_lazy("completed (asked before the window)"),
}


def _words(labels: dict, code: str) -> str:
    known = labels.get(code)
    return str(known) if known is not None else code


def _name(action: int) -> str:
    try:
        return AuditAction(action).name
    except ValueError:
        return str(action)


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


@dataclass
class Request:
    """A data-subject request traced through its events: asked, then done (or not yet)."""

    kind: str
    ref: str
    subject: str
    requested_at: str | None = None
    completed_at: str | None = None

    def days(self) -> float | None:
        if self.requested_at is None or self.completed_at is None:
            return None
        delta = _time(self.completed_at) - _time(self.requested_at)
        return round(delta.total_seconds() / 86400, 2)

    def due(self) -> str | None:
        if self.requested_at is None:
            return None
        return deadlines.request_due(_time(self.requested_at)).isoformat()

    def status(self, now: datetime) -> str:
        if self.requested_at is None:
            if self.completed_at is None:
                return deadlines.Deadline.OPEN
            return "completed (asked before the window)"
        done = _time(self.completed_at) if self.completed_at else None
        return deadlines.request_status(_time(self.requested_at), done, now)


@dataclass
class Summary:
    """Figures accumulated from the exported leaf objects (``ExportExtras``)."""

    now: datetime = field(default_factory=timezone.now)
    actions: Counter = field(default_factory=Counter)
    consents: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    withdrawal_erased: int = 0
    requests: dict = field(default_factory=dict)
    sweeps: int = 0
    swept: Counter = field(default_factory=Counter)
    erased_stores: Counter = field(default_factory=Counter)
    templates: list = field(default_factory=list)
    first: str | None = None
    last: str | None = None
    events_csv: io.StringIO = field(default_factory=io.StringIO)

    def __post_init__(self) -> None:
        self.writer = csv.writer(self.events_csv)
        self.writer.writerow(_EVENT_COLUMNS)

    # --- ExportExtras -------------------------------------------------------------------------

    def add(self, leaf: dict) -> None:
        name = _name(leaf["action"])
        self.actions[name] += 1
        self.first = self.first or leaf["time"]
        self.last = leaf["time"]
        self._row(leaf, name)
        handler = getattr(self, f"_on_{name.lower()}", None)
        if handler is not None:
            handler(leaf)
        elif name.startswith("SWAP_TEMPLATE_"):
            self.templates.append((leaf["time"], name, leaf["object_id"], leaf["data"]))

    def files(self, manifest: dict) -> dict[str, bytes]:
        self.record = processing_record()
        self.accountability = accountability.records()
        return {
            "summary.pdf": self.pdf(manifest),
            "events.csv": self.events_csv.getvalue().encode(),
            "consents_by_purpose.csv": self._consents_csv(),
            "requests.csv": self._requests_csv(),
            "record_of_processing.json": _json(self.record),
            "record_of_processing.csv": _record_csv(self.record["processing"]),
            **{f"{name}.json": _json(rows) for name, rows in self.accountability.items()},
        }

    # --- events -------------------------------------------------------------------------------

    def _row(self, leaf: dict, name: str) -> None:
        data = json.dumps(leaf["data"], ensure_ascii=False, separators=(",", ":"))
        values = (
            [leaf[c] for c in _EVENT_COLUMNS[:3]] + [name] + [leaf[c] for c in _EVENT_COLUMNS[4:10]]
        )
        self.writer.writerow([_csv_safe(v) for v in [*values, data]])

    def _on_consent_granted(self, leaf: dict) -> None:
        self.consents[(leaf["purpose"], leaf["data"].get("version"))][0] += 1

    def _on_consent_withdrawn(self, leaf: dict) -> None:
        self.consents[(leaf["purpose"], leaf["data"].get("version"))][1] += 1
        self.withdrawal_erased += sum((leaf["data"].get("erased") or {}).values())

    def _request(self, kind: str, leaf: dict) -> Request:
        key = (kind, leaf["object_id"])
        if key not in self.requests:
            self.requests[key] = Request(kind, leaf["object_id"], leaf["subject"])
        return self.requests[key]

    def _on_erasure_requested(self, leaf: dict) -> None:
        self._request("erasure", leaf).requested_at = leaf["time"]

    def _on_erasure_completed(self, leaf: dict) -> None:
        self._request("erasure", leaf).completed_at = leaf["time"]

    def _on_erasure_store_erased(self, leaf: dict) -> None:
        self.erased_stores[leaf["data"].get("store", "?")] += leaf["data"].get("erased", 0)

    def _on_report_requested(self, leaf: dict) -> None:
        self._request("access (report)", leaf).requested_at = leaf["time"]

    def _on_report_generated(self, leaf: dict) -> None:
        if leaf["data"].get("delivery") == "job":
            self._request("access (report)", leaf).completed_at = leaf["time"]
            return
        request = Request("access (report)", f"event {leaf['index']}", leaf["subject"])
        request.requested_at = request.completed_at = leaf["time"]
        self.requests[("access (report)", request.ref)] = request

    def _on_data_exported(self, leaf: dict) -> None:
        kind = f"portability ({leaf['data'].get('format', '?')})"
        request = Request(kind, f"event {leaf['index']}", leaf["subject"])
        request.requested_at = request.completed_at = leaf["time"]
        self.requests[(kind, request.ref)] = request

    # A depicted person's withdrawal that reached staff: due a month after it arrived (the date
    # staff logged, not the event's), answered by the withdrawal event that names it.
    def _on_swap_depicted_withdrawal_request_logged(self, leaf: dict) -> None:
        self._request(DEPICTED_WITHDRAWAL, leaf).requested_at = leaf["data"]["received_at"]

    def _on_swap_template_consent_withdrawn(self, leaf: dict) -> None:
        self.templates.append(
            (leaf["time"], "SWAP_TEMPLATE_CONSENT_WITHDRAWN", leaf["object_id"], leaf["data"])
        )
        for ref in leaf["data"].get("requests") or ():
            request = self._request(DEPICTED_WITHDRAWAL, {**leaf, "object_id": str(ref)})
            request.completed_at = leaf["time"]

    def _on_retention_swept(self, leaf: dict) -> None:
        self.sweeps += 1
        self.swept.update(leaf["data"].get("erased") or {})

    # --- CSVs ---------------------------------------------------------------------------------

    def _consents_csv(self) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["purpose", "version", "granted", "withdrawn"])
        for (purpose, version), (granted, withdrawn) in sorted(self.consents.items(), key=str):
            writer.writerow([_csv_safe(purpose), version, granted, withdrawn])
        return out.getvalue().encode()

    def _sorted_requests(self) -> list[Request]:
        return sorted(self.requests.values(), key=lambda r: r.requested_at or r.completed_at or "")

    def _requests_csv(self) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            ["kind", "request", "subject", "requested_at", "due", "completed_at", "days", "status"]
        )
        for r in self._sorted_requests():
            row = [r.kind, r.ref, r.subject, r.requested_at, r.due(), r.completed_at, r.days()]
            writer.writerow([_csv_safe(v) for v in [*row, r.status(self.now)]])
        return out.getvalue().encode()

    # --- the PDF ------------------------------------------------------------------------------

    def pdf(self, manifest: dict) -> bytes:
        style = pdf.styles()
        story: list[Flowable] = []
        window = _window(manifest)
        story += [
            para(_("Audit summary"), style["title"]),
            para(
                _("Log %(log)s · %(window)s · generated %(when)s")
                % {"log": manifest["log_id"], "window": window, "when": _stamp(self.now)},
                style["label"],
            ),
            Spacer(1, 6),
            para(
                _(
                    "Every figure below is computed from the %(count)d events in events.jsonl "
                    "(this bundle), which verify_audit.py checks against the signed checkpoints; "
                    "the record of processing is the service's inventory of personal data."
                )
                % {"count": manifest["events"]},
                style["text"],
            ),
        ]
        for section in (
            self._verification,
            self._processing,
            self._assessment_section,
            self._consent_section,
            self._request_section,
            self._retention_section,
            self._template_section,
            self._action_section,
        ):
            story += section(style, manifest)
        return pdf.build(
            story,
            title=_("Audit summary"),
            author="Faceledger",
            footer=f"Faceledger · {_('Audit summary')} · {manifest['log_id']} · {window}",
            page_label=_("Page %(page)d of %(pages)d"),
        )

    def _verification(self, style, manifest: dict) -> list[Flowable]:
        result = audit_log_verify()
        latest = (
            AuditCheckpoint.objects.filter(tree_size=manifest["tree_size"]).order_by("-id").first()
        )
        outcome = (
            _("verified: no problem found")
            if result.ok
            else _("FAILED: %(problem)s") % {"problem": result.first_problem}
        )
        rows = [
            (_("Verification of the whole log"), outcome),
            (_("Events in the log"), str(result.tree_size)),
            (_("Signed checkpoints"), str(result.checkpoints)),
            (_("Events not sealed yet"), str(result.pending)),
            (_("Exported up to tree size"), str(manifest["tree_size"])),
        ]
        if latest is not None:
            rows += [
                (_("Latest checkpoint root"), latest.root_hash),
                (_("Signed at"), latest.timestamp),
            ]
        rows.append((_("Check this bundle"), "python verify_audit.py <this zip or its folder>"))
        return [
            *pdf.heading(_("Log and checkpoints"), style["heading"]),
            pdf.facts_table(rows, style),
        ]

    def _processing(self, style, manifest: dict) -> list[Flowable]:
        """GDPR Art. 30(1): who answers for the processing, then per store (a)–(g)."""
        block = self.record["controller"]
        who = [
            (_("Controller"), block["controller"]),
            (_("Address"), block["address"]),
            (_("Contact"), block["email"] + (f", {block['phone']}" if block["phone"] else "")),
            (_("Jurisdiction"), block["jurisdiction"]),
            (_("Representative"), block["representative"]),
            (_("Data protection officer"), f"{block['dpo']} <{block['dpo_email']}>"),
        ]
        record = self.record["processing"]
        first = [
            [
                para(r["store"], style["cell"]),
                para(_(r["data"]), style["cell"]),
                para("; ".join(_(x) for x in r["subjects"]), style["cell"]),
                para(_(r["purpose"]), style["cell"]),
                para(_(r["legal_basis"]), style["cell"]),
                para(_(r["retention"]), style["cell"]),
            ]
            for r in record
        ]
        # Measures every store has are stated once, above the table; each row adds its own.
        common = [m for m in record[0]["security"] if all(m in r["security"] for r in record)]
        second = [
            [
                para(r["store"], style["cell"]),
                para("; ".join(_(x) for x in r["recipients"]), style["cell"]),
                para("; ".join(r["transfers"]) or _("none"), style["cell"]),
                para(
                    "; ".join(_(x) for x in r["security"] if x not in common) or "—",
                    style["cell"],
                ),
            ]
            for r in record
        ]
        recipients = [
            [
                para(_(r["role"]), style["cell"]),
                para(r["provider"], style["cell"]),
                para(r["country"], style["cell"]),
                para(r["safeguard"] or _("not a transfer"), style["cell"]),
            ]
            for r in self.record["recipients"]
        ]
        rest = PAGE_WIDTH - 140 * mm
        return [
            PageBreak(),
            para(_("Record of processing (GDPR Art. 30)"), style["heading"]),
            pdf.facts_table(who, style),
            Spacer(1, 4),
            pdf.data_table(
                [
                    _("Store"),
                    _("Data"),
                    _("Data subjects"),
                    _("Purpose"),
                    _("Legal basis"),
                    _("Retention"),
                ],
                first,
                [28 * mm, 36 * mm, 28 * mm, 26 * mm, 22 * mm, rest],
            ),
            Spacer(1, 6),
            para(
                _("Security measures of every store: %(measures)s.")
                % {"measures": "; ".join(_(x) for x in common)},
                style["text"],
            ),
            pdf.data_table(
                [
                    _("Store"),
                    _("Recipients"),
                    _("Transfers abroad"),
                    _("Further security measures"),
                ],
                second,
                [30 * mm, 45 * mm, 30 * mm, PAGE_WIDTH - 105 * mm],
            ),
            Spacer(1, 6),
            pdf.data_table(
                [_("Recipient"), _("Who"), _("Country"), _("Transfer safeguard")],
                recipients,
                [60 * mm, 45 * mm, 20 * mm, PAGE_WIDTH - 125 * mm],
            ),
        ]

    def _assessment_section(self, style, manifest: dict) -> list[Flowable]:
        """PIPL Arts. 55–56 / GDPR Art. 35: every assessment, current and superseded."""
        rows = self.accountability.get(accountability.IMPACT_ASSESSMENTS, [])
        flow: list[Flowable] = [PageBreak(), para(_("Impact assessments"), style["heading"])]
        if not rows:
            return [*flow, para(_("No impact assessment has been published."), style["text"])]
        for row in rows:
            state = (
                _("current")
                if row["current"]
                else _("superseded on %(when)s") % {"when": _short(row["superseded_at"])}
                if row["superseded_at"]
                else _("not current: decision not to proceed or review overdue")
            )
            facts = [
                (_("Purpose"), row["purpose"]),
                (_("Version"), str(row["version"])),
                (_("Status"), state),
                (_("Decision"), _words(DECISION_LABELS, row["decision"])),
                (_("Residual risk"), _words(RISK_LABELS, row["residual_risk"])),
                (_("Review by"), row["review_on"]),
                (_("Signed by"), row["signer"]),
                (_("Published"), _short(row["published_at"])),
                (_("SHA-256"), row["sha256"]),
            ]
            parts = (
                (_("Scope"), row["scope"]),
                (_("Necessity and proportionality"), row["necessity"]),
                (_("Risks to people"), row["risks"]),
                (_("Measures"), row["measures"]),
            )
            flow += pdf.heading(
                _("%(purpose)s, version %(version)s")
                % {"purpose": row["purpose"], "version": row["version"]},
                style["subheading"],
            )
            flow.append(pdf.facts_table(facts, style))
            for label, text in parts:
                flow += [para(label, style["label"]), para(text, style["text"])]
        return flow

    def _consent_section(self, style, manifest: dict) -> list[Flowable]:
        rows = [
            [purpose, str(version), str(granted), str(withdrawn)]
            for (purpose, version), (granted, withdrawn) in sorted(self.consents.items(), key=str)
        ]
        withdrawals = sum(w for _g, w in self.consents.values())
        return [
            *pdf.heading(_("Consents by purpose and version"), style["heading"]),
            pdf.data_table(
                [_("Purpose"), _("Version"), _("Granted"), _("Withdrawn")],
                rows or [["—", "", "0", "0"]],
                [70 * mm, 25 * mm, 35 * mm, PAGE_WIDTH - 130 * mm],
            ),
            para(
                _("%(count)d withdrawals; %(erased)d items erased with them, at once.")
                % {"count": withdrawals, "erased": self.withdrawal_erased},
                style["small"],
            ),
        ]

    def _request_section(self, style, manifest: dict) -> list[Flowable]:
        requests = self._sorted_requests()
        statuses = Counter(r.status(self.now) for r in requests)
        days = [d for d in (r.days() for r in requests) if d is not None]
        facts = [
            (_("Requests"), str(len(requests))),
            (
                _("By outcome"),
                ", ".join(
                    f"{_words(_REQUEST_STATUSES, k)}: {v}" for k, v in sorted(statuses.items())
                )
                or "—",
            ),
            (_("Overdue (open past the deadline)"), str(statuses[deadlines.Deadline.OVERDUE])),
            (_("Answered late"), str(statuses[deadlines.Deadline.LATE])),
            (_("Longest completion"), _("%(days)s days") % {"days": max(days)} if days else "—"),
            (_("Deadline"), _("one month from receipt (GDPR Art. 12(3))")),
        ]
        rows = [
            [
                _words(_REQUEST_KINDS, r.kind),
                r.ref,
                r.subject,
                _short(r.requested_at),
                _short(r.due()),
                _short(r.completed_at),
                _flag(r.status(self.now)),
            ]
            for r in requests[-PDF_ROWS:]
        ]
        flow: list[Flowable] = [
            *pdf.heading(_("Data-subject requests"), style["heading"]),
            pdf.facts_table(facts, style),
        ]
        if rows:
            widths = [24 * mm, 30 * mm, 26 * mm, 22 * mm, 22 * mm, 22 * mm, PAGE_WIDTH - 146 * mm]
            cells = [[para(str(c), style["cell"]) for c in row] for row in rows]
            header = [
                _("Kind"),
                _("Request"),
                _("Subject"),
                _("Asked"),
                _("Due"),
                _("Done"),
                _("Status"),
            ]
            flow += [Spacer(1, 4), pdf.data_table(header, cells, widths)]
        return flow

    def _retention_section(self, style, manifest: dict) -> list[Flowable]:
        rows = [[name, str(count)] for name, count in sorted(self.swept.items())]
        erasures = self.actions.get("ERASURE_COMPLETED", 0)
        return [
            *pdf.heading(_("Retention and erasure"), style["heading"]),
            para(
                _(
                    "%(sweeps)d retention sweeps ran; %(erasures)d accounts were erased "
                    "(%(items)d items across stores), each with a signed certificate citing its "
                    "audit event."
                )
                % {
                    "sweeps": self.sweeps,
                    "erasures": erasures,
                    "items": sum(self.erased_stores.values()),
                },
                style["text"],
            ),
            pdf.data_table(
                [_("Swept by rule"), _("Items erased")],
                rows or [["—", "0"]],
                [PAGE_WIDTH - 40 * mm, 40 * mm],
            ),
        ]

    def _template_section(self, style, manifest: dict) -> list[Flowable]:
        flow = pdf.heading(
            _("Templates: licences and depicted persons' consents"), style["heading"]
        )
        if not self.templates:
            return [*flow, para(_("No template events in this window."), style["small"])]
        rows = [
            [
                para(_short(time), style["cell"]),
                para(name.removeprefix("SWAP_TEMPLATE_"), style["cell"]),
                para(ref, style["mono"]),
                para(json.dumps(data, ensure_ascii=False), style["cell"]),
            ]
            for time, name, ref, data in self.templates[-PDF_ROWS:]
        ]
        widths = [24 * mm, 34 * mm, 36 * mm, PAGE_WIDTH - 94 * mm]
        header = [_("Time"), _("Event"), _("Template"), _("Details")]
        return [*flow, pdf.data_table(header, rows, widths)]

    def _action_section(self, style, manifest: dict) -> list[Flowable]:
        rows = [[str(int(a)), a.name, str(self.actions.get(a.name, 0))] for a in AuditAction]
        known = {a.name for a in AuditAction}
        rows += [
            ["?", name, str(n)] for name, n in sorted(self.actions.items()) if name not in known
        ]
        return [
            *pdf.heading(_("Events by kind"), style["heading"]),
            pdf.data_table(
                # "Code" alone is the sign-in code elsewhere; here, an event's number.
                [pgettext("audit event number", "Code"), _("Event"), _("Count")],
                rows,
                [20 * mm, PAGE_WIDTH - 50 * mm, 30 * mm],
            ),
        ]


def processing_record() -> dict:
    """The record of processing as the bundle carries it (``record_of_processing.json``)."""
    return {
        "controller": inventory.controller_record(),
        "recipients": inventory.recipients_record(),
        "processing": inventory.record_of_processing(),
    }


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode()


def _record_csv(record: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    columns = list(record[0]) if record else []
    writer.writerow(columns)
    for row in record:
        cells = [row[c] if isinstance(row[c], str) else "; ".join(row[c]) for c in columns]
        writer.writerow([_csv_safe(c) for c in cells])
    return out.getvalue().encode()


def _flag(status: str) -> str:
    """A request's status in words; overdue and late ones stand out in the summary."""
    words = _words(_REQUEST_STATUSES, status)
    if status in (deadlines.Deadline.OVERDUE, deadlines.Deadline.LATE):
        return words.upper()
    return words


def _csv_safe(value) -> object:
    """No cell a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(_CSV_UNSAFE):
        return "'" + value
    return "" if value is None else value


def _short(value: str | None) -> str:
    """A leaf's time (``2026-11-26T13:58:48.853386Z``) as people read it, with its zone."""
    return datetime_text(value) if value else "—"


def _stamp(moment: datetime) -> str:
    return datetime_text(moment)


def _window(manifest: dict) -> str:
    if manifest["since"] is None and manifest["until"] is None:
        return _("the whole log")
    return _("from %(since)s to %(until)s") % {
        "since": manifest["since"] or _("the start"),
        "until": manifest["until"] or _("now"),
    }


def auditor_export_bundle(*, actor, since: datetime | None, until: datetime | None) -> bytes:
    """Seal, then the auditor's zip (audited as AUDITOR_EXPORTED in the export's transaction)."""
    check_export_window(since=since, until=until)
    audit_seal()
    buffer = io.BytesIO()
    audit_export_write(
        actor=actor,
        since=since,
        until=until,
        fileobj=buffer,
        action=AuditAction.AUDITOR_EXPORTED,
        extras=Summary(),
    )
    return buffer.getvalue()
