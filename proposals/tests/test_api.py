"""API v1 for ideas, reviews and projects: every endpoint, a permissions matrix, what public answers
never carry (internal notes, emails), problem details on bad input, the frozen ballot, query counts."""

import io
from decimal import Decimal

import pytest
from PIL import Image
from rest_framework.test import APIClient

from budgets.phases import TRANSITIONS, Phase
from budgets.services import cycle_transition
from core.api import PROBLEM_CONTENT_TYPE
from core.models import AuditEvent, Notification
from core.money import format_money
from proposals import permissions, services
from proposals.models import (
    Category,
    Comment,
    Endorsement,
    Follow,
    Idea,
    IdeaStatusChange,
    Project,
    ProjectSource,
    ProjectText,
    Report,
    Review,
)
from tests.factories import CycleFactory, user_with_role

pytestmark = pytest.mark.django_db

SECRET = "SECRET-NOTE"
IDEA = {
    "title": "Benches on Grove Street",
    "description": "Six benches between the PATH station and the library.",
    "district": "A",
    "address": "Grove St, Jersey City",
    "cost_guess": "12000",
}


# --- helpers --------------------------------------------------------------------------------------
@pytest.fixture
def api():
    return APIClient()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def no_ballot_guards():
    """Vetting → voting without the guards and hooks other apps register (a complete ballot design):
    these tests are about what the proposals API does once voting has opened."""
    transition = TRANSITIONS[(Phase.VETTING, Phase.VOTING)]
    saved = list(transition.guards), list(transition.hooks)
    transition.guards.clear()
    transition.hooks.clear()
    yield
    transition.guards[:], transition.hooks[:] = saved


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def assert_problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM_CONTENT_TYPE)
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:pbplatform:problem:")
    assert body["title"] and "detail" in body
    assert body["instance"] == response.wsgi_request.path
    if code is not None:
        assert body["code"] == code
    return body


def idea_data(cycle, **overrides) -> services.IdeaInput:
    values = {
        "title": "Water fountain in Van Vorst Park",
        "description": "A year-round fountain with a bottle filler.",
        "district": cycle.districts.get(code="A"),
        "address": "Van Vorst Park",
        "cost_guess": "8000",
    }
    values.update(overrides)
    return services.IdeaInput(**values)


def submit(cycle, author, **overrides) -> Idea:
    return services.idea_submit(actor=author, cycle=cycle, data=idea_data(cycle, **overrides))


def move(cycle, official, target: str):
    return cycle_transition(actor=official, cycle=cycle, target=target, reason="The schedule moved on.")


def texts(title="Fountains", es_title="Fuentes") -> dict:
    return {
        "en": {"title": title, "summary": "Two fountains.", "description": "Two year-round fountains."},
        "es": {"title": es_title, "summary": "Dos fuentes.", "description": "Dos fuentes todo el año."},
    }


def service_texts(**kwargs) -> dict:
    return {lang: services.ProjectTextInput(**t) for lang, t in texts(**kwargs).items()}


def make_project(cycle, staff, ideas, code="A-01", cost="20000") -> Project:
    return services.project_create_from_ideas(
        actor=staff,
        cycle=cycle,
        ideas=ideas,
        district=cycle.districts.get(code="A"),
        code=code,
        cost=cost,
        texts=service_texts(),
    )


def snapshot() -> dict:
    """Everything the proposals API could change; equal before and after a refused request. Audit
    events of refused access are left out: recording a refusal is the one write a refusal makes."""
    return {
        "ideas": list(
            Idea.objects.order_by("pk").values_list(
                "pk", "title", "description", "status", "district_id", "category_id", "cost_guess", "hidden_at"
            )
        ),
        "history": list(IdeaStatusChange.objects.order_by("pk").values_list("pk", "to_status")),
        "reviews": list(
            Review.objects.order_by("pk").values_list(
                "pk", "reviewer_id", "feasibility", "public_reason", "cost_estimate", "internal_notes", "published_at"
            )
        ),
        "projects": list(
            Project.objects.order_by("pk").values_list(
                "pk", "code", "cost", "district_id", "category_id", "address", "published_at"
            )
        ),
        "texts": list(ProjectText.objects.order_by("pk").values_list("project_id", "language", "title", "summary")),
        "sources": list(ProjectSource.objects.order_by("pk").values_list("project_id", "idea_id")),
        "endorsements": list(Endorsement.objects.order_by("pk").values_list("idea_id", "user_id")),
        "comments": list(Comment.objects.order_by("pk").values_list("pk", "body", "hidden_at")),
        "follows": list(Follow.objects.order_by("pk").values_list("user_id", "idea_id", "project_id")),
        "reports": list(Report.objects.order_by("pk").values_list("pk", "resolved_at")),
        "categories": list(Category.objects.order_by("pk").values_list("pk", "slug")),
        "audit": list(AuditEvent.objects.order_by("pk").values_list("pk", flat=True)),
        "outbox": Notification.objects.count(),
    }


@pytest.fixture
def cycle(db):
    return CycleFactory(ideas=True, wards="AB", slug="jc")


@pytest.fixture
def other_resident(db):
    return user_with_role("resident")


@pytest.fixture
def idea(cycle, resident):
    return submit(cycle, resident)


# --- public reads -----------------------------------------------------------------------------------
PUBLIC_IDEA_FIELDS = {
    "id",
    "title",
    "description",
    "district",
    "category",
    "status",
    "address",
    "latitude",
    "longitude",
    "cost_guess",
    "language",
    "photo",
    "endorsement_count",
    "comment_count",
    "created_at",
    "projects",
}


