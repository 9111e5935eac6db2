"""Ideas, their review, and the ballot projects they become.

Idea (resident) → review (staff: feasibility, public reason, cost, department, internal notes) →
project (one or more ideas merged, or one idea split; links kept both ways) → ballot item → result.
"""

from django.conf import settings
from django.core.validators import MaxLengthValidator, MinValueValidator
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from .uploads import idea_photo_name, project_image_name, update_photo_name

TITLE_MAX = 150
DESCRIPTION_MAX = 5000
COMMENT_MAX = 2000
ADDRESS_MAX = 300
UPDATE_NOTE_MAX = 2000


class Category(models.Model):
    """Configured per cycle by officials."""

    cycle = models.ForeignKey("budgets.Cycle", on_delete=models.CASCADE, related_name="categories")
    slug = models.SlugField(max_length=60)
    name = models.CharField(_("name"), max_length=80)
    # Names in other languages: {"es": "Parques"}.
    translations = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["cycle_id", "name"]
        verbose_name_plural = "categories"
        constraints = [models.UniqueConstraint(fields=["cycle", "slug"], name="category_slug_unique_in_cycle")]

    def __str__(self):
        return self.localized_name

    @property
    def localized_name(self) -> str:
        language = (translation.get_language() or "en").split("-")[0]
        return self.translations.get(language) or self.name


class Idea(models.Model):
    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        UNDER_REVIEW = "under_review", _("Under review")
        NEEDS_INFO = "needs_info", _("Needs more information")
        FEASIBLE = "feasible", _("Feasible")
        NOT_FEASIBLE = "not_feasible", _("Not feasible")
        IN_PROJECT = "in_project", _("Became a project")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Source(models.TextChoices):
        ONLINE = "online", _("Online")
        PAPER = "paper", _("On paper or at a meeting")

    cycle = models.ForeignKey("budgets.Cycle", on_delete=models.PROTECT, related_name="ideas")
    district = models.ForeignKey("budgets.District", on_delete=models.PROTECT, related_name="ideas")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="ideas"
    )
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.ONLINE)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # For paper ideas without an account: who proposed it (personal data, erased at archive).
    proposer_name = models.CharField(_("proposer's name"), max_length=150, blank=True)
    proposer_contact = models.CharField(_("proposer's email or phone"), max_length=150, blank=True)
    title = models.CharField(_("title"), max_length=TITLE_MAX)
    description = models.TextField(_("description"), validators=[MaxLengthValidator(DESCRIPTION_MAX)])
    category = models.ForeignKey(Category, on_delete=models.SET_NULL, null=True, blank=True, related_name="ideas")
    address = models.CharField(_("address or place"), max_length=ADDRESS_MAX)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    cost_guess = models.DecimalField(
        _("rough cost guess"), max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="en")
    # A random name (uploads.py); indexed: the media view finds a file's idea by its name.
    photo = models.ImageField(_("photo"), upload_to=idea_photo_name, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUBMITTED)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("vet_ideas", "Can review ideas, build projects and moderate")]
        indexes = [
            models.Index(fields=["cycle", "district", "status"], name="idea_queue_idx"),
            models.Index(fields=["author", "created_at"], name="idea_author_recent_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(cost_guess__gte=0), name="idea_cost_guess_non_negative"),
            models.CheckConstraint(
                condition=models.Q(
                    status__in=[
                        "submitted",
                        "under_review",
                        "needs_info",
                        "feasible",
                        "not_feasible",
                        "in_project",
                        "withdrawn",
                    ]
                ),
                name="idea_status_valid",
            ),
            models.CheckConstraint(condition=models.Q(source__in=["online", "paper"]), name="idea_source_valid"),
            models.CheckConstraint(
                condition=models.Q(latitude__isnull=True) | models.Q(latitude__gte=-90, latitude__lte=90),
                name="idea_latitude_range",
            ),
            models.CheckConstraint(
                condition=models.Q(longitude__isnull=True) | models.Q(longitude__gte=-180, longitude__lte=180),
                name="idea_longitude_range",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class IdeaStatusChange(models.Model):
    """The public history of an idea (the audit log has who did it)."""

    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, choices=Idea.Status.choices)
    public_reason = models.TextField(blank=True)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["changed_at", "id"]


class Review(models.Model):
    """Staff's assessment of an idea. ``internal_notes`` are never shown to residents."""

    class Feasibility(models.TextChoices):
        PENDING = "", _("Not decided")
        FEASIBLE = "feasible", _("Feasible")
        NOT_FEASIBLE = "not_feasible", _("Not feasible")
        NEEDS_INFO = "needs_info", _("Needs more information")

    idea = models.OneToOneField(Idea, on_delete=models.CASCADE, related_name="review")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="reviews"
    )
    feasibility = models.CharField(max_length=16, choices=Feasibility.choices, blank=True, default="")
    public_reason = models.TextField(_("public reason"), blank=True, validators=[MaxLengthValidator(2000)])
    cost_estimate = models.DecimalField(
        _("cost estimate"), max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    department = models.CharField(_("responsible department"), max_length=120, blank=True)
    internal_notes = models.TextField(_("internal notes"), blank=True, validators=[MaxLengthValidator(5000)])
    published_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(cost_estimate__gte=0), name="review_cost_non_negative"),
            models.CheckConstraint(
                condition=~models.Q(feasibility="not_feasible") | ~models.Q(public_reason=""),
                name="review_not_feasible_needs_reason",
            ),
        ]


