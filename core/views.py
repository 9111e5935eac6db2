from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request):
    """For load balancers: 200 when the database answers. Redis is reported, not required —
    a Redis outage delays notifications but never blocks a vote (DESIGN.md §5)."""
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
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "database": database, "cache": cache_state},
        status=200 if ok else 503,
    )
