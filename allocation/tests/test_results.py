"""Public results (and "results hidden before certification"): the selectors, the
pages and the API after certification, and — on every channel that could show vote totals or
winners — nothing before it.

The world is allocation/tests/results_builders.py's."""

import io
import json
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from allocation.models import DistrictResult, TallyRun
from allocation.selectors import results
from allocation.services import cycle_certify, project_withdraw
from budgets.phases import Capability, Phase
from budgets.services import cycle_transition
from core.small_cells import OTHER
from tests.factories import CycleFactory, user_with_role
from voting.models import VoterRollEntry
from voting.tests.builders import World, assert_roll_matches_ballots

from .results_builders import results_world, title

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "resident", "volunteer", "vetting_staff", "official", "official_without_mfa", "auditor")


def published(world: World, code: str) -> dict:
    """The published run's output for a district, as the tally stored it."""
    result = DistrictResult.objects.filter(district=world.district(code)).select_related("run").first()
    return json.loads(result.run.output)


def login_as(client, role):
    if role == "anonymous":
        return None
    user = user_with_role("official", mfa=False) if role == "official_without_mfa" else user_with_role(role)
    client.force_login(user)
    return user


def page_urls(world: World) -> list[str]:
    slug = world.cycle.slug
    return [reverse("cycle_results", args=[slug]), reverse("district_results", args=[slug, "A"])]


def api_urls(world: World) -> list[str]:
    slug = world.cycle.slug
    return [
        reverse("api-cycle-results", args=[slug]),
        reverse("api-district-results", args=[slug, "A"]),
        reverse("api-cycle-participation", args=[slug]),
    ]


def rows(html: str, table_id: str) -> list[dict]:
    """The rows of a results table: project code and data-funded."""
    table = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return [
        {"code": m.group(1), "funded": m.group(2)}
        for m in re.finditer(r'<tr data-project="([^"]+)"(?: data-funded="([^"]+)")?', table)
    ]


# --- selectors -----------------------------------------------------------------------------------------
def test_cycle_results_match_the_published_runs_with_plain_why_texts(official):
    world = results_world(official)
    found = {r.district.code: r for r in results.cycle_results(world.cycle)}
    assert set(found) == {"A", "B"}  # ward C had no ballot
    a = found["A"]
    output = published(world, "A")
    assert [p.code for p in a.funded] == ["A-01", "A-03"] == sorted(output["selected"])
    assert [p.code for p in a.projects] == ["A-01", "A-02", "A-03", "A-04"]  # by votes, then code
    assert {p.code: int(p.votes) for p in a.projects} == {"A-01": 5, "A-02": 4, "A-03": 3, "A-04": 0}
    assert {p.code: p.votes for p in a.projects} == output["votes"]
    why = {p.code: p.why for p in a.not_funded}
    assert why == {"A-02": "Did not fit the remaining $8,000", "A-04": "Did not fit the remaining $3,000"}
    assert all(p.why == "" for p in a.funded)
    assert (a.budget, a.used, a.left, a.ballots, a.rule) == (50000, 47000, 3000, 5, "greedy")
    assert a.projects[0].title == title("A-01")
    assert [h.kind for h in a.history] == ["certified"] and not a.revised
    assert (a.input_hash, a.output_hash) == (
        DistrictResult.objects.get(district=world.district("A")).run.input_hash,
        DistrictResult.objects.get(district=world.district("A")).run.output_hash,
    )

    b = found["B"]
    output = published(world, "B")
    assert b.rule == "mes" and b.rule_label == "Method of Equal Shares"
    assert sorted(p.code for p in b.funded) == sorted(output["selected"]) == ["B-02", "B-03"]
    assert output["reasons"] == {"B-01": {"reason": "supporters_could_not_afford"}, "B-04": {"reason": "no_support"}}
    assert {p.code: p.why for p in b.not_funded} == {
        "B-01": "Its supporters' equal shares could not cover its cost",
        "B-04": "No votes",
    }
    assert_roll_matches_ballots()


def test_the_why_texts_use_the_cycle_currency(official):
    world = results_world(official)
    type(world.cycle).objects.filter(pk=world.cycle.pk).update(currency="EUR")
    world.cycle.refresh_from_db()
    a = results.district_results(world.cycle, "A")
    assert {p.code: p.why for p in a.not_funded} == {
        "A-02": "Did not fit the remaining €8,000",
        "A-04": "Did not fit the remaining €3,000",
    }
    assert results.why_not_funded({"reason": "did_not_fit", "remaining": "8000.50"}, "USD") == (
        "Did not fit the remaining $8,000.50"
    )
    assert results.why_not_funded({"reason": "something new"}, "USD") == "Not funded"


