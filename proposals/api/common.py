"""API v1 for ideas, their review, and the projects they become.

Thin views: each parses its input (an ``Input`` serializer), calls one service, and renders an
``Output`` serializer; one view per state-changing operation. Objects come through the selectors,
so public responses never carry internal notes, emails, or hidden and withdrawn ideas. The services
check who and when; views call ``check_who`` first only so that a refusal comes before input
validation. Errors are the services' ``ApplicationError``s, rendered by core.api as RFC 7807 problems.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from budgets import selectors as budget_selectors
from budgets.models import District
from core.api_input import InputSerializer, JSONParser, check_no_input

from .. import selectors, services
from ..models import Category, Idea, Review
from ..permissions import Action, can_see_internal, check_who

MSG_ANONYMOUS_COMMENTER = _("Resident")

# --- shared fields ------------------------------------------------------------------------------------


@extend_schema_field({"oneOf": [{"type": "string", "format": "decimal"}, {"type": "number"}], "example": "25000.00"})
class AmountField(serializers.CharField):
    """Money as a string or a number. The service parses it and says what is wrong (one message for
    HTML forms and the API), so this field only carries the text."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)


@extend_schema_field(OpenApiTypes.BINARY)
class PhotoField(serializers.FileField):
    """An uploaded image (multipart); the service checks and re-encodes it."""


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


def _cycle_public(user, slug: str):
    """The cycle as the user may see it: staff also see cycles that are not public yet."""
    cycle = (budget_selectors.cycle_get_staff if can_see_internal(user) else budget_selectors.cycle_get_public)(slug)
    if cycle is None:
        raise Http404
    return cycle


def _cycle_staff(slug: str):
    cycle = budget_selectors.cycle_get_staff(slug)
    if cycle is None:
        raise Http404
    return cycle


def _idea(user, pk: int) -> Idea:
    idea = selectors.idea_get_public(pk=pk, user=user)
    if idea is None:
        raise Http404
    return idea


def _project(user, pk: int):
    project = selectors.project_get(pk=pk)
    if project is None or not selectors.project_visible_to(project, user):
        raise Http404
    return project


# --- outputs ------------------------------------------------------------------------------------------
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


class ReviewOutput(serializers.ModelSerializer):
    """A review as staff see it, internal notes included. Staff endpoints only."""

    reviewer_name = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = [
            "reviewer",
            "reviewer_name",
            "feasibility",
            "public_reason",
            "cost_estimate",
            "department",
            "internal_notes",
            "published_at",
            "updated_at",
        ]

    def get_reviewer_name(self, review) -> str:
        return review.reviewer.display_name if review.reviewer else ""


class VettingIdeaOutput(serializers.ModelSerializer):
    """One entry of the staff's queue: the idea, hidden or not, with its review."""

    district = serializers.CharField(source="district.code")
    category = serializers.CharField(source="category.slug", allow_null=True)
    author_name = serializers.SerializerMethodField()
    endorsement_count = serializers.IntegerField()
    hidden = serializers.BooleanField(source="is_hidden")
    review = serializers.SerializerMethodField()
    projects = serializers.SlugRelatedField(many=True, read_only=True, slug_field="code")

    class Meta:
        model = Idea
        fields = [
            "id",
            "title",
            "description",
            "district",
            "category",
            "status",
            "source",
            "address",
            "cost_guess",
            "language",
            "author_name",
            "endorsement_count",
            "hidden",
            "hidden_reason",
            "created_at",
            "review",
            "projects",
        ]

    def get_author_name(self, idea) -> str:
        return idea.author.display_name if idea.author else idea.proposer_name

    @extend_schema_field(ReviewOutput(allow_null=True))
    def get_review(self, idea) -> dict | None:
        try:
            review = idea.review
        except Review.DoesNotExist:
            return None
        return ReviewOutput(review).data


class ProjectTextOutput(serializers.Serializer):
    title = serializers.CharField()
    summary = serializers.CharField()
    description = serializers.CharField()


class ProjectOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    district = serializers.CharField(source="district.code")
    cost = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.SerializerMethodField()
    category = serializers.CharField(source="category.slug", allow_null=True)
    address = serializers.CharField()
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)
    image = serializers.ImageField(allow_null=True, read_only=True)
    texts = serializers.SerializerMethodField()
    ideas = serializers.SerializerMethodField()
    draft = serializers.BooleanField(source="is_draft", help_text="Drafts are seen by staff only.")

    def get_currency(self, project) -> str:
        # A list passes its cycle in the context (one cycle for all its projects, no query each).
        cycle = self.context.get("cycle") or project.cycle
        return cycle.currency

    @extend_schema_field(serializers.DictField(child=ProjectTextOutput(), help_text="Texts by language code."))
    def get_texts(self, project) -> dict:
        return {t.language: ProjectTextOutput(t).data for t in project.texts.all()}

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField(), help_text="Source idea ids."))
    def get_ideas(self, project) -> list[int]:
        return [source.idea_id for source in project.sources.all()]


class EndorsementOutput(serializers.Serializer):
    endorsed = serializers.BooleanField()
    endorsement_count = serializers.IntegerField()


class FollowOutput(serializers.Serializer):
    following = serializers.BooleanField()


class ReportOutput(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class HiddenOutput(serializers.Serializer):
    id = serializers.IntegerField()
    hidden_at = serializers.DateTimeField()
    hidden_reason = serializers.CharField()


# --- inputs shared by views ---------------------------------------------------------------------------
class IdeaInput(InputSerializer):
    title = serializers.CharField(help_text="At most 150 characters.")
    description = serializers.CharField(help_text="At most 5000 characters.")
    district = DistrictField(help_text="The district's code, e.g. A.")
    category = CategoryField(help_text="The category's slug.")
    address = serializers.CharField(help_text="Address or place, at most 300 characters.")
    latitude = serializers.FloatField(required=False, allow_null=True)
    longitude = serializers.FloatField(required=False, allow_null=True)
    cost_guess = AmountField(help_text="A rough cost guess, e.g. 25000.")
    language = serializers.ChoiceField(choices=settings.LANGUAGES, default="en")
    photo = PhotoField(required=False, allow_null=True, help_text="A JPEG, PNG or WebP photo (multipart only).")


def _idea_data(validated: dict, idea: Idea | None = None) -> services.IdeaInput:
    """The service's input: the validated fields, over the idea's current ones for a PATCH."""
    current = {}
    if idea is not None:
        current = {
            "title": idea.title,
            "description": idea.description,
            "district": idea.district,
            "category": idea.category,
            "address": idea.address,
            "latitude": idea.latitude,
            "longitude": idea.longitude,
            "cost_guess": idea.cost_guess,
            "language": idea.language,
        }
    return services.IdeaInput(**{**current, **validated})


class ReasonInput(InputSerializer):
    reason = serializers.CharField(help_text="At most 1000 characters.")


class ProjectTextInput(InputSerializer):
    title = serializers.CharField(allow_blank=True)
    summary = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)


class ProjectInput(InputSerializer):
    code = serializers.CharField(help_text="Letters, digits and dashes, e.g. B-07.")
    district = DistrictField(help_text="The district's code.")
    cost = AmountField(required=True, help_text="Cannot exceed the district's budget.")
    category = CategoryField(help_text="The category's slug.")
    address = serializers.CharField(required=False, allow_blank=True, default="")
    texts = serializers.DictField(
        child=ProjectTextInput(),
        help_text=(
            "Texts by language code: the main language (en) is required, the others optional (all three"
            " fields or none; readers of a missing language see the main one)."
        ),
    )


def _project_texts(texts: dict) -> dict[str, services.ProjectTextInput]:
    return {
        language: services.ProjectTextInput(
            title=text.get("title", ""), summary=text.get("summary", ""), description=text.get("description", "")
        )
        for language, text in texts.items()
    }