def test_idea_list_shows_public_fields_of_visible_ideas_only(api, cycle, resident, other_resident, vetting_staff):
    parks = services.category_create(actor=user_with_role("official"), cycle=cycle, name="Parks")
    shown = submit(
        cycle,
        resident,
        title="Shade trees",
        category=parks,
        latitude="40.7178",
        longitude="-74.0431",
        district=cycle.districts.get(code="B"),
    )
    hidden = submit(cycle, other_resident, title="Spam")
    withdrawn = submit(cycle, other_resident, title="Changed my mind")
    services.content_hide(actor=vetting_staff, idea=hidden, reason="Advertising.")
    services.idea_withdraw(actor=other_resident, idea=withdrawn)
    services.comment_add(actor=other_resident, idea=shown, body="Yes please.")
    services.idea_endorse(actor=other_resident, idea=shown)

    response = api.get("/api/v1/cycles/jc/ideas/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    (entry,) = body["results"]
    assert set(entry) == PUBLIC_IDEA_FIELDS
    assert entry["id"] == shown.pk
    assert (entry["title"], entry["district"], entry["category"], entry["status"]) == (
        "Shade trees",
        "B",
        "parks",
        "submitted",
    )
    assert (entry["latitude"], entry["longitude"]) == (40.7178, -74.0431)
    assert entry["cost_guess"] == "8000.00"
    assert (entry["endorsement_count"], entry["comment_count"]) == (1, 1)
    assert entry["projects"] == []
    assert entry["photo"] is None


def test_idea_list_filters_and_sorts(api, cycle, resident, other_resident):
    first = submit(cycle, resident, title="Bike racks at the library", district=cycle.districts.get(code="B"))
    second = submit(cycle, resident, title="Crosswalk paint")
    services.idea_endorse(actor=other_resident, idea=first)

    def ids(query):
        response = api.get(f"/api/v1/cycles/jc/ideas/?{query}")
        assert response.status_code == 200
        return [entry["id"] for entry in response.json()["results"]]

    assert ids("") == [second.pk, first.pk]  # newest first
    assert ids("sort=oldest") == [first.pk, second.pk]
    assert ids("sort=endorsements") == [first.pk, second.pk]
    assert ids("district=B") == [first.pk]
    assert ids("q=crosswalk") == [second.pk]
    assert ids("status=submitted") == [second.pk, first.pk]
    assert ids("status=feasible") == []
    assert ids("category=nothing") == []


def test_idea_list_rejects_an_unknown_sort(api, cycle):
    body = assert_problem(api.get("/api/v1/cycles/jc/ideas/?sort=random"), 400, "invalid")
    assert "sort" in body["errors"]


def test_idea_list_of_an_unknown_or_draft_cycle_is_404(api, official):
    CycleFactory(slug="secret", wards="A")
    assert_problem(api.get("/api/v1/cycles/nope/ideas/"), 404, "not_found")
    assert_problem(api.get("/api/v1/cycles/secret/ideas/"), 404, "not_found")
    assert client_for(official).get("/api/v1/cycles/secret/ideas/").status_code == 200


def test_idea_detail(api, cycle, resident, other_resident, vetting_staff, official):
    idea = submit(cycle, resident)
    services.comment_add(actor=other_resident, idea=idea, body="Great idea.")
    hidden_comment = services.comment_add(actor=other_resident, idea=idea, body="Buy my stuff")
    services.content_hide(actor=vetting_staff, comment=hidden_comment, reason="Advertising.")
    services.idea_endorse(actor=other_resident, idea=idea)
    move(cycle, official, "vetting")
    services.review_record(
        actor=vetting_staff,
        idea=idea,
        feasibility="feasible",
        public_reason="Parks can install it.",
        cost_estimate="9000",
        department="Parks",
        internal_notes=SECRET,
    )
    services.review_publish(actor=vetting_staff, idea=idea)
    project = make_project(cycle, vetting_staff, [idea])

    response = api.get(f"/api/v1/ideas/{idea.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == PUBLIC_IDEA_FIELDS | {"status_history", "review", "comments", "hidden", "hidden_reason"}
    assert body["status"] == "in_project"
    assert [(h["from_status"], h["to_status"]) for h in body["status_history"]] == [
        ("", "submitted"),
        ("submitted", "under_review"),
        ("under_review", "feasible"),
        ("feasible", "in_project"),
    ]
    assert body["status_history"][2]["public_reason"] == "Parks can install it."
    assert body["review"] == {
        "feasibility": "Feasible",
        "public_reason": "Parks can install it.",
        "cost_estimate": "9000.00",
        "department": "Parks",
    }
    assert body["projects"] == [{"id": project.pk, "code": "A-01", "title": "Fountains"}]
    assert [c["body"] for c in body["comments"]] == ["Great idea."]
    assert body["comments"][0]["author_name"] == other_resident.display_name
    assert set(body["comments"][0]) == {"id", "author_name", "body", "created_at"}
    assert (body["comment_count"], body["endorsement_count"]) == (1, 1)
    assert (body["hidden"], body["hidden_reason"]) == (False, "")
    assert SECRET not in response.content.decode()


def test_an_unpublished_review_is_not_in_the_detail(api, cycle, idea, vetting_staff, official):
    move(cycle, official, "vetting")
    services.review_record(actor=vetting_staff, idea=idea, feasibility="not_feasible", public_reason="Too costly.")
    body = api.get(f"/api/v1/ideas/{idea.pk}/").json()
    assert body["review"] is None
    assert body["status"] == "under_review"


def test_hidden_and_withdrawn_ideas_are_404_except_to_their_author_and_staff(
    cycle, resident, other_resident, vetting_staff
):
    hidden = submit(cycle, resident, title="Hidden one")
    withdrawn = submit(cycle, resident, title="Withdrawn one")
    services.content_hide(actor=vetting_staff, idea=hidden, reason="Duplicate of another idea.")
    services.idea_withdraw(actor=resident, idea=withdrawn)
    for user in (None, other_resident):
        for target in (hidden, withdrawn):
            assert_problem(client_for(user).get(f"/api/v1/ideas/{target.pk}/"), 404, "not_found")
    for user in (resident, vetting_staff):
        body = client_for(user).get(f"/api/v1/ideas/{hidden.pk}/").json()
        assert (body["hidden"], body["hidden_reason"]) == (True, "Duplicate of another idea.")
        assert client_for(user).get(f"/api/v1/ideas/{withdrawn.pk}/").json()["status"] == "withdrawn"


def test_unknown_idea_is_404(api, cycle):
    assert_problem(api.get("/api/v1/ideas/999999/"), 404, "not_found")


def test_project_list_and_detail(api, cycle, resident, vetting_staff, official):
    idea = submit(cycle, resident)
    other = submit(cycle, resident, title="Second fountain")
    move(cycle, official, "vetting")
    parks = Category.objects.create(cycle=cycle, slug="parks", name="Parks")
    project = services.project_create_from_ideas(
        actor=vetting_staff,
        cycle=cycle,
        ideas=[other, idea],
        district=cycle.districts.get(code="A"),
        code="a-01",
        cost="20000.50",
        category=parks,
        address="Van Vorst Park",
        texts=service_texts(),
    )
    expected = {
        "id": project.pk,
        "code": "A-01",
        "district": "A",
        "cost": "20000.50",
        "currency": "USD",
        "category": "parks",
        "address": "Van Vorst Park",
        "latitude": None,
        "longitude": None,
        "image": None,
        "texts": texts(),
        "ideas": sorted([idea.pk, other.pk]),
        "draft": False,
    }

    listed = api.get("/api/v1/cycles/jc/projects/")
    assert listed.status_code == 200
    assert listed.json() == [expected]
    detail = api.get(f"/api/v1/projects/{project.pk}/")
    assert detail.status_code == 200
    assert detail.json() == expected


def test_projects_of_a_draft_cycle_are_404(api, official):
    CycleFactory(slug="secret", wards="A")
    assert_problem(api.get("/api/v1/cycles/secret/projects/"), 404)
    assert_problem(api.get("/api/v1/projects/999999/"), 404)


# --- residents' actions ------------------------------------------------------------------------------
def test_submit_an_idea_as_json(cycle, resident):
    response = client_for(resident).post("/api/v1/cycles/jc/ideas/", {**IDEA, "language": "es"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    idea = Idea.objects.get()
    assert body["id"] == idea.pk
    assert (body["title"], body["district"], body["cost_guess"], body["language"]) == (
        IDEA["title"],
        "A",
        "12000.00",
        "es",
    )
    assert (idea.author, idea.status, idea.cost_guess) == (resident, "submitted", Decimal("12000.00"))
    assert Follow.objects.filter(user=resident, idea=idea).exists()
    assert AuditEvent.objects.filter(action="idea.submitted", object_id=str(idea.pk)).exists()


def test_submit_an_idea_with_a_photo(cycle, resident):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = "bench.png"

    response = client_for(resident).post(
        "/api/v1/cycles/jc/ideas/", {**IDEA, "photo": buffer, "category": ""}, format="multipart"
    )

    assert response.status_code == 201, response.content
    assert response.json()["photo"].startswith("http://testserver/media/ideas/")
    assert Idea.objects.get().photo.name.endswith(".png")


def test_a_file_that_is_not_an_image_is_refused(cycle, resident):
    fake = io.BytesIO(b"not an image at all")
    fake.name = "photo.jpg"
    response = client_for(resident).post("/api/v1/cycles/jc/ideas/", {**IDEA, "photo": fake}, format="multipart")
    body = assert_problem(response, 400, "invalid")
    from proposals.images import MSG_NOT_AN_IMAGE

    assert body["errors"] == {"photo": [str(MSG_NOT_AN_IMAGE)]}
    assert not Idea.objects.exists()


def test_edit_an_idea_with_patch_and_put(cycle, resident, idea):
    author = client_for(resident)
    response = author.patch(f"/api/v1/ideas/{idea.pk}/", {"title": "Two fountains"}, format="json")
    assert response.status_code == 200, response.content
    idea.refresh_from_db()
    assert (idea.title, idea.cost_guess) == ("Two fountains", Decimal("8000.00"))  # the rest kept
    assert response.json()["title"] == "Two fountains"

    response = author.put(f"/api/v1/ideas/{idea.pk}/", {**IDEA, "district": "B"}, format="json")
    assert response.status_code == 200, response.content
    idea.refresh_from_db()
    assert (idea.title, idea.district.code, idea.cost_guess) == (IDEA["title"], "B", Decimal("12000.00"))
    assert AuditEvent.objects.filter(action="idea.edited", object_id=str(idea.pk)).count() == 2


def test_a_put_without_required_fields_is_a_400(cycle, resident, idea):
    before = snapshot()
    body = assert_problem(
        client_for(resident).put(f"/api/v1/ideas/{idea.pk}/", {"title": "Only a title"}, format="json"), 400
    )
    assert set(body["errors"]) == {"description", "district", "address"}
    assert snapshot() == before


def test_an_idea_under_review_can_no_longer_be_edited(cycle, resident, idea, vetting_staff, official):
    move(cycle, official, "vetting")
    services.review_assign(actor=vetting_staff, idea=idea, reviewer=vetting_staff)
    before = snapshot()
    # Vetting: ideas are no longer collected, so the phase refuses it first.
    body = assert_problem(
        client_for(resident).patch(f"/api/v1/ideas/{idea.pk}/", {"title": "Late"}, format="json"), 409
    )
    assert body["detail"] == str(permissions.MSG_IDEAS_CLOSED)
    assert snapshot() == before


def test_withdraw_an_idea(cycle, resident, idea):
    response = client_for(resident).post(f"/api/v1/ideas/{idea.pk}/withdraw/", {"reason": "Done already."})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "withdrawn"
    idea.refresh_from_db()
    assert idea.status == "withdrawn"
    assert idea.status_changes.last().public_reason == "Done already."
    assert client_for(None).get("/api/v1/cycles/jc/ideas/").json()["count"] == 0


def test_endorse_and_unendorse(cycle, idea, other_resident):
    client = client_for(other_resident)
    url = f"/api/v1/ideas/{idea.pk}/endorsement/"
    first = client.post(url)
    assert first.status_code == 201
    assert first.json() == {"endorsed": True, "endorsement_count": 1}
    again = client.post(url)
    assert again.status_code == 200
    assert again.json() == {"endorsed": True, "endorsement_count": 1}
    assert Endorsement.objects.filter(idea=idea, user=other_resident).count() == 1
    assert client.delete(url).status_code == 204
    assert not Endorsement.objects.exists()
    assert client.delete(url).status_code == 204  # idempotent


def test_the_author_cannot_endorse_their_own_idea(cycle, idea, resident):
    body = assert_problem(client_for(resident).post(f"/api/v1/ideas/{idea.pk}/endorsement/"), 409, "conflict")
    assert body["detail"] == str(services.MSG_OWN_IDEA)
    assert not Endorsement.objects.exists()


def test_comment(cycle, idea, other_resident):
    response = client_for(other_resident).post(
        f"/api/v1/ideas/{idea.pk}/comments/", {"body": "  Love it.  "}, format="json"
    )
    assert response.status_code == 201
    comment = Comment.objects.get()
    assert response.json() == {
        "id": comment.pk,
        "author_name": other_resident.display_name,
        "body": "Love it.",
        "created_at": response.json()["created_at"],
    }
    assert (comment.idea, comment.author) == (idea, other_resident)


def test_a_comment_author_without_a_display_name_is_shown_as_resident(cycle, idea):
    nameless = user_with_role("resident", display_name="")
    response = client_for(nameless).post(f"/api/v1/ideas/{idea.pk}/comments/", {"body": "Hi"}, format="json")
    assert response.json()["author_name"] == "Resident"
    comments = client_for(None).get(f"/api/v1/ideas/{idea.pk}/").json()["comments"]
    assert [c["author_name"] for c in comments] == ["Resident"]
    assert nameless.email not in str(comments)


def test_an_empty_or_overlong_comment_is_refused(cycle, idea, other_resident):
    client = client_for(other_resident)
    body = assert_problem(client.post(f"/api/v1/ideas/{idea.pk}/comments/", {"body": ""}, format="json"), 400)
    assert "body" in body["errors"]
    body = assert_problem(client.post(f"/api/v1/ideas/{idea.pk}/comments/", {"body": "x" * 2001}, format="json"), 400)
    assert body["errors"] == {"body": [services.MSG_TOO_LONG % {"max": 2000, "length": 2001}]}
    assert not Comment.objects.exists()


def test_follow_and_unfollow(cycle, idea, other_resident):
    client = client_for(other_resident)
    url = f"/api/v1/ideas/{idea.pk}/follow/"
    first = client.post(url)
    assert (first.status_code, first.json()) == (201, {"following": True})
    assert client.post(url).status_code == 200
    assert Follow.objects.filter(user=other_resident, idea=idea).count() == 1
    assert client.delete(url).status_code == 204
    assert not Follow.objects.filter(user=other_resident).exists()


def test_report_an_idea(cycle, idea, other_resident):
    response = client_for(other_resident).post(
        f"/api/v1/ideas/{idea.pk}/report/", {"reason": "Advertising."}, format="json"
    )
    assert response.status_code == 201
    report = Report.objects.get()
    assert response.json()["id"] == report.pk
    assert (report.idea, report.reporter, report.reason) == (idea, other_resident, "Advertising.")
    body = assert_problem(
        client_for(other_resident).post(f"/api/v1/ideas/{idea.pk}/report/", {"reason": ""}, format="json"), 400
    )
    assert "reason" in body["errors"]
    assert Report.objects.count() == 1


def test_anonymous_follow_and_report_are_403(api, cycle, idea):
    before = snapshot()
    for url in (f"/api/v1/ideas/{idea.pk}/follow/", f"/api/v1/ideas/{idea.pk}/report/"):
        body = assert_problem(api.post(url, {"reason": "x"}, format="json"), 403, "forbidden")
        assert body["detail"] == str(permissions.MSG_LOGIN_REQUIRED)
    assert snapshot() == before


def test_an_unverified_email_cannot_submit(cycle):
    from allauth.account.models import EmailAddress

    newcomer = user_with_role("resident")
    EmailAddress.objects.filter(user=newcomer).update(verified=False)
    body = assert_problem(client_for(newcomer).post("/api/v1/cycles/jc/ideas/", IDEA, format="json"), 403)
    assert body["detail"] == str(permissions.MSG_VERIFY_EMAIL)
    assert not Idea.objects.exists()


def test_submitting_after_ideas_close_is_409(cycle, resident, official):
    move(cycle, official, "vetting")
    body = assert_problem(
        client_for(resident).post("/api/v1/cycles/jc/ideas/", IDEA, format="json"), 409, "phase_closed"
    )
    assert body["detail"] == str(permissions.MSG_IDEAS_CLOSED)
    assert not Idea.objects.exists()


def test_the_hourly_limit_is_a_429(cycle, resident):
    client = client_for(resident)
    for n in range(services.IDEAS_PER_HOUR):
        assert client.post("/api/v1/cycles/jc/ideas/", {**IDEA, "title": f"Idea {n}"}, format="json").status_code == 201
    assert_problem(client.post("/api/v1/cycles/jc/ideas/", IDEA, format="json"), 429, "rate_limited")
    assert Idea.objects.count() == services.IDEAS_PER_HOUR


# --- bad input: a clear 400 with errors per field, and nothing saved --------------------------------
@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"cost_guess": "-5"}, "cost_guess", services.MSG_NEGATIVE),
        ({"cost_guess": -5}, "cost_guess", services.MSG_NEGATIVE),
        ({"cost_guess": "lots"}, "cost_guess", services.MSG_BAD_AMOUNT),
        ({"title": "x" * 151}, "title", services.MSG_TOO_LONG % {"max": 150, "length": 151}),
        ({"district": "Z"}, "district", services.MSG_WRONG_DISTRICT),
        ({"category": "no-such-category"}, "category", services.MSG_WRONG_CATEGORY),
        ({"latitude": 91, "longitude": 0}, "location", services.MSG_BAD_COORDINATES),
        ({"language": "fr"}, "language", None),
    ],
)
def test_bad_idea_input_is_a_400_on_its_field(cycle, resident, change, field, message):
    before = snapshot()
    response = client_for(resident).post("/api/v1/cycles/jc/ideas/", {**IDEA, **change}, format="json")
    body = assert_problem(response, 400, "invalid")
    assert list(body["errors"]) == [field]
    if message is not None:
        assert body["errors"][field] == [str(message)]
    assert snapshot() == before