def test_titles_in_the_active_language(official, client):
    world = results_world(official)
    with translation.override("es"):
        a = results.district_results(world.cycle, "A")
    assert a.projects[0].title == "Proyecto A-01"
    client.cookies["django_language"] = "es"
    html = client.get(reverse("district_results", args=[world.cycle.slug, "A"])).content.decode()
    assert "Proyecto A-01" in html and title("A-01") not in html


def test_participation_equals_the_roll(official, settings):
    settings.PB_SMALL_CELL = 1  # every group published as it is
    world = results_world(official, second_day=True)
    data = results.participation(world.cycle)
    roll = VoterRollEntry.objects.filter(cycle=world.cycle)
    assert data.total == roll.count() == 10
    assert {g.key: g.count for g in data.by_district} == {"A": 5, "B": 5, "C": 0}
    assert {g.key: g.count for g in data.by_channel} == {"online": 8, "kiosk": 1, "code": 1}
    for field, groups in (("channel", data.by_channel), ("site", data.by_site), ("language", data.by_language)):
        expected = {}
        for value in roll.values_list(field, flat=True):
            expected[value] = expected.get(value, 0) + 1
        assert {g.key: g.count for g in groups} == expected, field
    days = {}
    for day in roll.values_list("voted_on", flat=True):
        days[day.isoformat()] = days.get(day.isoformat(), 0) + 1
    assert {g.key: g.count for g in data.by_day} == days and len(days) == 2
    assert [g.key for g in data.by_site] == ["Library", ""]  # "no site" last
    assert data.by_site[-1].label == "No voting site (online, phone or access code)"
    assert {g.key: g.label for g in data.by_language} == {"en": "English", "es": "Spanish"}
    assert_roll_matches_ballots()


def test_participation_combines_small_groups_so_no_one_is_picked_out(official, settings):
    settings.PB_SMALL_CELL = 3
    world = results_world(official, second_day=True)
    data = results.participation(world.cycle)
    roll = VoterRollEntry.objects.filter(cycle=world.cycle)
    assert {g.key: g.count for g in data.by_district} == {"A": 5, "B": 5, "C": 0}  # districts whole
    # 8 online, 1 kiosk, 1 code: the two small ones are combined, and the combined group is itself
    # below 3, so the smallest named group joins it (nothing can be recovered by subtraction).
    assert {g.key: g.count for g in data.by_channel} == {OTHER: 10}
    for breakdown in (data.by_day, data.by_channel, data.by_site, data.by_language):
        assert sum(g.count for g in breakdown) == roll.count() == data.total
        assert all(g.count >= 3 for g in breakdown), breakdown
        assert [g.key for g in breakdown].count(OTHER) <= 1
        if breakdown[-1].key == OTHER:
            assert breakdown[-1].label == str(results.MSG_SMALL_GROUPS)
    sites = {g.key: g.count for g in data.by_site}
    assert sites == {"": 9, OTHER: 1} or sites == {OTHER: 10}  # one library voter is never shown alone
    assert "Library" not in sites


def test_the_selectors_run_a_constant_number_of_queries(official, django_assert_num_queries):
    world = results_world(official)
    with django_assert_num_queries(4):  # districts, results with runs, projects, project texts
        found = results.cycle_results(world.cycle)
    with django_assert_num_queries(0):  # everything the pages read is loaded
        for r in found:
            _ = [(p.title, p.why, p.votes_text) for p in r.projects] + [h.label for h in r.history]
    with django_assert_num_queries(2):  # districts, one grouped count over the roll
        results.participation(world.cycle)
    # A revision adds rows, not queries.
    project_withdraw(actor=official, project=world.projects["A-01"], reason="The site is unsafe.")
    with django_assert_num_queries(4):
        results.cycle_results(world.cycle)


def test_the_pages_run_a_constant_number_of_queries(official, client):
    small = results_world(official)
    counts = []
    for world in (small,):
        for url in page_urls(world):
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            counts.append(len(queries))
    # More projects' worth of data: a revision (a new run, a new result row) and more ballots.
    project_withdraw(actor=official, project=small.projects["A-01"], reason="The site is unsafe.")
    again = []
    for url in page_urls(small):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        again.append(len(queries))
    assert again == counts


