"""Which projects are funded, and who hears about them.

"Funded" is the published result (certified, or revised after a withdrawal) selecting the project,
which is not withdrawn. Published results belong to ``allocation``, which sits above this app, so this
module does not read them: ``pbplatform/wiring.py`` hands it allocation's answer at start-up
(``funded_source_set``), as it wires the phase machine.

The chain of a project: its followers, and for each idea it was made from, the idea's author, its
endorsers and its followers.
"""

from collections.abc import Callable

from django.contrib.auth import get_user_model

from budgets.models import Cycle

from ..models import Endorsement, Follow, Idea, Project, ProjectSource, ProjectUpdate

# The codes (``external_id`` or code) each district's published result selects, for one cycle:
# {district id: codes}. Set once at start-up by the wiring; see the module docstring.
FundedSource = Callable[[Cycle], dict[int, set[str]]]
_funded_source: list[FundedSource] = []


def funded_source_set(source: FundedSource) -> None:
    """Say where published results are read (the wiring, at start-up). Setting it again replaces it."""
    _funded_source[:] = [source]


def _funded_codes(cycle: Cycle) -> dict[int, set[str]]:
    if not _funded_source:
        raise RuntimeError("no source of published results: pbplatform.wiring sets it at start-up")
    return _funded_source[0](cycle)


def project_is_funded(project: Project) -> bool:
    """The district's published result selects the project, and it has not been withdrawn."""
    if project.withdrawn_at is not None:
        return False
    codes = _funded_codes(project.cycle).get(project.district_id, set())
    return (project.external_id or project.code) in codes


def funded_projects(cycle: Cycle) -> list[Project]:
    """The cycle's funded projects (as ``project_is_funded`` says, for every district at once), in
    district and code order: the ones an official can post updates on."""
    selected = _funded_codes(cycle)
    projects = Project.objects.filter(cycle=cycle, district_id__in=selected, withdrawn_at__isnull=True)
    return [
        p
        for p in projects.select_related("district").order_by("district__code", "code")
        if (p.external_id or p.code) in selected[p.district_id]
    ]


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
