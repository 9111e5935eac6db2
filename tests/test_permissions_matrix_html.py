"""The permissions matrix of the HTML pages of ideas, vetting and projects (the API has its own in
proposals/tests/test_api.py; the officials' cycle pages are tested in budgets/tests/test_views.py).

For every (action, role): the exact answer (a page, a redirect to where the action leads, a redirect
to log in, a 403 page with the refusal's message), that a refusal changes no row, leaves the audit
log's chain as it was and writes exactly one line to the security log, and that an allowed request
logs no refusal. Then: what each role's
pages never show (internal notes, other people's email addresses, a paper proposer's contact,
hidden and withdrawn ideas), and that nobody can change a project once voting has opened.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib import messages
from django.contrib.messages import get_messages
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from budgets.models import Cycle
from budgets.phases import Phase
from budgets.services import cycle_transition
from core.errors import GuardFailed
from core.models import AuditEvent, Notification
from proposals import permissions, services
from proposals.models import (
    Category,
    Comment,
    Endorsement,
    Follow,
    Idea,
    IdeaStatusChange,
    Project,
    ProjectSource,
    ProjectText,
    Report,
    Review,
)
from proposals.tests.builders import idea_input, make_project, move, submit
from tests.factories import CycleFactory, user_with_role

pytestmark = pytest.mark.django_db

# The roles, plus an official who has not set up TOTP yet: refused by the staff pages, but like any
# resident on residents' pages (which need no second factor).
ROLES = ("anonymous", "author", "other_resident", "vetting_staff", "official", "auditor", "official_no_totp")
RESIDENTS = ("author", "other_resident", "vetting_staff", "official", "official_no_totp")  # staff are residents too
STAFF = ("vetting_staff", "official")

SECRET = "SECRET-NOTE-123"
PAPER_CONTACT = "paper-proposer@example.org"

# Every table a page of ideas, vetting or projects could write. AuditEvent is checked on its own (a
# refusal leaves the chain unchanged; an allowed action appends to it).
SNAPSHOT_MODELS = (
    Idea,
    IdeaStatusChange,
    Review,
    Project,
    ProjectSource,
    ProjectText,
    Endorsement,
    Comment,
    Follow,
    Report,
    Category,
    Notification,
)


def snapshot() -> dict[str, list[dict]]:
    """Every row (every column) of the tables above."""
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in SNAPSHOT_MODELS}


def audit_ids() -> list[int]:
    return list(AuditEvent.objects.order_by("pk").values_list("pk", flat=True))


def login_url(path: str) -> str:
    return f"{reverse('account_login')}?next={path}"


def flashed(response) -> list[tuple[int, str]]:
    return [(m.level, str(m)) for m in get_messages(response.wsgi_request)]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def users(resident, vetting_staff, official, auditor, official_without_mfa):
    """The roles; staff and auditors have TOTP (conftest) but one official, everyone a verified email."""
    return {
        "anonymous": None,
        "author": resident,
        "other_resident": user_with_role("resident"),
        "vetting_staff": vetting_staff,
        "official": official,
        "auditor": auditor,
        "official_no_totp": official_without_mfa,
    }


# --- form data: the real field names of proposals/forms/*.py -------------------------------------------
def idea_post(cycle, **overrides) -> dict:
    """IdeaForm."""
    return {
        "title": "Benches on Grove Street",
        "description": "Six benches between the PATH station and the library.",
        "district": str(cycle.districts.get(code="A").pk),
        "category": "",
        "address": "Grove St, Jersey City",
        "latitude": "",
        "longitude": "",
        "cost_guess": "12000",
        "language": "en",
    } | overrides


def paper_post(cycle) -> dict:
    """PaperIdeaForm."""
    return idea_post(cycle, title="Bike racks", proposer_name="Ana Pérez", proposer_contact="ana@example.org")


def project_post(cycle, ideas=None, **overrides) -> dict:
    """ProjectForm (``ideas`` only when creating) and one ProjectTextForm per language."""
    data = {
        "code": "A-02",
        "district": str(cycle.districts.get(code="A").pk),
        "cost": "15000",
        "category": "",
        "address": "Van Vorst Park",
        "text-en-title": "Bike racks",
        "text-en-summary": "Racks for forty bikes.",
        "text-en-description": "Near the PATH station.",
        "text-es-title": "Aparcabicicletas",
        "text-es-summary": "Para cuarenta bicicletas.",
        "text-es-description": "Cerca de la estación PATH.",
    }
    if ideas is not None:
        data["ideas"] = [str(i.pk) for i in ideas]
    return data | overrides


# --- the world each cell starts from -------------------------------------------------------------------
class World:
    """A cycle collecting ideas with the author's idea and another resident's idea; for the vetting
    actions, moved on to vetting with three more of the author's ideas: the one under test gets a
    recorded (unpublished) review with internal notes and a report, one is free for a new project
    and one is already a project."""

    def __init__(self, users, *, vetting: bool):
        self.users = users
        self.author = users["author"]
        self.cycle = CycleFactory(ideas=True, wards="AB")
        self.idea = submit(self.cycle, self.author)
        self.others_idea = submit(self.cycle, users["other_resident"], title="Street trees on Newark Avenue")
        self.target = self.idea  # the idea an action is about, when it depends on the role
        if vetting:
            self.free_idea = submit(self.cycle, self.author, title="Bike racks at the library")
            in_project = submit(self.cycle, self.author, title="Fountain at Hamilton Park")
            self.report = services.content_report(actor=users["other_resident"], idea=self.idea, reason="Spam?")
            move(self.cycle, users["official"], "vetting")
            staff = users["vetting_staff"]
            services.review_record(
                actor=staff, idea=self.idea, feasibility="feasible", public_reason="Doable.", internal_notes=SECRET
            )
            self.project = make_project(self.cycle, staff, [in_project])
            self.draft = make_project(self.cycle, staff, [in_project], code="A-09", draft=True)  # a split

    @property
    def slug(self) -> str:
        return self.cycle.slug


# --- what to expect -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    # "ok" | "unchanged" (allowed; a message says why nothing changed) | refusals: "login" (anonymous),
    # "mfa" (staff without TOTP: sent to set it up), "forbidden" (the 403 page with ``message``)
    kind: str
    message: str = ""


OK = Outcome("ok")
LOGIN = Outcome("login")
MFA = Outcome("mfa", str(permissions.MSG_MFA_REQUIRED))
REFUSALS = ("login", "mfa", "forbidden")


def forbidden(message) -> Outcome:
    return Outcome("forbidden", str(message))


def unchanged(message) -> Outcome:
    return Outcome("unchanged", str(message))


def everyone() -> dict[str, Outcome]:
    return dict.fromkeys(ROLES, OK)


def signed_in() -> dict[str, Outcome]:
    return everyone() | {"anonymous": LOGIN}


def resident_action(allowed=RESIDENTS, refusal=permissions.MSG_NOT_YOURS, **special) -> dict[str, Outcome]:
    """A resident's action: log in first; auditors are read-only."""
    outcomes = {role: OK if role in allowed else forbidden(refusal) for role in RESIDENTS}
    return {"anonymous": LOGIN, **outcomes, "auditor": forbidden(permissions.MSG_AUDITOR_READ_ONLY), **special}


