"""HTML pages: the public cycle pages and the officials' area (create, edit, advance, voting controls)."""

import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from budgets import permissions, services
from budgets.models import Cycle, District
from budgets.phases import RESIDENT_GUIDANCE, Phase
from core.models import AuditEvent
from tests.factories import CycleFactory

from .helpers import cycle_events

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")


def _text(message, **params) -> str:
    """A message constant as it appears in HTML (autoescaped)."""
    return escape(str(message) % params if params else str(message))


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _counts():
    return Cycle.objects.count(), District.objects.count(), AuditEvent.objects.count()


@pytest.fixture
def official_client(client, official):
    client.force_login(official)
    return client


@pytest.fixture
def resident_client(client, resident):
    client.force_login(resident)
    return client


# --- public pages ---------------------------------------------------------------------------------
def test_home_lists_public_cycles_with_phase_guidance_budgets_and_timeline(client, official, clean_transitions):
    open_cycle = CycleFactory(name="Open Cycle", phase=Phase.DRAFT)
    services.cycle_transition(actor=official, cycle=open_cycle, target=Phase.IDEAS, reason="Launch.")
    CycleFactory(name="Secret Draft", phase=Phase.DRAFT)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Open Cycle" in html
    assert "Secret Draft" not in html
    assert f'data-phase="ideas">{Phase.IDEAS.label}<' in html
    assert "What you can do now" in html
    assert _text(RESIDENT_GUIDANCE[Phase.IDEAS]) in html
    assert html.count("$50,000<") == 6  # one per ward, without cents
    assert "$300,000" in html  # the total
    assert "Ward A" in html and "Ward F" in html
    assert 'class="timeline"' in html
    assert all(str(phase.label) in html for phase in Phase)
    assert '<li class="timeline-current" aria-current="step">' in html
    assert "began" in html  # the ideas phase shows when it actually began
    assert reverse("cycle_detail", args=[open_cycle.slug]) in html


def test_home_without_public_cycles(client):
    CycleFactory(name="Secret Draft", phase=Phase.DRAFT)
    html = client.get(reverse("home")).content.decode()
    assert "Secret Draft" not in html
    assert "There is no open participatory budgeting cycle right now." in html


def test_home_shows_a_paused_vote(client):
    CycleFactory(voting=True, voting_paused_at=timezone.now(), voting_pause_reason="Outage.")
    html = client.get(reverse("home")).content.decode()
    assert "voting paused" in html


def test_pages_render_in_english_by_default(client):
    assert 'lang="en"' in client.get(reverse("home")).content.decode()


def test_spanish_from_the_browser_language(client):
    CycleFactory(phase=Phase.IDEAS)
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 200
    assert '<html lang="es">' in response.content.decode()


def test_spanish_from_the_language_cookie(client):
    cycle = CycleFactory(phase=Phase.VOTING)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    for url in (reverse("home"), reverse("cycle_detail", args=[cycle.slug])):
        response = client.get(url)
        assert response.status_code == 200
        assert '<html lang="es">' in response.content.decode()


