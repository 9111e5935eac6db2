"""Log redaction: no request bodies, codes, tokens, ballot ids or contact details ever reach a log.

Secrets are recognised by their shape, not by containing digits: a cycle slug such as
``springfield-2027`` or a path such as ``/cycles/springfield-2027/wards/ward-3/`` is kept as it is.
"""

import logging
import re

_UUID = re.compile(r"\b[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\b")
# Access and receipt codes (``voting.crypto.code_new``): three or more dash-joined groups of four
# letters or digits. Typed codes may arrive in lower case, so case does not decide alone; see _code_or_slug.
_GROUPED = re.compile(r"\b[A-Za-z0-9]{4}(?:-[A-Za-z0-9]{4}){2,}\b")
# Tokens, hashes and codes typed without dashes: a run of 12+ letters and digits with a digit in it
# (not the decimals of a number: "succeeded in 0.20481283000181s").
_RUN = re.compile(r"(?<!\d[.,])\b(?=[A-Za-z]*\d)[A-Za-z0-9]{12,}\b")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Phone numbers: international (+ and 8 or more digits) or North American (555-123-4567, (555) 123 4567).
_PHONE = re.compile(r"(?<![\w+])\+\d[\d ().-]{6,}\d\b|(?<![\w-])\(?\d{3}\)?[ .-]?\d{3}[ .-]\d{4}\b")
_QUERY = re.compile(r"\?[^\s\"']*")
_WORD_OR_NUMBER = re.compile(r"[a-z]+|\d+")


def _code_or_slug(match: re.Match) -> str:
    """A lower-case slug whose parts are words or numbers (``east-ward-2027``) is not a code; a
    group with a capital or one mixing letters and digits (``K7QX-9MPA``, ``k7qx-…``) is."""
    text = match.group(0)
    groups = text.split("-")
    if any(ch.isdigit() for ch in text) and not all(_WORD_OR_NUMBER.fullmatch(group) for group in groups):
        return "[redacted-code]"
    return text


def redact(text: str) -> str:
    text = _QUERY.sub("?[redacted]", text)
    text = _EMAIL.sub("[redacted-email]", text)
    text = _UUID.sub("[redacted-id]", text)
    text = _GROUPED.sub(_code_or_slug, text)
    text = _RUN.sub("[redacted-code]", text)
    return _PHONE.sub("[redacted-phone]", text)


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