# --- ideas: public reads and residents' actions --------------------------------------------------------
class IdeaListFilter(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, default="", help_text="Words to search for.")
    district = serializers.CharField(required=False, allow_blank=True, default="", help_text="A district code.")
    category = serializers.CharField(required=False, allow_blank=True, default="", help_text="A category slug.")
    status = serializers.ChoiceField(choices=Idea.Status.choices, required=False)
    sort = serializers.ChoiceField(choices=list(selectors.SORTS), default="newest")


class CycleIdeasView(GenericAPIView):
    """A cycle's ideas: anyone lists them (GET); a resident with a verified email submits one (POST,
    JSON or multipart with a photo) while the cycle collects ideas."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(parameters=[IdeaListFilter], responses=IdeaOutput(many=True))
    def get(self, request, slug):
        cycle = _cycle_public(request.user, slug)
        filters = IdeaListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        ideas = selectors.idea_list_public_with_projects(cycle=cycle, **filters.validated_data)
        page = self.paginate_queryset(ideas)
        return self.get_paginated_response(IdeaOutput(page, many=True, context={"request": request}).data)

    @extend_schema(request=IdeaInput, responses={201: IdeaDetailOutput})
    def post(self, request, slug):
        check_who(request.user, Action.IDEA_SUBMIT)
        cycle = _cycle_public(request.user, slug)
        payload = IdeaInput(data=request.data, context={"cycle": cycle})
        payload.is_valid(raise_exception=True)
        idea = services.idea_submit(actor=request.user, cycle=cycle, data=_idea_data(payload.validated_data))
        idea = _idea(request.user, idea.pk)
        return Response(IdeaDetailOutput(idea, context={"request": request}).data, status=status.HTTP_201_CREATED)


class IdeaDetailView(APIView):
    """One idea (GET); its author changes it (PUT: every field, PATCH: some) before review starts."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(responses=IdeaDetailOutput)
    def get(self, request, pk):
        idea = _idea(request.user, pk)
        return Response(IdeaDetailOutput(idea, context={"request": request}).data)

    @extend_schema(request=IdeaInput, responses=IdeaDetailOutput)
    def put(self, request, pk):
        return self._edit(request, pk, partial=False)

    @extend_schema(request=IdeaInput, responses=IdeaDetailOutput)
    def patch(self, request, pk):
        return self._edit(request, pk, partial=True)

    def _edit(self, request, pk, *, partial: bool):
        idea = _idea(request.user, pk)
        check_who(request.user, Action.IDEA_EDIT, idea)
        payload = IdeaInput(data=request.data, partial=partial, context={"cycle": idea.cycle})
        payload.is_valid(raise_exception=True)
        # PATCH changes the fields given; PUT replaces the idea (optional fields left out are cleared).
        data = _idea_data(payload.validated_data, idea if partial else None)
        services.idea_edit(actor=request.user, idea=idea, data=data)
        idea = _idea(request.user, pk)
        return Response(IdeaDetailOutput(idea, context={"request": request}).data)


class IdeaWithdrawView(APIView):
    """The author withdraws their idea (only before review starts)."""

    class Input(InputSerializer):
        reason = serializers.CharField(required=False, allow_blank=True, default="", help_text="Optional.")

        class Meta:
            ref_name = "IdeaWithdrawInput"

    @extend_schema(request=Input, responses=IdeaDetailOutput)
    def post(self, request, pk):
        idea = _idea(request.user, pk)
        check_who(request.user, Action.IDEA_WITHDRAW, idea)
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        services.idea_withdraw(actor=request.user, idea=idea, **payload.validated_data)
        idea = _idea(request.user, pk)
        return Response(IdeaDetailOutput(idea, context={"request": request}).data)


