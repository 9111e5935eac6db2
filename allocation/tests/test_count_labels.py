"""What a project's number is called on the results pages and the tally page: votes (approval,
knapsack), points (cumulative) or ranking points (ranked, L − r per ballot), chosen in one place
(``allocation.selectors.results.count_label``), with the right plural in running text."""

import re
from fractions import Fraction

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from allocation.selectors import results
from allocation.services import cycle_certify, tally_cycle
from budgets.phases import Phase
from budgets.services import cycle_transition
from voting import methods, services
from voting.tests.builders import World, voter, voting_world

from .results_builders import results_world

pytestmark = pytest.mark.django_db

# Ward A is cumulative (10 points each): A-01 6, A-02 7, A-03 1 point. Greedy funds
# ($35,000 of $50,000); A-03 ($30,000) does not fit. Ward B is ranked: B-03 gets 2 + 1 = 3 ranking
# points, B-01 1, B-02 none; greedy funds B-03 and B-01.
CUMULATIVE_BALLOTS = [(("A-01", "A-02"), (6, 4)), (("A-02", "A-03"), (3, 1))]
RANKED_BALLOTS = [("B-03", "B-01"), ("B-03",)]


def counted_world(official, *, certify: bool = True) -> World:
    world = voting_world(
        official,
        designs={
            "A": {"method": "cumulative", "points_total": 10, "max_picks": None},
            "B": {"method": "ranked", "max_picks": 3},
        },
    )
    n = 0
    for choices, points in CUMULATIVE_BALLOTS:
        n += 1
        ballot = methods.Ballot(choices=choices, points=points)
        services.ballot_cast(voter=voter(f"c{n}"), district=world.district("A"), ballot=ballot)
    for choices in RANKED_BALLOTS:
        n += 1
        services.ballot_cast(voter=voter(f"r{n}"), district=world.district("B"), ballot=methods.Ballot(choices))
    world.cycle = cycle_transition(actor=official, cycle=world.cycle, target=Phase.COUNTING, reason="Close.")
    tally_cycle(cycle=world.cycle)
    if certify:
        world.cycle = cycle_certify(actor=official, cycle=world.cycle, reason="Test: certified.")
    return world


def page(client, world: World, code: str) -> str:
    response = client.get(reverse("district_results", args=[world.cycle.slug, code]))
    assert response.status_code == 200
    return response.content.decode()


def headers(html: str, marker: str) -> list[str]:
    """The column headings of the first table after ``marker`` (e.g. 'id="votes-table"')."""
    head = html.split(marker, 1)[1].split("</thead>", 1)[0]
    return re.findall(r'<th scope="col"[^>]*>([^<]*)</th>', head)


def not_funded(html: str, code: str) -> str:
    item = re.search(rf'<li data-project="{code}">(.*?)</li>', html, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", " ", item).split())


# --- the one place -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "label"),
    [("approval", "Votes"), ("knapsack", "Votes"), ("cumulative", "Points"), ("ranked", "Ranking points")],
)
def test_the_label_follows_the_ballot_method(method, label):
    assert str(results.count_label(method)) == label


def test_a_district_without_a_known_method_says_votes():
    assert str(results.count_label(None)) == "Votes"


@pytest.mark.parametrize(
    ("method", "votes", "text"),
    [
        ("approval", 1, "1 vote"),
        ("approval", 3, "3 votes"),
        ("approval", 0, "0 votes"),
        ("cumulative", 1, "1 point"),
        ("cumulative", 3, "3 points"),
        ("ranked", 1, "1 ranking point"),
        ("ranked", 2, "2 ranking points"),
    ],
)
def test_the_number_in_running_text_takes_the_right_plural(method, votes, text):
    assert results.count_text(method, Fraction(votes), str(votes)) == text


def test_the_label_is_translated():
    with translation.override("es"):
        assert str(results.count_label("cumulative")) == "Puntos"
        assert results.count_text("cumulative", Fraction(1), "1") == "1 punto"
        assert results.count_text("approval", Fraction(2), "2") == "2 votos"


# --- the pages -----------------------------------------------------------------------------------------
def test_a_cumulative_district_shows_points_not_votes(official, client):
    world = counted_world(official)
    html = page(client, world, "A")
    assert headers(html, 'id="funded-table"') == ["Project", "Points", "Cost"]
    assert headers(html, 'id="votes-table"') == ["Project", "Points", "Cost", "Funded"]
    for table_id in ("funded-table", "votes-table"):
        assert "Votes" not in html.split(f'id="{table_id}"', 1)[1].split("</thead>", 1)[0]
    assert "Points for every project" in html and "Votes for every project" not in html
    assert '<title id="votes-chart-title">Points per project in Ward A</title>' in html
    assert "1 point):" in not_funded(html, "A-03") and "vote" not in not_funded(html, "A-03")


def test_a_ranked_district_shows_ranking_points(official, client):
    world = counted_world(official)
    html = page(client, world, "B")
    assert headers(html, 'id="votes-table"') == ["Project", "Ranking points", "Cost", "Funded"]
    assert "data-count-note" in html and "the last project ranked gets 1 point" in html
    assert "0 ranking points):" in not_funded(html, "B-02")


def test_an_approval_district_shows_votes(official, client):
    world = results_world(official)
    html = page(client, world, "A")
    assert headers(html, 'id="funded-table"') == ["Project", "Votes", "Cost"]
    assert headers(html, 'id="votes-table"') == ["Project", "Votes", "Cost", "Funded"]
    assert "Points" not in html and "data-count-note" not in html
    assert "Votes for every project" in html
    assert "0 votes):" in not_funded(html, "A-04")


def test_the_spanish_page_says_puntos(official, client):
    world = counted_world(official)
    response = client.get(reverse("district_results", args=[world.cycle.slug, "A"]), HTTP_ACCEPT_LANGUAGE="es")
    html = response.content.decode()
    assert headers(html, 'id="votes-table"')[1] == "Puntos"
    assert "1 punto)" in not_funded(html, "A-03")


def test_the_tally_page_names_the_number_per_district(official):
    world = counted_world(official, certify=False)
    staff = Client()
    staff.force_login(official)
    html = staff.get(reverse("staff_tally", args=[world.cycle.slug])).content.decode()
    compare = {code: headers(html, f'data-compare="{code}"') for code in ("A", "B")}
    assert compare["A"][:3] == ["Project", "Cost", "Points"]
    assert compare["B"][:3] == ["Project", "Cost", "Ranking points"]
    world.cycle = cycle_certify(actor=official, cycle=world.cycle, reason="Test: certified.")
    html = staff.get(reverse("staff_tally", args=[world.cycle.slug])).content.decode()
    assert headers(html, 'data-published="A"')[:3] == ["Project", "Cost", "Points"]
    assert headers(html, 'data-published="B"')[:3] == ["Project", "Cost", "Ranking points"]
