"""Logging filters: a webhook's shared secret travels in the URL (Dataverse's WebhookKey is `?code=`), so any
log line that shows a request URL would show it; this filter blanks it first."""

from __future__ import annotations

import logging
import re

_WEBHOOK_KEY = re.compile(r"([?&]code=)[^&\s\"']+")


class RedactWebhookKeys(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "code=" in message:
            record.msg, record.args = _WEBHOOK_KEY.sub(r"\1[redacted]", message), ()
        return True
