"""API v1 of the proposals app: what its views share — fields, the lookups that answer 404, the
outputs of an idea — and how every view is made.

Thin views: each parses its input (an ``Input`` serializer), calls one service, and renders an
``Output`` serializer; one view per state-changing operation. Objects come through the selectors,
so public responses never carry internal notes, emails, or hidden and withdrawn ideas. The services
check who and when; views call ``check_who`` first only so that a refusal comes before input
validation. Errors are the services' ``ApplicationError``s, rendered by core.api as RFC 7807 problems.
"""

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from budgets import selectors as budget_selectors
from budgets.models import District
from core.api_input import InputSerializer

from .. import selectors, services
from ..models import Category, Idea
from ..permissions import can_see_internal

MSG_ANONYMOUS_COMMENTER = _("Resident")


@extend_schema_field({"oneOf": [{"type": "string", "format": "decimal"}, {"type": "number"}], "example": "25000.00"})
class AmountField(serializers.CharField):
    """Money as a string or a number. The service parses it and says what is wrong (one message for
    HTML forms and the API), so this field only carries the text."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)


class _InCycle(serializers.SlugRelatedField):
    """A district or category named by its code/slug, looked up in the cycle of the request only."""

    def get_queryset(self):
        return super().get_queryset().filter(cycle=self.context["cycle"])


class DistrictField(_InCycle):
    default_error_messages = {"does_not_exist": services.MSG_WRONG_DISTRICT, "invalid": services.MSG_WRONG_DISTRICT}

    def __init__(self, **kwargs):
        super().__init__(slug_field="code", queryset=District.objects.all(), **kwargs)


class CategoryField(_InCycle):
    default_error_messages = {"does_not_exist": services.MSG_WRONG_CATEGORY, "invalid": services.MSG_WRONG_CATEGORY}

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(slug_field="slug", queryset=Category.objects.all(), **kwargs)


def cycle_public_or_404(user, slug: str):
    """The cycle as the user may see it: staff also see cycles that are not public yet."""
    cycle = (budget_selectors.cycle_get_staff if can_see_internal(user) else budget_selectors.cycle_get_public)(slug)
    if cycle is None:
        raise Http404
    return cycle


def cycle_staff_or_404(slug: str):
    """The cycle, public or not yet (for staff's endpoints, which check who first)."""
    cycle = budget_selectors.cycle_get_staff(slug)
    if cycle is None:
        raise Http404
    return cycle


def idea_or_404(user, pk: int) -> Idea:
    """The idea as the user may see it (``selectors.idea_get_public``)."""
    idea = selectors.idea_get_public(pk=pk, user=user)
    if idea is None:
        raise Http404
    return idea


def project_or_404(user, pk: int):
    """The project, if the user may see it (drafts: staff only)."""
    project = selectors.project_get(pk=pk)
    if project is None or not selectors.project_visible_to(project, user):
        raise Http404
    return project


class IdeaOutput(serializers.ModelSerializer):
    """An idea as anyone may see it."""

    district = serializers.CharField(source="district.code")
    category = serializers.CharField(source="category.slug", allow_null=True)
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)
    photo = serializers.ImageField(allow_null=True, read_only=True, help_text="URL of the photo.")
    endorsement_count = serializers.IntegerField()
    comment_count = serializers.IntegerField()
    projects = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="code", help_text="Codes of the projects it became."
    )

    class Meta:
        model = Idea
        fields = [
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
        ]


class StatusChangeOutput(serializers.Serializer):
    from_status = serializers.CharField()
    to_status = serializers.ChoiceField(choices=Idea.Status.choices)
    public_reason = serializers.CharField()
    changed_at = serializers.DateTimeField()


class PublicReviewOutput(serializers.Serializer):
    """The published part of a review; internal notes never come here (the selector leaves them out)."""

    feasibility = serializers.CharField()
    public_reason = serializers.CharField()
    cost_estimate = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    department = serializers.CharField()


class IdeaProjectOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    title = serializers.CharField()


class CommentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    author_name = serializers.SerializerMethodField()
    body = serializers.CharField()
    created_at = serializers.DateTimeField()

    def get_author_name(self, comment) -> str:
        # The display name only: never the email (str(user) falls back to it).
        author = comment.author
        return (author.display_name if author else "") or str(MSG_ANONYMOUS_COMMENTER)


class IdeaDetailOutput(IdeaOutput):
    """An idea's public page: its history, the published decision, the projects it became and
    its visible comments. Its author and staff also see it when withdrawn or hidden."""

    comment_count = serializers.SerializerMethodField()
    projects = IdeaProjectOutput(many=True, read_only=True)
    status_history = StatusChangeOutput(many=True, source="status_changes.all")
    review = serializers.SerializerMethodField()
    comments = CommentOutput(many=True, source="visible_comments")
    hidden = serializers.BooleanField(source="is_hidden")
    hidden_reason = serializers.CharField()

    class Meta(IdeaOutput.Meta):
        fields = [*IdeaOutput.Meta.fields, "status_history", "review", "comments", "hidden", "hidden_reason"]

    def get_comment_count(self, idea) -> int:
        return len(idea.visible_comments)

    @extend_schema_field(PublicReviewOutput(allow_null=True))
    def get_review(self, idea) -> dict | None:
        review = selectors.idea_public_review(idea)
        return PublicReviewOutput(review).data if review is not None else None


class ReasonInput(InputSerializer):
    reason = serializers.CharField(help_text="At most 1000 characters.")
