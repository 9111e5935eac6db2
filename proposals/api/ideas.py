"""API v1 for ideas: anyone reads them; residents submit, change and withdraw their own, endorse,
comment, follow and report."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_input import InputSerializer, JSONParser, check_no_input

from .. import selectors, services
from ..models import Idea
from ..permissions import Action, check_who
from .common import (
    AmountField,
    CategoryField,
    CommentOutput,
    DistrictField,
    IdeaDetailOutput,
    IdeaOutput,
    ReasonInput,
    cycle_public_or_404,
    idea_or_404,
)


@extend_schema_field(OpenApiTypes.BINARY)
class PhotoField(serializers.FileField):
    """An uploaded image (multipart); the service checks and re-encodes it."""


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


class EndorsementOutput(serializers.Serializer):
    endorsed = serializers.BooleanField()
    endorsement_count = serializers.IntegerField()


class FollowOutput(serializers.Serializer):
    following = serializers.BooleanField()


class ReportOutput(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()


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
        cycle = cycle_public_or_404(request.user, slug)
        filters = IdeaListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        ideas = selectors.idea_list_public_with_projects(cycle=cycle, **filters.validated_data)
        page = self.paginate_queryset(ideas)
        return self.get_paginated_response(IdeaOutput(page, many=True, context={"request": request}).data)

    @extend_schema(request=IdeaInput, responses={201: IdeaDetailOutput})
    def post(self, request, slug):
        check_who(request.user, Action.IDEA_SUBMIT)
        cycle = cycle_public_or_404(request.user, slug)
        payload = IdeaInput(data=request.data, context={"cycle": cycle})
        payload.is_valid(raise_exception=True)
        idea = services.idea_submit(actor=request.user, cycle=cycle, data=_idea_data(payload.validated_data))
        idea = idea_or_404(request.user, idea.pk)
        return Response(IdeaDetailOutput(idea, context={"request": request}).data, status=status.HTTP_201_CREATED)


class IdeaDetailView(APIView):
    """One idea (GET); its author changes it (PUT: every field, PATCH: some) before review starts."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(responses=IdeaDetailOutput)
    def get(self, request, pk):
        idea = idea_or_404(request.user, pk)
        return Response(IdeaDetailOutput(idea, context={"request": request}).data)

    @extend_schema(request=IdeaInput, responses=IdeaDetailOutput)
    def put(self, request, pk):
        return self._edit(request, pk, partial=False)

    @extend_schema(request=IdeaInput, responses=IdeaDetailOutput)
    def patch(self, request, pk):
        return self._edit(request, pk, partial=True)

    def _edit(self, request, pk, *, partial: bool):
        idea = idea_or_404(request.user, pk)
        check_who(request.user, Action.IDEA_EDIT, idea)
        payload = IdeaInput(data=request.data, partial=partial, context={"cycle": idea.cycle})
        payload.is_valid(raise_exception=True)
        # PATCH changes the fields given; PUT replaces the idea (optional fields left out are cleared).
        data = _idea_data(payload.validated_data, idea if partial else None)
        services.idea_edit(actor=request.user, idea=idea, data=data)
        idea = idea_or_404(request.user, pk)
        return Response(IdeaDetailOutput(idea, context={"request": request}).data)


class IdeaWithdrawView(APIView):
    """The author withdraws their idea (only before review starts)."""

    class Input(InputSerializer):
        reason = serializers.CharField(required=False, allow_blank=True, default="", help_text="Optional.")

        class Meta:
            ref_name = "IdeaWithdrawInput"

    @extend_schema(request=Input, responses=IdeaDetailOutput)
    def post(self, request, pk):
        idea = idea_or_404(request.user, pk)
        check_who(request.user, Action.IDEA_WITHDRAW, idea)
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        services.idea_withdraw(actor=request.user, idea=idea, **payload.validated_data)
        idea = idea_or_404(request.user, pk)
        return Response(IdeaDetailOutput(idea, context={"request": request}).data)


class IdeaEndorsementView(APIView):
    """Endorse an idea (POST: 201, or 200 if already endorsed) or take the endorsement back (DELETE)."""

    @extend_schema(request=None, responses={201: EndorsementOutput, 200: EndorsementOutput})
    def post(self, request, pk):
        idea = idea_or_404(request.user, pk)
        check_who(request.user, Action.IDEA_ENDORSE)
        check_no_input(request)
        created = services.idea_endorse(actor=request.user, idea=idea)
        idea = idea_or_404(request.user, pk)
        return Response(
            EndorsementOutput({"endorsed": True, "endorsement_count": idea.endorsement_count}).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Not endorsed (any more).")})
    def delete(self, request, pk):
        idea = idea_or_404(request.user, pk)
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
        idea = idea_or_404(request.user, pk)
        check_who(request.user, Action.IDEA_COMMENT)
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        comment = services.comment_add(actor=request.user, idea=idea, **payload.validated_data)
        return Response(CommentOutput(comment).data, status=status.HTTP_201_CREATED)


class IdeaFollowView(APIView):
    """Follow an idea's updates (POST: 201, or 200 if already following) or stop (DELETE)."""

    @extend_schema(request=None, responses={201: FollowOutput, 200: FollowOutput})
    def post(self, request, pk):
        idea = idea_or_404(request.user, pk)
        check_who(request.user, Action.FOLLOW)
        check_no_input(request)
        changed = services.follow_set(actor=request.user, idea=idea, on=True)
        return Response(
            FollowOutput({"following": True}).data, status=status.HTTP_201_CREATED if changed else status.HTTP_200_OK
        )

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Not following (any more).")})
    def delete(self, request, pk):
        idea = idea_or_404(request.user, pk)
        check_who(request.user, Action.FOLLOW)
        check_no_input(request)
        services.follow_set(actor=request.user, idea=idea, on=False)
        return Response(status=status.HTTP_204_NO_CONTENT)


class IdeaReportView(APIView):
    """Report an idea to the moderators."""

    @extend_schema(request=ReasonInput, responses={201: ReportOutput})
    def post(self, request, pk):
        idea = idea_or_404(request.user, pk)
        check_who(request.user, Action.REPORT)
        payload = ReasonInput(data=request.data)
        payload.is_valid(raise_exception=True)
        report = services.content_report(actor=request.user, idea=idea, **payload.validated_data)
        return Response(ReportOutput(report).data, status=status.HTTP_201_CREATED)
