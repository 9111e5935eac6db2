"""core.views_mixins: where a refused visitor comes back to after logging in."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

ASSIGN = reverse("vetting_idea_assign", args=[1])  # a POST-only staff action
IDEA_PAGE = reverse("vetting_idea", args=[1])


def _next_of(response) -> str:
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("account_login")
    return parse_qs(location.query)["next"][0]


def test_a_refused_page_comes_back_to_itself(client):
    assert _next_of(client.get(f"{IDEA_PAGE}?tab=history")) == f"{IDEA_PAGE}?tab=history"


def test_a_form_sent_after_the_session_expired_comes_back_to_its_page_not_to_the_post_url(client):
    response = client.post(ASSIGN, {"reviewer": "1"}, HTTP_REFERER=f"http://testserver{IDEA_PAGE}?tab=review")
    assert _next_of(response) == f"{IDEA_PAGE}?tab=review"  # a GET that works, where the form was


@pytest.mark.parametrize("referer", ["", "https://evil.example/phish", "javascript:alert(1)"])
def test_without_a_referer_of_this_site_a_refused_form_comes_back_home(client, referer):
    response = client.post(ASSIGN, {"reviewer": "1"}, HTTP_REFERER=referer)
    assert _next_of(response) == reverse("home")
