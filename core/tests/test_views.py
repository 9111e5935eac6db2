"""/healthz: the database decides; a Redis outage is reported, never fatal."""

import time

import pytest
from django.core.cache import cache
from django.db import DatabaseError
from django.test import Client

from core.errors import ServiceUnavailable
from core.tests.outage import database_down

BROKEN_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.25, "SOCKET_TIMEOUT": 0.25, "IGNORE_EXCEPTIONS": True},
    }
}


def test_healthz_reports_ok(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}
    assert "no-cache" in response["Cache-Control"]  # a load balancer must never see a cached answer
    assert cache.get("healthz") == "1"  # it really went through the cache


def test_healthz_with_redis_down_is_degraded_but_up_and_quick(client, db, settings):
    settings.CACHES = BROKEN_REDIS
    cache.set("probe", "1")
    assert cache.get("probe") is None  # the override took effect: writes are lost, not raised

    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "degraded"}
    assert elapsed < 2.0


def test_healthz_without_the_database_is_503(client, db, monkeypatch):
    class _BrokenConnection:
        def cursor(self):
            raise DatabaseError("connection refused")

    monkeypatch.setattr("core.views.connection", _BrokenConnection())
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable", "cache": "ok"}


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_healthz_only_answers_get(client, db, method):
    assert getattr(client, method)("/healthz").status_code == 405


@pytest.mark.parametrize("logged_in", [False, True])
def test_pages_during_a_database_outage_are_a_friendly_503(db, resident, logged_in):
    # Logged in, the session is read (from the database) before any view runs.
    client = Client(raise_request_exception=False)
    if logged_in:
        client.force_login(resident)
    with database_down():
        response = client.get("/")

    assert response.status_code == 503
    assert response["Retry-After"] == str(ServiceUnavailable.retry_after)
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "<h1>Unavailable for a moment</h1>" in html
    assert "The site cannot reach its database right now. Please try again in a minute." in html