# --- pages after certification -------------------------------------------------------------------------
def test_the_district_page_shows_the_published_result(official, client):
    world = results_world(official)
    response = client.get(reverse("district_results", args=[world.cycle.slug, "A"]))
    assert response.status_code == 200
    html = response.content.decode()
    output = published(world, "A")
    assert [r["code"] for r in rows(html, "funded-table")] == sorted(output["selected"]) == ["A-01", "A-03"]
    table = rows(html, "votes-table")
    assert [r["code"] for r in table] == ["A-01", "A-02", "A-03", "A-04"]
    assert {r["code"] for r in table if r["funded"] == "true"} == set(output["selected"])
    assert "Did not fit the remaining $8,000" in html and "Did not fit the remaining $3,000" in html
    assert "$47,000" in html and "$3,000" in html and "$50,000" in html  # used, left, budget
    assert "Greedy (most votes first)" in html
    assert output_hash(world, "A") in html


def output_hash(world, code):
    return DistrictResult.objects.filter(district=world.district(code)).select_related("run").first().run.output_hash


def test_the_votes_chart_has_one_bar_per_project_with_the_funded_marked(official, client):
    world = results_world(official)
    html = client.get(reverse("district_results", args=[world.cycle.slug, "A"])).content.decode()
    svg = re.search(r'<svg[^>]*id="votes-chart".*?</svg>', html, re.S).group(0)
    bars = re.findall(r'<g class="(bar(?: highlight)?)"[^>]*>\s*<title>([^<]*)</title>', svg)
    assert len(bars) == 4  # one per project
    funded = [label for cls, label in bars if cls == "bar highlight"]
    assert [label.split(" ")[0] for label in funded] == ["A-01", "A-03"]
    assert all("funded" in label for label in funded)
    # A text alternative: an image named by its title and described, and the same data as a table.
    assert 'role="img"' in svg and 'aria-labelledby="votes-chart-title votes-chart-desc"' in svg
    assert '<title id="votes-chart-title">Votes per project in Ward A</title>' in svg
    desc = re.search(r'<desc id="votes-chart-desc">([^<]*)</desc>', svg).group(1)
    assert "4 projects" in desc and title("A-01") in desc and title("A-03") in desc and title("A-02") not in desc
    assert len(rows(html, "votes-table")) == 4
    budget = re.search(r'<svg[^>]*id="budget-chart".*?</svg>', html, re.S).group(0)
    assert budget.count('class="budget-used"') == 2 and "Used: $47,000 of $50,000" in budget
    assert "Left: $3,000" in budget


def test_a_phone_gets_responsive_charts(official, client):
    """360 px smoke: every chart scales with its column (viewBox, width 100%, no fixed size)."""
    world = results_world(official)
    for url in page_urls(world):
        html = client.get(url, HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 14) Mobile").content.decode()
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
        svgs = re.findall(r"<svg[^>]*>", html)
        assert svgs
        for tag in svgs:
            assert 'width="100%"' in tag and re.search(r'viewBox="0 0 \d+ [\d.]+"', tag)
            assert "height=" not in tag and "style=" not in tag  # sized by css/results.css (CSP)
            assert re.search(r'class="chart\b', tag)
        assert "/static/css/results.css" in html
        assert "table-scroll" not in html  # no table wider than the phone (those force 40rem)


def test_the_summary_page_lists_districts_and_participation(official, client, settings):
    settings.PB_SMALL_CELL = 1
    world = results_world(official)
    html = client.get(reverse("cycle_results", args=[world.cycle.slug])).content.decode()
    assert re.findall(r'<tr data-district="([^"]+)"', html) == ["A", "B"]
    assert reverse("district_results", args=[world.cycle.slug, "A"]) in html
    assert title("A-01") in html and title("B-02") in html
    assert re.search(r"data-participation-total>10<", html)
    for key in ("district", "day", "channel", "site", "language"):
        assert f'id="participation-{key}"' in html and f'id="participation-{key}-table"' in html
    table = html.split('id="participation-channel-table"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'<th scope="row">([^<]+)</th><td class="num">(\d+)</td>', table) == [
        ("Printed access code", "1"),
        ("Kiosk at a voting site", "1"),
        ("Online (resident account)", "8"),
    ]
    settings.PB_SMALL_CELL = 2  # the kiosk voter and the code voter are shown together only
    html = client.get(reverse("cycle_results", args=[world.cycle.slug])).content.decode()
    table = html.split('id="participation-channel-table"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'<th scope="row">([^<]+)</th><td class="num">(\d+)</td>', table) == [
        ("Online (resident account)", "8"),
        (escape(str(results.MSG_SMALL_GROUPS)), "2"),
    ]