def staff_action(allowed=STAFF) -> dict[str, Outcome]:
    """The vetting workspace: vetting staff and officials (with TOTP) only."""
    outcomes = {role: OK if role in allowed else forbidden(permissions.MSG_ROLE_REQUIRED) for role in ROLES}
    return outcomes | {"anonymous": LOGIN, "official_no_totp": MFA}


@dataclass(frozen=True)
class Act:
    vetting: bool  # which World
    method: str
    url: Callable  # (world, user) -> path; may set world.target
    outcomes: dict[str, Outcome]
    data: Callable | None = None  # (world, user) -> POST data
    done: Callable | None = None  # (world) -> where an allowed POST leads (evaluated after it)


def _idea_url(name, anchor=""):
    return lambda world: reverse(name, args=[world.target.pk]) + anchor


def _latest(model):
    return model.objects.order_by("-pk").first()


def _own_idea(world, user):
    """The user's own idea; anonymous and auditors (who cannot have one) aim at the author's."""
    if user is not None and user not in (world.author, world.users["auditor"]):
        world.target = submit(world.cycle, user, title="My own idea")
    return reverse("idea_edit", args=[world.target.pk])


def _others_idea(world, user):
    world.target = world.others_idea if user == world.author else world.idea
    return reverse("idea_edit", args=[world.target.pk])


