"""What the archive erases of a cycle's ideas (called by the archive step, in its transaction).

Kept, because they are the public record of the cycle: visible ideas' titles, descriptions and
places, visible comments, published reviews, projects (their texts and images) and implementation
updates. Erased:

- paper ideas' proposer names and contacts;
- every idea photo (residents' uploads: faces, homes, number plates) — files deleted after commit;
- hidden and withdrawn ideas' content, hidden comments' text and every moderation reason (what was
  hidden is often hidden because it holds someone's personal data);
- staff's internal review notes and the text of residents' reports;
- follows of the cycle's ideas and projects (who wanted updates about what).
"""

from django.db import transaction
from django.db.models import Q

from budgets.models import Cycle

from .models import Comment, Endorsement, Follow, Idea, Report, Review

ERASED_TITLE = "—"  # a removed idea's title (the field is required)


def _delete_files_after_commit(storage, names: list[str]) -> None:
    def delete():
        for name in names:
            storage.delete(name)

    if names:
        transaction.on_commit(delete)


def ideas_personal_data_erase(*, cycle: Cycle) -> dict[str, int]:
    """Erase the personal data the cycle's ideas hold (see the module docstring). Counts for the
    audit event."""
    ideas = Idea.objects.filter(cycle=cycle)
    photos = list(ideas.exclude(photo="").values_list("photo", flat=True))
    _delete_files_after_commit(Idea._meta.get_field("photo").storage, photos)
    removed = Q(hidden_at__isnull=False) | Q(status=Idea.Status.WITHDRAWN)
    comments = Comment.objects.filter(idea__cycle=cycle)
    return {
        "proposer_details_erased": ideas.filter(~Q(proposer_name="") | ~Q(proposer_contact="")).update(
            proposer_name="", proposer_contact=""
        ),
        "idea_photos_erased": ideas.exclude(photo="").update(photo=""),
        "removed_ideas_erased": ideas.filter(removed).update(
            title=ERASED_TITLE, description="", address="", latitude=None, longitude=None, cost_guess=None
        ),
        "moderation_reasons_erased": ideas.exclude(hidden_reason="").update(hidden_reason="")
        + comments.exclude(hidden_reason="").update(hidden_reason=""),
        "hidden_comments_erased": comments.filter(hidden_at__isnull=False).exclude(body="").update(body=""),
        "internal_notes_erased": Review.objects.filter(idea__cycle=cycle)
        .exclude(internal_notes="")
        .update(internal_notes=""),
        "reports_erased": Report.objects.filter(Q(idea__cycle=cycle) | Q(comment__idea__cycle=cycle))
        .exclude(reason="")
        .update(reason=""),
        "follows_erased": Follow.objects.filter(Q(idea__cycle=cycle) | Q(project__cycle=cycle)).delete()[0],
    }


def accounts_active_in(*, cycle: Cycle) -> set[int]:
    """Ids of the accounts with any activity on the cycle's ideas and projects: authored an idea or
    a comment, endorsed, followed or reported."""
    ids: set[int] = set()
    ids |= set(Idea.objects.filter(cycle=cycle, author__isnull=False).values_list("author_id", flat=True))
    ids |= set(Comment.objects.filter(idea__cycle=cycle, author__isnull=False).values_list("author_id", flat=True))
    ids |= set(Endorsement.objects.filter(idea__cycle=cycle).values_list("user_id", flat=True))
    ids |= set(Follow.objects.filter(Q(idea__cycle=cycle) | Q(project__cycle=cycle)).values_list("user_id", flat=True))
    ids |= set(
        Report.objects.filter(Q(idea__cycle=cycle) | Q(comment__idea__cycle=cycle), reporter__isnull=False).values_list(
            "reporter_id", flat=True
        )
    )
    return ids


def accounts_active_elsewhere(*, cycle: Cycle, user_ids: set[int]) -> set[int]:
    """Which of ``user_ids`` have activity on the ideas or projects of another cycle."""
    others = ~Q(idea__cycle=cycle)
    ids: set[int] = set()
    ids |= set(Idea.objects.filter(author_id__in=user_ids).exclude(cycle=cycle).values_list("author_id", flat=True))
    ids |= set(Comment.objects.filter(others, author_id__in=user_ids).values_list("author_id", flat=True))
    ids |= set(Endorsement.objects.filter(others, user_id__in=user_ids).values_list("user_id", flat=True))
    ids |= set(
        Follow.objects.filter(user_id__in=user_ids)
        .exclude(Q(idea__cycle=cycle) | Q(project__cycle=cycle))
        .values_list("user_id", flat=True)
    )
    ids |= set(
        Report.objects.filter(reporter_id__in=user_ids)
        .exclude(Q(idea__cycle=cycle) | Q(comment__idea__cycle=cycle))
        .values_list("reporter_id", flat=True)
    )
    return ids
