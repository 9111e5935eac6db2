"""A draft project across the apps: staff see it; no public page, API answer, ballot, frozen
ballot, export or audit bundle does — until it is published."""

import pytest
from django.urls import reverse

from allocation.services.interop import district_projects
from audit.bundle import _design_document
from core.errors import PhaseClosed
from proposals import services
from proposals.tests.builders import make_project, move, submit, texts, ward
from tests.factories import CycleFactory, user_with_role
from voting import selectors as voting_selectors
from voting import services as voting_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(resident, official):
    cycle = CycleFactory(ideas=True, wards="A", slug="drafts")
    fountain = submit(cycle, resident, title="Water fountain")
    benches = submit(cycle, resident, title="Benches on Grove Street")
    move(cycle, official, "vetting")
    public = make_project(cycle, official, [fountain], code="A-01", texts=texts("Drinking fountains", "Fuentes"))
    draft = make_project(
        cycle, official, [benches], code="A-02", draft=True, texts=texts("Secret benches", "Bancos secretos")
    )
    return cycle, public, draft, benches


def test_public_pages_and_the_api_leave_drafts_out(client, world, official):
    cycle, public, draft, benches = world
    html = client.get(reverse("project_list", args=[cycle.slug])).content.decode()
    assert "Drinking fountains" in html and "Secret benches" not in html
    assert client.get(reverse("project_detail", args=[draft.pk])).status_code == 404
    assert client.get(reverse("project_detail", args=[public.pk])).status_code == 200
    idea_page = client.get(reverse("idea_detail", args=[benches.pk])).content.decode()
    assert "A-02" not in idea_page and "Secret benches" not in idea_page
    listed = client.get("/api/v1/cycles/drafts/projects/").json()
    assert [p["code"] for p in listed] == ["A-01"]
    assert client.get(f"/api/v1/projects/{draft.pk}/").status_code == 404
    ideas = client.get("/api/v1/cycles/drafts/ideas/").json()
    assert "A-02" not in str(ideas)

    # Staff see the draft, marked as one, in the API and on its page.
    client.force_login(official)
    staff_html = client.get(reverse("project_detail", args=[draft.pk])).content.decode()
    assert "Secret benches" in staff_html
    assert "only staff see this project until it is published." in staff_html
    staff_list = client.get("/api/v1/cycles/drafts/projects/").json()
    assert [(p["code"], p["draft"]) for p in staff_list] == [("A-01", False), ("A-02", True)]


def test_a_draft_is_not_on_the_ballot_nor_in_what_voting_freezes(client, world, official):
    cycle, public, draft, _benches = world
    district = ward(cycle)
    move(cycle, official, "voting")
    _design, projects = voting_selectors.ballot_for(district)
    assert [p.code for p in projects] == ["A-01"]
    assert set(voting_services.ballot_rules(district).projects) == {"A-01"}
    canonical = voting_services.cycle_ballot_canonical(cycle)
    assert [p["code"] for p in canonical["districts"][0]["projects"]] == ["A-01"]
    ballot = client.get("/api/v1/cycles/drafts/ballots/A/").json()
    assert "A-02" not in str(ballot) and "Secret benches" not in str(ballot)
    assert [p.code for p in district_projects(district)] == ["A-01"]
    assert [p["code"] for p in _design_document(cycle)["districts"][0]["projects"]] == ["A-01"]
    # Once voting has opened, a draft can no longer be published: the ballot is frozen.
    with pytest.raises(PhaseClosed):
        services.project_publish(actor=official, cycle=cycle, projects=[draft])


def test_a_district_with_only_drafts_has_no_ballot(resident, official):
    cycle = CycleFactory(ideas=True, wards="AB", slug="only-drafts")
    idea = submit(cycle, resident)
    other = submit(cycle, resident, title="Trees", district=ward(cycle, "B"))
    move(cycle, official, "vetting")
    make_project(cycle, official, [idea], code="A-01")
    make_project(cycle, official, [other], code="B-01", district="B", draft=True)
    for district in cycle.districts.all():
        voting_services.ballot_design_set(actor=official, district=district, method="approval", min_picks=1)
    assert [d.code for d in voting_selectors.ballot_districts(cycle)] == ["A"]
    designs = {d.code: d.project_count for d in voting_selectors.designs_for(cycle)}
    assert designs == {"A": 1, "B": 0}


def test_staff_save_a_draft_and_publish_it_from_the_project_list(client, resident, official):
    cycle = CycleFactory(ideas=True, wards="A", slug="staff-drafts")
    idea = submit(cycle, resident)
    move(cycle, official, "vetting")
    client.force_login(official)
    post = {
        "ideas": [str(idea.pk)],
        "code": "A-05",
        "district": str(ward(cycle).pk),
        "cost": "9000",
        "category": "",
        "address": "",
        "text-en-title": "Bike racks",
        "text-en-summary": "Racks.",
        "text-en-description": "Racks.",
        "text-es-title": "Bicis",
        "text-es-summary": "Bicis.",
        "text-es-description": "Bicis.",
        "then": "draft",
    }
    form = client.get(reverse("vetting_project_create", args=[cycle.slug])).content.decode()
    assert '<button type="submit" name="then" value="draft">Save as draft</button>' in form
    response = client.post(reverse("vetting_project_create", args=[cycle.slug]), post, follow=True)
    html = response.content.decode()
    assert "Draft project A-05 saved from 1 idea" in html
    project = cycle.projects.get(code="A-05")
    assert project.is_draft
    assert f'<label for="publish-project-{project.pk}">Draft: publish A-05</label>' in html
    review_page = client.get(reverse("vetting_idea", args=[idea.pk])).content.decode()
    assert 'A-05 Bike racks ($9,000) <span class="badge warn">Draft</span>' in review_page
    public = user_with_role("resident")
    client.force_login(public)
    assert "Bike racks" not in client.get(reverse("project_list", args=[cycle.slug])).content.decode()

    client.force_login(official)
    url = reverse("vetting_project_publish", args=[cycle.slug])
    response = client.post(url, {"projects": [str(project.pk)]}, follow=True)
    assert "Project A-05 published: residents can see it." in response.content.decode()
    again = client.post(url, {"projects": [str(project.pk)]})
    assert again.status_code == 409
    assert "Project A-05 is already published." in again.content.decode()
    client.force_login(public)
    assert "Bike racks" in client.get(reverse("project_list", args=[cycle.slug])).content.decode()