def _cat_url(world, user):
    return reverse("vetting_category_list", args=[world.slug])


ACTIONS: dict[str, Act] = {
    # --- residents' pages (a cycle collecting ideas) ---
    "view_idea_list": Act(False, "get", lambda w, u: reverse("idea_list", args=[w.slug]), everyone()),
    "view_idea": Act(False, "get", lambda w, u: reverse("idea_detail", args=[w.idea.pk]), everyone()),
    "view_project_list": Act(True, "get", lambda w, u: reverse("project_list", args=[w.slug]), everyone()),
    "view_project": Act(True, "get", lambda w, u: reverse("project_detail", args=[w.project.pk]), everyone()),
    "view_my_ideas": Act(False, "get", lambda w, u: reverse("my_ideas"), signed_in()),
    "view_submit_form": Act(False, "get", lambda w, u: reverse("idea_submit", args=[w.slug]), resident_action()),
    "submit_idea": Act(
        False,
        "post",
        lambda w, u: reverse("idea_submit", args=[w.slug]),
        resident_action(),
        data=lambda w, u: idea_post(w.cycle),
        done=lambda w: reverse("idea_detail", args=[_latest(Idea).pk]),
    ),
    "edit_own_idea": Act(
        False,
        "post",
        _own_idea,
        resident_action(),
        data=lambda w, u: idea_post(w.cycle, title="Edited title"),
        done=_idea_url("idea_detail"),
    ),
    "edit_others_idea": Act(
        False, "post", _others_idea, resident_action(allowed=()), data=lambda w, u: idea_post(w.cycle, title="Mine")
    ),
    "withdraw": Act(
        False,
        "post",
        lambda w, u: reverse("idea_withdraw", args=[w.idea.pk]),
        resident_action(allowed=("author",)),
        data=lambda w, u: {"reason": "Someone else proposed it first."},
        done=_idea_url("idea_detail"),
    ),
    "endorse": Act(
        False,
        "post",
        lambda w, u: reverse("idea_endorse", args=[w.idea.pk]),
        resident_action(author=unchanged(services.MSG_OWN_IDEA)),
        data=lambda w, u: {"action": "endorse"},
        done=_idea_url("idea_detail", "#support"),
    ),
    "comment": Act(
        False,
        "post",
        lambda w, u: reverse("idea_comment", args=[w.idea.pk]),
        resident_action(),
        data=lambda w, u: {"body": "I walk past there every day: yes please."},
        done=lambda w: reverse("idea_detail", args=[w.idea.pk]) + f"#comment-{_latest(Comment).pk}",
    ),
    "report": Act(
        False,
        "post",
        lambda w, u: reverse("idea_report", args=[w.idea.pk]),
        resident_action(),
        data=lambda w, u: {"reason": "This is an advertisement."},
        done=_idea_url("idea_detail"),
    ),
    "follow": Act(
        False,
        "post",
        lambda w, u: reverse("idea_follow", args=[w.idea.pk]),
        # The author follows their idea from the moment they submit it.
        resident_action(author=unchanged("You follow this idea: we will tell you about its progress.")),
        data=lambda w, u: {"action": "follow"},
        done=_idea_url("idea_detail", "#support"),
    ),
    "follow_project": Act(
        True,
        "post",
        lambda w, u: reverse("project_follow", args=[w.project.pk]),
        # The authors of a project's ideas follow it from the moment it is made.
        resident_action(author=unchanged("You follow this project: we will tell you about its progress.")),
        data=lambda w, u: {"action": "follow"},
        done=lambda w: reverse("project_detail", args=[w.project.pk]),
    ),
    # --- the vetting workspace (a cycle in vetting) ---
    "vetting_queue": Act(True, "get", lambda w, u: reverse("vetting_queue", args=[w.slug]), staff_action()),
    "review_page": Act(True, "get", lambda w, u: reverse("vetting_idea", args=[w.idea.pk]), staff_action()),
    "assign_reviewer": Act(
        True,
        "post",
        lambda w, u: reverse("vetting_idea_assign", args=[w.idea.pk]),
        staff_action(),
        data=lambda w, u: {"reviewer": str(w.users["official"].pk)},
        done=_idea_url("vetting_idea"),
    ),
    "record_review": Act(
        True,
        "post",
        lambda w, u: reverse("vetting_idea_review", args=[w.idea.pk]),
        staff_action(),
        data=lambda w, u: {
            "feasibility": "needs_info",
            "public_reason": "Which corner of the park?",
            "cost_estimate": "9000",
            "department": "Parks",
            "internal_notes": "Ask the parks department.",
        },
        done=_idea_url("vetting_idea"),
    ),
    "publish_review": Act(
        True,
        "post",
        lambda w, u: reverse("vetting_idea_publish", args=[w.idea.pk]),
        staff_action(),
        data=lambda w, u: {},
        done=_idea_url("vetting_idea"),
    ),
    "decisions_page": Act(True, "get", lambda w, u: reverse("vetting_decisions", args=[w.slug]), staff_action()),
    "publish_decisions": Act(
        True,
        "post",
        lambda w, u: reverse("vetting_decisions", args=[w.slug]),
        staff_action(),
        data=lambda w, u: {"ideas": [str(w.idea.pk)]},
        done=lambda w: reverse("vetting_decisions", args=[w.slug]),
    ),
    "hide_idea": Act(
        True,
        "post",
        lambda w, u: reverse("vetting_idea_hide", args=[w.idea.pk]),
        staff_action(),
        data=lambda w, u: {"reason": "Duplicate of another idea."},
        done=_idea_url("vetting_idea"),
    ),
    "paper_idea_form": Act(
        True, "get", lambda w, u: reverse("vetting_paper_idea_create", args=[w.slug]), staff_action()
    ),
    "enter_paper_idea": Act(
        True,
        "post",
        lambda w, u: reverse("vetting_paper_idea_create", args=[w.slug]),
        staff_action(),
        data=lambda w, u: paper_post(w.cycle),
        done=lambda w: reverse("vetting_idea", args=[_latest(Idea).pk]),
    ),
    "staff_project_list": Act(True, "get", lambda w, u: reverse("vetting_project_list", args=[w.slug]), staff_action()),
    "project_create_form": Act(
        True, "get", lambda w, u: reverse("vetting_project_create", args=[w.slug]), staff_action()
    ),
    "create_project": Act(
        True,
        "post",
        lambda w, u: reverse("vetting_project_create", args=[w.slug]),
        staff_action(),
        data=lambda w, u: project_post(w.cycle, [w.free_idea]),
        done=lambda w: reverse("vetting_project_list", args=[w.slug]),
    ),
    "project_edit_form": Act(
        True, "get", lambda w, u: reverse("vetting_project_edit", args=[w.project.pk]), staff_action()
    ),
    "edit_project": Act(
        True,
        "post",
        lambda w, u: reverse("vetting_project_edit", args=[w.project.pk]),
        staff_action(),
        data=lambda w, u: project_post(w.cycle, code="A-01", cost="18000"),
        done=lambda w: reverse("vetting_project_list", args=[w.slug]),
    ),
    "publish_projects": Act(
        True,
        "post",
        lambda w, u: reverse("vetting_project_publish", args=[w.slug]),
        staff_action(),
        data=lambda w, u: {"projects": [str(w.draft.pk)]},
        done=lambda w: reverse("vetting_project_list", args=[w.slug]),
    ),
    "categories_page": Act(True, "get", _cat_url, staff_action()),
    # Categories change only before vetting: the cycle collecting ideas. Officials only.
    "add_category": Act(
        False,
        "post",
        _cat_url,
        staff_action(allowed=("official",)),
        data=lambda w, u: {"name": "Parks", "name_es": "Parques"},
        done=lambda w: reverse("vetting_category_list", args=[w.slug]),
    ),
    "reports_page": Act(True, "get", lambda w, u: reverse("vetting_report_list", args=[w.slug]), staff_action()),
    "hide_reported": Act(
        True,
        "post",
        lambda w, u: reverse("vetting_report_hide", args=[w.slug, w.report.pk]),
        staff_action(),
        data=lambda w, u: {f"report-{w.report.pk}-reason": "Advertising."},
        done=lambda w: reverse("vetting_report_list", args=[w.slug]),
    ),
}


