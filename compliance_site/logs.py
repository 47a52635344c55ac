"""Application logs as one JSON object a line (``LOGGING`` in ``settings/base.py``), so the log
collector keeps them as fields and a retention rule can apply to them (``LOG_RETENTION_DAYS``:
at least 183 days in production, China's Cybersecurity Law Art. 21).

What a line may hold: time, level, logger, message, the request id, an exception's type and
traceback. Never a phone number, a code, a client address or biometric bytes
(``tests/compliance_site/test_log_privacy.py`` runs the whole flow and looks): messages name
rows by id, and nothing here copies a record's ``request`` or arguments beyond the message.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from compliance_site import request_context


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, tz=UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_context.request_id.get()
        if request_id:
            line["request_id"] = request_id
        if record.exc_info and record.exc_info[0] is not None:
            line["exc_type"] = record.exc_info[0].__name__
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)