def test_a_district_of_another_cycle_is_refused(cycle, resident):
    CycleFactory(ideas=True, wards="Q")
    before = snapshot()
    body = assert_problem(
        client_for(resident).post("/api/v1/cycles/jc/ideas/", {**IDEA, "district": "Q"}, format="json"), 400
    )
    assert body["errors"] == {"district": [str(services.MSG_WRONG_DISTRICT)]}
    assert snapshot() == before


def test_a_category_of_another_cycle_is_refused(cycle, resident):
    elsewhere = CycleFactory(ideas=True, wards="A")
    Category.objects.create(cycle=elsewhere, slug="roads", name="Roads")
    body = assert_problem(
        client_for(resident).post("/api/v1/cycles/jc/ideas/", {**IDEA, "category": "roads"}, format="json"), 400
    )
    assert body["errors"] == {"category": [str(services.MSG_WRONG_CATEGORY)]}
    assert not Idea.objects.exists()


def test_several_service_errors_come_together(cycle, resident):
    payload = {**IDEA, "title": " ", "cost_guess": "-1", "address": "x" * 301}
    body = assert_problem(client_for(resident).post("/api/v1/cycles/jc/ideas/", payload, format="json"), 400)
    # DRF refuses the blank title before the service runs; the service explains the rest.
    assert set(body["errors"]) == {"title"}
    payload["title"] = "Fine"
    body = assert_problem(client_for(resident).post("/api/v1/cycles/jc/ideas/", payload, format="json"), 400)
    assert body["errors"] == {
        "cost_guess": [str(services.MSG_NEGATIVE)],
        "address": [services.MSG_TOO_LONG % {"max": 300, "length": 301}],
    }
    assert not Idea.objects.exists()


