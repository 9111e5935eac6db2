"""The vetting workspace's HTML pages: queue, review page, paper ideas, projects, categories, reports."""

import io
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape
from PIL import Image

from budgets.phases import Phase
from core.models import AuditEvent, Notification
from proposals import permissions, services
from proposals.models import Category, Idea, Project, Report, Review
from tests.factories import CycleFactory

from .builders import counts, idea_input, make_project, move, new_resident, submit, ward

pytestmark = pytest.mark.django_db


def _text(message, **params) -> str:
    """A message constant as it appears in HTML (autoescaped)."""
    return escape(str(message) % params if params else str(message))


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _paper(cycle, actor, **overrides) -> Idea:
    return services.idea_submit_paper(
        actor=actor,
        cycle=cycle,
        data=idea_input(cycle, **overrides),
        proposer_name="Ana Pérez",
        proposer_contact="ana@example.org",
    )


def _png(name="photo.png") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (30, 120, 200)).save(out, format="PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def _project_post(cycle, ideas, *, code="A-01", cost="20000", district="A", **overrides) -> dict:
    data = {
        "ideas": [str(i.pk if isinstance(i, Idea) else i) for i in ideas],
        "code": code,
        "district": str(ward(cycle, district).pk),
        "cost": cost,
        "category": "",
        "address": "Van Vorst Park",
        "text-en-title": "Drinking fountains",
        "text-en-summary": "Two fountains for the ward.",
        "text-en-description": "Two year-round fountains with bottle fillers.",
        "text-es-title": "Fuentes de agua",
        "text-es-summary": "Dos fuentes para el distrito.",
        "text-es-description": "Dos fuentes todo el año con llenado de botellas.",
    }
    data.update(overrides)
    return data


@pytest.fixture
def cycle(db):
    return CycleFactory(name="Jersey City PB", vetting=True)


@pytest.fixture
def staff_client(client, vetting_staff):
    client.force_login(vetting_staff)
    return client


@pytest.fixture
def official_client(client, official):
    client.force_login(official)
    return client


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


# --- the queue ---------------------------------------------------------------------------------------
def test_queue_shows_each_idea_with_its_review_and_projects(staff_client, vetting_staff, official, cycle):
    fountain = _paper(cycle, official, title="Water fountain")
    benches = _paper(cycle, official, title="Benches on Grove Street", district=ward(cycle, "B"))
    services.review_assign(actor=official, idea=fountain, reviewer=vetting_staff)
    services.review_record(actor=vetting_staff, idea=fountain, feasibility="feasible", cost_estimate="12000")
    make_project(cycle, official, [fountain], code="A-07")
    services.idea_endorse(actor=new_resident(), idea=benches)
    services.content_hide(actor=official, idea=benches, reason="Duplicate of another idea.")

    response = staff_client.get(reverse("vetting_queue", args=[cycle.slug]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Water fountain" in html and "Benches on Grove Street" in html
    assert str(vetting_staff) in html
    assert str(Idea.Status.IN_PROJECT.label) in html
    assert str(Review.Feasibility.FEASIBLE.label) in html
    assert "$12,000" in html
    assert "A-07" in html
    assert html.count('<span class="badge">paper</span>') == 2
    assert '<span class="badge warn">hidden</span>' in html
    assert '<td class="num">1</td>' in html  # benches' endorsement
    assert "not assigned" in html  # benches has no reviewer
    # One labelled checkbox per row, sent by GET to the project form.
    assert f'action="{reverse("vetting_project_create", args=[cycle.slug])}"' in html
    assert f'id="pick-{fountain.pk}"' in html and f'for="pick-{fountain.pk}"' in html
    assert "Select “Water fountain”" in html
    assert "Create a project from the selected ideas" in html


def test_queue_filters(staff_client, vetting_staff, official, cycle):
    fountain = _paper(cycle, official, title="Water fountain")
    benches = _paper(cycle, official, title="Benches on Grove Street", district=ward(cycle, "B"))
    trees = _paper(cycle, official, title="Street trees", description="Plant trees along Grove Street.")
    services.review_assign(actor=official, idea=fountain, reviewer=vetting_staff)
    url = reverse("vetting_queue", args=[cycle.slug])

    def titles(**params):
        page = staff_client.get(url, params).context["page"]
        return {idea.title for idea in page.object_list}

    assert titles() == {fountain.title, benches.title, trees.title}
    assert titles(district="B") == {benches.title}
    assert titles(status="under_review") == {fountain.title}
    assert titles(reviewer=str(vetting_staff.pk)) == {fountain.title}
    assert titles(reviewer="none") == {benches.title, trees.title}
    assert titles(q="Grove") == {benches.title, trees.title}
    assert titles(q="Grove", district="A") == {trees.title}
    assert titles(district="Z") == {fountain.title, benches.title, trees.title}  # a bad filter is ignored


def test_queue_is_paginated_by_50(staff_client, official, cycle):
    for n in range(51):
        _paper(cycle, official, title=f"Idea {n:02d}")
    url = reverse("vetting_queue", args=[cycle.slug])
    first = staff_client.get(url, {"district": "A"})
    assert len(first.context["page"].object_list) == 50
    html = first.content.decode()
    assert "Page 1 of 2" in html
    assert "?district=A&amp;page=2" in html
    second = staff_client.get(url, {"district": "A", "page": 2})
    assert len(second.context["page"].object_list) == 1


def _queue_state(cycle, official, vetting_staff, resident, start, count):
    for n in range(start, start + count):
        idea = _paper(cycle, official, title=f"Idea {n}", district=ward(cycle, "AB"[n % 2]))
        services.review_assign(actor=official, idea=idea, reviewer=vetting_staff)
        services.review_record(actor=vetting_staff, idea=idea, feasibility="feasible", cost_estimate="1000")
        services.idea_endorse(actor=resident, idea=idea)
        if n % 3 == 0:
            make_project(cycle, official, [idea], code=f"A-{n:02d}")


def test_queue_runs_a_constant_number_of_queries(
    staff_client, official, vetting_staff, resident, cycle, django_assert_num_queries
):
    url = reverse("vetting_queue", args=[cycle.slug])
    _queue_state(cycle, official, vetting_staff, resident, 0, 2)
    staff_client.get(url)  # warm per-process caches out of the measurement
    with CaptureQueriesContext(connection) as two_ideas:
        response = staff_client.get(url)
    assert len(response.context["page"].object_list) == 2
    _queue_state(cycle, official, vetting_staff, resident, 2, 10)
    with django_assert_num_queries(len(two_ideas.captured_queries)):
        response = staff_client.get(url)
    assert len(response.context["page"].object_list) == 12


# --- the review page ---------------------------------------------------------------------------------
def test_review_page_shows_the_idea_in_full_with_history_reports_and_internal_notes(
    staff_client, vetting_staff, official, cycle
):
    idea = _paper(cycle, official, title="Water fountain", cost_guess="9000")
    services.review_record(
        actor=vetting_staff, idea=idea, feasibility="feasible", department="Parks", internal_notes="Call the vendor."
    )
    services.content_report(actor=new_resident(), idea=idea, reason="Looks like spam <b>really</b>")
    response = staff_client.get(reverse("vetting_idea", args=[idea.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Water fountain" in html
    assert idea.description in html
    assert "Ana Pérez" in html and "ana@example.org" in html  # the paper proposer
    assert str(official) in html  # entered by
    assert "$9,000" in html
    assert "Call the vendor." in html
    assert "Parks" in html
    assert str(Idea.Status.SUBMITTED.label) in html and str(Idea.Status.UNDER_REVIEW.label) in html  # history
    assert "Looks like spam &lt;b&gt;really&lt;/b&gt;" in html  # reports, escaped
    for action in ("vetting_idea_assign", "vetting_idea_review", "vetting_idea_publish", "vetting_idea_hide"):
        assert reverse(action, args=[idea.pk]) in html
    # Internal notes appear on this page only, not in the queue.
    assert "Call the vendor." not in staff_client.get(reverse("vetting_queue", args=[cycle.slug])).content.decode()


def test_assign_a_reviewer(staff_client, vetting_staff, official, cycle):
    idea = _paper(cycle, official)
    response = staff_client.post(reverse("vetting_idea_assign", args=[idea.pk]), {"reviewer": official.pk})
    assert response.status_code == 302
    assert response["Location"] == reverse("vetting_idea", args=[idea.pk])
    idea.refresh_from_db()
    assert idea.review.reviewer == official
    assert idea.status == Idea.Status.UNDER_REVIEW
    page = staff_client.get(reverse("vetting_idea", args=[idea.pk]))
    assert f"{official} will review this idea." in _messages(page)


def test_assign_offers_only_vetting_staff(staff_client, vetting_staff, official, resident, auditor, cycle):
    idea = _paper(cycle, official)
    form = staff_client.get(reverse("vetting_idea", args=[idea.pk])).context["assign_form"]
    offered = set(form.fields["reviewer"].queryset)
    assert {vetting_staff, official} <= offered
    assert resident not in offered and auditor not in offered
    response = staff_client.post(reverse("vetting_idea_assign", args=[idea.pk]), {"reviewer": resident.pk})
    assert response.status_code == 200
    assert response.context["assign_form"].errors["reviewer"]
    assert not Review.objects.filter(idea=idea).exists()


def test_record_and_publish_a_review(staff_client, vetting_staff, official, cycle):
    author = new_resident()
    ideas_cycle = CycleFactory(ideas=True)
    idea = submit(ideas_cycle, author)
    move(ideas_cycle, official, Phase.VETTING)
    response = staff_client.post(
        reverse("vetting_idea_review", args=[idea.pk]),
        {
            "feasibility": "not_feasible",
            "public_reason": "The park is state land.",
            "cost_estimate": "$25,000",
            "department": "Parks",
            "internal_notes": "State contact: J.",
        },
    )
    assert response.status_code == 302
    review = Review.objects.get(idea=idea)
    assert (review.feasibility, review.cost_estimate, review.department) == ("not_feasible", Decimal("25000"), "Parks")
    assert review.published_at is None
    response = staff_client.post(reverse("vetting_idea_publish", args=[idea.pk]))
    assert response.status_code == 302
    idea.refresh_from_db()
    assert idea.status == Idea.Status.NOT_FEASIBLE
    assert Notification.objects.filter(recipient=author, kind="idea.decision").count() == 1
    page = staff_client.get(reverse("vetting_idea", args=[idea.pk]))
    assert any("Decision published" in m for m in _messages(page))
    assert "The park is state land." in page.content.decode()
    # Published as it stands: no second "publish" button, and a second POST changes nothing.
    assert "Publish decision</button>" not in page.content.decode()
    assert "This decision is published: residents see it." in page.content.decode()
    again = staff_client.post(reverse("vetting_idea_publish", args=[idea.pk]), follow=True)
    assert str(services.MSG_ALREADY_PUBLISHED) in _messages(again)
    assert Notification.objects.filter(recipient=author, kind="idea.decision").count() == 1


@pytest.mark.parametrize(
    ("post", "field", "message"),
    [
        ({"feasibility": "not_feasible", "public_reason": ""}, "public_reason", services.MSG_NOT_FEASIBLE_REASON),
        ({"feasibility": "feasible", "cost_estimate": "-5"}, "cost_estimate", services.MSG_NEGATIVE),
        ({"feasibility": "feasible", "cost_estimate": "a lot"}, "cost_estimate", services.MSG_BAD_AMOUNT),
    ],
)
def test_record_a_review_with_bad_input_shows_the_error_and_saves_nothing(
    staff_client, official, cycle, post, field, message
):
    idea = _paper(cycle, official)
    before = counts()
    response = staff_client.post(reverse("vetting_idea_review", args=[idea.pk]), post)
    assert response.status_code == 200
    assert response.context["review_form"].errors[field] == [str(message)]
    assert _text(message) in response.content.decode()
    assert counts() == before


def test_publish_without_a_decision_is_refused(staff_client, official, cycle):
    idea = _paper(cycle, official)
    response = staff_client.post(reverse("vetting_idea_publish", args=[idea.pk]), follow=True)
    assert str(services.MSG_NOTHING_TO_PUBLISH) in _messages(response)
    idea.refresh_from_db()
    assert idea.status == Idea.Status.SUBMITTED


def test_review_outside_vetting_shows_the_phase_message_instead_of_forms(staff_client, official):
    ideas_cycle = CycleFactory(ideas=True)
    idea = _paper(ideas_cycle, official)
    html = staff_client.get(reverse("vetting_idea", args=[idea.pk])).content.decode()
    assert _text(permissions.MSG_VETTING_CLOSED) in html
    assert reverse("vetting_idea_review", args=[idea.pk]) not in html
    before = counts()
    response = staff_client.post(reverse("vetting_idea_review", args=[idea.pk]), {"feasibility": "feasible"})
    assert response.status_code == 302
    assert counts() == before


def test_hide_an_idea_from_the_review_page(staff_client, official, cycle):
    author = new_resident()
    ideas_cycle = CycleFactory(ideas=True)
    idea = submit(ideas_cycle, author)
    before = counts()
    response = staff_client.post(reverse("vetting_idea_hide", args=[idea.pk]), {"reason": ""})
    assert response.status_code == 200
    assert response.context["hide_form"].errors["reason"]
    assert counts() == before
    response = staff_client.post(reverse("vetting_idea_hide", args=[idea.pk]), {"reason": "Offensive language."})
    assert response.status_code == 302
    idea.refresh_from_db()
    assert idea.is_hidden and idea.hidden_reason == "Offensive language."
    assert Notification.objects.filter(recipient=author, kind="idea.hidden").exists()


def test_an_idea_in_a_project_offers_no_new_decision(staff_client, official, cycle):
    idea = _paper(cycle, official)
    make_project(cycle, official, [idea])
    html = staff_client.get(reverse("vetting_idea", args=[idea.pk])).content.decode()
    assert "its review can no longer change" in html
    assert reverse("vetting_idea_review", args=[idea.pk]) not in html
    assert reverse("vetting_idea_assign", args=[idea.pk]) in html
    before = counts()
    response = staff_client.post(
        reverse("vetting_idea_review", args=[idea.pk]), {"feasibility": "feasible"}, follow=True
    )
    assert str(services.MSG_NOT_EDITABLE) in _messages(response)
    assert counts() == before


def test_unknown_idea_is_not_found(staff_client):
    assert staff_client.get(reverse("vetting_idea", args=[999999])).status_code == 404


# --- paper ideas -------------------------------------------------------------------------------------
def _paper_post(cycle, **overrides) -> dict:
    data = {
        "proposer_name": "Luis Gómez",
        "proposer_contact": "201-555-0100",
        "title": "Crosswalk at Grove and Montgomery",
        "description": "A raised crosswalk: cars speed here.",
        "district": str(ward(cycle, "C").pk),
        "category": "",
        "address": "Grove St & Montgomery St",
        "latitude": "",
        "longitude": "",
        "cost_guess": "15,000",
        "language": "es",
    }
    data.update(overrides)
    return data


def test_enter_a_paper_idea(staff_client, vetting_staff, cycle):
    url = reverse("vetting_paper_idea_create", args=[cycle.slug])
    form_page = staff_client.get(url)
    assert form_page.status_code == 200
    assert 'enctype="multipart/form-data"' in form_page.content.decode()
    response = staff_client.post(url, {**_paper_post(cycle), "photo": _png()})
    idea = Idea.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("vetting_idea", args=[idea.pk])
    assert idea.source == Idea.Source.PAPER
    assert (idea.proposer_name, idea.proposer_contact) == ("Luis Gómez", "201-555-0100")
    assert idea.entered_by == vetting_staff and idea.author is None
    assert idea.district.code == "C" and idea.cost_guess == Decimal("15000") and idea.language == "es"
    assert idea.photo
    assert AuditEvent.objects.filter(action="idea.paper_entered", object_id=str(idea.pk)).exists()
    queue = staff_client.get(reverse("vetting_queue", args=[cycle.slug])).content.decode()
    assert "Crosswalk at Grove and Montgomery" in queue and '<span class="badge">paper</span>' in queue


def test_save_and_enter_another_paper_idea(staff_client, cycle):
    url = reverse("vetting_paper_idea_create", args=[cycle.slug])
    response = staff_client.post(url, {**_paper_post(cycle), "then": "another"})
    assert response.status_code == 302
    assert response["Location"] == url


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"proposer_name": ""}, "proposer_name", services.MSG_REQUIRED),
        ({"title": "   "}, "title", services.MSG_REQUIRED),
        ({"cost_guess": "-3"}, "cost_guess", services.MSG_NEGATIVE),
        ({"latitude": "95", "longitude": "10"}, None, services.MSG_BAD_COORDINATES),
    ],
)
def test_paper_idea_with_bad_input_shows_the_error_and_saves_nothing(staff_client, cycle, overrides, field, message):
    before = counts()
    response = staff_client.post(
        reverse("vetting_paper_idea_create", args=[cycle.slug]), _paper_post(cycle, **overrides)
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert str(message) in (errors[field] if field else errors["__all__"])
    assert counts() == before


def _summary_links(html: str) -> list[str]:
    start = html.index('<div class="errorsummary" role="alert" id="error-summary"')
    return re.findall(r'<a href="#([^"]+)">', html[start : html.index("</div>", start)])


@pytest.mark.parametrize(("language", "label"), [("en", "Address or place"), ("es", "Dirección o lugar")])
def test_a_paper_ideas_error_summary_links_to_each_invalid_field(staff_client, settings, cycle, language, label):
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    post = _paper_post(cycle, address="", proposer_name="")
    html = staff_client.post(reverse("vetting_paper_idea_create", args=[cycle.slug]), post).content.decode()
    assert _summary_links(html) == ["id_proposer_name", "id_address"]
    assert re.search(rf'<a href="#id_address">{re.escape(escape(label))}: ', html)


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_projects_error_summary_links_to_each_field_and_each_language_text(
    staff_client, settings, official, cycle, language
):
    """The project's fields and its per-language texts: each mistake a link to its own field, the
    main language's missing text once in the summary and once by its form — not twice there."""
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    idea = _paper(cycle, official)
    post = _project_post(cycle, [idea], cost="-1", **{"text-en-description": "", "text-es-title": ""})
    response = staff_client.post(reverse("vetting_project_create", args=[cycle.slug]), post)
    html = response.content.decode()
    links = _summary_links(html)
    assert links == ["id_cost", "id_text-en-description", "id_text-es-title"]
    for form in response.context["text_forms"].values():
        for error in form.non_field_errors():
            assert html.count(escape(error)) == 2, error  # the summary's link and the form's own


def test_paper_ideas_are_refused_once_voting_opens(staff_client):
    voting = CycleFactory(voting=True)
    url = reverse("vetting_paper_idea_create", args=[voting.slug])
    html = staff_client.get(url).content.decode()
    assert _text(permissions.MSG_PAPER_CLOSED) in html
    assert '<form method="post" enctype' not in html
    before = counts()
    response = staff_client.post(url, _paper_post(voting))
    assert response.status_code == 409
    assert counts() == before


# --- projects ----------------------------------------------------------------------------------------
def _two_authored_ideas(official):
    """Two residents' ideas in ward A, the cycle moved on to vetting."""
    ideas_cycle = CycleFactory(ideas=True)
    alice, bob = new_resident(), new_resident()
    fountain = submit(ideas_cycle, alice, title="Water fountain")
    filler = submit(ideas_cycle, bob, title="Bottle filler station")
    move(ideas_cycle, official, Phase.VETTING)
    return ideas_cycle, (alice, fountain), (bob, filler)


def test_queue_selection_preselects_the_project_form(staff_client, official, cycle):
    one, two = _paper(cycle, official, title="One"), _paper(cycle, official, title="Two")
    _paper(cycle, official, title="Three")
    url = reverse("vetting_project_create", args=[cycle.slug])
    response = staff_client.get(url, {"ideas": [one.pk, two.pk]})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["ideas"] == [str(one.pk), str(two.pk)]
    assert form.initial["district"] == str(ward(cycle).pk)
    html = response.content.decode()
    assert f'<option value="{one.pk}" selected>' in html and f'<option value="{two.pk}" selected>' in html
    assert "Text in English" in html and "Text in Spanish" in html


def test_the_project_form_writes_language_names_as_spanish_writes_them(staff_client, official, cycle):
    idea = _paper(cycle, official, title="One")
    url = reverse("vetting_project_create", args=[cycle.slug])
    html = staff_client.get(url, {"ideas": [idea.pk]}, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert '<html lang="es">' in html
    assert "Texto en inglés</legend>" in html and "Texto en español (opcional)</legend>" in html
    assert "quienes lean en español verán entonces el texto en inglés." in html
    assert "Inglés" not in html and "Español" not in html
    # The service's message names the language the same way.
    post = _project_post(cycle, [idea], **{"text-es-title": ""})
    html = staff_client.post(url, post, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "el resumen y la descripción en español, o deje los" in html
    # And English keeps its capitals.
    html = staff_client.get(url, {"ideas": [idea.pk]}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Text in English</legend>" in html and "Text in Spanish (optional)</legend>" in html


def test_the_project_form_starts_from_the_merged_ideas(staff_client, vetting_staff, official, cycle):
    fountain = _paper(
        cycle,
        official,
        title="Water fountain",
        description="A fountain by the playground.",
        address="Van Vorst Park",
        cost_guess="12000",
    )
    filler = _paper(
        cycle,
        official,
        title="Llenabotellas",
        description="Un llenabotellas junto a la cancha.",
        address="Van Vorst Park",
        cost_guess="3000",
        language="es",
    )
    bench = _paper(cycle, official, title="Bench", description="A <b>bench</b> & shade.", address="Van Vorst Park")
    services.review_record(actor=vetting_staff, idea=filler, feasibility="feasible", cost_estimate="4500")
    url = reverse("vetting_project_create", args=[cycle.slug])

    html = staff_client.get(url, {"ideas": [fountain.pk, filler.pk]}).content.decode()
    # Texts in each idea's own language; the place and district they share.
    assert 'name="text-en-title" value="Water fountain"' in html
    assert "\nA fountain by the playground.</textarea>" in html
    assert 'name="text-es-title" value="Llenabotellas"' in html
    assert "\nUn llenabotellas junto a la cancha.</textarea>" in html
    assert 'name="address" value="Van Vorst Park"' in html
    assert f'<option value="{ward(cycle).pk}" selected>' in html
    # The cost starts from the sum (staff's estimate where there is one), the figures beside it.
    assert 'name="cost" value="16500"' in html
    assert 'aria-describedby="id_cost_helptext"' in html
    guesses = html[html.index('id="id_cost_helptext"') :].split("</div>")[0]
    assert f"<li>#{fountain.pk} Water fountain: resident&#x27;s guess $12,000</li>" in guesses
    assert f"<li>#{filler.pk} Llenabotellas: resident&#x27;s guess $3,000; staff estimate $4,500</li>" in guesses

    # Two ideas in one language are merged; an idea with no figure leaves the cost empty.
    html = staff_client.get(url, {"ideas": [fountain.pk, bench.pk]}).content.decode()
    assert 'name="text-en-title" value="Water fountain · Bench"' in html
    assert "Water fountain: A fountain by the playground.\n\nBench: A &lt;b&gt;bench&lt;/b&gt; &amp; shade." in html
    assert '<input type="text" name="cost" inputmode="decimal"' in html  # no value
    assert f"<li>#{bench.pk} Bench: no figure</li>" in html
    assert 'name="text-es-title" value' not in html  # nothing in Spanish to start from


def test_merge_two_ideas_into_one_costed_project(staff_client, official):
    cycle, (alice, fountain), (bob, filler) = _two_authored_ideas(official)
    response = staff_client.post(
        reverse("vetting_project_create", args=[cycle.slug]), _project_post(cycle, [fountain, filler], cost="45000")
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("vetting_project_list", args=[cycle.slug])
    project = Project.objects.get()
    assert project.code == "A-01" and project.cost == Decimal("45000") and project.district.code == "A"
    assert {t.language: t.title for t in project.texts.all()} == {"en": "Drinking fountains", "es": "Fuentes de agua"}
    assert set(project.ideas.all()) == {fountain, filler}
    for author, idea in ((alice, fountain), (bob, filler)):
        idea.refresh_from_db()
        assert idea.status == Idea.Status.IN_PROJECT
        assert list(idea.projects.all()) == [project]
        assert Notification.objects.filter(recipient=author, kind="idea.in_project").count() == 1
    listing = staff_client.get(response["Location"])
    assert "Project A-01 created from 2 ideas." in _messages(listing)
    html = listing.content.decode()
    assert "A-01" in html and "Drinking fountains" in html and "$45,000" in html
    assert "Water fountain" in html and "Bottle filler station" in html


def test_split_one_idea_into_two_projects(staff_client, official, cycle):
    idea = _paper(cycle, official, title="Fix the park: lights and benches")
    url = reverse("vetting_project_create", args=[cycle.slug])
    first = staff_client.post(url, _project_post(cycle, [idea], code="A-01", **{"text-en-title": "Park lights"}))
    second = staff_client.post(url, _project_post(cycle, [idea], code="A-02", **{"text-en-title": "Park benches"}))
    assert first.status_code == second.status_code == 302
    assert sorted(p.code for p in idea.projects.all()) == ["A-01", "A-02"]
    assert all(list(p.ideas.all()) == [idea] for p in Project.objects.all())
    idea.refresh_from_db()
    assert idea.status == Idea.Status.IN_PROJECT
    # The form marks the idea as already in a project, and still offers it.
    form_html = staff_client.get(url).content.decode()
    assert "already in A-01, A-02" in form_html


def test_create_a_project_with_an_image_and_a_category(official_client, official):
    cycle = CycleFactory(ideas=True)
    parks = services.category_create(actor=official, cycle=cycle, name="Parks", translations={"es": "Parques"})
    idea = _paper(cycle, official)
    move(cycle, official, Phase.VETTING)
    response = official_client.post(
        reverse("vetting_project_create", args=[cycle.slug]),
        {**_project_post(cycle, [idea], category=str(parks.pk)), "image": _png("fountain.png")},
    )
    assert response.status_code == 302
    project = Project.objects.get()
    assert project.category == parks and project.image


@pytest.mark.parametrize(
    ("overrides", "where", "message"),
    [
        ({"cost": "60000"}, "cost", _text(services.MSG_COST_OVER_BUDGET, cost="$60,000", budget="$50,000")),
        ({"cost": "-1"}, "cost", _text(services.MSG_NEGATIVE)),
        ({"cost": "twenty grand"}, "cost", _text(services.MSG_BAD_AMOUNT)),
        ({"code": "a b!"}, "code", _text(services.MSG_CODE_FORMAT)),
        ({"text-es-title": "", "text-es-summary": ""}, "es", _text(services.MSG_TEXT_INCOMPLETE, language="Spanish")),
        ({"text-en-description": ""}, "en", _text(services.MSG_TEXT_MISSING, language="English")),
    ],
)
def test_create_a_project_with_bad_input_shows_the_error_and_saves_nothing(
    staff_client, official, cycle, overrides, where, message
):
    idea = _paper(cycle, official)
    before = counts()
    response = staff_client.post(
        reverse("vetting_project_create", args=[cycle.slug]), _project_post(cycle, [idea], **overrides)
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert 'id="error-summary"' in html
    if where in ("en", "es"):
        assert escape(response.context["text_forms"][where].non_field_errors()[0]) == message
    else:
        assert escape(response.context["form"].errors[where][0]) == message
    assert counts() == before
    idea.refresh_from_db()
    assert idea.status == Idea.Status.SUBMITTED


def test_create_a_project_with_a_code_in_use_is_refused(staff_client, official, cycle):
    idea = _paper(cycle, official)
    make_project(cycle, official, [idea], code="A-01")
    other = _paper(cycle, official, title="Another idea")
    before = counts()
    response = staff_client.post(reverse("vetting_project_create", args=[cycle.slug]), _project_post(cycle, [other]))
    assert response.status_code == 200
    assert response.context["form"].errors["code"] == [str(services.MSG_CODE_TAKEN % {"code": "A-01"})]
    assert counts() == before


def test_create_a_project_from_ideas_of_another_cycle_is_refused(staff_client, official, cycle):
    mine = _paper(cycle, official)
    elsewhere = _paper(CycleFactory(vetting=True), official, title="Somewhere else")
    before = counts()
    response = staff_client.post(
        reverse("vetting_project_create", args=[cycle.slug]), _project_post(cycle, [mine, elsewhere])
    )
    assert response.status_code == 200
    assert response.context["form"].errors["ideas"] == [str(services.MSG_IDEA_OTHER_CYCLE)]
    assert _text(services.MSG_IDEA_OTHER_CYCLE) in response.content.decode()
    assert counts() == before
    elsewhere.refresh_from_db()
    assert elsewhere.status == Idea.Status.SUBMITTED


def test_create_a_project_without_ideas_is_refused(staff_client, cycle):
    before = counts()
    response = staff_client.post(reverse("vetting_project_create", args=[cycle.slug]), _project_post(cycle, []))
    assert response.status_code == 200
    assert response.context["form"].errors["ideas"]
    assert counts() == before


def test_edit_a_project(staff_client, official, cycle):
    idea = _paper(cycle, official)
    project = make_project(cycle, official, [idea], code="A-01", cost="20000")
    url = reverse("vetting_project_edit", args=[project.pk])
    form_page = staff_client.get(url)
    assert form_page.status_code == 200
    assert form_page.context["form"].initial["code"] == "A-01"
    assert form_page.context["text_forms"]["es"].initial["title"] == "Fuentes de agua"
    post = _project_post(cycle, [], code="a-02", cost="30000", **{"text-es-title": "Fuentes nuevas"})
    del post["ideas"]
    response = staff_client.post(url, post)
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.code, project.cost) == ("A-02", Decimal("30000"))
    assert project.text("es").title == "Fuentes nuevas"
    assert list(project.ideas.all()) == [idea]  # the sources stay
    assert AuditEvent.objects.filter(action="project.updated", object_id=str(project.pk)).exists()


def test_edit_a_project_over_budget_changes_nothing(staff_client, official, cycle):
    project = make_project(cycle, official, [_paper(cycle, official)], cost="20000")
    before = counts()
    post = _project_post(cycle, [], cost="50000.01")
    response = staff_client.post(reverse("vetting_project_edit", args=[project.pk]), post)
    assert response.status_code == 200
    assert _text(services.MSG_COST_OVER_BUDGET, cost="$50,000.01", budget="$50,000") in response.content.decode()
    assert counts() == before
    project.refresh_from_db()
    assert project.cost == Decimal("20000")


def test_projects_are_frozen_once_voting_opens(staff_client, official, cycle):
    project = make_project(cycle, official, [_paper(cycle, official)], code="A-01", cost="20000")
    move(cycle, official, Phase.VOTING)
    frozen = _text(permissions.MSG_PROJECTS_FROZEN)
    edit_url = reverse("vetting_project_edit", args=[project.pk])
    create_url = reverse("vetting_project_create", args=[cycle.slug])
    for url in (edit_url, create_url, reverse("vetting_project_list", args=[cycle.slug])):
        response = staff_client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert frozen in html
        assert 'name="cost"' not in html
    assert edit_url not in staff_client.get(reverse("vetting_project_list", args=[cycle.slug])).content.decode()
    before = counts()
    response = staff_client.post(edit_url, _project_post(cycle, [], cost="10000", code="A-09"))
    assert response.status_code == 409
    assert frozen in response.content.decode()
    response = staff_client.post(create_url, _project_post(cycle, project.ideas.all(), code="A-10"))
    assert response.status_code == 409
    assert counts() == before
    project.refresh_from_db()
    assert (project.code, project.cost) == ("A-01", Decimal("20000"))


# --- categories --------------------------------------------------------------------------------------
def test_official_adds_a_category_with_its_spanish_name(official_client):
    cycle = CycleFactory(ideas=True)
    url = reverse("vetting_category_list", args=[cycle.slug])
    assert official_client.get(url).context["form"] is not None
    response = official_client.post(url, {"name": "Parks", "name_es": "Parques"})
    assert response.status_code == 302
    category = Category.objects.get()
    assert (category.name, category.translations) == ("Parks", {"es": "Parques"})
    listing = official_client.get(url)
    assert "Category “Parks” added." in _messages(listing)
    html = listing.content.decode()
    assert "Parks" in html and "Parques" in html


def test_a_duplicate_category_is_refused(official_client, official):
    cycle = CycleFactory(ideas=True)
    services.category_create(actor=official, cycle=cycle, name="Parks")
    before = counts()
    response = official_client.post(reverse("vetting_category_list", args=[cycle.slug]), {"name": "parks"})
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert counts() == before


def test_categories_are_closed_once_vetting_starts(official_client, cycle):
    url = reverse("vetting_category_list", args=[cycle.slug])
    response = official_client.get(url)
    assert response.context["form"] is None
    assert _text(permissions.MSG_CATEGORIES_CLOSED) in response.content.decode()
    before = counts()
    response = official_client.post(url, {"name": "Parks"}, follow=True)
    assert str(permissions.MSG_CATEGORIES_CLOSED) in _messages(response)
    assert counts() == before


def test_vetting_staff_see_categories_but_cannot_add_them(staff_client):
    cycle = CycleFactory(ideas=True)
    url = reverse("vetting_category_list", args=[cycle.slug])
    response = staff_client.get(url)
    assert response.status_code == 200
    assert response.context["form"] is None
    assert "Only officials can add categories." in response.content.decode()
    assert staff_client.post(url, {"name": "Parks"}).status_code == 403
    assert not Category.objects.exists()


# --- reports -----------------------------------------------------------------------------------------
def test_reports_page_lists_open_reports_and_hides_with_a_reason(staff_client, official, cycle):
    author, reporter = new_resident(), new_resident()
    idea = _paper(cycle, official, title="Rude idea")
    comment = services.comment_add(actor=author, idea=idea, body="A <i>rude</i> comment")
    on_idea = services.content_report(actor=reporter, idea=idea, reason="Insulting title")
    services.content_report(actor=new_resident(), idea=idea, reason="Same here")
    on_comment = services.content_report(actor=reporter, comment=comment, reason="Name-calling")
    url = reverse("vetting_report_list", args=[cycle.slug])
    response = staff_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Insulting title" in html and "Same here" in html and "Name-calling" in html
    assert "A &lt;i&gt;rude&lt;/i&gt; comment" in html
    assert "2 reports" in html
    assert len(response.context["groups"]) == 2

    hide_comment = reverse("vetting_report_hide", args=[cycle.slug, on_comment.pk])
    before = counts()
    response = staff_client.post(hide_comment, {f"report-{on_comment.pk}-reason": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert counts() == before

    response = staff_client.post(hide_comment, {f"report-{on_comment.pk}-reason": "Personal attack."})
    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.is_hidden and comment.hidden_reason == "Personal attack."
    assert Notification.objects.filter(recipient=author, kind="comment.hidden").exists()
    on_comment.refresh_from_db()
    assert on_comment.resolved_at is not None

    response = staff_client.post(
        reverse("vetting_report_hide", args=[cycle.slug, on_idea.pk]), {f"report-{on_idea.pk}-reason": "Insults."}
    )
    assert response.status_code == 302
    idea.refresh_from_db()
    assert idea.is_hidden
    assert not Report.objects.filter(resolved_at__isnull=True).exists()
    assert "No open reports." in staff_client.get(url).content.decode()


def test_hiding_a_resolved_report_changes_nothing(staff_client, official, cycle):
    idea = _paper(cycle, official)
    report = services.content_report(actor=new_resident(), idea=idea, reason="Spam")
    services.content_hide(actor=official, idea=idea, reason="Spam.")
    before = counts()
    response = staff_client.post(
        reverse("vetting_report_hide", args=[cycle.slug, report.pk]),
        {f"report-{report.pk}-reason": "Again"},
        follow=True,
    )
    assert "This report has already been dealt with." in _messages(response)
    assert counts() == before


# --- who may enter -----------------------------------------------------------------------------------
@pytest.fixture
def world(official):
    """One of everything, for the access tests."""
    cycle = CycleFactory(vetting=True)
    idea = _paper(cycle, official)
    project = make_project(cycle, official, [idea])
    report = services.content_report(actor=new_resident(), idea=idea, reason="Spam")
    return {"cycle": cycle, "idea": idea, "project": project, "report": report}


def _pages(world) -> list[str]:
    slug = world["cycle"].slug
    return [
        reverse("vetting_queue", args=[slug]),
        reverse("vetting_idea", args=[world["idea"].pk]),
        reverse("vetting_paper_idea_create", args=[slug]),
        reverse("vetting_project_list", args=[slug]),
        reverse("vetting_project_create", args=[slug]),
        reverse("vetting_project_edit", args=[world["project"].pk]),
        reverse("vetting_category_list", args=[slug]),
        reverse("vetting_report_list", args=[slug]),
    ]


def _actions(world) -> list[str]:
    pk = world["idea"].pk
    return [
        reverse("vetting_idea_assign", args=[pk]),
        reverse("vetting_idea_review", args=[pk]),
        reverse("vetting_idea_publish", args=[pk]),
        reverse("vetting_idea_hide", args=[pk]),
        reverse("vetting_paper_idea_create", args=[world["cycle"].slug]),
        reverse("vetting_project_create", args=[world["cycle"].slug]),
        reverse("vetting_project_edit", args=[world["project"].pk]),
        reverse("vetting_category_list", args=[world["cycle"].slug]),
        reverse("vetting_report_hide", args=[world["cycle"].slug, world["report"].pk]),
    ]


@pytest.mark.parametrize("role", ["resident", "auditor"])
def test_residents_and_auditors_get_403_everywhere(client, world, role, request, denials):
    client.force_login(request.getfixturevalue(role))
    before, events = counts(), AuditEvent.objects.count()
    for n, url in enumerate(_pages(world), start=1):
        response = client.get(url)
        assert response.status_code == 403, url
        assert _text(permissions.MSG_ROLE_REQUIRED) in response.content.decode()
        assert len(denials()) == n
    for url in _actions(world):
        assert client.post(url, {"reason": "x", "feasibility": "feasible", "name": "x"}).status_code == 403, url
    assert counts()["Idea"] == before["Idea"] and counts()["Review"] == before["Review"]
    assert AuditEvent.objects.count() == events  # refusals are logged, outside the audit chain
    assert Project.objects.count() == 1 and not Category.objects.exists()


def test_anonymous_is_sent_to_log_in(client, world):
    responses = [(url, client.get(url)) for url in _pages(world)] + [(url, client.post(url)) for url in _actions(world)]
    for url, response in responses:
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login")), url


def test_an_official_without_totp_is_sent_to_set_it_up(client, world, official_without_mfa):
    client.force_login(official_without_mfa)
    for url in _pages(world):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == reverse("mfa_activate_totp")
    response = client.post(reverse("vetting_idea_review", args=[world["idea"].pk]), {"feasibility": "feasible"})
    assert response["Location"] == reverse("mfa_activate_totp")
    assert not Review.objects.filter(idea=world["idea"]).exists()


@pytest.mark.parametrize("role", ["vetting_staff", "official"])
def test_vetting_staff_and_officials_open_every_page(client, world, role, request):
    client.force_login(request.getfixturevalue(role))
    for url in _pages(world):
        assert client.get(url).status_code == 200, url


def test_cycle_page_links_to_the_workspace(client, vetting_staff, official, cycle):
    client.force_login(vetting_staff)
    html = client.get(reverse("staff_cycle_detail", args=[cycle.slug])).content.decode()
    for name in ("vetting_queue", "vetting_project_list", "vetting_category_list", "vetting_report_list"):
        assert reverse(name, args=[cycle.slug]) in html
    assert reverse("vetting_paper_idea_create", args=[cycle.slug]) in html
    voting = CycleFactory(voting=True)
    html = client.get(reverse("staff_cycle_detail", args=[voting.slug])).content.decode()
    assert reverse("vetting_queue", args=[voting.slug]) in html
    assert reverse("vetting_paper_idea_create", args=[voting.slug]) not in html  # closed in voting


def test_cycle_page_has_no_workspace_links_without_the_permission(client, auditor, cycle):
    from django.contrib.auth.models import Permission

    auditor.user_permissions.add(Permission.objects.get(codename="view_staff_area"))
    client.force_login(auditor)
    response = client.get(reverse("staff_cycle_detail", args=[cycle.slug]))
    assert response.status_code == 200
    assert reverse("vetting_queue", args=[cycle.slug]) not in response.content.decode()


def test_unknown_cycle_is_not_found(staff_client):
    assert staff_client.get(reverse("vetting_queue", args=["nope"])).status_code == 404


def test_the_workspace_is_translated(staff_client, cycle):
    response = staff_client.get(reverse("vetting_queue", args=[cycle.slug]), HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 200
    assert '<html lang="es">' in response.content.decode()


def test_user_text_is_escaped(staff_client, official, cycle):
    _paper(cycle, official, title="<script>alert(1)</script>")
    html = staff_client.get(reverse("vetting_queue", args=[cycle.slug])).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_project_form_asks_for_every_language_of_the_cycle(staff_client, official):
    cycle = CycleFactory(vetting=True, wards="A", extra_languages=["zh-hans"])
    html = staff_client.get(reverse("vetting_project_create", args=[cycle.slug])).content.decode()
    for legend in ("Text in English", "Text in Spanish", "Text in Simplified Chinese"):
        assert legend in html
    assert 'name="text-zh-hans-title"' in html


# --- publishing several decisions ------------------------------------------------------------------------
def test_decisions_page_lists_waiting_decisions_with_labelled_checkboxes(staff_client, vetting_staff, official, cycle):
    fountain = _paper(cycle, official, title="Water fountain")
    benches = _paper(cycle, official, title="Benches on Grove Street")
    undecided = _paper(cycle, official, title="Bike racks")
    services.review_record(actor=vetting_staff, idea=fountain, feasibility="not_feasible", public_reason="State land.")
    services.review_record(actor=vetting_staff, idea=benches, feasibility="feasible")
    services.review_publish(actor=vetting_staff, idea=benches)
    html = staff_client.get(reverse("vetting_decisions", args=[cycle.slug])).content.decode()
    assert f'<input type="checkbox" name="ideas" value="{fountain.pk}" id="publish-{fountain.pk}">' in html
    assert f'<label for="publish-{fountain.pk}">#{fountain.pk} Water fountain</label>' in html
    assert "State land." in html
    assert f'value="{benches.pk}"' not in html  # already public
    assert f'value="{undecided.pk}"' not in html  # nothing to publish
    assert "Publish the chosen decisions" in html
    queue = staff_client.get(reverse("vetting_queue", args=[cycle.slug])).content.decode()
    assert f'href="{reverse("vetting_decisions", args=[cycle.slug])}"' in queue


def test_publish_chosen_decisions_from_the_page(staff_client, vetting_staff, official, cycle):
    fountain = _paper(cycle, official, title="Water fountain")
    benches = _paper(cycle, official, title="Benches on Grove Street")
    services.review_record(actor=vetting_staff, idea=fountain, feasibility="not_feasible", public_reason="State land.")
    services.review_record(actor=vetting_staff, idea=benches, feasibility="feasible")
    url = reverse("vetting_decisions", args=[cycle.slug])
    response = staff_client.post(url, {"ideas": [str(fountain.pk), str(benches.pk)]}, follow=True)
    assert response.redirect_chain == [(url, 302)]
    assert _messages(response) == [
        f"2 decisions published: #{fountain.pk} “Water fountain”, #{benches.pk} “Benches on Grove Street”."
    ]
    assert "Every recorded decision is published." in response.content.decode()
    assert AuditEvent.objects.filter(action="review.published").count() == 2
    fountain.refresh_from_db()
    assert fountain.status == Idea.Status.NOT_FEASIBLE

    # The same form sent again publishes nothing and says why, naming each idea.
    before = counts()
    again = staff_client.post(url, {"ideas": [str(fountain.pk), str(benches.pk)]})
    assert again.status_code == 409
    html = again.content.decode()
    assert "Nothing was published." in html
    assert _text(services.MSG_BATCH_ALREADY_PUBLISHED, idea=f"#{fountain.pk} “Water fountain”") in html
    assert _text(services.MSG_BATCH_ALREADY_PUBLISHED, idea=f"#{benches.pk} “Benches on Grove Street”") in html
    assert counts() == before


def test_publishing_several_is_all_or_nothing_on_the_page(staff_client, vetting_staff, official, cycle):
    fountain = _paper(cycle, official, title="Water fountain")
    undecided = _paper(cycle, official, title="Bike racks")
    services.review_record(actor=vetting_staff, idea=fountain, feasibility="feasible")
    before = counts()
    response = staff_client.post(
        reverse("vetting_decisions", args=[cycle.slug]), {"ideas": [str(fountain.pk), str(undecided.pk)]}
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert _text(services.MSG_BATCH_NO_DECISION, idea=f"#{undecided.pk} “Bike racks”") in html
    # The choice is kept for another try.
    assert f'value="{fountain.pk}" id="publish-{fountain.pk}" checked' in html
    assert counts() == before
    empty = staff_client.post(reverse("vetting_decisions", args=[cycle.slug]), {})
    assert empty.status_code == 400
    assert "Choose at least one decision to publish." in empty.content.decode()
    assert counts() == before


def test_publishing_several_outside_vetting_is_refused_on_the_page(staff_client, vetting_staff, official):
    ideas_cycle = CycleFactory(ideas=True)
    idea = _paper(ideas_cycle, official)
    before = counts()
    response = staff_client.post(reverse("vetting_decisions", args=[ideas_cycle.slug]), {"ideas": [str(idea.pk)]})
    assert response.status_code == 409
    assert _text(permissions.MSG_VETTING_CLOSED) in response.content.decode()
    assert counts() == before
