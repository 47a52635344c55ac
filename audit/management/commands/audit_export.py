from datetime import UTC, datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.services import ExportRefused, audit_export_write, audit_seal, verifier_sha256


def _moment(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--{name} {value!r} is not an ISO-8601 date or time") from exc
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Seal, then write a verifiable zip of the audit log (events.jsonl, checkpoints.json, "
        "keys.json, verify_audit.py). Times without a zone are UTC."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", required=True, help="the zip file to write")
        parser.add_argument("--since", help="only events at or after this ISO-8601 time")
        parser.add_argument("--until", help="only events at or before this ISO-8601 time")

    def handle(self, *args, output, since, until, **options):
        since_at, until_at = _moment(since, "since"), _moment(until, "until")
        audit_seal()
        path = Path(output)
        try:
            with path.open("wb") as fileobj:
                manifest = audit_export_write(
                    actor=None, since=since_at, until=until_at, fileobj=fileobj
                )
        except ExportRefused as exc:
            path.unlink(missing_ok=True)
            raise CommandError(exc.detail) from exc
        self.stdout.write(
            f"Wrote {path}: {manifest['events']} events, tree size {manifest['tree_size']}."
        )
        self.stdout.write(f"Genuine verifier: verify_audit.py sha256:{verifier_sha256()}")