def test_bad_edit_input_changes_nothing(cycle, resident, idea):
    before = snapshot()
    body = assert_problem(
        client_for(resident).patch(f"/api/v1/ideas/{idea.pk}/", {"cost_guess": "abc", "title": ""}, format="json"),
        400,
    )
    assert "title" in body["errors"]
    body = assert_problem(
        client_for(resident).patch(f"/api/v1/ideas/{idea.pk}/", {"cost_guess": "-3"}, format="json"), 400
    )
    assert body["errors"] == {"cost_guess": [str(services.MSG_NEGATIVE)]}
    assert snapshot() == before


# --- vetting ------------------------------------------------------------------------------------------
@pytest.fixture
def vetting(cycle, official):
    """The ``cycle`` fixture moved on to vetting (after its ideas were submitted)."""

    def go():
        return move(cycle, official, "vetting")

    return go


def test_the_vetting_queue(cycle, resident, other_resident, vetting_staff, vetting):
    first = submit(cycle, resident)
    second = submit(cycle, other_resident, title="Hidden", district=cycle.districts.get(code="B"))
    vetting()
    services.content_hide(actor=vetting_staff, idea=second, reason="Off topic.")
    services.review_record(
        actor=vetting_staff, idea=first, feasibility="needs_info", cost_estimate="100", internal_notes=SECRET
    )

    response = client_for(vetting_staff).get("/api/v1/cycles/jc/vetting/ideas/")

    assert response.status_code == 200
    body = response.json()
    assert [entry["id"] for entry in body["results"]] == [first.pk, second.pk]
    review = body["results"][0]["review"]
    assert review["internal_notes"] == SECRET
    assert (review["feasibility"], review["cost_estimate"], review["reviewer"]) == (
        "needs_info",
        "100.00",
        vetting_staff.pk,
    )
    assert review["published_at"] is None
    assert body["results"][1]["hidden"] is True
    assert body["results"][1]["review"] is None
    filtered = client_for(vetting_staff).get("/api/v1/cycles/jc/vetting/ideas/?district=B").json()
    assert [entry["id"] for entry in filtered["results"]] == [second.pk]
    unassigned = client_for(vetting_staff).get("/api/v1/cycles/jc/vetting/ideas/?reviewer=none").json()
    assert [entry["id"] for entry in unassigned["results"]] == [second.pk]
    mine = client_for(vetting_staff).get(f"/api/v1/cycles/jc/vetting/ideas/?reviewer={vetting_staff.pk}").json()
    assert [entry["id"] for entry in mine["results"]] == [first.pk]
    body = assert_problem(client_for(vetting_staff).get("/api/v1/cycles/jc/vetting/ideas/?reviewer=abc"), 400)
    assert "reviewer" in body["errors"]


