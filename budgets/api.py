"""API v1 for cycles, districts and phases. Reads are viewsets; each state change is its own view."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from core import times
from core.api_input import InputSerializer

from . import permissions, selectors, services
from .models import Cycle, District
from .phases import CAPABILITIES, PHASE_ORDER, RESIDENT_GUIDANCE, SCHEDULE_FIELDS, TRANSITIONS, Phase


class DistrictOutput(serializers.ModelSerializer):
    class Meta:
        model = District
        fields = ["code", "name", "kind", "budget"]


class CycleClockField(serializers.DateTimeField):
    """A moment on the cycle's clock: ISO 8601 with the cycle's UTC offset (context ``time_zone``)."""

    def to_representation(self, value):
        zone = self.context.get("time_zone")
        if value is None or not zone:
            return super().to_representation(value)
        return times.local(value, zone).isoformat()


class TimelineOutput(serializers.Serializer):
    phase = serializers.CharField()
    scheduled_at = CycleClockField(allow_null=True)
    entered_at = CycleClockField(allow_null=True)
    state = serializers.ChoiceField(choices=["past", "current", "future"])


class CycleOutput(serializers.ModelSerializer):
    districts = DistrictOutput(many=True, read_only=True)
    capabilities = serializers.SerializerMethodField()
    voting_paused = serializers.SerializerMethodField()
    time_zone_name = serializers.SerializerMethodField(help_text="The time zone in words, in the request's language.")

    class Meta:
        model = Cycle
        fields = [
            "slug",
            "name",
            "description",
            "phase",
            "time_zone",
            "time_zone_name",
            "currency",
            "ideas_open_at",
            "vetting_open_at",
            "voting_open_at",
            "voting_close_at",
            "voting_paused",
            "capabilities",
            "districts",
        ]

    def get_capabilities(self, cycle) -> list[str]:
        return sorted(c.value for c in CAPABILITIES[Phase(cycle.phase)] if cycle.allows(c))

    def get_voting_paused(self, cycle) -> bool:
        return cycle.is_paused

    def get_time_zone_name(self, cycle) -> str:
        return times.zone_name(cycle)

    def to_representation(self, cycle):
        """The schedule on the cycle's clock (ISO 8601 with its offset): the same moments, read
        the way the cycle's residents read them."""
        data = super().to_representation(cycle)
        for field in SCHEDULE_FIELDS:
            if getattr(cycle, field):
                data[field] = times.local(getattr(cycle, field), cycle).isoformat()
        return data


class CycleDetailOutput(CycleOutput):
    timeline = serializers.SerializerMethodField()

    class Meta(CycleOutput.Meta):
        fields = [*CycleOutput.Meta.fields, "timeline"]

    @extend_schema_field(TimelineOutput(many=True))
    def get_timeline(self, cycle) -> list[dict]:
        return TimelineOutput(selectors.cycle_timeline(cycle), many=True, context={"time_zone": cycle.time_zone}).data


def _visible_cycles(user):
    if permissions.can(user, permissions.Action.STAFF_AREA):
        return selectors.cycle_list_staff()
    return selectors.cycle_list_public()


class CycleViewSet(viewsets.ReadOnlyModelViewSet):
    """Budget cycles. Anyone sees public cycles; staff also see drafts."""

    lookup_field = "slug"

    def get_queryset(self):
        return _visible_cycles(self.request.user)

    def get_serializer_class(self):
        return CycleDetailOutput if self.action == "retrieve" else CycleOutput


class DistrictViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DistrictOutput
    lookup_field = "code"
    pagination_class = None

    def get_queryset(self):
        cycle = get_object_or_404(_visible_cycles(self.request.user), slug=self.kwargs["cycle_slug"])
        return cycle.districts.order_by("kind", "code")


class PhaseOutput(serializers.Serializer):
    phase = serializers.CharField()
    label = serializers.CharField()
    capabilities = serializers.ListField(child=serializers.CharField())
    next = serializers.ListField(child=serializers.CharField())
    guidance = serializers.CharField()


class PhaseListView(APIView):
    """The phase vocabulary: what each phase allows and where it can go."""

    @extend_schema(responses=PhaseOutput(many=True))
    def get(self, request):
        data = [
            {
                "phase": p.value,
                "label": str(p.label),
                "capabilities": sorted(c.value for c in CAPABILITIES[p]),
                "next": [t.target.value for t in TRANSITIONS.values() if t.source == p and t.generic],
                "guidance": str(RESIDENT_GUIDANCE[p]),
            }
            for p in PHASE_ORDER
        ]
        return Response(PhaseOutput(data, many=True).data)


class CycleTransitionView(APIView):
    """Move a cycle to its next phase (officials with MFA). 409 when the move is not allowed now."""

    class Input(InputSerializer):
        target = serializers.ChoiceField(choices=Phase.choices)
        reason = serializers.CharField(max_length=2000)

    @extend_schema(request=Input, responses={200: CycleDetailOutput})
    def post(self, request, slug):
        permissions.check_who(request.user, permissions.Action.CYCLE_TRANSITION)
        cycle = get_object_or_404(selectors.cycle_list_staff(), slug=slug)
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        services.cycle_transition(actor=request.user, cycle=cycle, **payload.validated_data)
        cycle = selectors.cycle_get_staff(slug)
        return Response(CycleDetailOutput(cycle).data, status=status.HTTP_200_OK)
