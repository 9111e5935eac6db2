"""Reads of the proposals app, one module per subject: ``ideas`` (ideas, comments, follows,
reports), ``projects`` (ballot projects, categories), ``vetting`` (the staff's queue and decisions),
``implementation`` (funded projects and who hears about them) and ``media`` (which uploads may be
served).

Lists run a constant number of queries whatever their length: counts are annotations and related
rows come through select_related/prefetch_related. Public reads never include hidden or withdrawn
ideas (except an author's own), and never touch internal notes.

This package names the public interface, so callers write ``selectors.idea_list_public(...)``. The
modules import each other directly, never through this package.
"""

from .ideas import (
    SORTS,
    comment_get,
    comment_get_public,
    has_endorsed,
    idea_get_public,
    idea_list_public,
    idea_list_public_with_projects,
    idea_public_review,
    idea_visible_to,
    ideas_of_user,
    is_following,
    report_list_open,
)
from .implementation import funded_projects, project_chain_people, project_is_funded, project_updates
from .media import media_visible
from .projects import (
    CostGuess,
    ProjectSuggestion,
    category_list,
    project_get,
    project_list,
    project_suggestion,
    project_text_for,
    project_visible_to,
)
from .vetting import decisions_to_publish, idea_get_staff, vetting_queue, vetting_staff_list

__all__ = [
    "CostGuess",
    "ProjectSuggestion",
    "SORTS",
    "category_list",
    "comment_get",
    "comment_get_public",
    "decisions_to_publish",
    "funded_projects",
    "has_endorsed",
    "idea_get_public",
    "idea_get_staff",
    "idea_list_public",
    "idea_list_public_with_projects",
    "idea_public_review",
    "idea_visible_to",
    "ideas_of_user",
    "is_following",
    "media_visible",
    "project_chain_people",
    "project_get",
    "project_is_funded",
    "project_list",
    "project_suggestion",
    "project_text_for",
    "project_updates",
    "project_visible_to",
    "report_list_open",
    "vetting_queue",
    "vetting_staff_list",
]