def assert_refused(
    response,
    outcome: Outcome,
    *,
    path: str,
    user,
    before: dict,
    audit_before: list[int],
    logged: list[dict],
    method: str = "get",
) -> None:
    """A refusal: the exact answer, no row changed, no audit event (the hash chain is unchanged), and
    exactly one line in the security log naming who, where and why (``logged``: the new lines).
    After logging in, a refused GET comes back to itself; a refused POST (no Referer here) to home,
    never to a POST-only URL (core.views_mixins.login_next)."""
    if outcome.kind == "login":
        back = path if method == "get" else reverse("home")
        assert (response.status_code, response["Location"]) == (302, login_url(back))
        reason = str(permissions.MSG_LOGIN_REQUIRED)
    elif outcome.kind == "mfa":
        assert (response.status_code, response["Location"]) == (302, reverse("mfa_activate_totp"))
        assert [text for _level, text in flashed(response)] == [outcome.message]
        reason = outcome.message
    else:
        assert response.status_code == 403, response.content
        assert [t.name for t in response.templates][:1] == ["403.html"]
        assert escape(outcome.message) in response.content.decode()
        reason = outcome.message
    assert snapshot() == before
    assert audit_ids() == audit_before  # a refusal is not an event of the election's record
    assert [(d["action"], d["reason"]) for d in logged] == [("access.denied", reason)]
    denial = logged[0]
    if user is None:
        assert (denial["actor_type"], denial["actor_id"]) == ("anonymous", None)
    else:
        assert (denial["actor_type"], denial["actor_id"]) == ("user", user.pk)
    assert (denial["method"], denial["path"]) == (method.upper(), path)


