"""API v1 for ballots: the public designs, casting a ballot, checking a receipt.

Thin views: each parses its input (an ``Input`` serializer), calls one service, and renders an
``Output`` serializer. Casting is its own view and goes through ``services.ballot_cast`` only: the
view says who is voting (an account with a verified email, never an auditor) and what the ballot
is; the service decides whether it counts. The receipt code is in exactly one response, the cast's
201, which must not be cached; checking a receipt is a POST so the code never sits in a URL or an
access log. Errors are the services' ``ApplicationError``s, rendered by core.api as RFC 7807 problems.
"""

from django.conf import settings
from django.http import Http404
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from budgets import selectors as budget_selectors
from budgets.models import Cycle, District
from core.api_input import InputSerializer, JSONParser
from core.errors import ValidationFailed
from proposals.permissions import can_see_internal

from . import crypto, matching, methods, selectors, services
from .models import AllocationRule, Channel
from .permissions import check_online_voter

MSG_ACCOUNT_NAME = _("Add your full name to your account before your first ballot (PATCH /api/v1/me/).")
MSG_CHOICES_OR_RANKS = _("Send either “choices” or “ranks”, not both.")
MSG_RANKS_NO_POINTS = _("Points go with “choices” on a cumulative ballot, not with “ranks”.")
MSG_TOO_MANY_RANKS = ngettext_lazy("Rank at most %(max)s project.", "Rank at most %(max)s projects.", "max")
MAX_ENTRIES = 200  # far above any ballot; a longer list is refused before it reaches the service


def _cycle(user, slug: str) -> Cycle:
    """The cycle as the user may see it: staff also see cycles that are not public yet."""
    cycle = (budget_selectors.cycle_get_staff if can_see_internal(user) else budget_selectors.cycle_get_public)(slug)
    if cycle is None:
        raise Http404
    return cycle


def _ballot_district(cycle: Cycle, code: str) -> District:
    district = selectors.ballot_district(cycle, code)
    if district is None:
        raise Http404
    return district


def _language(user) -> str:
    """The language the voter is using (the request's, set by LocaleMiddleware), for the roll."""
    language = (translation.get_language() or "").split("-")[0]
    return language if language in dict(settings.LANGUAGES) else user.language


# --- outputs ------------------------------------------------------------------------------------------
class BallotOutput(serializers.Serializer):
    """A district's ballot design. ``fingerprint`` is the SHA-256 of the cycle's frozen ballot
    designs, published when voting opens (null before)."""

    district = serializers.CharField(source="code", help_text="The district's code.")
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=District.Kind.choices)
    budget = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.SerializerMethodField()
    method = serializers.ChoiceField(choices=[m.value for m in methods.Method], source="ballot_design.method")
    min_picks = serializers.IntegerField(source="ballot_design.min_picks")
    max_picks = serializers.IntegerField(
        source="ballot_design.max_picks", allow_null=True, help_text="Ranked: how many to rank."
    )
    min_spend_percent = serializers.IntegerField(
        source="ballot_design.min_spend_percent", help_text="Knapsack: least share of the budget to spend."
    )
    points_total = serializers.IntegerField(
        source="ballot_design.points_total", allow_null=True, help_text="Cumulative: points to spread."
    )
    points_cap = serializers.IntegerField(
        source="ballot_design.points_cap", allow_null=True, help_text="Cumulative: most points per project."
    )
    allocation_rule = serializers.ChoiceField(choices=AllocationRule.choices, source="ballot_design.allocation_rule")
    intro = serializers.CharField(source="ballot_design.intro")
    intro_translations = serializers.DictField(
        child=serializers.CharField(),
        source="ballot_design.intro_translations",
        help_text="The introduction in the cycle's other languages, by language code; a language without "
        "one reads ``intro``.",
    )
    shuffle = serializers.BooleanField(
        source="ballot_design.shuffle", help_text="Show the projects in a random order for each voter."
    )
    fingerprint = serializers.SerializerMethodField()

    def get_currency(self, district) -> str:
        return self.context["cycle"].currency

    def get_fingerprint(self, district) -> str | None:
        return self.context["fingerprint"]


class BallotProjectTextOutput(serializers.Serializer):
    title = serializers.CharField()
    summary = serializers.CharField()
    description = serializers.CharField()


class BallotProjectOutput(serializers.Serializer):
    code = serializers.CharField()
    cost = serializers.DecimalField(max_digits=14, decimal_places=2)
    category = serializers.CharField(source="category.slug", allow_null=True)
    texts = serializers.SerializerMethodField()

    @extend_schema_field(serializers.DictField(child=BallotProjectTextOutput(), help_text="Texts by language code."))
    def get_texts(self, project) -> dict:
        return {t.language: BallotProjectTextOutput(t).data for t in project.texts.all()}


class BallotDetailOutput(BallotOutput):
    projects = serializers.SerializerMethodField()

    @extend_schema_field(BallotProjectOutput(many=True, help_text="In code order; clients shuffle if asked."))
    def get_projects(self, district) -> list[dict]:
        return BallotProjectOutput(self.context["projects"], many=True).data


class CastOutput(serializers.Serializer):
    receipt_code = serializers.CharField(help_text="Shown once: the voter keeps it to check the ballot is counted.")
    district = serializers.CharField()
    replaced = serializers.BooleanField(
        help_text="True when this ballot replaced the voter's earlier one (cycles that allow changing a ballot)."
    )


RECEIPT_STATUSES = ["counted", "pending", "replaced", "voided", "unknown"]  # services.receipt_check's answers


class ReceiptStatusOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=RECEIPT_STATUSES)


