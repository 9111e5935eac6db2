"""A request body over the API's limits is a 413 problem, not Django's HTML page, and stores nothing."""

import io
import json

import pytest
from rest_framework.test import APIClient

from core.api import PROBLEM_CONTENT_TYPE
from core.errors import PayloadTooLarge
from proposals.models import Idea
from tests.factories import CycleFactory

pytestmark = pytest.mark.django_db

IDEAS_URL = "/api/v1/cycles/jc/ideas/"
IDEA = {
    "title": "Benches on Grove Street",
    "description": "Six benches between the PATH station and the library.",
    "district": "A",
    "address": "Grove St, Jersey City",
    "cost_guess": "12000",
}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def resident_api(resident):
    CycleFactory(ideas=True, wards="AB", slug="jc")
    client = APIClient()
    client.force_authenticate(resident)
    return client


def assert_too_large(response):
    assert response.status_code == 413, response.content[:300]
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert (body["status"], body["code"], body["title"]) == (413, "too_large", "Request too large")
    assert body["detail"] == str(PayloadTooLarge.default_message)
    assert body["instance"] == IDEAS_URL


def test_a_json_body_over_the_limit_is_a_413_problem(resident_api, settings):
    body = json.dumps({**IDEA, "description": "x" * (settings.PB_API_MAX_BODY_BYTES + 1)})
    assert_too_large(resident_api.post(IDEAS_URL, body, content_type="application/json"))
    assert Idea.objects.count() == 0


def test_a_json_body_under_the_limit_is_read(resident_api, settings):
    # Just under the limit: the service answers (a description that long is refused), not the middleware.
    body = json.dumps({**IDEA, "description": "x" * (settings.PB_API_MAX_BODY_BYTES - 1000)})
    response = resident_api.post(IDEAS_URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] != "too_large"


def test_an_upload_over_its_limit_is_a_413_problem(resident_api, settings):
    settings.PB_API_MAX_UPLOAD_BYTES = 100_000
    photo = io.BytesIO(b"\xff\xd8" + b"0" * 150_000)
    photo.name = "photo.jpg"
    assert_too_large(resident_api.post(IDEAS_URL, {**IDEA, "photo": photo}, format="multipart"))
    assert Idea.objects.count() == 0


def test_a_form_field_over_djangos_limit_is_a_413_problem_too(resident_api, settings):
    # Under the upload limit, so the middleware lets it through; Django's own limit on fields that are
    # not files (RequestDataTooBig) answered with its HTML 400 page before.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50_000
    response = resident_api.post(IDEAS_URL, {**IDEA, "description": "x" * 60_000}, format="multipart")
    assert_too_large(response)
    assert Idea.objects.count() == 0


def test_the_limit_is_for_the_api_only(client, db, settings):
    settings.PB_API_MAX_BODY_BYTES = 10
    response = client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    assert response.status_code == 302
