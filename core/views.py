import sys

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils.cache import patch_cache_control
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .api import application_error_for, is_api_request, problem_http_response
from .errors import ApplicationError, NotFound, ServerError, ServiceUnavailable
from .selectors import scheduler_state


def _scheduler():
    """The beat schedule's heartbeat: "ok", "stale" (a periodic task has not run recently) or
    "unknown" (the database does not answer)."""
    try:
        state = scheduler_state()
    except Exception:  # noqa: BLE001
        return "unknown", None
    last = state.last_run_at.isoformat().replace("+00:00", "Z") if state.last_run_at else None
    return ("stale" if state.stale else "ok"), last


@never_cache
@require_GET
def healthz(request):
    """For load balancers: 200 when the database answers. Redis is reported, not required —
    a Redis outage delays notifications but never blocks a vote. So is the scheduler (Celery beat
    and a worker): a stale one is reported in ``scheduler``, never fatal here (``/healthz/scheduler``
    answers 503 for a monitor that alerts on the status code)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception:  # noqa: BLE001
        database = "unavailable"
    cache_state = "ok"
    try:
        cache.set("healthz", "1", 5)
        if cache.get("healthz") != "1":
            cache_state = "degraded"
    except Exception:  # noqa: BLE001
        cache_state = "degraded"
    ok = database == "ok"
    scheduler, last_run = _scheduler() if ok else ("unknown", None)
    return JsonResponse(
        {
            "status": "ok" if ok else "unavailable",
            "database": database,
            "cache": cache_state,
            "scheduler": scheduler,
            "scheduler_last_run_at": last_run,
        },
        status=200 if ok else 503,
    )


@never_cache
@require_GET
def healthz_scheduler(request):
    """For monitoring: 200 while every periodic task ran recently, 503 when one is late (or the
    database does not answer)."""
    scheduler, last_run = _scheduler()
    return JsonResponse(
        {"scheduler": scheduler, "scheduler_last_run_at": last_run}, status=200 if scheduler == "ok" else 503
    )


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico whatever a page links to: send them to the static icon (its
    name may carry a content hash, so the redirect is cached for a day rather than for ever)."""
    response = HttpResponseRedirect(static("favicon.ico"))
    patch_cache_control(response, public=True, max_age=86400)
    return response


# --- error pages: problems for the API, friendly pages elsewhere ------------------------------------------


def bad_request(request, exception=None):
    if is_api_request(request):
        return problem_http_response(request, application_error_for(exception) or ApplicationError())
    return defaults.bad_request(request, exception)


def page_not_found(request, exception=None):
    if is_api_request(request):
        return problem_http_response(request, NotFound())
    return defaults.page_not_found(request, exception)


def server_error(request):
    """Django's last resort, called while the exception is being handled: the database being
    unreachable is a 503 with Retry-After (a problem in the API, a page that renders without the
    database elsewhere); anything else is a 500."""
    error = application_error_for(sys.exc_info()[1] or Exception())
    if is_api_request(request):
        return problem_http_response(request, error or ServerError())
    if isinstance(error, ServiceUnavailable):
        # Rendered without the request: its context processors would ask the database.
        page = render_to_string("503.html", {"site_name": settings.PB_SITE_NAME})
        response = HttpResponse(page, status=error.status)
        response["Retry-After"] = str(error.retry_after)
        return response
    return defaults.server_error(request)
