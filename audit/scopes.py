"""Which cycle each kind of audited object belongs to (``core.services.audit_scope``): registered
once at start-up by this app, the one that sees every model. An event's cycle decides which public
record shows it (docs/audit-log.md); an object type missing here belongs to no cycle, so its events
are in no public record — add a resolver when a new object type is audited."""

from django.core.exceptions import ValidationError

from budgets.models import Cycle, District
from core.services import audit_scope_register
from proposals.models import Category, Comment, Idea, Project
from voting.models import Ballot, DuplicateReview, PaperBatch, ProvisionalBallot, VotingSite

from .models import Bundle


def _cycle(object_id: str, after: dict) -> int:
    return int(object_id)


def _by_slug_or(lookup):
    """A resolver trying ``lookup(object_id)`` first, then the ``cycle`` slug the event names."""

    def resolve(object_id: str, after: dict) -> int | None:
        found = lookup(object_id)
        if found is not None:
            return found
        slug = after.get("cycle")
        if isinstance(slug, str) and slug:
            return Cycle.objects.filter(slug=slug).values_list("pk", flat=True).first()
        return None

    return resolve


def _field(model, path: str):
    def resolve(object_id: str, after: dict) -> int | None:
        return model.objects.filter(pk=object_id).values_list(path, flat=True).first()

    return resolve


def _ballot(object_id: str) -> int | None:
    try:
        return Ballot.objects.filter(pk=object_id).values_list("district__cycle_id", flat=True).first()
    except (ValidationError, ValueError):  # not a UUID (an imported ballot's id): the event names the cycle
        return None


SCOPES = {
    "cycle": _cycle,
    "district": _field(District, "cycle_id"),
    "project": _field(Project, "cycle_id"),
    "idea": _field(Idea, "cycle_id"),
    "comment": _field(Comment, "idea__cycle_id"),
    "category": _field(Category, "cycle_id"),
    "voting_site": _field(VotingSite, "cycle_id"),
    "paper_batch": _field(PaperBatch, "district__cycle_id"),
    "provisional_ballot": _field(ProvisionalBallot, "cycle_id"),
    "duplicate_review": _field(DuplicateReview, "cycle_id"),
    "bundle": _field(Bundle, "cycle_id"),
    "ballot": _by_slug_or(_ballot),
}


def register() -> None:
    for object_type, resolver in SCOPES.items():
        audit_scope_register(object_type, resolver)