def test_record_and_publish_a_review(cycle, idea, resident, vetting_staff, vetting):
    vetting()
    staff = client_for(vetting_staff)
    payload = {
        "feasibility": "not_feasible",
        "public_reason": "The site is private land.",
        "cost_estimate": "15,000",
        "department": "Parks",
        "internal_notes": SECRET,
    }
    response = staff.post(f"/api/v1/ideas/{idea.pk}/review/", payload, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["feasibility"], body["cost_estimate"], body["internal_notes"]) == ("not_feasible", "15000.00", SECRET)
    review = Review.objects.get(idea=idea)
    assert (review.reviewer, review.published_at) == (vetting_staff, None)

    response = staff.post(f"/api/v1/ideas/{idea.pk}/review/publish/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "not_feasible"
    assert body["review"]["public_reason"] == "The site is private land."
    assert SECRET not in response.content.decode()
    idea.refresh_from_db()
    assert idea.status == "not_feasible"
    assert Notification.objects.filter(recipient=resident, kind="idea.decision").exists()


def test_publish_several_decisions_at_once(cycle, idea, other_resident, vetting_staff, vetting):
    other = submit(cycle, other_resident, title="Street trees")
    vetting()
    for each in (idea, other):
        services.review_record(actor=vetting_staff, idea=each, feasibility="feasible", public_reason="Doable.")
    staff = client_for(vetting_staff)
    url = "/api/v1/cycles/jc/vetting/decisions/publish/"
    response = staff.post(url, {"ideas": [other.pk, idea.pk]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"published": sorted([idea.pk, other.pk])}
    assert set(Idea.objects.filter(pk__in=[idea.pk, other.pk]).values_list("status", flat=True)) == {"feasible"}
    assert AuditEvent.objects.filter(action="review.published").count() == 2
    # Sent twice: nothing is published twice, and the problem names each idea.
    before = snapshot()
    body = assert_problem(staff.post(url, {"ideas": [idea.pk, other.pk]}, format="json"), 409)
    assert body["detail"] == str(services.MSG_BATCH_REFUSED)
    assert body["errors"]["ideas"] == [
        services.MSG_BATCH_ALREADY_PUBLISHED % {"idea": f"#{idea.pk} “{idea.title}”"},
        services.MSG_BATCH_ALREADY_PUBLISHED % {"idea": f"#{other.pk} “Street trees”"},
    ]
    assert snapshot() == before
    assert AuditEvent.objects.filter(action="review.published").count() == 2
    assert_problem(staff.post(url, {"ideas": []}, format="json"), 400)
    assert_problem(client_for(other_resident).post(url, {"ideas": [idea.pk]}, format="json"), 403)
    assert snapshot() == before


def test_publishing_without_a_decision_is_409(cycle, idea, vetting_staff, vetting):
    vetting()
    before = snapshot()
    body = assert_problem(client_for(vetting_staff).post(f"/api/v1/ideas/{idea.pk}/review/publish/"), 409)
    assert body["detail"] == str(services.MSG_NOTHING_TO_PUBLISH)
    assert snapshot() == before


def test_not_feasible_needs_a_public_reason(cycle, idea, vetting_staff, vetting):
    vetting()
    before = snapshot()
    response = client_for(vetting_staff).post(
        f"/api/v1/ideas/{idea.pk}/review/", {"feasibility": "not_feasible", "internal_notes": SECRET}, format="json"
    )
    body = assert_problem(response, 400, "invalid")
    assert body["errors"] == {"public_reason": [str(services.MSG_NOT_FEASIBLE_REASON)]}
    assert SECRET not in response.content.decode()
    assert snapshot() == before
    assert not Review.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"feasibility": "maybe"}, "feasibility"),
        ({"feasibility": "feasible", "cost_estimate": "-1"}, "cost_estimate"),
        ({"feasibility": "feasible", "cost_estimate": "a lot"}, "cost_estimate"),
    ],
)
def test_bad_review_input(cycle, idea, vetting_staff, vetting, payload, field):
    vetting()
    before = snapshot()
    body = assert_problem(
        client_for(vetting_staff).post(f"/api/v1/ideas/{idea.pk}/review/", payload, format="json"), 400
    )
    assert list(body["errors"]) == [field]
    assert snapshot() == before


def test_assign_a_reviewer(cycle, idea, vetting_staff, official, resident, vetting):
    vetting()
    url = f"/api/v1/ideas/{idea.pk}/review/assign/"
    response = client_for(official).post(url, {"reviewer": vetting_staff.pk}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["reviewer"], response.json()["reviewer_name"]) == (
        vetting_staff.pk,
        vetting_staff.display_name,
    )
    idea.refresh_from_db()
    assert idea.status == "under_review"
    before = snapshot()
    body = assert_problem(client_for(official).post(url, {"reviewer": resident.pk}, format="json"), 400)
    assert body["errors"] == {"reviewer": [str(services.MSG_REVIEWER_NOT_STAFF)]}
    body = assert_problem(client_for(official).post(url, {"reviewer": 999999}, format="json"), 400)
    assert "reviewer" in body["errors"]
    assert snapshot() == before
    response = client_for(official).post(url, {"reviewer": None}, format="json")
    assert (response.status_code, response.json()["reviewer"]) == (200, None)


def test_reviewing_outside_vetting_is_409(cycle, idea, vetting_staff):
    body = assert_problem(
        client_for(vetting_staff).post(f"/api/v1/ideas/{idea.pk}/review/", {"feasibility": "feasible"}, format="json"),
        409,
        "phase_closed",
    )
    assert body["detail"] == str(permissions.MSG_VETTING_CLOSED)
    assert not Review.objects.exists()


def test_hide_an_idea_and_a_comment(cycle, idea, other_resident, vetting_staff):
    comment = services.comment_add(actor=other_resident, idea=idea, body="Rude words")
    staff = client_for(vetting_staff)
    response = staff.post(f"/api/v1/comments/{comment.pk}/hide/", {"reason": "Insults."}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["id"], response.json()["hidden_reason"]) == (comment.pk, "Insults.")
    assert client_for(None).get(f"/api/v1/ideas/{idea.pk}/").json()["comments"] == []
    assert_problem(staff.post(f"/api/v1/comments/{comment.pk}/hide/", {"reason": "Again."}, format="json"), 409)

    response = staff.post(f"/api/v1/ideas/{idea.pk}/hide/", {"reason": "Duplicate."}, format="json")
    assert response.status_code == 200, response.content
    idea.refresh_from_db()
    assert (idea.is_hidden, idea.hidden_reason) == (True, "Duplicate.")
    assert client_for(None).get("/api/v1/cycles/jc/ideas/").json()["count"] == 0
    assert_problem(client_for(None).get(f"/api/v1/ideas/{idea.pk}/"), 404)


def test_hiding_needs_a_reason_and_an_existing_comment(cycle, idea, vetting_staff):
    staff = client_for(vetting_staff)
    body = assert_problem(staff.post(f"/api/v1/ideas/{idea.pk}/hide/", {"reason": ""}, format="json"), 400)
    assert "reason" in body["errors"]
    assert_problem(staff.post("/api/v1/comments/999999/hide/", {"reason": "x"}, format="json"), 404)
    idea.refresh_from_db()
    assert not idea.is_hidden


# --- projects -----------------------------------------------------------------------------------------
def project_payload(source_ideas, **overrides) -> dict:
    return {
        "ideas": [i.pk for i in source_ideas],
        "code": "A-01",
        "district": "A",
        "cost": "25000",
        "address": "Van Vorst Park",
        "texts": texts(),
        **overrides,
    }


