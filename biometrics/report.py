"""How captures appear in the user-data report: their section of the PDF (with the subject's
own photos as thumbnails) and the export schema of their data. Registered from
``BiometricsConfig.ready()``; the report itself (``consent.reports``) never names biometrics."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from reportlab.lib.units import mm

from compliance_site.pdf import PAGE_WIDTH, Story, when
from consent.reports import schema, sections
from consent.reports.pdf import store_data, thumbnail

CAPTURES = "biometrics.captures"
SUBJECT_KEY = "biometrics.subject_key"

_CAPTURE_SCHEMA = {
    "type": "object",
    "required": ["id", "created_at", "last_used_at", "retention_expires_at", "liveness"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "created_at": {"type": "string", "format": "date-time"},
        "last_used_at": {"type": "string", "format": "date-time"},
        "retention_expires_at": {"type": "string", "format": "date-time"},
        "engine": {"type": "string"},
        "liveness": {
            "type": "object",
            "required": ["passed"],
            "properties": {
                "passed": {"type": "boolean"},
                "steps": {"type": "array"},
                "scores": {"type": "object"},
            },
        },
    },
}


# A liveness step in a table cell: short (the capture page words them as instructions).
_STEP_NAMES = {
    "turn_left": gettext_lazy("turn left"),
    "turn_right": gettext_lazy("turn right"),
    "look_up": gettext_lazy("look up"),
    "look_down": gettext_lazy("look down"),
    "tilt_left": gettext_lazy("tilt left"),
    "tilt_right": gettext_lazy("tilt right"),
    "open_mouth": gettext_lazy("open mouth"),
    "smile": gettext_lazy("smile"),
    "blink": gettext_lazy("blink"),
}


def _step_name(step: str) -> str:
    known = _STEP_NAMES.get(step)
    return str(known) if known is not None else step.replace("_", " ")


def register() -> None:
    sections.register(
        sections.Section(
            name="captures",
            stores=(CAPTURES, SUBJECT_KEY),
            render=_captures,
            thumbnails=(CAPTURES,),
        )
    )
    schema.describe_store(
        CAPTURES,
        data={"type": "array", "items": {"$ref": "#/$defs/capture"}},
        defs={"capture": _CAPTURE_SCHEMA},
    )


def _captures(story: Story, document: dict, photos: dict[str, bytes]) -> None:
    if CAPTURES not in document["stores"]:
        return
    captures = store_data(document, CAPTURES) or []
    story.heading(_("Your face captures"))
    story.text(_(document["stores"][CAPTURES]["what"]), "small")
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
    key = store_data(document, SUBJECT_KEY)
    if key:
        story.text(
            _("Your data key exists since %(when)s, stored encrypted under master key %(key)s.")
            % {"when": when(key.get("created_at")), "key": key.get("master_key_id", "—")},
            "small",
        )


def _capture_row(story: Story, capture: dict, jpeg: bytes | None) -> list:
    liveness = capture.get("liveness") or {}
    steps = pgettext("between items of a list", ", ").join(
        _step_name(str(s.get("step", s) if isinstance(s, dict) else s))
        for s in liveness.get("steps", [])
    )
    result = _("passed") if liveness.get("passed") else _("failed")
    return [
        thumbnail(jpeg) if jpeg else "—",
        when(capture.get("created_at")),
        when(capture.get("last_used_at")),
        story.cell(
            _("%(result)s (%(steps)s)") % {"result": result, "steps": steps} if steps else result
        ),
        when(capture.get("retention_expires_at")),
    ]
