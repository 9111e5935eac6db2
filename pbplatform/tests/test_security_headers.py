"""Every response carries a strict content security policy, a referrer policy and a permissions
policy (base settings: the same in tests, local and production)."""

import pytest
from django.urls import reverse

from pbplatform.settings.base import _tile_origin

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/api/v1/docs/", "/api/v1/me/", "/nowhere/"])
def test_the_policy_is_strict_on_every_kind_of_response(client, path):
    response = client.get(path)

    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no nonce, no other origin
    assert policy["style-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:", "https://tile.openstreetmap.org"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert "Content-Security-Policy-Report-Only" not in response.headers
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    permissions = response.headers["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
        assert feature in permissions


def test_the_api_docs_need_no_inline_script(client):
    page = client.get(reverse("api-docs")).content.decode()
    assert "<style" not in page
    scripts = page.split("<script")[1:]
    assert scripts and all(s.split(">")[0].strip().startswith("src=") for s in scripts)
    assert "?script=" in page
    script = client.get(reverse("api-docs") + "?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


@pytest.mark.parametrize(
    "url, origin",
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
        ("https://tiles.example.org:8443/osm/{z}/{x}/{y}.png", "https://tiles.example.org:8443"),
        ("/tiles/{z}/{x}/{y}.png", None),  # tiles from this site: 'self' covers them
    ],
)
def test_the_map_tile_origin(url, origin):
    assert _tile_origin(url) == origin