def test_cycle_page(client):
    cycle = CycleFactory(name="Voting Cycle", voting=True, wards="AB")
    response = client.get(reverse("cycle_detail", args=[cycle.slug]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Voting Cycle" in html
    assert f'data-phase="voting">{Phase.VOTING.label}<' in html
    assert _text(RESIDENT_GUIDANCE[Phase.VOTING]) in html
    assert html.count("$50,000<") == 2
    assert "scheduled" in html  # voting_close_at is a scheduled boundary in the timeline


def test_cycle_page_is_not_found_for_drafts_and_unknown_slugs(client):
    draft = CycleFactory(phase=Phase.DRAFT)
    assert client.get(reverse("cycle_detail", args=[draft.slug])).status_code == 404
    assert client.get(reverse("cycle_detail", args=["no-such-cycle"])).status_code == 404


# --- constant queries ------------------------------------------------------------------------------
def _public_cycles_with_history(official, count):
    for _ in range(count):
        cycle = CycleFactory(phase=Phase.DRAFT, wards="ABC")
        services.cycle_transition(actor=official, cycle=cycle, target=Phase.IDEAS, reason="Launch.")


@pytest.mark.usefixtures("clean_transitions")
@pytest.mark.parametrize("url_name", ["home", "staff_cycle_list"])
def test_list_pages_run_a_constant_number_of_queries(client, official, django_assert_num_queries, url_name):
    client.force_login(official)
    url = reverse(url_name)
    _public_cycles_with_history(official, 1)
    client.get(url)  # warm per-process caches (content types, permissions) out of the measurement
    with CaptureQueriesContext(connection) as one_cycle:
        response = client.get(url)
    assert response.status_code == 200
    _public_cycles_with_history(official, 4)
    assert Cycle.objects.count() == 5
    with django_assert_num_queries(len(one_cycle.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count("Ward C") == (5 if url_name == "home" else 0)


# --- officials' area: access ------------------------------------------------------------------------
STAFF_URLS = [
    ("staff_cycle_list", False),
    ("staff_cycle_create", False),
    ("staff_cycle_detail", True),
    ("staff_cycle_edit", True),
    ("staff_cycle_advance", True),
    ("staff_voting_extend", True),
]


def _staff_url(name, with_slug, cycle):
    return reverse(name, args=[cycle.slug]) if with_slug else reverse(name)


@pytest.mark.parametrize(("name", "with_slug"), STAFF_URLS)
def test_anonymous_is_sent_to_log_in(client, name, with_slug, denials):
    cycle = CycleFactory(phase=Phase.DRAFT)
    url = _staff_url(name, with_slug, cycle)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "next=" in response["Location"]
    assert [(d["actor_type"], d["path"]) for d in denials()] == [("anonymous", url)]
    assert not AuditEvent.objects.exists()  # logged, outside the audit chain


@pytest.mark.parametrize(("name", "with_slug"), STAFF_URLS)
def test_a_resident_gets_403(resident_client, name, with_slug, denials):
    cycle = CycleFactory(phase=Phase.DRAFT)
    response = resident_client.get(_staff_url(name, with_slug, cycle))
    assert response.status_code == 403
    assert _text(permissions.MSG_ROLE_REQUIRED) in response.content.decode()
    assert [d["status"] for d in denials()] == [403]
    assert not AuditEvent.objects.exists()


def test_an_official_without_totp_is_sent_to_set_it_up(client, official_without_mfa):
    client.force_login(official_without_mfa)
    response = client.get(reverse("staff_cycle_list"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")


def test_vetting_staff_see_the_list_but_cannot_create(client, vetting_staff):
    client.force_login(vetting_staff)
    response = client.get(reverse("staff_cycle_list"))
    assert response.status_code == 200
    assert reverse("staff_cycle_create") not in response.content.decode()
    assert client.get(reverse("staff_cycle_create")).status_code == 403


def test_staff_list_includes_drafts(official_client):
    CycleFactory(name="Secret Draft", phase=Phase.DRAFT)
    CycleFactory(name="Open Cycle", phase=Phase.IDEAS)
    html = official_client.get(reverse("staff_cycle_list")).content.decode()
    assert "Secret Draft" in html
    assert "Open Cycle" in html
    assert "$300,000" in html
    assert reverse("staff_cycle_create") in html


# --- officials' area: create --------------------------------------------------------------------------
def _create_post(districts=(("A", "Ward A", "50000"), ("B", "Ward B", "50000.00")), extra_blank=1, **fields):
    data = {
        "name": "Jersey City PB 2027",
        "slug": "jc-2027",
        "description": "Our second cycle.",
        "time_zone": "America/New_York",
        "currency": "USD",
        "ideas_per_resident": "10",
        "ideas_open_at": "2027-01-10T09:00",
        "vetting_open_at": "2027-02-10T09:00",
        "voting_open_at": "2027-04-01T09:00",
        "voting_close_at": "2027-04-15T21:00",
    }
    data.update(fields)
    rows = list(districts) + [("", "", "")] * extra_blank
    data.update(
        {
            "districts-TOTAL_FORMS": str(len(rows)),
            "districts-INITIAL_FORMS": "0",
            "districts-MIN_NUM_FORMS": "0",
            "districts-MAX_NUM_FORMS": "1000",
        }
    )
    for i, (code, name, budget) in enumerate(rows):
        data.update(
            {
                f"districts-{i}-code": code,
                f"districts-{i}-name": name,
                f"districts-{i}-kind": "ward",
                f"districts-{i}-budget": budget,
            }
        )
    return data


def test_create_form_offers_wards_a_to_f(official_client):
    response = official_client.get(reverse("staff_cycle_create"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="districts-TOTAL_FORMS"' in html
    assert 'name="districts-5-code"' in html and 'value="F"' in html


def test_a_city_with_fewer_wards_leaves_the_offered_rows_as_they_are(official_client):
    """The page offers wards A–F; a city with two fills in A and B, leaves C–F as offered (no
    budget) and gets a cycle with two wards — not six errors. A row it did change must be complete."""
    post = _create_post(districts=[("A", "Ward A", "50000"), ("B", "Ward B", "40000")], extra_blank=0)
    offered = ["C", "D", "E", "F"]
    for i, code in enumerate(offered, start=2):
        post.update(
            {
                f"districts-{i}-code": code,
                f"districts-{i}-name": f"Ward {code}",
                f"districts-{i}-kind": "ward",
                f"districts-{i}-budget": "",
            }
        )
    post["districts-TOTAL_FORMS"] = post["districts-INITIAL_FORMS"] = "6"
    response = official_client.post(reverse("staff_cycle_create"), post)
    assert response.status_code == 302, response.content.decode()
    cycle = Cycle.objects.get(slug="jc-2027")
    assert list(cycle.districts.order_by("code").values_list("code", "budget")) == [
        ("A", Decimal("50000.00")),
        ("B", Decimal("40000.00")),
    ]

    post.update({"slug": "jc-2028", "districts-3-name": "Ward D (Greenville)"})  # changed, no budget
    response = official_client.post(reverse("staff_cycle_create"), post)
    assert response.status_code == 200
    assert not Cycle.objects.filter(slug="jc-2028").exists()
    assert 'href="#id_districts-3-budget"' in response.content.decode()


def test_create_a_cycle_with_districts(official_client, official):
    response = official_client.post(reverse("staff_cycle_create"), _create_post())
    cycle = Cycle.objects.get(slug="jc-2027")
    assert response.status_code == 302
    assert response["Location"] == reverse("staff_cycle_detail", args=[cycle.slug])
    assert cycle.phase == Phase.DRAFT
    assert cycle.name == "Jersey City PB 2027"
    # Wall-clock dates are read in the cycle's time zone.
    assert cycle.ideas_open_at == datetime(2027, 1, 10, 9, 0, tzinfo=NEW_YORK)
    assert cycle.voting_close_at == datetime(2027, 4, 15, 21, 0, tzinfo=NEW_YORK)
    assert list(cycle.districts.order_by("code").values_list("code", "name", "budget")) == [
        ("A", "Ward A", Decimal("50000.00")),
        ("B", "Ward B", Decimal("50000.00")),
    ]
    (event,) = AuditEvent.objects.filter(action="cycle.created")
    assert event.actor_id == official.pk
    follow = official_client.get(response["Location"])
    assert "Jersey City PB 2027" in follow.content.decode()
    assert "Jersey City PB 2027" in " ".join(_messages(follow))


@pytest.mark.parametrize(
    ("post", "message"),
    [
        pytest.param(
            _create_post(districts=[("A", "Ward A", "-100")]),
            _text(services.MSG_NEGATIVE_BUDGET),
            id="negative-budget",
        ),
        pytest.param(
            _create_post(districts=[("A", "Ward A", "100"), ("A", "Ward A again", "100")]),
            _text(services.MSG_DUPLICATE_CODE, code="A"),
            id="duplicate-code",
        ),
        pytest.param(
            _create_post(ideas_open_at="2027-03-01T09:00", vetting_open_at="2027-02-01T09:00"),
            _text(services.MSG_DATES_ORDER, later="vetting starts", earlier="ideas open"),
            id="dates-out-of-order",
        ),
        pytest.param(_create_post(currency="ZZZ"), _text(services.MSG_UNKNOWN_CURRENCY), id="unknown-currency"),
        pytest.param(
            _create_post(districts=[("A", "Ward A", "fifty thousand")]),
            _text(services.MSG_BAD_BUDGET),
            id="non-numeric-budget",
        ),
        pytest.param(
            _create_post(districts=[("A", "Ward A (Downtown)", "")]),  # typed, no budget
            _text(services.MSG_BAD_BUDGET),
            id="missing-budget",
        ),
        pytest.param(
            _create_post(districts=[], extra_blank=2),
            _text(services.MSG_NO_DISTRICTS),
            id="no-districts",
        ),
    ],
)
def test_create_with_bad_input_shows_the_error_and_saves_nothing(official_client, post, message):
    before = _counts()
    response = official_client.post(reverse("staff_cycle_create"), post)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert 'id="error-summary"' in html
    assert _counts() == before


@pytest.mark.parametrize(("language", "title"), [("en", "There is a problem"), ("es", "Hay un problema")])
def test_the_cycle_forms_error_summary_links_to_each_invalid_field_and_district_row(
    official_client, settings, language, title
):
    """The error summary (role=alert) names every mistake, each a link to its own field — the
    cycle's and a district row's — and no mistake is listed twice."""
    official_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    post = _create_post(name="", districts=[("A", "Ward A", "50000"), ("B", "Ward B", "fifty")])
    html = official_client.post(reverse("staff_cycle_create"), post).content.decode()
    start = html.index('<div class="errorsummary" role="alert" id="error-summary"')
    summary = html[start : html.index("</div>", start)]
    assert title in summary
    links = re.findall(r'<a href="#([^"]+)">', summary)
    assert links == ["id_name", "id_districts-1-budget"]
    assert 'id="id_name"' in html and 'id="id_districts-1-budget"' in html


def test_create_with_a_slug_in_use_shows_the_error_and_saves_nothing(official_client):
    CycleFactory(slug="jc-2027")
    before = _counts()
    response = official_client.post(reverse("staff_cycle_create"), _create_post())
    assert response.status_code == 200
    assert _text(services.MSG_SLUG_TAKEN) in response.content.decode()
    assert _counts() == before


def test_create_keeps_what_was_typed(official_client):
    response = official_client.post(reverse("staff_cycle_create"), _create_post(currency="ZZZ"))
    html = response.content.decode()
    assert 'value="Jersey City PB 2027"' in html
    assert 'value="jc-2027"' in html


# --- officials' area: edit ------------------------------------------------------------------------
def test_edit_a_draft(official_client):
    cycle = CycleFactory(phase=Phase.DRAFT, wards="AB", currency="USD")
    a, b = cycle.districts.order_by("code")
    get = official_client.get(reverse("staff_cycle_edit", args=[cycle.slug]))
    assert get.status_code == 200
    assert f'value="{cycle.name}"' in get.content.decode()
    post = _create_post(districts=[("A", "Ward A", "75000"), ("B", "Ward B", "25000")], slug=cycle.slug)
    post["districts-INITIAL_FORMS"] = "2"
    post["districts-0-id"] = str(a.pk)
    post["districts-1-id"] = str(b.pk)
    response = official_client.post(reverse("staff_cycle_edit", args=[cycle.slug]), post)
    assert response.status_code == 302
    cycle.refresh_from_db()
    assert cycle.name == "Jersey City PB 2027"
    assert dict(cycle.districts.values_list("pk", "budget")) == {a.pk: Decimal("75000.00"), b.pk: Decimal("25000.00")}
    assert cycle_events(cycle, "cycle.updated").count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_editing_an_archived_cycle_redirects_with_the_reason_and_changes_nothing(official_client, method):
    cycle = CycleFactory(phase=Phase.ARCHIVED, wards="A")
    before = _counts()
    url = reverse("staff_cycle_edit", args=[cycle.slug])
    data = _create_post(name="Changed", slug=cycle.slug) if method == "post" else None
    response = getattr(official_client, method)(url, data)
    assert response.status_code == 302
    assert response["Location"] == reverse("staff_cycle_detail", args=[cycle.slug])
    follow = official_client.get(response["Location"])
    assert str(permissions.MSG_ARCHIVED) in _messages(follow)
    assert "Edit cycle" not in follow.content.decode()
    cycle.refresh_from_db()
    assert cycle.name != "Changed"
    assert _counts() == before


def _local(value, cycle) -> str:
    return value.astimezone(ZoneInfo(cycle.time_zone)).strftime("%Y-%m-%dT%H:%M")


def _edit_form_post(cycle, *, new_districts=(), reason="", **fields):
    """What the edit page posts when nothing is changed but ``fields`` (and new district rows).
    Disabled inputs are not sent by browsers: they are left out here too."""
    data = {
        "name": cycle.name,
        "slug": cycle.slug,
        "description": cycle.description,
        "time_zone": cycle.time_zone,
        "currency": cycle.currency,
        "ideas_per_resident": str(cycle.ideas_per_resident),
        "extra_languages": "",
        "reason": reason,
    }
    for field in ("ideas_open_at", "vetting_open_at", "voting_open_at", "voting_close_at"):
        value = getattr(cycle, field)
        data[field] = _local(value, cycle) if value else ""
    data.update(fields)
    districts = list(cycle.districts.order_by("kind", "code"))
    rows = [(d.pk, d.code, d.name, d.kind, str(d.budget)) for d in districts] + [(None, *row) for row in new_districts]
    data.update(
        {
            "districts-TOTAL_FORMS": str(len(rows)),
            "districts-INITIAL_FORMS": str(len(districts)),
            "districts-MIN_NUM_FORMS": "0",
            "districts-MAX_NUM_FORMS": "1000",
        }
    )
    for i, (pk, code, name, kind, budget) in enumerate(rows):
        data.update(
            {
                f"districts-{i}-id": str(pk or ""),
                f"districts-{i}-code": code,
                f"districts-{i}-name": name,
                f"districts-{i}-kind": kind,
                f"districts-{i}-budget": budget,
            }
        )
    return data


def _under_way(phase=Phase.IDEAS, **days):
    now = timezone.now()
    days = days or {"ideas_open_at": -3, "vetting_open_at": 10, "voting_open_at": 30, "voting_close_at": 40}
    return CycleFactory(phase=phase, wards="AB", **{f: now + timedelta(days=d) for f, d in days.items()})


def _input(html, name) -> str:
    """The opening tag of the input (or select, textarea) named ``name``."""
    match = re.search(rf'<(?:input|select|textarea)[^>]*name="{re.escape(name)}"[^>]*>', html)
    assert match, name
    return match.group(0)


def test_the_edit_page_of_a_cycle_under_way_shows_what_is_frozen_and_why(official_client):
    cycle = _under_way()
    page = official_client.get(reverse("staff_cycle_edit", args=[cycle.slug]))
    assert page.status_code == 200
    html = page.content.decode()
    for open_field in (
        "name",
        "description",
        "vetting_open_at",
        "voting_open_at",
        "voting_close_at",
        "reason",
        "districts-0-name",
        "districts-0-budget",
        "districts-2-code",
    ):
        assert " disabled" not in _input(html, open_field), open_field
    for frozen in ("slug", "currency", "time_zone", "ideas_open_at", "districts-0-code", "districts-0-kind"):
        assert " disabled" in _input(html, frozen), frozen
    assert _text(services.MSG_FROZEN_AFTER_DRAFT) in html and _text(services.MSG_DATE_PASSED) in html
    assert '<label for="id_reason">Reason for moving a date:</label>' in html
    assert '<label for="id_voting_open_at">Voting opens:</label>' in html
    assert "This cycle is under way" in html


def test_the_edit_page_once_voting_is_open_freezes_budgets_and_dates_in_spanish(official_client):
    cycle = _under_way(Phase.VOTING, ideas_open_at=-30, vetting_open_at=-20, voting_open_at=-1, voting_close_at=5)
    html = official_client.get(reverse("staff_cycle_edit", args=[cycle.slug]), HTTP_ACCEPT_LANGUAGE="es")
    html = html.content.decode()
    for frozen in ("voting_close_at", "districts-0-budget", "districts-1-name"):
        assert " disabled" in _input(html, frozen), frozen
    assert " disabled" not in _input(html, "name")
    assert 'name="districts-2-code"' not in html  # no row for a new district
    assert 'name="reason"' not in html  # no date left to move
    assert "Las fechas quedan fijas al abrir la votación" in html
    assert "Los distritos y los presupuestos quedan fijos al abrir la votación" in html


def test_an_official_moves_a_date_renames_and_adds_a_district_while_ideas_are_open(official_client, official):
    cycle = _under_way()
    a = cycle.districts.get(code="A")
    new_open = cycle.voting_open_at + timedelta(days=2)
    post = _edit_form_post(
        cycle,
        name="Springfield PB",
        voting_open_at=_local(new_open, cycle),
        reason="Room booked a week later.",
        slug="tampered",
        new_districts=[("C", "Ward C", "ward", "30000")],
    )
    post["districts-0-name"] = "Ward A (Downtown)"
    response = official_client.post(reverse("staff_cycle_edit", args=[cycle.slug]), post)
    assert response.status_code == 302, response.content.decode()[:3000]
    cycle.refresh_from_db()
    assert cycle.name == "Springfield PB" and cycle.slug != "tampered"  # a frozen field ignores what is posted
    assert abs(cycle.voting_open_at - new_open) < timedelta(minutes=1)
    assert cycle.districts.get(pk=a.pk).name == "Ward A (Downtown)"
    assert cycle.districts.filter(code="C", budget=Decimal("30000")).exists()
    (moved,) = cycle_events(cycle, "cycle.date_moved")
    assert moved.reason == "Room booked a week later." and moved.actor_id == official.pk
    assert cycle_events(cycle, "cycle.updated").count() == 1


def test_moving_a_date_without_a_reason_shows_the_error_and_changes_nothing(official_client):
    cycle = _under_way()
    before = (_counts(), cycle.voting_open_at)
    post = _edit_form_post(cycle, voting_open_at=_local(cycle.voting_open_at + timedelta(days=2), cycle), name="X")
    response = official_client.post(reverse("staff_cycle_edit", args=[cycle.slug]), post)
    assert response.status_code == 200
    html = response.content.decode()
    assert _text(services.MSG_DATE_REASON) in html and 'href="#id_reason"' in html
    cycle.refresh_from_db()
    assert (_counts(), cycle.voting_open_at) == before and cycle.name != "X"


def test_a_date_in_the_dst_gap_or_out_of_order_is_refused_on_the_edit_page(official_client):
    cycle = _under_way(ideas_open_at=-3, vetting_open_at=2, voting_open_at=400, voting_close_at=410)
    # 2:30 a.m. on the second Sunday of March does not exist in New York: the next one is < 400 days away.
    gap_day = None
    for year in (timezone.now().year, timezone.now().year + 1):
        march8 = datetime(year, 3, 8)
        candidate = march8 + timedelta(days=(6 - march8.weekday()) % 7)
        if gap_day is None and candidate > datetime.now() + timedelta(days=3):
            gap_day = candidate
    post = _edit_form_post(cycle, vetting_open_at=gap_day.strftime("%Y-%m-%dT02:30"), reason="Move.")
    html = official_client.post(reverse("staff_cycle_edit", args=[cycle.slug]), post).content.decode()
    assert "This time does not exist in" in html
    post = _edit_form_post(cycle, voting_close_at=_local(cycle.voting_open_at - timedelta(days=1), cycle), reason="x")
    html = official_client.post(reverse("staff_cycle_edit", args=[cycle.slug]), post).content.decode()
    assert _text(services.MSG_DATES_ORDER, later="voting closes", earlier="voting opens") in html
    assert not cycle_events(cycle, "cycle.date_moved").exists()


# --- officials' area: advance ---------------------------------------------------------------------
@pytest.fixture
def ideas_cycle(db, clean_transitions):
    return CycleFactory(phase=Phase.IDEAS, wards="A")


def test_advance_page_shows_the_target_phase(official_client, ideas_cycle):
    response = official_client.get(reverse("staff_cycle_advance", args=[ideas_cycle.slug]))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"<strong>{Phase.IDEAS.label}</strong> to <strong>{Phase.VETTING.label}</strong>" in html
    assert 'name="target" value="vetting"' in html
    assert not cycle_events(ideas_cycle).exists()


def test_detail_page_links_to_the_advance_page(official_client, ideas_cycle):
    html = official_client.get(reverse("staff_cycle_detail", args=[ideas_cycle.slug])).content.decode()
    assert reverse("staff_cycle_advance", args=[ideas_cycle.slug]) in html


def test_advance_moves_the_phase(official_client, official, ideas_cycle):
    url = reverse("staff_cycle_advance", args=[ideas_cycle.slug])
    response = official_client.post(url, {"target": "vetting", "reason": "Ideas collected."})
    assert response.status_code == 302
    assert response["Location"] == reverse("staff_cycle_detail", args=[ideas_cycle.slug])
    ideas_cycle.refresh_from_db()
    assert ideas_cycle.phase == Phase.VETTING
    (event,) = cycle_events(ideas_cycle)
    assert (event.actor_id, event.reason, event.after) == (official.pk, "Ideas collected.", {"phase": "vetting"})


def test_advance_without_a_reason_shows_the_error(official_client, ideas_cycle):
    url = reverse("staff_cycle_advance", args=[ideas_cycle.slug])
    response = official_client.post(url, {"target": "vetting", "reason": "   "})
    assert response.status_code == 200
    assert _text(services.MSG_REQUIRED) in response.content.decode()
    ideas_cycle.refresh_from_db()
    assert ideas_cycle.phase == Phase.IDEAS
    assert not cycle_events(ideas_cycle).exists()


def test_advance_to_a_phase_that_is_not_next_is_refused(official_client, ideas_cycle):
    url = reverse("staff_cycle_advance", args=[ideas_cycle.slug])
    response = official_client.post(url, {"target": "results", "reason": "Skip ahead."}, follow=True)
    assert response.status_code == 200
    expected = str(services.MSG_TRANSITION_FORBIDDEN % {"source": Phase.IDEAS.label, "target": Phase.RESULTS.label})
    assert expected in _messages(response)
    ideas_cycle.refresh_from_db()
    assert ideas_cycle.phase == Phase.IDEAS
    assert not cycle_events(ideas_cycle).exists()


def test_advance_refuses_certification_by_hand(official_client, clean_transitions):
    cycle = CycleFactory(phase=Phase.COUNTING, wards="A")
    url = reverse("staff_cycle_advance", args=[cycle.slug])
    assert official_client.get(url).status_code == 302
    official_client.post(url, {"target": "results", "reason": "Done counting."})
    cycle.refresh_from_db()
    assert cycle.phase == Phase.COUNTING
    assert not cycle_events(cycle).exists()


def test_advance_is_refused_to_a_resident(resident_client, ideas_cycle):
    url = reverse("staff_cycle_advance", args=[ideas_cycle.slug])
    response = resident_client.post(url, {"target": "vetting", "reason": "Let me."})
    assert response.status_code == 403
    ideas_cycle.refresh_from_db()
    assert ideas_cycle.phase == Phase.IDEAS


def test_advance_sends_anonymous_to_log_in(client, ideas_cycle):
    url = reverse("staff_cycle_advance", args=[ideas_cycle.slug])
    response = client.post(url, {"target": "vetting", "reason": "Let me."})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    ideas_cycle.refresh_from_db()
    assert ideas_cycle.phase == Phase.IDEAS


def test_staff_pages_for_an_unknown_cycle_are_not_found(official_client):
    assert official_client.get(reverse("staff_cycle_detail", args=["nope"])).status_code == 404
    assert official_client.get(reverse("staff_cycle_advance", args=["nope"])).status_code == 404


# --- officials' area: voting controls -------------------------------------------------------------
def test_pause_and_resume_from_the_detail_page(official_client):
    cycle = CycleFactory(voting=True, wards="A")
    detail = reverse("staff_cycle_detail", args=[cycle.slug])
    assert reverse("staff_voting_pause", args=[cycle.slug]) in official_client.get(detail).content.decode()
    response = official_client.post(reverse("staff_voting_pause", args=[cycle.slug]), {"reason": "Outage."})
    assert response.status_code == 302
    cycle.refresh_from_db()
    assert cycle.is_paused
    assert reverse("staff_voting_resume", args=[cycle.slug]) in official_client.get(detail).content.decode()
    official_client.post(reverse("staff_voting_resume", args=[cycle.slug]), {"reason": "Fixed."})
    cycle.refresh_from_db()
    assert not cycle.is_paused


def test_pause_without_a_reason_changes_nothing(official_client):
    cycle = CycleFactory(voting=True, wards="A")
    response = official_client.post(reverse("staff_voting_pause", args=[cycle.slug]), {"reason": ""}, follow=True)
    assert str(services.MSG_REASON_REQUIRED) in _messages(response)
    cycle.refresh_from_db()
    assert not cycle.is_paused


def test_pause_outside_voting_shows_the_phase_message(official_client):
    cycle = CycleFactory(phase=Phase.IDEAS, wards="A")
    response = official_client.post(
        reverse("staff_voting_pause", args=[cycle.slug]), {"reason": "Outage."}, follow=True
    )
    assert str(permissions.MSG_NOT_VOTING) in _messages(response)
    cycle.refresh_from_db()
    assert not cycle.is_paused


def test_extend_voting_from_the_form(official_client):
    cycle = CycleFactory(voting=True, wards="A")
    new_close = (cycle.voting_close_at + timedelta(days=2)).astimezone(NEW_YORK).replace(second=0, microsecond=0)
    response = official_client.post(
        reverse("staff_voting_extend", args=[cycle.slug]),
        {"voting_close_at": new_close.strftime("%Y-%m-%dT%H:%M"), "reason": "Outage."},
    )
    assert response.status_code == 302
    cycle.refresh_from_db()
    assert cycle.voting_close_at == new_close
    assert cycle_events(cycle, "cycle.voting_extended").count() == 1


def test_extend_voting_to_an_earlier_time_shows_the_error(official_client):
    cycle = CycleFactory(voting=True, wards="A")
    old_close = cycle.voting_close_at
    earlier = (old_close - timedelta(days=1)).astimezone(NEW_YORK)
    response = official_client.post(
        reverse("staff_voting_extend", args=[cycle.slug]),
        {"voting_close_at": earlier.strftime("%Y-%m-%dT%H:%M"), "reason": "Oops."},
    )
    assert response.status_code == 200
    assert _text(services.MSG_EXTEND_NOT_LATER) in response.content.decode()
    cycle.refresh_from_db()
    assert cycle.voting_close_at == old_close


# --- times: typed, stored and shown in the cycle's own zone ----------------------------------------
def test_a_time_typed_for_new_york_is_stored_in_utc_and_read_back_as_typed(official_client):
    """An official types "voting closes Jan 31, 8 p.m." for America/New_York: 01:00 UTC on Feb 1
    is stored; the edit form and the pages give 8 p.m. back, on Jan 31, with the zone in words."""
    post = _create_post(
        ideas_open_at="2027-01-02T09:00",
        vetting_open_at="2027-01-10T09:00",
        voting_open_at="2027-01-20T09:00",
        voting_close_at="2027-01-31T20:00",
    )
    assert official_client.post(reverse("staff_cycle_create"), post).status_code == 302
    cycle = Cycle.objects.get(slug="jc-2027")
    assert cycle.voting_close_at == datetime(2027, 2, 1, 1, 0, tzinfo=ZoneInfo("UTC"))
    edit = official_client.get(reverse("staff_cycle_edit", args=[cycle.slug])).content.decode()
    assert 'name="voting_close_at" value="2027-01-31T20:00"' in edit
    page = official_client.get(reverse("staff_cycle_detail", args=[cycle.slug])).content.decode()
    assert "Jan. 31, 2027, 8 p.m. (Eastern Time)" in page
    assert "Times in Eastern Time." in page
    assert "Feb. 1, 2027" not in page and "America/New_York" not in page
    official_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    page = official_client.get(reverse("staff_cycle_detail", args=[cycle.slug])).content.decode()
    assert "31 de enero de 2027 a las 20:00 (hora oriental)" in page
    assert "1 de febrero" not in page


def test_an_auckland_cycle_shows_its_own_day_and_hour(client):
    """9 a.m. on Jan 10 in Auckland is 8 p.m. on Jan 9 in UTC: the public timeline says Jan 10, 9 a.m."""
    auckland = ZoneInfo("Pacific/Auckland")
    cycle = CycleFactory(
        phase=Phase.IDEAS,
        time_zone="Pacific/Auckland",
        ideas_open_at=datetime(2026, 12, 1, 9, 0, tzinfo=auckland),
        vetting_open_at=datetime(2027, 1, 10, 9, 0, tzinfo=auckland),
    )
    html = client.get(reverse("cycle_detail", args=[cycle.slug])).content.decode()
    assert "Jan. 10, 2027, 9 a.m. (New Zealand Time)" in html
    assert "Jan. 9, 2027" not in html
    html = client.get(reverse("cycle_detail", args=[cycle.slug]), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "10 de enero de 2027 a las 09:00 (hora de Nueva Zelanda)" in html
    assert "Horas en hora de Nueva Zelanda." in html


def test_extending_voting_reads_the_new_close_in_the_cycles_zone(official_client):
    cycle = CycleFactory(voting=True, time_zone="America/New_York")
    response = official_client.post(
        reverse("staff_voting_extend", args=[cycle.slug]),
        {"voting_close_at": "2099-01-31T20:00", "reason": "Storm."},
    )
    assert response.status_code == 302
    cycle.refresh_from_db()
    assert cycle.voting_close_at == datetime(2099, 2, 1, 1, 0, tzinfo=ZoneInfo("UTC"))
    html = official_client.get(reverse("staff_voting_extend", args=[cycle.slug])).content.decode()
    assert "Jan. 31, 2099, 8 p.m. (Eastern Time)" in html and "Feb. 1" not in html


# --- times the clocks skip or repeat: refused, never silently moved -------------------------------
GAP = "2027-09-26T02:30"  # Auckland's clocks jump from 02:00 to 03:00 that night
FOLD = "2027-04-04T02:30"  # Auckland's clocks go back from 03:00 to 02:00 that night
GAP_MESSAGE = "This time does not exist in New Zealand Time: the clocks change that night."
FOLD_MESSAGE = "This time happens twice in New Zealand Time: the clocks go back that night."


@pytest.mark.parametrize(("typed", "message"), [(GAP, GAP_MESSAGE), (FOLD, FOLD_MESSAGE)])
def test_create_refuses_a_time_the_clocks_skip_or_repeat(official_client, typed, message):
    before = _counts()
    post = _create_post(
        time_zone="Pacific/Auckland",
        ideas_open_at="2027-01-10T09:00",
        vetting_open_at="2027-02-10T09:00",
        voting_open_at="2027-03-01T09:00",
        voting_close_at=typed,
    )
    response = official_client.post(reverse("staff_cycle_create"), post)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert _counts() == before


def test_create_refuses_the_skipped_time_in_spanish_naming_the_zone(official_client):
    official_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    post = _create_post(time_zone="Pacific/Auckland", voting_close_at=GAP)
    html = official_client.post(reverse("staff_cycle_create"), post).content.decode()
    assert "Esta hora no existe en hora de Nueva Zelanda: esa noche cambian los relojes." in html
    assert not Cycle.objects.exists()


def test_edit_refuses_a_repeated_time(official_client):
    cycle = CycleFactory(phase=Phase.DRAFT, wards="A", currency="USD", time_zone="Pacific/Auckland")
    (a,) = cycle.districts.all()
    old_close = cycle.voting_close_at
    post = _create_post(districts=[("A", "Ward A", "1000")], slug=cycle.slug, time_zone="Pacific/Auckland")
    post.update({"districts-INITIAL_FORMS": "1", "districts-0-id": str(a.pk), "voting_close_at": FOLD})
    response = official_client.post(reverse("staff_cycle_edit", args=[cycle.slug]), post)
    assert response.status_code == 200
    assert FOLD_MESSAGE in response.content.decode()
    cycle.refresh_from_db()
    assert cycle.voting_close_at == old_close


@pytest.mark.parametrize(("typed", "message"), [("2099-09-27T02:30", GAP_MESSAGE), ("2099-04-05T02:30", FOLD_MESSAGE)])
def test_extend_voting_refuses_a_time_the_clocks_skip_or_repeat(official_client, typed, message):
    cycle = CycleFactory(voting=True, wards="A", time_zone="Pacific/Auckland")
    old_close = cycle.voting_close_at
    response = official_client.post(
        reverse("staff_voting_extend", args=[cycle.slug]), {"voting_close_at": typed, "reason": "Storm."}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    cycle.refresh_from_db()
    assert cycle.voting_close_at == old_close
    assert cycle_events(cycle, "cycle.voting_extended").count() == 0


def test_a_time_next_to_the_clock_change_is_taken_as_typed(official_client):
    post = _create_post(time_zone="Pacific/Auckland", voting_close_at="2027-09-26T03:30")
    assert official_client.post(reverse("staff_cycle_create"), post).status_code == 302
    cycle = Cycle.objects.get(slug="jc-2027")
    assert cycle.voting_close_at == datetime(2027, 9, 25, 14, 30, tzinfo=ZoneInfo("UTC"))


# --- a schedule set in the past ---------------------------------------------------------------------
def test_create_refuses_schedule_dates_in_the_past(official_client):
    before = _counts()
    post = _create_post(
        ideas_open_at="2020-01-01T09:00",
        vetting_open_at="2020-02-01T09:00",
        voting_open_at="2020-03-01T09:00",
        voting_close_at="2020-04-01T09:00",
    )
    response = official_client.post(reverse("staff_cycle_create"), post)
    assert response.status_code == 200
    html = response.content.decode()
    assert _text(services.MSG_DATE_PAST, field="ideas open") in html
    assert _text(services.MSG_DATE_PAST, field="voting closes") in html
    assert _counts() == before
    official_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    html = official_client.post(reverse("staff_cycle_create"), post).content.decode()
    assert "está en el pasado" in html
    assert _counts() == before


def _edit_post(cycle, **fields):
    post = _create_post(districts=[("A", "Ward A", "1000")], slug=cycle.slug, time_zone="America/New_York")
    post.update({"districts-INITIAL_FORMS": "1", "districts-0-id": str(cycle.districts.get().pk)})
    post.update(fields)
    return post


def test_edit_keeps_a_date_that_has_passed_but_refuses_a_new_one_in_the_past(official_client):
    past = datetime(2026, 1, 5, 9, 0, tzinfo=NEW_YORK)
    cycle = CycleFactory(
        phase=Phase.DRAFT,
        wards="A",
        currency="USD",
        time_zone="America/New_York",
        ideas_open_at=past,
        vetting_open_at=None,
        voting_open_at=None,
        voting_close_at=None,
    )
    # The passed date, left as it was: the other changes are saved.
    response = official_client.post(
        reverse("staff_cycle_edit", args=[cycle.slug]),
        _edit_post(
            cycle,
            name="Renamed",
            ideas_open_at="2026-01-05T09:00",
            vetting_open_at="2099-01-01T09:00",
            voting_open_at="2099-02-01T09:00",
            voting_close_at="2099-03-01T09:00",
        ),
    )
    assert response.status_code == 302
    cycle.refresh_from_db()
    assert cycle.name == "Renamed" and cycle.ideas_open_at == past
    # Moved to another past day: refused, nothing changes.
    response = official_client.post(
        reverse("staff_cycle_edit", args=[cycle.slug]),
        _edit_post(
            cycle,
            name="Renamed again",
            ideas_open_at="2026-01-06T09:00",
            vetting_open_at="2099-01-01T09:00",
            voting_open_at="2099-02-01T09:00",
            voting_close_at="2099-03-01T09:00",
        ),
    )
    assert response.status_code == 200
    assert _text(services.MSG_DATE_PAST, field="ideas open") in response.content.decode()
    cycle.refresh_from_db()
    assert cycle.name == "Renamed" and cycle.ideas_open_at == past


def test_the_extend_voting_page_names_the_zone_next_to_the_new_closing_time(official_client):
    cycle = CycleFactory(voting=True, wards="A", time_zone="Pacific/Auckland")
    html = official_client.get(reverse("staff_voting_extend", args=[cycle.slug])).content.decode()
    assert re.search(
        r'<label for="id_voting_close_at">New closing time:</label>\s*'
        r'<div class="helptext" id="id_voting_close_at_helptext">'
        r"In the cycle&#x27;s time zone: New Zealand Time.</div>",
        html,
    )
    assert 'aria-describedby="id_voting_close_at_helptext"' in html
    official_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    html = official_client.get(reverse("staff_voting_extend", args=[cycle.slug])).content.decode()
    assert "En la zona horaria del ciclo: hora de Nueva Zelanda." in html
