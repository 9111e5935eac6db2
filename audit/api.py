"""API v1 for audit: auditor bundles (request, follow, download), receipt look-ups, voiding a ballot,
and the public record of a certified cycle.

Thin views: parse an ``Input``, call one service, render an ``Output``. Who may do what is the
services' (and ``audit.permissions``') answer, the same as for the HTML pages; refusals are
``ApplicationError``s that core.api renders as RFC 7807 problems (and audits when 401/403).
"""

from django.http import Http404
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from budgets import selectors as cycle_selectors
from budgets.models import Cycle
from core.api_input import InputSerializer, JSONParser, check_no_input

from . import permissions, selectors, services
from .models import Bundle
from .views import bundle_file_response

_staff_cycle = cycle_selectors.cycle_get_staff_or_404


class BundleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    cycle = serializers.CharField(source="cycle.slug")
    variant = serializers.ChoiceField(choices=Bundle.Variant.choices)
    status = serializers.ChoiceField(choices=Bundle.Status.choices)
    progress = serializers.IntegerField(help_text="Percent done while the bundle is built.")
    stage = serializers.CharField(help_text="The file being written.")
    ballots = serializers.IntegerField(allow_null=True)
    size = serializers.IntegerField(allow_null=True, help_text="Bytes of the zip.")
    sha256 = serializers.CharField(help_text="SHA-256 of the zip, once ready.")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    download = serializers.SerializerMethodField()

    def get_download(self, bundle) -> str | None:
        if bundle.status != Bundle.Status.READY:
            return None
        if bundle.variant == Bundle.Variant.AUDITOR:
            return reverse("api-audit-bundle-download", args=[bundle.pk])
        return reverse("api-public-record-download", args=[bundle.cycle.slug, bundle.pk])


class BundleListView(APIView):
    """A cycle's auditor bundles (GET), or ask for a new one (POST: 202, built by a task; follow
    ``GET /audit/bundles/{id}/``). Auditors and officials with MFA."""

    @extend_schema(responses=BundleOutput(many=True))
    def get(self, request, slug):
        cycle = _staff_cycle(slug)
        permissions.check_auditor(request.user)
        bundles = selectors.bundles_for(cycle, variant=Bundle.Variant.AUDITOR)[:50]
        return Response(BundleOutput(bundles, many=True).data)

    @extend_schema(request=None, responses={202: BundleOutput})
    def post(self, request, slug):
        cycle = _staff_cycle(slug)
        permissions.check_auditor(request.user)  # before the body is looked at, as in the service
        check_no_input(request)
        bundle = services.bundle_request(actor=request.user, cycle=cycle)
        bundle.refresh_from_db()
        return Response(BundleOutput(bundle).data, status=status.HTTP_202_ACCEPTED)


class BundleDetailView(APIView):
    """One auditor bundle: its status and progress, and its download link once ready."""

    @extend_schema(responses=BundleOutput)
    def get(self, request, pk):
        permissions.check_auditor(request.user)
        bundle = selectors.bundle_get(pk)
        if bundle is None or bundle.variant != Bundle.Variant.AUDITOR:
            raise Http404
        response = Response(BundleOutput(bundle).data)
        add_never_cache_headers(response)
        return response


class BundleDownloadView(APIView):
    """The auditor bundle's zip. Every download is an audit event."""

    @extend_schema(responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request, pk):
        bundle = selectors.bundle_get(pk)
        if bundle is None or bundle.variant != Bundle.Variant.AUDITOR:
            permissions.check_auditor(request.user)
            raise Http404
        return bundle_file_response(services.bundle_download(actor=request.user, bundle=bundle), bundle)


class ReceiptLookupOutput(serializers.Serializer):
    found = serializers.BooleanField()
    ballot_id = serializers.CharField(allow_null=True, help_text="The row's ballot_id in ballots.csv.")
    district = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["counted", "pending", "replaced", "voided"], allow_null=True)


class ReceiptLookupView(APIView):
    """Which ballots.csv row a voter's receipt code belongs to (auditors and officials with MFA;
    audited without the code). A POST, so the code never sits in a URL."""

    parser_classes = [JSONParser]

    class Input(InputSerializer):
        code = serializers.CharField(max_length=64)

        class Meta:
            ref_name = "ReceiptLookupInput"

    @extend_schema(request=Input, responses=ReceiptLookupOutput)
    def post(self, request, slug):
        cycle = _staff_cycle(slug)
        permissions.check_auditor(request.user)
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        found = services.receipt_lookup(actor=request.user, cycle=cycle, code=payload.validated_data["code"])
        data = {"found": found is not None, "ballot_id": None, "district": None, "status": None}
        if found is not None:
            data.update(ballot_id=found.ballot_id, district=found.district, status=found.status)
        response = Response(ReceiptLookupOutput(data).data)
        add_never_cache_headers(response)
        return response


class BallotVoidOutput(serializers.Serializer):
    ballot_id = serializers.CharField()
    district = serializers.CharField()
    reason = serializers.CharField()


class BallotVoidView(APIView):
    """Void one ballot with a reason (officials with MFA, during counting). 201; 409 if already
    void, pending provisional review, or not counting; 404 if no such ballot in this cycle."""

    parser_classes = [JSONParser]

    class Input(InputSerializer):
        district = serializers.CharField(max_length=64)
        ballot_id = serializers.CharField(max_length=200, help_text="As in ballots.csv.")
        reason = serializers.CharField(max_length=2000, allow_blank=True)

        class Meta:
            ref_name = "BallotVoidInput"

    @extend_schema(request=Input, responses={201: BallotVoidOutput})
    def post(self, request, slug):
        cycle = _staff_cycle(slug)
        permissions.check_voider(request.user)
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        ballot = services.ballot_find(cycle=cycle, district_code=data["district"], ballot_id=data["ballot_id"])
        if ballot is None:
            raise Http404
        services.ballot_void(actor=request.user, ballot_id=ballot.pk, reason=data["reason"])
        return Response(
            BallotVoidOutput(
                {"ballot_id": data["ballot_id"], "district": data["district"], "reason": data["reason"].strip()}
            ).data,
            status=status.HTTP_201_CREATED,
        )


def _public_cycle(slug: str) -> Cycle:
    cycle = cycle_selectors.cycle_get_public_or_404(slug)
    permissions.check_public_record(cycle)
    return cycle


class PublicRecordView(APIView):
    """The public record of a certified cycle: its status, and its download link once built (a
    first request starts the build). 409 before certification."""

    @extend_schema(responses=BundleOutput)
    def get(self, request, slug):
        bundle = services.public_record_get(cycle=_public_cycle(slug))
        bundle.refresh_from_db()
        return Response(BundleOutput(bundle).data)


class PublicRecordDownloadView(APIView):
    """The public record's zip."""

    @extend_schema(responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request, slug, pk):
        cycle = _public_cycle(slug)
        bundle = (
            Bundle.objects.filter(pk=pk, cycle=cycle, variant=Bundle.Variant.PUBLIC).select_related("cycle").first()
        )
        if bundle is None:
            raise Http404
        return bundle_file_response(services.bundle_download(actor=request.user, bundle=bundle), bundle)