def test_draft_projects_through_the_api(cycle, resident, other_resident, vetting_staff, vetting):
    first, second = submit(cycle, resident), submit(cycle, other_resident, title="Street trees")
    vetting()
    staff = client_for(vetting_staff)
    response = staff.post(
        "/api/v1/cycles/jc/projects/", project_payload([first], draft=True, texts={"en": texts()["en"]}), format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["draft"] is True and list(response.json()["texts"]) == ["en"]
    draft = Project.objects.get(code="A-01")
    staff.post("/api/v1/cycles/jc/projects/", project_payload([second], code="A-02", draft=True), format="json")
    # The public sees neither; staff see both.
    assert client_for(None).get("/api/v1/cycles/jc/projects/").json() == []
    assert client_for(resident).get(f"/api/v1/projects/{draft.pk}/").status_code == 404
    assert [p["draft"] for p in staff.get("/api/v1/cycles/jc/projects/").json()] == [True, True]

    url = "/api/v1/cycles/jc/projects/publish/"
    assert_problem(client_for(resident).post(url, {"projects": [draft.pk]}, format="json"), 403)
    response = staff.post(url, {"projects": [draft.pk]}, format="json")
    assert response.status_code == 200, response.content
    assert [(p["code"], p["draft"]) for p in response.json()] == [("A-01", False)]
    assert [p["code"] for p in client_for(None).get("/api/v1/cycles/jc/projects/").json()] == ["A-01"]
    before = snapshot()
    body = assert_problem(staff.post(url, {"projects": [draft.pk]}, format="json"), 409)
    assert body["errors"]["projects"] == [services.MSG_PROJECT_ALREADY_PUBLISHED % {"project": "A-01"}]
    assert_problem(staff.post(url, {"projects": []}, format="json"), 400)
    assert snapshot() == before


def test_create_a_project_from_ideas(cycle, resident, other_resident, vetting_staff, vetting):
    first = submit(cycle, resident)
    second = submit(cycle, other_resident, title="Fountain near the playground")
    vetting()
    Category.objects.create(cycle=cycle, slug="parks", name="Parks")

    response = client_for(vetting_staff).post(
        "/api/v1/cycles/jc/projects/", project_payload([first, second], category="parks"), format="json"
    )

    assert response.status_code == 201, response.content
    project = Project.objects.get()
    body = response.json()
    assert (body["id"], body["code"], body["cost"], body["category"]) == (project.pk, "A-01", "25000.00", "parks")
    assert body["texts"] == texts()
    assert body["ideas"] == sorted([first.pk, second.pk])
    for idea in (first, second):
        idea.refresh_from_db()
        assert idea.status == "in_project"
    assert client_for(None).get(f"/api/v1/ideas/{first.pk}/").json()["projects"][0]["code"] == "A-01"
    listed = client_for(None).get("/api/v1/cycles/jc/ideas/").json()["results"]
    assert {entry["id"]: entry["projects"] for entry in listed} == {first.pk: ["A-01"], second.pk: ["A-01"]}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"cost": "-100"}, "cost", services.MSG_NEGATIVE),
        ({"cost": "cheap"}, "cost", services.MSG_BAD_AMOUNT),
        (
            {"cost": "50000.01"},
            "cost",
            services.MSG_COST_OVER_BUDGET
            % {"cost": format_money(Decimal("50000.01"), "USD"), "budget": format_money(Decimal("50000"), "USD")},
        ),
        ({"texts": {"es": texts()["es"]}}, "texts.en", services.MSG_TEXT_MISSING % {"language": "English"}),
        (
            {"texts": {**texts(), "es": {"title": "Fuentes", "summary": "", "description": ""}}},
            "texts.es",
            services.MSG_TEXT_INCOMPLETE % {"language": "Spanish"},
        ),
        ({"code": "no spaces!"}, "code", services.MSG_CODE_FORMAT),
        ({"district": "Z"}, "district", services.MSG_WRONG_DISTRICT),
        ({"ideas": []}, "ideas", services.MSG_NO_IDEAS),
    ],
)
def test_bad_project_input_is_a_400(cycle, idea, vetting_staff, vetting, change, field, message):
    vetting()
    before = snapshot()
    response = client_for(vetting_staff).post(
        "/api/v1/cycles/jc/projects/", project_payload([idea], **change), format="json"
    )
    body = assert_problem(response, 400, "invalid")
    assert body["errors"] == {field: [str(message)]}
    assert snapshot() == before
    assert not Project.objects.exists()


def test_a_project_cannot_take_ideas_of_another_cycle(cycle, idea, vetting_staff, vetting, resident, official):
    elsewhere = CycleFactory(ideas=True, wards="A")
    foreign = submit(elsewhere, resident)
    vetting()
    body = assert_problem(
        client_for(vetting_staff).post("/api/v1/cycles/jc/projects/", project_payload([idea, foreign]), format="json"),
        400,
    )
    assert body["errors"] == {"ideas": [str(services.MSG_IDEA_OTHER_CYCLE)]}
    assert not Project.objects.exists()


def test_a_duplicate_project_code_is_refused(cycle, idea, vetting_staff, vetting):
    vetting()
    make_project(cycle, vetting_staff, [idea])
    before = snapshot()
    body = assert_problem(
        client_for(vetting_staff).post("/api/v1/cycles/jc/projects/", project_payload([idea]), format="json"), 400
    )
    assert body["errors"] == {"code": [services.MSG_CODE_TAKEN % {"code": "A-01"}]}
    assert snapshot() == before


def test_edit_a_project(cycle, idea, vetting_staff, vetting):
    vetting()
    project = make_project(cycle, vetting_staff, [idea])
    response = client_for(vetting_staff).patch(
        f"/api/v1/projects/{project.pk}/",
        {"cost": "30000", "district": "B", "texts": {"es": {"title": "Fuentes nuevas"}}},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["cost"], body["district"], body["code"]) == ("30000.00", "B", "A-01")
    assert body["texts"]["es"] == {**texts()["es"], "title": "Fuentes nuevas"}
    assert body["texts"]["en"] == texts()["en"]
    project.refresh_from_db()
    assert (project.cost, project.district.code) == (Decimal("30000.00"), "B")
    assert AuditEvent.objects.filter(action="project.updated", object_id=str(project.pk)).count() == 1


def test_a_project_edit_over_budget_changes_nothing(cycle, idea, vetting_staff, vetting):
    vetting()
    project = make_project(cycle, vetting_staff, [idea])
    before = snapshot()
    body = assert_problem(
        client_for(vetting_staff).patch(f"/api/v1/projects/{project.pk}/", {"cost": "90000"}, format="json"), 400
    )
    assert list(body["errors"]) == ["cost"]
    body = assert_problem(
        client_for(vetting_staff).patch(
            f"/api/v1/projects/{project.pk}/", {"texts": {"es": {"title": ""}}}, format="json"
        ),
        400,
    )
    assert body["errors"] == {"texts.es": [services.MSG_TEXT_INCOMPLETE % {"language": "Spanish"}]}
    assert snapshot() == before


@pytest.mark.usefixtures("no_ballot_guards")
def test_after_voting_opens_projects_are_frozen(cycle, idea, vetting_staff, official, vetting):
    vetting()
    project = make_project(cycle, vetting_staff, [idea])
    move(cycle, official, "voting")
    before = snapshot()

    for user in (vetting_staff, official):
        response = client_for(user).patch(f"/api/v1/projects/{project.pk}/", {"cost": "1000"}, format="json")
        body = assert_problem(response, 409, "phase_closed")
        assert body["detail"] == str(permissions.MSG_PROJECTS_FROZEN)
    response = client_for(official).post(
        "/api/v1/cycles/jc/projects/", project_payload([idea], code="A-02"), format="json"
    )
    assert_problem(response, 409, "phase_closed")

    assert snapshot() == before
    project.refresh_from_db()
    assert project.cost == Decimal("20000.00")
    # Still public to read.
    assert client_for(None).get(f"/api/v1/projects/{project.pk}/").json()["cost"] == "20000.00"


