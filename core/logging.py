"""Log redaction: no request bodies, codes or ballot ids ever reach a log."""

import logging
import re

# Anything shaped like a code or an id: UUIDs, and runs of 8+ letters/digits with at least one digit
# (receipt and access codes are such runs, grouped or not). Words and small numbers pass through.
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\b")
_CODE = re.compile(r"\b(?=[A-Za-z0-9-]*\d)[A-Za-z0-9]{4,}(?:-[A-Za-z0-9]{3,})+\b|\b(?=[A-Za-z]*\d)[A-Za-z0-9]{12,}\b")
_QUERY = re.compile(r"\?[^\s\"']*")


def redact(text: str) -> str:
    text = _QUERY.sub("?[redacted]", text)
    text = _UUID.sub("[redacted-id]", text)
    return _CODE.sub("[redacted-code]", text)


class RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if request is not None:
            # Django attaches the request (body, POST data) to django.request records; keep only
            # the method and path.
            record.request = f"{getattr(request, 'method', '')} {redact(getattr(request, 'path', ''))}"
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not break logging
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters render the traceback only after filters have run, so render it here (the
            # formatter then reuses exc_text) or an exception message would reach the log unredacted.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
