"""API v1 for the public results: every district's published result, one
district's, and participation from the voter roll. Reads only; a 404 problem (RFC 7807) for
everyone until the cycle allows ``Capability.VIEW_RESULTS`` (after certification), exactly like the
pages, so the API never shows a tally before it is certified."""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .selectors import results

NOT_PUBLISHED = OpenApiResponse(description="No such public cycle, or its results are not certified yet.")


def _number(value):
    """A vote total as a JSON number: an integer when whole (almost always), else a float."""
    return int(value) if value.denominator == 1 else round(float(value), 6)


class ProjectResultOutput(serializers.Serializer):
    code = serializers.CharField(help_text="The project's public code.")
    pb_id = serializers.CharField(help_text="The project's id in the tally and the .pb export.")
    title = serializers.CharField(help_text="In the request's language (else English).")
    cost = serializers.DecimalField(max_digits=14, decimal_places=2)
    votes = serializers.SerializerMethodField()
    funded = serializers.BooleanField()
    withdrawn = serializers.BooleanField(help_text="Withdrawn after certification (the tally re-ran without it).")
    why = serializers.CharField(help_text="Why it was not funded, in plain words (empty when funded).")

    @extend_schema_field(OpenApiTypes.NUMBER)  # approvals, points, or L − r for ranked ballots
    def get_votes(self, project) -> float:
        return _number(project.votes)


class RevisionOutput(serializers.Serializer):
    kind = serializers.CharField(help_text="“certified”, or “revised” after a funded project was withdrawn.")
    at = serializers.DateTimeField()
    rule = serializers.CharField()
    reason = serializers.CharField()
    withdrawn = serializers.ListField(child=serializers.CharField(), help_text="Codes of the projects withdrawn.")


class DistrictResultOutput(serializers.Serializer):
    district = serializers.CharField(source="district.code")
    name = serializers.CharField(source="district.name")
    kind = serializers.CharField(source="district.kind")
    currency = serializers.CharField()
    rule = serializers.ChoiceField(choices=list(results.RULE_LABELS))
    budget = serializers.DecimalField(max_digits=14, decimal_places=2)
    budget_used = serializers.DecimalField(source="used", max_digits=14, decimal_places=2)
    budget_left = serializers.DecimalField(source="left", max_digits=14, decimal_places=2)
    ballots = serializers.IntegerField(help_text="Ballots counted (voided ones left out).")
    selected = serializers.SerializerMethodField()
    input_hash = serializers.CharField(help_text="SHA-256 of the district's .pb export, the tally's input.")
    output_hash = serializers.CharField(help_text="SHA-256 of the tally's canonical output.")
    history = RevisionOutput(many=True, help_text="Certified first, then each revision.")
    projects = ProjectResultOutput(many=True, help_text="By votes (most first), then code.")

    @extend_schema_field(serializers.ListField(child=serializers.CharField(), help_text="Funded projects' codes."))
    def get_selected(self, result) -> list[str]:
        return [p.code for p in result.funded]


class CycleResultsOutput(serializers.Serializer):
    cycle = serializers.CharField(source="slug")
    currency = serializers.CharField()
    districts = serializers.SerializerMethodField()

    @extend_schema_field(DistrictResultOutput(many=True))
    def get_districts(self, cycle) -> list[dict]:
        return DistrictResultOutput(self.context["districts"], many=True).data


class GroupOutput(serializers.Serializer):
    key = serializers.CharField(help_text="District code, ISO date, channel, site or language code.")
    label = serializers.CharField()
    count = serializers.IntegerField()


class ParticipationOutput(serializers.Serializer):
    cycle = serializers.SerializerMethodField()
    total = serializers.IntegerField(help_text="Voter-roll entries: one per ballot cast in a district.")
    by_district = GroupOutput(many=True)
    by_day = GroupOutput(many=True)
    by_channel = GroupOutput(many=True)
    by_site = GroupOutput(many=True)
    by_language = GroupOutput(many=True)

    def get_cycle(self, data) -> str:
        return self.context["cycle"].slug


class CycleResultsView(APIView):
    """Every district's published result: funded projects, every project's votes, money used and
    left, why each project not funded was not, and the history of revisions."""

    @extend_schema(operation_id="cycle_results", responses={200: CycleResultsOutput, 404: NOT_PUBLISHED})
    def get(self, request, slug):
        cycle = results.published_cycle_or_404(slug)
        data = CycleResultsOutput(cycle, context={"districts": results.cycle_results(cycle)}).data
        return Response(data)


class DistrictResultsView(APIView):
    """One district's published result."""

    @extend_schema(operation_id="district_results", responses={200: DistrictResultOutput, 404: NOT_PUBLISHED})
    def get(self, request, slug, code):
        result = results.district_results(results.published_cycle_or_404(slug), code)
        if result is None:
            raise Http404
        return Response(DistrictResultOutput(result).data)


class ParticipationView(APIView):
    """Participation from the voter roll (counts only) by district, day, channel, site and language."""

    @extend_schema(operation_id="cycle_participation", responses={200: ParticipationOutput, 404: NOT_PUBLISHED})
    def get(self, request, slug):
        cycle = results.published_cycle_or_404(slug)
        return Response(ParticipationOutput(results.participation(cycle), context={"cycle": cycle}).data)
