from django.conf import settings

from .api import is_api_request, problem_http_response
from .context import reset_client_ip, set_client_ip
from .errors import PayloadTooLarge


def client_ip(request) -> str | None:
    # Behind a trusted proxy (production), the proxy sets X-Forwarded-For; take its last hop.
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip() or None
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = set_client_ip(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            reset_client_ip(token)


def api_body_limit(request) -> int:
    """The largest API request body accepted, in bytes: uploads (multipart) may carry a photo."""
    if request.META.get("CONTENT_TYPE", "").lower().startswith("multipart/"):
        return settings.PB_API_MAX_UPLOAD_BYTES
    return settings.PB_API_MAX_BODY_BYTES


class ApiBodyLimitMiddleware:
    """Refuse an API request whose declared body is over the limit with a 413 problem, before
    anything reads it (sessions, authentication, the parsers). Django's own limits still apply to
    what is read; the API's error handler answers those as 413 problems too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api_request(request):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > api_body_limit(request):
                return problem_http_response(request, PayloadTooLarge())
        return self.get_response(request)
