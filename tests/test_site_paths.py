"""Paths people and programs try first: the API's index, the staff area's front door, the favicon."""

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def test_the_api_index_lists_its_collections_schema_and_docs_and_each_link_answers():
    client = Client()
    response = client.get("/api/v1/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    index = response.json()
    assert index == {
        "cycles": "http://testserver/api/v1/cycles/",
        "phases": "http://testserver/api/v1/phases/",
        "me": "http://testserver/api/v1/me/",
        "receipt-check": "http://testserver/api/v1/receipts/check/",
        "schema": "http://testserver/api/v1/schema/",
        "docs": "http://testserver/api/v1/docs/",
    }
    for name in ("cycles", "phases", "schema", "docs"):
        assert client.get(index[name]).status_code == 200, name


def test_the_api_index_is_browsable_in_a_browser():
    response = Client().get("/api/v1/", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert 'href="http://testserver/api/v1/docs/"' in page
    assert 'href="http://testserver/api/v1/schema/"' in page
    # Our own description, not DRF's default, with a link to the docs page.
    assert "The default basic root view" not in page
    assert "The participatory budgeting platform&#x27;s API, version 1" in page
    assert '<a href="/api/v1/docs/">Read the API documentation.</a>' in page


def test_the_api_index_describes_itself_in_the_readers_language(settings):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    page = client.get("/api/v1/", HTTP_ACCEPT="text/html").content.decode()
    assert "La API de la plataforma de presupuesto participativo, versión 1" in page
    assert '<a href="/api/v1/docs/">Lea la documentación de la API.</a>' in page


def test_the_api_index_is_not_in_the_schema():
    schema = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/v1/" not in schema["paths"]


@pytest.mark.parametrize(
    ("role", "landing"),
    [
        ("official", "staff_cycle_list"),
        ("vetting_staff", "staff_cycle_list"),
        ("administrator", "staff_roles"),
    ],
)
def test_staff_redirects_to_the_staff_area(role, landing):
    client = Client()
    client.force_login(user_with_role(role))

    response = client.get("/staff/")

    assert response.status_code == 302 and response.url == reverse(landing)
    assert client.get(response.url).status_code == 200


def test_staff_for_someone_without_a_staff_role_is_the_staff_areas_own_refusal():
    anonymous = Client().get("/staff/", follow=True)
    assert anonymous.redirect_chain[0] == (reverse("staff_cycle_list"), 302)
    assert anonymous.request["PATH_INFO"] == reverse("account_login")

    resident = Client()
    resident.force_login(user_with_role("resident"))
    response = resident.get("/staff/", follow=True)
    assert response.redirect_chain == [(reverse("staff_cycle_list"), 302)]
    assert response.status_code == 403


def test_every_page_links_a_favicon_that_exists():
    page = Client().get("/").content.decode()

    assert '<link rel="icon" href="/static/favicon.ico"' in page
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    assert finders.find("favicon.ico") and finders.find("favicon.svg")
    with open(finders.find("favicon.ico"), "rb") as icon:
        assert icon.read(4) == b"\x00\x00\x01\x00"  # an ICO file's header


def test_favicon_ico_at_the_root_answers():
    response = Client().get("/favicon.ico")

    assert response.status_code == 302 and response.url == "/static/favicon.ico"
    assert "max-age=86400" in response["Cache-Control"]
