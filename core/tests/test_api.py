"""One error format for the API (RFC 7807 problem details), and the self-hosted schema and docs."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.db import InterfaceError
from rest_framework.test import APIClient

from budgets.permissions import MSG_LOGIN_REQUIRED, MSG_MFA_REQUIRED, MSG_ROLE_REQUIRED
from core.api import PROBLEM_CONTENT_TYPE
from core.errors import ServerError, ServiceUnavailable
from core.models import AuditEvent
from core.tests.outage import database_down

PROBLEM_KEYS = {"type", "title", "status", "detail"}


def _assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body.keys() >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["type"] == f"urn:pbplatform:problem:{code}"
    assert body["code"] == code
    assert body["instance"] == response.wsgi_request.path
    return body


@pytest.fixture
def api():
    return APIClient()


def test_unknown_cycle_is_a_404_problem(api, db):
    body = _assert_problem(api.get("/api/v1/cycles/does-not-exist/"), 404, "not_found")
    assert body["title"] == "Not found"
    assert body["detail"]


def test_anonymous_transition_is_a_403_problem_asking_to_log_in(api, cycle_factory):
    # Session authentication comes first and sends no WWW-Authenticate challenge, so DRF answers an
    # unauthenticated request with 403, not 401; the view's NotAllowed says why.
    cycle = cycle_factory(ideas=True)
    response = api.post(f"/api/v1/cycles/{cycle.slug}/transition/", {"target": "vetting", "reason": "x"})

    body = _assert_problem(response, 403, "forbidden")
    assert body["title"] == "Forbidden"
    assert body["detail"] == str(MSG_LOGIN_REQUIRED)
    assert "WWW-Authenticate" not in response
    cycle.refresh_from_db()
    assert cycle.phase == "ideas"


def test_bad_token_is_a_403_problem(api, cycle_factory):
    cycle = cycle_factory(ideas=True)
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api.post(f"/api/v1/cycles/{cycle.slug}/transition/", {"target": "vetting", "reason": "x"})

    body = _assert_problem(response, 403, "authentication_failed")
    assert body["detail"] == "Invalid token."


def test_resident_transition_is_refused_for_lack_of_role(api, cycle_factory, resident):
    cycle = cycle_factory(ideas=True)
    api.force_authenticate(resident)
    response = api.post(f"/api/v1/cycles/{cycle.slug}/transition/", {"target": "vetting", "reason": "x"})

    assert _assert_problem(response, 403, "forbidden")["detail"] == str(MSG_ROLE_REQUIRED)


def test_official_without_mfa_is_refused_in_the_api_too(api, cycle_factory, official_without_mfa):
    cycle = cycle_factory(ideas=True)
    api.force_authenticate(official_without_mfa)
    response = api.post(f"/api/v1/cycles/{cycle.slug}/transition/", {"target": "vetting", "reason": "x"})

    assert _assert_problem(response, 403, "forbidden")["detail"] == str(MSG_MFA_REQUIRED)


def test_invalid_input_is_a_400_problem_with_field_errors(api, cycle_factory, official):
    cycle = cycle_factory(ideas=True)
    api.force_authenticate(official)
    events_before = AuditEvent.objects.count()
    response = api.post(f"/api/v1/cycles/{cycle.slug}/transition/", {"target": "no-such-phase"}, format="json")

    body = _assert_problem(response, 400, "invalid")
    assert body["title"] == "Invalid input"
    assert set(body["errors"]) == {"target", "reason"}
    assert AuditEvent.objects.count() == events_before


def test_wrong_method_is_a_405_problem_with_allow(api, cycle_factory, official):
    cycle = cycle_factory(ideas=True)
    api.force_authenticate(official)
    response = api.get(f"/api/v1/cycles/{cycle.slug}/transition/")

    _assert_problem(response, 405, "method_not_allowed")
    assert "POST" in response["Allow"]


def test_schema_is_served(api, db):
    response = api.get("/api/v1/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "pbplatform API"
    assert "/api/v1/cycles/{slug}/transition/" in schema["paths"]
    assert "/api/v1/cycles/{slug}/" in schema["paths"]


def test_docs_page_uses_only_local_static_files(client, db):
    response = client.get("/api/v1/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn" not in html.lower()
    assets = re.findall(r"<(?:script|link|img)\b[^>]*?\b(?:src|href)=[\"']([^\"']+)[\"']", html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    # The start-up script is a request of its own on this site (no inline script: the content
    # security policy), everything else a static file.
    assert "/api/v1/docs/?script=" in assets
    for asset in (a for a in assets if a != "/api/v1/docs/?script="):
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")) is not None, asset
    script = client.get("/api/v1/docs/?script=").content.decode()
    assert '"/api/v1/schema/"' in script  # the UI loads the schema from this site


# --- the database unavailable ------------------------------------------------------------------------------
def _assert_unavailable(response):
    body = _assert_problem(response, 503, "unavailable")
    assert body["title"] == "Service unavailable"
    assert body["detail"] == str(ServiceUnavailable.default_message)
    assert response["Retry-After"] == str(ServiceUnavailable.retry_after)


def test_database_outage_is_a_503_problem_with_retry_after(api, cycle_factory):
    cycle_factory(ideas=True, slug="jc")
    with database_down():
        response = api.get("/api/v1/cycles/jc/")
    _assert_unavailable(response)


def test_a_refusal_during_a_database_outage_is_still_its_403_problem(cycle_factory):
    # A refusal writes nothing to the database (it goes to the security log), so an outage does not
    # turn it into an error page: the client is told it may not, as a problem.
    cycle = cycle_factory(ideas=True)
    with database_down():
        response = APIClient(raise_request_exception=False).post(
            f"/api/v1/cycles/{cycle.slug}/transition/", {"target": "vetting", "reason": "x"}, format="json"
        )
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    cycle.refresh_from_db()
    assert cycle.phase == "ideas"


def test_interface_error_is_a_503_problem(api, resident):
    api.force_authenticate(resident)
    with database_down(InterfaceError("connection already closed")):
        response = api.get("/api/v1/me/")
    _assert_unavailable(response)


def test_other_server_errors_in_the_api_are_500_problems(monkeypatch, db):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("budgets.api.PhaseListView.get", broken)
    response = APIClient(raise_request_exception=False).get("/api/v1/phases/")
    body = _assert_problem(response, 500, "server_error")
    assert body["detail"] == str(ServerError.default_message)
    assert "a bug" not in response.content.decode()


def test_unknown_api_path_is_a_404_problem(api, db):
    _assert_problem(api.get("/api/v1/no-such-thing/"), 404, "not_found")


def test_schema_documents_problem_responses_on_every_operation(api, db):
    schema = api.get("/api/v1/schema/", {"format": "json"}).json()
    assert schema["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status", "detail", "code"]
    problem = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert {"400", "403", "404", "503"} <= set(responses), (method, path)
            assert responses["503"]["headers"]["Retry-After"]["schema"] == {"type": "integer"}
            if method in ("post", "put", "patch", "delete"):
                assert "413" in responses, (method, path)
            for code, response in responses.items():
                if int(code) >= 400:
                    assert response["content"] == problem, (method, path, code)
