"""How swaps appear in the user-data report: one section for every ``swap.*`` store and the
templates used. Registered from ``SwapConfig.ready()``; the report itself
(``consent.reports``) never names swap."""

from __future__ import annotations

from collections import Counter

from django.utils.translation import gettext as _
from reportlab.lib.units import mm

from compliance_site.pdf import PAGE_WIDTH, Story
from consent.reports import sections
from consent.reports.pdf import generic

SWAP_STORES = "swap."
NOTICES = "swap.notices"
# The columns a swap row is read by, when its store has them (the export holds the rest).
_SWAP_COLUMNS = ("created_at", "template", "status", "finished_at", "result", "expires_at")


def register() -> None:
    sections.register(sections.Section(name="swaps", stores=(SWAP_STORES,), render=_swaps))


def _swaps(story: Story, document: dict, photos: dict[str, bytes]) -> None:
    names = [name for name in document["stores"] if name.startswith(SWAP_STORES)]
    if not names:
        return
    story.heading(_("Your swaps and the templates used"))
    templates: Counter[str] = Counter()
    for name in names:
        entry = document["stores"][name]
        story.subheading(entry["what"])
        generic(story, entry["data"], prefer=_SWAP_COLUMNS)
        if name == NOTICES:  # about swaps already erased: not swaps made
            continue
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