# --- the permissions matrix -----------------------------------------------------------------------------
ROLES = ("anonymous", "author", "other_resident", "vetting_staff", "official", "auditor")
RESIDENT_ROLES = ("author", "other_resident", "vetting_staff", "official")


class World:
    """A cycle with the author's idea (ideas phase), or, for vetting actions, moved on to vetting
    with an idea whose review is recorded, an idea free for a project and a project."""

    def __init__(self, *, users, vetting: bool):
        self.users = users
        self.author = users["author"]
        self.cycle = CycleFactory(ideas=True, wards="AB", slug="jc")
        self.idea = submit(self.cycle, self.author)
        if vetting:
            self.free_idea = submit(self.cycle, self.author, title="Second")
            project_idea = submit(self.cycle, self.author, title="Third")
            move(self.cycle, users["official"], "vetting")
            staff = users["vetting_staff"]
            services.review_record(actor=staff, idea=self.idea, feasibility="feasible", public_reason="Doable.")
            self.project = make_project(self.cycle, staff, [project_idea])


def _submit(world, user):
    return "post", "/api/v1/cycles/jc/ideas/", IDEA


def _edit_own(world, user):
    if user in (None, world.author, world.users["auditor"]):  # an auditor cannot have submitted one
        own = world.idea
    else:
        own = submit(world.cycle, user, title="Mine")
    return "patch", f"/api/v1/ideas/{own.pk}/", {"title": "Edited"}


def _edit_other(world, user):
    owner = world.users["other_resident"] if user == world.author else world.author
    target = world.idea if owner == world.author else submit(world.cycle, owner, title="Not yours")
    return "patch", f"/api/v1/ideas/{target.pk}/", {"title": "Edited"}


ACTIONS = {
    # action: (vetting phase?, request builder, expected status per role)
    # Auditors are read-only: the resident actions are refused to them too.
    "submit": (False, _submit, dict.fromkeys(RESIDENT_ROLES, 201)),
    "edit_own": (False, _edit_own, dict.fromkeys(RESIDENT_ROLES, 200)),
    "edit_other": (False, _edit_other, {}),
    "withdraw": (False, lambda w, u: ("post", f"/api/v1/ideas/{w.idea.pk}/withdraw/", {}), {"author": 200}),
    "endorse": (
        False,
        lambda w, u: ("post", f"/api/v1/ideas/{w.idea.pk}/endorsement/", {}),
        {"author": 409, "other_resident": 201, "vetting_staff": 201, "official": 201},
    ),
    "comment": (
        False,
        lambda w, u: ("post", f"/api/v1/ideas/{w.idea.pk}/comments/", {"body": "Nice."}),
        dict.fromkeys(RESIDENT_ROLES, 201),
    ),
    "vetting_queue": (
        True,
        lambda w, u: ("get", "/api/v1/cycles/jc/vetting/ideas/", None),
        {"vetting_staff": 200, "official": 200},
    ),
    "record_review": (
        True,
        lambda w, u: ("post", f"/api/v1/ideas/{w.idea.pk}/review/", {"feasibility": "needs_info"}),
        {"vetting_staff": 200, "official": 200},
    ),
    "publish": (
        True,
        lambda w, u: ("post", f"/api/v1/ideas/{w.idea.pk}/review/publish/", {}),
        {"vetting_staff": 200, "official": 200},
    ),
    "create_project": (
        True,
        lambda w, u: ("post", "/api/v1/cycles/jc/projects/", project_payload([w.free_idea], code="B-01")),
        {"vetting_staff": 201, "official": 201},
    ),
    "edit_project": (
        True,
        lambda w, u: ("patch", f"/api/v1/projects/{w.project.pk}/", {"cost": "1000"}),
        {"vetting_staff": 200, "official": 200},
    ),
    "hide": (
        True,
        lambda w, u: ("post", f"/api/v1/ideas/{w.idea.pk}/hide/", {"reason": "Duplicate."}),
        {"vetting_staff": 200, "official": 200},
    ),
}
# Refusals: 403 (not logged in, not the author, not staff) unless the table says otherwise.
MATRIX = [(action, role, expected.get(role, 403)) for action, (_v, _b, expected) in ACTIONS.items() for role in ROLES]


@pytest.fixture
def users(resident, other_resident, vetting_staff, official, auditor):
    return {
        "anonymous": None,
        "author": resident,
        "other_resident": other_resident,
        "vetting_staff": vetting_staff,
        "official": official,
        "auditor": auditor,
    }


@pytest.mark.parametrize(("action", "role", "expected"), MATRIX, ids=[f"{a}-{r}" for a, r, _s in MATRIX])
def test_permissions_matrix(users, action, role, expected, denials):
    vetting, build, _expected = ACTIONS[action]
    world = World(users=users, vetting=vetting)
    user = users[role]
    method, url, data = build(world, user)
    before = snapshot()

    response = getattr(client_for(user), method)(url, data, format="json")

    assert response.status_code == expected, response.content
    if expected >= 400:
        body = assert_problem(response, expected)
        if role == "anonymous":
            assert body["detail"] == str(permissions.MSG_LOGIN_REQUIRED)
        assert snapshot() == before
        assert [d["status"] for d in denials()] == ([expected] if expected in (401, 403) else [])
    elif method != "get":
        assert snapshot() != before


STAFF_ACTIONS = ["vetting_queue", "record_review", "publish", "create_project", "edit_project", "hide"]


@pytest.mark.parametrize("action", STAFF_ACTIONS)
def test_staff_without_two_factor_are_refused(users, official_without_mfa, action):
    vetting, build, _expected = ACTIONS[action]
    world = World(users=users, vetting=vetting)
    method, url, data = build(world, official_without_mfa)
    before = snapshot()
    response = getattr(client_for(official_without_mfa), method)(url, data, format="json")
    body = assert_problem(response, 403, "forbidden")
    assert body["detail"] == str(permissions.MSG_MFA_REQUIRED)
    assert snapshot() == before


@pytest.mark.parametrize("action", STAFF_ACTIONS)
def test_residents_and_auditors_are_told_they_lack_the_role(users, action):
    vetting, build, _expected = ACTIONS[action]
    world = World(users=users, vetting=vetting)
    for role in ("author", "other_resident", "auditor"):
        method, url, data = build(world, users[role])
        body = assert_problem(getattr(client_for(users[role]), method)(url, data, format="json"), 403)
        assert body["detail"] == str(permissions.MSG_ROLE_REQUIRED)


def test_editing_someone_elses_idea_says_so(users):
    world = World(users=users, vetting=False)
    body = assert_problem(
        client_for(users["other_resident"]).patch(f"/api/v1/ideas/{world.idea.pk}/", {"title": "Mine"}, format="json"),
        403,
    )
    assert body["detail"] == str(permissions.MSG_NOT_YOURS)


