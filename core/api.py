"""One error format for the whole API: RFC 7807 problem details (application/problem+json).

The exception handler turns every refusal into a problem: the services' ``ApplicationError``s,
DRF's own, a database that cannot be reached (503 with Retry-After) and bodies over the limits (413).
Django's error handlers (core.views) and the body-size middleware use the same problems, and the
schema hook documents them on every operation. What keeps bad input out (the parser, the input
serializers' base, the paginator) is in core.api_input.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .errors import ApplicationError, PayloadTooLarge, ServiceUnavailable
from .security import denial_log

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
API_PATH_PREFIX = "/api/"

_TITLES = {
    400: "Invalid input",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Server error",
    503: "Service unavailable",
}


def is_api_request(request) -> bool:
    return request is not None and request.path.startswith(API_PATH_PREFIX)


def problem_body(request, status_code: int, code: str, detail, errors=None) -> dict:
    body = {
        "type": f"urn:pbplatform:problem:{code}",
        "title": _TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": str(detail),
        "code": code,
    }
    if request is not None:
        body["instance"] = request.path
    if errors:
        body["errors"] = errors
    return body


def _problem(request, status_code: int, code: str, detail, errors=None) -> Response:
    body = problem_body(request, status_code, code, detail, errors)
    return Response(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def _application_errors(exc: ApplicationError) -> dict | None:
    return {k: [str(m) for m in v] for k, v in exc.extra.items()} if exc.extra else None


def problem_http_response(request, exc: ApplicationError):
    """The problem for ``exc`` as a plain Django response, for answers given outside DRF's views
    (middleware, Django's error handlers)."""
    body = problem_body(request, exc.status, exc.code, exc.message, _application_errors(exc))
    response = JsonResponse(
        body, status=exc.status, content_type=PROBLEM_CONTENT_TYPE, json_dumps_params={"separators": (",", ":")}
    )
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    return response


def application_error_for(exc: BaseException) -> ApplicationError | None:
    """The problem a framework or database exception stands for, or None for a real server error.

    The database being unreachable (OperationalError, InterfaceError) is a 503 the client may retry;
    a body over the size limits is a 413; any other request Django finds suspicious is a 400.
    """
    if isinstance(exc, ApplicationError):
        return exc
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("Database unavailable: %s", type(exc).__name__)
        return ServiceUnavailable()
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        return PayloadTooLarge()
    if isinstance(exc, SuspiciousOperation):
        return ApplicationError()
    return None


def problem_exception_handler(exc, context):
    request = context.get("request")
    response = _problem_response(exc, context, request)
    if response is not None and response.status_code in (401, 403) and request is not None:
        # Every denied access is logged — to the security log, not the audit log: a refusal
        # changes nothing (core.security).
        denial_log(
            request=request,
            reason=str(response.data.get("detail", "")) if isinstance(response.data, dict) else "",
            object_type="api",
            object_id=request.path[:64],
            status=response.status_code,
        )
    return response


def _problem_response(exc, context, request):
    error = application_error_for(exc)
    if error is not None:
        problem = _problem(request, error.status, error.code, error.message, _application_errors(error))
        if error.retry_after is not None:
            problem["Retry-After"] = str(error.retry_after)
        return problem
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None  # a real server error: let Django's 500 handling take it
    if isinstance(exc, drf_exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        problem = _problem(
            request, status.HTTP_400_BAD_REQUEST, "invalid", "Some of the information is not valid.", errors
        )
    else:
        detail = exc.detail if isinstance(exc, drf_exceptions.APIException) else str(exc)
        code = exc.get_codes() if isinstance(exc, drf_exceptions.APIException) else "error"
        problem = _problem(request, response.status_code, code if isinstance(code, str) else "error", detail)
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in response:
            problem[header] = response[header]
    return problem


# --- schema --------------------------------------------------------------------------------------------
PROBLEM_SCHEMA = {
    "type": "object",
    "description": "An RFC 7807 problem: what went wrong, in words, with field errors for invalid input.",
    "properties": {
        "type": {"type": "string", "example": "urn:pbplatform:problem:invalid"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "object", "description": "Messages by field (for invalid input)."},
    },
    "required": ["type", "title", "status", "detail", "code"],
}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# Answers any operation may give (reads too are refused in some phases); those that write may also
# refuse the body as too large or of the wrong media type.
_ANY_OPERATION = {
    "400": "Invalid input (the errors say which fields and why).",
    "403": "Not logged in, or not allowed.",
    "404": "No such object, or not visible to you.",
    "405": "Method not allowed.",
    "409": "Not possible in the cycle's current phase, or already done.",
    "503": "The database is unavailable for a moment; try again after Retry-After seconds.",
}
_WRITE_OPERATION = {
    "413": "The request body is too large.",
    "415": "Unsupported media type.",
}
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}


def problem_responses_hook(result, generator, request, public):
    """drf-spectacular postprocessing hook: every error an operation can answer is documented as
    application/problem+json with the Problem schema, including those the views do not list."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            expected = dict(_ANY_OPERATION)
            if method in ("post", "put", "patch", "delete"):
                expected.update(_WRITE_OPERATION)
            for code, description in expected.items():
                responses.setdefault(code, {"description": description})
            for code, response in responses.items():
                if code.isdigit() and int(code) >= 400:
                    response["content"] = {PROBLEM_CONTENT_TYPE: {"schema": _PROBLEM_REF}}
                    if code == "503":
                        response["headers"] = _RETRY_AFTER
    return result