def check_cell(act: Act, world: World, user, outcome: Outcome, denials) -> None:
    """One cell of the matrix: ``user`` does ``act`` in ``world``."""
    world.target = world.idea
    path = act.url(world, user)
    data = act.data(world, user) if act.data else None
    client = Client()
    if user is not None:
        client.force_login(user)
    before, audit_before, logged_before = snapshot(), audit_ids(), len(denials())

    response = client.get(path) if act.method == "get" else client.post(path, data)

    if outcome.kind in REFUSALS:
        assert_refused(
            response,
            outcome,
            path=path,
            user=user,
            before=before,
            audit_before=audit_before,
            logged=denials()[logged_before:],
            method=act.method,
        )
        return
    assert denials()[logged_before:] == []
    if act.method == "get":
        assert response.status_code == 200, response.content
        assert snapshot() == before  # reading writes nothing
        return
    assert response.status_code == 302, response.content
    assert response["Location"] == act.done(world)
    shown = flashed(response)
    if outcome.kind == "unchanged":
        assert [text for _level, text in shown] == [outcome.message]
        assert snapshot() == before
    else:
        assert [level for level, _text in shown] == [messages.SUCCESS], shown
        assert snapshot() != before


def each_role(check) -> None:
    """Run ``check(role)`` for every role, each in a savepoint rolled back afterwards (so every role
    starts from the same world), and report every failing role at once."""
    failures = []
    for role in ROLES:
        with transaction.atomic():
            try:
                check(role)
            except AssertionError as error:
                failures.append(f"{role}: {error}")
            transaction.set_rollback(True)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("action", ACTIONS)
