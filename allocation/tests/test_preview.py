"""The rules on a synthetic sample while ballots are designed (allocation.selectors.preview): deterministic
made-up ballots that follow the design, every rule's outcome, and the officials' page that says
loudly that these are not real votes."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from allocation.selectors import preview
from core.money import format_money
from pbverify.rules import tally
from tests.factories import user_with_role
from voting import services as voting_services
from voting.tests.builders import vetting_world

pytestmark = pytest.mark.django_db

PROJECTS = [
    preview.SampleProject(code=f"P{n}", title=f"Project {n}", cost=Decimal(c))
    for n, c in enumerate(["40000", "25000", "20000", "15000", "12000", "8000", "5000"])
]


def design(method="approval", **values):
    return SimpleNamespace(
        method=method,
        max_picks=values.get("max_picks"),
        points_total=values.get("points_total"),
        points_cap=values.get("points_cap"),
    )


def sample(method="approval", seed=7, budget=Decimal("60000"), **values):
    return preview.synthetic_ballots(projects=PROJECTS, budget=budget, design=design(method, **values), seed=seed)


def test_the_sample_is_deterministic_and_depends_on_its_seed():
    assert sample(seed=7) == sample(seed=7)
    assert sample(seed=7) != sample(seed=8)
    assert len(sample()) == preview.SAMPLE_VOTERS


def test_the_sample_follows_the_ballot_method_and_its_limits():
    costs = {p.code: p.cost for p in PROJECTS}
    for ballot in sample("knapsack"):
        assert sum(costs[c] for c in ballot.projects) <= Decimal("60000")
    assert max(len(b.projects) for b in sample("approval", max_picks=2)) == 2
    ranked = sample("ranked", max_picks=3)
    assert max(len(b.projects) for b in ranked) == 3 and all(b.points is None for b in ranked)
    for ballot in sample("cumulative", points_total=10, points_cap=4):
        assert sum(ballot.points) <= 10 and all(0 < n <= 4 for n in ballot.points)


def official_client(official) -> Client:
    client = Client()
    client.force_login(official)
    return client


@pytest.fixture
def world(official):
    world = vetting_world(official, wards="AB")
    for code, method in (("A", "approval"), ("B", "ranked")):
        voting_services.ballot_design_set(
            actor=official,
            district=world.district(code),
            method=method,
            min_picks=1,
            max_picks=2,
            min_spend_percent=0,
            allocation_rule="greedy",
            intro="",
            shuffle=True,
        )
    return world


def test_the_preview_page_shows_every_rule_on_the_synthetic_sample(world):
    url = reverse("staff_ballot_preview", args=[world.cycle.slug])
    html = official_client(world.official).get(url).content.decode()
    assert "Synthetic sample — not real votes." in html
    assert "imaginary voters per district" in html
    district = world.district("A")
    expected = preview.district_preview(district)
    assert [r.rule for r in expected.rules] == ["mes-greedy", "mes", "greedy"]  # the recommended rule first
    for row in expected.rules:
        assert row.applicable
        outcome = tally(
            preview.Election(
                budget=district.budget,
                costs={p.code: p.cost for p in expected.projects},
                ballots=preview.synthetic_ballots(
                    projects=expected.projects,
                    budget=district.budget,
                    design=district.ballot_design,
                    seed=preview._seed(district, expected.projects, district.ballot_design),
                ),
                kind="approval",
            ),
            row.rule,
        )
        assert [p.code for p in row.selected] == outcome.selected and row.left == outcome.budget_left
        section = html.split('data-preview="A"')[1].split("</section>")[0]
        left = section.split(f'data-left="{row.rule}">')[1].split("<")[0]
        assert left == format_money(row.left, "USD")
        for project in row.selected:
            assert project.public_code in section.split(f'data-selected="{row.rule}">')[1].split("</td>")[0]
    # Completing equal shares never leaves more money than pure equal shares.
    rules = {r.rule: r for r in expected.rules}
    assert rules["mes-greedy"].left <= rules["mes"].left
    # Equal shares is not defined for rankings: said so, not a crash.
    ward_b = html.split('data-preview="B"')[1].split("</section>")[0]
    assert ward_b.count("Not defined for ranked ballots.") == 2


def test_the_preview_is_labelled_synthetic_in_spanish(world):
    client = official_client(world.official)
    html = client.get(reverse("staff_ballot_preview", args=[world.cycle.slug]), HTTP_ACCEPT_LANGUAGE="es")
    html = html.content.decode()
    with translation.override("es"):
        assert "Muestra sintética: no son votos reales." in html
        assert "Método de Partes Iguales" in html


def test_only_officials_and_auditors_see_the_preview(world):
    url = reverse("staff_ballot_preview", args=[world.cycle.slug])
    for role, status in (("resident", 403), ("vetting_staff", 403), ("auditor", 200), ("official", 200)):
        client = Client()
        client.force_login(user_with_role(role))
        assert client.get(url).status_code == status, role
