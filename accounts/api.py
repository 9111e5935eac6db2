from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_input import InputSerializer, JSONParser

from . import services
from .roles import user_roles


class MeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    display_name = serializers.CharField()
    full_name = serializers.CharField(help_text="Private: only for finding one person on two channels.")
    language = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())


class MeView(APIView):
    """The logged-in account: who am I, and which roles do I have."""

    permission_classes = [IsAuthenticated]

    parser_classes = [JSONParser]

    class Input(InputSerializer):
        full_name = serializers.CharField(
            max_length=services.NAME_MAX, help_text="Your full name; asked before your first ballot."
        )

        class Meta:
            ref_name = "MeInput"

    @extend_schema(responses=MeOutput)
    def get(self, request):
        return Response(self._output(request.user))

    @extend_schema(request=Input, responses=MeOutput)
    def patch(self, request):
        """Give or correct the full name on the account (audited)."""
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        user = services.user_set_name(actor=request.user, user=request.user, name=payload.validated_data["full_name"])
        return Response(self._output(user))

    @staticmethod
    def _output(user) -> dict:
        data = {
            "id": user.pk,
            "email": user.email,
            "display_name": user.display_name,
            "full_name": user.full_name,
            "language": user.language,
            "roles": sorted(role.value for role in user_roles(user)),
        }
        return MeOutput(data).data
