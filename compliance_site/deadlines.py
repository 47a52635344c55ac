"""The legal deadline of a data-subject request: one month from receipt (GDPR Art. 12(3);
PIPL Art. 50 asks for "timely", which the month meets). A month is a calendar month, counted
as EU Regulation 1182/71 Art. 3(2)(c) counts it: the same day of the next month, or that
month's last day when it has no such day (31 January → 28 or 29 February). One function, read
by the staff queue and the auditor summary alike."""

from __future__ import annotations

import calendar
from datetime import datetime


class Deadline:
    OPEN = "open"
    OVERDUE = "overdue"
    ON_TIME = "within deadline"
    LATE = "late"


def request_due(received: datetime) -> datetime:
    """When a request received at ``received`` must be answered."""
    year, month = (
        (received.year + 1, 1) if received.month == 12 else (received.year, received.month + 1)
    )
    day = min(received.day, calendar.monthrange(year, month)[1])
    return received.replace(year=year, month=month, day=day)


def request_status(received: datetime, completed: datetime | None, now: datetime) -> str:
    """``open`` or ``overdue`` while unanswered; ``within deadline`` or ``late`` once done."""
    due = request_due(received)
    if completed is None:
        return Deadline.OVERDUE if now > due else Deadline.OPEN
    return Deadline.LATE if completed > due else Deadline.ON_TIME


def days_left(received: datetime, now: datetime) -> int:
    """Whole days until the deadline; negative once it has passed."""
    return (request_due(received) - now).days
