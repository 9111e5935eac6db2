"""Log redaction: no request bodies, codes, ballot ids or query strings in logs."""

import logging

import pytest
from django.http import HttpRequest, HttpResponseBadRequest
from django.test import RequestFactory
from django.utils.log import log_response

from core.logging import RedactFilter

SECRET = "secret-code-ABCD-1234"


class _RequestDumpingFormatter(logging.Formatter):
    """Renders a request attached to a record the way error reporters do (path, body, POST), so a
    request object that reaches the handler shows up in the output."""

    def format(self, record):
        text = super().format(record)
        request = getattr(record, "request", None)
        if isinstance(request, HttpRequest):
            text += f" request={request.method} {request.path} body={request.body!r} post={dict(request.POST)!r}"
        elif request is not None:
            text += f" request={request}"
        return text


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []
        self.records: list[logging.LogRecord] = []
        self.setFormatter(_RequestDumpingFormatter("%(levelname)s %(message)s"))
        self.addFilter(RedactFilter())

    def emit(self, record):
        self.records.append(record)
        self.lines.append(self.format(record))


@pytest.fixture
def collected():
    handler = _Collect()
    logger = logging.getLogger("pbplatform.tests.redact")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, handler
    logger.removeHandler(handler)


def _secret_post():
    return RequestFactory().post("/cycles/pb-2025/vote/", {"access_code": SECRET, "choice": "7"})


def test_the_dumping_formatter_would_show_the_body_without_the_filter():
    # Control: proves the assertions below are about the filter, not the formatter.
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "Bad Request", None, None)
    record.request = _secret_post()
    assert SECRET in _RequestDumpingFormatter("%(message)s").format(record)


def test_request_on_a_record_is_reduced_to_method_and_path(collected):
    logger, handler = collected
    logger.warning("Bad Request: %s", "/cycles/pb-2025/vote/", extra={"request": _secret_post(), "status_code": 400})

    (line,) = handler.lines
    assert SECRET not in line
    assert "access_code" not in line
    assert line == "WARNING Bad Request: /cycles/pb-2025/vote/ request=POST /cycles/pb-2025/vote/"
    assert not isinstance(handler.records[0].request, HttpRequest)


def test_djangos_own_request_logging_carries_no_body(collected):
    _logger, handler = collected
    django_request = logging.getLogger("django.request")
    django_request.addHandler(handler)
    try:
        request = _secret_post()
        log_response("Bad Request: %s", request.path, response=HttpResponseBadRequest(), request=request)
    finally:
        django_request.removeHandler(handler)

    (line,) = handler.lines
    assert SECRET not in line
    assert "request=POST /cycles/pb-2025/vote/" in line


@pytest.mark.parametrize(
    ("message", "leaked"),
    [
        ("ballot 123e4567-e89b-12d3-a456-426614174000 stored", "123e4567-e89b-12d3-a456-426614174000"),
        ("ballot 123e4567e89b12d3a456426614174000 stored", "123e4567e89b12d3a456426614174000"),
        ("receipt K7QX-9MPA-2HZD issued", "K7QX-9MPA-2HZD"),
        ("access code k7qx9mpa2hzd8 refused", "k7qx9mpa2hzd8"),
        (f"login failed with {SECRET}", SECRET),
        ("GET /receipt/?code=K7QX&lang=es 200", "code=K7QX"),
    ],
)
def test_codes_ids_and_query_strings_are_redacted(collected, message, leaked):
    logger, handler = collected
    logger.info(message)

    (line,) = handler.lines
    assert leaked not in line
    assert "[redacted" in line


def test_redaction_applies_to_format_arguments(collected):
    logger, handler = collected
    logger.info("receipt %s issued for %s", "K7QX-9MPA-2HZD", "123e4567-e89b-12d3-a456-426614174000")

    assert handler.lines == ["INFO receipt [redacted-code] issued for [redacted-id]"]


def test_query_string_is_masked_but_the_path_kept(collected):
    logger, handler = collected
    logger.info('"GET /cycles/pb-2025/?token=abc HTTP/1.1" 200')

    assert handler.lines == ['INFO "GET /cycles/pb-2025/?[redacted] HTTP/1.1" 200']


