"""A project without a text in the reader's language shows the cycle's main language (English),
marked with its ``lang`` so screen readers pronounce it right — on every page that shows project
texts, rendered here in Spanish. Text in the page's own language carries no extra markup."""

import pytest
from django.urls import reverse

from budgets.services import cycle_transition
from proposals import services
from proposals.tests.builders import make_project, move, submit, texts, ward
from tests.ballots import ballot_prepare
from tests.factories import CycleFactory

pytestmark = pytest.mark.django_db

ES = {"HTTP_ACCEPT_LANGUAGE": "es"}
EN_ONLY = {"en": texts("Drinking fountains")["en"]}


@pytest.fixture
def world(resident, official):
    cycle = CycleFactory(ideas=True, wards="A", slug="langs")
    fountain = submit(cycle, resident, title="Water fountain")
    trees = submit(cycle, resident, title="Street trees")
    move(cycle, official, "vetting")
    english = make_project(cycle, official, [fountain], code="A-01", cost="20000", texts=EN_ONLY)
    both = make_project(cycle, official, [trees], code="A-02", cost="15000", texts=texts("Street trees", "Árboles"))
    return cycle, english, both, fountain


def test_project_pages_mark_the_main_language_text_in_spanish(client, world):
    cycle, english, both, fountain = world
    detail = client.get(reverse("project_detail", args=[english.pk]), **ES).content.decode()
    assert '<html lang="es">' in detail
    assert '<span lang="en">Drinking fountains</span></h1>' in detail
    assert '<p class="lead"><span lang="en">Drinking fountains for the ward.</span></p>' in detail
    assert '<div lang="en"><p>Two year-round fountains.</p></div>' in detail
    assert "<dt>Costo</dt>" in detail and '<article aria-labelledby="project-title">' in detail  # labels stay Spanish
    spanish = client.get(reverse("project_detail", args=[both.pk]), **ES).content.decode()
    assert "</span> Árboles</h1>" in spanish and 'lang="en"' not in spanish.split("<main", 1)[1]

    listing = client.get(reverse("project_list", args=[cycle.slug]), **ES).content.decode()
    assert '<span lang="en">Drinking fountains</span></a></h2>' in listing
    assert '<p><span lang="en">Drinking fountains for the ward.</span></p>' in listing
    assert "</span> Árboles</a></h2>" in listing

    idea = client.get(reverse("idea_detail", args=[fountain.pk]), **ES).content.decode()
    assert 'A-01 – <span lang="en">Drinking fountains</span></a>' in idea

    # In English, nothing to mark.
    english_page = client.get(reverse("project_detail", args=[english.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert '<span lang="en">' not in english_page.content.decode()


def test_the_ballot_marks_the_main_language_text_in_spanish(client, world, official, resident):
    cycle, english, both, _fountain = world
    ballot_prepare(cycle, official)
    cycle_transition(actor=official, cycle=cycle, target="voting", reason="Test: voting opens.")
    client.force_login(resident)
    html = client.get(reverse("vote_ballot", args=[cycle.slug, "A"]), **ES).content.decode()
    assert f'<label for="pick-{english.pk}"><span lang="en">Drinking fountains</span> <span class="cost">' in html
    assert '<p><span lang="en">Drinking fountains for the ward.</span></p>' in html
    assert f'<label for="pick-{both.pk}">Árboles <span class="cost">' in html
    # The project's whole entry is not marked English: its labels ("Costo") are Spanish.
    assert '<li class="ballot-project">' in html and 'class="ballot-project" lang=' not in html


def test_the_project_form_asks_only_for_the_main_language(client, world, official):
    cycle, _english, _both, fountain = world
    client.force_login(official)
    html = client.get(reverse("vetting_project_create", args=[cycle.slug])).content.decode()
    assert "Text in Spanish (optional)" in html
    assert "Text in English (optional)" not in html
    assert "readers of Spanish then see the English text." in html
    post = {
        "ideas": [str(fountain.pk)],
        "code": "A-03",
        "district": str(ward(cycle).pk),
        "cost": "9000",
        "category": "",
        "address": "",
        "text-en-title": "Bike racks",
        "text-en-summary": "Racks.",
        "text-en-description": "Racks.",
        "text-es-title": "",
        "text-es-summary": "",
        "text-es-description": "",
        "then": "publish",
    }
    response = client.post(reverse("vetting_project_create", args=[cycle.slug]), post)
    assert response.status_code == 302, response.content.decode()[:3000]
    project = cycle.projects.get(code="A-03")
    assert list(project.texts.values_list("language", flat=True)) == ["en"]
    half = dict(post, code="A-04", **{"text-es-title": "Bicis"})
    response = client.post(reverse("vetting_project_create", args=[cycle.slug]), half)
    assert response.status_code == 200
    assert str(services.MSG_TEXT_INCOMPLETE % {"language": "Spanish"}) in response.content.decode()
