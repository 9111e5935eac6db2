"""Bad input stops at the door as a 400 problem and changes nothing: pages out of range, JSON nested
too deeply, fields no input declares. Each case was a 500 or was silently accepted before."""

import importlib
import inspect
import json
import pkgutil

import pytest
from django.conf import settings as django_settings
from rest_framework import serializers
from rest_framework.test import APIClient

from core.api import PROBLEM_CONTENT_TYPE
from core.api_input import MAX_JSON_DEPTH, MSG_TOO_DEEP, MSG_UNKNOWN_FIELD, InputSerializer, Pagination
from core.models import AuditEvent
from proposals.models import Endorsement, Idea
from proposals.tests.builders import submit, ward
from tests.factories import CycleFactory

pytestmark = pytest.mark.django_db

IDEA = {
    "title": "Benches on Grove Street",
    "description": "Six benches between the PATH station and the library.",
    "district": "A",
    "address": "Grove St, Jersey City",
    "cost_guess": "12000",
}
IDEAS_URL = "/api/v1/cycles/jc/ideas/"


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert (body["status"], body["code"], body["type"]) == (status, code, f"urn:pbplatform:problem:{code}")
    assert body["instance"] == response.wsgi_request.path
    return body


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def cycle(db):
    return CycleFactory(ideas=True, wards="AB", slug="jc")


@pytest.fixture
def resident_api(resident):
    client = APIClient()
    client.force_authenticate(resident)
    return client


def stored() -> tuple[int, int]:
    return Idea.objects.count(), AuditEvent.objects.count()


# --- pages ----------------------------------------------------------------------------------------------
BIG = str(2**64)  # past PostgreSQL's bigint: the database refused it with a 500


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("limit", BIG), ("offset", BIG), ("limit", "0"), ("limit", "201"), ("limit", "-1"), ("offset", "ten")],
)
@pytest.mark.parametrize("url", ["/api/v1/cycles/", IDEAS_URL])
def test_a_page_parameter_out_of_range_is_a_400_problem(api_client, cycle, url, parameter, value):
    body = assert_problem(api_client.get(url, {parameter: value}), 400, "invalid")

    bounds = {"limit": (1, Pagination.max_limit), "offset": (0, Pagination.max_offset)}[parameter]
    assert body["errors"] == {parameter: [f"Give a whole number from {bounds[0]} to {bounds[1]}."]}


def test_pages_in_range_still_page(api_client, cycle):
    CycleFactory(ideas=True, slug="second")
    first = api_client.get("/api/v1/cycles/", {"limit": 1})
    second = api_client.get("/api/v1/cycles/", {"limit": 1, "offset": 1})
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["count"] == 2
    assert {first.json()["results"][0]["slug"], second.json()["results"][0]["slug"]} == {"jc", "second"}


def test_the_schema_states_the_page_bounds(api_client, db):
    schema = api_client.get("/api/v1/schema/", {"format": "json"}).json()
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/cycles/"]["get"]["parameters"]}
    assert parameters["limit"] == {"type": "integer", "minimum": 1, "maximum": Pagination.max_limit}
    assert parameters["offset"] == {"type": "integer", "minimum": 0, "maximum": Pagination.max_offset}


# --- JSON nested too deeply ---------------------------------------------------------------------------------
def test_two_kilobytes_of_nested_json_is_a_400_problem_and_stores_nothing(resident_api, cycle):
    before = stored()
    body = "[" * 2048 + "]" * 2048  # RecursionError in the decoder before: a 500 and a traceback per request
    response = resident_api.post(IDEAS_URL, body, content_type="application/json")

    assert assert_problem(response, 400, "parse_error")["detail"] == str(MSG_TOO_DEEP)
    assert stored() == before


def test_json_nested_past_the_limit_inside_a_field_is_refused(resident_api, cycle):
    before = stored()
    nested = "[" * 200 + "]" * 200  # decodes fine, but deeper than any input the API takes
    document = json.dumps({**IDEA, "title": "x"})[:-1] + f', "extra": {nested}}}'
    response = resident_api.post(IDEAS_URL, document, content_type="application/json")

    assert assert_problem(response, 400, "parse_error")["detail"] == str(MSG_TOO_DEEP)
    assert stored() == before


