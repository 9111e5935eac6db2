"""The name on an account: asked before the first ballot online (with the birth date and address
of the ballot it finds the same person voting on another channel), set on its page or through the
API, audited; the ballot page and the cast API wait for it."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import services as account_services
from core.errors import NotAllowed, ValidationFailed
from core.models import AuditEvent
from proposals import services as proposal_services
from proposals.tests.builders import submit
from tests.factories import CycleFactory, user_with_role
from voting.models import Ballot, VoterRollEntry
from voting.tests.test_api import assert_problem, build, cast
from voting.tests.test_views import VOTER, ballot_url, voting_cycle

pytestmark = pytest.mark.django_db


@pytest.fixture
def nameless(db):
    return user_with_role("resident", full_name="")


def test_setting_ones_name_is_audited_and_refuses_blanks_and_other_accounts(nameless, resident):
    with pytest.raises(ValidationFailed) as blank:
        account_services.user_set_name(actor=nameless, user=nameless, name=" - ")
    assert blank.value.extra == {"full_name": [account_services.MSG_NAME_REQUIRED]}
    with pytest.raises(NotAllowed):
        account_services.user_set_name(actor=resident, user=nameless, name="Mallory")
    assert not AuditEvent.objects.filter(action="user.name_set").exists()
    account_services.user_set_name(actor=nameless, user=nameless, name="  Alice   Example ")
    nameless.refresh_from_db()
    assert nameless.full_name == "Alice Example"
    (event,) = AuditEvent.objects.filter(action="user.name_set")
    assert (event.actor_id, event.before, event.after) == (
        nameless.pk,
        {"full_name": ""},
        {"full_name": "Alice Example"},
    )


def test_an_account_without_a_name_gives_it_before_its_first_ballot(client, official, nameless):
    cycle = voting_cycle(official)
    client.force_login(nameless)
    ballot = ballot_url(cycle, "A")
    for response in (client.get(ballot), client.post(ballot, {**VOTER, "project": ["A-01"], "step": "cast"})):
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('account_name')}?next={ballot.replace('/', '%2F')}"
    assert Ballot.objects.count() == VoterRollEntry.objects.count() == 0

    page = client.get(response["Location"]).content.decode()
    assert "Before your first ballot, please give your full name." in page and 'autocomplete="name"' in page
    refused = client.post(reverse("account_name"), {"full_name": "   ", "next": ballot})
    assert refused.status_code == 200 and "Enter your full name." in refused.content.decode()
    outside = client.post(reverse("account_name"), {"full_name": "Alice Example", "next": "https://evil.example/"})
    assert outside["Location"] == reverse("account_preferences")  # only pages of this site
    saved = client.post(reverse("account_name"), {"full_name": "Alice Example", "next": ballot})
    assert saved.status_code == 302 and saved["Location"] == ballot

    form = client.get(ballot).content.decode()
    assert 'name="name"' not in form  # the account's name is the one on the account
    client.post(ballot, {**VOTER, "project": ["A-01"], "step": "cast"})
    assert Ballot.objects.count() == VoterRollEntry.objects.count() == 1


def test_the_api_asks_an_account_for_its_name_before_casting(official, nameless):
    build(official)
    client = APIClient()
    client.force_authenticate(nameless)
    body = assert_problem(cast(client, "A", ["A-01"]), 400)
    assert body["errors"]["name"] and "PATCH /api/v1/me/" in body["errors"]["name"][0]
    assert Ballot.objects.count() == 0
    assert client.patch("/api/v1/me/", {"full_name": ""}, format="json").status_code == 400
    me = client.patch("/api/v1/me/", {"full_name": "Alice Example"}, format="json")
    assert me.status_code == 200 and me.json()["full_name"] == "Alice Example"
    nameless.refresh_from_db()
    client.force_authenticate(nameless)  # as the next request loads the account
    assert cast(client, "A", ["A-01"]).status_code == 201
    assert APIClient().patch("/api/v1/me/", {"full_name": "X"}, format="json").status_code in (401, 403)


def test_the_name_given_for_voting_is_never_shown_to_others(client):
    # The full name feeds duplicate matching only: a resident who gave it and then comments is still
    # "A resident" on the idea page and in the API, for everyone else.
    nameless = user_with_role("resident", display_name="", full_name="")  # as sign-up makes them
    account_services.user_set_name(actor=nameless, user=nameless, name="Alice Private-Example")
    cycle = CycleFactory(ideas=True, wards="A")
    idea = submit(cycle, user_with_role("resident"))
    proposal_services.comment_add(actor=nameless, idea=idea, body="Benches here, please.")
    page = client.get(reverse("idea_detail", args=[idea.pk])).content.decode()
    api = APIClient().get(f"/api/v1/ideas/{idea.pk}/").content.decode()
    assert "Benches here, please." in page and "Benches here, please." in api
    for shown in (page, api):
        assert "Private-Example" not in shown
    assert "A resident" in page
