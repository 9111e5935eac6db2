"""The whole API under schemathesis: requests generated from the OpenAPI schema (valid and invalid),
anonymously, as a resident and as an official (with MFA set up), against a cycle collecting ideas
and one that is voting. Any 5xx, and any answer that the schema does not describe (status, media
type, headers, body), fails the test.

The seed is fixed and generation deterministic, so a run is the same run every time; the number of
examples per operation bounds its time.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from proposals.tests.builders import make_project, move, new_resident, submit, ward
from tests.ballots import ballot_prepare
from tests.factories import CycleFactory, user_with_role
from voting import services as voting_services

SEED = 20261204
MAX_EXAMPLES = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _world() -> dict[str, list]:
    """A cycle collecting ideas ("ideas-open") and one voting ("voting-open"), with ideas, projects
    and ballots; the values that name them, for the generated paths to hit real objects often."""
    official = user_with_role("official")
    author = new_resident()
    collecting = CycleFactory(ideas=True, wards="AB", slug="ideas-open")
    open_ideas = [submit(collecting, author, title=f"Idea {n}", district=ward(collecting, "A")) for n in (1, 2)]

    voting = CycleFactory(ideas=True, wards="AB", slug="voting-open")
    ideas = [submit(voting, author, title=f"Idea for {code}", district=ward(voting, code)) for code in "AB"]
    move(voting, official, "vetting")
    projects = [
        make_project(voting, official, [ideas[0]], code="A-01", cost="20000", district="A"),
        make_project(voting, official, [ideas[1]], code="B-01", cost="10000", district="B"),
    ]
    ballot_prepare(voting, official)
    voting_services.ballot_design_set(actor=official, district=ward(voting, "B"), method="ranked", max_picks=1)
    move(voting, official, "voting")
    return {
        "slugs": ["ideas-open", "voting-open"],
        "codes": ["A", "B"],
        "ids": [idea.pk for idea in open_ideas + ideas] + [project.pk for project in projects],
    }


@pytest.fixture
def in_test_transaction():
    """Requests go straight to the WSGI application, which closes the database connection at the end
    of each one — the test's transaction with it. Django's test client stops that; so does this."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def _schema(world: dict[str, list]):
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            "dictionaries": {name: {"values": values} for name, values in world.items()},
            "parameters": {
                "path.slug": {"dictionary": "slugs", "probability": 0.8},
                "path.cycle_slug": {"dictionary": "slugs", "probability": 0.8},
                "path.code": {"dictionary": "codes", "probability": 0.8},
                "path.id": {"dictionary": "ids", "probability": 0.8},
                "body.district": {"dictionary": "codes", "probability": 0.8},
            },
        }
    )
    return schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application(), config=config)


def _failures(schema, headers: dict[str, str]) -> list[str]:
    """Every operation, with valid and with invalid input: what failed, one report per operation
    and mode (schemathesis' pytest plugin would make these subtests)."""
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @HYPOTHESIS
            def run(case):
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                continue  # nothing invalid to send: e.g. only a path parameter that takes any text
            except (FailureGroup, Exception) as error:  # noqa: BLE001 — every operation's failure, reported together
                failures.append(f"{operation.label} ({mode.value}):\n{error}")
    return failures


HYPOTHESIS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=MAX_EXAMPLES,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.postgres
def test_api_conforms_to_its_schema_anonymously(db, in_test_transaction):
    failures = _failures(_schema(_world()), headers={})
    assert not failures, "\n\n".join(failures)


@pytest.mark.postgres
def test_api_conforms_to_its_schema_as_a_resident(db, in_test_transaction):
    world = _world()
    token = Token.objects.create(user=user_with_role("resident"))
    failures = _failures(_schema(world), headers={"Authorization": f"Token {token.key}"})
    assert not failures, "\n\n".join(failures)


@pytest.mark.postgres
def test_api_conforms_to_its_schema_as_an_official(db, in_test_transaction):
    # The staff endpoints (vetting, projects, phases, audit) past their permission checks.
    world = _world()
    token = Token.objects.create(user=user_with_role("official"))
    failures = _failures(_schema(world), headers={"Authorization": f"Token {token.key}"})
    assert not failures, "\n\n".join(failures)