def test_json_at_the_depth_limit_is_parsed(resident_api, cycle):
    # One level for the body, the rest inside "title": the serializer answers, not the parser.
    title = json.loads("[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1))
    response = resident_api.post(IDEAS_URL, {**IDEA, "title": title}, format="json")

    assert set(assert_problem(response, 400, "invalid")["errors"]) == {"title"}


# --- fields no input declares ---------------------------------------------------------------------------------
def test_an_unknown_field_with_a_large_body_is_refused_and_stores_nothing(resident_api, cycle):
    before = stored()
    response = resident_api.post(IDEAS_URL, {**IDEA, "notes": "x" * 1_000_000}, format="json")

    body = assert_problem(response, 400, "invalid")
    assert body["errors"] == {"notes": [str(MSG_UNKNOWN_FIELD)]}
    assert stored() == before


def test_unknown_fields_come_with_the_other_errors(resident_api, cycle):
    response = resident_api.post(IDEAS_URL, {**IDEA, "title": "", "titel": "Benches"}, format="multipart")

    assert set(assert_problem(response, 400, "invalid")["errors"]) == {"title", "titel"}
    assert Idea.objects.count() == 0


def test_the_same_body_without_the_unknown_field_is_stored(resident_api, cycle):
    response = resident_api.post(IDEAS_URL, IDEA, format="json")
    assert response.status_code == 201, response.content
    assert Idea.objects.get().title == IDEA["title"]


def test_nested_inputs_refuse_unknown_fields_too():
    class Text(InputSerializer):
        title = serializers.CharField()

    class Outer(InputSerializer):
        texts = serializers.DictField(child=Text())

    payload = Outer(data={"texts": {"en": {"title": "Fountains", "colour": "blue"}}})
    assert not payload.is_valid()
    assert payload.errors == {"texts": {"en": {"colour": [str(MSG_UNKNOWN_FIELD)]}}}


def _api_modules(apps):
    """The API modules of ``apps``: ``api`` and ``api_results`` where an app has them, and every
    module of an ``api`` package."""
    for app in apps:
        for module_name in ("api", "api_results"):
            try:
                module = importlib.import_module(f"{app}.{module_name}")
            except ModuleNotFoundError:
                continue
            yield module
            for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
                yield importlib.import_module(f"{module.__name__}.{info.name}")


def _api_input_serializers():
    """Every serializer class the API modules define that reads a request body (named ``Input``)."""
    found = []
    for module in _api_modules(("accounts", "budgets", "proposals", "voting", "allocation", "audit")):
        for _name, obj in inspect.getmembers(module, inspect.isclass):
            candidates = [obj, *(v for v in vars(obj).values() if inspect.isclass(v))]
            for cls in candidates:
                if issubclass(cls, serializers.Serializer) and cls.__name__.endswith("Input"):
                    found.append(cls)
    return found


def test_every_api_input_refuses_unknown_fields():
    inputs = _api_input_serializers()
    assert len(inputs) >= 12  # the sweep found the inputs (a renamed module would empty it)
    assert [cls.__qualname__ for cls in inputs if not issubclass(cls, InputSerializer)] == []


def test_json_is_read_by_the_depth_limited_parser():
    assert django_settings.REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"][0] == "core.api_input.JSONParser"
    json_parsers = 0
    for module in _api_modules(("proposals", "voting", "allocation", "audit")):
        for _name, view in inspect.getmembers(module, inspect.isclass):
            for parser in getattr(view, "parser_classes", []):
                if parser.media_type == "application/json":
                    assert parser.__module__ == "core.api_input", (module.__name__, view)
                    json_parsers += 1
    assert json_parsers > 0  # the sweep found the views that name their parsers


def test_an_endpoint_that_takes_no_body_refuses_one(resident_api, cycle, user_factory):
    # Endorsing takes no input; a body sent there by mistake was ignored and the endorsement stored.
    idea = submit(cycle, user_factory(), district=ward(cycle, "A"))
    url = f"/api/v1/ideas/{idea.pk}/endorsement/"
    body = assert_problem(resident_api.post(url, {"comment": "Great idea"}, format="json"), 400, "invalid")
    assert body["errors"] == {"comment": [str(MSG_UNKNOWN_FIELD)]}
    assert Endorsement.objects.count() == 0

    assert resident_api.post(url).status_code == 201
    assert resident_api.post(url, {}, format="json").status_code == 200  # an empty object is no input
    assert Endorsement.objects.count() == 1
