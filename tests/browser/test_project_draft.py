"""Vetting staff build a project from two ideas in a browser: the form starts from the ideas (texts,
district, summed cost with each idea's figures beside it), they save it as a draft — not on the
public project list — and publish it from the project list when ready."""

import re

import pytest
from playwright.sync_api import expect

from budgets.services import cycle_transition
from proposals import services
from proposals.models import Project
from tests.browser.login import log_in_user
from tests.factories import CycleFactory, user_with_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _idea(cycle, author, title, guess):
    return services.idea_submit(
        actor=author,
        cycle=cycle,
        data=services.IdeaInput(
            title=title,
            description=f"{title} near the library.",
            district=cycle.districts.get(code="A"),
            address="472 Jersey Ave",
            cost_guess=guess,
        ),
    )


def test_staff_draft_a_project_from_ideas_and_publish_it(live_server, browser):
    cycle = CycleFactory(ideas=True, wards="A", slug="draft-2026")
    resident = user_with_role("resident")
    _idea(cycle, resident, "Benches", "4000")
    _idea(cycle, resident, "Shade trees", "11000")
    cycle_transition(actor=user_with_role("official"), cycle=cycle, target="vetting", reason="Ideas closed.")
    staff = user_with_role("vetting_staff")

    context = browser.new_context(locale="en-US", viewport={"width": 1024, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in_user(page, live_server.url, staff)
    page.goto(f"{live_server.url}/staff/cycles/draft-2026/vetting/")
    page.get_by_label(re.compile("Benches")).check()
    page.get_by_label(re.compile("Shade trees")).check()
    page.get_by_role("button", name="Create a project from the selected ideas").click()

    # The form starts from the ideas; staff only add a code.
    english = page.get_by_role("group", name="Text in English")
    expect(english.get_by_label("Title")).to_have_value("Benches · Shade trees")
    expect(page.get_by_role("textbox", name=re.compile("^Cost"))).to_have_value("15000")
    expect(page.get_by_text(re.compile(r"Shade trees: resident's guess \$11,000"))).to_be_visible()
    expect(page.get_by_role("group", name="Text in Spanish (optional)").get_by_label("Title")).to_have_value("")
    page.get_by_label("Public code").fill("A-01")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_role("status")).to_contain_text("Draft project A-01 saved from 2 ideas")
    assert Project.objects.get(code="A-01").is_draft

    public = browser.new_context(locale="es-ES").new_page()
    public.goto(f"{live_server.url}/cycles/draft-2026/projects/")
    expect(public.get_by_text("Benches · Shade trees")).to_have_count(0)

    page.get_by_role("checkbox", name="Draft: publish A-01").check()
    page.get_by_role("button", name="Publish the chosen drafts").click()
    expect(page.get_by_role("status")).to_contain_text("Project A-01 published")
    public.reload()
    # Read in Spanish: the project has only its English text, marked as English.
    expect(public.locator('span[lang="en"]', has_text="Benches · Shade trees")).to_be_visible()
    context.close()
