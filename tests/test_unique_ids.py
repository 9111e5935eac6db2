"""No page repeats an id: a label, a skip link, an error summary's link or a region's name that
points at an id reaches the element meant (the vote page's "How to vote" once gave its id to both
its region and its heading). Every main public and resident page, as a visitor and as a resident,
in English and Spanish, with its forms refused as well as blank."""

from collections import Counter
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.urls import reverse

from budgets.demo import DEMO_SLUG, demo_load
from proposals.models import Idea, Project
from tests.factories import CycleFactory, UserFactory

pytestmark = pytest.mark.django_db


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = []

    def handle_starttag(self, tag, attrs):
        self.ids.extend(value for name, value in attrs if name == "id")


def duplicate_ids(html: str) -> list[str]:
    parser = _Ids()
    parser.feed(html)
    return sorted(i for i, n in Counter(parser.ids).items() if n > 1)


def assert_unique_ids(client, url, *, data=None, language="en"):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.post(url, data) if data is not None else client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert duplicate_ids(response.content.decode()) == [], url


def test_the_parser_finds_a_repeated_id():
    assert duplicate_ids('<section id="a"><h2 id="a">x</h2><p id="b"></p></section>') == ["a"]


@pytest.mark.parametrize("language", ["en", "es"])
def test_no_page_repeats_an_id(client, language):
    demo_load(phase="voting")
    CycleFactory(ideas=True, wards="AB")  # a second cycle on the home page: each card's ids its own
    idea = Idea.objects.filter(cycle__slug=DEMO_SLUG).first()
    project = Project.objects.filter(district__cycle__slug=DEMO_SLUG).select_related("district").first()
    pages = [
        reverse("home"),
        reverse("cycle_detail", args=[DEMO_SLUG]),
        reverse("idea_list", args=[DEMO_SLUG]),
        reverse("idea_detail", args=[idea.pk]),
        reverse("project_list", args=[DEMO_SLUG]),
        reverse("project_detail", args=[project.pk]),
        reverse("vote_index", args=[DEMO_SLUG]),  # a visitor: "How to vote"
        reverse("vote_code", args=[DEMO_SLUG]),
        reverse("receipt"),
        reverse("account_login"),
        reverse("account_signup"),
    ]
    for url in pages:
        assert_unique_ids(client, url, language=language)
    assert client.get(reverse("home")).content.decode().count('class="districts"') == 2
    # Refused forms: their error summaries and field errors.
    refused = {
        reverse("account_login"): {"login": "no@example.org", "password": "x"},
        reverse("account_signup"): {"email": "x", "password1": "1", "password2": "2"},
    }
    for url, data in refused.items():
        assert_unique_ids(client, url, data=data, language=language)

    # A resident: the list of ballots and a ballot.
    resident = UserFactory(full_name="Rosa Example")
    client.force_login(resident)
    assert_unique_ids(client, reverse("vote_index", args=[DEMO_SLUG]), language=language)
    assert_unique_ids(client, reverse("vote_ballot", args=[DEMO_SLUG, project.district.code]), language=language)
    client.logout()

    demo_load(phase="results", force=True)  # the resident above is not a demo account
    for url in (
        reverse("cycle_results", args=[DEMO_SLUG]),
        reverse("district_results", args=[DEMO_SLUG, project.district.code]),
        reverse("public_record", args=[DEMO_SLUG]),
    ):
        assert_unique_ids(client, url, language=language)
