"""Which projects are funded, and who hears about them.

"Funded" is the published result (the district's newest ``DistrictResult``, certified or revised
after a withdrawal) selecting the project, which is not withdrawn.

The chain of a project: its followers, and for each idea it was made from, the idea's author, its
endorsers and its followers.
"""

import json

from django.contrib.auth import get_user_model

from budgets.models import Cycle, DistrictResult

from ..models import Endorsement, Follow, Idea, Project, ProjectSource, ProjectUpdate


def project_is_funded(project: Project) -> bool:
    """The district's published result (its newest ``DistrictResult``) selects the project, and it
    has not been withdrawn."""
    if project.withdrawn_at is not None:
        return False
    result = (
        DistrictResult.objects.filter(district_id=project.district_id)
        .select_related("run")
        .order_by("-created_at", "-id")
        .first()
    )
    if result is None:
        return False
    return (project.external_id or project.code) in _selected(result)


def funded_projects(cycle: Cycle) -> list[Project]:
    """The cycle's funded projects (as ``project_is_funded`` says, for every district at once), in
    district and code order: the ones an official can post updates on. Two queries."""
    selected: dict[int, set[str]] = {}
    for result in (
        DistrictResult.objects.filter(district__cycle=cycle)
        .select_related("run")
        .order_by("district_id", "-created_at", "-id")
    ):
        # The newest row per district is its published result.
        selected.setdefault(result.district_id, _selected(result))
    projects = Project.objects.filter(cycle=cycle, district_id__in=selected, withdrawn_at__isnull=True)
    return [
        p
        for p in projects.select_related("district").order_by("district__code", "code")
        if (p.external_id or p.code) in selected[p.district_id]
    ]


def _selected(result: DistrictResult) -> set[str]:
    """The project ids (``external_id`` or code) a published result funds."""
    return set(json.loads(result.run.output).get("selected", []))


def project_chain_people(project: Project) -> list:
    """Everyone who proposed, endorsed or follows an idea the project was made from, or follows
    the project: active accounts, each once, in id order."""
    idea_ids = list(ProjectSource.objects.filter(project=project).values_list("idea_id", flat=True))
    ids = set(Follow.objects.filter(project=project).values_list("user_id", flat=True))
    ids |= set(Follow.objects.filter(idea_id__in=idea_ids).values_list("user_id", flat=True))
    ids |= set(Endorsement.objects.filter(idea_id__in=idea_ids).values_list("user_id", flat=True))
    ids |= set(Idea.objects.filter(pk__in=idea_ids, author__isnull=False).values_list("author_id", flat=True))
    return list(get_user_model().objects.filter(pk__in=ids, is_active=True).order_by("pk"))


def project_updates(project: Project):
    """The project's updates, newest first (the public list)."""
    return ProjectUpdate.objects.filter(project=project).order_by("-created_at", "-id")