def test_html_permissions_matrix(users, action, denials):
    """One test per action; a row of the matrix: every role against the same world."""
    act = ACTIONS[action]
    world = World(users, vetting=act.vetting)
    each_role(lambda role: check_cell(act, world, users[role], act.outcomes[role], denials))


def test_the_matrix_is_complete():
    """Every action says what every role gets (35 actions × 7 roles = 245 cells)."""
    assert all(set(act.outcomes) == set(ROLES) for act in ACTIONS.values())
    assert len(ACTIONS) * len(ROLES) == 245


# --- what each role's pages show -------------------------------------------------------------------------
@pytest.fixture
def full_world(users):
    """A cycle in vetting with one of everything. Nobody has a display name, so a page that printed a
    user (``{{ user }}`` falls back to the email address) would show an email address."""
    author, other, staff, official = (users[r] for r in ("author", "other_resident", "vetting_staff", "official"))
    commenter = user_with_role("resident")
    cycle = CycleFactory(ideas=True, wards="AB")
    published = submit(cycle, author, title="Published idea")
    unpublished = submit(cycle, other, title="Unpublished idea")
    hidden = submit(cycle, author, title="HIDDEN-IDEA-TITLE")
    withdrawn = submit(cycle, other, title="WITHDRAWN-IDEA-TITLE")
    services.idea_withdraw(actor=other, idea=withdrawn, reason="Changed my mind.")
    for who in (other, commenter, staff, official):
        services.comment_add(actor=who, idea=published, body="Yes please.")
        services.follow_set(actor=who, idea=published)
    services.idea_endorse(actor=commenter, idea=published)
    services.content_report(actor=commenter, idea=unpublished, reason="Duplicate?")
    move(cycle, official, "vetting")
    paper = services.idea_submit_paper(
        actor=staff,
        cycle=cycle,
        data=idea_input(cycle, title="Paper idea"),
        proposer_name="Ana Pérez",
        proposer_contact=PAPER_CONTACT,
    )
    for idea, feasibility in ((published, "feasible"), (unpublished, "not_feasible"), (paper, "needs_info")):
        services.review_record(
            actor=staff, idea=idea, feasibility=feasibility, public_reason="Public reason.", internal_notes=SECRET
        )
    services.review_publish(actor=staff, idea=published)
    services.review_publish(actor=staff, idea=paper)
    # The hidden idea is one of the project's sources: the project's page must not name it.
    project = make_project(cycle, staff, [published, paper, hidden])
    services.content_hide(actor=official, idea=hidden, reason="Off topic.")
    services.follow_set(actor=other, project=project)
    everybody = [*(u for u in users.values() if u is not None), commenter]
    type(author).objects.filter(pk__in=[u.pk for u in everybody]).update(display_name="")
    ideas = {"published": published, "unpublished": unpublished, "hidden": hidden, "withdrawn": withdrawn}
    ideas = {key: Idea.objects.get(pk=idea.pk) for key, idea in (ideas | {"paper": paper}).items()}
    return {"cycle": cycle, "ideas": ideas, "project": project, "everybody": everybody}


