"""A webhook's secret is in its URL (?code=); no log line shows it, runserver's request lines included."""

from __future__ import annotations

import io
import logging

from integration.log_filters import RedactWebhookKeys


def test_the_code_parameter_is_blanked_in_any_log_line():
    record = logging.LogRecord("django.server", logging.INFO, __file__, 1, '"%s" %s %s',
                               ("POST /api/webhooks/dataverse/p2c/?code=s3cr3t&x=1 HTTP/1.1", "202", "55"), None)
    assert RedactWebhookKeys().filter(record)
    assert record.getMessage() == '"POST /api/webhooks/dataverse/p2c/?code=[redacted]&x=1 HTTP/1.1" 202 55'


def test_the_servers_request_log_goes_through_the_filter():
    logger = logging.getLogger("django.server")
    handler = logger.handlers[0]
    stream, handler.stream = handler.stream, io.StringIO()
    try:
        logger.info('"%s" %s %s', "POST /api/webhooks/dataverse/p2c/?code=s3cr3t HTTP/1.1", "202", "55")
        written = handler.stream.getvalue()
    finally:
        handler.stream = stream
    assert "code=[redacted]" in written
    assert "s3cr3t" not in written
