"""Residents' and visitors' pages: the idea list, submitting, the idea page with its buttons, editing
and withdrawing, projects, "My ideas" and notification preferences."""

import io
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape
from PIL import Image

from budgets import services as cycle_services
from budgets.phases import Phase
from core.models import AuditEvent
from proposals import images, permissions, services
from proposals.models import Comment, Endorsement, Follow, Idea, Report
from tests.ballots import ballot_prepare
from tests.factories import CycleFactory, user_with_role

from .builders import make_project

pytestmark = pytest.mark.django_db


# --- helpers ---------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _text(message, **params) -> str:
    """A message constant as it appears in HTML (autoescaped)."""
    return escape(str(message) % params if params else str(message))


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _follow_messages(client, response) -> list[str]:
    """The messages shown on the page a redirect leads to."""
    return _messages(client.get(response.url))


def _png(size=(8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def cycle(official):
    cycle = CycleFactory(ideas=True, wards="AB")
    services.category_create(actor=official, cycle=cycle, name="Parks", translations={"es": "Parques"})
    services.category_create(actor=official, cycle=cycle, name="Streets")
    return cycle


def _district(cycle, code="A"):
    return cycle.districts.get(code=code)


def _category(cycle, slug="parks"):
    return cycle.categories.get(slug=slug)


def _submit(user, cycle, **overrides) -> Idea:
    fields = {
        "title": "Benches on Grove Street",
        "description": "Six benches near the library.",
        "district": _district(cycle).pk,
        "address": "Grove St & Newark Ave",
        "category": _category(cycle).pk,
        "language": "en",
    } | overrides
    return services.idea_submit(actor=user, cycle=cycle, data=services.IdeaInput(**fields))


def _paper(staff, cycle, n: int, **overrides) -> list[Idea]:
    """Ideas keyed in from paper (no per-resident limits): cheap bulk state through a service."""
    ideas = []
    for i in range(n):
        fields = {
            "title": f"Paper idea {i}",
            "description": "From the ward meeting.",
            "district": _district(cycle, "AB"[i % 2]).pk,
            "address": f"{i} Main St",
            "category": _category(cycle).pk,
            "language": "en",
        } | overrides
        ideas.append(
            services.idea_submit_paper(
                actor=staff, cycle=cycle, data=services.IdeaInput(**fields), proposer_name=f"Proposer {i}"
            )
        )
    return ideas


def _form(cycle, **overrides) -> dict:
    return {
        "title": "Trees for Pavonia Avenue",
        "description": "Plant twenty street trees.",
        "district": str(_district(cycle).pk),
        "category": str(_category(cycle).pk),
        "address": "Pavonia Ave between Grove and Erie",
        "latitude": "",
        "longitude": "",
        "cost_guess": "25000",
        "language": "en",
    } | overrides


def _to_vetting(official, cycle):
    cycle_services.cycle_transition(actor=official, cycle=cycle, target=Phase.VETTING, reason="Ideas closed.")
    cycle.refresh_from_db()


def _project(staff, cycle, ideas, code="B-07", district="A"):
    texts = {
        "en": services.ProjectTextInput(title="Shade for Grove Street", summary="Benches and trees.", description="…"),
        "es": services.ProjectTextInput(title="Sombra para Grove Street", summary="Bancos y árboles.", description="…"),
    }
    return services.project_create_from_ideas(
        actor=staff,
        cycle=cycle,
        ideas=ideas,
        district=_district(cycle, district).pk,
        code=code,
        cost=Decimal("42000"),
        texts=texts,
        category=_category(cycle).pk,
    )


@pytest.fixture
def other_resident(db):
    return user_with_role("resident")


# --- the idea list ----------------------------------------------------------------------------------
def test_idea_list_shows_title_district_category_status_and_counts(client, cycle, resident, other_resident):
    idea = _submit(resident, cycle)
    services.idea_endorse(actor=other_resident, idea=idea)
    services.comment_add(actor=other_resident, idea=idea, body="Yes please")
    response = client.get(reverse("idea_list", args=[cycle.slug]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Benches on Grove Street" in html
    assert reverse("idea_detail", args=[idea.pk]) in html
    assert "Ward A (A)" in html
    assert "Parks" in html
    assert str(Idea.Status.SUBMITTED.label) in html
    assert "1 endorsement" in html and "1 comment" in html
    assert "1 idea" in html
    assert 'role="search"' in html and 'method="get"' in html
    assert reverse("idea_submit", args=[cycle.slug]) in html  # the ideas phase allows submitting


def test_idea_list_search_filters_and_sort(client, cycle, resident, vetting_staff):
    _submit(resident, cycle, title="Zebra crossing at Erie", description="Safer crossing.")
    _submit(
        resident,
        cycle,
        title="Apple trees",
        description="An orchard.",
        district=_district(cycle, "B").pk,
        category=_category(cycle, "streets").pk,
    )
    url = reverse("idea_list", args=[cycle.slug])

    html = client.get(url, {"q": "orchard"}).content.decode()
    assert "Apple trees" in html and "Zebra crossing" not in html
    html = client.get(url, {"district": "A"}).content.decode()
    assert "Zebra crossing" in html and "Apple trees" not in html
    html = client.get(url, {"category": "streets"}).content.decode()
    assert "Apple trees" in html and "Zebra crossing" not in html
    html = client.get(url, {"status": "feasible"}).content.decode()
    assert "Apple trees" not in html and "No ideas match your search." in html
    html = client.get(url, {"sort": "title"}).content.decode()
    assert html.index("Apple trees") < html.index("Zebra crossing")
    html = client.get(url, {"sort": "oldest"}).content.decode()
    assert html.index("Zebra crossing") < html.index("Apple trees")
    # A bad filter value is ignored rather than breaking the page.
    assert client.get(url, {"district": "nope", "sort": "bogus", "page": "x"}).status_code == 200


def test_idea_list_leaves_out_hidden_and_withdrawn_ideas(client, cycle, resident, vetting_staff):
    shown = _submit(resident, cycle, title="Shown idea")
    hidden = _submit(resident, cycle, title="Hidden idea")
    withdrawn = _submit(resident, cycle, title="Withdrawn idea")
    services.content_hide(actor=vetting_staff, idea=hidden, reason="Spam.")
    services.idea_withdraw(actor=resident, idea=withdrawn)
    html = client.get(reverse("idea_list", args=[cycle.slug])).content.decode()
    assert shown.title in html
    assert "Hidden idea" not in html and "Withdrawn idea" not in html


def test_idea_list_paginates_by_25_and_keeps_the_filters(client, cycle, vetting_staff):
    _paper(vetting_staff, cycle, 27, district=_district(cycle).pk)
    url = reverse("idea_list", args=[cycle.slug])
    first = client.get(url, {"district": "A"})
    assert len(first.context["page_obj"].object_list) == 25
    html = first.content.decode()
    assert "27 ideas" in html and "Page 1 of 2" in html
    assert "?district=A&amp;page=2" in html
    second = client.get(url, {"district": "A", "page": 2})
    assert len(second.context["page_obj"].object_list) == 2


@pytest.mark.parametrize("who", ["anonymous", "resident"])
def test_idea_list_runs_a_constant_number_of_queries(client, django_assert_num_queries, cycle, vetting_staff, who):
    if who == "resident":
        client.force_login(user_with_role("resident"))
    url = reverse("idea_list", args=[cycle.slug])
    endorsers = [user_with_role("resident") for _ in range(2)]

    def add(n):
        for idea in _paper(vetting_staff, cycle, n):
            for user in endorsers:
                services.idea_endorse(actor=user, idea=idea)
            services.comment_add(actor=endorsers[0], idea=idea, body="Good")

    add(2)
    client.get(url)  # warm up (session, content types)
    with CaptureQueriesContext(connection) as two:
        assert len(client.get(url).context["page_obj"].object_list) == 2
    add(10)
    with django_assert_num_queries(len(two)):
        response = client.get(url, {"sort": "endorsements"})
    assert len(response.context["page_obj"].object_list) == 12


def test_idea_list_of_a_draft_cycle_is_not_found(client):
    cycle = CycleFactory(phase=Phase.DRAFT)
    assert client.get(reverse("idea_list", args=[cycle.slug])).status_code == 404


# --- submitting -----------------------------------------------------------------------------------
def test_submit_form_offers_only_this_cycles_districts_and_categories(client, cycle, resident, official):
    other = CycleFactory(ideas=True, wards="Z")
    services.category_create(actor=official, cycle=other, name="Elsewhere")
    client.force_login(resident)
    response = client.get(reverse("idea_submit", args=[cycle.slug]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert "Ward A (A)" in html and "Ward B (B)" in html and "Ward Z" not in html
    assert "Parks" in html and "Elsewhere" not in html
    assert 'name="latitude"' in html and 'type="hidden"' in html
    assert 'data-tile-url="https://tile.openstreetmap.org/{z}/{x}/{y}.png"' in html
    assert response.context["form"]["language"].value() == "en"
    assert 'for="id_address"' in html  # labelled controls


def test_submit_form_defaults_to_the_active_language(client, cycle, resident):
    client.force_login(resident)
    response = client.get(reverse("idea_submit", args=[cycle.slug]), HTTP_ACCEPT_LANGUAGE="es")
    assert response.context["form"]["language"].value() == "es"


def test_submit_an_idea_with_a_photo_and_a_map_point(client, cycle, resident):
    client.force_login(resident)
    data = _form(cycle, latitude="40.721500", longitude="-74.047100", language="es", cost_guess="$25,000")
    data["photo"] = SimpleUploadedFile("me.png", _png(), content_type="image/png")
    response = client.post(reverse("idea_submit", args=[cycle.slug]), data)
    idea = Idea.objects.get()
    assert response.status_code == 302 and response.url == reverse("idea_detail", args=[idea.pk])
    assert _follow_messages(client, response) == ["Thank you! Your idea “Trees for Pavonia Avenue” has been submitted."]
    assert (idea.author, idea.cycle, idea.district.code, idea.category.slug) == (resident, cycle, "A", "parks")
    assert idea.cost_guess == Decimal("25000.00") and idea.language == "es"
    assert (idea.latitude, idea.longitude) == (Decimal("40.721500"), Decimal("-74.047100"))
    assert idea.photo and idea.photo.name.endswith(".png")
    assert Follow.objects.filter(user=resident, idea=idea).exists()
    assert AuditEvent.objects.filter(action="idea.submitted", object_id=str(idea.pk)).exists()


def test_submit_without_optional_fields(client, cycle, resident):
    client.force_login(resident)
    response = client.post(reverse("idea_submit", args=[cycle.slug]), _form(cycle, category="", cost_guess=""))
    assert response.status_code == 302
    idea = Idea.objects.get()
    assert idea.category is None and idea.cost_guess is None and not idea.photo


def _big_upload():
    return SimpleUploadedFile("big.png", b"\x89PNG" + b"0" * images.MAX_BYTES, content_type="image/png")


BAD_INPUT = {
    "not an image": (
        lambda c: {"photo": SimpleUploadedFile("x.jpg", b"just text", content_type="image/jpeg")},
        "photo",
        images.MSG_NOT_AN_IMAGE,
    ),
    "photo over 5 MB": (lambda c: {"photo": _big_upload()}, "photo", images.MSG_TOO_LARGE),
    "negative cost": (lambda c: {"cost_guess": "-5"}, "cost_guess", services.MSG_NEGATIVE),
    "non-numeric cost": (lambda c: {"cost_guess": "lots"}, "cost_guess", services.MSG_BAD_AMOUNT),
    "title too long": (
        lambda c: {"title": "x" * 151},
        "title",
        services.MSG_TOO_LONG % {"max": 150, "length": 151},
    ),
    "district of another cycle": (
        lambda c: {"district": str(CycleFactory(ideas=True, wards="Q").districts.get().pk)},
        "district",
        services.MSG_WRONG_DISTRICT,
    ),
    "district not a number": (lambda c: {"district": "abc"}, "district", services.MSG_WRONG_DISTRICT),
    "missing address": (lambda c: {"address": "  "}, "address", services.MSG_REQUIRED),
    "language not offered": (lambda c: {"language": "xx"}, "language", services.MSG_BAD_LANGUAGE),
}


@pytest.mark.parametrize("case", BAD_INPUT.keys())
def test_bad_input_is_answered_with_a_clear_error_and_nothing_is_saved(client, cycle, resident, case):
    make, field, message = BAD_INPUT[case]
    client.force_login(resident)
    audit_before = AuditEvent.objects.count()
    response = client.post(reverse("idea_submit", args=[cycle.slug]), _form(cycle) | make(cycle))
    assert response.status_code == 200
    form = response.context["form"]
    assert str(message) in form.errors[field]
    html = response.content.decode()
    assert _text(message) in html
    assert 'class="errorsummary"' in html and f'href="#id_{field}"' in html
    assert 'aria-invalid="true"' in html
    assert Idea.objects.count() == 0
    assert AuditEvent.objects.count() == audit_before


def test_bad_map_point_is_a_form_error(client, cycle, resident):
    client.force_login(resident)
    response = client.post(reverse("idea_submit", args=[cycle.slug]), _form(cycle, latitude="123", longitude="5"))
    assert response.status_code == 200
    assert str(services.MSG_BAD_COORDINATES) in response.context["form"].non_field_errors()
    assert Idea.objects.count() == 0


def test_script_in_a_title_is_stored_as_text_and_shown_escaped(client, cycle, resident):
    client.force_login(resident)
    title = "<script>alert('x')</script> Benches"
    response = client.post(reverse("idea_submit", args=[cycle.slug]), _form(cycle, title=title))
    idea = Idea.objects.get()
    assert idea.title == title
    for url in (
        response.url,
        reverse("idea_list", args=[cycle.slug]),
        reverse("my_ideas"),
        reverse("idea_edit", args=[idea.pk]),
    ):
        html = client.get(url).content.decode()
        assert "<script>alert" not in html, url
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Benches" in html, url


def test_anonymous_submit_goes_to_login_and_saves_nothing(client, cycle, denials):
    url = reverse("idea_submit", args=[cycle.slug])
    events = AuditEvent.objects.count()
    for response in (client.get(url), client.post(url, _form(cycle))):
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login") + "?next=")
    assert Idea.objects.count() == 0
    assert [d["actor_type"] for d in denials()] == ["anonymous", "anonymous"]
    assert AuditEvent.objects.count() == events


def test_unverified_resident_is_told_to_confirm_the_email(client, cycle, resident):
    EmailAddress.objects.filter(user=resident).update(verified=False)
    client.force_login(resident)
    response = client.post(reverse("idea_submit", args=[cycle.slug]), _form(cycle))
    assert response.status_code == 403
    assert _text(permissions.MSG_VERIFY_EMAIL) in response.content.decode()
    assert Idea.objects.count() == 0


def test_submitting_outside_the_ideas_phase_is_refused_with_a_message(client, cycle, resident, official):
    _to_vetting(official, cycle)
    client.force_login(resident)
    url = reverse("idea_submit", args=[cycle.slug])
    for send in (lambda: client.get(url), lambda: client.post(url, _form(cycle))):
        response = send()
        assert response.status_code == 302 and response.url == reverse("cycle_detail", args=[cycle.slug])
        assert _follow_messages(client, response) == [str(permissions.MSG_IDEAS_CLOSED)]
    assert Idea.objects.count() == 0


def test_the_per_cycle_limit_is_a_form_error(client, cycle, resident):
    cycle.ideas_per_resident = 1
    cycle.save()
    _submit(resident, cycle)
    client.force_login(resident)
    response = client.post(reverse("idea_submit", args=[cycle.slug]), _form(cycle))
    assert response.status_code == 200
    assert _text(services.MSG_IDEA_LIMIT, limit=1) in response.content.decode()
    assert Idea.objects.count() == 1


def test_the_same_idea_from_two_tabs_is_one_idea_and_the_second_is_told_why(client, cycle, resident):
    client.force_login(resident)
    url = reverse("idea_submit", args=[cycle.slug])
    first = client.post(url, _form(cycle))
    assert first.status_code == 302
    second = client.post(url, _form(cycle))
    assert second.status_code == 200
    assert _text(services.MSG_IDEA_AGAIN) in second.content.decode()
    assert Idea.objects.count() == 1


# --- the idea page --------------------------------------------------------------------------------
def test_idea_page_shows_the_idea(client, cycle, resident, other_resident):
    idea = _submit(resident, cycle, cost_guess="25000", latitude="40.72", longitude="-74.04")
    services.comment_add(actor=other_resident, idea=idea, body="Great <b>idea</b>")
    response = client.get(reverse("idea_detail", args=[idea.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<h1 id="idea-title">Benches on Grove Street</h1>' in html
    assert "Six benches near the library." in html
    assert "Ward A (A)" in html and "Parks" in html and "Grove St &amp; Newark Ave" in html
    assert "$25,000" in html
    assert str(Idea.Status.SUBMITTED.label) in html
    assert "Great &lt;b&gt;idea&lt;/b&gt;" in html
    assert other_resident.email not in html  # commenters appear by name, never by email
    assert "data-map-view" in html and 'data-lat="40.720000"' in html
    assert "Log in to endorse, follow or comment on this idea." in html
    assert reverse("idea_edit", args=[idea.pk]) not in html


def test_author_sees_edit_and_withdraw_others_do_not(client, cycle, resident, other_resident):
    idea = _submit(resident, cycle)
    client.force_login(resident)
    html = client.get(reverse("idea_detail", args=[idea.pk])).content.decode()
    assert reverse("idea_edit", args=[idea.pk]) in html and reverse("idea_withdraw", args=[idea.pk]) in html
    assert reverse("idea_endorse", args=[idea.pk]) not in html  # not one's own idea
    client.force_login(other_resident)
    html = client.get(reverse("idea_detail", args=[idea.pk])).content.decode()
    assert reverse("idea_edit", args=[idea.pk]) not in html
    assert reverse("idea_endorse", args=[idea.pk]) in html
    assert reverse("idea_comment", args=[idea.pk]) in html
    assert reverse("idea_report", args=[idea.pk]) in html


def test_missing_idea_is_not_found(client):
    assert client.get(reverse("idea_detail", args=[999999])).status_code == 404


def test_review_history_and_project_chain_without_internal_notes(
    client, cycle, resident, other_resident, official, vetting_staff
):
    idea = _submit(resident, cycle)
    _to_vetting(official, cycle)
    services.review_record(
        actor=vetting_staff,
        idea=idea,
        feasibility="feasible",
        public_reason="Fits the sidewalk.",
        cost_estimate="40000",
        department="Parks Department",
        internal_notes="SECRET-NOTE",
    )
    services.review_publish(actor=vetting_staff, idea=idea)
    url = reverse("idea_detail", args=[idea.pk])
    for user in (None, resident, other_resident):
        if user:
            client.force_login(user)
        else:
            client.logout()
        html = client.get(url).content.decode()
        assert "SECRET-NOTE" not in html
        assert "Fits the sidewalk." in html and "Parks Department" in html and "$40,000" in html
        assert str(Idea.Status.FEASIBLE.label) in html  # status and its history
        assert str(Idea.Status.UNDER_REVIEW.label) in html
    project = _project(vetting_staff, cycle, [idea])
    client.logout()
    html = client.get(url).content.decode()
    assert "SECRET-NOTE" not in html
    assert (
        f'This idea became project <a href="{reverse("project_detail", args=[project.pk])}">B-07 – '
        "Shade for Grove Street</a>." in html
    )


def test_unpublished_review_is_not_shown(client, cycle, resident, official, vetting_staff):
    idea = _submit(resident, cycle)
    _to_vetting(official, cycle)
    services.review_record(actor=vetting_staff, idea=idea, feasibility="feasible", public_reason="Draft reason.")
    html = client.get(reverse("idea_detail", args=[idea.pk])).content.decode()
    assert "Draft reason." not in html


def test_hidden_idea_is_shown_only_to_its_author_and_staff_with_the_reason(
    client, cycle, resident, other_resident, vetting_staff
):
    idea = _submit(resident, cycle)
    services.content_hide(actor=vetting_staff, idea=idea, reason="Personal <data>.")
    url = reverse("idea_detail", args=[idea.pk])
    assert client.get(url).status_code == 404
    client.force_login(other_resident)
    assert client.get(url).status_code == 404
    for user in (resident, vetting_staff):
        client.force_login(user)
        html = client.get(url).content.decode()
        assert "Hidden by a moderator: Personal &lt;data&gt;." in html
        assert reverse("idea_endorse", args=[idea.pk]) not in html
        assert reverse("idea_report", args=[idea.pk]) not in html


# --- editing and withdrawing ------------------------------------------------------------------------
def test_author_edits_their_idea(client, cycle, resident):
    idea = _submit(resident, cycle, cost_guess="100")
    client.force_login(resident)
    url = reverse("idea_edit", args=[idea.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert response.context["form"]["title"].value() == "Benches on Grove Street"
    assert response.context["form"]["cost_guess"].value() == Decimal("100.00")
    response = client.post(url, _form(cycle, title="Benches and shade", district=str(_district(cycle, "B").pk)))
    assert response.status_code == 302 and response.url == reverse("idea_detail", args=[idea.pk])
    assert _follow_messages(client, response) == ["Your changes are saved."]
    idea.refresh_from_db()
    assert idea.title == "Benches and shade" and idea.district.code == "B"


def test_edit_errors_are_form_errors_and_change_nothing(client, cycle, resident):
    idea = _submit(resident, cycle)
    client.force_login(resident)
    response = client.post(reverse("idea_edit", args=[idea.pk]), _form(cycle, cost_guess="-1", title=""))
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "title": [str(services.MSG_REQUIRED)],
        "cost_guess": [str(services.MSG_NEGATIVE)],
    }
    idea.refresh_from_db()
    assert idea.title == "Benches on Grove Street"


@pytest.mark.parametrize("name", ["idea_edit", "idea_withdraw"])
def test_another_resident_cannot_edit_or_withdraw(client, cycle, resident, other_resident, name, denials):
    idea = _submit(resident, cycle)
    client.force_login(other_resident)
    url = reverse(name, args=[idea.pk])
    for response in (client.get(url), client.post(url, _form(cycle, title="Taken over"))):
        assert response.status_code == 403
        assert _text(permissions.MSG_NOT_YOURS) in response.content.decode()
    idea.refresh_from_db()
    assert idea.title == "Benches on Grove Street" and idea.status == Idea.Status.SUBMITTED
    assert [d["actor_id"] for d in denials()] == [other_resident.pk] * 2
    assert not AuditEvent.objects.filter(actor_id=other_resident.pk).exists()


def test_edit_after_review_started_is_refused_with_a_message(client, cycle, resident, official, vetting_staff):
    idea = _submit(resident, cycle)
    _to_vetting(official, cycle)
    client.force_login(resident)
    response = client.get(reverse("idea_edit", args=[idea.pk]))
    assert response.status_code == 302
    assert _follow_messages(client, response) == [str(permissions.MSG_IDEAS_CLOSED)]


def test_author_withdraws_after_confirming(client, cycle, resident):
    idea = _submit(resident, cycle)
    client.force_login(resident)
    url = reverse("idea_withdraw", args=[idea.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert "Do you really want to withdraw" in response.content.decode()
    idea.refresh_from_db()
    assert idea.status == Idea.Status.SUBMITTED  # a GET changes nothing
    response = client.post(url, {"reason": "Done by the city already."})
    assert response.status_code == 302
    assert _follow_messages(client, response) == ["Your idea has been withdrawn."]
    idea.refresh_from_db()
    assert idea.status == Idea.Status.WITHDRAWN
    html = client.get(reverse("idea_detail", args=[idea.pk])).content.decode()
    assert "Done by the city already." in html  # the public reason in the history
    assert reverse("idea_withdraw", args=[idea.pk]) not in html
    client.logout()
    assert client.get(reverse("idea_detail", args=[idea.pk])).status_code == 404


# --- endorse, follow, comment, report ---------------------------------------------------------------
def test_endorse_twice_makes_one_endorsement_and_unendorse_removes_it(client, cycle, resident, other_resident):
    idea = _submit(resident, cycle)
    client.force_login(other_resident)
    url = reverse("idea_endorse", args=[idea.pk])
    first = client.post(url, {"action": "endorse"})
    assert first.status_code == 302 and first.url == reverse("idea_detail", args=[idea.pk]) + "#support"
    assert _follow_messages(client, first) == ["Thank you: you endorse this idea."]
    second = client.post(url, {"action": "endorse"})
    assert _follow_messages(client, second) == ["You already endorse this idea."]
    assert Endorsement.objects.filter(idea=idea).count() == 1
    html = client.get(reverse("idea_detail", args=[idea.pk])).content.decode()
    assert "Withdraw my endorsement" in html and "1 resident endorses this idea." in html
    client.post(url, {"action": "unendorse"})
    assert Endorsement.objects.filter(idea=idea).count() == 0


def test_endorsing_ones_own_idea_is_refused_with_a_message(client, cycle, resident):
    idea = _submit(resident, cycle)
    client.force_login(resident)
    response = client.post(reverse("idea_endorse", args=[idea.pk]))
    assert _follow_messages(client, response) == [str(services.MSG_OWN_IDEA)]
    assert Endorsement.objects.count() == 0


def test_anonymous_endorse_goes_to_login_and_get_goes_back_to_the_idea(client, cycle, resident):
    idea = _submit(resident, cycle)
    url = reverse("idea_endorse", args=[idea.pk])
    response = client.post(url)
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    assert client.get(url).url == reverse("idea_detail", args=[idea.pk])
    assert Endorsement.objects.count() == 0


def test_endorsing_when_discussion_is_closed_is_a_message(client, cycle, resident, other_resident, official):
    idea = _submit(resident, cycle)
    _to_vetting(official, cycle)
    make_project(cycle, official, [idea])  # voting needs something on the ballot
    ballot_prepare(cycle, official)
    cycle_services.cycle_transition(actor=official, cycle=cycle, target=Phase.VOTING, reason="Vote.")
    client.force_login(other_resident)
    html = client.get(reverse("idea_detail", args=[idea.pk])).content.decode()
    assert "Endorsing and commenting are closed in this phase." in html
    assert reverse("idea_comment", args=[idea.pk]) not in html
    response = client.post(reverse("idea_endorse", args=[idea.pk]))
    assert _follow_messages(client, response) == [str(permissions.MSG_DISCUSSION_CLOSED)]
    assert Endorsement.objects.count() == 0


def test_follow_and_unfollow(client, cycle, resident, other_resident):
    idea = _submit(resident, cycle)
    client.force_login(other_resident)
    url = reverse("idea_follow", args=[idea.pk])
    response = client.post(url, {"action": "follow"})
    assert _follow_messages(client, response) == ["You follow this idea: we will tell you about its progress."]
    assert Follow.objects.filter(user=other_resident, idea=idea).exists()
    assert "Stop following" in client.get(reverse("idea_detail", args=[idea.pk])).content.decode()
    client.post(url, {"action": "unfollow"})
    assert not Follow.objects.filter(user=other_resident, idea=idea).exists()


def test_comment_is_added_and_shown(client, cycle, resident, other_resident):
    idea = _submit(resident, cycle)
    client.force_login(other_resident)
    response = client.post(reverse("idea_comment", args=[idea.pk]), {"body": "<script>x</script> Love it"})
    comment = Comment.objects.get()
    assert response.url == reverse("idea_detail", args=[idea.pk]) + f"#comment-{comment.pk}"
    assert _follow_messages(client, response) == ["Your comment is posted."]
    html = client.get(reverse("idea_detail", args=[idea.pk])).content.decode()
    assert "&lt;script&gt;x&lt;/script&gt; Love it" in html and "<script>x" not in html


def test_empty_or_too_long_comment_is_a_message(client, cycle, resident, other_resident):
    idea = _submit(resident, cycle)
    client.force_login(other_resident)
    response = client.post(reverse("idea_comment", args=[idea.pk]), {"body": "   "})
    assert _follow_messages(client, response) == ["Your comment is empty: write something before posting it."]
    response = client.post(reverse("idea_comment", args=[idea.pk]), {"body": "x" * 2001})
    assert _follow_messages(client, response) == [str(services.MSG_TOO_LONG % {"max": 2000, "length": 2001})]
    assert Comment.objects.count() == 0


def test_anonymous_comment_goes_to_login(client, cycle, resident):
    idea = _submit(resident, cycle)
    response = client.post(reverse("idea_comment", args=[idea.pk]), {"body": "Hi"})
    assert response.url.startswith(reverse("account_login"))
    assert Comment.objects.count() == 0


def test_report_an_idea_and_a_comment(client, cycle, resident, other_resident):
    idea = _submit(resident, cycle)
    comment = services.comment_add(actor=resident, idea=idea, body="Rude words")
    client.force_login(other_resident)
    html = client.get(reverse("idea_detail", args=[idea.pk])).content.decode()
    assert reverse("comment_report", args=[comment.pk]) in html
    response = client.post(reverse("idea_report", args=[idea.pk]), {"reason": "Advertising."})
    assert _follow_messages(client, response) == ["Thank you. A moderator will look at your report."]
    response = client.post(reverse("comment_report", args=[comment.pk]), {"reason": "Insults."})
    assert response.url == reverse("idea_detail", args=[idea.pk]) + f"#comment-{comment.pk}"
    assert _follow_messages(client, response) == ["Thank you. A moderator will look at your report."]
    assert list(Report.objects.values_list("idea_id", "comment_id", "reason", "reporter_id")) == [
        (idea.pk, None, "Advertising.", other_resident.pk),
        (None, comment.pk, "Insults.", other_resident.pk),
    ]
    response = client.post(reverse("idea_report", args=[idea.pk]), {"reason": ""})
    assert _follow_messages(client, response) == [str(services.MSG_REASON_REQUIRED)]
    assert Report.objects.count() == 2


def test_reporting_a_hidden_comment_is_not_found(client, cycle, resident, other_resident, vetting_staff):
    idea = _submit(resident, cycle)
    comment = services.comment_add(actor=resident, idea=idea, body="Rude words")
    services.content_hide(actor=vetting_staff, comment=comment, reason="Rude.")
    client.force_login(other_resident)
    assert client.post(reverse("comment_report", args=[comment.pk]), {"reason": "x"}).status_code == 404
    assert "Rude words" not in client.get(reverse("idea_detail", args=[idea.pk])).content.decode()


# --- projects --------------------------------------------------------------------------------------
def test_project_list_and_page(client, cycle, resident, other_resident, official, vetting_staff):
    first = _submit(resident, cycle)
    second = _submit(other_resident, cycle, title="Trees on Grove")
    _to_vetting(official, cycle)
    project = _project(vetting_staff, cycle, [first, second])
    html = client.get(reverse("project_list", args=[cycle.slug])).content.decode()
    assert "B-07" in html and "Shade for Grove Street" in html and "$42,000" in html
    assert "Made from 2 ideas" in html
    assert reverse("project_detail", args=[project.pk]) in html

    html = client.get(reverse("project_detail", args=[project.pk])).content.decode()
    assert "Shade for Grove Street" in html and "Benches and trees." in html and "$42,000" in html
    assert "Made from these ideas" in html
    assert reverse("idea_detail", args=[first.pk]) in html and reverse("idea_detail", args=[second.pk]) in html

    html = client.get(reverse("project_detail", args=[project.pk]), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Sombra para Grove Street" in html and "Bancos y árboles." in html


def test_project_page_of_a_draft_cycle_is_not_found(client, cycle, resident, official, vetting_staff):
    project = _project_in_vetting(cycle, resident, official, vetting_staff)
    cycle.__class__.objects.filter(pk=cycle.pk).update(phase=Phase.DRAFT)  # only to test the gate
    assert client.get(reverse("project_detail", args=[project.pk])).status_code == 404
    assert client.get(reverse("project_list", args=[cycle.slug])).status_code == 404


def _project_in_vetting(cycle, resident, official, vetting_staff):
    idea = _submit(resident, cycle)
    _to_vetting(official, cycle)
    return _project(vetting_staff, cycle, [idea])


def test_project_list_filters_by_district(client, cycle, resident, official, vetting_staff):
    idea = _submit(resident, cycle)
    _to_vetting(official, cycle)
    _project(vetting_staff, cycle, [idea], code="A-01", district="A")
    _project(vetting_staff, cycle, [idea], code="B-01", district="B")
    html = client.get(reverse("project_list", args=[cycle.slug]), {"district": "B"}).content.decode()
    assert "B-01" in html and "A-01" not in html


def test_project_list_runs_a_constant_number_of_queries(
    client, django_assert_num_queries, cycle, official, vetting_staff
):
    ideas = _paper(vetting_staff, cycle, 12)
    _to_vetting(official, cycle)
    url = reverse("project_list", args=[cycle.slug])
    for i in range(2):
        _project(vetting_staff, cycle, ideas[i : i + 2], code=f"P-{i}")
    client.get(url)
    with CaptureQueriesContext(connection) as two:
        client.get(url)
    for i in range(2, 12):
        _project(vetting_staff, cycle, ideas[i - 1 : i + 1], code=f"P-{i}")
    with django_assert_num_queries(len(two)):
        response = client.get(url)
    assert len(response.context["projects"]) == 12


def test_follow_a_project(client, cycle, resident, other_resident, official, vetting_staff):
    project = _project_in_vetting(cycle, resident, official, vetting_staff)
    client.force_login(other_resident)
    response = client.post(reverse("project_follow", args=[project.pk]), {"action": "follow"})
    assert response.url == reverse("project_detail", args=[project.pk])
    assert Follow.objects.filter(user=other_resident, project=project).exists()
    client.post(reverse("project_follow", args=[project.pk]), {"action": "unfollow"})
    assert not Follow.objects.filter(user=other_resident, project=project).exists()
    client.logout()
    assert client.post(reverse("project_follow", args=[project.pk])).url.startswith(reverse("account_login"))


# --- my ideas --------------------------------------------------------------------------------------
def test_my_ideas_shows_the_chain_to_projects(client, cycle, resident, other_resident, official, vetting_staff):
    mine = _submit(resident, cycle, title="Benches")
    _submit(resident, cycle, title="A second idea")
    _submit(other_resident, cycle, title="Not mine")
    _to_vetting(official, cycle)
    project = _project(vetting_staff, cycle, [mine])
    client.force_login(resident)
    html = client.get(reverse("my_ideas")).content.decode()
    assert "A second idea" in html and "Not mine" not in html
    assert (
        f'Your idea “Benches” became project <a href="{reverse("project_detail", args=[project.pk])}">B-07 – '
        "Shade for Grove Street</a>." in html
    )


def test_a_draft_projects_ideas_keep_their_public_status_until_it_is_published(
    client, cycle, resident, official, vetting_staff
):
    idea = _submit(resident, cycle, title="Benches")
    _to_vetting(official, cycle)
    services.review_assign(actor=vetting_staff, idea=idea, reviewer=vetting_staff)
    draft = services.project_create_from_ideas(
        actor=vetting_staff,
        cycle=cycle,
        ideas=[idea],
        district=_district(cycle).pk,
        code="B-07",
        cost=Decimal("42000"),
        category=_category(cycle).pk,
        texts={"en": services.ProjectTextInput(title="Shade for Grove Street", summary="Trees.", description="…")},
        draft=True,
    )
    became = str(Idea.Status.IN_PROJECT.label)

    def public_views():
        client.force_login(resident)
        page = client.get(reverse("idea_detail", args=[idea.pk])).content.decode()
        mine = client.get(reverse("my_ideas")).content.decode()
        api = client.get(f"/api/v1/ideas/{idea.pk}/").json()
        client.logout()
        return page, mine, api

    page, mine, api = public_views()
    assert 'data-status="under_review">Under review<' in page and became not in page
    assert 'data-status="under_review">Under review<' in mine and became not in mine and "B-07" not in mine
    assert api["status"] == "under_review" and api["projects"] == []
    assert [h["to_status"] for h in api["status_history"]] == ["submitted", "under_review"]
    # Staff still see the idea is in a draft project.
    client.force_login(vetting_staff)
    review = client.get(reverse("vetting_idea", args=[idea.pk])).content.decode()
    assert "B-07" in review and "Draft" in review
    client.logout()

    services.project_publish(actor=vetting_staff, cycle=cycle, projects=[draft])
    page, mine, api = public_views()
    assert f'data-status="in_project">{became}<' in page and "B-07" in page
    assert f'data-status="in_project">{became}<' in mine and "B-07" in mine
    assert api["status"] == "in_project" and [p["code"] for p in api["projects"]] == ["B-07"]
    assert [h["to_status"] for h in api["status_history"]] == ["submitted", "under_review", "in_project"]
    assert Idea.objects.get(pk=idea.pk).status_changes.filter(to_status="in_project").count() == 1


def test_my_ideas_needs_a_login(client):
    response = client.get(reverse("my_ideas"))
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))


# --- the cycle pages link here ---------------------------------------------------------------------
def test_cycle_pages_link_to_ideas_while_ideas_are_collected(client, cycle, official):
    for url in (reverse("home"), reverse("cycle_detail", args=[cycle.slug])):
        html = client.get(url).content.decode()
        assert reverse("idea_submit", args=[cycle.slug]) in html
        assert reverse("idea_list", args=[cycle.slug]) in html
    _to_vetting(official, cycle)
    html = client.get(reverse("cycle_detail", args=[cycle.slug])).content.decode()
    assert reverse("idea_submit", args=[cycle.slug]) not in html
    assert reverse("idea_list", args=[cycle.slug]) in html
    assert reverse("project_list", args=[cycle.slug]) in html


def test_nav_links_for_residents(client, resident):
    client.force_login(resident)
    html = client.get(reverse("home")).content.decode()
    assert reverse("my_ideas") in html and reverse("account_preferences") in html
