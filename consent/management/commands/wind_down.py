"""``manage.py wind_down --out DIR``: close the service (README "Closing the service").

The first run asks for the log id as confirmation (``--confirm LOG_ID`` when not interactive)
and puts the service in closing mode. Once the grace period is over, a run erases everyone,
seals the log, signs the report and writes the tombstone to ``--out``; a killed run resumes
where it stopped (the state is in the database). A progress bar counts the accounts erased.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from tqdm import tqdm  # type: ignore[import-untyped]  # tqdm ships no types

from audit.closing import wind_down_state
from compliance_site.errors import ApplicationError
from consent.erasure.winddown import wind_down_run, wind_down_start


class Command(BaseCommand):
    help = (
        "Wind the service down: closing mode, then after the grace period the erasure of "
        "everyone, the sealed log, a signed report and a static tombstone site."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--out", type=Path, required=True, help="Folder to write the tombstone site to."
        )
        parser.add_argument(
            "--confirm", metavar="LOG_ID", help="The audit log id, to confirm without a prompt."
        )
        parser.add_argument(
            "--no-input", action="store_false", dest="interactive", help="Never prompt."
        )

    def handle(self, *args, out: Path, confirm: str | None, interactive: bool, **options) -> None:
        # The operator's messages, the text messages and the printed report: the site's language.
        with translation.override(settings.LANGUAGE_CODE):
            self._handle(out, confirm, interactive)

    def _handle(self, out: Path, confirm: str | None, interactive: bool) -> None:
        state = wind_down_state()
        if state is None:
            self._confirm(confirm, interactive)
            state = wind_down_start()
            self.stdout.write(
                f"Closing mode from {state.started_at.isoformat()}: no new accounts, captures "
                f"or swaps. Erasure of everyone begins after {state.grace_ends_at.isoformat()}."
            )
        if state.phase == state.Phase.DONE:
            self.stdout.write(f"The wind-down is done; its report is in {out}.")
            return
        bar = tqdm(total=len(state.subjects) or None, unit="account", file=self.stderr)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            state = wind_down_run(out=out, progress=progress)
        except ApplicationError as exc:
            self.stdout.write(exc.detail)
            return
        finally:
            bar.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"Wound down: {state.counts_before.get('accounts', 0)} accounts erased, every "
                f"store empty; report and tombstone in {out}."
            )
        )

    def _confirm(self, confirm: str | None, interactive: bool) -> None:
        log_id = settings.AUDIT_LOG_ID
        if confirm is None and interactive:
            confirm = input(
                f"This closes the service of log {log_id!r} and, after the grace period of "
                f"{settings.WIND_DOWN_GRACE_DAYS} days, erases everyone. Type the log id to "
                "confirm: "
            )
        if confirm != log_id:
            raise CommandError(f"Not confirmed: type the log id {log_id!r} exactly.")