@pytest.mark.parametrize(
    "message",
    [
        "Cycle phase changed from ideas to vetting by user 42 in 3 wards",
        "Tally finished in 2025: 1843 ballots, 12 projects, budget 50000",
        "well-known state-of-the-art COVID-19 relief on 2025-05-01",
    ],
)
def test_ordinary_words_and_small_numbers_survive(collected, message):
    logger, handler = collected
    logger.info(message)

    assert handler.lines == [f"INFO {message}"]


def test_exception_text_is_redacted(collected):
    logger, handler = collected
    try:
        raise ValueError("duplicate key (code)=(K7QX-9MPA-2HZD) already exists")
    except ValueError:
        logger.exception("saving the receipt failed")

    (line,) = handler.lines
    assert "saving the receipt failed" in line
    assert "Traceback" in line
    assert "ValueError: duplicate key (code)=([redacted-code]) already exists" in line
    assert "K7QX-9MPA-2HZD" not in line


def test_the_filter_is_on_every_configured_handler(settings):
    handlers = settings.LOGGING["handlers"]
    assert handlers
    for name, handler in handlers.items():
        assert "redact" in handler.get("filters", []), name
    assert settings.LOGGING["filters"]["redact"]["()"] == "core.logging.RedactFilter"


def test_codes_in_the_request_path_are_redacted(collected):
    logger, handler = collected
    path = "/receipts/K7QX-9MPA-2HZD/"
    logger.warning("Not Found: %s", path, extra={"request": RequestFactory().get(path, {"lang": "es"})})

    assert handler.lines == ["WARNING Not Found: /receipts/[redacted-code]/ request=GET /receipts/[redacted-code]/"]


@pytest.mark.parametrize(
    "message",
    [
        "cycle springfield-2027 not advanced to ideas: overdue",
        '"GET /cycles/springfield-2027/wards/ward-3/ HTTP/1.1" 200',
        "Not Found: /cycles/east-ward-2027/results/ward-12/",
        "cycle jersey-city-2026 opened on 2026-05-01 with 1843 ballots",
        "Task allocation.tasks.tally_cycle succeeded in 0.20481283000181429s: [1, 2]",
    ],
)
def test_slugs_and_paths_with_digits_survive(collected, message):
    logger, handler = collected
    logger.info(message)

    assert handler.lines == [f"INFO {message}"]


def test_a_slug_in_the_request_path_survives_beside_a_redacted_code(collected):
    logger, handler = collected
    path = "/cycles/springfield-2027/receipts/K7QX-9MPA-2HZD/"
    logger.warning("Not Found: %s", path, extra={"request": RequestFactory().get(path)})

    assert handler.lines == [
        "WARNING Not Found: /cycles/springfield-2027/receipts/[redacted-code]/ "
        "request=GET /cycles/springfield-2027/receipts/[redacted-code]/"
    ]


@pytest.mark.parametrize(
    ("message", "leaked", "marker"),
    [
        ("access code k7qx-9mpa-2hzd refused", "k7qx-9mpa-2hzd", "[redacted-code]"),
        ("receipt 7K2M-QX9D-ABCD-1234-WXYZ issued", "7K2M-QX9D-ABCD-1234-WXYZ", "[redacted-code]"),
        ("reset key 1a2-4f8e6c0b9d7a5e3c1b2d issued", "4f8e6c0b9d7a5e3c1b2d", "[redacted-code]"),
        ("mail to ana.perez+pb@example.org bounced", "ana.perez+pb@example.org", "[redacted-email]"),
        ("sms to +1 201 555 0142 failed", "201 555 0142", "[redacted-phone]"),
        ("sms to (201) 555-0142 failed", "555-0142", "[redacted-phone]"),
        ("sms to +34612345678 failed", "612345678", "[redacted-phone]"),
    ],
)
def test_secrets_are_redacted_by_their_shape(collected, message, leaked, marker):
    logger, handler = collected
    logger.info(message)

    (line,) = handler.lines
    assert leaked not in line
    assert marker in line
