"""The officials' ballot design form: with JavaScript only the fields of the chosen ballot method
are shown; without it every field stays visible and usable, and the design is saved either way."""

import re

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from budgets.demo import DEMO_PASSWORD, DEMO_SLUG, DEMO_USERS, demo_load
from budgets.models import District
from tests.browser.login import log_in
from voting.models import BallotDesign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ONLY = {  # the fields each method shows (labels), beside those every method has
    "approval": {"Minimum picks", "Maximum picks"},
    "knapsack": {"Minimum picks", "Maximum picks", "Minimum share of the budget to spend (%)"},
    "ranked": {"Minimum picks", "Maximum picks"},
    "cumulative": {"Maximum picks", "Points to spread", "Most points per project"},
}
SPECIFIC = set().union(*ONLY.values())


def label(text: str):
    return re.compile(rf"^{re.escape(text)}")  # the label has a colon after it


def open_design(browser, base, *, javascript: bool):
    context = browser.new_context(
        locale="en-US", viewport={"width": 1024, "height": 900}, java_script_enabled=javascript
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    email, _name, secret = DEMO_USERS[Role.OFFICIAL]
    log_in(page, base, email, password=DEMO_PASSWORD, totp_secret=secret)
    page.goto(f"{base}/staff/cycles/{DEMO_SLUG}/ballot/")
    code = District.objects.filter(cycle__slug=DEMO_SLUG).order_by("code").values_list("code", flat=True)[0]
    form = page.locator("section", has=page.get_by_role("heading", name=re.compile(rf"\({code}\)"))).locator("form")
    return context, page, form, code


def test_with_javascript_only_the_chosen_methods_fields_show(live_server, browser):
    demo_load(phase="vetting")
    context, page, form, code = open_design(browser, live_server.url, javascript=True)
    for method, shown in ONLY.items():
        form.get_by_label("Ballot method").select_option(method)
        for name in SPECIFIC:
            field = form.get_by_label(label(name))
            if name in shown:
                expect(field).to_be_visible()
            else:
                expect(field).to_be_hidden()
        for common in ("Ballot method", "Introduction shown above the ballot"):
            expect(form.get_by_label(label(common))).to_be_visible()
    # A ranked ballot is counted by greedy only: chosen for the official, the others disabled.
    form.get_by_label("Ballot method").select_option("ranked")
    expect(form.get_by_label(re.compile("^Greedy"))).to_be_checked()
    expect(form.get_by_label(re.compile("^Method of Equal Shares, then greedy"))).to_be_disabled()
    form.get_by_label("Ballot method").select_option("cumulative")
    expect(form.get_by_label(re.compile("^Method of Equal Shares, then greedy"))).to_be_enabled()
    form.get_by_label(label("Points to spread")).fill("10")
    form.get_by_label(label("Most points per project")).fill("4")
    form.get_by_label(re.compile("^Greedy")).check()
    form.get_by_role("button", name=re.compile("Save the ballot")).click()
    expect(page.get_by_text(re.compile("Ballot design for .* saved"))).to_be_visible()
    design = BallotDesign.objects.get(district__cycle__slug=DEMO_SLUG, district__code=code)
    assert (design.method, design.points_total, design.points_cap) == ("cumulative", 10, 4)
    # Back on the page: the saved method's fields, and only those.
    form = page.locator("form", has=page.locator(f'input[value="design-{code}"]'))
    expect(form.get_by_label(label("Points to spread"))).to_be_visible()
    expect(form.get_by_label(label("Minimum share of the budget to spend (%)"))).to_be_hidden()
    context.close()


def test_without_javascript_every_field_is_visible_and_the_design_saves(live_server, browser):
    demo_load(phase="vetting")
    context, page, form, code = open_design(browser, live_server.url, javascript=False)
    form.get_by_label("Ballot method").select_option("knapsack")
    for name in SPECIFIC:
        expect(form.get_by_label(label(name))).to_be_visible()
    form.get_by_label(label("Minimum share of the budget to spend (%)")).fill("50")
    form.get_by_label(re.compile("^Method of Equal Shares, then greedy")).check()
    form.get_by_role("button", name=re.compile("Save the ballot")).click()
    expect(page.get_by_text(re.compile("Ballot design for .* saved"))).to_be_visible()
    design = BallotDesign.objects.get(district__cycle__slug=DEMO_SLUG, district__code=code)
    assert (design.method, design.min_spend_percent, design.allocation_rule) == ("knapsack", 50, "mes-greedy")
    context.close()