# --- what public answers never carry -------------------------------------------------------------------
@pytest.fixture
def full_cycle(users, vetting_staff, official):
    """A cycle in vetting with reviews (published and not) carrying internal notes, comments by
    several residents, a hidden idea and a project."""
    commenters = [user_with_role("resident") for _ in range(3)]
    cycle = CycleFactory(ideas=True, wards="AB", slug="jc")
    ideas = [submit(cycle, user, title=f"Idea of {n}") for n, user in enumerate([users["author"], *commenters])]
    for idea in ideas:
        for user in commenters:
            if user.pk != idea.author_id:
                services.comment_add(actor=user, idea=idea, body="I support this.")
                services.idea_endorse(actor=user, idea=idea)
    move(cycle, official, "vetting")
    services.review_record(
        actor=vetting_staff, idea=ideas[0], feasibility="feasible", public_reason="OK.", internal_notes=SECRET
    )
    services.review_publish(actor=vetting_staff, idea=ideas[0])
    services.review_record(
        actor=vetting_staff,
        idea=ideas[1],
        feasibility="not_feasible",
        public_reason="Private land.",
        internal_notes=SECRET,
    )
    services.review_record(actor=vetting_staff, idea=ideas[2], feasibility="", internal_notes=SECRET)
    project = make_project(cycle, vetting_staff, [ideas[0]])
    services.review_record(actor=vetting_staff, idea=ideas[3], feasibility="needs_info", internal_notes=SECRET)
    services.review_publish(actor=vetting_staff, idea=ideas[3])
    return cycle, ideas, project, commenters


def _public_responses(user, cycle, ideas, project):
    client = client_for(user)
    urls = [
        f"/api/v1/cycles/{cycle.slug}/ideas/",
        f"/api/v1/cycles/{cycle.slug}/ideas/?status=feasible",
        f"/api/v1/cycles/{cycle.slug}/projects/",
        f"/api/v1/projects/{project.pk}/",
        *[f"/api/v1/ideas/{idea.pk}/" for idea in ideas],
    ]
    responses = [client.get(url) for url in urls]
    assert all(r.status_code == 200 for r in responses), [r.status_code for r in responses]
    return responses


@pytest.mark.parametrize("role", ROLES)
def test_internal_notes_never_appear_in_public_responses(users, full_cycle, role):
    cycle, ideas, project, _commenters = full_cycle
    for response in _public_responses(users[role], cycle, ideas, project):
        assert SECRET not in response.content.decode(), response.wsgi_request.path
        assert "internal_notes" not in response.content.decode()


def test_internal_notes_are_in_the_staff_queue_only(users, full_cycle, vetting_staff):
    cycle, *_rest = full_cycle
    queue = client_for(vetting_staff).get(f"/api/v1/cycles/{cycle.slug}/vetting/ideas/")
    assert queue.status_code == 200
    assert queue.content.decode().count(SECRET) == 4


def test_public_action_answers_carry_no_internal_notes(users, full_cycle, vetting_staff, official):
    cycle, ideas, _project, commenters = full_cycle
    publish = client_for(vetting_staff).post(f"/api/v1/ideas/{ideas[1].pk}/review/publish/")
    assert publish.status_code == 200
    assert SECRET not in publish.content.decode()
    endorse = client_for(users["other_resident"]).post(f"/api/v1/ideas/{ideas[1].pk}/endorsement/")
    assert endorse.status_code == 201
    assert SECRET not in endorse.content.decode()


@pytest.mark.parametrize("role", ROLES)
def test_no_email_appears_in_public_responses(users, full_cycle, role):
    cycle, ideas, project, commenters = full_cycle
    emails = {u.email for u in [*users.values(), *commenters] if u is not None}
    leaks = [
        (response.wsgi_request.path, email)
        for response in _public_responses(users[role], cycle, ideas, project)
        for email in emails
        if email.lower() in response.content.decode().lower()
    ]
    assert leaks == []


def test_write_answers_carry_no_email(cycle, resident, other_resident):
    answers = [client_for(resident).post("/api/v1/cycles/jc/ideas/", IDEA, format="json")]
    idea_id = answers[0].json()["id"]
    answers.append(client_for(other_resident).post(f"/api/v1/ideas/{idea_id}/comments/", {"body": "Hi"}, format="json"))
    answers.append(client_for(resident).patch(f"/api/v1/ideas/{idea_id}/", {"title": "New"}, format="json"))
    for answer in answers:
        assert answer.status_code in (200, 201)
        text = answer.content.decode()
        assert resident.email not in text and other_resident.email not in text


# --- query counts ------------------------------------------------------------------------------------
def _ideas(cycle, n, staff):
    made = []
    for k in range(n):
        author = user_with_role("resident")
        made.append(submit(cycle, author, title=f"Idea {k}", category=cycle.categories.first()))
    for idea in made[:2]:
        services.comment_add(actor=staff, idea=idea, body="Noted.")
        services.idea_endorse(actor=staff, idea=idea)
    return made


@pytest.mark.parametrize("count", [2, 12])
def test_the_idea_list_runs_a_constant_number_of_queries(
    cycle, official, vetting_staff, django_assert_num_queries, count
):
    Category.objects.create(cycle=cycle, slug="parks", name="Parks")
    made = _ideas(cycle, count, vetting_staff)
    move(cycle, official, "vetting")
    make_project(cycle, vetting_staff, made[:2])
    client = client_for(None)
    # cycle + its districts, count, the page, the projects of the page's ideas
    with django_assert_num_queries(5):
        response = client.get("/api/v1/cycles/jc/ideas/")
    assert response.json()["count"] == count


@pytest.mark.parametrize("count", [2, 12])
def test_the_vetting_queue_runs_a_constant_number_of_queries(
    cycle, official, vetting_staff, django_assert_num_queries, count
):
    made = _ideas(cycle, count, vetting_staff)
    move(cycle, official, "vetting")
    services.review_record(actor=vetting_staff, idea=made[0], feasibility="feasible", internal_notes="n")
    client = client_for(vetting_staff)
    client.get("/api/v1/cycles/jc/vetting/ideas/")  # the first request fills the user's permission caches
    with django_assert_num_queries(5):
        response = client.get("/api/v1/cycles/jc/vetting/ideas/")
    assert response.json()["count"] == count


@pytest.mark.parametrize("count", [1, 6])
def test_the_project_list_runs_a_constant_number_of_queries(
    cycle, official, vetting_staff, django_assert_num_queries, count
):
    made = _ideas(cycle, count, vetting_staff)
    move(cycle, official, "vetting")
    for k, idea in enumerate(made):
        make_project(cycle, vetting_staff, [idea], code=f"A-{k:02}", cost="100")
    with django_assert_num_queries(5):
        response = client_for(None).get("/api/v1/cycles/jc/projects/")
    assert len(response.json()) == count


def test_the_open_api_schema_lists_the_proposals_endpoints(api):
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    paths = set(schema["paths"])
    assert {
        "/api/v1/cycles/{slug}/ideas/",
        "/api/v1/ideas/{id}/",
        "/api/v1/ideas/{id}/endorsement/",
        "/api/v1/cycles/{slug}/vetting/ideas/",
        "/api/v1/ideas/{id}/review/publish/",
        "/api/v1/cycles/{slug}/vetting/decisions/publish/",
        "/api/v1/cycles/{slug}/projects/publish/",
        "/api/v1/cycles/{slug}/projects/",
        "/api/v1/projects/{id}/",
        "/api/v1/comments/{id}/hide/",
    } <= paths
    assert "internal_notes" not in str(schema["components"]["schemas"]["IdeaDetailOutput"])


@pytest.mark.parametrize("action", ["submit", "endorse", "comment"])
def test_auditors_are_read_only(users, action):
    vetting, build, _expected = ACTIONS[action]
    world = World(users=users, vetting=vetting)
    method, url, data = build(world, users["auditor"])
    before = snapshot()
    body = assert_problem(getattr(client_for(users["auditor"]), method)(url, data, format="json"), 403)
    assert body["detail"] == str(permissions.MSG_AUDITOR_READ_ONLY)
    assert snapshot() == before