# --- views --------------------------------------------------------------------------------------------
class BallotListView(APIView):
    """A cycle's ballots: every district with a ballot design and projects (by kind, then code)."""

    @extend_schema(responses=BallotOutput(many=True))
    def get(self, request, slug):
        cycle = _cycle(request.user, slug)
        context = {"cycle": cycle, "fingerprint": selectors.ballot_fingerprint(cycle)}
        return Response(BallotOutput(selectors.ballot_districts(cycle), many=True, context=context).data)


class BallotDetailView(APIView):
    """One district's ballot with its projects in code order (clients shuffle when ``shuffle``)."""

    @extend_schema(responses=BallotDetailOutput)
    def get(self, request, slug, code):
        cycle = _cycle(request.user, slug)
        district = _ballot_district(cycle, code)
        _design, projects = selectors.ballot_for(district)
        context = {"cycle": cycle, "fingerprint": selectors.ballot_fingerprint(cycle), "projects": projects}
        return Response(BallotDetailOutput(district, context=context).data)


class BallotCastView(APIView):
    """Cast one whole ballot for one district (a resident with a verified email). 201 with the
    receipt code, shown only here; 409 if already voted or voting is paused or closed; 400 with
    every problem of the ballot; 403 if not eligible. Nothing is stored unless it is 201."""

    parser_classes = [JSONParser]

    class Input(InputSerializer):
        choices = serializers.ListField(
            child=serializers.CharField(max_length=32),
            required=False,
            max_length=MAX_ENTRIES,
            help_text="Project codes; for a ranked ballot, most preferred first.",
        )
        points = serializers.ListField(
            child=serializers.IntegerField(),
            required=False,
            allow_null=True,
            max_length=MAX_ENTRIES,
            help_text="Cumulative ballots only: points for each choice, in the same order.",
        )
        ranks = serializers.DictField(
            child=serializers.IntegerField(),
            required=False,
            help_text="Ranked ballots, instead of choices: project code → rank (1 = first choice).",
        )
        date_of_birth = serializers.DateField(help_text="YYYY-MM-DD; the cycle has a minimum age.")
        address = serializers.CharField(max_length=300, help_text="Where you live (attested).")
        attest = serializers.BooleanField(
            default=False, help_text="The voter confirms that the information given is true. Required to vote."
        )

        class Meta:
            ref_name = "BallotCastInput"

        def validate_ranks(self, ranks):
            if len(ranks) > MAX_ENTRIES:
                raise serializers.ValidationError(MSG_TOO_MANY_RANKS % {"max": MAX_ENTRIES})
            return ranks

        def validate(self, data):
            if "choices" in data and "ranks" in data:
                raise serializers.ValidationError({"ranks": [MSG_CHOICES_OR_RANKS]})
            if "ranks" in data and data.get("points") is not None:
                raise serializers.ValidationError({"points": [MSG_RANKS_NO_POINTS]})
            return data

    @extend_schema(
        request=Input,
        responses={
            201: CastOutput,
            400: OpenApiResponse(
                description="The ballot is not valid (errors.ballot lists why), or the account has no name yet "
                "(errors.name: give it with PATCH /api/v1/me/ first)."
            ),
            403: OpenApiResponse(description="Not logged in, email not verified, read-only, or not eligible."),
            409: OpenApiResponse(description="Already voted here, or voting is paused or closed."),
        },
    )
    def post(self, request, slug, code):
        check_online_voter(request.user)
        # The vote path stays lean: one query finds the ballot and its cycle, which the service uses.
        district = selectors.ballot_district_for_cast(slug, code)
        if district is None:
            raise Http404
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        user = request.user
        if not matching.name_normalize(user.full_name):
            raise ValidationFailed(MSG_ACCOUNT_NAME, extra={"name": [MSG_ACCOUNT_NAME]})
        voter = services.Voter(
            identity_key=crypto.identity_key("account", str(user.pk)),
            channel=Channel.ONLINE.value,
            verification="account",
            language=_language(user),
            date_of_birth=data["date_of_birth"],
            address=data["address"],
            name=user.full_name,
            email=user.email,
            notify_user=user,
        )
        # Ranks go to the service as they are: it orders them and reports gaps and repeats together
        # with the ballot's other problems, after the checks that come first (open, eligible).
        ranks = data.get("ranks")
        ballot = None
        if ranks is None:
            points = tuple(data["points"]) if data.get("points") is not None else None
            ballot = methods.Ballot(choices=tuple(data.get("choices", ())), points=points)
        result = services.ballot_cast(
            voter=voter, district=district, ballot=ballot, ranks=ranks, attested=data["attest"], district_read_now=True
        )
        response = Response(
            CastOutput(
                {"receipt_code": result.receipt_code, "district": district.code, "replaced": result.replaced}
            ).data,
            status=status.HTTP_201_CREATED,
        )
        add_never_cache_headers(response)  # the code is shown once; no cache keeps a copy
        return response


class ReceiptCheckView(APIView):
    """Is the ballot with this receipt code in the count? "counted", "voided" or "unknown" —
    nothing about its choices. A POST, so the code is never in a URL."""

    parser_classes = [JSONParser]

    class Input(InputSerializer):
        code = serializers.CharField(max_length=64, help_text="The receipt code, e.g. 7K2M-QX9D-…")

        class Meta:
            ref_name = "ReceiptCheckInput"

    @extend_schema(request=Input, responses=ReceiptStatusOutput)
    def post(self, request):
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        result = services.receipt_check(code=payload.validated_data["code"])
        response = Response(ReceiptStatusOutput({"status": result}).data)
        add_never_cache_headers(response)
        return response
