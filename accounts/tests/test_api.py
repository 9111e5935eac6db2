import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_me_shows_the_account_and_its_roles(official):
    client = APIClient()
    client.force_authenticate(official)
    body = client.get("/api/v1/me/").json()
    assert body["id"] == official.pk and body["email"] == official.email
    assert body["roles"] == ["official", "resident"]


def test_me_needs_a_login():
    response = APIClient().get("/api/v1/me/")
    assert response.status_code in (401, 403)
    assert response["Content-Type"].startswith("application/problem+json")