def _public_pages(world, role, users) -> dict[str, int]:
    """Each public page and the status it must answer ``role`` with."""
    slug = world["cycle"].slug
    user = users[role]
    pages = {
        reverse("idea_list", args=[slug]): 200,
        reverse("idea_list", args=[slug]) + "?q=idea": 200,
        reverse("project_list", args=[slug]): 200,
        reverse("project_detail", args=[world["project"].pk]): 200,
        reverse("my_ideas"): 302 if user is None else 200,
    }
    for idea in world["ideas"].values():
        out_of_sight = idea.status == Idea.Status.WITHDRAWN or idea.hidden_at is not None
        own = user is not None and idea.author_id == user.pk
        pages[reverse("idea_detail", args=[idea.pk])] = 404 if out_of_sight and not (own or role in STAFF) else 200
    return pages


def _staff_pages(world, role) -> dict[str, int]:
    slug = world["cycle"].slug
    urls = [
        reverse("vetting_queue", args=[slug]),
        reverse("vetting_project_list", args=[slug]),
        reverse("vetting_project_edit", args=[world["project"].pk]),
        reverse("vetting_category_list", args=[slug]),
        reverse("vetting_report_list", args=[slug]),
        *[reverse("vetting_idea", args=[idea.pk]) for idea in world["ideas"].values()],
    ]
    status = 200 if role in STAFF else 302 if role in ("anonymous", "official_no_totp") else 403
    return dict.fromkeys(urls, status)


def check_pages(world, users, role) -> None:
    user = users[role]
    client = Client()
    if user is not None:
        client.force_login(user)
    public, staff = _public_pages(world, role, users), _staff_pages(world, role)
    html = {}
    for path, status in (public | staff).items():
        response = client.get(path)
        assert response.status_code == status, path
        html[path] = response.content.decode()
    ideas = world["ideas"]
    review_pages = {reverse("vetting_idea", args=[ideas[k].pk]) for k in ("published", "unpublished", "paper")}

    # (a) Internal notes: on the staff review pages of reviewed ideas, for vetting staff and officials only.
    with_notes = {path for path, text in html.items() if SECRET in text}
    assert with_notes == (review_pages if role in STAFF else set())

    # (b) No other user's email address on any public page.
    others = [u.email for u in world["everybody"] if user is None or u.pk != user.pk]
    leaks = [(path, email) for path in public for email in others if email.lower() in html[path].lower()]
    assert leaks == []

    # (c) A paper proposer's contact: on the paper idea's staff review page only.
    with_contact = {path for path, text in html.items() if PAPER_CONTACT in text}
    paper_review = reverse("vetting_idea", args=[ideas["paper"].pk])
    assert with_contact == ({paper_review} if role in STAFF else set())

    # Hidden and withdrawn ideas: on public pages only for their author (and staff, who moderate).
    for key in ("hidden", "withdrawn"):
        idea = ideas[key]
        shown = {path for path in public if idea.title in html[path]}
        if role in STAFF or (user is not None and idea.author_id == user.pk):
            assert reverse("idea_detail", args=[idea.pk]) in shown
        else:
            assert shown == set(), (key, shown)


def test_no_page_leaks_to_the_wrong_role(users, full_world):
    """Every public page (and every staff page) as every role."""
    each_role(lambda role: check_pages(full_world, users, role))


