"""Building proposals state through the real services, for the proposals service, selector, image,
permission and demo tests. Plain functions rather than fixtures, so the test modules of other
helpers (views, API) can use them without a shared conftest."""

from types import SimpleNamespace

from budgets.models import Cycle, District
from budgets.phases import Phase
from budgets.services import cycle_transition
from core.models import AuditEvent, Notification
from proposals import services
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
from tests.factories import user_with_role

COUNTED = (
    Idea,
    IdeaStatusChange,
    Review,
    Project,
    ProjectText,
    ProjectSource,
    Endorsement,
    Comment,
    Follow,
    Report,
    Category,
    AuditEvent,
    Notification,
)


def counts() -> dict[str, int]:
    """Row counts of everything a proposals service may write: equal before and after a refusal."""
    return {model.__name__: model.objects.count() for model in COUNTED}


def ward(cycle: Cycle, code: str = "A") -> District:
    return cycle.districts.get(code=code)


def idea_input(cycle: Cycle, **overrides) -> services.IdeaInput:
    values = {
        "title": "Water fountain in Van Vorst Park",
        "description": "A year-round drinking fountain with a bottle filler near the playground.",
        "district": ward(cycle),
        "address": "Van Vorst Park, Jersey City, NJ",
        "language": "en",
    }
    values.update(overrides)
    return services.IdeaInput(**values)


def submit(cycle: Cycle, author, **overrides) -> Idea:
    return services.idea_submit(actor=author, cycle=cycle, data=idea_input(cycle, **overrides))


def new_resident(**kwargs):
    return user_with_role("resident", **kwargs)


def move(cycle: Cycle, official, target: str) -> Cycle:
    """Move the cycle through the one phase service, as an official with a reason (preparing the
    ballot first when voting opens)."""
    if target == "voting":
        from tests.ballots import ballot_prepare

        ballot_prepare(cycle, official)
    return cycle_transition(actor=official, cycle=cycle, target=target, reason="Test: the schedule moved on.")


def texts(en_title: str = "Drinking fountains", es_title: str = "Fuentes de agua") -> dict:
    return {
        "en": services.ProjectTextInput(
            title=en_title, summary=f"{en_title} for the ward.", description="Two year-round fountains."
        ),
        "es": services.ProjectTextInput(
            title=es_title, summary=f"{es_title} para el distrito.", description="Dos fuentes todo el año."
        ),
    }


def make_project(cycle: Cycle, actor, ideas, *, code: str = "A-01", cost="20000", district="A", **overrides) -> Project:
    kwargs = {"texts": texts()}
    kwargs.update(overrides)
    return services.project_create_from_ideas(
        actor=actor, cycle=cycle, ideas=ideas, district=ward(cycle, district), code=code, cost=cost, **kwargs
    )


def events(action: str, object_id=None):
    qs = AuditEvent.objects.filter(action=action)
    if object_id is not None:
        qs = qs.filter(object_id=str(object_id))
    return qs.order_by("id")


def field_messages(exc_info, field: str) -> list[str]:
    """The messages of one field of a ``ValidationFailed`` caught by ``pytest.raises``."""
    return [str(m) for m in exc_info.value.extra[field]]


def ideas_in_vetting(cycle: Cycle, resident, neighbour, official) -> SimpleNamespace:
    """Two ideas by two residents (``idea``, ``other``), then the cycle moved on to vetting through
    the service."""
    ns = SimpleNamespace(cycle=cycle)
    ns.idea = submit(cycle, resident, title="Water fountain")
    ns.other = submit(cycle, neighbour, title="Drinking fountain by the library", district=ward(cycle, "A"))
    ns.cycle = move(cycle, official, Phase.VETTING)
    return ns
