"""Vetting staff publish several recorded decisions at once, with the keyboard only: tick them on
the "decisions to publish" page, send the form, and residents see every decision; sending the same
choice again publishes nothing and names what was wrong."""

import re

import pytest
from playwright.sync_api import expect

from budgets.services import cycle_transition
from core.models import AuditEvent
from proposals import services
from proposals.models import Idea
from tests.browser.login import log_in_user
from tests.factories import CycleFactory, user_with_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _idea(cycle, author, title):
    return services.idea_submit(
        actor=author,
        cycle=cycle,
        data=services.IdeaInput(
            title=title,
            description=f"{title}, please.",
            district=cycle.districts.get(code="A"),
            address="Grove St, Jersey City",
        ),
    )


def test_staff_publish_several_decisions_together_with_the_keyboard(live_server, browser):
    cycle = CycleFactory(ideas=True, wards="A", slug="batch-2026")
    resident = user_with_role("resident")
    fountain = _idea(cycle, resident, "Water fountain")
    benches = _idea(cycle, resident, "Benches on Grove Street")
    trees = _idea(cycle, resident, "Street trees")
    official = user_with_role("official")
    cycle_transition(actor=official, cycle=cycle, target="vetting", reason="Idea collection closed.")
    staff = user_with_role("vetting_staff")
    services.review_record(actor=staff, idea=fountain, feasibility="not_feasible", public_reason="State land.")
    services.review_record(actor=staff, idea=benches, feasibility="feasible", public_reason="Parks agrees.")
    services.review_record(actor=staff, idea=trees, feasibility="needs_info", public_reason="Which block?")

    context = browser.new_context(locale="en-US", viewport={"width": 1024, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in_user(page, live_server.url, staff)
    page.goto(f"{live_server.url}/staff/cycles/batch-2026/vetting/")
    page.get_by_role("link", name="Decisions to publish").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Decisions to publish")
    # The same choice in a second tab, sent after the first: it must publish nothing twice.
    second = context.new_page()
    second.goto(page.url)

    # Keyboard only: focus each checkbox by its label, tick it with the space bar, submit with Enter.
    for tab in (page, second):
        for title in ("Water fountain", "Benches on Grove Street"):
            box = tab.get_by_role("checkbox", name=re.compile(title))
            box.focus()
            tab.keyboard.press("Space")
            expect(box).to_be_checked()
        expect(tab.get_by_role("checkbox", name=re.compile("Street trees"))).not_to_be_checked()
    page.get_by_role("button", name="Publish the chosen decisions").focus()
    page.keyboard.press("Enter")

    expect(page.get_by_text(re.compile(r"^2 decisions published"))).to_be_visible()
    expect(page.get_by_role("checkbox", name=re.compile("Water fountain"))).to_have_count(0)
    expect(page.get_by_role("checkbox", name=re.compile("Street trees"))).not_to_be_checked()
    statuses = dict(Idea.objects.filter(cycle=cycle).values_list("title", "status"))
    assert statuses == {
        "Water fountain": "not_feasible",
        "Benches on Grove Street": "feasible",
        "Street trees": "under_review",
    }

    second.get_by_role("button", name="Publish the chosen decisions").focus()
    second.keyboard.press("Enter")
    alert = second.get_by_role("alert")
    expect(alert).to_contain_text("Nothing was published.")
    expect(alert).to_contain_text(f"The decision on idea #{fountain.pk} “Water fountain” is already published.")
    expect(alert).to_contain_text(f"The decision on idea #{benches.pk} “Benches on Grove Street” is already published.")
    assert AuditEvent.objects.filter(action="review.published").count() == 2

    # Residents see the decision on the idea's page.
    page.goto(f"{live_server.url}/ideas/{fountain.pk}/")
    expect(page.get_by_text("State land.").first).to_be_visible()
    context.close()