# --- what each role is offered ----------------------------------------------------------------------------------
def check_offers(world, users, role) -> None:
    """The buttons and forms a page shows ``role`` are the actions the matrix allows it (a button that
    can only lead to a 403 is not offered)."""
    user = users[role]
    client = Client()
    if user is not None:
        client.force_login(user)
    idea, project = world.idea, world.project
    targets = {
        "submit": reverse("idea_submit", args=[world.slug]),
        "edit": reverse("idea_edit", args=[idea.pk]),
        "withdraw": reverse("idea_withdraw", args=[idea.pk]),
        "endorse": reverse("idea_endorse", args=[idea.pk]),
        "follow": reverse("idea_follow", args=[idea.pk]),
        "comment": reverse("idea_comment", args=[idea.pk]),
        "report": reverse("idea_report", args=[idea.pk]),
        "follow_project": reverse("project_follow", args=[project.pk]),
    }
    pages = [
        reverse("home"),
        reverse("cycle_detail", args=[world.slug]),
        reverse("idea_list", args=[world.slug]),
        reverse("idea_detail", args=[idea.pk]),
        reverse("project_detail", args=[project.pk]),
    ]
    html = "".join(client.get(path).content.decode() for path in pages)
    offered = {name for name, url in targets.items() if f'"{url}"' in html}
    if role == "anonymous":
        expected = {"submit"}  # leads to the log-in page first
    elif role == "auditor":
        expected = set()  # read-only, and told so
        assert html.count(escape(str(permissions.MSG_AUDITOR_READ_ONLY))) == 2  # the idea and the project
    elif role == "author":
        expected = {"submit", "edit", "withdraw", "follow", "comment", "follow_project"}
    else:
        expected = {"submit", "endorse", "follow", "comment", "report", "follow_project"}
    assert offered == expected


def test_pages_offer_each_role_only_what_it_may_do(users):
    world = World(users, vetting=False)
    # The idea phase has no projects yet; one made in vetting is enough to show its page.
    world.project = None
    world_vetting = World(users, vetting=True)
    world.project = world_vetting.project
    each_role(lambda role: check_offers(world, users, role))


# --- once voting has opened, projects are frozen ------------------------------------------------------------
def open_voting(cycle, official) -> None:
    try:
        cycle_transition(actor=official, cycle=cycle, target="voting", reason="Test: voting opens.")
    except GuardFailed:
        # A vetting → voting guard (a complete ballot design in every district) refuses this bare
        # cycle; what is tested here is the project pages once voting is open, so set the phase.
        Cycle.objects.filter(pk=cycle.pk).update(phase=Phase.VOTING)
    cycle.refresh_from_db()
    assert cycle.phase == Phase.VOTING


def check_frozen(world, user, role, denials) -> None:
    edit = reverse("vetting_project_edit", args=[world.project.pk])
    create = reverse("vetting_project_create", args=[world.slug])
    frozen = escape(str(permissions.MSG_PROJECTS_FROZEN))
    requests = [
        (edit, None),
        (edit, project_post(world.cycle, code="A-09", cost="1000")),
        (create, project_post(world.cycle, [world.free_idea], code="A-10")),
    ]
    for path, data in requests:
        client = Client()  # a fresh one each time: no messages left over from the last request
        if user is not None:
            client.force_login(user)
        before, audit_before, logged_before = snapshot(), audit_ids(), len(denials())
        response = client.get(path) if data is None else client.post(path, data)
        if role in STAFF:
            assert response.status_code == (200 if data is None else 409), path
            assert frozen in response.content.decode()
            assert 'name="cost"' not in response.content.decode()  # no form to fill in
            assert snapshot() == before
            assert audit_ids() == audit_before
        else:
            outcome = ACTIONS["edit_project"].outcomes[role]
            assert_refused(
                response,
                outcome,
                path=path,
                user=user,
                before=before,
                audit_before=audit_before,
                logged=denials()[logged_before:],
                method="get" if data is None else "post",
            )
    world.project.refresh_from_db()
    assert (world.project.code, str(world.project.cost)) == ("A-01", "20000.00")


def test_nobody_changes_a_project_after_voting_opens(users, denials):
    world = World(users, vetting=True)
    open_voting(world.cycle, users["official"])
    each_role(lambda role: check_frozen(world, users[role], role, denials))