def test_a_withdrawal_is_shown_publicly(official, client):
    world = results_world(official)
    project_withdraw(actor=official, project=world.projects["A-01"], reason="The site is contaminated.")
    html = client.get(reverse("district_results", args=[world.cycle.slug, "A"])).content.decode()
    revised = published(world, "A")
    assert "A-01" not in revised["votes"]
    assert [r["code"] for r in rows(html, "funded-table")] == sorted(revised["selected"])
    assert "A-01" not in revised["selected"] and "A-02" in revised["selected"]  # the freed money moves on
    assert "Withdrawn after certification: The site is contaminated." in html
    assert 'data-kind="certified"' in html and 'data-kind="revised"' in html
    assert "Revised after a project was withdrawn" in html and "withdrawn: A-01" in html
    assert "Reason: The site is contaminated." in html
    a = results.district_results(world.cycle, "A")
    withdrawn = next(p for p in a.projects if p.code == "A-01")
    assert (withdrawn.funded, withdrawn.withdrawn, int(withdrawn.votes)) == (False, True, 5)  # its votes kept
    assert [h.kind for h in a.history] == ["certified", "revised"] and a.history[1].withdrawn == ["A-01"]
    summary = client.get(reverse("cycle_results", args=[world.cycle.slug])).content.decode()
    assert "revised" in summary
    api = client.get(reverse("api-district-results", args=[world.cycle.slug, "A"])).json()
    assert [h["kind"] for h in api["history"]] == ["certified", "revised"]
    assert api["history"][1]["reason"] == "The site is contaminated."
    assert next(p for p in api["projects"] if p["code"] == "A-01")["why"].startswith("Withdrawn after certification")


def test_unknown_or_uncounted_districts_are_not_found(official, client):
    world = results_world(official)
    slug = world.cycle.slug
    for code in ("C", "ZZ"):  # C had no ballot
        assert client.get(reverse("district_results", args=[slug, code])).status_code == 404
        assert client.get(reverse("api-district-results", args=[slug, code])).status_code == 404
    assert client.get(reverse("cycle_results", args=["no-such-cycle"])).status_code == 404


# --- API after certification -----------------------------------------------------------------------------
def test_the_api_gives_the_published_results(official, client):
    world = results_world(official)
    slug = world.cycle.slug
    data = client.get(reverse("api-cycle-results", args=[slug])).json()
    assert data["cycle"] == slug and data["currency"] == "USD"
    assert [d["district"] for d in data["districts"]] == ["A", "B"]
    for district in data["districts"]:
        output = published(world, district["district"])
        assert sorted(district["selected"]) == sorted(output["selected"])
        assert {p["pb_id"]: p["votes"] for p in district["projects"]} == output["votes"]
        assert district["budget_used"] == f"{float(output['budget_used']):.2f}"
        assert district["output_hash"] == output_hash(world, district["district"])
    a = client.get(reverse("api-district-results", args=[slug, "A"])).json()
    assert {p["code"]: p["why"] for p in a["projects"] if not p["funded"]} == {
        "A-02": "Did not fit the remaining $8,000",
        "A-04": "Did not fit the remaining $3,000",
    }
    assert (a["budget"], a["budget_used"], a["budget_left"], a["rule"]) == ("50000.00", "47000.00", "3000.00", "greedy")
    participation = client.get(reverse("api-cycle-participation", args=[slug])).json()
    assert participation["total"] == VoterRollEntry.objects.filter(cycle=world.cycle).count() == 10
    assert {g["key"]: g["count"] for g in participation["by_district"]} == {"A": 5, "B": 5, "C": 0}


# --- who sees what, and when -----------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_everyone_sees_the_results_after_certification(official, client, role):
    world = results_world(official)
    login_as(client, role)
    for url in page_urls(world) + api_urls(world):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("role", ROLES)
def test_nobody_sees_results_during_counting_even_with_a_tally_run(official, client, role):
    """The tally has run (officials could compare it), but nothing is certified: every results
    page and API answer is a plain 404, for every role — officials included."""
    world = results_world(official, certify=False)
    assert TallyRun.objects.filter(cycle=world.cycle, status="done").count() == 2
    assert not DistrictResult.objects.exists() and not world.cycle.allows(Capability.VIEW_RESULTS)
    login_as(client, role)
    for url in page_urls(world):
        assert client.get(url).status_code == 404, url
    for url in api_urls(world):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response["Content-Type"].startswith("application/problem+json")
        assert "A-01" not in response.content.decode()


@pytest.mark.parametrize("phase", ["draft", "vetting", "voting"])
def test_results_pages_and_api_are_not_found_before_counting(official, client, phase):
    world = results_world(official, count=False, certify=False) if phase == "voting" else None
    if world is None:
        cycle = CycleFactory(phase=phase, wards="AB")
        world = World(cycle=cycle, official=official)
    login_as(client, "official")
    for url in page_urls(world) + api_urls(world):
        assert client.get(url).status_code == 404, url