class IdeaEndorsementView(APIView):
    """Endorse an idea (POST: 201, or 200 if already endorsed) or take the endorsement back (DELETE)."""

    @extend_schema(request=None, responses={201: EndorsementOutput, 200: EndorsementOutput})
    def post(self, request, pk):
        idea = _idea(request.user, pk)
        check_who(request.user, Action.IDEA_ENDORSE)
        check_no_input(request)
        created = services.idea_endorse(actor=request.user, idea=idea)
        idea = _idea(request.user, pk)
        return Response(
            EndorsementOutput({"endorsed": True, "endorsement_count": idea.endorsement_count}).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Not endorsed (any more).")})
    def delete(self, request, pk):
        idea = _idea(request.user, pk)
        check_who(request.user, Action.IDEA_ENDORSE)
        check_no_input(request)
        services.idea_unendorse(actor=request.user, idea=idea)
        return Response(status=status.HTTP_204_NO_CONTENT)


class IdeaCommentView(APIView):
    """Comment on an idea while ideas are discussed."""

    class Input(InputSerializer):
        body = serializers.CharField(help_text="At most 2000 characters.")

        class Meta:
            ref_name = "CommentInput"

    @extend_schema(request=Input, responses={201: CommentOutput})
    def post(self, request, pk):
        idea = _idea(request.user, pk)
        check_who(request.user, Action.IDEA_COMMENT)
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        comment = services.comment_add(actor=request.user, idea=idea, **payload.validated_data)
        return Response(CommentOutput(comment).data, status=status.HTTP_201_CREATED)


class IdeaFollowView(APIView):
    """Follow an idea's updates (POST: 201, or 200 if already following) or stop (DELETE)."""

    @extend_schema(request=None, responses={201: FollowOutput, 200: FollowOutput})
    def post(self, request, pk):
        idea = _idea(request.user, pk)
        check_who(request.user, Action.FOLLOW)
        check_no_input(request)
        changed = services.follow_set(actor=request.user, idea=idea, on=True)
        return Response(
            FollowOutput({"following": True}).data, status=status.HTTP_201_CREATED if changed else status.HTTP_200_OK
        )

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Not following (any more).")})
    def delete(self, request, pk):
        idea = _idea(request.user, pk)
        check_who(request.user, Action.FOLLOW)
        check_no_input(request)
        services.follow_set(actor=request.user, idea=idea, on=False)
        return Response(status=status.HTTP_204_NO_CONTENT)


class IdeaReportView(APIView):
    """Report an idea to the moderators."""

    @extend_schema(request=ReasonInput, responses={201: ReportOutput})
    def post(self, request, pk):
        idea = _idea(request.user, pk)
        check_who(request.user, Action.REPORT)
        payload = ReasonInput(data=request.data)
        payload.is_valid(raise_exception=True)
        report = services.content_report(actor=request.user, idea=idea, **payload.validated_data)
        return Response(ReportOutput(report).data, status=status.HTTP_201_CREATED)


# --- vetting (staff) -----------------------------------------------------------------------------------
class VettingQueueFilter(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, default="")
    district = serializers.CharField(required=False, allow_blank=True, default="")
    status = serializers.ChoiceField(choices=Idea.Status.choices, required=False)
    reviewer = serializers.RegexField(
        r"^(none|[0-9]{1,12})$",
        required=False,
        allow_blank=True,
        default="",
        help_text='A reviewer\'s user id, or "none" for unassigned.',
    )


class VettingQueueView(GenericAPIView):
    """Staff's queue: every idea of the cycle, hidden ones too, with its review (internal notes included)."""

    @extend_schema(parameters=[VettingQueueFilter], responses=VettingIdeaOutput(many=True))
    def get(self, request, slug):
        check_who(request.user, Action.VETTING_AREA)
        cycle = _cycle_staff(slug)
        filters = VettingQueueFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        ideas = selectors.vetting_queue(cycle=cycle, **filters.validated_data)
        page = self.paginate_queryset(ideas)
        return self.get_paginated_response(VettingIdeaOutput(page, many=True).data)


class ReviewRecordView(APIView):
    """Record (not yet publish) staff's assessment. "Not feasible" needs a public reason."""

    class Input(InputSerializer):
        feasibility = serializers.ChoiceField(choices=Review.Feasibility.choices)
        public_reason = serializers.CharField(required=False, allow_blank=True, default="")
        cost_estimate = AmountField()
        department = serializers.CharField(required=False, allow_blank=True, default="")
        internal_notes = serializers.CharField(
            required=False, allow_blank=True, default="", help_text="Staff only; never shown to residents."
        )

        class Meta:
            ref_name = "ReviewRecordInput"

    @extend_schema(request=Input, responses=ReviewOutput)
    def post(self, request, pk):
        check_who(request.user, Action.REVIEW)
        idea = _idea(request.user, pk)
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        review = services.review_record(actor=request.user, idea=idea, **payload.validated_data)
        return Response(ReviewOutput(review).data)


class ReviewPublishView(APIView):
    """Make the recorded decision public: the idea's status and public reason change."""

    @extend_schema(request=None, responses=IdeaDetailOutput)
    def post(self, request, pk):
        check_who(request.user, Action.REVIEW)
        idea = _idea(request.user, pk)
        check_no_input(request)
        services.review_publish(actor=request.user, idea=idea)
        idea = _idea(request.user, pk)
        return Response(IdeaDetailOutput(idea, context={"request": request}).data)


class ReviewPublishManyView(APIView):
    """Publish several recorded decisions of the cycle together: all of them or none (409 naming
    each idea that cannot be published, e.g. one already published: a request sent twice
    publishes nothing twice)."""

    class Input(InputSerializer):
        ideas = serializers.ListField(
            child=serializers.IntegerField(min_value=1), allow_empty=False, help_text="Ids of the ideas."
        )

        class Meta:
            ref_name = "ReviewPublishManyInput"

    class Output(serializers.Serializer):
        published = serializers.ListField(child=serializers.IntegerField(), help_text="Ids of the ideas, in order.")

        class Meta:
            ref_name = "ReviewPublishManyOutput"

    @extend_schema(request=Input, responses=Output)
    def post(self, request, slug):
        check_who(request.user, Action.REVIEW)
        cycle = _cycle_staff(slug)
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        published = services.review_publish_many(actor=request.user, cycle=cycle, ideas=payload.validated_data["ideas"])
        return Response(self.Output({"published": [idea.pk for idea in published]}).data)


class ReviewAssignView(APIView):
    """Assign a reviewer (a member of the vetting staff), or none."""

    class Input(InputSerializer):
        reviewer = serializers.PrimaryKeyRelatedField(
            queryset=get_user_model().objects.filter(is_active=True), allow_null=True, help_text="A user id."
        )

        class Meta:
            ref_name = "ReviewAssignInput"

    @extend_schema(request=Input, responses=ReviewOutput)
    def post(self, request, pk):
        check_who(request.user, Action.REVIEW)
        idea = _idea(request.user, pk)
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        review = services.review_assign(actor=request.user, idea=idea, **payload.validated_data)
        return Response(ReviewOutput(review).data)


class IdeaHideView(APIView):
    """Moderators hide an idea, with a public reason."""

    @extend_schema(request=ReasonInput, responses=HiddenOutput)
    def post(self, request, pk):
        check_who(request.user, Action.MODERATE)
        idea = _idea(request.user, pk)
        payload = ReasonInput(data=request.data)
        payload.is_valid(raise_exception=True)
        idea = services.content_hide(actor=request.user, idea=idea, **payload.validated_data)
        return Response(HiddenOutput(idea).data)


class CommentHideView(APIView):
    """Moderators hide a comment, with a public reason."""

    @extend_schema(request=ReasonInput, responses=HiddenOutput)
    def post(self, request, pk):
        check_who(request.user, Action.MODERATE)
        comment = selectors.comment_get(pk=pk)
        if comment is None:
            raise Http404
        payload = ReasonInput(data=request.data)
        payload.is_valid(raise_exception=True)
        comment = services.content_hide(actor=request.user, comment=comment, **payload.validated_data)
        return Response(HiddenOutput(comment).data)


# --- projects -----------------------------------------------------------------------------------------
class CycleProjectsView(APIView):
    """A cycle's projects: anyone lists them (GET); staff build one from ideas during vetting (POST)."""

    class Input(ProjectInput):
        ideas = serializers.ListField(child=serializers.IntegerField(), help_text="Ids of the source ideas.")
        draft = serializers.BooleanField(
            required=False, default=False, help_text="Save as a draft, seen by staff only until published."
        )

        class Meta:
            ref_name = "ProjectCreateInput"

    @extend_schema(responses=ProjectOutput(many=True))
    def get(self, request, slug):
        cycle = _cycle_public(request.user, slug)
        projects = selectors.project_list(cycle=cycle, drafts=can_see_internal(request.user))
        return Response(ProjectOutput(projects, many=True, context={"request": request, "cycle": cycle}).data)

    @extend_schema(request=Input, responses={201: ProjectOutput})
    def post(self, request, slug):
        check_who(request.user, Action.PROJECT_EDIT)
        cycle = _cycle_staff(slug)
        payload = self.Input(data=request.data, context={"cycle": cycle})
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        project = services.project_create_from_ideas(
            actor=request.user,
            cycle=cycle,
            ideas=data["ideas"],
            district=data["district"],
            code=data["code"],
            cost=data["cost"],
            category=data.get("category"),
            address=data["address"],
            texts=_project_texts(data["texts"]),
            draft=data["draft"],
        )
        project = _project(request.user, project.pk)
        return Response(ProjectOutput(project, context={"request": request}).data, status=status.HTTP_201_CREATED)


class ProjectPublishView(APIView):
    """Publish draft projects of the cycle together: all of them or none (409 naming each project
    that cannot be published, e.g. one already published)."""

    class Input(InputSerializer):
        projects = serializers.ListField(
            child=serializers.IntegerField(min_value=1), allow_empty=False, help_text="Ids of the draft projects."
        )

        class Meta:
            ref_name = "ProjectPublishInput"

    @extend_schema(request=Input, responses=ProjectOutput(many=True))
    def post(self, request, slug):
        check_who(request.user, Action.PROJECT_EDIT)
        cycle = _cycle_staff(slug)
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        published = services.project_publish(
            actor=request.user, cycle=cycle, projects=payload.validated_data["projects"]
        )
        projects = [_project(request.user, p.pk) for p in published]
        return Response(ProjectOutput(projects, many=True, context={"request": request, "cycle": cycle}).data)


class ProjectDetailView(APIView):
    """One project (GET); staff change it until voting opens (PATCH; afterwards 409, the ballot is frozen)."""

    class Input(ProjectInput):
        class Meta:
            ref_name = "ProjectUpdateInput"

    @extend_schema(responses=ProjectOutput)
    def get(self, request, pk):
        project = _project(request.user, pk)
        return Response(ProjectOutput(project, context={"request": request}).data)

    @extend_schema(request=Input, responses=ProjectOutput)
    def patch(self, request, pk):
        check_who(request.user, Action.PROJECT_EDIT)
        project = _project(request.user, pk)
        payload = self.Input(data=request.data, partial=True, context={"cycle": project.cycle})
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        texts = {
            t.language: {"title": t.title, "summary": t.summary, "description": t.description}
            for t in project.texts.all()
        }
        for language, text in data.get("texts", {}).items():
            texts[language] = {**texts.get(language, {}), **text}
        services.project_update(
            actor=request.user,
            project=project,
            district=data.get("district", project.district),
            code=data.get("code", project.code),
            cost=data.get("cost", project.cost),
            category=data.get("category", project.category),
            address=data.get("address", project.address),
            texts=_project_texts(texts),
        )
        project = _project(request.user, pk)
        return Response(ProjectOutput(project, context={"request": request}).data)