class ProjectQuerySet(models.QuerySet):
    def published(self):
        """Projects the public sees (and ballots, results and exports list): not drafts."""
        return self.filter(published_at__isnull=False)

    def drafts(self):
        return self.filter(published_at__isnull=True)


class Project(models.Model):
    """A costed ballot item, made from one or more ideas. Frozen once voting opens.

    A draft (``published_at`` empty) is seen by staff only: no public page, list, map, export,
    ballot or result shows it until staff publish it (``services.project_publish``)."""

    cycle = models.ForeignKey("budgets.Cycle", on_delete=models.PROTECT, related_name="projects")
    district = models.ForeignKey("budgets.District", on_delete=models.PROTECT, related_name="projects")
    code = models.CharField(_("public code"), max_length=32)
    # The id in an imported Pabulib file (kept as the project's id in exports and tallies).
    external_id = models.CharField(max_length=64, blank=True)
    # A funded project found impossible after certification (the tally re-runs without it).
    withdrawn_reason = models.TextField(blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    cost = models.DecimalField(_("cost"), max_digits=14, decimal_places=2, validators=[MinValueValidator(0)])
    category = models.ForeignKey(Category, on_delete=models.SET_NULL, null=True, blank=True, related_name="projects")
    address = models.CharField(_("address or place"), max_length=ADDRESS_MAX, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    image = models.ImageField(_("image"), upload_to=project_image_name, blank=True, db_index=True)
    ideas = models.ManyToManyField(Idea, through="ProjectSource", related_name="projects")
    # Empty while the project is a draft. Set unless a draft is asked for, so every other way in
    # (a Pabulib import, the demo) makes a public project as before.
    published_at = models.DateTimeField(_("published"), null=True, blank=True, default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["cycle_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "code"], name="project_code_unique_in_cycle"),
            models.CheckConstraint(condition=models.Q(cost__gte=0), name="project_cost_non_negative"),
        ]

    def __str__(self):
        return f"{self.code} {self.title}"

    @property
    def is_draft(self) -> bool:
        return self.published_at is None

    def text(self, language: str | None = None) -> "ProjectText | None":
        """The project's text in ``language`` (default: the active one; "zh-hans", then "zh"),
        else English."""
        language = (language or translation.get_language() or "en").lower()
        texts = {t.language: t for t in self.texts.all()}
        return (
            texts.get(language)
            or texts.get(language.split("-")[0])
            or texts.get("en")
            or next(iter(texts.values()), None)
        )

    @property
    def title(self) -> str:
        text = self.text()
        return text.title if text else self.code


class ProjectText(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="texts")
    language = models.CharField(max_length=8)
    title = models.CharField(_("title"), max_length=TITLE_MAX)
    summary = models.CharField(_("summary"), max_length=300)
    description = models.TextField(_("description"), validators=[MaxLengthValidator(DESCRIPTION_MAX)])

    class Meta:
        ordering = ["project_id", "language"]
        constraints = [models.UniqueConstraint(fields=["project", "language"], name="project_text_one_per_language")]


class ProjectSource(models.Model):
    """The link idea ↔ project, kept both ways (merge: several ideas, split: several projects)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sources")
    idea = models.ForeignKey(Idea, on_delete=models.PROTECT, related_name="project_links")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "idea"], name="project_source_unique")]


class Endorsement(models.Model):
    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="endorsements")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="endorsements")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["idea", "user"], name="endorsement_one_per_resident")]


class Comment(models.Model):
    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    body = models.TextField(_("comment"), validators=[MaxLengthValidator(COMMENT_MAX)])
    created_at = models.DateTimeField(auto_now_add=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class Follow(models.Model):
    """Followers get an idea's or project's updates (decisions, merges, results, implementation)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows")
    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, null=True, blank=True, related_name="follows")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, null=True, blank=True, related_name="follows")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(idea__isnull=False) & models.Q(project__isnull=True))
                | (models.Q(idea__isnull=True) & models.Q(project__isnull=False)),
                name="follow_exactly_one_target",
            ),
            models.UniqueConstraint(
                fields=["user", "idea"], condition=models.Q(idea__isnull=False), name="follow_idea_once"
            ),
            models.UniqueConstraint(
                fields=["user", "project"], condition=models.Q(project__isnull=False), name="follow_project_once"
            ),
        ]


class Report(models.Model):
    """Anyone can report an idea or a comment; staff decide whether to hide it."""

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, null=True, blank=True, related_name="reports")
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="reports")
    reason = models.TextField(_("what is wrong"), validators=[MaxLengthValidator(1000)])
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(idea__isnull=False) & models.Q(comment__isnull=True))
                | (models.Q(idea__isnull=True) & models.Q(comment__isnull=False)),
                name="report_exactly_one_target",
            ),
        ]


class ProjectUpdate(models.Model):
    """An official's public status update on a funded project (implementation tracking)."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    note = models.TextField(_("note"), validators=[MaxLengthValidator(UPDATE_NOTE_MAX)])
    photo = models.ImageField(_("photo"), upload_to=update_photo_name, blank=True, db_index=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["planned", "in_progress", "done"]), name="project_update_status_valid"
            ),
        ]

    def __str__(self):
        return f"{self.project_id}: {self.status}"