def test_results_stay_public_in_implementation(official, client):
    world = results_world(official)
    cycle_transition(actor=official, cycle=world.cycle, target=Phase.IMPLEMENTATION, reason="Building.")
    for url in page_urls(world) + api_urls(world):
        assert client.get(url).status_code == 200, url


def test_the_cycle_and_home_pages_link_to_results_only_once_certified(official, client):
    world = results_world(official, certify=False)
    link = reverse("cycle_results", args=[world.cycle.slug])
    for name, args in (("cycle_detail", [world.cycle.slug]), ("home", [])):
        assert link not in client.get(reverse(name, args=args)).content.decode()
    world.cycle = cycle_certify(actor=official, cycle=world.cycle, reason="Certified.")
    for name, args in (("cycle_detail", [world.cycle.slug]), ("home", [])):
        assert link in client.get(reverse(name, args=args)).content.decode()


# --- no other channel shows totals or winners before certification --------------------------------------
# ("results" is left out: it is the key of a paginated list.)
RESULT_KEYS = {
    "votes",
    "vote_count",
    "votes_count",
    "selected",
    "funded",
    "winner",
    "winners",
    "budget_used",
    "budget_left",
    "result",
    "tally",
    "output",
    "output_hash",
}


def result_keys(data) -> set[str]:
    """Every key anywhere in a JSON document that would carry a tally result."""
    found = set()
    if isinstance(data, dict):
        found |= RESULT_KEYS & set(data)
        for value in data.values():
            found |= result_keys(value)
    elif isinstance(data, list):
        for value in data:
            found |= result_keys(value)
    return found


def leak_markers(world: World) -> list[str]:
    """Strings that only a tally result would put on a page: the runs' output hashes, the why
    texts, the amounts used and left."""
    markers = list(TallyRun.objects.filter(cycle=world.cycle).values_list("output_hash", flat=True))
    return [*markers, "Did not fit the remaining", "$47,000", "data-funded", "Funded projects"]


@pytest.mark.parametrize("role", ["anonymous", "resident", "auditor"])
def test_project_pages_and_api_show_no_votes_before_certification(official, client, role):
    world = results_world(official, certify=False)
    login_as(client, role)
    project = world.projects["A-01"]
    html_urls = [
        reverse("project_list", args=[world.cycle.slug]),
        reverse("project_detail", args=[project.pk]),
        reverse("cycle_detail", args=[world.cycle.slug]),
        reverse("home"),
    ]
    for url in html_urls:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        for marker in leak_markers(world):
            assert marker not in html, (url, marker)
    for url in (reverse("project-list", args=[world.cycle.slug]), reverse("project-detail", args=[project.pk])):
        response = client.get(url)
        assert response.status_code == 200, url
        assert result_keys(response.json()) == set(), url


def test_ballot_and_cycle_api_show_no_votes_before_certification(official, client):
    world = results_world(official, certify=False)
    slug = world.cycle.slug
    for url in (
        reverse("ballot-list", args=[slug]),
        reverse("ballot-detail", args=[slug, "A"]),
        reverse("cycle-list"),
        reverse("cycle-detail", args=[slug]),
        reverse("district-list", args=[slug]),
        reverse("district-detail", args=[slug, "A"]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert result_keys(response.json()) == set(), url
        body = response.content.decode()
        assert all(marker not in body for marker in leak_markers(world)), url


def test_turnout_shows_counts_only(official, client):
    """Officials' turnout page during counting: voter counts, no project and no vote total."""
    world = results_world(official, certify=False)
    client.force_login(world.official)
    html = client.get(reverse("staff_turnout", args=[world.cycle.slug])).content.decode()
    assert "data-turnout-total>10<" in html.replace(" ", "")
    for code in ("A-01", "A-02", "B-02", title("A-01")):
        assert code not in html
    assert all(marker not in html for marker in leak_markers(world))


def test_the_public_record_is_not_published_before_certification(official, client):
    world = results_world(official, certify=False)
    slug = world.cycle.slug
    assert client.get(reverse("public_record", args=[slug])).status_code == 404
    response = client.get(reverse("api-public-record", args=[slug]))
    assert response.status_code in (404, 409)
    assert result_keys(response.json()) == set() and "A-01" not in response.content.decode()


def test_pabulib_export_and_tally_commands_refuse_during_voting(official):
    world = results_world(official, count=False, certify=False)
    with pytest.raises(CommandError):
        call_command("pabulib_export", world.cycle.slug, district="A", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("tally", world.cycle.slug, rule="greedy", json=True, stdout=io.StringIO())
    assert not TallyRun.objects.exists()
