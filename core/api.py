"""One error format for the whole API: RFC 7807 problem details (application/problem+json)."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .errors import ApplicationError
from .security import denial_log

PROBLEM_CONTENT_TYPE = "application/problem+json"

_TITLES = {
    400: "Invalid input",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    415: "Unsupported media type",
    429: "Too many requests",
}


def _problem(request, status_code: int, code: str, detail, errors=None) -> Response:
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
    return Response(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def problem_exception_handler(exc, context):
    request = context.get("request")
    response = _problem_response(exc, context, request)
    if response is not None and response.status_code in (401, 403) and request is not None:
        # Every denied access is logged — to the security log, not the audit log: a refusal
        # changes nothing (core.security).
        denial_log(
            request=request, reason=str(response.data.get("detail", "")) if isinstance(response.data, dict) else "",
            object_type="api", object_id=request.path[:64], status=response.status_code,
        )  # fmt: skip
    return response


def _problem_response(exc, context, request):
    if isinstance(exc, ApplicationError):
        errors = {k: [str(m) for m in v] for k, v in exc.extra.items()} if exc.extra else None
        return _problem(request, exc.status, exc.code, exc.message, errors)
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
