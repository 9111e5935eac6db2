"""Project services: projects made from ideas, drafts and their publishing, changes until voting
opens, and categories."""

from decimal import Decimal

import pytest
from django.utils import translation

import core.services
from accounts.models import User
from budgets.phases import Phase
from core.errors import Conflict, NotAllowed, PhaseClosed, ValidationFailed
from core.models import AuditEvent, Notification
from proposals import permissions, selectors, services
from proposals.models import Category, Follow, Idea, IdeaStatusChange, Project, ProjectSource
from tests.concurrency import run_at_once
from tests.factories import CycleFactory

from .builders import (
    counts,
    events,
    field_messages,
    idea_input,
    ideas_in_vetting,
    make_project,
    move,
    new_resident,
    submit,
    texts,
    ward,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def cycle(db):
    return CycleFactory(ideas=True)


@pytest.fixture
def neighbour(db):
    return new_resident()


@pytest.fixture
def vetting(cycle, resident, official, neighbour):
    """Two ideas by two residents, then the cycle moved on to vetting through the service."""
    return ideas_in_vetting(cycle, resident, neighbour, official)


# --- draft projects ----------------------------------------------------------------------------------
def test_a_draft_project_is_seen_by_staff_only_and_tells_no_one(vetting, official, resident):
    Notification.objects.all().delete()
    draft = make_project(vetting.cycle, official, [vetting.idea], code="A-01", draft=True)
    assert draft.is_draft and draft.published_at is None
    assert list(selectors.project_list(cycle=vetting.cycle)) == []
    assert list(selectors.project_list(cycle=vetting.cycle, drafts=True)) == [draft]
    assert not selectors.project_visible_to(draft, None)
    assert not selectors.project_visible_to(draft, resident)
    assert selectors.project_visible_to(draft, official)
    assert list(selectors.idea_get_public(pk=vetting.idea.pk).projects.all()) == []
    assert not Notification.objects.filter(kind="idea.in_project").exists()
    # The public record says a draft was made, not what it says.
    (event,) = events("project.drafted", draft.pk)
    assert {"after.texts", "after.cost", "after.code"} <= set(event.withheld)
    assert not events("project.created", draft.pk).exists()
    # Changing a draft keeps its content out of the public record too.
    services.project_update(
        actor=official, project=draft, district=ward(vetting.cycle), code="A-01", cost="21000", texts=texts()
    )
    (change,) = events("project.draft_updated", draft.pk)
    assert "after.cost" in change.withheld and not events("project.updated", draft.pk).exists()


def test_publishing_draft_projects_makes_them_public_and_tells_the_ideas_followers(vetting, official, resident):
    first = make_project(vetting.cycle, official, [vetting.idea], code="A-01", draft=True)
    second = make_project(vetting.cycle, official, [vetting.other], code="A-02", draft=True)
    Notification.objects.all().delete()
    published = services.project_publish(actor=official, cycle=vetting.cycle, projects=[second, first.pk])
    assert [p.code for p in published] == ["A-01", "A-02"]
    assert [p.code for p in selectors.project_list(cycle=vetting.cycle)] == ["A-01", "A-02"]
    assert selectors.project_visible_to(Project.objects.get(pk=first.pk), None)
    (event,) = events("project.published", first.pk)
    assert event.withheld == ["ip"]  # everything about it is public now
    assert event.after["published"] is True and event.after["code"] == "A-01"
    told = Notification.objects.filter(kind="idea.in_project", recipient=resident).get()
    assert "A-01" in told.subject
    # Sent twice: nothing is published twice, and the answer names each project.
    before = counts()
    with pytest.raises(Conflict) as exc:
        services.project_publish(actor=official, cycle=vetting.cycle, projects=[first, second])
    assert str(exc.value.message) == str(services.MSG_PROJECTS_REFUSED)
    assert [str(m) for m in exc.value.extra["projects"]] == [
        services.MSG_PROJECT_ALREADY_PUBLISHED % {"project": "A-01"},
        services.MSG_PROJECT_ALREADY_PUBLISHED % {"project": "A-02"},
    ]
    assert counts() == before


def test_publishing_projects_is_all_or_nothing_and_only_during_vetting(vetting, official, resident):
    draft = make_project(vetting.cycle, official, [vetting.idea], code="A-01", draft=True)
    other_cycle = CycleFactory(vetting=True, wards="A")
    idea = services.idea_submit_paper(
        actor=official, cycle=other_cycle, data=idea_input(other_cycle), proposer_name="B"
    )
    foreign = make_project(other_cycle, official, [idea], code="A-09", draft=True)
    before = counts()
    with pytest.raises(Conflict) as exc:
        services.project_publish(actor=official, cycle=vetting.cycle, projects=[draft, foreign])
    assert [str(m) for m in exc.value.extra["projects"]] == [
        services.MSG_PROJECT_OTHER_CYCLE % {"project": f"#{foreign.pk}"}
    ]
    with pytest.raises(NotAllowed):
        services.project_publish(actor=resident, cycle=vetting.cycle, projects=[draft])
    with pytest.raises(ValidationFailed):
        services.project_publish(actor=official, cycle=vetting.cycle, projects=[])
    assert counts() == before
    assert Project.objects.get(pk=draft.pk).is_draft
    ideas_cycle = CycleFactory(ideas=True, wards="A")
    with pytest.raises(PhaseClosed) as exc:
        services.project_publish(actor=official, cycle=ideas_cycle, projects=[draft])
    assert str(exc.value.message) == str(permissions.MSG_PROJECTS_FROZEN)


@pytest.mark.postgres
def test_parallel_project_publishing_publishes_each_draft_once(transactional_db, resident, official, monkeypatch):
    monkeypatch.setattr(core.services, "notification_dispatch", lambda **kwargs: None)
    cycle = CycleFactory(vetting=True, wards="A")
    idea = services.idea_submit_paper(actor=official, cycle=cycle, data=idea_input(cycle), proposer_name="Ana")
    drafts = [make_project(cycle, official, [idea], code=f"A-0{n}", draft=True) for n in range(1, 4)]

    def publish():
        return services.project_publish(
            actor=User.objects.get(pk=official.pk), cycle=cycle.pk, projects=[d.pk for d in reversed(drafts)]
        )

    results = run_at_once([publish] * 4)
    assert all(outcome == "ok" or isinstance(value, Conflict) for outcome, value in results)
    published = [[p.code for p in value] for outcome, value in results if outcome == "ok"]
    refused = [len(value.extra["projects"]) for outcome, value in results if outcome != "ok"]
    assert published == [["A-01", "A-02", "A-03"]]
    assert refused == [3, 3, 3]
    assert AuditEvent.objects.filter(action="project.published").count() == 3


# --- projects ------------------------------------------------------------------------------------------
def test_merging_two_ideas_into_a_project(vetting, official, resident, neighbour):
    follower = new_resident(language="es")
    services.follow_set(actor=follower, idea=vetting.idea)
    Notification.objects.all().delete()
    project = make_project(
        vetting.cycle,
        official,
        [vetting.idea, vetting.other.pk],
        code="a-01",
        cost="25000",
        texts=texts("Drinking fountains", "Fuentes de agua"),
    )
    project.refresh_from_db()
    assert (project.code, project.cost, project.district.code) == ("A-01", Decimal("25000.00"), "A")
    assert set(project.ideas.all()) == {vetting.idea, vetting.other}
    for idea in (vetting.idea, vetting.other):
        idea.refresh_from_db()
        assert idea.status == Idea.Status.IN_PROJECT
        assert list(idea.projects.all()) == [project]
    assert {t.language: t.title for t in project.texts.all()} == {"en": "Drinking fountains", "es": "Fuentes de agua"}
    assert set(Follow.objects.filter(project=project).values_list("user", flat=True)) == {
        resident.pk,
        neighbour.pk,
        follower.pk,
    }
    notes = {n.recipient_id: n for n in Notification.objects.filter(kind="idea.in_project")}
    assert set(notes) == {resident.pk, neighbour.pk, follower.pk}
    assert "A-01" in notes[resident.pk].body and "Drinking fountains" in notes[resident.pk].body
    assert "Fuentes de agua" in notes[follower.pk].body  # the project's title in the follower's language
    (event,) = events("project.created", project.pk)
    assert event.actor_id == official.pk
    assert event.after["ideas"] == sorted([vetting.idea.pk, vetting.other.pk])


def test_splitting_one_idea_into_two_projects(vetting, official):
    first = make_project(vetting.cycle, official, [vetting.idea], code="A-01", cost="10000")
    second = make_project(vetting.cycle, official, [vetting.idea], code="A-02", cost="8000")
    idea = Idea.objects.get(pk=vetting.idea.pk)
    assert set(idea.projects.all()) == {first, second}
    assert list(first.ideas.all()) == [idea] and list(second.ideas.all()) == [idea]
    assert ProjectSource.objects.filter(idea=idea).count() == 2
    assert list(idea.status_changes.values_list("to_status", flat=True)) == ["submitted", "in_project"]


def test_cost_equal_to_the_district_budget_is_allowed(vetting, official):
    assert make_project(vetting.cycle, official, [vetting.idea], cost="50000").cost == Decimal("50000.00")


def _other_cycle_idea(ns, official):
    other = CycleFactory(ideas=True, wards="A")
    return {"ideas": [submit(other, new_resident())]}


PROJECT_REFUSALS = [
    pytest.param(
        lambda ns, o: {"cost": "50001"},
        "cost",
        services.MSG_COST_OVER_BUDGET % {"cost": "$50,001", "budget": "$50,000"},
        id="cost-over-budget",
    ),
    pytest.param(lambda ns, o: {"cost": "-1"}, "cost", services.MSG_NEGATIVE, id="cost-negative"),
    pytest.param(lambda ns, o: {"cost": ""}, "cost", services.MSG_REQUIRED, id="cost-missing"),
    pytest.param(
        lambda ns, o: {"texts": {"es": texts()["es"]}},
        "texts.en",
        services.MSG_TEXT_MISSING % {"language": "English"},
        id="main-language-missing",
    ),
    pytest.param(
        lambda ns, o: {
            "texts": {**texts(), "es": services.ProjectTextInput(title="Fuentes", summary="", description="x")}
        },
        "texts.es",
        services.MSG_TEXT_INCOMPLETE % {"language": "Spanish"},
        id="spanish-summary-blank",
    ),
    pytest.param(_other_cycle_idea, "ideas", services.MSG_IDEA_OTHER_CYCLE, id="idea-of-another-cycle"),
    pytest.param(lambda ns, o: {"ideas": [999999]}, "ideas", services.MSG_IDEA_OTHER_CYCLE, id="unknown-idea"),
    pytest.param(lambda ns, o: {"ideas": []}, "ideas", services.MSG_NO_IDEAS, id="no-ideas"),
    pytest.param(lambda ns, o: {"code": "B 01!"}, "code", services.MSG_CODE_FORMAT, id="code-with-space"),
    pytest.param(lambda ns, o: {"code": ""}, "code", services.MSG_CODE_FORMAT, id="code-empty"),
    pytest.param(lambda ns, o: {"code": "A" * 17}, "code", services.MSG_CODE_FORMAT, id="code-too-long"),
    pytest.param(lambda ns, o: {"district": None}, "district", services.MSG_WRONG_DISTRICT, id="no-district"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), PROJECT_REFUSALS)
def test_invalid_project_is_refused_and_saves_nothing(vetting, official, overrides, field, message):
    kwargs = {
        "actor": official,
        "cycle": vetting.cycle,
        "ideas": [vetting.idea],
        "district": ward(vetting.cycle),
        "code": "A-01",
        "cost": "20000",
        "texts": texts(),
    }
    kwargs.update(overrides(vetting, official))
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        services.project_create_from_ideas(**kwargs)
    assert field_messages(exc, field) == [str(message)]
    assert counts() == before
    assert Idea.objects.get(pk=vetting.idea.pk).status == "submitted"


def test_cost_over_budget_message_shows_the_budget_in_dollars(vetting, official):
    with pytest.raises(ValidationFailed) as exc:
        make_project(vetting.cycle, official, [vetting.idea], cost="75000")
    (message,) = field_messages(exc, "cost")
    assert "$50,000" in message and "$75,000" in message


def test_a_withdrawn_idea_cannot_become_a_project(cycle, resident, official):
    kept = submit(cycle, resident, title="Kept")
    gone = submit(cycle, resident, title="Gone")
    services.idea_withdraw(actor=resident, idea=gone)
    move(cycle, official, Phase.VETTING)
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        make_project(cycle, official, [kept, gone])
    assert field_messages(exc, "ideas") == [str(services.MSG_ALREADY_WITHDRAWN)]
    assert counts() == before
    assert Idea.objects.get(pk=kept.pk).status == "submitted"


def test_project_codes_are_unique_in_a_cycle(vetting, official):
    make_project(vetting.cycle, official, [vetting.idea], code="A-01")
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        make_project(vetting.cycle, official, [vetting.other], code=" a-01 ")
    assert field_messages(exc, "code") == [services.MSG_CODE_TAKEN % {"code": "A-01"}]
    assert counts() == before
    assert Idea.objects.get(pk=vetting.other.pk).status == "submitted"


def test_residents_cannot_make_projects(vetting, resident):
    with pytest.raises(NotAllowed) as exc:
        make_project(vetting.cycle, resident, [vetting.idea])
    assert str(exc.value.message) == str(permissions.MSG_ROLE_REQUIRED)
    assert not Project.objects.exists()


def test_project_update_in_vetting_then_frozen_when_voting_opens(vetting, official, vetting_staff):
    project = make_project(vetting.cycle, official, [vetting.idea], code="A-01", cost="20000")
    services.project_update(
        actor=vetting_staff,
        project=project,
        district=ward(vetting.cycle),
        code="A-01",
        cost="22000",
        texts=texts("Two drinking fountains", "Dos fuentes"),
    )
    project.refresh_from_db()
    assert project.cost == Decimal("22000.00")
    assert project.text("es").title == "Dos fuentes"
    (event,) = events("project.updated", project.pk)
    assert (event.before["cost"], event.after["cost"]) == ("20000.00", "22000.00")
    assert event.after["texts"]["en"][0] == "Two drinking fountains"

    move(vetting.cycle, official, Phase.VOTING)
    before = counts()
    with pytest.raises(PhaseClosed) as exc:
        services.project_update(
            actor=official,
            project=project.pk,
            district=ward(vetting.cycle),
            code="A-01",
            cost="1000",
            texts=texts("Changed after the freeze", "Cambiado"),
        )
    assert str(exc.value.message) == str(permissions.MSG_PROJECTS_FROZEN)
    with pytest.raises(PhaseClosed) as exc:
        make_project(vetting.cycle, official, [vetting.other], code="A-02")
    assert str(exc.value.message) == str(permissions.MSG_PROJECTS_FROZEN)
    assert counts() == before
    project.refresh_from_db()
    assert project.cost == Decimal("22000.00")
    assert {t.language: t.title for t in project.texts.all()} == {"en": "Two drinking fountains", "es": "Dos fuentes"}


def test_project_update_refuses_another_projects_code(vetting, official):
    make_project(vetting.cycle, official, [vetting.idea], code="A-01")
    second = make_project(vetting.cycle, official, [vetting.other], code="A-02")
    with pytest.raises(ValidationFailed) as exc:
        services.project_update(
            actor=official, project=second, district=ward(vetting.cycle), code="A-01", cost="1000", texts=texts()
        )
    assert field_messages(exc, "code") == [services.MSG_CODE_TAKEN % {"code": "A-01"}]
    assert Project.objects.get(pk=second.pk).code == "A-02"


# --- categories ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("phase", [Phase.DRAFT, Phase.IDEAS])
def test_official_creates_a_category_before_vetting(official, phase):
    cycle = CycleFactory(phase=phase, wards="A")
    category = services.category_create(
        actor=official, cycle=cycle, name=" Parks and green space ", translations={"es": "Parques", "fr": " "}
    )
    category.refresh_from_db()
    assert (category.cycle, category.name, category.slug) == (cycle, "Parks and green space", "parks-and-green-space")
    assert category.translations == {"es": "Parques"}
    with translation.override("es"):
        assert category.localized_name == "Parques"
    (event,) = events("category.created", category.pk)
    assert event.actor_id == official.pk


def test_category_rules(official, vetting_staff, official_without_mfa):
    cycle = CycleFactory(ideas=True, wards="A")
    services.category_create(actor=official, cycle=cycle, name="Parks")
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        services.category_create(actor=official, cycle=cycle, name="parks")  # same slug
    assert "name" in exc.value.extra
    with pytest.raises(NotAllowed) as exc:
        services.category_create(actor=vetting_staff, cycle=cycle, name="Streets")
    assert str(exc.value.message) == str(permissions.MSG_ROLE_REQUIRED)
    with pytest.raises(NotAllowed) as exc:
        services.category_create(actor=official_without_mfa, cycle=cycle, name="Streets")
    assert str(exc.value.message) == str(permissions.MSG_MFA_REQUIRED)
    with pytest.raises(ValidationFailed) as exc:
        services.category_create(actor=official, cycle=cycle, name=" ")
    assert field_messages(exc, "name") == [str(services.MSG_REQUIRED)]
    assert counts() == before
    # The same name in another cycle is fine.
    assert services.category_create(actor=official, cycle=CycleFactory(wards="A"), name="Parks").slug == "parks"


def test_no_new_categories_once_vetting_starts(official):
    cycle = CycleFactory(vetting=True, wards="A")
    with pytest.raises(PhaseClosed) as exc:
        services.category_create(actor=official, cycle=cycle, name="Parks")
    assert str(exc.value.message) == str(permissions.MSG_CATEGORIES_CLOSED)
    assert not Category.objects.exists()


def test_status_history_is_public_and_ordered(vetting, vetting_staff, official):
    services.review_record(actor=vetting_staff, idea=vetting.idea, feasibility="feasible", public_reason="OK.")
    services.review_publish(actor=vetting_staff, idea=vetting.idea)
    make_project(vetting.cycle, official, [vetting.idea])
    assert list(IdeaStatusChange.objects.filter(idea=vetting.idea).values_list("from_status", "to_status")) == [
        ("", "submitted"),
        ("submitted", "under_review"),
        ("under_review", "feasible"),
        ("feasible", "in_project"),
    ]


def test_texts_beyond_the_main_language_are_optional_but_whole(official):
    from proposals.services import MSG_TEXT_INCOMPLETE, ProjectTextInput, project_create_from_ideas

    cycle = CycleFactory(ideas=True, wards="A", extra_languages=["zh-hans"])
    idea = submit(cycle, new_resident())
    move(cycle, official, "vetting")
    kwargs = dict(actor=official, cycle=cycle, ideas=[idea], district=ward(cycle), code="A-01", cost="1000")
    half = ProjectTextInput(title="饮水机", summary="", description="")
    with pytest.raises(ValidationFailed) as exc:
        project_create_from_ideas(texts={**texts(), "zh-hans": half}, **kwargs)
    assert [str(m) for m in exc.value.extra["texts.zh-hans"]] == [
        str(MSG_TEXT_INCOMPLETE % {"language": "Simplified Chinese"})
    ]
    assert not Project.objects.exists()
    # English alone is enough; the other languages fall back to it.
    empty = ProjectTextInput(title=" ", summary="", description="")
    project = project_create_from_ideas(texts={"en": texts()["en"], "es": empty}, **kwargs)
    assert list(project.texts.values_list("language", flat=True)) == ["en"]
    assert project.text("es").language == "en" and project.text("zh-hans").title == "Drinking fountains"
    # A translation added later is used; cleared again, it is removed.
    zh = ProjectTextInput(title="饮水机", summary="两台饮水机。", description="全年使用的饮水机。")
    edit = dict(actor=official, project=project, district=ward(cycle), code="A-01", cost="1000")
    services.project_update(texts={"en": texts()["en"], "zh-hans": zh}, **edit)
    assert project.text("zh-hans").title == "饮水机"
    services.project_update(texts={"en": texts()["en"], "zh-hans": empty}, **edit)
    assert list(project.texts.values_list("language", flat=True)) == ["en"]
