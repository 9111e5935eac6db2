"""Which uploaded files may be served, and to whom."""

from django.db.models import Q

from ..models import Idea, Project
from .ideas import idea_visible_to
from .projects import project_visible_to


def media_visible(*, name: str, user=None) -> bool:
    """Whether the uploaded file stored as ``name`` may be served to ``user``: only a file some idea,
    project or project update refers to, under the visibility of that object (a hidden or
    withdrawn idea's photo: its author and staff only). A name nothing refers to is not served."""
    if not name:
        return False
    idea = Idea.objects.select_related("cycle").filter(photo=name).first()
    if idea is not None:
        return idea_visible_to(idea, user)
    project = Project.objects.select_related("cycle").filter(Q(image=name) | Q(updates__photo=name)).distinct().first()
    return project is not None and project_visible_to(project, user)
