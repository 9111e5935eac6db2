"""API v1 for ballot projects: anyone reads the published ones; staff build them from ideas,
publish drafts and change them until voting opens."""

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_input import InputSerializer

from .. import selectors, services
from ..permissions import Action, can_see_internal, check_who
from .common import AmountField, CategoryField, DistrictField, cycle_public_or_404, cycle_staff_or_404, project_or_404


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
        cycle = cycle_public_or_404(request.user, slug)
        projects = selectors.project_list(cycle=cycle, drafts=can_see_internal(request.user))
        return Response(ProjectOutput(projects, many=True, context={"request": request, "cycle": cycle}).data)

    @extend_schema(request=Input, responses={201: ProjectOutput})
    def post(self, request, slug):
        check_who(request.user, Action.PROJECT_EDIT)
        cycle = cycle_staff_or_404(slug)
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
        project = project_or_404(request.user, project.pk)
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
        cycle = cycle_staff_or_404(slug)
        payload = self.Input(data=request.data)
        payload.is_valid(raise_exception=True)
        published = services.project_publish(
            actor=request.user, cycle=cycle, projects=payload.validated_data["projects"]
        )
        projects = [project_or_404(request.user, p.pk) for p in published]
        return Response(ProjectOutput(projects, many=True, context={"request": request, "cycle": cycle}).data)


class ProjectDetailView(APIView):
    """One project (GET); staff change it until voting opens (PATCH; afterwards 409, the ballot is frozen)."""

    class Input(ProjectInput):
        class Meta:
            ref_name = "ProjectUpdateInput"

    @extend_schema(responses=ProjectOutput)
    def get(self, request, pk):
        project = project_or_404(request.user, pk)
        return Response(ProjectOutput(project, context={"request": request}).data)

    @extend_schema(request=Input, responses=ProjectOutput)
    def patch(self, request, pk):
        check_who(request.user, Action.PROJECT_EDIT)
        project = project_or_404(request.user, pk)
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
        project = project_or_404(request.user, pk)
        return Response(ProjectOutput(project, context={"request": request}).data)
