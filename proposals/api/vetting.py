"""API v1 for vetting (staff): the queue, reviews and their publication, and moderation."""

from django.contrib.auth import get_user_model
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_input import InputSerializer, check_no_input

from .. import selectors, services
from ..models import Idea, Review
from ..permissions import Action, check_who
from .common import AmountField, IdeaDetailOutput, ReasonInput, cycle_staff_or_404, idea_or_404


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


class HiddenOutput(serializers.Serializer):
    id = serializers.IntegerField()
    hidden_at = serializers.DateTimeField()
    hidden_reason = serializers.CharField()


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
        cycle = cycle_staff_or_404(slug)
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
        idea = idea_or_404(request.user, pk)
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        review = services.review_record(actor=request.user, idea=idea, **payload.validated_data)
        return Response(ReviewOutput(review).data)


class ReviewPublishView(APIView):
    """Make the recorded decision public: the idea's status and public reason change."""

    @extend_schema(request=None, responses=IdeaDetailOutput)
    def post(self, request, pk):
        check_who(request.user, Action.REVIEW)
        idea = idea_or_404(request.user, pk)
        check_no_input(request)
        services.review_publish(actor=request.user, idea=idea)
        idea = idea_or_404(request.user, pk)
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
        cycle = cycle_staff_or_404(slug)
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
        idea = idea_or_404(request.user, pk)
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        review = services.review_assign(actor=request.user, idea=idea, **payload.validated_data)
        return Response(ReviewOutput(review).data)


class IdeaHideView(APIView):
    """Moderators hide an idea, with a public reason."""

    @extend_schema(request=ReasonInput, responses=HiddenOutput)
    def post(self, request, pk):
        check_who(request.user, Action.MODERATE)
        idea = idea_or_404(request.user, pk)
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
