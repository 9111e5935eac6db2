"""The ballot's live meter writes money exactly as the server does, in every language: the amounts it
shows while a resident ticks projects are the server's own format (core/money.py), never the
browser's (Chromium's Spanish would write "50.000 US$" beside the page's "$50,000")."""

import pytest
from django.conf import settings
from django.utils import translation
from playwright.sync_api import expect

from budgets.services import cycle_transition
from core.money import format_money
from proposals.tests.builders import make_project, move, new_resident, submit, texts
from tests.ballots import ballot_prepare
from tests.browser.login import log_in
from tests.factories import CycleFactory, user_with_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def knapsack_cycle():
    """Ward A in voting, a $50,000 budget: A-01 $20,000 and A-02 $2,500.50 (an amount with cents)."""
    official = user_with_role("official")
    cycle = CycleFactory(ideas=True, wards="A")
    idea = submit(cycle, new_resident())
    move(cycle, official, "vetting")
    make_project(cycle, official, [idea], code="A-01", cost="20000", texts=texts("Drinking fountains", "Fuentes"))
    make_project(cycle, official, [idea], code="A-02", cost="2500.50", texts=texts("Street trees", "Árboles"))
    ballot_prepare(cycle, official, method="knapsack")
    cycle_transition(actor=official, cycle=cycle, target="voting", reason="Test: voting opens.")
    return cycle


@pytest.mark.parametrize(
    ("language", "first", "second"), [("en", "Drinking fountains", "Street trees"), ("es", "Fuentes", "Árboles")]
)
def test_the_meter_writes_money_as_the_server_does(live_server, browser, language, first, second):
    cycle = knapsack_cycle()
    resident = user_with_role("resident")
    # The page's language comes from the language switcher's cookie (set after the English log-in).
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    base = live_server.url
    log_in(page, base, resident.email)
    context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base}])
    page.goto(f"{base}/cycles/{cycle.slug}/vote/A/")
    assert page.evaluate("document.documentElement.lang") == language

    with translation.override(language):
        # The template's msgid (``{% translate %}`` doubles the per cent signs).
        left = translation.gettext("Money left: %%(left)s of %%(budget)s.").replace("%%", "%")
        budget = format_money(50000, "USD")
        expected = [
            left % {"left": budget, "budget": budget},
            left % {"left": format_money(30000, "USD"), "budget": budget},
            left % {"left": format_money("27499.50", "USD"), "budget": budget},
        ]
    # The server's own budget string is on the page, and the meter uses the very same.
    expect(page.locator("#ballot-rules")).to_contain_text(budget)
    meter = page.locator("[data-ballot-meter]")
    expect(meter).to_have_text(expected[0])
    page.get_by_label(first).check()
    expect(meter).to_have_text(expected[1])
    page.get_by_label(second).check()
    expect(meter).to_have_text(expected[2])
    # The project's cost beside its box is the server's string too.
    expect(page.get_by_label(second)).to_be_checked()
    with translation.override(language):
        assert format_money("2500.50", "USD") in page.locator("label", has_text=second).inner_text()
    context.close()
